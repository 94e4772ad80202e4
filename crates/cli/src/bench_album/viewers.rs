//! Gallery viewers: many concurrent SSE connections to an album's live event stream, each
//! timestamping every `photo` event the moment its bytes arrive.
//!
//! A small client of our own rather than wrk: wrk counts a stream that never ends as an
//! error. Each viewer is one task and one HTTP/1.1 connection, as a phone's EventSource is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Deserialize;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Connections being set up at once: a thousand SYNs in one go would overflow the
/// server's accept backlog and measure TCP retransmission instead of the server.
const CONNECTING_AT_ONCE: usize = 64;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One viewer received one photo event.
#[derive(Debug)]
pub struct Arrival {
    pub viewer: usize,
    pub photo_id: String,
    pub at: Instant,
}

/// What a viewer's stream is telling us, block by block.
#[derive(Debug, PartialEq)]
pub enum SseItem {
    /// A block with only comments (the server's first `: live`, or a keep-alive).
    Comment,
    Photo {
        id: String,
    },
    Other,
}

/// Splits an SSE byte stream into blocks (events end with a blank line) and classifies them.
#[derive(Default)]
pub struct SseParser {
    buf: String,
}

#[derive(Deserialize)]
struct PhotoData {
    id: String,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseItem> {
        self.buf.push_str(&String::from_utf8_lossy(bytes));
        if self.buf.contains('\r') {
            self.buf = self.buf.replace("\r\n", "\n");
        }
        let mut items = Vec::new();
        while let Some(end) = self.buf.find("\n\n") {
            let block: String = self.buf.drain(..end + 2).collect();
            items.push(classify(&block));
        }
        items
    }
}

fn classify(block: &str) -> SseItem {
    let mut event = None;
    let mut data = String::new();
    let mut fields = 0;
    for line in block.lines().filter(|l| !l.is_empty()) {
        if line.starts_with(':') {
            continue;
        }
        fields += 1;
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "event" => event = Some(value.to_owned()),
            "data" => data.push_str(value),
            _ => {}
        }
    }
    match event.as_deref() {
        Some("photo") => match serde_json::from_str::<PhotoData>(&data) {
            Ok(p) => SseItem::Photo { id: p.id },
            Err(_) => SseItem::Other,
        },
        // `retry:` travels with the first comment; it does not make the block an event.
        None if data.is_empty() && fields <= 1 => SseItem::Comment,
        _ => SseItem::Other,
    }
}

/// Open viewers; dropping them (or [`Viewers::close`]) ends every stream.
pub struct Viewers {
    tasks: JoinSet<Result<(), String>>,
    stop: CancellationToken,
    pub arrivals: mpsc::UnboundedReceiver<Arrival>,
    pub connect_time: Duration,
}

/// Opens `count` viewers on `url` and returns once every one of them has received the
/// server's first comment, i.e. is subscribed to live events. `progress` is called with
/// the number connected so far.
pub async fn open(url: &str, count: usize, mut progress: impl FnMut(usize)) -> Result<Viewers> {
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        // Every viewer needs its own connection; none is ever idle in the pool.
        .pool_max_idle_per_host(0)
        .build()?;
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let (ready_tx, mut ready_rx) = mpsc::channel::<Result<(), String>>(count.max(1));
    let (arrival_tx, arrivals) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for viewer in 0..count {
        tasks.spawn(watch(
            viewer,
            http.clone(),
            url.to_owned(),
            gate.clone(),
            ready_tx.clone(),
            arrival_tx.clone(),
            stop.clone(),
        ));
    }
    drop(ready_tx);
    let mut ready = 0;
    while ready < count {
        match tokio::time::timeout(CONNECT_TIMEOUT, ready_rx.recv()).await {
            Ok(Some(Ok(()))) => {
                ready += 1;
                progress(ready);
            }
            Ok(Some(Err(e))) => {
                stop.cancel();
                bail!("viewer could not subscribe: {e}");
            }
            Ok(None) => bail!("viewers ended before all subscribed ({ready} of {count})"),
            Err(_) => {
                stop.cancel();
                bail!("only {ready} of {count} viewers subscribed within 30 s");
            }
        }
    }
    Ok(Viewers {
        tasks,
        stop,
        arrivals,
        connect_time: started.elapsed(),
    })
}

impl Viewers {
    /// Ends every stream; returns how many viewers had lost theirs before that.
    pub async fn close(mut self) -> usize {
        self.stop.cancel();
        let mut failed = 0;
        while let Some(r) = self.tasks.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failed += 1;
                    tracing::warn!(error = %e, "viewer stream failed");
                }
                Err(e) => {
                    failed += 1;
                    tracing::warn!(error = %e, "viewer task failed");
                }
            }
        }
        failed
    }
}

async fn watch(
    viewer: usize,
    http: reqwest::Client,
    url: String,
    gate: Arc<Semaphore>,
    ready: mpsc::Sender<Result<(), String>>,
    arrivals: mpsc::UnboundedSender<Arrival>,
    stop: CancellationToken,
) -> Result<(), String> {
    let permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
    let sent = http
        .get(&url)
        .header("Accept", "text/event-stream")
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            let e = format!("viewer {viewer}: HTTP {}", r.status());
            let _ = ready.send(Err(e.clone())).await;
            return Err(e);
        }
        Err(e) => {
            let e = format!("viewer {viewer}: {e}");
            let _ = ready.send(Err(e.clone())).await;
            return Err(e);
        }
    };
    let mut permit = Some(permit);
    let mut parser = SseParser::default();
    loop {
        let chunk = tokio::select! {
            c = resp.chunk() => c,
            _ = stop.cancelled() => return Ok(()),
        };
        // Timestamp before any parsing: this is when the phone would have the bytes.
        let at = Instant::now();
        let bytes = match chunk {
            Ok(Some(b)) => b,
            Ok(None) => return Err(format!("viewer {viewer}: the server ended the stream")),
            Err(e) => return Err(format!("viewer {viewer}: {e}")),
        };
        for item in parser.push(&bytes) {
            match item {
                SseItem::Comment => {
                    if permit.take().is_some() {
                        let _ = ready.send(Ok(())).await;
                    }
                }
                SseItem::Photo { id } => {
                    let _ = arrivals.send(Arrival {
                        viewer,
                        photo_id: id,
                        at,
                    });
                }
                SseItem::Other => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_hello_and_photo_events_across_chunks() {
        let mut p = SseParser::default();
        assert_eq!(p.push(b": live\nretry: 2000\n\n"), vec![SseItem::Comment]);
        assert!(p
            .push(b"event: photo\nid: 7\ndata: {\"id\":\"ph_1\",")
            .is_empty());
        assert_eq!(
            p.push(b"\"seq\":7}\n\nevent: remove\ndata: {\"id\":\"x\"}\n\n:\n\n"),
            vec![
                SseItem::Photo { id: "ph_1".into() },
                SseItem::Other,
                SseItem::Comment
            ]
        );
    }

    #[test]
    fn accepts_crlf_line_ends() {
        let mut p = SseParser::default();
        assert_eq!(
            p.push(b"event: photo\r\ndata: {\"id\":\"a\"}\r\n\r\n"),
            vec![SseItem::Photo { id: "a".into() }]
        );
    }
}
