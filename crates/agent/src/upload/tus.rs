//! A tus 1.0 client (core, creation, creation-with-upload, checksum) for the Hotshoe album
//! server and any other tus server. The upload URL is remembered in the journal as soon as the
//! server names it, so an interrupted upload resumes from the server's offset instead of
//! starting over; the original's content hash travels as upload metadata so the album server
//! can answer "already have it".

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use reqwest::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION,
};
use reqwest::StatusCode;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{Target, UploadError, UploadIo, Uploaded};
use crate::journal::UploadJob;

/// Bytes sent per request. Bounded so memory stays flat whatever the file size, and large
/// enough that a 2 MB web rendition goes in one request.
const CHUNK: usize = 8 * 1024 * 1024;

/// An album-server (or other tus) target.
pub struct TusTarget {
    name: String,
    endpoint: reqwest::Url,
    token: Option<String>,
    http: reqwest::Client,
}

impl TusTarget {
    pub fn new(name: &str, endpoint: &str, token: Option<&str>) -> Result<TusTarget, String> {
        let endpoint = reqwest::Url::parse(endpoint)
            .map_err(|e| format!("bad upload URL {endpoint:?}: {e}"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Per-request cap: a stalled connection must not hold a shot forever.
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(TusTarget {
            name: name.to_owned(),
            endpoint,
            token: token.map(str::to_owned),
            http,
        })
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("Tus-Resumable", HeaderValue::from_static("1.0.0"));
        if let Some(t) = &self.token {
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}")) {
                h.insert(AUTHORIZATION, v);
            }
        }
        h
    }

    fn metadata(job: &UploadJob) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        let mut parts = vec![
            format!("filename {}", b64(&job.filename)),
            format!("content_hash {}", b64(&job.content_hash)),
            format!("rendition {}", b64(&job.kind)),
        ];
        if let Some(c) = &job.captured_at {
            parts.push(format!("captured_at {}", b64(c)));
        }
        parts.join(",")
    }

    /// Where the server has the upload now, or `Gone` when it no longer knows it.
    async fn offset_of(&self, url: &str) -> Result<u64, UploadError> {
        let resp = self
            .http
            .head(url)
            .headers(self.headers())
            .send()
            .await
            .map_err(net)?;
        match resp.status() {
            s if s.is_success() => header_u64(resp.headers(), "Upload-Offset")
                .ok_or_else(|| UploadError::Transient("HEAD answer without Upload-Offset".into())),
            StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::FORBIDDEN => Err(
                UploadError::Gone(format!("server answered {}", resp.status())),
            ),
            s => Err(status_error(s, "HEAD")),
        }
    }

    async fn read_chunk(
        file: &mut tokio::fs::File,
        offset: u64,
        total: u64,
    ) -> Result<Vec<u8>, UploadError> {
        let len = (total - offset).min(CHUNK as u64) as usize;
        let mut buf = vec![0u8; len];
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(local)?;
        file.read_exact(&mut buf).await.map_err(local)?;
        Ok(buf)
    }
}

fn net(e: reqwest::Error) -> UploadError {
    UploadError::Transient(format!("network: {e}"))
}

fn local(e: std::io::Error) -> UploadError {
    UploadError::Rejected(format!("cannot read the rendition: {e}"))
}

fn status_error(s: StatusCode, what: &str) -> UploadError {
    match s {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => UploadError::Rejected(format!(
            "{what}: the album refused the upload token ({s}); check the setup link"
        )),
        StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNSUPPORTED_MEDIA_TYPE
        | StatusCode::UNPROCESSABLE_ENTITY => {
            UploadError::Rejected(format!("{what}: the album rejected the file ({s})"))
        }
        StatusCode::NOT_FOUND | StatusCode::GONE => UploadError::Gone(format!("{what}: {s}")),
        // 409 (offset mismatch), 460 (checksum), 429, 5xx: ask again.
        s => UploadError::Transient(format!("{what}: server answered {s}")),
    }
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn header_string(h: &HeaderMap, name: &str) -> Option<String> {
    Some(h.get(name)?.to_str().ok()?.to_owned())
}

fn sha1_b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(data))
}

