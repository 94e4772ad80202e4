//! The device side of PTP: answers the host's operations from the card,
//! one transaction at a time, streaming objects in chunks.

use std::io;
use std::sync::Arc;

use ptp::codes::{self, datatype, event, format, operation as op, property, response as rc};
use ptp::container::{Command, ContainerHeader, ContainerKind, Response, HEADER_LEN};
use ptp::dataset::{
    DeviceInfo, DevicePropDesc, ObjectInfo, PropForm, PropValue, StorageInfo, Writer,
};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::camera::{Shared, State};
use crate::faults::{Faults, Malformed};
use crate::storage::{Backing, CardObject, STORAGE_ID};
use crate::transport::{DeviceEnd, InChunk};

/// Bulk-IN chunk size: objects stream through this much memory at a time.
const CHUNK: usize = 64 << 10;
/// Estimated shot size for the free-images count before any shot exists.
const TYPICAL_SHOT_BYTES: u64 = 8 << 20;

const SUPPORTED_OPS: &[u16] = &[
    op::GET_DEVICE_INFO,
    op::OPEN_SESSION,
    op::CLOSE_SESSION,
    op::GET_STORAGE_IDS,
    op::GET_STORAGE_INFO,
    op::GET_NUM_OBJECTS,
    op::GET_OBJECT_HANDLES,
    op::GET_OBJECT_INFO,
    op::GET_OBJECT,
    op::DELETE_OBJECT,
    op::GET_DEVICE_PROP_DESC,
    op::GET_DEVICE_PROP_VALUE,
    op::GET_PARTIAL_OBJECT,
    op::MTP_GET_PARTIAL_OBJECT_64,
];
const SUPPORTED_EVENTS: &[u16] = &[event::OBJECT_ADDED, event::DEVICE_PROP_CHANGED];
const SUPPORTED_PROPS: &[u16] = &[property::BATTERY_LEVEL, property::DATE_TIME];

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The host dropped its transport.
    HostGone,
    /// The cable was pulled (a fault, or the card could not be read).
    Pulled,
}

/// Bytes a data phase sends.
enum Payload {
    Bytes(Vec<u8>),
    Object {
        backing: Backing,
        offset: u64,
        len: u64,
    },
}

/// How a faulty object transfer is cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The cable is pulled after this many payload bytes.
    Pull(u64),
    /// Bulk IN is halted after this many payload bytes.
    Stall(u64),
}

enum Reply {
    Response(u16, Vec<u32>),
    Data {
        payload: Payload,
        params: Vec<u32>,
        cut: Option<Cut>,
        /// A malformation of the data container's header (see [`Malformed`]).
        header_fault: Option<Malformed>,
    },
    /// Halt bulk IN instead of answering.
    Stall,
}

fn refuse(code: u16) -> Reply {
    Reply::Response(code, Vec::new())
}

fn dataset(bytes: Vec<u8>) -> Reply {
    Reply::Data {
        payload: Payload::Bytes(bytes),
        params: Vec::new(),
        cut: None,
        header_fault: None,
    }
}

/// How a data phase ended.
enum Sent {
    Complete,
    /// The device halted bulk IN mid-phase and abandoned the transaction.
    Halted,
}

/// Serves one host connection until the host goes away or the cable is pulled.
pub(crate) async fn serve(shared: Arc<Shared>, generation: u64, mut dev: DeviceEnd) {
    debug!(generation, "device task started");
    let ended = loop {
        let Some(transfer) = dev.out_rx.recv().await else {
            break Ended::HostGone;
        };
        let Some(command) = parse_command(&transfer) else {
            continue;
        };
        if let Err(ended) = transact(&shared, &dev.in_tx, &command).await {
            break ended;
        }
    };
    info!(generation, ?ended, "host connection ended");
    shared.link_closed(generation, ended == Ended::Pulled);
}

