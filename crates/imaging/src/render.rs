//! The rendition pipeline. For JPEG (and RAW previews, which are JPEG): read headers, pick
//! the crop in the upright frame, decode at the smallest DCT scale that still covers the
//! output straight into Y/Cb/Cr planes, resize each plane from the exact crop box, turn
//! the small result upright, sharpen, watermark and encode from the planes.

use std::time::Instant;

use exif::Exif;

use crate::geometry::{self, Rect};
use crate::planes::{self, Planes};
use crate::recipe::ColourPolicy;
use crate::source::{self, Source};
use crate::{
    colour, container, decode, metadata, rawcrop, sharpen, tj, watermark, ImagingError, Recipe,
};

/// Memory the decoded frame of one image may take (planes or pixels at the chosen DCT
/// scale). A 45 MP camera JPEG needs 68 MiB at full scale in 4:2:0 and 17 MiB at the
/// half scale a 2048 px rendition uses; 192 MiB admits 100 MP+ full-scale decodes and
/// keeps two workers under half a gigabyte even for hostile headers.
pub const DECODE_BUDGET_BYTES: u64 = 192 << 20;
/// Cap on libjpeg's own intermediate buffers (progressive JPEGs keep every coefficient:
/// 2 bytes per sample, 135 MiB for a 45 MP 4:2:0 file).
pub const CODEC_MEMORY_MIB: u32 = 256;

/// An encoded rendition and its (upright) size.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Quality actually used (lower than the recipe's when a byte target applied).
    pub quality: u8,
    /// Where the pixels came from and how they were decoded.
    pub stats: Stats,
}

/// How a rendition was made; for logs and the benchmark.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// `jpeg`, `png`, `tiff` or the RAW format whose embedded preview was used.
    pub source: &'static str,
    /// Decoded at 1/`dct_scale` of the stored size (1 for non-JPEG sources).
    pub dct_scale: u32,
    /// Chroma decoded at a further 1/`chroma_dct_scale` (1: like luma).
    pub chroma_dct_scale: u32,
    /// For JPEG planes this includes the vertical half of the resize, which runs on the
    /// rows as they are decoded; `resize_ms` is the horizontal half and the rotation.
    pub decode_ms: f64,
    pub resize_ms: f64,
    /// ICC conversion to sRGB (0 unless the recipe converts and the original is tagged).
    pub colour_ms: f64,
    pub encode_ms: f64,
}

/// Renders `original` per `recipe`: upright, cropped, fitted to the recipe's size, 4:2:0
/// at `recipe.quality` (or lower for a byte target), metadata per `recipe.metadata`.
pub fn render(original: &[u8], recipe: &Recipe) -> Result<Rendition, ImagingError> {
    let (planes, prepared) = render_planes(original, recipe)?;
    finish(planes, prepared, recipe)
}

/// What the decode half hands the encode half besides pixels.
pub(crate) struct Prepared {
    exif: Option<Exif>,
    /// The profile the planes' pixels are in: the original's, or none once they were
    /// converted (CMYK is converted, or decoded naively, before it becomes planes).
    icc: Option<Vec<u8>>,
    stats: Stats,
    started: Instant,
}

