//! Upload: one worker per target drains that target's queue from the journal, newest shot
//! first, with exponential backoff and jitter when the target or the network is down. Targets
//! are small modules behind one trait, so the album server, S3 and FTP share the policy.

pub mod tus;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use crate::events::{AgentEvent, ShotEvent, Stage};
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

/// Where a resumable upload records its server-side URL before sending the body.
#[async_trait]
pub trait ResumeStore: Send + Sync {
    async fn remember(&self, url: &str);
}

/// A place renditions are published to.
#[async_trait]
pub trait Target: Send + Sync {
    /// The name the journal files this target's uploads under.
    fn name(&self) -> &str;
    async fn upload(
        &self,
        job: &UploadJob,
        resume: &dyn ResumeStore,
    ) -> Result<Uploaded, UploadError>;
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

/// What an upload worker needs.
#[derive(Clone)]
pub struct UploadCtx {
    pub journal: Journal,
    pub events: broadcast::Sender<AgentEvent>,
    pub processed: Arc<Notify>,
}

/// Delay before retry number `attempt` (0-based): 0.5 s doubling to 60 s, with ±25 % jitter so
/// that many agents coming back after an outage do not hit the server in step.
pub fn backoff(attempt: u32) -> Duration {
    let base = 0.5_f64 * 2f64.powi(attempt.min(16) as i32);
    let capped = base.min(60.0);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_secs_f64(capped * jitter)
}

/// Runs one target's queue until cancelled.
pub async fn run(target: Arc<dyn Target>, ctx: UploadCtx, cancel: CancellationToken) {
    let name = target.name().to_owned();
    // Consecutive transient failures of this target: while it is down the worker waits instead
    // of trying every queued shot in turn (a circuit breaker in its simplest form).
    let mut failures: u32 = 0;
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let job = match ctx.journal.next_upload(&name).await {
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
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = target.upload(&job, &resume) => r,
        };
        match result {
            Ok(done) => {
                failures = 0;
                match ctx
                    .journal
                    .mark_uploaded(job.shot_id, &job.kind, &name, done.remote_id.as_deref())
                    .await
                {
                    Ok(true) => {
                        let latency = latency_ms(&job);
                        tracing::info!(shot = job.shot_id, target = %name, duplicate = done.duplicate, latency_ms = ?latency, "published");
                        emit(&ctx, &job, Stage::Published, latency, None);
                    }
                    Ok(false) => {}
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
                if matches!(e, UploadError::Transient(_)) {
                    failures += 1;
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
    let now = time::OffsetDateTime::now_utc();
    let detected = time_fmt::parse(&job.detected_at)?;
    let shutter = job
        .captured_at
        .as_deref()
        .and_then(time_fmt::parse)
        .filter(|c| (*c - detected).abs() < time::Duration::minutes(10))
        .unwrap_or(detected);
    u64::try_from((now - shutter).whole_milliseconds()).ok()
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
