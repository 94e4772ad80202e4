//! Container and event decoding: any bytes are an error or a container that
//! re-encodes to exactly the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptp::container::{Command, ContainerHeader, ContainerKind, Event, Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = ContainerHeader::parse(data) {
        // A header that parsed is one of the four kinds, at least 12 bytes
        // long, and round-trips.
        assert!(h.length as usize >= ptp::container::HEADER_LEN);
        assert_eq!(ContainerHeader::parse(&h.encode()), Ok(h));
        if h.kind != ContainerKind::Data {
            assert!(h.length as usize <= ptp::container::MAX_PARAM_CONTAINER_LEN);
        }
    }
    // Decoding demands the exact container, so a success re-encodes to the input.
    if let Ok(c) = Command::decode(data) {
        assert_eq!(c.encode().as_deref(), Ok(data));
    }
    if let Ok(r) = Response::decode(data) {
        assert_eq!(r.encode().as_deref(), Ok(data));
    }
    if let Ok(e) = Event::decode(data) {
        assert_eq!(e.encode().as_deref(), Ok(data));
    }
    // The interrupt pipe may pad an event after its length, as
    // Session::next_event allows: decode the declared prefix.
    if let Ok(h) = ContainerHeader::parse(data) {
        let len = (h.length as usize).min(data.len());
        let _ = Event::decode(&data[..len]);
    }
    // A device status reply (class request 0x67).
    if let Some(st) = ptp::DeviceStatus::parse(data) {
        let _ = st.stalled_endpoints();
        let _ = st.is_busy();
    }
});
