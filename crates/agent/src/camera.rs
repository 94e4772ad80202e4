//! The camera source: keeps a PTP session to one camera alive, learns of every new shot
//! (events, plus a reconciling listing after each connect and when events stay silent), and
//! saves each original into the library before the journal calls it downloaded.
//!
//! It owns no policy about what happens to a shot next; that is the pipeline's job.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ptp::{Session, Transport};
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use crate::events::{AgentEvent, CameraState, CameraStatus, ShotEvent, Stage};
use crate::journal::{Detected, Journal, ShotState};
use crate::library::{original_path, IncomingFile};

/// Opens a fresh transport to a camera. Called again after every disconnect, so that an
/// unplugged and replugged camera (or a USB reset) is picked up without the user.
pub trait Connector: Send + 'static {
    type Transport: Transport + 'static;
    /// A short name for logs, e.g. `usb 3-1` or `camsim`.
    fn describe(&self) -> String;
    fn connect(&mut self) -> impl Future<Output = Result<Self::Transport, String>> + Send;
}

/// What the camera source shares with the rest of the agent.
#[derive(Clone)]
pub struct SourceCtx {
    pub journal: Journal,
    pub library_dir: PathBuf,
    pub events: broadcast::Sender<AgentEvent>,
    pub downloaded: Arc<Notify>,
    /// Whether shots already on a card the first time a camera is seen are imported too.
    pub import_existing: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("{0}")]
    Ptp(#[from] ptp::PtpError),
    #[error("library: {0}")]
    Io(#[from] std::io::Error),
    #[error("journal: {0}")]
    Journal(#[from] crate::journal::JournalError),
    #[error("{0}")]
    Device(String),
    /// The session is reopened on purpose to make the device list its card afresh.
    #[error("refreshing the session")]
    Refresh,
}

/// How long the event pipe may stay silent before we list the card anyway. Some cameras (and
/// qemu's usb-mtp) drop or delay events; a listing is cheap next to a lost shot.
const RECONCILE_EVERY: Duration = Duration::from_secs(15);
/// How often battery and card space are refreshed for the status display.
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// How often objects seen still being written (size 0) are looked at again.
const PENDING_EVERY: Duration = Duration::from_millis(500);

/// Runs until cancelled: connect, serve the session, and on any error reconnect with backoff.
pub async fn run<C: Connector>(mut connector: C, ctx: SourceCtx, cancel: CancellationToken) {
    let mut backoff = Duration::from_millis(250);
    let mut last_status: Option<CameraStatus> = None;
    let mut last_refresh: Option<Instant> = None;
    while !cancel.is_cancelled() {
        let attempt = tokio::select! {
            _ = cancel.cancelled() => break,
            t = connector.connect() => t,
        };
        match attempt {
            Ok(transport) => {
                let mut live = Live {
                    last_refresh,
                    ..Live::default()
                };
                let result = serve(transport, &ctx, &cancel, &mut live).await;
                last_refresh = live.last_refresh;
                if live.connected {
                    backoff = Duration::from_millis(250);
                }
                match result {
                    Ok(()) => break,
                    Err(CameraError::Refresh) => continue,
                    Err(e) => {
                        tracing::warn!(camera = %connector.describe(), error = %e, "camera session ended");
                        let status = CameraStatus {
                            state: CameraState::Disconnected,
                            message: Some(explain(&e)),
                            ..live
                                .status
                                .clone()
                                .unwrap_or_else(|| blank_status(&connector))
                        };
                        publish_status(&ctx, &mut last_status, status);
                    }
                }
            }
            Err(e) => {
                tracing::debug!(camera = %connector.describe(), error = %e, "camera not reachable");
                let status = CameraStatus {
                    message: Some(format!("waiting for the camera: {e}")),
                    ..blank_status(&connector)
                };
                publish_status(&ctx, &mut last_status, status);
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn blank_status<C: Connector>(c: &C) -> CameraStatus {
    CameraStatus {
        source: format!("camera:{}", c.describe()),
        state: CameraState::Disconnected,
        model: None,
        serial: None,
        battery: None,
        free_bytes: None,
        free_images: None,
        message: None,
    }
}

fn publish_status(ctx: &SourceCtx, last: &mut Option<CameraStatus>, status: CameraStatus) {
    if last.as_ref() != Some(&status) {
        let _ = ctx.events.send(AgentEvent::Camera(status.clone()));
        *last = Some(status);
    }
}

/// Turns an error into something a photographer can act on.
fn explain(e: &CameraError) -> String {
    match e {
        CameraError::Ptp(ptp::PtpError::Transport(_)) => {
            "camera disconnected or switched off; plug it back in or wake it".into()
        }
        CameraError::Io(e) => format!("cannot write to the library folder: {e}"),
        other => other.to_string(),
    }
}

#[derive(Default)]
struct Live {
    connected: bool,
    status: Option<CameraStatus>,
    /// When a session was last reopened to refresh a stale listing; bounds how often.
    last_refresh: Option<Instant>,
}

/// An object that still looks incomplete after this long may be a stale listing: some
/// devices (qemu's usb-mtp among them) report the size a file had when it appeared and
/// never update it within a session, so the session is reopened once to list afresh.
const REFRESH_AFTER: Duration = Duration::from_secs(3);
/// At most one such refresh per this long, so an empty file on a card cannot make the
/// session flap.
const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Per-session knowledge of the card.
struct Card {
    source: String,
    camera_name: String,
    /// GetPartialObject lets an interrupted download continue where it stopped.
    partial_ok: bool,
    /// GetPartialObject64: the same past 4 GiB.
    partial64_ok: bool,
    /// Handles already dealt with in this session (downloaded, known, or not ours).
    done: HashSet<u32>,
    /// Objects not complete yet when we looked (size 0, or a JPEG without its end marker).
    pending: HashMap<u32, Pending>,
}

/// An object seen but not yet taken because it looked incomplete.
struct Pending {
    first_seen: Instant,
    /// The size we last tried with; nothing is fetched again until it changes or time is up.
    tried_size: Option<u32>,
}

/// How long an object may look incomplete (size 0 or a cut JPEG, size unchanged) before it
/// is taken as it is: a card error must not cost the photographer the shot.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

async fn serve<T: Transport + 'static>(
    transport: T,
    ctx: &SourceCtx,
    cancel: &CancellationToken,
    live: &mut Live,
) -> Result<(), CameraError> {
    let mut session = Session::open(transport, 1).await?;
    let info = session.device_info().await?;
    live.connected = true;
    let serial = non_empty(&info.serial_number);
    let model = non_empty(&info.model);
    let source = format!(
        "camera:{}",
        serial
            .clone()
            .or_else(|| model.clone())
            .unwrap_or_else(|| "unknown".into())
    );
    let camera_name = model
        .clone()
        .unwrap_or_else(|| "camera".into())
        .replace(' ', "-");
    tracing::info!(%source, model = ?model, "camera connected");
    let mut card = Card {
        source: source.clone(),
        camera_name,
        partial_ok: info.supports_operation(ptp::codes::operation::GET_PARTIAL_OBJECT),
        partial64_ok: info.supports_operation(ptp::codes::operation::MTP_GET_PARTIAL_OBJECT_64),
        done: HashSet::new(),
        pending: HashMap::new(),
    };
    let first_time = ctx
        .journal
        .register_source(&source, model.as_deref())
        .await?;
    if !ctx.import_existing && (first_time || !ctx.journal.baseline_done(&source).await?) {
        take_baseline(&mut session, ctx, &mut card).await?;
    }
    let mut status = CameraStatus {
        source: source.clone(),
        state: CameraState::Connected,
        model,
        serial,
        battery: None,
        free_bytes: None,
        free_images: None,
        message: None,
    };
    refresh_status(&mut session, &mut status).await;
    live.status = Some(status.clone());
    let _ = ctx.events.send(AgentEvent::Camera(status.clone()));

    reconcile(&mut session, ctx, &mut card).await?;
    let mut last_reconcile = Instant::now();
    let mut last_status = Instant::now();

    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => {
                let _ = session.close().await;
                return Ok(());
            }
            e = session.next_event(PENDING_EVERY) => e?,
        };
        if let Some(ev) = event {
            tracing::debug!(code = format_args!("{:#06x}", ev.code), params = ?ev.params, "camera event");
            match ev.code {
                ptp::codes::event::OBJECT_ADDED | ptp::codes::event::OBJECT_INFO_CHANGED => {
                    if let Some(&handle) = ev.params.first() {
                        if !card.done.contains(&handle) {
                            consider(&mut session, ctx, &mut card, handle).await?;
                        }
                    }
                }
                ptp::codes::event::STORE_ADDED
                | ptp::codes::event::STORE_FULL
                | ptp::codes::event::STORAGE_INFO_CHANGED => {
                    reconcile(&mut session, ctx, &mut card).await?;
                    last_reconcile = Instant::now();
                }
                _ => {}
            }
        }
        if !card.pending.is_empty() {
            let waiting: Vec<u32> = card.pending.keys().copied().collect();
            for handle in waiting {
                consider(&mut session, ctx, &mut card, handle).await?;
            }
            let stale = card
                .pending
                .values()
                .any(|p| p.first_seen.elapsed() >= REFRESH_AFTER);
            if stale
                && live
                    .last_refresh
                    .is_none_or(|t| t.elapsed() >= REFRESH_EVERY)
            {
                tracing::info!(
                    objects = card.pending.len(),
                    "objects still incomplete; reopening the session to list the card afresh"
                );
                live.last_refresh = Some(Instant::now());
                let _ = session.close().await;
                return Err(CameraError::Refresh);
            }
        }
        if last_reconcile.elapsed() >= RECONCILE_EVERY {
            reconcile(&mut session, ctx, &mut card).await?;
            last_reconcile = Instant::now();
        }
        if last_status.elapsed() >= STATUS_EVERY {
            refresh_status(&mut session, &mut status).await;
            if live.status.as_ref() != Some(&status) {
                let _ = ctx.events.send(AgentEvent::Camera(status.clone()));
                live.status = Some(status.clone());
            }
            last_status = Instant::now();
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Battery and card space. Failures here are not fatal: many cameras refuse some of these.
async fn refresh_status<T: Transport>(session: &mut Session<T>, status: &mut CameraStatus) {
    match session
        .device_prop_value(
            ptp::codes::property::BATTERY_LEVEL,
            ptp::codes::datatype::UINT8,
        )
        .await
    {
        Ok(ptp::PropValue::U8(level)) => status.battery = Some(level.min(100)),
        Ok(other) => tracing::debug!(value = ?other, "battery level of an unexpected type"),
        Err(e) => tracing::debug!(error = %e, "battery level unavailable"),
    }
    if let Ok(ids) = session.storage_ids().await {
        let mut free_bytes = None::<u64>;
        let mut free_images = None::<u32>;
        for id in ids {
            if let Ok(si) = session.storage_info(id).await {
                free_bytes = Some(free_bytes.unwrap_or(0).max(si.free_space_bytes));
                if si.free_space_images != u32::MAX {
                    free_images = Some(free_images.unwrap_or(0).max(si.free_space_images));
                }
            }
        }
        status.free_bytes = free_bytes;
        status.free_images = free_images;
    }
}

/// Lists every object on every card and considers each one not yet handled in this session;
/// this is what finds shots taken while the cable was out or the agent was stopped.
async fn reconcile<T: Transport>(
    session: &mut Session<T>,
    ctx: &SourceCtx,
    card: &mut Card,
) -> Result<(), CameraError> {
    let handles = session.object_handles(0xFFFF_FFFF, 0, 0xFFFF_FFFF).await?;
    let mut fresh: Vec<u32> = handles
        .into_iter()
        .filter(|h| !card.done.contains(h))
        .collect();
    // Oldest first on a reconcile so the library keeps shooting order.
    fresh.sort_unstable();
    if !fresh.is_empty() {
        tracing::debug!(count = fresh.len(), "reconcile: objects to look at");
    }
    for handle in fresh {
        consider(session, ctx, card, handle).await?;
    }
    Ok(())
}

/// The first time a camera is tethered, what is already on its card is set aside: those are
/// earlier shots (often another event's), not this event's. Shots taken later, even while
/// the cable is out, are new.
async fn take_baseline<T: Transport>(
    session: &mut Session<T>,
    ctx: &SourceCtx,
    card: &mut Card,
) -> Result<(), CameraError> {
    let handles = session.object_handles(0xFFFF_FFFF, 0, 0xFFFF_FFFF).await?;
    let mut keys = Vec::with_capacity(handles.len());
    for handle in handles {
        let info = session.object_info(handle).await?;
        if is_file(&info) {
            keys.push(source_key(&info));
        }
        card.done.insert(handle);
    }
    tracing::info!(source = %card.source, objects = keys.len(), "existing card contents set aside (not imported)");
    ctx.journal.set_baseline(&card.source, keys).await?;
    Ok(())
}

fn is_file(info: &ptp::ObjectInfo) -> bool {
    info.object_format != ptp::codes::format::ASSOCIATION && !info.filename.is_empty()
}

/// Identifies an object across sessions and reconnects. Not the handle: cameras renumber.
fn source_key(info: &ptp::ObjectInfo) -> String {
    // Not the size either: a file still being written is the same shot when it has grown.
    format!(
        "{:08x}:{}:{}",
        info.storage_id, info.filename, info.capture_date
    )
}

fn is_jpeg_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".jpg") || lower.ends_with(".jpeg")
}

/// Decides whether `handle` is a shot to fetch, and fetches it.
async fn consider<T: Transport>(
    session: &mut Session<T>,
    ctx: &SourceCtx,
    card: &mut Card,
    handle: u32,
) -> Result<(), CameraError> {
    let info = session.object_info(handle).await?;
    if !is_file(&info) {
        card.done.insert(handle);
        return Ok(());
    }
    let size = info.object_compressed_size;
    let pending = card.pending.entry(handle).or_insert(Pending {
        first_seen: Instant::now(),
        tried_size: None,
    });
    if size == 0 {
        // Still being written (qemu's usb-mtp and some cameras announce before the data is
        // there). Never given up on: looked at again, cheaply, until it has data.
        return Ok(());
    }
    let overdue = pending.first_seen.elapsed() >= SETTLE_LIMIT;
    if pending.tried_size == Some(size) && !overdue {
        // Fetched at this size before and it was cut short: wait for the camera to finish.
        return Ok(());
    }
    pending.tried_size = Some(size);
    let key = source_key(&info);
    let id = match ctx
        .journal
        .record_detected(&card.source, &key, &info.filename)
        .await?
    {
        Detected::New(id) => {
            emit(ctx, id, &info.filename, Stage::Detected);
            id
        }
        // Detected before but never saved (unplugged mid-transfer, or the agent stopped).
        Detected::Known(id, ShotState::Detected) => id,
        Detected::Known(..) | Detected::Baseline => {
            card.pending.remove(&handle);
            card.done.insert(handle);
            return Ok(());
        }
    };
    match fetch(session, ctx, card, handle, &info, id, overdue).await? {
        Fetched::Saved => {
            card.pending.remove(&handle);
            card.done.insert(handle);
        }
        Fetched::Incomplete => {}
    }
    Ok(())
}

/// Continues an object of unknown (≥ 4 GiB) size from `offset` with GetPartialObject64.
async fn resume_64<T: Transport>(
    session: &mut Session<T>,
    handle: u32,
    mut offset: u64,
    file: &mut IncomingFile,
) -> Result<u64, ptp::PtpError> {
    const CHUNK: u32 = 1 << 30;
    let start = offset;
    loop {
        let n = session
            .get_partial_object_64(handle, offset, CHUNK, file)
            .await?;
        offset += n;
        if n < u64::from(CHUNK) {
            return Ok(offset - start);
        }
    }
}

enum Fetched {
    Saved,
    /// The data ended before the JPEG did; try again when the camera has finished writing.
    Incomplete,
}

async fn fetch<T: Transport>(
    session: &mut Session<T>,
    ctx: &SourceCtx,
    card: &Card,
    handle: u32,
    info: &ptp::ObjectInfo,
    id: i64,
    accept_incomplete: bool,
) -> Result<Fetched, CameraError> {
    let size = info.object_compressed_size;
    let known_size = (size != u32::MAX).then_some(u64::from(size));
    let date = capture_day(&info.capture_date);
    let dest = original_path(&ctx.library_dir, &date, &card.camera_name, &info.filename);
    let mut file = IncomingFile::resume(&dest).await?;
    let resumable = (card.partial_ok && known_size.is_some_and(|s| file.bytes() < s))
        || (card.partial64_ok && known_size.is_none());
    if file.bytes() > 0 && !resumable {
        file = IncomingFile::create(&dest).await?;
    }
    let started = Instant::now();
    let offset = file.bytes();
    let result = if offset > 0 {
        tracing::info!(shot = id, name = %info.filename, offset, "resuming an interrupted download");
        match known_size {
            Some(size) => {
                let rest = size.saturating_sub(offset);
                session
                    .get_partial_object(
                        handle,
                        offset as u32,
                        rest.min(u64::from(u32::MAX)) as u32,
                        &mut file,
                    )
                    .await
            }
            // 4 GiB or more (the camera reports 0xFFFFFFFF): only the 64-bit form reaches
            // past 4 GiB, a chunk at a time until one comes back short.
            None => resume_64(session, handle, offset, &mut file).await,
        }
    } else {
        session.get_object(handle, &mut file).await
    };
    if let Err(e) = result {
        if e.is_disconnected() && (card.partial_ok || card.partial64_ok) {
            // Keep what arrived: the next connection continues from there.
            file.keep().await;
        } else {
            file.discard().await;
        }
        return Err(e.into());
    }
    let got = file.bytes();
    if known_size.is_some_and(|s| got != s) {
        file.discard().await;
        return Err(CameraError::Device(format!(
            "{}: camera said {size} bytes but sent {got}",
            info.filename
        )));
    }
    if is_jpeg_name(&info.filename) && !file.ends_with_jpeg_eoi() {
        if !accept_incomplete {
            tracing::debug!(shot = id, name = %info.filename, bytes = got, "JPEG not complete yet; will look again");
            file.discard().await;
            return Ok(Fetched::Incomplete);
        }
        tracing::warn!(shot = id, name = %info.filename, bytes = got, "JPEG has no end marker and stopped growing; saving it as it is");
    }
    let (path, bytes, hash) = file.commit(&dest).await?;
    let captured_at = read_capture_time(&path).await;
    let dup = ctx
        .journal
        .mark_downloaded(id, &path, bytes, &hash, captured_at.as_deref())
        .await?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        shot = id,
        name = %info.filename,
        bytes,
        mb_per_s = format_args!("{:.1}", (bytes - offset) as f64 / 1e6 / secs.max(1e-6)),
        "original saved"
    );
    announce_saved(ctx, id, &info.filename, dup);
    Ok(Fetched::Saved)
}

/// Tells the processing worker and the UI that an original is in the library, or that it
/// was skipped because the journal already has the same content under another shot.
pub(crate) fn announce_saved(ctx: &SourceCtx, id: i64, filename: &str, dup: Option<i64>) {
    match dup {
        None => {
            emit(ctx, id, filename, Stage::Downloaded);
            ctx.downloaded.notify_one();
        }
        Some(other) => {
            tracing::info!(
                shot = id,
                same_as = other,
                "same content already in the journal; skipped"
            );
            emit(ctx, id, filename, Stage::Skipped);
        }
    }
}

pub(crate) fn emit(ctx: &SourceCtx, id: i64, filename: &str, stage: Stage) {
    let _ = ctx.events.send(AgentEvent::Shot(ShotEvent {
        shot_id: id,
        filename: filename.to_owned(),
        stage,
        latency_ms: None,
        error: None,
    }));
}

/// `YYYYMMDDThhmmss` → `YYYY-MM-DD`; today when the camera gives no usable date.
pub(crate) fn capture_day(ptp_date: &str) -> String {
    let d = ptp_date.as_bytes();
    if d.len() >= 8 && d[..8].iter().all(u8::is_ascii_digit) {
        format!(
            "{}-{}-{}",
            &ptp_date[0..4],
            &ptp_date[4..6],
            &ptp_date[6..8]
        )
    } else {
        let now = time::OffsetDateTime::now_utc();
        format!(
            "{:04}-{:02}-{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        )
    }
}

/// The shutter time from the file's EXIF, in the journal's canonical form. EXIF sits at the
/// start of a JPEG, so the head of the file is enough.
pub(crate) async fn read_capture_time(path: &std::path::Path) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(path).await.ok()?;
    let mut head = Vec::with_capacity(256 * 1024);
    (&mut f)
        .take(256 * 1024)
        .read_to_end(&mut head)
        .await
        .ok()?;
    let facts = imaging::probe(&head).ok()?;
    crate::time_fmt::normalize(facts.captured_at.as_deref()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_day_from_ptp_dates() {
        assert_eq!(capture_day("20261122T101500"), "2026-11-22");
        assert_eq!(capture_day("20261122T101500.3Z"), "2026-11-22");
        assert_eq!(capture_day("garbage").len(), 10);
    }
}
