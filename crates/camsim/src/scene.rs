//! Procedural camera-like shots: a landscape with sky, sun, hills and confetti, the shot
//! number drawn large, film-grain noise so it compresses like a photo, encoded as a 4:2:0
//! JPEG with the EXIF block a real body would write.
//!
//! `ShotSpec::width`/`height` are the sensor (stored) dimensions. As on a real camera, a
//! portrait shot keeps landscape-stored pixels and says so with EXIF Orientation: the scene
//! is drawn upright and then mapped into sensor orientation, so it looks right only after a
//! viewer applies the tag.

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// What to render for one shot.
#[derive(Debug, Clone)]
pub struct ShotSpec {
    /// Stored (sensor) width in pixels.
    pub width: u32,
    /// Stored (sensor) height in pixels.
    pub height: u32,
    pub make: String,
    pub model: String,
    pub serial: String,
    pub captured_at: time::OffsetDateTime,
    /// EXIF Orientation 1–8; anything else is treated as 1.
    pub orientation: u16,
    /// Latitude, longitude in decimal degrees.
    pub gps: Option<(f64, f64)>,
    /// JPEG quality 1–100 (cameras' "fine" is about 90).
    pub quality: u8,
}

impl Default for ShotSpec {
    fn default() -> Self {
        ShotSpec {
            width: 6000,
            height: 4000,
            make: "Canon".into(),
            model: "Canon EOS R6".into(),
            serial: "012345678901".into(),
            captured_at: time::OffsetDateTime::UNIX_EPOCH,
            orientation: 1,
            gps: None,
            quality: 90,
        }
    }
}

/// Renders one shot as a JPEG file. Deterministic for a given `seq` and `spec`.
///
/// # Panics
/// Panics if `spec.width` or `spec.height` is 0 or above 65535 (JPEG's limit): a test
/// fixture asked for something no camera makes.
pub fn render_shot(seq: u32, spec: &ShotSpec) -> Vec<u8> {
    assert!(
        (1..=65535).contains(&spec.width) && (1..=65535).contains(&spec.height),
        "ShotSpec size {}x{} is outside what a JPEG can hold",
        spec.width,
        spec.height
    );
    let orientation = if (1..=8).contains(&spec.orientation) {
        spec.orientation
    } else {
        1
    };
    let (sw, sh) = (spec.width as usize, spec.height as usize);
    let transposed = orientation >= 5;
    let (dw, dh) = if transposed { (sh, sw) } else { (sw, sh) };

    let mut upright = Canvas::new(dw, dh);
    paint_scene(&mut upright, seq);
    add_grain(&mut upright, seq);
    let stored = if orientation == 1 {
        upright
    } else {
        to_sensor(&upright, orientation, sw, sh)
    };

    let mut jpeg = Vec::with_capacity(sw * sh / 2);
    let mut encoder = Encoder::new(&mut jpeg, spec.quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder
        .encode(&stored.px, sw as u16, sh as u16, ColorType::Rgb)
        .expect("encoding an in-memory RGB buffer of checked size cannot fail");

    let tiff = exif_block(spec, orientation);
    splice_exif(&jpeg, &tiff)
}

// ---------------------------------------------------------------------------------------
// Pixels

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![0; w * h * 3],
        }
    }

    #[inline]
    fn blend(&mut self, x: usize, y: usize, c: [f32; 3], a: f32) {
        let i = (y * self.w + x) * 3;
        for (dst, target) in self.px[i..i + 3].iter_mut().zip(c) {
            let old = f32::from(*dst);
            *dst = (old + (target - old) * a) as u8;
        }
    }

    fn fill_rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: [f32; 3], a: f32) {
        let xa = x0.max(0.0) as usize;
        let ya = y0.max(0.0) as usize;
        let xb = (x1.max(0.0) as usize).min(self.w);
        let yb = (y1.max(0.0) as usize).min(self.h);
        for y in ya..yb {
            for x in xa..xb {
                self.blend(x, y, c, a);
            }
        }
    }

    /// Antialiased disc: a one-pixel ramp at the rim keeps edges photo-like rather than
    /// stair-stepped, which matters for how the JPEG compresses.
    fn disc(&mut self, cx: f32, cy: f32, r: f32, c: [f32; 3], a: f32) {
        let xa = (cx - r - 1.0).max(0.0) as usize;
        let ya = (cy - r - 1.0).max(0.0) as usize;
        let xb = ((cx + r + 2.0).max(0.0) as usize).min(self.w);
        let yb = ((cy + r + 2.0).max(0.0) as usize).min(self.h);
        for y in ya..yb {
            let dy = y as f32 + 0.5 - cy;
            for x in xa..xb {
                let dx = x as f32 + 0.5 - cx;
                let d = (dx * dx + dy * dy).sqrt();
                let cover = (r - d + 0.5).clamp(0.0, 1.0);
                if cover > 0.0 {
                    self.blend(x, y, c, a * cover);
                }
            }
        }
    }
}

