//! What the servers answered, read: the bounded reads (DESIGN rule 12), the tokens at the
//! configured dot paths (rule 2), what an error body says of the session (rules 5 and 7), and
//! `Retry-After` (RFC 9110 §10.2.3).
//!
//! The JavaScript edge reads a body as text and the binding layer hands it to `JSON.parse`;
//! what comes back is looked into through [`Json`]. Every choice — which paths, which types
//! count, how long a body may be — is made here.
use alloc::string::String;

use super::config::{Config, DotPath};
use super::decimal;
use super::expiry::{jwt_payload, JwtTimes};
use super::session::Grant;
use super::token::{AccessToken, RefreshToken};

/// The longest body read, in bytes announced by `Content-Length`, and in UTF-16 code units of
/// the text once read: auth answers and error bodies are small, and no answer may grow the
/// wasm memory by its own size (DESIGN rule 12).
pub const MAX_BODY: usize = 64 * 1024;

/// Where an error body's human message sits (every seed API names it `message`).
pub const MESSAGE_FIELD: &str = "message";

/// The longest `Retry-After` a renewal waits for, ms: a server cannot park a session longer.
pub const MAX_RETRY_AFTER_MS: u64 = 30 * 60 * 1000;

/// Whether to read the body of an answer whose `Content-Length` header is `content_length`:
/// yes without the header (the text is then refused after reading if it is over
/// [`MAX_BODY`]), yes for a whole number up to [`MAX_BODY`], no for anything else.
pub fn reads_body(content_length: Option<&str>) -> bool {
    content_length.is_none_or(|text| whole(text).is_some_and(|n| n <= MAX_BODY as u64))
}

/// Whether a body read as text of `len` UTF-16 code units is parsed (at most [`MAX_BODY`]); a
/// longer one says nothing.
pub fn parses_body(len: usize) -> bool {
    len <= MAX_BODY
}

/// A whole decimal number in a header (`1*DIGIT`, surrounding spaces allowed, at most 15
/// digits: exact in a JavaScript number); `None` otherwise.
fn whole(text: &str) -> Option<u64> {
    let text = text.trim_ascii();
    (text.len() <= 15).then(|| decimal::parse(text))?
}

/// `Retry-After` (RFC 9110 §10.2.3) as a delay in ms from `now_ms`: delay-seconds, else an
/// HTTP-date, which `http_date` reads (the browser's `Date.parse`: epoch ms, `None` when it
/// cannot). A date in the past is "now"; an unreadable header is no answer.
pub fn retry_after_ms(
    text: &str,
    now_ms: u64,
    http_date: impl FnOnce(&str) -> Option<f64>,
) -> Option<u64> {
    if let Some(seconds) = whole(text) {
        return Some(seconds.saturating_mul(1000));
    }
    let date = http_date(text.trim_ascii()).filter(|d| d.is_finite())?;
    Some((date.max(0.0) as u64).saturating_sub(now_ms))
}

/// A value of a parsed JSON body at a dot path, as far as the core reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
    /// Nothing there, or something else (an object, an array, `null`, a boolean).
    Absent,
}

/// A parsed JSON document the core can look into: the binding layer walks `JSON.parse`'s result
/// (`js_sys::Reflect`); native tests use a table.
pub trait Json {
    /// The value at `path` (field names, outermost first): each step into an object's field.
    fn at(&self, path: &[String]) -> Leaf;
}

/// The first non-empty string at one of `paths`.
fn first_text(json: &impl Json, paths: &[DotPath]) -> Option<String> {
    paths
        .iter()
        .find_map(|path| match json.at(path.segments()) {
            Leaf::Text(text) if !text.is_empty() => Some(text),
            _ => None,
        })
}

/// The first number at one of `paths`; a string of decimal seconds (`"3600"`, `" 3600.5 "`)
/// counts too, as some servers send it.
fn first_number(json: &impl Json, paths: &[DotPath]) -> Option<f64> {
    paths
        .iter()
        .find_map(|path| match json.at(path.segments()) {
            Leaf::Number(n) => Some(n),
            Leaf::Text(text) => decimal_seconds(&text),
            Leaf::Absent => None,
        })
}