/// Everything up to encoding: the upright, resized, sharpened and watermarked planes.
pub(crate) fn render_planes(
    original: &[u8],
    recipe: &Recipe,
) -> Result<(Planes, Prepared), ImagingError> {
    let started = Instant::now();
    check_recipe(recipe)?;
    let source = source::open(original)?;
    let kind = source.kind();
    let (planes, mut prepared) = match source {
        Source::Jpeg {
            data,
            exif,
            orientation,
            ..
        } => jpeg_planes(data, exif, orientation, recipe, started)?,
        Source::Pixels {
            pixels,
            grey,
            width,
            height,
            exif,
            icc,
            ..
        } => {
            check_colour(icc.as_deref(), recipe.colour)?;
            let orientation = metadata::orientation(exif.as_ref());
            let p = if grey {
                Planes::from_grey(pixels, width, height)
            } else {
                let p = Planes::from_rgb(&pixels, width, height);
                drop(pixels);
                p
            };
            let mut prep = Prepared {
                exif,
                icc,
                stats: Stats {
                    dct_scale: 1,
                    chroma_dct_scale: 1,
                    ..Stats::default()
                },
                started,
            };
            prep.stats.decode_ms = ms(started);
            (resize_oriented(&p, orientation, 1, recipe)?, prep)
        }
    };
    prepared.stats.source = kind;
    let mut planes = planes;
    if recipe.colour == ColourPolicy::ConvertToSrgb {
        if let Some(icc) = &prepared.icc {
            // Before the watermark, which is sRGB already and must not be converted.
            let t = Instant::now();
            let outcome = colour::to_srgb(&mut planes, icc)?;
            prepared.stats.colour_ms = t.elapsed().as_secs_f64() * 1e3;
            tracing::debug!(?outcome, ms = prepared.stats.colour_ms, "colour to sRGB");
        }
    }
    let t = Instant::now();
    if recipe.sharpen > 0.0 {
        sharpen::luma(&mut planes.y, recipe.sharpen.min(1.0));
    }
    if let Some(mark) = &recipe.watermark {
        watermark::apply(&mut planes, mark)?;
    }
    prepared.stats.resize_ms += t.elapsed().as_secs_f64() * 1e3;
    Ok((planes, prepared))
}

fn check_recipe(recipe: &Recipe) -> Result<(), ImagingError> {
    if recipe.long_edge == 0 && recipe.fit.is_none() {
        return Err(ImagingError::Unsupported("recipe long_edge of 0".into()));
    }
    if recipe.fit.is_some_and(|b| b.width == 0 || b.height == 0) {
        return Err(ImagingError::Recipe("fit box with a zero side".into()));
    }
    Ok(())
}

fn jpeg_planes(
    data: &[u8],
    outer_exif: Option<Exif>,
    outer_orientation: Option<u16>,
    recipe: &Recipe,
    started: Instant,
) -> Result<(Planes, Prepared), ImagingError> {
    let header = container::read_header(data)?;
    // Before anything sized by the frame: a bomb must cost microseconds and no memory.
    decode::check_limits(header.width, header.height)?;
    header.check_supported()?;
    // A file cut off in transfer must be retried, not published half grey.
    if !container::has_eoi(data, header.scan_start) {
        return Err(ImagingError::Truncated);
    }
    let exif = outer_exif.or_else(|| metadata::parse(header.exif));
    let orientation = outer_orientation.unwrap_or_else(|| metadata::orientation(exif.as_ref()));
    let mut icc = header.icc();
    // Before decoding: a refusal should cost no more than reading the headers.
    check_colour(icc.as_deref(), recipe.colour)?;

    let limits = tj::Limits {
        max_pixels: decode::MAX_PIXELS,
        max_memory_mib: CODEC_MEMORY_MIB,
    };
    let mut dec = tj::Decoder::new(data, &limits)?;
    let (sw, sh) = (dec.info.width, dec.info.height);
    let plan = plan(sw, sh, orientation, recipe);
    let denom = geometry::dct_denominator(plan.stored_crop, plan.stored_out.0, plan.stored_out.1);
    let scaled_crop = plan
        .stored_crop
        .scaled(1.0 / f64::from(denom), 1.0 / f64::from(denom));
    let mut colour_ms = 0.0;
    let mut chroma_dct_scale = 1;
    let decoded = if dec.info.has_planes() {
        let (sw, sh) = (sw.div_ceil(denom), sh.div_ceil(denom));
        let (cols, rows) = region(scaled_crop, plan.stored_out, sw, sh);
        let cden = chroma_denominator(&dec.info, scaled_crop, plan.stored_out, denom);
        chroma_dct_scale = cden;
        let region = rawcrop::RegionDecoder::start(data, denom, cden, cols, CODEC_MEMORY_MIB)?;
        if region.frame() != (sw, sh) {
            return Err(ImagingError::Codec(format!(
                "libjpeg and TurboJPEG disagree on the frame size: {:?} vs {sw}x{sh}",
                region.frame()
            )));
        }
        drop(dec);
        let layout = region.layout(rows);
        let crop = Rect {
            x: scaled_crop.x - f64::from(layout.origin.x),
            y: scaled_crop.y - f64::from(layout.origin.y),
            ..scaled_crop
        };
        let (boxes, shrinks) = layout.boxes(crop, plan.stored_out, orientation);
        check_budget(region.shrunk_bytes(rows, &shrinks))?;
        Decoded::Rows(region.decode_shrunk(rows, &shrinks)?, boxes)
    } else {
        let (w, h) = dec.scaled_size(denom);
        // Packed CMYK and the RGB made from it, or packed RGB and the planes made from it.
        check_budget(u64::from(w) * u64::from(h) * 7)?;
        let (packed, w, h) = dec.decode_packed(denom)?;
        let rgb = match packed {
            tj::Packed::Rgb(rgb) => rgb,
            tj::Packed::Cmyk(cmyk) => {
                let t = Instant::now();
                let rgb = rgb_from_cmyk(cmyk, &mut icc, recipe.colour)?;
                colour_ms = t.elapsed().as_secs_f64() * 1e3;
                rgb
            }
        };
        Decoded::Full(Planes::from_rgb(&rgb, w, h))
    };
    let mut prepared = Prepared {
        exif,
        icc,
        stats: Stats {
            dct_scale: denom,
            chroma_dct_scale,
            decode_ms: ms(started) - colour_ms,
            colour_ms,
            ..Stats::default()
        },
        started,
    };
    let t = Instant::now();
    let small = match decoded {
        Decoded::Rows(rows, boxes) => planes::resize_rows(&rows, &boxes)?,
        Decoded::Full(full) => {
            planes::resize_planes(&full, scaled_crop, plan.stored_out, orientation)?
        }
    };
    let upright = planes::orient_planes(small, orientation);
    prepared.stats.resize_ms = t.elapsed().as_secs_f64() * 1e3;
    Ok((upright, prepared))
}

