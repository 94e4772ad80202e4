//! What a rendition should look like: size, quality and which metadata survives.

use serde::{Deserialize, Serialize};

/// How to turn an original into one rendition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recipe {
    /// Long edge of the oriented output in pixels; smaller originals are never upscaled.
    pub long_edge: u32,
    /// JPEG quality 1–100.
    pub quality: u8,
    pub metadata: MetadataPolicy,
}

impl Recipe {
    /// The gallery's web preview: 2048 px long edge, q82, private tags stripped.
    pub fn web() -> Recipe {
        Recipe {
            long_edge: 2048,
            quality: 82,
            metadata: MetadataPolicy::StripPrivate,
        }
    }

    /// A grid thumbnail: 480 px long edge, q75, no metadata at all (bytes matter more).
    pub fn thumbnail() -> Recipe {
        Recipe {
            long_edge: 480,
            quality: 75,
            metadata: MetadataPolicy::StripAll,
        }
    }
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe::web()
    }
}

/// Which EXIF survives into a published copy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum MetadataPolicy {
    /// No EXIF at all.
    StripAll,
    /// Keep make, model, capture time (DateTimeOriginal, SubSecTimeOriginal,
    /// OffsetTimeOriginal), artist and copyright; drop GPS, serial numbers, maker notes and
    /// everything else. Orientation is written as 1 since the pixels are already upright.
    StripPrivate,
}
