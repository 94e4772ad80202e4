//! The memory card: objects, their handles, and where their bytes live
//! (in memory, or in a folder that persists across runs).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ptp::codes::format;
use time::OffsetDateTime;

/// The one store the camera has.
pub(crate) const STORAGE_ID: u32 = 0x0001_0001;
/// Folder (relative to the card) that new shots and files go to.
pub(crate) const SHOT_FOLDER: &str = "DCIM/100HSHOT";
/// How deep a scan of an existing card folder goes; DCIM trees are two levels.
const MAX_SCAN_DEPTH: usize = 4;

/// Where an object's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum Backing {
    Memory(Arc<[u8]>),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub(crate) struct CardObject {
    /// File name only: the card is presented flat (all parents 0).
    pub name: String,
    pub size: u64,
    pub format: u16,
    pub captured_at: OffsetDateTime,
    /// Image size when known (shots), else (0, 0).
    pub pixels: (u32, u32),
    pub backing: Backing,
}

#[derive(Debug)]
pub(crate) struct Card {
    dir: Option<PathBuf>,
    objects: BTreeMap<u32, CardObject>,
    next_handle: u32,
    next_seq: u32,
}

/// Object format from a file name's extension.
pub(crate) fn format_for(name: &str) -> u16 {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => format::EXIF_JPEG,
        "png" => format::PNG,
        "tif" | "tiff" => format::TIFF,
        "dng" => format::DNG,
        "cr2" => format::CANON_CR2,
        "cr3" => format::CANON_CR3,
        "crw" => format::CANON_CRW,
        "heic" | "heif" => format::HEIF,
        "txt" => format::TEXT,
        _ => format::UNDEFINED,
    }
}

/// The number in `IMG_0042.JPG`, for continuing the sequence on an old card.
fn shot_number(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("IMG_")?;
    let (digits, _ext) = rest.split_once('.')?;
    digits.parse().ok()
}

/// Names a host could not be tricked into treating as paths.
pub(crate) fn check_name(name: &str) -> io::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.chars().all(|c| !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unusable file name {name:?}"),
        ))
    }
}

impl Card {
    /// An empty in-memory card, or the card in `dir` with its existing files.
    pub fn open(dir: Option<&Path>) -> io::Result<Self> {
        let mut card = Card {
            dir: dir.map(Path::to_path_buf),
            objects: BTreeMap::new(),
            next_handle: 1,
            next_seq: 1,
        };
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir.join(SHOT_FOLDER))?;
            let mut files = Vec::new();
            scan(dir, dir, 0, &mut files)?;
            // Sorting by relative path gives the same handles on every run.
            files.sort_by(|a, b| a.0.cmp(&b.0));
            for (_rel, path, meta) in files {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                let captured_at = meta
                    .modified()
                    .map(OffsetDateTime::from)
                    .unwrap_or_else(|_| OffsetDateTime::now_utc());
                if let Some(n) = shot_number(&name) {
                    card.next_seq = card.next_seq.max(n.saturating_add(1));
                }
                let object = CardObject {
                    format: format_for(&name),
                    name,
                    size: meta.len(),
                    captured_at,
                    pixels: (0, 0),
                    backing: Backing::File(path),
                };
                card.insert(object);
            }
            tracing::info!(dir = %dir.display(), objects = card.objects.len(), "card folder loaded");
        }
        Ok(card)
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The next shot number (IMG_nnnn), reserved so concurrent shots never share one.
    pub fn reserve_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    pub fn insert(&mut self, object: CardObject) -> u32 {
        let handle = self.next_handle;
        self.next_handle += 1;
        self.objects.insert(handle, object);
        handle
    }

    pub fn get(&self, handle: u32) -> Option<&CardObject> {
        self.objects.get(&handle)
    }

    pub fn remove(&mut self, handle: u32) -> Option<CardObject> {
        self.objects.remove(&handle)
    }

    pub fn contains_name(&self, name: &str) -> bool {
        self.objects.values().any(|o| o.name == name)
    }

    /// Handles in ascending order, filtered by format (0 = any).
    pub fn handles(&self, format: u32) -> Vec<u32> {
        self.objects
            .iter()
            .filter(|(_, o)| format == 0 || u32::from(o.format) == format)
            .map(|(&h, _)| h)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn used_bytes(&self) -> u64 {
        self.objects.values().map(|o| o.size).sum()
    }
}

type Found = (PathBuf, PathBuf, std::fs::Metadata);

fn scan(root: &Path, dir: &Path, depth: usize, out: &mut Vec<Found>) -> io::Result<()> {
    if depth > MAX_SCAN_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        // Dot files include our own half-written temporaries.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            scan(root, &path, depth + 1, out)?;
        } else if meta.is_file() && name.to_str().is_some_and(|n| check_name(n).is_ok()) {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.push((rel, path, meta));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_formats() {
        assert_eq!(format_for("IMG_0001.JPG"), format::EXIF_JPEG);
        assert_eq!(format_for("a.cr3"), format::CANON_CR3);
        assert_eq!(format_for("noext"), format::UNDEFINED);
        assert_eq!(shot_number("IMG_0042.JPG"), Some(42));
        assert_eq!(shot_number("DSC_0042.JPG"), None);
        assert!(check_name("../x").is_err());
        assert!(check_name(".hidden").is_err());
        assert!(check_name("IMG_0001.JPG").is_ok());
    }
}
