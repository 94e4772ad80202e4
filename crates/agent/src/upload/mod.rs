//! Upload: a bounded pool of workers per target drains that target's queue from the journal,
//! web renditions before originals and newest shot first, with exponential backoff and jitter
//! when the target or the network is down, under one bandwidth cap. Targets are small modules
//! behind one trait, so the album server, S3, FTP and folders share the policy.

pub mod folder;
pub mod ftp;
pub mod naming;
mod pace;
pub mod s3;
pub mod tus;

pub use pace::{Meter, Pacer, Throttle, PIECE};

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use crate::events::{AgentEvent, ShotEvent, Stage, TargetStatus};
use crate::journal::{Journal, UploadJob};
use crate::time_fmt;

/// What became of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The target's id for the object, when it tells one.
    pub remote_id: Option<String>,
    /// The target already had this content and stored nothing new.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Worth retrying later: network down, server busy or restarting.
    #[error("{0}")]
    Transient(String),
    /// The resumable upload we were continuing no longer exists; start over at once.
    #[error("upload to resume is gone: {0}")]
    Gone(String),
    /// Retrying the same request will not help (bad token, rejected file); retried slowly in
    /// case the photographer fixes the configuration.
    #[error("{0}")]
    Rejected(String),
}

/// Where a resumable upload records its resume state (a tus URL, an S3 upload id and its
/// parts, ...) durably, before sending what that state describes.
#[async_trait]
pub trait ResumeStore: Send + Sync {
    async fn remember(&self, state: &str);
}

/// A resume store that forgets: for tools and tests that drive a target once.
pub struct Forgetful;

#[async_trait]
impl ResumeStore for Forgetful {
    async fn remember(&self, _state: &str) {}
}

/// What a target gets besides the job: where to keep resume state, and the pacer every body
/// byte must go through (bandwidth cap and throughput meter).
pub struct UploadIo<'a> {
    pub resume: &'a dyn ResumeStore,
    pub pacer: Pacer,
}

/// A place renditions are published to. `job.upload_url` carries what the target last
/// `remember`ed for this job (after a crash, a restart, or a failed attempt), so it can resume.
/// Uploading the same job twice must not publish it twice: targets overwrite by a name derived
/// from the content hash, or ask the server whether it has the content.
#[async_trait]
pub trait Target: Send + Sync {
    /// The name the journal files this target's uploads under.
    fn name(&self) -> &str;
    async fn upload(&self, job: &UploadJob, io: &UploadIo<'_>) -> Result<Uploaded, UploadError>;
}

/// Makes the target a config entry describes.
pub fn build(cfg: &crate::TargetConfig) -> Result<Arc<dyn Target>, String> {
    match &cfg.kind {
        crate::TargetKind::Album { upload_url, token } => Ok(Arc::new(tus::TusTarget::new(
            &cfg.name,
            upload_url,
            token.as_ref().map(|t| t.expose()),
        )?)),
        crate::TargetKind::S3(c) => {
            naming::validate(&c.template, &cfg.renditions)?;
            Ok(Arc::new(s3::S3Target::new(&cfg.name, c)?))
        }
        crate::TargetKind::Ftp(c) => {
            naming::validate(&c.template, &cfg.renditions)?;
            Ok(Arc::new(ftp::FtpTarget::new(&cfg.name, c)?))
        }
        crate::TargetKind::Folder(c) => {
            naming::validate(&c.template, &cfg.renditions)?;
            Ok(Arc::new(folder::FolderTarget::new(&cfg.name, c)?))
        }
    }
}

struct JournalResume<'a> {
    journal: &'a Journal,
    job: &'a UploadJob,
}

#[async_trait]
impl ResumeStore for JournalResume<'_> {
    async fn remember(&self, url: &str) {
        if let Err(e) = self
            .journal
            .set_upload_url(self.job.shot_id, &self.job.kind, &self.job.target, url)
            .await
        {
            tracing::warn!(error = %e, "could not remember the upload URL; a restart will start this upload over");
        }
    }
}

/// What an upload worker needs. Workers of one target share the meter.
#[derive(Clone)]
pub struct UploadCtx {
    pub journal: Journal,
    pub events: broadcast::Sender<AgentEvent>,
    pub processed: Arc<Notify>,
    pub throttle: Throttle,
    pub meter: Meter,
    /// This worker takes web renditions only. In a pool of two or more, one worker is kept
    /// for them: web renditions jump the queue anyway, but without a free worker a new shot
    /// would wait for an original in flight (seconds on a venue link).
    pub web_only: bool,
}

/// Delay before retry number `attempt` (0-based): 0.5 s doubling to 60 s, with ±25 % jitter so
/// that many agents coming back after an outage do not hit the server in step.
pub fn backoff(attempt: u32) -> Duration {
    let base = 0.5_f64 * 2f64.powi(attempt.min(16) as i32);
    let capped = base.min(60.0);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_secs_f64(capped * jitter)
}

