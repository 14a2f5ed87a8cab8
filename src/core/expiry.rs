//! When an access token expires and when to refresh it (DESIGN rules 2 and 3).
//!
//! All instants are milliseconds since the Unix epoch **on the page's clock**; all lifetimes are
//! milliseconds. JWT claims (`exp`, `iat`, RFC 7519 §4.1.4 and §4.1.6) are seconds since the
//! epoch **on the server's clock**, which is why a lifetime is preferred to an instant: the
//! lifetime `exp − iat` counted from the moment the answer arrived is immune to a client clock
//! that is minutes off.

/// The proactive refresh never fires sooner than this after a token arrived, so a server that
/// issues near-zero lifetimes cannot drive a refresh storm. Calls still renew lazily.
pub const MIN_REFRESH_GAP_MS: u64 = 5_000;

/// The time claims of a JWT payload, in seconds since the epoch (server clock), as parsed by the
/// edge from the token's middle segment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JwtTimes {
    /// `exp`: expiration time, seconds since the epoch.
    pub exp: Option<f64>,
    /// `iat`: issued-at time, seconds since the epoch.
    pub iat: Option<f64>,
}

/// An access token's expiry on the page's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Neither `expiresIn` nor a usable JWT `exp`: only a 401 triggers renewal.
    Unknown,
    /// Known expiry.
    At {
        /// When the login/refresh answer arrived, ms since the epoch (local clock).
        received_at_ms: u64,
        /// When the token stops being valid, ms since the epoch (local clock).
        expires_at_ms: u64,
    },
}

impl Expiry {
    /// Computes the expiry of a token received at `received_at_ms` (DESIGN rule 2):
    ///
    /// 1. `expires_in_s` (the answer's `expiresIn`/`expires_in`, seconds of lifetime):
    ///    `expiresAt = receipt + expiresIn`.
    /// 2. else JWT `exp` and `iat`: lifetime `exp − iat` counted from receipt.
    /// 3. else JWT `exp` alone, used as is — unless it is already past on arrival, which can
    ///    only mean the local clock is wrong; then the expiry is unknown rather than a storm of
    ///    refreshes for a token the server just issued.
    /// 4. else unknown.
    ///
    /// Negative, non-finite or absurd (over 10 years) values are ignored as malformed.
    pub fn from_grant(received_at_ms: u64, expires_in_s: Option<f64>, jwt: JwtTimes) -> Expiry {
        let at = |lifetime_ms: u64| Expiry::At {
            received_at_ms,
            expires_at_ms: received_at_ms.saturating_add(lifetime_ms),
        };
        if let Some(ms) = expires_in_s.and_then(seconds_to_ms) {
            return at(ms);
        }
        match (jwt.exp, jwt.iat) {
            (Some(exp), Some(iat)) => match seconds_to_ms(exp - iat) {
                Some(ms) => at(ms),
                None => Expiry::Unknown,
            },
            (Some(exp), None) => match epoch_seconds_to_ms(exp) {
                Some(expires_at_ms) if expires_at_ms > received_at_ms => Expiry::At {
                    received_at_ms,
                    expires_at_ms,
                },
                _ => Expiry::Unknown,
            },
            _ => Expiry::Unknown,
        }
    }

    /// The expiry instant, ms since the epoch (local clock), if known.
    pub fn expires_at_ms(&self) -> Option<u64> {
        match *self {
            Expiry::At { expires_at_ms, .. } => Some(expires_at_ms),
            Expiry::Unknown => None,
        }
    }

    /// When the proactive refresh is due, ms since the epoch (DESIGN rule 3):
    /// `expiresAt − lead`, the lead capped at half the token's lifetime (a 20 s token refreshes
    /// at 10 s), and never sooner than [`MIN_REFRESH_GAP_MS`] after receipt.
    pub fn refresh_at_ms(&self, lead_ms: u64) -> Option<u64> {
        match *self {
            Expiry::At {
                received_at_ms,
                expires_at_ms,
            } => {
                let lifetime = expires_at_ms.saturating_sub(received_at_ms);
                let lead = lead_ms.min(lifetime / 2);
                let earliest = received_at_ms.saturating_add(MIN_REFRESH_GAP_MS);
                Some(expires_at_ms.saturating_sub(lead).max(earliest))
            }
            Expiry::Unknown => None,
        }
    }

    /// Whether the token has expired at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms().is_some_and(|at| now_ms >= at)
    }
}

/// The middle (payload) segment of a compact JWS (RFC 7515 §7.1), if `token` has that shape.
/// The edge base64url-decodes and JSON-parses it with the browser's own `atob` and `JSON`.
pub fn jwt_payload(token: &str) -> Option<&str> {
    // Exactly two dots; `.` is ASCII, so both cuts fall between UTF-8 characters.
    let bytes = token.as_bytes();
    let first = bytes.iter().position(|b| *b == b'.')?;
    let last = bytes.iter().rposition(|b| *b == b'.')?;
    let payload = token.get(first + 1..last)?;
    (!payload.is_empty() && !payload.as_bytes().contains(&b'.')).then_some(payload)
}

const TEN_YEARS_S: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

/// A lifetime in ms; `None` for one that is not a real lifetime: zero or less (a token that
/// "expires as it arrives" would be renewed every few seconds forever), over ten years, or not
/// a number.
fn seconds_to_ms(seconds: f64) -> Option<u64> {
    // The range check makes the cast exact enough and never saturating.
    (seconds.is_finite() && seconds > 0.0 && seconds <= TEN_YEARS_S)
        .then_some((seconds * 1000.0) as u64)
}

