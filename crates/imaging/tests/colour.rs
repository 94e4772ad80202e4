//! `ColourPolicy`: converting tagged originals to sRGB, keeping profiles, refusing what
//! cannot be converted. RGB and grey JPEGs, 16-bit PNG and TIFF, CMYK JPEGs as Photoshop
//! writes them, and the `require-srgb` check by content.

mod common;

use std::ptr;

use image::{ExtendedColorType, ImageEncoder};
use imaging::{render, ColourPolicy, ImagingError, Recipe};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use moxcms::{
    ColorProfile, DataColorSpace, Layout, LocalizableString, LutDataType, LutStore, LutType,
    LutWarehouse, Matrix3d, ProfileClass, ProfileText, RenderingIntent, TransformOptions,
    WHITE_POINT_D50,
};
use turbojpeg_sys as tj;

/// Two saturated Display P3 colours well inside the sRGB gamut's reach, so converting
/// moves them by many levels (checked below) without clipping to the same value.
const P3_RED: [u8; 3] = [225, 60, 45];
const P3_GREEN: [u8; 3] = [70, 190, 60];

/// A `w`×`h` JPEG (q98, 4:4:4) whose left half is `left` and right half `right`, tagged
/// with `icc` (or grey, if `grey`).
fn tagged_jpeg(w: u16, h: u16, left: [u8; 3], right: [u8; 3], icc: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for _ in 0..h {
        for x in 0..w {
            rgb.extend(if x < w / 2 { left } else { right });
        }
    }
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 98);
    enc.set_sampling_factor(SamplingFactor::F_1_1);
    enc.add_icc_profile(icc).unwrap();
    enc.encode(&rgb, w, h, ColorType::Rgb).unwrap();
    out
}

fn recipe(colour: ColourPolicy) -> Recipe {
    Recipe {
        long_edge: 256,
        quality: 95,
        colour,
        ..Recipe::web()
    }
}

/// moxcms's own P3 → sRGB conversion of one colour: the reference.
fn reference(profile: &ColorProfile, px: [u8; 3]) -> [u8; 3] {
    let t = profile
        .create_transform_8bit(
            Layout::Rgb,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            TransformOptions::default(),
        )
        .unwrap();
    let mut out = [0u8; 3];
    t.transform(&px, &mut out).unwrap();
    out
}

