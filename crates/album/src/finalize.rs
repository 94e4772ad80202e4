//! From a complete upload to a published photo: verify, thumbnail, store, record,
//! announce.
//!
//! Order matters for crash safety: objects are stored before the row that points at
//! them, so a photo row never refers to missing files; a crash in between leaves only an
//! unreferenced folder, and the client's retry finds the upload still unfinished.

use std::path::Path;

use axum::http::StatusCode;
use bytes::Bytes;

use crate::db::{AlbumRow, Inserted, NewPhoto, GALLERY_RENDITION, PENDING, PUBLISHED};
use crate::http_error::HttpError;
use crate::live::{LiveEvent, LiveKind, PhotoView};
use crate::server::AppState;
use crate::store::Variant;
use crate::token;
use crate::tus::UploadMeta;

#[derive(Debug, Clone)]
pub struct Finished {
    pub photo_id: String,
    /// The album already had this (content_hash, rendition); nothing new was stored.
    pub duplicate: bool,
}

fn unprocessable(message: impl Into<String>) -> HttpError {
    HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

struct Verified {
    width: u32,
    height: u32,
    captured_at: Option<String>,
    thumb: Vec<u8>,
}

/// Decoding and resizing are CPU work: keep them off the async workers.
fn verify_and_thumbnail(data: &[u8]) -> Result<Verified, HttpError> {
    if !data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(unprocessable("upload is not a JPEG (no SOI marker)"));
    }
    let facts = imaging::probe(data).map_err(|e| unprocessable(format!("unreadable JPEG: {e}")))?;
    let (width, height) = facts.oriented_size();
    let thumb = imaging::render(data, &imaging::Recipe::thumbnail())
        .map_err(|e| unprocessable(format!("cannot render thumbnail: {e}")))?;
    Ok(Verified {
        width,
        height,
        captured_at: facts.captured_at.clone(),
        thumb: thumb.jpeg,
    })
}

pub async fn finish(
    state: &AppState,
    album: &AlbumRow,
    part: &Path,
    meta: UploadMeta,
) -> Result<Finished, HttpError> {
    let data = Bytes::from(tokio::fs::read(part).await?);
    let content_hash = meta
        .content_hash
        .clone()
        .unwrap_or_else(|| blake3::hash(&data).to_hex().to_string());

    // A twin upload of the same original may have finished while this one was in flight.
    if let Some(existing) = state
        .db
        .photo_by_identity(&album.id, &content_hash, &meta.rendition)
        .await?
    {
        tracing::info!(album_id = %album.id, photo_id = %existing.id, %content_hash,
            "completed upload duplicates an existing photo; discarded");
        return Ok(Finished {
            photo_id: existing.id,
            duplicate: true,
        });
    }

    let started = std::time::Instant::now();
    let for_check = data.clone();
    let verified = tokio::task::spawn_blocking(move || verify_and_thumbnail(&for_check))
        .await
        .map_err(|e| HttpError::internal("thumbnail task", e))??;
    let render_ms = started.elapsed().as_millis();

    let photo_id = token::photo_id();
    state
        .store
        .put(&album.id, &photo_id, Variant::Web, data.clone())
        .await?;
    state
        .store
        .put(
            &album.id,
            &photo_id,
            Variant::Thumb,
            Bytes::from(verified.thumb),
        )
        .await?;

    // A second rendition (say the original) follows its gallery rendition's review state,
    // so an original arriving after approval is downloadable at once.
    let mut status = if album.review { PENDING } else { PUBLISHED };
    if meta.rendition != GALLERY_RENDITION {
        if let Some(web) = state
            .db
            .photo_by_identity(&album.id, &content_hash, GALLERY_RENDITION)
            .await?
        {
            status = if web.status == PUBLISHED {
                PUBLISHED
            } else {
                PENDING
            };
        }
    }
    let new = NewPhoto {
        id: photo_id.clone(),
        album_id: album.id.clone(),
        content_hash: content_hash.clone(),
        rendition: meta.rendition.clone(),
        filename: meta.filename.clone(),
        captured_at: meta.captured_at.clone().or(verified.captured_at),
        width: i64::from(verified.width),
        height: i64::from(verified.height),
        bytes: data.len() as i64,
        status,
        section: meta.section.clone(),
    };
    match state.db.insert_photo(&new).await? {
        Inserted::New(row) => {
            tracing::info!(album_id = %album.id, photo_id = %row.id, seq = row.seq,
                width = row.width, height = row.height, bytes = row.bytes,
                rendition = %row.rendition, render_ms, "photo published");
            if row.rendition == GALLERY_RENDITION && row.status == PUBLISHED {
                state
                    .hub
                    .publish(LiveEvent {
                        album_id: album.id.clone(),
                        kind: LiveKind::Photo(PhotoView::from(&row)),
                    })
                    .await;
            }
            Ok(Finished {
                photo_id: row.id,
                duplicate: false,
            })
        }
        Inserted::Existing(existing) => {
            // Lost the race to a concurrent twin: its row stands, our files go.
            state.store.delete_photo(&album.id, &photo_id).await;
            tracing::info!(album_id = %album.id, photo_id = %existing.id, %content_hash,
                "concurrent duplicate completion; kept the first");
            Ok(Finished {
                photo_id: existing.id,
                duplicate: true,
            })
        }
    }
}
