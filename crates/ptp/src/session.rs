//! A host-side PTP session over any [`Transport`]: transaction sequencing,
//! the three phases of a transaction, and the standard operations built on them.

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tracing::{debug, warn};

use crate::codes::{self, operation, response};
use crate::container::{Command, ContainerHeader, ContainerKind, Event, Response, HEADER_LEN};
use crate::dataset::{DeviceInfo, DevicePropDesc, ObjectInfo, PropValue, Reader, StorageInfo};
use crate::error::{PtpError, WireError};
use crate::recovery::{recover, Recovery};
use crate::transport::{Transport, TransportError};

/// Storage id meaning "every store" in GetObjectHandles / GetNumObjects.
pub const ALL_STORAGES: u32 = 0xFFFF_FFFF;
/// Format code meaning "any format" in GetObjectHandles / GetNumObjects.
pub const ANY_FORMAT: u32 = 0;
/// Parent handle meaning "objects anywhere in the hierarchy".
pub const ANY_PARENT: u32 = 0;
/// Parent handle meaning "only objects at the root of the store".
pub const ROOT_PARENT: u32 = 0xFFFF_FFFF;
/// Cap on any data phase collected into memory (datasets, handle lists, property
/// values): a length claimed by a device never allocates more than this.
pub const MAX_DATASET_LEN: usize = 16 << 20;
/// Cap on a single property value; real ones are a few bytes.
pub const MAX_PROP_VALUE_LEN: usize = 64 << 10;

/// Bulk-IN reads are this large (rounded up to the max packet size): each read is
/// one USB request, and fewer, larger requests keep the bus busy (libgphoto2 uses
/// 512 KiB too; 64 KiB measured 8 % slower than gphoto2 in the VM benchmark).
/// One buffer per session, so memory does not matter.
const READ_BUF_TARGET: usize = 512 << 10;
/// Zero-length reads tolerated in a row where data is expected; one is a
/// legitimate ZLP, a stream of them is a broken device.
const MAX_EMPTY_READS: u32 = 4;

/// The data phase of a transaction, seen from the host.
pub enum DataPhase<'a> {
    None,
    /// Host to device.
    Out(&'a [u8]),
    /// Device to host, streamed into the writer chunk by chunk.
    In(&'a mut (dyn AsyncWrite + Unpin + Send)),
}

/// A completed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub response: Response,
    /// Bytes received in (or sent by) the data phase.
    pub data_len: u64,
}

