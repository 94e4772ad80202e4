//! Gallery view counts, batched in memory and added to the database every few seconds.
//!
//! Counting with an `UPDATE albums SET views = views + 1` per page load made every guest's
//! page view a write on the album's row: one writer at a time on SQLite, a hot row lock on
//! PostgreSQL, exactly when a gallery is busiest. The count is a rough audience figure
//! for the photographer, so a few seconds of delay (and, after a crash, the last few
//! seconds' views) are a fair price. Each instance adds its own batch (`views + n`), so
//! instances sharing PostgreSQL never overwrite each other.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use crate::db::Db;
use crate::server::AppState;

/// How often pending views reach the database.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct ViewCounter {
    pending: Mutex<HashMap<String, i64>>,
}

impl ViewCounter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one page view; returns the album's views not yet in the database.
    pub fn add(&self, album_id: &str) -> i64 {
        let mut pending = self.lock();
        let n = pending.entry(album_id.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    /// Writes pending counts; a count that fails to write is kept for the next round.
    pub async fn flush(&self, db: &Db) {
        let batch = std::mem::take(&mut *self.lock());
        let mut failed = Vec::new();
        for (album_id, n) in batch {
            if let Err(e) = db.add_views(&album_id, n).await {
                tracing::warn!(error = %e, %album_id, views = n, "could not record views; will retry");
                failed.push((album_id, n));
            }
        }
        // No lock is held across an await: the guard is not `Send`.
        let mut pending = self.lock();
        for (album_id, n) in failed {
            *pending.entry(album_id).or_insert(0) += n;
        }
    }
}

/// Flushes every `every` until shutdown, then once more.
pub async fn flusher(state: AppState, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        // The select yields a plain bool: `wait_for`'s `Ref` must not live across the flush.
        let stop = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = shutdown.wait_for(|stop| *stop) => true,
        };
        if stop {
            break;
        }
        state.views.flush(&state.db).await;
    }
    state.views.flush(&state.db).await;
}
