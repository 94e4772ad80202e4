//! Hot-folder source: a folder another program writes shots into (a card reader's DCIM, the
//! camera maker's tethering tool, an FTP server's drop folder). Each new image file is copied
//! into the library once it is complete, then follows the same path as a tethered shot.
//!
//! File-system events make it quick; a rescan every few seconds makes it correct on network
//! mounts and after missed events. A file counts as complete when its size and modification
//! time have not changed for [`SETTLE`] (and, for a JPEG, when it ends with its end marker, or
//! has stopped growing for [`GIVE_UP`]): writers that copy in place are caught mid-copy, and
//! writers that rename a finished temp file are taken at once.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use notify::Watcher;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::camera::{announce_saved, capture_day, emit, read_capture_time, SourceCtx};
use crate::events::Stage;
use crate::journal::{Detected, ShotState};
use crate::library::{original_path, sanitize_component, IncomingFile};

/// How long a file must stay unchanged before it is taken.
pub const SETTLE: Duration = Duration::from_millis(400);
/// A JPEG without its end marker is taken anyway once it has not changed for this long: a
/// writer that died leaves a truncated file, and the photographer still wants what is there.
pub const GIVE_UP: Duration = Duration::from_secs(10);
/// Full rescans, for what events miss (network mounts, overflowing event queues).
const RESCAN: Duration = Duration::from_secs(3);
/// Subfolders deeper than this are not looked into (DCIM/100CANON/ is two levels).
const MAX_DEPTH: usize = 4;

/// Image files a camera or tethering tool writes; everything else in the folder is ignored.
const EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "tif", "tiff", "heic", "heif", "cr2", "cr3", "nef", "nrw", "arw", "raf",
    "orf", "rw2", "dng", "pef", "srw",
];

