//! Admin JSON API, behind the server's admin token: albums and their settings, upload
//! tokens, the review queue, and deleting photos. The admin page and the desktop app both
//! use it.
//!
//! | method | path | does |
//! | --- | --- | --- |
//! | GET, POST | `/api/albums` | list, create (`{"title", …AlbumOptions}`) |
//! | GET, PATCH | `/api/albums/{id}` | read, change settings (`AlbumPatch`) |
//! | GET | `/api/albums/{id}/photos` | every photo row, all renditions and states |
//! | GET | `/api/albums/{id}/review` | gallery photos waiting for approval |
//! | GET, POST | `/api/albums/{id}/tokens` | list, add (`{"label"}`) upload tokens |
//! | DELETE | `/api/albums/{id}/tokens/{token}` | revoke a token |
//! | POST | `/api/photos/{id}/approve`, `/reject` | review decision |
//! | DELETE | `/api/photos/{id}` | delete the original's every rendition everywhere |

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::db::{
    AlbumOptions, AlbumPatch, AlbumRow, PhotoRow, TokenRow, Visibility, GALLERY_RENDITION,
    PUBLISHED, REJECTED,
};
use crate::http_error::HttpError;
use crate::live::{LiveEvent, LiveKind, PhotoView};
use crate::server::{create_album, AlbumInfo, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/albums", get(list_albums).post(new_album))
        .route("/api/albums/{id}", get(get_album).patch(patch_album))
        .route("/api/albums/{id}/photos", get(album_photos))
        .route("/api/albums/{id}/review", get(review_queue))
        .route("/api/albums/{id}/tokens", get(list_tokens).post(add_token))
        .route("/api/albums/{id}/tokens/{token}", delete(revoke_token))
        .route("/api/photos/{id}/approve", post(approve))
        .route("/api/photos/{id}/reject", post(reject))
        .route("/api/photos/{id}", delete(delete_photo))
}

/// An album as the admin sees it: links, token and settings.
#[derive(Debug, Serialize)]
pub struct AdminAlbum {
    #[serde(flatten)]
    info: AlbumInfo,
    has_password: bool,
    allow_original: bool,
    photographer: Option<String>,
    cover_photo_id: Option<String>,
    views: i64,
    photos: i64,
    pending: i64,
    qr_url: String,
    created_at: String,
}

