//! The processing worker: takes downloaded originals from the journal, newest first, turns
//! each into its renditions with `imaging`, writes them atomically, and queues their uploads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use crate::events::{AgentEvent, ShotEvent, Stage};
use crate::journal::{Journal, RenditionRecord, Shot};
use crate::library::write_atomic;

/// What the processing worker needs.
#[derive(Clone)]
pub struct ProcessCtx {
    pub journal: Journal,
    pub renditions_dir: PathBuf,
    pub recipe: imaging::Recipe,
    pub targets: Vec<TargetWants>,
    pub events: broadcast::Sender<AgentEvent>,
    pub downloaded: Arc<Notify>,
    pub processed: Arc<Notify>,
}

/// A target and the renditions it takes.
#[derive(Debug, Clone)]
pub struct TargetWants {
    pub name: String,
    pub renditions: Vec<crate::Rendition>,
}

impl ProcessCtx {
    fn wants(&self, r: crate::Rendition) -> bool {
        self.targets.iter().any(|t| t.renditions.contains(&r))
    }

    fn queue_plan(&self) -> Vec<(String, Vec<String>)> {
        self.targets
            .iter()
            .map(|t| {
                let kinds = t.renditions.iter().map(|r| r.as_str().to_owned());
                (t.name.clone(), kinds.collect())
            })
            .collect()
    }
}

/// Runs until cancelled. One worker keeps the other core free for download and upload while a
/// burst is processed; the journal makes more workers safe when a machine has cores to spare.
pub async fn run(ctx: ProcessCtx, cancel: CancellationToken) {
    loop {
        if cancel.is_cancelled() {
            return;
        }
        match ctx.journal.next_to_process().await {
            Ok(Some(shot)) => process_one(&ctx, shot).await,
            Ok(None) => {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = ctx.downloaded.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "journal unavailable to the processing worker");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn process_one(ctx: &ProcessCtx, shot: Shot) {
    let started = Instant::now();
    match render(ctx, &shot).await {
        Ok(records) => {
            let web = &records[0];
            let (w, h, bytes) = (web.width, web.height, web.bytes);
            if let Err(e) = ctx
                .journal
                .mark_processed(shot.id, records, ctx.queue_plan())
                .await
            {
                tracing::error!(shot = shot.id, error = %e, "could not record the rendition");
                return;
            }
            tracing::info!(
                shot = shot.id,
                width = w,
                height = h,
                bytes,
                ms = started.elapsed().as_millis() as u64,
                "rendition ready"
            );
            emit(ctx, &shot, Stage::Processed, None);
            ctx.processed.notify_waiters();
        }
        Err(reason) => {
            tracing::warn!(shot = shot.id, name = %shot.filename, %reason, "shot not processed");
            if let Err(e) = ctx.journal.mark_failed(shot.id, &reason).await {
                tracing::error!(shot = shot.id, error = %e, "could not record the failure");
            }
            emit(ctx, &shot, Stage::Failed, Some(reason));
        }
    }
}

/// The web rendition first, then the original itself when a target publishes originals (it
/// is uploaded from the library: the file the camera wrote, never a copy).
async fn render(ctx: &ProcessCtx, shot: &Shot) -> Result<Vec<RenditionRecord>, String> {
    let src = shot
        .library_path
        .clone()
        .ok_or_else(|| "journal has no library path for this shot".to_string())?;
    let hash = shot
        .content_hash
        .clone()
        .ok_or_else(|| "journal has no content hash for this shot".to_string())?;
    let original = tokio::fs::read(&src)
        .await
        .map_err(|e| format!("cannot read original {}: {e}", src.display()))?;
    let recipe = ctx.recipe.clone();
    let want_original = ctx.wants(crate::Rendition::Original);
    let original_len = original.len() as u64;
    let (rendition, original_dims) = tokio::task::spawn_blocking(move || {
        let dims = want_original
            .then(|| imaging::probe(&original).ok())
            .flatten()
            .map(|f| (f.width, f.height));
        imaging::render(&original, &recipe).map(|r| (r, dims))
    })
    .await
    .map_err(|e| format!("rendition worker crashed: {e}"))?
    .map_err(|e| format!("cannot make a web rendition: {e}"))?;
    let shard = hash.get(..2).unwrap_or("00");
    let path = ctx
        .renditions_dir
        .join(shard)
        .join(format!("{hash}-web.jpg"));
    write_atomic(&path, &rendition.jpeg)
        .await
        .map_err(|e| format!("cannot write rendition {}: {e}", path.display()))?;
    let mut records = vec![RenditionRecord {
        kind: crate::Rendition::Web.as_str().into(),
        path,
        width: rendition.width,
        height: rendition.height,
        bytes: rendition.jpeg.len() as u64,
    }];
    if want_original {
        // A RAW whose size the header parser cannot read still publishes; 0×0 says unknown.
        let (width, height) = original_dims.unwrap_or((0, 0));
        records.push(RenditionRecord {
            kind: crate::Rendition::Original.as_str().into(),
            path: src,
            width,
            height,
            bytes: original_len,
        });
    }
    Ok(records)
}

fn emit(ctx: &ProcessCtx, shot: &Shot, stage: Stage, error: Option<String>) {
    let _ = ctx.events.send(AgentEvent::Shot(ShotEvent {
        shot_id: shot.id,
        filename: shot.filename.clone(),
        stage,
        latency_ms: None,
        error,
    }));
}