/// Where received data goes.
enum Sink<'a> {
    Writer(&'a mut (dyn AsyncWrite + Unpin + Send)),
    Vec { out: &'a mut Vec<u8>, limit: usize },
}

enum Phase<'a> {
    None,
    Out(&'a [u8]),
    In(Sink<'a>),
}

/// An open PTP session. Dropping it leaves the session open on the device
/// (the next OpenSession then answers SessionAlreadyOpen, which [`Session::open`] handles).
pub struct Session<T: Transport> {
    transport: T,
    session_id: u32,
    next_tid: u32,
    buf: Vec<u8>,
    last_recovery: Option<Recovery>,
}

fn read_buffer(max_packet_size: usize) -> Vec<u8> {
    let mps = max_packet_size.max(1);
    vec![0u8; READ_BUF_TARGET.div_ceil(mps) * mps]
}

impl<T: Transport> Session<T> {
    /// Opens session `session_id` (non-zero). When the device says a session is
    /// already open (a previous client exited without closing it), closes that
    /// session and opens again; if the device still insists, adopts it.
    pub async fn open(transport: T, session_id: u32) -> Result<Self, PtpError> {
        if session_id == 0 {
            return Err(PtpError::InvalidArgument("session id 0 is reserved".into()));
        }
        let buf = read_buffer(transport.max_packet_size());
        let mut s = Self {
            transport,
            session_id,
            next_tid: 1,
            buf,
            last_recovery: None,
        };
        // OpenSession always travels with transaction id 0 (ISO 15740 §9.2).
        match s
            .raw(operation::OPEN_SESSION, 0, &[session_id], Phase::None)
            .await
        {
            Ok(_) => {}
            Err(e) if e.response_code() == Some(response::SESSION_ALREADY_OPEN) => {
                warn!(
                    session_id,
                    "device reports a session already open; closing it and reopening"
                );
                let tid = s.next_tid();
                match s.raw(operation::CLOSE_SESSION, tid, &[], Phase::None).await {
                    Err(e @ PtpError::Transport(_)) => return Err(e),
                    Err(e) => debug!(error = %e, "closing the stale session failed"),
                    Ok(_) => {}
                }
                match s
                    .raw(operation::OPEN_SESSION, 0, &[session_id], Phase::None)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.response_code() == Some(response::SESSION_ALREADY_OPEN) => {
                        warn!(session_id, "device keeps its old session open; adopting it");
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
        s.next_tid = 1;
        debug!(session_id, "PTP session open");
        Ok(s)
    }

    pub fn session_id(&self) -> u32 {
        self.session_id
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back without CloseSession (e.g. after a disconnect).
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// How the last recovery after a transport failure ended, if one ran.
    /// [`Recovery::Reset`] means the device dropped this session: open a new one.
    pub fn last_recovery(&self) -> Option<Recovery> {
        self.last_recovery
    }

    fn next_tid(&mut self) -> u32 {
        let tid = self.next_tid;
        // 0 belongs to OpenSession and 0xFFFFFFFF is reserved; skip both on wrap.
        self.next_tid = match tid.wrapping_add(1) {
            0 | 0xFFFF_FFFF => 1,
            n => n,
        };
        tid
    }

    async fn raw(
        &mut self,
        code: u16,
        tid: u32,
        params: &[u32],
        phase: Phase<'_>,
    ) -> Result<Outcome, PtpError> {
        let result =
            run_transaction(&mut self.transport, &mut self.buf, code, tid, params, phase).await;
        match &result {
            Err(PtpError::Transport(e)) => {
                if let Some(outcome) = recover_after(&mut self.transport, e, code, tid).await {
                    self.last_recovery = Some(outcome);
                }
            }
            // A malformed container or an out-of-sequence one leaves unread
            // bytes of this transaction (the rest of the data, the response)
            // on bulk IN; without a drain every later transaction would read
            // its predecessor's response.
            Err(e @ (PtpError::Protocol { .. } | PtpError::Wire(_)))
                if !matches!(e, PtpError::Wire(WireError::TooManyParams(_))) =>
            {
                warn!(op = %codes::describe_operation(code), tid, error = %e, "device broke the protocol; resynchronising the link");
                self.last_recovery = Some(recover(&mut self.transport, tid).await);
            }
            _ => {}
        }
        result
    }

    /// Runs one transaction with the next transaction id: command, optional
    /// data phase, response. A response other than OK is [`PtpError::Response`].
    pub async fn transaction(
        &mut self,
        code: u16,
        params: &[u32],
        data: DataPhase<'_>,
    ) -> Result<Outcome, PtpError> {
        let phase = match data {
            DataPhase::None => Phase::None,
            DataPhase::Out(bytes) => Phase::Out(bytes),
            DataPhase::In(w) => Phase::In(Sink::Writer(w)),
        };
        let tid = self.next_tid();
        self.raw(code, tid, params, phase).await
    }

    /// Runs a transaction with a data-in phase collected into memory, refusing
    /// ([`PtpError::TooLarge`]) more than `limit` bytes.
    pub async fn transaction_to_vec(
        &mut self,
        code: u16,
        params: &[u32],
        limit: usize,
    ) -> Result<(Vec<u8>, Response), PtpError> {
        let mut out = Vec::new();
        let tid = self.next_tid();
        let outcome = self
            .raw(
                code,
                tid,
                params,
                Phase::In(Sink::Vec {
                    out: &mut out,
                    limit,
                }),
            )
            .await?;
        Ok((out, outcome.response))
    }

    async fn dataset(&mut self, code: u16, params: &[u32]) -> Result<Vec<u8>, PtpError> {
        Ok(self
            .transaction_to_vec(code, params, MAX_DATASET_LEN)
            .await?
            .0)
    }

    pub async fn device_info(&mut self) -> Result<DeviceInfo, PtpError> {
        Ok(DeviceInfo::parse(
            &self.dataset(operation::GET_DEVICE_INFO, &[]).await?,
        )?)
    }

    pub async fn storage_ids(&mut self) -> Result<Vec<u32>, PtpError> {
        let data = self.dataset(operation::GET_STORAGE_IDS, &[]).await?;
        Ok(Reader::new(&data).array_u32()?)
    }

    pub async fn storage_info(&mut self, storage_id: u32) -> Result<StorageInfo, PtpError> {
        Ok(StorageInfo::parse(
            &self
                .dataset(operation::GET_STORAGE_INFO, &[storage_id])
                .await?,
        )?)
    }

    /// Number of objects matching the filters (see [`Session::object_handles`]).
    pub async fn num_objects(
        &mut self,
        storage_id: u32,
        format: u32,
        parent: u32,
    ) -> Result<u32, PtpError> {
        let out = self
            .transaction(
                operation::GET_NUM_OBJECTS,
                &[storage_id, format, parent],
                DataPhase::None,
            )
            .await?;
        Ok(out.response.param(0))
    }

    /// Handles of objects matching the filters: `storage_id` [`ALL_STORAGES`]
    /// for every store, `format` [`ANY_FORMAT`] for every format, `parent`
    /// [`ANY_PARENT`] for the whole hierarchy or [`ROOT_PARENT`] for the root
    /// only, else the handle of a folder (association).
    pub async fn object_handles(
        &mut self,
        storage_id: u32,
        format: u32,
        parent: u32,
    ) -> Result<Vec<u32>, PtpError> {
        let data = self
            .dataset(operation::GET_OBJECT_HANDLES, &[storage_id, format, parent])
            .await?;
        Ok(Reader::new(&data).array_u32()?)
    }

    pub async fn object_info(&mut self, handle: u32) -> Result<ObjectInfo, PtpError> {
        Ok(ObjectInfo::parse(
            &self.dataset(operation::GET_OBJECT_INFO, &[handle]).await?,
        )?)
    }

    /// Streams an object's bytes into `sink` as they arrive; returns the count.
    /// If the sink fails, the rest of the data phase is read and dropped so the
    /// session stays usable, and the sink's error is returned.
    pub async fn get_object<W>(&mut self, handle: u32, sink: &mut W) -> Result<u64, PtpError>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let out = self
            .transaction(operation::GET_OBJECT, &[handle], DataPhase::In(sink))
            .await?;
        Ok(out.data_len)
    }

    /// MTP GetPartialObject64 (0x95C1): GetPartialObject with a 64-bit offset, for
    /// objects of 4 GiB and more (long video clips); check DeviceInfo before using it.
    pub async fn get_partial_object_64<W>(
        &mut self,
        handle: u32,
        offset: u64,
        max_bytes: u32,
        sink: &mut W,
    ) -> Result<u64, PtpError>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let out = self
            .transaction(
                operation::MTP_GET_PARTIAL_OBJECT_64,
                &[handle, offset as u32, (offset >> 32) as u32, max_bytes],
                DataPhase::In(sink),
            )
            .await?;
        Ok(out.data_len)
    }

    /// Streams up to `max_bytes` of an object from `offset` into `sink`;
    /// returns the count (short at the end of the object).
    pub async fn get_partial_object<W>(
        &mut self,
        handle: u32,
        offset: u32,
        max_bytes: u32,
        sink: &mut W,
    ) -> Result<u64, PtpError>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let out = self
            .transaction(
                operation::GET_PARTIAL_OBJECT,
                &[handle, offset, max_bytes],
                DataPhase::In(sink),
            )
            .await?;
        let reported = out.response.param(0);
        if !out.response.params.is_empty() && u64::from(reported) != out.data_len {
            warn!(
                handle,
                reported,
                received = out.data_len,
                "GetPartialObject size mismatch"
            );
        }
        Ok(out.data_len)
    }

    pub async fn delete_object(&mut self, handle: u32) -> Result<(), PtpError> {
        self.transaction(operation::DELETE_OBJECT, &[handle, 0], DataPhase::None)
            .await?;
        Ok(())
    }

    pub async fn get_device_prop_desc(&mut self, code: u16) -> Result<DevicePropDesc, PtpError> {
        let data = self
            .dataset(operation::GET_DEVICE_PROP_DESC, &[u32::from(code)])
            .await?;
        Ok(DevicePropDesc::parse(&data)?)
    }

    /// The raw encoded value of a device property (at most [`MAX_PROP_VALUE_LEN`] bytes).
    pub async fn get_device_prop_value(&mut self, code: u16) -> Result<Vec<u8>, PtpError> {
        Ok(self
            .transaction_to_vec(
                operation::GET_DEVICE_PROP_VALUE,
                &[u32::from(code)],
                MAX_PROP_VALUE_LEN,
            )
            .await?
            .0)
    }

    /// A device property's value decoded as `datatype` (from its [`DevicePropDesc`]).
    pub async fn device_prop_value(
        &mut self,
        code: u16,
        datatype: u16,
    ) -> Result<PropValue, PtpError> {
        Ok(PropValue::parse(
            &self.get_device_prop_value(code).await?,
            datatype,
        )?)
    }

    pub async fn set_device_prop_value(
        &mut self,
        code: u16,
        value: &PropValue,
    ) -> Result<(), PtpError> {
        let data = value.encode();
        self.transaction(
            operation::SET_DEVICE_PROP_VALUE,
            &[u32::from(code)],
            DataPhase::Out(&data),
        )
        .await?;
        Ok(())
    }

    /// Next event from the interrupt endpoint, `None` if none came within `timeout`.
    /// CancelTransaction (0x4001) events, the echo of our own recovery, are skipped.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Option<Event>, PtpError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(raw) = self.transport.read_event(left).await? else {
                return Ok(None);
            };
            let header = ContainerHeader::parse(&raw)?;
            // Interrupt transfers may carry padding after the container.
            let len = (header.length as usize).min(raw.len());
            let event = Event::decode(&raw[..len])?;
            if event.code == codes::event::CANCEL_TRANSACTION {
                debug!(params = ?event.params, "CancelTransaction event ignored");
                continue;
            }
            debug!(event = %codes::describe_event(event.code), params = ?event.params, "PTP event");
            return Ok(Some(event));
        }
    }

    /// Sends CloseSession and gives the transport back. A refusal by the device
    /// is logged, not returned: the transport is still good.
    pub async fn close(mut self) -> Result<T, PtpError> {
        match self
            .transaction(operation::CLOSE_SESSION, &[], DataPhase::None)
            .await
        {
            Ok(_) => debug!(session_id = self.session_id, "PTP session closed"),
            Err(e @ PtpError::Transport(_)) => return Err(e),
            Err(e) => warn!(error = %e, "CloseSession refused"),
        }
        Ok(self.transport)
    }
}

