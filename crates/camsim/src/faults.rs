//! Scripted misbehaviour, for robustness tests of the host side.
//!
//! Every fault is deterministic: a counted fault fires on the next N
//! occasions, a one-shot fault on the next one, and each disarms itself as it
//! fires. Build a set with the helpers and arm it with
//! [`CameraHandle::set_faults`](crate::CameraHandle::set_faults):
//!
//! ```
//! let faults = camsim::Faults::none().busy(2).stall_after(100_000).truncated_dataset();
//! assert!(!faults.is_clear());
//! ```

use std::collections::VecDeque;

/// One way the next suitable data phase is malformed (see [`Faults::malformed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// A dataset (not an object) cut to half its length; the container's
    /// length agrees with what is sent, so only the dataset parser can tell.
    TruncatedDataset,
    /// The data container's 12-byte header is bytes that form no container
    /// (an unknown type); payload and response follow as usual.
    GarbageHeader,
    /// The data container's length claims this many payload bytes more than
    /// are sent; the transfer ends early and the response follows.
    LengthOverstated(u32),
    /// The data container's length claims this many payload bytes fewer than
    /// are sent, so the surplus lands where the response should start.
    LengthUnderstated(u32),
    /// A handle or storage-id list whose element count says 0x3FFF_FFFF
    /// (GetObjectHandles / GetStorageIDs only).
    HugeArrayCount,
    /// The data container claims 0xFFFF_FFFE bytes (just short of the
    /// "unknown length" marker) but carries the real, small payload.
    HugeContainerLength,
    /// The data container carries another operation's code (the op + 1).
    WrongDataCode,
}

impl Malformed {
    /// Whether this malformation can be applied to a data phase of
    /// operation `op` whose payload is a dataset (`true`) or an object.
    pub(crate) fn applies_to(self, op: u16, is_dataset: bool) -> bool {
        use ptp::codes::operation;
        match self {
            Malformed::TruncatedDataset => is_dataset,
            Malformed::HugeArrayCount => {
                op == operation::GET_OBJECT_HANDLES || op == operation::GET_STORAGE_IDS
            }
            _ => true,
        }
    }
}

/// Faults armed on a camera. Each fires on the next occasions it describes
/// and disarms itself; [`Faults::is_clear`] tells when all have fired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Answer this many coming operations with 0x2019 DeviceBusy (OpenSession
    /// and CloseSession excepted), as a camera does right after a burst.
    pub busy_ops: u32,
    /// Pull the cable after this many payload bytes of the next object
    /// transfer (GetObject / GetPartialObject) longer than that.
    pub disconnect_after_bytes: Option<u64>,
    /// STALL the bulk-IN endpoint instead of answering this many coming
    /// operations (OpenSession and CloseSession excepted), as cameras do for
    /// an operation they cannot serve in their current state. The halt stays
    /// until the host clears it; the device then reports OK again.
    pub stall_ops: u32,
    /// STALL the bulk-IN endpoint after this many payload bytes of the next
    /// object transfer longer than that, abandoning the transaction.
    pub stall_after_bytes: Option<u64>,
    /// Refuse (STALL) this many coming cancel requests (class request 0x64).
    pub refuse_cancels: u32,
    /// Leave this many coming Get Device Status requests (0x67) unanswered,
    /// so the host's recovery sees a wedged device and resets it.
    pub status_timeouts: u32,
    /// Malformations for the coming data phases, in order: the front one is
    /// applied to the next data phase it suits, then dropped.
    pub malformed: VecDeque<Malformed>,
    /// Give this many coming responses the previous transaction's id
    /// (OpenSession and CloseSession excepted).
    pub wrong_transaction_ids: u32,
    /// On the next plug-in, the new host finds what a host that died
    /// mid-download left: this many bytes of an object's tail, then that
    /// transaction's response, waiting on bulk IN.
    pub stale_data_on_reconnect: Option<usize>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// True when no armed fault is left to fire.
    pub fn is_clear(&self) -> bool {
        *self == Self::default()
    }

    /// Answer the next `ops` operations with DeviceBusy.
    pub fn busy(mut self, ops: u32) -> Self {
        self.busy_ops = ops;
        self
    }

    /// Pull the cable after `bytes` payload bytes of the next longer object transfer.
    pub fn disconnect_after(mut self, bytes: u64) -> Self {
        self.disconnect_after_bytes = Some(bytes);
        self
    }

    /// STALL bulk IN instead of answering the next `ops` operations.
    pub fn stall(mut self, ops: u32) -> Self {
        self.stall_ops = ops;
        self
    }

    /// STALL bulk IN after `bytes` payload bytes of the next longer object transfer.
    pub fn stall_after(mut self, bytes: u64) -> Self {
        self.stall_after_bytes = Some(bytes);
        self
    }

    /// Refuse the next `n` cancel requests.
    pub fn refuse_cancel(mut self, n: u32) -> Self {
        self.refuse_cancels = n;
        self
    }

    /// Leave the next `n` device status requests unanswered (a wedged device).
    pub fn status_timeout(mut self, n: u32) -> Self {
        self.status_timeouts = n;
        self
    }

    /// Queue one malformation for the next data phase it suits.
    pub fn malformed(mut self, m: Malformed) -> Self {
        self.malformed.push_back(m);
        self
    }

    /// The next dataset arrives cut to half its length.
    pub fn truncated_dataset(self) -> Self {
        self.malformed(Malformed::TruncatedDataset)
    }

    /// The next data container starts with a garbage header.
    pub fn garbage_header(self) -> Self {
        self.malformed(Malformed::GarbageHeader)
    }

    /// The next data container claims `extra` bytes more than it carries.
    pub fn length_overstated(self, extra: u32) -> Self {
        self.malformed(Malformed::LengthOverstated(extra))
    }

    /// The next data container claims `short` bytes fewer than it carries.
    pub fn length_understated(self, short: u32) -> Self {
        self.malformed(Malformed::LengthUnderstated(short))
    }

    /// The next handle or storage-id list claims 0x3FFF_FFFF elements.
    pub fn huge_array_count(self) -> Self {
        self.malformed(Malformed::HugeArrayCount)
    }

    /// The next data container claims a length of almost 4 GiB.
    pub fn huge_container_length(self) -> Self {
        self.malformed(Malformed::HugeContainerLength)
    }

    /// The next data container carries another operation's code.
    pub fn wrong_data_code(self) -> Self {
        self.malformed(Malformed::WrongDataCode)
    }

    /// The next `n` responses carry the previous transaction's id.
    pub fn wrong_transaction_id(mut self, n: u32) -> Self {
        self.wrong_transaction_ids = n;
        self
    }

    /// The next plug-in finds `bytes` stale object bytes and an old response on bulk IN.
    pub fn stale_data_on_reconnect(mut self, bytes: usize) -> Self {
        self.stale_data_on_reconnect = Some(bytes);
        self
    }

    /// Takes one firing of a counted fault.
    pub(crate) fn take(count: &mut u32) -> bool {
        if *count > 0 {
            *count -= 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_arm_and_take_disarms() {
        let mut f = Faults::none().busy(1).stall(2).wrong_data_code();
        assert!(!f.is_clear());
        assert!(Faults::take(&mut f.busy_ops));
        assert!(!Faults::take(&mut f.busy_ops));
        assert!(Faults::take(&mut f.stall_ops) && Faults::take(&mut f.stall_ops));
        assert!(!Faults::take(&mut f.stall_ops));
        assert_eq!(f.malformed.pop_front(), Some(Malformed::WrongDataCode));
        assert!(f.is_clear());
    }
}
