//! RAW files render from their largest embedded JPEG preview, with the container's
//! orientation. The samples are built here from the published container layouts (a few
//! KB each): TIFF-based (CR2, NEF, ARW, ORF, RW2, DNG), ISO-BMFF (CR3) and RAF.

mod common;

use common::{read_exif, shot};
use imaging::{render, ImagingError, Recipe};

/// A little-endian TIFF: IFD0 (Make, Orientation, a small JPEG thumbnail through
/// JPEGInterchangeFormat, extra entries), one SubIFD holding the large JPEG as a strip
/// with `compression`, then the JPEG bytes.
fn tiff_raw(
    magic: &[u8; 4],
    make: &str,
    orientation: u16,
    extra: &[(u16, u16, u32, u32)],
    compression: u16,
    small: &[u8],
    large: &[u8],
) -> Vec<u8> {
    let mut entries: Vec<(u16, u16, u32, u32)> = Vec::new();
    let ifd0_at = 8u32;
    let n0 = 6 + extra.len() as u32;
    let ifd0_len = 2 + n0 * 12 + 4;
    let sub_at = ifd0_at + ifd0_len;
    let sub_len = 2 + 3 * 12 + 4;
    let make_at = sub_at + sub_len;
    let make_bytes = format!("{make}\0");
    let small_at = make_at + make_bytes.len() as u32;
    let large_at = small_at + small.len() as u32;
    entries.push((0x010F, 2, make_bytes.len() as u32, make_at));
    entries.push((0x0112, 3, 1, u32::from(orientation)));
    entries.push((0x014A, 4, 1, sub_at));
    entries.push((0x0201, 4, 1, small_at));
    entries.push((0x0202, 4, 1, small.len() as u32));
    entries.push((0x0103, 3, 1, 1));
    entries.extend_from_slice(extra);
    entries.sort_by_key(|e| e.0);

    let mut out = magic.to_vec();
    out.extend(ifd0_at.to_le_bytes());
    let push_ifd = |out: &mut Vec<u8>, entries: &[(u16, u16, u32, u32)]| {
        out.extend((entries.len() as u16).to_le_bytes());
        for &(tag, kind, count, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            if kind == 3 && count == 1 {
                out.extend((value as u16).to_le_bytes());
                out.extend([0, 0]);
            } else {
                out.extend(value.to_le_bytes());
            }
        }
        out.extend(0u32.to_le_bytes());
    };
    push_ifd(&mut out, &entries);
    assert_eq!(out.len() as u32, sub_at);
    push_ifd(
        &mut out,
        &[
            (0x0103, 3, 1, u32::from(compression)),
            (0x0111, 4, 1, large_at),
            (0x0117, 4, 1, large.len() as u32),
        ],
    );
    out.extend(make_bytes.as_bytes());
    out.extend(small);
    out.extend(large);
    out
}

fn previews() -> (Vec<u8>, Vec<u8>) {
    (shot(61, 96, 64, 1, None), shot(62, 320, 240, 1, None))
}

fn web() -> Recipe {
    Recipe {
        long_edge: 400,
        ..Recipe::web()
    }
}

#[test]
fn tiff_based_raws_use_the_largest_preview_and_their_orientation() {
    let (small, large) = previews();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "CR2",
            tiff_raw(b"II*\0", "Canon", 6, &[], 6, &small, &large),
        ),
        (
            "NEF",
            tiff_raw(b"II*\0", "NIKON CORPORATION", 6, &[], 6, &small, &large),
        ),
        ("ARW", tiff_raw(b"II*\0", "SONY", 6, &[], 6, &small, &large)),
        (
            "ORF",
            tiff_raw(b"IIRO", "OLYMPUS", 6, &[], 6, &small, &large),
        ),
        // DNGVersion 1.4.0.0 as four inline bytes; its preview is JPEG-compressed (7).
        (
            "DNG",
            tiff_raw(
                b"II*\0",
                "Leica",
                6,
                &[(0xC612, 1, 4, 0x0000_0401)],
                7,
                &small,
                &large,
            ),
        ),
    ];
    for (name, file) in cases {
        assert!(file.len() < 64 * 1024, "{name} sample is small");
        let out = render(&file, &web()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // 320×240 stored, orientation 6: upright portrait (never upscaled).
        assert_eq!((out.width, out.height), (240, 320), "{name}");
        assert_eq!(out.stats.source, name);
    }
}

