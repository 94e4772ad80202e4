//! `hotshoe process`: renders a batch of originals (files and folders) to a folder with a
//! worker pool, a progress bar and a summary. Rendering itself is `imaging::render`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use imaging::{Anchor, BoxSize, Credits, Crop, MetadataPolicy, Position, Recipe, Watermark};
use serde::Serialize;

/// Command-line options that make up a [`Recipe`].
#[derive(clap::Args, Debug, Clone)]
pub struct RecipeArgs {
    /// Crop: none, an aspect W:H (3:2, 2:3, 4:5, 5:4, 1:1, 16:9, 9:16...) or
    /// box:X,Y,W,H in fractions of the upright frame.
    #[arg(long, default_value = "none")]
    pub crop: Crop,
    /// Where an aspect crop sits: centre, upper-third, lower-third, left-third, right-third.
    #[arg(long, default_value = "centre")]
    pub anchor: Anchor,
    /// Long edge of the output in pixels (never upscaled).
    #[arg(long, default_value_t = 2048)]
    pub long_edge: u32,
    /// Fit inside WIDTHxHEIGHT instead of a long edge.
    #[arg(long)]
    pub fit: Option<BoxSize>,
    /// JPEG quality 1–100.
    #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Largest file size in bytes (quality is lowered to fit, not below 40).
    #[arg(long)]
    pub target_bytes: Option<u32>,
    /// Unsharp amount after downscaling, 0–1 (0.3 is light).
    #[arg(long, default_value_t = 0.0)]
    pub sharpen: f32,
    /// Metadata: `private` (strip GPS, serials and all but credit and capture tags),
    /// `gps` (strip GPS and serials, keep the rest), `all` (strip everything), `none`
    /// (keep everything).
    #[arg(long, default_value = "private")]
    pub strip: String,
    #[arg(long)]
    pub artist: Option<String>,
    #[arg(long)]
    pub copyright: Option<String>,
    #[arg(long)]
    pub credit: Option<String>,
    #[arg(long)]
    pub caption: Option<String>,
    /// PNG logo (with alpha) to draw over each rendition.
    #[arg(long)]
    pub watermark: Option<PathBuf>,
    /// Watermark corner: top-left, top-right, bottom-left, bottom-right, centre.
    #[arg(long, default_value = "bottom-right")]
    pub watermark_position: Position,
    /// Watermark width as a fraction of the image width.
    #[arg(long, default_value_t = 0.2)]
    pub watermark_scale: f32,
    /// Watermark opacity 0–1.
    #[arg(long, default_value_t = 0.8)]
    pub watermark_opacity: f32,
    /// Watermark margin as a fraction of the short edge.
    #[arg(long, default_value_t = 0.03)]
    pub watermark_margin: f32,
}