/// `digits[.digits]`, surrounding ASCII spaces allowed, at most 15 digits before the point and
/// 9 after: exact enough for seconds of lifetime. `None` for anything else (a sign, an
/// exponent, trailing text).
pub fn decimal_seconds(text: &str) -> Option<f64> {
    let text = text.trim_ascii();
    let (whole_part, fraction) = match text.bytes().position(|b| b == b'.') {
        Some(dot) => (text.get(..dot)?, Some(text.get(dot + 1..)?)),
        None => (text, None),
    };
    if whole_part.len() > 15 || fraction.is_some_and(|f| f.len() > 9) {
        return None;
    }
    let mut n = decimal::parse(whole_part)? as f64;
    if let Some(fraction) = fraction {
        let mut scale = 1.0;
        for _ in 0..fraction.len() {
            scale *= 10.0;
        }
        n += decimal::parse(fraction)? as f64 / scale;
    }
    Some(n)
}

/// What an answer's body said: the error code at `errorCodePath` (a whole number counts, as
/// its decimal text) and the [`MESSAGE_FIELD`], each only when it is there.
pub fn server_said(json: Option<&impl Json>, error_code_path: &DotPath) -> ServerSaid {
    let Some(json) = json else {
        return ServerSaid::default();
    };
    let code = match json.at(error_code_path.segments()) {
        Leaf::Text(text) => Some(text),
        Leaf::Number(n) => whole_number_text(n),
        Leaf::Absent => None,
    };
    let message = match json.at(&[String::from(MESSAGE_FIELD)]) {
        Leaf::Text(text) => Some(text),
        _ => None,
    };
    ServerSaid {
        code,
        message,
        retry_after_ms: None,
    }
}

/// A whole number below 2⁵³ in decimal (`401` → `"401"`); `None` for any other number.
fn whole_number_text(n: f64) -> Option<String> {
    let exact = n.abs() < 9_007_199_254_740_992.0 && n as i64 as f64 == n;
    exact.then(|| {
        let mut text = String::new();
        if n < 0.0 {
            text.push('-');
        }
        decimal::push(&mut text, n.abs() as u64);
        text
    })
}

/// What an error answer said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerSaid {
    /// The code at `errorCodePath`, e.g. `"AUTH_006"`.
    pub code: Option<String>,
    /// The body's `message`.
    pub message: Option<String>,
    /// The `Retry-After` header (RFC 9110 §10.2.3), as a delay in ms from the answer.
    pub retry_after_ms: Option<u64>,
}

/// An auth endpoint's answer (login, refresh, logout), read.
#[derive(Debug)]
pub enum Answer {
    /// `fetch` rejected: offline, DNS, refused, CORS (or the request could not be made).
    Failed,
    /// An HTTP answer.
    Status {
        /// The HTTP status.
        status: u16,
        /// The tokens found at the configured paths (2xx answers only).
        grant: Option<Grant>,
        /// The error code (at `errorCodePath`) and `message` of the body, and `Retry-After`.
        server: ServerSaid,
    },
}

/// What an auth endpoint's answer comes to, before the flow that asked says what it means.
pub(crate) enum Verdict {
    /// A 2xx answer with an access token a header can carry.
    Granted(Grant),
    /// A non-2xx answer, with what it said.
    Refused(u16, ServerSaid),
    /// A 2xx answer without a usable access token: `malformed_response`.
    Malformed(u16, ServerSaid),
    /// No answer at all.
    NoAnswer,
}

impl Answer {
    /// The answer's [`Verdict`].
    pub(crate) fn verdict(self) -> Verdict {
        let Answer::Status {
            status,
            grant,
            server,
        } = self
        else {
            return Verdict::NoAnswer;
        };
        if !(200..300).contains(&status) {
            return Verdict::Refused(status, server);
        }
        match grant.filter(|g| g.access_token.is_header_safe()) {
            Some(grant) => Verdict::Granted(grant),
            None => Verdict::Malformed(status, server),
        }
    }