#[test]
fn rw2_uses_jpg_from_raw() {
    let (_, large) = previews();
    // Panasonic: magic 0x55 and the preview as the value of tag 0x2E (JpgFromRaw).
    let mut file = b"IIU\0".to_vec();
    file.extend(8u32.to_le_bytes());
    let at: u32 = 8 + 2 + 2 * 12 + 4;
    file.extend(2u16.to_le_bytes());
    for (tag, kind, count, value) in [(0x002Eu16, 7u16, large.len() as u32, at), (0x0112, 3, 1, 8)]
    {
        file.extend(tag.to_le_bytes());
        file.extend(kind.to_le_bytes());
        file.extend(count.to_le_bytes());
        file.extend(value.to_le_bytes());
    }
    file.extend(0u32.to_le_bytes());
    file.extend(&large);
    let out = render(&file, &web()).unwrap();
    assert_eq!(
        (out.width, out.height),
        (240, 320),
        "orientation 8 turns it upright"
    );
    assert_eq!(out.stats.source, "RW2");
}

fn bmff(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend(kind);
    b.extend(body);
    b
}

#[test]
fn cr3_uses_the_full_size_track_and_cmt1_orientation() {
    let (small, large) = previews();
    let canon_uuid = [
        0x85, 0xc0, 0xb6, 0x87, 0x82, 0x0f, 0x11, 0xe0, 0x81, 0x11, 0xf4, 0xce, 0x46, 0x2b, 0x6a,
        0x48,
    ];
    let prvw_uuid = [
        0xea, 0xf4, 0x2b, 0x5e, 0x1c, 0x98, 0x4b, 0x88, 0xb9, 0xfb, 0xb7, 0xdc, 0x40, 0x6e, 0x4d,
        0x16,
    ];
    // CMT1: a TIFF IFD0 with Orientation 8.
    let mut cmt1 = b"II*\0".to_vec();
    cmt1.extend(8u32.to_le_bytes());
    cmt1.extend(1u16.to_le_bytes());
    cmt1.extend(0x0112u16.to_le_bytes());
    cmt1.extend(3u16.to_le_bytes());
    cmt1.extend(1u32.to_le_bytes());
    cmt1.extend([8, 0, 0, 0]);
    cmt1.extend(0u32.to_le_bytes());

    let ftyp = bmff(b"ftyp", b"crx \0\0\0\x01crx isom");
    let mut prvw_body = prvw_uuid.to_vec();
    prvw_body.extend(bmff(b"PRVW", &[&[0u8; 16][..], &small].concat()));
    let prvw = bmff(b"uuid", &prvw_body);
    // The moov size does not depend on the chunk offset, so build it twice.
    let moov_with = |offset: u64| {
        let mut uuid_body = canon_uuid.to_vec();
        uuid_body.extend(bmff(b"CMT1", &cmt1));
        let mut stsz = vec![0u8; 4];
        stsz.extend((large.len() as u32).to_be_bytes());
        stsz.extend(1u32.to_be_bytes());
        let mut co64 = vec![0u8; 4];
        co64.extend(1u32.to_be_bytes());
        co64.extend(offset.to_be_bytes());
        let stbl = bmff(
            b"stbl",
            &[bmff(b"stsz", &stsz), bmff(b"co64", &co64)].concat(),
        );
        let trak = bmff(b"trak", &bmff(b"mdia", &bmff(b"minf", &stbl)));
        bmff(b"moov", &[bmff(b"uuid", &uuid_body), trak].concat())
    };
    let head = ftyp.len() + moov_with(0).len() + prvw.len() + 8;
    let file = [ftyp, moov_with(head as u64), prvw, bmff(b"mdat", &large)].concat();
    let out = render(&file, &web()).unwrap();
    assert_eq!((out.width, out.height), (240, 320));
    assert_eq!(out.stats.source, "CR3");
}

#[test]
fn raf_uses_its_preview_with_the_preview_exif() {
    // Orientation 6 inside the preview's own EXIF, GPS to be stripped.
    let jpeg = shot(63, 320, 240, 6, Some((10.0, 20.0)));
    let mut file = b"FUJIFILMCCD-RAW 0201FF383501".to_vec();
    file.resize(84, 0);
    file.extend(100u32.to_be_bytes());
    file.extend((jpeg.len() as u32).to_be_bytes());
    file.resize(100, 0);
    file.extend(&jpeg);
    let out = render(&file, &web()).unwrap();
    assert_eq!((out.width, out.height), (240, 320));
    let exif = read_exif(&out.jpeg).expect("credit tags kept");
    assert!(exif
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .is_none());
}

#[test]
fn raw_without_a_preview_is_a_clear_error() {
    let (small, _) = previews();
    // A NEF whose only "preview" is not a JPEG.
    let file = tiff_raw(b"II*\0", "NIKON", 1, &[], 6, b"not a jpeg", &small[..10]);
    let err = render(&file, &web()).unwrap_err();
    // The thumbnail slot holds garbage too, so nothing is usable.
    assert!(matches!(err, ImagingError::NoRawPreview(_)), "{err}");
    assert!(err.to_string().contains("NEF"), "{err}");
}
