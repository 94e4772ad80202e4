//! The journal: one SQLite database (WAL, synchronous=FULL) that is the single source of
//! truth for every shot. Each stage of the pipeline is a durable transition here, and every
//! worker finds its next piece of work by asking the journal, so a crash at any point resumes
//! where it stopped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::time_fmt::now_rfc3339;

/// Current schema version, stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

const MIGRATIONS: &[&str] = &[
    // v1: shots, renditions, uploads.
    r#"
    CREATE TABLE shots (
        id            INTEGER PRIMARY KEY,
        source        TEXT NOT NULL,
        source_key    TEXT NOT NULL,
        filename      TEXT NOT NULL,
        detected_at   TEXT NOT NULL,
        captured_at   TEXT,
        content_hash  TEXT,
        library_path  TEXT,
        bytes         INTEGER,
        state         TEXT NOT NULL,
        error         TEXT,
        updated_at    TEXT NOT NULL,
        UNIQUE (source, source_key)
    );
    CREATE INDEX shots_state ON shots (state);
    CREATE INDEX shots_hash ON shots (content_hash);
    CREATE TABLE renditions (
        shot_id   INTEGER NOT NULL REFERENCES shots (id),
        kind      TEXT NOT NULL,
        path      TEXT NOT NULL,
        width     INTEGER NOT NULL,
        height    INTEGER NOT NULL,
        bytes     INTEGER NOT NULL,
        PRIMARY KEY (shot_id, kind)
    );
    CREATE TABLE uploads (
        shot_id        INTEGER NOT NULL REFERENCES shots (id),
        kind           TEXT NOT NULL,
        target         TEXT NOT NULL,
        state          TEXT NOT NULL,
        upload_url     TEXT,
        remote_id      TEXT,
        attempts       INTEGER NOT NULL DEFAULT 0,
        next_attempt   TEXT,
        error          TEXT,
        uploaded_at    TEXT,
        PRIMARY KEY (shot_id, kind, target)
    );
    CREATE INDEX uploads_state ON uploads (state, target);
    "#,
    // v2: sources seen, and the objects that were already on a card when tethering started
    // (an old card must not flood the gallery with last month's wedding).
    r#"
    CREATE TABLE sources (
        source      TEXT PRIMARY KEY,
        first_seen  TEXT NOT NULL,
        model       TEXT,
        baseline_at TEXT
    );
    CREATE TABLE baseline (
        source      TEXT NOT NULL,
        source_key  TEXT NOT NULL,
        PRIMARY KEY (source, source_key)
    );
    "#,
];

/// The stages a shot passes through. Stored as text so the database stays readable in a
/// bug report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShotState {
    /// Seen on a source, not yet saved locally.
    Detected,
    /// The original is in the library, fsynced, with its content hash.
    Downloaded,
    /// Renditions exist and uploads are queued.
    Processed,
    /// Every upload of every rendition to every target is done.
    Published,
    /// Gave up with a reason (for example a corrupt file); the original, if any, stays.
    Failed,
    /// Deliberately not published (a duplicate of another shot, a file type we skip).
    Skipped,
}

impl ShotState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShotState::Detected => "detected",
            ShotState::Downloaded => "downloaded",
            ShotState::Processed => "processed",
            ShotState::Published => "published",
            ShotState::Failed => "failed",
            ShotState::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Result<Self, JournalError> {
        Ok(match s {
            "detected" => ShotState::Detected,
            "downloaded" => ShotState::Downloaded,
            "processed" => ShotState::Processed,
            "published" => ShotState::Published,
            "failed" => ShotState::Failed,
            "skipped" => ShotState::Skipped,
            other => {
                return Err(JournalError::Corrupt(format!(
                    "unknown shot state {other:?}"
                )))
            }
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("journal is corrupt: {0}")]
    Corrupt(String),
    #[error("journal was written by a newer Hotshoe (schema {found}, this build knows {known})")]
    TooNew { found: i64, known: i64 },
    #[error("journal worker thread failed: {0}")]
    Join(String),
}

/// One row of `shots`.
#[derive(Debug, Clone, Serialize)]
pub struct Shot {
    pub id: i64,
    pub source: String,
    pub source_key: String,
    pub filename: String,
    pub detected_at: String,
    pub captured_at: Option<String>,
    pub content_hash: Option<String>,
    pub library_path: Option<PathBuf>,
    pub bytes: Option<u64>,
    pub state: ShotState,
    pub error: Option<String>,
}

/// A queued or finished upload of one rendition to one target.
#[derive(Debug, Clone, Serialize)]
pub struct UploadJob {
    pub shot_id: i64,
    pub kind: String,
    pub target: String,
    pub upload_url: Option<String>,
    pub attempts: u32,
    pub path: PathBuf,
    pub bytes: u64,
    pub filename: String,
    pub content_hash: String,
    pub captured_at: Option<String>,
    pub detected_at: String,
}

/// Counts for the status line.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub detected: u64,
    pub downloaded: u64,
    pub processed: u64,
    pub published: u64,
    pub failed: u64,
    pub skipped: u64,
    pub uploads_pending: u64,
}

