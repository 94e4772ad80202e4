//! Arbitrary bytes from a device must produce errors, never panics, and
//! datasets survive an encode/parse round trip.

use proptest::prelude::*;
use ptp::codes::datatype;
use ptp::container::{Command, ContainerHeader, Event, Response};
use ptp::dataset::{DeviceInfo, DevicePropDesc, ObjectInfo, PropValue, Reader, StorageInfo};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = ContainerHeader::parse(&bytes);
        let _ = Command::decode(&bytes);
        let _ = Response::decode(&bytes);
        let _ = Event::decode(&bytes);
        let _ = DeviceInfo::parse(&bytes);
        let _ = StorageInfo::parse(&bytes);
        let _ = ObjectInfo::parse(&bytes);
        let _ = DevicePropDesc::parse(&bytes);
        let _ = Reader::new(&bytes).array_u32();
        let _ = Reader::new(&bytes).string();
    }

    #[test]
    fn typed_values_never_panic(dt in any::<u16>(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = PropValue::parse(&bytes, dt);
        let mut desc = vec![0x01, 0x50];
        desc.extend_from_slice(&dt.to_le_bytes());
        desc.extend_from_slice(&bytes);
        let _ = DevicePropDesc::parse(&desc);
    }

    #[test]
    fn object_info_round_trip(
        storage_id in any::<u32>(),
        object_format in any::<u16>(),
        size in any::<u32>(),
        dims in (any::<u32>(), any::<u32>()),
        parent in any::<u32>(),
        filename in "[A-Za-z0-9_.-]{1,60}",
        capture_date in "[0-9]{8}T[0-9]{6}",
        keywords in "\\PC{0,40}",
    ) {
        let info = ObjectInfo {
            storage_id,
            object_format,
            object_compressed_size: size,
            image_pix_width: dims.0,
            image_pix_height: dims.1,
            parent_object: parent,
            filename,
            capture_date: capture_date.clone(),
            modification_date: capture_date,
            keywords: keywords.replace('\0', ""),
            ..ObjectInfo::default()
        };
        prop_assert_eq!(ObjectInfo::parse(&info.encode()).unwrap(), info);
    }

    #[test]
    fn device_and_storage_info_round_trip(
        ops in proptest::collection::vec(any::<u16>(), 0..40),
        model in "[ -~]{0,60}",
        capacity in any::<u64>(),
        free in any::<u64>(),
    ) {
        let info = DeviceInfo {
            standard_version: 100,
            vendor_extension_id: 6,
            operations_supported: ops.clone(),
            events_supported: ops,
            manufacturer: "Hotshoe".into(),
            model: model.clone(),
            serial_number: "HS0001".into(),
            ..DeviceInfo::default()
        };
        prop_assert_eq!(DeviceInfo::parse(&info.encode()).unwrap(), info);
        let storage = StorageInfo {
            storage_type: 4,
            max_capacity: capacity,
            free_space_bytes: free,
            description: model,
            ..StorageInfo::default()
        };
        prop_assert_eq!(StorageInfo::parse(&storage.encode()).unwrap(), storage);
    }

    #[test]
    fn u16_arrays_round_trip(values in proptest::collection::vec(any::<i64>(), 0..20)) {
        let v = PropValue::Array(values.into_iter().map(PropValue::I64).collect());
        prop_assert_eq!(PropValue::parse(&v.encode(), datatype::AINT64).unwrap(), v);
    }
}

#[test]
fn truncated_object_info_strings_read_empty() {
    let info = ObjectInfo {
        filename: "IMG_0001.JPG".into(),
        ..ObjectInfo::default()
    };
    let bytes = info.encode();
    // Cut after the filename: dates and keywords missing altogether.
    let cut = bytes.len() - 3;
    let parsed = ObjectInfo::parse(&bytes[..cut]).unwrap();
    assert_eq!(parsed.filename, "IMG_0001.JPG");
    assert_eq!(parsed.capture_date, "");
    // Cut inside the filename: an error.
    assert!(ObjectInfo::parse(&bytes[..60]).is_err());
}
