//! The Still Image class "Get Device Status" reply (request 0x67): a response
//! code and, after a failed transfer, the endpoints the device stalled.

use crate::codes;

/// A parsed Get Device Status reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    /// A PTP response code: 0x2001 OK, 0x2019 DeviceBusy, 0x201F TransactionCancelled...
    pub code: u16,
    /// The parameters after the code; for a stall, the endpoint addresses.
    pub params: Vec<u32>,
}

impl DeviceStatus {
    /// Parses a reply: `u16 wLength, u16 code, u32 params...`. Only
    /// `min(bytes.len(), wLength)` bytes count, because some devices pad the
    /// reply to the requested length with garbage (mtp-rs `parse_device_status`
    /// does the same). `None` when fewer than 4 bytes remain: the device does
    /// not really implement the request.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let declared = usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]));
        let usable = &bytes[..bytes.len().min(declared)];
        if usable.len() < 4 {
            return None;
        }
        let code = u16::from_le_bytes([usable[2], usable[3]]);
        let params = usable[4..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some(Self { code, params })
    }

    /// True while the device is still finishing the cancelled transaction.
    pub fn is_busy(&self) -> bool {
        self.code == codes::response::DEVICE_BUSY
    }

    /// Endpoint addresses the device reports as halted: the low byte of each
    /// parameter, zeros skipped (a device may pad the list).
    pub fn stalled_endpoints(&self) -> Vec<u8> {
        self.params
            .iter()
            .map(|p| (*p & 0xFF) as u8)
            .filter(|ep| *ep != 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_without_params() {
        let st = DeviceStatus::parse(&[4, 0, 0x01, 0x20]).unwrap();
        assert_eq!(st.code, 0x2001);
        assert!(st.params.is_empty());
        assert!(!st.is_busy());
    }

    #[test]
    fn busy_with_stalled_endpoints() {
        let mut b = vec![12, 0, 0x19, 0x20];
        b.extend_from_slice(&0x81u32.to_le_bytes());
        b.extend_from_slice(&0x02u32.to_le_bytes());
        let st = DeviceStatus::parse(&b).unwrap();
        assert!(st.is_busy());
        assert_eq!(st.stalled_endpoints(), vec![0x81, 0x02]);
    }

    #[test]
    fn padding_beyond_wlength_is_ignored() {
        let mut b = vec![8, 0, 0x01, 0x20, 0x81, 0, 0, 0];
        b.extend_from_slice(&[0xAA; 56]);
        let st = DeviceStatus::parse(&b).unwrap();
        assert_eq!(st.params, vec![0x81]);
    }

    #[test]
    fn reply_shorter_than_declared_uses_what_arrived() {
        let b = [64, 0, 0x19, 0x20, 0x83, 0, 0, 0, 0x01];
        let st = DeviceStatus::parse(&b).unwrap();
        assert_eq!(st.params, vec![0x83]);
    }

    #[test]
    fn too_short_means_unsupported() {
        assert_eq!(DeviceStatus::parse(&[]), None);
        assert_eq!(DeviceStatus::parse(&[4, 0, 1]), None);
        assert_eq!(DeviceStatus::parse(&[2, 0, 0x01, 0x20]), None);
    }
}
