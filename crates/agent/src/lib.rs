//! The Hotshoe agent: everything between a camera and a published photo on the machine the
//! photographer carries. It owns the journal (the single source of truth), the sources (PTP
//! cameras now; card/hot folders and camera FTP later), the processing worker and the upload
//! workers, and the events the CLI and desktop UI display.
//!
//! It must not know PTP wire details (that is `ptp`), pixel work (that is `imaging`), or how
//! the album server stores and shows photos (that is `album`, reached only over HTTP).

pub mod camera;
pub mod control;
pub mod events;
pub mod folder;
pub mod journal;
pub mod library;
pub mod process;
mod time_fmt;
pub mod upload;
pub mod usb;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{broadcast, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use events::{AgentEvent, CameraState, CameraStatus, ShotEvent, Stage, TargetStatus};
pub use journal::{Counts, Journal, Shot, ShotState, ShotSummary, UploadCounts};

/// One place the agent publishes to, as written in the agent's config file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TargetConfig {
    /// The journal files this target's uploads under: renaming a target starts it afresh.
    pub name: String,
    /// Which renditions go there, in priority order: the web rendition always goes before any
    /// original (two-tier publishing), so the gallery stays live while originals trickle in.
    #[serde(default = "default_renditions")]
    pub renditions: Vec<Rendition>,
    /// Uploads in flight at once for this target. Two hide a round trip on a slow link
    /// without splitting the bandwidth so thinly that the newest shot waits.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(flatten)]
    pub kind: TargetKind,
}

fn default_renditions() -> Vec<Rendition> {
    vec![Rendition::Web]
}

fn default_concurrency() -> usize {
    2
}

/// What is published of each shot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rendition {
    /// The recipe's output (2048 px by default): what guests see.
    Web,
    /// The original file as the camera wrote it, byte for byte.
    Original,
}

impl Rendition {
    pub fn as_str(self) -> &'static str {
        match self {
            Rendition::Web => "web",
            Rendition::Original => "original",
        }
    }
}

/// The kinds of target and what each needs. Secrets are never serialised (so never logged
/// through a config dump).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetKind {
    /// A Hotshoe album server (or any tus 1.0 server).
    Album {
        upload_url: String,
        #[serde(default, skip_serializing)]
        token: Option<upload::naming::Secret>,
    },
    /// An S3-compatible bucket (AWS, MinIO, R2, ...); keys in `docs/targets.md`.
    S3(upload::s3::S3Config),
    /// An FTP or FTPS (explicit TLS) server.
    Ftp(upload::ftp::FtpConfig),
    /// A local or network-mounted folder.
    Folder(upload::folder::FolderConfig),
}
/// The agent's configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Journal and renditions live here.
    pub data_dir: PathBuf,
    /// Originals are saved here first, before anything else happens to them.
    pub library_dir: PathBuf,
    pub recipe: imaging::Recipe,
    pub targets: Vec<TargetConfig>,
    /// Import what is already on a camera's card the first time it is tethered. Off by
    /// default: an old card must not flood this event's gallery.
    pub import_existing: bool,
    /// Upload bandwidth cap over all targets together, in bytes per second; `None` is
    /// unlimited. Leaves room on a shared venue link for the photographer's own traffic.
    pub bandwidth_limit: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error("cannot create {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("target {name}: {why}")]
    Target { name: String, why: String },
    #[error("control API: {0}")]
    Control(String),
}

/// A running agent.
pub struct Agent {
    journal: Journal,
    events: broadcast::Sender<AgentEvent>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    library_dir: PathBuf,
    data_dir: PathBuf,
    downloaded: Arc<Notify>,
    import_existing: bool,
}

