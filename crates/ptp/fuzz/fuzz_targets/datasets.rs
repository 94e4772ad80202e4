//! Dataset parsers: DeviceInfo, StorageInfo, ObjectInfo, DevicePropDesc and
//! typed property values. Any bytes give an error or a value that survives
//! encode-then-parse unchanged once normalised by one such round: parsing is
//! lenient where encoding is strict (a string of 255 UTF-16 units without its
//! NUL parses whole but encodes cut to the format's 254), so the first round
//! may normalise, and every later one must be exact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptp::dataset::{DeviceInfo, DevicePropDesc, ObjectInfo, PropValue, Reader, StorageInfo};

/// One encode-parse round may normalise `v`; the next must change nothing.
fn stable<T, E>(v: T, parse: impl Fn(&[u8]) -> Result<T, E>, encode: impl Fn(&T) -> Vec<u8>)
where
    T: PartialEq + std::fmt::Debug,
    E: std::fmt::Debug,
{
    let once = parse(&encode(&v)).expect("an encoded value parses");
    let twice = parse(&encode(&once)).expect("an encoded value parses");
    assert_eq!(once, twice);
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks a parser so each gets inputs shaped for it; the
    // rest is the dataset.
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => {
            if let Ok(v) = DeviceInfo::parse(bytes) {
                stable(v, DeviceInfo::parse, DeviceInfo::encode);
            }
        }
        1 => {
            if let Ok(v) = StorageInfo::parse(bytes) {
                stable(v, StorageInfo::parse, StorageInfo::encode);
            }
        }
        2 => {
            if let Ok(v) = ObjectInfo::parse(bytes) {
                stable(v, ObjectInfo::parse, ObjectInfo::encode);
            }
        }
        3 => {
            if let Ok(v) = DevicePropDesc::parse(bytes) {
                stable(v, DevicePropDesc::parse, DevicePropDesc::encode);
            }
        }
        4 => {
            // A property value: two bytes of data type, then the value.
            if bytes.len() >= 2 {
                let dt = u16::from_le_bytes([bytes[0], bytes[1]]);
                if let Ok(v) = PropValue::parse(&bytes[2..], dt) {
                    let _ = (v.as_u64(), v.as_i64(), v.as_str());
                    stable(v, |b| PropValue::parse(b, dt), PropValue::encode);
                }
            }
        }
        5 => {
            let _ = Reader::new(bytes).array_u32();
            let _ = Reader::new(bytes).array_u16();
        }
        _ => {
            let mut r = Reader::new(bytes);
            while r.string().is_ok() && !r.is_empty() {}
        }
    }
});
