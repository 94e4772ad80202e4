//! Album metadata in SQL: SQLite embedded by default, PostgreSQL to scale out.
//!
//! One code path for both through sqlx's `Any` driver, with runtime queries only (no
//! compile-time checked macros) so building never needs a live database. The SQL is the
//! portable subset: `$n` placeholders (SQLite accepts them too), TEXT ids and timestamps,
//! integers for booleans. Each backend has its own migrations (`migrations/{sqlite,postgres}`).

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row, SqlSafeStr};

use crate::error::AlbumError;
use crate::token;

/// Who may open an album's gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Nobody but the admin; uploads are still accepted.
    Private,
    /// Anyone with the viewer link (its slug is unguessable).
    #[default]
    Unlisted,
    /// Anyone with the link, and listed on the server's front page.
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Unlisted => "unlisted",
            Self::Public => "public",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "public" => Self::Public,
            "unlisted" => Self::Unlisted,
            // Fail closed on anything unexpected in the database.
            _ => Self::Private,
        }
    }
}

/// Options for [`crate::Server::create_album`] and the admin API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlbumOptions {
    pub visibility: Visibility,
    /// Uploads wait for the photographer's approval before guests see them.
    pub review: bool,
    /// Guests must enter this password to open the gallery.
    pub password: Option<String>,
    /// Guests may download the original rendition (when one was uploaded).
    pub allow_original: bool,
    /// Shown on the gallery as "Photos by …".
    pub photographer: Option<String>,
    /// Use this upload token instead of a random one, so an agent configured before the
    /// album existed keeps working. At least 16 characters.
    pub upload_token: Option<String>,
}

/// A partial update of an album's settings (admin API `PATCH`); absent fields stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AlbumPatch {
    pub title: Option<String>,
    pub visibility: Option<Visibility>,
    pub review: Option<bool>,
    /// `""` removes the password.
    pub password: Option<String>,
    pub allow_original: Option<bool>,
    /// `""` removes the credit.
    pub photographer: Option<String>,
    /// `""` goes back to the newest photo as cover.
    pub cover_photo_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AlbumRow {
    pub id: String,
    pub title: String,
    pub slug: String,
    pub visibility: Visibility,
    pub review: bool,
    pub password_hash: Option<String>,
    pub allow_original: bool,
    pub photographer: Option<String>,
    pub cover_photo_id: Option<String>,
    pub views: i64,
    pub created_at: String,
}

/// Photo states: only `published` photos reach guests.
pub const PUBLISHED: &str = "published";
pub const PENDING: &str = "pending";
pub const REJECTED: &str = "rejected";

#[derive(Debug, Clone, Serialize)]
pub struct PhotoRow {
    pub id: String,
    #[serde(skip)]
    pub album_id: String,
    pub seq: i64,
    pub content_hash: String,
    pub rendition: String,
    pub filename: Option<String>,
    pub captured_at: Option<String>,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub created_at: String,
    pub status: String,
    pub section: Option<String>,
}

/// What the finishing step knows about a verified photo before it gets its `seq`.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub id: String,
    pub album_id: String,
    pub content_hash: String,
    pub rendition: String,
    pub filename: Option<String>,
    pub captured_at: Option<String>,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub status: &'static str,
    pub section: Option<String>,
}

pub enum Inserted {
    New(PhotoRow),
    /// Another upload of the same (album, content_hash, rendition) won the race.
    Existing(PhotoRow),
}

#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: String,
    pub album_id: String,
    pub length: i64,
    pub offset: i64,
    /// JSON object of the decoded `Upload-Metadata`.
    pub metadata: String,
    pub photo_id: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    pub token: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionCount {
    pub name: String,
    pub photos: i64,
}

/// Rendition shown to guests; other renditions (originals, large) are stored but only
/// offered as downloads.
pub const GALLERY_RENDITION: &str = "web";
pub const ORIGINAL_RENDITION: &str = "original";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// `SELECT {photo columns} FROM photos {rest}` as a `&'static str`.
macro_rules! select_photos {
    ($rest:literal) => {
        concat!(
            "SELECT id, album_id, seq, content_hash, rendition, filename, captured_at, width, height, bytes, created_at, status, section FROM photos ",
            $rest
        )
    };
}

macro_rules! select_albums {
    ($rest:literal) => {
        concat!(
            "SELECT id, title, slug, visibility, review, password_hash, allow_original, photographer, cover_photo_id, views, created_at FROM albums ",
            $rest
        )
    };
}

