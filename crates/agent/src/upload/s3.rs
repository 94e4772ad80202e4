//! An S3-compatible bucket (AWS, MinIO, Cloudflare R2, Backblaze, moto) through `object_store`.
//!
//! Renditions up to [`MULTIPART_THRESHOLD`] go in one PUT. Larger files (originals) go as a
//! multipart upload whose id and finished parts are remembered in the journal after every
//! part, so a restart continues at the next part instead of sending 60 MB again. Object names
//! derive from the content hash, so a retry overwrites the same key.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, RetryConfig,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::naming::{self, Secret};
use super::{Pacer, Target, UploadError, UploadIo, Uploaded, PIECE};
use crate::journal::UploadJob;

/// Files larger than this go as multipart uploads (resumable per part).
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
/// Bytes per part: S3 (and moto) refuse parts under 5 MiB except the last; R2 wants them all
/// the same size. This is also the most an S3 upload holds in memory at once.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

/// `kind = "s3"` in the agent's config.
#[derive(Clone, Serialize, Deserialize)]
pub struct S3Config {
    pub bucket: String,
    /// AWS region; also from `AWS_REGION` / `AWS_DEFAULT_REGION`. MinIO and moto accept
    /// `us-east-1`, R2 wants `auto`.
    #[serde(default)]
    pub region: Option<String>,
    /// For anything but AWS itself: `http://127.0.0.1:9000` (MinIO),
    /// `https://<account>.r2.cloudflarestorage.com` (R2). Also from `AWS_ENDPOINT_URL`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`: what MinIO and
    /// most self-hosted servers need. On by default when an endpoint is set.
    #[serde(default)]
    pub path_style: Option<bool>,
    /// Put every object under this folder (`events/2026-05-02`).
    #[serde(default)]
    pub prefix: String,
    /// Object name template (see `upload::naming::object_name`); keep `{hash}` in it so two
    /// shots never share a name.
    #[serde(default = "default_template")]
    pub template: String,
    /// How the object is reached by guests, `{key}` replaced by the object key
    /// (`https://cdn.example.com/{key}`); becomes the upload's remote id so the UI can link
    /// it. Without it the remote id is `s3://{bucket}/{key}`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Also from `AWS_ACCESS_KEY_ID`.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Also from `AWS_SECRET_ACCESS_KEY`. Never written back out or logged.
    #[serde(default, skip_serializing)]
    pub secret_access_key: Option<Secret>,
    /// Temporary credentials' session token; also from `AWS_SESSION_TOKEN`.
    #[serde(default, skip_serializing)]
    pub session_token: Option<Secret>,
}

fn default_template() -> String {
    naming::DEFAULT_TEMPLATE.to_owned()
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written out by hand so a new secret field cannot slip into logs by derive.
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .field("template", &self.template)
            .field("public_url", &self.public_url)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// What is remembered in the journal while a multipart upload is under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MultipartState {
    /// The S3 upload id.
    id: String,
    /// The key it writes: if the template changed since, the old upload is abandoned.
    key: String,
    part_size: u64,
    size: u64,
    /// What S3 answered for each finished part, in order (ETags).
    parts: Vec<String>,
}

pub struct S3Target {
    name: String,
    bucket: String,
    prefix: String,
    template: String,
    public_url: Option<String>,
    store: Arc<AmazonS3>,
    /// For the one request object_store has no call for (ListParts).
    http: reqwest::Client,
}

