//! The tus 1.0 resumable upload endpoint (`/api/tus/`).
//!
//! Extensions: creation, creation-with-upload, termination, checksum (sha1), expiration.
//! Bytes are streamed to `data_dir/uploads/{id}.part` and the offset is recorded in the
//! database only after the bytes are synced, so a crash can lose the tail of a chunk but
//! never claim bytes it does not have; the client re-sends from the offset HEAD reports.
//! Those files are the one per-instance state of the server: behind a load balancer,
//! `/api/tus/{id}` needs session affinity (docs/decisions/0008).
//! Finished files are handed to `finalize`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{head, options};
use axum::Router;
use base64::Engine;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha1::Digest;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::auth;
use crate::db::{AlbumRow, UploadRow};
use crate::finalize::{self, Finished};
use crate::http_error::HttpError;
use crate::server::AppState;
use crate::token;

const TUS_VERSION: &str = "1.0.0";
const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// Custom status of the tus checksum extension.
const CHECKSUM_MISMATCH: u16 = 460;

static TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
static TUS_VERSION_H: HeaderName = HeaderName::from_static("tus-version");
static UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
static UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
static UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
pub static PHOTO_ID: HeaderName = HeaderName::from_static("hotshoe-photo-id");
pub static DUPLICATE: HeaderName = HeaderName::from_static("hotshoe-duplicate");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tus", options(discover).post(create))
        .route("/api/tus/", options(discover).post(create))
        .route(
            "/api/tus/{id}",
            head(status)
                .patch(append)
                .delete(terminate)
                .options(discover),
        )
        .layer(map_response(add_tus_resumable))
}

/// Every tus response, errors included, names the protocol version.
async fn add_tus_resumable(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(TUS_RESUMABLE.clone(), HeaderValue::from_static(TUS_VERSION));
    response
}

/// What the client told us in `Upload-Metadata`, validated.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UploadMeta {
    pub filename: Option<String>,
    /// Hex BLAKE3 of the original file; the idempotency key. Computed from the received
    /// bytes when the client sends none.
    pub content_hash: Option<String>,
    pub rendition: String,
    pub captured_at: Option<String>,
    /// Sub-album, e.g. "Ceremony".
    #[serde(default)]
    pub section: Option<String>,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, HttpError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| HttpError::bad_request(format!("header {name} is not ASCII")))
        })
        .transpose()
}

fn header_u64(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, HttpError> {
    header_str(headers, name)?
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                HttpError::bad_request(format!("header {name} must be a non-negative integer"))
            })
        })
        .transpose()
}

fn require_resumable(headers: &HeaderMap) -> Result<(), HttpError> {
    match header_str(headers, &TUS_RESUMABLE)? {
        Some(TUS_VERSION) => Ok(()),
        other => Err(HttpError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("unsupported Tus-Resumable {other:?}, this server speaks {TUS_VERSION}"),
        )
        .with_header(TUS_VERSION_H.clone(), HeaderValue::from_static(TUS_VERSION))),
    }
}

fn require_offset_stream(headers: &HeaderMap) -> Result<(), HttpError> {
    let content_type = header_str(headers, &header::CONTENT_TYPE)?;
    match content_type {
        Some(ct) if ct.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM) => Ok(()),
        other => Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type must be {OFFSET_OCTET_STREAM}, got {other:?}"),
        )),
    }
}

/// Parses `key base64,key2 base64,key3` into a map.
fn parse_metadata(raw: &str) -> Result<HashMap<String, String>, HttpError> {
    let mut map = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let key = parts.next().unwrap_or_default();
        let value = match parts.next() {
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| {
                        HttpError::bad_request(format!(
                            "Upload-Metadata value of {key:?} is not base64"
                        ))
                    })?;
                String::from_utf8(bytes).map_err(|_| {
                    HttpError::bad_request(format!("Upload-Metadata value of {key:?} is not UTF-8"))
                })?
            }
            None => String::new(),
        };
        if parts.next().is_some() {
            return Err(HttpError::bad_request(format!(
                "malformed Upload-Metadata pair {pair:?}"
            )));
        }
        if map.insert(key.to_owned(), value).is_some() {
            return Err(HttpError::bad_request(format!(
                "Upload-Metadata key {key:?} appears twice"
            )));
        }
    }
    Ok(map)
}

