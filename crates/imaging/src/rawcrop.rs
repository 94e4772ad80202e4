//! Decoding only the part of a JPEG a crop keeps, straight into Y/Cb/Cr planes, through the
//! C shim in `csrc/rawcrop.c` (libjpeg's `jpeg_crop_scanline` in raw mode, which TurboJPEG
//! does not expose for planes). Columns outside the region get no IDCT and no buffer; rows
//! below it are not decoded at all; rows above it are decoded into one reused iMCU row.
//!
//! The planes come out exactly as `tj::Decoder::decode_planes` would give that part of the
//! frame (the unit tests compare them sample for sample), so the resize that follows sees
//! the same pixels as from a full decode.

use std::ffi::CStr;

use crate::planes::{Plane, Planes};
use crate::ImagingError;

#[repr(C)]
struct RawDec {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct Geometry {
    out_width: libc::c_uint,
    out_height: libc::c_uint,
    xoffset: libc::c_uint,
    width: libc::c_uint,
    imcu_rows: libc::c_uint,
    components: libc::c_int,
    buf_width: [libc::c_uint; 3],
    rows: [libc::c_uint; 3],
    hfactor: [libc::c_uint; 3],
    vfactor: [libc::c_uint; 3],
}

extern "C" {
    fn hs_new() -> *mut RawDec;
    fn hs_free(d: *mut RawDec);
    fn hs_message(d: *const RawDec) -> *const libc::c_char;
    fn hs_start(
        d: *mut RawDec,
        data: *const u8,
        size: libc::c_ulong,
        denom: libc::c_uint,
        chroma_denom: libc::c_uint,
        x0: libc::c_uint,
        x1: libc::c_uint,
        max_memory: libc::c_ulong,
        g: *mut Geometry,
    ) -> libc::c_int;
    fn hs_read_rows(d: *mut RawDec, planes: *mut *mut *mut u8) -> libc::c_int;
}

/// Narrowest region worth cropping to; also keeps every chroma plane ≥ 2 samples wide,
/// below which libjpeg would want an upsampler that raw mode does not have.
pub(crate) const MIN_REGION: u32 = 64;

/// A started decode: the geometry is known, nothing sized by the region is allocated yet.
pub(crate) struct RegionDecoder<'a> {
    dec: *mut RawDec,
    geo: Geometry,
    chroma_denom: u32,
    // libjpeg reads from this slice until the decoder is freed.
    _data: &'a [u8],
}

impl Drop for RegionDecoder<'_> {
    fn drop(&mut self) {
        // SAFETY: made by hs_new, freed exactly once.
        unsafe { hs_free(self.dec) }
    }
}

/// Where the decoded planes sit in the scaled frame, in luma samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub x: u32,
    pub y: u32,
}