fn photo_from_row(row: &AnyRow) -> Result<PhotoRow, sqlx::Error> {
    Ok(PhotoRow {
        id: row.try_get("id")?,
        album_id: row.try_get("album_id")?,
        seq: row.try_get("seq")?,
        content_hash: row.try_get("content_hash")?,
        rendition: row.try_get("rendition")?,
        filename: row.try_get("filename")?,
        captured_at: row.try_get("captured_at")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        bytes: row.try_get("bytes")?,
        created_at: row.try_get("created_at")?,
        status: row.try_get("status")?,
        section: row.try_get("section")?,
    })
}

fn album_from_row(row: &AnyRow) -> Result<AlbumRow, sqlx::Error> {
    Ok(AlbumRow {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        slug: row.try_get("slug")?,
        visibility: Visibility::parse(&row.try_get::<String, _>("visibility")?),
        review: row.try_get::<i64, _>("review")? != 0,
        password_hash: row.try_get("password_hash")?,
        allow_original: row.try_get::<i64, _>("allow_original")? != 0,
        photographer: row.try_get("photographer")?,
        cover_photo_id: row.try_get("cover_photo_id")?,
        views: row.try_get("views")?,
        created_at: row.try_get("created_at")?,
    })
}

fn upload_from_row(row: &AnyRow) -> Result<UploadRow, sqlx::Error> {
    Ok(UploadRow {
        id: row.try_get("id")?,
        album_id: row.try_get("album_id")?,
        length: row.try_get("upload_length")?,
        offset: row.try_get("upload_offset")?,
        metadata: row.try_get("metadata")?,
        photo_id: row.try_get("photo_id")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<TokenRow, sqlx::Error> {
    Ok(TokenRow {
        token: row.try_get("token")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn migration(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(name),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )
}

fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(match backend {
        Backend::Sqlite => vec![
            migration(
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
            ),
            migration(
                2,
                "albums_v2",
                include_str!("../migrations/sqlite/0002_albums_v2.sql"),
            ),
        ],
        Backend::Postgres => vec![migration(
            1,
            "init",
            include_str!("../migrations/postgres/0001_init.sql"),
        )],
    })
}

/// A token or password check must accept only these; also the rule for custom tokens.
pub fn valid_token(t: &str) -> bool {
    t.len() >= 16 && t.len() <= 128 && t.chars().all(|c| c.is_ascii_graphic())
}

impl Db {
    /// The embedded default: a SQLite file, created if missing.
    pub async fn open_sqlite(path: &Path) -> Result<Self, AlbumError> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    /// Connects to `sqlite://…` or `postgres://…` and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, AlbumError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(AlbumError::Invalid(format!(
                "database URL must start with sqlite:// or postgres://, got {url:?}"
            )));
        };
        let mut options = AnyPoolOptions::new();
        options = match backend {
            Backend::Sqlite => options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets gallery reads run while an upload commits; the busy timeout
                    // makes concurrent writers wait instead of failing.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10)),
        };
        let pool = options.connect(url).await?;
        migrator(backend).run(&pool).await?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("value")).transpose()
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores `value` unless the key already has one; returns the value now in effect
    /// (another instance sharing the database may have set it first).
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, sqlx::Error> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(self.setting(key).await?.unwrap_or_else(|| value.to_owned()))
    }

    pub async fn insert_album(
        &self,
        title: &str,
        opts: &AlbumOptions,
        password_hash: Option<String>,
    ) -> Result<(AlbumRow, String), AlbumError> {
        let upload_token = match &opts.upload_token {
            Some(t) if valid_token(t) => t.clone(),
            Some(_) => {
                return Err(AlbumError::Invalid(
                    "upload token must be 16 to 128 printable ASCII characters".into(),
                ))
            }
            None => token::secret(),
        };
        let now = token::now_rfc3339();
        let row = AlbumRow {
            id: token::album_id(),
            title: title.to_owned(),
            slug: token::slug(),
            visibility: opts.visibility,
            review: opts.review,
            password_hash,
            allow_original: opts.allow_original,
            photographer: opts.photographer.clone().filter(|p| !p.trim().is_empty()),
            cover_photo_id: None,
            views: 0,
            created_at: now.clone(),
        };
        let unique = |e: sqlx::Error| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                AlbumError::Invalid("upload token already used by another album".into())
            }
            _ => AlbumError::Db(e),
        };
        let mut tx = self.pool.begin().await?;
        // `is_public` exists only in the SQLite schema (its 0001); the column list leaves it
        // to its default there.
        sqlx::query(
            "INSERT INTO albums (id, title, slug, upload_token, created_at, visibility, review, password_hash, allow_original, photographer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.title)
        .bind(&row.slug)
        .bind(&upload_token)
        .bind(&now)
        .bind(row.visibility.as_str())
        .bind(i64::from(row.review))
        .bind(&row.password_hash)
        .bind(i64::from(row.allow_original))
        .bind(&row.photographer)
        .execute(&mut *tx)
        .await
        .map_err(unique)?;
        sqlx::query(
            "INSERT INTO upload_tokens (token, album_id, label, created_at) VALUES ($1, $2, 'default', $3)",
        )
        .bind(&upload_token)
        .bind(&row.id)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(unique)?;
        tx.commit().await?;
        Ok((row, upload_token))
    }

    /// Applies the set fields of `patch`; `password_hash` is the already hashed password
    /// (`Some(None)` removes it).
    pub async fn update_album(
        &self,
        id: &str,
        patch: &AlbumPatch,
        password_hash: Option<Option<String>>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if let Some(t) = &patch.title {
            sqlx::query("UPDATE albums SET title = $1 WHERE id = $2")
                .bind(t)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(v) = patch.visibility {
            sqlx::query("UPDATE albums SET visibility = $1 WHERE id = $2")
                .bind(v.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(r) = patch.review {
            sqlx::query("UPDATE albums SET review = $1 WHERE id = $2")
                .bind(i64::from(r))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(h) = password_hash {
            sqlx::query("UPDATE albums SET password_hash = $1 WHERE id = $2")
                .bind(h)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(a) = patch.allow_original {
            sqlx::query("UPDATE albums SET allow_original = $1 WHERE id = $2")
                .bind(i64::from(a))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(p) = &patch.photographer {
            sqlx::query("UPDATE albums SET photographer = $1 WHERE id = $2")
                .bind(Some(p.trim()).filter(|p| !p.is_empty()))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(c) = &patch.cover_photo_id {
            sqlx::query("UPDATE albums SET cover_photo_id = $1 WHERE id = $2")
                .bind(Some(c.as_str()).filter(|c| !c.is_empty()))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Adds `n` gallery page views (batched by [`crate::views::ViewCounter`]).
    pub async fn add_views(&self, album_id: &str, n: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE albums SET views = views + $2 WHERE id = $1")
            .bind(album_id)
            .bind(n)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn album_where(
        &self,
        sql: &'static str,
        arg: &str,
    ) -> Result<Option<AlbumRow>, sqlx::Error> {
        sqlx::query(sql)
            .bind(arg)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(album_from_row)
            .transpose()
    }

    pub async fn album_by_title(&self, title: &str) -> Result<Option<AlbumRow>, sqlx::Error> {
        self.album_where(
            select_albums!("WHERE title = $1 ORDER BY created_at, id LIMIT 1"),
            title,
        )
        .await
    }

    pub async fn album_by_id(&self, id: &str) -> Result<Option<AlbumRow>, sqlx::Error> {
        self.album_where(select_albums!("WHERE id = $1"), id).await
    }

    pub async fn album_by_slug(&self, slug: &str) -> Result<Option<AlbumRow>, sqlx::Error> {
        self.album_where(select_albums!("WHERE slug = $1"), slug)
            .await
    }

    /// The album a live (not revoked) upload token belongs to.
    pub async fn album_by_upload_token(
        &self,
        upload_token: &str,
    ) -> Result<Option<AlbumRow>, sqlx::Error> {
        self.album_where(
            select_albums!(
                "WHERE id = (SELECT album_id FROM upload_tokens WHERE token = $1 AND revoked_at IS NULL)"
            ),
            upload_token,
        )
        .await
    }

    pub async fn albums(&self) -> Result<Vec<AlbumRow>, sqlx::Error> {
        sqlx::query(select_albums!("ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(album_from_row)
            .collect()
    }

    pub async fn tokens(&self, album_id: &str) -> Result<Vec<TokenRow>, sqlx::Error> {
        sqlx::query(
            "SELECT token, label, created_at, revoked_at FROM upload_tokens WHERE album_id = $1 ORDER BY created_at, token",
        )
        .bind(album_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token_from_row)
        .collect()
    }

    /// The oldest live upload token of an album, handed out in [`crate::AlbumInfo`].
    pub async fn primary_token(&self, album_id: &str) -> Result<Option<String>, sqlx::Error> {
        Ok(self
            .tokens(album_id)
            .await?
            .into_iter()
            .find(|t| t.revoked_at.is_none())
            .map(|t| t.token))
    }

    pub async fn add_token(&self, album_id: &str, label: &str) -> Result<TokenRow, sqlx::Error> {
        let row = TokenRow {
            token: token::secret(),
            label: label.to_owned(),
            created_at: token::now_rfc3339(),
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO upload_tokens (token, album_id, label, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&row.token)
        .bind(album_id)
        .bind(&row.label)
        .bind(&row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(row)
    }

    /// Revokes a token of this album; false when there is no such live token.
    pub async fn revoke_token(&self, album_id: &str, token: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE upload_tokens SET revoked_at = $1 WHERE album_id = $2 AND token = $3 AND revoked_at IS NULL",
        )
        .bind(token::now_rfc3339())
        .bind(album_id)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn photo_by_identity(
        &self,
        album_id: &str,
        content_hash: &str,
        rendition: &str,
    ) -> Result<Option<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!(
            "WHERE album_id = $1 AND content_hash = $2 AND rendition = $3"
        ))
        .bind(album_id)
        .bind(content_hash)
        .bind(rendition)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(photo_from_row)
        .transpose()
    }

    pub async fn photo_by_id(&self, id: &str) -> Result<Option<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(photo_from_row)
            .transpose()
    }

    /// Inserts a photo with the next `seq`; the unique index turns a concurrent second
    /// completion of the same original into [`Inserted::Existing`] instead of a second row.
    pub async fn insert_photo(&self, p: &NewPhoto) -> Result<Inserted, sqlx::Error> {
        // seq = MAX + 1 in the same statement. SQLite serialises writers, so it is strictly
        // increasing there; on PostgreSQL two instances can compute the same value, the
        // unique index refuses the second and it tries again. Retrying keeps seq in commit
        // order, which the live catch-up (`seq > last seen`) relies on.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = sqlx::query(
                "INSERT INTO photos (id, album_id, seq, content_hash, rendition, filename, captured_at, width, height, bytes, created_at, status, section) \
                 VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM photos), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&p.id)
            .bind(&p.album_id)
            .bind(&p.content_hash)
            .bind(&p.rendition)
            .bind(&p.filename)
            .bind(&p.captured_at)
            .bind(p.width)
            .bind(p.height)
            .bind(p.bytes)
            .bind(token::now_rfc3339())
            .bind(p.status)
            .bind(&p.section)
            .execute(&self.pool)
            .await;
            match result {
                Ok(_) => {
                    let row = self
                        .photo_by_id(&p.id)
                        .await?
                        .ok_or(sqlx::Error::RowNotFound)?;
                    return Ok(Inserted::New(row));
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    if let Some(existing) = self
                        .photo_by_identity(&p.album_id, &p.content_hash, &p.rendition)
                        .await?
                    {
                        return Ok(Inserted::Existing(existing));
                    }
                    if attempts >= 20 {
                        return Err(sqlx::Error::Database(e));
                    }
                    tracing::debug!(attempts, "seq taken by a concurrent insert; retrying");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Every photo of an album, all renditions and states, oldest first (admin view).
    pub async fn album_photos(&self, album_id: &str) -> Result<Vec<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!("WHERE album_id = $1 ORDER BY seq"))
            .bind(album_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(photo_from_row)
            .collect()
    }

    /// Gallery photos waiting for review, oldest first.
    pub async fn pending(&self, album_id: &str) -> Result<Vec<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!(
            "WHERE album_id = $1 AND rendition = $2 AND status = $3 ORDER BY seq"
        ))
        .bind(album_id)
        .bind(GALLERY_RENDITION)
        .bind(PENDING)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(photo_from_row)
        .collect()
    }

    /// Sets the status of every rendition of one original. Publishing also gives the
    /// gallery row a fresh `seq`: an approved photo arrives on open pages as the newest
    /// one, and the live catch-up (`seq > last seen`) cannot skip it.
    pub async fn set_status(
        &self,
        album_id: &str,
        content_hash: &str,
        status: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE photos SET status = $1 WHERE album_id = $2 AND content_hash = $3")
            .bind(status)
            .bind(album_id)
            .bind(content_hash)
            .execute(&self.pool)
            .await?;
        if status != PUBLISHED {
            return Ok(());
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = sqlx::query(
                "UPDATE photos SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM photos) \
                 WHERE album_id = $1 AND content_hash = $2 AND rendition = $3",
            )
            .bind(album_id)
            .bind(content_hash)
            .bind(GALLERY_RENDITION)
            .execute(&self.pool)
            .await;
            match result {
                Ok(_) => return Ok(()),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && attempts < 20 => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes every rendition row of one original and returns them (their objects go next).
    pub async fn delete_original(
        &self,
        album_id: &str,
        content_hash: &str,
    ) -> Result<Vec<PhotoRow>, sqlx::Error> {
        let rows: Vec<PhotoRow> =
            sqlx::query(select_photos!("WHERE album_id = $1 AND content_hash = $2"))
                .bind(album_id)
                .bind(content_hash)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(photo_from_row)
                .collect::<Result<_, _>>()?;
        sqlx::query("DELETE FROM photos WHERE album_id = $1 AND content_hash = $2")
            .bind(album_id)
            .bind(content_hash)
            .execute(&self.pool)
            .await?;
        Ok(rows)
    }

    /// Published gallery photos newest first, strictly older than `before` when given,
    /// in one section when given.
    pub async fn gallery_before(
        &self,
        album_id: &str,
        section: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!(
            "WHERE album_id = $1 AND rendition = $2 AND status = $3 AND seq < $4 AND ($5 IS NULL OR section = $5) ORDER BY seq DESC LIMIT $6"
        ))
        .bind(album_id)
        .bind(GALLERY_RENDITION)
        .bind(PUBLISHED)
        .bind(before.unwrap_or(i64::MAX))
        .bind(section)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(photo_from_row)
        .collect()
    }

    /// Published gallery photos newer than `after`, oldest first: the catch-up for a
    /// reconnecting event stream.
    pub async fn gallery_after(
        &self,
        album_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!(
            "WHERE album_id = $1 AND rendition = $2 AND status = $3 AND seq > $4 ORDER BY seq LIMIT $5"
        ))
        .bind(album_id)
        .bind(GALLERY_RENDITION)
        .bind(PUBLISHED)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(photo_from_row)
        .collect()
    }

    pub async fn gallery_count(
        &self,
        album_id: &str,
        section: Option<&str>,
    ) -> Result<i64, sqlx::Error> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM photos WHERE album_id = $1 AND rendition = $2 AND status = $3 AND ($4 IS NULL OR section = $4)",
        )
        .bind(album_id)
        .bind(GALLERY_RENDITION)
        .bind(PUBLISHED)
        .bind(section)
        .fetch_one(&self.pool)
        .await?;
        row.try_get("n")
    }

    /// Sub-albums that have published photos, by name.
    pub async fn sections(&self, album_id: &str) -> Result<Vec<SectionCount>, sqlx::Error> {
        sqlx::query(
            "SELECT section, COUNT(*) AS n FROM photos WHERE album_id = $1 AND rendition = $2 AND status = $3 AND section IS NOT NULL GROUP BY section ORDER BY MIN(seq)",
        )
        .bind(album_id)
        .bind(GALLERY_RENDITION)
        .bind(PUBLISHED)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(SectionCount {
                name: r.try_get("section")?,
                photos: r.try_get("n")?,
            })
        })
        .collect()
    }

    pub async fn insert_upload(&self, u: &UploadRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO uploads (id, album_id, upload_length, upload_offset, metadata, photo_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&u.id)
        .bind(&u.album_id)
        .bind(u.length)
        .bind(u.offset)
        .bind(&u.metadata)
        .bind(&u.photo_id)
        .bind(u.expires_at)
        .bind(token::now_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn upload(&self, id: &str) -> Result<Option<UploadRow>, sqlx::Error> {
        sqlx::query(
            "SELECT id, album_id, upload_length, upload_offset, metadata, photo_id, expires_at FROM uploads WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(upload_from_row)
        .transpose()
    }

    pub async fn set_upload_offset(&self, id: &str, offset: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE uploads SET upload_offset = $1 WHERE id = $2")
            .bind(offset)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks an upload finished: HEAD keeps answering "complete" so a client that lost
    /// the final response can find out without sending anything again.
    pub async fn complete_upload(&self, id: &str, photo_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE uploads SET upload_offset = upload_length, photo_id = $1 WHERE id = $2",
        )
        .bind(photo_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_upload(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ids of uploads past their expiry.
    pub async fn expired_uploads(&self, now: i64) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query("SELECT id FROM uploads WHERE expires_at < $1")
            .bind(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect()
    }
}
