//! Shared by the target tests: starting real peers on 127.0.0.1 (and stopping them), skipping
//! when a peer tool is missing (failing instead under `CI=true`), jobs and a resume store that
//! records what a target remembers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agent::journal::UploadJob;
use agent::upload::ResumeStore;
use async_trait::async_trait;
use tokio::sync::Notify;

/// A peer process, killed (and reaped) when the test ends, whatever way it ends.
pub struct Peer {
    child: Child,
    pub port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `true` when the test should go on; prints why it skips otherwise. Under `CI=true` a missing
/// peer is a failure: CI must never pass by skipping.
pub fn have(tool: &Path, what: &str) -> bool {
    tool.exists() || missing(&format!("{what} (looked for {})", tool.display()))
}

/// Says a peer is missing: skips (returns `false`) locally, fails under `CI=true`.
pub fn missing(what: &str) -> bool {
    let msg = format!("{what} not found: run scripts/setup.sh --test");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

/// The test peers' Python venv (scripts/setup.sh --test makes it).
pub fn venv() -> PathBuf {
    let cache = std::env::var_os("HOTSHOE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/hotshoe")
        });
    cache.join("album-venv")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cmd` and waits until something accepts TCP connections on 127.0.0.1:`port`.
pub fn spawn_listening(mut cmd: Command, port: u16, what: &str) -> Peer {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut peer = Peer { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return peer;
        }
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!("{what} exited at start: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a peer that prints `listening PORT` on stdout once it is ready (tests/tus-peer).
pub fn spawn_announcing(mut cmd: Command, what: &str) -> Peer {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok());
    let peer = Peer {
        child,
        port: port.unwrap_or(0),
    };
    assert!(port.is_some(), "{what} said {line:?} instead of its port");
    peer
}

/// A file of `len` bytes that differ from any other test's (no run of zeros a server could
/// compress or deduplicate).
pub fn write_data(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

pub fn job(path: &Path, kind: &str, filename: &str, data: &[u8]) -> UploadJob {
    UploadJob {
        shot_id: 1,
        kind: kind.into(),
        target: "t".into(),
        upload_url: None,
        attempts: 0,
        path: path.to_owned(),
        bytes: data.len() as u64,
        filename: filename.into(),
        content_hash: blake3::hash(data).to_hex().to_string(),
        captured_at: Some("2026-05-02T10:11:12Z".into()),
        detected_at: "2026-05-02T10:11:13.000Z".into(),
    }
}

/// Records every state a target remembers, and wakes `changed` each time.
#[derive(Clone, Default)]
pub struct Recorder {
    pub states: Arc<Mutex<Vec<String>>>,
    pub changed: Arc<Notify>,
}

impl Recorder {
    pub fn all(&self) -> Vec<String> {
        self.states.lock().unwrap().clone()
    }

    pub fn last(&self) -> Option<String> {
        self.states.lock().unwrap().last().cloned()
    }
}

#[async_trait]
impl ResumeStore for Recorder {
    async fn remember(&self, state: &str) {
        self.states.lock().unwrap().push(state.to_owned());
        self.changed.notify_one();
    }
}