impl S3Target {
    pub fn new(name: &str, cfg: &S3Config) -> Result<S3Target, String> {
        if cfg.bucket.len() < 3 {
            return Err(format!("bucket name {:?} is too short", cfg.bucket));
        }
        // Environment first (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
        // AWS_ENDPOINT_URL, ...), then what the config file says wins.
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&cfg.bucket);
        if let Some(r) = &cfg.region {
            b = b.with_region(r);
        }
        if let Some(e) = &cfg.endpoint {
            b = b.with_endpoint(e);
        }
        let path_style = cfg.path_style.unwrap_or(cfg.endpoint.is_some());
        b = b.with_virtual_hosted_style_request(!path_style);
        if let Some(k) = &cfg.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(s) = &cfg.secret_access_key {
            b = b.with_secret_access_key(s.expose());
        }
        if let Some(t) = &cfg.session_token {
            b = b.with_token(t.expose());
        }
        let plain_http = cfg
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        let store = b
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(plain_http)
                    .with_connect_timeout(Duration::from_secs(10))
                    // One 8 MiB part on a 1 Mbit/s venue uplink takes over a minute.
                    .with_timeout(Duration::from_secs(300)),
            )
            // No retries inside object_store: the upload worker owns retry policy (backoff,
            // circuit), and a resent body would bypass the pacer.
            .with_retry(RetryConfig {
                max_retries: 0,
                ..RetryConfig::default()
            })
            .build()
            .map_err(|e| format!("S3 target {name}: {e}"))?;
        let prefix = naming::clean_prefix(&cfg.prefix).map_err(|e| e.to_string())?;
        Ok(S3Target {
            name: name.to_owned(),
            bucket: cfg.bucket.clone(),
            prefix,
            template: cfg.template.clone(),
            public_url: cfg.public_url.clone(),
            store: Arc::new(store),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?,
        })
    }

    /// The object key a job is stored under.
    pub fn key_of(&self, job: &UploadJob) -> Result<String, UploadError> {
        Ok(naming::join(
            &self.prefix,
            &naming::object_name(&self.template, job)?,
        ))
    }

    fn remote_id(&self, key: &str) -> String {
        match &self.public_url {
            Some(t) => t.replace("{key}", key),
            None => format!("s3://{}/{key}", self.bucket),
        }
    }

    fn content_type(job: &UploadJob, key: &str) -> Attributes {
        let mut a = Attributes::new();
        let ct = if job.kind == crate::Rendition::Web.as_str()
            || key.ends_with(".jpg")
            || key.ends_with(".jpeg")
        {
            "image/jpeg"
        } else {
            "application/octet-stream"
        };
        a.insert(Attribute::ContentType, ct.into());
        a
    }

    /// `Gone` when the server no longer knows the multipart upload (expired after days
    /// offline, aborted by a lifecycle rule). Asked with ListParts, signed by object_store,
    /// because servers disagree on what UploadPart with a stale id answers (S3 and MinIO say
    /// 404 NoSuchUpload, moto 500).
    async fn check_upload_exists(&self, path: &ObjectPath, id: &str) -> Result<(), UploadError> {
        let opts = SignedUrlOptions::new().with_query([("uploadId", id), ("max-parts", "1")]);
        let url = self
            .store
            .signed_url_opts(reqwest::Method::GET, path, Duration::from_secs(300), &opts)
            .await
            .map_err(|e| map_err(e, "ListParts"))?;
        let resp = self
            .http
            .get(url.as_str())
            .send()
            .await
            .map_err(|e| UploadError::Transient(format!("ListParts: {e}")))?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            reqwest::StatusCode::NOT_FOUND => Err(UploadError::Gone(
                "the multipart upload is no longer on the server".into(),
            )),
            s @ (reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN) => Err(
                UploadError::Rejected(format!("ListParts: S3 refused the credentials ({s})")),
            ),
            s => Err(UploadError::Transient(format!(
                "ListParts: server answered {s}"
            ))),
        }
    }

    async fn put_whole(
        &self,
        path: &ObjectPath,
        job: &UploadJob,
        file: &mut tokio::fs::File,
        size: u64,
        pacer: &Pacer,
    ) -> Result<(), UploadError> {
        let payload = read_paced(file, 0, size, pacer).await?;
        let opts = PutOptions {
            attributes: Self::content_type(job, path.as_ref()),
            ..PutOptions::default()
        };
        self.store
            .put_opts(path, payload, opts)
            .await
            .map_err(|e| map_err(e, "PUT"))?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        path: &ObjectPath,
        key: &str,
        job: &UploadJob,
        file: &mut tokio::fs::File,
        size: u64,
        io: &UploadIo<'_>,
    ) -> Result<Uploaded, UploadError> {
        let stored = job
            .upload_url
            .as_deref()
            .and_then(|s| serde_json::from_str::<MultipartState>(s).ok());
        let mut state = match stored {
            Some(s) if s.key == key && s.part_size == PART_SIZE && s.size == size => {
                // A crash after S3 completed the upload but before the journal heard of it:
                // the object is there whole.
                if let Ok(meta) = self.store.head(path).await {
                    if meta.size == size {
                        let _ = self.store.abort_multipart(path, &s.id).await;
                        return Ok(Uploaded {
                            remote_id: Some(self.remote_id(key)),
                            duplicate: true,
                        });
                    }
                }
                self.check_upload_exists(path, &s.id).await?;
                tracing::info!(target = %self.name, shot = job.shot_id, parts_done = s.parts.len(), "resuming multipart upload");
                s
            }
            other => {
                if let Some(old) = other {
                    // Made with other settings: not ours to finish. Best effort, the bucket's
                    // lifecycle rule cleans up what this misses.
                    let old_path = ObjectPath::parse(&old.key).ok();
                    if let Some(p) = old_path {
                        let _ = self.store.abort_multipart(&p, &old.id).await;
                    }
                }
                let opts = PutMultipartOptions {
                    attributes: Self::content_type(job, key),
                    ..PutMultipartOptions::default()
                };
                let id = self
                    .store
                    .create_multipart_opts(path, opts)
                    .await
                    .map_err(|e| map_err(e, "CreateMultipartUpload"))?;
                let s = MultipartState {
                    id,
                    key: key.to_owned(),
                    part_size: PART_SIZE,
                    size,
                    parts: Vec::new(),
                };
                io.resume.remember(&to_json(&s)).await;
                s
            }
        };
        let n_parts = size.div_ceil(PART_SIZE) as usize;
        while state.parts.len() < n_parts {
            let idx = state.parts.len();
            let offset = idx as u64 * PART_SIZE;
            let len = PART_SIZE.min(size - offset);
            let payload = read_paced(file, offset, len, &io.pacer).await?;
            let part = self
                .store
                .put_part(path, &state.id, idx, payload)
                .await
                .map_err(|e| map_multipart_err(e, "UploadPart"))?;
            state.parts.push(part.content_id);
            io.resume.remember(&to_json(&state)).await;
            tracing::debug!(target = %self.name, shot = job.shot_id, part = idx + 1, of = n_parts, "part uploaded");
        }
        let parts = state
            .parts
            .iter()
            .map(|p| PartId {
                content_id: p.clone(),
            })
            .collect();
        match self
            .store
            .complete_multipart(path, &state.id, parts)
            .await
            .map_err(|e| map_multipart_err(e, "CompleteMultipartUpload"))
        {
            Ok(_) => Ok(Uploaded {
                remote_id: Some(self.remote_id(key)),
                duplicate: false,
            }),
            Err(UploadError::Gone(why)) => {
                // A crash after S3 completed the upload but before the journal heard of it:
                // the upload id is gone because the object is there.
                match self.store.head(path).await {
                    Ok(meta) if meta.size == size => Ok(Uploaded {
                        remote_id: Some(self.remote_id(key)),
                        duplicate: true,
                    }),
                    _ => Err(UploadError::Gone(why)),
                }
            }
            Err(e) => Err(e),
        }
    }
}