/// What a JPEG decodes to: planes already resampled down to the output height (the
/// vertical half of the resize ran inside the decode loop) with the boxes for the
/// horizontal half, or whole planes made from packed pixels (CMYK).
enum Decoded {
    Rows(Planes, planes::Boxes),
    Full(Planes),
}

/// RGB from decoded (Adobe-inverted) CMYK. With `ConvertToSrgb` and a profile, through the
/// profile to sRGB; otherwise naively (`tj::cmyk_to_rgb`): the only choice without a
/// profile, and what keeping it has always meant (requiring sRGB refused it before
/// decoding). Either way `icc` is taken: the profile describes the CMYK data, not these
/// RGB pixels, and embedding it would make viewers misread them or convert them twice.
fn rgb_from_cmyk(
    mut cmyk: Vec<u8>,
    icc: &mut Option<Vec<u8>>,
    policy: ColourPolicy,
) -> Result<Vec<u8>, ImagingError> {
    match (icc.take(), policy) {
        (Some(profile), ColourPolicy::ConvertToSrgb) => {
            let rgb = colour::cmyk_to_srgb(&mut cmyk, &profile)?;
            tracing::debug!("CMYK to sRGB through the embedded profile");
            Ok(rgb)
        }
        (profile, _) => {
            if profile.is_some() {
                tracing::warn!(
                    "CMYK original converted to RGB without its profile, which is dropped; \
                     colour = \"convert-to-srgb\" converts through it"
                );
            }
            Ok(tj::cmyk_to_rgb(&cmyk))
        }
    }
}

/// How much further than luma chroma can be DCT-scaled (1, 2, 4 or 8). The rendition
/// keeps chroma at half its size (4:2:0), so the stored chroma usually has far more samples
/// than it needs: a 45 MP 4:2:2 frame cropped to 4:5 has 3.4× (across) and 6.7× (down)
/// the output's chroma. The same 2× margin as for luma (`geometry::dct_denominator`)
/// applies: with less (1.7× across for that crop at 1/2, which would save 35 ms of its
/// 250) chroma SSIM on saturated fine colour detail falls from 0.998 to 0.986
/// (tests/quality.rs, `chroma_at_the_dct_rules_edges`), while camera scenes barely move.
fn chroma_denominator(info: &tj::Info, crop: Rect, out: (u32, u32), denom: u32) -> u32 {
    let Some((hs, vs)) = info.chroma_subsampling() else {
        return 1;
    };
    let chroma_crop = crop.scaled(1.0 / f64::from(hs), 1.0 / f64::from(vs));
    let d = geometry::dct_denominator(chroma_crop, out.0.div_ceil(2), out.1.div_ceil(2));
    d.clamp(1, 8 / denom)
}