fn validate_metadata(mut map: HashMap<String, String>) -> Result<UploadMeta, HttpError> {
    let content_hash = match map.remove("content_hash") {
        Some(h) => {
            let h = h.trim().to_ascii_lowercase();
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(HttpError::bad_request(
                    "content_hash must be 64 hex characters (BLAKE3)",
                ));
            }
            Some(h)
        }
        None => None,
    };
    let rendition = map
        .remove("rendition")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "web".to_owned());
    if rendition.len() > 32
        || !rendition
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(HttpError::bad_request(
            "rendition must be 1-32 characters of [A-Za-z0-9_-]",
        ));
    }
    let captured_at = match map.remove("captured_at").filter(|c| !c.is_empty()) {
        Some(c) => {
            time::OffsetDateTime::parse(&c, &time::format_description::well_known::Rfc3339)
                .map_err(|_| HttpError::bad_request("captured_at must be RFC 3339"))?;
            Some(c)
        }
        None => None,
    };
    let section = match map.remove("section").map(|s| s.trim().to_owned()) {
        Some(s) if s.is_empty() => None,
        Some(s) if s.chars().count() > 40 || s.chars().any(char::is_control) => {
            return Err(HttpError::bad_request(
                "section must be at most 40 printable characters",
            ))
        }
        other => other,
    };
    let filename = map
        .remove("filename")
        .filter(|f| !f.is_empty())
        .map(|f| f.chars().take(255).collect());
    Ok(UploadMeta {
        filename,
        content_hash,
        rendition,
        captured_at,
        section,
    })
}

/// `Upload-Checksum: sha1 <base64 digest>`.
fn parse_checksum(headers: &HeaderMap) -> Result<Option<[u8; 20]>, HttpError> {
    let Some(raw) = header_str(headers, &HeaderName::from_static("upload-checksum"))? else {
        return Ok(None);
    };
    let (algorithm, encoded) = raw
        .trim()
        .split_once(' ')
        .ok_or_else(|| HttpError::bad_request("Upload-Checksum must be '<algorithm> <base64>'"))?;
    if !algorithm.eq_ignore_ascii_case("sha1") {
        return Err(HttpError::bad_request(format!(
            "unsupported checksum algorithm {algorithm:?}, use sha1"
        )));
    }
    let digest = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|d| <[u8; 20]>::try_from(d).ok())
        .ok_or_else(|| HttpError::bad_request("Upload-Checksum digest is not a base64 SHA-1"))?;
    Ok(Some(digest))
}

fn http_date(unix: i64) -> HeaderValue {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let text = time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default();
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn num(n: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&n.to_string()).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

fn photo_headers(headers: &mut HeaderMap, finished: &Finished) {
    if let Ok(v) = HeaderValue::from_str(&finished.photo_id) {
        headers.insert(PHOTO_ID.clone(), v);
    }
    if finished.duplicate {
        headers.insert(DUPLICATE.clone(), HeaderValue::from_static("1"));
    }
}

/// Marks an upload as having a writer; released on drop, even on early return.
struct BusyGuard<'a> {
    state: &'a AppState,
    id: String,
}

impl<'a> BusyGuard<'a> {
    fn acquire(state: &'a AppState, id: &str) -> Result<Self, HttpError> {
        let mut busy = state.busy.lock().unwrap_or_else(|p| p.into_inner());
        if !busy.insert(id.to_owned()) {
            return Err(HttpError::new(
                StatusCode::LOCKED,
                "another request is writing this upload",
            ));
        }
        Ok(Self {
            state,
            id: id.to_owned(),
        })
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.state
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

async fn discover(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(TUS_VERSION_H.clone(), HeaderValue::from_static(TUS_VERSION));
    h.insert(
        HeaderName::from_static("tus-extension"),
        HeaderValue::from_static(TUS_EXTENSIONS),
    );
    h.insert(
        HeaderName::from_static("tus-max-size"),
        num(state.max_upload_bytes),
    );
    h.insert(
        HeaderName::from_static("tus-checksum-algorithm"),
        HeaderValue::from_static("sha1"),
    );
    response
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    require_resumable(&headers)?;
    let album = auth::upload_album(&state.db, &headers).await?;
    if headers.contains_key("upload-defer-length") {
        return Err(HttpError::bad_request(
            "Upload-Defer-Length is not supported; send Upload-Length",
        ));
    }
    let length = header_u64(&headers, &UPLOAD_LENGTH)?
        .ok_or_else(|| HttpError::bad_request("missing Upload-Length"))?;
    if length > state.max_upload_bytes {
        return Err(HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Upload-Length {length} exceeds Tus-Max-Size {}",
                state.max_upload_bytes
            ),
        ));
    }
    let raw_meta = header_str(&headers, &HeaderName::from_static("upload-metadata"))?.unwrap_or("");
    let meta = validate_metadata(parse_metadata(raw_meta)?)?;
    let with_body = has_body(&headers);
    if with_body {
        require_offset_stream(&headers)?;
    }

