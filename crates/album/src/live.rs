//! Live new-photo events: one broadcast channel per server fans out to every open
//! gallery page over Server-Sent Events.
//!
//! The event id is the photo's `seq`, so a browser that reconnects (sending
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
use tokio::sync::broadcast;

use crate::db::{Db, PhotoRow};
use crate::gallery::public_album;
use crate::http_error::HttpError;
use crate::server::AppState;

/// What a gallery needs to show one photo; also the `photo` event's data.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoView {
    pub id: String,
    pub seq: i64,
    pub width: i64,
    pub height: i64,
    pub thumb_url: String,
    pub web_url: String,
    pub captured_at: Option<String>,
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
        }
    }
}

#[derive(Debug)]
pub struct LiveEvent {
    pub album_id: String,
    pub photo: PhotoView,
}

/// Room for a burst from several cameras before a slow subscriber has to refill.
const CHANNEL_CAPACITY: usize = 256;
const CATCH_UP_BATCH: i64 = 200;
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub struct Hub {
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

impl Hub {
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }

    pub fn publish(&self, album_id: &str, photo: PhotoView) {
        // No receivers just means no gallery is open right now.
        let _ = self.tx.send(Arc::new(LiveEvent {
            album_id: album_id.to_owned(),
            photo,
        }));
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
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
    pending: VecDeque<PhotoView>,
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
                self.pending.extend(rows.iter().map(PhotoView::from));
            }
            Err(e) => {
                self.more_in_db = false;
                tracing::warn!(error = %e, "live catch-up query failed");
            }
        }
    }

    async fn next(&mut self) -> Option<PhotoView> {
        loop {
            if let Some(photo) = self.pending.pop_front() {
                if photo.seq > self.last_seq {
                    self.last_seq = photo.seq;
                    return Some(photo);
                }
                continue;
            }
            if self.more_in_db {
                self.refill().await;
                continue;
            }
            match self.rx.recv().await {
                Ok(event) => {
                    if event.album_id == self.album_id && event.photo.seq > self.last_seq {
                        self.pending.push_back(event.photo.clone());
                    }
                }
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

fn photo_event(photo: &PhotoView) -> Event {
    Event::default()
        .event("photo")
        .id(photo.seq.to_string())
        .json_data(photo)
        .unwrap_or_else(|_| Event::default().comment("unencodable photo"))
}

async fn events(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, HttpError> {
    let album = public_album(&state, &slug).await?;
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
        let photo = tail.next().await?;
        Some((Ok(photo_event(&photo)), tail))
    });
    let mut shutdown = state.shutdown.clone();
    let stream = hello.chain(photos).take_until(async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