/// The decoded colour at the centre of the left and right halves.
fn halves(jpeg: &[u8]) -> ([u8; 3], [u8; 3]) {
    let (rgb, w, h) = common::decode_rgb(jpeg);
    let at = |x: usize| {
        let i = ((h / 2) * w + x) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    (at(w / 4), at(3 * w / 4))
}

fn max_diff(a: [u8; 3], b: [u8; 3]) -> u8 {
    a.iter().zip(b).map(|(x, y)| x.abs_diff(y)).max().unwrap()
}

/// Rounding in two JPEG encodes and the YCbCr round trips; far below the conversion's shift.
const JPEG_TOLERANCE: u8 = 4;

/// `original` (left half `P3_RED`, right half `P3_GREEN`, tagged with `profile`) must be
/// converted to what moxcms makes of those colours, and kept unchanged with its profile.
fn check_converts(profile: &ColorProfile, original: &[u8], name: &str) {
    let icc = profile.encode().unwrap();
    let (want_l, want_r) = (reference(profile, P3_RED), reference(profile, P3_GREEN));
    // Otherwise the test could not tell converted pixels from untouched ones.
    assert!(max_diff(want_l, P3_RED) >= 15, "{name}: {want_l:?}");
    assert!(max_diff(want_r, P3_GREEN) >= 15, "{name}: {want_r:?}");

    let out = render(original, &recipe(ColourPolicy::ConvertToSrgb)).unwrap();
    let (l, r) = halves(&out.jpeg);
    assert!(
        max_diff(l, want_l) <= JPEG_TOLERANCE && max_diff(r, want_r) <= JPEG_TOLERANCE,
        "{name}: converted {l:?} {r:?}, moxcms says {want_l:?} {want_r:?}"
    );
    println!(
        "{name}: converted within {} levels of moxcms",
        max_diff(l, want_l).max(max_diff(r, want_r))
    );
    // No profile at all: untagged is sRGB, and a kept P3 profile would be applied twice.
    assert_eq!(common::icc_profile(&out.jpeg), None, "{name}");
    assert!(out.stats.colour_ms > 0.0);

    // Keeping the profile leaves pixels as they were and the profile byte-identical.
    let kept = render(original, &recipe(ColourPolicy::KeepProfile)).unwrap();
    let (l, r) = halves(&kept.jpeg);
    assert!(
        max_diff(l, P3_RED) <= JPEG_TOLERANCE && max_diff(r, P3_GREEN) <= JPEG_TOLERANCE,
        "{name}: kept {l:?} {r:?}"
    );
    assert_eq!(common::icc_profile(&kept.jpeg).as_deref(), Some(&icc[..]));

    // And requiring sRGB refuses it by what it is, before any decoding.
    expect_colour_error(
        render(original, &recipe(ColourPolicy::RequireSrgb)),
        "does not describe sRGB",
    );
}

fn expect_colour_error<T>(result: Result<T, ImagingError>, needle: &str) {
    match result {
        Err(ImagingError::Colour(msg)) => assert!(msg.contains(needle), "{msg}"),
        Err(e) => panic!("expected a colour error with {needle:?}, got {e:?}"),
        Ok(_) => panic!("expected a colour error with {needle:?}, got a rendition"),
    }
}

#[test]
fn display_p3_is_converted_to_srgb() {
    let p3 = ColorProfile::new_display_p3();
    let original = tagged_jpeg(512, 256, P3_RED, P3_GREEN, &p3.encode().unwrap());
    check_converts(&p3, &original, "Display P3");
}

#[test]
fn adobe_rgb_is_converted_to_srgb() {
    let adobe = ColorProfile::new_adobe_rgb();
    let original = tagged_jpeg(512, 256, P3_RED, P3_GREEN, &adobe.encode().unwrap());
    check_converts(&adobe, &original, "Adobe RGB");
}

#[test]
fn srgb_tagged_and_untagged_originals_pass_unchanged() {
    let icc = ColorProfile::new_srgb().encode().unwrap();
    let tagged = tagged_jpeg(512, 256, P3_RED, P3_GREEN, &icc);
    let converted = render(&tagged, &recipe(ColourPolicy::ConvertToSrgb)).unwrap();
    let kept = render(&tagged, &recipe(ColourPolicy::KeepProfile)).unwrap();
    // Same pixels to the bit: the planes were not touched, only the profile left out.
    assert_eq!(
        common::decode_rgb(&converted.jpeg).0,
        common::decode_rgb(&kept.jpeg).0
    );
    assert_eq!(common::icc_profile(&converted.jpeg), None);

    let untagged = common::encode_with_orientation(&[200, 40, 40].repeat(64 * 64), 64, 64, 1);
    let a = render(&untagged, &recipe(ColourPolicy::ConvertToSrgb)).unwrap();
    let b = render(&untagged, &recipe(ColourPolicy::KeepProfile)).unwrap();
    assert_eq!(a.jpeg, b.jpeg);
    assert_eq!(a.stats.colour_ms, 0.0);
}

#[test]
fn unreadable_profile_is_an_error_not_a_guess() {
    // A header-sized block of junk: ICC_PROFILE chunk present, but no profile moxcms reads.
    let junk: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
    let original = tagged_jpeg(64, 64, P3_RED, P3_GREEN, &junk);
    match render(&original, &recipe(ColourPolicy::ConvertToSrgb)) {
        Err(ImagingError::Colour(msg)) => assert!(msg.contains("cannot be read"), "{msg}"),
        other => panic!("expected a colour error, got {other:?}"),
    }
    // Keeping it embeds it as is; the photographer chose not to convert.
    let kept = render(&original, &recipe(ColourPolicy::KeepProfile)).unwrap();
    assert_eq!(common::icc_profile(&kept.jpeg), Some(junk));
}

#[test]
fn rgb_profile_on_grey_pixels_is_refused() {
    let icc = ColorProfile::new_display_p3().encode().unwrap();
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 90);
    enc.add_icc_profile(&icc).unwrap();
    enc.encode(&[128u8; 64 * 64], 64, 64, ColorType::Luma)
        .unwrap();
    match render(&out, &recipe(ColourPolicy::ConvertToSrgb)) {
        Err(ImagingError::Colour(msg)) => assert!(msg.contains("greyscale"), "{msg}"),
        other => panic!("expected a colour error, got {other:?}"),
    }
}

