//! Golden checks of the recipe: crop presets (sizes and pixels at known points, in the
//! upright frame for every orientation), metadata policies and credits, byte targets,
//! watermark, sharpening, and PNG/TIFF inputs.

mod common;

use common::{ascii, decode_rgb, encode_with_orientation, read_exif, shot};
use exif::{In, Tag};
use imaging::{render, Credits, Crop, MetadataPolicy, Recipe, Watermark};

const RED: [u8; 3] = [230, 20, 20];
const GREEN: [u8; 3] = [20, 230, 20];
const BLUE: [u8; 3] = [20, 20, 230];

/// An upright 600×400 picture: red, green and blue vertical thirds, stored per
/// `orientation` (so a viewer applying the tag sees the upright picture).
fn thirds(orientation: u16) -> Vec<u8> {
    let (uw, uh) = (600usize, 400usize);
    let colour = |x: usize| match x * 3 / uw {
        0 => RED,
        1 => GREEN,
        _ => BLUE,
    };
    let (sw, sh) = if orientation >= 5 { (uh, uw) } else { (uw, uh) };
    let mut rgb = vec![0u8; sw * sh * 3];
    for sy in 0..sh {
        for sx in 0..sw {
            // The upright position this stored pixel shows at (inverse of the tag).
            let (ux, _uy) = match orientation {
                2 => (sw - 1 - sx, sy),
                3 => (sw - 1 - sx, sh - 1 - sy),
                4 => (sx, sh - 1 - sy),
                5 => (sy, sx),
                6 => (sh - 1 - sy, sx),
                7 => (sh - 1 - sy, sw - 1 - sx),
                8 => (sy, sw - 1 - sx),
                _ => (sx, sy),
            };
            rgb[(sy * sw + sx) * 3..][..3].copy_from_slice(&colour(ux));
        }
    }
    encode_with_orientation(&rgb, sw, sh, orientation)
}

fn near(px: &[u8], want: [u8; 3]) -> bool {
    px.iter().zip(want).all(|(&a, b)| a.abs_diff(b) < 40)
}

#[test]
fn crop_presets_have_exact_sizes() {
    let jpeg = thirds(1);
    for (preset, size) in [
        ("3:2", (600, 400)),
        ("2:3", (267, 400)),
        ("4:5", (320, 400)),
        ("5:4", (500, 400)),
        ("1:1", (400, 400)),
        ("16:9", (600, 338)),
        ("9:16", (225, 400)),
    ] {
        let recipe = Recipe {
            crop: preset.parse().unwrap(),
            long_edge: 1000,
            ..Recipe::web()
        };
        let out = render(&jpeg, &recipe).unwrap();
        assert_eq!((out.width, out.height), size, "{preset}");
    }
    // Presets are in the list the UI offers.
    assert!(Crop::PRESETS.contains(&"4:5"));
}

