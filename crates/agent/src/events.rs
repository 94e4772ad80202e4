//! What the agent tells the outside world (CLI lines, the desktop UI, the control API): a
//! broadcast of small, serialisable events. Slow listeners miss events rather than slowing
//! the pipeline; the journal stays the source of truth.

use serde::Serialize;

/// One camera's situation, as the photographer needs to see it at a glance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CameraStatus {
    /// Which source this is, e.g. `camera:HS0001`.
    pub source: String,
    pub state: CameraState,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// Battery level in percent, when the camera reports it.
    pub battery: Option<u8>,
    /// Free space on the fullest-empty card, in bytes.
    pub free_bytes: Option<u64>,
    pub free_images: Option<u32>,
    /// What went wrong and how to fix it, when not connected.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CameraState {
    Connected,
    Disconnected,
}

/// A shot moved to a new stage.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShotEvent {
    pub shot_id: i64,
    pub filename: String,
    pub stage: Stage,
    /// Shutter to gallery, once published.
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
}

/// Stages as shown to people; `Uploading` and `Retrying` are transient and not journal states.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Detected,
    Downloaded,
    Processed,
    Uploading,
    Retrying,
    Published,
    Skipped,
    Failed,
}

/// How one publishing target is doing, sent every second while anything is queued or moving:
/// what the photographer reads to know whether the venue network keeps up.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetStatus {
    pub target: String,
    /// Uploads waiting (including those backing off).
    pub queued: u64,
    /// Uploads being sent right now.
    pub in_flight: u64,
    /// Body bytes sent per second, averaged over the last few seconds.
    pub bytes_per_sec: u64,
    /// Consecutive failed attempts; above zero the target is being retried with backoff.
    pub failing: u32,
    /// The last error, while failing.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    Camera(CameraStatus),
    Shot(ShotEvent),
    Target(TargetStatus),
}
