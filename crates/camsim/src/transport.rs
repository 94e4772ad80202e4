//! The simulated USB link: the host end ([`CamsimTransport`], a
//! [`ptp::Transport`]) and the device end used by the device task.
//!
//! Bulk-OUT transfers travel whole. Bulk-IN data travels in chunks, each
//! marked with whether it ends the device's transfer; the host end turns that
//! into USB read semantics: a read ends early at a short packet, and a
//! transfer that ends on a packet boundary is followed by a zero-length read.

use std::time::Duration;

use ptp::{Transport, TransportError};
use tokio::sync::mpsc;

/// A piece of a bulk-IN transfer.
#[derive(Debug)]
pub(crate) struct InChunk {
    pub bytes: Vec<u8>,
    /// The device's transfer (one container) ends with this chunk.
    pub end: bool,
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
        if buf.is_empty() || buf.len() % self.max_packet_size != 0 {
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
            let (chunk, pos) = match self.pending.take() {
                Some(p) => p,
                None => (self.next_chunk().await?, 0),
            };
            let n = (chunk.bytes.len() - pos).min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&chunk.bytes[pos..pos + n]);
            filled += n;
            self.transfer_len += n;
            if pos + n < chunk.bytes.len() {
                self.pending = Some((chunk, pos + n));
                return Ok(filled);
            }
            if chunk.end {
                let on_boundary = self.transfer_len % self.max_packet_size == 0;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send(dev: &DeviceEnd, parts: &[(usize, bool)]) {
        for &(len, end) in parts {
            dev.in_tx
                .send(InChunk {
                    bytes: vec![7; len],
                    end,
                })
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn packet_semantics() {
        let (mut host, dev, _ev) = link(512, Duration::from_secs(1));
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
}
