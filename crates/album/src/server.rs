//! The running server: shared state, routing, start-up and graceful shutdown.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::trace::TraceLayer;

use crate::auth::{self, Keys};
use crate::config::Config;
use crate::db::{AlbumOptions, AlbumRow, Backend, Db, Visibility};
use crate::error::AlbumError;
use crate::live::Hub;
use crate::store::Store;
use crate::views::{self, ViewCounter};
use crate::{admin, api, gallery, live, qr, setup_link, token, tus};

/// What a photographer or agent needs to know about an album.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlbumInfo {
    pub id: String,
    pub title: String,
    /// Unguessable part of the gallery URL (22 base62 characters).
    pub slug: String,
    pub gallery_url: String,
    /// The tus endpoint, absolute.
    pub upload_url: String,
    /// The album's oldest live upload token ("" when every token is revoked).
    pub upload_token: String,
    /// Endpoint + token in one link for the agent or desktop app (see [`crate::setup_link`]).
    pub setup_link: String,
    pub visibility: Visibility,
    pub review: bool,
}

/// State shared by every request handler.
pub struct AppInner {
    pub db: Db,
    pub store: Store,
    pub base_url: String,
    pub max_upload_bytes: u64,
    pub uploads_dir: PathBuf,
    pub keys: Keys,
    pub hub: Hub,
    pub upload_ttl_secs: i64,
    /// Uploads with a PATCH in flight: tus forbids two writers on one upload.
    pub busy: Mutex<HashSet<String>>,
    /// Gallery page views not yet in the database.
    pub views: ViewCounter,
    pub shutdown: watch::Receiver<bool>,
}

pub type AppState = Arc<AppInner>;

impl AppInner {
    pub fn album_info(&self, row: &AlbumRow, upload_token: String) -> AlbumInfo {
        album_info(&self.base_url, row, upload_token)
    }

    pub fn gallery_url(&self, row: &AlbumRow) -> String {
        format!("{}/g/{}", self.base_url, row.slug)
    }

    /// [`AppInner::album_info`] with the album's current primary token.
    pub async fn album_info_now(&self, row: &AlbumRow) -> Result<AlbumInfo, sqlx::Error> {
        let token = self.db.primary_token(&row.id).await?.unwrap_or_default();
        Ok(self.album_info(row, token))
    }

    pub fn part_path(&self, upload_id: &str) -> PathBuf {
        self.uploads_dir.join(format!("{upload_id}.part"))
    }
}

/// A running album server. Call [`Server::shutdown`] to stop it gracefully; a dropped
/// `Server` keeps serving until the tokio runtime ends.
pub struct Server {
    state: AppState,
    local_addr: SocketAddr,
    admin_token: String,
    first_start: bool,
    shutdown_tx: watch::Sender<bool>,
    serve_task: JoinHandle<()>,
    janitor_task: JoinHandle<()>,
    views_task: JoinHandle<()>,
}