impl<'a> RegionDecoder<'a> {
    /// Reads the headers (all scans, for progressive files) and limits decoding to luma
    /// columns `[x0, x1)` of the frame at 1/`denom`; libjpeg moves `x0` down to an iMCU
    /// column boundary (see `Origin`). Chroma is decoded at a further 1/`chroma_denom`
    /// (`denom` × `chroma_denom` ≤ 8), which the planes' `hfactor`/`vfactor` reflect.
    pub fn start(
        data: &'a [u8],
        denom: u32,
        chroma_denom: u32,
        (x0, x1): (u32, u32),
        max_memory_mib: u32,
    ) -> Result<RegionDecoder<'a>, ImagingError> {
        // SAFETY: plain constructor; null checked.
        let dec = unsafe { hs_new() };
        if dec.is_null() {
            return Err(ImagingError::Codec("libjpeg failed to initialise".into()));
        }
        let mut this = RegionDecoder {
            dec,
            geo: Geometry::default(),
            chroma_denom,
            _data: data,
        };
        // SAFETY: `data` outlives the decoder (lifetime 'a); geo is a plain out-struct.
        let rc = unsafe {
            hs_start(
                dec,
                data.as_ptr(),
                data.len() as libc::c_ulong,
                denom,
                chroma_denom,
                x0,
                x1,
                libc::c_ulong::from(max_memory_mib) << 20,
                &mut this.geo,
            )
        };
        if rc != 0 {
            return Err(this.error());
        }
        let g = &this.geo;
        let comps = g.components as usize;
        let sane = (comps == 1 || comps == 3)
            && g.imcu_rows > 0
            && g.width > 0
            && (0..comps).all(|c| g.buf_width[c] > 0 && g.rows[c] > 0 && g.hfactor[c] > 0);
        if !sane {
            return Err(ImagingError::Codec(format!(
                "unexpected raw decoding layout {g:?}"
            )));
        }
        Ok(this)
    }

    fn error(&self) -> ImagingError {
        // SAFETY: a NUL-terminated buffer inside the decoder.
        let msg = unsafe { CStr::from_ptr(hs_message(self.dec)) }
            .to_string_lossy()
            .into_owned();
        crate::tj::classify(&msg)
    }

    /// The frame size at this scale.
    pub fn frame(&self) -> (u32, u32) {
        (self.geo.out_width, self.geo.out_height)
    }

    fn rows_span(&self, (y0, y1): (u32, u32)) -> (u32, u32) {
        let l = self.geo.imcu_rows;
        let y1 = y1.clamp(1, self.geo.out_height);
        let first = y0.min(y1 - 1) / l;
        let last = y1.div_ceil(l); // exclusive
        (first, last)
    }

    /// Bytes `decode(rows)` will allocate, to refuse before allocating.
    pub fn bytes(&self, rows: (u32, u32)) -> u64 {
        let (first, last) = self.rows_span(rows);
        let g = &self.geo;
        (0..g.components as usize)
            .map(|c| {
                u64::from(g.buf_width[c]) * u64::from(g.rows[c]) * (u64::from(last - first) + 1)
            })
            .sum()
    }

    /// Decodes luma rows `[y0, y1)` (widened to iMCU rows) of the column range. Rows past
    /// `y1` are never decoded.
    pub fn decode(self, rows: (u32, u32)) -> Result<(Planes, Origin), ImagingError> {
        let g = self.geo;
        let comps = g.components as usize;
        let (first, last) = self.rows_span(rows);
        let n = (last - first) as usize;
        let mut bufs: Vec<Vec<u8>> = (0..comps)
            .map(|c| vec![0u8; g.buf_width[c] as usize * g.rows[c] as usize * n])
            .collect();
        // One iMCU row to decode the rows above the region into (their IDCT is wasted, but
        // libjpeg's raw mode has no way to skip rows).
        let mut scratch: Vec<Vec<u8>> = if first > 0 {
            (0..comps)
                .map(|c| vec![0u8; g.buf_width[c] as usize * g.rows[c] as usize])
                .collect()
        } else {
            Vec::new()
        };
        let mut rowptrs: Vec<Vec<*mut u8>> = (0..comps)
            .map(|c| vec![std::ptr::null_mut(); g.rows[c] as usize])
            .collect();
        for imcu in 0..last {
            for c in 0..comps {
                let (w, r) = (g.buf_width[c] as usize, g.rows[c] as usize);
                let base = if imcu < first {
                    scratch[c].as_mut_ptr()
                } else {
                    // SAFETY: (imcu - first) < n, so this iMCU row lies inside bufs[c].
                    unsafe { bufs[c].as_mut_ptr().add((imcu - first) as usize * r * w) }
                };
                for (i, p) in rowptrs[c].iter_mut().enumerate() {
                    // SAFETY: row i < r of a block of r rows of w bytes.
                    *p = unsafe { base.add(i * w) };
                }
            }
            let mut planes: [*mut *mut u8; 3] = [std::ptr::null_mut(); 3];
            for c in 0..comps {
                planes[c] = rowptrs[c].as_mut_ptr();
            }
            // SAFETY: each component gets `rows[c]` row pointers to `buf_width[c]` bytes,
            // the most the shim's geometry says libjpeg writes per iMCU row.
            let got = unsafe { hs_read_rows(self.dec, planes.as_mut_ptr()) };
            if got < 0 {
                return Err(self.error());
            }
        }
        drop(scratch);
        // What the frame holds in this region, in luma samples. At the right and bottom
        // edges of the frame, keep what TurboJPEG's planes keep (the size padded to the
        // chroma subsampling) so the resizer's edge handling sees the same samples.
        let (hf, vf) = if comps == 3 {
            (g.hfactor[1], g.vfactor[1])
        } else {
            (1, 1)
        };
        // The stored subsampling, which TurboJPEG pads luma to.
        let (hs, vs) = (
            (hf / self.chroma_denom).max(1),
            (vf / self.chroma_denom).max(1),
        );
        let y0 = first * g.imcu_rows;
        let x_end = (g.xoffset + g.buf_width[0]).min(g.out_width.next_multiple_of(hs));
        let y_end = (last * g.imcu_rows).min(g.out_height.next_multiple_of(vs));
        let (lw, lh) = (x_end - g.xoffset, y_end - y0);
        let mut out: Vec<Plane> = Vec::with_capacity(comps);
        for (c, buf) in bufs.into_iter().enumerate() {
            let (fw, fh) = if c == 0 {
                (lw, lh)
            } else {
                (lw.div_ceil(g.hfactor[c]), lh.div_ceil(g.vfactor[c]))
            };
            out.push(compact(buf, g.buf_width[c], fw, fh));
        }
        let mut it = out.into_iter();
        let y = it.next().expect("one plane at least");
        let mut y = Plane {
            width: (g.xoffset + g.width).min(g.out_width) - g.xoffset,
            height: (last * g.imcu_rows).min(g.out_height) - y0,
            ..y
        };
        // Columns past the frame's right edge (up to the chroma-padded width) are read by
        // the resizer at the edge; libjpeg may not have written them (when the last block
        // ends at the edge), so they repeat the edge, as an encoder pads.
        if y.width < y.stride {
            let w = y.width as usize;
            for r in 0..y.height {
                let row = &mut y.data[(r * y.stride) as usize..][..y.stride as usize];
                let edge = row[w - 1];
                row[w..].fill(edge);
            }
        }
        let chroma = match (it.next(), it.next()) {
            (Some(cb), Some(cr)) => Some([cb, cr]),
            _ => None,
        };
        Ok((
            Planes {
                y,
                chroma,
                hfactor: hf,
                vfactor: vf,
            },
            Origin {
                x: g.xoffset,
                y: y0,
            },
        ))
    }
}

