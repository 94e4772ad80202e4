//! camsim: a virtual camera speaking PTP from the device side, for tests and
//! the demo. It owns the simulated card (in memory or a folder), the device's
//! answers to PTP operations, a USB-like link ([`CamsimTransport`], a
//! [`ptp::Transport`]) and scripted faults.
//!
//! It must not hold host logic (that is the agent's) nor re-implement the
//! protocol's wire formats (those come from `ptp`). The picture content is
//! [`scene`]'s business, owned separately.

mod camera;
mod config;
mod device;
mod faults;
pub mod scene;
mod storage;
mod transport;

pub use camera::{CameraHandle, ShotTaken};
pub use config::CameraConfig;
pub use faults::{Faults, Malformed};
pub use transport::{CamsimTransport, BULK_IN_ENDPOINT, BULK_OUT_ENDPOINT};

/// Storage id of the camera's only card.
pub const STORAGE_ID: u32 = storage::STORAGE_ID;

/// A new camera, plugged in: the host's transport and the camera's handle.
/// Needs a tokio runtime.
pub fn connect(config: CameraConfig) -> std::io::Result<(CamsimTransport, CameraHandle)> {
    let camera = CameraHandle::new(config)?;
    let transport = camera.plug_in()?;
    Ok((transport, camera))
}
