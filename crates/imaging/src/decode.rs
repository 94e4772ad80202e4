//! Full decode of an original, guarded by size limits checked before any allocation.

use zune_jpeg::errors::DecodeErrors;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::container::Header;
use crate::pixels::{Model, Pixels};
use crate::ImagingError;

/// Largest image `render` will decode: well above 100 MP medium-format bodies, well below
/// what would exhaust a laptop decoding two images at once (200 MP × 3 B = 600 MB).
pub const MAX_PIXELS: u64 = 200_000_000;
/// Largest width or height `render` will decode.
pub const MAX_EDGE: u32 = 65_500;

/// Refuses a frame that would need an outsized buffer. A decompression bomb is a tiny file
/// whose header claims a huge frame, so this runs on the header alone.
pub(crate) fn check_limits(width: u32, height: u32) -> Result<(), ImagingError> {
    if width > MAX_EDGE || height > MAX_EDGE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImagingError::TooLarge { width, height });
    }
    Ok(())
}

/// Decoded pixels and the embedded ICC profile, if any.
pub(crate) struct Decoded {
    pub pixels: Pixels,
    pub icc: Option<Vec<u8>>,
}

pub(crate) fn decode(data: &[u8], header: &Header<'_>) -> Result<Decoded, ImagingError> {
    check_limits(header.width, header.height)?;
    // new_fast turns on the SIMD paths; the default options are the portable scalar ones.
    let options = DecoderOptions::new_fast()
        .set_max_width(MAX_EDGE as usize)
        .set_max_height(MAX_EDGE as usize);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    decoder.decode_headers().map_err(map_err)?;

    // Only after the headers do we know the stored colour model (an Adobe APP14 segment can
    // say RGB). Asking for that same model makes the decoder copy instead of convert.
    let input = decoder.input_colorspace().unwrap_or(ColorSpace::YCbCr);
    let (out, model) = match input {
        ColorSpace::YCbCr => (ColorSpace::YCbCr, Model::YCbCr),
        ColorSpace::Luma => (ColorSpace::Luma, Model::Luma),
        ColorSpace::RGB => (ColorSpace::RGB, Model::Rgb),
        ColorSpace::CMYK | ColorSpace::YCCK => {
            return Err(ImagingError::Unsupported("CMYK JPEG".into()));
        }
        other => return Err(ImagingError::Unsupported(format!("{other:?} JPEG"))),
    };
    decoder.set_options(options.jpeg_set_out_colorspace(out));

    let info = decoder
        .info()
        .ok_or_else(|| ImagingError::Corrupt("no frame header".into()))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_limits(width, height)?;
    let size = decoder
        .output_buffer_size()
        .ok_or(ImagingError::TooLarge { width, height })?;
    let mut buf = vec![0u8; size];
    decoder.decode_into(&mut buf).map_err(map_err)?;
    let icc = decoder.icc_profile();
    Ok(Decoded {
        pixels: Pixels {
            data: buf,
            width,
            height,
            model,
        },
        icc,
    })
}

fn map_err(e: DecodeErrors) -> ImagingError {
    match e {
        DecodeErrors::ExhaustedData => ImagingError::Truncated,
        DecodeErrors::Unsupported(s) => ImagingError::Unsupported(format!("{s:?}")),
        DecodeErrors::LargeDimensions(_) => ImagingError::Corrupt(e.to_string()),
        other => ImagingError::Corrupt(other.to_string()),
    }
}
