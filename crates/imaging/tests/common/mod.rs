//! Helpers shared by the integration tests: camsim shots, synthetic JPEGs, EXIF readers.
#![allow(dead_code)]

use camsim::scene::{render_shot, ShotSpec};
use exif::experimental::Writer;
use exif::{Exif, Field, In, Value};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

pub fn spec(width: u32, height: u32, orientation: u16, gps: Option<(f64, f64)>) -> ShotSpec {
    ShotSpec {
        width,
        height,
        make: "Nikon".into(),
        model: "NIKON Z 6_2".into(),
        serial: "6012345".into(),
        captured_at: time::macros::datetime!(2024-06-01 14:03:22.123 +02:00),
        orientation,
        gps,
        quality: 90,
    }
}

pub fn shot(
    seq: u32,
    width: u32,
    height: u32,
    orientation: u16,
    gps: Option<(f64, f64)>,
) -> Vec<u8> {
    render_shot(seq, &spec(width, height, orientation, gps))
}

/// EXIF of a JPEG, or `None` if it carries none.
pub fn read_exif(jpeg: &[u8]) -> Option<Exif> {
    exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(jpeg))
        .ok()
}

pub fn ascii(exif: &Exif, tag: exif::Tag) -> Option<String> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => Some(String::from_utf8_lossy(&v[0]).into_owned()),
        _ => None,
    }
}

/// Decodes to interleaved RGB: (pixels, width, height).
pub fn decode_rgb(jpeg: &[u8]) -> (Vec<u8>, usize, usize) {
    let opts = DecoderOptions::new_fast().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut d = JpegDecoder::new_with_options(ZCursor::new(jpeg), opts);
    let px = d.decode().expect("rendition decodes");
    let info = d.info().unwrap();
    (px, usize::from(info.width), usize::from(info.height))
}

/// Encodes RGB pixels at q95 4:4:4 (no chroma bleed between test patches) with an EXIF
/// block holding only Orientation.
pub fn encode_with_orientation(rgb: &[u8], w: usize, h: usize, orientation: u16) -> Vec<u8> {
    encode_oriented(rgb, w, h, orientation, SamplingFactor::F_1_1)
}

/// `encode_with_orientation` with another chroma subsampling.
pub fn encode_oriented(
    rgb: &[u8],
    w: usize,
    h: usize,
    orientation: u16,
    sampling: SamplingFactor,
) -> Vec<u8> {
    let field = Field {
        tag: exif::Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![orientation]),
    };
    let mut writer = Writer::new();
    writer.push_field(&field);
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, true).unwrap();

    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 95);
    enc.set_sampling_factor(sampling);
    enc.add_exif_metadata(&tiff.into_inner()).unwrap();
    enc.encode(rgb, w as u16, h as u16, ColorType::Rgb).unwrap();
    out
}

/// A plain JPEG of the given colour type with no EXIF.
pub fn encode_plain(data: &[u8], w: u16, h: u16, colour: ColorType, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 85);
    enc.set_progressive(progressive);
    enc.encode(data, w, h, colour).unwrap();
    out
}

/// Small deterministic generator for mutation tests.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// The marker segments before the first SOS as (marker, body), read with bounds checks so a
/// malformed rendition fails the test instead of panicking on a slice.
pub fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert!(jpeg.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    let mut out = Vec::new();
    let mut pos = 2;
    loop {
        assert_eq!(jpeg.get(pos), Some(&0xFF), "marker expected at {pos}");
        let marker = *jpeg.get(pos + 1).expect("marker byte");
        if marker == 0xDA {
            return out;
        }
        let len = jpeg
            .get(pos + 2..pos + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .expect("segment length");
        assert!(len >= 2, "segment length {len}");
        let body = jpeg.get(pos + 4..pos + 2 + len).expect("segment body");
        out.push((marker, body.to_vec()));
        pos += 2 + len;
    }
}

/// The ICC profile of a JPEG (APP2 `ICC_PROFILE` chunks in sequence order), if any.
pub fn icc_profile(jpeg: &[u8]) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, Vec<u8>)> = segments(jpeg)
        .into_iter()
        .filter(|(m, b)| *m == 0xE2 && b.starts_with(b"ICC_PROFILE\0") && b.len() > 14)
        .map(|(_, b)| (b[12], b[14..].to_vec()))
        .collect();
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    Some(chunks.into_iter().flat_map(|c| c.1).collect())
}
