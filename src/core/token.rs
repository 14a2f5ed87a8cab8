//! Secrets and their generations.
//!
//! [`AccessToken`], [`RefreshToken`] and [`Credentials`] wrap the secret text so that it cannot
//! reach a log line by accident: `Debug` and `Display` print `<redacted>`, the only way to the
//! text is the explicit [`AccessToken::expose`], and the memory is overwritten when the value is
//! dropped.
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

/// The token generation: counts access tokens within one tab — every new access token (login,
/// refresh, relogin, one adopted from another tab) gets the next one.
/// A request remembers the generation it was sent with, so that a 401 for an older generation
/// is retried with the current token instead of causing another refresh (DESIGN rule 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
