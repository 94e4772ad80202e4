//! Session behaviour against a scripted transport: packet boundaries, odd
//! but legal devices, and misbehaving ones.

use std::collections::VecDeque;
use std::time::Duration;

use ptp::codes::{operation, response};
use ptp::container::{ContainerHeader, Event, Response, UNKNOWN_LENGTH};
use ptp::{PtpError, Session, Transport, TransportError};

const MPS: usize = 512;

/// Replays a list of bulk-IN reads and records every bulk-OUT write.
#[derive(Default)]
struct Scripted {
    reads: VecDeque<Vec<u8>>,
    events: VecDeque<Vec<u8>>,
    writes: Vec<Vec<u8>>,
}

#[async_trait::async_trait]
impl Transport for Scripted {
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.writes.push(data.to_vec());
        Ok(())
    }
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        assert_eq!(buf.len() % MPS, 0, "reads must be whole packets");
        let next = self.reads.pop_front().ok_or(TransportError::Disconnected)?;
        assert!(
            next.len() <= buf.len(),
            "script read larger than the buffer"
        );
        buf[..next.len()].copy_from_slice(&next);
        Ok(next.len())
    }
    async fn read_event(&mut self, _timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        Ok(self.events.pop_front())
    }
    fn max_packet_size(&self) -> usize {
        MPS
    }
}

fn ok(tid: u32, params: &[u32]) -> Vec<u8> {
    Response::new(response::OK, tid, params).encode().unwrap()
}

fn data(op: u16, tid: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = ContainerHeader::data(op, tid, payload.len() as u64)
        .encode()
        .to_vec();
    v.extend_from_slice(payload);
    v
}

fn handles_payload(handles: &[u32]) -> Vec<u8> {
    let mut p = (handles.len() as u32).to_le_bytes().to_vec();
    for h in handles {
        p.extend_from_slice(&h.to_le_bytes());
    }
    p
}

async fn opened(reads: Vec<Vec<u8>>) -> Session<Scripted> {
    let mut t = Scripted::default();
    t.reads.push_back(ok(0, &[]));
    t.reads.extend(reads);
    Session::open(t, 1).await.unwrap()
}

fn written_tids(s: &mut Session<Scripted>) -> Vec<(u16, u32)> {
    s.transport_mut()
        .writes
        .iter()
        .map(|w| {
            let h = ContainerHeader::parse(w).unwrap();
            (h.code, h.transaction_id)
        })
        .collect()
}

