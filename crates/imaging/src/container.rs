//! Walking the JPEG marker structure without decoding: frame size, EXIF location, where
//! the image data starts and whether it ends. Everything here touches only headers, so
//! it is cheap enough to run before any allocation sized by the image.

use crate::ImagingError;

/// What the headers before the first scan say.
#[derive(Debug, Clone)]
pub(crate) struct Header<'a> {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub precision: u8,
    /// The SOFn marker byte (0xC0 baseline, 0xC2 progressive, ...).
    pub sof: u8,
    /// The TIFF block of the first `Exif\0\0` APP1 segment.
    pub exif: Option<&'a [u8]>,
    /// Byte offset of the first SOS marker.
    pub scan_start: usize,
    /// `ICC_PROFILE` APP2 chunks as (sequence number, data).
    pub icc_chunks: Vec<(u8, &'a [u8])>,
}

impl Header<'_> {
    /// The embedded ICC profile, reassembled from its chunks in sequence order.
    pub fn icc(&self) -> Option<Vec<u8>> {
        if self.icc_chunks.is_empty() {
            return None;
        }
        let mut chunks = self.icc_chunks.clone();
        chunks.sort_by_key(|c| c.0);
        Some(chunks.iter().flat_map(|c| c.1.iter().copied()).collect())
    }
}

impl Header<'_> {
    /// Refuses what the decoder cannot handle, with a reason a photographer can act on.
    pub fn check_supported(&self) -> Result<(), ImagingError> {
        let kind = match self.sof {
            0xC0..=0xC2 => None,
            0xC3 | 0xC7 | 0xCB | 0xCF => Some("lossless JPEG"),
            0xC5 | 0xC6 | 0xCD | 0xCE => Some("hierarchical JPEG"),
            _ => Some("arithmetic-coded JPEG"),
        };
        if let Some(kind) = kind {
            return Err(ImagingError::Unsupported(kind.into()));
        }
        if self.precision != 8 {
            return Err(ImagingError::Unsupported(format!(
                "{}-bit samples",
                self.precision
            )));
        }
        match self.components {
            // 4 is CMYK/YCCK: decoded to CMYK, then RGB (see render::rgb_from_cmyk).
            1 | 3 | 4 => Ok(()),
            n => Err(ImagingError::Unsupported(format!("{n} colour components"))),
        }
    }
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// Reads the segments between SOI and the first SOS.
pub(crate) fn read_header(data: &[u8]) -> Result<Header<'_>, ImagingError> {
    if data.len() < 2 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(ImagingError::NotJpeg);
    }
    let mut pos = 2;
    let mut frame: Option<(u32, u32, u8, u8, u8)> = None;
    let mut exif = None;
    let mut icc_chunks = Vec::new();
    loop {
        // Any number of 0xFF fill bytes may precede a marker.
        if *data.get(pos).ok_or(ImagingError::Truncated)? != 0xFF {
            return Err(ImagingError::Corrupt(format!(
                "expected a marker at byte {pos}"
            )));
        }
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *data.get(pos).ok_or(ImagingError::Truncated)?;
        pos += 1;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(ImagingError::Corrupt("second SOI before image data".into())),
            0xD9 => return Err(ImagingError::Corrupt("EOI before any image data".into())),
            0x00 => return Err(ImagingError::Corrupt(format!("stray 0xFF00 at byte {pos}"))),
            _ => {}
        }
        let len = usize::from(be16(data, pos).ok_or(ImagingError::Truncated)?);
        if len < 2 {
            return Err(ImagingError::Corrupt(format!(
                "segment length {len} at byte {pos}"
            )));
        }
        let body = data
            .get(pos + 2..pos + len)
            .ok_or(ImagingError::Truncated)?;
        match marker {
            0xDA => {
                let (width, height, components, precision, sof) = frame.ok_or_else(|| {
                    ImagingError::Corrupt("image data before frame header".into())
                })?;
                return Ok(Header {
                    width,
                    height,
                    components,
                    precision,
                    sof,
                    exif,
                    scan_start: pos - 2,
                    icc_chunks,
                });
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if body.len() < 6 {
                    return Err(ImagingError::Corrupt("short frame header".into()));
                }
                let precision = body[0];
                let height = u32::from(u16::from_be_bytes([body[1], body[2]]));
                let width = u32::from(u16::from_be_bytes([body[3], body[4]]));
                if width == 0 || height == 0 {
                    // Height 0 means "defined later by DNL": legal, but no camera writes it.
                    return Err(ImagingError::Unsupported(format!(
                        "frame size {width}x{height}"
                    )));
                }
                frame.get_or_insert((width, height, body[5], precision, marker));
            }
            0xE1 if exif.is_none() && body.starts_with(b"Exif\0\0") => exif = Some(&body[6..]),
            0xE2 if body.len() > 14 && body.starts_with(b"ICC_PROFILE\0") => {
                icc_chunks.push((body[12], &body[14..]));
            }
            _ => {}
        }
        pos += len;
    }
}

/// Whether the entropy-coded data after `scan_start` is followed by EOI. Inside scan data
/// 0xFF is always followed by 0x00 or a restart marker, so FF D9 can only be the real EOI;
/// a file cut short in transfer has none. Searching from the end makes the common,
/// complete case cost a few bytes.
pub(crate) fn has_eoi(data: &[u8], scan_start: usize) -> bool {
    data.get(scan_start..)
        .is_some_and(|scan| scan.windows(2).rev().any(|w| w == [0xFF, 0xD9]))
}

/// Builds the rendition file from an encoder's output: SOI, our EXIF APP1 (first, where
/// the EXIF standard puts it, so the encoder's JFIF APP0 is dropped), an XMP APP1, an IPTC
/// APP13, then the encoder's remaining segments and image data. Nothing comes from the
/// original's segments, so its APP13 (possibly naming someone else) never survives.
pub(crate) fn assemble(
    encoded: &[u8],
    exif: Option<&[u8]>,
    xmp: Option<&[u8]>,
    iptc: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    let bad = || ImagingError::Encode("encoder output is not a JPEG".into());
    if !encoded.starts_with(&[0xFF, 0xD8]) {
        return Err(bad());
    }
    let mut rest = &encoded[2..];
    if rest.starts_with(&[0xFF, 0xE0]) {
        let len = usize::from(be16(rest, 2).ok_or_else(bad)?);
        rest = rest.get(2 + len..).ok_or_else(bad)?;
    }
    let mut out = Vec::with_capacity(encoded.len() + 64 * 1024);
    out.extend_from_slice(&[0xFF, 0xD8]);
    if let Some(tiff) = exif {
        push_segment(&mut out, 0xE1, &[b"Exif\0\0", tiff])?;
    }
    if let Some(xmp) = xmp {
        push_segment(&mut out, 0xE1, &[b"http://ns.adobe.com/xap/1.0/\0", xmp])?;
    }
    if let Some(iptc) = iptc {
        push_segment(&mut out, 0xED, &[iptc])?;
    }
    out.extend_from_slice(rest);
    Ok(out)
}

fn push_segment(out: &mut Vec<u8>, marker: u8, parts: &[&[u8]]) -> Result<(), ImagingError> {
    let len = parts.iter().map(|p| p.len()).sum::<usize>() + 2;
    let len = u16::try_from(len)
        .map_err(|_| ImagingError::Encode(format!("metadata segment of {len} bytes")))?;
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(())
}
