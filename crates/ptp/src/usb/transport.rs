//! [`UsbTransport`]: the PTP [`Transport`] over a claimed USB Still Image
//! interface, built on nusb. The rules it follows (ZLP after OUT on a packet
//! boundary, whole-packet IN reads, cancel on timeout, clear halt on stall,
//! the Still Image class requests) are in docs/notes/usb-ptp-transport.md.

use std::time::Duration;

use nusb::descriptors::TransferType;
use nusb::transfer::{
    Buffer, Bulk, Completion, ControlIn, ControlOut, ControlType, Direction, In, Out, Recipient,
    TransferError,
};
use nusb::{Device, Endpoint, Interface};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tracing::{debug, info, warn};

use crate::container::{ContainerKind, HEADER_LEN, MAX_PARAM_CONTAINER_LEN};
use crate::device_status::DeviceStatus;
use crate::transport::{Transport, TransportError};
use crate::usb::discovery::UsbCameraInfo;
use crate::usb::error::UsbError;
use crate::usb::interrupt::{self, is_disconnect};
use crate::usb::owner;

/// Per-transfer timeout: libgphoto2's normal 20 s ("we have cameras where a
/// response takes 15 seconds").
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

// Still Image class requests (bmRequestType 0x21 / 0xA1, wIndex = interface).
const REQ_CANCEL: u8 = 0x64;
const REQ_DEVICE_RESET: u8 = 0x66;
const REQ_GET_DEVICE_STATUS: u8 = 0x67;
const CANCEL_TIMEOUT: Duration = Duration::from_millis(300);
const STATUS_TIMEOUT: Duration = Duration::from_millis(300);
const RESET_TIMEOUT: Duration = Duration::from_secs(1);
const STATUS_LEN: u16 = 64;

/// Quiet time that ends a drain after a failed transaction.
const DRAIN_IDLE: Duration = Duration::from_millis(300);
/// Quiet time that ends the drain of stale data at open: usually nothing is there.
const OPEN_DRAIN_IDLE: Duration = Duration::from_millis(100);
/// A refused cancel can stream the rest of a big object; stop draining after this.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// Drain reads are this large so a refused cancel of a RAW drains quickly.
const DRAIN_CHUNK: usize = 64 << 10;

/// A claimed camera interface. Dropping it stops the event task and
/// releases the interface.
pub struct UsbTransport {
    location: String,
    interface: Interface,
    bulk_in: Endpoint<Bulk, In>,
    bulk_out: Endpoint<Bulk, Out>,
    mps_in: usize,
    mps_out: usize,
    interrupt_address: u8,
    timeout: Duration,
    events: mpsc::Receiver<Vec<u8>>,
    event_task: tokio::task::JoinHandle<()>,
    /// The last bulk-IN buffer, reused so a download does not allocate per read.
    in_buffer: Option<Buffer>,
}

/// Opens `info`'s device, claims its PTP interface, drains stale data a
/// previous host left behind, and starts reading events.
pub async fn open(info: &UsbCameraInfo) -> Result<UsbTransport, UsbError> {
    let location = info.location();
    let busy_owner = || owner::busy_owner(info.busnum(), info.device_address);
    let device = info
        .device_info()
        .open()
        .await
        .map_err(|e| UsbError::from_nusb(&e, &location, busy_owner))?;
    let interface = claim(&device, info.interface)
        .await
        .map_err(|e| UsbError::from_nusb(&e, &location, busy_owner))?;
    let pipes = find_pipes(&interface).ok_or_else(|| UsbError::NoPtpInterface {
        location: location.clone(),
    })?;
    let endpoint_error = |e: nusb::Error| UsbError::from_nusb(&e, &location, busy_owner);
    let bulk_in = interface
        .endpoint::<Bulk, In>(pipes.bulk_in)
        .map_err(endpoint_error)?;
    let bulk_out = interface
        .endpoint::<Bulk, Out>(pipes.bulk_out)
        .map_err(endpoint_error)?;
    let intr = interface
        .endpoint::<nusb::transfer::Interrupt, In>(pipes.interrupt_in)
        .map_err(endpoint_error)?;

    let (tx, events) = mpsc::channel(interrupt::EVENT_QUEUE);
    let event_task = tokio::spawn(interrupt::run(intr, tx, interrupt::IDLE_RESUBMIT));
    let mut transport = UsbTransport {
        mps_in: bulk_in.max_packet_size().max(1),
        mps_out: bulk_out.max_packet_size().max(1),
        location,
        interface,
        bulk_in,
        bulk_out,
        interrupt_address: pipes.interrupt_in,
        timeout: DEFAULT_TIMEOUT,
        events,
        event_task,
        in_buffer: None,
    };
    // A host that died mid-transfer leaves data in the device's IN queue;
    // it would surface as "expected response, got data" on OpenSession.
    match transport.drain(OPEN_DRAIN_IDLE, 512).await {
        Ok(0) => {}
        Ok(n) => {
            info!(location = %transport.location, bytes = n, "drained stale data left by a previous host")
        }
        Err(TransportError::Disconnected) => {
            return Err(UsbError::Disconnected {
                location: transport.location.clone(),
            })
        }
        Err(e) => warn!(location = %transport.location, error = %e, "draining stale data failed"),
    }
    info!(
        location = %transport.location,
        interface = info.interface,
        mps_in = transport.mps_in,
        mps_out = transport.mps_out,
        "camera interface claimed"
    );
    Ok(transport)
}