fn to_json(s: &MultipartState) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `len` bytes of the file from `offset`, read piece by piece through the pacer.
/// `object_store` takes a part as a buffer, so the cap is paid while the part is read and the
/// bytes then leave at line speed; over a few parts the average is the cap. Memory: one part.
async fn read_paced(
    file: &mut tokio::fs::File,
    offset: u64,
    len: u64,
    pacer: &Pacer,
) -> Result<PutPayload, UploadError> {
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(local)?;
    let mut pieces = Vec::with_capacity(len.div_ceil(PIECE as u64) as usize);
    let mut left = len;
    while left > 0 {
        let n = left.min(PIECE as u64) as usize;
        let mut buf = vec![0u8; n];
        file.read_exact(&mut buf).await.map_err(local)?;
        pacer.take(n as u64).await;
        pieces.push(Bytes::from(buf));
        left -= n as u64;
    }
    Ok(pieces.into_iter().collect())
}

fn local(e: std::io::Error) -> UploadError {
    UploadError::Rejected(format!("cannot read the rendition: {e}"))
}

fn map_err(e: object_store::Error, what: &str) -> UploadError {
    use object_store::Error as E;
    match &e {
        E::Unauthenticated { .. } | E::PermissionDenied { .. } => {
            UploadError::Rejected(format!("{what}: S3 refused the credentials: {}", short(&e)))
        }
        // The bucket does not exist: configuration, not weather.
        E::NotFound { .. } => UploadError::Rejected(format!("{what}: {}", short(&e))),
        E::InvalidPath { .. } | E::NotSupported { .. } | E::UnknownConfigurationKey { .. } => {
            UploadError::Rejected(format!("{what}: {}", short(&e)))
        }
        // Connection refused or reset, timeouts, 5xx, throttling.
        _ => UploadError::Transient(format!("{what}: {}", short(&e))),
    }
}

