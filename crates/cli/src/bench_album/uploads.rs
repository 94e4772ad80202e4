//! Photos for the benchmark and their tus uploads.
//!
//! Photos are web renditions as the agent makes them (2048 px long edge, q82, camsim
//! scenes with camera EXIF), each distinct, so the server verifies and thumbnails real
//! JPEGs. Uploads go as a non-`creation-with-upload` tus client would: `POST` to create,
//! then one `PATCH` with the whole file, so "upload complete" is a clear moment: the final
//! PATCH's response.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine;
use bytes::Bytes;

/// One web rendition ready to upload.
pub struct Photo {
    pub filename: String,
    pub bytes: Bytes,
    pub content_hash: String,
}

/// `count` distinct web renditions, numbered from `first`; rendered on the blocking pool.
pub async fn make_photos(first: u32, count: usize) -> Result<Vec<Photo>> {
    tokio::task::spawn_blocking(move || {
        (0..count as u32)
            .map(|i| {
                let seq = first + i;
                let spec = camsim::scene::ShotSpec {
                    width: 2048,
                    height: 1365,
                    quality: 82,
                    captured_at: time::OffsetDateTime::now_utc(),
                    ..Default::default()
                };
                let bytes = camsim::scene::render_shot(seq, &spec);
                Photo {
                    filename: format!("BENCH_{seq:04}.jpg"),
                    content_hash: blake3::hash(&bytes).to_hex().to_string(),
                    bytes: Bytes::from(bytes),
                }
            })
            .collect()
    })
    .await
    .context("rendering benchmark photos")
}

/// When an upload's last request went out and when its answer came back.
pub struct Uploaded {
    pub photo_id: String,
    /// Just before the final PATCH (all the file's bytes) was sent.
    pub sent: Instant,
    /// The final PATCH's response arrived: the upload is complete for the uploader.
    pub done: Instant,
}

pub struct TusClient {
    http: reqwest::Client,
    endpoint: String,
    token: String,
}

impl TusClient {
    pub fn new(endpoint: &str, token: &str) -> Result<TusClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(TusClient {
            http,
            endpoint: endpoint.to_owned(),
            token: token.to_owned(),
        })
    }

    pub async fn upload(&self, photo: &Photo) -> Result<Uploaded> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let metadata = format!(
            "filename {},content_hash {},rendition {}",
            b64(&photo.filename),
            b64(&photo.content_hash),
            b64("web")
        );
        let created = self
            .http
            .post(&self.endpoint)
            .header("Tus-Resumable", "1.0.0")
            .bearer_auth(&self.token)
            .header("Upload-Length", photo.bytes.len().to_string())
            .header("Upload-Metadata", metadata)
            .send()
            .await
            .context("tus create")?;
        if created.status() != reqwest::StatusCode::CREATED {
            bail!("tus create answered {}", created.status());
        }
        let location = created
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .context("tus create answered without Location")?;
        let url = reqwest::Url::parse(&self.endpoint)?.join(location)?;

        let request = self
            .http
            .patch(url)
            .header("Tus-Resumable", "1.0.0")
            .bearer_auth(&self.token)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", "0")
            .body(photo.bytes.clone());
        let sent = Instant::now();
        let resp = request.send().await.context("tus PATCH")?;
        let done = Instant::now();
        if resp.status() != reqwest::StatusCode::NO_CONTENT {
            bail!("tus PATCH answered {}", resp.status());
        }
        if resp.headers().contains_key("hotshoe-duplicate") {
            bail!("the server took {} for a duplicate", photo.filename);
        }
        let photo_id = resp
            .headers()
            .get("hotshoe-photo-id")
            .and_then(|v| v.to_str().ok())
            .context("the completed upload's answer names no photo (Hotshoe-Photo-Id)")?
            .to_owned();
        Ok(Uploaded {
            photo_id,
            sent,
            done,
        })
    }
}
