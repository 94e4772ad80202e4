//! Quality measurement for tests and the benchmark: a slow, high-quality reference
//! rendition and SSIM between luma images. Not used on the rendition path.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::geometry;
use crate::{container, metadata, ImagingError, Recipe};

/// One 8-bit sample plane: luma (JPEG's Y: 0.299 R + 0.587 G + 0.114 B, full range), or
/// Cb or Cr in [`Ycc`].
#[derive(Debug, Clone)]
pub struct Luma {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A rendition's planes before encoding: luma at the output size and, for colour images,
/// Cb and Cr at half size each way (the 4:2:0 the encoder writes).
#[derive(Debug, Clone)]
pub struct Ycc {
    pub y: Luma,
    pub chroma: Option<[Luma; 2]>,
}

/// Decodes a JPEG's luma at full size with zune-jpeg (an independent decoder).
pub fn decode_luma(jpeg: &[u8]) -> Result<Luma, ImagingError> {
    let (data, width, height) =
        zune_decode(jpeg, zune_jpeg::zune_core::colorspace::ColorSpace::Luma)?;
    Ok(Luma {
        data,
        width,
        height,
    })
}

fn zune_decode(
    jpeg: &[u8],
    out: zune_jpeg::zune_core::colorspace::ColorSpace,
) -> Result<(Vec<u8>, u32, u32), ImagingError> {
    use zune_jpeg::zune_core::{bytestream::ZCursor, options::DecoderOptions};
    let opts = DecoderOptions::new_fast().jpeg_set_out_colorspace(out);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(jpeg), opts);
    let data = d
        .decode()
        .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
    let info = d
        .info()
        .ok_or_else(|| ImagingError::Corrupt("no header".into()))?;
    Ok((data, u32::from(info.width), u32::from(info.height)))
}

/// The reference: full-size decode (no DCT scaling), orientation applied to the whole
/// frame, the same crop box, and a float Lanczos3 resize of luma. Slow on purpose: it
/// takes none of the fast path's shortcuts.
pub fn reference_luma(jpeg: &[u8], recipe: &Recipe) -> Result<Luma, ImagingError> {
    let full = decode_luma(jpeg)?;
    let frame = Frame::of(jpeg, recipe, full.width, full.height)?;
    frame.resize(full.data, false)
}

/// The reference for all three planes: zune-jpeg's full-size YCbCr (chroma upsampled to
/// full size by the decoder), each plane turned upright on the whole frame, and float
/// Lanczos3 from the same crop box to the luma size and to the 4:2:0 chroma size. Chroma
/// shortcuts of the fast path (chroma decoded at a smaller DCT scale) are judged by it.
pub fn reference_ycc(jpeg: &[u8], recipe: &Recipe) -> Result<Ycc, ImagingError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    let header = container::read_header(jpeg)?;
    if header.components == 1 {
        return Ok(Ycc {
            y: reference_luma(jpeg, recipe)?,
            chroma: None,
        });
    }
    let (ycc, width, height) = zune_decode(jpeg, ColorSpace::YCbCr)?;
    let frame = Frame::of(jpeg, recipe, width, height)?;
    let plane = |c: usize| ycc.iter().skip(c).step_by(3).copied().collect::<Vec<u8>>();
    Ok(Ycc {
        y: frame.resize(plane(0), false)?,
        chroma: Some([frame.resize(plane(1), true)?, frame.resize(plane(2), true)?]),
    })
}

/// Where a rendition's pixels come from in an upright frame, per the slow path.
struct Frame {
    orientation: u16,
    width: u32,
    height: u32,
    crop: geometry::Rect,
    out: (u32, u32),
}

impl Frame {
    fn of(jpeg: &[u8], recipe: &Recipe, width: u32, height: u32) -> Result<Frame, ImagingError> {
        let header = container::read_header(jpeg)?;
        let orientation = metadata::orientation(metadata::parse(header.exif).as_ref());
        let (uw, uh) = crate::orient::oriented_size(orientation, width, height);
        let crop = geometry::crop_box(&recipe.crop, recipe.anchor, uw, uh);
        let (w, h) = geometry::output_size(recipe.size(), crop.w, crop.h);
        Ok(Frame {
            orientation,
            width,
            height,
            crop: geometry::match_aspect(crop, w, h),
            out: (w, h),
        })
    }

    /// One stored full-size plane, upright, cropped and resized to the output (luma) or
    /// to half of it rounded up (chroma, whose box stretches to cover the odd edge sample
    /// exactly as the fast path's does).
    fn resize(&self, stored: Vec<u8>, chroma: bool) -> Result<Luma, ImagingError> {
        let upright = crate::orient::apply(
            crate::pixels::Pixels {
                data: stored,
                width: self.width,
                height: self.height,
                model: crate::pixels::Model::Luma,
            },
            self.orientation,
        );
        let (w, h) = self.out;
        let (mut crop, out) = (self.crop, (w, h));
        let (crop, (ow, oh)) = if chroma {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            crop.w *= f64::from(cw * 2) / f64::from(w);
            crop.h *= f64::from(ch * 2) / f64::from(h);
            // At the frame's edge the fast path's resizer clamps the stretched box too.
            let frame = (f64::from(upright.width), f64::from(upright.height));
            (crop.clamp_to(frame.0, frame.1), (cw, ch))
        } else {
            (crop, out)
        };
        let bytes: Vec<u8> = upright
            .data
            .iter()
            .flat_map(|&v| f32::from(v).to_ne_bytes())
            .collect();
        let src = Image::from_vec_u8(upright.width, upright.height, bytes, PixelType::F32)
            .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
        let mut dst = Image::new(ow, oh, PixelType::F32);
        Resizer::new()
            .resize(
                &src,
                &mut dst,
                &ResizeOptions::new()
                    .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
                    .crop(crop.x, crop.y, crop.w, crop.h),
            )
            .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
        let data = dst
            .buffer()
            .chunks_exact(4)
            .map(|b| {
                f32::from_ne_bytes([b[0], b[1], b[2], b[3]])
                    .round()
                    .clamp(0.0, 255.0) as u8
            })
            .collect();
        Ok(Luma {
            data,
            width: ow,
            height: oh,
        })
    }
}

/// Mean SSIM over 8×8 windows (stride 4) with the standard constants; 1.0 is identical.
/// Images of different sizes compare as 0.
pub fn ssim(a: &Luma, b: &Luma) -> f64 {
    if (a.width, a.height) != (b.width, b.height) || a.width < 8 || a.height < 8 {
        return 0.0;
    }
    let (w, h) = (a.width as usize, a.height as usize);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut n) = (0.0, 0usize);
    for y in (0..=h - 8).step_by(4) {
        for x in (0..=w - 8).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for yy in y..y + 8 {
                for xx in x..x + 8 {
                    let (va, vb) = (
                        f64::from(a.data[yy * w + xx]),
                        f64::from(b.data[yy * w + xx]),
                    );
                    sa += va;
                    sb += vb;
                    saa += va * va;
                    sbb += vb * vb;
                    sab += va * vb;
                }
            }
            let m = 64.0;
            let (ma, mb) = (sa / m, sb / m);
            let (va, vb, cov) = (saa / m - ma * ma, sbb / m - mb * mb, sab / m - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1;
        }
    }
    total / n as f64
}
