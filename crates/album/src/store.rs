//! Object storage for finished renditions and thumbnails.
//!
//! Only complete, verified files ever get here; unfinished tus uploads live as plain
//! files in `data_dir/uploads` (see `tus`), so the store never holds a partial object.
//! `object_store` keeps the door open to S3-compatible storage later.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::AlbumError;

/// Which stored file of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Web,
    Thumb,
}

impl Variant {
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

impl Store {
    pub fn open_local(root: &Path) -> Result<Self, AlbumError> {
        std::fs::create_dir_all(root).map_err(|source| AlbumError::DataDir {
            path: root.to_owned(),
            source,
        })?;
        // Automatic cleanup removes emptied photo folders after a failed finish is undone.
        let fs = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
        Ok(Self {
            inner: Arc::new(fs),
        })
    }

    /// Atomic put: the local backend writes a temporary file and renames it into place.
    pub async fn put(
        &self,
        album_id: &str,
        photo_id: &str,
        variant: Variant,
        data: Bytes,
    ) -> Result<(), object_store::Error> {
        self.inner
            .put(&key(album_id, photo_id, variant), PutPayload::from(data))
            .await?;
        Ok(())
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

    /// Removes both files of a photo; used when a concurrent duplicate won the insert.
    pub async fn delete_photo(&self, album_id: &str, photo_id: &str) {
        for variant in [Variant::Web, Variant::Thumb] {
            if let Err(e) = self.inner.delete(&key(album_id, photo_id, variant)).await {
                tracing::warn!(album_id, photo_id, error = %e, "could not delete orphaned object");
            }
        }
    }
}
