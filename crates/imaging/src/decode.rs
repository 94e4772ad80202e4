//! Size limits on originals, checked on headers before any allocation sized by the image.

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
