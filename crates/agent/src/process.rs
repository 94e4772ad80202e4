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
    pub targets: Vec<String>,
    pub events: broadcast::Sender<AgentEvent>,
    pub downloaded: Arc<Notify>,
    pub processed: Arc<Notify>,
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
        Ok(record) => {
            let (w, h, bytes) = (record.width, record.height, record.bytes);
            if let Err(e) = ctx
                .journal
                .mark_processed(shot.id, vec![record], ctx.targets.clone())
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

async fn render(ctx: &ProcessCtx, shot: &Shot) -> Result<RenditionRecord, String> {
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
    let rendition = tokio::task::spawn_blocking(move || imaging::render(&original, &recipe))
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
    Ok(RenditionRecord {
        kind: "web".into(),
        path,
        width: rendition.width,
        height: rendition.height,
        bytes: rendition.jpeg.len() as u64,
    })
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
