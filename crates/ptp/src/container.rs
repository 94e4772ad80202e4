//! PTP containers: the 12-byte header shared by all four kinds, and the
//! parameter-carrying Command, Response and Event containers.

use crate::error::WireError;

/// Bytes in a container header: length u32, kind u16, code u16, transaction id u32.
pub const HEADER_LEN: usize = 12;
/// Most parameters a command, response or event container carries.
pub const MAX_PARAMS: usize = 5;
/// Longest non-data container.
pub const MAX_PARAM_CONTAINER_LEN: usize = HEADER_LEN + 4 * MAX_PARAMS;
/// Data container length meaning "until a short packet" (objects over 4 GiB).
pub const UNKNOWN_LENGTH: u32 = 0xFFFF_FFFF;

/// The container type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ContainerKind {
    Command = 1,
    Data = 2,
    Response = 3,
    Event = 4,
}

impl ContainerKind {
    pub fn from_u16(value: u16) -> Option<Self> {
        match value {
            1 => Some(Self::Command),
            2 => Some(Self::Data),
            3 => Some(Self::Response),
            4 => Some(Self::Event),
            _ => None,
        }
    }
}

/// The header every container starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerHeader {
    /// Whole container length including this header, or [`UNKNOWN_LENGTH`] for data.
    pub length: u32,
    pub kind: ContainerKind,
    pub code: u16,
    pub transaction_id: u32,
}

impl ContainerHeader {
    /// Parses and validates the first [`HEADER_LEN`] bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let head = bytes.get(..HEADER_LEN).ok_or(WireError::Truncated {
            needed: HEADER_LEN,
            offset: 0,
            available: bytes.len(),
        })?;
        let length = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let kind_raw = u16::from_le_bytes([head[4], head[5]]);
        let code = u16::from_le_bytes([head[6], head[7]]);
        let transaction_id = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        let kind = ContainerKind::from_u16(kind_raw)
            .ok_or_else(|| WireError::Invalid(format!("unknown container type {kind_raw}")))?;
        if (length as usize) < HEADER_LEN {
            return Err(WireError::Invalid(format!(
                "container length {length} is shorter than its header"
            )));
        }
        if kind != ContainerKind::Data {
            let len = length as usize;
            if len > MAX_PARAM_CONTAINER_LEN || !(len - HEADER_LEN).is_multiple_of(4) {
                return Err(WireError::Invalid(format!(
                    "{kind:?} container length {length} is not 12 + 4×(0..=5)"
                )));
            }
        }
        Ok(Self {
            length,
            kind,
            code,
            transaction_id,
        })
    }

    /// The header of a data container carrying `payload_len` bytes; payloads
    /// too long for the length field use [`UNKNOWN_LENGTH`].
    pub fn data(code: u16, transaction_id: u32, payload_len: u64) -> Self {
        let length = u32::try_from(payload_len + HEADER_LEN as u64)
            .ok()
            .filter(|&l| l != UNKNOWN_LENGTH)
            .unwrap_or(UNKNOWN_LENGTH);
        Self {
            length,
            kind: ContainerKind::Data,
            code,
            transaction_id,
        }
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&self.length.to_le_bytes());
        out[4..6].copy_from_slice(&(self.kind as u16).to_le_bytes());
        out[6..8].copy_from_slice(&self.code.to_le_bytes());
        out[8..12].copy_from_slice(&self.transaction_id.to_le_bytes());
        out
    }

    /// Payload bytes after the header, or `None` when the length is unknown.
    pub fn payload_len(&self) -> Option<u32> {
        (self.length != UNKNOWN_LENGTH).then(|| self.length.saturating_sub(HEADER_LEN as u32))
    }
}

fn encode_params(
    kind: ContainerKind,
    code: u16,
    transaction_id: u32,
    params: &[u32],
) -> Result<Vec<u8>, WireError> {
    if params.len() > MAX_PARAMS {
        return Err(WireError::TooManyParams(params.len()));
    }
    let length = (HEADER_LEN + 4 * params.len()) as u32;
    let mut out = Vec::with_capacity(length as usize);
    out.extend_from_slice(
        &ContainerHeader {
            length,
            kind,
            code,
            transaction_id,
        }
        .encode(),
    );
    for p in params {
        out.extend_from_slice(&p.to_le_bytes());
    }
    Ok(out)
}

/// Decodes a whole parameter container; `bytes` must be exactly the container.
fn decode_params(expected: ContainerKind, bytes: &[u8]) -> Result<(u16, u32, Vec<u32>), WireError> {
    let header = ContainerHeader::parse(bytes)?;
    if header.kind != expected {
        return Err(WireError::Invalid(format!(
            "expected a {expected:?} container, got {:?}",
            header.kind
        )));
    }
    if header.length as usize != bytes.len() {
        return Err(WireError::Invalid(format!(
            "container claims {} bytes but {} were received",
            header.length,
            bytes.len()
        )));
    }
    let params = bytes[HEADER_LEN..]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((header.code, header.transaction_id, params))
}

