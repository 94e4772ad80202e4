//! Every scripted camsim fault against a real `ptp::Session`: the host gets a
//! clear error (never a panic, never a hang past a short timeout), and the
//! session, or a reopened one, then downloads the object byte for byte.

use std::future::Future;
use std::time::{Duration, Instant};

use camsim::{connect, CameraConfig, CameraHandle, CamsimTransport, Faults};
use ptp::codes::response;
use ptp::session::{ALL_STORAGES, ANY_FORMAT, ANY_PARENT};
use ptp::{PtpError, Recovery, Session, Transport, TransportError, WireError};

/// How long a simulated transfer may wait for the device: short, so the
/// faults that leave the host waiting end quickly.
const IO_TIMEOUT: Duration = Duration::from_millis(700);
/// No test may take longer than this, whatever the session does.
const TEST_LIMIT: Duration = Duration::from_secs(20);
/// Not a multiple of the packet size, and several 64 KiB chunks long.
const OBJECT_LEN: usize = 300_001;

fn config() -> CameraConfig {
    CameraConfig {
        shot_size: (64, 48),
        io_timeout: IO_TIMEOUT,
        ..CameraConfig::default()
    }
}

/// Deterministic bytes that no container header could be mistaken for.
fn object_bytes() -> Vec<u8> {
    let mut x = 0x2545_F491_u32;
    (0..OBJECT_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

struct Rig {
    camera: CameraHandle,
    session: Session<CamsimTransport>,
    handle: u32,
    reference: Vec<u8>,
}

async fn rig() -> Rig {
    let (transport, camera) = connect(config()).unwrap();
    let session = Session::open(transport, 1).await.unwrap();
    let reference = object_bytes();
    let handle = camera
        .add_file("DATA0001.BIN", reference.clone())
        .await
        .unwrap();
    Rig {
        camera,
        session,
        handle,
        reference,
    }
}

async fn download<T: Transport>(s: &mut Session<T>, handle: u32) -> Result<Vec<u8>, PtpError> {
    let mut out = Vec::new();
    let n = s.get_object(handle, &mut out).await?;
    assert_eq!(n, out.len() as u64);
    Ok(out)
}

impl Rig {
    /// The session works again: a full download is byte-identical.
    async fn assert_downloads(&mut self) {
        let bytes = download(&mut self.session, self.handle).await.unwrap();
        assert!(bytes == self.reference, "download differs from the card");
        assert!(
            self.camera.faults().is_clear(),
            "{:?}",
            self.camera.faults()
        );
    }
}

async fn limited<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_LIMIT, f)
        .await
        .expect("test hung past its limit");
}

/// The error of a download that must fail (without printing 300 KB if it did not).
async fn download_err<T: Transport>(s: &mut Session<T>, handle: u32) -> PtpError {
    match download(s, handle).await {
        Ok(bytes) => panic!("download of {} bytes should have failed", bytes.len()),
        Err(e) => e,
    }
}

