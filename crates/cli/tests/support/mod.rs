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
    /// The network namespace it runs in (None: the host's loopback).
    pub netns: Option<String>,
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
        AlbumProc::start_in(None, "127.0.0.1", data, port, admin_token)
    }

    /// Starts a server inside network namespace `netns` (see [`NetLab`]) listening on
    /// `host:port`; its API is then reached from a thread in that namespace.
    pub fn start_in(
        netns: Option<&str>,
        host: &str,
        data: &Path,
        port: u16,
        admin_token: Option<&str>,
    ) -> AlbumProc {
        std::fs::create_dir_all(data).unwrap();
        let out_path = data.join(format!("serve-{}.out", Instant::now().elapsed().as_nanos()));
        let out = std::fs::File::create(&out_path).unwrap();
        let mut cmd = match netns {
            Some(ns) => NetLab::command(ns, &bin()),
            None => Command::new(bin()),
        };
        let child = cmd
            .args(["album", "serve", "--listen"])
            .arg(format!("{host}:{port}"))
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
            base: format!("http://{host}:{port}"),
            admin_token: token,
            netns: netns.map(str::to_owned),
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
        in_netns(self.netns.as_deref(), || self.photos_here(album_id))
    }

    fn photos_here(&self, album_id: &str) -> Vec<Value> {
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
        in_netns(self.netns.as_deref(), || self.get_bytes_here(path))
    }

    fn get_bytes_here(&self, path: &str) -> Vec<u8> {
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
        AgentProc::start_in(None, dirs, setup_link, extra)
    }

    /// Starts `hotshoe run` inside network namespace `netns` (see [`NetLab`]); the hot
    /// folder and data folders are shared with the host through the file system.
    pub fn start_in(
        netns: Option<&str>,
        dirs: &AgentDirs,
        setup_link: &str,
        extra: &[&str],
    ) -> AgentProc {
        AgentProc::spawn(netns, dirs, Some(setup_link), extra, "info")
    }

    /// `hotshoe run` with no album (no `--setup`), logging at `log` level.
    pub fn start_without_album(dirs: &AgentDirs, extra: &[&str], log: &str) -> AgentProc {
        AgentProc::spawn(None, dirs, None, extra, log)
    }

    fn spawn(
        netns: Option<&str>,
        dirs: &AgentDirs,
        setup_link: Option<&str>,
        extra: &[&str],
        log: &str,
    ) -> AgentProc {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dirs.log)
            .unwrap();
        let mut cmd = match netns {
            Some(ns) => NetLab::command(ns, &bin()),
            None => Command::new(bin()),
        };
        cmd.arg("run").arg("--no-usb");
        if let Some(link) = setup_link {
            cmd.arg("--setup").arg(link);
        }
        let child = cmd
            .arg("--folder")
            .arg(&dirs.hot)
            .arg("--data-dir")
            .arg(&dirs.data)
            .arg("--library-dir")
            .arg(&dirs.library)
            .args(extra)
            .env("HOTSHOE_LOG", log)
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

/// Runs `f` on a thread that has entered network namespace `ns` (`ip netns` name), or on
/// a plain thread when `ns` is None. Only the calling thread changes namespace (setns(2)),
/// so sockets made inside `f` live in `ns` while the rest of the test stays on the host.
pub fn in_netns<T: Send>(ns: Option<&str>, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(ns) = ns {
                enter_netns(ns);
            }
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Moves the calling thread into network namespace `ns` for good.
pub fn enter_netns(ns: &str) {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{ns}");
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // SAFETY: setns(2) on a namespace fd we hold open; it affects only this thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
}

/// Why the network lab cannot run here, if it cannot: it needs root (namespaces, veth, tc)
/// and the `ip` and `tc` tools (Debian: iproute2).
pub fn netlab_unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces, veth and tc need root)".into());
    }
    for tool in ["ip", "tc"] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("`{tool}` is missing (apt-get install iproute2)"));
        }
    }
    None
}

/// Skips a network-lab test with a message when the lab cannot run, except under CI=true,
/// where a skipped test would hide that the suite never ran: there it fails.
pub fn require_netlab(test: &str) -> bool {
    match netlab_unavailable() {
        None => true,
        Some(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test} cannot run under CI=true: {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED {test}: {why}");
            false
        }
    }
}

/// Two network namespaces joined by a veth pair, optionally shaped with `tbf` on both
/// ends (tbf shapes what leaves a side, so both directions need one). The album side is
/// `server_ip`, the photographer's laptop `agent_ip`; nothing else is reachable from either.
/// Dropping it deletes both namespaces (and with them the veth pair): stop the processes
/// inside first — `ip netns del` does not kill them — by declaring the lab before them.
pub struct NetLab {
    pub server_ns: String,
    pub agent_ns: String,
    pub server_if: String,
    pub agent_if: String,
    pub server_ip: String,
    pub agent_ip: String,
}

impl NetLab {
    /// `rate`: a tc rate such as "10mbit", or None for an unshaped veth.
    pub fn new(rate: Option<&str>) -> NetLab {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        // Unique per process and per lab, and short: interface names stop at 15 bytes.
        let tag = format!(
            "{}x{}",
            std::process::id(),
            SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let lab = NetLab {
            server_ns: format!("hs-srv-{tag}"),
            agent_ns: format!("hs-agt-{tag}"),
            server_if: format!("hss{tag}"),
            agent_if: format!("hsa{tag}"),
            // Private addresses that exist only inside the two namespaces.
            server_ip: "10.77.0.1".into(),
            agent_ip: "10.77.0.2".into(),
        };
        // From here on Drop cleans up whatever part was made.
        let ip = |args: &[&str]| run_tool("ip", args);
        ip(&["netns", "add", &lab.server_ns]);
        ip(&["netns", "add", &lab.agent_ns]);
        ip(&[
            "link",
            "add",
            &lab.server_if,
            "netns",
            &lab.server_ns,
            "type",
            "veth",
            "peer",
            "name",
            &lab.agent_if,
            "netns",
            &lab.agent_ns,
        ]);
        for (ns, ifname, addr) in [
            (&lab.server_ns, &lab.server_if, &lab.server_ip),
            (&lab.agent_ns, &lab.agent_if, &lab.agent_ip),
        ] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                ifname,
            ]);
            ip(&["-n", ns, "link", "set", ifname, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            if let Some(rate) = rate {
                run_tool(
                    "tc",
                    &[
                        "-n", ns, "qdisc", "add", "dev", ifname, "root", "tbf", "rate", rate,
                        "burst", "32kbit", "latency", "400ms",
                    ],
                );
            }
        }
        lab
    }

    /// `ip netns exec NS PROGRAM`: `ip` execs the program, so the child's pid is the
    /// program's and killing the child kills it.
    pub fn command(ns: &str, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(program);
        c
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        for ns in [&self.server_ns, &self.agent_ns] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn run_tool(tool: &str, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
