//! Published copies keep the credit and capture time and nothing private.

mod common;

use common::{ascii, read_exif, shot};
use exif::{Context, In, Tag};
use imaging::{probe, render, MetadataPolicy, Recipe};

const BERLIN: Option<(f64, f64)> = Some((52.516_275, 13.377_704));

#[test]
fn strip_private_keeps_credit_and_time_and_drops_gps_and_serial() {
    let original = shot(11, 1200, 800, 6, BERLIN);
    let source = read_exif(&original).unwrap();
    assert!(
        source.fields().any(|f| f.tag.context() == Context::Gps),
        "fixture must carry GPS"
    );

    let out = render(
        &original,
        &Recipe {
            long_edge: 400,
            quality: 80,
            metadata: MetadataPolicy::StripPrivate,
            ..Recipe::web()
        },
    )
    .unwrap();
    let exif = read_exif(&out.jpeg).expect("StripPrivate rendition carries EXIF");

    assert!(
        !exif.fields().any(|f| f.tag.context() == Context::Gps),
        "no GPS tag may survive"
    );
    assert!(exif
        .get_field(Tag::GPSInfoIFDPointer, In::PRIMARY)
        .is_none());
    assert!(exif.get_field(Tag::BodySerialNumber, In::PRIMARY).is_none());
    assert!(exif.get_field(Tag::MakerNote, In::PRIMARY).is_none());
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0));
    assert!(
        matches!(orientation, None | Some(1)),
        "orientation {orientation:?}"
    );

    for tag in [
        Tag::Make,
        Tag::Model,
        Tag::Artist,
        Tag::Copyright,
        Tag::DateTimeOriginal,
        Tag::SubSecTimeOriginal,
        Tag::OffsetTimeOriginal,
    ] {
        assert_eq!(ascii(&exif, tag), ascii(&source, tag), "{tag}");
        assert!(ascii(&exif, tag).is_some(), "{tag} kept");
    }
    // Nothing beyond the allow-list (plus Orientation, the Exif version/pointer and the
    // rendition's own pixel size).
    for f in exif.fields() {
        assert!(
            matches!(
                f.tag,
                Tag::Make
                    | Tag::Model
                    | Tag::Artist
                    | Tag::Copyright
                    | Tag::DateTimeOriginal
                    | Tag::SubSecTimeOriginal
                    | Tag::OffsetTimeOriginal
                    | Tag::Orientation
                    | Tag::ExifVersion
                    | Tag::ExifIFDPointer
                    | Tag::PixelXDimension
                    | Tag::PixelYDimension
            ),
            "unexpected tag {} survived",
            f.tag
        );
    }

    let facts = probe(&out.jpeg).unwrap();
    assert!(!facts.has_gps);
    assert_eq!(facts.orientation, 1);
    assert_eq!(facts.serial, None);
    assert_eq!(
        facts.captured_at.as_deref(),
        Some("2024-06-01T14:03:22.123+02:00")
    );
    assert_eq!((facts.width, facts.height), (267, 400));
}

#[test]
fn strip_all_writes_no_exif() {
    let original = shot(12, 1200, 800, 8, BERLIN);
    let out = render(
        &original,
        &Recipe {
            metadata: MetadataPolicy::StripAll,
            ..Recipe::web()
        },
    )
    .unwrap();
    assert!(read_exif(&out.jpeg).is_none());
    assert!(!out.jpeg.windows(6).any(|w| w == b"Exif\0\0"));
    let facts = probe(&out.jpeg).unwrap();
    assert_eq!(
        (facts.orientation, facts.has_gps, facts.make),
        (1, false, None)
    );
}

#[test]
fn original_without_exif_renders_without_exif() {
    let plain = common::encode_plain(
        &[90u8; 64 * 48 * 3],
        64,
        48,
        jpeg_encoder::ColorType::Rgb,
        false,
    );
    let out = render(&plain, &Recipe::web()).unwrap();
    assert_eq!((out.width, out.height), (64, 48));
    assert!(read_exif(&out.jpeg).is_none());
}

#[test]
fn recipe_presets() {
    assert_eq!(Recipe::default(), Recipe::web());
    assert_eq!(
        Recipe::web(),
        Recipe {
            long_edge: 2048,
            quality: 82,
            metadata: MetadataPolicy::StripPrivate,
            ..Recipe::web()
        }
    );
    assert_eq!(
        Recipe::thumbnail(),
        Recipe {
            long_edge: 480,
            quality: 75,
            metadata: MetadataPolicy::StripAll,
            ..Recipe::web()
        }
    );
}
