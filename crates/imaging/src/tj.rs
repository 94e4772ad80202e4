//! A narrow safe wrapper over the TurboJPEG 3 API of libjpeg-turbo (built from source by
//! `turbojpeg-sys`). Only what the rendition path needs: header, DCT-scaled decoding to
//! packed pixels (Y/Cb/Cr planes come from `rawcrop`), and encoding from planes.
//!
//! Why not the `turbojpeg` crate's safe API: it hides the limits we need against hostile
//! files (`TJPARAM_MAXPIXELS`, `TJPARAM_MAXMEMORY`, `TJPARAM_STOPONWARNING`) and decodes
//! YUV into one unified buffer instead of planes we size ourselves.

use std::ffi::CStr;
use std::ptr;

use turbojpeg_sys as sys;

use crate::planes::{Plane, Planes};
use crate::ImagingError;

/// An owned TurboJPEG instance. Not shared between threads: each render makes its own,
/// which costs a small allocation next to tens of milliseconds of decoding.
pub(crate) struct Handle(sys::tjhandle);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init and is destroyed exactly once.
        unsafe { sys::tj3Destroy(self.0) }
    }
}

impl Handle {
    fn new(kind: sys::TJINIT) -> Result<Handle, ImagingError> {
        // SAFETY: plain constructor; a null return is checked.
        let h = unsafe { sys::tj3Init(kind as libc::c_int) };
        if h.is_null() {
            return Err(ImagingError::Codec(
                "libjpeg-turbo failed to initialise".into(),
            ));
        }
        Ok(Handle(h))
    }

    pub fn decompressor() -> Result<Handle, ImagingError> {
        Handle::new(sys::TJINIT_TJINIT_DECOMPRESS)
    }

    pub fn compressor() -> Result<Handle, ImagingError> {
        Handle::new(sys::TJINIT_TJINIT_COMPRESS)
    }

    fn set(&mut self, param: sys::TJPARAM, value: i32) -> Result<(), ImagingError> {
        // SAFETY: valid handle; tj3Set validates the parameter itself.
        let rc = unsafe { sys::tj3Set(self.0, param as libc::c_int, value) };
        self.check(rc)
    }

    fn get(&self, param: sys::TJPARAM) -> i32 {
        // SAFETY: valid handle.
        unsafe { sys::tj3Get(self.0, param as libc::c_int) }
    }

    fn check(&self, rc: libc::c_int) -> Result<(), ImagingError> {
        if rc == 0 {
            return Ok(());
        }
        // SAFETY: tj3GetErrorStr returns a NUL-terminated string owned by the handle.
        let msg = unsafe { CStr::from_ptr(sys::tj3GetErrorStr(self.0)) }
            .to_string_lossy()
            .into_owned();
        Err(classify(&msg))
    }
}

/// libjpeg's messages are the only error detail TurboJPEG gives; sort the common ones into
/// the error kinds a caller acts on (retry a truncated transfer, give up on corrupt data).
pub(crate) fn classify(msg: &str) -> ImagingError {
    let m = msg.to_ascii_lowercase();
    if m.contains("premature end") || m.contains("ends prematurely") {
        ImagingError::Truncated
    } else if m.contains("maximum number of pixels") || m.contains("memory limit") {
        ImagingError::Codec(format!("over the memory budget: {msg}"))
    } else if m.contains("unsupported") || m.contains("not supported") {
        ImagingError::Unsupported(msg.to_owned())
    } else {
        ImagingError::Corrupt(msg.to_owned())
    }
}

/// What the JPEG headers say, as TurboJPEG reads them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Info {
    pub width: u32,
    pub height: u32,
    /// A `TJSAMP_*` value; `TJSAMP_UNKNOWN` for layouts without a plane decoder.
    pub subsamp: i32,
    /// A `TJCS_*` value.
    pub colorspace: i32,
}

impl Info {
    #[cfg(test)]
    pub fn is_grey(&self) -> bool {
        self.colorspace == sys::TJCS_TJCS_GRAY as i32
    }

    pub fn is_cmyk(&self) -> bool {
        matches!(
            self.colorspace as u32,
            sys::TJCS_TJCS_CMYK | sys::TJCS_TJCS_YCCK
        )
    }

