//! Real cameras over USB, through nusb: finding them ([`list_cameras`],
//! [`watch_cameras`]), opening one ([`open`]), and [`UsbTransport`], the
//! [`crate::Transport`] a [`crate::Session`] runs on.
//!
//! Nothing here touches a device until called, so the crate's tests run on
//! machines without USB access.

mod discovery;
mod error;
mod event_assembler;
mod hotplug;
mod interrupt;
mod matching;
mod owner;
mod transport;

pub use discovery::{layouts_from_descriptors, list_cameras, UsbCameraInfo};
pub use error::UsbError;
pub use event_assembler::EventAssembler;
pub use hotplug::{watch_cameras, CameraHotplug, CameraWatch, POLL_INTERVAL};
pub use interrupt::{EVENT_QUEUE, IDLE_RESUBMIT};
pub use matching::{
    has_ptp_layout, is_camera_vendor, match_camera, EndpointKind, InterfaceFacts, MatchReason,
    CAMERA_VENDORS,
};
pub use owner::{find_owners, usbfs_node, DeviceOwner};
pub use transport::{open, UsbTransport, DEFAULT_TIMEOUT};
