//! Getting the device and the pipes back in step after a transaction failed
//! at the transport level (timeout, stall, I/O error).
//!
//! The order follows the Still Image class spec §5 as libmtp (PR #2) and
//! mtp-rs `NusbTransport::cancel_transfer` implement it; see
//! docs/notes/usb-ptp-transport.md (b) "Recovery after an I/O error".

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::transport::{Transport, TransportError};

/// How often the device status is polled while the device says busy.
pub const STATUS_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long the device may stay busy before recovery gives up waiting.
pub const STATUS_POLL_LIMIT: Duration = Duration::from_secs(5);

/// How recovery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// The device is idle again; the session can go on.
    Recovered,
    /// The device stayed busy past [`STATUS_POLL_LIMIT`]; the next
    /// transaction may still be refused with DeviceBusy.
    StillBusy,
    /// The device did not answer the status request and was reset: its
    /// session is gone, the caller must open a new one.
    Reset,
    /// The link disappeared while recovering.
    Disconnected,
}

/// Cancels transaction `tid`, drains what the device still sends, waits
/// while it reports busy (clearing the halts it lists), and resets it if it
/// no longer answers status requests.
pub async fn recover<T: Transport + ?Sized>(transport: &mut T, tid: u32) -> Recovery {
    match transport.cancel_transaction(tid).await {
        Ok(()) => debug!(tid, "cancel request accepted"),
        Err(TransportError::Disconnected) => return Recovery::Disconnected,
        // A refused cancel means the rest of the object may still come: the
        // drain below swallows it.
        Err(e) => debug!(tid, error = %e, "cancel request refused"),
    }

    // Drain at once: devices that are left holding unread data while the
    // host polls status first can get stuck (libmtp / Android).
    if let Some(end) = drain(transport).await {
        return end;
    }

    let deadline = Instant::now() + STATUS_POLL_LIMIT;
    loop {
        match transport.device_status().await {
            Ok(None) => return Recovery::Recovered,
            Ok(Some(status)) => {
                for ep in status.stalled_endpoints() {
                    match transport.clear_halt(ep).await {
                        Ok(()) => debug!(endpoint = ep, "cleared halt listed in device status"),
                        Err(TransportError::Disconnected) => return Recovery::Disconnected,
                        Err(e) => warn!(endpoint = ep, error = %e, "clearing halt failed"),
                    }
                }
                if !status.is_busy() {
                    return Recovery::Recovered;
                }
            }
            Err(TransportError::Timeout) => return reset(transport).await,
            Err(TransportError::Disconnected) => return Recovery::Disconnected,
            Err(e) => {
                debug!(error = %e, "device status unavailable; assuming idle");
                return Recovery::Recovered;
            }
        }
        if Instant::now() + STATUS_POLL_INTERVAL > deadline {
            warn!("device still busy {STATUS_POLL_LIMIT:?} after a cancel");
            return Recovery::StillBusy;
        }
        tokio::time::sleep(STATUS_POLL_INTERVAL).await;
    }
}

/// `Some` only when recovery must stop (the device is gone).
async fn drain<T: Transport + ?Sized>(transport: &mut T) -> Option<Recovery> {
    match transport.drain_in().await {
        Ok(0) => None,
        Ok(n) => {
            debug!(bytes = n, "drained bulk IN after a failed transaction");
            None
        }
        Err(TransportError::Disconnected) => Some(Recovery::Disconnected),
        Err(e) => {
            debug!(error = %e, "draining bulk IN failed");
            None
        }
    }
}

async fn reset<T: Transport + ?Sized>(transport: &mut T) -> Recovery {
    warn!("device does not answer status requests; resetting it");
    match transport.reset_device().await {
        Err(TransportError::Disconnected) => return Recovery::Disconnected,
        Err(e) => warn!(error = %e, "device reset failed"),
        Ok(()) => info!("device reset; its PTP session is closed"),
    }
    match transport.clear_halts().await {
        Err(TransportError::Disconnected) => return Recovery::Disconnected,
        Err(e) => warn!(error = %e, "clearing halts after reset failed"),
        Ok(()) => {}
    }
    if let Some(end) = drain(transport).await {
        return end;
    }
    Recovery::Reset
}