/// The luma columns and rows of a `fw`×`fh` (scaled) frame that resizing `crop` to `out`
/// reads: the crop box plus the reach of the Lanczos3 kernel (3 lobes) around it, taken at
/// chroma resolution since the output's chroma is halved (4:2:0), plus rounding slack.
/// Outside this box no sample influences the rendition, so it need not be decoded.
fn region(crop: Rect, out: (u32, u32), fw: u32, fh: u32) -> ((u32, u32), (u32, u32)) {
    let reach = |len: f64, out: u32| {
        let scale = (len / f64::from(out.div_ceil(2).max(1))).max(1.0);
        (3.0 * scale).ceil() + 4.0
    };
    let span = |start: f64, len: f64, out: u32, frame: u32| {
        let m = reach(len, out);
        let a = (start - m).floor().max(0.0) as u32;
        let b = ((start + len + m).ceil() as u32).min(frame);
        if b.saturating_sub(a) < rawcrop::MIN_REGION {
            (0, frame)
        } else {
            (a.min(frame), b)
        }
    };
    (
        span(crop.x, crop.w, out.0, fw),
        span(crop.y, crop.h, out.1, fh),
    )
}

/// The crop and output size of one rendition, in the stored frame the decoder sees.
struct Plan {
    stored_crop: Rect,
    stored_out: (u32, u32),
}

/// Crops are defined in the upright frame (what the photographer sees), then mapped back
/// to the stored frame so decoding and resizing never touch a rotated full-size image.
fn plan(sw: u32, sh: u32, orientation: u16, recipe: &Recipe) -> Plan {
    let (ow, oh) = geometry::oriented_size(orientation, sw, sh);
    let crop = geometry::crop_box(&recipe.crop, recipe.anchor, ow, oh);
    let (w, h) = geometry::output_size(recipe.size(), crop.w, crop.h);
    let crop = geometry::match_aspect(crop, w, h);
    let stored_out = if (5..=8).contains(&orientation) {
        (h, w)
    } else {
        (w, h)
    };
    Plan {
        stored_crop: geometry::to_stored(crop, orientation, sw, sh),
        stored_out,
    }
}

/// For full-resolution planes from non-JPEG sources.
fn resize_oriented(
    full: &Planes,
    orientation: u16,
    denom: u32,
    recipe: &Recipe,
) -> Result<Planes, ImagingError> {
    let plan = plan(full.y.width, full.y.height, orientation, recipe);
    let crop = plan
        .stored_crop
        .scaled(1.0 / f64::from(denom), 1.0 / f64::from(denom));
    let small = planes::resize_planes(full, crop, plan.stored_out, orientation)?;
    Ok(planes::orient_planes(small, orientation))
}

pub(crate) fn check_budget(bytes: u64) -> Result<(), ImagingError> {
    if bytes > DECODE_BUDGET_BYTES {
        return Err(ImagingError::OverBudget {
            needed_mib: bytes.div_ceil(1 << 20),
            budget_mib: DECODE_BUDGET_BYTES >> 20,
        });
    }
    Ok(())
}

/// For `RequireSrgb`, a profile passes only if it describes sRGB by content (see
/// `colour::check_srgb`); anything else is refused instead of guessed (`ConvertToSrgb` is
/// the policy that converts). Untagged originals are sRGB by convention.
fn check_colour(icc: Option<&[u8]>, policy: ColourPolicy) -> Result<(), ImagingError> {
    match icc {
        Some(icc) if policy == ColourPolicy::RequireSrgb => colour::check_srgb(icc),
        _ => Ok(()),
    }
}

