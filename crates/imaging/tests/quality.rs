//! The fast path (DCT-scaled decode, per-plane resize from the crop box, rotation of the
//! small result) against a slow reference (full decode, full-frame rotation, float
//! Lanczos3), compared before encoding: SSIM must stay ≥ 0.99 for every orientation,
//! crop and DCT scale.

mod common;

use common::shot;
use imaging::quality::{reference_luma, ssim};
use imaging::{render_luma, Crop, Recipe};

fn check(jpeg: &[u8], crop: Crop, long_edge: u32) -> f64 {
    let recipe = Recipe {
        crop,
        long_edge,
        ..Recipe::web()
    };
    let fast = render_luma(jpeg, &recipe).unwrap();
    let slow = reference_luma(jpeg, &recipe).unwrap();
    assert_eq!((fast.width, fast.height), (slow.width, slow.height));
    ssim(&fast, &slow)
}

#[test]
fn fast_path_matches_reference_for_every_orientation_and_crop() {
    let mut worst = 1.0f64;
    for orientation in 1..=8u16 {
        let jpeg = shot(40 + u32::from(orientation), 1800, 1200, orientation, None);
        for crop in [
            Crop::None,
            Crop::Aspect { w: 4, h: 5 },
            Crop::Aspect { w: 16, h: 9 },
        ] {
            // 1/1, 1/2, 1/4 and 1/8 DCT scales.
            for long_edge in [1000, 900, 700, 450, 400, 200] {
                let s = check(&jpeg, crop, long_edge);
                eprintln!("orientation {orientation} crop {crop} {long_edge}px: SSIM {s:.4}");
                worst = worst.min(s);
                assert!(
                    s >= 0.99,
                    "orientation {orientation}, crop {crop}, {long_edge}px: SSIM {s:.4}"
                );
            }
        }
    }
    eprintln!("worst SSIM {worst:.4}");
}
