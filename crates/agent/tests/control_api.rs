//! The control API over real HTTP on 127.0.0.1: a real agent (hot folder in, folder target
//! out) for the status snapshot and the event stream, and a bare API on a small broadcast
//! channel for lagging clients, tokens and Host checks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use agent::control::{self, ControlConfig, ControlState};
use agent::upload::folder::FolderConfig;
use agent::upload::naming::Secret;
use agent::{AgentEvent, ShotEvent, Stage};
use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

/// A minimal SSE reader: `(event name, data)` per event, comments (keep-alives) skipped.
struct SseClient {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl SseClient {
    async fn open(url: &str) -> SseClient {
        let res = reqwest::get(url).await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        SseClient {
            body: Box::pin(res.bytes_stream()),
            buf: String::new(),
        }
    }

    async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..i + 2).collect();
                let (mut name, mut data) = (String::from("message"), String::new());
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim_start().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    return (name, data);
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.body.next())
                .await
                .expect("no event in time")
                .expect("the event stream ended")
                .unwrap();
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn agent_config(root: &Path) -> agent::AgentConfig {
    let out = root.join("published");
    std::fs::create_dir_all(&out).unwrap();
    agent::AgentConfig {
        data_dir: root.join("data"),
        library_dir: root.join("library"),
        recipe: imaging::Recipe::web(),
        targets: vec![agent::TargetConfig {
            name: "nas".into(),
            renditions: vec![agent::Rendition::Web],
            concurrency: 1,
            kind: agent::TargetKind::Folder(FolderConfig {
                path: out,
                template: "{hash}-{kind}.{ext}".into(),
            }),
        }],
        import_existing: false,
        bandwidth_limit: None,
    }
}

fn loopback_any_port() -> ControlConfig {
    ControlConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ControlConfig::default()
    }
}

/// A shot as a tethering tool delivers it: written beside the folder, then renamed in.
fn take_shot(hot: &Path, seq: u32) -> String {
    let spec = camsim::scene::ShotSpec {
        width: 1800,
        height: 1200,
        captured_at: time::OffsetDateTime::now_utc(),
        quality: 85,
        ..camsim::scene::ShotSpec::default()
    };
    let jpeg = camsim::scene::render_shot(seq, &spec);
    let name = format!("IMG_{seq:04}.JPG");
    let tmp = hot.parent().unwrap().join(format!(".{name}"));
    std::fs::write(&tmp, jpeg).unwrap();
    std::fs::rename(&tmp, hot.join(&name)).unwrap();
    name
}

