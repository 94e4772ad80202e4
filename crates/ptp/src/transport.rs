//! The transport seam: what a session needs from a USB Still Image interface
//! (bulk OUT, bulk IN, interrupt IN). Real USB and the camera simulator both
//! implement it.

use std::time::Duration;

/// Failures of the link itself, as opposed to refusals by the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("device disconnected")]
    Disconnected,
    #[error("transfer timed out")]
    Timeout,
    #[error("endpoint stalled")]
    Stall,
    #[error("transfer cancelled")]
    Cancelled,
    #[error("I/O error: {0}")]
    Io(String),
}

/// The three pipes of a PTP device, modelled on a USB Still Image interface.
#[async_trait::async_trait]
pub trait Transport: Send {
    /// One bulk-OUT transfer. Implementations add the zero-length packet when
    /// `data.len()` is a multiple of [`Transport::max_packet_size`].
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError>;

    /// One bulk-IN transfer into `buf` (`buf.len()` is a multiple of the max
    /// packet size); returns the bytes read. A read shorter than `buf.len()`
    /// ends the transfer (short packet); a zero-length packet reads as 0.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;

    /// Next raw event container from the interrupt endpoint; `Ok(None)` when
    /// none arrived within `timeout`. Implementations read the interrupt pipe
    /// continuously in the background so no event is lost during long bulk
    /// transfers.
    async fn read_event(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError>;

    /// wMaxPacketSize of the bulk endpoints.
    fn max_packet_size(&self) -> usize;
}

#[async_trait::async_trait]
impl<T: Transport + ?Sized> Transport for Box<T> {
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        (**self).write(data).await
    }
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        (**self).read(buf).await
    }
    async fn read_event(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        (**self).read_event(timeout).await
    }
    fn max_packet_size(&self) -> usize {
        (**self).max_packet_size()
    }
}