async fn admin_album(state: &AppState, row: &AlbumRow) -> Result<AdminAlbum, HttpError> {
    let info = state.album_info_now(row).await?;
    Ok(AdminAlbum {
        qr_url: format!("{}/qr", info.gallery_url),
        info,
        has_password: row.password_hash.is_some(),
        allow_original: row.allow_original,
        photographer: row.photographer.clone(),
        cover_photo_id: row.cover_photo_id.clone(),
        views: row.views,
        photos: state.db.gallery_count(&row.id, None).await?,
        pending: state.db.pending(&row.id).await?.len() as i64,
        created_at: row.created_at.clone(),
    })
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, HttpError> {
    body.map(|Json(t)| t)
        .map_err(|e| HttpError::new(e.status(), e.body_text()))
}

async fn album(state: &AppState, id: &str) -> Result<AlbumRow, HttpError> {
    state
        .db
        .album_by_id(id)
        .await?
        .ok_or_else(|| HttpError::not_found("album"))
}

#[derive(Debug, Deserialize)]
struct NewAlbum {
    title: String,
    #[serde(flatten)]
    options: AlbumOptions,
}

async fn new_album(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewAlbum>, JsonRejection>,
) -> Result<(StatusCode, Json<AdminAlbum>), HttpError> {
    // Auth before parsing, so a stranger learns nothing about the expected body.
    state.keys.check_admin(&headers)?;
    let req = json_body(body)?;
    let info = create_album(&state, &req.title, &req.options).await?;
    let row = album(&state, &info.id).await?;
    Ok((StatusCode::CREATED, Json(admin_album(&state, &row).await?)))
}

async fn list_albums(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<AdminAlbum>>, HttpError> {
    state.keys.check_admin(&headers)?;
    let mut out = Vec::new();
    for row in state.db.albums().await? {
        out.push(admin_album(&state, &row).await?);
    }
    Ok(Json(out))
}

async fn get_album(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<AdminAlbum>, HttpError> {
    state.keys.check_admin(&headers)?;
    let row = album(&state, &id).await?;
    Ok(Json(admin_album(&state, &row).await?))
}

async fn patch_album(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Result<Json<AlbumPatch>, JsonRejection>,
) -> Result<Json<AdminAlbum>, HttpError> {
    state.keys.check_admin(&headers)?;
    let patch = json_body(body)?;
    album(&state, &id).await?;
    if let Some(t) = &patch.title {
        if t.trim().is_empty() || t.chars().count() > 200 {
            return Err(HttpError::bad_request(
                "album title must be 1 to 200 characters",
            ));
        }
    }
    let password_hash = patch
        .password
        .as_deref()
        .map(|p| (!p.is_empty()).then(|| auth::hash_password(p)));
    state.db.update_album(&id, &patch, password_hash).await?;
    let after = album(&state, &id).await?;
    tracing::info!(album_id = %id, visibility = after.visibility.as_str(), review = after.review,
        password = after.password_hash.is_some(), "album settings changed");
    // Turning review off publishes nothing by itself: queued photos still wait for a
    // decision, so a toggle cannot release photos the client has not seen.
    Ok(Json(admin_album(&state, &after).await?))
}

async fn album_photos(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<PhotoRow>>, HttpError> {
    state.keys.check_admin(&headers)?;
    album(&state, &id).await?;
    Ok(Json(state.db.album_photos(&id).await?))
}

async fn review_queue(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<PhotoRow>>, HttpError> {
    state.keys.check_admin(&headers)?;
    album(&state, &id).await?;
    Ok(Json(state.db.pending(&id).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct NewToken {
    label: String,
}

async fn list_tokens(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<TokenRow>>, HttpError> {
    state.keys.check_admin(&headers)?;
    album(&state, &id).await?;
    Ok(Json(state.db.tokens(&id).await?))
}

async fn add_token(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<TokenRow>), HttpError> {
    state.keys.check_admin(&headers)?;
    let req = json_body(body)?;
    album(&state, &id).await?;
    let label = req.label.trim();
    let label = if label.is_empty() { "token" } else { label };
    let row = state
        .db
        .add_token(&id, &label.chars().take(80).collect::<String>())
        .await?;
    tracing::info!(album_id = %id, label = %row.label, "upload token added");
    Ok((StatusCode::CREATED, Json(row)))
}

async fn revoke_token(
    State(state): State<AppState>,
    UrlPath((id, token)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, HttpError> {
    state.keys.check_admin(&headers)?;
    if state.db.revoke_token(&id, &token).await? {
        tracing::info!(album_id = %id, "upload token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::not_found("token"))
    }
}

async fn photo(state: &AppState, id: &str) -> Result<PhotoRow, HttpError> {
    state
        .db
        .photo_by_id(id)
        .await?
        .ok_or_else(|| HttpError::not_found("photo"))
}

async fn approve(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<PhotoRow>, HttpError> {
    state.keys.check_admin(&headers)?;
    let p = photo(&state, &id).await?;
    let was_published = p.status == PUBLISHED;
    state
        .db
        .set_status(&p.album_id, &p.content_hash, PUBLISHED)
        .await?;
    let p = photo(&state, &id).await?;
    if !was_published && p.rendition == GALLERY_RENDITION {
        state
            .hub
            .publish(LiveEvent {
                album_id: p.album_id.clone(),
                kind: LiveKind::Photo(PhotoView::from(&p)),
            })
            .await;
    }
    tracing::info!(photo_id = %id, "photo approved");
    Ok(Json(p))
}

async fn reject(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<PhotoRow>, HttpError> {
    state.keys.check_admin(&headers)?;
    let p = photo(&state, &id).await?;
    state
        .db
        .set_status(&p.album_id, &p.content_hash, REJECTED)
        .await?;
    if p.status == PUBLISHED {
        remove_from_pages(&state, &p).await;
    }
    tracing::info!(photo_id = %id, "photo rejected");
    Ok(Json(photo(&state, &id).await?))
}

/// Deletes the photo's original everywhere: every rendition's row and objects, and its
/// tile on every open gallery page.
async fn delete_photo(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, HttpError> {
    state.keys.check_admin(&headers)?;
    let p = photo(&state, &id).await?;
    // Rows first: once they are gone no page can link the files, then the files go.
    let rows = state
        .db
        .delete_original(&p.album_id, &p.content_hash)
        .await?;
    for row in &rows {
        state.store.delete_photo(&row.album_id, &row.id).await;
        if row.rendition == GALLERY_RENDITION {
            remove_from_pages(&state, row).await;
        }
    }
    tracing::info!(photo_id = %id, renditions = rows.len(), "photo deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_from_pages(state: &AppState, p: &PhotoRow) {
    state
        .hub
        .publish(LiveEvent {
            album_id: p.album_id.clone(),
            kind: LiveKind::Remove { id: p.id.clone() },
        })
        .await;
}

/// For the front page: public albums only.
pub fn listed(row: &AlbumRow) -> bool {
    row.visibility == Visibility::Public
}