/// Runs one worker of a target's pool until cancelled.
pub async fn run(target: Arc<dyn Target>, ctx: UploadCtx, cancel: CancellationToken) {
    let name = target.name().to_owned();
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let job = match ctx.journal.claim_upload(&name, ctx.web_only).await {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(target = %name, error = %e, "journal unavailable to the uploader");
                None
            }
        };
        let Some(job) = job else {
            let wait = idle_wait(&ctx.journal, &name).await;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ctx.processed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            continue;
        };
        emit(&ctx, &job, Stage::Uploading, None, None);
        let resume = JournalResume {
            journal: &ctx.journal,
            job: &job,
        };
        let io = UploadIo {
            resume: &resume,
            pacer: Pacer::new(ctx.throttle.clone(), ctx.meter.clone()),
        };
        let result = tokio::select! {
            // The claim stays in the journal and is released at the next start.
            _ = cancel.cancelled() => return,
            r = target.upload(&job, &io) => r,
        };
        match result {
            Ok(done) => {
                ctx.meter.succeeded();
                match ctx
                    .journal
                    .mark_uploaded(job.shot_id, &job.kind, &name, done.remote_id.as_deref())
                    .await
                {
                    Ok(all_done) => {
                        // Guests see a shot once its web rendition is there; an original that
                        // follows later is logged, not announced again.
                        if job.kind == crate::Rendition::Web.as_str() {
                            let latency = latency_ms(&job);
                            tracing::info!(shot = job.shot_id, target = %name, duplicate = done.duplicate, latency_ms = ?latency, "published");
                            emit(&ctx, &job, Stage::Published, latency, None);
                        } else {
                            tracing::info!(shot = job.shot_id, target = %name, rendition = %job.kind, duplicate = done.duplicate, all_done, "uploaded");
                        }
                    }
                    Err(e) => {
                        tracing::error!(shot = job.shot_id, error = %e, "could not record the upload")
                    }
                }
            }
            Err(UploadError::Gone(why)) => {
                tracing::info!(shot = job.shot_id, target = %name, %why, "starting the upload over");
                let _ = ctx
                    .journal
                    .upload_retry_later(
                        job.shot_id,
                        &job.kind,
                        &name,
                        &why,
                        &time_fmt::now_rfc3339(),
                        true,
                    )
                    .await;
            }
            Err(e) => {
                let (delay, level_warn) = match &e {
                    UploadError::Rejected(_) => (Duration::from_secs(300), true),
                    _ => (backoff(job.attempts), job.attempts >= 2),
                };
                if level_warn {
                    tracing::warn!(shot = job.shot_id, target = %name, error = %e, retry_in_s = delay.as_secs_f32(), "upload failed");
                } else {
                    tracing::info!(shot = job.shot_id, target = %name, error = %e, retry_in_s = delay.as_secs_f32(), "upload failed; retrying");
                }
                let _ = ctx
                    .journal
                    .upload_retry_later(
                        job.shot_id,
                        &job.kind,
                        &name,
                        &e.to_string(),
                        &time_fmt::after(delay),
                        false,
                    )
                    .await;
                emit(&ctx, &job, Stage::Retrying, None, Some(e.to_string()));
                let failures = ctx.meter.failed(&e.to_string());
                if matches!(e, UploadError::Transient(_)) {
                    // The circuit: while the target is down, the pool waits instead of trying
                    // every queued shot in turn.
                    let pause = backoff(failures.saturating_sub(1));
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }
}

/// Sends each target's status once a second while it has anything queued or moving (and
/// once more when it goes idle), so the UI shows queue depth and speed without polling.
pub async fn report(
    journal: Journal,
    meters: Vec<(String, Meter)>,
    events: broadcast::Sender<AgentEvent>,
    cancel: CancellationToken,
) {
    let mut last: Vec<(u64, std::time::Instant, f64, bool)> = meters
        .iter()
        .map(|(_, m)| (m.total_bytes(), std::time::Instant::now(), 0.0, true))
        .collect();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        for ((name, meter), prev) in meters.iter().zip(last.iter_mut()) {
            let Ok((queued, in_flight)) = journal.target_queue(name).await else {
                continue;
            };
            let now = std::time::Instant::now();
            let total = meter.total_bytes();
            let secs = now.duration_since(prev.1).as_secs_f64().max(1e-3);
            let instant = (total - prev.0) as f64 / secs;
            // Smoothed over about three seconds: a 64 KiB piece landing either side of a tick
            // must not make the number jump.
            let rate = prev.2 + (instant - prev.2) / 3.0;
            let busy = queued + in_flight > 0 || instant > 0.0;
            let (failing, last_error) = meter.failing();
            if busy || prev.3 {
                let _ = events.send(AgentEvent::Target(TargetStatus {
                    target: name.clone(),
                    queued,
                    in_flight,
                    bytes_per_sec: if busy { rate as u64 } else { 0 },
                    failing,
                    last_error,
                }));
            }
            *prev = (total, now, if busy { rate } else { 0.0 }, busy);
        }
    }
}

/// How long to sleep when nothing is due: until the earliest backed-off retry, at most 2 s.
async fn idle_wait(journal: &Journal, target: &str) -> Duration {
    let max = Duration::from_secs(2);
    let Ok(Some(next)) = journal.next_retry_at(target).await else {
        return max;
    };
    let Some(at) = time_fmt::parse(&next) else {
        return max;
    };
    let until = at - time::OffsetDateTime::now_utc();
    Duration::try_from(until)
        .unwrap_or(Duration::ZERO)
        .clamp(Duration::from_millis(20), max)
}

/// Shutter to gallery. The camera's clock is trusted only when it agrees with ours to within
/// ten minutes; otherwise the moment we detected the shot stands in for the shutter.
pub fn latency_ms(job: &UploadJob) -> Option<u64> {
    time_fmt::shutter_to(
        &job.detected_at,
        job.captured_at.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
}

fn emit(
    ctx: &UploadCtx,
    job: &UploadJob,
    stage: Stage,
    latency_ms: Option<u64>,
    error: Option<String>,
) {
    let _ = ctx.events.send(AgentEvent::Shot(ShotEvent {
        shot_id: job.shot_id,
        filename: job.filename.clone(),
        stage,
        latency_ms,
        error,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert!(backoff(0) <= Duration::from_millis(625));
        assert!(backoff(3) >= Duration::from_secs(3));
        for a in [10, 20, 1000] {
            let d = backoff(a);
            assert!(
                d <= Duration::from_secs(75) && d >= Duration::from_secs(45),
                "{d:?}"
            );
        }
    }
}