    let upload_id = token::upload_id();
    let location = format!("{}/api/tus/{upload_id}", state.base_url);
    let expires_at = token::now_unix() + state.upload_ttl_secs;
    let metadata_json = serde_json::to_string(&meta)
        .map_err(|e| HttpError::internal("encoding upload metadata", e))?;

    // The idempotency shortcut: the album already has this original, so the client can
    // skip sending it. The upload is recorded as complete so HEAD on Location agrees.
    if let Some(hash) = &meta.content_hash {
        if let Some(existing) = state
            .db
            .photo_by_identity(&album.id, hash, &meta.rendition)
            .await?
        {
            state
                .db
                .insert_upload(&UploadRow {
                    id: upload_id.clone(),
                    album_id: album.id.clone(),
                    length: length as i64,
                    offset: length as i64,
                    metadata: metadata_json,
                    photo_id: Some(existing.id.clone()),
                    expires_at,
                })
                .await?;
            tracing::info!(album_id = %album.id, photo_id = %existing.id, content_hash = %hash,
                rendition = %meta.rendition, "duplicate upload answered as complete");
            let finished = Finished {
                photo_id: existing.id,
                duplicate: true,
            };
            return Ok(created_response(
                &location,
                length,
                expires_at,
                Some(&finished),
            ));
        }
    }

    let upload = UploadRow {
        id: upload_id.clone(),
        album_id: album.id.clone(),
        length: length as i64,
        offset: 0,
        metadata: metadata_json,
        photo_id: None,
        expires_at,
    };
    let guard = BusyGuard::acquire(&state, &upload_id)?;
    tokio::fs::File::create(state.part_path(&upload_id)).await?;
    state.db.insert_upload(&upload).await?;
    tracing::info!(album_id = %album.id, upload_id = %upload_id, length,
        filename = meta.filename.as_deref().unwrap_or(""), "upload created");

    let mut offset = 0;
    if with_body {
        let checksum = parse_checksum(&headers)?;
        offset = write_chunk(&state, &upload, body, checksum).await?;
    }
    let finished = if offset == upload.length {
        Some(finish(&state, &album, &upload, meta).await?)
    } else {
        None
    };
    drop(guard);
    Ok(created_response(
        &location,
        offset as u64,
        expires_at,
        finished.as_ref(),
    ))
}

fn created_response(
    location: &str,
    offset: u64,
    expires_at: i64,
    finished: Option<&Finished>,
) -> Response {
    let mut response = StatusCode::CREATED.into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(UPLOAD_OFFSET.clone(), num(offset));
    h.insert(UPLOAD_EXPIRES.clone(), http_date(expires_at));
    if let Some(f) = finished {
        photo_headers(h, f);
    }
    response
}

/// The upload `id` if it belongs to `album`; others' uploads look absent.
async fn find_upload(state: &AppState, album: &AlbumRow, id: &str) -> Result<UploadRow, HttpError> {
    match state.db.upload(id).await? {
        Some(u) if u.album_id == album.id => Ok(u),
        _ => Err(HttpError::not_found("upload")),
    }
}

fn check_not_expired(upload: &UploadRow) -> Result<(), HttpError> {
    if upload.photo_id.is_none() && upload.expires_at <= token::now_unix() {
        return Err(HttpError::new(StatusCode::GONE, "upload expired"));
    }
    Ok(())
}

async fn status(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    require_resumable(&headers)?;
    let album = auth::upload_album(&state.db, &headers).await?;
    let upload = find_upload(&state, &album, &id).await?;
    check_not_expired(&upload)?;
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(UPLOAD_OFFSET.clone(), num(upload.offset));
    h.insert(UPLOAD_LENGTH.clone(), num(upload.length));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(UPLOAD_EXPIRES.clone(), http_date(upload.expires_at));
    if let Some(photo_id) = &upload.photo_id {
        if let Ok(v) = HeaderValue::from_str(photo_id) {
            h.insert(PHOTO_ID.clone(), v);
        }
    }
    Ok(response)
}

