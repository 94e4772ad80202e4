//! The EXIF/metadata path: the fuzzer's bytes become the TIFF block of an APP1 segment in
//! front of a small valid JPEG, which is probed and rendered under every metadata policy
//! (so the EXIF reader, the tag filters and the EXIF/XMP writer all see it).
#![no_main]

use imaging::{Credits, MetadataPolicy, Recipe};
use libfuzzer_sys::fuzz_target;

/// A 16×16 grey baseline JPEG without metadata (SOI stripped; we add our own).
const TAIL: &[u8] = include_bytes!("tiny.jpg");

fuzz_target!(|tiff: &[u8]| {
    let Ok(len) = u16::try_from(tiff.len() + 8) else {
        return;
    };
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
    jpeg.extend(len.to_be_bytes());
    jpeg.extend(b"Exif\0\0");
    jpeg.extend(tiff);
    jpeg.extend(&TAIL[2..]);
    let _ = imaging::probe(&jpeg);
    for metadata in [
        MetadataPolicy::StripPrivate,
        MetadataPolicy::KeepExceptPrivate,
        MetadataPolicy::Keep,
    ] {
        let recipe = Recipe {
            long_edge: 8,
            metadata,
            credits: Credits {
                artist: Some("A & B <fuzz>".into()),
                ..Credits::default()
            },
            ..Recipe::web()
        };
        let _ = imaging::render(&jpeg, &recipe);
    }
});
