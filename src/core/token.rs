//! Secrets and their generations.
//!
//! [`AccessToken`], [`RefreshToken`] and [`Credentials`] wrap the secret text so that it cannot
//! reach a log line by accident: `Debug` and `Display` print `<redacted>`, the only way to the
//! text is the explicit [`AccessToken::expose`], and the memory is overwritten when the value is
//! dropped. None of them is `Serialize` or `Deserialize`, with or without the `serde` feature:
//! a secret leaves only in the request that presents it.
use alloc::string::String;

use core::fmt;

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps the secret text.
            pub fn new(text: String) -> Self {
                $name(text)
            }

            /// The secret text, for the one place that must send it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                wipe(&mut self.0);
            }
        }
    };
}

secret!(
    /// The bearer sent in `Authorization: Bearer …` to allowed origins.
    AccessToken
);
secret!(
    /// The token presented to the refresh endpoint. With rotation (PGBen, seed 004) each one is
    /// single use: once a refresh answered a new one, the old one is never presented again.
    RefreshToken
);
secret!(
    /// The login body (JSON text), kept only in `refreshCredential: "relogin"` mode (seed 001,
    /// an API without a refresh endpoint) and dropped when the session ends.
    Credentials
);

/// Overwrites the secret's bytes before its memory is released.
fn wipe(text: &mut String) {
    let mut bytes = core::mem::take(text).into_bytes();
    bytes.fill(0);
    // Keeps the zeroing from being optimised away as a dead store.
    core::hint::black_box(&bytes);
}

impl AccessToken {
    /// Whether this token can travel in an `Authorization: Bearer` header: visible ASCII only
    /// (RFC 9110 field values; no space, no CR/LF, nothing outside Latin-1 that `Headers` would
    /// refuse). A token that cannot is no usable token (`malformed_response`), rather than
    /// calls that go out without the header and end the session. Wider than RFC 6750's
    /// `b64token` on purpose: opaque tokens such as `1|abc…` are common.
    pub fn is_header_safe(&self) -> bool {
        let text = self.expose();
        !text.is_empty() && text.bytes().all(|b| (0x21..=0x7e).contains(&b))
    }
}

/// The token generation: counts access tokens within one tab — every new access token (login,
/// refresh, relogin, one adopted from another tab) gets the next one.
/// A request remembers the generation it was sent with, so that a 401 for an older generation
/// is retried with the current token instead of causing another refresh (DESIGN rule 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TokenGeneration(pub u32);

impl TokenGeneration {
    /// The generation after this one.
    pub fn next(self) -> Self {
        TokenGeneration(self.0.wrapping_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn only_visible_ascii_tokens_are_header_safe() {
        let safe = |t: &str| AccessToken::new(t.into()).is_header_safe();
        assert!(safe("eyJhbGciOiJIUzI1NiJ9.e30.sig-_~+/="));
        assert!(safe("1|ZXhhbXBsZQ"));
        for bad in ["", "a b", "abc\r\nX-Evil: 1", "tab\there", "tökén", "✓"] {
            assert!(!safe(bad), "{bad:?}");
        }
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let access = AccessToken::new("eyJ.secret-access.sig".into());
        let refresh = RefreshToken::new("secret-refresh".into());
        let creds = Credentials::new(r#"{"senha":"hunter2"}"#.into());
        let printed = format!(
            "{access:?} {access} {refresh:?} {refresh} {creds:?} {creds} {:?}",
            Some(&access)
        );
        assert!(!printed.contains("secret"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("AccessToken(<redacted>)"));
        assert!(printed.contains("RefreshToken(<redacted>)"));
        assert!(printed.contains("Credentials(<redacted>)"));
        assert_eq!(access.expose(), "eyJ.secret-access.sig");
    }

    #[test]
    fn wipe_zeroes_the_text() {
        let mut s = String::from("abc");
        wipe(&mut s);
        assert!(s.is_empty());
    }

    #[test]
    fn generations_count_up() {
        let g = TokenGeneration::default();
        assert!(g.next() > g);
        assert_eq!(g.next().next(), TokenGeneration(2));
    }
}
