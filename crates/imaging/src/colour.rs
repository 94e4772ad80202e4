//! Colour conversion to sRGB for `ColourPolicy::ConvertToSrgb`, with moxcms (pure Rust; see
//! docs/decisions/0010-colour-conversion.md).
//!
//! It runs on the small upright planes, after resizing and before sharpening and the
//! watermark: a 2048 px rendition has ~3 MP where the original has 24–45, and the
//! watermark (an sRGB PNG) must be drawn into sRGB pixels, not converted with the photo.
//! Two luma rows and one chroma row are converted at a time, so the only extra memory is
//! one RGB buffer of two rows.

use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

use crate::planes::{Plane, Planes};
use crate::ImagingError;

/// What `to_srgb` did, for logs and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The profile turned out to describe sRGB (within one level): pixels untouched.
    AlreadySrgb,
    Converted,
}

/// Converts `planes` (JFIF full-range YCbCr in the colour space of `icc`) to sRGB in place.
/// A profile moxcms cannot read, or one that does not match the pixels (a CMYK or grey
/// profile on colour planes), is an error: publishing with guessed colours is what this
/// policy exists to prevent.
pub(crate) fn to_srgb(planes: &mut Planes, icc: &[u8]) -> Result<Outcome, ImagingError> {
    let src = ColorProfile::new_from_slice(icc).map_err(|e| {
        ImagingError::Colour(format!(
            "the original's ICC profile cannot be read ({e}); \
             use colour = \"keep-profile\" to embed it unconverted"
        ))
    })?;
    let srgb = ColorProfile::new_srgb();
    let layout = match (src.color_space, planes.chroma.is_some()) {
        (DataColorSpace::Rgb, true) => Layout::Rgb,
        (DataColorSpace::Gray, false) => Layout::Gray,
        (space, colour) => {
            return Err(ImagingError::Colour(format!(
                "the original's ICC profile is for {space:?} data but its pixels are {}; \
                 cannot convert to sRGB",
                if colour { "colour" } else { "greyscale" }
            )))
        }
    };
    // Grey goes to RGB (R = G = B) and back to luma: moxcms's grey-to-grey path would need
    // a grey sRGB-curve profile we would have to build by hand.
    let transform = src
        .create_transform_8bit(layout, &srgb, Layout::Rgb, TransformOptions::default())
        .map_err(|e| {
            ImagingError::Colour(format!(
                "no transform from the original's ICC profile to sRGB ({e})"
            ))
        })?;
    let run = |src: &[u8], dst: &mut [u8]| {
        transform
            .transform(src, dst)
            .map_err(|e| ImagingError::Colour(format!("colour transform failed: {e}")))
    };
    if layout == Layout::Rgb && is_identity(&run)? {
        return Ok(Outcome::AlreadySrgb);
    }
    match &mut planes.chroma {
        None => grey_to_srgb(&mut planes.y, &run)?,
        Some([cb, cr]) => {
            ycc_to_srgb(&mut planes.y, cb, cr, planes.hfactor, planes.vfactor, &run)?;
        }
    }
    Ok(Outcome::Converted)
}

type Run<'a> = dyn Fn(&[u8], &mut [u8]) -> Result<(), ImagingError> + 'a;

/// Whether the transform leaves an 8×8×8 grid of colours within one level: then the
/// profile is sRGB (whatever its name says) and converting would only add rounding.
fn is_identity(run: &Run) -> Result<bool, ImagingError> {
    let levels: Vec<u8> = (0..8u8).map(|i| (u16::from(i) * 255 / 7) as u8).collect();
    let mut grid = Vec::with_capacity(8 * 8 * 8 * 3);
    for &r in &levels {
        for &g in &levels {
            for &b in &levels {
                grid.extend([r, g, b]);
            }
        }
    }
    let mut out = vec![0u8; grid.len()];
    run(&grid, &mut out)?;
    Ok(grid.iter().zip(&out).all(|(a, b)| a.abs_diff(*b) <= 1))
}

fn grey_to_srgb(y: &mut Plane, run: &Run) -> Result<(), ImagingError> {
    let w = y.width as usize;
    let mut rgb = vec![0u8; w * 3];
    for row in 0..y.height {
        let line = y.row_mut(row);
        run(line, &mut rgb)?;
        for (v, px) in line.iter_mut().zip(rgb.chunks_exact(3)) {
            *v = px[1];
        }
    }
    Ok(())
}

