//! Y/Cb/Cr planes: what the fast path carries from decode to encode. Keeping the stored
//! planes (chroma at its own resolution) avoids chroma upsampling, two colour conversions
//! and two interleaving passes that an RGB pipeline would pay for on the full frame.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::geometry::Rect;
use crate::ImagingError;

/// One 8-bit sample plane. `stride` ≥ `width`: decoders pad rows to whole MCUs.
#[derive(Debug, Clone)]
pub(crate) struct Plane {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub stride: u32,
}

impl Plane {
    pub fn new(width: u32, height: u32) -> Plane {
        Plane {
            data: vec![0; width as usize * height as usize],
            width,
            height,
            stride: width,
        }
    }

    pub fn row(&self, y: u32) -> &[u8] {
        let s = (y * self.stride) as usize;
        &self.data[s..s + self.width as usize]
    }

    pub fn row_mut(&mut self, y: u32) -> &mut [u8] {
        let s = (y * self.stride) as usize;
        let w = self.width as usize;
        &mut self.data[s..s + w]
    }
}

/// A luma plane and, for colour images, Cb and Cr subsampled by `hfactor` × `vfactor`.
#[derive(Debug, Clone)]
pub(crate) struct Planes {
    pub y: Plane,
    pub chroma: Option<[Plane; 2]>,
    pub hfactor: u32,
    pub vfactor: u32,
}

impl Planes {
    /// Full-resolution planes from packed RGB with the JFIF (full-range BT.601) matrix, the
    /// one every JPEG decoder inverts. For sources that are not JPEG planes already.
    pub fn from_rgb(rgb: &[u8], width: u32, height: u32) -> Planes {
        let n = width as usize * height as usize;
        let (mut y, mut cb, mut cr) = (vec![0u8; n], vec![0u8; n], vec![0u8; n]);
        for (i, px) in rgb.chunks_exact(3).take(n).enumerate() {
            let (yy, b, r) = rgb_to_ycc(px[0], px[1], px[2]);
            y[i] = yy;
            cb[i] = b;
            cr[i] = r;
        }
        let plane = |data| Plane {
            data,
            width,
            height,
            stride: width,
        };
        Planes {
            y: plane(y),
            chroma: Some([plane(cb), plane(cr)]),
            hfactor: 1,
            vfactor: 1,
        }
    }

    /// One full-resolution luma plane from packed grey samples (PNG/TIFF grey originals).
    pub fn from_grey(luma: Vec<u8>, width: u32, height: u32) -> Planes {
        Planes {
            y: Plane {
                data: luma,
                width,
                height,
                stride: width,
            },
            chroma: None,
            hfactor: 1,
            vfactor: 1,
        }
    }
}

#[inline]
pub(crate) fn rgb_to_ycc(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    let q = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    (q(y), q(cb), q(cr))
}

/// Resizes the part of `src` inside `crop` (in `src` sample coordinates) to
/// `width`×`height` with Lanczos3. Lanczos3 keeps fine detail (hair, fabric) crisp at the
/// 1–2× reductions left after DCT scaling.
pub(crate) fn resize_plane(
    resizer: &mut Resizer,
    src: &Plane,
    crop: Rect,
    width: u32,
    height: u32,
) -> Result<Plane, ImagingError> {
    let crop = crop.clamp_to(f64::from(src.width), f64::from(src.height));
    // The stride is the image width as the resizer sees it; the crop box keeps the padding
    // columns out (they only replicate the edge anyway).
    let view = ImageRef::new(src.stride, src.height, &src.data, PixelType::U8)
        .map_err(|e| ImagingError::Corrupt(format!("plane buffer: {e}")))?;
    let mut dst = Image::new(width.max(1), height.max(1), PixelType::U8);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.x, crop.y, crop.w, crop.h);
    resizer
        .resize(&view, &mut dst, &options)
        .map_err(|e| ImagingError::Corrupt(format!("resize: {e}")))?;
    Ok(Plane {
        data: dst.into_vec(),
        width: width.max(1),
        height: height.max(1),
        stride: width.max(1),
    })
}

/// Where each plane of a rendition comes from (boxes in that plane's samples, clamped to
/// it as the resizer would) and its output size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Boxes {
    pub luma: (Rect, (u32, u32)),
    pub chroma: Option<(Rect, (u32, u32))>,
}

/// The boxes for a `width`×`height` rendition with 4:2:0 chroma (what the encoder writes)
/// from planes of these sizes (valid width, height), which `orientation` then turns
/// upright. `crop` is in luma coordinates.
pub(crate) fn boxes(
    luma: (u32, u32),
    chroma: Option<(u32, u32)>,
    (hf, vf): (u32, u32),
    crop: Rect,
    (width, height): (u32, u32),
    orientation: u16,
) -> Boxes {
    let clamp = |r: Rect, (w, h): (u32, u32)| r.clamp_to(f64::from(w), f64::from(h));
    let (width, height) = (width.max(1), height.max(1));
    let chroma = chroma.map(|dims| {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        // An odd output size has a last chroma sample that covers one luma column (row)
        // past the upright image's right (bottom) edge: stretch the box by that much so
        // chroma stays aligned to luma. Where the orientation mirrors an axis, the
        // upright end is the stored start, so the box grows towards the start there.
        let (hf, vf) = (f64::from(hf), f64::from(vf));
        let (w, h) = (
            crop.w / hf * f64::from(cw * 2) / f64::from(width),
            crop.h / vf * f64::from(ch * 2) / f64::from(height),
        );
        let (mirror_x, mirror_y) = crate::orient::mirrors_stored_axes(orientation);
        let (x, y) = (crop.x / hf, crop.y / vf);
        let b = Rect {
            x: if mirror_x { x - (w - crop.w / hf) } else { x },
            y: if mirror_y { y - (h - crop.h / vf) } else { y },
            w,
            h,
        };
        (clamp(b, dims), (cw, ch))
    });
    Boxes {
        luma: (clamp(crop, luma), (width, height)),
        chroma,
    }
}

