use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use hotshoe::demo::{Demo, DemoOptions};
use hotshoe::terminal::{qr_text, StatusLines};

mod album_cmd;
mod bench_album;
mod bench_cmd;
mod process_cmd;

/// Hotshoe: from a tethered camera to a live guest gallery in seconds.
///
/// Start with `hotshoe demo`: a virtual camera shoots every few seconds, and you watch each
/// shot arrive in the gallery on your phone (scan the QR code it prints).
#[derive(Parser)]
#[command(name = "hotshoe", version, propagate_version = true)]
struct Cli {
    /// More detail on the terminal (-v: info, -vv: debug). The log file always has detail.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Terminal logs as JSON lines, for log collectors.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole path on this machine with a virtual camera: album server, agent and
    /// camera; prints the gallery link and a QR code, then one line per shot.
    ///
    /// Running it again resumes the same album, journal and card: nothing is published twice.
    Demo(DemoArgs),
    /// The agent for a real event: tether USB cameras, watch hot folders, publish to the
    /// album (and S3, FTP, folders) from the config file; survives restarts and crashes.
    Run(hotshoe::run_cmd::RunArgs),
    /// The album server for real events: `hotshoe album serve`, `hotshoe album create NAME`.
    Album(album_cmd::AlbumArgs),
    /// Talk to a USB camera: list, info, ls, get, watch.
    #[command(subcommand)]
    Camera(hotshoe::camera_cmd::CameraCmd),
    /// Render photos (files or folders) to web renditions: crop, resize, watermark,
    /// metadata policy; a worker per core. Exits non-zero when any file failed.
    Process(process_cmd::ProcessArgs),
    /// Benchmarks: `hotshoe bench imaging DIR` compares renditions with vipsthumbnail;
    /// `hotshoe bench album` loads an album server on loopback (gallery page, live events).
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Renditions against vipsthumbnail on camera-like JPEGs (generated when DIR is empty).
    Imaging(bench_cmd::BenchArgs),
    /// One album server on 127.0.0.1: gallery page requests/s (wrk) and the time from an
    /// upload completing to each of many SSE viewers receiving its event.
    Album(bench_album::AlbumBenchArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Folder for the demo's album, journal, library and virtual card
    /// [default: the user's data folder, e.g. ~/.local/share/hotshoe/demo].
    #[arg(long, env = "HOTSHOE_DEMO_DIR")]
    data_dir: Option<PathBuf>,
    /// Address the album server listens on. The default lets phones on the same network open
    /// the gallery; use 127.0.0.1:0 to keep it on this machine.
    #[arg(long, default_value = "0.0.0.0:8470")]
    listen: SocketAddr,
    /// Base URL printed and put in the QR code [default: this machine's LAN address].
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds between shots of the virtual camera.
    #[arg(long, default_value_t = 4.0)]
    shot_every: f64,
    /// Stop the camera after this many new shots (the gallery keeps running until Ctrl-C).
    /// Each 24 MP shot is about 7 MB in the library and on the virtual card; 0 = no limit.
    #[arg(long, default_value_t = 250)]
    shots: u32,
    /// Image size of the virtual camera, WIDTHxHEIGHT (24 MP by default).
    #[arg(long, default_value = "6000x4000", value_parser = parse_size)]
    size: (u32, u32),
    /// Start over: delete the demo folder first.
    #[arg(long)]
    fresh: bool,
    /// Do not print the QR code.
    #[arg(long)]
    no_qr: bool,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?}: expected WIDTHxHEIGHT, e.g. 6000x4000"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("{w:?} is not a width"))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("{h:?} is not a height"))?;
    if !(64..=12000).contains(&w) || !(64..=12000).contains(&h) {
        return Err("width and height must be between 64 and 12000".into());
    }
    Ok((w, h))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        Command::Demo(args) => rt.block_on(demo(args, cli.verbose, cli.log_json)),
        Command::Run(args) => rt.block_on(hotshoe::run_cmd::run(args, cli.verbose, cli.log_json)),
        Command::Album(args) => rt.block_on(album_cmd::run(args, cli.verbose, cli.log_json)),
        Command::Camera(cmd) => {
            hotshoe::logging::init(None, cli.verbose, cli.log_json);
            rt.block_on(hotshoe::camera_cmd::run(cmd))
        }
        Command::Process(args) => {
            hotshoe::logging::init(None, cli.verbose, cli.log_json);
            let failed = process_cmd::run(args)?;
            if failed > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bench(cmd) => {
            hotshoe::logging::init(None, cli.verbose, cli.log_json);
            match cmd {
                BenchCmd::Imaging(args) => bench_cmd::run(args),
                BenchCmd::Album(args) => rt.block_on(bench_album::run(args)),
            }
        }
    }
}