fn finish(planes: Planes, prep: Prepared, recipe: &Recipe) -> Result<Rendition, ImagingError> {
    let t = Instant::now();
    let (w, h) = (planes.y.width, planes.y.height);
    let tiff =
        metadata::for_rendition(prep.exif.as_ref(), recipe.metadata, &recipe.credits, (w, h));
    let (xmp, iptc) = match recipe.metadata {
        crate::MetadataPolicy::StripAll => (None, None),
        _ => (
            metadata::xmp(&recipe.credits),
            metadata::iptc(&recipe.credits),
        ),
    };
    let icc = match recipe.colour {
        ColourPolicy::KeepProfile => prep.icc.as_deref(),
        // Only sRGB (or, converting, pixels now in sRGB) gets this far; untagged means sRGB
        // on the web anyway, and saves the profile's bytes.
        ColourPolicy::RequireSrgb | ColourPolicy::ConvertToSrgb => None,
    };
    let encode = |q: u8| -> Result<Vec<u8>, ImagingError> {
        let raw = tj::encode_planes(&planes, q, icc)?;
        container::assemble(&raw, tiff.as_deref(), xmp.as_deref(), iptc.as_deref())
    };
    let (jpeg, quality) = match recipe.target_bytes {
        None => (encode(recipe.quality)?, recipe.quality.clamp(1, 100)),
        Some(target) => fit_bytes(&encode, recipe.quality.clamp(1, 100), target as usize)?,
    };
    let mut stats = prep.stats;
    stats.encode_ms = t.elapsed().as_secs_f64() * 1e3;
    tracing::debug!(
        width = w,
        height = h,
        bytes = jpeg.len(),
        quality,
        source = stats.source,
        dct_scale = stats.dct_scale,
        decode_ms = stats.decode_ms,
        resize_ms = stats.resize_ms,
        encode_ms = stats.encode_ms,
        total_ms = ms(prep.started),
        "rendered"
    );
    Ok(Rendition {
        jpeg,
        width: w,
        height: h,
        quality,
        stats,
    })
}

/// Lowest quality the byte target may push to: below it, artefacts show on faces.
const MIN_TARGET_QUALITY: u8 = 40;

/// The highest quality whose file fits `target` bytes, by bisection (each try is one
/// encode of the small image, a few milliseconds). If even q40 is too large, q40 is used
/// and a warning logged: a slightly large photo beats a missing one.
fn fit_bytes(
    encode: &dyn Fn(u8) -> Result<Vec<u8>, ImagingError>,
    max_q: u8,
    target: usize,
) -> Result<(Vec<u8>, u8), ImagingError> {
    let first = encode(max_q)?;
    if first.len() <= target || max_q <= MIN_TARGET_QUALITY {
        return Ok((first, max_q));
    }
    let (mut lo, mut hi) = (MIN_TARGET_QUALITY, max_q - 1);
    let mut best: Option<(Vec<u8>, u8)> = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        let out = encode(mid)?;
        if out.len() <= target {
            best = Some((out, mid));
            lo = mid + 1;
        } else {
            if mid == MIN_TARGET_QUALITY {
                break;
            }
            hi = mid - 1;
        }
    }
    match best {
        Some(b) => Ok(b),
        None => {
            let out = encode(MIN_TARGET_QUALITY)?;
            tracing::warn!(
                target,
                bytes = out.len(),
                "byte target not reachable at quality {MIN_TARGET_QUALITY}; using it anyway"
            );
            Ok((out, MIN_TARGET_QUALITY))
        }
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// The rendition's luma before encoding: what the quality checks compare against a slow
/// reference.
pub fn render_luma(original: &[u8], recipe: &Recipe) -> Result<crate::quality::Luma, ImagingError> {
    Ok(render_ycc(original, recipe)?.y)
}

/// The rendition's upright planes before encoding (chroma at half size each way).
pub fn render_ycc(original: &[u8], recipe: &Recipe) -> Result<crate::quality::Ycc, ImagingError> {
    let (planes, _) = render_planes(original, recipe)?;
    let plane = |p: crate::planes::Plane| crate::quality::Luma {
        width: p.width,
        height: p.height,
        data: if p.stride == p.width {
            p.data
        } else {
            (0..p.height).flat_map(|r| p.row(r).to_vec()).collect()
        },
    };
    Ok(crate::quality::Ycc {
        y: plane(planes.y),
        chroma: planes.chroma.map(|[cb, cr]| [plane(cb), plane(cr)]),
    })
}
