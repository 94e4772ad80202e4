//! Regression: after a device breaks container framing or sequencing, the
//! session drains what is left of the transaction, so the next one is read
//! in step instead of reading its predecessor's response forever.

use std::collections::VecDeque;
use std::time::Duration;

use ptp::codes::response;
use ptp::container::{ContainerHeader, Response};
use ptp::{PtpError, Recovery, Session, Transport, TransportError};

const MPS: usize = 512;

/// A device that answers each command with the next scripted batch of
/// bulk-IN transfers (only once the command is written, like a real one);
/// `drain_in` drops transfers up to and including the next response, as the
/// USB and camsim transports do.
#[derive(Default)]
struct Device {
    answers: VecDeque<Vec<Vec<u8>>>,
    transfers: VecDeque<Vec<u8>>,
    drains: u32,
}

#[async_trait::async_trait]
impl Transport for Device {
    async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        let is_command =
            ContainerHeader::parse(data).is_ok_and(|h| h.kind == ptp::ContainerKind::Command);
        if is_command {
            self.transfers
                .extend(self.answers.pop_front().unwrap_or_default());
        }
        Ok(())
    }
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let t = self.transfers.pop_front().ok_or(TransportError::Timeout)?;
        buf[..t.len()].copy_from_slice(&t);
        Ok(t.len())
    }
    async fn read_event(&mut self, _timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        Ok(None)
    }
    fn max_packet_size(&self) -> usize {
        MPS
    }
    async fn drain_in(&mut self) -> Result<u64, TransportError> {
        self.drains += 1;
        let mut n = 0;
        while let Some(t) = self.transfers.pop_front() {
            n += t.len() as u64;
            if Response::decode(&t).is_ok() {
                break;
            }
        }
        Ok(n)
    }
}

fn ok(tid: u32, params: &[u32]) -> Vec<u8> {
    Response::new(response::OK, tid, params).encode().unwrap()
}

async fn opened(mut d: Device) -> Session<Device> {
    d.answers.push_front(vec![ok(0, &[])]);
    Session::open(d, 1).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn garbage_data_header_is_drained_and_next_transaction_is_in_step() {
    let mut d = Device::default();
    // Transaction 1: a data container with an unknown type, then its response.
    let mut garbage = vec![0xEF, 0xBE, 0xAD, 0xDE, 0x7E, 0x7E, 0x04, 0x10, 1, 0, 0, 0];
    garbage.extend_from_slice(&[0u8; 20]);
    d.answers.push_back(vec![garbage, ok(1, &[])]);
    // Transaction 2: a clean answer.
    d.answers.push_back(vec![ok(2, &[7])]);
    let mut s = opened(d).await;

    let err = s.storage_ids().await.unwrap_err();
    assert!(matches!(err, PtpError::Wire(_)), "{err:?}");
    assert_eq!(s.last_recovery(), Some(Recovery::Recovered));
    assert_eq!(s.transport().drains, 1);
    // Before the fix this read transaction 1's response and failed with
    // "response has transaction id 1, expected 2".
    assert_eq!(s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap(), 7);
}

#[tokio::test(start_paused = true)]
async fn understated_length_surplus_is_drained() {
    let mut d = Device::default();
    // The container claims 4 payload bytes but 12 follow in the same transfer.
    let mut data = ContainerHeader::data(0x1004, 1, 4).encode().to_vec();
    data.extend_from_slice(&[1, 0, 0, 0, 1, 0, 1, 0, 0xAA, 0xBB, 0xCC, 0xDD]);
    d.answers.push_back(vec![data, ok(1, &[])]);
    d.answers.push_back(vec![ok(2, &[3])]);
    let mut s = opened(d).await;

    let err = s.storage_ids().await.unwrap_err();
    assert!(
        matches!(err, PtpError::Wire(_) | PtpError::Protocol { .. }),
        "{err:?}"
    );
    assert_eq!(s.last_recovery(), Some(Recovery::Recovered));
    assert_eq!(s.num_objects(0xFFFF_FFFF, 0, 0).await.unwrap(), 3);
}

#[tokio::test(start_paused = true)]
async fn caller_errors_do_not_trigger_recovery() {
    let mut s = opened(Device::default()).await;
    let err = s
        .transaction(0x1001, &[0; 6], ptp::DataPhase::None)
        .await
        .unwrap_err();
    assert!(matches!(err, PtpError::Wire(_)), "{err:?}");
    assert_eq!(s.last_recovery(), None);
    assert_eq!(s.transport().drains, 0);
}