#[test]
fn square_crop_is_taken_from_the_upright_frame_for_every_orientation() {
    for orientation in 1..=8 {
        let recipe = Recipe {
            crop: Crop::Aspect { w: 1, h: 1 },
            long_edge: 400,
            ..Recipe::web()
        };
        let out = render(&thirds(orientation), &recipe).unwrap();
        assert_eq!(
            (out.width, out.height),
            (400, 400),
            "orientation {orientation}"
        );
        let (rgb, w, _) = decode_rgb(&out.jpeg);
        let at = |x: usize, y: usize| &rgb[(y * w + x) * 3..][..3];
        // Centre crop of x 100..500: red until 200, green to 400, blue after.
        assert!(
            near(at(40, 200), RED),
            "orientation {orientation}: {:?}",
            at(40, 200)
        );
        assert!(near(at(200, 200), GREEN), "orientation {orientation}");
        assert!(near(at(360, 200), BLUE), "orientation {orientation}");
        // No tag (these originals carry nothing else) or an explicit 1: never the old value.
        let o = read_exif(&out.jpeg).and_then(|e| {
            e.get_field(Tag::Orientation, In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
        });
        assert!(matches!(o, None | Some(1)), "orientation tag reset: {o:?}");
    }
}

#[test]
fn thirds_anchor_and_box_crop() {
    let jpeg = thirds(1);
    let left = Recipe {
        crop: "1:1".parse().unwrap(),
        anchor: "left-third".parse().unwrap(),
        long_edge: 400,
        ..Recipe::web()
    };
    let out = render(&jpeg, &left).unwrap();
    let (rgb, w, _) = decode_rgb(&out.jpeg);
    // Crop centred on x = 200, clamped to x 0..400: red half, green half.
    assert!(near(&rgb[(200 * w + 100) * 3..][..3], RED));
    assert!(near(&rgb[(200 * w + 300) * 3..][..3], GREEN));

    let boxed = Recipe {
        crop: "box:0.7,0.25,0.3,0.5".parse().unwrap(),
        long_edge: 1000,
        ..Recipe::web()
    };
    let out = render(&jpeg, &boxed).unwrap();
    assert_eq!((out.width, out.height), (180, 200));
    let (rgb, _, _) = decode_rgb(&out.jpeg);
    assert!(near(&rgb[(100 * 180 + 90) * 3..][..3], BLUE));
    assert!(
        "box:0.9,0,0.5,1".parse::<Crop>().is_err(),
        "box outside the frame"
    );
}

#[test]
fn metadata_policies_and_credits() {
    let jpeg = shot(71, 640, 480, 1, Some((48.85, 2.29)));
    let credits = Credits {
        artist: Some("Ana Photo".into()),
        copyright: Some("(c) 2025 Ana Photo".into()),
        credit: Some("Ana Photo Studio".into()),
        caption: Some("First dance".into()),
    };
    let run = |metadata| {
        let r = Recipe {
            metadata,
            credits: credits.clone(),
            long_edge: 320,
            ..Recipe::web()
        };
        render(&jpeg, &r).unwrap().jpeg
    };
    let gps = |e: &exif::Exif| e.fields().any(|f| f.tag == Tag::GPSLatitude);

    let strip_gps = run(MetadataPolicy::KeepExceptPrivate);
    let e = read_exif(&strip_gps).unwrap();
    assert!(!gps(&e), "GPS gone");
    assert!(
        e.get_field(Tag::BodySerialNumber, In::PRIMARY).is_none(),
        "serial gone"
    );
    assert_eq!(ascii(&e, Tag::Copyright).unwrap(), "(c) 2025 Ana Photo");
    assert_eq!(ascii(&e, Tag::Artist).unwrap(), "Ana Photo");
    assert_eq!(ascii(&e, Tag::ImageDescription).unwrap(), "First dance");
    assert!(
        ascii(&e, Tag::DateTimeOriginal).is_some(),
        "the rest is kept"
    );
    let xmp = String::from_utf8_lossy(&strip_gps);
    assert!(xmp.contains("<photoshop:Credit>Ana Photo Studio</photoshop:Credit>"));

    let keep = read_exif(&run(MetadataPolicy::Keep)).unwrap();
    assert!(gps(&keep), "keep keeps GPS");

    assert!(read_exif(&run(MetadataPolicy::StripAll)).is_none());
    assert!(!String::from_utf8_lossy(&run(MetadataPolicy::StripAll)).contains("Ana Photo"));
}

#[test]
fn byte_target_lowers_quality() {
    let jpeg = shot(72, 1200, 800, 1, None);
    let free = render(
        &jpeg,
        &Recipe {
            long_edge: 800,
            quality: 92,
            ..Recipe::web()
        },
    )
    .unwrap();
    let target = (free.jpeg.len() / 2) as u32;
    let fitted = render(
        &jpeg,
        &Recipe {
            long_edge: 800,
            quality: 92,
            target_bytes: Some(target),
            ..Recipe::web()
        },
    )
    .unwrap();
    assert!(
        fitted.jpeg.len() <= target as usize,
        "{} > {target}",
        fitted.jpeg.len()
    );
    assert!(fitted.quality < 92 && fitted.quality >= 40);
}

fn png(width: u32, height: u32, rgba: &[u8], sixteen: bool) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    if sixteen {
        let wide: Vec<u8> = rgba
            .iter()
            .flat_map(|&v| (u16::from(v) * 257).to_be_bytes())
            .collect();
        enc.write_image(&wide, width, height, image::ExtendedColorType::Rgba16)
            .unwrap();
    } else {
        enc.write_image(rgba, width, height, image::ExtendedColorType::Rgba8)
            .unwrap();
    }
    out
}

