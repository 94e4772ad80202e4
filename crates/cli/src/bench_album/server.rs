//! The album server under test, run as a child process of this same binary
//! (`hotshoe album serve`) on 127.0.0.1 with embedded defaults (SQLite and a local object
//! folder) in a temporary data folder.
//!
//! A child process rather than a server in this process: the load generators (wrk aside,
//! the thousand SSE viewers and the uploader) would otherwise share the server's tokio
//! runtime, so a viewer's wake-up and the server's fan-out would steal each other's worker
//! threads and the measurement would describe neither. As a child, the server has its own
//! runtime and its own threads, as in production; both still share the machine's cores.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What `hotshoe album serve` prints once it listens.
const READY_PREFIX: &str = "Hotshoe album server on ";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

pub struct ChildServer {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl ChildServer {
    /// Starts `hotshoe album serve` on a free loopback port and waits until it listens.
    pub async fn start(data_dir: &Path) -> Result<ChildServer> {
        let exe = std::env::current_exe().context("finding the hotshoe binary")?;
        let log = data_dir.join("server-stderr.log");
        let stderr = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(exe)
            .args(["album", "serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data_dir)
            // Embedded defaults whatever the caller's environment says.
            .env_remove("HOTSHOE_ALBUM_DATABASE")
            .env_remove("HOTSHOE_ALBUM_OBJECTS")
            .env_remove("HOTSHOE_ALBUM_PUBLIC_URL")
            .env_remove("HOTSHOE_ALBUM_LISTEN")
            .env_remove("HOTSHOE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .context("starting `hotshoe album serve`")?;
        let stdout = child.stdout.take().context("no stdout from the server")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix(READY_PREFIX) {
                    return rest
                        .trim()
                        .parse::<SocketAddr>()
                        .with_context(|| format!("server announced {rest:?}"));
                }
            }
            bail!("the server exited before listening")
        })
        .await
        .context("the server did not start in 30 s")?
        .with_context(|| format!("see {}", log.display()))?;
        // Keep reading so the server never blocks on a full stdout pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ChildServer { child, addr, log })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Peak resident memory of the server so far (Linux `VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }

    /// Asks the server to stop (SIGTERM, as a service manager would), killing it if it
    /// does not within 15 s.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) with our own child's pid and a valid signal number.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!(
                        "the album server exited with {status}; see {}",
                        self.log.display()
                    );
                }
                Ok(())
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the album server did not stop within 15 s of SIGTERM")
            }
        }
    }
}
