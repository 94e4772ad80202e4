//! Decoding only the part of a JPEG a crop keeps, straight into Y/Cb/Cr planes, through the
//! C shim in `csrc/rawcrop.c` (libjpeg's `jpeg_crop_scanline` in raw mode, which TurboJPEG
//! does not expose for planes). Columns outside the region get no IDCT and no buffer; rows
//! below it are not decoded at all; rows above it are decoded into one reused iMCU row.
//!
//! The planes come out exactly as `tj::Decoder::decode_planes` would give that part of the
//! frame (the unit tests compare them sample for sample), so the resize sees the same
//! pixels as from a full decode. Renditions do not keep them whole, though:
//! `decode_shrunk` resamples each plane vertically in a sliding window of rows as they are
//! decoded, so only the output-height planes are ever allocated in full.

use std::ffi::CStr;

use fast_image_resize::images::{TypedCroppedImage, TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

use crate::geometry::Rect;
use crate::planes::{Boxes, Plane, Planes};
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

    /// Where the planes for luma rows `rows` sit and how large each is, as `decode` (or
    /// `decode_shrunk` before its vertical pass) presents them.
    pub fn layout(&self, rows: (u32, u32)) -> Layout {
        let g = &self.geo;
        let comps = g.components as usize;
        let (first, last) = self.rows_span(rows);
        let (hf, vf) = if comps == 3 {
            (g.hfactor[1], g.vfactor[1])
        } else {
            (1, 1)
        };
        // At the right and bottom edges of the frame, keep what TurboJPEG's planes keep
        // (the size padded to the stored chroma subsampling, which it pads luma to) so the
        // resizer's edge handling sees the same samples.
        let (hs, vs) = (
            (hf / self.chroma_denom).max(1),
            (vf / self.chroma_denom).max(1),
        );
        let y0 = first * g.imcu_rows;
        let x_end = (g.xoffset + g.buf_width[0]).min(g.out_width.next_multiple_of(hs));
        let y_end = (last * g.imcu_rows).min(g.out_height.next_multiple_of(vs));
        let (lw, lh) = (x_end - g.xoffset, y_end - y0);
        let planes = (0..comps)
            .map(|c| {
                if c == 0 {
                    Dims {
                        width: (g.xoffset + g.width).min(g.out_width) - g.xoffset,
                        stride: lw,
                        height: (last * g.imcu_rows).min(g.out_height) - y0,
                    }
                } else {
                    let w = lw.div_ceil(g.hfactor[c]);
                    Dims {
                        width: w,
                        stride: w,
                        height: lh.div_ceil(g.vfactor[c]),
                    }
                }
            })
            .collect();
        Layout {
            origin: Origin {
                x: g.xoffset,
                y: y0,
            },
            planes,
            hfactor: hf,
            vfactor: vf,
        }
    }

    /// Bytes `decode_shrunk(rows, shrinks)` allocates at most, to refuse before allocating.
    pub fn shrunk_bytes(&self, rows: (u32, u32), shrinks: &[Shrink]) -> u64 {
        let layout = self.layout(rows);
        let g = &self.geo;
        // The scratch iMCU row for rows above the region.
        let scratch = u64::from(self.rows_span(rows).0 > 0);
        shrinks
            .iter()
            .zip(&layout.planes)
            .enumerate()
            .map(|(c, (s, dims))| {
                let window = u64::from(window_rows(s, g.rows[c]));
                let imcu = u64::from(g.rows[c]);
                u64::from(g.buf_width[c]) * (window + imcu + scratch * imcu)
                    + u64::from(dims.stride) * u64::from(s.out)
            })
            .sum()
    }

    /// Decodes luma rows `[y0, y1)` (widened to iMCU rows) of the column range. Rows past
    /// `y1` are never decoded. For the unit tests: renditions use `decode_shrunk`.
    #[cfg(test)]
    pub fn decode(self, rows: (u32, u32)) -> Result<(Planes, Origin), ImagingError> {
        let layout = self.layout(rows);
        let planes = self.run(rows, &layout, None)?;
        Ok((planes, layout.origin))
    }

    /// Decodes like `decode` and shrinks each plane vertically as its rows arrive: plane
    /// `c` comes out `shrinks[c].out` rows high, Lanczos3-resampled from rows
    /// `[y, y + h)` of that plane (fractional, relative to `layout(rows)`'s origin), at its
    /// full decoded width. Only a window of rows around the output row being made is ever
    /// held, so a 45 MP frame costs a few hundred kilobytes of plane buffers, not 76 MB,
    /// and the rows are resampled while still in cache. The result is what resizing the
    /// planes `decode` returns with the same vertical box would give (fast_image_resize
    /// does the vertical pass first for 8-bit images too), give or take rounding of the
    /// fixed-point weights.
    pub fn decode_shrunk(
        self,
        rows: (u32, u32),
        shrinks: &[Shrink],
    ) -> Result<Planes, ImagingError> {
        let layout = self.layout(rows);
        if shrinks.len() != layout.planes.len() {
            return Err(ImagingError::Codec(format!(
                "{} vertical targets for {} planes",
                shrinks.len(),
                layout.planes.len()
            )));
        }
        self.run(rows, &layout, Some(shrinks))
    }

    fn run(
        self,
        rows: (u32, u32),
        layout: &Layout,
        shrinks: Option<&[Shrink]>,
    ) -> Result<Planes, ImagingError> {
        let g = self.geo;
        let comps = g.components as usize;
        let (first, last) = self.rows_span(rows);
        let n = last - first;
        let mut windows: Vec<Window> = (0..comps)
            .map(|c| Window::new(&g, c, layout.planes[c], n, shrinks.map(|s| s[c])))
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
        let mut resizer = Resizer::new();
        for imcu in 0..last {
            for c in 0..comps {
                let (w, r) = (g.buf_width[c] as usize, g.rows[c] as usize);
                let base = if imcu < first {
                    scratch[c].as_mut_ptr()
                } else {
                    windows[c].make_room(r)
                };
                for (i, p) in rowptrs[c].iter_mut().enumerate() {
                    // SAFETY: row i < r of a block of r rows of w bytes (scratch, or the
                    // r free rows at the end of the window that `make_room` guarantees).
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
            if imcu >= first {
                for w in &mut windows {
                    w.filled(&mut resizer)?;
                }
            }
        }
        drop(scratch);
        let mut out = windows.into_iter().map(Window::finish);
        let y = out.next().expect("one plane at least");
        let chroma = match (out.next(), out.next()) {
            (Some(cb), Some(cr)) => Some([cb, cr]),
            _ => None,
        };
        Ok(Planes {
            y,
            chroma,
            hfactor: layout.hfactor,
            vfactor: layout.vfactor,
        })
    }
}

/// The planes of a region as `decode` presents them: luma `width` valid columns of
/// `stride` (the rest repeat the edge), chroma `width` = `stride`.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub origin: Origin,
    pub planes: Vec<Dims>,
    pub hfactor: u32,
    pub vfactor: u32,
}

impl Layout {
    /// The boxes of a rendition of `crop` (luma samples relative to `origin`) at `out`,
    /// and their vertical halves, one per plane, for `decode_shrunk`.
    pub fn boxes(&self, crop: Rect, out: (u32, u32), orientation: u16) -> (Boxes, Vec<Shrink>) {
        let dims = |d: &Dims| (d.width, d.height);
        let boxes = crate::planes::boxes(
            dims(&self.planes[0]),
            self.planes.get(1).map(dims),
            (self.hfactor, self.vfactor),
            crop,
            out,
            orientation,
        );
        let shrink = |(r, (_, h)): (Rect, (u32, u32))| Shrink {
            y: r.y,
            h: r.h,
            out: h,
        };
        let mut shrinks = vec![shrink(boxes.luma)];
        if let Some(c) = boxes.chroma {
            shrinks.extend([shrink(c), shrink(c)]);
        }
        (boxes, shrinks)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub width: u32,
    pub stride: u32,
    pub height: u32,
}

/// A plane's vertical resampling: rows `[y, y + h)` of the plane to `out` rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shrink {
    pub y: f64,
    pub h: f64,
    pub out: u32,
}

impl Shrink {
    fn scale(&self) -> f64 {
        self.h / f64::from(self.out.max(1))
    }

    /// Lanczos3's reach in source rows (fast_image_resize widens the kernel by the scale).
    fn radius(&self) -> f64 {
        3.0 * self.scale().max(1.0)
    }

    /// The source rows output row `k` reads, with a row of slack either side so the
    /// window never clips a tap that the whole-plane resize would use.
    fn taps(&self, k: u32) -> (f64, f64) {
        let centre = self.y + (f64::from(k) + 0.5) * self.scale();
        (
            (centre - self.radius()).floor() - 1.0,
            (centre + self.radius()).ceil() + 1.0,
        )
    }
}

/// Output rows resampled per call once their rows are in: few enough to keep the window
/// in cache, enough to spread the call's set-up.
const BATCH: u32 = 8;

/// Rows a window holds at most: the taps of one batch of output rows plus one iMCU row.
fn window_rows(s: &Shrink, imcu: u32) -> u32 {
    let span = s.radius() * 2.0 + s.scale() * f64::from(BATCH) + 4.0;
    span.ceil() as u32 + imcu
}

/// One component's decoded rows: all of them (for `decode`), or a sliding window that
/// is resampled into `out` as it fills (for `decode_shrunk`).
struct Window {
    /// Rows of `buf_width` bytes, libjpeg's layout.
    buf: Vec<u8>,
    buf_width: usize,
    /// Rows libjpeg writes per iMCU row.
    write_rows: u32,
    /// Plane row of `buf`'s first row, and rows held.
    start: u32,
    len: u32,
    dims: Dims,
    shrink: Option<Shrink>,
    /// Next output row to make, and the output (`dims.stride` × `shrink.out`).
    next: u32,
    out: Vec<u8>,
}

impl Window {
    fn new(g: &Geometry, c: usize, dims: Dims, imcu_count: u32, shrink: Option<Shrink>) -> Window {
        let buf_width = g.buf_width[c] as usize;
        let rows = match &shrink {
            None => g.rows[c] * imcu_count,
            Some(s) => window_rows(s, g.rows[c]),
        };
        Window {
            buf: vec![0u8; buf_width * rows as usize],
            buf_width,
            write_rows: g.rows[c],
            start: 0,
            len: 0,
            dims,
            shrink,
            next: 0,
            out: shrink.map_or_else(Vec::new, |s| {
                vec![0u8; dims.stride as usize * s.out as usize]
            }),
        }
    }

    /// Where the next `rows` rows go, dropping rows no output row needs any more (and
    /// growing the buffer if a batch's taps need more than it holds).
    fn make_room(&mut self, rows: usize) -> *mut u8 {
        let capacity = self.buf.len() / self.buf_width;
        if self.len as usize + rows > capacity {
            if let Some(s) = &self.shrink {
                let keep_from =
                    (s.taps(self.next).0.max(0.0) as u32).clamp(self.start, self.start + self.len);
                let drop = (keep_from - self.start) as usize;
                if drop > 0 {
                    let w = self.buf_width;
                    self.buf.copy_within(drop * w..self.len as usize * w, 0);
                    self.start += drop as u32;
                    self.len -= drop as u32;
                }
            }
            let need = (self.len as usize + rows) * self.buf_width;
            if need > self.buf.len() {
                self.buf.resize(need, 0);
            }
        }
        // SAFETY: len + rows ≤ capacity now, so the offset is inside `buf`.
        unsafe {
            self.buf
                .as_mut_ptr()
                .add(self.len as usize * self.buf_width)
        }
    }

    /// An iMCU row was written after the held rows: take it in, and resample every output
    /// row whose taps are now all held.
    fn filled(&mut self, resizer: &mut Resizer) -> Result<(), ImagingError> {
        let capacity = (self.buf.len() / self.buf_width) as u32;
        let new_from = self.len;
        // libjpeg wrote a whole iMCU row; `make_room` made room for exactly that.
        self.len = capacity.min(self.len + self.write_rows);
        // Columns past the frame's right edge (up to the chroma-padded width) are read by
        // the resizer at the edge; libjpeg may not have written them (when the last block
        // ends at the edge), so they repeat the edge, as an encoder pads.
        let (valid, stride) = (self.dims.width as usize, self.dims.stride as usize);
        if valid < stride {
            for r in new_from..self.len {
                let row = &mut self.buf[r as usize * self.buf_width..][..stride];
                let edge = row[valid - 1];
                row[valid..].fill(edge);
            }
        }
        let Some(s) = self.shrink else {
            return Ok(());
        };
        let held = (self.start + self.len).min(self.dims.height);
        let done = held >= self.dims.height;
        let mut ready = self.next;
        while ready < s.out && (done || s.taps(ready).1 <= f64::from(held)) {
            ready += 1;
        }
        while ready - self.next >= BATCH || (done && ready > self.next) {
            let end = if done { ready } else { self.next + BATCH };
            self.resample(resizer, &s, end)?;
        }
        Ok(())
    }

    /// Output rows `[next, end)` from the held rows.
    fn resample(
        &mut self,
        resizer: &mut Resizer,
        s: &Shrink,
        end: u32,
    ) -> Result<(), ImagingError> {
        let stride = self.dims.stride;
        let held = ((self.start + self.len).min(self.dims.height) - self.start).max(1);
        let rows = TypedImageRef::<U8>::from_buffer(
            self.buf_width as u32,
            held,
            &self.buf[..self.buf_width * held as usize],
        )
        .map_err(|e| ImagingError::Codec(format!("window: {e}")))?;
        let view = TypedCroppedImage::from_ref(&rows, 0, 0, stride, held)
            .map_err(|e| ImagingError::Codec(format!("window: {e}")))?;
        let top = s.y + f64::from(self.next) * s.scale() - f64::from(self.start);
        let h = f64::from(end - self.next) * s.scale();
        let dst_rows =
            &mut self.out[self.next as usize * stride as usize..end as usize * stride as usize];
        let mut dst = TypedImage::<U8>::from_buffer(stride, end - self.next, dst_rows)
            .map_err(|e| ImagingError::Codec(format!("window: {e}")))?;
        // The window holds every tap (see `Shrink::taps`); only float noise is clamped.
        debug_assert!(
            top > -1e-6 && top + h < f64::from(held) + 1e-6,
            "{top} {h} {held}"
        );
        let top = top.max(0.0);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .crop(0.0, top, f64::from(stride), h.min(f64::from(held) - top));
        resizer
            .resize_typed(&view, &mut dst, &options)
            .map_err(|e| ImagingError::Codec(format!("vertical resize: {e}")))?;
        self.next = end;
        Ok(())
    }

    fn finish(self) -> Plane {
        match self.shrink {
            Some(s) => Plane {
                data: self.out,
                width: self.dims.width,
                height: s.out,
                stride: self.dims.stride,
            },
            None => {
                let rows = self.dims.height.max(1);
                let mut p = compact(
                    self.buf,
                    self.buf_width as u32,
                    self.dims.stride,
                    rows.min(self.len),
                );
                p.width = self.dims.width;
                p.height = self.dims.height;
                p
            }
        }
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
        jpeg_with_restarts(w, h, subsamp, grey, progressive, 0)
    }

    /// `jpeg` with a restart marker every `restart_blocks` MCUs (0: none).
    fn jpeg_with_restarts(
        w: u32,
        h: u32,
        subsamp: i32,
        grey: bool,
        progressive: bool,
        restart_blocks: i32,
    ) -> Vec<u8> {
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
            sys::tj3Set(
                h_,
                sys::TJPARAM_TJPARAM_RESTARTBLOCKS as i32,
                restart_blocks,
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

    /// Resampling rows as they are decoded gives what resizing the whole region gives, for
    /// every layout, scale, edge and orientation, up to rounding: the fixed-point weights
    /// of a batch of rows may get another precision than those of the whole plane
    /// (measured: at most 2 levels, on under 1 % of samples).
    #[test]
    fn shrinking_rows_as_decoded_matches_resizing_the_region() {
        use crate::planes;
        use turbojpeg_sys as sys;
        let (mut worst, mut worst_share) = (0u8, 0f64);
        for (sub, grey) in [
            (sys::TJSAMP_TJSAMP_420, false),
            (sys::TJSAMP_TJSAMP_422, false),
            (sys::TJSAMP_TJSAMP_444, false),
            (sys::TJSAMP_TJSAMP_440, false),
            (sys::TJSAMP_TJSAMP_444, true),
        ] {
            let data = jpeg(1013, 771, sub, grey, false);
            for (denom, cden) in [(1, 1), (2, 1), (1, 2), (4, 2)] {
                if grey && cden > 1 {
                    continue;
                }
                let (fw, fh) = (1013u32.div_ceil(denom), 771u32.div_ceil(denom));
                // Whole frame; a box inside; a box at the bottom-right edge.
                let crops = [
                    Rect {
                        x: 0.0,
                        y: 0.0,
                        w: f64::from(fw),
                        h: f64::from(fh),
                    },
                    Rect {
                        x: f64::from(fw) * 0.21,
                        y: f64::from(fh) * 0.13,
                        w: f64::from(fw) * 0.5,
                        h: f64::from(fh) * 0.61,
                    },
                    Rect {
                        x: f64::from(fw) * 0.4,
                        y: f64::from(fh) * 0.3,
                        w: f64::from(fw) * 0.6,
                        h: f64::from(fh) * 0.7,
                    },
                ];
                for crop in crops {
                    for (out, orientation) in [
                        ((97u32, 131u32), 1u16),
                        ((120, 75), 3),
                        ((61, 89), 6),
                        ((200, 153), 8),
                    ] {
                        let cols = (
                            (crop.x as u32).saturating_sub(20),
                            ((crop.x + crop.w) as u32 + 20).min(fw),
                        );
                        let rows = (
                            (crop.y as u32).saturating_sub(20),
                            ((crop.y + crop.h) as u32 + 20).min(fh),
                        );
                        let dec = RegionDecoder::start(&data, denom, cden, cols, 256).unwrap();
                        let layout = dec.layout(rows);
                        let local = Rect {
                            x: crop.x - f64::from(layout.origin.x),
                            y: crop.y - f64::from(layout.origin.y),
                            ..crop
                        };
                        let (whole, at) = dec.decode(rows).unwrap();
                        assert_eq!(at, layout.origin);
                        let expected =
                            planes::resize_planes(&whole, local, out, orientation).unwrap();

                        let dec = RegionDecoder::start(&data, denom, cden, cols, 256).unwrap();
                        let (boxes, shrinks) = layout.boxes(local, out, orientation);
                        let tall = dec.decode_shrunk(rows, &shrinks).unwrap();
                        let got = planes::resize_rows(&tall, &boxes).unwrap();
                        let mut pairs = vec![(&got.y, &expected.y)];
                        if let (Some([a, b]), Some([c, d])) = (&got.chroma, &expected.chroma) {
                            pairs.extend([(a, c), (b, d)]);
                        }
                        for (g, e) in pairs {
                            assert_eq!((g.width, g.height), (e.width, e.height));
                            let diffs: Vec<u8> = g
                                .data
                                .iter()
                                .zip(&e.data)
                                .map(|(a, b)| a.abs_diff(*b))
                                .collect();
                            let diff = *diffs.iter().max().unwrap();
                            let off = diffs.iter().filter(|&&d| d > 0).count() as f64
                                / diffs.len() as f64;
                            worst = worst.max(diff);
                            worst_share = worst_share.max(off);
                            assert!(diff <= 2 && off < 0.02, "{sub} grey {grey} 1/{denom}+{cden} {crop:?} {out:?} o{orientation}: {diff}, {off}");
                        }
                    }
                }
            }
        }
        eprintln!(
            "largest difference: {worst} level(s); at most {:.2} % of samples differ",
            worst_share * 100.0
        );
    }

    /// Restart markers (many cameras write them) reset the entropy decoder between
    /// intervals; skipping columns with `jpeg_crop_scanline` must still land on the right
    /// MCUs. The region must match TurboJPEG's whole-frame planes, and the file without
    /// markers, sample for sample.
    #[test]
    fn restart_markers_decode_like_plain_files() {
        use turbojpeg_sys as sys;
        for (sub, grey) in [
            (sys::TJSAMP_TJSAMP_420, false),
            (sys::TJSAMP_TJSAMP_422, false),
            (sys::TJSAMP_TJSAMP_444, true),
        ] {
            for progressive in [false, true] {
                let plain = jpeg(613, 411, sub, grey, progressive);
                for interval in [1, 7, 40] {
                    let marked = jpeg_with_restarts(613, 411, sub, grey, progressive, interval);
                    assert!(
                        marked
                            .windows(2)
                            .any(|m| m[0] == 0xFF && (0xD0..=0xD7).contains(&m[1])),
                        "the encoder wrote restart markers"
                    );
                    for denom in [1u32, 2, 4] {
                        let (fw, fh) = (613u32.div_ceil(denom), 411u32.div_ceil(denom));
                        let (cols, rows) = ((fw / 5, fw * 3 / 4), (fh / 3, fh));
                        if cols.1 - cols.0 < MIN_REGION {
                            continue;
                        }
                        same_as_full(&marked, denom, 1, cols, rows);
                        let a = RegionDecoder::start(&marked, denom, 1, cols, 256).unwrap();
                        let b = RegionDecoder::start(&plain, denom, 1, cols, 256).unwrap();
                        let ((pa, _), (pb, _)) = (a.decode(rows).unwrap(), b.decode(rows).unwrap());
                        assert_eq!(
                            pa.y.data, pb.y.data,
                            "{sub} every {interval} MCUs 1/{denom}"
                        );
                        if let (Some([ca, _]), Some([cb, _])) = (&pa.chroma, &pb.chroma) {
                            assert_eq!(ca.data, cb.data);
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
