//! Bearer-token auth: one admin token per server, one upload token per album.
//!
//! Missing or malformed credentials answer 401 (with `WWW-Authenticate`), a well-formed
//! upload token that matches no album 403, so a misconfigured agent can tell "I sent
//! nothing usable" from "I sent the wrong album's token".

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::db::{AlbumRow, Db};
use crate::http_error::HttpError;

fn unauthorized(message: &str) -> HttpError {
    HttpError::new(StatusCode::UNAUTHORIZED, message)
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, HttpError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing Authorization: Bearer token"))?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("malformed Authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| unauthorized("malformed Authorization header, expected Bearer"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(unauthorized(
            "malformed Authorization header, expected Bearer",
        ));
    }
    Ok(token)
}

/// The server's admin token, kept as a hash so checks compare in constant time.
pub struct AdminToken {
    hash: blake3::Hash,
}

impl AdminToken {
    pub fn new(token: &str) -> Self {
        Self {
            hash: blake3::hash(token.as_bytes()),
        }
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), HttpError> {
        let token = bearer(headers)?;
        // blake3::Hash equality is constant-time.
        if blake3::hash(token.as_bytes()) == self.hash {
            Ok(())
        } else {
            Err(unauthorized("wrong admin token"))
        }
    }
}

/// The album an upload request is for, decided by its upload token alone.
pub async fn upload_album(db: &Db, headers: &HeaderMap) -> Result<AlbumRow, HttpError> {
    let token = bearer(headers)?;
    db.album_by_upload_token(token)
        .await?
        .ok_or_else(|| HttpError::new(StatusCode::FORBIDDEN, "upload token matches no album"))
}
