//! A folder on this machine or a mounted share (SMB, NFS, a USB disk): the client's editor
//! watches it, or a second laptop syncs it. Each file appears whole or not at all: it is
//! written to a hidden temporary name in the same folder, fsynced, renamed, and the folder
//! fsynced, so a watcher never picks up half a JPEG and a power cut never leaves one.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::naming;
use super::{Target, UploadError, UploadIo, Uploaded, PIECE};
use crate::journal::UploadJob;

/// `kind = "folder"` in the agent's config.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FolderConfig {
    /// The folder to publish into. It must exist: when a share is not mounted, writing into
    /// the empty mount point would fill the laptop's disk with files nobody sees, so a missing
    /// folder is an outage to wait out, not something to create.
    pub path: PathBuf,
    /// File name template (see `upload::naming::object_name`), may contain sub-folders
    /// (`{date}/{stem}_{hash}.{ext}`); they are created below `path`.
    #[serde(default = "default_template")]
    pub template: String,
}

fn default_template() -> String {
    naming::DEFAULT_TEMPLATE.to_owned()
}

pub struct FolderTarget {
    name: String,
    root: PathBuf,
    template: String,
}

impl FolderTarget {
    pub fn new(name: &str, cfg: &FolderConfig) -> Result<FolderTarget, String> {
        if !cfg.path.is_absolute() {
            return Err(format!(
                "folder target {name}: path {:?} must be absolute",
                cfg.path
            ));
        }
        Ok(FolderTarget {
            name: name.to_owned(),
            root: cfg.path.clone(),
            template: cfg.template.clone(),
        })
    }

    /// Where a job ends up.
    pub fn path_of(&self, job: &UploadJob) -> Result<PathBuf, UploadError> {
        let rel = naming::object_name(&self.template, job)?;
        // `object_name` yields only plain segments joined by '/', never `..` or a root.
        Ok(rel.split('/').fold(self.root.clone(), |p, s| p.join(s)))
    }
}

/// Errors writing the destination: a share that went away or a full disk may come back;
/// permissions will not fix themselves.
fn dest(e: std::io::Error, what: &str, path: &Path) -> UploadError {
    let msg = format!("{what} {}: {e}", path.display());
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            UploadError::Rejected(msg)
        }
        _ => UploadError::Transient(msg),
    }
}

fn local(e: std::io::Error) -> UploadError {
    UploadError::Rejected(format!("cannot read the rendition: {e}"))
}

/// fsync a folder, so a rename in it survives a power cut.
async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(std::io::Error::other)?
}

#[async_trait]
impl Target for FolderTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn upload(&self, job: &UploadJob, io: &UploadIo<'_>) -> Result<Uploaded, UploadError> {
        match tokio::fs::metadata(&self.root).await {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(UploadError::Rejected(format!(
                    "{} is not a folder",
                    self.root.display()
                )))
            }
            Err(e) => {
                return Err(UploadError::Transient(format!(
                    "folder {} is not there (share not mounted?): {e}",
                    self.root.display()
                )))
            }
        }
        let final_path = self.path_of(job)?;
        let parent = final_path
            .parent()
            .ok_or_else(|| UploadError::Rejected("no parent folder".into()))?
            .to_owned();
        let file_name = final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let remote_id = Some(final_path.to_string_lossy().into_owned());

        let mut src = tokio::fs::File::open(&job.path).await.map_err(local)?;
        let size = src.metadata().await.map_err(local)?.len();
        // A file under the final name was complete when it was renamed there: this is a
        // retry after a crash between the rename and the journal update.
        if let Ok(m) = tokio::fs::metadata(&final_path).await {
            if m.is_file() && m.len() == size {
                return Ok(Uploaded {
                    remote_id,
                    duplicate: true,
                });
            }
        }
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| dest(e, "cannot create", &parent))?;

        let tmp = parent.join(format!(".{file_name}.part"));
        let mut out = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| dest(e, "cannot create", &tmp))?;
        let mut buf = vec![0u8; PIECE];
        loop {
            let n = src.read(&mut buf).await.map_err(local)?;
            if n == 0 {
                break;
            }
            io.pacer.take(n as u64).await;
            out.write_all(&buf[..n])
                .await
                .map_err(|e| dest(e, "cannot write", &tmp))?;
        }
        out.sync_all()
            .await
            .map_err(|e| dest(e, "cannot sync", &tmp))?;
        drop(out);
        tokio::fs::rename(&tmp, &final_path)
            .await
            .map_err(|e| dest(e, "cannot rename into", &final_path))?;
        sync_dir(&parent)
            .await
            .map_err(|e| dest(e, "cannot sync", &parent))?;
        tracing::debug!(target = %self.name, shot = job.shot_id, path = %final_path.display(), "written");
        Ok(Uploaded {
            remote_id,
            duplicate: false,
        })
    }
}