fn assert_transport(err: &PtpError, expected: TransportError) {
    match err {
        PtpError::Transport(e) if *e == expected => {}
        other => panic!("expected transport error {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn busy_ops_answer_device_busy_then_work() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().busy(2));
        for _ in 0..2 {
            let err = download_err(&mut r.session, r.handle).await;
            assert!(err.is_busy(), "{err}");
        }
        assert_eq!(
            r.session.last_recovery(),
            None,
            "a refusal needs no recovery"
        );
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn stalled_ops_are_recovered_in_the_same_session() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().stall(2));
        let err = r.session.object_info(r.handle).await.unwrap_err();
        assert_transport(&err, TransportError::Stall);
        assert_eq!(r.session.last_recovery(), Some(Recovery::Recovered));
        let err = r.session.storage_ids().await.unwrap_err();
        assert_transport(&err, TransportError::Stall);
        assert_eq!(r.session.last_recovery(), Some(Recovery::Recovered));
        // The device saw a cancel for each stalled transaction (ids 1 and 2).
        assert_eq!(r.camera.cancel_requests(), vec![1, 2]);
        assert_eq!(
            r.session.storage_ids().await.unwrap(),
            vec![camsim::STORAGE_ID]
        );
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn stall_mid_get_object_recovers_and_next_transaction_is_ok() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().stall_after(100_000));
        let mut partial = Vec::new();
        let err = r
            .session
            .get_object(r.handle, &mut partial)
            .await
            .unwrap_err();
        assert_transport(&err, TransportError::Stall);
        assert!(partial.len() < OBJECT_LEN);
        assert_eq!(r.session.last_recovery(), Some(Recovery::Recovered));
        assert_eq!(r.camera.cancel_requests(), vec![1]);
        // The very next transaction, on the same session, is fine.
        let info = r.session.object_info(r.handle).await.unwrap();
        assert_eq!(info.object_compressed_size as usize, OBJECT_LEN);
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn refused_cancel_still_recovers() {
    limited(async {
        let mut r = rig().await;
        r.camera
            .set_faults(Faults::none().stall_after(70_000).refuse_cancel(1));
        let err = download_err(&mut r.session, r.handle).await;
        assert_transport(&err, TransportError::Stall);
        assert_eq!(r.session.last_recovery(), Some(Recovery::Recovered));
        assert!(r.camera.cancel_requests().is_empty());
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn wedged_device_is_reset_and_a_new_session_works() {
    limited(async {
        let mut r = rig().await;
        r.camera
            .set_faults(Faults::none().stall(1).status_timeout(1));
        let err = download_err(&mut r.session, r.handle).await;
        assert_transport(&err, TransportError::Stall);
        assert_eq!(r.session.last_recovery(), Some(Recovery::Reset));
        assert_eq!(r.camera.resets(), 1);
        assert_eq!(
            r.camera.session(),
            None,
            "a reset closes the device's session"
        );
        let err = r.session.storage_ids().await.unwrap_err();
        assert_eq!(err.response_code(), Some(response::SESSION_NOT_OPEN));
        // Recovery said Reset: the caller opens a new session on the same link.
        let Rig {
            camera,
            session,
            handle,
            reference,
        } = r;
        let session = Session::open(session.into_transport(), 9).await.unwrap();
        let mut r = Rig {
            camera,
            session,
            handle,
            reference,
        };
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn disconnect_mid_transfer_then_replug_works() {
    limited(async {
        let mut r = rig().await;
        r.camera
            .set_faults(Faults::none().disconnect_after(100_000));
        let err = download_err(&mut r.session, r.handle).await;
        assert!(err.is_disconnected(), "{err}");
        assert_eq!(r.session.last_recovery(), None);
        assert!(!r.camera.is_connected());
        // The cable pull ended the device's session too.
        r.session = Session::open(r.camera.plug_in().unwrap(), 2).await.unwrap();
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn truncated_datasets_are_wire_errors() {
    limited(async {
        let mut r = rig().await;
        r.camera
            .set_faults(Faults::none().truncated_dataset().truncated_dataset());
        let err = r.session.object_info(r.handle).await.unwrap_err();
        assert!(
            matches!(err, PtpError::Wire(WireError::Truncated { .. })),
            "{err:?}"
        );
        let err = r.session.device_info().await.unwrap_err();
        assert!(matches!(err, PtpError::Wire(_)), "{err:?}");
        // The container framing was honest, so the session is still in step.
        assert_eq!(r.session.last_recovery(), None);
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn garbage_container_header_is_an_error_and_session_resyncs() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().garbage_header());
        let err = download_err(&mut r.session, r.handle).await;
        assert!(
            matches!(err, PtpError::Wire(WireError::Invalid(_))),
            "{err:?}"
        );
        // The rest of the object and its response were drained.
        assert_eq!(r.session.last_recovery(), Some(Recovery::Recovered));
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn overstated_length_times_out_then_recovers() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().length_overstated(4096));
        let started = Instant::now();
        let err = download_err(&mut r.session, r.handle).await;
        // The host cannot tell a lying length from a slow device: it waits
        // for the missing bytes until the transfer timeout, not longer.
        assert_transport(&err, TransportError::Timeout);
        assert!(
            started.elapsed() < IO_TIMEOUT * 4,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(r.session.last_recovery(), Some(Recovery::Recovered));
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn understated_length_is_an_error_and_session_resyncs() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(
            Faults::none()
                .length_understated(8)
                .length_understated(1000),
        );
        // A dataset: the surplus lands where the response should start.
        let err = r.session.object_info(r.handle).await.unwrap_err();
        assert!(
            matches!(err, PtpError::Wire(_) | PtpError::Protocol { .. }),
            "{err:?}"
        );
        assert_eq!(r.session.last_recovery(), Some(Recovery::Recovered));
        // An object, whose surplus spans more than one read.
        let err = download_err(&mut r.session, r.handle).await;
        assert!(
            matches!(err, PtpError::Wire(_) | PtpError::Protocol { .. }),
            "{err:?}"
        );
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn huge_array_count_is_refused_without_allocating() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().huge_array_count());
        let err = r
            .session
            .object_handles(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PtpError::Wire(WireError::Truncated { .. })),
            "{err:?}"
        );
        assert_eq!(
            r.session
                .object_handles(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
                .await
                .unwrap(),
            vec![r.handle]
        );
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn huge_container_length_is_capped_then_recovers() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().huge_container_length());
        let err = r
            .session
            .storage_info(camsim::STORAGE_ID)
            .await
            .unwrap_err();
        // Nearly 4 GiB is over the dataset cap: nothing is buffered, and the
        // transaction ends when the device stops sending.
        assert!(
            matches!(
                err,
                PtpError::TooLarge { .. } | PtpError::Transport(TransportError::Timeout)
            ),
            "{err:?}"
        );
        assert_eq!(
            r.session
                .storage_info(camsim::STORAGE_ID)
                .await
                .unwrap()
                .description,
            "SD1"
        );
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_transaction_id_is_a_protocol_error() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().wrong_transaction_id(1));
        let err = r
            .session
            .num_objects(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
            .await
            .unwrap_err();
        match &err {
            PtpError::Protocol { msg, .. } => assert!(msg.contains("transaction id"), "{msg}"),
            other => panic!("expected a protocol error, got {other:?}"),
        }
        assert_eq!(
            r.session
                .num_objects(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
                .await
                .unwrap(),
            1
        );
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn data_phase_with_another_code_is_tolerated_when_its_id_matches() {
    limited(async {
        let mut r = rig().await;
        r.camera.set_faults(Faults::none().wrong_data_code());
        // ptp::Session logs the mismatch and keeps the data: the transaction
        // id ties it to this transaction, Windows ignores the code field, and
        // libgphoto2 has a per-device flag for cameras that fill it wrongly.
        let bytes = download(&mut r.session, r.handle).await.unwrap();
        assert!(bytes == r.reference, "download differs from the card");
        assert_eq!(r.session.last_recovery(), None);
        r.assert_downloads().await;
    })
    .await;
}

#[tokio::test]
async fn stale_data_after_reconnect_fails_open_until_drained() {
    limited(async {
        let mut r = rig().await;
        // A host that dies mid-download: its session stays open on the camera.
        r.camera
            .set_faults(Faults::none().stale_data_on_reconnect(1500));
        let fresh = r.camera.plug_in().unwrap();
        let err = Session::open(fresh, 1).await.err().expect("open must fail");
        assert!(
            matches!(err, PtpError::Wire(_) | PtpError::Protocol { .. }),
            "{err:?}"
        );
        // A host that drains bulk IN first (as ptp::usb does when it opens a
        // device) gets a working session.
        r.camera
            .set_faults(Faults::none().stale_data_on_reconnect(1500));
        let mut fresh = r.camera.plug_in().unwrap();
        let drained = fresh.drain_in().await.unwrap();
        assert_eq!(drained, 1500 + 12);
        r.session = Session::open(fresh, 1).await.unwrap();
        r.assert_downloads().await;
    })
    .await;
}
