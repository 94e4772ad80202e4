//! `hotshoe bench album`: one album server on loopback under two loads, one after the other.
//!
//! 1. Gallery page: `wrk` against `/g/{slug}` of an album holding `--photos` photos.
//! 2. Live events: `--viewers` SSE connections on the album's event stream; then
//!    `--uploads` tus uploads, spaced `--upload-every-ms` apart. For every (upload, viewer)
//!    pair two times are recorded: from the final PATCH being sent (its last byte leaves
//!    the uploader) and from its response arriving, to that viewer receiving the photo's
//!    event; p50/p95/p99/max are reported with the number of pairs that never arrived.
//!    The target is judged on the first, which includes the server's finalize (verify,
//!    thumbnail, store, record): the server publishes before it answers, so the second is
//!    about zero and says little.
//!
//! The server is a child process (see `server.rs`). It exits non-zero only on wrong
//! results (missed events, dropped streams, HTTP errors under wrk), never on time: machines
//! differ, and the 200 ms target is printed as PASS/FAIL instead.

mod server;
mod uploads;
mod viewers;
mod wrk;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use server::ChildServer;
use uploads::{make_photos, TusClient, Uploaded};
use wrk::{WrkLoad, WrkResult};

#[derive(clap::Args, Debug)]
pub struct AlbumBenchArgs {
    /// Photos in the album before the gallery page is loaded (the page shows 60).
    #[arg(long, default_value_t = 60)]
    pub photos: usize,
    /// Seconds of wrk load on the gallery page; 0 skips wrk.
    #[arg(long, default_value_t = 10)]
    pub wrk_seconds: u64,
    /// wrk's open connections.
    #[arg(long, default_value_t = 8)]
    pub wrk_connections: u32,
    /// wrk's threads.
    #[arg(long, default_value_t = 2)]
    pub wrk_threads: u32,
    /// Concurrent SSE viewers of the album's live events.
    #[arg(long, default_value_t = 1000)]
    pub viewers: usize,
    /// Uploads whose events the viewers must receive.
    #[arg(long, default_value_t = 20)]
    pub uploads: usize,
    /// Pause between the starts of two uploads, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub upload_every_ms: u64,
    /// Target for the p99 from the upload's last byte sent to the event received, in ms.
    #[arg(long, default_value_t = 200.0)]
    pub target_p99_ms: f64,
    /// Also write the results as JSON to this file (`-` for standard output).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep the temporary data folder (server log with per-photo timings, database).
    #[arg(long)]
    pub keep_data: bool,
}

/// How long viewers may take to receive the last upload's event before it counts as missed.
const ARRIVAL_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize)]
pub struct Report {
    pub cores: usize,
    /// 1-minute load average before the run: how busy the machine already was.
    pub load_before: Option<f64>,
    pub photos: usize,
    pub page_bytes: usize,
    pub wrk: Option<WrkReport>,
    pub sse: SseReport,
    pub server_peak_rss_mib: Option<f64>,
    pub target_p99_ms: f64,
    pub pass: bool,
}

#[derive(Debug, Serialize)]
pub struct WrkReport {
    pub url_path: String,
    pub seconds: u64,
    pub connections: u32,
    pub threads: u32,
    #[serde(flatten)]
    pub result: WrkResult,
}

#[derive(Debug, Serialize)]
pub struct SseReport {
    pub viewers: usize,
    pub uploads: usize,
    pub connect_seconds: f64,
    /// (upload, viewer) pairs measured.
    pub pairs: usize,
    /// Pairs whose event never arrived within the grace period; must be 0.
    pub missed: usize,
    /// Viewers whose stream failed during the run; must be 0.
    pub dropped_streams: usize,
    /// Upload complete (final PATCH response received) to event received.
    pub after_response_ms: Stats,
    /// Final PATCH sent (the last byte leaves the uploader) to event received: includes
    /// the server's verify, thumbnail, store and record before it publishes.
    pub after_last_byte_ms: Stats,
    /// The final PATCH's own round trip, per upload.
    pub patch_ms: Stats,
    /// Per upload, first viewer's arrival to last viewer's: the cost of the fan-out itself.
    pub spread_ms: Stats,
}

