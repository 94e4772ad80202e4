//! Failures to find or open a camera, worded for the photographer.

use crate::transport::TransportError;
use crate::usb::owner;

/// Why a camera could not be listed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsbError {
    #[error("no permission to use the camera at {location}: install udev-rules/69-hotshoe-cameras.rules (see README) and replug")]
    PermissionDenied { location: String },
    #[error("{}", busy_message(.location, .owner.as_deref()))]
    Busy {
        location: String,
        /// The program holding the camera, when it could be found.
        owner: Option<String>,
    },
    #[error("the camera at {location} was disconnected")]
    Disconnected { location: String },
    #[error("the device at {location} has no PTP interface (bulk in, bulk out, interrupt in); is it in PTP/PC mode?")]
    NoPtpInterface { location: String },
    /// Anything else; the text names the place and the OS error.
    #[error("USB error: {0}")]
    Io(String),
}

fn busy_message(location: &str, owner: Option<&str>) -> String {
    let who = owner.unwrap_or("another program");
    format!(
        "the camera at {location} is in use by {who}: {}",
        owner::remedy(owner)
    )
}

impl UsbError {
    /// Maps a device-level nusb error met while opening or claiming.
    pub(crate) fn from_nusb(
        e: &nusb::Error,
        location: &str,
        busy_owner: impl FnOnce() -> Option<String>,
    ) -> Self {
        let location = location.to_string();
        match e.kind() {
            nusb::ErrorKind::PermissionDenied => Self::PermissionDenied { location },
            nusb::ErrorKind::Busy => Self::Busy {
                location,
                owner: busy_owner(),
            },
            nusb::ErrorKind::Disconnected => Self::Disconnected { location },
            _ => Self::Io(format!("{location}: {e}")),
        }
    }
}

impl From<UsbError> for TransportError {
    fn from(e: UsbError) -> Self {
        match e {
            UsbError::Disconnected { .. } => TransportError::Disconnected,
            other => TransportError::Io(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = UsbError::PermissionDenied {
            location: "usb 1-2.3".into(),
        };
        assert_eq!(
            e.to_string(),
            "no permission to use the camera at usb 1-2.3: install udev-rules/69-hotshoe-cameras.rules (see README) and replug"
        );
        let e = UsbError::Busy {
            location: "usb 1-2".into(),
            owner: Some("gvfs-gphoto2-vo".into()),
        };
        assert!(e.to_string().starts_with("the camera at usb 1-2 is in use by gvfs-gphoto2-vo: unmount the camera in the file manager"));
        let e = UsbError::Busy {
            location: "usb 1-2".into(),
            owner: None,
        };
        assert!(e.to_string().contains("in use by another program"));
    }
}