#[test]
fn policy_is_kebab_case_in_config() {
    use serde::de::value::{Error, StrDeserializer};
    use serde::Deserialize;
    let parsed = ColourPolicy::deserialize(StrDeserializer::<Error>::new("convert-to-srgb"));
    assert_eq!(parsed.unwrap(), ColourPolicy::ConvertToSrgb);
}

/// A profile description, as moxcms writes one.
fn text(s: &str) -> ProfileText {
    ProfileText::Localizable(vec![LocalizableString::new(
        "en".into(),
        "US".into(),
        s.into(),
    )])
}

/// Where a test picks colours: the centre of `patch` of `n` equal columns.
fn patch(jpeg: &[u8], patch: usize, n: usize) -> [u8; 3] {
    let (rgb, w, h) = common::decode_rgb(jpeg);
    let x = w * (2 * patch + 1) / (2 * n);
    let i = ((h / 2) * w + x) * 3;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Ink amounts (0 = none, 255 = solid) of the CMYK test patches: cyan, an orange, 50 %
/// black, a dull mix, a rich dark blue. Each comes out tens of levels apart through the
/// profile and through the naive formula (checked below).
const INKS: [[u8; 4]; 5] = [
    [255, 0, 0, 0],
    [0, 153, 204, 0],
    [0, 0, 0, 128],
    [102, 51, 26, 77],
    [230, 180, 20, 60],
];

/// Size of one patch in the CMYK test files.
const PATCH: (usize, usize) = (64, 64);

/// Linear reflectance of red, green and blue light off paper with `ink` (fractions) on it,
/// as XYZ (D50): inks that absorb some of their neighbours' light, a paper that reflects
/// 94 %, a black that leaves 4 %. Made up, but shaped like print, unlike R = (1 − C)(1 − K).
fn ink_xyz([c, m, y, k]: [f64; 4]) -> [f64; 3] {
    let black = 1.0 - 0.96 * k;
    let r = 0.94 * (1.0 - 0.92 * c) * (1.0 - 0.08 * m) * (1.0 - 0.02 * y) * black;
    let g = 0.94 * (1.0 - 0.25 * c) * (1.0 - 0.90 * m) * (1.0 - 0.10 * y) * black;
    let b = 0.92 * (1.0 - 0.10 * c) * (1.0 - 0.30 * m) * (1.0 - 0.93 * y) * black;
    // Linear sRGB primaries adapted to D50 (Bradford), as in sRGB ICC profiles.
    [
        0.436_074_7 * r + 0.385_064_9 * g + 0.143_080_4 * b,
        0.222_504_5 * r + 0.716_878_6 * g + 0.060_616_9 * b,
        0.013_932_2 * r + 0.097_104_5 * g + 0.714_173_3 * b,
    ]
}

/// A CMYK output profile whose A2B0 is an `lut16Type` over an 11⁴ grid of `ink_xyz` (PCS
/// XYZ), ~88 KB: larger than one APP2 segment, so the JPEG carries it in two chunks.
fn cmyk_profile() -> ColorProfile {
    const N: usize = 11;
    let at = |i: usize| i as f64 / (N - 1) as f64;
    let mut clut = Vec::with_capacity(N.pow(4) * 3);
    for c in 0..N {
        for m in 0..N {
            for y in 0..N {
                for k in 0..N {
                    let xyz = ink_xyz([at(c), at(m), at(y), at(k)]);
                    // PCS XYZ in lut16Type: 1.0 is 0x8000.
                    clut.extend(xyz.map(|v| (v * 32768.0).round() as u16));
                }
            }
        }
    }
    let a2b = LutDataType {
        num_input_channels: 4,
        num_output_channels: 3,
        num_clut_grid_points: N as u8,
        matrix: Matrix3d::IDENTITY,
        num_input_table_entries: 2,
        num_output_table_entries: 2,
        input_table: LutStore::Store16([0, 65535].repeat(4)),
        clut_table: LutStore::Store16(clut),
        output_table: LutStore::Store16([0, 65535].repeat(3)),
        lut_type: LutType::Lut16,
    };
    let mut p = ColorProfile::default();
    p.profile_class = ProfileClass::OutputDevice;
    p.color_space = DataColorSpace::Cmyk;
    p.pcs = DataColorSpace::Xyz;
    p.rendering_intent = RenderingIntent::Perceptual;
    p.white_point = WHITE_POINT_D50.to_xyzd();
    p.lut_a_to_b_perceptual = Some(LutWarehouse::Lut(a2b));
    p.description = Some(text("Hotshoe test CMYK"));
    p
}

/// A CMYK JPEG as Photoshop writes one: Adobe APP14 marker, inverted samples (255 = no
/// ink), the profile in APP2 `ICC_PROFILE` chunks; `pw`×`h` per patch of `inks`, q98
/// 4:4:4. `ycck` picks the Adobe transform: YCCK (2, TurboJPEG's default) or plain CMYK
/// (0).
fn cmyk_jpeg(inks: &[[u8; 4]], (pw, h): (usize, usize), icc: Option<&[u8]>, ycck: bool) -> Vec<u8> {
    let w = pw * inks.len();
    let mut px = Vec::with_capacity(w * h * 4);
    for _ in 0..h {
        for x in 0..w {
            px.extend(inks[x / pw].map(|v| 255 - v));
        }
    }
    let space = if ycck {
        tj::TJCS_TJCS_YCCK
    } else {
        tj::TJCS_TJCS_CMYK
    };
    // SAFETY: a fresh compressor, destroyed at the end; `px` is w × h × 4 bytes, as
    // TJPF_CMYK with pitch 0 reads; TurboJPEG copies the profile and allocates `out`,
    // which is copied and freed.
    unsafe {
        let handle = tj::tj3Init(tj::TJINIT_TJINIT_COMPRESS as libc::c_int);
        assert!(!handle.is_null());
        let set = |param: tj::TJPARAM, value: i32| {
            assert_eq!(tj::tj3Set(handle, param as libc::c_int, value), 0);
        };
        set(tj::TJPARAM_TJPARAM_QUALITY, 98);
        set(tj::TJPARAM_TJPARAM_SUBSAMP, tj::TJSAMP_TJSAMP_444);
        set(tj::TJPARAM_TJPARAM_COLORSPACE, space as i32);
        if let Some(icc) = icc {
            let rc = tj::tj3SetICCProfile(handle, icc.as_ptr() as *mut u8, icc.len() as _);
            assert_eq!(rc, 0);
        }
        let mut out: *mut u8 = ptr::null_mut();
        let mut size = 0;
        let rc = tj::tj3Compress8(
            handle,
            px.as_ptr(),
            w as i32,
            0,
            h as i32,
            tj::TJPF_TJPF_CMYK,
            &mut out,
            &mut size,
        );
        assert_eq!(rc, 0);
        let jpeg = std::slice::from_raw_parts(out, size as usize).to_vec();
        tj::tj3Free(out.cast());
        tj::tj3Destroy(handle);
        jpeg
    }
}

/// moxcms's own conversion of `ink` (ICC convention: 0 = no ink) through `profile`.
fn cmyk_reference(profile: &ColorProfile, ink: [u8; 4]) -> [u8; 3] {
    let t = profile
        .create_transform_8bit(
            Layout::Rgba,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            TransformOptions::default(),
        )
        .unwrap();
    let mut out = [0u8; 3];
    t.transform(&ink, &mut out).unwrap();
    out
}

/// What the decoder did before profiles were used, and still does without one.
fn cmyk_naive([c, m, y, k]: [u8; 4]) -> [u8; 3] {
    let k = 255 - u32::from(k);
    [c, m, y].map(|v| (((255 - u32::from(v)) * k + 127) / 255) as u8)
}

#[test]
fn cmyk_with_a_profile_is_converted_through_it() {
    let profile = cmyk_profile();
    let icc = profile.encode().unwrap();
    assert!(icc.len() > 65_519, "one chunk only: {} bytes", icc.len());
    let want: Vec<[u8; 3]> = INKS.iter().map(|&i| cmyk_reference(&profile, i)).collect();
    let mut gap = u8::MAX;
    for (ink, want) in INKS.iter().zip(&want) {
        // Otherwise a pipeline that skipped the profile would pass too.
        let naive = cmyk_naive(*ink);
        assert!(
            max_diff(naive, *want) >= 15,
            "{ink:?}: {naive:?} vs {want:?}"
        );
        gap = gap.min(max_diff(naive, *want));
    }
    println!("CMYK: the naive formula is {gap}+ levels from the profile on every patch");
    for ycck in [true, false] {
        let original = cmyk_jpeg(&INKS, PATCH, Some(&icc), ycck);
        assert_eq!(common::icc_profile(&original).as_deref(), Some(&icc[..]));
        let out = render(&original, &recipe(ColourPolicy::ConvertToSrgb)).unwrap();
        let mut worst = 0;
        for (i, want) in want.iter().enumerate() {
            let got = patch(&out.jpeg, i, INKS.len());
            worst = worst.max(max_diff(got, *want));
            assert!(
                max_diff(got, *want) <= JPEG_TOLERANCE,
                "ycck {ycck}, {:?}: {got:?}, moxcms says {want:?}",
                INKS[i]
            );
        }
        println!("CMYK (ycck {ycck}): within {worst} levels of moxcms");
        // The pixels are sRGB now; the CMYK profile must not be embedded over them.
        assert!(common::icc_profile(&out.jpeg).is_none(), "profile embedded");
        assert!(out.stats.colour_ms > 0.0);
    }
}

#[test]
fn cmyk_profile_is_never_embedded_over_rgb_pixels() {
    let icc = cmyk_profile().encode().unwrap();
    let original = cmyk_jpeg(&INKS, PATCH, Some(&icc), true);
    let naive_ok = |jpeg: &[u8]| {
        for (i, ink) in INKS.iter().enumerate() {
            let (got, want) = (patch(jpeg, i, INKS.len()), cmyk_naive(*ink));
            assert!(
                max_diff(got, want) <= JPEG_TOLERANCE,
                "{ink:?}: {got:?} {want:?}"
            );
        }
    };
    // Keeping: the naive conversion as before, and no profile (it describes CMYK data, not
    // the RGB of the rendition).
    let kept = render(&original, &recipe(ColourPolicy::KeepProfile)).unwrap();
    naive_ok(&kept.jpeg);
    assert!(
        common::icc_profile(&kept.jpeg).is_none(),
        "CMYK profile embedded"
    );
    // Requiring sRGB: a CMYK profile is not sRGB.
    expect_colour_error(
        render(&original, &recipe(ColourPolicy::RequireSrgb)),
        "does not describe sRGB",
    );
    // No profile: nothing to convert through, so naive even when converting.
    let untagged = cmyk_jpeg(&INKS, PATCH, None, true);
    let out = render(&untagged, &recipe(ColourPolicy::ConvertToSrgb)).unwrap();
    naive_ok(&out.jpeg);
    assert_eq!(common::icc_profile(&out.jpeg), None);
}

#[test]
fn rgb_profile_on_cmyk_pixels_is_refused() {
    let icc = ColorProfile::new_display_p3().encode().unwrap();
    let original = cmyk_jpeg(&INKS, PATCH, Some(&icc), false);
    expect_colour_error(
        render(&original, &recipe(ColourPolicy::ConvertToSrgb)),
        "pixels are CMYK",
    );
}

/// A linear grey profile (gamma 1.0): mid and dark greys are tens of levels lighter in sRGB.
fn linear_grey() -> ColorProfile {
    let mut p = ColorProfile::new_gray_with_gamma(1.0);
    p.description = Some(text("Gray Gamma 1.0"));
    p
}

/// moxcms's grey → sRGB of one level, as the grey the rendition keeps (its green).
fn grey_reference(profile: &ColorProfile, v: u8) -> [u8; 3] {
    let t = profile
        .create_transform_8bit(
            Layout::Gray,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            TransformOptions::default(),
        )
        .unwrap();
    let mut out = [0u8; 3];
    t.transform(&[v], &mut out).unwrap();
    [out[1]; 3]
}

const GREYS: (u8, u8) = (64, 160);

fn grey_jpeg(icc: &[u8]) -> Vec<u8> {
    let (w, h) = (512u16, 256u16);
    let luma: Vec<u8> = (0..h)
        .flat_map(|_| (0..w).map(|x| if x < w / 2 { GREYS.0 } else { GREYS.1 }))
        .collect();
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 98);
    enc.add_icc_profile(icc).unwrap();
    enc.encode(&luma, w, h, ColorType::Luma).unwrap();
    out
}

