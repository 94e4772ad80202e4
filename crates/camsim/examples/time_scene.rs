//! How long the virtual camera takes to render a 24 MP shot (it sets the demo's pace):
//! `cargo run -p camsim --release --example time_scene`.

use camsim::scene::{render_shot, ShotSpec};

fn main() {
    let spec = ShotSpec {
        width: 6000,
        height: 4000,
        orientation: 6,
        gps: Some((48.8584, 2.2945)),
        ..ShotSpec::default()
    };
    for seq in 0..3 {
        let t = std::time::Instant::now();
        let jpeg = render_shot(seq, &spec);
        println!(
            "6000x4000 shot {seq}: {:?}, {:.1} MB",
            t.elapsed(),
            jpeg.len() as f64 / 1e6
        );
    }
}
