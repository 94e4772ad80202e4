//! The simulated USB link: the host end ([`CamsimTransport`], a
//! [`ptp::Transport`]) and the device end used by the device task.
//!
//! Bulk-OUT transfers travel whole. Bulk-IN data travels in chunks, each
//! marked with whether it ends the device's transfer; the host end turns that
//! into USB read semantics: a read ends early at a short packet, and a
//! transfer that ends on a packet boundary is followed by a zero-length read.
//!
//! The device can also halt (STALL) bulk IN. Like a real endpoint, it stays
//! halted, failing every read with [`TransportError::Stall`], until the host
//! clears the halt; the Still Image class requests (cancel, status, reset)
//! are answered from the camera's state, as a real device's control pipe is.

use std::sync::Arc;
use std::time::Duration;

use ptp::codes::response;
use ptp::container::{ContainerHeader, ContainerKind};
use ptp::{DeviceStatus, Transport, TransportError};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::camera::Shared;
use crate::faults::Faults;

/// Address of the simulated bulk-IN endpoint, as device status lists it.
pub const BULK_IN_ENDPOINT: u8 = 0x81;
/// Address of the simulated bulk-OUT endpoint.
pub const BULK_OUT_ENDPOINT: u8 = 0x02;
/// A drain stops once the device has been quiet this long. The device is
/// in-process, so anything it still had to send arrives well within this.
const DRAIN_IDLE: Duration = Duration::from_millis(50);

/// A piece of a bulk-IN transfer.
#[derive(Debug)]
pub(crate) struct InChunk {
    pub bytes: Vec<u8>,
    /// The device's transfer (one container) ends with this chunk.
    pub end: bool,
    /// The device halts the endpoint here (the chunk carries no bytes).
    pub halt: bool,
}

impl InChunk {
    pub fn data(bytes: Vec<u8>, end: bool) -> Self {
        Self {
            bytes,
            end,
            halt: false,
        }
    }

    pub fn halt() -> Self {
        Self {
            bytes: Vec::new(),
            end: true,
            halt: true,
        }
    }
}

/// Bulk-IN chunks in flight: bounds what a streaming device buffers ahead of the host.
const IN_CHANNEL_DEPTH: usize = 4;
const OUT_CHANNEL_DEPTH: usize = 8;

/// The device's ends of the pipes.
pub(crate) struct DeviceEnd {
    pub out_rx: mpsc::Receiver<Vec<u8>>,
    pub in_tx: mpsc::Sender<InChunk>,
}

/// The host side of a virtual camera's USB link. Dropping it is the host
/// closing the device; the camera keeps its card and its session state.
pub struct CamsimTransport {
    out_tx: mpsc::Sender<Vec<u8>>,
    in_rx: mpsc::Receiver<InChunk>,
    event_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    max_packet_size: usize,
    io_timeout: Duration,
    /// Part of a chunk not yet read.
    pending: Option<(InChunk, usize)>,
    /// Bytes of the current device transfer read so far, to know whether it
    /// ended on a packet boundary.
    transfer_len: usize,
    zlp_pending: bool,
    /// The device stalled bulk IN and the host has not cleared it yet.
    in_halted: bool,
    /// The camera, whose control pipe answers the class requests; `None`
    /// for a bare link in unit tests, where the requests are no-ops.
    device: Option<Arc<Shared>>,
}

impl std::fmt::Debug for CamsimTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CamsimTransport")
            .field("max_packet_size", &self.max_packet_size)
            .finish_non_exhaustive()
    }
}

/// A fresh link: the host end, the device end, and the event sender.
pub(crate) fn link(
    max_packet_size: usize,
    io_timeout: Duration,
    device: Option<Arc<Shared>>,
) -> (CamsimTransport, DeviceEnd, mpsc::UnboundedSender<Vec<u8>>) {
    let (out_tx, out_rx) = mpsc::channel(OUT_CHANNEL_DEPTH);
    let (in_tx, in_rx) = mpsc::channel(IN_CHANNEL_DEPTH);
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let host = CamsimTransport {
        out_tx,
        in_rx,
        event_rx,
        max_packet_size,
        io_timeout,
        pending: None,
        transfer_len: 0,
        zlp_pending: false,
        in_halted: false,
        device,
    };
    (host, DeviceEnd { out_rx, in_tx }, event_tx)
}

impl CamsimTransport {
    async fn next_chunk(&mut self) -> Result<InChunk, TransportError> {
        match tokio::time::timeout(self.io_timeout, self.in_rx.recv()).await {
            Ok(Some(chunk)) => Ok(chunk),
            Ok(None) => Err(TransportError::Disconnected),
            Err(_) => Err(TransportError::Timeout),
        }
    }

