//! Where the rendition comes from and how large it is: the crop box in the upright
//! (oriented) frame, mapped back into the stored frame the decoder sees, the output size,
//! and the DCT scale that still covers it.

use crate::recipe::{Anchor, Crop, Size};

/// A box in continuous pixel coordinates (fractions allowed: the resizer samples
/// sub-pixel boxes exactly, so crops keep their aspect ratio to the output pixel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn scaled(self, sx: f64, sy: f64) -> Rect {
        Rect {
            x: self.x * sx,
            y: self.y * sy,
            w: self.w * sx,
            h: self.h * sy,
        }
    }

    /// Keeps the box inside a `w`×`h` image (rounding in scaled frames can overshoot).
    pub fn clamp_to(self, w: f64, h: f64) -> Rect {
        let x = self.x.clamp(0.0, (w - 1.0).max(0.0));
        let y = self.y.clamp(0.0, (h - 1.0).max(0.0));
        Rect {
            x,
            y,
            w: self.w.min(w - x).max(1.0),
            h: self.h.min(h - y).max(1.0),
        }
    }
}

/// Upright size of a stored `w`×`h` image with this EXIF orientation.
pub(crate) fn oriented_size(orientation: u16, w: u32, h: u32) -> (u32, u32) {
    if (5..=8).contains(&orientation) {
        (h, w)
    } else {
        (w, h)
    }
}

/// The crop box in the upright frame of a `w`×`h` (upright) image.
pub(crate) fn crop_box(crop: &Crop, anchor: Anchor, w: u32, h: u32) -> Rect {
    let (fw, fh) = (f64::from(w), f64::from(h));
    match *crop {
        Crop::None => Rect {
            x: 0.0,
            y: 0.0,
            w: fw,
            h: fh,
        },
        Crop::Aspect { w: aw, h: ah } => {
            let aspect = f64::from(aw) / f64::from(ah);
            let (cw, ch) = if fw / fh > aspect {
                (fh * aspect, fh)
            } else {
                (fw, fw / aspect)
            };
            let (ax, ay) = anchor.centre();
            // Put the crop's centre on the anchor line, as far as the frame allows.
            let x = (fw * ax - cw / 2.0).clamp(0.0, fw - cw);
            let y = (fh * ay - ch / 2.0).clamp(0.0, fh - ch);
            Rect { x, y, w: cw, h: ch }
        }
        Crop::Box { x, y, w: bw, h: bh } => {
            let x0 = f64::from(x.clamp(0.0, 1.0)) * fw;
            let y0 = f64::from(y.clamp(0.0, 1.0)) * fh;
            let x1 = (f64::from((x + bw).clamp(0.0, 1.0)) * fw)
                .max(x0 + 1.0)
                .min(fw);
            let y1 = (f64::from((y + bh).clamp(0.0, 1.0)) * fh)
                .max(y0 + 1.0)
                .min(fh);
            Rect {
                x: x0.min(fw - 1.0),
                y: y0.min(fh - 1.0),
                w: (x1 - x0).max(1.0),
                h: (y1 - y0).max(1.0),
            }
        }
    }
}

/// Output size for a crop of `cw`×`ch`: fitted to the recipe's size, never upscaled.
pub(crate) fn output_size(size: Size, cw: f64, ch: f64) -> (u32, u32) {
    let scale = match size {
        Size::LongEdge(l) => f64::from(l) / cw.max(ch),
        Size::Box { width, height } => (f64::from(width) / cw).min(f64::from(height) / ch),
    }
    .min(1.0);
    let w = (cw * scale).round().max(1.0) as u32;
    let h = (ch * scale).round().max(1.0) as u32;
    (w, h)
}

/// Shrinks the crop box so it has exactly the output's aspect ratio (rounding the output
/// to whole pixels would otherwise stretch the picture by up to half a pixel), keeping its
/// centre.
pub(crate) fn match_aspect(r: Rect, out_w: u32, out_h: u32) -> Rect {
    let target = f64::from(out_w) / f64::from(out_h);
    if r.w / r.h > target {
        let w = r.h * target;
        Rect {
            x: r.x + (r.w - w) / 2.0,
            w,
            ..r
        }
    } else {
        let h = r.w / target;
        Rect {
            y: r.y + (r.h - h) / 2.0,
            h,
            ..r
        }
    }
}

