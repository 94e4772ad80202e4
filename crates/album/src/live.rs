//! Live gallery events: new photos and removals fan out to every open gallery page over
//! Server-Sent Events.
//!
//! One broadcast channel per process feeds the streams. With SQLite (one instance) events
//! go straight into it; with PostgreSQL every instance publishes through `NOTIFY` and
//! feeds its channel from `LISTEN`, so a guest on any instance behind a load balancer sees
//! a photo uploaded through any other.
//!
//! The `photo` event id is the photo's `seq`, so a browser that reconnects (sending
//! `Last-Event-ID`) is caught up from the database and never misses a photo, and a
//! subscriber that falls behind the channel refills from the database too.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::{broadcast, watch};

use crate::db::{Db, PhotoRow};
use crate::error::AlbumError;
use crate::gallery::viewer_album;
use crate::http_error::HttpError;
use crate::server::AppState;

/// What a gallery needs to show one photo; also the `photo` event's data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhotoView {
    pub id: String,
    pub seq: i64,
    pub width: i64,
    pub height: i64,
    pub thumb_url: String,
    pub web_url: String,
    pub captured_at: Option<String>,
    pub section: Option<String>,
}

impl From<&PhotoRow> for PhotoView {
    fn from(row: &PhotoRow) -> Self {
        Self {
            id: row.id.clone(),
            seq: row.seq,
            width: row.width,
            height: row.height,
            thumb_url: format!("/p/{}/thumb.jpg", row.id),
            web_url: format!("/p/{}/web.jpg", row.id),
            captured_at: row.captured_at.clone(),
            section: row.section.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LiveKind {
    /// A photo became visible to guests.
    Photo(PhotoView),
    /// A photo was deleted or unpublished: open pages drop its tile.
    Remove { id: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveEvent {
    pub album_id: String,
    #[serde(flatten)]
    pub kind: LiveKind,
}

/// Room for a burst from several cameras before a slow subscriber has to refill.
const CHANNEL_CAPACITY: usize = 1024;
const CATCH_UP_BATCH: i64 = 200;
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const PG_CHANNEL: &str = "hotshoe_live";

pub struct Hub {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    /// Set when instances share PostgreSQL: events travel through NOTIFY.
    pg: Option<PgPool>,
}

impl Hub {
    /// A hub for one process (SQLite).
    pub fn local() -> Self {
        Self {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
            pg: None,
        }
    }

    /// A hub that fans out through PostgreSQL: subscribes with `LISTEN` before returning,
    /// so no event published after start-up is missed.
    pub async fn postgres(url: &str, shutdown: watch::Receiver<bool>) -> Result<Self, AlbumError> {
        let tx = broadcast::channel(CHANNEL_CAPACITY).0;
        let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
        let mut listener = PgListener::connect(url).await?;
        listener.listen(PG_CHANNEL).await?;
        tokio::spawn(listen(listener, tx.clone(), shutdown));
        Ok(Self { tx, pg: Some(pool) })
    }

    pub async fn publish(&self, event: LiveEvent) {
        match &self.pg {
            None => self.deliver(event),
            Some(pool) => {
                let payload = match serde_json::to_string(&event) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot encode live event");
                        return;
                    }
                };
                let sent = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(PG_CHANNEL)
                    .bind(&payload)
                    .execute(pool)
                    .await;
                if let Err(e) = sent {
                    // Guests on this instance still get it; others catch up on reconnect.
                    tracing::warn!(error = %e, "NOTIFY failed; delivering locally only");
                    self.deliver(event);
                }
            }
        }
    }

    fn deliver(&self, event: LiveEvent) {
        // No receivers just means no gallery is open right now.
        let _ = self.tx.send(Arc::new(event));
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }
}

/// Feeds NOTIFY payloads into the local channel. `PgListener` reconnects by itself after a
/// dropped connection; events sent in the gap reach pages when they reconnect or lag.
async fn listen(
    mut listener: PgListener,
    tx: broadcast::Sender<Arc<LiveEvent>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let received = tokio::select! {
            r = listener.recv() => r,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        match received {
            Ok(n) => match serde_json::from_str::<LiveEvent>(n.payload()) {
                Ok(event) => {
                    let _ = tx.send(Arc::new(event));
                }
                Err(e) => tracing::warn!(error = %e, "ignoring malformed live notification"),
            },
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/g/{slug}/events", get(events))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    /// Same as `Last-Event-ID`, for the first connection of a freshly rendered page.
    after: Option<i64>,
}

/// Per-connection state of an event stream.
struct Tail {
    rx: broadcast::Receiver<Arc<LiveEvent>>,
    db: Db,
    album_id: String,
    last_seq: i64,
    pending: VecDeque<LiveKind>,
    /// The last catch-up filled a whole batch, so the database may hold more.
    more_in_db: bool,
}

impl Tail {
    async fn refill(&mut self) {
        match self
            .db
            .gallery_after(&self.album_id, self.last_seq, CATCH_UP_BATCH)
            .await
        {
            Ok(rows) => {
                self.more_in_db = rows.len() as i64 == CATCH_UP_BATCH;
                self.pending
                    .extend(rows.iter().map(|r| LiveKind::Photo(PhotoView::from(r))));
            }
            Err(e) => {
                self.more_in_db = false;
                tracing::warn!(error = %e, "live catch-up query failed");
            }
        }
    }

    async fn next(&mut self) -> Option<LiveKind> {
        loop {
            match self.pending.pop_front() {
                Some(LiveKind::Photo(photo)) => {
                    if photo.seq > self.last_seq {
                        self.last_seq = photo.seq;
                        return Some(LiveKind::Photo(photo));
                    }
                    continue;
                }
                Some(remove) => return Some(remove),
                None => {}
            }
            if self.more_in_db {
                self.refill().await;
                continue;
            }
            match self.rx.recv().await {
                Ok(event) if event.album_id == self.album_id => {
                    self.pending.push_back(event.kind.clone())
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(
                        skipped,
                        "live subscriber lagged; catching up from the database"
                    );
                    self.refill().await;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn sse_event(kind: &LiveKind) -> Event {
    let event = match kind {
        LiveKind::Photo(photo) => Event::default()
            .event("photo")
            .id(photo.seq.to_string())
            .json_data(photo),
        LiveKind::Remove { id } => Event::default()
            .event("remove")
            .json_data(serde_json::json!({ "id": id })),
    };
    event.unwrap_or_else(|_| Event::default().comment("unencodable event"))
}

async fn events(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, HttpError> {
    let album = viewer_album(&state, &slug, &headers).await?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    // The header is newer than the query: the browser sets it on every reconnect.
    let resume_after = last_event_id.or(query.after);

    // Subscribe before reading the backlog so nothing falls between the two.
    let mut tail = Tail {
        rx: state.hub.subscribe(),
        db: state.db.clone(),
        album_id: album.id.clone(),
        last_seq: 0,
        pending: VecDeque::new(),
        more_in_db: false,
    };
    if let Some(after) = resume_after {
        tail.last_seq = after;
        tail.refill().await;
    }
    tracing::debug!(album_id = %album.id, ?resume_after, "live subscriber connected");

    // A first comment gets the response headers out at once so EventSource opens.
    let hello = futures::stream::once(async {
        Ok::<_, Infallible>(
            Event::default()
                .retry(Duration::from_secs(2))
                .comment("live"),
        )
    });
    let photos = futures::stream::unfold(tail, |mut tail| async move {
        let kind = tail.next().await?;
        Some((Ok(sse_event(&kind)), tail))
    });
    let mut shutdown = state.shutdown.clone();
    let stream = hello.chain(photos).take_until(async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
