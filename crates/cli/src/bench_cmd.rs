//! `hotshoe bench imaging`: Hotshoe's renditions against `vipsthumbnail` (libvips with
//! shrink-on-load) on the same camera-like JPEGs, same output size and quality; one core,
//! then all cores. Prints per-image ms, images/s, output bytes, SSIM, peak RSS and ratios.
//! It fails only on wrong results (a failed render, a wrong size, SSIM under 0.99), never
//! on time: machines differ.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use imaging::{Crop, MetadataPolicy, Recipe};

use crate::process_cmd::{cores, pool};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Folder of JPEGs; generated (camsim scenes) when missing or empty.
    pub dir: PathBuf,
    /// Compare against this tool (`vipsthumbnail`, or `none` for Hotshoe alone).
    #[arg(long, default_value = "vipsthumbnail")]
    pub vs: String,
    /// Generate a small set (two 24 MP images) instead of the full one: for CI.
    #[arg(long)]
    pub small: bool,
    /// Timed runs per image (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One generated test image.
struct Gen {
    name: &'static str,
    width: u32,
    height: u32,
    orientation: u16,
    gps: bool,
    /// (horizontal, vertical) chroma subsampling: (2,2) is 4:2:0, (2,1) 4:2:2.
    sampling: (u8, u8),
    progressive: bool,
}

const FULL_SET: [Gen; 6] = [
    Gen {
        name: "24mp-420-gps",
        width: 6000,
        height: 4000,
        orientation: 1,
        gps: true,
        sampling: (2, 2),
        progressive: false,
    },
    Gen {
        name: "24mp-422",
        width: 6000,
        height: 4000,
        orientation: 1,
        gps: false,
        sampling: (2, 1),
        progressive: false,
    },
    Gen {
        name: "24mp-420-progressive",
        width: 6000,
        height: 4000,
        orientation: 1,
        gps: false,
        sampling: (2, 2),
        progressive: true,
    },
    Gen {
        name: "24mp-420-orient6",
        width: 6000,
        height: 4000,
        orientation: 6,
        gps: true,
        sampling: (2, 2),
        progressive: false,
    },
    Gen {
        name: "45mp-420-gps",
        width: 8256,
        height: 5504,
        orientation: 1,
        gps: true,
        sampling: (2, 2),
        progressive: false,
    },
    Gen {
        name: "45mp-422-orient6",
        width: 8256,
        height: 5504,
        orientation: 6,
        gps: false,
        sampling: (2, 1),
        progressive: false,
    },
];

const SMALL_SET: [usize; 2] = [0, 3];

fn generate(dir: &Path, small: bool) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let picks: Vec<&Gen> = if small {
        SMALL_SET.iter().map(|&i| &FULL_SET[i]).collect()
    } else {
        FULL_SET.iter().collect()
    };
    for (seq, g) in picks.into_iter().enumerate() {
        eprintln!("generating {} ({}x{})", g.name, g.width, g.height);
        let spec = camsim::scene::ShotSpec {
            width: g.width,
            height: g.height,
            orientation: g.orientation,
            gps: g.gps.then_some((48.8584, 2.2945)),
            quality: 92,
            ..Default::default()
        };
        let shot = camsim::scene::render_shot(seq as u32 + 1, &spec);
        let bytes = if g.sampling == (2, 2) && !g.progressive {
            shot
        } else {
            reencode(&shot, g)?
        };
        std::fs::write(dir.join(format!("{}.jpg", g.name)), bytes)?;
    }
    Ok(())
}

/// camsim writes baseline 4:2:0; other layouts are the same pixels and EXIF re-encoded.
fn reencode(shot: &[u8], g: &Gen) -> Result<Vec<u8>> {
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };
    let opts = DecoderOptions::new_fast().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(shot), opts);
    let rgb = d.decode().context("decoding the generated scene")?;
    let exif = app1_exif(shot);
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 92);
    enc.set_sampling_factor(match g.sampling {
        (2, 1) => SamplingFactor::F_2_1,
        (1, 1) => SamplingFactor::F_1_1,
        _ => SamplingFactor::F_2_2,
    });
    enc.set_progressive(g.progressive);
    if let Some(tiff) = exif {
        enc.add_exif_metadata(tiff)?;
    }
    enc.encode(&rgb, g.width as u16, g.height as u16, ColorType::Rgb)?;
    Ok(out)
}

fn app1_exif(jpeg: &[u8]) -> Option<&[u8]> {
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
        let marker = jpeg[pos + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        let body = jpeg.get(pos + 4..pos + 2 + len)?;
        if marker == 0xE1 && body.starts_with(b"Exif\0\0") {
            return Some(&body[6..]);
        }
        if marker == 0xDA {
            return None;
        }
        pos += 2 + len;
    }
    None
}

