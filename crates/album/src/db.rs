//! Album metadata in SQL.
//!
//! Runtime queries only (no compile-time checked macros) so building never needs a live
//! database, and plain portable SQL so a PostgreSQL pool can replace SQLite later.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlSafeStr, SqlitePool};

use crate::error::AlbumError;
use crate::token;

/// Options for [`crate::Server::create_album`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AlbumOptions {
    /// Whether guests can open the gallery; a private album still accepts uploads.
    pub public: bool,
    /// Use this upload token instead of a random one, so an agent configured before the
    /// album existed keeps working. At least 16 characters.
    pub upload_token: Option<String>,
}

impl Default for AlbumOptions {
    fn default() -> Self {
        Self {
            public: true,
            upload_token: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AlbumRow {
    pub id: String,
    pub title: String,
    pub slug: String,
    pub upload_token: String,
    pub is_public: bool,
}

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

/// Rendition shown to guests; other renditions (originals, large) are stored but only
/// listed through the admin API.
pub const GALLERY_RENDITION: &str = "web";

#[derive(Clone)]
pub struct Db {
    pool: SqlitePool,
}

/// `SELECT {columns} FROM photos {rest}` as a `&'static str`, so queries stay constants.
macro_rules! select_photos {
    ($rest:literal) => {
        concat!(
            "SELECT id, album_id, seq, content_hash, rendition, filename, captured_at, width, height, bytes, created_at FROM photos ",
            $rest
        )
    };
}

fn photo_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<PhotoRow, sqlx::Error> {
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
    })
}

fn album_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<AlbumRow, sqlx::Error> {
    Ok(AlbumRow {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        slug: row.try_get("slug")?,
        upload_token: row.try_get("upload_token")?,
        is_public: row.try_get("is_public")?,
    })
}

fn upload_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<UploadRow, sqlx::Error> {
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

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("init"),
        MigrationType::Simple,
        include_str!("../migrations/0001_init.sql").into_sql_str(),
        false,
    )])
}

impl Db {
    /// Opens (creating if needed) the SQLite database and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, AlbumError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            // WAL lets gallery reads run while an upload commits.
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("value")).transpose()
    }

    /// Stores `value` unless the key already has one; returns the value now in effect.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, sqlx::Error> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
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
    ) -> Result<AlbumRow, AlbumError> {
        let upload_token = match &opts.upload_token {
            Some(t) if t.len() >= 16 && t.chars().all(|c| c.is_ascii_graphic()) => t.clone(),
            Some(_) => {
                return Err(AlbumError::Invalid(
                    "upload token must be at least 16 printable ASCII characters".into(),
                ))
            }
            None => token::secret(),
        };
        let row = AlbumRow {
            id: token::album_id(),
            title: title.to_owned(),
            slug: token::slug(),
            upload_token,
            is_public: opts.public,
        };
        sqlx::query(
            "INSERT INTO albums (id, title, slug, upload_token, is_public, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.id)
        .bind(&row.title)
        .bind(&row.slug)
        .bind(&row.upload_token)
        .bind(row.is_public)
        .bind(token::now_rfc3339())
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                AlbumError::Invalid("upload token already used by another album".into())
            }
            _ => AlbumError::Db(e),
        })?;
        Ok(row)
    }

    pub async fn album_by_title(&self, title: &str) -> Result<Option<AlbumRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM albums WHERE title = ? ORDER BY created_at, id LIMIT 1")
            .bind(title)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(album_from_row)
            .transpose()
    }

    pub async fn album_by_id(&self, id: &str) -> Result<Option<AlbumRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM albums WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(album_from_row)
            .transpose()
    }

    pub async fn album_by_slug(&self, slug: &str) -> Result<Option<AlbumRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM albums WHERE slug = ?")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(album_from_row)
            .transpose()
    }

    pub async fn album_by_upload_token(
        &self,
        upload_token: &str,
    ) -> Result<Option<AlbumRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM albums WHERE upload_token = ?")
            .bind(upload_token)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(album_from_row)
            .transpose()
    }

    pub async fn albums(&self) -> Result<Vec<AlbumRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM albums ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(album_from_row)
            .collect()
    }

    pub async fn photo_by_identity(
        &self,
        album_id: &str,
        content_hash: &str,
        rendition: &str,
    ) -> Result<Option<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!(
            "WHERE album_id = ? AND content_hash = ? AND rendition = ?"
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
        sqlx::query(select_photos!("WHERE id = ?"))
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
        let created_at = token::now_rfc3339();
        // The sub-select and the insert form one statement, and SQLite serialises writers,
        // so seq is strictly increasing. (PostgreSQL would retry on a seq unique violation.)
        let result = sqlx::query(
            "INSERT INTO photos (id, album_id, seq, content_hash, rendition, filename, captured_at, width, height, bytes, created_at) \
             VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM photos), ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .bind(&created_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => {
                let row = self
                    .photo_by_id(&p.id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                Ok(Inserted::New(row))
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                match self
                    .photo_by_identity(&p.album_id, &p.content_hash, &p.rendition)
                    .await?
                {
                    Some(existing) => Ok(Inserted::Existing(existing)),
                    None => Err(sqlx::Error::Database(e)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Every photo of an album, all renditions, oldest first (admin view).
    pub async fn album_photos(&self, album_id: &str) -> Result<Vec<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!("WHERE album_id = ? ORDER BY seq"))
            .bind(album_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(photo_from_row)
            .collect()
    }

    /// Gallery photos newest first, strictly older than `before` when given.
    pub async fn gallery_before(
        &self,
        album_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!(
            "WHERE album_id = ? AND rendition = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        ))
        .bind(album_id)
        .bind(GALLERY_RENDITION)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(photo_from_row)
        .collect()
    }

    /// Gallery photos newer than `after`, oldest first: the catch-up for a reconnecting
    /// event stream.
    pub async fn gallery_after(
        &self,
        album_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<PhotoRow>, sqlx::Error> {
        sqlx::query(select_photos!(
            "WHERE album_id = ? AND rendition = ? AND seq > ? ORDER BY seq LIMIT ?"
        ))
        .bind(album_id)
        .bind(GALLERY_RENDITION)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(photo_from_row)
        .collect()
    }

    pub async fn gallery_count(&self, album_id: &str) -> Result<i64, sqlx::Error> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM photos WHERE album_id = ? AND rendition = ?")
                .bind(album_id)
                .bind(GALLERY_RENDITION)
                .fetch_one(&self.pool)
                .await?;
        row.try_get("n")
    }

    pub async fn insert_upload(&self, u: &UploadRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO uploads (id, album_id, upload_length, upload_offset, metadata, photo_id, expires_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        sqlx::query("SELECT * FROM uploads WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(upload_from_row)
            .transpose()
    }

    pub async fn set_upload_offset(&self, id: &str, offset: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE uploads SET upload_offset = ? WHERE id = ?")
            .bind(offset)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks an upload finished: HEAD keeps answering "complete" so a client that lost
    /// the final response can find out without sending anything again.
    pub async fn complete_upload(&self, id: &str, photo_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE uploads SET upload_offset = upload_length, photo_id = ? WHERE id = ?")
            .bind(photo_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_upload(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM uploads WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ids of uploads past their expiry.
    pub async fn expired_uploads(&self, now: i64) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query("SELECT id FROM uploads WHERE expires_at < ?")
            .bind(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect()
    }
}