    /// Forgets any partly read transfer, as a halt or a drain does on USB.
    fn reset_read_state(&mut self) {
        self.pending = None;
        self.transfer_len = 0;
        self.zlp_pending = false;
    }

    /// The control pipe goes with the link: once the device task is gone
    /// (cable pulled), class requests fail like any transfer.
    fn check_connected(&self) -> Result<(), TransportError> {
        if self.out_tx.is_closed() {
            Err(TransportError::Disconnected)
        } else {
            Ok(())
        }
    }
}

/// True when `bytes` are exactly one response container.
fn is_response(bytes: &[u8]) -> bool {
    ContainerHeader::parse(bytes)
        .is_ok_and(|h| h.kind == ContainerKind::Response && h.length as usize == bytes.len())
}

#[async_trait::async_trait]
impl Transport for CamsimTransport {
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        // A whole transfer is one message, so the ZLP that would end it is implicit.
        self.out_tx
            .send(data.to_vec())
            .await
            .map_err(|_| TransportError::Disconnected)
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if buf.is_empty() || !buf.len().is_multiple_of(self.max_packet_size) {
            return Err(TransportError::Io(format!(
                "read of {} bytes is not a whole number of {}-byte packets",
                buf.len(),
                self.max_packet_size
            )));
        }
        if self.zlp_pending {
            self.zlp_pending = false;
            return Ok(0);
        }
        let mut filled = 0;
        loop {
            if self.in_halted {
                return Err(TransportError::Stall);
            }
            let (chunk, pos) = match self.pending.take() {
                Some(p) => p,
                None => (self.next_chunk().await?, 0),
            };
            if chunk.halt {
                // A transfer that meets a halt completes with a stall; what
                // it had gathered is not handed over as a short read, which
                // would look like the end of the data phase.
                self.in_halted = true;
                self.reset_read_state();
                return Err(TransportError::Stall);
            }
            let n = (chunk.bytes.len() - pos).min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&chunk.bytes[pos..pos + n]);
            filled += n;
            self.transfer_len += n;
            if pos + n < chunk.bytes.len() {
                self.pending = Some((chunk, pos + n));
                return Ok(filled);
            }
            if chunk.end {
                let on_boundary = self.transfer_len.is_multiple_of(self.max_packet_size);
                self.transfer_len = 0;
                // A full read that ends on a packet boundary leaves the ZLP
                // for the next read; a partial one was ended by it (or by a short packet).
                if filled == buf.len() && on_boundary {
                    self.zlp_pending = true;
                }
                return Ok(filled);
            }
            if filled == buf.len() {
                return Ok(filled);
            }
        }
    }

    async fn read_event(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        match tokio::time::timeout(timeout, self.event_rx.recv()).await {
            Ok(Some(event)) => Ok(Some(event)),
            Ok(None) => Err(TransportError::Disconnected),
            Err(_) => Ok(None),
        }
    }

    fn max_packet_size(&self) -> usize {
        self.max_packet_size
    }

    async fn cancel_transaction(&mut self, tid: u32) -> Result<(), TransportError> {
        self.check_connected()?;
        let Some(device) = &self.device else {
            return Ok(());
        };
        let mut st = device.state();
        if Faults::take(&mut st.faults.refuse_cancels) {
            warn!(tid, "fault: cancel request refused");
            return Err(TransportError::Stall);
        }
        // The device task abandons a halted transaction by itself, so the
        // cancel only needs recording (tests check the host sent it).
        st.cancel_requests.push(tid);
        debug!(tid, "cancel request accepted");
        Ok(())
    }

    async fn device_status(&mut self) -> Result<Option<DeviceStatus>, TransportError> {
        self.check_connected()?;
        let Some(device) = &self.device else {
            return Ok(None);
        };
        if Faults::take(&mut device.state().faults.status_timeouts) {
            warn!("fault: device status request unanswered");
            return Err(TransportError::Timeout);
        }
        // While bulk IN is halted the device reports busy and lists the
        // endpoint, as the Still Image class spec has it; once the host has
        // cleared the halt it is idle again.
        Ok(Some(if self.in_halted {
            DeviceStatus {
                code: response::DEVICE_BUSY,
                params: vec![u32::from(BULK_IN_ENDPOINT)],
            }
        } else {
            DeviceStatus {
                code: response::OK,
                params: Vec::new(),
            }
        }))
    }

    async fn reset_device(&mut self) -> Result<(), TransportError> {
        self.check_connected()?;
        if let Some(device) = &self.device {
            let mut st = device.state();
            st.session = None;
            st.resets += 1;
        }
        self.in_halted = false;
        self.reset_read_state();
        info!("device reset: session closed");
        Ok(())
    }

    async fn clear_halt(&mut self, endpoint: u8) -> Result<(), TransportError> {
        self.check_connected()?;
        if endpoint == BULK_IN_ENDPOINT && self.in_halted {
            self.in_halted = false;
            debug!(endpoint, "halt cleared");
        }
        Ok(())
    }

    async fn clear_halts(&mut self) -> Result<(), TransportError> {
        self.clear_halt(BULK_IN_ENDPOINT).await?;
        self.clear_halt(BULK_OUT_ENDPOINT).await
    }

    /// Drops what the device still sends until it goes quiet or a response
    /// container ends it, as `ptp::usb::UsbTransport` does.
    async fn drain_in(&mut self) -> Result<u64, TransportError> {
        if self.in_halted {
            return Err(TransportError::Stall);
        }
        let mut drained = self
            .pending
            .take()
            .map_or(0, |(c, pos)| (c.bytes.len() - pos) as u64);
        self.reset_read_state();
        loop {
            match tokio::time::timeout(DRAIN_IDLE, self.in_rx.recv()).await {
                Err(_) => return Ok(drained),
                Ok(None) => return Err(TransportError::Disconnected),
                Ok(Some(chunk)) if chunk.halt => {
                    self.in_halted = true;
                    return Err(TransportError::Stall);
                }
                Ok(Some(chunk)) => {
                    drained += chunk.bytes.len() as u64;
                    if chunk.end && is_response(&chunk.bytes) {
                        return Ok(drained);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send(dev: &DeviceEnd, parts: &[(usize, bool)]) {
        for &(len, end) in parts {
            dev.in_tx
                .send(InChunk::data(vec![7; len], end))
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn packet_semantics() {
        let (mut host, dev, _ev) = link(512, Duration::from_secs(1), None);
        let mut buf = vec![0; 1024];
        // 100 bytes: one short read.
        send(&dev, &[(100, true)]).await;
        assert_eq!(host.read(&mut buf).await.unwrap(), 100);
        // 1024 bytes in two chunks filling the read exactly: then a ZLP.
        send(&dev, &[(600, false), (424, true)]).await;
        assert_eq!(host.read(&mut buf).await.unwrap(), 1024);
        assert_eq!(host.read(&mut buf).await.unwrap(), 0);
        // 1536 bytes: a full read, then 512 ended by the ZLP within the read.
        send(&dev, &[(1536, true)]).await;
        assert_eq!(host.read(&mut buf).await.unwrap(), 1024);
        assert_eq!(host.read(&mut buf).await.unwrap(), 512);
        // Two transfers never merge into one read.
        send(&dev, &[(10, true), (20, true)]).await;
        assert_eq!(host.read(&mut buf).await.unwrap(), 10);
        assert_eq!(host.read(&mut buf).await.unwrap(), 20);
        assert!(host.read(&mut [0; 100]).await.is_err());
        drop(dev);
        assert_eq!(host.read(&mut buf).await, Err(TransportError::Disconnected));
    }

    #[tokio::test]
    async fn halt_persists_until_cleared_and_drain_stops_at_a_response() {
        let (mut host, dev, _ev) = link(512, Duration::from_secs(1), None);
        let mut buf = vec![0; 1024];
        // Some data, then the device halts bulk IN mid-transfer.
        send(&dev, &[(700, false)]).await;
        dev.in_tx.send(InChunk::halt()).await.unwrap();
        // What the transfer gathered before the halt is not handed over.
        assert_eq!(host.read(&mut buf).await, Err(TransportError::Stall));
        // The halt stays: reads and drains keep failing until it is cleared.
        assert_eq!(host.read(&mut buf).await, Err(TransportError::Stall));
        assert_eq!(host.drain_in().await, Err(TransportError::Stall));
        host.clear_halt(BULK_OUT_ENDPOINT).await.unwrap();
        assert_eq!(host.read(&mut buf).await, Err(TransportError::Stall));
        host.clear_halts().await.unwrap();
        // A drain drops data up to and including a response container.
        send(&dev, &[(100, true)]).await;
        let response = ptp::container::Response::new(response::OK, 3, &[])
            .encode()
            .unwrap();
        dev.in_tx.send(InChunk::data(response, true)).await.unwrap();
        send(&dev, &[(10, true)]).await;
        assert_eq!(host.drain_in().await, Ok(112));
        assert_eq!(host.read(&mut buf).await, Ok(10));
        // Nothing more: the drain ends when the device is quiet.
        assert_eq!(host.drain_in().await, Ok(0));
    }
}
