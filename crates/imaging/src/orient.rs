//! EXIF orientation: turning stored pixels into upright ones. Applied after resizing so
//! the rotation touches a few megapixels, not the full sensor frame.

use crate::pixels::Pixels;

/// Upright size of a `width`x`height` stored image with this orientation.
pub(crate) fn oriented_size(orientation: u16, width: u32, height: u32) -> (u32, u32) {
    if (5..=8).contains(&orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

/// The stored pixel shown at upright position (x, y), per the EXIF/TIFF definition of
/// tag 0x0112 (e.g. 6: the stored image must be turned 90° clockwise to display).
#[inline]
pub(crate) fn source_of(o: u16, x: usize, y: usize, sw: usize, sh: usize) -> (usize, usize) {
    match o {
        2 => (sw - 1 - x, y),
        3 => (sw - 1 - x, sh - 1 - y),
        4 => (x, sh - 1 - y),
        5 => (y, x),
        6 => (y, sh - 1 - x),
        7 => (sw - 1 - y, sh - 1 - x),
        8 => (sw - 1 - y, x),
        _ => (x, y),
    }
}

/// Whether turning a stored image upright reverses its x and its y axis: then what ends
/// the upright image across (down) is where the stored one starts.
pub(crate) fn mirrors_stored_axes(o: u16) -> (bool, bool) {
    match o {
        2 | 8 => (true, false),
        3 | 7 => (true, true),
        4 | 6 => (false, true),
        _ => (false, false),
    }
}

/// Returns the upright image; orientation 1 and unknown values return `img` untouched.
pub(crate) fn apply(img: Pixels, orientation: u16) -> Pixels {
    if !(2..=8).contains(&orientation) {
        return img;
    }
    let n = img.model.channels();
    let (sw, sh) = (img.width as usize, img.height as usize);
    let (dw, dh) = oriented_size(orientation, img.width, img.height);
    let (dw, dh) = (dw as usize, dh as usize);
    let mut out = vec![0u8; img.data.len()];
    for y in 0..dh {
        let row = &mut out[y * dw * n..(y + 1) * dw * n];
        for (x, px) in row.chunks_exact_mut(n).enumerate() {
            let (sx, sy) = source_of(orientation, x, y, sw, sh);
            let s = (sy * sw + sx) * n;
            px.copy_from_slice(&img.data[s..s + n]);
        }
    }
    Pixels {
        data: out,
        width: dw as u32,
        height: dh as u32,
        model: img.model,
    }
}