macro_rules! param_container {
    ($(#[$meta:meta])* $name:ident, $kind:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            pub code: u16,
            pub transaction_id: u32,
            /// At most [`MAX_PARAMS`]; encoding more is an error.
            pub params: Vec<u32>,
        }

        impl $name {
            pub fn new(code: u16, transaction_id: u32, params: &[u32]) -> Self {
                Self { code, transaction_id, params: params.to_vec() }
            }

            pub fn encode(&self) -> Result<Vec<u8>, WireError> {
                encode_params($kind, self.code, self.transaction_id, &self.params)
            }

            /// Decodes exactly one container; trailing or missing bytes are an error.
            pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
                let (code, transaction_id, params) = decode_params($kind, bytes)?;
                Ok(Self { code, transaction_id, params })
            }

            /// Parameter `i`, or 0 when the container carries fewer (the
            /// spec's meaning of an absent parameter).
            pub fn param(&self, i: usize) -> u32 {
                self.params.get(i).copied().unwrap_or(0)
            }
        }
    };
}

param_container!(
    /// An operation request sent to the device.
    Command,
    ContainerKind::Command
);
param_container!(
    /// The device's answer closing a transaction.
    Response,
    ContainerKind::Response
);
param_container!(
    /// An asynchronous notice from the device's interrupt endpoint.
    Event,
    ContainerKind::Event
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_round_trip() {
        for n in 0..=MAX_PARAMS {
            let params: Vec<u32> = (0..n as u32).map(|i| 0x1000_0000 + i).collect();
            let cmd = Command::new(0x1009, 42, &params);
            let bytes = cmd.encode().unwrap();
            assert_eq!(bytes.len(), HEADER_LEN + 4 * n);
            assert_eq!(Command::decode(&bytes).unwrap(), cmd);
        }
    }

    #[test]
    fn response_and_event_round_trip() {
        let r = Response::new(0x2001, 7, &[3]);
        assert_eq!(Response::decode(&r.encode().unwrap()).unwrap(), r);
        let e = Event::new(0x4002, 0, &[0x1234]);
        assert_eq!(Event::decode(&e.encode().unwrap()).unwrap(), e);
        assert_eq!(e.param(0), 0x1234);
        assert_eq!(e.param(3), 0);
    }

    #[test]
    fn known_bytes() {
        let bytes = Command::new(0x1002, 0, &[1]).encode().unwrap();
        assert_eq!(
            bytes,
            [16, 0, 0, 0, 1, 0, 0x02, 0x10, 0, 0, 0, 0, 1, 0, 0, 0]
        );
    }

    #[test]
    fn too_many_params() {
        assert_eq!(
            Command::new(1, 1, &[0; 6]).encode(),
            Err(WireError::TooManyParams(6))
        );
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert!(ContainerHeader::parse(&[]).is_err());
        assert!(ContainerHeader::parse(&[12, 0, 0, 0, 1, 0, 1, 0x10, 0, 0, 0]).is_err());
        // Length shorter than the header.
        assert!(ContainerHeader::parse(&[11, 0, 0, 0, 1, 0, 1, 0x10, 0, 0, 0, 0]).is_err());
        // Unknown kind.
        assert!(ContainerHeader::parse(&[12, 0, 0, 0, 5, 0, 1, 0x10, 0, 0, 0, 0]).is_err());
        // Command longer than five parameters, or not a whole number of them.
        assert!(ContainerHeader::parse(&[36, 0, 0, 0, 1, 0, 1, 0x10, 0, 0, 0, 0]).is_err());
        assert!(ContainerHeader::parse(&[14, 0, 0, 0, 3, 0, 1, 0x20, 0, 0, 0, 0]).is_err());
        // Data containers may be long, or of unknown length.
        let h =
            ContainerHeader::parse(&[0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 9, 0x10, 1, 0, 0, 0]).unwrap();
        assert_eq!(h.payload_len(), None);
        // A response decoded as a command, or with missing bytes.
        let r = Response::new(0x2001, 1, &[1, 2]).encode().unwrap();
        assert!(Command::decode(&r).is_err());
        assert!(Response::decode(&r[..r.len() - 1]).is_err());
    }

    #[test]
    fn data_header() {
        let h = ContainerHeader::data(0x1009, 3, 100);
        assert_eq!(h.length, 112);
        assert_eq!(ContainerHeader::parse(&h.encode()).unwrap(), h);
        assert_eq!(
            ContainerHeader::data(0x1009, 3, 5 << 30).length,
            UNKNOWN_LENGTH
        );
        assert_eq!(
            ContainerHeader::data(0x1009, 3, u64::from(u32::MAX) - 12).length,
            UNKNOWN_LENGTH
        );
    }
}
