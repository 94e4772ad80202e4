//! Colour conversion to sRGB for `ColourPolicy::ConvertToSrgb`, and the sRGB check for
//! `RequireSrgb`, with moxcms (pure Rust; see docs/decisions/0010-colour-conversion.md).
//!
//! RGB and grey originals are converted on the small upright planes, after resizing and
//! before sharpening and the watermark: a 2048 px rendition has ~3 MP where the original
//! has 24–45, and the watermark (an sRGB PNG) must be drawn into sRGB pixels, not converted
//! with the photo. Two luma rows and one chroma row are converted at a time, so the only
//! extra memory is one RGB buffer of two rows. CMYK is the exception (`cmyk_to_srgb`): it
//! has no planes, so it is converted where it is decoded, at the DCT-scaled size.

use std::sync::Arc;

use moxcms::{
    ColorProfile, DataColorSpace, Layout, ProfileText, Transform8BitExecutor, TransformOptions,
};

use crate::planes::{Plane, Planes};
use crate::ImagingError;

/// What `to_srgb` did, for logs and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The profile turned out to describe sRGB (within one level): pixels untouched.
    AlreadySrgb,
    Converted,
}

/// Converts `planes` (JFIF full-range YCbCr, or grey, in the colour space of `icc`) to sRGB
/// in place. A profile moxcms cannot read, or one that does not match the pixels (a CMYK
/// or grey profile on colour planes, an RGB one on grey), is an error: publishing with
/// guessed colours is what this policy exists to prevent.
pub(crate) fn to_srgb(planes: &mut Planes, icc: &[u8]) -> Result<Outcome, ImagingError> {
    let src = parse(icc)?;
    let layout = match (src.color_space, planes.chroma.is_some()) {
        (DataColorSpace::Rgb, true) => Layout::Rgb,
        (DataColorSpace::Gray, false) => Layout::Gray,
        (space, colour) => {
            return Err(mismatch(space, if colour { "colour" } else { "greyscale" }))
        }
    };
    // Grey goes to RGB (R = G = B) and back to luma: moxcms's grey-to-grey path would need
    // a grey sRGB-curve profile we would have to build by hand.
    let transform = srgb_transform(&src, layout)?;
    let run = runner(&transform);
    if is_identity(&run, layout)? {
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

/// Converts packed CMYK as libjpeg decodes an Adobe JPEG (inverted: 255 = no ink) to
/// packed sRGB through the original's CMYK profile. `cmyk` is inverted in place on the
/// way: ICC CMYK counts ink (0 = none), and the buffer is not needed afterwards. Every
/// 4-component JPEG is taken as inverted, as by the naive path (`tj::cmyk_to_rgb`): that
/// is how Photoshop writes them, plain CMYK or YCCK, and there is no marker for the rest.
pub(crate) fn cmyk_to_srgb(cmyk: &mut [u8], icc: &[u8]) -> Result<Vec<u8>, ImagingError> {
    let src = parse(icc)?;
    if src.color_space != DataColorSpace::Cmyk {
        return Err(mismatch(src.color_space, "CMYK"));
    }
    // moxcms takes 8-bit CMYK in the four-channel `Rgba` layout (`Cmyka` is CMYK + alpha).
    let transform = srgb_transform(&src, Layout::Rgba)?;
    cmyk.iter_mut().for_each(|v| *v = 255 - *v);
    let mut rgb = vec![0u8; cmyk.len() / 4 * 3];
    runner(&transform)(cmyk, &mut rgb)?;
    Ok(rgb)
}

/// For `RequireSrgb`: passes iff `icc` describes sRGB by what it does, not by what it is
/// called (a Display P3 profile named "sRGB" must not pass, an sRGB one from a camera
/// vendor with its own name must): an RGB profile, or a grey one with sRGB's curve, whose
/// transform to moxcms's sRGB moves no colour of a grid by more than one level.
pub(crate) fn check_srgb(icc: &[u8]) -> Result<(), ImagingError> {
    let src = parse(icc)?;
    if is_srgb(&src)? {
        return Ok(());
    }
    Err(ImagingError::Colour(format!(
        "the original's ICC profile ({}) does not describe sRGB colours and the recipe \
         requires sRGB; use colour = \"convert-to-srgb\" to convert it or \
         \"keep-profile\" to embed it",
        describe(&src)
    )))
}

fn is_srgb(src: &ColorProfile) -> Result<bool, ImagingError> {
    let layout = match src.color_space {
        DataColorSpace::Rgb => Layout::Rgb,
        DataColorSpace::Gray => Layout::Gray,
        _ => return Ok(false),
    };
    // A profile moxcms reads but cannot build a transform from cannot be shown to be sRGB.
    let Ok(transform) = srgb_transform(src, layout) else {
        return Ok(false);
    };
    let run = runner(&transform);
    is_identity(&run, layout)
}

/// The original's profile, parsed; the error names what the photographer can do instead.
fn parse(icc: &[u8]) -> Result<ColorProfile, ImagingError> {
    ColorProfile::new_from_slice(icc).map_err(|e| {
        ImagingError::Colour(format!(
            "the original's ICC profile cannot be read ({e}); \
             use colour = \"keep-profile\" to embed it unconverted"
        ))
    })
}

fn mismatch(space: DataColorSpace, pixels: &str) -> ImagingError {
    ImagingError::Colour(format!(
        "the original's ICC profile is for {space:?} data but its pixels are {pixels}; \
         cannot convert to sRGB"
    ))
}

/// An 8-bit transform from `src` (pixels in `layout`) to packed sRGB. Perceptual, the
/// default intent, reads A2B0 from LUT profiles, the one table CMYK output profiles must
/// have.
fn srgb_transform(
    src: &ColorProfile,
    layout: Layout,
) -> Result<Arc<Transform8BitExecutor>, ImagingError> {
    src.create_transform_8bit(
        layout,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        TransformOptions::default(),
    )
    .map_err(|e| {
        ImagingError::Colour(format!(
            "no transform from the original's ICC profile to sRGB ({e})"
        ))
    })
}

fn runner(
    transform: &Arc<Transform8BitExecutor>,
) -> impl Fn(&[u8], &mut [u8]) -> Result<(), ImagingError> + '_ {
    move |src, dst| {
        transform
            .transform(src, dst)
            .map_err(|e| ImagingError::Colour(format!("colour transform failed: {e}")))
    }
}

/// How a profile calls itself, for error messages: its description (cut short, since it
/// comes from the file) and its data colour space.
fn describe(profile: &ColorProfile) -> String {
    let text = match &profile.description {
        Some(ProfileText::PlainString(s)) => s.as_str(),
        Some(ProfileText::Localizable(v)) => v.first().map_or("", |s| s.value.as_str()),
        Some(ProfileText::Description(d)) => d.ascii_string.as_str(),
        None => "",
    };
    let text: String = text.trim_end_matches('\0').chars().take(64).collect();
    format!("{text:?}, {:?}", profile.color_space)
}

type Run<'a> = dyn Fn(&[u8], &mut [u8]) -> Result<(), ImagingError> + 'a;

/// Whether the transform leaves colours within one level: an 8×8×8 grid for RGB, every
/// level for grey (whose curve is all there is). Then the profile is sRGB (whatever its
/// name says) and converting would only add rounding.
fn is_identity(run: &Run, layout: Layout) -> Result<bool, ImagingError> {
    let (grid, want): (Vec<u8>, Vec<u8>) = if layout == Layout::Gray {
        let ramp: Vec<u8> = (0..=255).collect();
        let rgb = ramp.iter().flat_map(|&v| [v; 3]).collect();
        (ramp, rgb)
    } else {
        let levels: Vec<u8> = (0..8u8).map(|i| (u16::from(i) * 255 / 7) as u8).collect();
        let mut grid = Vec::with_capacity(8 * 8 * 8 * 3);
        for &r in &levels {
            for &g in &levels {
                for &b in &levels {
                    grid.extend([r, g, b]);
                }
            }
        }
        (grid.clone(), grid)
    };
    let mut out = vec![0u8; want.len()];
    run(&grid, &mut out)?;
    Ok(want.iter().zip(&out).all(|(a, b)| a.abs_diff(*b) <= 1))
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