/// `original` (left `GREYS.0`, right `GREYS.1`, tagged with `profile`) is converted like
/// moxcms converts those levels, kept with its profile, and refused as not sRGB.
fn check_grey(profile: &ColorProfile, original: &[u8], name: &str) {
    let icc = profile.encode().unwrap();
    let want = (
        grey_reference(profile, GREYS.0),
        grey_reference(profile, GREYS.1),
    );
    assert!(max_diff(want.0, [GREYS.0; 3]) >= 15, "{name}: {want:?}");
    assert!(max_diff(want.1, [GREYS.1; 3]) >= 15, "{name}: {want:?}");

    let out = render(original, &recipe(ColourPolicy::ConvertToSrgb)).unwrap();
    let (l, r) = halves(&out.jpeg);
    assert!(
        max_diff(l, want.0) <= JPEG_TOLERANCE && max_diff(r, want.1) <= JPEG_TOLERANCE,
        "{name}: converted {l:?} {r:?}, moxcms says {want:?}"
    );
    println!(
        "{name}: converted within {} levels of moxcms",
        max_diff(l, want.0).max(max_diff(r, want.1))
    );
    assert_eq!(common::icc_profile(&out.jpeg), None, "{name}");
    assert!(out.stats.colour_ms > 0.0);

    let kept = render(original, &recipe(ColourPolicy::KeepProfile)).unwrap();
    let (l, r) = halves(&kept.jpeg);
    assert!(
        max_diff(l, [GREYS.0; 3]) <= JPEG_TOLERANCE && max_diff(r, [GREYS.1; 3]) <= JPEG_TOLERANCE,
        "{name}: kept {l:?} {r:?}"
    );
    assert_eq!(common::icc_profile(&kept.jpeg).as_deref(), Some(&icc[..]));
    // A grey profile stays on grey pixels: the rendition is a one-component JPEG.
    assert_eq!(component_count(&kept.jpeg), 1, "{name}");

    expect_colour_error(
        render(original, &recipe(ColourPolicy::RequireSrgb)),
        "does not describe sRGB",
    );
}

