//! Light unsharp masking of luma after downscaling: Lanczos keeps detail, but a touch of
//! sharpening restores the crispness phones' own downscaling takes away. Chroma is left
//! alone (sharpening it makes colour fringes).

use crate::planes::Plane;

/// `y += amount × (y − blur(y))` with a 3×3 binomial blur; edges use the nearest row or
/// column.
pub(crate) fn luma(plane: &mut Plane, amount: f32) {
    let (w, h) = (plane.width as usize, plane.height as usize);
    if w < 3 || h < 3 || amount <= 0.0 {
        return;
    }
    let src = plane.clone();
    let k = (amount * 256.0) as i32;
    for y in 0..h {
        let up = src.row(y.saturating_sub(1) as u32);
        let mid = src.row(y as u32);
        let down = src.row((y + 1).min(h - 1) as u32);
        let out = plane.row_mut(y as u32);
        for x in 0..w {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let v = |row: &[u8]| i32::from(row[l]) + 2 * i32::from(row[x]) + i32::from(row[r]);
            let blur = (v(up) + 2 * v(mid) + v(down) + 8) >> 4;
            let c = i32::from(mid[x]);
            out[x] = (c + (((c - blur) * k) >> 8)).clamp(0, 255) as u8;
        }
    }
}