/// As [`map_err`], except that a 404 means the upload id is unknown to the server (expired,
/// aborted, or already completed): start over.
fn map_multipart_err(e: object_store::Error, what: &str) -> UploadError {
    if let object_store::Error::NotFound { .. } = e {
        return UploadError::Gone(format!("{what}: the multipart upload is gone"));
    }
    map_err(e, what)
}

/// object_store's messages carry the request URL but never credentials; cap their length for
/// the status line.
fn short(e: &object_store::Error) -> String {
    let mut s = e.to_string();
    if s.len() > 400 {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[async_trait]
impl Target for S3Target {
    fn name(&self) -> &str {
        &self.name
    }

    async fn upload(&self, job: &UploadJob, io: &UploadIo<'_>) -> Result<Uploaded, UploadError> {
        let key = self.key_of(job)?;
        let path = ObjectPath::parse(&key)
            .map_err(|e| UploadError::Rejected(format!("bad object key {key:?}: {e}")))?;
        let mut file = tokio::fs::File::open(&job.path).await.map_err(local)?;
        let size = file.metadata().await.map_err(local)?.len();
        if size > MULTIPART_THRESHOLD {
            return self
                .put_multipart(&path, &key, job, &mut file, size, io)
                .await;
        }
        self.put_whole(&path, job, &mut file, size, &io.pacer)
            .await?;
        Ok(Uploaded {
            remote_id: Some(self.remote_id(&key)),
            duplicate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_hides_secrets() {
        let cfg: S3Config = serde_json::from_str(
            r#"{"bucket":"photos","access_key_id":"AKID","secret_access_key":"s3cr3t","session_token":"tok"}"#,
        )
        .unwrap();
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("s3cr3t") && !dbg.contains("tok\""), "{dbg}");
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(
            !json.contains("s3cr3t") && !json.contains("\"tok\""),
            "{json}"
        );
        assert_eq!(cfg.template, naming::DEFAULT_TEMPLATE);
    }

    #[test]
    fn keys_and_links() {
        let cfg: S3Config = serde_json::from_str(
            r#"{"bucket":"photos","region":"us-east-1","endpoint":"http://127.0.0.1:1","prefix":"/ev/","public_url":"https://cdn.example/{key}","access_key_id":"a","secret_access_key":"b"}"#,
        )
        .unwrap();
        let t = S3Target::new("s3", &cfg).unwrap();
        let job = naming::test_job("web", "IMG_1.JPG", "/r/x.jpg");
        let key = t.key_of(&job).unwrap();
        assert_eq!(key, "ev/af1349b9f5f9a1a6a0404dea36dcc949-web.jpg");
        assert_eq!(
            t.remote_id(&key),
            "https://cdn.example/ev/af1349b9f5f9a1a6a0404dea36dcc949-web.jpg"
        );
    }
}