/// Maps a box in the upright frame to the stored frame (`sw`×`sh` as stored), per the
/// EXIF/TIFF definition of orientation.
pub(crate) fn to_stored(r: Rect, orientation: u16, sw: u32, sh: u32) -> Rect {
    let (sw, sh) = (f64::from(sw), f64::from(sh));
    match orientation {
        2 => Rect {
            x: sw - r.x - r.w,
            ..r
        },
        3 => Rect {
            x: sw - r.x - r.w,
            y: sh - r.y - r.h,
            ..r
        },
        4 => Rect {
            y: sh - r.y - r.h,
            ..r
        },
        5 => Rect {
            x: r.y,
            y: r.x,
            w: r.h,
            h: r.w,
        },
        6 => Rect {
            x: r.y,
            y: sh - r.x - r.w,
            w: r.h,
            h: r.w,
        },
        7 => Rect {
            x: sw - r.y - r.h,
            y: sh - r.x - r.w,
            w: r.h,
            h: r.w,
        },
        8 => Rect {
            x: sw - r.y - r.h,
            y: r.x,
            w: r.h,
            h: r.w,
        },
        _ => r,
    }
}

/// How many source pixels per output pixel the resizer must still get after DCT scaling.
/// libjpeg's scaled IDCT works block by block (a sharp cut-off inside each 8×8 block, no
/// overlap), so a DCT-scaled image that is then barely resized keeps block-edge artefacts:
/// measured against a full-decode float-Lanczos reference (tests/quality.rs), luma SSIM
/// before encoding is 0.964–0.967 at a remaining ratio of 1.0–1.1, 0.98 at 1.3 and ≥ 0.992
/// from 1.8. With 2× left, Lanczos3 filters the block edges away.
pub(crate) const MIN_RESIZE_AFTER_DCT: f64 = 2.0;

/// The largest DCT scale denominator (8, 4 or 2) at which the stored crop box still has
/// `MIN_RESIZE_AFTER_DCT` × the output's pixels in both directions, else 1 (full size).
/// libjpeg-turbo's 3/8, 5/8 and 3/4 scales have no SIMD and are no faster than full size,
/// so they are not offered.
pub(crate) fn dct_denominator(stored_crop: Rect, out_w: u32, out_h: u32) -> u32 {
    [8u32, 4, 2]
        .into_iter()
        .find(|&d| {
            stored_crop.w / f64::from(d) >= MIN_RESIZE_AFTER_DCT * f64::from(out_w)
                && stored_crop.h / f64::from(d) >= MIN_RESIZE_AFTER_DCT * f64::from(out_h)
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_five_from_landscape_is_centred() {
        let r = crop_box(&Crop::Aspect { w: 4, h: 5 }, Anchor::Centre, 6000, 4000);
        assert_eq!((r.w, r.h), (3200.0, 4000.0));
        assert_eq!((r.x, r.y), (1400.0, 0.0));
        let (w, h) = output_size(Size::LongEdge(2048), r.w, r.h);
        assert_eq!((w, h), (1638, 2048));
    }

    #[test]
    fn stored_boxes_round_trip_every_orientation() {
        // The box (10, 20, 30, 40) in an upright 200×100 frame.
        let r = Rect {
            x: 10.0,
            y: 20.0,
            w: 30.0,
            h: 40.0,
        };
        for o in 1..=8u16 {
            let (sw, sh) = if o >= 5 { (100, 200) } else { (200, 100) };
            let s = to_stored(r, o, sw, sh);
            // Every corner of the stored box must map back inside the upright box.
            for (cx, cy) in [(s.x, s.y), (s.x + s.w - 1.0, s.y + s.h - 1.0)] {
                let (ux, uy) = upright_of(o, cx, cy, f64::from(sw), f64::from(sh));
                assert!(
                    ux >= r.x && ux < r.x + r.w && uy >= r.y && uy < r.y + r.h,
                    "orientation {o}: stored ({cx},{cy}) shows at ({ux},{uy})"
                );
            }
        }
    }

    /// Inverse of orient::source_of for pixel centres.
    fn upright_of(o: u16, sx: f64, sy: f64, sw: f64, sh: f64) -> (f64, f64) {
        match o {
            2 => (sw - 1.0 - sx, sy),
            3 => (sw - 1.0 - sx, sh - 1.0 - sy),
            4 => (sx, sh - 1.0 - sy),
            5 => (sy, sx),
            6 => (sh - 1.0 - sy, sx),
            7 => (sh - 1.0 - sy, sw - 1.0 - sx),
            8 => (sy, sw - 1.0 - sx),
            _ => (sx, sy),
        }
    }

    #[test]
    fn scale_covers_output() {
        let full = Rect {
            x: 0.0,
            y: 0.0,
            w: 8256.0,
            h: 5504.0,
        };
        assert_eq!(dct_denominator(full, 2048, 1365), 2);
        assert_eq!(dct_denominator(full, 1024, 683), 4);
        let crop = Rect {
            x: 1400.0,
            y: 0.0,
            w: 3200.0,
            h: 4000.0,
        };
        assert_eq!(dct_denominator(crop, 1638, 2048), 1);
    }
}