fn epoch_seconds_to_ms(seconds: f64) -> Option<u64> {
    // Up to the year 5138: anything later is not a real expiry.
    (seconds.is_finite() && (0.0..=1e11).contains(&seconds)).then_some((seconds * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const T0: u64 = 1_700_000_000_000;

    fn jwt(exp: Option<f64>, iat: Option<f64>) -> JwtTimes {
        JwtTimes { exp, iat }
    }

    #[test]
    fn expires_in_counts_from_receipt() {
        let e = Expiry::from_grant(T0, Some(3600.0), jwt(None, None));
        assert_eq!(e.expires_at_ms(), Some(T0 + 3_600_000));
        assert_eq!(e.refresh_at_ms(60_000), Some(T0 + 3_540_000));
    }

    #[test]
    fn expires_in_wins_over_the_jwt() {
        let e = Expiry::from_grant(T0, Some(100.0), jwt(Some(9e9), Some(1.0)));
        assert_eq!(e.expires_at_ms(), Some(T0 + 100_000));
    }

    #[test]
    fn jwt_lifetime_ignores_a_skewed_client_clock() {
        // Seed 003: a 15-minute access JWT. The server clock says iat = 1000 s; the client clock
        // is 10 minutes ahead, which must not shorten the token's life.
        let server_iat = 1_000.0;
        let client_now = T0 + 600_000;
        let e = Expiry::from_grant(
            client_now,
            None,
            jwt(Some(server_iat + 900.0), Some(server_iat)),
        );
        assert_eq!(e.expires_at_ms(), Some(client_now + 900_000));
        assert_eq!(e.refresh_at_ms(60_000), Some(client_now + 840_000));
    }

    #[test]
    fn exp_alone_is_used_as_is() {
        let exp_s = (T0 / 1000 + 1800) as f64;
        let e = Expiry::from_grant(T0, None, jwt(Some(exp_s), None));
        assert_eq!(e.expires_at_ms(), Some(T0 + 1_800_000));
    }

    #[test]
    fn exp_alone_already_past_means_the_clock_is_wrong() {
        let exp_s = (T0 / 1000 - 60) as f64;
        assert_eq!(
            Expiry::from_grant(T0, None, jwt(Some(exp_s), None)),
            Expiry::Unknown
        );
    }

    #[test]
    fn no_expiry_information_is_unknown() {
        let e = Expiry::from_grant(T0, None, jwt(None, None));
        assert_eq!(e, Expiry::Unknown);
        assert_eq!(e.expires_at_ms(), None);
        assert_eq!(e.refresh_at_ms(60_000), None);
        assert!(!e.is_expired(u64::MAX));
    }

    #[test]
    fn malformed_lifetimes_are_ignored() {
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert_eq!(
                Expiry::from_grant(T0, Some(bad), jwt(None, None)),
                Expiry::Unknown
            );
        }
        // iat after exp: no usable lifetime.
        assert_eq!(
            Expiry::from_grant(T0, None, jwt(Some(10.0), Some(20.0))),
            Expiry::Unknown
        );
    }

    #[test]
    fn lead_is_capped_at_half_the_lifetime() {
        let e = Expiry::from_grant(T0, Some(20.0), jwt(None, None));
        assert_eq!(e.refresh_at_ms(60_000), Some(T0 + 10_000));
        let e = Expiry::from_grant(T0, Some(120.0), jwt(None, None));
        assert_eq!(e.refresh_at_ms(60_000), Some(T0 + 60_000));
    }

    #[test]
    fn tiny_lifetimes_cannot_cause_a_refresh_storm() {
        let e = Expiry::from_grant(T0, Some(0.1), jwt(None, None));
        assert_eq!(e.refresh_at_ms(60_000), Some(T0 + MIN_REFRESH_GAP_MS));
        assert!(e.is_expired(T0 + 100));
    }

    #[test]
    fn a_zero_or_negative_lifetime_is_no_lifetime() {
        // `expiresIn: 0` would be renewed every few seconds, idle or not: the expiry is
        // unknown instead (the JWT's, if it has one; else renewal on a 401 only).
        for lifetime in [0.0, -5.0] {
            assert_eq!(
                Expiry::from_grant(T0, Some(lifetime), jwt(None, None)),
                Expiry::Unknown
            );
            let from_jwt = Expiry::from_grant(T0, Some(lifetime), jwt(Some(1900.0), Some(1000.0)));
            assert_eq!(from_jwt.expires_at_ms(), Some(T0 + 900_000));
        }
        let e = Expiry::from_grant(T0, None, jwt(Some(1000.0), Some(1000.0)));
        assert_eq!(e, Expiry::Unknown);
        assert_eq!(e.refresh_at_ms(60_000), None);
    }

    #[test]
    fn expired_exactly_at_the_instant() {
        let e = Expiry::from_grant(T0, Some(1.0), jwt(None, None));
        assert!(!e.is_expired(T0 + 999));
        assert!(e.is_expired(T0 + 1000));
    }

    #[test]
    fn jwt_payload_takes_the_middle_segment() {
        assert_eq!(jwt_payload("aaa.bbb.ccc"), Some("bbb"));
        assert_eq!(jwt_payload("aaa.bbb."), Some("bbb"));
        assert_eq!(jwt_payload("opaque-token"), None);
        assert_eq!(jwt_payload("a..c"), None);
        assert_eq!(jwt_payload("a.b.c.d"), None);
        assert_eq!(jwt_payload("a.b"), None, "one dot");
        assert_eq!(jwt_payload(".b."), Some("b"), "empty header and signature");
        // Cut at bytes: a non-ASCII segment stays whole.
        assert_eq!(jwt_payload("é.ü€.ß"), Some("ü€"));
    }
}