/// A plane `width`×`height` whose stride equals its width (what the resizer reads), from
/// rows of `stride` bytes. In place: rows only ever move towards the start.
fn compact(mut buf: Vec<u8>, stride: u32, width: u32, height: u32) -> Plane {
    let (s, w) = (stride as usize, width as usize);
    if w < s {
        for r in 1..height as usize {
            buf.copy_within(r * s..r * s + w, r * w);
        }
    }
    buf.truncate(w * height as usize);
    Plane {
        data: buf,
        width,
        height,
        stride: width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tj;

    fn jpeg(w: u32, h: u32, subsamp: i32, grey: bool, progressive: bool) -> Vec<u8> {
        use turbojpeg_sys as sys;
        // A smooth gradient with a little noise: every block has AC energy.
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        let mut seed = 12345u32;
        for y in 0..h {
            for x in 0..w {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let n = (seed >> 24) as u8 / 8;
                let i = ((y * w + x) * 3) as usize;
                rgb[i] = ((x * 255 / w) as u8).wrapping_add(n);
                rgb[i + 1] = ((y * 255 / h) as u8).wrapping_add(n);
                rgb[i + 2] = (((x + y) * 127 / (w + h)) as u8).wrapping_add(n);
            }
        }
        // SAFETY: test-only use of the compressor with buffers sized above.
        unsafe {
            let h_ = sys::tj3Init(sys::TJINIT_TJINIT_COMPRESS as i32);
            let sub = if grey {
                sys::TJSAMP_TJSAMP_GRAY
            } else {
                subsamp
            };
            sys::tj3Set(h_, sys::TJPARAM_TJPARAM_SUBSAMP as i32, sub);
            sys::tj3Set(h_, sys::TJPARAM_TJPARAM_QUALITY as i32, 90);
            sys::tj3Set(
                h_,
                sys::TJPARAM_TJPARAM_PROGRESSIVE as i32,
                i32::from(progressive),
            );
            let mut out: *mut u8 = std::ptr::null_mut();
            let mut size: u64 = 0;
            let rc = sys::tj3Compress8(
                h_,
                rgb.as_ptr(),
                w as i32,
                0,
                h as i32,
                sys::TJPF_TJPF_RGB,
                &mut out,
                &mut size,
            );
            assert_eq!(rc, 0);
            let v = std::slice::from_raw_parts(out, size as usize).to_vec();
            sys::tj3Free(out.cast());
            sys::tj3Destroy(h_);
            v
        }
    }

    fn limits() -> tj::Limits {
        tj::Limits {
            max_pixels: 1 << 30,
            max_memory_mib: 256,
        }
    }

    /// The region's samples against the same samples of TurboJPEG's full plane decode:
    /// luma at 1/`denom`, chroma at 1/(`denom` × `cden`), which is the same IDCT of the
    /// same coefficients.
    fn same_as_full(data: &[u8], denom: u32, cden: u32, cols: (u32, u32), rows: (u32, u32)) {
        let mut full_dec = tj::Decoder::new(data, &limits()).unwrap();
        let full = full_dec.decode_planes(denom).unwrap();
        let full_chroma = if cden == 1 {
            full.chroma.clone()
        } else {
            let mut dec = tj::Decoder::new(data, &limits()).unwrap();
            dec.decode_planes(denom * cden).unwrap().chroma
        };
        let dec = RegionDecoder::start(data, denom, cden, cols, 256).unwrap();
        let (region, at) = dec.decode(rows).unwrap();
        assert!(
            at.x <= cols.0 && at.y <= rows.0,
            "{at:?} for {cols:?} {rows:?}"
        );
        if full.chroma.is_some() {
            assert_eq!(
                (region.hfactor, region.vfactor),
                (full.hfactor * cden, full.vfactor * cden)
            );
        }
        // The region reaches at least as far as asked.
        assert!(at.x + region.y.width >= cols.1.min(full.y.width));
        assert!(at.y + region.y.height >= rows.1.min(full.y.height));
        // Luma columns past the frame edge are padding (see `decode`); compare the image.
        let check = |name: &str, r: &Plane, f: &Plane, fx: u32, fy: u32, n: u32| {
            assert!(fy + r.height <= f.height, "{name}: rows past the frame");
            assert!(fx + r.stride <= f.stride, "{name}: columns past the plane");
            for y in 0..r.height {
                let a = &r.data[(y * r.stride) as usize..][..n as usize];
                let b = &f.data[((fy + y) * f.stride + fx) as usize..][..n as usize];
                assert_eq!(a, b, "{name} row {y} (denom {denom}, cols {cols:?})");
            }
        };
        check("Y", &region.y, &full.y, at.x, at.y, region.y.width);
        assert_eq!(
            region.y.width,
            full.y.width.min(at.x + region.y.width) - at.x
        );
        if let (Some([rcb, rcr]), Some([fcb, fcr])) = (&region.chroma, &full_chroma) {
            let (cx, cy) = (at.x / region.hfactor, at.y / region.vfactor);
            check("Cb", rcb, fcb, cx, cy, rcb.stride);
            check("Cr", rcr, fcr, cx, cy, rcr.stride);
        } else {
            assert!(region.chroma.is_none() && full.chroma.is_none());
        }
    }

    #[test]
    fn regions_match_turbojpeg_planes() {
        use turbojpeg_sys as sys;
        let layouts = [
            (sys::TJSAMP_TJSAMP_420, false),
            (sys::TJSAMP_TJSAMP_422, false),
            (sys::TJSAMP_TJSAMP_444, false),
            (sys::TJSAMP_TJSAMP_440, false),
            (sys::TJSAMP_TJSAMP_444, true),
        ];
        // Odd sizes put partial MCUs on the right and bottom edges.
        for (w, h) in [(613u32, 411u32), (640, 480)] {
            for &(sub, grey) in &layouts {
                for progressive in [false, true] {
                    let data = jpeg(w, h, sub, grey, progressive);
                    for denom in [1u32, 2, 4, 8] {
                        let (fw, fh) = (w.div_ceil(denom), h.div_ceil(denom));
                        let spans = [
                            ((0, fw), (0, fh)),
                            ((fw / 3, fw), (fh / 4, fh)),
                            ((fw / 5, fw * 3 / 4), (fh / 3, fh * 2 / 3)),
                            ((0, fw / 2 + 3), (0, fh / 2 + 1)),
                        ];
                        for (cols, rows) in spans {
                            if cols.1 - cols.0 < MIN_REGION {
                                continue;
                            }
                            for cden in [1, 2, 4, 8] {
                                // A grey image has no chroma to scale.
                                if denom * cden <= 8 && (cden == 1 || !grey) {
                                    same_as_full(&data, denom, cden, cols, rows);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn truncated_data_is_an_error_not_grey() {
        let data = jpeg(640, 480, turbojpeg_sys::TJSAMP_TJSAMP_420, false, false);
        let cut = &data[..data.len() * 2 / 3];
        let dec = RegionDecoder::start(cut, 1, 1, (100, 400), 256).unwrap();
        let err = dec.decode((0, 480)).unwrap_err();
        assert!(matches!(err, ImagingError::Truncated), "{err:?}");
        // The rows above the cut still decode: libjpeg never reads past the region.
        let dec = RegionDecoder::start(cut, 1, 1, (100, 400), 256).unwrap();
        assert!(dec.decode((0, 64)).is_ok());
    }
}