fn parse_command(transfer: &[u8]) -> Option<Command> {
    match ContainerHeader::parse(transfer) {
        Ok(h) if h.kind == ContainerKind::Command => match Command::decode(transfer) {
            Ok(c) => Some(c),
            Err(e) => {
                warn!(error = %e, "malformed command ignored");
                None
            }
        },
        // The data phase of an operation already refused.
        Ok(h) if h.kind == ContainerKind::Data => {
            debug!(code = h.code, "unexpected data phase dropped");
            None
        }
        Ok(h) => {
            warn!(kind = ?h.kind, "non-command container ignored");
            None
        }
        Err(e) => {
            warn!(error = %e, len = transfer.len(), "garbage on the bulk-OUT pipe ignored");
            None
        }
    }
}

async fn transact(
    shared: &Shared,
    in_tx: &mpsc::Sender<InChunk>,
    cmd: &Command,
) -> Result<(), Ended> {
    let reply = decide(shared, cmd);
    let (code, params) = match reply {
        Reply::Response(code, params) => (code, params),
        Reply::Stall => {
            warn!(op = %codes::describe_operation(cmd.code), "fault: bulk IN stalled");
            return halt(in_tx).await;
        }
        Reply::Data {
            payload,
            params,
            cut,
            header_fault,
        } => match open_source(payload).await {
            Ok((source, len)) => match send_data(in_tx, cmd, source, len, cut, header_fault).await?
            {
                Sent::Complete => (rc::OK, params),
                // A halted device answers nothing more for this transaction;
                // the host's cancel and clear-halt end it.
                Sent::Halted => return Ok(()),
            },
            Err(e) => {
                error!(error = %e, "card read failed");
                (rc::GENERAL_ERROR, Vec::new())
            }
        },
    };
    debug!(op = %codes::describe_operation(cmd.code), tid = cmd.transaction_id,
        response = %codes::describe_response(code), "transaction served");
    let mut tid = cmd.transaction_id;
    if !matches!(cmd.code, op::OPEN_SESSION | op::CLOSE_SESSION)
        && Faults::take(&mut shared.state().faults.wrong_transaction_ids)
    {
        tid = tid.wrapping_sub(1);
        warn!(
            expected = cmd.transaction_id,
            sent = tid,
            "fault: response with a wrong transaction id"
        );
    }
    let bytes = Response::new(code, tid, &params).encode().map_err(|e| {
        error!(error = %e, "response not encodable");
        Ended::Pulled
    })?;
    in_tx
        .send(InChunk::data(bytes, true))
        .await
        .map_err(|_| Ended::HostGone)
}

/// Halts bulk IN; the transaction is abandoned.
async fn halt(in_tx: &mpsc::Sender<InChunk>) -> Result<(), Ended> {
    in_tx
        .send(InChunk::halt())
        .await
        .map_err(|_| Ended::HostGone)
}

/// Decides the answer under the state lock; only data streaming happens outside it.
fn decide(shared: &Shared, cmd: &Command) -> Reply {
    let mut st = shared.state();
    let reply = answer(shared, &mut st, cmd);
    malform(&mut st.faults, cmd.code, reply)
}

/// Applies the front queued malformation to a data reply it suits.
fn malform(faults: &mut Faults, code: u16, reply: Reply) -> Reply {
    let Reply::Data {
        payload,
        params,
        cut,
        header_fault: None,
    } = reply
    else {
        return reply;
    };
    let is_dataset = matches!(payload, Payload::Bytes(_));
    let fault = match faults.malformed.front() {
        Some(m) if m.applies_to(code, is_dataset) => faults.malformed.pop_front(),
        _ => None,
    };
    let (payload, header_fault) = match (fault, payload) {
        (Some(Malformed::TruncatedDataset), Payload::Bytes(mut bytes)) => {
            warn!(len = bytes.len(), "fault: dataset truncated to half");
            bytes.truncate(bytes.len() / 2);
            (Payload::Bytes(bytes), None)
        }
        (Some(Malformed::HugeArrayCount), Payload::Bytes(mut bytes)) if bytes.len() >= 4 => {
            warn!("fault: array count 0x3FFFFFFF");
            bytes[..4].copy_from_slice(&0x3FFF_FFFFu32.to_le_bytes());
            (Payload::Bytes(bytes), None)
        }
        (Some(m), payload) => {
            warn!(fault = ?m, "fault: malformed data container");
            (payload, Some(m))
        }
        (None, payload) => (payload, None),
    };
    Reply::Data {
        payload,
        params,
        cut,
        header_fault,
    }
}