/// Uploads (one rendition to one target each) by where they stand.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct UploadCounts {
    /// Waiting for a worker, never tried or interrupted by a stop.
    pub pending: u64,
    /// Being sent right now (claimed by a worker).
    pub uploading: u64,
    /// The target has it.
    pub uploaded: u64,
    /// The last attempt failed; waiting to be retried (uploads are never given up on).
    pub failed: u64,
}

/// A shot with where its uploads stand: one line of a UI's recent-shots list, read from the
/// journal so it is right after a restart.
#[derive(Debug, Clone, Serialize)]
pub struct ShotSummary {
    pub id: i64,
    pub source: String,
    pub filename: String,
    pub state: ShotState,
    pub detected_at: String,
    pub captured_at: Option<String>,
    /// When the first web rendition reached a target: the moment guests could see it.
    pub published_at: Option<String>,
    /// The shot's own error (failed, skipped) or else the last upload error.
    pub error: Option<String>,
    pub uploads: UploadCounts,
}

/// What `record_detected` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// A new row: go and download it.
    New(i64),
    /// Already known: the state says whether anything is left to do.
    Known(i64, ShotState),
    /// It was on the card before tethering started and is left alone.
    Baseline,
}

/// Handle to the journal. Cheap to clone; all calls run on the blocking pool so they never
/// stall the async workers while SQLite fsyncs.
#[derive(Clone)]
pub struct Journal {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a transition reported done must survive a power cut, not just a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Journal {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, JournalError> + Send + 'static,
    ) -> Result<R, JournalError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| JournalError::Corrupt("journal lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| JournalError::Join(e.to_string()))?
    }

