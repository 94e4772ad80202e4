//! Renditions come out upright, at the right size, for all eight EXIF orientations.

mod common;

use common::{decode_rgb, encode_with_orientation, shot};
use imaging::{render, MetadataPolicy, Recipe};

fn recipe(long_edge: u32) -> Recipe {
    Recipe {
        long_edge,
        quality: 90,
        metadata: MetadataPolicy::StripPrivate,
        ..Recipe::web()
    }
}

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

/// Upright test card: red top-left, green top-right, blue bottom-left, white bottom-right.
fn card(w: usize, h: usize) -> Vec<u8> {
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(match (x < w / 2, y < h / 2) {
                (true, true) => &RED,
                (false, true) => &GREEN,
                (true, false) => &BLUE,
                (false, false) => &WHITE,
            });
        }
    }
    px
}

/// Primitive pixel moves, written independently of the crate's orientation table.
fn rot_cw(px: &[u8], w: usize, h: usize) -> (Vec<u8>, usize, usize) {
    // New image is h wide, w tall; new (x, y) comes from old (y, h-1-x).
    let mut out = vec![0; px.len()];
    for y in 0..w {
        for x in 0..h {
            let s = ((h - 1 - x) * w + y) * 3;
            let d = (y * h + x) * 3;
            out[d..d + 3].copy_from_slice(&px[s..s + 3]);
        }
    }
    (out, h, w)
}

fn flip_h(px: &[u8], w: usize, h: usize) -> (Vec<u8>, usize, usize) {
    let mut out = vec![0; px.len()];
    for y in 0..h {
        for x in 0..w {
            let s = (y * w + (w - 1 - x)) * 3;
            let d = (y * w + x) * 3;
            out[d..d + 3].copy_from_slice(&px[s..s + 3]);
        }
    }
    (out, w, h)
}

/// How a camera would store an upright picture so that a viewer applying `orientation`
/// shows it upright: the inverse of the display transform in the EXIF specification.
fn to_stored(px: &[u8], w: usize, h: usize, orientation: u16) -> (Vec<u8>, usize, usize) {
    let cw = |(p, w, h): (Vec<u8>, usize, usize)| rot_cw(&p, w, h);
    let fh = |(p, w, h): (Vec<u8>, usize, usize)| flip_h(&p, w, h);
    let id = (px.to_vec(), w, h);
    match orientation {
        1 => id,
        2 => fh(id),             // shown mirrored
        3 => cw(cw(id)),         // shown rotated 180°
        4 => fh(cw(cw(id))),     // shown flipped vertically
        5 => fh(cw(id)),         // shown transposed
        6 => cw(cw(cw(id))),     // shown after a 90° clockwise turn: stored 90° anticlockwise
        7 => fh(cw(cw(cw(id)))), // shown transversed
        8 => cw(id),             // shown after a 90° anticlockwise turn
        _ => unreachable!(),
    }
}

fn nearest(px: &[u8]) -> [u8; 3] {
    let dist = |c: &[u8; 3]| {
        (0..3)
            .map(|k| (i32::from(px[k]) - i32::from(c[k])).pow(2))
            .sum::<i32>()
    };
    *[RED, GREEN, BLUE, WHITE]
        .iter()
        .min_by_key(|c| dist(c))
        .unwrap()
}

#[test]
fn test_card_is_upright_for_every_orientation() {
    let (w, h) = (96, 64);
    let upright = card(w, h);
    for orientation in 1..=8u16 {
        let (stored, sw, sh) = to_stored(&upright, w, h, orientation);
        let original = encode_with_orientation(&stored, sw, sh, orientation);
        let facts = imaging::probe(&original).unwrap();
        assert_eq!(facts.orientation, orientation);
        assert_eq!(facts.oriented_size(), (w as u32, h as u32));

        let out = render(&original, &recipe(48)).unwrap();
        assert_eq!(
            (out.width, out.height),
            (48, 32),
            "orientation {orientation}"
        );
        let (px, ow, oh) = decode_rgb(&out.jpeg);
        assert_eq!((ow, oh), (48, 32));
        let at = |x: usize, y: usize| nearest(&px[(y * ow + x) * 3..(y * ow + x) * 3 + 3]);
        let got = [
            at(ow / 4, oh / 4),
            at(3 * ow / 4, oh / 4),
            at(ow / 4, 3 * oh / 4),
            at(3 * ow / 4, 3 * oh / 4),
        ];
        assert_eq!(
            got,
            [RED, GREEN, BLUE, WHITE],
            "orientation {orientation}: quadrants TL, TR, BL, BR"
        );
    }
}

fn mean_rgb(px: &[u8], w: usize, rows: std::ops::Range<usize>) -> [f64; 3] {
    let mut sum = [0f64; 3];
    let n = (rows.len() * w) as f64;
    for y in rows {
        for p in px[y * w * 3..(y + 1) * w * 3].chunks_exact(3) {
            for k in 0..3 {
                sum[k] += f64::from(p[k]);
            }
        }
    }
    sum.map(|s| s / n)
}

#[test]
fn camsim_shots_are_upright_and_sized_for_every_orientation() {
    for orientation in 1..=8u16 {
        // Stored 1200x800 like a sensor; 5–8 are portrait once turned.
        let original = shot(orientation.into(), 1200, 800, orientation, None);
        let out = render(&original, &recipe(400)).unwrap();
        let expect = if orientation >= 5 {
            (267, 400)
        } else {
            (400, 267)
        };
        assert_eq!((out.width, out.height), expect, "orientation {orientation}");

        let (px, w, h) = decode_rgb(&out.jpeg);
        assert_eq!((w as u32, h as u32), expect);
        // Sky on top, ground at the bottom, whichever way the camera was held.
        let top = mean_rgb(&px, w, 0..h / 10);
        let bottom = mean_rgb(&px, w, h - h / 10..h);
        assert!(
            top[2] > top[1] && top[2] > bottom[2] + 30.0,
            "orientation {orientation}: top {top:?} bottom {bottom:?}"
        );
        assert!(
            bottom[1] > bottom[2],
            "orientation {orientation}: bottom {bottom:?}"
        );
    }
}

#[test]
fn never_upscales() {
    let original = shot(1, 300, 200, 6, None);
    let out = render(&original, &Recipe::web()).unwrap();
    assert_eq!((out.width, out.height), (200, 300));
}

#[test]
fn thumbnail_recipe_fits_long_edge() {
    let original = shot(2, 1200, 800, 1, None);
    let out = render(&original, &Recipe::thumbnail()).unwrap();
    assert_eq!((out.width, out.height), (480, 320));
}
