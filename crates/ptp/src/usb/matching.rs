//! Which USB interface of a device, if any, is a camera's PTP interface.
//! Pure: it works on interface facts gathered elsewhere, so it is tested
//! without a device.

/// USB interface class "Still Image" (PTP).
pub const CLASS_STILL_IMAGE: u8 = 6;
/// Vendor-specific interface class, used by some cameras and by MTP devices.
pub const CLASS_VENDOR_SPECIFIC: u8 = 0xFF;

/// Vendors whose vendor-class interfaces are worth treating as PTP when
/// they have the PTP endpoint layout (some bodies in "PC mode" do not
/// announce class 6).
pub const CAMERA_VENDORS: &[(u16, &str)] = &[
    (0x04a9, "Canon"),
    (0x04b0, "Nikon"),
    (0x054c, "Sony"),
    (0x04cb, "Fujifilm"),
    (0x04da, "Panasonic"),
    (0x07b4, "Olympus"),
    (0x33a2, "OM System"),
    (0x25fb, "Ricoh/Pentax"),
    (0x1a98, "Leica"),
    (0x1003, "Sigma"),
];

/// True when `vendor_id` belongs to a camera maker in [`CAMERA_VENDORS`].
pub fn is_camera_vendor(vendor_id: u16) -> bool {
    CAMERA_VENDORS.iter().any(|(id, _)| *id == vendor_id)
}

/// What is known about one interface before opening the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceFacts {
    pub number: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    /// The interface string descriptor, when the OS cached it.
    pub name: Option<String>,
    /// Whether the interface has bulk IN + bulk OUT + interrupt IN endpoints;
    /// `None` when the descriptors could not be read without opening.
    pub ptp_layout: Option<bool>,
}

/// Why an interface was taken for a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchReason {
    /// Class 6 / subclass 1 / protocol 1.
    StillImage,
    /// Vendor-class interface named "MTP".
    MtpString,
    /// Vendor-class interface of a known camera maker with the PTP layout.
    CameraVendorLayout,
}

/// The interface to use as the camera's PTP interface, best first: a
/// Still Image interface beats an "MTP" one, which beats the vendor heuristic.
pub fn match_camera(vendor_id: u16, interfaces: &[InterfaceFacts]) -> Option<(u8, MatchReason)> {
    let by = |reason: MatchReason| {
        interfaces
            .iter()
            .find(|i| matches_reason(vendor_id, i, reason))
            .map(|i| (i.number, reason))
    };
    by(MatchReason::StillImage)
        .or_else(|| by(MatchReason::MtpString))
        .or_else(|| by(MatchReason::CameraVendorLayout))
}

fn matches_reason(vendor_id: u16, i: &InterfaceFacts, reason: MatchReason) -> bool {
    match reason {
        MatchReason::StillImage => {
            i.class == CLASS_STILL_IMAGE && i.subclass == 1 && i.protocol == 1
        }
        MatchReason::MtpString => {
            i.class == CLASS_VENDOR_SPECIFIC
                && i.name.as_deref().map(str::trim) == Some("MTP")
                // An "MTP" interface without the layout (known) is something else.
                && i.ptp_layout != Some(false)
        }
        MatchReason::CameraVendorLayout => {
            // Without descriptors the layout is checked again at open; only a
            // known camera maker earns the benefit of the doubt.
            i.class == CLASS_VENDOR_SPECIFIC
                && is_camera_vendor(vendor_id)
                && i.ptp_layout != Some(false)
        }
    }
}

/// Endpoint facts needed to judge the layout: (address, transfer type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    BulkIn,
    BulkOut,
    InterruptIn,
    Other,
}

/// True when the endpoints include bulk IN, bulk OUT and interrupt IN.
pub fn has_ptp_layout(endpoints: impl IntoIterator<Item = EndpointKind>) -> bool {
    let (mut bin, mut bout, mut iin) = (false, false, false);
    for e in endpoints {
        match e {
            EndpointKind::BulkIn => bin = true,
            EndpointKind::BulkOut => bout = true,
            EndpointKind::InterruptIn => iin = true,
            EndpointKind::Other => {}
        }
    }
    bin && bout && iin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(number: u8, class: u8, sub: u8, proto: u8) -> InterfaceFacts {
        InterfaceFacts {
            number,
            class,
            subclass: sub,
            protocol: proto,
            name: None,
            ptp_layout: None,
        }
    }

    #[test]
    fn still_image_interface_matches_any_vendor() {
        let ifs = [iface(0, 6, 1, 1)];
        assert_eq!(
            match_camera(0x46f4, &ifs),
            Some((0, MatchReason::StillImage))
        );
    }

    #[test]
    fn still_image_wins_over_vendor_interface() {
        let ifs = [iface(0, 0xFF, 0, 0), iface(1, 6, 1, 1)];
        assert_eq!(
            match_camera(0x04a9, &ifs),
            Some((1, MatchReason::StillImage))
        );
    }

    #[test]
    fn mtp_named_vendor_interface_matches() {
        let mut i = iface(2, 0xFF, 0xFF, 0);
        i.name = Some("MTP".into());
        assert_eq!(
            match_camera(0x18d1, &[i.clone()]),
            Some((2, MatchReason::MtpString))
        );
        i.ptp_layout = Some(false);
        assert_eq!(match_camera(0x18d1, &[i]), None);
    }

    #[test]
    fn vendor_class_needs_camera_vendor_and_layout() {
        let mut i = iface(0, 0xFF, 0, 0);
        i.ptp_layout = Some(true);
        assert_eq!(
            match_camera(0x054c, &[i.clone()]),
            Some((0, MatchReason::CameraVendorLayout))
        );
        // A keyboard maker's vendor interface is not a camera.
        assert_eq!(match_camera(0x046d, &[i.clone()]), None);
        i.ptp_layout = Some(false);
        assert_eq!(match_camera(0x054c, &[i]), None);
    }

    #[test]
    fn mass_storage_and_hid_do_not_match() {
        let ifs = [iface(0, 8, 6, 0x50), iface(1, 3, 0, 0)];
        assert_eq!(match_camera(0x04a9, &ifs), None);
    }

    #[test]
    fn layout_needs_all_three_pipes() {
        use EndpointKind::*;
        assert!(has_ptp_layout([BulkIn, BulkOut, InterruptIn]));
        assert!(has_ptp_layout([InterruptIn, Other, BulkOut, BulkIn]));
        assert!(!has_ptp_layout([BulkIn, BulkOut]));
        assert!(!has_ptp_layout([]));
    }
}
