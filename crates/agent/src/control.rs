//! The control API: what the desktop UI (and any remote UI, or a browser in a test) reads to
//! show the photographer what the agent is doing. HTTP + Server-Sent Events on 127.0.0.1 by
//! default (`docs/decisions/0011-agent-control-api.md`).
//!
//! - `GET /api/status`: a JSON snapshot to render at a glance: the last status of every
//!   camera and target (a small cache fed by the agent's event broadcast), the journal's
//!   counts, and the most recent shots with their stage, latency and error, read from the
//!   journal so the list is right after a restart.
//! - `GET /api/events`: every [`AgentEvent`] as an SSE event named `camera`, `shot` or
//!   `target` with the event as JSON data. The stream opens with a `ready` event; a client
//!   that falls so far behind that events were dropped gets a `resync` event instead of a
//!   silent gap. On `ready` and on `resync` a UI (re)fetches `/api/status`.
//!
//! Every request needs the agent's token, as `Authorization: Bearer TOKEN` or, for
//! `EventSource` (which cannot set headers), `?token=TOKEN`. Requests whose `Host` is not the
//! address the API is bound to (or `localhost`) are refused before the token is looked at:
//! that is the defence against DNS rebinding, where a web page the photographer opens makes
//! its own domain resolve to 127.0.0.1.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::events::{AgentEvent, CameraStatus, Stage, TargetStatus};
use crate::journal::{Journal, JournalError, ShotState, ShotSummary, UploadCounts};
use crate::upload::naming::Secret;

/// Where the API listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7380);
/// How many of the newest shots `/api/status` lists.
pub const RECENT_SHOTS: usize = 50;
/// The token file's name in the agent's data folder.
pub const TOKEN_FILE: &str = "control.token";
/// SSE comments sent while nothing happens, so proxies and browsers keep the stream open and
/// a dead connection is noticed.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A token given in the config must be at least this long.
const MIN_TOKEN_LEN: usize = 16;

/// `[control]` in the agent's config file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// Address and port to listen on [default: 127.0.0.1:7380]. Anything but loopback makes
    /// the API reachable from the network (still behind the token).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// A fixed token [default: a new random one at every start]; never serialised.
    #[serde(default, skip_serializing)]
    pub token: Option<Secret>,
    /// Host names, besides the bound address and `localhost`, that requests may be addressed
    /// to (e.g. `studio-laptop.local` for a remote UI).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            listen: DEFAULT_LISTEN,
            token: None,
            allowed_hosts: Vec::new(),
        }
    }
}

/// What a started control API is reachable at.
#[derive(Debug, Clone)]
pub struct ControlInfo {
    /// The address actually bound (the port is known even when 0 was asked for).
    pub addr: SocketAddr,
    /// `http://ADDR`, the base of every endpoint.
    pub url: String,
    /// The 0600 file holding the token.
    pub token_file: PathBuf,
    /// The token itself, for an in-process UI; `Debug` shows `***`.
    pub token: Secret,
}

/// A fresh random token: 32 bytes from the OS's generator, base64url without padding (safe
/// in a header and in a query string as it is).
pub fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token from the config must be long enough to resist guessing and fit in a header and a
/// query string unescaped.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "the control token must be at least {MIN_TOKEN_LEN} characters"
        ));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    {
        return Err("the control token may hold only letters, digits and - _ . ~".into());
    }
    Ok(())
}

