//! Session level: a scripted transport replays fuzzer bytes as the device's
//! side of the link (bulk-IN reads, events, recovery answers) while the host
//! runs a sequence of `Session` calls picked by the same bytes. No call may
//! panic or hang, and every allocation stays under libFuzzer's
//! `-malloc_limit_mb` (see docs/fuzzing.md).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use ptp::codes::{operation, property, response};
use ptp::container::{ContainerHeader, ContainerKind, HEADER_LEN, UNKNOWN_LENGTH};
use ptp::{DataPhase, DeviceStatus, PropValue, Session, Transport, TransportError};

/// Bulk packet size of the fake device; small, so multi-packet logic runs.
const MPS: usize = 64;
/// Cap on the reads one input may script: keeps a single run short even
/// when the session loops on empty reads.
const MAX_READS: u32 = 4096;

/// The fuzzer's bytes, consumed front to back.
struct Script {
    data: Vec<u8>,
    pos: usize,
    /// Code and transaction id of the last command the host wrote, so the
    /// script can answer "in step" as often as it answers out of step.
    last_op: u16,
    last_tid: u32,
    reads: u32,
}

impl Script {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.byte()?,
            self.byte()?,
            self.byte()?,
            self.byte()?,
        ]))
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let end = self.pos.saturating_add(n).min(self.data.len());
        let out = &self.data[self.pos..end];
        self.pos = end;
        out
    }

    fn exhausted(&self) -> bool {
        self.pos >= self.data.len() || self.reads >= MAX_READS
    }

    /// A transaction id: usually the expected one, sometimes off by a little.
    fn tid(&mut self) -> Option<u32> {
        Some(match self.byte()? {
            0..=191 => self.last_tid,
            // -32..=31 around the expected id: stale and future replies.
            d => self.last_tid.wrapping_add_signed(i32::from(d - 192) - 32),
        })
    }

    /// A container header: usually for the current transaction.
    fn header(&mut self, kind: ContainerKind, length: u32) -> Option<[u8; HEADER_LEN]> {
        let code = match self.byte()? {
            0..=223 if kind == ContainerKind::Data => self.last_op,
            0..=223 => response::OK,
            _ => self.u16()?,
        };
        let transaction_id = self.tid()?;
        Some(
            ContainerHeader {
                length,
                kind,
                code,
                transaction_id,
            }
            .encode(),
        )
    }

    /// The bytes of the next bulk-IN transfer, or the error it fails with.
    fn next_read(&mut self, cap: usize) -> Result<Vec<u8>, TransportError> {
        self.reads += 1;
        if self.exhausted() {
            return Err(TransportError::Disconnected);
        }
        let sel = self.byte().ok_or(TransportError::Disconnected)?;
        let mut out = Vec::new();
        let ok = match sel % 10 {
            0 => return Err(TransportError::Timeout),
            1 => return Err(TransportError::Stall),
            2 => Some(()), // a zero-length packet
            3 => self.response(&mut out),
            4 => self.data(&mut out, false),
            5 => self
                .data(&mut out, true)
                .and_then(|()| self.response(&mut out)),
            6 => self.data(&mut out, true),
            _ => {
                let n = usize::from(self.u16().unwrap_or(0));
                out.extend_from_slice(self.bytes(n));
                Some(())
            }
        };
        if ok.is_none() && out.is_empty() {
            return Err(TransportError::Disconnected);
        }
        // A USB read never returns more than its buffer.
        out.truncate(cap);
        Ok(out)
    }

    fn response(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let nparams = usize::from(self.byte()? % 7);
        let length = match nparams {
            6 => self.u32()?, // a lying length
            n => (HEADER_LEN + 4 * n) as u32,
        };
        out.extend_from_slice(&self.header(ContainerKind::Response, length)?);
        for _ in 0..nparams.min(5) {
            out.extend_from_slice(&self.u32()?.to_le_bytes());
        }
        Some(())
    }

    /// A data container: header, then payload from the script. With
    /// `exact`, the length field matches the payload that follows.
    fn data(&mut self, out: &mut Vec<u8>, exact: bool) -> Option<()> {
        let n = usize::from(self.u16()?);
        let payload = self.bytes(n).to_vec();
        let length = if exact {
            (HEADER_LEN + payload.len()) as u32
        } else {
            match self.byte()? {
                0..=127 => UNKNOWN_LENGTH,
                _ => self.u32()?,
            }
        };
        out.extend_from_slice(&self.header(ContainerKind::Data, length)?);
        out.extend_from_slice(&payload);
        Some(())
    }
}

