//! Quality measurement for tests and the benchmark: a slow, high-quality reference
//! rendition and SSIM between luma images. Not used on the rendition path.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::geometry;
use crate::{container, metadata, ImagingError, Recipe};

/// An 8-bit luma image (JPEG's Y: 0.299 R + 0.587 G + 0.114 B, full range).
#[derive(Debug, Clone)]
pub struct Luma {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Decodes a JPEG's luma at full size with zune-jpeg (an independent decoder).
pub fn decode_luma(jpeg: &[u8]) -> Result<Luma, ImagingError> {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };
    let opts = DecoderOptions::new_fast().jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(jpeg), opts);
    let data = d
        .decode()
        .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
    let info = d
        .info()
        .ok_or_else(|| ImagingError::Corrupt("no header".into()))?;
    Ok(Luma {
        data,
        width: u32::from(info.width),
        height: u32::from(info.height),
    })
}

/// The reference: full-size decode (no DCT scaling), orientation applied to the whole
/// frame, the same crop box, and a float Lanczos3 resize of luma. Slow on purpose: it
/// takes none of the fast path's shortcuts.
pub fn reference_luma(jpeg: &[u8], recipe: &Recipe) -> Result<Luma, ImagingError> {
    let header = container::read_header(jpeg)?;
    let orientation = metadata::orientation(metadata::parse(header.exif).as_ref());
    let full = decode_luma(jpeg)?;
    let upright = crate::orient::apply(
        crate::pixels::Pixels {
            data: full.data,
            width: full.width,
            height: full.height,
            model: crate::pixels::Model::Luma,
        },
        orientation,
    );
    let crop = geometry::crop_box(&recipe.crop, recipe.anchor, upright.width, upright.height);
    let (w, h) = geometry::output_size(recipe.size(), crop.w, crop.h);
    let crop = geometry::match_aspect(crop, w, h);
    let f: Vec<f32> = upright.data.iter().map(|&v| f32::from(v)).collect();
    let bytes: Vec<u8> = f.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let src = Image::from_vec_u8(upright.width, upright.height, bytes, PixelType::F32)
        .map_err(|e| ImagingError::Corrupt(e.to_string()))?;
    let mut dst = Image::new(w, h, PixelType::F32);
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
        width: w,
        height: h,
    })
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