/// Writes `token` to `{dir}/control.token`, readable by the owner only (0600 on Unix), by
/// way of a temporary file and a rename, so a reader never sees half a token and an older
/// file with looser permissions is replaced, not rewritten in place.
pub fn write_token_file(dir: &Path, token: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let path = dir.join(TOKEN_FILE);
    let tmp = dir.join(format!(".{TOKEN_FILE}.tmp"));
    if let Err(e) = std::fs::remove_file(&tmp) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(e);
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(token.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The last status of every camera and target, as the broadcast last told it.
#[derive(Default)]
struct Live {
    cameras: BTreeMap<String, CameraStatus>,
    targets: BTreeMap<String, TargetStatus>,
}

/// What the handlers share. Build one with [`ControlState::new`] and serve [`router`].
pub struct ControlState {
    journal: Journal,
    events: broadcast::Sender<AgentEvent>,
    token: Secret,
    live: Arc<Mutex<Live>>,
    cancel: CancellationToken,
    keep_alive: Duration,
    started_at: String,
}

impl ControlState {
    /// Subscribes to `events` at once (so nothing sent from now on is missed by the cache)
    /// and keeps the cache until `cancel`. Needs a Tokio runtime.
    pub fn new(
        journal: Journal,
        events: broadcast::Sender<AgentEvent>,
        token: Secret,
        cancel: CancellationToken,
    ) -> ControlState {
        let live = Arc::new(Mutex::new(Live::default()));
        tokio::spawn(feed(events.subscribe(), live.clone(), cancel.clone()));
        ControlState {
            journal,
            events,
            token,
            live,
            cancel,
            keep_alive: KEEP_ALIVE,
            started_at: crate::time_fmt::now_rfc3339(),
        }
    }

    /// Changes the SSE keep-alive interval (tests use a short one).
    pub fn keep_alive(mut self, every: Duration) -> ControlState {
        self.keep_alive = every;
        self
    }
}

/// Keeps the camera and target cache up to date from the broadcast.
async fn feed(
    mut rx: broadcast::Receiver<AgentEvent>,
    live: Arc<Mutex<Live>>,
    cancel: CancellationToken,
) {
    loop {
        let ev = tokio::select! {
            _ = cancel.cancelled() => return,
            ev = rx.recv() => ev,
        };
        match ev {
            Ok(AgentEvent::Camera(c)) => {
                lock(&live).cameras.insert(c.source.clone(), c);
            }
            Ok(AgentEvent::Target(t)) => {
                lock(&live).targets.insert(t.target.clone(), t);
            }
            Ok(AgentEvent::Shot(_)) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // Target statuses come again within a second; a camera's next change fixes it.
                tracing::warn!(missed = n, "control API status cache fell behind");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn lock(live: &Mutex<Live>) -> std::sync::MutexGuard<'_, Live> {
    live.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which `Host` headers are addressed to us.
struct HostPolicy {
    port: u16,
    names: Vec<String>,
    ips: Vec<IpAddr>,
    /// Bound to every interface: any address literal is ours (only names can be rebound).
    any_ip: bool,
}

impl HostPolicy {
    fn new(bound: SocketAddr, extra: &[String]) -> HostPolicy {
        let mut names = vec!["localhost".to_owned()];
        names.extend(
            extra
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()),
        );
        let mut ips = vec![bound.ip()];
        if bound.ip().is_loopback() {
            ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
            ips.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
        }
        HostPolicy {
            port: bound.port(),
            names,
            ips,
            any_ip: bound.ip().is_unspecified(),
        }
    }

    fn allows(&self, host: &str) -> bool {
        let (name, port) = if let Some(rest) = host.strip_prefix('[') {
            let Some((inside, after)) = rest.split_once(']') else {
                return false;
            };
            match after {
                "" => (inside, None),
                p => match p.strip_prefix(':') {
                    Some(p) => (inside, Some(p)),
                    None => return false,
                },
            }
        } else {
            match host.split_once(':') {
                Some((_, p)) if p.contains(':') => return false,
                Some((n, p)) => (n, Some(p)),
                None => (host, None),
            }
        };
        if let Some(p) = port {
            if p.parse::<u16>().ok() != Some(self.port) {
                return false;
            }
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = name.parse::<IpAddr>() {
            return self.any_ip || self.ips.contains(&ip);
        }
        self.names.contains(&name)
    }
}

struct Shared {
    state: ControlState,
    hosts: HostPolicy,
}

/// The API's routes, guarded by the Host check and the token. `bound` is the address the
/// listener is bound to; `allowed_hosts` adds host names requests may be addressed to.
pub fn router(state: ControlState, bound: SocketAddr, allowed_hosts: &[String]) -> Router {
    let shared = Arc::new(Shared {
        state,
        hosts: HostPolicy::new(bound, allowed_hosts),
    });
    Router::new()
        .route("/api/status", get(status))
        .route("/api/events", get(events))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Serves `app` on `listener` until `cancel`; open event streams end then too.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, cancel: CancellationToken) {
    let shutdown = async move { cancel.cancelled().await };
    if let Err(e) = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    {
        tracing::error!(error = %e, "control API stopped");
    }
}

/// A JSON error: `{"error": "code", "message": "what to do"}`.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> ApiError {
        tracing::error!(error = %e, "control API: journal unavailable");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "journal",
            format!("cannot read the journal: {e}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hotshoe-agent\""),
            );
        }
        res
    }
}

/// Equal without an early exit, so the time taken says nothing about how much of a guess
/// was right.
fn same_token(given: &[u8], token: &[u8]) -> bool {
    if given.len() != token.len() {
        return false;
    }
    given
        .iter()
        .zip(token)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// The token a request carries: the bearer header first, else `?token=`.
fn token_of(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, rest) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_owned());
    }
    let q = Query::<HashMap<String, String>>::try_from_uri(req.uri()).ok()?;
    q.0.get("token").cloned()
}