#[async_trait::async_trait]
impl Transport for Script {
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        if let Ok(h) = ContainerHeader::parse(data) {
            if h.kind == ContainerKind::Command {
                self.last_op = h.code;
                self.last_tid = h.transaction_id;
            }
        }
        if self.exhausted() {
            return Err(TransportError::Disconnected);
        }
        Ok(())
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let bytes = self.next_read(buf.len())?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    async fn read_event(&mut self, _timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        self.reads += 1;
        if self.exhausted() {
            return Err(TransportError::Disconnected);
        }
        match self.byte() {
            Some(0..=63) => Ok(None),
            Some(_) => {
                let n = usize::from(self.byte().unwrap_or(0));
                Ok(Some(self.bytes(n).to_vec()))
            }
            None => Err(TransportError::Disconnected),
        }
    }

    fn max_packet_size(&self) -> usize {
        MPS
    }

    async fn cancel_transaction(&mut self, _tid: u32) -> Result<(), TransportError> {
        match self.byte() {
            Some(0..=191) => Ok(()),
            Some(_) => Err(TransportError::Stall),
            None => Err(TransportError::Disconnected),
        }
    }

    async fn device_status(&mut self) -> Result<Option<DeviceStatus>, TransportError> {
        match self.byte() {
            None => Err(TransportError::Disconnected),
            Some(0..=31) => Ok(None),
            Some(32..=47) => Err(TransportError::Timeout),
            Some(_) => {
                let n = usize::from(self.byte().unwrap_or(0) % 64);
                Ok(DeviceStatus::parse(&self.bytes(n).to_vec()))
            }
        }
    }

    async fn drain_in(&mut self) -> Result<u64, TransportError> {
        let n = usize::from(self.byte().unwrap_or(0));
        Ok(self.bytes(n).len() as u64)
    }
}

/// An async sink that keeps what it is given (bounded by the input size).
type Sink = Vec<u8>;

async fn run(script: Script) {
    let mut s = match Session::open(script, 1).await {
        Ok(s) => s,
        Err(_) => return,
    };
    while !s.transport().exhausted() {
        let Some(which) = s.transport_mut().byte() else {
            break;
        };
        let arg = s.transport_mut().u32().unwrap_or(0);
        match which % 16 {
            0 => drop(s.device_info().await),
            1 => drop(s.storage_ids().await),
            2 => drop(s.storage_info(arg).await),
            3 => drop(s.object_handles(arg, 0, 0).await),
            4 => drop(s.num_objects(arg, 0, 0).await),
            5 => drop(s.object_info(arg).await),
            6 => {
                let mut sink = Sink::new();
                let _ = s.get_object(arg, &mut sink).await;
            }
            7 => {
                let mut sink = Sink::new();
                let _ = s
                    .get_partial_object(arg, arg >> 3, arg >> 7, &mut sink)
                    .await;
            }
            8 => drop(s.get_device_prop_desc(arg as u16).await),
            9 => drop(
                s.device_prop_value(property::BATTERY_LEVEL, arg as u16)
                    .await,
            ),
            10 => drop(
                s.set_device_prop_value(
                    property::DATE_TIME,
                    &PropValue::Str("20260101T000000".into()),
                )
                .await,
            ),
            11 => drop(
                s.next_event(Duration::from_millis(u64::from(arg % 5000)))
                    .await,
            ),
            12 => drop(s.delete_object(arg).await),
            13 => drop(s.get_device_prop_value(arg as u16).await),
            14 => {
                let mut sink = Sink::new();
                let _ = s
                    .transaction(operation::GET_THUMB, &[arg], DataPhase::In(&mut sink))
                    .await;
            }
            _ => {
                let payload = arg.to_le_bytes().repeat(usize::from(arg as u8));
                let _ = s
                    .transaction(0x9116, &[arg], DataPhase::Out(&payload))
                    .await;
            }
        }
    }
    let _ = s.close().await;
}

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(run(Script {
        data: data.to_vec(),
        pos: 0,
        last_op: 0,
        last_tid: 0,
        reads: 0,
    }));
});