/// Converts YCbCr planes with chroma subsampled `hf`×`vf`: each chroma sample's block of
/// luma goes to RGB with that chroma (what a decoder without fancy upsampling shows),
/// through the transform, and back; the block's new chroma is the mean of its pixels'.
/// Fixed point as in libjpeg: with `f32::round` (a libm call on baseline x86-64) these
/// loops took 12× as long as moxcms's transform itself.
fn ycc_to_srgb(
    y: &mut Plane,
    cb: &mut Plane,
    cr: &mut Plane,
    hf: u32,
    vf: u32,
    run: &Run,
) -> Result<(), ImagingError> {
    let (w, h) = (y.width as usize, y.height);
    let (hf, vf) = (hf.max(1), vf.max(1));
    if cb.width as usize != w.div_ceil(hf as usize) || cb.height != h.div_ceil(vf) {
        return Err(ImagingError::Colour(format!(
            "chroma planes {}x{} do not match {w}x{h} at {hf}x{vf}",
            cb.width, cb.height
        )));
    }
    let hf = hf as usize;
    let mut src = vec![0u8; w * vf as usize * 3];
    let mut dst = vec![0u8; src.len()];
    // Per chroma sample: Cb and Cr sums (×2^16, before the +128 offset) and pixel count.
    let mut sums = vec![[0i32; 3]; cb.width as usize];
    for cy in 0..cb.height {
        let rows = cy * vf..((cy + 1) * vf).min(h);
        let (cb_row, cr_row) = (cb.row(cy), cr.row(cy));
        for (i, ry) in rows.clone().enumerate() {
            let out = &mut src[i * w * 3..(i + 1) * w * 3];
            let blocks = y.row(ry).chunks(hf).zip(out.chunks_mut(hf * 3));
            for ((ys, px), (&b, &r)) in blocks.zip(cb_row.iter().zip(cr_row)) {
                let (b, r) = (i32::from(b) - 128, i32::from(r) - 128);
                let dr = (91_881 * r + HALF) >> 16;
                let dg = (-22_554 * b - 46_802 * r + HALF) >> 16;
                let db = (116_130 * b + HALF) >> 16;
                for (&yy, p) in ys.iter().zip(px.chunks_exact_mut(3)) {
                    let yy = i32::from(yy);
                    p[0] = clamp(yy + dr);
                    p[1] = clamp(yy + dg);
                    p[2] = clamp(yy + db);
                }
            }
        }
        let n = rows.len() * w * 3;
        run(&src[..n], &mut dst[..n])?;
        sums.iter_mut().for_each(|s| *s = [0; 3]);
        for (i, ry) in rows.enumerate() {
            let conv = &dst[i * w * 3..(i + 1) * w * 3];
            let blocks = y.row_mut(ry).chunks_mut(hf).zip(conv.chunks(hf * 3));
            for ((ys, px), s) in blocks.zip(sums.iter_mut()) {
                for (v, p) in ys.iter_mut().zip(px.chunks_exact(3)) {
                    let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
                    *v = clamp((19_595 * r + 38_470 * g + 7_471 * b + HALF) >> 16);
                    s[0] += -11_059 * r - 21_709 * g + 32_768 * b;
                    s[1] += 32_768 * r - 27_439 * g - 5_329 * b;
                    s[2] += 1;
                }
            }
        }
        // The mean, rounded: the numerator is positive since each term is > -128 × 2^16.
        let mean = |sum: i32, n: i32| clamp((sum + n * (128 << 16) + n * HALF) / (n << 16));
        let (cb_row, cr_row) = (cb.row_mut(cy), cr.row_mut(cy));
        for ((b, r), s) in cb_row.iter_mut().zip(cr_row.iter_mut()).zip(&sums) {
            *b = mean(s[0], s[2]);
            *r = mean(s[1], s[2]);
        }
    }
    Ok(())
}

/// 0.5 in 16-bit fixed point. The JFIF (full-range BT.601) coefficients above are ×2^16,
/// the same as libjpeg's `jdcolor.c`/`jccolor.c`, the inverse of `planes::rgb_to_ycc`.
const HALF: i32 = 1 << 15;

#[inline]
fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}