/// The device's honest answer to `cmd` (faults of the answer itself excepted).
fn answer(shared: &Shared, st: &mut State, cmd: &Command) -> Reply {
    let code = cmd.code;
    if !SUPPORTED_OPS.contains(&code) {
        return refuse(rc::OPERATION_NOT_SUPPORTED);
    }
    let session_op = code == op::OPEN_SESSION || code == op::CLOSE_SESSION;
    if !session_op && Faults::take(&mut st.faults.busy_ops) {
        return refuse(rc::DEVICE_BUSY);
    }
    if !session_op && Faults::take(&mut st.faults.stall_ops) {
        return Reply::Stall;
    }
    if st.session.is_none() && code != op::GET_DEVICE_INFO && code != op::OPEN_SESSION {
        return refuse(rc::SESSION_NOT_OPEN);
    }
    match code {
        op::GET_DEVICE_INFO => dataset(device_info(shared).encode()),
        op::OPEN_SESSION => match (cmd.param(0), st.session) {
            (0, _) => refuse(rc::INVALID_PARAMETER),
            (_, Some(open)) => Reply::Response(rc::SESSION_ALREADY_OPEN, vec![open]),
            (id, None) => {
                st.session = Some(id);
                info!(session = id, "session opened");
                refuse(rc::OK)
            }
        },
        op::CLOSE_SESSION => {
            st.session = None;
            info!("session closed");
            refuse(rc::OK)
        }
        op::GET_STORAGE_IDS => {
            let mut w = Writer::new();
            w.array_u32(&[STORAGE_ID]);
            dataset(w.into_inner())
        }
        op::GET_STORAGE_INFO if cmd.param(0) != STORAGE_ID => refuse(rc::INVALID_STORAGE_ID),
        op::GET_STORAGE_INFO => dataset(storage_info(shared, st).encode()),
        op::GET_NUM_OBJECTS => match select(st, cmd) {
            Ok(handles) => Reply::Response(rc::OK, vec![handles.len() as u32]),
            Err(code) => refuse(code),
        },
        op::GET_OBJECT_HANDLES => match select(st, cmd) {
            Ok(handles) => {
                let mut w = Writer::new();
                w.array_u32(&handles);
                dataset(w.into_inner())
            }
            Err(code) => refuse(code),
        },
        op::GET_OBJECT_INFO => match st.card.get(cmd.param(0)) {
            Some(obj) => dataset(object_info(obj).encode()),
            None => refuse(rc::INVALID_OBJECT_HANDLE),
        },
        op::GET_OBJECT => match st
            .card
            .get(cmd.param(0))
            .map(|o| (o.backing.clone(), o.size))
        {
            Some((backing, len)) => object_reply(st, backing, 0, len, Vec::new()),
            None => refuse(rc::INVALID_OBJECT_HANDLE),
        },
        op::GET_PARTIAL_OBJECT | op::MTP_GET_PARTIAL_OBJECT_64 => {
            let Some(obj) = st.card.get(cmd.param(0)) else {
                return refuse(rc::INVALID_OBJECT_HANDLE);
            };
            // The 64-bit form splits the offset over two parameters, low word first.
            let (offset, max) = if cmd.code == op::MTP_GET_PARTIAL_OBJECT_64 {
                (
                    u64::from(cmd.param(1)) | (u64::from(cmd.param(2)) << 32),
                    cmd.param(3),
                )
            } else {
                (u64::from(cmd.param(1)), cmd.param(2))
            };
            if offset > obj.size {
                return refuse(rc::INVALID_PARAMETER);
            }
            let len = (obj.size - offset).min(u64::from(max));
            let backing = obj.backing.clone();
            object_reply(st, backing, offset, len, vec![len as u32])
        }
        op::DELETE_OBJECT => delete(st, cmd.param(0)),
        op::GET_DEVICE_PROP_DESC => match prop_desc(st, cmd.param(0)) {
            Some(desc) => dataset(desc.encode()),
            None => refuse(rc::DEVICE_PROP_NOT_SUPPORTED),
        },
        op::GET_DEVICE_PROP_VALUE => match prop_desc(st, cmd.param(0)) {
            Some(desc) => dataset(desc.current.encode()),
            None => refuse(rc::DEVICE_PROP_NOT_SUPPORTED),
        },
        _ => refuse(rc::OPERATION_NOT_SUPPORTED),
    }
}

