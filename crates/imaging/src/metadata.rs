//! EXIF in and out: reading the original's tags and writing the short list a published
//! copy may carry. Nothing is copied wholesale, so GPS, serials and maker notes cannot leak
//! through a tag we forgot about.

use exif::experimental::Writer;
use exif::{Exif, Field, In, Tag, Value};

use crate::MetadataPolicy;

/// Tags a `StripPrivate` rendition keeps: who made it with what, and when.
const KEPT: [Tag; 7] = [
    Tag::Make,
    Tag::Model,
    Tag::DateTimeOriginal,
    Tag::SubSecTimeOriginal,
    Tag::OffsetTimeOriginal,
    Tag::Artist,
    Tag::Copyright,
];

/// Parses a TIFF block. Damaged EXIF is common enough (phone editors, old firmware) that it
/// must not cost the photo its rendition: it is logged and treated as absent.
pub(crate) fn parse(tiff: Option<&[u8]>) -> Option<Exif> {
    let tiff = tiff?;
    match exif::Reader::new().read_raw(tiff.to_vec()) {
        Ok(exif) => Some(exif),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring unreadable EXIF");
            None
        }
    }
}

/// EXIF Orientation 1–8 of the primary image; 1 when absent or out of range.
pub(crate) fn orientation(exif: Option<&Exif>) -> u16 {
    exif.and_then(|e| e.get_field(Tag::Orientation, In::PRIMARY))
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .map_or(1, |o| o as u16)
}

/// The first string of an ASCII tag, without the padding NULs and spaces cameras add.
pub(crate) fn text(exif: &Exif, tag: Tag) -> Option<String> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(parts) => {
            let s = String::from_utf8_lossy(parts.first()?);
            let s = s.trim_end_matches(['\0', ' ']).trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        _ => None,
    }
}

/// The TIFF block for a rendition, or `None` when it should carry no EXIF.
pub(crate) fn for_rendition(source: Option<&Exif>, policy: MetadataPolicy) -> Option<Vec<u8>> {
    let source = match policy {
        MetadataPolicy::StripAll => return None,
        MetadataPolicy::StripPrivate => source?,
    };
    let mut fields: Vec<Field> = KEPT
        .iter()
        .filter_map(|&tag| source.get_field(tag, In::PRIMARY))
        // Only well-formed ASCII survives: anything else in these slots is not what the
        // tag means and could smuggle data through.
        .filter(|f| matches!(f.value, Value::Ascii(_)))
        .map(|f| Field {
            tag: f.tag,
            ifd_num: In::PRIMARY,
            value: f.value.clone(),
        })
        .collect();
    if fields.is_empty() {
        return None;
    }
    if fields
        .iter()
        .any(|f| f.tag.context() == exif::Context::Exif)
    {
        fields.push(Field {
            tag: Tag::ExifVersion,
            ifd_num: In::PRIMARY,
            value: Value::Undefined(b"0232".to_vec(), 0),
        });
    }
    // Pixels are upright now; an explicit 1 overrides any stale belief in a viewer.
    fields.push(Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![1]),
    });

    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    match writer.write(&mut out, false) {
        Ok(()) => Some(out.into_inner()),
        Err(e) => {
            // Losing the credit line is better than failing the photo.
            tracing::warn!(error = %e, "could not write rendition EXIF; publishing without");
            None
        }
    }
}