    /// An HTTP answer with `status`, whose body (`None`: not read, not JSON, or over
    /// [`MAX_BODY`]) is looked into with `config`'s paths. A 2xx answer's access token is the
    /// first non-empty string at `accessTokenPath`; then the refresh token at
    /// `refreshTokenPath` and the lifetime at `expiresInPath` (seconds); the access token's
    /// JWT `exp` and `iat` (numbers, epoch seconds) come from `decode`, which is given the
    /// token's payload segment as standard base64 (RFC 4648 §4, padded: what `atob` takes)
    /// and parses it.
    pub fn read<J: Json>(
        config: &Config,
        status: u16,
        body: Option<&J>,
        retry_after_ms: Option<u64>,
        decode: impl FnOnce(&str) -> Option<J>,
    ) -> Answer {
        let grant = body
            .filter(|_| (200..300).contains(&status))
            .and_then(|json| {
                let access = first_text(json, &config.access_token_path)?;
                let jwt = jwt_payload(&access)
                    .and_then(|payload| decode(&base64_of_base64url(payload)))
                    .map(|claims| JwtTimes::from_claims(&claims))
                    .unwrap_or_default();
                Some(Grant {
                    refresh_token: first_text(json, &config.refresh_token_path)
                        .map(RefreshToken::new),
                    expires_in_s: first_number(json, &config.expires_in_path),
                    access_token: AccessToken::new(access),
                    jwt,
                })
            });
        let server = ServerSaid {
            retry_after_ms,
            ..server_said(body, &config.error_code_path)
        };
        Answer::Status {
            status,
            grant,
            server,
        }
    }
}

impl JwtTimes {
    /// The `exp` and `iat` claims (RFC 7519 §4.1.4, §4.1.6) of a JWT's parsed payload: numbers
    /// only.
    pub fn from_claims(claims: &impl Json) -> JwtTimes {
        let number = |name: &str| match claims.at(&[String::from(name)]) {
            Leaf::Number(n) => Some(n),
            _ => None,
        };
        JwtTimes {
            exp: number("exp"),
            iat: number("iat"),
        }
    }
}

