//! IPTC-IIM in the rendition's APP13: written from the recipe's credits, never carried over
//! from the original.

mod common;

use imaging::{render, Credits, MetadataPolicy, Recipe};
use jpeg_encoder::{ColorType, Encoder};

/// An original whose APP13 credits someone else, as an agency-edited file would.
fn original_with_foreign_iptc() -> Vec<u8> {
    let mut iim = vec![0x1C, 2, 80, 0, 12];
    iim.extend_from_slice(b"Someone Else");
    let mut app13 = b"Photoshop 3.0\x008BIM\x04\x04\0\0".to_vec();
    app13.extend_from_slice(&(iim.len() as u32).to_be_bytes());
    app13.extend_from_slice(&iim);
    app13.push(0);
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 90);
    enc.add_app_segment(13, app13).unwrap();
    enc.encode(&[90u8; 64 * 48 * 3], 64, 48, ColorType::Rgb)
        .unwrap();
    assert!(contains(&out, b"Someone Else"));
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn be16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes(
        b.get(at..at + 2).expect("16 bits").try_into().unwrap(),
    ))
}

/// Every IIM dataset in the APP13 segments of `jpeg` as (record, dataset, data), read with
/// bounds checks (a malformed segment fails the test).
fn iim(jpeg: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, body) in common::segments(jpeg).into_iter().filter(|s| s.0 == 0xED) {
        let mut res = body
            .strip_prefix(b"Photoshop 3.0\0")
            .expect("Photoshop 3.0 header");
        while !res.is_empty() {
            assert_eq!(res.get(..4), Some(&b"8BIM"[..]), "resource signature");
            let id = be16(res, 4);
            let name_len = usize::from(*res.get(6).expect("name length"));
            let name_end = 6 + (name_len + 1).next_multiple_of(2);
            let size =
                u32::from_be_bytes(res.get(name_end..name_end + 4).unwrap().try_into().unwrap())
                    as usize;
            let data = res
                .get(name_end + 4..name_end + 4 + size)
                .expect("resource data");
            if id == 0x0404 {
                let mut d = data;
                while !d.is_empty() {
                    assert_eq!(d[0], 0x1C, "IIM tag marker");
                    let len = be16(d, 3);
                    assert!(len < 0x8000, "extended lengths are not expected");
                    let value = d.get(5..5 + len).expect("dataset data");
                    out.push((d[1], d[2], value.to_vec()));
                    d = &d[5 + len..];
                }
            }
            res = res
                .get(name_end + 4 + size.next_multiple_of(2)..)
                .expect("padding");
        }
    }
    out
}

fn dataset(sets: &[(u8, u8, Vec<u8>)], record: u8, ds: u8) -> Option<String> {
    let hits: Vec<_> = sets.iter().filter(|s| (s.0, s.1) == (record, ds)).collect();
    assert!(hits.len() <= 1, "{record}:{ds} repeated");
    hits.first()
        .map(|s| String::from_utf8(s.2.clone()).expect("UTF-8"))
}

fn recipe(metadata: MetadataPolicy, credits: Credits) -> Recipe {
    Recipe {
        long_edge: 32,
        metadata,
        credits,
        ..Recipe::web()
    }
}

fn credits() -> Credits {
    Credits {
        artist: Some("Zoë Fotografía".into()),
        copyright: Some("© 2024 Zoë Fotografía".into()),
        credit: Some("Hotshoe Events".into()),
        caption: Some("First dance — Ana & Tomás".into()),
    }
}

#[test]
fn credits_are_written_as_iim_and_replace_the_originals() {
    let original = original_with_foreign_iptc();
    for policy in [
        MetadataPolicy::StripPrivate,
        MetadataPolicy::KeepExceptPrivate,
        MetadataPolicy::Keep,
    ] {
        let out = render(&original, &recipe(policy, credits())).unwrap().jpeg;
        let sets = iim(&out);
        assert_eq!(
            common::segments(&out)
                .iter()
                .filter(|s| s.0 == 0xED)
                .count(),
            1
        );
        assert_eq!(
            sets.iter().find(|s| (s.0, s.1) == (1, 90)).unwrap().2,
            b"\x1b%G"
        );
        assert_eq!(dataset(&sets, 2, 80).as_deref(), Some("Zoë Fotografía"));
        assert_eq!(
            dataset(&sets, 2, 116).as_deref(),
            Some("© 2024 Zoë Fotografía")
        );
        assert_eq!(dataset(&sets, 2, 110).as_deref(), Some("Hotshoe Events"));
        assert_eq!(
            dataset(&sets, 2, 120).as_deref(),
            Some("First dance — Ana & Tomás")
        );
        assert!(
            !contains(&out, b"Someone Else"),
            "{policy:?} kept the original's IPTC"
        );
    }
}

#[test]
fn long_lines_are_cut_to_iim_limits_on_a_character_boundary() {
    let long = Credits {
        // 2 bytes per "é": 33 bytes do not fit By-line's 32, so the cut falls mid-character.
        artist: Some(format!("a{}", "é".repeat(20))),
        caption: Some("ü".repeat(1500)),
        ..Credits::default()
    };
    let out = render(
        &original_with_foreign_iptc(),
        &recipe(MetadataPolicy::StripPrivate, long),
    )
    .unwrap()
    .jpeg;
    let sets = iim(&out);
    let by = dataset(&sets, 2, 80).unwrap();
    assert_eq!(
        by,
        format!("a{}", "é".repeat(15)),
        "31 bytes: the 32nd would split an é"
    );
    assert_eq!(dataset(&sets, 2, 120).unwrap(), "ü".repeat(1000));
    assert_eq!(dataset(&sets, 2, 116), None);
}

#[test]
fn no_iptc_without_credits_or_with_strip_all() {
    let original = original_with_foreign_iptc();
    for (policy, credits) in [
        (MetadataPolicy::StripAll, credits()),
        (MetadataPolicy::StripPrivate, Credits::default()),
        (MetadataPolicy::Keep, Credits::default()),
    ] {
        let out = render(&original, &recipe(policy, credits)).unwrap().jpeg;
        assert!(
            !common::segments(&out).iter().any(|s| s.0 == 0xED),
            "{policy:?} wrote an APP13"
        );
        assert!(!contains(&out, b"Someone Else"));
    }
}