fn object_reply(
    st: &mut State,
    backing: Backing,
    offset: u64,
    len: u64,
    params: Vec<u32>,
) -> Reply {
    let cut = match (
        st.faults.disconnect_after_bytes,
        st.faults.stall_after_bytes,
    ) {
        (Some(k), _) if len > k => st.faults.disconnect_after_bytes.take().map(Cut::Pull),
        (_, Some(k)) if len > k => st.faults.stall_after_bytes.take().map(Cut::Stall),
        _ => None,
    };
    Reply::Data {
        payload: Payload::Object {
            backing,
            offset,
            len,
        },
        params,
        cut,
        header_fault: None,
    }
}

/// Handles matching GetObjectHandles / GetNumObjects filters. The card is
/// flat, so the only parents are "any" (0) and "root" (0xFFFFFFFF).
fn select(st: &State, cmd: &Command) -> Result<Vec<u32>, u16> {
    let storage = cmd.param(0);
    if storage != STORAGE_ID && storage != ptp::session::ALL_STORAGES {
        return Err(rc::INVALID_STORAGE_ID);
    }
    match cmd.param(2) {
        ptp::session::ANY_PARENT | ptp::session::ROOT_PARENT => Ok(st.card.handles(cmd.param(1))),
        _ => Err(rc::INVALID_PARENT_OBJECT),
    }
}

fn delete(st: &mut State, handle: u32) -> Reply {
    let handles = if handle == 0xFFFF_FFFF {
        st.card.handles(0)
    } else {
        vec![handle]
    };
    if handles.is_empty() || st.card.get(handles[0]).is_none() {
        return refuse(if handle == 0xFFFF_FFFF {
            rc::OK
        } else {
            rc::INVALID_OBJECT_HANDLE
        });
    }
    for h in handles {
        if let Some(CardObject {
            backing: Backing::File(path),
            ..
        }) = st.card.remove(h)
        {
            if let Err(e) = std::fs::remove_file(&path) {
                warn!(path = %path.display(), error = %e, "deleting card file failed");
            }
        }
    }
    refuse(rc::OK)
}

fn ptp_date(t: OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]"
    ))
    .unwrap_or_default()
}

fn device_info(shared: &Shared) -> DeviceInfo {
    let cfg = &shared.config;
    DeviceInfo {
        standard_version: 100,
        vendor_extension_id: 6,
        vendor_extension_version: 100,
        vendor_extension_desc: "microsoft.com: 1.0;".into(),
        functional_mode: 0,
        operations_supported: SUPPORTED_OPS.to_vec(),
        events_supported: SUPPORTED_EVENTS.to_vec(),
        device_properties_supported: SUPPORTED_PROPS.to_vec(),
        capture_formats: vec![format::EXIF_JPEG],
        image_formats: vec![format::EXIF_JPEG, format::UNDEFINED],
        manufacturer: cfg.manufacturer.clone(),
        model: cfg.model.clone(),
        device_version: concat!("camsim ", env!("CARGO_PKG_VERSION")).into(),
        serial_number: cfg.serial.clone(),
    }
}

