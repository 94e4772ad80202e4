//! Real processes for the publishing fault tests: `hotshoe album serve` and `hotshoe run` as
//! the photographer would start them, shots written into a hot folder the way a tethering tool
//! writes them, and the album's own API to check what guests would get.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hotshoe"))
}

/// A port free right now on loopback (the server is restarted on the same one).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sends SIGTERM (a clean stop) and waits up to `limit` for the process to exit.
pub fn terminate(child: &mut Child, limit: Duration) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("process {} ignored SIGTERM for {limit:?}", child.id());
}

/// `kill -9`: no chance to clean up, as in a crash or a force quit.
pub fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// An album server process with its data folder.
pub struct AlbumProc {
    pub child: Child,
    pub data: PathBuf,
    pub port: u16,
    pub base: String,
    pub admin_token: String,
}

/// What `hotshoe album create --json` prints.
#[derive(Debug, Clone)]
pub struct AlbumInfo {
    pub id: String,
    pub gallery_url: String,
    pub setup_link: String,
}

impl AlbumProc {
    /// Starts a server on `port`; the admin token is read from its first start's output, or
    /// passed back in for a restart.
    pub fn start(data: &Path, port: u16, admin_token: Option<&str>) -> AlbumProc {
        std::fs::create_dir_all(data).unwrap();
        let out_path = data.join(format!("serve-{}.out", Instant::now().elapsed().as_nanos()));
        let out = std::fs::File::create(&out_path).unwrap();
        let child = Command::new(bin())
            .args(["album", "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(data)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("hotshoe album serve starts");
        let start = Instant::now();
        let token = loop {
            let text = std::fs::read_to_string(&out_path).unwrap_or_default();
            if let Some(t) = admin_token {
                if text.contains("Admin:") {
                    break t.to_owned();
                }
            } else if let Some(line) = text.lines().find(|l| l.contains("Admin token")) {
                break line.rsplit(' ').next().unwrap().trim().to_owned();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "album server did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        AlbumProc {
            child,
            data: data.to_path_buf(),
            port,
            base: format!("http://127.0.0.1:{port}"),
            admin_token: token,
        }
    }

    pub fn create_album(&self, name: &str) -> AlbumInfo {
        let out = Command::new(bin())
            .args(["album", "create", name, "--json", "--data"])
            .arg(&self.data)
            .arg("--public-url")
            .arg(&self.base)
            .output()
            .expect("hotshoe album create runs");
        assert!(out.status.success(), "album create: {out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("album create --json");
        AlbumInfo {
            id: v["id"].as_str().unwrap().to_owned(),
            gallery_url: v["gallery_url"].as_str().unwrap().to_owned(),
            setup_link: v["setup_link"].as_str().unwrap().to_owned(),
        }
    }

    /// Every photo row of the album (all renditions, all states), as the admin API lists it.
    pub fn photos(&self, album_id: &str) -> Vec<Value> {
        block_on(async {
            let resp = reqwest::Client::new()
                .get(format!("{}/api/albums/{album_id}/photos", self.base))
                .bearer_auth(&self.admin_token)
                .send()
                .await
                .expect("album server answers");
            assert!(resp.status().is_success(), "photos: {}", resp.status());
            resp.json().await.expect("json list")
        })
    }

    pub fn get_bytes(&self, path: &str) -> Vec<u8> {
        block_on(async {
            let resp = reqwest::Client::new()
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.admin_token)
                .send()
                .await
                .expect("album server answers");
            assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
            resp.bytes().await.unwrap().to_vec()
        })
    }
}

/// The tests drive processes from plain threads; HTTP calls get a runtime of their own.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

impl Drop for AlbumProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `hotshoe run` process watching a hot folder, publishing to one album.
pub struct AgentProc {
    pub child: Child,
}

pub struct AgentDirs {
    pub data: PathBuf,
    pub library: PathBuf,
    pub hot: PathBuf,
    pub log: PathBuf,
}

impl AgentDirs {
    pub fn new(root: &Path) -> AgentDirs {
        let d = AgentDirs {
            data: root.join("agent"),
            library: root.join("library"),
            hot: root.join("hot"),
            log: root.join("agent.out"),
        };
        std::fs::create_dir_all(&d.hot).unwrap();
        d
    }

    /// The rendition the agent made for the original with this hash.
    pub fn web_rendition(&self, hash: &str) -> PathBuf {
        self.data
            .join("renditions")
            .join(&hash[..2])
            .join(format!("{hash}-web.jpg"))
    }
}

impl AgentProc {
    pub fn start(dirs: &AgentDirs, setup_link: &str, extra: &[&str]) -> AgentProc {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dirs.log)
            .unwrap();
        let child = Command::new(bin())
            .arg("run")
            .arg("--no-usb")
            .arg("--setup")
            .arg(setup_link)
            .arg("--folder")
            .arg(&dirs.hot)
            .arg("--data-dir")
            .arg(&dirs.data)
            .arg("--library-dir")
            .arg(&dirs.library)
            .args(extra)
            .env("HOTSHOE_LOG", "info")
            // No user config file may leak into a test.
            .env("HOTSHOE_CONFIG", "/dev/null")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("hotshoe run starts");
        AgentProc { child }
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A shot as a tethering tool delivers it: written under a temporary dot-name and renamed, or
/// (every third one) written in place in two halves with a pause between, as a slow copy
/// would. Returns the file name and the BLAKE3 of its content.
pub fn write_shot(dir: &Path, seq: u32, size: (u32, u32)) -> (String, String) {
    let spec = camsim::scene::ShotSpec {
        width: size.0,
        height: size.1,
        captured_at: time::OffsetDateTime::now_utc(),
        quality: 85,
        ..camsim::scene::ShotSpec::default()
    };
    let jpeg = camsim::scene::render_shot(seq, &spec);
    let name = format!("IMG_{seq:04}.JPG");
    let path = dir.join(&name);
    if seq.is_multiple_of(3) {
        use std::io::Write;
        let mut f = std::fs::File::create(&path).unwrap();
        let half = jpeg.len() / 2;
        f.write_all(&jpeg[..half]).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
        f.write_all(&jpeg[half..]).unwrap();
    } else {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, &jpeg).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    (name, blake3::hash(&jpeg).to_hex().to_string())
}

/// Web rows of an album by content hash; panics if any original appears twice.
pub fn web_photos_by_hash(photos: &[Value]) -> std::collections::HashMap<String, Value> {
    let mut out = std::collections::HashMap::new();
    for p in photos.iter().filter(|p| p["rendition"] == "web") {
        let hash = p["content_hash"].as_str().unwrap().to_owned();
        if let Some(prev) = out.insert(hash.clone(), p.clone()) {
            panic!("published twice: {prev} and {p}");
        }
    }
    out
}

/// Waits until `cond` holds, polling; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