/// Small, fast, seedable generator: the scene must be identical for a given seq on every
/// machine, so it cannot depend on a library's algorithm choice.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
}

fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h = h.rem_euclid(1.0) * 6.0;
    let i = h.floor();
    let f = h - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    let (r, g, b) = match i as u32 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    [r * 255.0, g * 255.0, b * 255.0]
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

const HILL_LAYERS: usize = 3;

fn paint_scene(c: &mut Canvas, seq: u32) {
    let mut rng = SplitMix(0x5EED_0000_0000 ^ u64::from(seq).wrapping_mul(0x1000_0001));
    let (w, h) = (c.w as f32, c.h as f32);
    let short = w.min(h);

    // Sky stays blue-ish (hue 0.5–0.7) and the ground green-ish so "up" is always obvious
    // in a thumbnail; the exact shades vary per shot.
    let sky_hue = rng.range(0.52, 0.68);
    let sky_top = hsv(sky_hue, rng.range(0.55, 0.85), rng.range(0.45, 0.7));
    let sky_low = hsv(sky_hue - 0.05, rng.range(0.15, 0.35), rng.range(0.85, 1.0));
    let ground_hue = rng.range(0.22, 0.38);

    let sun_x = rng.range(0.55, 0.9) * w;
    let sun_y = rng.range(0.08, 0.25) * h;
    let sun_r = rng.range(0.04, 0.07) * short;
    let glow_r = sun_r * 4.0;

    // Ridge lines for each layer, back to front: a few sines per layer.
    let mut ridges = vec![vec![0f32; c.w]; HILL_LAYERS];
    let mut hill_colours = [[0f32; 3]; HILL_LAYERS];
    for (layer, ridge) in ridges.iter_mut().enumerate() {
        let base = h * (0.45 + 0.12 * layer as f32) + rng.range(-0.04, 0.04) * h;
        let waves: Vec<(f32, f32, f32)> = (0..3)
            .map(|k| {
                let freq = rng.range(0.5, 2.5) * (k as f32 + 1.0) * std::f32::consts::TAU / w;
                (
                    freq,
                    rng.range(0.0, std::f32::consts::TAU),
                    rng.range(0.01, 0.05) * h / (k as f32 + 1.0),
                )
            })
            .collect();
        for (x, r) in ridge.iter_mut().enumerate() {
            let xf = x as f32;
            *r = base
                + waves
                    .iter()
                    .map(|&(f, p, a)| (xf * f + p).sin() * a)
                    .sum::<f32>();
        }
        let depth = (HILL_LAYERS - 1 - layer) as f32;
        hill_colours[layer] = hsv(
            ground_hue + rng.range(-0.04, 0.04),
            0.55 - 0.12 * depth,
            0.55 - 0.08 * depth,
        );
    }

    for y in 0..c.h {
        let yf = y as f32;
        let sky = lerp3(sky_top, sky_low, (yf / (h * 0.6)).min(1.0));
        let near_sun = (yf - sun_y).abs() < glow_r;
        let row = &mut c.px[y * c.w * 3..(y + 1) * c.w * 3];
        for x in 0..c.w {
            let mut col = sky;
            let mut layer_hit = None;
            for layer in (0..HILL_LAYERS).rev() {
                if yf >= ridges[layer][x] {
                    layer_hit = Some(layer);
                    break;
                }
            }
            if let Some(layer) = layer_hit {
                // Darken with distance below the ridge: a cheap sense of slope and light.
                let below = (yf - ridges[layer][x]) / h;
                col = lerp3(
                    hill_colours[layer],
                    [10.0, 20.0, 10.0],
                    (below * 1.5).min(0.6),
                );
            } else if near_sun {
                let dx = x as f32 - sun_x;
                let dy = yf - sun_y;
                let d = (dx * dx + dy * dy).sqrt();
                if d < sun_r {
                    col = [255.0, 245.0, 215.0];
                } else if d < glow_r {
                    let t = 1.0 - (d - sun_r) / (glow_r - sun_r);
                    col = lerp3(col, [255.0, 230.0, 170.0], t * t * 0.8);
                }
            }
            row[x * 3] = col[0] as u8;
            row[x * 3 + 1] = col[1] as u8;
            row[x * 3 + 2] = col[2] as u8;
        }
    }

    let confetti = 40 + (rng.next() % 50) as usize;
    for _ in 0..confetti {
        let r = rng.range(0.006, 0.035) * short;
        let colour = hsv(rng.unit(), rng.range(0.6, 1.0), rng.range(0.75, 1.0));
        c.disc(
            rng.unit() * w,
            rng.unit() * h,
            r,
            colour,
            rng.range(0.7, 0.95),
        );
    }

    draw_number(c, seq);
}