/// Components in the frame header (SOF0/SOF2).
fn component_count(jpeg: &[u8]) -> u8 {
    let sof = common::segments(jpeg)
        .into_iter()
        .find(|(m, _)| matches!(m, 0xC0 | 0xC2))
        .expect("a frame header");
    sof.1[5]
}

#[test]
fn grey_jpeg_with_a_grey_profile() {
    let profile = linear_grey();
    check_grey(
        &profile,
        &grey_jpeg(&profile.encode().unwrap()),
        "grey JPEG",
    );
}

#[test]
fn sixteen_bit_grey_png_with_a_grey_profile() {
    let profile = linear_grey();
    let (w, h) = (512u32, 256u32);
    let samples: Vec<u16> = (0..h)
        .flat_map(|_| (0..w).map(|x| if x < w / 2 { GREYS.0 } else { GREYS.1 }))
        .map(|v| u16::from(v) * 257)
        .collect();
    let original = encode16("png", &samples, w, h, ExtendedColorType::L16, &profile);
    check_grey(&profile, &original, "16-bit grey PNG");
}

/// A 16-bit PNG or TIFF of `samples` tagged with `profile` (iCCP chunk, TIFF tag 34675).
fn encode16(
    kind: &str,
    samples: &[u16],
    w: u32,
    h: u32,
    colour: ExtendedColorType,
    profile: &ColorProfile,
) -> Vec<u8> {
    let icc = profile.encode().unwrap();
    // `ImageEncoder` takes 16-bit samples in native byte order.
    let bytes: Vec<u8> = samples.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    if kind == "png" {
        let mut enc = image::codecs::png::PngEncoder::new(&mut out);
        enc.set_icc_profile(icc).unwrap();
        enc.write_image(&bytes, w, h, colour).unwrap();
    } else {
        let mut enc = image::codecs::tiff::TiffEncoder::new(&mut out);
        enc.set_icc_profile(icc).unwrap();
        enc.write_image(&bytes, w, h, colour).unwrap();
    }
    out.into_inner()
}

