//! `hotshoe demo`: the whole path on one machine with no camera. An album server with its
//! embedded defaults, a virtual camera that shoots every few seconds, and the agent that
//! tethers to it over PTP, saves, processes and publishes each shot.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

/// Everything the demo can be told; the CLI fills it from flags, tests from code.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Holds the album server's data, the agent's journal, the library and the virtual card.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Base URL for links and the QR code (phones need the LAN address, not loopback).
    pub public_url: Option<String>,
    pub shot_every: Duration,
    /// Stop shooting after this many new shots (the demo keeps running).
    pub shots: Option<u32>,
    pub shot_size: (u32, u32),
}

impl DemoOptions {
    pub fn new(data_dir: PathBuf) -> DemoOptions {
        DemoOptions {
            data_dir,
            listen: "127.0.0.1:0".parse().expect("static address"),
            public_url: None,
            shot_every: Duration::from_secs(4),
            shots: None,
            shot_size: (6000, 4000),
        }
    }
}

/// A running demo.
pub struct Demo {
    pub album: album::Server,
    pub album_info: album::AlbumInfo,
    pub agent: agent::Agent,
    pub camera: camsim::CameraHandle,
    shooter: Option<tokio::task::JoinHandle<()>>,
}

/// Hands the agent a fresh connection to the virtual camera whenever it (re)connects, as a
/// USB connector would after a replug.
struct CamsimConnector {
    camera: camsim::CameraHandle,
}

impl agent::camera::Connector for CamsimConnector {
    type Transport = camsim::CamsimTransport;

    fn describe(&self) -> String {
        "camsim".into()
    }

    async fn connect(&mut self) -> Result<Self::Transport, String> {
        self.camera.plug_in().map_err(|e| e.to_string())
    }
}

impl Demo {
    /// Starts the album server, the agent and the virtual camera. Reuses the album, journal
    /// and card of an earlier run in the same data folder.
    pub async fn start(opts: DemoOptions) -> Result<Demo> {
        let album_cfg = album::Config {
            listen: opts.listen,
            data_dir: opts.data_dir.join("album"),
            public_url: opts.public_url.clone(),
            ..album::Config::default()
        };
        let album = match album::Server::start(album_cfg.clone()).await {
            Ok(s) => s,
            // The default port is taken (another demo?): any free port will do.
            Err(e) if opts.listen.port() != 0 => {
                tracing::warn!(error = %e, "album server could not take {}; using a free port", opts.listen);
                let mut cfg = album_cfg;
                cfg.listen.set_port(0);
                if opts.public_url.is_some() {
                    cfg.public_url = None;
                }
                album::Server::start(cfg)
                    .await
                    .context("starting the album server")?
            }
            Err(e) => return Err(e).context("starting the album server"),
        };
        let album_info = album
            .ensure_album("Demo event")
            .await
            .context("creating the demo album")?;

        let agent_cfg = agent::AgentConfig {
            data_dir: opts.data_dir.join("agent"),
            library_dir: opts.data_dir.join("library"),
            recipe: imaging::Recipe::web(),
            targets: vec![agent::TargetConfig {
                name: "album".into(),
                renditions: vec![agent::Rendition::Web],
                concurrency: 2,
                kind: agent::TargetKind::Album {
                    upload_url: album_info.upload_url.clone(),
                    token: Some(agent::upload::naming::Secret::new(
                        album_info.upload_token.clone(),
                    )),
                },
            }],
            // The virtual card persists between demo runs and belongs to this event.
            import_existing: true,
            bandwidth_limit: None,
        };
        let mut agent = agent::Agent::start(agent_cfg)
            .await
            .context("starting the agent")?;

        let cam_cfg = camsim::CameraConfig {
            card_dir: Some(opts.data_dir.join("card")),
            shot_size: opts.shot_size,
            ..camsim::CameraConfig::default()
        };
        let camera = camsim::CameraHandle::new(cam_cfg).context("starting the virtual camera")?;
        agent.add_camera(CamsimConnector {
            camera: camera.clone(),
        });
        let shooter = Some(camera.spawn_auto_shooter(opts.shot_every, opts.shots));
        Ok(Demo {
            album,
            album_info,
            agent,
            camera,
            shooter,
        })
    }

    pub fn gallery_url(&self) -> &str {
        &self.album_info.gallery_url
    }

    /// Stops shooting, then the agent, then the server; everything is resumable.
    pub async fn stop(mut self) {
        if let Some(s) = self.shooter.take() {
            s.abort();
        }
        self.agent.shutdown().await;
        self.album.shutdown().await;
    }
}
