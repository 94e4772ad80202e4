//! Server configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default cap on one uploaded rendition: far above a 2048 px web JPEG, small enough that
/// verifying a finished upload in memory is harmless.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 200 * 1024 * 1024;

/// Long enough to ride out a venue's network dropping for an evening.
pub const DEFAULT_UPLOAD_TTL: Duration = Duration::from_secs(24 * 3600);

/// How the album server is started.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 picks a free port (see [`crate::Server::local_addr`]).
    pub listen: SocketAddr,
    /// Holds unfinished uploads, and the database and objects unless set below.
    pub data_dir: PathBuf,
    /// Base URL used in links and the QR code, e.g. `http://192.168.1.20:8470`.
    /// Defaults to `http://{listen}` (with the port actually bound).
    pub public_url: Option<String>,
    /// Largest accepted upload (`Tus-Max-Size`).
    pub max_upload_bytes: u64,
    /// `sqlite://…` or `postgres://…`; default `{data_dir}/album.db`.
    pub database_url: Option<String>,
    /// `s3://bucket?endpoint=…`, `file:///path` or a folder; default `{data_dir}/objects`.
    pub objects_url: Option<String>,
    /// How long an unfinished upload may sit before the sweeper removes it.
    pub upload_ttl: Duration,
    /// How often expired uploads are swept.
    pub sweep_every: Duration,
}

impl Config {
    /// A config with defaults for everything but where to listen and where to keep data.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data_dir: data_dir.into(),
            public_url: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            database_url: None,
            objects_url: None,
            upload_ttl: DEFAULT_UPLOAD_TTL,
            sweep_every: Duration::from_secs(60),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new(SocketAddr::from(([0, 0, 0, 0], 8470)), "album-data")
    }
}