/// GetDeviceInfo outside a session (allowed by the spec, transaction id 0).
pub async fn get_device_info<T: Transport>(transport: &mut T) -> Result<DeviceInfo, PtpError> {
    let mut buf = read_buffer(transport.max_packet_size());
    let mut out = Vec::new();
    let sink = Sink::Vec {
        out: &mut out,
        limit: MAX_DATASET_LEN,
    };
    let result = run_transaction(
        transport,
        &mut buf,
        operation::GET_DEVICE_INFO,
        0,
        &[],
        Phase::In(sink),
    )
    .await;
    if let Err(PtpError::Transport(e)) = &result {
        recover_after(transport, e, operation::GET_DEVICE_INFO, 0).await;
    }
    result?;
    Ok(DeviceInfo::parse(&out)?)
}

/// Runs recovery after a transport failure that may have left the device
/// mid-transaction; a vanished device needs none. Returns how it ended.
async fn recover_after<T: Transport>(
    transport: &mut T,
    error: &TransportError,
    op: u16,
    tid: u32,
) -> Option<Recovery> {
    if *error == TransportError::Disconnected {
        return None;
    }
    warn!(op = %codes::describe_operation(op), tid, %error, "transaction failed; recovering the link");
    let outcome = recover(transport, tid).await;
    debug!(?outcome, "recovery finished");
    Some(outcome)
}

