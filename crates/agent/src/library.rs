//! The photographer's local library: where originals land first, named by a template, written
//! atomically (temporary name, fsync, rename, fsync of the folder) so that a crash never leaves
//! a half file under a real name, and hashed on the way in so the content hash costs no second
//! read.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::fs::File;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Makes a name safe to use as one path component, whatever a device or client sent:
/// no separators, no `..`, no control characters, not empty, not too long.
pub fn sanitize_component(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    out = out
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .to_owned();
    if out.is_empty() {
        out = "unnamed".into();
    }
    if out.len() > 120 {
        let mut cut = 120;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// Where an original goes: `{root}/{date}/{camera}_{name}`; `date` is the capture day
/// (YYYY-MM-DD) so a multi-day event stays browsable.
pub fn original_path(root: &Path, date: &str, camera: &str, name: &str) -> PathBuf {
    root.join(sanitize_component(date)).join(format!(
        "{}_{}",
        sanitize_component(camera),
        sanitize_component(name)
    ))
}

/// A file being written: bytes go to `{final}.partial` and through BLAKE3; `commit` makes it
/// durable and gives it its real name.
pub struct IncomingFile {
    file: File,
    hasher: blake3::Hasher,
    tmp: PathBuf,
    bytes: u64,
    /// The last two bytes written: a JPEG that does not end with EOI (FF D9) was cut short.
    tail: [u8; 2],
}

fn partial_path(final_path: &Path) -> PathBuf {
    let mut tmp = final_path.as_os_str().to_owned();
    tmp.push(".partial");
    PathBuf::from(tmp)
}

impl IncomingFile {
    /// Starts an empty file (throwing away any earlier partial one).
    pub async fn create(final_path: &Path) -> io::Result<IncomingFile> {
        if let Some(dir) = final_path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let tmp = partial_path(final_path);
        let file = File::create(&tmp).await?;
        Ok(IncomingFile {
            file,
            hasher: blake3::Hasher::new(),
            tmp,
            bytes: 0,
            tail: [0; 2],
        })
    }

    /// Continues a partial file left by an interrupted transfer (cable pulled, agent
    /// stopped), re-hashing what is there; starts afresh when there is none.
    pub async fn resume(final_path: &Path) -> io::Result<IncomingFile> {
        use tokio::io::AsyncReadExt;
        let tmp = partial_path(final_path);
        let Ok(mut file) = tokio::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&tmp)
            .await
        else {
            return IncomingFile::create(final_path).await;
        };
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut bytes = 0u64;
        let mut tail = [0u8; 2];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
            push_tail(&mut tail, &buf[..n]);
        }
        Ok(IncomingFile {
            file,
            hasher,
            tmp,
            bytes,
            tail,
        })
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether the content so far ends like a complete JPEG.
    pub fn ends_with_jpeg_eoi(&self) -> bool {
        self.tail == [0xFF, 0xD9]
    }

    /// Keeps the partial file for a later `resume` (the source went away mid-transfer).
    pub async fn keep(mut self) {
        let _ = self.file.flush().await;
        let _ = self.file.sync_data().await;
    }

    /// fsyncs, then renames onto a free name next to `final_path` (adding `-1`, `-2`, …
    /// rather than overwriting anything already there), unless that name already holds the
    /// same content. Returns the path, size and hash.
    pub async fn commit(mut self, final_path: &Path) -> io::Result<(PathBuf, u64, String)> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        drop(self.file);
        let hash = self.hasher.finalize().to_hex().to_string();
        // The same content under the name already: an import cut short after its rename (a
        // crash before the journal heard of it) is being repeated. Keep the one copy.
        if same_content(final_path, self.bytes, &hash).await {
            tokio::fs::remove_file(&self.tmp).await?;
            return Ok((final_path.to_path_buf(), self.bytes, hash));
        }
        let dest = free_name(final_path).await;
        tokio::fs::rename(&self.tmp, &dest).await?;
        if let Some(dir) = dest.parent() {
            // The rename itself must survive a power cut.
            if let Ok(d) = File::open(dir).await {
                let _ = d.sync_all().await;
            }
        }
        Ok((dest, self.bytes, hash))
    }

    /// Throws away what was written (a failed transfer).
    pub async fn discard(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}

/// Whether `path` holds exactly `bytes` bytes hashing to `hash`.
async fn same_content(path: &Path, bytes: u64, hash: &str) -> bool {
    use tokio::io::AsyncReadExt;
    match tokio::fs::metadata(path).await {
        Ok(m) if m.len() == bytes => {}
        _ => return false,
    }
    let Ok(mut f) = File::open(path).await else {
        return false;
    };
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match f.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(_) => return false,
        }
    }
    hasher.finalize().to_hex().as_str() == hash
}

