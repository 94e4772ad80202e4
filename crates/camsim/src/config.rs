//! What the virtual camera is and how it behaves.

use std::path::PathBuf;
use std::time::Duration;

/// A virtual camera's identity, card and shooting parameters.
#[derive(Debug, Clone)]
pub struct CameraConfig {
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    /// When set, the card's files live in this folder and persist: at start,
    /// existing files become objects (handles in path order, so stable across
    /// runs as long as files are only added), and new shots are written here.
    /// When unset, the card lives in memory.
    pub card_dir: Option<PathBuf>,
    pub battery_percent: u8,
    /// Stored (sensor) pixel size of each shot.
    pub shot_size: (u32, u32),
    /// JPEG quality of shots (1–100).
    pub jpeg_quality: u8,
    /// Every n-th shot is held in portrait (EXIF Orientation 6); 0 never.
    pub portrait_every: u32,
    /// Written into each shot's EXIF, so that stripping it downstream is testable.
    pub gps: Option<(f64, f64)>,
    /// wMaxPacketSize of the simulated bulk endpoints.
    pub max_packet_size: usize,
    /// Card capacity reported by GetStorageInfo.
    pub capacity_bytes: u64,
    /// How long a host read waits for the device before timing out, like a USB transfer timeout.
    pub io_timeout: Duration,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            manufacturer: "Hotshoe".into(),
            model: "Virtual EOS".into(),
            serial: "HS0001".into(),
            card_dir: None,
            battery_percent: 87,
            shot_size: (6000, 4000),
            jpeg_quality: 90,
            portrait_every: 3,
            gps: Some((48.8584, 2.2945)),
            max_packet_size: 512,
            capacity_bytes: 64_000_000_000,
            io_timeout: Duration::from_secs(30),
        }
    }
}

impl CameraConfig {
    /// Rejects settings no camera could have (and that would break rendering).
    pub(crate) fn validate(&self) -> std::io::Result<()> {
        let invalid = |msg: String| Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
        let (w, h) = self.shot_size;
        if !(1..=65535).contains(&w) || !(1..=65535).contains(&h) {
            return invalid(format!("shot size {w}x{h} is outside 1..=65535"));
        }
        if !(8..=65536).contains(&self.max_packet_size) {
            return invalid(format!(
                "max packet size {} is outside 8..=65536",
                self.max_packet_size
            ));
        }
        if self.battery_percent > 100 {
            return invalid(format!("battery {}% is over 100", self.battery_percent));
        }
        Ok(())
    }
}
