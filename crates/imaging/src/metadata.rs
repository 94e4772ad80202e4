//! EXIF in and out: reading the original's tags and writing the short list a published
//! copy may carry. Nothing is copied wholesale, so GPS, serials and maker notes cannot leak
//! through a tag we forgot about.

use exif::experimental::Writer;
use exif::{Context, Exif, Field, In, Tag, Value};

use crate::recipe::{Credits, MetadataPolicy};

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

/// Tags that identify the body or the place, dropped unless the policy is `Keep`.
const PRIVATE: [Tag; 6] = [
    Tag::BodySerialNumber,
    Tag::LensSerialNumber,
    Tag::CameraOwnerName,
    Tag::ImageUniqueID,
    // Maker notes hold serials and sometimes GPS, and their internal offsets break when
    // the block moves, so they never travel.
    Tag::MakerNote,
    Tag::UserComment,
];

/// Tags that stop being true once the pixels are resized and turned upright.
const STALE: [Tag; 5] = [
    Tag::Orientation,
    Tag::PixelXDimension,
    Tag::PixelYDimension,
    Tag::ImageWidth,
    Tag::ImageLength,
];

/// The TIFF block for a rendition, or `None` when it should carry no EXIF.
pub(crate) fn for_rendition(
    source: Option<&Exif>,
    policy: MetadataPolicy,
    credits: &Credits,
    size: (u32, u32),
) -> Option<Vec<u8>> {
    let mut fields: Vec<Field> = match (policy, source) {
        (MetadataPolicy::StripAll, _) => return None,
        (_, None) => Vec::new(),
        (MetadataPolicy::StripPrivate, Some(source)) => KEPT
            .iter()
            .filter_map(|&tag| source.get_field(tag, In::PRIMARY))
            // Only well-formed ASCII survives: anything else in these slots is not what the
            // tag means and could smuggle data through.
            .filter(|f| matches!(f.value, Value::Ascii(_)))
            .map(primary)
            .collect(),
        (MetadataPolicy::KeepExceptPrivate | MetadataPolicy::Keep, Some(source)) => {
            let keep_private = policy == MetadataPolicy::Keep;
            source
                .fields()
                .filter(|f| f.ifd_num == In::PRIMARY)
                .filter(|f| !STALE.contains(&f.tag))
                .filter(|f| f.tag != Tag::MakerNote)
                .filter(|f| {
                    keep_private || (f.tag.context() != Context::Gps && !PRIVATE.contains(&f.tag))
                })
                .map(primary)
                .collect()
        }
    };
    set_credits(&mut fields, credits);
    if fields.is_empty() {
        return None;
    }
    if fields.iter().any(|f| f.tag.context() == Context::Exif) {
        if !fields.iter().any(|f| f.tag == Tag::ExifVersion) {
            fields.push(ascii_free(
                Tag::ExifVersion,
                Value::Undefined(b"0232".to_vec(), 0),
            ));
        }
        fields.push(ascii_free(Tag::PixelXDimension, Value::Long(vec![size.0])));
        fields.push(ascii_free(Tag::PixelYDimension, Value::Long(vec![size.1])));
    }
    // Pixels are upright now; an explicit 1 overrides any stale belief in a viewer.
    fields.push(ascii_free(Tag::Orientation, Value::Short(vec![1])));

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

fn primary(f: &Field) -> Field {
    Field {
        tag: f.tag,
        ifd_num: In::PRIMARY,
        value: f.value.clone(),
    }
}

fn ascii_free(tag: Tag, value: Value) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    }
}

/// Replaces Artist, Copyright and ImageDescription with the recipe's credit lines.
fn set_credits(fields: &mut Vec<Field>, credits: &Credits) {
    let mut set = |tag: Tag, text: &Option<String>| {
        if let Some(text) = text {
            fields.retain(|f| f.tag != tag);
            fields.push(ascii_free(
                tag,
                Value::Ascii(vec![text.as_bytes().to_vec()]),
            ));
        }
    };
    set(Tag::Artist, &credits.artist);
    set(Tag::Copyright, &credits.copyright);
    set(Tag::ImageDescription, &credits.caption);
}

/// An XMP packet with the credit lines (IPTC Core properties), for the APP1 XMP segment
/// that galleries and DAMs read. `None` when there is nothing to say.
pub(crate) fn xmp(credits: &Credits) -> Option<Vec<u8>> {
    if credits.is_empty() {
        return None;
    }
    let mut body = String::new();
    let alt = |name: &str, v: &str| {
        format!(
            "<{name}><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></{name}>",
            escape(v)
        )
    };
    if let Some(a) = &credits.artist {
        body += &format!(
            "<dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>",
            escape(a)
        );
    }
    if let Some(c) = &credits.copyright {
        body += &alt("dc:rights", c);
    }
    if let Some(c) = &credits.caption {
        body += &alt("dc:description", c);
    }
    if let Some(c) = &credits.credit {
        body += &format!("<photoshop:Credit>{}</photoshop:Credit>", escape(c));
    }
    let packet = format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\">{body}</rdf:Description></rdf:RDF></x:xmpmeta>\
<?xpacket end=\"w\"?>"
    );
    Some(packet.into_bytes())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// IPTC-IIM datasets for the credit lines, with the IIM maximum lengths in bytes.
const IIM_BYLINE: (u8, usize) = (80, 32);
const IIM_CREDIT: (u8, usize) = (110, 32);
const IIM_COPYRIGHT: (u8, usize) = (116, 128);
const IIM_CAPTION: (u8, usize) = (120, 2000);

/// The body of an APP13 "Photoshop 3.0" segment holding one 8BIM 0x0404 resource with the
/// credit lines as IPTC-IIM: older DAMs, press agencies' ingest and Windows Explorer read
/// IIM but not XMP. `None` when there is nothing to say.
pub(crate) fn iptc(credits: &Credits) -> Option<Vec<u8>> {
    if credits.is_empty() {
        return None;
    }
    let mut iim = Vec::new();
    // 1:90 coded character set = ESC % G: the text below is UTF-8.
    push_iim(&mut iim, 1, 90, b"\x1b%G");
    // 2:00 record version 4, which readers expect before any other record-2 dataset.
    push_iim(&mut iim, 2, 0, &[0, 4]);
    for ((dataset, max), text) in [
        (IIM_BYLINE, &credits.artist),
        (IIM_CREDIT, &credits.credit),
        (IIM_COPYRIGHT, &credits.copyright),
        (IIM_CAPTION, &credits.caption),
    ] {
        if let Some(text) = text {
            push_iim(&mut iim, 2, dataset, truncate(text, max).as_bytes());
        }
    }
    let mut out = b"Photoshop 3.0\0".to_vec();
    out.extend_from_slice(b"8BIM");
    out.extend_from_slice(&0x0404u16.to_be_bytes());
    // Empty Pascal-string name, padded to an even length.
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(iim.len() as u32).to_be_bytes());
    out.extend_from_slice(&iim);
    if !iim.len().is_multiple_of(2) {
        out.push(0);
    }
    Some(out)
}

/// One IIM dataset: tag marker 0x1C, record, dataset, 16-bit length (all ours are ≤ 2000
/// bytes, so the extended-length form is never needed).
fn push_iim(out: &mut Vec<u8>, record: u8, dataset: u8, data: &[u8]) {
    out.extend_from_slice(&[0x1C, record, dataset]);
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary, so
/// a long caption never ends in half a UTF-8 sequence.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
