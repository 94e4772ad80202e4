//! A real `ptp::Session` against the virtual camera, end to end.

use std::time::Duration;

use camsim::{connect, CameraConfig, CameraHandle};
use ptp::codes::{datatype, event, format, operation, property, response};
use ptp::container::{Command, Response};
use ptp::session::{ALL_STORAGES, ANY_FORMAT, ANY_PARENT};
use ptp::{DataPhase, PropForm, PropValue, Session, Transport};

fn small() -> CameraConfig {
    CameraConfig {
        shot_size: (640, 480),
        ..CameraConfig::default()
    }
}

async fn object_bytes<T: Transport>(s: &mut Session<T>, handle: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let n = s.get_object(handle, &mut out).await.unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

#[tokio::test]
async fn browse_shoot_and_download() {
    let (transport, camera) = connect(small()).unwrap();
    let mut s = Session::open(transport, 1).await.unwrap();

    let info = s.device_info().await.unwrap();
    assert_eq!(
        (
            info.manufacturer.as_str(),
            info.model.as_str(),
            info.serial_number.as_str()
        ),
        ("Hotshoe", "Virtual EOS", "HS0001")
    );
    assert!(info.supports_operation(operation::GET_PARTIAL_OBJECT));
    assert!(info.supports_event(event::OBJECT_ADDED));

    assert_eq!(s.storage_ids().await.unwrap(), vec![camsim::STORAGE_ID]);
    let before = s.storage_info(camsim::STORAGE_ID).await.unwrap();
    assert_eq!(before.description, "SD1");
    assert_eq!(before.max_capacity, 64_000_000_000);
    assert!(s
        .object_handles(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
        .await
        .unwrap()
        .is_empty());

    let shot = camera.take_shot().await.unwrap();
    assert_eq!(shot.name, "IMG_0001.JPG");
    let ev = s
        .next_event(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("ObjectAdded");
    assert_eq!(
        (ev.code, ev.params.clone()),
        (event::OBJECT_ADDED, vec![shot.handle])
    );
    assert!(s
        .next_event(Duration::from_millis(20))
        .await
        .unwrap()
        .is_none());

    let oi = s.object_info(shot.handle).await.unwrap();
    assert_eq!(oi.filename, "IMG_0001.JPG");
    assert_eq!(oi.object_format, format::EXIF_JPEG);
    assert_eq!(u64::from(oi.object_compressed_size), shot.size);
    assert_eq!((oi.image_pix_width, oi.image_pix_height), (640, 480));
    assert_eq!(oi.capture_date.len(), 15, "{}", oi.capture_date);
    assert_eq!(oi.capture_date.as_bytes()[8], b'T');

    let bytes = object_bytes(&mut s, shot.handle).await;
    assert_eq!(bytes.len() as u64, shot.size);
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");

    // Partial reads: head, middle, tail past the end, and an offset at the end.
    let mut part = Vec::new();
    assert_eq!(
        s.get_partial_object(shot.handle, 0, 1000, &mut part)
            .await
            .unwrap(),
        1000
    );
    assert_eq!(part, bytes[..1000]);
    part.clear();
    s.get_partial_object(shot.handle, 777, 70_000, &mut part)
        .await
        .unwrap();
    assert_eq!(part, bytes[777..(777 + 70_000).min(bytes.len())]);
    part.clear();
    let tail_from = bytes.len() as u32 - 10;
    assert_eq!(
        s.get_partial_object(shot.handle, tail_from, 1 << 20, &mut part)
            .await
            .unwrap(),
        10
    );
    assert_eq!(part, bytes[bytes.len() - 10..]);
    part.clear();
    assert_eq!(
        s.get_partial_object(shot.handle, bytes.len() as u32, 5, &mut part)
            .await
            .unwrap(),
        0
    );
    let err = s
        .get_partial_object(shot.handle, bytes.len() as u32 + 1, 5, &mut part)
        .await
        .unwrap_err();
    assert_eq!(err.response_code(), Some(response::INVALID_PARAMETER));

    let after = s.storage_info(camsim::STORAGE_ID).await.unwrap();
    assert_eq!(after.free_space_bytes, before.free_space_bytes - shot.size);
    assert_eq!(
        s.num_objects(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.object_handles(ALL_STORAGES, u32::from(format::PNG), ANY_PARENT)
            .await
            .unwrap(),
        vec![]
    );
    let err = s.object_info(999).await.unwrap_err();
    assert_eq!(err.response_code(), Some(response::INVALID_OBJECT_HANDLE));

    assert_eq!(camera.shots(), vec![shot]);
    let transport = s.close().await.unwrap();
    assert_eq!(camera.session(), None);
    drop(transport);
}

#[tokio::test]
async fn downloads_stream_to_a_file_across_packet_boundaries() {
    let (transport, camera) = connect(small()).unwrap();
    let mut s = Session::open(transport, 7).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Sizes whose containers end exactly on packet and read-buffer boundaries (ZLPs), and odd ones.
    for (i, len) in [
        0usize,
        1,
        500,
        512 - 12,
        65536 - 12,
        2 * 65536 - 12,
        300_001,
    ]
    .into_iter()
    .enumerate()
    {
        let data: Vec<u8> = (0..len).map(|b| (b * 31 + i) as u8).collect();
        let handle = camera
            .add_file(&format!("F{i}.BIN"), data.clone())
            .await
            .unwrap();
        let path = dir.path().join(format!("{i}.bin"));
        let mut file = tokio::fs::File::create(&path).await.unwrap();
        assert_eq!(s.get_object(handle, &mut file).await.unwrap(), len as u64);
        drop(file);
        assert_eq!(tokio::fs::read(&path).await.unwrap(), data, "len {len}");
        // Session still in step after each.
        assert_eq!(
            s.object_info(handle).await.unwrap().object_compressed_size as usize,
            len
        );
    }
}

#[tokio::test]
async fn session_already_open_after_a_client_vanished() {
    let (transport, camera) = connect(small()).unwrap();
    let s = Session::open(transport, 1).await.unwrap();
    // The client exits without CloseSession.
    drop(s.into_transport());
    assert_eq!(camera.session(), Some(1));
    let transport = camera.plug_in().unwrap();
    let mut s = Session::open(transport, 2).await.unwrap();
    assert_eq!(camera.session(), Some(2));
    assert_eq!(s.storage_ids().await.unwrap().len(), 1);
}

#[tokio::test]
async fn device_refusals() {
    let (mut transport, camera) = connect(small()).unwrap();
    // GetDeviceInfo needs no session; everything else does.
    assert_eq!(
        ptp::get_device_info(&mut transport).await.unwrap().model,
        "Virtual EOS"
    );
    transport
        .write(
            &Command::new(operation::GET_STORAGE_IDS, 1, &[])
                .encode()
                .unwrap(),
        )
        .await
        .unwrap();
    let mut buf = vec![0; 512];
    let n = transport.read(&mut buf).await.unwrap();
    assert_eq!(
        Response::decode(&buf[..n]).unwrap().code,
        response::SESSION_NOT_OPEN
    );

    let mut s = Session::open(transport, 1).await.unwrap();
    let err = s
        .transaction(0x9999, &[], DataPhase::None)
        .await
        .unwrap_err();
    assert_eq!(err.response_code(), Some(response::OPERATION_NOT_SUPPORTED));
    // An unsupported operation with a data-out phase leaves the session in step.
    let err = s
        .set_device_prop_value(property::BATTERY_LEVEL, &PropValue::U8(5))
        .await
        .unwrap_err();
    assert_eq!(err.response_code(), Some(response::OPERATION_NOT_SUPPORTED));

    camera.busy_next(2);
    assert!(s.storage_ids().await.unwrap_err().is_busy());
    assert!(s
        .object_handles(ALL_STORAGES, 0, 0)
        .await
        .unwrap_err()
        .is_busy());
    assert_eq!(s.storage_ids().await.unwrap().len(), 1);

    let err = s.storage_info(0x0002_0001).await.unwrap_err();
    assert_eq!(err.response_code(), Some(response::INVALID_STORAGE_ID));
    let err = s
        .get_device_prop_desc(property::F_NUMBER)
        .await
        .unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(response::DEVICE_PROP_NOT_SUPPORTED)
    );
}

#[tokio::test]
async fn battery_property() {
    let (transport, camera) = connect(small()).unwrap();
    let mut s = Session::open(transport, 1).await.unwrap();
    let desc = s
        .get_device_prop_desc(property::BATTERY_LEVEL)
        .await
        .unwrap();
    assert_eq!(desc.datatype, datatype::UINT8);
    assert_eq!(desc.current, PropValue::U8(87));
    assert_eq!(
        desc.form,
        PropForm::Range {
            min: PropValue::U8(0),
            max: PropValue::U8(100),
            step: PropValue::U8(1)
        }
    );
    camera.set_battery(20);
    let ev = s.next_event(Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(
        (ev.code, ev.param(0)),
        (
            event::DEVICE_PROP_CHANGED,
            u32::from(property::BATTERY_LEVEL)
        )
    );
    assert_eq!(
        s.device_prop_value(property::BATTERY_LEVEL, datatype::UINT8)
            .await
            .unwrap(),
        PropValue::U8(20)
    );
    let clock = s
        .device_prop_value(property::DATE_TIME, datatype::STR)
        .await
        .unwrap();
    assert_eq!(clock.as_str().unwrap().len(), 15);
}

#[tokio::test]
async fn disconnect_mid_transfer_then_replug() {
    let (transport, camera) = connect(small()).unwrap();
    let mut s = Session::open(transport, 1).await.unwrap();
    let data = vec![0xA5u8; 1_000_000];
    let handle = camera.add_file("BIG.BIN", data.clone()).await.unwrap();
    camera.disconnect_after(300_000);
    let mut sink = Vec::new();
    let err = s.get_object(handle, &mut sink).await.unwrap_err();
    assert!(err.is_disconnected(), "{err}");
    assert!(sink.len() <= 300_000);
    assert!(!camera.is_connected());
    assert_eq!(camera.session(), None, "a pulled cable ends the session");
    // Events queued before the pull are still delivered, then the pipe reports the loss.
    let ev = s
        .next_event(Duration::from_millis(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ev.code, ev.param(0)), (event::OBJECT_ADDED, handle));
    assert!(s
        .next_event(Duration::from_millis(10))
        .await
        .unwrap_err()
        .is_disconnected());

    let mut s = Session::open(camera.plug_in().unwrap(), 1).await.unwrap();
    assert_eq!(object_bytes(&mut s, handle).await, data);
    camera.unplug();
    assert!(s.storage_ids().await.unwrap_err().is_disconnected());
}

#[tokio::test]
async fn card_folder_persists_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = CameraConfig {
        card_dir: Some(dir.path().to_path_buf()),
        ..small()
    };
    let (transport, camera) = connect(config.clone()).unwrap();
    let mut s = Session::open(transport, 1).await.unwrap();
    let a = camera.take_shot().await.unwrap();
    let b = camera.take_shot().await.unwrap();
    let c = camera
        .add_file("NOTES.TXT", b"hello".to_vec())
        .await
        .unwrap();
    assert!(camera
        .add_file("NOTES.TXT", b"again".to_vec())
        .await
        .is_err());
    assert!(camera.add_file("../evil", b"x".to_vec()).await.is_err());
    let handles = s
        .object_handles(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
        .await
        .unwrap();
    assert_eq!(handles, vec![a.handle, b.handle, c]);
    let first = object_bytes(&mut s, a.handle).await;
    assert!(dir.path().join("DCIM/100HSHOT/IMG_0001.JPG").is_file());
    drop(s);
    drop(camera);

    let (transport, camera2) = connect(config).unwrap();
    let mut s = Session::open(transport, 1).await.unwrap();
    let again = s
        .object_handles(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
        .await
        .unwrap();
    assert_eq!(again, handles);
    let mut names = Vec::new();
    for h in &again {
        names.push(s.object_info(*h).await.unwrap().filename);
    }
    assert_eq!(names, ["IMG_0001.JPG", "IMG_0002.JPG", "NOTES.TXT"]);
    assert_eq!(object_bytes(&mut s, a.handle).await, first);
    assert_eq!(camera2.take_shot().await.unwrap().name, "IMG_0003.JPG");
    assert_eq!(camera2.object_count(), 4);
}

#[tokio::test]
async fn auto_shooter_shoots_and_announces() {
    let camera = CameraHandle::new(CameraConfig {
        shot_size: (160, 120),
        ..CameraConfig::default()
    })
    .unwrap();
    let mut s = Session::open(camera.plug_in().unwrap(), 1).await.unwrap();
    camera
        .spawn_auto_shooter(Duration::from_millis(10), Some(3))
        .await
        .unwrap();
    let mut added = Vec::new();
    while let Some(ev) = s.next_event(Duration::from_millis(200)).await.unwrap() {
        added.push(ev.param(0));
    }
    let shots: Vec<u32> = camera.shots().iter().map(|s| s.handle).collect();
    assert_eq!(added, shots);
    assert_eq!(shots.len(), 3);
}

#[test]
fn needs_a_runtime_and_sane_config() {
    assert!(
        connect(small()).is_err(),
        "no runtime: an error, not a panic"
    );
    assert!(CameraHandle::new(CameraConfig {
        shot_size: (0, 10),
        ..CameraConfig::default()
    })
    .is_err());
}

#[tokio::test]
async fn partial_object_64_reads_from_a_64_bit_offset() {
    let (transport, camera) = camsim::connect(small()).expect("camsim");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let handle = camera.add_file("CLIP.MP4", data.clone()).await.unwrap();
    let mut s = ptp::Session::open(transport, 1).await.unwrap();
    let info = s.device_info().await.unwrap();
    assert!(info.supports_operation(ptp::codes::operation::MTP_GET_PARTIAL_OBJECT_64));
    let mut out = Vec::new();
    let n = s
        .get_partial_object_64(handle, 123_457, 100_000, &mut out)
        .await
        .unwrap();
    assert_eq!(n, 100_000);
    assert_eq!(out, data[123_457..223_457]);
    // Past the end: refused, and the session carries on.
    assert!(s
        .get_partial_object_64(handle, 1 << 33, 10, &mut Vec::new())
        .await
        .is_err());
    let mut all = Vec::new();
    s.get_object(handle, &mut all).await.unwrap();
    assert_eq!(all, data);
}