async fn claim(device: &Device, number: u8) -> Result<Interface, nusb::Error> {
    match device.detach_and_claim_interface(number).await {
        #[cfg(target_os = "macos")]
        Err(e) if e.kind() == nusb::ErrorKind::NotFound => {
            // macOS publishes a vendor-class device's interfaces only once it
            // is configured (mtp-rs `is_interface_unpublished`).
            device.set_configuration(1).await?;
            device.detach_and_claim_interface(number).await
        }
        other => other,
    }
}

struct Pipes {
    bulk_in: u8,
    bulk_out: u8,
    interrupt_in: u8,
}

fn find_pipes(interface: &Interface) -> Option<Pipes> {
    let alt = interface.descriptor()?;
    let (mut bulk_in, mut bulk_out, mut interrupt_in) = (None, None, None);
    for ep in alt.endpoints() {
        match (ep.direction(), ep.transfer_type()) {
            (Direction::In, TransferType::Bulk) => bulk_in = bulk_in.or(Some(ep.address())),
            (Direction::Out, TransferType::Bulk) => bulk_out = bulk_out.or(Some(ep.address())),
            (Direction::In, TransferType::Interrupt) => {
                interrupt_in = interrupt_in.or(Some(ep.address()))
            }
            _ => {}
        }
    }
    Some(Pipes {
        bulk_in: bulk_in?,
        bulk_out: bulk_out?,
        interrupt_in: interrupt_in?,
    })
}

impl UsbTransport {
    /// "usb 1-2.3": where the camera is plugged.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Sets the per-transfer timeout for bulk reads and writes (a capture
    /// may need 100 s; libgphoto2's choice).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// wMaxPacketSize of bulk OUT (the ZLP rule uses it).
    pub fn max_packet_size_out(&self) -> usize {
        self.mps_out
    }

    fn in_buffer(&mut self, len: usize) -> Buffer {
        match self.in_buffer.take() {
            Some(mut b) if b.capacity() >= len => {
                b.clear();
                b.set_requested_len(len);
                b
            }
            _ => self.bulk_in.allocate(len),
        }
    }

    /// Cancels whatever is pending on bulk IN and waits for it to come back,
    /// so the endpoint is idle (clear_halt requires that).
    async fn reap_in(&mut self) -> Option<Completion> {
        if self.bulk_in.pending() == 0 {
            return None;
        }
        self.bulk_in.cancel_all();
        let mut last = None;
        while self.bulk_in.pending() > 0 {
            last = Some(self.bulk_in.next_complete().await);
        }
        last
    }

    async fn reap_out(&mut self) {
        self.bulk_out.cancel_all();
        while self.bulk_out.pending() > 0 {
            self.bulk_out.next_complete().await;
        }
    }

    /// Maps a failed transfer, clearing a stall first so the pipe is usable
    /// again (halts even survive the process: mtp-rs #12).
    async fn transfer_failed(&mut self, e: TransferError, dir: Direction) -> TransportError {
        match e {
            TransferError::Stall => {
                let cleared = match dir {
                    Direction::In => self.bulk_in.clear_halt().await,
                    Direction::Out => self.bulk_out.clear_halt().await,
                };
                if let Err(err) = cleared {
                    warn!(error = %err, ?dir, "clearing the halt failed");
                }
                TransportError::Stall
            }
            e if is_disconnect(e) => TransportError::Disconnected,
            TransferError::Cancelled => TransportError::Cancelled,
            e => TransportError::Io(format!("{} ({dir:?}): {e}", self.location)),
        }
    }