/// Percentiles by nearest rank. Signed: a viewer can get the event before the uploader
/// gets its answer, since the server publishes before it responds.
#[derive(Debug, Serialize, Default, Clone, Copy)]
pub struct Stats {
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    fn of(mut values: Vec<f64>) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p / 100.0) * values.len() as f64).ceil() as usize;
            values[i.clamp(1, values.len()) - 1]
        };
        Stats {
            min: values[0],
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: values[values.len() - 1],
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `later - earlier` in ms, negative when `later` came first.
fn signed_ms(later: Instant, earlier: Instant) -> f64 {
    if later >= earlier {
        ms(later - earlier)
    } else {
        -ms(earlier - later)
    }
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub async fn run(args: AlbumBenchArgs) -> Result<()> {
    if args.viewers == 0 || args.uploads == 0 {
        bail!("--viewers and --uploads must be at least 1");
    }
    // Each viewer is a socket here and one in the server (which inherits the limit).
    hotshoe::raise_open_files_limit();
    let load_before = load_average();
    let tmp = tempfile::Builder::new()
        .prefix("hotshoe-bench-album-")
        .tempdir()
        .context("creating a temporary data folder")?;
    let data = tmp.path().join("album");
    std::fs::create_dir_all(&data)?;

    eprintln!("starting the album server (child process, SQLite and local objects)…");
    let server = ChildServer::start(&data).await?;
    let base = server.base_url();
    let result = measure(&args, &server, &data, &base, load_before).await;
    let peak = server.peak_rss_mib();
    let stopped = server.stop().await;
    if args.keep_data {
        eprintln!("keeping {}", tmp.keep().display());
    }
    let mut report = result?;
    stopped?;
    report.server_peak_rss_mib = peak;

    print_report(&report, &args);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        if path.as_os_str() == "-" {
            println!("{text}");
        } else {
            std::fs::write(path, text + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    let mut wrong = Vec::new();
    if report.sse.missed > 0 {
        wrong.push(format!("{} events missed", report.sse.missed));
    }
    if report.sse.dropped_streams > 0 {
        wrong.push(format!(
            "{} viewer streams dropped",
            report.sse.dropped_streams
        ));
    }
    if let Some(w) = &report.wrk {
        if w.result.non_2xx_3xx > 0 || w.result.socket_errors > 0 {
            wrong.push(format!(
                "wrk saw {} error responses and {} socket errors",
                w.result.non_2xx_3xx, w.result.socket_errors
            ));
        }
    }
    if !wrong.is_empty() {
        bail!("album benchmark gave wrong results: {}", wrong.join("; "));
    }
    Ok(())
}

async fn measure(
    args: &AlbumBenchArgs,
    server: &ChildServer,
    data: &Path,
    base: &str,
    load_before: Option<f64>,
) -> Result<Report> {
    // The album is created through the server's database, as `hotshoe album create` does;
    // the server has announced its address there, so the links point at it.
    let config = album::Config::new(server.addr, data);
    let info = album::create_album_direct(&config, "Bench", &album::AlbumOptions::default())
        .await
        .context("creating the benchmark album")?;
    let tus = TusClient::new(&info.upload_url, &info.upload_token)?;

    eprintln!(
        "rendering {} web renditions (2048 px, q82)…",
        args.photos + args.uploads
    );
    let seed = make_photos(1, args.photos).await?;
    let live = make_photos(args.photos as u32 + 1, args.uploads).await?;

    eprintln!("uploading {} photos to fill the gallery…", seed.len());
    for (i, photo) in seed.iter().enumerate() {
        tus.upload(photo)
            .await
            .with_context(|| format!("uploading {}", photo.filename))?;
        if (i + 1) % 20 == 0 || i + 1 == seed.len() {
            eprintln!("  {}/{}", i + 1, seed.len());
        }
    }

    let page_path = format!("/g/{}", info.slug);
    let page_url = format!("{base}{page_path}");
    let page = reqwest::get(&page_url)
        .await?
        .error_for_status()?
        .bytes()
        .await?;

    let wrk = if args.wrk_seconds > 0 {
        let load = WrkLoad {
            duration: Duration::from_secs(args.wrk_seconds),
            connections: args.wrk_connections,
            threads: args.wrk_threads,
        };
        eprintln!(
            "wrk: {} s, {} connections, {} threads on {page_path} ({} KB)…",
            args.wrk_seconds,
            args.wrk_connections,
            args.wrk_threads,
            page.len() / 1024
        );
        let result = wrk::run(&page_url, load).await?;
        eprintln!("  {:.0} requests/s", result.requests_per_sec);
        Some(WrkReport {
            url_path: page_path,
            seconds: args.wrk_seconds,
            connections: args.wrk_connections,
            threads: args.wrk_threads,
            result,
        })
    } else {
        None
    };

    eprintln!("connecting {} SSE viewers…", args.viewers);
    let events_url = format!("{base}/g/{}/events", info.slug);
    let step = (args.viewers / 10).max(1);
    let mut viewers = viewers::open(&events_url, args.viewers, |n| {
        if n % step == 0 || n == args.viewers {
            eprintln!("  {n}/{}", args.viewers);
        }
    })
    .await?;
    let connect_time = viewers.connect_time;

    eprintln!(
        "uploading {} photos, one every {} ms, while {} viewers watch…",
        live.len(),
        args.upload_every_ms,
        args.viewers
    );
    // Arrivals are collected while uploads run, so the channel never holds a backlog.
    let mut arrivals: HashMap<String, Vec<Option<Instant>>> = HashMap::new();
    let record = |a: viewers::Arrival, arrivals: &mut HashMap<String, Vec<Option<Instant>>>| {
        let slots = arrivals
            .entry(a.photo_id)
            .or_insert_with(|| vec![None; args.viewers]);
        // The first arrival counts; a repeat would be a server bug, not a faster viewer.
        slots[a.viewer].get_or_insert(a.at);
    };
    let mut done: Vec<Uploaded> = Vec::with_capacity(live.len());
    let every = Duration::from_millis(args.upload_every_ms);
    for (i, photo) in live.iter().enumerate() {
        let next = Instant::now() + every;
        let up = tus
            .upload(photo)
            .await
            .with_context(|| format!("uploading {}", photo.filename))?;
        eprintln!(
            "  {}/{} {}: PATCH {:.1} ms",
            i + 1,
            live.len(),
            photo.filename,
            ms(up.done - up.sent)
        );
        done.push(up);
        while let Ok(a) = viewers.arrivals.try_recv() {
            record(a, &mut arrivals);
        }
        tokio::time::sleep_until(next.into()).await;
    }
    let expected = args.viewers * done.len();
    let received = |arrivals: &HashMap<String, Vec<Option<Instant>>>| {
        done.iter()
            .filter_map(|u| arrivals.get(&u.photo_id))
            .map(|slots| slots.iter().flatten().count())
            .sum::<usize>()
    };
    let deadline = tokio::time::Instant::now() + ARRIVAL_GRACE;
    while received(&arrivals) < expected {
        match tokio::time::timeout_at(deadline, viewers.arrivals.recv()).await {
            Ok(Some(a)) => record(a, &mut arrivals),
            Ok(None) | Err(_) => break,
        }
    }
    let dropped_streams = viewers.close().await;

    let mut after_response = Vec::with_capacity(expected);
    let mut after_last_byte = Vec::with_capacity(expected);
    let mut spread = Vec::with_capacity(done.len());
    let mut missed = 0;
    for up in &done {
        let slots = arrivals.get(&up.photo_id);
        let got = || slots.into_iter().flatten().flatten();
        if let (Some(first), Some(last)) = (got().min(), got().max()) {
            spread.push(ms(*last - *first));
        }
        for v in 0..args.viewers {
            match slots.and_then(|s| s[v]) {
                Some(at) => {
                    after_response.push(signed_ms(at, up.done));
                    after_last_byte.push(signed_ms(at, up.sent));
                }
                None => missed += 1,
            }
        }
    }
    let after_response_ms = Stats::of(after_response);
    let after_last_byte_ms = Stats::of(after_last_byte);
    // Judged on the stricter measure: the server publishes before it answers the final
    // PATCH, so "response received -> event" is about zero whatever the server's finalize
    // costs, while "last byte sent -> event" includes verify, thumbnail, store and record.
    let sse = SseReport {
        viewers: args.viewers,
        uploads: done.len(),
        connect_seconds: connect_time.as_secs_f64(),
        pairs: expected,
        missed,
        dropped_streams,
        after_response_ms,
        after_last_byte_ms,
        patch_ms: Stats::of(done.iter().map(|u| ms(u.done - u.sent)).collect()),
        spread_ms: Stats::of(spread),
    };
    let pass = missed == 0 && dropped_streams == 0 && after_last_byte_ms.p99 < args.target_p99_ms;
    Ok(Report {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_before,
        photos: seed.len(),
        page_bytes: page.len(),
        wrk,
        sse,
        server_peak_rss_mib: None,
        target_p99_ms: args.target_p99_ms,
        pass,
    })
}

fn print_report(r: &Report, args: &AlbumBenchArgs) {
    println!();
    println!(
        "## album server on 127.0.0.1 (child process, SQLite + local objects), {} cores, load before {}",
        r.cores,
        r.load_before.map_or("?".into(), |l| format!("{l:.2}"))
    );
    if let Some(w) = &r.wrk {
        let x = &w.result;
        println!();
        println!(
            "gallery page ({} photos, {} KB), wrk {} s, {} connections, {} threads:",
            r.photos,
            r.page_bytes / 1024,
            w.seconds,
            w.connections,
            w.threads
        );
        println!(
            "  {:>10}  {:>9} {:>9} {:>9} {:>9} {:>9}  {:>7}",
            "req/s", "p50 ms", "p75 ms", "p90 ms", "p99 ms", "max ms", "errors"
        );
        println!(
            "  {:>10.1}  {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {:>7}",
            x.requests_per_sec,
            x.latency_p50_ms,
            x.latency_p75_ms,
            x.latency_p90_ms,
            x.latency_p99_ms,
            x.latency_max_ms,
            x.non_2xx_3xx + x.socket_errors
        );
    }
    let s = &r.sse;
    println!();
    println!(
        "live events: {} viewers (all subscribed in {:.1} s), {} uploads every {} ms, {} pairs:",
        s.viewers, s.connect_seconds, s.uploads, args.upload_every_ms, s.pairs
    );
    println!(
        "  {:<40} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "ms", "min", "p50", "p95", "p99", "max"
    );
    for (name, st) in [
        ("upload complete -> event received", &s.after_response_ms),
        ("final PATCH sent -> event received", &s.after_last_byte_ms),
        ("final PATCH round trip (per upload)", &s.patch_ms),
        ("first to last viewer (per upload)", &s.spread_ms),
    ] {
        println!(
            "  {:<40} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            name, st.min, st.p50, st.p95, st.p99, st.max
        );
    }
    println!(
        "  missed events: {}   dropped streams: {}   server peak RSS: {}",
        s.missed,
        s.dropped_streams,
        r.server_peak_rss_mib
            .map_or("?".into(), |m| format!("{m:.0} MiB"))
    );
    println!();
    println!(
        "p99 final PATCH sent -> event received: {:.1} ms, target < {:.0} ms: {}",
        s.after_last_byte_ms.p99,
        r.target_p99_ms,
        if r.pass { "PASS" } else { "FAIL" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Stats::of((1..=100).map(f64::from).rev().collect());
        assert_eq!(
            (s.min, s.p50, s.p95, s.p99, s.max),
            (1.0, 50.0, 95.0, 99.0, 100.0)
        );
        let one = Stats::of(vec![-3.0]);
        assert_eq!((one.p50, one.p99), (-3.0, -3.0));
    }
}