/// One hot folder to watch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FolderSource {
    pub path: PathBuf,
    /// Import the images already in the folder when it is first watched. On by default: a
    /// folder is chosen for this event, unlike a camera card that may hold last month's.
    #[serde(default = "yes")]
    pub import_existing: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("cannot read folder {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What was last seen of a file not yet taken.
struct Pending {
    size: u64,
    modified: Option<SystemTime>,
    unchanged_since: Instant,
}

/// Watches `folder` until cancelled; a folder that is missing or unreadable (an unmounted
/// share, an unplugged card reader) is retried, not given up on.
pub async fn run(folder: FolderSource, ctx: SourceCtx, cancel: CancellationToken) {
    let root = folder.path.clone();
    let source = format!("folder:{}", root.display());
    let name = root
        .file_name()
        .map(|n| sanitize_component(&n.to_string_lossy()))
        .unwrap_or_else(|| "folder".into());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    // The watcher only says "look again"; what changed is found by the scan.
    let mut watcher = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
        let _ = tx.try_send(());
    })
    .map_err(|e| tracing::warn!(folder = %root.display(), error = %e, "no file-system events; rescanning every few seconds instead"))
    .ok();
    let mut watching = false;
    let mut state = Scan {
        done: HashSet::new(),
        pending: HashMap::new(),
        baseline_checked: false,
    };
    let mut last_error: Option<String> = None;
    tracing::info!(folder = %root.display(), "watching hot folder");
    loop {
        if !watching {
            if let Some(w) = watcher.as_mut() {
                watching = w.watch(&root, notify::RecursiveMode::Recursive).is_ok();
            }
        }
        let result = state.scan(&folder, &source, &name, &ctx).await;
        match result {
            Ok(()) => last_error = None,
            Err(e) => {
                let msg = e.to_string();
                if last_error.as_ref() != Some(&msg) {
                    tracing::warn!(folder = %root.display(), error = %msg, "hot folder unavailable; will keep trying");
                    last_error = Some(msg);
                }
                watching = false;
            }
        }
        // Files still settling are looked at again soon; otherwise wait for an event.
        let wait = if state.pending.is_empty() {
            RESCAN
        } else {
            SETTLE / 2
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = rx.recv() => {
                // Let a burst of events for one write collapse into one scan.
                tokio::time::sleep(Duration::from_millis(50)).await;
                while rx.try_recv().is_ok() {}
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

struct Scan {
    /// Keys imported, set aside as baseline, or already in the journal: never looked at again.
    done: HashSet<String>,
    pending: HashMap<String, Pending>,
    baseline_checked: bool,
}

impl Scan {
    async fn scan(
        &mut self,
        folder: &FolderSource,
        source: &str,
        name: &str,
        ctx: &SourceCtx,
    ) -> Result<(), FolderError> {
        let files = list_images(&folder.path).await?;
        if !self.baseline_checked {
            let first = ctx.journal.register_source(source, None).await?;
            if !folder.import_existing && (first || !ctx.journal.baseline_done(source).await?) {
                let keys: Vec<String> = files.iter().map(|f| f.key.clone()).collect();
                tracing::info!(
                    folder = %folder.path.display(),
                    files = keys.len(),
                    "leaving the images already in the folder alone"
                );
                ctx.journal.set_baseline(source, keys).await?;
            }
            self.baseline_checked = true;
        }
        let now = Instant::now();
        let mut seen = HashSet::new();
        for f in files {
            if self.done.contains(&f.key) {
                continue;
            }
            seen.insert(f.key.clone());
            let p = self.pending.entry(f.key.clone()).or_insert(Pending {
                size: f.size,
                modified: f.modified,
                unchanged_since: now,
            });
            if p.size != f.size || p.modified != f.modified {
                *p = Pending {
                    size: f.size,
                    modified: f.modified,
                    unchanged_since: now,
                };
                continue;
            }
            let quiet = now.duration_since(p.unchanged_since);
            if f.size == 0 || quiet < SETTLE {
                continue;
            }
            let overdue = quiet >= GIVE_UP;
            match self.take(&f, source, name, ctx, overdue).await {
                Ok(true) => {
                    self.pending.remove(&f.key);
                    self.done.insert(f.key);
                }
                Ok(false) => {}
                Err(FolderError::Journal(e)) => return Err(FolderError::Journal(e)),
                Err(e) => {
                    // One unreadable file must not stop the folder: log it and try it again
                    // when it changes.
                    tracing::warn!(file = %f.path.display(), error = %e, "cannot import from hot folder");
                    if let Some(p) = self.pending.get_mut(&f.key) {
                        p.unchanged_since = now;
                    }
                }
            }
        }
        // Files that vanished before they settled.
        self.pending.retain(|k, _| seen.contains(k));
        Ok(())
    }

    /// Copies one settled file into the library; false when it is not complete yet.
    async fn take(
        &mut self,
        f: &Found,
        source: &str,
        name: &str,
        ctx: &SourceCtx,
        overdue: bool,
    ) -> Result<bool, FolderError> {
        if is_jpeg(&f.path) && !overdue && !ends_with_eoi(&f.path).await? {
            return Ok(false);
        }
        let filename = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = match ctx
            .journal
            .record_detected(source, &f.key, &filename)
            .await?
        {
            Detected::New(id) => {
                emit(ctx, id, &filename, Stage::Detected);
                id
            }
            Detected::Known(id, ShotState::Detected) => id,
            Detected::Known(..) | Detected::Baseline => return Ok(true),
        };
        let day = f
            .modified
            .map(|m| {
                let t = time::OffsetDateTime::from(m);
                format!("{:04}{:02}{:02}T", t.year(), t.month() as u8, t.day())
            })
            .unwrap_or_default();
        let dest = original_path(&ctx.library_dir, &capture_day(&day), name, &filename);
        let mut out = IncomingFile::create(&dest).await?;
        let mut input = tokio::fs::File::open(&f.path).await?;
        tokio::io::copy(&mut input, &mut out).await?;
        if out.bytes() != f.size {
            // Still being written after all (a writer that pauses longer than SETTLE).
            out.discard().await;
            return Ok(false);
        }
        let (path, bytes, hash) = out.commit(&dest).await?;
        let captured_at = read_capture_time(&path).await;
        let dup = ctx
            .journal
            .mark_downloaded(id, &path, bytes, &hash, captured_at.as_deref())
            .await?;
        tracing::info!(shot = id, name = %filename, bytes, "original copied from hot folder");
        announce_saved(ctx, id, &filename, dup);
        Ok(true)
    }
}

struct Found {
    path: PathBuf,
    /// The path relative to the folder, with `/` separators: stable across restarts.
    key: String,
    size: u64,
    modified: Option<SystemTime>,
}

fn is_image(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    // Hidden and temporary names are what careful writers use before renaming.
    if name.starts_with('.') || name.starts_with('~') {
        return false;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn is_jpeg(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg"))
}

async fn ends_with_eoi(path: &Path) -> Result<bool, FolderError> {
    use tokio::io::AsyncSeekExt;
    let mut f = tokio::fs::File::open(path).await?;
    let len = f.metadata().await?.len();
    if len < 2 {
        return Ok(false);
    }
    f.seek(std::io::SeekFrom::Start(len - 2)).await?;
    let mut tail = [0u8; 2];
    f.read_exact(&mut tail).await?;
    Ok(tail == [0xFF, 0xD9])
}

/// Image files under `root`, depth-limited; symlinks are not followed (a link back up the
/// tree must not loop).
async fn list_images(root: &Path) -> Result<Vec<Found>, FolderError> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(source) if dir == root => {
                return Err(FolderError::Read {
                    path: root.to_path_buf(),
                    source,
                })
            }
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "skipping unreadable subfolder");
                continue;
            }
        };
        while let Some(entry) = entries.next_entry().await? {
            let Ok(ft) = entry.file_type().await else {
                continue;
            };
            let path = entry.path();
            if ft.is_dir() {
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if depth < MAX_DEPTH && !hidden {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            if !ft.is_file() || !is_image(&path) {
                continue;
            }
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let key = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push(Found {
                path,
                key,
                size: meta.len(),
                modified: meta.modified().ok(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_images_are_taken() {
        for yes in ["IMG_0001.JPG", "a/b.cr3", "x.NEF", "DSC.arw"] {
            assert!(is_image(Path::new(yes)), "{yes}");
        }
        for no in [
            ".IMG_0001.JPG",
            "~tmp.jpg",
            "IMG.JPG.part",
            "notes.txt",
            "IMG",
        ] {
            assert!(!is_image(Path::new(no)), "{no}");
        }
    }
}