/// The Host check, then the token. Logs name the path and the peer, never the query (it may
/// hold the token) nor the token.
async fn guard(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    // Before the token: a page on a rebound name learns nothing, not even whether a guess
    // was right.
    if !host.as_deref().is_some_and(|h| s.hosts.allows(h)) {
        tracing::warn!(%peer, path = req.uri().path(), host = ?host, "control API request for another host refused");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "requests must be addressed to the agent's own address or localhost (see allowed_hosts in [control])",
        )
        .into_response();
    }
    let why = match token_of(&req) {
        None => "no token",
        Some(t) if !same_token(t.as_bytes(), s.state.token.expose().as_bytes()) => "wrong token",
        Some(_) => return next.run(req).await,
    };
    tracing::warn!(%peer, path = req.uri().path(), why, "control API request refused");
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!(
            "{why}: send the agent's token as `Authorization: Bearer TOKEN` (or `?token=TOKEN` for \
             EventSource); `hotshoe run` printed the file that holds it"
        ),
    )
    .into_response()
}

/// `GET /api/status`.
#[derive(Debug, Serialize)]
pub struct Status {
    pub agent: AgentInfo,
    /// The last status of every camera seen since the agent started, by source.
    pub cameras: Vec<CameraStatus>,
    /// The last status of every target, by name.
    pub targets: Vec<TargetStatus>,
    /// Shots by journal state.
    pub shots: ShotCounts,
    /// Uploads (one rendition to one target each) by state.
    pub uploads: UploadCounts,
    /// The newest shots first, at most [`RECENT_SHOTS`].
    pub recent: Vec<RecentShot>,
}

#[derive(Debug, Serialize)]
pub struct AgentInfo {
    pub version: &'static str,
    pub started_at: String,
}