/// 16-bit RGB, left half `P3_RED`, right half `P3_GREEN` (each level × 257, so 8 bits
/// round back to it exactly).
fn p3_halves16(w: u32, h: u32) -> Vec<u16> {
    (0..h)
        .flat_map(|_| (0..w).flat_map(|x| if x < w / 2 { P3_RED } else { P3_GREEN }))
        .map(|v| u16::from(v) * 257)
        .collect()
}

#[test]
fn sixteen_bit_png_with_a_profile() {
    let p3 = ColorProfile::new_display_p3();
    let original = encode16(
        "png",
        &p3_halves16(512, 256),
        512,
        256,
        ExtendedColorType::Rgb16,
        &p3,
    );
    check_converts(&p3, &original, "16-bit P3 PNG");
}

#[test]
fn sixteen_bit_tiff_with_a_profile() {
    let adobe = ColorProfile::new_adobe_rgb();
    let original = encode16(
        "tiff",
        &p3_halves16(512, 256),
        512,
        256,
        ExtendedColorType::Rgb16,
        &adobe,
    );
    check_converts(&adobe, &original, "16-bit Adobe RGB TIFF");
}

#[test]
fn require_srgb_goes_by_content_not_name() {
    let require = recipe(ColourPolicy::RequireSrgb);
    let jpeg =
        |profile: &ColorProfile| tagged_jpeg(64, 64, P3_RED, P3_GREEN, &profile.encode().unwrap());

    // Display P3 calling itself sRGB: refused, and the message shows the name it gave.
    let mut liar = ColorProfile::new_display_p3();
    liar.description = Some(text("sRGB IEC61966-2.1"));
    let liar = jpeg(&liar);
    expect_colour_error(render(&liar, &require), "does not describe sRGB");
    expect_colour_error(render(&liar, &require), "\"sRGB IEC61966-2.1\", Rgb");

    // sRGB under a vendor's name: accepted, and (as for any sRGB original) not embedded.
    let mut vendor = ColorProfile::new_srgb();
    vendor.description = Some(text("Camera RGB v2"));
    let out = render(&jpeg(&vendor), &require).unwrap();
    assert_eq!(common::icc_profile(&out.jpeg), None);
    render(&jpeg(&ColorProfile::new_srgb()), &require).unwrap();

    // Unreadable: refused, saying so.
    let junk: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
    let original = tagged_jpeg(64, 64, P3_RED, P3_GREEN, &junk);
    expect_colour_error(render(&original, &require), "cannot be read");

    // Grey: sRGB's curve passes (untagged grey means the same), another curve does not.
    let mut srgb_grey = ColorProfile::new_gray_with_gamma(2.2);
    srgb_grey.gray_trc = ColorProfile::new_srgb().red_trc;
    render(&grey_jpeg(&srgb_grey.encode().unwrap()), &require).unwrap();
    let gamma22 = ColorProfile::new_gray_with_gamma(2.2).encode().unwrap();
    expect_colour_error(
        render(&grey_jpeg(&gamma22), &require),
        "does not describe sRGB",
    );
}

