//! The rendition pipeline: check, decode, resize, orient, encode.

use std::time::Instant;

use crate::{container, decode, encode, metadata, orient, resize, ImagingError, Recipe};

/// An encoded rendition and its (upright) size.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Renders `original` (a JPEG) per `recipe`: upright, long edge at most
/// `recipe.long_edge`, 4:2:0 at `recipe.quality`, EXIF per `recipe.metadata`.
pub fn render(original: &[u8], recipe: &Recipe) -> Result<Rendition, ImagingError> {
    let started = Instant::now();
    if recipe.long_edge == 0 {
        return Err(ImagingError::Unsupported("recipe long_edge of 0".into()));
    }
    let header = container::read_header(original)?;
    // Before anything sized by the frame: a bomb must cost microseconds and no memory.
    decode::check_limits(header.width, header.height)?;
    header.check_supported()?;
    // The decoder pads missing data with grey rather than failing; a file cut off in
    // transfer must be retried, not published half grey.
    if !container::has_eoi(original, header.scan_start) {
        return Err(ImagingError::Truncated);
    }
    let exif = metadata::parse(header.exif);
    let orientation = metadata::orientation(exif.as_ref());

    let decoded = decode::decode(original, &header)?;
    let decoded_at = started.elapsed();
    let (w, h) = resize::target_size(
        decoded.pixels.width,
        decoded.pixels.height,
        recipe.long_edge,
    );
    let small = resize::resize(decoded.pixels, w, h)?;
    let resized_at = started.elapsed();
    let upright = orient::apply(small, orientation);

    let tiff = metadata::for_rendition(exif.as_ref(), recipe.metadata);
    let jpeg = encode::encode(
        &upright,
        recipe.quality,
        tiff.as_deref(),
        decoded.icc.as_deref(),
    )?;
    tracing::debug!(
        width = upright.width,
        height = upright.height,
        orientation,
        bytes = jpeg.len(),
        decode_ms = decoded_at.as_secs_f64() * 1e3,
        resize_ms = (resized_at - decoded_at).as_secs_f64() * 1e3,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        "rendered"
    );
    Ok(Rendition {
        jpeg,
        width: upright.width,
        height: upright.height,
    })
}
