//! Pacing of upload bodies: one bandwidth cap shared by every target (a token bucket), and a
//! byte meter per target for the throughput the photographer sees. Targets send their bodies
//! through [`Pacer::body`] (or call [`Pacer::take`] per piece), so neither can be bypassed.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// tokio's clock, so the cap can be tested with paused time.
use tokio::time::Instant;

use bytes::Bytes;
use futures::Stream;

/// Bodies go out in pieces this big: small enough that the cap is smooth and a cancelled
/// upload stops quickly, big enough that pacing costs nothing measurable.
pub const PIECE: usize = 64 * 1024;

/// The upload bandwidth cap, shared by all targets. Cloning shares the bucket.
#[derive(Clone, Default)]
pub struct Throttle(Option<Arc<tokio::sync::Mutex<Bucket>>>);

struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Throttle {
    /// `None` or 0: unlimited.
    pub fn new(bytes_per_sec: Option<u64>) -> Throttle {
        match bytes_per_sec {
            Some(rate) if rate > 0 => {
                let rate = rate as f64;
                // A tenth of a second of burst keeps the link busy between pieces without
                // letting a queue of pieces overshoot the cap.
                let burst = (rate / 10.0).max(PIECE as f64);
                Throttle(Some(Arc::new(tokio::sync::Mutex::new(Bucket {
                    rate,
                    burst,
                    tokens: burst,
                    last: Instant::now(),
                }))))
            }
            _ => Throttle(None),
        }
    }

    /// Waits until `n` bytes may be sent. Waiters are served in order (tokio's mutex is fair),
    /// so the cap is shared without starving any target.
    pub async fn acquire(&self, n: u64) {
        let Some(bucket) = &self.0 else { return };
        let mut b = bucket.lock().await;
        let now = Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * b.rate).min(b.burst);
        b.last = now;
        b.tokens -= n as f64;
        if b.tokens < 0.0 {
            let wait = Duration::from_secs_f64(-b.tokens / b.rate);
            // Holding the lock while waiting is the point: the next sender queues behind us.
            tokio::time::sleep(wait).await;
        }
    }
}

/// Bytes sent and failures of one target, read once a second for its status line.
#[derive(Clone, Default)]
pub struct Meter(Arc<MeterInner>);

#[derive(Default)]
struct MeterInner {
    bytes: AtomicU64,
    failing: AtomicU32,
    last_error: Mutex<Option<String>>,
}

impl Meter {
    pub fn new() -> Meter {
        Meter::default()
    }

    pub fn add(&self, n: u64) {
        self.0.bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub fn total_bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }

    pub fn succeeded(&self) {
        self.0.failing.store(0, Ordering::Relaxed);
        *self.0.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Returns the number of consecutive failures, this one included.
    pub fn failed(&self, error: &str) -> u32 {
        *self.0.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_owned());
        self.0.failing.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn failing(&self) -> (u32, Option<String>) {
        let err = self
            .0
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        (self.0.failing.load(Ordering::Relaxed), err)
    }
}

/// What a target uses to send body bytes: the shared cap and its own meter.
#[derive(Clone, Default)]
pub struct Pacer {
    throttle: Throttle,
    meter: Meter,
}

impl Pacer {
    pub fn new(throttle: Throttle, meter: Meter) -> Pacer {
        Pacer { throttle, meter }
    }

    /// Unlimited and unmetered, for tools and tests that drive a target directly.
    pub fn unlimited() -> Pacer {
        Pacer::default()
    }

    /// Call before sending `n` body bytes.
    pub async fn take(&self, n: u64) {
        self.throttle.acquire(n).await;
        self.meter.add(n);
    }

    /// `data` as a stream of paced pieces, for an HTTP body (set Content-Length yourself: a
    /// streamed body is otherwise sent chunked).
    pub fn body(
        &self,
        data: Bytes,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        let pacer = self.clone();
        futures::stream::unfold((data, pacer), |(mut rest, pacer)| async move {
            if rest.is_empty() {
                return None;
            }
            let piece = rest.split_to(rest.len().min(PIECE));
            pacer.take(piece.len() as u64).await;
            Some((Ok(piece), (rest, pacer)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn cap_holds_the_rate() {
        let t = Throttle::new(Some(1_000_000));
        let start = tokio::time::Instant::now();
        for _ in 0..40 {
            t.acquire(PIECE as u64).await;
        }
        // 40 × 64 KiB = 2.6 MB at 1 MB/s, less the initial 100 kB burst.
        let took = start.elapsed().as_secs_f64();
        assert!((2.4..2.7).contains(&took), "took {took}");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let t = Throttle::new(None);
        let start = tokio::time::Instant::now();
        t.acquire(u64::MAX / 2).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test]
    async fn body_is_the_data_in_pieces_and_metered() {
        let meter = Meter::new();
        let pacer = Pacer::new(Throttle::new(None), meter.clone());
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let pieces: Vec<Bytes> = pacer
            .body(Bytes::from(data.clone()))
            .map(|p| p.unwrap())
            .collect()
            .await;
        assert!(pieces.iter().all(|p| p.len() <= PIECE));
        assert_eq!(pieces.concat(), data);
        assert_eq!(meter.total_bytes(), 200_000);
    }
}
