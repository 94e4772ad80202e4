//! Who may do what.
//!
//! - **Admin**: one token per server (bearer header, or the `hs_admin` cookie the admin page
//!   sets after login). Everything.
//! - **Uploader**: a per-album upload token (bearer); tokens are listed, added and revoked
//!   through the admin API. Upload to that album only: no reading, no deleting others' work.
//! - **Viewer**: whoever has an album's gallery link (unguessable slug) — plus its password
//!   when it has one, proven by an `hs_v_{album}` cookie. Sees published photos only.
//!
//! Missing or malformed credentials answer 401 (with `WWW-Authenticate`), a well-formed
//! upload token that matches no live album token 403, so a misconfigured agent can tell "I
//! sent nothing usable" from "I sent a wrong or revoked token". Private, unknown and
//! locked-out galleries answer 404 so slugs cannot be probed.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::db::{AlbumRow, Db, Visibility};
use crate::http_error::HttpError;
use crate::token;

pub const ADMIN_COOKIE: &str = "hs_admin";

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

/// A cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Secrets of this server: the admin token and the key that signs viewer cookies. Kept as
/// hashes and keys so comparisons are constant-time (`blake3::Hash` equality is).
pub struct Keys {
    admin_hash: blake3::Hash,
    cookie_key: [u8; 32],
}

impl Keys {
    pub fn new(admin_token: &str, cookie_secret: &str) -> Self {
        Self {
            admin_hash: blake3::hash(admin_token.as_bytes()),
            cookie_key: blake3::derive_key(
                "hotshoe album viewer cookie v1",
                cookie_secret.as_bytes(),
            ),
        }
    }

    fn is_admin_token(&self, token: &str) -> bool {
        blake3::hash(token.as_bytes()) == self.admin_hash
    }

    /// Value of the admin cookie: never the token itself, so a leaked cookie jar does not
    /// leak the token an agent or script uses.
    pub fn admin_cookie_value(&self) -> String {
        blake3::keyed_hash(&self.cookie_key, self.admin_hash.as_bytes())
            .to_hex()
            .to_string()
    }

    /// True when the request carries the admin token or the admin page's cookie.
    pub fn is_admin(&self, headers: &HeaderMap) -> bool {
        if let Ok(t) = bearer(headers) {
            return self.is_admin_token(t);
        }
        cookie(headers, ADMIN_COOKIE).is_some_and(|c| {
            blake3::Hash::from_hex(c).ok() == blake3::Hash::from_hex(self.admin_cookie_value()).ok()
        })
    }

    /// Admin or nothing: 401 without credentials, 401 with wrong ones.
    pub fn check_admin(&self, headers: &HeaderMap) -> Result<(), HttpError> {
        if self.is_admin(headers) {
            return Ok(());
        }
        match bearer(headers) {
            Err(e) if cookie(headers, ADMIN_COOKIE).is_none() => Err(e),
            _ => Err(unauthorized("wrong admin token")),
        }
    }

    pub fn viewer_cookie_name(album: &AlbumRow) -> String {
        format!("hs_v_{}", album.id)
    }

    /// Proves the password was entered; changes (and so logs everyone out) when the
    /// password changes.
    pub fn viewer_cookie_value(&self, album: &AlbumRow) -> String {
        let input = format!(
            "{}\n{}",
            album.id,
            album.password_hash.as_deref().unwrap_or("")
        );
        blake3::keyed_hash(&self.cookie_key, input.as_bytes())
            .to_hex()
            .to_string()
    }

    fn has_viewer_cookie(&self, album: &AlbumRow, headers: &HeaderMap) -> bool {
        cookie(headers, &Self::viewer_cookie_name(album)).is_some_and(|c| {
            blake3::Hash::from_hex(c).ok()
                == blake3::Hash::from_hex(self.viewer_cookie_value(album)).ok()
        })
    }
}

/// What a guest (or the admin browsing) may do with an album.
pub enum ViewerAccess {
    Granted {
        album: AlbumRow,
        admin: bool,
    },
    /// The album has a password and the request has not proven it.
    Locked(AlbumRow),
}

pub fn viewer_access(
    keys: &Keys,
    album: AlbumRow,
    headers: &HeaderMap,
) -> Result<ViewerAccess, HttpError> {
    if keys.is_admin(headers) {
        return Ok(ViewerAccess::Granted { album, admin: true });
    }
    if album.visibility == Visibility::Private {
        return Err(HttpError::not_found("gallery"));
    }
    if album.password_hash.is_some() && !keys.has_viewer_cookie(&album, headers) {
        return Ok(ViewerAccess::Locked(album));
    }
    Ok(ViewerAccess::Granted {
        album,
        admin: false,
    })
}

/// `salt$hex(blake3(salt ‖ password))`. Gallery passwords are shared with every guest and
/// only keep strangers out of a link; a fast hash with a salt is proportionate.
pub fn hash_password(password: &str) -> String {
    let salt = token::secret();
    let digest = blake3::hash(format!("{salt}{password}").as_bytes());
    format!("{salt}${}", digest.to_hex())
}

pub fn check_password(stored: &str, password: &str) -> bool {
    let Some((salt, hex)) = stored.split_once('$') else {
        return false;
    };
    let digest = blake3::hash(format!("{salt}{password}").as_bytes());
    blake3::Hash::from_hex(hex).ok() == Some(digest)
}

/// The album an upload request is for, decided by its upload token alone.
pub async fn upload_album(db: &Db, headers: &HeaderMap) -> Result<AlbumRow, HttpError> {
    let token = bearer(headers)?;
    db.album_by_upload_token(token).await?.ok_or_else(|| {
        HttpError::new(
            StatusCode::FORBIDDEN,
            "upload token matches no album (wrong or revoked)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("confetti");
        assert!(check_password(&h, "confetti"));
        assert!(!check_password(&h, "Confetti"));
        assert!(!check_password("garbage", "confetti"));
    }

    #[test]
    fn cookies_parse() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hs_admin=xyz ;b=2"),
        );
        assert_eq!(cookie(&h, "hs_admin"), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
