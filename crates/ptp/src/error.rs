//! Error types: one for malformed wire data, one for everything a session can hit.

use crate::codes;
use crate::transport::TransportError;

/// Bytes that do not form a valid container or dataset, or a value that
/// cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated: needed {needed} bytes at offset {offset}, {available} available")]
    Truncated {
        needed: usize,
        offset: usize,
        available: usize,
    },
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("{0} parameters given, a container holds at most 5")]
    TooManyParams(usize),
}

/// Everything that can go wrong in a PTP session.
#[derive(Debug, thiserror::Error)]
pub enum PtpError {
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The device answered with a response code other than OK.
    #[error("{} answered {}", codes::describe_operation(*.op), codes::describe_response(*.code))]
    Response {
        op: u16,
        code: u16,
        name: &'static str,
        params: Vec<u32>,
    },
    #[error("malformed data: {0}")]
    Wire(#[from] WireError),
    /// The device broke the protocol's sequencing (wrong transaction id,
    /// unexpected container kind, missing phase).
    #[error("protocol violation during {}: {msg}", codes::describe_operation(*.op))]
    Protocol { op: u16, msg: String },
    #[error("data phase of {} exceeds the {limit}-byte limit", codes::describe_operation(*.op))]
    TooLarge { op: u16, limit: usize },
    /// The caller's sink refused the data (disk full, closed pipe...). The
    /// data phase was drained, so the session is still usable.
    #[error("writing received data: {0}")]
    Sink(#[source] std::io::Error),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl PtpError {
    /// The device's response code, when the error is a refusal by the device.
    pub fn response_code(&self) -> Option<u16> {
        match self {
            PtpError::Response { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when the device said it is busy and the operation may be retried.
    pub fn is_busy(&self) -> bool {
        self.response_code() == Some(codes::response::DEVICE_BUSY)
    }

    /// True when the link to the device is gone and the session cannot go on.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, PtpError::Transport(TransportError::Disconnected))
    }
}
