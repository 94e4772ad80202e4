//! `hotshoe camera …`: talk to a USB camera directly — list, inspect, browse, download, and
//! watch for new shots — with the same PTP session and detection code the agent uses.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use ptp::usb::{UsbCameraInfo, UsbTransport};
use ptp::Session;
use serde::Serialize;
use tokio::io::AsyncWrite;

use agent::library::{sanitize_component, IncomingFile};

#[derive(clap::Subcommand)]
pub enum CameraCmd {
    /// List cameras attached by USB, and whether this user may open them.
    List(Common),
    /// Show a camera's model, serial, battery and cards.
    Info(Common),
    /// List the files on a camera's cards.
    Ls(Common),
    /// Download files from a camera (all, or the names or handles given).
    Get {
        #[command(flatten)]
        common: Common,
        /// Folder to save into (created if missing).
        #[arg(long, short = 'o', default_value = ".")]
        to: PathBuf,
        /// Download every file on the cards.
        #[arg(long)]
        all: bool,
        /// File names (IMG_0001.JPG) or object handles (0x00000001 or 1).
        files: Vec<String>,
    },
    /// Wait for new shots and report (or download) each as soon as it is complete.
    ///
    /// With --download-to, shots are saved exactly as the agent saves them: streamed to a
    /// temporary file, checked complete (size, JPEG end marker), fsynced, then renamed, and
    /// remembered in DIR/.hotshoe/journal.sqlite so a restart never fetches one twice.
    /// Shots already on the card are left alone unless --include-existing is given.
    Watch {
        #[command(flatten)]
        common: Common,
        /// Download each new shot into this folder ({date}/{camera}_{name}).
        #[arg(long)]
        download_to: Option<PathBuf>,
        /// Also download what is on the card already.
        #[arg(long)]
        include_existing: bool,
        /// Stop after this many shots.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        timeout: Option<f64>,
    },
}

#[derive(clap::Args, Clone)]
pub struct Common {
    /// Which camera: part of its name, serial, USB location ("usb 1-2") or key. Needed only
    /// when more than one is attached.
    #[arg(long, short = 'c')]
    camera: Option<String>,
    /// Machine-readable output: one JSON document (or one JSON line per event).
    #[arg(long)]
    json: bool,
}

pub async fn run(cmd: CameraCmd) -> Result<()> {
    match cmd {
        CameraCmd::List(c) => list(&c).await,
        CameraCmd::Info(c) => info(&c).await,
        CameraCmd::Ls(c) => ls(&c).await,
        CameraCmd::Get {
            common,
            to,
            all,
            files,
        } => get(&common, &to, all, &files).await,
        CameraCmd::Watch {
            common,
            download_to,
            include_existing,
            count,
            timeout,
        } => watch(&common, download_to, include_existing, count, timeout).await,
    }
}

#[derive(Serialize)]
struct CameraRow {
    name: String,
    location: String,
    key: String,
    vendor_id: String,
    product_id: String,
    serial: Option<String>,
    interface: u8,
    /// `ok`, or why this user cannot open the device.
    access: String,
}

