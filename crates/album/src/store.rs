//! Object storage for finished renditions and thumbnails: a local folder by default,
//! any S3-compatible service to scale out.
//!
//! Only complete, verified files get a final key. Unfinished tus uploads live as plain
//! files in `data_dir/uploads` (see `tus`); once verified, each file is written under
//! `tmp/{photo}/…` and renamed into `albums/{album}/{photo}/…`, so a reader never sees a
//! half-written object and a crash leaves only `tmp/` litter, never a broken photo.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::AlbumError;

/// Which stored file of a photo row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The uploaded rendition itself (whatever its rendition name; "web.jpg" for history).
    Web,
    Thumb,
}

impl Variant {
    pub const ALL: [Variant; 2] = [Variant::Web, Variant::Thumb];

    pub fn from_file_name(name: &str) -> Option<Self> {
        match name {
            "web.jpg" => Some(Self::Web),
            "thumb.jpg" => Some(Self::Thumb),
            _ => None,
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Self::Web => "web.jpg",
            Self::Thumb => "thumb.jpg",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    describe: String,
}

pub struct Object {
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

fn key(album_id: &str, photo_id: &str, variant: Variant) -> Key {
    Key::from(format!(
        "albums/{album_id}/{photo_id}/{}",
        variant.file_name()
    ))
}

fn temp_key(photo_id: &str, variant: Variant) -> Key {
    Key::from(format!("tmp/{photo_id}/{}", variant.file_name()))
}

/// Parses `s3://bucket?endpoint=http://127.0.0.1:9000&region=eu-west-1&allow_http=true`.
/// Credentials come from the usual `AWS_*` environment variables (never from the URL, so
/// they stay out of process listings and logs).
fn s3(url: &str) -> Result<Arc<dyn ObjectStore>, AlbumError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let bucket = base
        .strip_prefix("s3://")
        .map(|b| b.trim_end_matches('/'))
        .filter(|b| b.len() >= 3 && !b.contains('/'))
        .ok_or_else(|| {
            AlbumError::Invalid(format!(
                "object store URL {url:?}: expected s3://BUCKET[?endpoint=…&region=…]"
            ))
        })?;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let mut has_region = std::env::var_os("AWS_REGION").is_some()
        || std::env::var_os("AWS_DEFAULT_REGION").is_some();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        builder = match k {
            "endpoint" => {
                // Self-hosted S3 (MinIO, moto, Ceph) is addressed by path, not by DNS name.
                let b = builder
                    .with_endpoint(v)
                    .with_virtual_hosted_style_request(false);
                if v.starts_with("http://") {
                    b.with_allow_http(true)
                } else {
                    b
                }
            }
            "region" => {
                has_region = true;
                builder.with_region(v)
            }
            "allow_http" => builder.with_allow_http(v == "true" || v == "1"),
            other => {
                return Err(AlbumError::Invalid(format!(
                    "object store URL: unknown option {other:?} (endpoint, region, allow_http)"
                )))
            }
        };
    }
    if !has_region {
        builder = builder.with_region("us-east-1");
    }
    Ok(Arc::new(builder.build()?))
}

impl Store {
    pub fn open_local(root: &Path) -> Result<Self, AlbumError> {
        std::fs::create_dir_all(root).map_err(|source| AlbumError::DataDir {
            path: root.to_owned(),
            source,
        })?;
        // Automatic cleanup removes emptied photo folders after a delete.
        let fs = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
        Ok(Self {
            inner: Arc::new(fs),
            describe: root.display().to_string(),
        })
    }

    /// `s3://bucket?…` (see [`s3`]), `file:///path` or a plain folder path.
    pub fn open(url: &str) -> Result<Self, AlbumError> {
        if url.starts_with("s3://") {
            let inner = s3(url)?;
            let describe = url.split('?').next().unwrap_or(url).to_owned();
            return Ok(Self { inner, describe });
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        Self::open_local(Path::new(path))
    }

    /// Where objects live, for the start-up log line.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Writes under a temporary key, then renames into place (a rename on a local folder,
    /// copy + delete on S3): the final key only ever holds a complete object.
    pub async fn put(
        &self,
        album_id: &str,
        photo_id: &str,
        variant: Variant,
        data: Bytes,
    ) -> Result<(), object_store::Error> {
        let temp = temp_key(photo_id, variant);
        self.inner.put(&temp, PutPayload::from(data)).await?;
        self.inner
            .rename(&temp, &key(album_id, photo_id, variant))
            .await
    }

    pub async fn get(
        &self,
        album_id: &str,
        photo_id: &str,
        variant: Variant,
    ) -> Result<Object, object_store::Error> {
        let result = self.inner.get(&key(album_id, photo_id, variant)).await?;
        Ok(Object {
            size: result.meta.size,
            stream: result.into_stream(),
        })
    }

    /// Removes every file of a photo. Missing files are fine: deleting twice is harmless.
    pub async fn delete_photo(&self, album_id: &str, photo_id: &str) {
        for variant in Variant::ALL {
            match self.inner.delete(&key(album_id, photo_id, variant)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(album_id, photo_id, error = %e, "could not delete object")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_url_validation() {
        assert!(Store::open("s3://ab").is_err());
        assert!(Store::open("s3://bucket/sub").is_err());
        assert!(Store::open("s3://bucket?colour=blue").is_err());
        assert!(Store::open("s3://photos?endpoint=http://127.0.0.1:9000&region=eu-west-1").is_ok());
    }
}
