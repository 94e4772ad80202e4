//! `hotshoe run`: the headless agent for a real event. Tethers USB cameras as they are plugged
//! in, watches hot folders, and publishes to the targets in the config file, until Ctrl-C or
//! SIGTERM; a restart (or a crash, or `kill -9`) resumes from the journal.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::agent_config::{AgentFile, Bandwidth, TargetEntry};
use crate::terminal::StatusLines;

/// Flags of `hotshoe run`; each overrides the config file.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  hotshoe run --setup 'hotshoe://setup?v=1&endpoint=…&token=…'
      tether any USB camera and publish to that album (paste the link `hotshoe album create` printed)
  hotshoe run --folder ~/Pictures/EOS --no-usb
      publish what the camera maker's tethering tool writes into a folder
  hotshoe run --config event.toml --print-config
      show the config as it will be used (secrets left out), then run
  hotshoe run --folder ~/Pictures/EOS --control
      also serve the control API (status and live events for a UI) on 127.0.0.1:7380

The config file (TOML) is documented in docs/agent-config.md; everything in it has a default.")]
pub struct RunArgs {
    /// Config file [default: ~/.config/hotshoe/agent.toml, if it exists].
    #[arg(long, short, env = "HOTSHOE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Publish to the album this setup link names (adds a target called "album").
    #[arg(long, env = "HOTSHOE_SETUP")]
    pub setup: Option<String>,
    /// Also publish the original files to the album given by --setup (after the web
    /// renditions of every shot, so the gallery stays live).
    #[arg(long, requires = "setup")]
    pub originals: bool,
    /// Watch this folder for new images (repeatable).
    #[arg(long = "folder", value_name = "DIR")]
    pub folders: Vec<PathBuf>,
    /// Do not tether USB cameras.
    #[arg(long)]
    pub no_usb: bool,
    /// Journal, renditions and logs.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where originals are saved.
    #[arg(long, value_name = "DIR")]
    pub library_dir: Option<PathBuf>,
    /// Upload cap over all targets, e.g. "8 Mbit/s" or "1 MB/s"; 0 = unlimited.
    #[arg(long, value_name = "RATE")]
    pub bandwidth_limit: Option<Bandwidth>,
    /// Serve the control API (status and live events for a UI) on ADDR [default:
    /// 127.0.0.1:7380]; the token is written to `control.token` in the data folder.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:7380")]
    pub control: Option<std::net::SocketAddr>,
    /// Print the effective config (without secrets) before starting.
    #[arg(long)]
    pub print_config: bool,
}

impl RunArgs {
    fn config(&self) -> Result<AgentFile> {
        let mut file = match &self.config {
            Some(p) => AgentFile::load(p, true)?,
            None => match AgentFile::default_path() {
                Some(p) => AgentFile::load(&p, false)?,
                None => AgentFile::default(),
            },
        };
        if let Some(link) = &self.setup {
            let mut t = toml::Table::new();
            t.insert("name".into(), "album".into());
            t.insert("setup".into(), link.clone().into());
            if self.originals {
                t.insert(
                    "renditions".into(),
                    toml::Value::Array(vec!["web".into(), "original".into()]),
                );
            }
            let entry = TargetEntry::try_from(t)
                .map_err(anyhow::Error::msg)
                .context("--setup")?;
            file.targets.retain(|t| t.0.name != "album");
            file.targets.push(entry);
        }
        for f in &self.folders {
            file.folders.push(agent::folder::FolderSource {
                path: f.clone(),
                import_existing: true,
            });
        }
        if self.no_usb {
            file.usb = false;
        }
        if let Some(d) = &self.data_dir {
            file.data_dir = Some(d.clone());
        }
        if let Some(d) = &self.library_dir {
            file.library_dir = Some(d.clone());
        }
        if let Some(b) = self.bandwidth_limit {
            file.bandwidth_limit = Some(b);
        }
        if let Some(addr) = self.control {
            file.control.get_or_insert_with(Default::default).listen = addr;
        }
        Ok(file)
    }
}

pub async fn run(args: RunArgs, verbose: u8, json: bool) -> Result<()> {
    let file = args.config()?;
    let cfg = file.to_agent_config()?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let log_file = crate::logging::init(Some(&cfg.data_dir.join("logs")), verbose, json);
    if args.print_config {
        println!("{}", file.redacted());
    }
    tracing::info!(config = %file.redacted(), "starting");

    let mut agent = agent::Agent::start(cfg.clone())
        .await
        .context("starting the agent")?;
    for f in &file.folders {
        agent.add_folder(f.clone());
    }
    if file.usb {
        agent.watch_usb();
    }
    let mut events = agent.subscribe();
    let mut lines = StatusLines::new();
    lines.println(&format!(
        "hotshoe agent — library {}, journal {}",
        cfg.library_dir.display(),
        agent.journal().path().display()
    ));
    if let Some(f) = &log_file {
        lines.println(&format!("log: {}", f.display()));
    }
    if cfg.targets.is_empty() {
        lines.println(
            "no target: shots are saved and rendered but not published (add --setup or a [[target]])",
        );
    }
    for t in &cfg.targets {
        let renditions: Vec<&str> = t.renditions.iter().map(|r| r.as_str()).collect();
        lines.println(&format!(
            "target {} ({}): {}",
            t.name,
            target_kind(&t.kind),
            renditions.join(" then ")
        ));
    }
    if file.usb {
        lines.println("waiting for USB cameras (plug one in, switch it on)");
    }
    for f in &file.folders {
        lines.println(&format!("watching {}", f.path.display()));
    }
    if let Some(c) = &file.control {
        let info = agent
            .serve_control(c)
            .await
            .context("starting the control API")?;
        // The token itself is never printed or logged: it is in a file only its owner reads.
        lines.println(&format!(
            "control API: {}/api/status and {}/api/events (token in {}: send it as \
             `Authorization: Bearer …` or `?token=…`)",
            info.url,
            info.url,
            info.token_file.display()
        ));
    }

    lines.follow(&mut events).await;
    let counts = agent.journal().counts().await.ok();
    agent.shutdown().await;
    if let Some(c) = counts {
        println!(
            "stopped: {} published, {} in progress, {} uploads queued, {} failed. Run again to resume.",
            c.published,
            c.detected + c.downloaded + c.processed,
            c.uploads_pending,
            c.failed
        );
    }
    Ok(())
}

fn target_kind(kind: &agent::TargetKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.get("kind")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