/// base64url (RFC 4648 §5, unpadded, as JWTs carry it) as standard base64 with padding.
pub fn base64_of_base64url(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    for b in text.bytes() {
        out.push(match b {
            b'-' => '+',
            b'_' => '/',
            other => char::from(other),
        });
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::config::RawConfig;
    use alloc::{borrow::ToOwned, vec, vec::Vec};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A JSON document as a table of dot paths and leaves.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Table(pub Vec<(&'static str, Leaf)>);

    impl Json for Table {
        fn at(&self, path: &[String]) -> Leaf {
            let path = path.join(".");
            self.0
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(Leaf::Absent, |(_, leaf)| leaf.clone())
        }
    }

    fn text(s: &str) -> Leaf {
        Leaf::Text(s.to_owned())
    }

    fn config() -> Config {
        Config::parse(RawConfig {
            base_url: Some("http://127.0.0.1:8080".into()),
            login_path: Some("/login".into()),
            ..RawConfig::default()
        })
        .unwrap()
    }

    fn grant_of(answer: Answer) -> Grant {
        match answer {
            Answer::Status {
                grant: Some(grant), ..
            } => grant,
            other => panic!("no grant: {other:?}"),
        }
    }

    #[test]
    fn bodies_are_read_up_to_the_cap() {
        assert!(reads_body(None));
        assert!(reads_body(Some("65536")));
        assert!(reads_body(Some(" 12 ")));
        for refused in ["65537", "16777216", "-1", "1e3", "abc", "1234567890123456"] {
            assert!(!reads_body(Some(refused)), "{refused:?}");
        }
        assert!(parses_body(MAX_BODY));
        assert!(!parses_body(MAX_BODY + 1));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = 1_700_000_000_000;
        assert_eq!(retry_after_ms("120", now, |_| None), Some(120_000));
        assert_eq!(retry_after_ms(" 0 ", now, |_| None), Some(0));
        let date = |_: &str| Some((now + 90_000) as f64);
        assert_eq!(
            retry_after_ms("Wed, 21 Oct 2026 07:28:00 GMT", now, date),
            Some(90_000)
        );
        let past = |_: &str| Some((now - 5_000) as f64);
        assert_eq!(
            retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", now, past),
            Some(0)
        );
        assert_eq!(retry_after_ms("soon", now, |_| Some(f64::NAN)), None);
        assert_eq!(retry_after_ms("-5", now, |_| None), None);
    }

    #[test]
    fn tokens_come_from_the_first_path_that_has_them() {
        let body = Table(vec![
            ("token", text("")),
            ("tokens.accessToken", text("nested")),
            ("refresh_token", text("r")),
            ("expires_in", text(" 3600 ")),
        ]);
        let grant = grant_of(Answer::read(&config(), 200, Some(&body), None, |_| None));
        assert_eq!(grant.access_token.expose(), "nested");
        assert_eq!(grant.refresh_token.unwrap().expose(), "r");
        assert_eq!(grant.expires_in_s, Some(3600.0));
        // Not a 2xx: no grant, whatever the body holds.
        let refused = Answer::read(&config(), 401, Some(&body), None, |_| None);
        assert!(matches!(refused, Answer::Status { grant: None, .. }));
    }

    #[test]
    fn numeric_strings_are_seconds_and_nothing_else_is() {
        assert_eq!(decimal_seconds("3600"), Some(3600.0));
        assert_eq!(decimal_seconds("0.5"), Some(0.5));
        assert_eq!(decimal_seconds(" 90 "), Some(90.0));
        for bad in ["", " ", "3600abc", "-1", "1e3", "+5", "1.", ".5", "٣"] {
            assert_eq!(decimal_seconds(bad), None, "{bad:?}");
        }
        let body = Table(vec![
            ("accessToken", text("a")),
            ("expiresIn", text("soon")),
            ("expires_in", Leaf::Number(60.0)),
        ]);
        let grant = grant_of(Answer::read(&config(), 200, Some(&body), None, |_| None));
        assert_eq!(
            grant.expires_in_s,
            Some(60.0),
            "a non-numeric string is skipped"
        );
    }

    #[test]
    fn the_jwt_times_are_the_payloads_numbers() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9-_.sig";
        let body = Table(vec![("accessToken", text(token))]);
        let mut seen = None;
        let grant = grant_of(Answer::read(&config(), 200, Some(&body), None, |b64| {
            seen = Some(b64.to_owned());
            Some(Table(vec![
                ("exp", Leaf::Number(20.0)),
                ("iat", text("10")),
            ]))
        }));
        assert_eq!(seen.as_deref(), Some("eyJleHAiOjF9+/=="));
        assert_eq!(grant.jwt.exp, Some(20.0));
        assert_eq!(grant.jwt.iat, None, "a string iat is not a time");
        // An opaque token is not decoded.
        let body = Table(vec![("accessToken", text("1|opaque"))]);
        let grant = grant_of(Answer::read(&config(), 200, Some(&body), None, |_| {
            panic!("decoded an opaque token")
        }));
        assert_eq!(grant.jwt, JwtTimes::default());
    }

    #[test]
    fn an_error_body_says_its_code_and_message() {
        let path = DotPath::parse("error.code").unwrap();
        let body = Table(vec![
            ("error.code", Leaf::Number(401.0)),
            ("message", text("Token expirado")),
        ]);
        let said = server_said(Some(&body), &path);
        assert_eq!(said.code.as_deref(), Some("401"));
        assert_eq!(said.message.as_deref(), Some("Token expirado"));
        let fractional = Table(vec![("error.code", Leaf::Number(4.5))]);
        assert_eq!(server_said(Some(&fractional), &path).code, None);
        assert_eq!(whole_number_text(-7.0).as_deref(), Some("-7"));
        assert_eq!(server_said(None::<&Table>, &path), ServerSaid::default());
    }
}