impl Agent {
    /// Opens the journal and starts the processing and upload workers, which pick up whatever
    /// an earlier run left unfinished.
    pub async fn start(config: AgentConfig) -> Result<Agent, AgentError> {
        for dir in [&config.data_dir, &config.library_dir] {
            std::fs::create_dir_all(dir).map_err(|source| AgentError::Folder {
                path: dir.clone(),
                source,
            })?;
        }
        let journal = Journal::open(&config.data_dir.join("journal.sqlite"))?;
        let (events, _) = broadcast::channel(1024);
        let cancel = CancellationToken::new();
        let downloaded = Arc::new(Notify::new());
        let processed = Arc::new(Notify::new());

        let mut targets = Vec::new();
        for t in &config.targets {
            let target = upload::build(t).map_err(|why| AgentError::Target {
                name: t.name.clone(),
                why,
            })?;
            targets.push((t.clone(), target));
        }
        // A crash leaves claims behind; nothing is in flight before the workers start.
        journal.release_claims().await?;
        let throttle = upload::Throttle::new(config.bandwidth_limit);

        let mut tasks = Vec::new();
        let pctx = process::ProcessCtx {
            journal: journal.clone(),
            renditions_dir: config.data_dir.join("renditions"),
            recipe: config.recipe.clone(),
            targets: targets
                .iter()
                .map(|(cfg, _)| process::TargetWants {
                    name: cfg.name.clone(),
                    renditions: cfg.renditions.clone(),
                })
                .collect(),
            events: events.clone(),
            downloaded: downloaded.clone(),
            processed: processed.clone(),
        };
        tasks.push(tokio::spawn(process::run(pctx, cancel.child_token())));
        let mut meters = Vec::new();
        for (cfg, target) in targets {
            let uctx = upload::UploadCtx {
                journal: journal.clone(),
                events: events.clone(),
                processed: processed.clone(),
                throttle: throttle.clone(),
                meter: upload::Meter::new(),
                web_only: false,
            };
            meters.push((cfg.name.clone(), uctx.meter.clone()));
            let workers = cfg.concurrency.max(1);
            let reserve = workers >= 2 && cfg.renditions.contains(&Rendition::Original);
            for i in 0..workers {
                let mut ctx = uctx.clone();
                ctx.web_only = reserve && i == 0;
                tasks.push(tokio::spawn(upload::run(
                    target.clone(),
                    ctx,
                    cancel.child_token(),
                )));
            }
        }
        tasks.push(tokio::spawn(upload::report(
            journal.clone(),
            meters,
            events.clone(),
            cancel.child_token(),
        )));
        tracing::info!(journal = %journal.path().display(), library = %config.library_dir.display(), "agent started");
        Ok(Agent {
            journal,
            events,
            cancel,
            tasks,
            library_dir: config.library_dir,
            data_dir: config.data_dir,
            downloaded,
            import_existing: config.import_existing,
        })
    }

    fn source_ctx(&self) -> camera::SourceCtx {
        camera::SourceCtx {
            journal: self.journal.clone(),
            library_dir: self.library_dir.clone(),
            events: self.events.clone(),
            downloaded: self.downloaded.clone(),
            import_existing: self.import_existing,
        }
    }

    /// Starts a camera source that connects (and reconnects) through `connector`.
    pub fn add_camera<C: camera::Connector>(&mut self, connector: C) {
        let ctx = self.source_ctx();
        self.tasks.push(tokio::spawn(camera::run(
            connector,
            ctx,
            self.cancel.child_token(),
        )));
    }

    /// Imports every image that appears in a hot folder, for as long as the agent runs.
    pub fn add_folder(&mut self, folder: folder::FolderSource) {
        let ctx = self.source_ctx();
        self.tasks.push(tokio::spawn(folder::run(
            folder,
            ctx,
            self.cancel.child_token(),
        )));
    }

    /// Tethers every USB camera that is or becomes attached, for as long as the agent runs.
    pub fn watch_usb(&mut self) {
        let ctx = self.source_ctx();
        self.tasks
            .push(tokio::spawn(usb::run(ctx, self.cancel.child_token())));
    }

    /// Starts the control API (`control`): binds `cfg.listen`, takes the configured token or
    /// makes a random one, writes it to `{data_dir}/control.token` (0600), and serves until
    /// the agent shuts down.
    pub async fn serve_control(
        &mut self,
        cfg: &control::ControlConfig,
    ) -> Result<control::ControlInfo, AgentError> {
        let token = match &cfg.token {
            Some(t) => {
                control::check_token(t.expose()).map_err(AgentError::Control)?;
                t.clone()
            }
            None => upload::naming::Secret::new(control::new_token()),
        };
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| AgentError::Control(format!("cannot listen on {}: {e}", cfg.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| AgentError::Control(e.to_string()))?;
        let token_file =
            control::write_token_file(&self.data_dir, token.expose()).map_err(|e| {
                AgentError::Control(format!(
                    "cannot write the token file in {}: {e}",
                    self.data_dir.display()
                ))
            })?;
        let cancel = self.cancel.child_token();
        let state = control::ControlState::new(
            self.journal.clone(),
            self.events.clone(),
            token.clone(),
            cancel.clone(),
        );
        let app = control::router(state, addr, &cfg.allowed_hosts);
        self.tasks
            .push(tokio::spawn(control::serve(listener, app, cancel)));
        let url = format!("http://{addr}");
        tracing::info!(%url, token_file = %token_file.display(), "control API listening");
        Ok(control::ControlInfo {
            addr,
            url,
            token_file,
            token,
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AgentEvent> {
        self.events.subscribe()
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Stops every worker. Work in flight is abandoned, not lost: the journal still holds it
    /// and the next start resumes it.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        tracing::info!("agent stopped");
    }
}
