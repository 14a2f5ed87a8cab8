//! What a failed refresh means, and when to try again (DESIGN rule 7).

/// Why a refresh (or, in `relogin` mode, a repeated login) did not produce a new access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshFailure {
    /// The endpoint answered with this non-2xx HTTP status.
    Status(u16),
    /// `fetch` itself failed: offline, DNS, connection dropped, CORS, aborted.
    Network,
    /// A 2xx answer without a usable access token.
    Malformed,
    /// Nothing to present: the mode needs a refresh token (or credentials) that the login
    /// answer never gave. The session cannot be renewed.
    Unavailable,
}

/// The core's verdict on a [`RefreshFailure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshVerdict {
    /// The server said no: the refresh token (or the credentials) are dead, the session ends.
    Rejected,
    /// Worth trying again later: keep the session, retry at the given instant (ms since epoch).
    Transient {
        /// When the next automatic attempt is due.
        retry_at_ms: u64,
    },
    /// The renewal belonged to a session that has since ended (logout, new login): ignore it.
    Stale,
}

impl RefreshFailure {
    /// Whether the server has definitively refused: 400, 401, 403 and every other 4xx except
    /// the "try later" ones (408 Request Timeout, 425 Too Early, 429 Too Many Requests).
    /// 5xx, network failures and malformed answers are transient: being offline, or a server
    /// having a bad minute, never logs anyone out.
    pub fn is_rejection(self) -> bool {
        match self {
            RefreshFailure::Status(s) => (400..500).contains(&s) && !matches!(s, 408 | 425 | 429),
            RefreshFailure::Unavailable => true,
            RefreshFailure::Network | RefreshFailure::Malformed => false,
        }
    }
}

/// Exponential backoff for transient refresh failures: 1 s, doubling to 30 s, each delay
/// shortened by up to 25 % of jitter so that many clients do not retry in lockstep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

/// The first delay, ms.
pub const BACKOFF_BASE_MS: u64 = 1_000;
/// The longest delay, ms.
pub const BACKOFF_MAX_MS: u64 = 30_000;

impl Backoff {
    /// Records one more failure and returns the delay before the next attempt, in ms.
    /// `jitter` is a uniform random number in `[0, 1)` supplied by the edge (`Math.random()`).
    pub fn next_delay_ms(&mut self, jitter: f64) -> u64 {
        let doubled = BACKOFF_BASE_MS.saturating_mul(1u64 << self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        let capped = doubled.min(BACKOFF_MAX_MS);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        capped - (capped as f64 * 0.25 * jitter) as u64
    }

    /// How many failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Forgets the failures (after a success, or when the network comes back).
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn rejections_and_transients() {
        for s in [400, 401, 403, 404, 410] {
            assert!(RefreshFailure::Status(s).is_rejection(), "{s}");
        }
        for s in [408, 425, 429, 500, 502, 503, 504] {
            assert!(!RefreshFailure::Status(s).is_rejection(), "{s}");
        }
        assert!(!RefreshFailure::Network.is_rejection());
        assert!(!RefreshFailure::Malformed.is_rejection());
        assert!(RefreshFailure::Unavailable.is_rejection());
    }

    #[test]
    fn backoff_doubles_to_thirty_seconds() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| b.next_delay_ms(0.0)).collect();
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(b.failures(), 8);
        b.reset();
        assert_eq!(b.next_delay_ms(0.0), 1_000);
    }

    #[test]
    fn jitter_shortens_by_at_most_a_quarter() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay_ms(0.999_999), 751);
        let mut b = Backoff::default();
        assert_eq!(b.next_delay_ms(f64::NAN), 1_000);
        let mut b = Backoff::default();
        for _ in 0..100 {
            let d = b.next_delay_ms(0.5);
            assert!((750..=30_000).contains(&d));
        }
    }
}
