//! Random identifiers and secrets.
//!
//! Everything is base62 from the OS-seeded thread RNG: URL-safe without escaping and
//! dense enough that a 22-character slug carries ~131 bits, so galleries cannot be
//! found by guessing.

use rand::distr::{Alphanumeric, SampleString};

fn base62(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

pub fn album_id() -> String {
    base62(12)
}

pub fn photo_id() -> String {
    base62(16)
}

pub fn upload_id() -> String {
    base62(24)
}

pub fn slug() -> String {
    base62(22)
}

pub fn secret() -> String {
    base62(32)
}

/// Now as RFC 3339 UTC, the one timestamp format stored in the database.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