#[test]
fn watermark_is_drawn_in_its_corner() {
    let jpeg = thirds(1);
    // An opaque white 40×20 logo.
    let logo = png(40, 20, &[255u8; 40 * 20 * 4], false);
    let mut mark = Watermark::new(logo);
    mark.opacity = 1.0;
    mark.scale = 0.25;
    mark.margin = 0.05;
    let out = render(
        &jpeg,
        &Recipe {
            long_edge: 600,
            watermark: Some(mark),
            ..Recipe::web()
        },
    )
    .unwrap();
    let (rgb, w, _) = decode_rgb(&out.jpeg);
    // 150×75 logo, 20 px from the bottom-right corner of 600×400: x 430..580, y 305..380.
    assert!(near(&rgb[(340 * w + 500) * 3..][..3], [255, 255, 255]));
    assert!(
        near(&rgb[(200 * w + 500) * 3..][..3], BLUE),
        "outside the logo"
    );
}

#[test]
fn sharpening_keeps_size_and_adds_contrast() {
    let jpeg = shot(73, 1200, 800, 1, None);
    let plain = imaging::render_luma(
        &jpeg,
        &Recipe {
            long_edge: 600,
            ..Recipe::web()
        },
    )
    .unwrap();
    let sharp = imaging::render_luma(
        &jpeg,
        &Recipe {
            long_edge: 600,
            sharpen: 0.5,
            ..Recipe::web()
        },
    )
    .unwrap();
    assert_eq!((plain.width, plain.height), (sharp.width, sharp.height));
    let energy = |l: &imaging::quality::Luma| -> u64 {
        l.data
            .windows(2)
            .map(|w| u64::from(w[0].abs_diff(w[1])))
            .sum()
    };
    assert!(energy(&sharp) > energy(&plain));
}

#[test]
fn sixteen_bit_png_and_tiff_render() {
    let (w, h) = (300u32, 200u32);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| [(i % 256) as u8, 128, 64, 255])
        .collect();
    let out = render(
        &png(w, h, &rgba, true),
        &Recipe {
            long_edge: 150,
            ..Recipe::web()
        },
    )
    .unwrap();
    assert_eq!((out.width, out.height), (150, 100));
    assert_eq!(out.stats.source, "png");

    let mut tiff = std::io::Cursor::new(Vec::new());
    let rgb16: Vec<u16> = (0..w * h)
        .flat_map(|i| [(i % 65536) as u16, 30000, 60000])
        .collect();
    let bytes: Vec<u8> = rgb16.iter().flat_map(|v| v.to_ne_bytes()).collect();
    image::ImageEncoder::write_image(
        image::codecs::tiff::TiffEncoder::new(&mut tiff),
        &bytes,
        w,
        h,
        image::ExtendedColorType::Rgb16,
    )
    .unwrap();
    let out = render(
        &tiff.into_inner(),
        &Recipe {
            long_edge: 150,
            ..Recipe::web()
        },
    )
    .unwrap();
    assert_eq!((out.width, out.height), (150, 100));
    assert_eq!(out.stats.source, "tiff");
}