    /// Records that `source` holds an object identified by `source_key`. Idempotent: a key
    /// already known returns its row, which is how a re-listing after a reconnect or restart
    /// avoids fetching a shot twice.
    pub async fn record_detected(
        &self,
        source: &str,
        source_key: &str,
        filename: &str,
    ) -> Result<Detected, JournalError> {
        let (source, source_key, filename) = (
            source.to_owned(),
            source_key.to_owned(),
            filename.to_owned(),
        );
        self.with(move |c| {
            let tx = c.transaction()?;
            let in_baseline: bool = tx
                .query_row(
                    "SELECT 1 FROM baseline WHERE source = ?1 AND source_key = ?2",
                    params![source, source_key],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if in_baseline {
                return Ok(Detected::Baseline);
            }
            let existing: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, state FROM shots WHERE source = ?1 AND source_key = ?2",
                    params![source, source_key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let out = match existing {
                Some((id, state)) => Detected::Known(id, ShotState::parse(&state)?),
                None => {
                    let now = now_rfc3339();
                    tx.execute(
                        "INSERT INTO shots (source, source_key, filename, detected_at, state, updated_at)
                         VALUES (?1, ?2, ?3, ?4, 'detected', ?4)",
                        params![source, source_key, filename, now],
                    )?;
                    Detected::New(tx.last_insert_rowid())
                }
            };
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Registers a source (a camera by serial, a folder); returns true the first time it is
    /// ever seen, which is when a card's existing contents may be set aside as a baseline.
    pub async fn register_source(
        &self,
        source: &str,
        model: Option<&str>,
    ) -> Result<bool, JournalError> {
        let (source, model) = (source.to_owned(), model.map(str::to_owned));
        self.with(move |c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO sources (source, first_seen, model) VALUES (?1, ?2, ?3)",
                params![source, now_rfc3339(), model],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Whether the source's baseline has been taken (so a crash during it is retried).
    pub async fn baseline_done(&self, source: &str) -> Result<bool, JournalError> {
        let source = source.to_owned();
        self.with(move |c| {
            let at: Option<Option<String>> = c
                .query_row(
                    "SELECT baseline_at FROM sources WHERE source = ?1",
                    params![source],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(matches!(at, Some(Some(_))))
        })
        .await
    }

    /// Records the objects already on a source when tethering started; they are never
    /// downloaded or published unless the photographer imports them.
    pub async fn set_baseline(&self, source: &str, keys: Vec<String>) -> Result<(), JournalError> {
        let source = source.to_owned();
        self.with(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare(
                    "INSERT OR IGNORE INTO baseline (source, source_key) VALUES (?1, ?2)",
                )?;
                for k in &keys {
                    stmt.execute(params![source, k])?;
                }
            }
            tx.execute(
                "UPDATE sources SET baseline_at = ?1 WHERE source = ?2",
                params![now_rfc3339(), source],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The original is safely in the library. Returns `Some(other_id)` instead of moving on
    /// when another shot already has the same content (the same file seen twice): this
    /// shot is then marked skipped, so nothing is published twice.
    pub async fn mark_downloaded(
        &self,
        id: i64,
        path: &Path,
        bytes: u64,
        content_hash: &str,
        captured_at: Option<&str>,
    ) -> Result<Option<i64>, JournalError> {
        let path = path.to_string_lossy().into_owned();
        let hash = content_hash.to_owned();
        let captured = captured_at.map(str::to_owned);
        self.with(move |c| {
            let tx = c.transaction()?;
            let dup: Option<i64> = tx
                .query_row(
                    "SELECT id FROM shots WHERE content_hash = ?1 AND id <> ?2 ORDER BY id LIMIT 1",
                    params![hash, id],
                    |r| r.get(0),
                )
                .optional()?;
            let now = now_rfc3339();
            let (state, error) = match dup {
                Some(other) => ("skipped", Some(format!("same content as shot {other}"))),
                None => ("downloaded", None),
            };
            tx.execute(
                "UPDATE shots SET library_path = ?1, bytes = ?2, content_hash = ?3, captured_at = ?4,
                        state = ?5, error = ?6, updated_at = ?7 WHERE id = ?8",
                params![path, bytes as i64, hash, captured, state, error, now, id],
            )?;
            tx.commit()?;
            Ok(dup)
        })
        .await
    }

    /// Renditions are written; queue one upload per rendition and target that wants it, in the
    /// same transaction so a crash cannot leave a processed shot with nothing queued.
    /// `targets` pairs each target's name with the rendition kinds it takes.
    pub async fn mark_processed(
        &self,
        id: i64,
        renditions: Vec<RenditionRecord>,
        targets: Vec<(String, Vec<String>)>,
    ) -> Result<(), JournalError> {
        self.with(move |c| {
            let tx = c.transaction()?;
            for r in &renditions {
                tx.execute(
                    "INSERT OR REPLACE INTO renditions (shot_id, kind, path, width, height, bytes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        r.kind,
                        r.path.to_string_lossy(),
                        r.width,
                        r.height,
                        r.bytes as i64
                    ],
                )?;
                for (t, _) in targets.iter().filter(|(_, kinds)| kinds.contains(&r.kind)) {
                    tx.execute(
                        "INSERT OR IGNORE INTO uploads (shot_id, kind, target, state) VALUES (?1, ?2, ?3, 'pending')",
                        params![id, r.kind, t],
                    )?;
                }
            }
            let now = now_rfc3339();
            tx.execute(
                "UPDATE shots SET state = 'processed', error = NULL, updated_at = ?1 WHERE id = ?2",
                params![now, id],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn mark_failed(&self, id: i64, reason: &str) -> Result<(), JournalError> {
        let reason = reason.to_owned();
        self.with(move |c| {
            c.execute(
                "UPDATE shots SET state = 'failed', error = ?1, updated_at = ?2 WHERE id = ?3",
                params![reason, now_rfc3339(), id],
            )?;
            Ok(())
        })
        .await
    }

    /// The next shot waiting for processing: newest first, so the gallery stays live while a
    /// backlog drains.
    pub async fn next_to_process(&self) -> Result<Option<Shot>, JournalError> {
        self.with(|c| {
            c.query_row(
                &format!("{SHOT_SELECT} WHERE state = 'downloaded' ORDER BY COALESCE(captured_at, detected_at) DESC, id DESC LIMIT 1"),
                [],
                shot_from_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    /// Claims the next upload due for `target`: web renditions before originals, newest shot
    /// first, skipping those backing off. A claimed upload is `uploading` until it is marked
    /// uploaded or put back for a retry, so several workers of one target never take the
    /// same job (the connection lock makes select-then-claim atomic within this process).
    pub async fn next_upload(&self, target: &str) -> Result<Option<UploadJob>, JournalError> {
        self.claim_upload(target, false).await
    }

    /// As [`Journal::next_upload`]; with `web_only`, only web renditions are claimed (the
    /// worker kept free for them, so a new shot never waits for an original in flight).
    pub async fn claim_upload(
        &self,
        target: &str,
        web_only: bool,
    ) -> Result<Option<UploadJob>, JournalError> {
        let target = target.to_owned();
        self.with(move |c| {
            let now = now_rfc3339();
            let job = c
                .query_row(
                    "SELECT u.shot_id, u.kind, u.target, u.upload_url, u.attempts, r.path, r.bytes,
                            s.filename, s.content_hash, s.captured_at, s.detected_at
                     FROM uploads u
                     JOIN renditions r ON r.shot_id = u.shot_id AND r.kind = u.kind
                     JOIN shots s ON s.id = u.shot_id
                     WHERE u.target = ?1 AND u.state = 'pending'
                       AND (u.next_attempt IS NULL OR u.next_attempt <= ?2)
                       AND (?3 = 0 OR u.kind = 'web')
                     ORDER BY CASE u.kind WHEN 'web' THEN 0 ELSE 1 END,
                              COALESCE(s.captured_at, s.detected_at) DESC, s.id DESC
                     LIMIT 1",
                    params![target, now, web_only],
                    |r| {
                        Ok(UploadJob {
                            shot_id: r.get(0)?,
                            kind: r.get(1)?,
                            target: r.get(2)?,
                            upload_url: r.get(3)?,
                            attempts: r.get::<_, i64>(4)? as u32,
                            path: PathBuf::from(r.get::<_, String>(5)?),
                            bytes: r.get::<_, i64>(6)? as u64,
                            filename: r.get(7)?,
                            content_hash: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                            captured_at: r.get(9)?,
                            detected_at: r.get(10)?,
                        })
                    },
                )
                .optional()?;
            if let Some(j) = &job {
                c.execute(
                    "UPDATE uploads SET state = 'uploading' WHERE shot_id = ?1 AND kind = ?2 AND target = ?3",
                    params![j.shot_id, j.kind, j.target],
                )?;
            }
            Ok(job)
        })
        .await
    }

    /// Puts back every claim: called at start, when nothing can be in flight, because a crash
    /// or kill leaves the uploads it was sending claimed.
    pub async fn release_claims(&self) -> Result<u64, JournalError> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE uploads SET state = 'pending' WHERE state = 'uploading'",
                [],
            )?;
            if n > 0 {
                tracing::info!(uploads = n, "resuming uploads interrupted by the last stop");
            }
            Ok(n as u64)
        })
        .await
    }

    /// Uploads queued for `target` (waiting or backing off) and those being sent.
    pub async fn target_queue(&self, target: &str) -> Result<(u64, u64), JournalError> {
        let target = target.to_owned();
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'uploading'), 0)
                 FROM uploads WHERE target = ?1",
                params![target],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )?)
        })
        .await
    }

    /// The earliest moment a backed-off upload for `target` becomes due, if any.
    pub async fn next_retry_at(&self, target: &str) -> Result<Option<String>, JournalError> {
        let target = target.to_owned();
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT MIN(next_attempt) FROM uploads WHERE target = ?1 AND state = 'pending'",
                params![target],
                |r| r.get::<_, Option<String>>(0),
            )?)
        })
        .await
    }

    /// Remembers where a resumable upload lives before its body is sent, so a restart resumes
    /// it instead of starting over.
    pub async fn set_upload_url(
        &self,
        shot_id: i64,
        kind: &str,
        target: &str,
        url: &str,
    ) -> Result<(), JournalError> {
        let (kind, target, url) = (kind.to_owned(), target.to_owned(), url.to_owned());
        self.with(move |c| {
            c.execute(
                "UPDATE uploads SET upload_url = ?1 WHERE shot_id = ?2 AND kind = ?3 AND target = ?4",
                params![url, shot_id, kind, target],
            )?;
            Ok(())
        })
        .await
    }

    /// An attempt failed; try again at `next_attempt` (RFC 3339).
    pub async fn upload_retry_later(
        &self,
        shot_id: i64,
        kind: &str,
        target: &str,
        error: &str,
        next_attempt: &str,
        forget_url: bool,
    ) -> Result<(), JournalError> {
        let (kind, target, error, next) = (
            kind.to_owned(),
            target.to_owned(),
            error.to_owned(),
            next_attempt.to_owned(),
        );
        self.with(move |c| {
            c.execute(
                "UPDATE uploads SET state = 'pending', attempts = attempts + 1, error = ?1, next_attempt = ?2,
                        upload_url = CASE WHEN ?3 THEN NULL ELSE upload_url END
                 WHERE shot_id = ?4 AND kind = ?5 AND target = ?6",
                params![error, next, forget_url, shot_id, kind, target],
            )?;
            Ok(())
        })
        .await
    }

    /// The target has the rendition. When it was the shot's last outstanding upload the shot
    /// becomes published; returns whether it did.
    pub async fn mark_uploaded(
        &self,
        shot_id: i64,
        kind: &str,
        target: &str,
        remote_id: Option<&str>,
    ) -> Result<bool, JournalError> {
        let (kind, target, remote) = (
            kind.to_owned(),
            target.to_owned(),
            remote_id.map(str::to_owned),
        );
        self.with(move |c| {
            let tx = c.transaction()?;
            let now = now_rfc3339();
            tx.execute(
                "UPDATE uploads SET state = 'uploaded', remote_id = ?1, uploaded_at = ?2, error = NULL
                 WHERE shot_id = ?3 AND kind = ?4 AND target = ?5",
                params![remote, now, shot_id, kind, target],
            )?;
            let left: i64 = tx.query_row(
                "SELECT COUNT(*) FROM uploads WHERE shot_id = ?1 AND state <> 'uploaded'",
                params![shot_id],
                |r| r.get(0),
            )?;
            let published = left == 0;
            if published {
                tx.execute(
                    "UPDATE shots SET state = 'published', updated_at = ?1 WHERE id = ?2",
                    params![now, shot_id],
                )?;
            }
            tx.commit()?;
            Ok(published)
        })
        .await
    }

    pub async fn shot(&self, id: i64) -> Result<Option<Shot>, JournalError> {
        self.with(move |c| {
            c.query_row(
                &format!("{SHOT_SELECT} WHERE id = ?1"),
                params![id],
                shot_from_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    /// Every shot in detection order; for tests, reports and the CLI.
    pub async fn shots(&self) -> Result<Vec<Shot>, JournalError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!("{SHOT_SELECT} ORDER BY id"))?;
            let rows = stmt.query_map([], shot_from_row)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r??);
            }
            Ok(out)
        })
        .await
    }

    /// How many shots are in each state, and how many uploads wait.
    pub async fn counts(&self) -> Result<Counts, JournalError> {
        self.with(|c| {
            let mut counts = Counts::default();
            let mut stmt = c.prepare("SELECT state, COUNT(*) FROM shots GROUP BY state")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (state, n) = row?;
                let n = n as u64;
                match ShotState::parse(&state)? {
                    ShotState::Detected => counts.detected = n,
                    ShotState::Downloaded => counts.downloaded = n,
                    ShotState::Processed => counts.processed = n,
                    ShotState::Published => counts.published = n,
                    ShotState::Failed => counts.failed = n,
                    ShotState::Skipped => counts.skipped = n,
                }
            }
            counts.uploads_pending = c.query_row(
                "SELECT COUNT(*) FROM uploads WHERE state IN ('pending', 'uploading')",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64;
            Ok(counts)
        })
        .await
    }

    /// Uploads over every target by where they stand (see [`UploadCounts`]).
    pub async fn upload_counts(&self) -> Result<UploadCounts, JournalError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(state = 'pending' AND error IS NULL), 0),
                        COALESCE(SUM(state = 'uploading'), 0),
                        COALESCE(SUM(state = 'uploaded'), 0),
                        COALESCE(SUM(state = 'pending' AND error IS NOT NULL), 0)
                 FROM uploads",
                [],
                |r| {
                    Ok(UploadCounts {
                        pending: r.get::<_, i64>(0)? as u64,
                        uploading: r.get::<_, i64>(1)? as u64,
                        uploaded: r.get::<_, i64>(2)? as u64,
                        failed: r.get::<_, i64>(3)? as u64,
                    })
                },
            )?)
        })
        .await
    }

    /// The `limit` most recently detected shots, newest first, with their uploads.
    pub async fn recent_shots(&self, limit: usize) -> Result<Vec<ShotSummary>, JournalError> {
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT s.id, s.source, s.filename, s.state, s.detected_at, s.captured_at, s.error,
                        (SELECT MIN(u.uploaded_at) FROM uploads u
                          WHERE u.shot_id = s.id AND u.kind = 'web' AND u.state = 'uploaded'),
                        (SELECT u.error FROM uploads u
                          WHERE u.shot_id = s.id AND u.state <> 'uploaded' AND u.error IS NOT NULL
                          ORDER BY u.next_attempt DESC LIMIT 1),
                        COALESCE(SUM(u.state = 'pending' AND u.error IS NULL), 0),
                        COALESCE(SUM(u.state = 'uploading'), 0),
                        COALESCE(SUM(u.state = 'uploaded'), 0),
                        COALESCE(SUM(u.state = 'pending' AND u.error IS NOT NULL), 0)
                 FROM (SELECT * FROM shots ORDER BY id DESC LIMIT ?1) s
                 LEFT JOIN uploads u ON u.shot_id = s.id
                 GROUP BY s.id
                 ORDER BY s.id DESC",
            )?;
            let rows = stmt.query_map(params![limit as i64], |r| {
                let state: String = r.get(3)?;
                let own_error: Option<String> = r.get(6)?;
                let upload_error: Option<String> = r.get(8)?;
                Ok((
                    state,
                    ShotSummary {
                        id: r.get(0)?,
                        source: r.get(1)?,
                        filename: r.get(2)?,
                        state: ShotState::Detected,
                        detected_at: r.get(4)?,
                        captured_at: r.get(5)?,
                        published_at: r.get(7)?,
                        error: own_error.or(upload_error),
                        uploads: UploadCounts {
                            pending: r.get::<_, i64>(9)? as u64,
                            uploading: r.get::<_, i64>(10)? as u64,
                            uploaded: r.get::<_, i64>(11)? as u64,
                            failed: r.get::<_, i64>(12)? as u64,
                        },
                    },
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (state, mut summary) = row?;
                summary.state = ShotState::parse(&state)?;
                out.push(summary);
            }
            Ok(out)
        })
        .await
    }
}

