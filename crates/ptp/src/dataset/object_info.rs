//! ObjectInfo: what a file on the device is, before downloading it.

use super::{Reader, Writer};
use crate::error::WireError;

/// The ObjectInfo dataset (answer to GetObjectInfo 0x1008).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectInfo {
    pub storage_id: u32,
    /// See [`crate::codes::format`].
    pub object_format: u16,
    /// 0 none, 1 read-only.
    pub protection_status: u16,
    /// 0xFFFFFFFF for objects of 4 GiB or more; the real size then comes from
    /// the data phase (or MTP property 0xDC04).
    pub object_compressed_size: u32,
    pub thumb_format: u16,
    pub thumb_compressed_size: u32,
    pub thumb_pix_width: u32,
    pub thumb_pix_height: u32,
    pub image_pix_width: u32,
    pub image_pix_height: u32,
    pub image_bit_depth: u32,
    /// 0 when the object sits at the root.
    pub parent_object: u32,
    pub association_type: u16,
    pub association_desc: u32,
    pub sequence_number: u32,
    pub filename: String,
    /// "YYYYMMDDThhmmss[.s][Z|±hhmm]" as sent; often empty or local time without zone.
    pub capture_date: String,
    pub modification_date: String,
    pub keywords: String,
}

impl ObjectInfo {
    /// Parses the dataset. The date and keyword strings may be missing
    /// entirely (some devices stop after the filename); they read as empty.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        Ok(Self {
            storage_id: r.u32()?,
            object_format: r.u16()?,
            protection_status: r.u16()?,
            object_compressed_size: r.u32()?,
            thumb_format: r.u16()?,
            thumb_compressed_size: r.u32()?,
            thumb_pix_width: r.u32()?,
            thumb_pix_height: r.u32()?,
            image_pix_width: r.u32()?,
            image_pix_height: r.u32()?,
            image_bit_depth: r.u32()?,
            parent_object: r.u32()?,
            association_type: r.u16()?,
            association_desc: r.u32()?,
            sequence_number: r.u32()?,
            filename: r.string()?,
            capture_date: r.trailing_string()?,
            modification_date: r.trailing_string()?,
            keywords: r.trailing_string()?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.storage_id)
            .u16(self.object_format)
            .u16(self.protection_status)
            .u32(self.object_compressed_size)
            .u16(self.thumb_format)
            .u32(self.thumb_compressed_size)
            .u32(self.thumb_pix_width)
            .u32(self.thumb_pix_height)
            .u32(self.image_pix_width)
            .u32(self.image_pix_height)
            .u32(self.image_bit_depth)
            .u32(self.parent_object)
            .u16(self.association_type)
            .u32(self.association_desc)
            .u32(self.sequence_number)
            .string(&self.filename)
            .string(&self.capture_date)
            .string(&self.modification_date)
            .string(&self.keywords);
        w.into_inner()
    }

    /// True for folders (format 0x3001 Association).
    pub fn is_association(&self) -> bool {
        self.object_format == crate::codes::format::ASSOCIATION
    }
}
