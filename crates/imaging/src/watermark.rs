//! Compositing a PNG logo onto the rendition's planes. Blending happens in Y/Cb/Cr: the
//! colour transform is linear, so blending there equals blending in (gamma-encoded) RGB,
//! and the rendition never leaves its planes.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::planes::{rgb_to_ycc, Planes};
use crate::recipe::{Position, Watermark};
use crate::ImagingError;

/// Logos bigger than this are refused: a watermark is a small file, and decoding an
/// oversized PNG per photo would cost more than the photo.
const MAX_LOGO_PIXELS: u64 = 16_000_000;

pub(crate) fn apply(planes: &mut Planes, mark: &Watermark) -> Result<(), ImagingError> {
    let err = |m: String| ImagingError::Watermark(m);
    if mark.png.is_empty() {
        return Err(err("no PNG data loaded".into()));
    }
    let decoder = image::codecs::png::PngDecoder::new(std::io::Cursor::new(mark.png.as_slice()))
        .map_err(|e| err(format!("unreadable PNG: {e}")))?;
    let (lw, lh) = image::ImageDecoder::dimensions(&decoder);
    if u64::from(lw) * u64::from(lh) > MAX_LOGO_PIXELS {
        return Err(err(format!("logo of {lw}x{lh} is too large")));
    }
    let logo = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| err(format!("unreadable PNG: {e}")))?
        .to_rgba8();

    let (iw, ih) = (planes.y.width, planes.y.height);
    let scale = mark.scale.clamp(0.01, 1.0);
    let tw = ((iw as f32 * scale).round() as u32).clamp(1, iw);
    let th = ((tw as f32 * lh as f32 / lw as f32).round() as u32).clamp(1, ih);
    let src = Image::from_vec_u8(lw, lh, logo.into_raw(), PixelType::U8x4)
        .map_err(|e| err(e.to_string()))?;
    let mut dst = Image::new(tw, th, PixelType::U8x4);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new()
                .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
                .use_alpha(true),
        )
        .map_err(|e| err(e.to_string()))?;
    let rgba = dst.buffer();

    let margin = (mark.margin.clamp(0.0, 0.4) * iw.min(ih) as f32).round() as u32;
    let (x0, y0) = match mark.position {
        Position::TopLeft => (margin, margin),
        Position::TopRight => (iw.saturating_sub(tw + margin), margin),
        Position::BottomLeft => (margin, ih.saturating_sub(th + margin)),
        Position::BottomRight => (
            iw.saturating_sub(tw + margin),
            ih.saturating_sub(th + margin),
        ),
        Position::Centre => ((iw - tw) / 2, (ih - th) / 2),
    };
    let opacity = mark.opacity.clamp(0.0, 1.0);
    let px = |x: u32, y: u32| -> ([u8; 3], f32) {
        let i = ((y * tw + x) * 4) as usize;
        let (y_, cb, cr) = rgb_to_ycc(rgba[i], rgba[i + 1], rgba[i + 2]);
        ([y_, cb, cr], f32::from(rgba[i + 3]) / 255.0 * opacity)
    };
    let blend = |dst: &mut u8, src: u8, a: f32| {
        *dst = (f32::from(*dst) * (1.0 - a) + f32::from(src) * a).round() as u8;
    };
    for y in 0..th.min(ih - y0) {
        for x in 0..tw.min(iw - x0) {
            let (c, a) = px(x, y);
            if a > 0.0 {
                let at = ((y0 + y) * planes.y.stride + x0 + x) as usize;
                blend(&mut planes.y.data[at], c[0], a);
            }
        }
    }
    // Chroma planes are half size: each sample takes the mean of the logo pixels over it.
    let (hf, vf) = (planes.hfactor, planes.vfactor);
    if let Some([cb, cr]) = &mut planes.chroma {
        for cy in (y0 / vf)..((y0 + th).div_ceil(vf)).min(cb.height) {
            for cx in (x0 / hf)..((x0 + tw).div_ceil(hf)).min(cb.width) {
                let (mut sb, mut sr, mut sa, mut n) = (0.0, 0.0, 0.0, 0.0);
                for dy in 0..vf {
                    for dx in 0..hf {
                        let (ix, iy) = (cx * hf + dx, cy * vf + dy);
                        if ix < x0 || iy < y0 || ix >= x0 + tw || iy >= y0 + th {
                            n += 1.0;
                            continue;
                        }
                        let (c, a) = px(ix - x0, iy - y0);
                        sb += f32::from(c[1]) * a;
                        sr += f32::from(c[2]) * a;
                        sa += a;
                        n += 1.0;
                    }
                }
                if sa > 0.0 {
                    let a = sa / n;
                    let at = (cy * cb.stride + cx) as usize;
                    blend(&mut cb.data[at], (sb / sa).round() as u8, a);
                    blend(&mut cr.data[at], (sr / sa).round() as u8, a);
                }
            }
        }
    }
    Ok(())
}