/// Whether the device node can be opened read-write; the usual failure on Linux is a missing
/// udev rule.
fn access_of(cam: &UsbCameraInfo) -> String {
    #[cfg(target_os = "linux")]
    {
        let Ok(bus) = cam.bus_id.parse::<u8>() else {
            return "unknown".into();
        };
        let node = ptp::usb::usbfs_node(bus, cam.device_address);
        match std::fs::OpenOptions::new().read(true).write(true).open(&node) {
            Ok(_) => "ok".into(),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => format!(
                "no permission to open {}: install udev-rules/69-hotshoe-cameras.rules (see README) and replug",
                node.display()
            ),
            Err(e) => format!("cannot open {}: {e}", node.display()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cam;
        "unknown".into()
    }
}

async fn list(c: &Common) -> Result<()> {
    let cams = ptp::usb::list_cameras().await?;
    let rows: Vec<CameraRow> = cams
        .iter()
        .map(|cam| CameraRow {
            name: cam.display_name(),
            location: cam.location(),
            key: cam.key(),
            vendor_id: format!("{:04x}", cam.vendor_id),
            product_id: format!("{:04x}", cam.product_id),
            serial: cam.serial.clone(),
            interface: cam.interface,
            access: access_of(cam),
        })
        .collect();
    if c.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("No camera found. Check the cable, switch the camera on, and set its USB mode to PTP/PC (not mass storage).");
        return Ok(());
    }
    for r in &rows {
        println!(
            "{:<28} {:<12} {}:{}  serial {}",
            r.name,
            r.location,
            r.vendor_id,
            r.product_id,
            r.serial.as_deref().unwrap_or("-")
        );
        if r.access != "ok" {
            println!("    {}", r.access);
        }
    }
    Ok(())
}

fn pick(cams: Vec<UsbCameraInfo>, want: Option<&str>) -> Result<UsbCameraInfo> {
    let selector = agent::usb::Selector::Matching(want.unwrap_or_default().to_owned());
    let matching: Vec<UsbCameraInfo> = cams.into_iter().filter(|c| selector.matches(c)).collect();
    match matching.len() {
        0 => bail!("no matching camera attached (see `hotshoe camera list`)"),
        1 => Ok(matching.into_iter().next().expect("one element")),
        n => bail!("{n} cameras match; choose one with --camera (see `hotshoe camera list`)"),
    }
}

async fn open_session(c: &Common) -> Result<(UsbCameraInfo, Session<UsbTransport>)> {
    let cam = pick(ptp::usb::list_cameras().await?, c.camera.as_deref())?;
    let transport = ptp::usb::open(&cam).await?;
    let session = Session::open(transport, 1)
        .await
        .with_context(|| format!("opening a PTP session with {}", cam.display_name()))?;
    Ok((cam, session))
}

#[derive(Serialize)]
struct StorageRow {
    id: String,
    description: String,
    volume_label: String,
    capacity_bytes: u64,
    free_bytes: u64,
    free_images: Option<u32>,
}

#[derive(Serialize)]
struct InfoDoc {
    manufacturer: String,
    model: String,
    serial: String,
    version: String,
    location: String,
    battery_percent: Option<u8>,
    storages: Vec<StorageRow>,
    operations: usize,
    events: usize,
}

async fn info(c: &Common) -> Result<()> {
    let (cam, mut s) = open_session(c).await?;
    let di = s.device_info().await?;
    let battery = match s
        .device_prop_value(
            ptp::codes::property::BATTERY_LEVEL,
            ptp::codes::datatype::UINT8,
        )
        .await
    {
        Ok(ptp::PropValue::U8(b)) => Some(b),
        _ => None,
    };
    let mut storages = Vec::new();
    for id in s.storage_ids().await? {
        let si = s.storage_info(id).await?;
        storages.push(StorageRow {
            id: format!("{id:#010x}"),
            description: si.description,
            volume_label: si.volume_label,
            capacity_bytes: si.max_capacity,
            free_bytes: si.free_space_bytes,
            free_images: (si.free_space_images != u32::MAX).then_some(si.free_space_images),
        });
    }
    let _ = s.close().await;
    let doc = InfoDoc {
        manufacturer: di.manufacturer,
        model: di.model,
        serial: di.serial_number,
        version: di.device_version,
        location: cam.location(),
        battery_percent: battery,
        storages,
        operations: di.operations_supported.len(),
        events: di.events_supported.len(),
    };
    if c.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "{} {}  (serial {}, firmware {})",
        doc.manufacturer, doc.model, doc.serial, doc.version
    );
    println!("  at {}", doc.location);
    println!(
        "  battery: {}",
        doc.battery_percent
            .map(|b| format!("{b}%"))
            .unwrap_or_else(|| "not reported".into())
    );
    for st in &doc.storages {
        println!(
            "  card {} {}: {} free of {}{}",
            st.id,
            if st.volume_label.is_empty() {
                &st.description
            } else {
                &st.volume_label
            },
            crate::terminal::human_bytes(st.free_bytes),
            crate::terminal::human_bytes(st.capacity_bytes),
            st.free_images
                .map(|n| format!(", about {n} more shots"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[derive(Serialize, Clone)]
struct FileRow {
    handle: u32,
    name: String,
    size: u64,
    captured: String,
    format: String,
    storage: String,
}

async fn files(s: &mut Session<UsbTransport>) -> Result<Vec<FileRow>> {
    let mut out = Vec::new();
    for h in s.object_handles(0xFFFF_FFFF, 0, 0xFFFF_FFFF).await? {
        let oi = s.object_info(h).await?;
        if oi.object_format == ptp::codes::format::ASSOCIATION {
            continue;
        }
        out.push(FileRow {
            handle: h,
            name: oi.filename,
            size: u64::from(oi.object_compressed_size),
            captured: oi.capture_date,
            format: ptp::codes::format_name(oi.object_format).to_string(),
            storage: format!("{:#010x}", oi.storage_id),
        });
    }
    Ok(out)
}

async fn ls(c: &Common) -> Result<()> {
    let (_cam, mut s) = open_session(c).await?;
    let rows = files(&mut s).await?;
    let _ = s.close().await;
    if c.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for r in &rows {
        println!(
            "{:#010x}  {:<20} {:>10}  {}  {}",
            r.handle,
            r.name,
            crate::terminal::human_bytes(r.size),
            r.captured,
            r.format
        );
    }
    println!("{} files", rows.len());
    Ok(())
}

/// Counts bytes into a progress bar on their way to the file.
struct Progress<'a, W> {
    inner: &'a mut W,
    bar: &'a ProgressBar,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Progress<'_, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let r = Pin::new(&mut *this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.bar.inc(n as u64);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}

#[derive(Serialize)]
struct Downloaded {
    handle: u32,
    name: String,
    path: PathBuf,
    bytes: u64,
    blake3: String,
    ms: u64,
}

fn parse_handle(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

async fn get(c: &Common, to: &Path, all: bool, wanted: &[String]) -> Result<()> {
    if !all && wanted.is_empty() {
        bail!("name the files to download, or pass --all");
    }
    let (_cam, mut s) = open_session(c).await?;
    let rows = files(&mut s).await?;
    let chosen: Vec<FileRow> = if all {
        rows
    } else {
        let mut out = Vec::new();
        for w in wanted {
            let hit = rows
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(w) || parse_handle(w) == Some(r.handle))
                .ok_or_else(|| {
                    anyhow!("{w}: no such file on the camera (see `hotshoe camera ls`)")
                })?;
            out.push(hit.clone());
        }
        out
    };
    tokio::fs::create_dir_all(to)
        .await
        .with_context(|| format!("creating {}", to.display()))?;
    let total: u64 = chosen.iter().map(|r| r.size).sum();
    let bar = if c.json {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{msg:24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b
    };
    let started = Instant::now();
    let mut failures = 0;
    for r in &chosen {
        bar.set_message(r.name.clone());
        let dest = to.join(sanitize_component(&r.name));
        let t0 = Instant::now();
        let mut file = IncomingFile::create(&dest).await?;
        let result = {
            let mut sink = Progress {
                inner: &mut file,
                bar: &bar,
            };
            s.get_object(r.handle, &mut sink).await
        };
        match result {
            Ok(_) => {
                let (path, bytes, hash) = file.commit(&dest).await?;
                let row = Downloaded {
                    handle: r.handle,
                    name: r.name.clone(),
                    path,
                    bytes,
                    blake3: hash,
                    ms: t0.elapsed().as_millis() as u64,
                };
                if c.json {
                    println!("{}", serde_json::to_string(&row)?);
                }
            }
            Err(e) => {
                file.discard().await;
                failures += 1;
                bar.println(format!("{}: {e}", r.name));
                if e.is_disconnected() {
                    break;
                }
            }
        }
    }
    bar.finish_and_clear();
    let _ = s.close().await;
    let secs = started.elapsed().as_secs_f64();
    if !c.json {
        println!(
            "{} of {} files, {} in {:.1} s ({:.1} MB/s)",
            chosen.len() - failures,
            chosen.len(),
            crate::terminal::human_bytes(total),
            secs,
            total as f64 / 1e6 / secs.max(1e-6)
        );
    }
    if failures > 0 {
        bail!("{failures} files failed");
    }
    Ok(())
}

#[derive(Serialize)]
struct Seen<'a> {
    event: &'a str,
    name: &'a str,
    shot: i64,
    path: Option<String>,
    at: String,
}

async fn watch(
    c: &Common,
    download_to: Option<PathBuf>,
    include_existing: bool,
    count: Option<u64>,
    timeout: Option<f64>,
) -> Result<()> {
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    let Some(dir) = download_to else {
        return watch_events(c, count, deadline).await;
    };
    let cam = pick(ptp::usb::list_cameras().await?, c.camera.as_deref())?;
    let state = dir.join(".hotshoe");
    std::fs::create_dir_all(&state).with_context(|| format!("creating {}", state.display()))?;
    let journal = agent::Journal::open(&state.join("journal.sqlite"))?;
    let (events, mut rx) = tokio::sync::broadcast::channel(256);
    let ctx = agent::camera::SourceCtx {
        journal: journal.clone(),
        library_dir: dir.clone(),
        events,
        downloaded: std::sync::Arc::new(tokio::sync::Notify::new()),
        import_existing: include_existing,
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    // Follow whichever camera matches, so a replug that renumbers the device is picked up.
    let connector = agent::usb::UsbConnector::watching(agent::usb::Selector::Matching(
        c.camera.clone().unwrap_or_default(),
    ));
    let source = tokio::spawn(agent::camera::run(connector, ctx, cancel.child_token()));
    if !c.json {
        eprintln!(
            "watching {} ({}); Ctrl-C stops",
            cam.display_name(),
            cam.location()
        );
    }
    let mut saved = 0u64;
    let stop = crate::stop_signal();
    tokio::pin!(stop);
    loop {
        let wait = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600 * 24 * 365));
        let ev = tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(wait) => break,
            ev = rx.recv() => ev,
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        match ev {
            agent::AgentEvent::Shot(shot) if shot.stage == agent::Stage::Downloaded => {
                let path = journal
                    .shot(shot.shot_id)
                    .await?
                    .and_then(|s| s.library_path)
                    .map(|p| p.display().to_string());
                let row = Seen {
                    event: "saved",
                    name: &shot.filename,
                    shot: shot.shot_id,
                    path,
                    at: now_rfc3339(),
                };
                if c.json {
                    println!("{}", serde_json::to_string(&row)?);
                } else {
                    println!("saved  {}  {}", row.name, row.path.as_deref().unwrap_or(""));
                }
                saved += 1;
                if count.is_some_and(|n| saved >= n) {
                    break;
                }
            }
            agent::AgentEvent::Camera(st) => {
                if c.json {
                    println!("{}", serde_json::to_string(&st)?);
                } else {
                    eprintln!(
                        "camera {:?}{}",
                        st.state,
                        st.message.map(|m| format!(": {m}")).unwrap_or_default()
                    );
                }
            }
            _ => {}
        }
    }
    cancel.cancel();
    let _ = source.await;
    Ok(())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Without a download folder: report what the camera announces, nothing more.
async fn watch_events(c: &Common, count: Option<u64>, deadline: Option<Instant>) -> Result<()> {
    let (cam, mut s) = open_session(c).await?;
    if !c.json {
        eprintln!(
            "watching {} ({}); Ctrl-C stops",
            cam.display_name(),
            cam.location()
        );
    }
    // Some devices (qemu's usb-mtp among them) only report objects in folders a client has
    // listed, so list once first.
    let _ = s.object_handles(0xFFFF_FFFF, 0, 0xFFFF_FFFF).await?;
    let mut seen = 0u64;
    let stop = crate::stop_signal();
    tokio::pin!(stop);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let ev = tokio::select! {
            _ = &mut stop => break,
            ev = s.next_event(Duration::from_millis(500)) => ev?,
        };
        let Some(ev) = ev else { continue };
        let handle = ev.params.first().copied().unwrap_or(0);
        let name = if ev.code == ptp::codes::event::OBJECT_ADDED {
            s.object_info(handle)
                .await
                .map(|oi| oi.filename)
                .unwrap_or_default()
        } else {
            String::new()
        };
        if c.json {
            println!(
                "{}",
                serde_json::json!({
                    "event": ptp::codes::event_name(ev.code),
                    "code": format!("{:#06x}", ev.code),
                    "params": ev.params,
                    "name": name,
                    "at": now_rfc3339(),
                })
            );
        } else {
            println!(
                "{}  {:#010x}  {}",
                ptp::codes::event_name(ev.code),
                handle,
                name
            );
        }
        if ev.code == ptp::codes::event::OBJECT_ADDED {
            seen += 1;
            if count.is_some_and(|n| seen >= n) {
                break;
            }
        }
    }
    let _ = s.close().await;
    Ok(())
}
