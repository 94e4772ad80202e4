//! The background task that owns the interrupt-IN endpoint and turns its
//! transfers into event containers on a channel.
//!
//! One packet-sized transfer is pending at a time, and when it stays idle it
//! is cancelled and submitted afresh: qemu's usb-mtp never completes a
//! transfer that was already pending when an event was queued (DESIGN.md,
//! "Test beds"), while a fresh one picks the event up at once. Real cameras
//! complete pending transfers, so the resubmission only costs a cancel per
//! idle period there.

use std::time::Duration;

use nusb::transfer::{Buffer, Completion, In, Interrupt, TransferError};
use nusb::Endpoint;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tracing::{debug, trace, warn};

use crate::usb::event_assembler::EventAssembler;

/// How long an interrupt transfer may stay pending before it is resubmitted.
pub const IDLE_RESUBMIT: Duration = Duration::from_secs(1);
/// Events buffered for a session that is busy elsewhere (e.g. a long download).
pub const EVENT_QUEUE: usize = 256;
/// A cancelled transfer normally comes back at once; past this something is
/// wrong with the host controller, worth a log line.
const REAP_WARN: Duration = Duration::from_secs(2);
/// Pause after an unexpected transfer error so a broken pipe cannot spin.
const ERROR_BACKOFF: Duration = Duration::from_millis(200);

/// Runs until the device disconnects or the receiver is dropped. Ending
/// drops the sender, which the transport reports as `Disconnected`.
pub async fn run(mut ep: Endpoint<Interrupt, In>, tx: mpsc::Sender<Vec<u8>>, resubmit: Duration) {
    let packet = ep.max_packet_size().max(1);
    let mut assembler = EventAssembler::new();
    loop {
        if tx.is_closed() {
            debug!("event receiver gone; interrupt task ends");
            return;
        }
        if ep.pending() == 0 {
            ep.submit(Buffer::new(packet));
        }
        let (completion, idle) = match timeout(resubmit, ep.next_complete()).await {
            Ok(c) => (c, false),
            Err(_) => {
                ep.cancel_all();
                (reap(&mut ep).await, true)
            }
        };
        // A cancelled transfer may still carry a real event: keep its bytes.
        let data = &completion.buffer[..completion.actual_len.min(completion.buffer.len())];
        if !data.is_empty() {
            trace!(bytes = data.len(), "interrupt data");
            for event in assembler.push(data) {
                forward(&tx, event);
            }
        } else if idle && assembler.has_partial() {
            let n = assembler.discard_partial();
            debug!(
                bytes = n,
                "incomplete event fragment dropped after an idle period"
            );
        }
        match completion.status {
            Ok(()) => {}
            Err(TransferError::Cancelled) if idle => {}
            Err(TransferError::Disconnected) => {
                debug!("device gone; interrupt task ends");
                return;
            }
            Err(TransferError::Stall) => {
                warn!("interrupt endpoint stalled; clearing the halt");
                if let Err(e) = ep.clear_halt().await {
                    warn!(error = %e, "clearing the interrupt halt failed");
                    tokio::time::sleep(ERROR_BACKOFF).await;
                }
            }
            Err(e) if is_disconnect(e) => {
                debug!(error = %e, "device gone; interrupt task ends");
                return;
            }
            Err(e) => {
                warn!(error = %e, "interrupt transfer failed");
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
}

async fn reap(ep: &mut Endpoint<Interrupt, In>) -> Completion {
    loop {
        match timeout(REAP_WARN, ep.next_complete()).await {
            Ok(c) => return c,
            Err(_) => warn!("cancelled interrupt transfer has not come back yet"),
        }
    }
}

fn forward(tx: &mpsc::Sender<Vec<u8>>, event: Vec<u8>) {
    match tx.try_send(event) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            warn!(
                capacity = EVENT_QUEUE,
                "event queue full; event dropped (the agent's listing reconciles)"
            )
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

/// Transfer errors that mean the device is gone. Beyond nusb's own
/// `Disconnected`, macOS reports a pulled cable as kIOReturnNotResponding or
/// kIOReturnNotOpen (seen by mtp-rs on hardware).
pub fn is_disconnect(e: TransferError) -> bool {
    match e {
        TransferError::Disconnected => true,
        TransferError::Unknown(code) => {
            cfg!(target_os = "macos") && matches!(code, 0xe000_02ed | 0xe000_02cd)
        }
        _ => false,
    }
}