fn storage_info(shared: &Shared, st: &State) -> StorageInfo {
    let capacity = shared.config.capacity_bytes;
    let used = st.card.used_bytes();
    let free = capacity.saturating_sub(used);
    let typical = match st.card.len() as u64 {
        0 => TYPICAL_SHOT_BYTES,
        n => (used / n).max(1),
    };
    StorageInfo {
        storage_type: 4,
        filesystem_type: 3,
        access_capability: 0,
        max_capacity: capacity,
        free_space_bytes: free,
        free_space_images: u32::try_from(free / typical).unwrap_or(u32::MAX - 1),
        description: "SD1".into(),
        volume_label: "HOTSHOE".into(),
    }
}

fn object_info(obj: &CardObject) -> ObjectInfo {
    let date = ptp_date(obj.captured_at);
    ObjectInfo {
        storage_id: STORAGE_ID,
        object_format: obj.format,
        protection_status: 0,
        object_compressed_size: u32::try_from(obj.size).unwrap_or(u32::MAX),
        image_pix_width: obj.pixels.0,
        image_pix_height: obj.pixels.1,
        image_bit_depth: if obj.format == format::EXIF_JPEG {
            24
        } else {
            0
        },
        parent_object: 0,
        filename: obj.name.clone(),
        capture_date: date.clone(),
        modification_date: date,
        ..ObjectInfo::default()
    }
}

fn prop_desc(st: &State, code: u32) -> Option<DevicePropDesc> {
    match u16::try_from(code).ok()? {
        property::BATTERY_LEVEL => Some(DevicePropDesc {
            code: property::BATTERY_LEVEL,
            datatype: datatype::UINT8,
            writable: false,
            factory_default: PropValue::U8(100),
            current: PropValue::U8(st.battery),
            form: PropForm::Range {
                min: PropValue::U8(0),
                max: PropValue::U8(100),
                step: PropValue::U8(1),
            },
        }),
        property::DATE_TIME => Some(DevicePropDesc {
            code: property::DATE_TIME,
            datatype: datatype::STR,
            writable: false,
            factory_default: PropValue::Str(String::new()),
            current: PropValue::Str(ptp_date(
                OffsetDateTime::now_local().unwrap_or_else(|_| OffsetDateTime::now_utc()),
            )),
            form: PropForm::None,
        }),
        _ => None,
    }
}

/// Where streamed bytes come from.
enum Source {
    Memory { data: Arc<[u8]>, pos: usize },
    File(tokio::fs::File),
}

/// Opens the payload before anything is sent, so a missing file becomes a
/// clean error response rather than a broken data phase.
async fn open_source(payload: Payload) -> io::Result<(Source, u64)> {
    match payload {
        Payload::Bytes(bytes) => {
            let len = bytes.len() as u64;
            Ok((
                Source::Memory {
                    data: bytes.into(),
                    pos: 0,
                },
                len,
            ))
        }
        Payload::Object {
            backing: Backing::Memory(data),
            offset,
            len,
        } => {
            let end = offset.checked_add(len).filter(|&e| e <= data.len() as u64);
            if end.is_none() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "range beyond the object",
                ));
            }
            Ok((
                Source::Memory {
                    data,
                    pos: offset as usize,
                },
                len,
            ))
        }
        Payload::Object {
            backing: Backing::File(path),
            offset,
            len,
        } => {
            let mut file = tokio::fs::File::open(&path).await?;
            if file.metadata().await?.len() < offset + len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} shrank", path.display()),
                ));
            }
            file.seek(io::SeekFrom::Start(offset)).await?;
            Ok((Source::File(file), len))
        }
    }
}

