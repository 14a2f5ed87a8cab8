//! Wall-clock time, read once per request by the handlers and passed inward as milliseconds,
//! and the ISO 8601 forms the seed documents use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    // A clock before 1970 is a broken machine; answering with 0 keeps the server up.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `2025-05-17T21:50:07.000Z`: the form of the seed's `timestamp` and `desbloqueioEm`.
pub fn iso_millis(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// `2025-05-17T14:30:00Z`: the form of the seed's `dataCriacao`, `dataUpload` and the like.
pub fn iso_seconds(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_seed() {
        // 2025-05-17T21:50:07Z
        let ms = 1_747_518_607_000;
        assert_eq!(iso_millis(ms), "2025-05-17T21:50:07.000Z");
        assert_eq!(iso_millis(ms + 42), "2025-05-17T21:50:07.042Z");
        assert_eq!(iso_seconds(ms + 999), "2025-05-17T21:50:07Z");
    }
}
