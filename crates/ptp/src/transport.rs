//! The transport seam: what a session needs from a USB Still Image interface
//! (bulk OUT, bulk IN, interrupt IN). Real USB and the camera simulator both
//! implement it.

use std::time::Duration;

use crate::device_status::DeviceStatus;

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

    // Recovery hooks (Still Image class requests and pipe housekeeping). The
    // session runs them after a timeout, stall or I/O error; the defaults do
    // nothing so links without such a control channel (the simulator,
    // scripted tests) need not care.

    /// Asks the device to abandon transaction `tid` (class request 0x64 with
    /// CancelTransaction 0x4001). `Stall` or `Timeout` means it refused.
    async fn cancel_transaction(&mut self, _tid: u32) -> Result<(), TransportError> {
        Ok(())
    }

    /// Reads the device status (class request 0x67). `Ok(None)` means the
    /// device does not support the request (stall or short reply);
    /// `Err(Timeout)` means it did not answer at all (wedged).
    async fn device_status(&mut self) -> Result<Option<DeviceStatus>, TransportError> {
        Ok(None)
    }

    /// Resets the device's PTP state (class request 0x66); the session on
    /// the device is gone afterwards.
    async fn reset_device(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    /// Clears the halt on one endpoint (by address) the device reported as stalled.
    async fn clear_halt(&mut self, _endpoint: u8) -> Result<(), TransportError> {
        Ok(())
    }

    /// Clears the halt on both bulk endpoints.
    async fn clear_halts(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    /// Reads and discards whatever the device still sends on bulk IN until it
    /// goes quiet; returns the bytes dropped.
    async fn drain_in(&mut self) -> Result<u64, TransportError> {
        Ok(0)
    }
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
    async fn cancel_transaction(&mut self, tid: u32) -> Result<(), TransportError> {
        (**self).cancel_transaction(tid).await
    }
    async fn device_status(&mut self) -> Result<Option<DeviceStatus>, TransportError> {
        (**self).device_status().await
    }
    async fn reset_device(&mut self) -> Result<(), TransportError> {
        (**self).reset_device().await
    }
    async fn clear_halt(&mut self, endpoint: u8) -> Result<(), TransportError> {
        (**self).clear_halt(endpoint).await
    }
    async fn clear_halts(&mut self) -> Result<(), TransportError> {
        (**self).clear_halts().await
    }
    async fn drain_in(&mut self) -> Result<u64, TransportError> {
        (**self).drain_in().await
    }
}
