//! What kind of file an original is, and the bytes or pixels the pipeline starts from.
//! JPEG and RAW previews stay compressed (the fast path decodes them at reduced scale);
//! PNG and TIFF are decoded to 8-bit RGB (or grey) here.

use std::io::Cursor;

use exif::Exif;
use image::ImageDecoder;

use crate::{decode, metadata, raw, render, ImagingError};

pub(crate) enum Source<'a> {
    Jpeg {
        kind: &'static str,
        data: &'a [u8],
        /// EXIF from a RAW container, which overrides the preview's own.
        exif: Option<Exif>,
        orientation: Option<u16>,
    },
    Pixels {
        kind: &'static str,
        /// Packed RGB, or one luma byte a pixel if `grey`.
        pixels: Vec<u8>,
        /// Kept grey so that a grey ICC profile still fits the pixels it describes.
        grey: bool,
        width: u32,
        height: u32,
        exif: Option<Exif>,
        icc: Option<Vec<u8>>,
    },
}

impl Source<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Jpeg { kind, .. } | Source::Pixels { kind, .. } => kind,
        }
    }
}

pub(crate) fn open(data: &[u8]) -> Result<Source<'_>, ImagingError> {
    if data.is_empty() {
        return Err(ImagingError::Empty);
    }
    if data.starts_with(&[0xFF, 0xD8]) {
        return Ok(Source::Jpeg {
            kind: "jpeg",
            data,
            exif: None,
            orientation: None,
        });
    }
    if let Some(format) = raw::detect(data) {
        let p = raw::preview(data, format).map_err(ImagingError::NoRawPreview)?;
        return Ok(Source::Jpeg {
            kind: p.format,
            data: p.jpeg,
            exif: metadata::parse(p.exif_tiff),
            orientation: p.orientation,
        });
    }
    if let Some(brand) = heif_brand(data) {
        return Err(ImagingError::UnsupportedFormat(format!(
            "HEIC/HEIF ({brand})"
        )));
    }
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        let d = image::codecs::png::PngDecoder::new(Cursor::new(data))
            .map_err(|e| ImagingError::Corrupt(format!("PNG: {e}")))?;
        return pixels("png", d);
    }
    if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        let d = image::codecs::tiff::TiffDecoder::new(Cursor::new(data))
            .map_err(|e| ImagingError::Corrupt(format!("TIFF: {e}")))?;
        return pixels("tiff", d);
    }
    Err(ImagingError::NotImage)
}

/// The ftyp major brand of a HEIF-family file (HEIC, AVIF...), which we name in the error.
fn heif_brand(data: &[u8]) -> Option<String> {
    if data.len() < 12 || &data[4..8] != b"ftyp" {
        return None;
    }
    let brand = &data[8..12];
    matches!(
        brand,
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" | b"avif"
    )
    .then(|| String::from_utf8_lossy(brand).into_owned())
}

/// Decodes a PNG or TIFF to 8-bit RGB, or grey for grey files: 16-bit samples are rounded,
/// alpha is composited on white (transparent areas of a product shot are meant as
/// background, not black).
fn pixels<'a>(kind: &'static str, mut d: impl ImageDecoder) -> Result<Source<'a>, ImagingError> {
    let (width, height) = d.dimensions();
    decode::check_limits(width, height)?;
    // The decoder's own buffer (up to 8 bytes a pixel for 16-bit RGBA) plus our RGB copy.
    render::check_budget(d.total_bytes() + u64::from(width) * u64::from(height) * 3)?;
    let icc = d.icc_profile().ok().flatten();
    let exif = d.exif_metadata().ok().flatten().and_then(|raw| {
        // PNG eXIf holds a bare TIFF block; TIFF files are one, which the EXIF reader takes.
        metadata::parse(Some(&raw))
    });
    let img = image::DynamicImage::from_decoder(d)
        .map_err(|e| ImagingError::Corrupt(format!("{kind}: {e}")))?;
    let grey = !img.color().has_color();
    let pixels = match (grey, img.color().has_alpha()) {
        (false, false) => img.to_rgb8().into_raw(),
        (false, true) => on_white(&img.to_rgba8().into_raw(), 3),
        (true, false) => img.to_luma8().into_raw(),
        (true, true) => on_white(&img.to_luma_alpha8().into_raw(), 1),
    };
    Ok(Source::Pixels {
        kind,
        pixels,
        grey,
        width,
        height,
        exif,
        icc,
    })
}

/// Packed samples of `channels` colours plus alpha, composited on white.
fn on_white(px: &[u8], channels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(px.len() / (channels + 1) * channels);
    for p in px.chunks_exact(channels + 1) {
        let a = u32::from(p[channels]);
        for &c in &p[..channels] {
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    out
}