// ---------------------------------------------------------------------------------------
// The shot number, in a seven-segment face so no font data is needed.

/// Segments a–g, bit 0 = a (top), clockwise, g = middle.
const SEGMENTS: [u8; 10] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

fn draw_number(c: &mut Canvas, seq: u32) {
    let text = format!("{seq:03}");
    let short = c.w.min(c.h) as f32;
    let dh = short * 0.22;
    let dw = dh * 0.55;
    let t = dh * 0.12;
    let gap = dw * 0.35;
    let margin = short * 0.05;
    let total_w = text.len() as f32 * (dw + gap) - gap;

    let x0 = margin;
    let y0 = c.h as f32 - margin - dh;
    let pad = t * 1.5;
    c.fill_rect(
        x0 - pad,
        y0 - pad,
        x0 + total_w + pad,
        y0 + dh + pad,
        [0.0, 0.0, 0.0],
        0.55,
    );

    for (i, ch) in text.bytes().enumerate() {
        let segs = SEGMENTS[(ch - b'0') as usize];
        let x = x0 + i as f32 * (dw + gap);
        let half = dh / 2.0;
        let rects = [
            (x, y0, x + dw, y0 + t),                               // a
            (x + dw - t, y0, x + dw, y0 + half),                   // b
            (x + dw - t, y0 + half, x + dw, y0 + dh),              // c
            (x, y0 + dh - t, x + dw, y0 + dh),                     // d
            (x, y0 + half, x + t, y0 + dh),                        // e
            (x, y0, x + t, y0 + half),                             // f
            (x, y0 + half - t / 2.0, x + dw, y0 + half + t / 2.0), // g
        ];
        for (bit, &(ax, ay, bx, by)) in rects.iter().enumerate() {
            if segs & (1 << bit) != 0 {
                c.fill_rect(ax, ay, bx, by, [250.0, 250.0, 245.0], 1.0);
            }
        }
    }
}

/// Sensor-like grain. Without it the flat gradients compress to a fraction of a real
/// camera file's size and downstream timing would be flattering.
fn add_grain(c: &mut Canvas, seq: u32) {
    let mut state: u32 = 0x9E37_79B9 ^ seq.wrapping_mul(0x85EB_CA6B) | 1;
    for px in c.px.chunks_exact_mut(3) {
        // xorshift32: one step per pixel keeps this pass a small share of render time.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        // Triangular-ish luma grain of about ±12 levels, like a high-ISO frame; a 24 MP
        // shot then lands near the 8–10 MB a camera writes at its finest quality.
        let luma = ((state & 0xF) + ((state >> 4) & 0xF)) as i16 - 15;
        let chroma = (((state >> 8) & 0x3) as i16) - 2;
        px[0] = (px[0] as i16 + luma + chroma).clamp(0, 255) as u8;
        px[1] = (px[1] as i16 + luma).clamp(0, 255) as u8;
        px[2] = (px[2] as i16 + luma - chroma).clamp(0, 255) as u8;
    }
}