/// Runs a child to completion and returns (wall ms, peak RSS in MiB). The peak is the
/// child's VmHWM polled every 2 ms: the kernel's own rusage maxrss would include this
/// (large) benchmark process, which a spawned child inherits until its exec.
fn run_child(cmd: &mut Command) -> Result<(f64, f64)> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib: u64 = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let ms = started.elapsed().as_secs_f64() * 1e3;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok((ms, peak_kib as f64 / 1024.0))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Scenario {
    name: &'static str,
    crop: Crop,
    /// Target time ratio against vipsthumbnail (reported, not enforced).
    target: f64,
}

#[derive(serde::Serialize, Default, Clone)]
struct Row {
    scenario: &'static str,
    image: String,
    megapixels: f64,
    width: u32,
    height: u32,
    hotshoe_ms: f64,
    hotshoe_process_ms: f64,
    vips_ms: Option<f64>,
    ratio: Option<f64>,
    hotshoe_bytes: usize,
    vips_bytes: Option<usize>,
    dct_scale: u32,
    /// Extra DCT scaling of chroma beyond luma's (1 when chroma is decoded like luma).
    chroma_dct_scale: u32,
    /// Fast path's pixels (before encoding) against the reference's pixels.
    ssim_pre_encode: f64,
    /// The same for chroma: the lower of Cb's and Cr's (none for greyscale).
    ssim_chroma: Option<f64>,
    /// Encoded outputs against the reference's pixels (both capped near 0.96 by q85).
    ssim_hotshoe_jpeg: f64,
    ssim_vips_jpeg: Option<f64>,
    hotshoe_rss_mib: f64,
    vips_rss_mib: Option<f64>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let has_jpegs = |d: &Path| {
        std::fs::read_dir(d).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == "jpg"))
        })
    };
    if !has_jpegs(&args.dir) {
        generate(&args.dir, args.small)?;
    }
    let mut images: Vec<PathBuf> = std::fs::read_dir(&args.dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg" || x == "jpeg"))
        .collect();
    images.sort();
    let vips = match args.vs.as_str() {
        "none" => None,
        tool => {
            let ok = Command::new(tool).arg("--version").output().is_ok();
            if !ok {
                bail!(
                    "{tool} not found (Debian: apt-get install libvips-tools), or pass --vs none"
                );
            }
            Some(tool.to_owned())
        }
    };
    let out_root = std::env::temp_dir().join(format!("hotshoe-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out_root)?;
    let exe = std::env::current_exe()?;
    let scenarios = [
        Scenario {
            name: "crop 4:5, 2048 px, q85",
            crop: Crop::Aspect { w: 4, h: 5 },
            target: 0.5,
        },
        Scenario {
            name: "no crop, 2048 px, q85",
            crop: Crop::None,
            target: 0.8,
        },
    ];
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut throughput = Vec::new();
    for sc in &scenarios {
        let recipe = Recipe {
            long_edge: 2048,
            quality: 85,
            // Same as vipsthumbnail's `strip`: measure pixels, not metadata policy.
            metadata: MetadataPolicy::StripAll,
            crop: sc.crop,
            ..Recipe::web()
        };
        println!("\n## {}", sc.name);
        println!(
            "{:<24} {:>5} {:>10} {:>9} {:>9} {:>9} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
            "image", "MP", "size", "hs ms", "hs proc", "vips ms", "ratio", "hs KB", "vips KB", "dct",
            "ssim", "ssim c", "ssim hs", "ssim vp", "hs MiB", "vp MiB"
        );
        for img in &images {
            let row = bench_image(
                img,
                &recipe,
                sc,
                vips.as_deref(),
                &exe,
                &out_root,
                args.repeat,
            );
            match row {
                Ok(row) => {
                    if row.ssim_pre_encode < 0.99 {
                        failures.push(format!(
                            "{}: SSIM {:.4} < 0.99",
                            row.image, row.ssim_pre_encode
                        ));
                    }
                    if let Some(c) = row.ssim_chroma.filter(|&c| c < 0.99) {
                        failures.push(format!("{}: chroma SSIM {c:.4} < 0.99", row.image));
                    }
                    print_row(&row);
                    rows.push(row);
                }
                Err(e) => {
                    println!("{:<24} FAILED: {e:#}", file_name(img));
                    failures.push(format!("{}: {e:#}", file_name(img)));
                }
            }
        }
        let (hs_ips, vips_ips) = all_cores(
            &images,
            &recipe,
            sc,
            vips.as_deref(),
            &out_root,
            args.repeat,
        )?;
        let n = cores();
        let scenario_rows: Vec<&Row> = rows.iter().filter(|r| r.scenario == sc.name).collect();
        let hs_total: f64 = scenario_rows.iter().map(|r| r.hotshoe_ms).sum();
        let vips_total: Option<f64> = scenario_rows.iter().map(|r| r.vips_ms).sum();
        println!(
            "one core: Hotshoe {:.1} img/s{}",
            1000.0 * scenario_rows.len() as f64 / hs_total.max(1e-9),
            vips_total
                .map(|v| format!(
                    ", vipsthumbnail {:.1} img/s, time ratio {:.2} (target ≤ {})",
                    1000.0 * scenario_rows.len() as f64 / v,
                    hs_total / v,
                    sc.target
                ))
                .unwrap_or_default()
        );
        println!(
            "{n} cores:  Hotshoe {hs_ips:.1} img/s{}",
            vips_ips
                .map(|v| format!(", vipsthumbnail {v:.1} img/s, time ratio {:.2}", v / hs_ips))
                .unwrap_or_default()
        );
        throughput.push(serde_json::json!({
            "scenario": sc.name, "cores": n, "hotshoe_images_per_s": hs_ips,
            "vips_images_per_s": vips_ips, "one_core_time_ratio": vips_total.map(|v| hs_total / v),
            "target_ratio": sc.target,
        }));
    }
    let _ = std::fs::remove_dir_all(&out_root);
    if let Some(path) = &args.json {
        let doc = serde_json::json!({ "rows": rows, "throughput": throughput });
        std::fs::write(path, serde_json::to_vec_pretty(&doc)?)?;
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("bench: {f}");
        }
        bail!("{} correctness failure(s)", failures.len());
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn print_row(r: &Row) {
    let opt = |v: Option<f64>, p: usize| v.map_or("-".into(), |v| format!("{v:.p$}"));
    println!(
        "{:<24} {:>5.1} {:>10} {:>9.1} {:>9.1} {:>9} {:>6} {:>8.0} {:>8} {:>7} {:>7.4} {:>7} {:>7.4} {:>7} {:>7.0} {:>7}",
        r.image,
        r.megapixels,
        format!("{}x{}", r.width, r.height),
        r.hotshoe_ms,
        r.hotshoe_process_ms,
        opt(r.vips_ms, 1),
        opt(r.ratio, 2),
        r.hotshoe_bytes as f64 / 1024.0,
        r.vips_bytes.map_or("-".into(), |b| format!("{:.0}", b as f64 / 1024.0)),
        if r.chroma_dct_scale > 1 {
            format!("1/{}+{}", r.dct_scale, r.chroma_dct_scale)
        } else {
            format!("1/{}", r.dct_scale)
        },
        r.ssim_pre_encode,
        opt(r.ssim_chroma, 4),
        r.ssim_hotshoe_jpeg,
        opt(r.ssim_vips_jpeg, 4),
        r.hotshoe_rss_mib,
        opt(r.vips_rss_mib, 0),
    );
}

fn vips_command(tool: &str, input: &Path, output: &Path, w: u32, h: u32, crop: bool) -> Command {
    let mut c = Command::new(tool);
    // One thread, like one Hotshoe worker; libvips otherwise starts a thread per core.
    c.env("VIPS_CONCURRENCY", "1");
    c.arg(input).arg("--size").arg(format!("{w}x{h}"));
    if crop {
        c.args(["--smartcrop", "centre"]);
    }
    c.arg("-o").arg(format!("{}[Q=85,strip]", output.display()));
    c
}

fn bench_image(
    img: &Path,
    recipe: &Recipe,
    sc: &Scenario,
    vips: Option<&str>,
    exe: &Path,
    out_root: &Path,
    repeat: usize,
) -> Result<Row> {
    let data = std::fs::read(img)?;
    let facts = imaging::probe(&data)?;
    let mut times = Vec::new();
    let mut rend = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let bytes = std::fs::read(img)?;
        let r = imaging::render(&bytes, recipe)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        rend = Some(r);
    }
    let rend = rend.expect("at least one run");
    let reference_ycc = imaging::quality::reference_ycc(&data, recipe)?;
    let fast = imaging::render_ycc(&data, recipe)?;
    let ssim_pre = imaging::quality::ssim(&fast.y, &reference_ycc.y);
    let ssim_chroma = match (&fast.chroma, &reference_ycc.chroma) {
        (Some([fb, fr]), Some([rb, rr])) => {
            Some(imaging::quality::ssim(fb, rb).min(imaging::quality::ssim(fr, rr)))
        }
        _ => None,
    };
    let reference = reference_ycc.y;
    let ssim_hs = imaging::quality::ssim(&imaging::quality::decode_luma(&rend.jpeg)?, &reference);

    // Peak memory and per-process time of the real CLI on this one file.
    let hs_out = out_root.join("hs");
    let mut cmd = Command::new(exe);
    cmd.args([
        "process",
        "--jobs",
        "1",
        "--quality",
        "85",
        "--long-edge",
        "2048",
        "--strip",
        "all",
        "--json",
    ])
    .args(["--crop", &sc.crop.to_string(), "--out"])
    .arg(&hs_out)
    .arg(img);
    let (hs_proc_ms, hs_rss) = run_child(&mut cmd)?;

    let mut row = Row {
        scenario: sc.name,
        image: file_name(img),
        megapixels: f64::from(facts.width) * f64::from(facts.height) / 1e6,
        width: rend.width,
        height: rend.height,
        hotshoe_ms: median(times),
        hotshoe_process_ms: hs_proc_ms,
        hotshoe_bytes: rend.jpeg.len(),
        dct_scale: rend.stats.dct_scale,
        chroma_dct_scale: rend.stats.chroma_dct_scale,
        ssim_pre_encode: ssim_pre,
        ssim_chroma,
        ssim_hotshoe_jpeg: ssim_hs,
        hotshoe_rss_mib: hs_rss,
        ..Row::default()
    };
    if let Some(tool) = vips {
        let out = out_root.join(format!("{}-vips.jpg", file_name(img)));
        let crop = sc.crop != Crop::None;
        let (w, h) = if crop {
            (rend.width, rend.height)
        } else {
            (2048, 2048)
        };
        let mut times = Vec::new();
        let mut rss: f64 = 0.0;
        for _ in 0..repeat.max(1) {
            let (ms, r) = run_child(&mut vips_command(tool, img, &out, w, h, crop))?;
            times.push(ms);
            rss = rss.max(r);
        }
        let vjpeg = std::fs::read(&out)?;
        let vluma = imaging::quality::decode_luma(&vjpeg)?;
        if (vluma.width, vluma.height) != (rend.width, rend.height) {
            tracing::info!(
                vips = ?(vluma.width, vluma.height),
                hotshoe = ?(rend.width, rend.height),
                "output sizes differ (rounding)"
            );
        }
        let vms = median(times);
        row.ratio = Some(row.hotshoe_ms / vms);
        row.vips_ms = Some(vms);
        row.vips_bytes = Some(vjpeg.len());
        row.ssim_vips_jpeg = Some(imaging::quality::ssim(&vluma, &reference));
        row.vips_rss_mib = Some(rss);
    }
    Ok(row)
}

/// Images per second with every core busy: Hotshoe's worker pool in one process, and one
/// single-threaded vipsthumbnail process per core.
fn all_cores(
    images: &[PathBuf],
    recipe: &Recipe,
    sc: &Scenario,
    vips: Option<&str>,
    out_root: &Path,
    repeat: usize,
) -> Result<(f64, Option<f64>)> {
    let n = cores();
    let work: Vec<&PathBuf> = (0..repeat.max(1)).flat_map(|_| images.iter()).collect();
    let t = Instant::now();
    let results = pool(
        &work,
        n,
        |p| {
            std::fs::read(p)
                .map_err(anyhow::Error::from)
                .and_then(|d| Ok(imaging::render(&d, recipe)?.jpeg.len()))
        },
        |_| {},
    );
    let hs = work.len() as f64 / t.elapsed().as_secs_f64();
    if let Some(e) = results.into_iter().find_map(|r| r.err()) {
        return Err(e);
    }
    let Some(tool) = vips else {
        return Ok((hs, None));
    };
    let crop = sc.crop != Crop::None;
    let t = Instant::now();
    let results = pool(
        &work,
        n,
        |p| {
            let out = out_root.join(format!(
                "{}-vips-par-{:?}.jpg",
                file_name(p),
                std::thread::current().id()
            ));
            let (w, h) = if crop { (1638, 2048) } else { (2048, 2048) };
            run_child(&mut vips_command(tool, p, &out, w, h, crop)).map(|_| ())
        },
        |_| {},
    );
    let v = work.len() as f64 / t.elapsed().as_secs_f64();
    if let Some(e) = results.into_iter().find_map(|r| r.err()) {
        return Err(e);
    }
    Ok((hs, Some(v)))
}