    /// Reads and drops bulk-IN data until `idle` passes without any, a
    /// response container ends it, or [`DRAIN_LIMIT`] is reached.
    async fn drain(&mut self, idle: Duration, chunk: usize) -> Result<u64, TransportError> {
        let chunk = chunk.div_ceil(self.mps_in).max(1) * self.mps_in;
        let started = Instant::now();
        let mut drained = 0u64;
        loop {
            let buf = self.in_buffer(chunk);
            self.bulk_in.submit(buf);
            let c = match timeout(idle, self.bulk_in.next_complete()).await {
                Ok(c) => c,
                Err(_) => {
                    if let Some(c) = self.reap_in().await {
                        drained += c.actual_len as u64;
                        self.in_buffer = Some(c.buffer);
                    }
                    return Ok(drained);
                }
            };
            drained += c.actual_len as u64;
            let ends_with_response = is_response(&c.buffer[..c.actual_len.min(c.buffer.len())]);
            let status = c.status;
            self.in_buffer = Some(c.buffer);
            if let Err(e) = status {
                return match self.transfer_failed(e, Direction::In).await {
                    TransportError::Disconnected => Err(TransportError::Disconnected),
                    _ => Ok(drained),
                };
            }
            if ends_with_response {
                return Ok(drained);
            }
            if started.elapsed() > DRAIN_LIMIT {
                warn!(
                    bytes = drained,
                    "device keeps sending after a cancel; giving up the drain"
                );
                return Ok(drained);
            }
        }
    }

    fn control_error(&self, e: TransferError) -> TransportError {
        match e {
            TransferError::Stall => TransportError::Stall,
            // nusb reports its own control timeout as Cancelled.
            TransferError::Cancelled => TransportError::Timeout,
            e if is_disconnect(e) => TransportError::Disconnected,
            e => TransportError::Io(format!("{}: control request: {e}", self.location)),
        }
    }

    fn class_out<'a>(&self, request: u8, data: &'a [u8]) -> ControlOut<'a> {
        ControlOut {
            control_type: ControlType::Class,
            recipient: Recipient::Interface,
            request,
            value: 0,
            index: u16::from(self.interface.interface_number()),
            data,
        }
    }
}

/// True when `bytes` is exactly one response container: the device has
/// finished the transaction and nothing more will follow.
fn is_response(bytes: &[u8]) -> bool {
    if !(HEADER_LEN..=MAX_PARAM_CONTAINER_LEN).contains(&bytes.len()) {
        return false;
    }
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let kind = u16::from_le_bytes([bytes[4], bytes[5]]);
    kind == ContainerKind::Response as u16 && len == bytes.len()
}

fn nusb_error(e: nusb::Error) -> TransportError {
    match e.kind() {
        nusb::ErrorKind::Disconnected => TransportError::Disconnected,
        _ => TransportError::Io(e.to_string()),
    }
}

impl Drop for UsbTransport {
    fn drop(&mut self) {
        // The task owns the interrupt endpoint; aborting it drops the
        // endpoint, which cancels its transfer and lets the interface go.
        self.event_task.abort();
    }
}

