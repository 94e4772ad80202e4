//! Timestamps as the journal stores them: UTC, RFC 3339, always milliseconds and `Z`, so
//! that text order is time order inside SQLite.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// Formats a moment in the journal's canonical form.
pub fn fmt(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub fn now_rfc3339() -> String {
    fmt(OffsetDateTime::now_utc())
}

/// `now + d` in canonical form, for retry deadlines.
pub fn after(d: std::time::Duration) -> String {
    fmt(OffsetDateTime::now_utc() + Duration::try_from(d).unwrap_or(Duration::ZERO))
}

/// Parses any RFC 3339 timestamp (with offset); `None` for anything else.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Re-expresses an RFC 3339 timestamp in canonical UTC form.
pub fn normalize(s: &str) -> Option<String> {
    parse(s).map(fmt)
}

/// Milliseconds from the shutter to `at`. The camera's clock (`captured_at`) is trusted only
/// when it agrees with ours (`detected_at`) to within ten minutes; otherwise the moment we
/// detected the shot stands in for the shutter.
pub fn shutter_to(detected_at: &str, captured_at: Option<&str>, at: OffsetDateTime) -> Option<u64> {
    let detected = parse(detected_at)?;
    let shutter = captured_at
        .and_then(parse)
        .filter(|c| (*c - detected).abs() < Duration::minutes(10))
        .unwrap_or(detected);
    u64::try_from((at - shutter).whole_milliseconds()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_as_time() {
        let a = normalize("2026-05-01T12:00:00.5+02:00").unwrap();
        let b = normalize("2026-05-01T10:30:00Z").unwrap();
        assert_eq!(a, "2026-05-01T10:00:00.500Z");
        assert!(a < b);
        assert!(parse("not a time").is_none());
    }
}