impl RecipeArgs {
    pub fn recipe(&self) -> Result<Recipe> {
        let metadata = match self.strip.as_str() {
            "private" => MetadataPolicy::StripPrivate,
            "gps" => MetadataPolicy::KeepExceptPrivate,
            "all" => MetadataPolicy::StripAll,
            "none" => MetadataPolicy::Keep,
            other => bail!("--strip {other:?}: expected private, gps, all or none"),
        };
        let watermark = match &self.watermark {
            None => None,
            Some(p) => {
                let png = std::fs::read(p)
                    .with_context(|| format!("cannot read watermark {}", p.display()))?;
                let mut w = Watermark::new(png);
                w.path = Some(p.clone());
                w.position = self.watermark_position;
                w.scale = self.watermark_scale;
                w.opacity = self.watermark_opacity;
                w.margin = self.watermark_margin;
                Some(w)
            }
        };
        Ok(Recipe {
            long_edge: self.long_edge,
            quality: self.quality,
            metadata,
            fit: self.fit,
            crop: self.crop,
            anchor: self.anchor,
            target_bytes: self.target_bytes,
            sharpen: self.sharpen,
            credits: Credits {
                artist: self.artist.clone(),
                copyright: self.copyright.clone(),
                credit: self.credit.clone(),
                caption: self.caption.clone(),
            },
            colour: Default::default(),
            watermark,
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct ProcessArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Output folder (created if missing); each output is NAME.jpg.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads [default: the number of cores].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print one JSON object per file and a summary object instead of a progress bar.
    #[arg(long)]
    pub json: bool,
    /// Files or folders (folders are searched recursively for images).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// The outcome for one input, as printed with --json.
#[derive(Debug, Serialize)]
pub struct FileResult {
    pub input: PathBuf,
    pub output: Option<PathBuf>,
    pub ok: bool,
    pub error: Option<String>,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub ms: f64,
    pub source: Option<&'static str>,
}

const EXTENSIONS: [&str; 14] = [
    "jpg", "jpeg", "png", "tif", "tiff", "cr2", "cr3", "nef", "arw", "raf", "orf", "rw2", "dng",
    "heic",
];

/// Expands folders into the image files under them, sorted for a stable order.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            bail!("{} does not exist", p.display());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Renders one file; never panics the worker on bad input (errors are results).
pub fn process_one(input: &Path, out_dir: &Path, recipe: &Recipe) -> FileResult {
    let started = Instant::now();
    let mut r = FileResult {
        input: input.to_owned(),
        output: None,
        ok: false,
        error: None,
        width: 0,
        height: 0,
        bytes: 0,
        ms: 0.0,
        source: None,
    };
    let outcome = std::fs::read(input)
        .with_context(|| format!("cannot read {}", input.display()))
        .and_then(|data| imaging::render(&data, recipe).map_err(anyhow::Error::from))
        .and_then(|rend| {
            let stem = input.file_stem().unwrap_or_default().to_string_lossy();
            let path = out_dir.join(format!("{stem}.jpg"));
            let tmp = out_dir.join(format!(".{stem}.jpg.partial"));
            std::fs::write(&tmp, &rend.jpeg)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok((rend, path))
        });
    match outcome {
        Ok((rend, path)) => {
            r.ok = true;
            r.output = Some(path);
            r.width = rend.width;
            r.height = rend.height;
            r.bytes = rend.jpeg.len();
            r.source = Some(rend.stats.source);
        }
        Err(e) => r.error = Some(format!("{e:#}")),
    }
    r.ms = started.elapsed().as_secs_f64() * 1e3;
    r
}

/// Runs `work` over `items` on `jobs` threads. Memory stays bounded: each worker holds one
/// original and one decode (under imaging's per-image budget) at a time.
pub fn pool<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    on_done: impl Fn(&R) + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = work(item);
                on_done(&r);
                results.lock().expect("no worker panics").push((i, r));
            });
        }
    });
    let mut v = results.into_inner().expect("no worker panics");
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The `process` command; returns the number of failed files.
pub fn run(args: ProcessArgs) -> Result<usize> {
    let recipe = args.recipe.recipe()?;
    let files = collect_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no images found in the inputs");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let jobs = args.jobs.unwrap_or_else(cores);
    let bar = if args.json {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} {per_sec} eta {eta} {wide_msg}",
            )
            .expect("valid template"),
        );
        b
    };
    let started = Instant::now();
    let results = pool(
        &files,
        jobs,
        |f| process_one(f, &args.out, &recipe),
        |r: &FileResult| {
            if args.json {
                if let Ok(line) = serde_json::to_string(r) {
                    println!("{line}");
                }
            } else {
                if let Some(e) = &r.error {
                    bar.println(format!("failed: {}: {e}", r.input.display()));
                }
                bar.set_message(
                    r.input
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                );
                bar.inc(1);
            }
        },
    );
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| !r.ok).count();
    let bytes: usize = results.iter().map(|r| r.bytes).sum();
    if args.json {
        let summary = serde_json::json!({
            "summary": true,
            "files": results.len(),
            "ok": results.len() - failed,
            "failed": failed,
            "seconds": secs,
            "images_per_second": results.len() as f64 / secs,
            "output_bytes": bytes,
        });
        println!("{summary}");
    } else {
        println!(
            "{} rendered, {failed} failed, in {secs:.1} s ({:.1} images/s, {jobs} workers), {:.1} MB written to {}",
            results.len() - failed,
            results.len() as f64 / secs,
            bytes as f64 / 1e6,
            args.out.display()
        );
    }
    Ok(failed)
}
