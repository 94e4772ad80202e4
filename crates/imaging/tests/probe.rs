//! probe() reads an original's facts from headers and EXIF.

mod common;

use common::shot;
use imaging::{probe, Facts};

#[test]
fn camsim_shot_facts() {
    let original = shot(5, 1200, 800, 6, Some((-33.8568, 151.2153)));
    let facts = probe(&original).unwrap();
    assert_eq!(
        facts,
        Facts {
            width: 1200,
            height: 800,
            orientation: 6,
            make: Some("Nikon".into()),
            model: Some("NIKON Z 6_2".into()),
            serial: Some("6012345".into()),
            captured_at: Some("2024-06-01T14:03:22.123+02:00".into()),
            has_gps: true,
        }
    );
    assert_eq!(facts.oriented_size(), (800, 1200));
}

#[test]
fn shot_without_gps() {
    let facts = probe(&shot(6, 640, 480, 1, None)).unwrap();
    assert!(!facts.has_gps);
    assert_eq!(facts.oriented_size(), (640, 480));
}

#[test]
fn probe_reads_only_headers() {
    // Cut right after the first scan header: probe still answers, render refuses.
    let original = shot(7, 640, 480, 3, None);
    let sos = original.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let head = &original[..sos + 64];
    let facts = probe(head).unwrap();
    assert_eq!(
        (facts.width, facts.height, facts.orientation),
        (640, 480, 3)
    );
    assert!(matches!(
        imaging::render(head, &imaging::Recipe::web()),
        Err(imaging::ImagingError::Truncated)
    ));
}
