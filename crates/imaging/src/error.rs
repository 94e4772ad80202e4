//! The one error type of the crate.

/// Why an original could not be probed or rendered. Every hostile or damaged input ends
/// here rather than in a panic.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    #[error("not a JPEG file (no SOI marker)")]
    NotJpeg,
    #[error("JPEG data ends early (truncated file)")]
    Truncated,
    #[error("corrupt JPEG: {0}")]
    Corrupt(String),
    #[error("image of {width}x{height} exceeds the pixel limit")]
    TooLarge { width: u32, height: u32 },
    #[error("unsupported JPEG: {0}")]
    Unsupported(String),
    #[error("encoding failed: {0}")]
    Encode(String),
}