#[tokio::test]
async fn data_and_response_in_one_read() {
    let mut read = data(
        operation::GET_OBJECT_HANDLES,
        1,
        &handles_payload(&[1, 2, 3]),
    );
    read.extend(ok(1, &[]));
    let mut s = opened(vec![read]).await;
    assert_eq!(
        s.object_handles(0xFFFF_FFFF, 0, 0).await.unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(
        written_tids(&mut s),
        vec![
            (operation::OPEN_SESSION, 0),
            (operation::GET_OBJECT_HANDLES, 1)
        ]
    );
}

#[tokio::test]
async fn multi_read_object_with_zlp() {
    // 12 + payload is exactly 3 packets, so a ZLP follows the data.
    let payload: Vec<u8> = (0..(3 * MPS - 12)).map(|i| i as u8).collect();
    let container = data(operation::GET_OBJECT, 1, &payload);
    let mut s = opened(vec![
        container[..MPS].to_vec(),
        container[MPS..].to_vec(),
        Vec::new(),
        ok(1, &[]),
    ])
    .await;
    let mut sink = Vec::new();
    assert_eq!(
        s.get_object(7, &mut sink).await.unwrap(),
        payload.len() as u64
    );
    assert_eq!(sink, payload);
}

#[tokio::test]
async fn unknown_length_reads_until_short_packet() {
    let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let mut first = ContainerHeader::data(operation::GET_OBJECT, 1, 0)
        .encode()
        .to_vec();
    first[0..4].copy_from_slice(&UNKNOWN_LENGTH.to_le_bytes());
    first.extend_from_slice(&payload);
    let mut s = opened(vec![first, ok(1, &[])]).await;
    let mut sink = Vec::new();
    assert_eq!(s.get_object(7, &mut sink).await.unwrap(), 1000);
    assert_eq!(sink, payload);
}

#[tokio::test]
async fn refusal_instead_of_data() {
    let busy = Response::new(response::DEVICE_BUSY, 1, &[])
        .encode()
        .unwrap();
    let mut s = opened(vec![busy]).await;
    let err = s.object_info(5).await.unwrap_err();
    assert!(err.is_busy(), "{err}");
    assert_eq!(
        err.to_string(),
        "0x1008 GetObjectInfo answered 0x2019 DeviceBusy"
    );
}

#[tokio::test]
async fn wrong_transaction_id_is_an_error() {
    let mut s = opened(vec![data(
        operation::GET_STORAGE_IDS,
        9,
        &handles_payload(&[1]),
    )])
    .await;
    assert!(matches!(
        s.storage_ids().await,
        Err(PtpError::Protocol { .. })
    ));
    let mut s = opened(vec![ok(4, &[3])]).await;
    assert!(matches!(
        s.num_objects(0xFFFF_FFFF, 0, 0).await,
        Err(PtpError::Protocol { .. })
    ));
}

#[tokio::test]
async fn oversized_dataset_is_drained_and_refused() {
    // Claims a 20 MiB handle list; the session must refuse it without
    // allocating, read past it, and stay in step.
    let claimed = 20u32 << 20;
    let mut header = ContainerHeader::data(operation::GET_OBJECT_HANDLES, 1, u64::from(claimed))
        .encode()
        .to_vec();
    header.resize(64 * 1024, 0);
    let mut reads = vec![header];
    let mut remaining = claimed as usize + 12 - 64 * 1024;
    while remaining > 0 {
        let n = remaining.min(64 * 1024);
        reads.push(vec![0; n]);
        remaining -= n;
    }
    reads.push(Vec::new());
    reads.push(ok(1, &[]));
    reads.push(ok(2, &[4]));
    let mut s = opened(reads).await;
    assert!(matches!(
        s.object_handles(0xFFFF_FFFF, 0, 0).await,
        Err(PtpError::TooLarge { .. })
    ));
    assert_eq!(s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap(), 4);
}

#[tokio::test]
async fn session_already_open_is_closed_and_reopened() {
    let mut t = Scripted::default();
    t.reads.push_back(
        Response::new(response::SESSION_ALREADY_OPEN, 0, &[])
            .encode()
            .unwrap(),
    );
    t.reads.push_back(ok(1, &[]));
    t.reads.push_back(ok(0, &[]));
    t.reads.push_back(ok(1, &[2]));
    let mut s = Session::open(t, 1).await.unwrap();
    assert_eq!(s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap(), 2);
    assert_eq!(
        written_tids(&mut s),
        vec![
            (operation::OPEN_SESSION, 0),
            (operation::CLOSE_SESSION, 1),
            (operation::OPEN_SESSION, 0),
            (operation::GET_NUM_OBJECTS, 1)
        ]
    );
}

#[tokio::test]
async fn failing_sink_keeps_session_in_step() {
    struct Broken;
    impl tokio::io::AsyncWrite for Broken {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Err(std::io::Error::other("disk full")))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }
    let container = data(operation::GET_OBJECT, 1, &vec![1u8; 3000]);
    let mut s = opened(vec![container, ok(1, &[]), ok(2, &[9])]).await;
    assert!(matches!(
        s.get_object(1, &mut Broken).await,
        Err(PtpError::Sink(_))
    ));
    assert_eq!(s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap(), 9);
}

#[tokio::test]
async fn events_and_malformed_events() {
    let mut s = opened(vec![]).await;
    let mut padded = Event::new(0x4002, 0, &[0x42]).encode().unwrap();
    padded.extend_from_slice(&[0, 0, 0, 0]);
    s.transport_mut().events.push_back(padded);
    s.transport_mut().events.push_back(vec![1, 2, 3]);
    let ev = s
        .next_event(Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ev.code, ev.params.clone()), (0x4002, vec![0x42]));
    assert!(s.next_event(Duration::from_millis(1)).await.is_err());
    assert!(s
        .next_event(Duration::from_millis(1))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn disconnect_mid_transfer_is_a_transport_error() {
    let container = data(operation::GET_OBJECT, 1, &vec![1u8; 200_000]);
    let mut s = opened(vec![container[..64 * 1024].to_vec()]).await;
    let mut sink = Vec::new();
    let err = s.get_object(1, &mut sink).await.unwrap_err();
    assert!(err.is_disconnected(), "{err}");
}
