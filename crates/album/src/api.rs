//! Admin JSON API, behind the server's admin token: albums and their photo lists.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::db::{AlbumOptions, PhotoRow};
use crate::http_error::HttpError;
use crate::server::{create_album, AlbumInfo, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/albums", get(list_albums).post(new_album))
        .route("/api/albums/{id}/photos", get(album_photos))
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
) -> Result<(StatusCode, Json<AlbumInfo>), HttpError> {
    // Auth before parsing, so a stranger learns nothing about the expected body.
    state.admin.check(&headers)?;
    let Json(req) = body.map_err(|e| HttpError::new(e.status(), e.body_text()))?;
    let info = create_album(&state, &req.title, &req.options).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn list_albums(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<AlbumInfo>>, HttpError> {
    state.admin.check(&headers)?;
    let rows = state.db.albums().await?;
    Ok(Json(rows.iter().map(|r| state.album_info(r)).collect()))
}

async fn album_photos(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<PhotoRow>>, HttpError> {
    state.admin.check(&headers)?;
    if state.db.album_by_id(&id).await?.is_none() {
        return Err(HttpError::not_found("album"));
    }
    Ok(Json(state.db.album_photos(&id).await?))
}
