//! An interleaved 8-bit pixel buffer passed between decode, resize, orient and encode.

/// The colour model of the samples. Colour JPEGs stay in YCbCr from decode to encode:
/// resizing is linear, so filtering YCbCr gives the same result as filtering RGB, and it
/// saves a colour conversion each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    Luma,
    YCbCr,
    Rgb,
}

impl Model {
    pub fn channels(self) -> usize {
        match self {
            Model::Luma => 1,
            Model::YCbCr | Model::Rgb => 3,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Pixels {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub model: Model,
}
