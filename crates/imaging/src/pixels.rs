//! An interleaved 8-bit pixel buffer passed between decode, resize, orient and encode.

/// The colour model of the samples (the reference path in `quality` uses luma only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    Luma,
}

impl Model {
    pub fn channels(self) -> usize {
        match self {
            Model::Luma => 1,
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