/// Where upright pixel (x, y) lives in the sensor buffer, for EXIF orientations 1–8.
#[inline]
fn sensor_pos(o: u16, x: usize, y: usize, sw: usize, sh: usize) -> (usize, usize) {
    match o {
        2 => (sw - 1 - x, y),
        3 => (sw - 1 - x, sh - 1 - y),
        4 => (x, sh - 1 - y),
        5 => (y, x),
        6 => (y, sh - 1 - x),
        7 => (sw - 1 - y, sh - 1 - x),
        8 => (sw - 1 - y, x),
        _ => (x, y),
    }
}

/// Maps the upright picture into sensor orientation, in tiles so both buffers stay in
/// cache when the mapping is a rotation.
fn to_sensor(up: &Canvas, o: u16, sw: usize, sh: usize) -> Canvas {
    const TILE: usize = 64;
    let mut out = Canvas::new(sw, sh);
    for ty in (0..up.h).step_by(TILE) {
        for tx in (0..up.w).step_by(TILE) {
            for y in ty..(ty + TILE).min(up.h) {
                for x in tx..(tx + TILE).min(up.w) {
                    let (sx, sy) = sensor_pos(o, x, y, sw, sh);
                    let s = (y * up.w + x) * 3;
                    let d = (sy * sw + sx) * 3;
                    out.px[d..d + 3].copy_from_slice(&up.px[s..s + 3]);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// EXIF

fn ascii(tag: Tag, ifd: In, s: &str) -> Field {
    Field {
        tag,
        ifd_num: ifd,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    }
}

fn dms(deg: f64) -> Value {
    let deg = deg.abs();
    let d = deg.floor();
    let m = ((deg - d) * 60.0).floor();
    let s = ((deg - d) * 60.0 - m) * 60.0;
    Value::Rational(vec![
        Rational {
            num: d as u32,
            denom: 1,
        },
        Rational {
            num: m as u32,
            denom: 1,
        },
        Rational {
            num: (s * 1000.0).round() as u32,
            denom: 1000,
        },
    ])
}

/// A camera-like TIFF block: IFD0 (Make, Model, Orientation, DateTime, Artist, Copyright),
/// the Exif IFD (capture time with sub-seconds and offset, body serial) and GPS when known.
fn exif_block(spec: &ShotSpec, orientation: u16) -> Vec<u8> {
    let t = spec.captured_at;
    let stamp = format!(
        "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let off = t.offset();
    let sign = if off.is_negative() { '-' } else { '+' };
    let offset = format!(
        "{sign}{:02}:{:02}",
        off.whole_hours().abs(),
        off.minutes_past_hour().abs()
    );
    let millis = format!("{:03}", t.millisecond());

    let p = In::PRIMARY;
    let mut fields = vec![
        ascii(Tag::Make, p, &spec.make),
        ascii(Tag::Model, p, &spec.model),
        Field {
            tag: Tag::Orientation,
            ifd_num: p,
            value: Value::Short(vec![orientation]),
        },
        ascii(Tag::DateTime, p, &stamp),
        ascii(Tag::Artist, p, "Hotshoe camsim"),
        ascii(
            Tag::Copyright,
            p,
            "Copyright Hotshoe camsim test images, free to use",
        ),
        Field {
            tag: Tag::ExifVersion,
            ifd_num: p,
            value: Value::Undefined(b"0232".to_vec(), 0),
        },
        ascii(Tag::DateTimeOriginal, p, &stamp),
        ascii(Tag::DateTimeDigitized, p, &stamp),
        ascii(Tag::SubSecTimeOriginal, p, &millis),
        ascii(Tag::OffsetTime, p, &offset),
        ascii(Tag::OffsetTimeOriginal, p, &offset),
        ascii(Tag::BodySerialNumber, p, &spec.serial),
        Field {
            tag: Tag::PixelXDimension,
            ifd_num: p,
            value: Value::Long(vec![spec.width]),
        },
        Field {
            tag: Tag::PixelYDimension,
            ifd_num: p,
            value: Value::Long(vec![spec.height]),
        },
    ];
    if let Some((lat, lon)) = spec.gps {
        fields.push(Field {
            tag: Tag::GPSVersionID,
            ifd_num: p,
            value: Value::Byte(vec![2, 3, 0, 0]),
        });
        fields.push(ascii(
            Tag::GPSLatitudeRef,
            p,
            if lat < 0.0 { "S" } else { "N" },
        ));
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: p,
            value: dms(lat),
        });
        fields.push(ascii(
            Tag::GPSLongitudeRef,
            p,
            if lon < 0.0 { "W" } else { "E" },
        ));
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: p,
            value: dms(lon),
        });
    }

    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    // Big-endian ("MM") like Canon and Nikon bodies write.
    writer
        .write(&mut out, false)
        .expect("writing EXIF to memory with fixed fields cannot fail");
    out.into_inner()
}

/// Puts `Exif\0\0` + `tiff` as APP1 straight after SOI, where EXIF readers expect it, and
/// drops the encoder's JFIF APP0: camera files carry EXIF, not JFIF.
fn splice_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut rest = &jpeg[2..];
    if rest.len() > 4 && rest[0] == 0xFF && rest[1] == 0xE0 {
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        rest = &rest[2 + len..];
    }
    let seg_len = u16::try_from(2 + 6 + tiff.len()).expect("EXIF block is a few hundred bytes");
    let mut out = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE1]);
    out.extend_from_slice(&seg_len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(w: u32, h: u32, orientation: u16) -> ShotSpec {
        ShotSpec {
            width: w,
            height: h,
            orientation,
            gps: Some((52.5163, -13.3777)),
            captured_at: time::macros::datetime!(2024-06-01 14:03:22.123 +02:00),
            ..ShotSpec::default()
        }
    }

    #[test]
    fn deterministic_and_varied() {
        let s = spec(320, 240, 1);
        assert_eq!(render_shot(7, &s), render_shot(7, &s));
        assert_ne!(render_shot(7, &s), render_shot(8, &s));
    }

    #[test]
    fn exif_is_first_segment_and_readable() {
        let jpeg = render_shot(3, &spec(320, 240, 6));
        assert_eq!(&jpeg[..4], &[0xFF, 0xD8, 0xFF, 0xE1]);
        assert_eq!(&jpeg[6..12], b"Exif\0\0");
        let exif = exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&jpeg))
            .unwrap();
        let get = |t| match exif.get_field(t, In::PRIMARY).map(|f| &f.value) {
            Some(Value::Ascii(v)) => Some(String::from_utf8_lossy(&v[0]).into_owned()),
            Some(other) => Some(format!("{other:?}")),
            None => None,
        };
        assert_eq!(
            exif.get_field(Tag::Orientation, In::PRIMARY)
                .unwrap()
                .value
                .get_uint(0),
            Some(6)
        );
        assert_eq!(get(Tag::SubSecTimeOriginal).as_deref(), Some("123"));
        assert_eq!(get(Tag::OffsetTimeOriginal).as_deref(), Some("+02:00"));
        assert_eq!(get(Tag::BodySerialNumber).as_deref(), Some("012345678901"));
        assert_eq!(get(Tag::GPSLongitudeRef).as_deref(), Some("W"));
        assert!(get(Tag::GPSLatitude).is_some());
    }

    #[test]
    fn sensor_mapping_is_a_bijection_for_every_orientation() {
        for o in 1..=8u16 {
            let (sw, sh) = (5, 3);
            let (dw, dh) = if o >= 5 { (sh, sw) } else { (sw, sh) };
            let mut seen = vec![false; sw * sh];
            for y in 0..dh {
                for x in 0..dw {
                    let (sx, sy) = sensor_pos(o, x, y, sw, sh);
                    assert!(
                        !seen[sy * sw + sx],
                        "orientation {o} maps twice to ({sx},{sy})"
                    );
                    seen[sy * sw + sx] = true;
                }
            }
        }
    }
}
