//! Rebuilds event containers from interrupt-IN transfers. Pure, so the odd
//! cases real devices produce are tested without USB: events split over
//! several packets (interrupt mps smaller than an event), padding after an
//! event, and unrelated bytes that are not an event at all.

use crate::container::{ContainerHeader, ContainerKind, HEADER_LEN};

/// Bytes of a container needed to see its length and kind.
const PREFIX_LEN: usize = 6;

/// Accumulates interrupt transfers and yields whole event containers.
#[derive(Debug, Default)]
pub struct EventAssembler {
    partial: Vec<u8>,
    dropped: u64,
}

impl EventAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one transfer's bytes; returns the event containers it completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.partial.extend_from_slice(bytes);
        let mut done = Vec::new();
        loop {
            if self.partial.len() < PREFIX_LEN {
                return done;
            }
            let Some(len) = event_length(&self.partial) else {
                // Not the start of an event: drop everything buffered, as
                // libgphoto2 does with "unrelated data"; resynchronising
                // byte by byte could mistake data for a header.
                self.dropped += self.partial.len() as u64;
                tracing::debug!(
                    bytes = self.partial.len(),
                    "interrupt data that is no event dropped"
                );
                self.partial.clear();
                return done;
            };
            if self.partial.len() < len {
                return done;
            }
            done.push(self.partial.drain(..len).collect());
            // Whatever follows is another event or padding; a short remainder
            // that is padding ends in `discard_partial` on the next idle tick.
            if self.partial.iter().all(|b| *b == 0) {
                self.partial.clear();
            }
        }
    }

    /// Forgets an incomplete container. Called when the pipe has been idle
    /// for a while: the rest of a real multi-packet event comes back to back,
    /// so a fragment that waited this long is garbage that would otherwise
    /// corrupt the next event. Returns the bytes dropped.
    pub fn discard_partial(&mut self) -> usize {
        let n = self.partial.len();
        if n > 0 {
            self.dropped += n as u64;
            self.partial.clear();
        }
        n
    }

    /// True while part of a container is buffered.
    pub fn has_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    /// Bytes dropped so far as not belonging to any event.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// The length of the event container starting `bytes` (at least
/// [`PREFIX_LEN`] long), or `None` if it does not start one.
fn event_length(bytes: &[u8]) -> Option<usize> {
    let kind = u16::from_le_bytes([bytes[4], bytes[5]]);
    if kind != ContainerKind::Event as u16 {
        return None;
    }
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if bytes.len() >= HEADER_LEN {
        // The full header is here: let the container parser judge it.
        ContainerHeader::parse(bytes).ok()?;
    } else if !(HEADER_LEN..=crate::container::MAX_PARAM_CONTAINER_LEN).contains(&len) {
        return None;
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Event;

    fn event(code: u16, params: &[u32]) -> Vec<u8> {
        Event::new(code, 0, params).encode().unwrap()
    }

    #[test]
    fn one_event_per_transfer() {
        let mut a = EventAssembler::new();
        let e = event(0x4002, &[7]);
        assert_eq!(a.push(&e), vec![e.clone()]);
        assert!(!a.has_partial());
    }

    #[test]
    fn event_split_over_small_packets() {
        let mut a = EventAssembler::new();
        let e = event(0x4002, &[0x1234_5678]);
        let mut got = Vec::new();
        for chunk in e.chunks(8) {
            got.extend(a.push(chunk));
        }
        assert_eq!(got, vec![e]);
        // Split even before the kind field is visible.
        let e2 = event(0x400C, &[1, 2, 3]);
        assert!(a.push(&e2[..3]).is_empty());
        assert!(a.push(&e2[3..5]).is_empty());
        assert_eq!(a.push(&e2[5..]), vec![e2]);
    }

    #[test]
    fn two_events_and_padding_in_one_transfer() {
        let mut a = EventAssembler::new();
        let e1 = event(0x4002, &[1]);
        let e2 = event(0x4007, &[1]);
        let mut t = e1.clone();
        t.extend_from_slice(&e2);
        t.extend_from_slice(&[0; 8]);
        assert_eq!(a.push(&t), vec![e1, e2]);
        assert!(!a.has_partial());
    }

    #[test]
    fn garbage_is_dropped_and_the_next_event_survives() {
        let mut a = EventAssembler::new();
        assert!(a
            .push(&[0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x00, 0x55])
            .is_empty());
        assert_eq!(a.dropped(), 7);
        // A response-kind container on the interrupt pipe is not an event either.
        let mut resp = event(0x2001, &[]);
        resp[4] = 3;
        assert!(a.push(&resp).is_empty());
        let e = event(0x4002, &[9]);
        assert_eq!(a.push(&e), vec![e]);
    }

    #[test]
    fn absurd_length_is_garbage() {
        let mut a = EventAssembler::new();
        let mut e = event(0x4002, &[9]);
        e[0..4].copy_from_slice(&4000u32.to_le_bytes());
        assert!(a.push(&e).is_empty());
        assert!(!a.has_partial());
        assert!(a.push(&[0xFF, 0, 0, 0, 4, 0]).is_empty());
        assert!(!a.has_partial());
    }

    #[test]
    fn stale_fragment_is_discarded_on_idle() {
        let mut a = EventAssembler::new();
        let e = event(0x4002, &[5]);
        assert!(a.push(&e[..10]).is_empty());
        assert_eq!(a.discard_partial(), 10);
        assert_eq!(a.push(&e), vec![e]);
    }
}