fn default_data_dir() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("app", "Hotshoe", "hotshoe")
        .context("cannot find a home folder for the demo data; pass --data-dir")?;
    Ok(dirs.data_dir().join("demo"))
}

/// Takes `wanted` if it is free, else any free port on the same address.
fn pick_listen(wanted: SocketAddr) -> Result<SocketAddr> {
    match TcpListener::bind(wanted) {
        Ok(l) => Ok(l.local_addr()?),
        Err(_) if wanted.port() != 0 => {
            let l = TcpListener::bind(SocketAddr::new(wanted.ip(), 0))?;
            Ok(l.local_addr()?)
        }
        Err(e) => Err(e).with_context(|| format!("cannot listen on {wanted}")),
    }
}

async fn demo(args: DemoArgs, verbose: u8, json: bool) -> Result<()> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    if args.fresh && data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .with_context(|| format!("cannot delete {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let log_file = hotshoe::logging::init(Some(&data_dir), verbose, json);
    if !(args.shot_every.is_finite() && args.shot_every >= 0.2) {
        bail!("--shot-every must be at least 0.2 seconds");
    }

    let listen = pick_listen(args.listen)?;
    let public_url = args.public_url.clone().or_else(|| {
        if listen.ip().is_unspecified() {
            let ip = local_ip_address::local_ip()
                .ok()
                .filter(|ip| !ip.is_loopback())
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            Some(format!("http://{}", SocketAddr::new(ip, listen.port())))
        } else {
            None
        }
    });
    let mut opts = DemoOptions::new(data_dir.clone());
    opts.listen = listen;
    opts.public_url = public_url;
    opts.shot_every = Duration::from_secs_f64(args.shot_every);
    opts.shots = (args.shots > 0).then_some(args.shots);
    opts.shot_size = args.size;

    let demo = Demo::start(opts).await?;
    let mut events = demo.agent.subscribe();
    let mut lines = StatusLines::new();
    let url = demo.gallery_url().to_owned();
    println!();
    println!("  Hotshoe demo — \"{}\"", demo.album_info.title);
    println!();
    println!("  Gallery:  {url}");
    println!("  QR page:  {url}/qr");
    if !args.no_qr {
        if let Some(qr) = qr_text(&url) {
            for l in qr.lines() {
                println!("  {l}");
            }
        }
    }
    println!("  Data:     {}", data_dir.display());
    if let Some(f) = log_file {
        println!("  Log:      {}", f.display());
    }
    println!(
        "  A virtual {}x{} camera shoots every {:.1} s. Ctrl-C stops; run again to resume.",
        args.size.0, args.size.1, args.shot_every
    );
    println!();

    lines.follow(&mut events).await;
    let counts = demo.agent.journal().counts().await.ok();
    demo.stop().await;
    if let Some(c) = counts {
        println!(
            "stopped: {} published, {} waiting, {} failed. Run again to resume.",
            c.published,
            c.detected + c.downloaded + c.processed,
            c.failed
        );
    }
    Ok(())
}
