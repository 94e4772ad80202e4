//! Finding cameras on the USB bus without opening them.

use nusb::descriptors::{ConfigurationDescriptor, TransferType};
use nusb::transfer::Direction;
use nusb::DeviceInfo;
use tracing::trace;

use crate::usb::error::UsbError;
use crate::usb::matching::{self, EndpointKind, InterfaceFacts, MatchReason};

/// A camera found on the bus, with what is known before opening it.
#[derive(Debug, Clone)]
pub struct UsbCameraInfo {
    pub vendor_id: u16,
    pub product_id: u16,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
    /// The bus (host controller) as the OS names it ("001" on Linux).
    pub bus_id: String,
    /// Hub ports from the root hub down: the socket the cable is in.
    pub port_chain: Vec<u8>,
    /// Changes on every replug.
    pub device_address: u8,
    /// The PTP interface number.
    pub interface: u8,
    pub match_reason: MatchReason,
    device: DeviceInfo,
}

impl UsbCameraInfo {
    /// Where the camera is plugged, as the kernel log says it: "usb 1-2.3".
    pub fn location(&self) -> String {
        let bus = self.bus_id.trim_start_matches('0');
        let bus = if bus.is_empty() { "0" } else { bus };
        if self.port_chain.is_empty() {
            return format!("usb {bus}, address {}", self.device_address);
        }
        let ports: Vec<String> = self.port_chain.iter().map(u8::to_string).collect();
        format!("usb {bus}-{}", ports.join("."))
    }

    /// An identity that survives replugging: the serial number when the
    /// camera has one, else the socket (bus and port chain).
    pub fn key(&self) -> String {
        match self.serial.as_deref().map(str::trim) {
            Some(sn) if !sn.is_empty() => {
                format!("{:04x}:{:04x}:{sn}", self.vendor_id, self.product_id)
            }
            _ => {
                let ports: Vec<String> = self.port_chain.iter().map(u8::to_string).collect();
                format!(
                    "{:04x}:{:04x}@{}-{}",
                    self.vendor_id,
                    self.product_id,
                    self.bus_id,
                    ports.join(".")
                )
            }
        }
    }

    /// "Canon EOS R6" from the USB strings, or "04a9:32f5" without them.
    pub fn display_name(&self) -> String {
        match (&self.manufacturer, &self.product) {
            (_, Some(p)) if p.contains(' ') || self.manufacturer.is_none() => p.clone(),
            (Some(m), Some(p)) => format!("{m} {p}"),
            _ => format!("{:04x}:{:04x}", self.vendor_id, self.product_id),
        }
    }

    /// The OS's identity of this attachment (new on every replug); what
    /// hotplug removal events name.
    pub fn device_id(&self) -> nusb::DeviceId {
        self.device.id()
    }

    pub(crate) fn device_info(&self) -> &DeviceInfo {
        &self.device
    }

