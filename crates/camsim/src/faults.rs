//! Scripted misbehaviour, for robustness tests of the host side.

/// Faults armed on a camera; each fires once and disarms itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Answer this many coming operations with 0x2019 DeviceBusy (OpenSession
    /// and CloseSession excepted), as a camera does right after a burst.
    pub busy_ops: u32,
    /// Pull the cable after this many payload bytes of the next object
    /// transfer (GetObject / GetPartialObject) longer than that.
    pub disconnect_after_bytes: Option<u64>,
}