const ADMIN_TOKEN_KEY: &str = "admin_token";
const COOKIE_SECRET_KEY: &str = "cookie_secret";
const PUBLIC_URL_KEY: &str = "public_url";
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(tus::routes())
        .merge(api::routes())
        .merge(gallery::routes())
        .merge(live::routes())
        .merge(qr::routes())
        .merge(admin::routes())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn make_dir(path: PathBuf) -> Result<PathBuf, AlbumError> {
    std::fs::create_dir_all(&path).map_err(|source| AlbumError::DataDir {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

impl Server {
    /// Opens or creates the database and object store under `config.data_dir`, binds
    /// `config.listen` and serves in a background task.
    pub async fn start(config: Config) -> Result<Server, AlbumError> {
        let data_dir = make_dir(config.data_dir.clone())?;
        let uploads_dir = make_dir(data_dir.join("uploads"))?;
        let store = match &config.objects_url {
            Some(url) => Store::open(url)?,
            None => Store::open_local(&data_dir.join("objects"))?,
        };
        let db = match &config.database_url {
            Some(url) => Db::connect(url).await?,
            None => Db::open_sqlite(&data_dir.join("album.db")).await?,
        };

        let (admin_token, first_start) = match db.setting(ADMIN_TOKEN_KEY).await? {
            Some(t) => (t, false),
            None => (
                db.setting_or_insert(ADMIN_TOKEN_KEY, &token::secret())
                    .await?,
                true,
            ),
        };
        // Shared through the database, so every instance accepts every instance's cookies.
        let cookie_secret = db
            .setting_or_insert(COOKIE_SECRET_KEY, &token::secret())
            .await?;

        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| AlbumError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr()?;
        let base_url = config
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{local_addr}"));

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let hub = match (&config.database_url, db.backend()) {
            (Some(url), Backend::Postgres) => Hub::postgres(url, shutdown_rx.clone()).await?,
            _ => Hub::local(),
        };
        // Lets `hotshoe album create`, which opens the database directly, print links that
        // point at this server.
        db.set_setting(PUBLIC_URL_KEY, &base_url).await?;
        let state: AppState = Arc::new(AppInner {
            db,
            store,
            base_url,
            max_upload_bytes: config.max_upload_bytes,
            uploads_dir,
            keys: Keys::new(&admin_token, &cookie_secret),
            hub,
            upload_ttl_secs: config.upload_ttl.as_secs().max(1) as i64,
            busy: Mutex::new(HashSet::new()),
            views: ViewCounter::default(),
            shutdown: shutdown_rx.clone(),
        });

        let db_backend = state.db.backend();
        let app = router(state.clone());
        let mut serve_shutdown = shutdown_rx.clone();
        let serve_task = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = serve_shutdown.wait_for(|stop| *stop).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "album server stopped with an error");
            }
        });
        let views_task = tokio::spawn(views::flusher(
            state.clone(),
            views::FLUSH_EVERY,
            shutdown_rx.clone(),
        ));
        let janitor_task =
            tokio::spawn(tus::janitor(state.clone(), config.sweep_every, shutdown_rx));

        tracing::info!(
            %local_addr,
            base_url = %state.base_url,
            data_dir = %data_dir.display(),
            database = ?db_backend,
            objects = %state.store.describe(),
            first_start,
            "album server listening"
        );
        Ok(Server {
            state,
            local_addr,
            admin_token,
            first_start,
            shutdown_tx,
            serve_task,
            janitor_task,
            views_task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Base of every link the server hands out (gallery, QR code, tus endpoint).
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// True when this start created the data directory's admin token, i.e. a fresh server.
    pub fn first_start(&self) -> bool {
        self.first_start
    }

    /// The admin page's address.
    pub fn admin_url(&self) -> String {
        format!("{}/admin", self.state.base_url)
    }

    /// The oldest album with this title, created if there is none.
    pub async fn ensure_album(&self, title: &str) -> Result<AlbumInfo, AlbumError> {
        if let Some(row) = self.state.db.album_by_title(title).await? {
            return Ok(self.state.album_info_now(&row).await?);
        }
        self.create_album(title, AlbumOptions::default()).await
    }

    pub async fn create_album(
        &self,
        title: &str,
        opts: AlbumOptions,
    ) -> Result<AlbumInfo, AlbumError> {
        create_album(&self.state, title, &opts).await
    }

    /// Stops accepting connections, ends live event streams and waits (bounded) for
    /// in-flight requests.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let mut serve_task = self.serve_task;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut serve_task)
            .await
            .is_err()
        {
            tracing::warn!("album server did not stop in time; aborting open connections");
            serve_task.abort();
        }
        let _ = self.janitor_task.await;
        // Its last flush needs the database: before `close`.
        let _ = self.views_task.await;
        self.state.db.close().await;
        tracing::info!("album server stopped");
    }
}

pub async fn create_album(
    state: &AppInner,
    title: &str,
    opts: &AlbumOptions,
) -> Result<AlbumInfo, AlbumError> {
    let (title, password_hash) = checked_album(title, opts)?;
    let (row, upload_token) = state.db.insert_album(title, opts, password_hash).await?;
    tracing::info!(album_id = %row.id, title, visibility = row.visibility.as_str(),
        review = row.review, "album created");
    Ok(state.album_info(&row, upload_token))
}

/// The trimmed title, refused when empty or too long, and the password's hash when one is set.
fn checked_album<'a>(
    title: &'a str,
    opts: &AlbumOptions,
) -> Result<(&'a str, Option<String>), AlbumError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AlbumError::Invalid(
            "album title must be 1 to 200 characters".into(),
        ));
    }
    let password_hash = opts
        .password
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(auth::hash_password);
    Ok((title, password_hash))
}

/// Creates an album by opening the server's database directly, without a running server
/// (what `hotshoe album create` does). Links use the base URL the server last announced,
/// else `config.public_url`, else `http://{config.listen}`. Safe while the server runs:
/// SQLite takes concurrent writers in turn and PostgreSQL is shared anyway.
pub async fn create_album_direct(
    config: &Config,
    title: &str,
    opts: &AlbumOptions,
) -> Result<AlbumInfo, AlbumError> {
    let db = match &config.database_url {
        Some(url) => Db::connect(url).await?,
        None => {
            let dir = make_dir(config.data_dir.clone())?;
            Db::open_sqlite(&dir.join("album.db")).await?
        }
    };
    let base_url = match (&config.public_url, db.setting(PUBLIC_URL_KEY).await?) {
        (Some(u), _) => u.trim_end_matches('/').to_owned(),
        (None, Some(u)) => u,
        (None, None) => format!("http://{}", config.listen),
    };
    let (title, password_hash) = checked_album(title, opts)?;
    let (row, upload_token) = db.insert_album(title, opts, password_hash).await?;
    db.close().await;
    tracing::info!(album_id = %row.id, title, "album created (direct)");
    Ok(album_info(&base_url, &row, upload_token))
}

fn album_info(base_url: &str, row: &AlbumRow, upload_token: String) -> AlbumInfo {
    let upload_url = format!("{base_url}/api/tus/");
    AlbumInfo {
        id: row.id.clone(),
        title: row.title.clone(),
        slug: row.slug.clone(),
        gallery_url: format!("{base_url}/g/{}", row.slug),
        setup_link: setup_link::SetupLink::new(&upload_url, &upload_token).to_string(),
        upload_url,
        upload_token,
        visibility: row.visibility,
        review: row.review,
    }
}