async fn get_status(info: &control::ControlInfo) -> Value {
    let res = reqwest::Client::new()
        .get(format!("{}/api/status", info.url))
        .bearer_auth(info.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A shot through a real agent: the stream shows its stages in order, the snapshot shows it
/// published with its latency, and a restarted agent still lists it (from the journal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shot_through_a_real_agent_in_events_and_status() {
    let tmp = tempfile::tempdir().unwrap();
    let hot = tmp.path().join("hot");
    std::fs::create_dir(&hot).unwrap();
    let cfg = agent_config(tmp.path());

    let mut agent = agent::Agent::start(cfg.clone()).await.unwrap();
    agent.add_folder(agent::folder::FolderSource {
        path: hot.clone(),
        import_existing: true,
    });
    let info = agent.serve_control(&loopback_any_port()).await.unwrap();
    assert!(info.addr.ip().is_loopback());
    assert_eq!(info.token_file, cfg.data_dir.join("control.token"));
    assert_eq!(
        std::fs::read_to_string(&info.token_file).unwrap(),
        info.token.expose()
    );
    #[cfg(unix)]
    assert_eq!(mode(&info.token_file), 0o600);

    let mut sse = SseClient::open(&format!(
        "{}/api/events?token={}",
        info.url,
        info.token.expose()
    ))
    .await;
    assert_eq!(sse.next().await.0, "ready");

    let name = take_shot(&hot, 1);
    let mut stages = Vec::new();
    let mut saw_target = false;
    while stages.last() != Some(&"published".to_owned()) {
        let (event, data) = sse.next().await;
        let v: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(v["type"], event, "{data}");
        match event.as_str() {
            "shot" => {
                assert_eq!(v["filename"], name.as_str(), "{data}");
                stages.push(v["stage"].as_str().unwrap().to_owned());
            }
            "target" => saw_target |= v["target"] == "nas",
            "camera" => {}
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    assert_eq!(
        stages,
        [
            "detected",
            "downloaded",
            "processed",
            "uploading",
            "published"
        ]
    );
    // Target status comes once a second while anything moved: wait for the one after the
    // upload so the cache has it.
    while !saw_target {
        let (event, data) = sse.next().await;
        if event == "target" {
            saw_target = serde_json::from_str::<Value>(&data).unwrap()["target"] == "nas";
        }
    }

    let status = get_status(&info).await;
    assert_eq!(status["shots"]["published"], 1, "{status:#}");
    assert_eq!(status["shots"]["total"], 1, "{status:#}");
    assert_eq!(status["uploads"]["uploaded"], 1, "{status:#}");
    assert_eq!(status["uploads"]["pending"], 0, "{status:#}");
    let targets = status["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{status:#}");
    assert_eq!(targets[0]["target"], "nas");
    assert_eq!(targets[0]["failing"], 0);
    let shot = &status["recent"][0];
    assert_eq!(shot["filename"], name.as_str(), "{status:#}");
    assert_eq!(shot["stage"], "published", "{status:#}");
    assert_eq!(shot["state"], "published", "{status:#}");
    assert!(shot["error"].is_null(), "{status:#}");
    let latency = shot["latency_ms"].as_u64().expect("a latency");
    assert!(latency < 60_000, "{latency}");
    let first_token = info.token.expose().to_owned();
    drop(sse);
    agent.shutdown().await;

    // A restart: nothing in memory, the journal answers; a new token replaces the old one.
    let mut agent = agent::Agent::start(cfg.clone()).await.unwrap();
    let info = agent.serve_control(&loopback_any_port()).await.unwrap();
    assert_ne!(info.token.expose(), first_token);
    let status = get_status(&info).await;
    let shot = &status["recent"][0];
    assert_eq!(shot["filename"], name.as_str(), "{status:#}");
    assert_eq!(shot["stage"], "published", "{status:#}");
    assert_eq!(shot["latency_ms"].as_u64(), Some(latency), "{status:#}");
    let old = reqwest::Client::new()
        .get(format!("{}/api/status", info.url))
        .bearer_auth(&first_token)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    agent.shutdown().await;
}

/// An API on its own broadcast channel (small, so a client is easily left behind).
struct Bare {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    token: String,
    events: broadcast::Sender<AgentEvent>,
    cancel: CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

async fn bare(capacity: usize) -> Bare {
    let dir = tempfile::tempdir().unwrap();
    let journal = agent::Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    let (events, _) = broadcast::channel(capacity);
    let token = control::new_token();
    let cancel = CancellationToken::new();
    let state = ControlState::new(
        journal,
        events.clone(),
        Secret::new(token.clone()),
        cancel.clone(),
    )
    .keep_alive(Duration::from_millis(200));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = control::router(state, addr, &[]);
    let server = tokio::spawn(control::serve(listener, app, cancel.clone()));
    Bare {
        _dir: dir,
        addr,
        token,
        events,
        cancel,
        server,
    }
}

fn shot(id: i64) -> AgentEvent {
    AgentEvent::Shot(ShotEvent {
        shot_id: id,
        filename: format!("IMG_{id:04}.JPG"),
        stage: Stage::Detected,
        latency_ms: None,
        error: None,
    })
}

/// A client left behind by more events than the channel holds is told to resync, then gets
/// what is still there, in order; keep-alive comments flow while nothing happens.
#[tokio::test]
async fn a_lagging_client_gets_resync() {
    let api = bare(8).await;
    let mut sse = SseClient::open(&format!(
        "http://{}/api/events?token={}",
        api.addr, api.token
    ))
    .await;
    assert_eq!(sse.next().await.0, "ready");
    // Twenty events in a row, sent without yielding: on this single-threaded runtime the
    // stream cannot take any of them before the channel overflows.
    for id in 0..20 {
        api.events.send(shot(id)).unwrap();
    }
    let (event, data) = sse.next().await;
    assert_eq!(event, "resync", "{data}");
    let missed = serde_json::from_str::<Value>(&data).unwrap()["missed"]
        .as_u64()
        .unwrap();
    assert_eq!(missed, 12);
    for id in 12..20 {
        let (event, data) = sse.next().await;
        assert_eq!(event, "shot");
        assert_eq!(serde_json::from_str::<Value>(&data).unwrap()["shot_id"], id);
    }
    // Nothing more is sent; the stream stays open with comments only, and new events follow.
    let keep_alive = tokio::time::timeout(Duration::from_millis(700), sse.next()).await;
    assert!(keep_alive.is_err(), "an event came from nowhere");
    assert!(
        sse.buf.is_empty() || sse.buf.starts_with(':'),
        "{:?}",
        sse.buf
    );
    api.events.send(shot(99)).unwrap();
    let (event, data) = sse.next().await;
    assert_eq!(event, "shot");
    assert_eq!(serde_json::from_str::<Value>(&data).unwrap()["shot_id"], 99);

    // Shutting down ends open streams, so the server stops.
    api.cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), api.server)
        .await
        .expect("the server kept running with a stream open")
        .unwrap();
}

#[tokio::test]
async fn keep_alive_comments_while_idle() {
    let api = bare(8).await;
    let res = reqwest::get(format!(
        "http://{}/api/events?token={}",
        api.addr, api.token
    ))
    .await
    .unwrap();
    let mut body = res.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while text.matches("\n:").count() + usize::from(text.starts_with(':')) < 2 {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("no keep-alive comments")
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.contains("ready"), "{text:?}");
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused() {
    let api = bare(8).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/status", api.addr);
    let wrong = format!("{}x", api.token);
    for req in [
        client.get(&url),
        client.get(&url).bearer_auth(&wrong),
        client.get(&url).bearer_auth(""),
        client.get(&url).basic_auth("user", Some(&api.token)),
        client.get(format!("{url}?token={wrong}")),
        client.get(format!("http://{}/api/events?token=", api.addr)),
        client.get(format!("http://{}/api/nothing", api.addr)),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("token"),
            "{body}"
        );
    }
    // The right token, either way, is let in.
    let ok = client
        .get(&url)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["shots"]["total"], 0, "{body}");
    assert_eq!(body["recent"], Value::Array(vec![]));
    let ok = client
        .get(format!("{url}?token={}", api.token))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let missing = client
        .get(format!("http://{}/api/nothing", api.addr))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// One raw HTTP/1.1 request with exactly the `Host` header given: (status, body).
async fn raw_get(addr: SocketAddr, host: &str, token: Option<&str>) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req =
        format!("GET /api/status HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1.to_owned();
    (code, body)
}

/// DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 sends its
/// own name as Host. Refused before the token is even looked at.
#[tokio::test]
async fn requests_for_another_host_are_forbidden() {
    let api = bare(8).await;
    let port = api.addr.port();
    let token = Some(api.token.as_str());
    for host in [
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        "evil.example".to_owned(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        format!("192.168.1.20:{port}"),
    ] {
        let (code, body) = raw_get(api.addr, &host, token).await;
        assert_eq!(code, 403, "{host}: {body}");
        assert!(body.contains("forbidden_host"), "{body}");
        let (code, _) = raw_get(api.addr, &host, None).await;
        assert_eq!(code, 403, "{host} without a token");
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (code, body) = raw_get(api.addr, &host, token).await;
        assert_eq!(code, 200, "{host}: {body}");
    }
}

/// The token file is replaced, never rewritten in place, so an older file with loose
/// permissions does not keep them.
#[cfg(unix)]
#[test]
fn token_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let old: PathBuf = dir.path().join(control::TOKEN_FILE);
    std::fs::write(&old, "old").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A temporary file a crash left behind is no obstacle either.
    std::fs::write(dir.path().join(".control.token.tmp"), "junk").unwrap();
    let token = control::new_token();
    let path = control::write_token_file(dir.path(), &token).unwrap();
    assert_eq!(path, old);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), token);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn a_token_from_the_config_is_checked_and_used() {
    let tmp = tempfile::tempdir().unwrap();
    let mut agent = agent::Agent::start(agent_config(tmp.path())).await.unwrap();
    let short = ControlConfig {
        token: Some(Secret::new("short")),
        ..loopback_any_port()
    };
    let err = agent.serve_control(&short).await.unwrap_err();
    assert!(err.to_string().contains("at least"), "{err}");
    let fixed = "a-fixed-token-from-the-config-file";
    let info = agent
        .serve_control(&ControlConfig {
            token: Some(Secret::new(fixed)),
            ..loopback_any_port()
        })
        .await
        .unwrap();
    assert_eq!(info.token.expose(), fixed);
    assert!(!format!("{info:?}").contains(fixed));
    assert_eq!(std::fs::read_to_string(&info.token_file).unwrap(), fixed);
    let status = get_status(&info).await;
    assert_eq!(status["shots"]["total"], 0);
    agent.shutdown().await;
}