async fn run_transaction<T: Transport>(
    transport: &mut T,
    buf: &mut [u8],
    op: u16,
    tid: u32,
    params: &[u32],
    phase: Phase<'_>,
) -> Result<Outcome, PtpError> {
    let command = Command::new(op, tid, params).encode()?;
    debug!(op = %codes::describe_operation(op), tid, ?params, "PTP command");
    transport.write(&command).await?;

    let (response, data_len, deferred) = match phase {
        Phase::None => (
            read_response(transport, buf, Vec::new(), op).await?,
            0,
            None,
        ),
        Phase::Out(data) => {
            let header = ContainerHeader::data(op, tid, data.len() as u64);
            if header.payload_len().is_none() {
                return Err(PtpError::InvalidArgument(format!(
                    "{} bytes do not fit one data container",
                    data.len()
                )));
            }
            // One write is one bulk transfer; splitting the container would
            // make the transport add a ZLP in the middle of it.
            let mut container = Vec::with_capacity(HEADER_LEN + data.len());
            container.extend_from_slice(&header.encode());
            container.extend_from_slice(data);
            transport.write(&container).await?;
            (
                read_response(transport, buf, Vec::new(), op).await?,
                data.len() as u64,
                None,
            )
        }
        Phase::In(mut sink) => match receive_data(transport, buf, op, tid, &mut sink).await? {
            DataIn::Refused(response) => (response, 0, None),
            DataIn::Received {
                len,
                leftover,
                sink_error,
            } => (
                read_response(transport, buf, leftover, op).await?,
                len,
                sink_error,
            ),
        },
    };

    if response.transaction_id != tid {
        return Err(PtpError::Protocol {
            op,
            msg: format!(
                "response has transaction id {}, expected {tid}",
                response.transaction_id
            ),
        });
    }
    debug!(op = %codes::describe_operation(op), tid, response = %codes::describe_response(response.code), data_len, "PTP response");
    if response.code != response::OK {
        return Err(PtpError::Response {
            op,
            code: response.code,
            name: codes::response_name(response.code),
            params: response.params,
        });
    }
    if let Some(e) = deferred {
        return Err(e);
    }
    Ok(Outcome { response, data_len })
}