/// Crops and resizes every plane per `boxes`.
pub(crate) fn resize_planes(
    src: &Planes,
    crop: Rect,
    (width, height): (u32, u32),
    orientation: u16,
) -> Result<Planes, ImagingError> {
    let b = boxes(
        (src.y.width, src.y.height),
        src.chroma.as_ref().map(|[cb, _]| (cb.width, cb.height)),
        (src.hfactor, src.vfactor),
        crop,
        (width, height),
        orientation,
    );
    let mut resizer = Resizer::new();
    let y = resize_plane(&mut resizer, &src.y, b.luma.0, b.luma.1 .0, b.luma.1 .1)?;
    let chroma = match (&src.chroma, b.chroma) {
        (Some([cb, cr]), Some((r, (cw, ch)))) => Some([
            resize_plane(&mut resizer, cb, r, cw, ch)?,
            resize_plane(&mut resizer, cr, r, cw, ch)?,
        ]),
        _ => None,
    };
    Ok(Planes {
        y,
        chroma,
        hfactor: 2,
        vfactor: 2,
    })
}

/// The horizontal half of `resize_planes`, for planes already resampled down to their
/// output height (`rawcrop::RegionDecoder::decode_shrunk` with the same `boxes`).
pub(crate) fn resize_rows(src: &Planes, b: &Boxes) -> Result<Planes, ImagingError> {
    let mut resizer = Resizer::new();
    let across = |p: &Plane, (r, (w, h)): (Rect, (u32, u32)), resizer: &mut Resizer| {
        let rows = Rect {
            x: r.x,
            y: 0.0,
            w: r.w,
            h: f64::from(p.height),
        };
        resize_plane(resizer, p, rows, w, h)
    };
    let y = across(&src.y, b.luma, &mut resizer)?;
    let chroma = match (&src.chroma, b.chroma) {
        (Some([cb, cr]), Some(c)) => {
            Some([across(cb, c, &mut resizer)?, across(cr, c, &mut resizer)?])
        }
        _ => None,
    };
    Ok(Planes {
        y,
        chroma,
        hfactor: 2,
        vfactor: 2,
    })
}

/// Turns a plane upright per EXIF orientation 1–8. Runs on the small resized planes only.
pub(crate) fn orient_plane(src: &Plane, orientation: u16) -> Plane {
    if !(2..=8).contains(&orientation) {
        return src.clone();
    }
    let (sw, sh) = (src.width as usize, src.height as usize);
    let transposed = (5..=8).contains(&orientation);
    let (dw, dh) = if transposed { (sh, sw) } else { (sw, sh) };
    let mut out = vec![0u8; dw * dh];
    let stride = src.stride as usize;
    // Each output row is a straight line through the source: find its start and step.
    let line = |y: usize| -> (isize, isize) {
        let (sx0, sy0) = crate::orient::source_of(orientation, 0, y, sw, sh);
        let start = (sy0 * stride + sx0) as isize;
        let step = match orientation {
            2 | 3 => -1,
            4 => 1,
            5 | 8 => stride as isize,
            6 | 7 => -(stride as isize),
            _ => unreachable!("orientation checked above"),
        };
        (start, step)
    };
    // For a quarter turn a line runs down a source column, a cache line per sample; in
    // bands of 64 output columns the rows that follow reuse those cache lines (the next
    // source column) instead of fetching them again from memory.
    const BAND: usize = 64;
    for x0 in (0..dw).step_by(BAND) {
        let x1 = (x0 + BAND).min(dw);
        for y in 0..dh {
            let (start, step) = line(y);
            let mut at = start + x0 as isize * step;
            for px in &mut out[y * dw + x0..y * dw + x1] {
                *px = src.data[at as usize];
                at += step;
            }
        }
    }
    Plane {
        data: out,
        width: dw as u32,
        height: dh as u32,
        stride: dw as u32,
    }
}

pub(crate) fn orient_planes(src: Planes, orientation: u16) -> Planes {
    if !(2..=8).contains(&orientation) {
        return src;
    }
    Planes {
        y: orient_plane(&src.y, orientation),
        chroma: src
            .chroma
            .as_ref()
            .map(|[cb, cr]| [orient_plane(cb, orientation), orient_plane(cr, orientation)]),
        hfactor: src.hfactor,
        vfactor: src.vfactor,
    }
}
