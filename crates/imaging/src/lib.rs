//! imaging: originals in, renditions out.
//!
//! Owns everything between the bytes of an original (camera JPEG, RAW with an embedded
//! preview, PNG, TIFF) and the bytes of a published rendition: reading headers and EXIF
//! ([`probe`]), decoding at reduced DCT scale with memory limits, cropping, resizing,
//! orienting, sharpening, watermarking, encoding, and deciding which metadata a published
//! copy keeps ([`MetadataPolicy`]).
//!
//! It is pure: bytes in, bytes out. It must not touch files, the network, the journal,
//! clocks for policy, or threads of its own; which shots to render, when, and where the
//! results go belong to the agent (and `hotshoe process`, which runs a worker pool).

mod colour;
mod container;
mod decode;
mod error;
mod facts;
mod geometry;
mod metadata;
mod orient;
mod pixels;
mod planes;
pub mod quality;
mod raw;
mod rawcrop;
mod recipe;
mod render;
mod sharpen;
mod source;
mod tj;
mod watermark;

pub use decode::{MAX_EDGE, MAX_PIXELS};
pub use error::ImagingError;
pub use facts::{probe, Facts};
pub use recipe::{
    Anchor, BoxSize, ColourPolicy, Credits, Crop, MetadataPolicy, Position, Recipe, Watermark,
};
pub use render::{
    render, render_luma, render_ycc, Rendition, Stats, CODEC_MEMORY_MIB, DECODE_BUDGET_BYTES,
};