async fn append(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    require_resumable(&headers)?;
    let album = auth::upload_album(&state.db, &headers).await?;
    require_offset_stream(&headers)?;
    let client_offset = header_u64(&headers, &UPLOAD_OFFSET)?
        .ok_or_else(|| HttpError::bad_request("missing Upload-Offset"))?;
    let checksum = parse_checksum(&headers)?;
    let _guard = BusyGuard::acquire(&state, &id)?;
    // Read after taking the guard so the offset cannot move underneath us.
    let upload = find_upload(&state, &album, &id).await?;
    check_not_expired(&upload)?;
    if client_offset != upload.offset as u64 {
        return Err(HttpError::new(
            StatusCode::CONFLICT,
            format!(
                "Upload-Offset {client_offset} does not match the server's {}",
                upload.offset
            ),
        )
        .with_header(UPLOAD_OFFSET.clone(), num(upload.offset)));
    }

    let finished = if let Some(photo_id) = &upload.photo_id {
        // Already complete: the client lost our last answer and asks again.
        Some(Finished {
            photo_id: photo_id.clone(),
            duplicate: false,
        })
    } else {
        let offset = if upload.offset < upload.length {
            write_chunk(&state, &upload, body, checksum).await?
        } else {
            upload.offset
        };
        if offset == upload.length {
            let meta: UploadMeta = serde_json::from_str(&upload.metadata)
                .map_err(|e| HttpError::internal("decoding stored upload metadata", e))?;
            Some(finish(&state, &album, &upload, meta).await?)
        } else {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert(UPLOAD_OFFSET.clone(), num(offset));
            response
                .headers_mut()
                .insert(UPLOAD_EXPIRES.clone(), http_date(upload.expires_at));
            return Ok(response);
        }
    };

    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(UPLOAD_OFFSET.clone(), num(upload.length));
    if let Some(f) = &finished {
        photo_headers(h, f);
    }
    Ok(response)
}

async fn terminate(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    require_resumable(&headers)?;
    let album = auth::upload_album(&state.db, &headers).await?;
    let _guard = BusyGuard::acquire(&state, &id)?;
    let upload = find_upload(&state, &album, &id).await?;
    discard(&state, &upload.id).await;
    tracing::info!(upload_id = %id, "upload terminated by client");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Forgets an upload: its row and its partial file. A finished photo is not touched.
pub async fn discard(state: &AppState, upload_id: &str) {
    if let Err(e) = state.db.delete_upload(upload_id).await {
        tracing::warn!(upload_id, error = %e, "could not delete upload row");
    }
    remove_part(&state.part_path(upload_id)).await;
}

async fn remove_part(path: &Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not remove partial upload")
        }
    }
}

/// Streams `body` onto the upload's partial file at its recorded offset and records the
/// new offset. Never holds more than one body frame in memory.
async fn write_chunk(
    state: &AppState,
    upload: &UploadRow,
    body: Body,
    checksum: Option<[u8; 20]>,
) -> Result<i64, HttpError> {
    let path = state.part_path(&upload.id);
    let start = upload.offset as u64;
    let remaining = (upload.length - upload.offset) as u64;
    let mut file = match tokio::fs::OpenOptions::new().write(true).open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(held_elsewhere(upload)),
        Err(e) => return Err(e.into()),
    };
    // Drop anything past the recorded offset: bytes written before a crash but never
    // acknowledged, which the client will send again.
    file.set_len(start).await?;
    file.seek(std::io::SeekFrom::Start(start)).await?;

    let mut hasher = sha1::Sha1::new();
    let mut written: u64 = 0;
    let mut stream = body.into_data_stream();
    let mut failure: Option<HttpError> = None;
    while let Some(frame) = stream.next().await {
        let data = match frame {
            Ok(d) => d,
            Err(e) => {
                failure = Some(HttpError::bad_request(format!(
                    "request body interrupted: {e}"
                )));
                break;
            }
        };
        if written + data.len() as u64 > remaining {
            failure = Some(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body runs past Upload-Length {}", upload.length),
            ));
            break;
        }
        file.write_all(&data).await?;
        hasher.update(&data);
        written += data.len() as u64;
    }

    let keep = match (&failure, checksum) {
        // Oversize chunks are refused whole so the client can fix and retry from `start`.
        (Some(f), _) if f.status() == StatusCode::PAYLOAD_TOO_LARGE => false,
        // An interrupted chunk without a checksum still counts: tus lets the client resume
        // from whatever arrived.
        (Some(_), None) => true,
        (Some(_), Some(_)) => false,
        (None, Some(expected)) => {
            let actual: [u8; 20] = hasher.finalize().into();
            if actual != expected {
                failure = Some(HttpError::new(
                    StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST),
                    "Upload-Checksum mismatch; chunk discarded",
                ));
                false
            } else {
                true
            }
        }
        (None, None) => true,
    };
    if !keep {
        written = 0;
        file.set_len(start).await?;
    }
    file.flush().await?;
    // Durable before acknowledged: the offset we report must survive a power cut.
    file.sync_data().await?;
    drop(file);
    let new_offset = upload.offset + written as i64;
    if written > 0 {
        state.db.set_upload_offset(&upload.id, new_offset).await?;
    }
    match failure {
        Some(f) => Err(f.with_header(UPLOAD_OFFSET.clone(), num(new_offset))),
        None => Ok(new_offset),
    }
}