#[derive(Debug, Serialize)]
pub struct ShotCounts {
    pub total: u64,
    pub detected: u64,
    pub downloaded: u64,
    pub processed: u64,
    pub published: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// One line of the recent-shots list.
#[derive(Debug, Serialize)]
pub struct RecentShot {
    pub id: i64,
    pub source: String,
    pub filename: String,
    /// The journal's state.
    pub state: ShotState,
    /// As the event stream names stages: `published` once guests can see the web rendition
    /// (originals may still follow), `uploading` / `retrying` while uploads move or fail.
    pub stage: Stage,
    pub detected_at: String,
    pub captured_at: Option<String>,
    pub published_at: Option<String>,
    /// Shutter to gallery.
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
    pub uploads: UploadCounts,
}

impl From<ShotSummary> for RecentShot {
    fn from(s: ShotSummary) -> RecentShot {
        let stage = match s.state {
            ShotState::Failed => Stage::Failed,
            ShotState::Skipped => Stage::Skipped,
            _ if s.published_at.is_some() => Stage::Published,
            ShotState::Published => Stage::Published,
            ShotState::Detected => Stage::Detected,
            ShotState::Downloaded => Stage::Downloaded,
            ShotState::Processed if s.uploads.uploading > 0 => Stage::Uploading,
            ShotState::Processed if s.uploads.failed > 0 => Stage::Retrying,
            ShotState::Processed => Stage::Processed,
        };
        let latency_ms = s.published_at.as_deref().and_then(|p| {
            crate::time_fmt::shutter_to(
                &s.detected_at,
                s.captured_at.as_deref(),
                crate::time_fmt::parse(p)?,
            )
        });
        RecentShot {
            id: s.id,
            source: s.source,
            filename: s.filename,
            state: s.state,
            stage,
            detected_at: s.detected_at,
            captured_at: s.captured_at,
            published_at: s.published_at,
            latency_ms,
            error: s.error,
            uploads: s.uploads,
        }
    }
}

async fn status(State(s): State<Arc<Shared>>) -> Result<Json<Status>, ApiError> {
    let st = &s.state;
    let c = st.journal.counts().await?;
    let uploads = st.journal.upload_counts().await?;
    let recent = st.journal.recent_shots(RECENT_SHOTS).await?;
    let (cameras, targets) = {
        let live = lock(&st.live);
        (
            live.cameras.values().cloned().collect(),
            live.targets.values().cloned().collect(),
        )
    };
    Ok(Json(Status {
        agent: AgentInfo {
            version: env!("CARGO_PKG_VERSION"),
            started_at: st.started_at.clone(),
        },
        cameras,
        targets,
        shots: ShotCounts {
            total: c.detected + c.downloaded + c.processed + c.published + c.failed + c.skipped,
            detected: c.detected,
            downloaded: c.downloaded,
            processed: c.processed,
            published: c.published,
            failed: c.failed,
            skipped: c.skipped,
        },
        uploads,
        recent: recent.into_iter().map(RecentShot::from).collect(),
    }))
}

fn sse_event(ev: &AgentEvent) -> Event {
    let name = match ev {
        AgentEvent::Camera(_) => "camera",
        AgentEvent::Shot(_) => "shot",
        AgentEvent::Target(_) => "target",
    };
    Event::default()
        .event(name)
        .data(serde_json::to_string(ev).unwrap_or_else(|_| "{}".into()))
}

/// `GET /api/events`.
async fn events(
    State(s): State<Arc<Shared>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribed before the first byte goes out: whatever happens after `ready` is in the
    // stream, so `ready` then `/api/status` misses nothing.
    let rx = s.state.events.subscribe();
    let ready = Event::default()
        .event("ready")
        .data(serde_json::json!({ "version": env!("CARGO_PKG_VERSION") }).to_string());
    let live = futures::stream::unfold(rx, |mut rx| async move {
        let ev = match rx.recv().await {
            Ok(ev) => sse_event(&ev),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::info!(
                    missed = n,
                    "control API event stream fell behind; telling the client to resync"
                );
                Event::default()
                    .event("resync")
                    .data(serde_json::json!({ "missed": n }).to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), rx))
    });
    let cancel = s.state.cancel.clone();
    let stream = futures::stream::once(async move { Ok::<Event, Infallible>(ready) })
        .chain(live)
        .take_until(async move { cancel.cancelled().await });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(s.state.keep_alive))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_addressed_to_us() {
        let p = HostPolicy::new("127.0.0.1:7380".parse().unwrap(), &["Studio.local".into()]);
        for ok in [
            "127.0.0.1:7380",
            "localhost:7380",
            "LOCALHOST:7380",
            "localhost.:7380",
            "[::1]:7380",
            "localhost",
            "studio.local:7380",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:7380",
            "localhost.evil.example:7380",
            "127.0.0.1:7381",
            "127.0.0.2:7380",
            "192.168.1.5:7380",
            "[::1]x",
            "::1:7380",
            "127.0.0.1:",
            "",
        ] {
            assert!(!p.allows(bad), "{bad}");
        }
        let any = HostPolicy::new("0.0.0.0:7380".parse().unwrap(), &[]);
        assert!(any.allows("192.168.1.5:7380"));
        assert!(!any.allows("rebound.example:7380"));
    }

    #[test]
    fn tokens() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_token());
        check_token(&a).unwrap();
        assert!(check_token("short").is_err());
        assert!(check_token("has space in it, long enough").is_err());
        assert!(same_token(a.as_bytes(), a.as_bytes()));
        assert!(!same_token(b"abc", b"abd"));
        assert!(!same_token(b"abc", b"abcd"));
    }
}
