//! PTP (ISO 15740) with its MTP extension, host side: codes, containers,
//! datasets, and a session that runs transactions over a [`Transport`].
//!
//! Owns the protocol only. It must not hold application logic (what to
//! download, journals, retries policy) nor talk to USB itself: a USB
//! transport (nusb) or the camera simulator plugs in behind [`Transport`].

pub mod codes;
pub mod container;
pub mod dataset;
pub mod device_status;
pub mod error;
pub mod recovery;
pub mod session;
pub mod transport;
pub mod usb;

pub use container::{Command, ContainerHeader, ContainerKind, Event, Response};
pub use dataset::{DeviceInfo, DevicePropDesc, ObjectInfo, PropForm, PropValue, StorageInfo};
pub use device_status::DeviceStatus;
pub use error::{PtpError, WireError};
pub use recovery::Recovery;
pub use session::{get_device_info, DataPhase, Outcome, Session};
pub use transport::{Transport, TransportError};
