//! The Hotshoe agent: everything between a camera and a published photo on the machine the
//! photographer carries. It owns the journal (the single source of truth), the sources (PTP
//! cameras now; card/hot folders and camera FTP later), the processing worker and the upload
//! workers, and the events the CLI and desktop UI display.
//!
//! It must not know PTP wire details (that is `ptp`), pixel work (that is `imaging`), or how
//! the album server stores and shows photos (that is `album`, reached only over HTTP).

pub mod camera;
pub mod events;
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

pub use events::{AgentEvent, CameraState, CameraStatus, ShotEvent, Stage};
pub use journal::{Counts, Journal, Shot, ShotState};

/// Where the agent publishes to.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetConfig {
    /// A Hotshoe album server (or any tus 1.0 server).
    Album {
        name: String,
        upload_url: String,
        /// Never logged.
        #[serde(skip_serializing)]
        token: Option<String>,
    },
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
}

/// A running agent.
pub struct Agent {
    journal: Journal,
    events: broadcast::Sender<AgentEvent>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    library_dir: PathBuf,
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

        let mut targets: Vec<Arc<dyn upload::Target>> = Vec::new();
        for t in &config.targets {
            match t {
                TargetConfig::Album {
                    name,
                    upload_url,
                    token,
                } => {
                    let target = upload::tus::TusTarget::new(name, upload_url, token.as_deref())
                        .map_err(|why| AgentError::Target {
                            name: name.clone(),
                            why,
                        })?;
                    targets.push(Arc::new(target));
                }
            }
        }

        let mut tasks = Vec::new();
        let pctx = process::ProcessCtx {
            journal: journal.clone(),
            renditions_dir: config.data_dir.join("renditions"),
            recipe: config.recipe.clone(),
            targets: targets.iter().map(|t| t.name().to_owned()).collect(),
            events: events.clone(),
            downloaded: downloaded.clone(),
            processed: processed.clone(),
        };
        tasks.push(tokio::spawn(process::run(pctx, cancel.child_token())));
        for target in targets {
            let uctx = upload::UploadCtx {
                journal: journal.clone(),
                events: events.clone(),
                processed: processed.clone(),
            };
            tasks.push(tokio::spawn(upload::run(
                target,
                uctx,
                cancel.child_token(),
            )));
        }
        tracing::info!(journal = %journal.path().display(), library = %config.library_dir.display(), "agent started");
        Ok(Agent {
            journal,
            events,
            cancel,
            tasks,
            library_dir: config.library_dir,
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

    /// Tethers every USB camera that is or becomes attached, for as long as the agent runs.
    pub fn watch_usb(&mut self) {
        let ctx = self.source_ctx();
        self.tasks
            .push(tokio::spawn(usb::run(ctx, self.cancel.child_token())));
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
