//! The one error type of authfetch, with the codes of DESIGN.md.
//!
//! An [`AuthError`] never holds a token, a refresh token or a password: its message is built
//! only from static text, configuration key names and what the server said about itself
//! (`serverCode`, `serverMessage`).
use alloc::{borrow::ToOwned, string::String};

use core::fmt;

/// What went wrong, as the stable string codes JavaScript sees in `error.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The constructor's configuration is wrong; the message names the key.
    InvalidConfig,
    /// Login answered 400 or 401.
    InvalidCredentials,
    /// Login answered 403 (PGBen `AUTH_003`): the account is locked.
    AccountLocked,
    /// `fetch` to an API origin while no session is held; the request was not sent.
    NotAuthenticated,
    /// The session ended: refresh rejected, a retry still 401, or an invalid token.
    SessionExpired,
    /// The network or the server failed (offline, DNS, CORS, 5xx, timeout). A renewal that
    /// fails so keeps the session; its message then says so.
    Network,
    /// A 2xx login or refresh answer without a usable access token.
    MalformedResponse,
    /// A retry was needed but the request body was a one-shot stream.
    BodyNotReplayable,
}

impl ErrorCode {
    /// What a login answer's HTTP status means: `None` for 2xx (read the tokens);
    /// `invalid_credentials` for 400 and 401 (PGBen `AUTH_001`); `account_locked` for 403 (PGBen
    /// `AUTH_003`) and 423 Locked; `network` for anything else (5xx, an unexpected status): the
    /// server failed, the user did nothing wrong.
    pub fn for_login_status(status: u16) -> Option<ErrorCode> {
        match status {
            200..=299 => None,
            400 | 401 => Some(ErrorCode::InvalidCredentials),
            403 | 423 => Some(ErrorCode::AccountLocked),
            _ => Some(ErrorCode::Network),
        }
    }

    /// The code as JavaScript sees it, e.g. `"session_expired"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::AccountLocked => "account_locked",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::SessionExpired => "session_expired",
            ErrorCode::Network => "network",
            ErrorCode::MalformedResponse => "malformed_response",
            ErrorCode::BodyNotReplayable => "body_not_replayable",
        }
    }

    /// A one-line human explanation, used as the error's message when no better one exists.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "the AuthClient configuration is invalid",
            ErrorCode::InvalidCredentials => "the server rejected the credentials",
            ErrorCode::AccountLocked => "the account is locked",
            ErrorCode::NotAuthenticated => "no session is held; the request was not sent",
            ErrorCode::SessionExpired => "the session has ended; sign in again",
            ErrorCode::Network => "the network or the server failed",
            ErrorCode::MalformedResponse => "the server's answer holds no usable access token",
            ErrorCode::BodyNotReplayable => {
                "the request needed a retry but its body was a one-shot stream"
            }
        }
    }
}

/// `network` for a request that got no answer: `fetch` rejected, which is also how the browser
/// reports a cross-origin answer that CORS did not allow.
const NO_ANSWER: &str = "no answer from the server: offline, the server down, or blocked by \
    CORS (the API must allow this page's origin and the Authorization and Content-Type headers)";

/// `network` for an answer whose status is neither a success nor a refusal (5xx, mostly).
const SERVER_FAILED: &str = "the server answered with an error status";

/// Appended to a `network` or `malformed_response` message when a session is held and the
/// failure did not end it.
const SESSION_KEPT: &str = "; the session is kept";

/// An authfetch failure. In JavaScript it becomes an `Error` with `name === "AuthError"` and the
/// fields `code`, `status`, `serverCode`, `serverMessage` (and `key` for `invalid_config`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct AuthError {
    /// The stable code.
    pub code: ErrorCode,
    /// Human text; never holds a secret.
    pub message: String,
    /// The HTTP status that caused it, if any.
    pub status: Option<u16>,
    /// The server's error code (PGBen `errorCode`, e.g. `"AUTH_001"`), read at `errorCodePath`.
    pub server_code: Option<String>,
    /// The server's `message`, if its error body had one.
    pub server_message: Option<String>,
    /// For [`ErrorCode::InvalidConfig`]: the configuration key at fault.
    pub key: Option<String>,
}

impl AuthError {
    /// An error with the code's default message and nothing else.
    pub fn new(code: ErrorCode) -> Self {
        AuthError::with_message(code, code.default_message())
    }

    /// An error with this (static) message and nothing else.
    fn with_message(code: ErrorCode, message: &str) -> Self {
        AuthError {
            code,
            message: message.to_owned(),
            status: None,
            server_code: None,
            server_message: None,
            key: None,
        }
    }

    /// `invalid_config` naming `key`, with `why` (static text) as the reason:
    /// the message reads `"<key>: <why>"`.
    pub fn invalid_config(key: &str, why: &str) -> Self {
        let mut message = String::with_capacity(key.len() + why.len() + 2);
        message.push_str(key);
        message.push_str(": ");
        message.push_str(why);
        AuthError {
            message,
            key: Some(key.to_owned()),
            ..AuthError::new(ErrorCode::InvalidConfig)
        }
    }

