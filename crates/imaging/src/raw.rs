//! Camera RAW files: find the largest embedded JPEG preview (bodies write a full-size or
//! near-full-size one) and its orientation. The RAW sensor data itself is never decoded,
//! so a body this code has never seen still yields a rendition when its container is one
//! of the known layouts.
//!
//! Layouts: TIFF-based (CR2, NEF, ARW, DNG with magic 42; ORF with `RO`/`RS`; RW2 with
//! 0x55), ISO-BMFF (CR3) and Fujifilm's RAF header.

use crate::container;

/// A JPEG inside a RAW file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Preview<'a> {
    pub format: &'static str,
    pub jpeg: &'a [u8],
    /// Orientation from the RAW container (the preview JPEG often carries no EXIF).
    pub orientation: Option<u16>,
    /// A TIFF block with the shot's EXIF, when the container is one.
    pub exif_tiff: Option<&'a [u8]>,
}

/// The RAW format named by the file's magic bytes, if it is one we read.
pub(crate) fn detect(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"FUJIFILMCCD-RAW ") {
        return Some("RAF");
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" && &data[8..12] == b"crx " {
        return Some("CR3");
    }
    let t = Tiff::new(data)?;
    Some(match t.magic {
        0x55 => "RW2",
        0x4F52 | 0x5352 => "ORF",
        42 if data.get(8..10) == Some(b"CR") => "CR2",
        42 => {
            // NEF, ARW, DNG and plain TIFF share the layout; tell them apart by tags.
            let ifd0 = t.ifd(t.first_ifd())?;
            if ifd0.iter().any(|e| e.tag == 0xC612) {
                "DNG"
            } else {
                match t
                    .ascii(&ifd0, 0x010F)
                    .as_deref()
                    .map(str::to_ascii_uppercase)
                {
                    Some(m) if m.starts_with("NIKON") => "NEF",
                    Some(m) if m.starts_with("SONY") => "ARW",
                    Some(m) if m.starts_with("CANON") => "CR2",
                    Some(m) if m.starts_with("OLYMPUS") || m.starts_with("OM ") => "ORF",
                    Some(m) if m.starts_with("PANASONIC") => "RW2",
                    // A plain TIFF photo: decoded as pixels, not as a RAW.
                    _ => return None,
                }
            }
        }
        _ => return None,
    })
}

/// The largest decodable embedded JPEG, or why there is none.
pub(crate) fn preview<'a>(data: &'a [u8], format: &'static str) -> Result<Preview<'a>, String> {
    match format {
        "RAF" => raf(data),
        "CR3" => cr3(data),
        _ => tiff_preview(data, format),
    }
}

/// Whether `bytes` is a JPEG our decoder takes, and its pixel count.
fn jpeg_area(bytes: &[u8]) -> Option<u64> {
    let h = container::read_header(bytes).ok()?;
    h.check_supported().ok()?;
    Some(u64::from(h.width) * u64::from(h.height))
}

fn largest<'a>(candidates: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    candidates
        .filter_map(|c| jpeg_area(c).map(|a| (a, c)))
        .max_by_key(|(a, c)| (*a, c.len()))
        .map(|(_, c)| c)
}

fn raf(data: &[u8]) -> Result<Preview<'_>, String> {
    let be = |at: usize| {
        data.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (off, len) = (
        be(84).ok_or("short RAF header")?,
        be(88).ok_or("short RAF header")?,
    );
    let jpeg = data
        .get(off as usize..(off as usize).saturating_add(len as usize))
        .ok_or("RAF preview offset outside the file")?;
    jpeg_area(jpeg).ok_or("RAF preview is not a readable JPEG")?;
    // RAF previews carry the full EXIF (orientation included) themselves.
    Ok(Preview {
        format: "RAF",
        jpeg,
        orientation: None,
        exif_tiff: None,
    })
}