impl Source {
    async fn append(&mut self, out: &mut Vec<u8>, n: usize) -> io::Result<()> {
        match self {
            Source::Memory { data, pos } => {
                let slice = data.get(*pos..*pos + n).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::UnexpectedEof, "object ended early")
                })?;
                out.extend_from_slice(slice);
                *pos += n;
            }
            Source::File(file) => {
                let start = out.len();
                out.resize(start + n, 0);
                file.read_exact(&mut out[start..]).await?;
            }
        }
        Ok(())
    }
}

/// The data container header the device sends, honest or malformed.
fn data_header(cmd: &Command, len: u64, fault: Option<Malformed>) -> [u8; HEADER_LEN] {
    let honest = ContainerHeader::data(cmd.code, cmd.transaction_id, len);
    match fault {
        // Length 0xDEADBEEF and container type 0x7E7E: no container at all.
        Some(Malformed::GarbageHeader) => [
            0xEF, 0xBE, 0xAD, 0xDE, 0x7E, 0x7E, 0x7E, 0x7E, 0x5A, 0x5A, 0x5A, 0x5A,
        ],
        Some(Malformed::LengthOverstated(extra)) => {
            ContainerHeader::data(cmd.code, cmd.transaction_id, len + u64::from(extra)).encode()
        }
        Some(Malformed::LengthUnderstated(short)) => ContainerHeader::data(
            cmd.code,
            cmd.transaction_id,
            len.saturating_sub(u64::from(short)),
        )
        .encode(),
        Some(Malformed::HugeContainerLength) => ContainerHeader {
            length: 0xFFFF_FFFE,
            ..honest
        }
        .encode(),
        Some(Malformed::WrongDataCode) => ContainerHeader {
            code: cmd.code.wrapping_add(1),
            ..honest
        }
        .encode(),
        // Payload malformations were applied to the bytes already.
        Some(Malformed::TruncatedDataset | Malformed::HugeArrayCount) | None => honest.encode(),
    }
}

/// Sends one data container, `CHUNK` bytes at a time. With a `cut`, the
/// cable is pulled or bulk IN halted once that many payload bytes are out.
async fn send_data(
    in_tx: &mpsc::Sender<InChunk>,
    cmd: &Command,
    mut source: Source,
    len: u64,
    cut: Option<Cut>,
    header_fault: Option<Malformed>,
) -> Result<Sent, Ended> {
    let limit = match cut {
        Some(Cut::Pull(k) | Cut::Stall(k)) => k,
        None => u64::MAX,
    };
    let mut chunk = Vec::with_capacity(CHUNK);
    chunk.extend_from_slice(&data_header(cmd, len, header_fault));
    let mut sent = 0u64;
    loop {
        let room = (CHUNK - chunk.len()) as u64;
        let n = room.min(len - sent).min(limit - sent) as usize;
        if let Err(e) = source.append(&mut chunk, n).await {
            // The header has gone out; the only honest end now is a dead link.
            error!(error = %e, "card read failed mid-transfer; dropping the connection");
            return Err(Ended::Pulled);
        }
        sent += n as u64;
        let done = sent == len;
        if !done && sent >= limit {
            let _ = in_tx.send(InChunk::data(chunk, false)).await;
            if cut == Some(Cut::Stall(limit)) {
                warn!(sent, total = len, "fault: bulk IN stalled mid-transfer");
                halt(in_tx).await?;
                return Ok(Sent::Halted);
            }
            warn!(sent, total = len, "fault: cable pulled mid-transfer");
            return Err(Ended::Pulled);
        }
        in_tx
            .send(InChunk::data(chunk, done))
            .await
            .map_err(|_| Ended::HostGone)?;
        if done {
            return Ok(Sent::Complete);
        }
        chunk = Vec::with_capacity(CHUNK);
    }
}
