//! The one error type of the crate.

/// Why an original could not be probed or rendered. Every hostile or damaged input ends
/// here rather than in a panic.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not a JPEG file (no SOI marker)")]
    NotJpeg,
    #[error("not an image Hotshoe reads (JPEG, PNG, TIFF, or a CR2/CR3/NEF/ARW/RAF/ORF/RW2/DNG camera RAW)")]
    NotImage,
    #[error("{0} files are not supported")]
    UnsupportedFormat(String),
    #[error("JPEG data ends early (truncated file)")]
    Truncated,
    #[error("corrupt image: {0}")]
    Corrupt(String),
    #[error("image of {width}x{height} exceeds the pixel limit")]
    TooLarge { width: u32, height: u32 },
    #[error("decoding needs {needed_mib} MiB, over the {budget_mib} MiB memory budget per image")]
    OverBudget { needed_mib: u64, budget_mib: u64 },
    #[error("unsupported JPEG: {0}")]
    Unsupported(String),
    #[error("RAW file has no usable embedded JPEG preview: {0}")]
    NoRawPreview(String),
    #[error("colour profile: {0}")]
    Colour(String),
    #[error("watermark: {0}")]
    Watermark(String),
    #[error("bad recipe: {0}")]
    Recipe(String),
    #[error("JPEG codec: {0}")]
    Codec(String),
    #[error("encoding failed: {0}")]
    Encode(String),
}
