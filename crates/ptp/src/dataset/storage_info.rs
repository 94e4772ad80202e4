//! StorageInfo: capacity and free space of one store (card).

use super::{Reader, Writer};
use crate::error::WireError;

/// The StorageInfo dataset (answer to GetStorageInfo 0x1005).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageInfo {
    /// 1 fixed ROM, 2 removable ROM, 3 fixed RAM, 4 removable RAM.
    pub storage_type: u16,
    /// 1 flat, 2 generic hierarchical, 3 DCF.
    pub filesystem_type: u16,
    /// 0 read-write, 1 read-only without delete, 2 read-only with delete.
    pub access_capability: u16,
    pub max_capacity: u64,
    pub free_space_bytes: u64,
    /// 0xFFFFFFFF when the device does not estimate it.
    pub free_space_images: u32,
    pub description: String,
    pub volume_label: String,
}

impl StorageInfo {
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        Ok(Self {
            storage_type: r.u16()?,
            filesystem_type: r.u16()?,
            access_capability: r.u16()?,
            max_capacity: r.u64()?,
            free_space_bytes: r.u64()?,
            free_space_images: r.u32()?,
            description: r.trailing_string()?,
            volume_label: r.trailing_string()?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16(self.storage_type)
            .u16(self.filesystem_type)
            .u16(self.access_capability)
            .u64(self.max_capacity)
            .u64(self.free_space_bytes)
            .u32(self.free_space_images)
            .string(&self.description)
            .string(&self.volume_label);
        w.into_inner()
    }
}