enum DataIn {
    /// The device skipped the data phase and answered directly.
    Refused(Response),
    Received {
        len: u64,
        /// Bytes after the data container in the last read: the response's start.
        leftover: Vec<u8>,
        /// A sink failure, reported after the response so the session stays in step.
        sink_error: Option<PtpError>,
    },
}

/// One bulk-IN read, refusing a transport that claims more bytes than the buffer holds.
async fn read_once<T: Transport>(
    transport: &mut T,
    buf: &mut [u8],
    op: u16,
) -> Result<usize, PtpError> {
    let n = transport.read(buf).await?;
    if n > buf.len() {
        return Err(PtpError::Protocol {
            op,
            msg: format!("transport reported {n} bytes read into {}", buf.len()),
        });
    }
    Ok(n)
}

async fn read_skipping_zlp<T: Transport>(
    transport: &mut T,
    buf: &mut [u8],
    op: u16,
) -> Result<usize, PtpError> {
    for _ in 0..MAX_EMPTY_READS {
        let n = read_once(transport, buf, op).await?;
        if n > 0 {
            return Ok(n);
        }
    }
    Err(PtpError::Protocol {
        op,
        msg: "device keeps sending empty packets".into(),
    })
}

async fn receive_data<T: Transport>(
    transport: &mut T,
    buf: &mut [u8],
    op: u16,
    tid: u32,
    sink: &mut Sink<'_>,
) -> Result<DataIn, PtpError> {
    let mut n = read_skipping_zlp(transport, buf, op).await?;
    if n < HEADER_LEN {
        return Err(PtpError::Protocol {
            op,
            msg: format!("first packet of {n} bytes holds no container header"),
        });
    }
    let header = ContainerHeader::parse(&buf[..n])?;
    match header.kind {
        ContainerKind::Data => {}
        ContainerKind::Response => {
            let len = header.length as usize;
            if len > n {
                return Err(PtpError::Protocol {
                    op,
                    msg: "response split across reads".into(),
                });
            }
            return Ok(DataIn::Refused(Response::decode(&buf[..len])?));
        }
        other => {
            return Err(PtpError::Protocol {
                op,
                msg: format!("expected data, got a {other:?} container"),
            });
        }
    }
    if header.transaction_id != tid {
        return Err(PtpError::Protocol {
            op,
            msg: format!(
                "data has transaction id {}, expected {tid}",
                header.transaction_id
            ),
        });
    }
    if header.code != op {
        warn!(op = %codes::describe_operation(op), data_code = header.code, "data container code differs from the operation");
    }

    let total = header.payload_len().map(u64::from);
    let mut sink_error = None;
    if let Sink::Vec { out, limit } = sink {
        match total {
            Some(t) if t > *limit as u64 => {
                sink_error = Some(PtpError::TooLarge { op, limit: *limit })
            }
            Some(t) => out.reserve(t.min(1 << 20) as usize),
            None => {}
        }
    }

    let mut received = 0u64;
    let mut start = HEADER_LEN;
    let mut empty_reads = 0;
    loop {
        let avail = &buf[start..n];
        let take = match total {
            Some(t) => (t - received).min(avail.len() as u64) as usize,
            None => avail.len(),
        };
        deliver(sink, &avail[..take], &mut sink_error, op).await;
        received += take as u64;
        if take < avail.len() {
            // Data and response arrived in one read.
            let leftover = avail[take..].to_vec();
            return finish(sink, received, leftover, sink_error).await;
        }
        let transfer_ended = n < buf.len();
        match total {
            Some(t) if received >= t => break,
            None if transfer_ended => break,
            _ => {}
        }
        n = read_once(transport, buf, op).await?;
        start = 0;
        if n == 0 {
            if total.is_none() {
                // The ZLP that ends an unknown-length phase on a packet boundary.
                break;
            }
            empty_reads += 1;
            if empty_reads >= MAX_EMPTY_READS {
                return Err(PtpError::Protocol {
                    op,
                    msg: "data phase stalled on empty packets".into(),
                });
            }
        } else {
            empty_reads = 0;
        }
    }
    finish(sink, received, Vec::new(), sink_error).await
}