fn tiff_preview<'a>(data: &'a [u8], format: &'static str) -> Result<Preview<'a>, String> {
    let t = Tiff::new(data).ok_or("bad TIFF header")?;
    let mut candidates: Vec<&[u8]> = Vec::new();
    let mut orientation = None;
    // IFD chain plus SubIFDs, breadth first, with a cap against offset loops.
    let mut queue = vec![t.first_ifd()];
    let mut seen = Vec::new();
    while let Some(off) = queue.pop() {
        if off == 0 || seen.contains(&off) || seen.len() >= 32 {
            continue;
        }
        seen.push(off);
        let Some(entries) = t.ifd(off) else { continue };
        if seen.len() == 1 {
            orientation = t
                .uint(&entries, 0x0112)
                .map(|o| o as u16)
                .filter(|o| (1..=8).contains(o));
        }
        let get = |tag| t.uint(&entries, tag);
        if let (Some(o), Some(l)) = (get(0x0201), get(0x0202)) {
            candidates.extend(t.slice(o, l));
        }
        if matches!(get(0x0103), Some(6 | 7)) {
            if let (Some(o), Some(l)) = (get(0x0111), get(0x0117)) {
                candidates.extend(t.slice(o, l));
            }
        }
        // RW2 keeps a whole JPEG (with EXIF) as the value of tag 0x2E, JpgFromRaw.
        if let Some(e) = entries.iter().find(|e| e.tag == 0x002E) {
            candidates.extend(t.slice(e.value_or_offset, e.count));
        }
        for e in entries.iter().filter(|e| e.tag == 0x014A) {
            queue.extend(t.uints(e));
        }
        queue.extend(t.next_ifd(off).filter(|&n| n != 0));
    }
    let jpeg = largest(candidates.into_iter())
        .ok_or_else(|| format!("{format}: no baseline JPEG preview found"))?;
    Ok(Preview {
        format,
        jpeg,
        orientation,
        exif_tiff: (t.magic == 42).then_some(data),
    })
}

fn cr3(data: &[u8]) -> Result<Preview<'_>, String> {
    const CANON_UUID: [u8; 16] = [
        0x85, 0xc0, 0xb6, 0x87, 0x82, 0x0f, 0x11, 0xe0, 0x81, 0x11, 0xf4, 0xce, 0x46, 0x2b, 0x6a,
        0x48,
    ];
    const PREVIEW_UUID: [u8; 16] = [
        0xea, 0xf4, 0x2b, 0x5e, 0x1c, 0x98, 0x4b, 0x88, 0xb9, 0xfb, 0xb7, 0xdc, 0x40, 0x6e, 0x4d,
        0x16,
    ];
    let mut candidates: Vec<&[u8]> = Vec::new();
    let mut cmt1 = None;
    for (kind, body) in boxes(data) {
        match kind {
            b"moov" => {
                for (k, b) in boxes(body) {
                    if k == b"uuid" && b.starts_with(&CANON_UUID) {
                        cmt1 = boxes(&b[16..]).find(|(k, _)| *k == b"CMT1").map(|(_, b)| b);
                    }
                    if k == b"trak" {
                        candidates.extend(track_sample(data, b));
                    }
                }
            }
            b"uuid" if body.starts_with(&PREVIEW_UUID) => {
                // PRVW: a small header, then the JPEG up to the end of the box.
                if let Some(at) = body.windows(3).position(|w| w == [0xFF, 0xD8, 0xFF]) {
                    candidates.push(&body[at..]);
                }
            }
            _ => {}
        }
    }
    let jpeg = largest(candidates.into_iter()).ok_or("CR3: no JPEG track or preview found")?;
    let orientation = cmt1.and_then(|c| {
        let t = Tiff::new(c)?;
        let ifd0 = t.ifd(t.first_ifd())?;
        t.uint(&ifd0, 0x0112)
            .map(|o| o as u16)
            .filter(|o| (1..=8).contains(o))
    });
    Ok(Preview {
        format: "CR3",
        jpeg,
        orientation,
        exif_tiff: cmt1,
    })
}

/// ISO-BMFF boxes as (type, body); stops at the first malformed box.
fn boxes(data: &[u8]) -> impl Iterator<Item = (&[u8; 4], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let head = data.get(pos..pos + 8)?;
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind: &[u8; 4] = head[4..8].try_into().ok()?;
        let (start, size) = match size32 {
            0 => (pos + 8, data.len() - pos),
            1 => {
                let s = data.get(pos + 8..pos + 16)?;
                (pos + 16, u64::from_be_bytes(s.try_into().ok()?) as usize)
            }
            s => (pos + 8, s),
        };
        let end = pos.checked_add(size)?;
        let body = data.get(start..end)?;
        pos = end;
        Some((kind, body))
    })
}