    /// `network` for a request that got no answer (`fetch` rejected): the message names being
    /// offline, the server being down and CORS as the possible causes, since the browser tells
    /// them apart to nobody but its console.
    pub fn no_answer() -> Self {
        AuthError::with_message(ErrorCode::Network, NO_ANSWER)
    }

    /// `network` for a renewal this tab could not take its turn at (`why`, static text): the
    /// cross-tab refresh lock never came free, or another tab's new tokens never arrived.
    pub fn no_turn(why: &str) -> Self {
        AuthError::with_message(ErrorCode::Network, why)
    }

    /// `network` for an answer with a failing status (5xx, or one that is neither a success
    /// nor a refusal); [`AuthError::with_server`] adds the status.
    pub fn server_failed() -> Self {
        AuthError::with_message(ErrorCode::Network, SERVER_FAILED)
    }

    /// The same error, its message ending "; the session is kept": for a failure while a
    /// session is held that did not end it (a transient renewal failure).
    pub fn session_kept(mut self) -> Self {
        self.message.push_str(SESSION_KEPT);
        self
    }

    /// The same error carrying the HTTP status and what the server said about itself.
    pub fn with_server(
        mut self,
        status: Option<u16>,
        server_code: Option<String>,
        server_message: Option<String>,
    ) -> Self {
        self.status = status;
        self.server_code = server_code;
        self.server_message = server_message;
        self
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        f.write_str(": ")?;
        f.write_str(&self.message)
    }
}

impl core::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn codes_are_the_design_strings() {
        let all = [
            (ErrorCode::InvalidConfig, "invalid_config"),
            (ErrorCode::InvalidCredentials, "invalid_credentials"),
            (ErrorCode::AccountLocked, "account_locked"),
            (ErrorCode::NotAuthenticated, "not_authenticated"),
            (ErrorCode::SessionExpired, "session_expired"),
            (ErrorCode::Network, "network"),
            (ErrorCode::MalformedResponse, "malformed_response"),
            (ErrorCode::BodyNotReplayable, "body_not_replayable"),
        ];
        for (code, text) in all {
            assert_eq!(code.as_str(), text);
            assert!(!code.default_message().is_empty());
        }
    }

    #[test]
    fn login_statuses_map_to_codes() {
        assert_eq!(ErrorCode::for_login_status(200), None);
        assert_eq!(ErrorCode::for_login_status(204), None);
        assert_eq!(
            ErrorCode::for_login_status(400),
            Some(ErrorCode::InvalidCredentials)
        );
        assert_eq!(
            ErrorCode::for_login_status(401),
            Some(ErrorCode::InvalidCredentials)
        );
        assert_eq!(
            ErrorCode::for_login_status(403),
            Some(ErrorCode::AccountLocked)
        );
        assert_eq!(
            ErrorCode::for_login_status(423),
            Some(ErrorCode::AccountLocked)
        );
        for other in [404, 429, 500, 503] {
            assert_eq!(
                ErrorCode::for_login_status(other),
                Some(ErrorCode::Network),
                "{other}"
            );
        }
    }

    #[test]
    fn invalid_config_names_the_key() {
        let e = AuthError::invalid_config("loginPath", "is required");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        assert_eq!(e.key.as_deref(), Some("loginPath"));
        assert_eq!(e.message, "loginPath: is required");
        assert_eq!(e.to_string(), "invalid_config: loginPath: is required");
    }

    #[test]
    fn network_messages_say_why_and_claim_no_session() {
        let none = AuthError::no_answer();
        assert_eq!(none.code, ErrorCode::Network);
        assert!(none.message.starts_with("no answer from the server"));
        assert!(none.message.contains("CORS"), "{}", none.message);
        assert!(none.message.contains("Authorization"), "{}", none.message);
        let failed = AuthError::server_failed();
        assert_eq!(failed.code, ErrorCode::Network);
        assert!(!failed.message.contains("CORS"), "{}", failed.message);
        for e in [&none, &failed, &AuthError::new(ErrorCode::Network)] {
            assert!(!e.message.contains("session"), "{}", e.message);
        }
        let kept = AuthError::no_answer().session_kept();
        assert_eq!(kept.message, [NO_ANSWER, SESSION_KEPT].concat());
        assert_eq!(
            AuthError::server_failed().session_kept().to_string(),
            "network: the server answered with an error status; the session is kept"
        );
    }

    #[test]
    fn server_details_ride_along() {
        let e = AuthError::new(ErrorCode::InvalidCredentials).with_server(
            Some(400),
            Some("AUTH_001".into()),
            Some("Credenciais inválidas".into()),
        );
        assert_eq!(e.status, Some(400));
        assert_eq!(e.server_code.as_deref(), Some("AUTH_001"));
        assert_eq!(e.server_message.as_deref(), Some("Credenciais inválidas"));
    }
}
