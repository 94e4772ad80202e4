//! DeviceInfo: who the device is and what it supports.

use super::{Reader, Writer};
use crate::error::WireError;

/// The DeviceInfo dataset (answer to GetDeviceInfo 0x1001).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    /// PTP version × 100 (100 = 1.00).
    pub standard_version: u16,
    /// 0x06 Microsoft/MTP, 0x0A Nikon, 0x0B Canon, 0x11 Sony...
    pub vendor_extension_id: u32,
    pub vendor_extension_version: u16,
    pub vendor_extension_desc: String,
    pub functional_mode: u16,
    pub operations_supported: Vec<u16>,
    pub events_supported: Vec<u16>,
    pub device_properties_supported: Vec<u16>,
    pub capture_formats: Vec<u16>,
    pub image_formats: Vec<u16>,
    pub manufacturer: String,
    pub model: String,
    pub device_version: String,
    pub serial_number: String,
}

impl DeviceInfo {
    /// Parses the dataset; bytes after it (vendor additions) are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        Ok(Self {
            standard_version: r.u16()?,
            vendor_extension_id: r.u32()?,
            vendor_extension_version: r.u16()?,
            vendor_extension_desc: r.string()?,
            functional_mode: r.u16()?,
            operations_supported: r.array_u16()?,
            events_supported: r.array_u16()?,
            device_properties_supported: r.array_u16()?,
            capture_formats: r.array_u16()?,
            image_formats: r.array_u16()?,
            manufacturer: r.string()?,
            model: r.string()?,
            device_version: r.trailing_string()?,
            serial_number: r.trailing_string()?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16(self.standard_version)
            .u32(self.vendor_extension_id)
            .u16(self.vendor_extension_version)
            .string(&self.vendor_extension_desc)
            .u16(self.functional_mode)
            .array_u16(&self.operations_supported)
            .array_u16(&self.events_supported)
            .array_u16(&self.device_properties_supported)
            .array_u16(&self.capture_formats)
            .array_u16(&self.image_formats)
            .string(&self.manufacturer)
            .string(&self.model)
            .string(&self.device_version)
            .string(&self.serial_number);
        w.into_inner()
    }

    pub fn supports_operation(&self, code: u16) -> bool {
        self.operations_supported.contains(&code)
    }

    pub fn supports_event(&self, code: u16) -> bool {
        self.events_supported.contains(&code)
    }

    pub fn supports_property(&self, code: u16) -> bool {
        self.device_properties_supported.contains(&code)
    }
}
