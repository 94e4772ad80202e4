//! Times scene generation and `render` on camera-sized shots.
//!
//! `cargo run -p imaging --example time_render --release [-- OUT_DIR]`
//!
//! With OUT_DIR, also writes each original and its web rendition there to look at.

use std::time::{Duration, Instant};

use camsim::scene::{render_shot, ShotSpec};
use imaging::{render, Recipe};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let out_dir = std::env::args().nth(1).map(std::path::PathBuf::from);
    for (w, h, label) in [(6000u32, 4000u32, "24 MP"), (8256, 5504, "45 MP")] {
        let spec = ShotSpec {
            width: w,
            height: h,
            orientation: 6,
            gps: Some((52.5, 13.4)),
            ..ShotSpec::default()
        };
        let mut gen = Vec::new();
        let mut original = Vec::new();
        for seq in 0..3 {
            let t = Instant::now();
            original = render_shot(seq, &spec);
            gen.push(t.elapsed());
        }
        let mut times = Vec::new();
        let mut out = None;
        for _ in 0..5 {
            let t = Instant::now();
            out = Some(render(&original, &Recipe::web()).expect("render"));
            times.push(t.elapsed());
        }
        let out = out.unwrap();
        if let Some(dir) = &out_dir {
            std::fs::write(dir.join(format!("original-{w}x{h}.jpg")), &original)
                .expect("write original");
            std::fs::write(dir.join(format!("web-{w}x{h}.jpg")), &out.jpeg)
                .expect("write rendition");
        }
        println!(
            "{label} {w}x{h}: original {:.1} MB, render_shot median {:?}; render -> {}x{} ({} KB) median {:?}, min {:?}",
            original.len() as f64 / 1e6,
            median(gen),
            out.width,
            out.height,
            out.jpeg.len() / 1000,
            median(times.clone()),
            times.iter().min().unwrap(),
        );
    }
}