async fn free_name(path: &Path) -> PathBuf {
    if tokio::fs::metadata(path).await.is_err() {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    for n in 1u32.. {
        let candidate = path.with_file_name(format!("{stem}-{n}{ext}"));
        if tokio::fs::metadata(&candidate).await.is_err() {
            return candidate;
        }
    }
    unreachable!("u32 names exhausted")
}

impl AsyncWrite for IncomingFile {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.file).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.hasher.update(&buf[..n]);
                this.bytes += n as u64;
                push_tail(&mut this.tail, &buf[..n]);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

fn push_tail(tail: &mut [u8; 2], data: &[u8]) {
    match data {
        [] => {}
        [b] => *tail = [tail[1], *b],
        [.., a, b] => *tail = [*a, *b],
    }
}

/// Writes a small file atomically (renditions): temp, fsync, rename.
pub async fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).await?;
    f.write_all(data).await?;
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(&tmp, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_inside_the_library() {
        assert_eq!(sanitize_component("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize_component(".."), "unnamed");
        assert_eq!(sanitize_component("IMG\n0001.JPG"), "IMG_0001.JPG");
        assert_eq!(sanitize_component(""), "unnamed");
        let p = original_path(Path::new("/lib"), "2026-01-01", "EOS/R5", "../x.jpg");
        assert_eq!(p, Path::new("/lib/2026-01-01/EOS_R5__x.jpg"));
        assert!(sanitize_component(&"é".repeat(200)).len() <= 120);
    }

    #[tokio::test]
    async fn resume_continues_a_partial_file_with_the_same_hash() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("IMG_1.JPG");
        let mut f = IncomingFile::create(&dest).await.unwrap();
        f.write_all(&[0xFF, 0xD8, 1, 2, 3]).await.unwrap();
        assert!(!f.ends_with_jpeg_eoi());
        f.keep().await;
        let mut g = IncomingFile::resume(&dest).await.unwrap();
        assert_eq!(g.bytes(), 5);
        g.write_all(&[4]).await.unwrap();
        g.write_all(&[0xFF]).await.unwrap();
        g.write_all(&[0xD9]).await.unwrap();
        assert!(g.ends_with_jpeg_eoi());
        let (_, n, h) = g.commit(&dest).await.unwrap();
        let whole = [0xFF, 0xD8, 1, 2, 3, 4, 0xFF, 0xD9];
        assert_eq!(n, whole.len() as u64);
        assert_eq!(h, blake3::hash(&whole).to_hex().to_string());
        // No partial: resume starts empty.
        let e = IncomingFile::resume(&dir.path().join("none.jpg"))
            .await
            .unwrap();
        assert_eq!(e.bytes(), 0);
    }

    #[tokio::test]
    async fn commit_hashes_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("d/a.jpg");
        let mut f = IncomingFile::create(&dest).await.unwrap();
        f.write_all(b"hello").await.unwrap();
        let (p1, n, h) = f.commit(&dest).await.unwrap();
        assert_eq!((p1.clone(), n), (dest.clone(), 5));
        assert_eq!(h, blake3::hash(b"hello").to_hex().to_string());
        let mut g = IncomingFile::create(&dest).await.unwrap();
        g.write_all(b"other").await.unwrap();
        let (p2, _, _) = g.commit(&dest).await.unwrap();
        assert_eq!(p2, dir.path().join("d/a-1.jpg"));
        assert_eq!(std::fs::read(&p1).unwrap(), b"hello");
    }
}