    /// Luma samples per stored chroma sample (across, down); `None` for grey images and
    /// layouts without a plane decoder.
    pub fn chroma_subsampling(&self) -> Option<(u32, u32)> {
        if !self.has_planes() || self.subsamp == sys::TJSAMP_TJSAMP_GRAY {
            return None;
        }
        Some((hfactor(self.subsamp), vfactor(self.subsamp)))
    }

    /// Whether `decode_planes` can hand out the stored planes without a colour conversion.
    pub fn has_planes(&self) -> bool {
        self.subsamp != sys::TJSAMP_TJSAMP_UNKNOWN
            && matches!(
                self.colorspace as u32,
                sys::TJCS_TJCS_YCbCr | sys::TJCS_TJCS_GRAY
            )
    }
}

/// Limits against hostile files, set on every decompressor before it reads a header.
pub(crate) struct Limits {
    /// Largest frame (in pixels) libjpeg-turbo will start decoding.
    pub max_pixels: u64,
    /// Cap on libjpeg's intermediate buffers (progressive coefficients), in MiB.
    pub max_memory_mib: u32,
}

pub(crate) struct Decoder<'a> {
    handle: Handle,
    data: &'a [u8],
    pub info: Info,
}

impl<'a> Decoder<'a> {
    pub fn new(data: &'a [u8], limits: &Limits) -> Result<Decoder<'a>, ImagingError> {
        let mut handle = Handle::decompressor()?;
        // A warning from libjpeg means damaged or missing data that it would otherwise pad
        // with grey: a half-grey photo must not be published.
        handle.set(sys::TJPARAM_TJPARAM_STOPONWARNING, 1)?;
        handle.set(
            sys::TJPARAM_TJPARAM_MAXPIXELS,
            i32::try_from(limits.max_pixels).unwrap_or(i32::MAX),
        )?;
        handle.set(
            sys::TJPARAM_TJPARAM_MAXMEMORY,
            i32::try_from(limits.max_memory_mib).unwrap_or(i32::MAX),
        )?;
        // We read EXIF and ICC ourselves from the marker walk; don't let libjpeg keep copies.
        handle.set(sys::TJPARAM_TJPARAM_SAVEMARKERS, 0)?;
        // SAFETY: data outlives the call; TurboJPEG only reads it.
        let rc = unsafe { sys::tj3DecompressHeader(handle.0, data.as_ptr(), data.len() as _) };
        handle.check(rc)?;
        let info = Info {
            width: handle.get(sys::TJPARAM_TJPARAM_JPEGWIDTH).max(0) as u32,
            height: handle.get(sys::TJPARAM_TJPARAM_JPEGHEIGHT).max(0) as u32,
            subsamp: handle.get(sys::TJPARAM_TJPARAM_SUBSAMP),
            colorspace: handle.get(sys::TJPARAM_TJPARAM_COLORSPACE),
        };
        Ok(Decoder { handle, data, info })
    }

    fn set_scale(&mut self, denom: u32) -> Result<(), ImagingError> {
        let sf = sys::tjscalingfactor {
            num: 1,
            denom: denom as libc::c_int,
        };
        // SAFETY: valid handle; 1/1, 1/2, 1/4 and 1/8 are always supported.
        let rc = unsafe { sys::tj3SetScalingFactor(self.handle.0, sf) };
        self.handle.check(rc)
    }

    /// Size of the image decoded at 1/`denom` (libjpeg rounds up).
    pub fn scaled_size(&self, denom: u32) -> (u32, u32) {
        (
            self.info.width.div_ceil(denom),
            self.info.height.div_ceil(denom),
        )
    }

    /// Decodes at 1/`denom` scale straight into the stored Y/Cb/Cr planes: no colour
    /// conversion and no chroma upsampling, which is most of a full decode's work. The
    /// rendition path decodes planes through `rawcrop` (only the crop's region); this
    /// whole-frame decode is the reference its tests compare against.
    #[cfg(test)]
    pub fn decode_planes(&mut self, denom: u32) -> Result<Planes, ImagingError> {
        self.set_scale(denom)?;
        let (w, h) = self.scaled_size(denom);
        let subsamp = self.info.subsamp;
        let comps = if self.info.is_grey() { 1 } else { 3 };
        let mut planes: Vec<Plane> = (0..comps)
            .map(|c| {
                let (pw, ph) = plane_size(c, w, h, subsamp);
                Plane::new(pw, ph)
            })
            .collect();
        let mut ptrs: Vec<*mut u8> = planes.iter_mut().map(|p| p.data.as_mut_ptr()).collect();
        let mut strides: Vec<libc::c_int> = planes.iter().map(|p| p.stride as i32).collect();
        // SAFETY: each plane buffer is exactly stride × plane height bytes as TurboJPEG
        // computes them (tj3YUVPlaneWidth/Height), and lives until the call returns.
        let rc = unsafe {
            sys::tj3DecompressToYUVPlanes8(
                self.handle.0,
                self.data.as_ptr(),
                self.data.len() as _,
                ptrs.as_mut_ptr(),
                strides.as_mut_ptr(),
            )
        };
        self.handle.check(rc)?;
        let mut it = planes.into_iter();
        let y = it.next().expect("one plane at least");
        // The planes hold the image at (w, h); the last chroma column/row may be padding.
        let y = Plane {
            width: w,
            height: h,
            ..y
        };
        let chroma = match (it.next(), it.next()) {
            (Some(cb), Some(cr)) => Some([cb, cr]),
            _ => None,
        };
        Ok(Planes {
            y,
            chroma,
            hfactor: hfactor(subsamp),
            vfactor: vfactor(subsamp),
        })
    }

    /// Decodes at 1/`denom` to packed pixels, for layouts without a plane decoder: RGB, or
    /// CMYK for 4-component files (libjpeg turns YCCK into CMYK). Returns (pixels, width,
    /// height).
    pub fn decode_packed(&mut self, denom: u32) -> Result<(Packed, u32, u32), ImagingError> {
        self.set_scale(denom)?;
        let (w, h) = self.scaled_size(denom);
        let cmyk = self.info.is_cmyk();
        let (format, n) = if cmyk {
            (sys::TJPF_TJPF_CMYK, 4)
        } else {
            (sys::TJPF_TJPF_RGB, 3)
        };
        let mut buf = vec![0u8; w as usize * h as usize * n];
        // SAFETY: buf holds pitch × height bytes for this pixel format.
        let rc = unsafe {
            sys::tj3Decompress8(
                self.handle.0,
                self.data.as_ptr(),
                self.data.len() as _,
                buf.as_mut_ptr(),
                (w as usize * n) as libc::c_int,
                format as libc::c_int,
            )
        };
        self.handle.check(rc)?;
        let packed = if cmyk {
            Packed::Cmyk(buf)
        } else {
            Packed::Rgb(buf)
        };
        Ok((packed, w, h))
    }
}

/// Packed pixels as decoded: 3 or 4 bytes a pixel.
pub(crate) enum Packed {
    Rgb(Vec<u8>),
    /// As stored by Adobe applications: inverted, 255 = no ink.
    Cmyk(Vec<u8>),
}

/// CMYK as Adobe applications write it (inverted: 255 = no ink) to RGB, without an ICC
/// transform: R = (1 − C)(1 − K) and so on, which ignores how inks really mix. Used when
/// there is no profile to convert through, or the recipe does not convert (see
/// docs/decisions/0010-colour-conversion.md); print files reach a live gallery rarely.
pub(crate) fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let k = u32::from(px[3]);
        for &c in &px[..3] {
            out.push(((u32::from(c) * k + 127) / 255) as u8);
        }
    }
    out
}