/// A rendition written to disk, as the journal records it.
#[derive(Debug, Clone)]
pub struct RenditionRecord {
    pub kind: String,
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

const SHOT_SELECT: &str = "SELECT id, source, source_key, filename, detected_at, captured_at, content_hash, library_path, bytes, state, error FROM shots";

fn shot_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Shot, JournalError>> {
    let state: String = r.get(9)?;
    let shot = |state| Shot {
        id: r.get(0).unwrap_or_default(),
        source: r.get(1).unwrap_or_default(),
        source_key: r.get(2).unwrap_or_default(),
        filename: r.get(3).unwrap_or_default(),
        detected_at: r.get(4).unwrap_or_default(),
        captured_at: r.get(5).unwrap_or_default(),
        content_hash: r.get(6).unwrap_or_default(),
        library_path: r
            .get::<_, Option<String>>(7)
            .unwrap_or_default()
            .map(PathBuf::from),
        bytes: r
            .get::<_, Option<i64>>(8)
            .unwrap_or_default()
            .map(|b| b as u64),
        state,
        error: r.get(10).unwrap_or_default(),
    };
    Ok(ShotState::parse(&state).map(shot))
}

fn migrate(conn: &mut Connection) -> Result<(), JournalError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(JournalError::TooNew {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(schema = i + 1, "journal migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-pixel web rendition: for tests about queueing, not pixels.
    fn tiny_web() -> Vec<RenditionRecord> {
        vec![RenditionRecord {
            kind: "web".into(),
            path: "/w".into(),
            width: 1,
            height: 1,
            bytes: 1,
        }]
    }

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
        (dir, j)
    }

    #[tokio::test]
    async fn detection_is_idempotent() {
        let (_d, j) = journal();
        let a = j.record_detected("cam:1", "k1", "IMG_1.JPG").await.unwrap();
        let Detected::New(id) = a else {
            panic!("expected new")
        };
        let b = j.record_detected("cam:1", "k1", "IMG_1.JPG").await.unwrap();
        assert_eq!(b, Detected::Known(id, ShotState::Detected));
        let c = j.record_detected("cam:2", "k1", "IMG_1.JPG").await.unwrap();
        assert!(matches!(c, Detected::New(other) if other != id));
    }

    #[tokio::test]
    async fn baseline_objects_are_left_alone() {
        let (_d, j) = journal();
        assert!(j.register_source("cam:1", Some("EOS")).await.unwrap());
        assert!(!j.register_source("cam:1", Some("EOS")).await.unwrap());
        assert!(!j.baseline_done("cam:1").await.unwrap());
        j.set_baseline("cam:1", vec!["old1".into(), "old2".into()])
            .await
            .unwrap();
        assert!(j.baseline_done("cam:1").await.unwrap());
        assert_eq!(
            j.record_detected("cam:1", "old1", "IMG_1.JPG")
                .await
                .unwrap(),
            Detected::Baseline
        );
        assert!(matches!(
            j.record_detected("cam:1", "new", "IMG_3.JPG")
                .await
                .unwrap(),
            Detected::New(_)
        ));
        // Another camera with the same names is not affected.
        assert!(matches!(
            j.record_detected("cam:2", "old1", "IMG_1.JPG")
                .await
                .unwrap(),
            Detected::New(_)
        ));
    }

    #[tokio::test]
    async fn same_content_is_skipped_not_published_twice() {
        let (_d, j) = journal();
        let Detected::New(a) = j.record_detected("s", "a", "a.jpg").await.unwrap() else {
            panic!()
        };
        let Detected::New(b) = j.record_detected("s", "b", "b.jpg").await.unwrap() else {
            panic!()
        };
        assert_eq!(
            j.mark_downloaded(a, Path::new("/x/a"), 10, "h1", None)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            j.mark_downloaded(b, Path::new("/x/b"), 10, "h1", None)
                .await
                .unwrap(),
            Some(a)
        );
        assert_eq!(j.shot(b).await.unwrap().unwrap().state, ShotState::Skipped);
    }

    #[tokio::test]
    async fn full_lifecycle_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let id = {
            let j = Journal::open(&path).unwrap();
            let Detected::New(id) = j.record_detected("s", "k", "f.jpg").await.unwrap() else {
                panic!()
            };
            j.mark_downloaded(
                id,
                Path::new("/lib/f.jpg"),
                100,
                "abc",
                Some("2026-01-01T00:00:00Z"),
            )
            .await
            .unwrap();
            assert_eq!(j.next_to_process().await.unwrap().unwrap().id, id);
            j.mark_processed(
                id,
                vec![RenditionRecord {
                    kind: "web".into(),
                    path: "/r/web.jpg".into(),
                    width: 2048,
                    height: 1365,
                    bytes: 50,
                }],
                vec![("album".into(), vec!["web".into()])],
            )
            .await
            .unwrap();
            id
        };
        // A "crash" here: the reopened journal still has the upload queued.
        let j = Journal::open(&path).unwrap();
        assert!(j.next_to_process().await.unwrap().is_none());
        let job = j.next_upload("album").await.unwrap().unwrap();
        assert_eq!((job.shot_id, job.kind.as_str()), (id, "web"));
        j.set_upload_url(id, "web", "album", "http://x/1")
            .await
            .unwrap();
        // Claimed: a second worker finds nothing until the claim is released (as at start).
        assert!(j.next_upload("album").await.unwrap().is_none());
        assert_eq!(j.release_claims().await.unwrap(), 1);
        let job = j.next_upload("album").await.unwrap().unwrap();
        assert_eq!(job.upload_url.as_deref(), Some("http://x/1"));
        assert!(j
            .mark_uploaded(id, "web", "album", Some("p1"))
            .await
            .unwrap());
        assert_eq!(
            j.shot(id).await.unwrap().unwrap().state,
            ShotState::Published
        );
        assert!(j.next_upload("album").await.unwrap().is_none());
        let counts = j.counts().await.unwrap();
        assert_eq!(counts.published, 1);
        assert_eq!(counts.uploads_pending, 0);
    }

    #[tokio::test]
    async fn backed_off_upload_waits() {
        let (_d, j) = journal();
        let Detected::New(id) = j.record_detected("s", "k", "f.jpg").await.unwrap() else {
            panic!()
        };
        j.mark_downloaded(id, Path::new("/f"), 1, "h", None)
            .await
            .unwrap();
        j.mark_processed(id, tiny_web(), vec![("t".into(), vec!["web".into()])])
            .await
            .unwrap();
        j.upload_retry_later(id, "web", "t", "offline", "2999-01-01T00:00:00Z", true)
            .await
            .unwrap();
        assert!(j.next_upload("t").await.unwrap().is_none());
        assert_eq!(
            j.next_retry_at("t").await.unwrap().as_deref(),
            Some("2999-01-01T00:00:00Z")
        );
    }

    #[tokio::test]
    async fn upload_counts_and_recent_shots() {
        let (_d, j) = journal();
        let mut ids = Vec::new();
        for k in ["a", "b", "c"] {
            let Detected::New(id) = j
                .record_detected("s", k, &format!("{k}.jpg"))
                .await
                .unwrap()
            else {
                panic!()
            };
            ids.push(id);
        }
        for &id in &ids[..2] {
            j.mark_downloaded(id, Path::new("/f"), 1, &format!("h{id}"), None)
                .await
                .unwrap();
            j.mark_processed(
                id,
                tiny_web(),
                vec![
                    ("t".into(), vec!["web".into()]),
                    ("u".into(), vec!["web".into()]),
                ],
            )
            .await
            .unwrap();
        }
        // a: published on t, failing on u; b: one pending, one being sent; c: only detected.
        j.mark_uploaded(ids[0], "web", "t", None).await.unwrap();
        j.upload_retry_later(ids[0], "web", "u", "offline", "2999-01-01T00:00:00Z", false)
            .await
            .unwrap();
        assert_eq!(j.next_upload("t").await.unwrap().unwrap().shot_id, ids[1]);
        assert_eq!(
            j.upload_counts().await.unwrap(),
            UploadCounts {
                pending: 1,
                uploading: 1,
                uploaded: 1,
                failed: 1
            }
        );
        let recent = j.recent_shots(2).await.unwrap();
        assert_eq!(
            recent.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![ids[2], ids[1]]
        );
        assert_eq!(recent[0].state, ShotState::Detected);
        assert_eq!(recent[0].uploads, UploadCounts::default());
        assert_eq!(recent[1].uploads.uploading, 1);
        assert_eq!(recent[1].uploads.pending, 1);
        let all = j.recent_shots(50).await.unwrap();
        let a = &all[2];
        assert_eq!(a.filename, "a.jpg");
        assert!(a.published_at.is_some());
        assert_eq!(a.error.as_deref(), Some("offline"));
        assert_eq!((a.uploads.uploaded, a.uploads.failed), (1, 1));
    }

    /// Web renditions of every shot go before any original, newest first; a target only gets
    /// the kinds it asked for.
    #[tokio::test]
    async fn web_before_originals_newest_first_per_target() {
        let (_d, j) = journal();
        let mut ids = Vec::new();
        for (k, at) in [("a", "2026-01-01T00:00:01Z"), ("b", "2026-01-01T00:00:02Z")] {
            let Detected::New(id) = j.record_detected("s", k, k).await.unwrap() else {
                panic!()
            };
            j.mark_downloaded(id, Path::new("/f"), 1, k, Some(at))
                .await
                .unwrap();
            let rendition = |kind: &str| RenditionRecord {
                kind: kind.into(),
                path: "/w".into(),
                width: 1,
                height: 1,
                bytes: 1,
            };
            j.mark_processed(
                id,
                vec![rendition("web"), rendition("original")],
                vec![
                    ("album".into(), vec!["web".into(), "original".into()]),
                    ("ftp".into(), vec!["web".into()]),
                ],
            )
            .await
            .unwrap();
            ids.push(id);
        }
        // The worker kept for web renditions takes only those.
        let web = j.claim_upload("album", true).await.unwrap().unwrap();
        assert_eq!((web.shot_id, web.kind.as_str()), (ids[1], "web"));
        j.release_claims().await.unwrap();
        let mut order = Vec::new();
        while let Some(job) = j.next_upload("album").await.unwrap() {
            order.push((job.shot_id, job.kind));
        }
        assert_eq!(
            order,
            vec![
                (ids[1], "web".to_string()),
                (ids[0], "web".to_string()),
                (ids[1], "original".to_string()),
                (ids[0], "original".to_string()),
            ]
        );
        assert_eq!(j.target_queue("album").await.unwrap(), (0, 4));
        assert_eq!(j.target_queue("ftp").await.unwrap(), (2, 0));
    }
}
