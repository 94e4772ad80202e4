//! Damaged and hostile inputs fail with an error, quickly, and never panic.

mod common;

use std::time::{Duration, Instant};

use common::{encode_plain, shot, Lcg};
use imaging::{probe, render, ImagingError, Recipe};
use jpeg_encoder::ColorType;

fn small_jpeg() -> Vec<u8> {
    shot(21, 320, 240, 6, Some((1.0, 2.0)))
}

/// Rewrites the frame size in the first SOF segment.
fn with_frame_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let sof = out
        .windows(2)
        .position(|w| w[0] == 0xFF && matches!(w[1], 0xC0 | 0xC2))
        .unwrap();
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

#[test]
fn empty_and_garbage_are_refused() {
    assert!(matches!(
        render(&[], &Recipe::web()),
        Err(ImagingError::Empty)
    ));
    assert!(matches!(probe(&[]), Err(ImagingError::NotJpeg)));
    assert!(matches!(
        render(b"\x89PNG\r\n\x1a\n", &Recipe::web()),
        Err(ImagingError::Corrupt(_))
    ));
    assert!(matches!(
        render(b"%PDF-1.4 not an image at all", &Recipe::web()),
        Err(ImagingError::NotImage)
    ));
    // HEIC is named, not reported as garbage.
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
    let err = render(heic, &Recipe::web()).unwrap_err();
    assert!(err.to_string().contains("HEIC"), "{err}");
    let mut rng = Lcg(7);
    let random: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    assert!(render(&random, &Recipe::web()).is_err());
    assert!(matches!(
        render(&[0xFF, 0xD8], &Recipe::web()),
        Err(ImagingError::Truncated)
    ));
}

#[test]
fn truncated_files_are_refused() {
    let jpeg = small_jpeg();
    for cut in [
        3,
        20,
        jpeg.len() / 3,
        jpeg.len() / 2,
        jpeg.len() - 2,
        jpeg.len() - 1,
    ] {
        let err = render(&jpeg[..cut], &Recipe::web()).unwrap_err();
        assert!(
            matches!(err, ImagingError::Truncated | ImagingError::Corrupt(_)),
            "cut at {cut}: {err}"
        );
    }
    assert!(matches!(
        render(&jpeg[..jpeg.len() / 2], &Recipe::web()),
        Err(ImagingError::Truncated)
    ));
}

#[test]
fn decompression_bomb_is_refused_before_allocating() {
    let bomb = with_frame_size(&shot(22, 96, 64, 1, None), 60000, 60000);
    assert!(bomb.len() < 20_000);
    let started = Instant::now();
    let err = render(&bomb, &Recipe::web()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::TooLarge {
                width: 60000,
                height: 60000
            }
        ),
        "{err}"
    );
    // probe only reads headers, so it may describe the bomb without harm.
    assert_eq!(probe(&bomb).unwrap().width, 60000);
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "took {:?}",
        started.elapsed()
    );

    // Within the per-edge limit but far over the pixel budget.
    let wide = with_frame_size(&small_jpeg(), 65000, 20000);
    assert!(matches!(
        render(&wide, &Recipe::web()),
        Err(ImagingError::TooLarge { .. })
    ));
    let too_wide = with_frame_size(&small_jpeg(), 65535, 1);
    assert!(matches!(
        render(&too_wide, &Recipe::web()),
        Err(ImagingError::TooLarge { .. })
    ));
}

#[test]
fn mutated_files_never_panic() {
    let jpeg = small_jpeg();
    let mut rng = Lcg(42);
    let recipe = Recipe {
        long_edge: 64,
        ..Recipe::web()
    };
    for round in 0..300 {
        let mut bad = jpeg.clone();
        let flips = 1 + rng.next() % 8;
        for _ in 0..flips {
            // Bias towards the headers, where parsing decisions are made.
            let limit = if round % 2 == 0 {
                1200.min(bad.len())
            } else {
                bad.len()
            };
            let at = (rng.next() as usize) % limit;
            bad[at] = rng.next() as u8;
        }
        let _ = probe(&bad);
        let _ = render(&bad, &recipe);
    }
}

#[test]
fn greyscale_renders() {
    let (w, h) = (200u16, 100u16);
    let grey: Vec<u8> = (0..usize::from(w) * usize::from(h))
        .map(|i| (i % 251) as u8)
        .collect();
    let out = render(
        &encode_plain(&grey, w, h, ColorType::Luma, false),
        &Recipe {
            long_edge: 100,
            ..Recipe::web()
        },
    )
    .unwrap();
    assert_eq!((out.width, out.height), (100, 50));
    let facts = probe(&out.jpeg).unwrap();
    assert_eq!((facts.width, facts.height), (100, 50));
}

#[test]
fn progressive_renders() {
    let rgb = vec![128u8; 160 * 120 * 3];
    let out = render(
        &encode_plain(&rgb, 160, 120, ColorType::Rgb, true),
        &Recipe {
            long_edge: 80,
            ..Recipe::web()
        },
    )
    .unwrap();
    assert_eq!((out.width, out.height), (80, 60));
}

#[test]
fn cmyk_renders() {
    let cmyk = vec![30u8; 64 * 64 * 4];
    let out = render(
        &encode_plain(&cmyk, 64, 64, ColorType::Cmyk, false),
        &Recipe::web(),
    )
    .unwrap();
    assert_eq!((out.width, out.height), (64, 64));
}

/// The known gap of the first version: a header claiming 14000×14000 over a few KB of
/// data decoded to ~590 MB of grey. Now the missing data is an error, and a recipe that
/// would need the full frame is refused by the memory budget before allocating.
#[test]
fn big_frame_with_little_data_is_refused_within_budget() {
    let liar = with_frame_size(&shot(23, 96, 64, 1, None), 14000, 14000);
    let started = Instant::now();
    let err = render(&liar, &Recipe::web()).unwrap_err();
    assert!(
        matches!(err, ImagingError::Truncated | ImagingError::Corrupt(_)),
        "{err}"
    );
    let huge = Recipe {
        long_edge: 14000,
        ..Recipe::web()
    };
    let err = render(&liar, &huge).unwrap_err();
    assert!(matches!(err, ImagingError::OverBudget { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn zero_long_edge_is_refused() {
    let err = render(
        &small_jpeg(),
        &Recipe {
            long_edge: 0,
            ..Recipe::web()
        },
    )
    .unwrap_err();
    assert!(matches!(err, ImagingError::Unsupported(_)));
}
