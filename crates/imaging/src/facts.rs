//! Cheap facts about an original from its headers and EXIF, without decoding pixels.

use exif::{Context, Exif, Tag};

use crate::{container, metadata, orient, ImagingError};

/// What an original says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Width as stored (before orientation).
    pub width: u32,
    /// Height as stored (before orientation).
    pub height: u32,
    /// EXIF Orientation 1–8; 1 if absent.
    pub orientation: u16,
    pub make: Option<String>,
    pub model: Option<String>,
    /// BodySerialNumber (EXIF 0xA431).
    pub serial: Option<String>,
    /// Capture time from DateTimeOriginal, as `YYYY-MM-DDTHH:MM:SS[.mmm][±HH:MM]`: RFC 3339
    /// when the camera recorded its UTC offset (OffsetTimeOriginal); milliseconds from
    /// SubSecTimeOriginal when present. Falls back to DateTime with its own sub-second and
    /// offset tags.
    pub captured_at: Option<String>,
    /// Whether the GPS IFD holds a latitude or longitude.
    pub has_gps: bool,
}

impl Facts {
    /// Size as a viewer shows it, after applying the orientation.
    pub fn oriented_size(&self) -> (u32, u32) {
        orient::oriented_size(self.orientation, self.width, self.height)
    }
}

/// Reads the facts of a JPEG from its headers and EXIF only.
pub fn probe(original: &[u8]) -> Result<Facts, ImagingError> {
    let header = container::read_header(original)?;
    let exif = metadata::parse(header.exif);
    let mut facts = Facts {
        width: header.width,
        height: header.height,
        orientation: metadata::orientation(exif.as_ref()),
        ..Facts::default()
    };
    if let Some(exif) = &exif {
        facts.make = metadata::text(exif, Tag::Make);
        facts.model = metadata::text(exif, Tag::Model);
        facts.serial = metadata::text(exif, Tag::BodySerialNumber);
        facts.captured_at = captured_at(exif);
        facts.has_gps = exif.fields().any(|f| {
            f.tag.context() == Context::Gps && matches!(f.tag, Tag::GPSLatitude | Tag::GPSLongitude)
        });
    }
    Ok(facts)
}

fn captured_at(exif: &Exif) -> Option<String> {
    let original = (
        Tag::DateTimeOriginal,
        Tag::SubSecTimeOriginal,
        Tag::OffsetTimeOriginal,
    );
    let modified = (Tag::DateTime, Tag::SubSecTime, Tag::OffsetTime);
    [original, modified]
        .into_iter()
        .find_map(|(stamp, subsec, offset)| {
            let stamp = metadata::text(exif, stamp)?;
            format_time(
                &stamp,
                metadata::text(exif, subsec).as_deref(),
                metadata::text(exif, offset).as_deref(),
            )
        })
}

/// `2024:06:01 14:03:22` + `123` + `+02:00` → `2024-06-01T14:03:22.123+02:00`.
/// Cameras with an unset clock write all-blank or all-zero stamps: those yield `None`.
fn format_time(stamp: &str, subsec: Option<&str>, offset: Option<&str>) -> Option<String> {
    let b = stamp.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|_| &stamp[r])
    };
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (h, mi, s) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if y == "0000" || mo == "00" || d == "00" {
        return None;
    }
    let mut out = format!("{y}-{mo}-{d}T{h}:{mi}:{s}");
    // SubSec is a decimal fraction of any length ("1" is 100 ms): pad or cut to millis.
    if let Some(frac) = subsec
        .map(str::trim)
        .filter(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()))
    {
        let mut ms: String = frac.chars().take(3).collect();
        while ms.len() < 3 {
            ms.push('0');
        }
        out.push('.');
        out.push_str(&ms);
    }
    if let Some(off) = offset.filter(|o| is_offset(o)) {
        out.push_str(off);
    }
    Some(out)
}

/// `+HH:MM` or `-HH:MM`, as EXIF 2.31 defines OffsetTime*.
fn is_offset(o: &str) -> bool {
    let b = o.as_bytes();
    b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[3] == b':'
        && b[4..6].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn formats_exif_times() {
        assert_eq!(
            format_time("2024:06:01 14:03:22", Some("123"), Some("+02:00")).unwrap(),
            "2024-06-01T14:03:22.123+02:00"
        );
        assert_eq!(
            format_time("2024:06:01 14:03:22", Some("5"), None).unwrap(),
            "2024-06-01T14:03:22.500"
        );
        assert_eq!(
            format_time("2024:06:01 14:03:22", Some("12345"), Some("-05:30")).unwrap(),
            "2024-06-01T14:03:22.123-05:30"
        );
        assert_eq!(
            format_time("2024:06:01 14:03:22", None, Some("bogus")).unwrap(),
            "2024-06-01T14:03:22"
        );
        assert_eq!(format_time("0000:00:00 00:00:00", None, None), None);
        assert_eq!(format_time("    :  :     :  :  ", None, None), None);
    }
}