/// The row is shared (one database), but the bytes of an unfinished upload are on the disk
/// of the instance that created it. A request for it that lands on another instance says
/// so instead of failing as an opaque I/O error; 503 with Retry-After is what tus clients
/// (tus-js-client, tuspy, our agent) retry, and nothing was written, so the offset stands.
fn held_elsewhere(upload: &UploadRow) -> HttpError {
    tracing::warn!(upload_id = %upload.id, "tus request for an upload held by another instance; \
        route /api/tus/{{id}} with session affinity");
    HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "upload {} is being received by another album server instance; \
             route /api/tus/{{id}} to the instance that created it",
            upload.id
        ),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    .with_header(UPLOAD_OFFSET.clone(), num(upload.offset))
}

/// Turns a complete upload into a photo; a rejected file is discarded with its upload.
async fn finish(
    state: &AppState,
    album: &AlbumRow,
    upload: &UploadRow,
    meta: UploadMeta,
) -> Result<Finished, HttpError> {
    let path = state.part_path(&upload.id);
    if !tokio::fs::try_exists(&path).await? {
        return Err(held_elsewhere(upload));
    }
    match finalize::finish(state, album, &path, meta).await {
        Ok(finished) => {
            state
                .db
                .complete_upload(&upload.id, &finished.photo_id)
                .await?;
            remove_part(&path).await;
            Ok(finished)
        }
        Err(e) => {
            if e.status() == StatusCode::UNPROCESSABLE_ENTITY {
                discard(state, &upload.id).await;
            }
            Err(e)
        }
    }
}

/// Periodically forgets expired uploads so abandoned partial files do not pile up.
pub async fn janitor(state: AppState, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        match state.db.expired_uploads(token::now_unix()).await {
            Ok(ids) => {
                for id in ids {
                    // Skip uploads a request is writing right now; the next round gets them.
                    let Ok(_guard) = BusyGuard::acquire(&state, &id) else {
                        continue;
                    };
                    discard(&state, &id).await;
                    tracing::info!(upload_id = %id, "expired upload removed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list expired uploads"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_parses_keys_and_empty_values() {
        let m = parse_metadata("filename aGVsbG8uanBn, rendition d2Vi,empty").unwrap();
        assert_eq!(m["filename"], "hello.jpg");
        assert_eq!(m["rendition"], "web");
        assert_eq!(m["empty"], "");
    }

    #[test]
    fn metadata_rejects_bad_base64_and_duplicates() {
        assert!(parse_metadata("filename !!!").is_err());
        assert!(parse_metadata("a YQ==,a YQ==").is_err());
        assert!(parse_metadata("a YQ== extra").is_err());
    }

    #[test]
    fn metadata_validation() {
        let mut m = HashMap::new();
        m.insert("content_hash".to_owned(), "zz".to_owned());
        assert!(validate_metadata(m).is_err());
        let mut m = HashMap::new();
        m.insert("captured_at".to_owned(), "yesterday".to_owned());
        assert!(validate_metadata(m).is_err());
        let meta = validate_metadata(HashMap::new()).unwrap();
        assert_eq!(meta.rendition, "web");
    }

    #[test]
    fn http_date_format() {
        assert_eq!(
            http_date(1_403_712_000).to_str().unwrap(),
            "Wed, 25 Jun 2014 16:00:00 GMT"
        );
    }
}