/// The first sample of a track: offset from `stco`/`co64`, size from `stsz`.
fn track_sample<'a>(file: &'a [u8], trak: &[u8]) -> Option<&'a [u8]> {
    let mdia = boxes(trak).find(|(k, _)| *k == b"mdia")?.1;
    let minf = boxes(mdia).find(|(k, _)| *k == b"minf")?.1;
    let stbl = boxes(minf).find(|(k, _)| *k == b"stbl")?.1;
    let be32 = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from(u32::from_be_bytes(
            b.get(at..at + 4)?.try_into().ok()?,
        )))
    };
    let mut offset = None;
    let mut size = None;
    for (k, b) in boxes(stbl) {
        match k {
            b"co64" => offset = Some(u64::from_be_bytes(b.get(8..16)?.try_into().ok()?)),
            b"stco" => offset = be32(b, 8),
            // version/flags, sample_size, count, then per-sample sizes when size is 0.
            b"stsz" => size = be32(b, 4).filter(|&s| s != 0).or_else(|| be32(b, 12)),
            _ => {}
        }
    }
    let (o, s) = (usize::try_from(offset?).ok()?, usize::try_from(size?).ok()?);
    file.get(o..o.checked_add(s)?)
}

type ReadUint = fn(&Tiff<'_>, usize) -> Option<u32>;

/// A minimal TIFF reader for preview lookup: entries and integer values only.
struct Tiff<'a> {
    data: &'a [u8],
    le: bool,
    magic: u16,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    value_or_offset: u32,
    /// File offset of the 4-byte value field (for values stored inline).
    at: usize,
}

impl<'a> Tiff<'a> {
    fn new(data: &'a [u8]) -> Option<Tiff<'a>> {
        let le = match data.get(..2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        let t = Tiff { data, le, magic: 0 };
        let magic = t.u16(2)?;
        Some(Tiff { magic, ..t })
    }

    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at + 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at + 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn first_ifd(&self) -> u32 {
        self.u32(4).unwrap_or(0)
    }

    fn ifd(&self, off: u32) -> Option<Vec<Entry>> {
        let off = off as usize;
        let n = usize::from(self.u16(off)?).min(1000);
        (0..n)
            .map(|i| {
                let at = off + 2 + i * 12;
                Some(Entry {
                    tag: self.u16(at)?,
                    kind: self.u16(at + 2)?,
                    count: self.u32(at + 4)?,
                    value_or_offset: self.u32(at + 8)?,
                    at: at + 8,
                })
            })
            .collect()
    }

    fn next_ifd(&self, off: u32) -> Option<u32> {
        let n = usize::from(self.u16(off as usize)?);
        self.u32(off as usize + 2 + n * 12)
    }

    /// The first value of a SHORT or LONG entry.
    fn uint(&self, entries: &[Entry], tag: u16) -> Option<u32> {
        let e = entries.iter().find(|e| e.tag == tag)?;
        self.uints(e).into_iter().next()
    }

    fn uints(&self, e: &Entry) -> Vec<u32> {
        let (size, read): (usize, ReadUint) = match e.kind {
            3 => (2, |t, at| t.u16(at).map(u32::from)),
            4 | 13 => (4, |t, at| t.u32(at)),
            _ => return Vec::new(),
        };
        let count = (e.count as usize).min(64);
        let base = if count * size <= 4 {
            e.at
        } else {
            e.value_or_offset as usize
        };
        (0..count)
            .filter_map(|i| read(self, base + i * size))
            .collect()
    }

    fn ascii(&self, entries: &[Entry], tag: u16) -> Option<String> {
        let e = entries.iter().find(|e| e.tag == tag && e.kind == 2)?;
        let len = e.count as usize;
        let base = if len <= 4 {
            e.at
        } else {
            e.value_or_offset as usize
        };
        let s = self.data.get(base..base + len)?;
        Some(
            String::from_utf8_lossy(s)
                .trim_end_matches('\0')
                .trim()
                .to_owned(),
        )
    }

    fn slice(&self, off: u32, len: u32) -> Option<&'a [u8]> {
        let o = off as usize;
        self.data.get(o..o.checked_add(len as usize)?)
    }
}