#[async_trait]
impl Target for TusTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn upload(&self, job: &UploadJob, io: &UploadIo<'_>) -> Result<Uploaded, UploadError> {
        let mut file = tokio::fs::File::open(&job.path).await.map_err(local)?;
        let total = file.metadata().await.map_err(local)?.len();
        let mut remote_id = None;
        let (url, mut offset) = match &job.upload_url {
            Some(url) => (url.clone(), self.offset_of(url).await?),
            None => {
                // creation-with-upload: the first chunk rides on the POST, so a small rendition
                // costs one round trip.
                let first = Self::read_chunk(&mut file, 0, total).await?;
                let first_len = first.len();
                let resp = self
                    .http
                    .post(self.endpoint.clone())
                    .headers(self.headers())
                    .header("Upload-Length", total.to_string())
                    .header("Upload-Metadata", Self::metadata(job))
                    .header(CONTENT_TYPE, "application/offset+octet-stream")
                    .header(CONTENT_LENGTH, first_len)
                    .body(reqwest::Body::wrap_stream(io.pacer.body(first.into())))
                    .send()
                    .await
                    .map_err(net)?;
                if resp.status() != StatusCode::CREATED {
                    return Err(status_error(resp.status(), "POST"));
                }
                let h = resp.headers();
                let location = header_string(h, LOCATION.as_str())
                    .ok_or_else(|| UploadError::Transient("POST answer without Location".into()))?;
                let url = self
                    .endpoint
                    .join(&location)
                    .map_err(|e| UploadError::Transient(format!("bad Location {location:?}: {e}")))?
                    .to_string();
                if h.get("Hotshoe-Duplicate").is_some() {
                    return Ok(Uploaded {
                        remote_id: header_string(h, "Hotshoe-Photo-Id"),
                        duplicate: true,
                    });
                }
                remote_id = header_string(h, "Hotshoe-Photo-Id");
                let offset = header_u64(h, "Upload-Offset").unwrap_or(0);
                if offset < total {
                    io.resume.remember(&url).await;
                }
                (url, offset)
            }
        };
        while offset < total {
            let chunk = Self::read_chunk(&mut file, offset, total).await?;
            let sent = chunk.len() as u64;
            let resp = self
                .http
                .patch(&url)
                .headers(self.headers())
                .header("Upload-Offset", offset.to_string())
                .header("Upload-Checksum", format!("sha1 {}", sha1_b64(&chunk)))
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .header(CONTENT_LENGTH, sent)
                .body(reqwest::Body::wrap_stream(io.pacer.body(chunk.into())))
                .send()
                .await
                .map_err(net)?;
            match resp.status() {
                StatusCode::NO_CONTENT | StatusCode::OK => {
                    let h = resp.headers();
                    offset = header_u64(h, "Upload-Offset").unwrap_or(offset + sent);
                    if let Some(id) = header_string(h, "Hotshoe-Photo-Id") {
                        remote_id = Some(id);
                    }
                }
                StatusCode::CONFLICT => {
                    // Our idea of the offset is stale (a previous PATCH landed after all).
                    offset = self.offset_of(&url).await?;
                }
                s => return Err(status_error(s, "PATCH")),
            }
        }
        Ok(Uploaded {
            remote_id,
            duplicate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_base64_pairs() {
        let job = UploadJob {
            shot_id: 1,
            kind: "web".into(),
            target: "album".into(),
            upload_url: None,
            attempts: 0,
            path: "/x".into(),
            bytes: 1,
            filename: "IMG_0001.JPG".into(),
            content_hash: "ab".into(),
            captured_at: None,
            detected_at: "2026-01-01T00:00:00.000Z".into(),
        };
        assert_eq!(
            TusTarget::metadata(&job),
            "filename SU1HXzAwMDEuSlBH,content_hash YWI=,rendition d2Vi"
        );
    }
}