/// The cost figure in docs/decisions/0010-colour-conversion.md: a 2048 px rendition of a
/// 24 MP Display P3 original. Ignored by default since timings on shared CI cores mean
/// nothing; run with `cargo nextest run -p imaging --run-ignored only colour_cost`.
#[test]
#[ignore = "timing for docs/decisions/0010; scripts/test.sh runs it with --ignored"]
fn colour_cost_of_a_2048_px_rendition() {
    let icc = ColorProfile::new_display_p3().encode().unwrap();
    let original = tagged_jpeg(6000, 4000, P3_RED, P3_GREEN, &icc);
    let recipe = Recipe {
        colour: ColourPolicy::ConvertToSrgb,
        ..Recipe::web()
    };
    let mut best = f64::MAX;
    for _ in 0..5 {
        let out = render(&original, &recipe).unwrap();
        assert_eq!((out.width, out.height), (2048, 1365));
        let s = &out.stats;
        println!(
            "decode {:.1} ms, resize {:.1} ms, colour {:.1} ms, encode {:.1} ms",
            s.decode_ms, s.resize_ms, s.colour_ms, s.encode_ms
        );
        best = best.min(s.colour_ms);
    }
    println!("colour conversion, best of 5: {best:.1} ms");
}

/// The CMYK figure in docs/decisions/0010-colour-conversion.md: a 2048 px rendition of a
/// 24 MP CMYK original with an 88 KB LUT profile, converted at the decoded half size
/// (3000×2000), against the naive formula. Ignored by default, like the one above.
#[test]
#[ignore = "timing for docs/decisions/0010; scripts/test.sh runs it with --ignored"]
fn cmyk_colour_cost_of_a_2048_px_rendition() {
    let icc = cmyk_profile().encode().unwrap();
    let original = cmyk_jpeg(&INKS, (1200, 4000), Some(&icc), true);
    for policy in [ColourPolicy::KeepProfile, ColourPolicy::ConvertToSrgb] {
        let recipe = Recipe {
            colour: policy,
            ..Recipe::web()
        };
        let mut best = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            let out = render(&original, &recipe).unwrap();
            assert_eq!((out.width, out.height), (2048, 1365));
            let s = &out.stats;
            best = (best.0.min(s.decode_ms), best.1.min(s.colour_ms));
        }
        println!(
            "CMYK, {policy:?}, best of 5: decode {:.1} ms, colour {:.1} ms",
            best.0, best.1
        );
    }
}