fn plane_size(component: i32, w: u32, h: u32, subsamp: i32) -> (u32, u32) {
    // SAFETY: pure arithmetic functions of the library.
    unsafe {
        (
            sys::tj3YUVPlaneWidth(component, w as i32, subsamp).max(1) as u32,
            sys::tj3YUVPlaneHeight(component, h as i32, subsamp).max(1) as u32,
        )
    }
}

/// Luma samples per chroma sample across; asked of the library so no table can drift.
fn hfactor(subsamp: i32) -> u32 {
    if subsamp == sys::TJSAMP_TJSAMP_GRAY {
        return 1;
    }
    (64 / plane_size(1, 64, 64, subsamp).0).max(1)
}

fn vfactor(subsamp: i32) -> u32 {
    if subsamp == sys::TJSAMP_TJSAMP_GRAY {
        return 1;
    }
    (64 / plane_size(1, 64, 64, subsamp).1).max(1)
}

/// Encodes 4:2:0 planes (or one grey plane) to a baseline JPEG, ICC profile included.
/// The output starts with SOI and TurboJPEG's JFIF APP0.
pub(crate) fn encode_planes(
    planes: &Planes,
    quality: u8,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    let mut handle = Handle::compressor()?;
    let grey = planes.chroma.is_none();
    let subsamp = if grey {
        sys::TJSAMP_TJSAMP_GRAY
    } else {
        sys::TJSAMP_TJSAMP_420
    };
    handle.set(sys::TJPARAM_TJPARAM_SUBSAMP, subsamp)?;
    handle.set(
        sys::TJPARAM_TJPARAM_QUALITY,
        i32::from(quality.clamp(1, 100)),
    )?;
    let (w, h) = (planes.y.width, planes.y.height);
    if let Some([cb, cr]) = &planes.chroma {
        let want = plane_size(1, w, h, subsamp);
        if (cb.width, cb.height) != want || (cr.width, cr.height) != want {
            return Err(ImagingError::Encode(format!(
                "chroma planes {}x{} do not match 4:2:0 of {w}x{h}",
                cb.width, cb.height
            )));
        }
    }
    if let Some(icc) = icc {
        // SAFETY: TurboJPEG copies the profile.
        let rc =
            unsafe { sys::tj3SetICCProfile(handle.0, icc.as_ptr() as *mut u8, icc.len() as _) };
        handle.check(rc)?;
    }
    // libjpeg reads whole MCUs: for odd sizes the luma plane must have the padding row or
    // column TurboJPEG expects, or it reads past the buffer.
    let (pw, ph) = plane_size(0, w, h, subsamp);
    let padded;
    let y = if planes.y.stride < pw || planes.y.height < ph {
        padded = pad_plane(&planes.y, pw, ph);
        &padded
    } else {
        &planes.y
    };
    let mut srcs: Vec<*const u8> = vec![y.data.as_ptr()];
    let mut strides: Vec<libc::c_int> = vec![y.stride as i32];
    if let Some([cb, cr]) = &planes.chroma {
        srcs.extend([cb.data.as_ptr(), cr.data.as_ptr()]);
        strides.extend([cb.stride as i32, cr.stride as i32]);
    }
    let mut out: *mut u8 = ptr::null_mut();
    let mut size: u64 = 0;
    // SAFETY: planes are stride × height as checked above; TurboJPEG allocates `out`,
    // which we copy and free below whatever the result.
    let rc = unsafe {
        sys::tj3CompressFromYUVPlanes8(
            handle.0,
            srcs.as_ptr(),
            w as i32,
            strides.as_ptr(),
            h as i32,
            &mut out,
            &mut size,
        )
    };
    let result = handle.check(rc).map(|()| {
        // SAFETY: on success `out` holds `size` bytes.
        unsafe { std::slice::from_raw_parts(out, size as usize) }.to_vec()
    });
    if !out.is_null() {
        // SAFETY: allocated by TurboJPEG.
        unsafe { sys::tj3Free(out.cast()) };
    }
    result.map_err(|e| ImagingError::Encode(e.to_string()))
}

/// A copy of `p` grown to `w`×`h` by repeating its last column and row.
fn pad_plane(p: &Plane, w: u32, h: u32) -> Plane {
    let mut out = Plane::new(w, h);
    for y in 0..h {
        let src = p.row(y.min(p.height - 1));
        let dst = &mut out.data[(y * w) as usize..((y + 1) * w) as usize];
        dst[..src.len()].copy_from_slice(src);
        let last = src[src.len() - 1];
        dst[src.len()..].fill(last);
    }
    out
}