    /// The usbfs bus number, where the OS has one.
    pub(crate) fn busnum(&self) -> Option<u8> {
        #[cfg(target_os = "linux")]
        {
            Some(self.device.busnum())
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }

    /// Builds the info when `device` has a camera interface.
    pub fn from_device(device: DeviceInfo) -> Option<Self> {
        let layouts = endpoint_layouts(&device);
        let facts: Vec<InterfaceFacts> = device
            .interfaces()
            .map(|i| InterfaceFacts {
                number: i.interface_number(),
                class: i.class(),
                subclass: i.subclass(),
                protocol: i.protocol(),
                name: i.interface_string().map(str::to_string),
                ptp_layout: layouts
                    .as_ref()
                    .map(|l| l.iter().any(|(n, ok)| *n == i.interface_number() && *ok)),
            })
            .collect();
        let (interface, match_reason) = matching::match_camera(device.vendor_id(), &facts)?;
        trace!(
            vendor = device.vendor_id(),
            product = device.product_id(),
            interface,
            ?match_reason,
            "camera interface"
        );
        Some(Self {
            vendor_id: device.vendor_id(),
            product_id: device.product_id(),
            manufacturer: device.manufacturer_string().map(str::to_string),
            product: device.product_string().map(str::to_string),
            serial: device.serial_number().map(str::to_string),
            bus_id: device.bus_id().to_string(),
            port_chain: device.port_chain().to_vec(),
            device_address: device.device_address(),
            interface,
            match_reason,
            device,
        })
    }
}

/// Every camera on the bus, in the OS's enumeration order.
pub async fn list_cameras() -> Result<Vec<UsbCameraInfo>, UsbError> {
    let devices = nusb::list_devices()
        .await
        .map_err(|e| UsbError::Io(format!("listing USB devices: {e}")))?;
    Ok(devices.filter_map(UsbCameraInfo::from_device).collect())
}

/// Per interface number: whether some alternate setting has the PTP
/// layout. Read from the cached descriptors Linux exposes in sysfs (readable
/// without access to the device node); `None` elsewhere, where the layout
/// is only checked when the device is opened.
fn endpoint_layouts(device: &DeviceInfo) -> Option<Vec<(u8, bool)>> {
    #[cfg(target_os = "linux")]
    {
        let raw = std::fs::read(device.sysfs_path().join("descriptors")).ok()?;
        Some(layouts_from_descriptors(&raw))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = device;
        None
    }
}

/// Length of the device descriptor that starts sysfs's `descriptors` file.
const DEVICE_DESCRIPTOR_LEN: usize = 18;

/// Interface layouts from a device descriptor followed by configuration
/// descriptors (the sysfs `descriptors` format).
pub fn layouts_from_descriptors(raw: &[u8]) -> Vec<(u8, bool)> {
    let mut out: Vec<(u8, bool)> = Vec::new();
    let mut rest = raw.get(DEVICE_DESCRIPTOR_LEN..).unwrap_or_default();
    while let Some(config) = ConfigurationDescriptor::new(rest) {
        for alt in config.interface_alt_settings() {
            let ok = matching::has_ptp_layout(alt.endpoints().map(|ep| {
                match (ep.direction(), ep.transfer_type()) {
                    (Direction::In, TransferType::Bulk) => EndpointKind::BulkIn,
                    (Direction::Out, TransferType::Bulk) => EndpointKind::BulkOut,
                    (Direction::In, TransferType::Interrupt) => EndpointKind::InterruptIn,
                    _ => EndpointKind::Other,
                }
            }));
            match out.iter_mut().find(|(n, _)| *n == alt.interface_number()) {
                Some(entry) => entry.1 |= ok,
                None => out.push((alt.interface_number(), ok)),
            }
        }
        let len = config.as_bytes().len();
        if len == 0 {
            break;
        }
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Device descriptor + one configuration with a PTP interface (0) and a
    /// HID-like interface (1) with only an interrupt endpoint.
    fn descriptors() -> Vec<u8> {
        let mut d = vec![
            18, 1, 0, 2, 0, 0, 0, 64, 0xa9, 0x04, 0xf5, 0x32, 0, 1, 1, 2, 3, 1,
        ];
        let mut cfg = vec![9, 2, 0, 0, 2, 1, 0, 0xC0, 1];
        cfg.extend([9, 4, 0, 0, 3, 6, 1, 1, 0]);
        cfg.extend([7, 5, 0x81, 2, 0, 2, 0]);
        cfg.extend([7, 5, 0x02, 2, 0, 2, 0]);
        cfg.extend([7, 5, 0x83, 3, 64, 0, 8]);
        cfg.extend([9, 4, 1, 0, 1, 3, 0, 0, 0]);
        cfg.extend([7, 5, 0x84, 3, 8, 0, 8]);
        let total = cfg.len() as u16;
        cfg[2..4].copy_from_slice(&total.to_le_bytes());
        d.extend(cfg);
        d
    }

    #[test]
    fn layout_read_from_sysfs_style_descriptors() {
        assert_eq!(
            layouts_from_descriptors(&descriptors()),
            vec![(0, true), (1, false)]
        );
    }

    #[test]
    fn truncated_descriptors_yield_nothing() {
        assert!(layouts_from_descriptors(&descriptors()[..20]).is_empty());
        assert!(layouts_from_descriptors(&[]).is_empty());
    }
}
