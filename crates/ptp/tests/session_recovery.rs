//! The session's recovery path after transport failures, against a scripted
//! transport that records every recovery hook the session calls.

use std::collections::VecDeque;
use std::time::Duration;

use ptp::codes::{event, operation, response};
use ptp::container::{Event, Response};
use ptp::{DeviceStatus, PtpError, Recovery, Session, Transport, TransportError};

const MPS: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Cancel(u32),
    Drain,
    Status,
    ClearHalt(u8),
    ClearHalts,
    Reset,
}

/// Replays bulk-IN reads (an `Err` entry fails that read) and scripted
/// device-status answers; records recovery calls.
#[derive(Default)]
struct Scripted {
    reads: VecDeque<Result<Vec<u8>, TransportError>>,
    statuses: VecDeque<Result<Option<DeviceStatus>, TransportError>>,
    events: VecDeque<Vec<u8>>,
    calls: Vec<Call>,
    writes: Vec<Vec<u8>>,
}

#[async_trait::async_trait]
impl Transport for Scripted {
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.writes.push(data.to_vec());
        Ok(())
    }
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let next = self
            .reads
            .pop_front()
            .ok_or(TransportError::Disconnected)??;
        buf[..next.len()].copy_from_slice(&next);
        Ok(next.len())
    }
    async fn read_event(&mut self, _timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        Ok(self.events.pop_front())
    }
    fn max_packet_size(&self) -> usize {
        MPS
    }
    async fn cancel_transaction(&mut self, tid: u32) -> Result<(), TransportError> {
        self.calls.push(Call::Cancel(tid));
        Ok(())
    }
    async fn device_status(&mut self) -> Result<Option<DeviceStatus>, TransportError> {
        self.calls.push(Call::Status);
        self.statuses.pop_front().unwrap_or(Ok(None))
    }
    async fn reset_device(&mut self) -> Result<(), TransportError> {
        self.calls.push(Call::Reset);
        Ok(())
    }
    async fn clear_halt(&mut self, endpoint: u8) -> Result<(), TransportError> {
        self.calls.push(Call::ClearHalt(endpoint));
        Ok(())
    }
    async fn clear_halts(&mut self) -> Result<(), TransportError> {
        self.calls.push(Call::ClearHalts);
        Ok(())
    }
    async fn drain_in(&mut self) -> Result<u64, TransportError> {
        self.calls.push(Call::Drain);
        Ok(0)
    }
}

fn ok(tid: u32, params: &[u32]) -> Vec<u8> {
    Response::new(response::OK, tid, params).encode().unwrap()
}

fn status(code: u16, params: &[u32]) -> Result<Option<DeviceStatus>, TransportError> {
    Ok(Some(DeviceStatus {
        code,
        params: params.to_vec(),
    }))
}

async fn opened(t: Scripted) -> Session<Scripted> {
    let mut t = t;
    t.reads.push_front(Ok(ok(0, &[])));
    Session::open(t, 1).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn timeout_cancels_drains_polls_status_and_session_goes_on() {
    let mut t = Scripted::default();
    t.reads.push_back(Err(TransportError::Timeout));
    t.reads.push_back(Ok(ok(2, &[5])));
    t.statuses.push_back(status(response::DEVICE_BUSY, &[0x81]));
    t.statuses.push_back(status(response::DEVICE_BUSY, &[]));
    t.statuses.push_back(status(response::OK, &[]));
    let mut s = opened(t).await;

    let started = tokio::time::Instant::now();
    let err = s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap_err();
    assert!(
        matches!(err, PtpError::Transport(TransportError::Timeout)),
        "{err}"
    );
    assert_eq!(
        s.transport().calls,
        vec![
            Call::Cancel(1),
            Call::Drain,
            Call::Status,
            Call::ClearHalt(0x81),
            Call::Status,
            Call::Status
        ]
    );
    // Two busy answers, 50 ms apart each.
    assert_eq!(started.elapsed(), Duration::from_millis(100));
    assert_eq!(s.last_recovery(), Some(Recovery::Recovered));

    // The next transaction uses the next id and works.
    assert_eq!(s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap(), 5);
}

#[tokio::test(start_paused = true)]
async fn unsupported_status_ends_recovery_at_once() {
    let mut t = Scripted::default();
    t.reads.push_back(Err(TransportError::Stall));
    let mut s = opened(t).await;
    let err = s.storage_ids().await.unwrap_err();
    assert!(matches!(err, PtpError::Transport(TransportError::Stall)));
    assert_eq!(
        s.transport().calls,
        vec![Call::Cancel(1), Call::Drain, Call::Status]
    );
}

#[tokio::test(start_paused = true)]
async fn wedged_device_is_reset() {
    let mut t = Scripted::default();
    t.reads.push_back(Err(TransportError::Io("babble".into())));
    t.statuses.push_back(Err(TransportError::Timeout));
    let mut s = opened(t).await;
    let err = s.object_info(3).await.unwrap_err();
    assert!(matches!(err, PtpError::Transport(TransportError::Io(_))));
    assert_eq!(
        s.transport().calls,
        vec![
            Call::Cancel(1),
            Call::Drain,
            Call::Status,
            Call::Reset,
            Call::ClearHalts,
            Call::Drain
        ]
    );
    assert_eq!(s.last_recovery(), Some(Recovery::Reset));
}

#[tokio::test(start_paused = true)]
async fn busy_forever_gives_up_after_five_seconds() {
    let mut t = Scripted::default();
    t.reads.push_back(Err(TransportError::Timeout));
    for _ in 0..200 {
        t.statuses.push_back(status(response::DEVICE_BUSY, &[]));
    }
    let mut s = opened(t).await;
    let started = tokio::time::Instant::now();
    s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited <= Duration::from_secs(5) && waited >= Duration::from_millis(4900),
        "{waited:?}"
    );
    assert_eq!(s.last_recovery(), Some(Recovery::StillBusy));
}

#[tokio::test(start_paused = true)]
async fn disconnect_needs_no_recovery() {
    let mut t = Scripted::default();
    t.reads.push_back(Err(TransportError::Disconnected));
    let mut s = opened(t).await;
    let err = s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap_err();
    assert!(err.is_disconnected());
    assert!(s.transport().calls.is_empty());
    assert_eq!(s.last_recovery(), None);
}

#[tokio::test]
async fn device_refusals_need_no_recovery() {
    let mut t = Scripted::default();
    t.reads
        .push_back(Ok(Response::new(response::DEVICE_BUSY, 1, &[])
            .encode()
            .unwrap()));
    let mut s = opened(t).await;
    assert!(s
        .num_objects(0xFFFF_FFFF, 0, 0)
        .await
        .unwrap_err()
        .is_busy());
    assert!(s.transport().calls.is_empty());
    assert_eq!(s.transport().writes.len(), 2);
    let _ = operation::GET_NUM_OBJECTS;
}

#[tokio::test]
async fn cancel_transaction_events_are_skipped() {
    let mut t = Scripted::default();
    t.events.push_back(
        Event::new(event::CANCEL_TRANSACTION, 1, &[])
            .encode()
            .unwrap(),
    );
    t.events
        .push_back(Event::new(event::OBJECT_ADDED, 0, &[42]).encode().unwrap());
    let mut s = opened(t).await;
    let ev = s.next_event(Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(ev.code, event::OBJECT_ADDED);
    assert_eq!(ev.params, vec![42]);
    assert!(s
        .next_event(Duration::from_millis(10))
        .await
        .unwrap()
        .is_none());
}