async fn finish(
    sink: &mut Sink<'_>,
    len: u64,
    leftover: Vec<u8>,
    mut sink_error: Option<PtpError>,
) -> Result<DataIn, PtpError> {
    if sink_error.is_none() {
        if let Sink::Writer(w) = sink {
            if let Err(e) = w.flush().await {
                sink_error = Some(PtpError::Sink(e));
            }
        }
    }
    Ok(DataIn::Received {
        len,
        leftover,
        sink_error,
    })
}

async fn deliver(sink: &mut Sink<'_>, bytes: &[u8], error: &mut Option<PtpError>, op: u16) {
    if error.is_some() || bytes.is_empty() {
        return;
    }
    match sink {
        Sink::Writer(w) => {
            if let Err(e) = w.write_all(bytes).await {
                *error = Some(PtpError::Sink(e));
            }
        }
        Sink::Vec { out, limit } => {
            if out.len() + bytes.len() > *limit {
                *error = Some(PtpError::TooLarge { op, limit: *limit });
            } else {
                out.extend_from_slice(bytes);
            }
        }
    }
}

async fn read_response<T: Transport>(
    transport: &mut T,
    buf: &mut [u8],
    mut acc: Vec<u8>,
    op: u16,
) -> Result<Response, PtpError> {
    loop {
        if acc.len() >= HEADER_LEN {
            let header = ContainerHeader::parse(&acc)?;
            if header.kind != ContainerKind::Response {
                return Err(PtpError::Protocol {
                    op,
                    msg: format!("expected a response, got a {:?} container", header.kind),
                });
            }
            let len = header.length as usize;
            if acc.len() >= len {
                if acc.len() > len {
                    warn!(extra = acc.len() - len, "bytes after the response dropped");
                }
                return Ok(Response::decode(&acc[..len])?);
            }
        }
        // A ZLP may still be due from a data phase that ended on a packet boundary.
        let n = read_skipping_zlp(transport, buf, op).await?;
        acc.extend_from_slice(&buf[..n]);
    }
}
