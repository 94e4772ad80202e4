//! imaging: originals in, renditions out.
//!
//! Owns everything between the bytes of a camera JPEG and the bytes of a published
//! rendition: reading headers and EXIF ([`probe`]), decoding with size limits, resizing,
//! applying EXIF orientation, encoding, and deciding which metadata a published copy
//! keeps ([`MetadataPolicy`]).
//!
//! It is pure: bytes in, bytes out. It must not touch files, the network, the journal,
//! clocks for policy, or threads of its own; which shots to render, when, and where the
//! results go belong to the agent.

mod container;
mod decode;
mod encode;
mod error;
mod facts;
mod metadata;
mod orient;
mod pixels;
mod recipe;
mod render;
mod resize;

pub use decode::{MAX_EDGE, MAX_PIXELS};
pub use error::ImagingError;
pub use facts::{probe, Facts};
pub use recipe::{MetadataPolicy, Recipe};
pub use render::{render, Rendition};