#[async_trait::async_trait]
impl Transport for UsbTransport {
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.bulk_out.submit(Buffer::from(data.to_vec()));
        // nusb never sets URB_ZERO_PACKET, so the ZLP that tells the device
        // the transfer ended on a packet boundary is a transfer of its own.
        if !data.is_empty() && data.len().is_multiple_of(self.mps_out) {
            self.bulk_out.submit(Buffer::new(0));
        }
        let deadline = Instant::now() + self.timeout;
        let mut failure = None;
        while self.bulk_out.pending() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.bulk_out.next_complete()).await {
                Ok(c) => {
                    if let Err(e) = c.status {
                        failure.get_or_insert(e);
                    }
                }
                Err(_) => {
                    self.reap_out().await;
                    return Err(TransportError::Timeout);
                }
            }
        }
        match failure {
            None => Ok(()),
            Some(e) => Err(self.transfer_failed(e, Direction::Out).await),
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if buf.is_empty() || !buf.len().is_multiple_of(self.mps_in) {
            return Err(TransportError::Io(format!(
                "read of {} bytes is not a whole number of {}-byte packets",
                buf.len(),
                self.mps_in
            )));
        }
        let b = self.in_buffer(buf.len());
        self.bulk_in.submit(b);
        let c = match timeout(self.timeout, self.bulk_in.next_complete()).await {
            Ok(c) => c,
            Err(_) => match self.reap_in().await {
                // It completed as the timer fired: the data is whole, keep it.
                Some(c) if c.status.is_ok() => c,
                Some(c) => {
                    if c.actual_len > 0 {
                        // Handing these over would look like a short packet,
                        // i.e. the end of the data phase. Recovery drains the rest.
                        debug!(
                            bytes = c.actual_len,
                            "partial data of a timed-out read dropped"
                        );
                    }
                    self.in_buffer = Some(c.buffer);
                    return Err(TransportError::Timeout);
                }
                None => return Err(TransportError::Timeout),
            },
        };
        let n = c.actual_len.min(buf.len()).min(c.buffer.len());
        let status = c.status;
        if status.is_ok() {
            buf[..n].copy_from_slice(&c.buffer[..n]);
        }
        self.in_buffer = Some(c.buffer);
        match status {
            Ok(()) => Ok(n),
            Err(e) => Err(self.transfer_failed(e, Direction::In).await),
        }
    }

    async fn read_event(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        match timeout(wait, self.events.recv()).await {
            Ok(Some(event)) => Ok(Some(event)),
            // The task ended: the device is gone (events queued before are
            // delivered first).
            Ok(None) => Err(TransportError::Disconnected),
            Err(_) => Ok(None),
        }
    }

    fn max_packet_size(&self) -> usize {
        self.mps_in
    }

    async fn cancel_transaction(&mut self, tid: u32) -> Result<(), TransportError> {
        let mut payload = [0u8; 6];
        payload[..2].copy_from_slice(&crate::codes::event::CANCEL_TRANSACTION.to_le_bytes());
        payload[2..].copy_from_slice(&tid.to_le_bytes());
        let request = self.class_out(REQ_CANCEL, &payload);
        self.interface
            .control_out(request, CANCEL_TIMEOUT)
            .await
            .map_err(|e| self.control_error(e))
    }

    async fn device_status(&mut self) -> Result<Option<DeviceStatus>, TransportError> {
        let request = ControlIn {
            control_type: ControlType::Class,
            recipient: Recipient::Interface,
            request: REQ_GET_DEVICE_STATUS,
            value: 0,
            index: u16::from(self.interface.interface_number()),
            length: STATUS_LEN,
        };
        match self.interface.control_in(request, STATUS_TIMEOUT).await {
            Ok(reply) => Ok(DeviceStatus::parse(&reply)),
            // Unsupported (Android, qemu): nothing to wait for.
            Err(TransferError::Stall) => Ok(None),
            Err(e) => Err(self.control_error(e)),
        }
    }

    async fn reset_device(&mut self) -> Result<(), TransportError> {
        let request = self.class_out(REQ_DEVICE_RESET, &[]);
        self.interface
            .control_out(request, RESET_TIMEOUT)
            .await
            .map_err(|e| self.control_error(e))
    }

    async fn clear_halt(&mut self, endpoint: u8) -> Result<(), TransportError> {
        if endpoint == self.bulk_in.endpoint_address() {
            self.reap_in().await;
            self.bulk_in.clear_halt().await.map_err(nusb_error)
        } else if endpoint == self.bulk_out.endpoint_address() {
            self.reap_out().await;
            self.bulk_out.clear_halt().await.map_err(nusb_error)
        } else {
            if endpoint == self.interrupt_address {
                debug!("the event task clears interrupt halts itself");
            } else {
                debug!(endpoint, "device listed an endpoint that is not ours");
            }
            Ok(())
        }
    }

    async fn clear_halts(&mut self) -> Result<(), TransportError> {
        let bulk_in = self.bulk_in.endpoint_address();
        let bulk_out = self.bulk_out.endpoint_address();
        self.clear_halt(bulk_in).await?;
        self.clear_halt(bulk_out).await
    }

    async fn drain_in(&mut self) -> Result<u64, TransportError> {
        self.drain(DRAIN_IDLE, DRAIN_CHUNK).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Response;

    #[test]
    fn response_detection() {
        let r = Response::new(0x2001, 3, &[1]).encode().unwrap();
        assert!(is_response(&r));
        let mut longer = r.clone();
        longer.push(0);
        assert!(!is_response(&longer));
        let mut data = r.clone();
        data[4] = 2;
        assert!(!is_response(&data));
        assert!(!is_response(&r[..8]));
    }
}
