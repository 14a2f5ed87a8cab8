//! The `AuthClient` configuration: parsed once into types that cannot hold a bad value.
//!
//! [`RawConfig`] is the configuration as given, each key of its type; [`Config::parse`] checks
//! the values and how the keys fit together, and fills in the defaults of DESIGN's
//! configuration table. Every failure is an `invalid_config` [`AuthError`] naming the key.
//! [`keys`] reads the JavaScript object into a [`RawConfig`].
use alloc::{borrow::ToOwned, string::String, vec, vec::Vec};

use super::error::AuthError;
use super::origin::{Origin, OriginAllowlist};
use super::session::{ExpiredCodes, SessionPolicy};

pub mod keys;

pub use keys::{Environment, Key, Value};

/// A key where `null` means "off" (`loginUrl`, `idleTimeoutSeconds`): the default, off, or a
/// value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Setting<T> {
    /// Not given: the default.
    #[default]
    Default,
    /// `null`: off (no redirect; no idle timeout).
    Off,
    /// This value.
    To(T),
}

/// The configuration as given, each key already of its type (the JavaScript edge's
/// [`keys::read`] checked the types). `None` means "not given": the default applies.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase", deny_unknown_fields, default)
)]
pub struct RawConfig {
    /// `baseUrl`, an absolute URL; the JavaScript edge resolves it against the page and
    /// defaults it to the page's origin. Required.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub base_url: Option<String>,
    /// `loginPath` (required).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub login_path: Option<String>,
    /// `refreshPath`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub refresh_path: Option<String>,
    /// `refreshMethod`: `"POST"` or `"GET"`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub refresh_method: Option<String>,
    /// `refreshCredential`: `"body"`, `"bearer"`, `"cookie"` or `"relogin"`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub refresh_credential: Option<String>,
    /// `refreshBodyField`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub refresh_body_field: Option<String>,
    /// `logoutPath`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub logout_path: Option<String>,
    /// `accessTokenPath`: dot paths tried in order (one string is a list of one).
    #[cfg_attr(
        feature = "serde",
        serde(
            skip_serializing_if = "Option::is_none",
            deserialize_with = "one_or_many::deserialize"
        )
    )]
    pub access_token_path: Option<Vec<String>>,
    /// `refreshTokenPath`.
    #[cfg_attr(
        feature = "serde",
        serde(
            skip_serializing_if = "Option::is_none",
            deserialize_with = "one_or_many::deserialize"
        )
    )]
    pub refresh_token_path: Option<Vec<String>>,
    /// `expiresInPath`.
    #[cfg_attr(
        feature = "serde",
        serde(
            skip_serializing_if = "Option::is_none",
            deserialize_with = "one_or_many::deserialize"
        )
    )]
    pub expires_in_path: Option<Vec<String>>,
    /// `errorCodePath`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub error_code_path: Option<String>,
    /// `expiredErrorCodes`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub expired_error_codes: Option<Vec<String>>,
    /// `refreshLeadSeconds`, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub refresh_lead_seconds: Option<f64>,
    /// `maxRetries`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub max_retries: Option<f64>,
    /// `allowedOrigins`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub allowed_origins: Option<Vec<String>>,
    /// `loginUrl`: `null` is "no redirect".
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Setting::is_default"))]
    pub login_url: Setting<String>,
    /// `idleTimeoutSeconds`, seconds: `null` is "off".
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Setting::is_default"))]
    pub idle_timeout_seconds: Setting<f64>,
    /// `crossTab`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub cross_tab: Option<bool>,
}

impl<T> Setting<T> {
    /// Whether it was not given.
    pub fn is_default(&self) -> bool {
        matches!(self, Setting::Default)
    }
}

/// How the refresh endpoint is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "UPPERCASE")
)]
pub enum RefreshMethod {
    /// `POST` (default).
    Post,
    /// `GET` (seed 000's `GET /auth/tokenRefresh`).
    Get,
}

/// What proves the right to a new access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum RefreshCredential {
    /// The refresh token as a JSON body field (`refreshBodyField`); seeds 002, 003, 004.
    Body,
    /// The current access token in `Authorization: Bearer`; seed 000.
    Bearer,
    /// An HttpOnly cookie the server set; `credentials: "include"`, no body; seed 004's advice.
    Cookie,
    /// Repeat the login with the credentials held in memory; seed 001 (no refresh endpoint).
    Relogin,
}

impl RefreshCredential {
    /// The configuration string.
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshCredential::Body => "body",
            RefreshCredential::Bearer => "bearer",
            RefreshCredential::Cookie => "cookie",
            RefreshCredential::Relogin => "relogin",
        }
    }
}

/// A dot path into a JSON answer, e.g. `tokens.accessToken` (seed 002) → `["tokens", "accessToken"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotPath(Vec<String>);

impl DotPath {
    /// Parses `a.b.c`; errors on an empty path or an empty segment.
    pub fn parse(text: &str) -> Result<DotPath, &'static str> {
        DotPath::check(text).map(|()| DotPath::split(text))
    }

    /// Whether `text` is a dot path: no empty segment (nor an empty path).
    fn check(text: &str) -> Result<(), &'static str> {
        let bytes = text.as_bytes();
        let bad = bytes.first().is_none_or(|b| *b == b'.')
            || bytes.last() == Some(&b'.')
            || bytes.windows(2).any(|w| w == b"..");
        match bad {
            true => Err("paths are dot-separated field names, like \"tokens.accessToken\""),
            false => Ok(()),
        }
    }

    /// `text` cut at each `.` byte: it is ASCII, so every cut falls between UTF-8 characters
    /// (and the loop is smaller wasm than `str::split`).
    fn split(text: &str) -> DotPath {
        let mut segments = Vec::new();
        let mut start = 0;
        for end in 0..=text.len() {
            if end == text.len() || text.as_bytes().get(end) == Some(&b'.') {
                segments.push(text.get(start..end).unwrap_or_default().to_owned());
                start = end + 1;
            }
        }
        DotPath(segments)
    }

    /// The field names, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The path as written, `a.b.c`.
    pub fn to_text(&self) -> String {
        self.0.join(".")
    }
}

/// The parsed, valid configuration of one `AuthClient`.
///
/// With the `serde` feature it (de)serializes as its [`RawConfig`] (the same camelCase keys as
/// the JavaScript API, unknown keys refused), checked by [`Config::parse`] on the way in.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "RawConfig", into = "RawConfig")
)]
pub struct Config {
    /// Absolute base URL without a trailing `/`.
    pub base_url: String,
    /// Login endpoint path (or absolute URL).
    pub login_path: String,
    /// Refresh endpoint, if the API has one.
    pub refresh_path: Option<String>,
    /// How the refresh endpoint is called.
    pub refresh_method: RefreshMethod,
    /// What proves the right to a new access token.
    pub refresh_credential: RefreshCredential,
    /// The refresh token's field name in the refresh body.
    pub refresh_body_field: String,
    /// Optional server logout endpoint, POSTed with the bearer, best effort.
    pub logout_path: Option<String>,
    /// Where the access token may sit in login/refresh answers, tried in order.
    pub access_token_path: Vec<DotPath>,
    /// Where the refresh token may sit, tried in order.
    pub refresh_token_path: Vec<DotPath>,
    /// Where `expiresIn` (seconds) may sit, tried in order.
    pub expires_in_path: Vec<DotPath>,
    /// Where the server's error code sits in error bodies.
    pub error_code_path: DotPath,
    /// Which 401s mean "expired".
    pub expired_error_codes: ExpiredCodes,
    /// Refresh this long before expiry, ms (capped at half the lifetime by the core).
    pub refresh_lead_ms: u64,
    /// Retries of one request after a renewal.
    pub max_retries: u32,
    /// The only origins that ever receive the bearer.
    pub allowed_origins: OriginAllowlist,
    /// Where the page goes when the session ends; `None`: no redirect.
    pub login_url: Option<String>,
    /// Proactive refresh stops after this long without an authenticated call, ms.
    pub idle_timeout_ms: Option<u64>,
    /// Share the session among tabs.
    pub cross_tab: bool,
}

const MAX_RETRIES_LIMIT: f64 = 5.0;
const MAX_SECONDS: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

impl Config {
    /// Checks a [`RawConfig`] and fills in the defaults of DESIGN.md.
    ///
    /// Errors: `invalid_config` naming the key — `loginPath` missing or empty; an unknown
    /// `refreshMethod` or `refreshCredential`; `refreshCredential` `bearer`/`cookie` without a
    /// `refreshPath`; an empty or malformed dot path; a negative or non-finite number; a
    /// `maxRetries` that is not an integer from 0 to 5; an `allowedOrigins` entry that is not an
    /// origin, or an empty list.
    pub fn parse(raw: RawConfig) -> Result<Config, AuthError> {
        let base_url = raw.base_url.clone();
        let values = raw.into_values();
        match base_url {
            Some(base_url) => Config::from_values(&values, &base_url),
            None => Err(AuthError::invalid_config("baseUrl", "is required")),
        }
    }

    /// [`Config::parse`] of the values [`keys::read`] read, each of a type its key takes, with
    /// `base_url` already absolute. The values are only looked at: the configuration owns
    /// copies of what it keeps, and a refusal drops nothing of them (see BENCHMARKS.md, size).
    pub(crate) fn from_values(values: &keys::Values, base_url: &str) -> Result<Config, AuthError> {
        Config::check(values, base_url).map_err(|(key, why)| AuthError::invalid_config(key, why))
    }

    /// [`Config::from_values`], its refusal as the key and the reason, in the order of
    /// [`Key::ALL`] (the endpoints' origins, which depend on `allowedOrigins`, last): the
    /// `AuthError` is built in one place, which keeps each early return small.
    fn check(values: &keys::Values, base: &str) -> Result<Config, Refusal> {
        let at = |key: Key| &values[key as usize];
        let login_path = non_empty(at(Key::LoginPath).text(), "loginPath")?
            .ok_or(("loginPath", "is required"))?;
        let refresh_path = non_empty(at(Key::RefreshPath).text(), "refreshPath")?;
        let refresh_method = match at(Key::RefreshMethod).text() {
            None => RefreshMethod::Post,
            Some(m) if m.eq_ignore_ascii_case("POST") => RefreshMethod::Post,
            Some(m) if m.eq_ignore_ascii_case("GET") => RefreshMethod::Get,
            Some(_) => return Err(("refreshMethod", "must be \"POST\" or \"GET\"")),
        };
        let refresh_credential = match at(Key::RefreshCredential).text() {
            None | Some("body") => RefreshCredential::Body,
            Some("bearer") => RefreshCredential::Bearer,
            Some("cookie") => RefreshCredential::Cookie,
            Some("relogin") => RefreshCredential::Relogin,
            Some(_) => {
                return Err((
                    "refreshCredential",
                    "must be \"body\", \"bearer\", \"cookie\" or \"relogin\"",
                ))
            }
        };
        let needs_path = matches!(
            refresh_credential,
            RefreshCredential::Bearer | RefreshCredential::Cookie
        );
        if refresh_path.is_none() && needs_path {
            return Err((
                "refreshPath",
                "is required when refreshCredential is \"bearer\" or \"cookie\"",
            ));
        }
        let refresh_body_field = non_empty(at(Key::RefreshBodyField).text(), "refreshBodyField")?
            .unwrap_or("refreshToken");
        let logout_path = non_empty(at(Key::LogoutPath).text(), "logoutPath")?;
        const ACCESS: &[&str] = &["accessToken", "access_token", "token", "tokens.accessToken"];
        const REFRESH: &[&str] = &["refreshToken", "refresh_token", "tokens.refreshToken"];
        const EXPIRES_IN: &[&str] = &["expiresIn", "expires_in"];
        let error_code_path = at(Key::ErrorCodePath).text().unwrap_or("errorCode");
        // The dot paths are checked before any is kept, so that no refusal drops a list.
        check_paths(at(Key::AccessTokenPath).list(), "accessTokenPath")?;
        check_paths(at(Key::RefreshTokenPath).list(), "refreshTokenPath")?;
        check_paths(at(Key::ExpiresInPath).list(), "expiresInPath")?;
        DotPath::check(error_code_path).map_err(|why| ("errorCodePath", why))?;
        let refresh_lead_ms =
            seconds_ms(at(Key::RefreshLeadSeconds).number(), "refreshLeadSeconds")?
                .unwrap_or(60_000);
        let max_retries = match at(Key::MaxRetries).number() {
            None => 1,
            // A whole number: the round trip through u32 is exact (no `f64::fract` in core).
            Some(n) if n as u32 as f64 == n && (0.0..=MAX_RETRIES_LIMIT).contains(&n) => n as u32,
            Some(_) => return Err(("maxRetries", "must be an integer from 0 to 5")),
        };
        let login_url = match at(Key::LoginUrl) {
            Value::Null => None,
            value => Some(non_empty(value.text(), "loginUrl")?.unwrap_or("/login")),
        };
        let idle_timeout_ms = match at(Key::IdleTimeoutSeconds).number() {
            Some(s) if s > 0.0 => seconds_ms(Some(s), "idleTimeoutSeconds")?,
            Some(_) => {
                return Err((
                    "idleTimeoutSeconds",
                    "must be a positive number of seconds or null",
                ))
            }
            None => None,
        };
        let allowed_origins = match at(Key::AllowedOrigins).list() {
            Some(list) => {
                // Plain loops rather than `collect::<Result<…>>` here and in `paths`: the
                // adapter costs more wasm than the loop (see BENCHMARKS.md, size).
                let mut origins = Vec::new();
                for text in list {
                    origins.push(Origin::parse(text).map_err(|why| ("allowedOrigins", why))?);
                }
                OriginAllowlist::new(origins).map_err(|why| ("allowedOrigins", why))?
            }
            None => OriginAllowlist::of(
                Origin::of_url(base).map_err(|_| ("baseUrl", "must be an http or https URL"))?,
            ),
        };
        let config = Config {
            base_url: without_trailing_slashes(base).to_owned(),
            login_path: login_path.to_owned(),
            refresh_path: refresh_path.map(str::to_owned),
            refresh_method,
            refresh_credential,
            refresh_body_field: refresh_body_field.to_owned(),
            logout_path: logout_path.map(str::to_owned),
            access_token_path: paths(at(Key::AccessTokenPath).list(), ACCESS),
            refresh_token_path: paths(at(Key::RefreshTokenPath).list(), REFRESH),
            expires_in_path: paths(at(Key::ExpiresInPath).list(), EXPIRES_IN),
            error_code_path: DotPath::split(error_code_path),
            expired_error_codes: match at(Key::ExpiredErrorCodes).list() {
                None => ExpiredCodes::Codes(vec!["AUTH_006".into()]),
                Some([]) => ExpiredCodes::Any,
                Some(codes) => ExpiredCodes::Codes(codes.to_vec()),
            },
            refresh_lead_ms,
            max_retries,
            allowed_origins,
            login_url: login_url.map(str::to_owned),
            idle_timeout_ms,
            cross_tab: at(Key::CrossTab).flag().unwrap_or(true),
        };
        // The credentials, the refresh token and the bearer go to these endpoints: each must be
        // on an allowed origin. An absolute endpoint elsewhere, or one the origin parser cannot
        // read exactly (user info such as `http://api@evil.example/login`), is refused.
        let endpoints = [
            ("loginPath", Some(&config.login_path)),
            ("refreshPath", config.refresh_path.as_ref()),
            ("logoutPath", config.logout_path.as_ref()),
        ];
        for (key, path) in endpoints {
            let Some(path) = path else { continue };
            if !config.allows_endpoint(&config.endpoint(path)) {
                return Err((
                    key,
                    "must resolve to an allowed origin (see allowedOrigins)",
                ));
            }
        }
        Ok(config)
    }

    /// Whether the absolute `url` is on an allowed origin (as the origin parser reads it).
    pub(crate) fn allows_endpoint(&self, url: &str) -> bool {
        Origin::of_url(url).is_ok_and(|o| self.allowed_origins.allows(o.as_str()))
    }

    /// The absolute URL of an endpoint: an absolute `http(s)://` path is used as is; otherwise
    /// it is appended to `baseUrl` (as axios' `baseURL` does, so `https://x/api` + `/v1/login`
    /// is `https://x/api/v1/login`).
    pub fn endpoint(&self, path: &str) -> String {
        if path.starts_with("https://") || path.starts_with("http://") {
            return path.to_owned();
        }
        let mut url = String::with_capacity(self.base_url.len() + path.len() + 1);
        url.push_str(&self.base_url);
        // A `&str` pattern, not a `char`: no `char::encode_utf8` in the wasm.
        if !path.starts_with("/") {
            url.push('/');
        }
        url.push_str(path);
        url
    }

    /// Whether the session can be renewed at all (a refresh endpoint, or relogin).
    pub fn can_renew(&self) -> bool {
        self.refresh_path.is_some() || self.refresh_credential == RefreshCredential::Relogin
    }

    /// The parts of the configuration the session state machine decides with.
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            refresh_lead_ms: self.refresh_lead_ms,
            max_retries: self.max_retries,
            can_renew: self.can_renew(),
            keeps_credentials: self.refresh_credential == RefreshCredential::Relogin,
            expired_error_codes: self.expired_error_codes.clone(),
            idle_timeout_ms: self.idle_timeout_ms,
        }
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = AuthError;

    /// [`Config::parse`].
    fn try_from(raw: RawConfig) -> Result<Config, AuthError> {
        Config::parse(raw)
    }
}

impl From<Config> for RawConfig {
    /// The configuration as it would be given to get this one back: every key explicit.
    fn from(config: Config) -> RawConfig {
        let paths = |paths: Vec<DotPath>| Some(paths.iter().map(DotPath::to_text).collect());
        let method = match config.refresh_method {
            RefreshMethod::Post => "POST",
            RefreshMethod::Get => "GET",
        };
        RawConfig {
            base_url: Some(config.base_url),
            login_path: Some(config.login_path),
            refresh_path: config.refresh_path,
            refresh_method: Some(method.into()),
            refresh_credential: Some(config.refresh_credential.as_str().into()),
            refresh_body_field: Some(config.refresh_body_field),
            logout_path: config.logout_path,
            access_token_path: paths(config.access_token_path),
            refresh_token_path: paths(config.refresh_token_path),
            expires_in_path: paths(config.expires_in_path),
            error_code_path: Some(config.error_code_path.to_text()),
            expired_error_codes: Some(match config.expired_error_codes {
                ExpiredCodes::Any => Vec::new(),
                ExpiredCodes::Codes(codes) => codes,
            }),
            refresh_lead_seconds: Some(config.refresh_lead_ms as f64 / 1000.0),
            max_retries: Some(f64::from(config.max_retries)),
            allowed_origins: Some(
                config
                    .allowed_origins
                    .origins()
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect(),
            ),
            login_url: config.login_url.map_or(Setting::Off, Setting::To),
            idle_timeout_seconds: config
                .idle_timeout_ms
                .map_or(Setting::Off, |ms| Setting::To(ms as f64 / 1000.0)),
            cross_tab: Some(config.cross_tab),
        }
    }
}

/// `url` without the `/`s it ends with (a byte loop: smaller wasm than `trim_end_matches`).
fn without_trailing_slashes(url: &str) -> &str {
    let mut end = url.len();
    while end > 0 && url.as_bytes()[end - 1] == b'/' {
        end -= 1;
    }
    url.get(..end).unwrap_or(url)
}

/// Why a configuration was refused: the key at fault and the reason.
type Refusal = (&'static str, &'static str);

fn non_empty<'a>(value: Option<&'a str>, key: &'static str) -> Result<Option<&'a str>, Refusal> {
    match value {
        Some(v) if v.trim_ascii().is_empty() => Err((key, "must not be empty")),
        other => Ok(other),
    }
}

/// Checks a dot-path key's list (a string alone is a list of one): at least one path, each
/// well-formed.
fn check_paths(list: Option<&[String]>, key: &'static str) -> Result<(), Refusal> {
    match list {
        None => Ok(()),
        Some([]) => Err((key, "must name at least one path")),
        Some(list) => {
            for text in list {
                DotPath::check(text).map_err(|why| (key, why))?;
            }
            Ok(())
        }
    }
}

/// A dot-path key's paths, checked by [`check_paths`]: the list given, or `default`.
fn paths(list: Option<&[String]>, default: &[&str]) -> Vec<DotPath> {
    let mut paths = Vec::new();
    match list {
        Some(list) => {
            for text in list {
                paths.push(DotPath::split(text));
            }
        }
        None => {
            for text in default {
                paths.push(DotPath::split(text));
            }
        }
    }
    paths
}

fn seconds_ms(value: Option<f64>, key: &'static str) -> Result<Option<u64>, Refusal> {
    match value {
        None => Ok(None),
        Some(s) if s.is_finite() && (0.0..=MAX_SECONDS).contains(&s) => {
            Ok(Some((s * 1000.0) as u64))
        }
        Some(_) => Err((key, "must be a number of seconds from 0 to 10 years")),
    }
}

/// `null` is [`Setting::Off`]; a value is [`Setting::To`] (a missing key is
/// [`Setting::Default`], by the struct's `#[serde(default)]`).
#[cfg(feature = "serde")]
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Setting<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Setting::Off, Setting::To))
    }
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for Setting<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Setting::To(value) => s.serialize_some(value),
            Setting::Default | Setting::Off => s.serialize_none(),
        }
    }
}

/// A dot-path key: one string, or a list of them (as the JavaScript API takes it).
#[cfg(feature = "serde")]
mod one_or_many {
    use alloc::{string::String, vec, vec::Vec};

    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<String>>, D::Error> {
        let value: Option<OneOrMany> = serde::Deserialize::deserialize(d)?;
        Ok(value.map(|v| match v {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn raw() -> RawConfig {
        RawConfig {
            base_url: Some("http://127.0.0.1:8080".into()),
            login_path: Some("/v1/auth/login".into()),
            refresh_path: Some("/v1/auth/refresh-token".into()),
            ..RawConfig::default()
        }
    }

    fn key_of(raw: RawConfig) -> Option<String> {
        Config::parse(raw).err().and_then(|e| e.key)
    }

    #[test]
    fn dot_paths_split_at_each_dot() {
        let segments = |text: &str| DotPath::parse(text).map(|p| p.segments().to_vec());
        assert_eq!(segments("token"), Ok(vec!["token".to_owned()]));
        assert_eq!(
            segments("tokens.accessToken"),
            Ok(vec!["tokens".to_owned(), "accessToken".to_owned()])
        );
        // Cut at bytes: a non-ASCII field name stays whole.
        assert_eq!(
            segments("données.jeton"),
            Ok(vec!["données".to_owned(), "jeton".to_owned()])
        );
        for bad in ["", ".", "a.", ".a", "a..b"] {
            assert!(segments(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn endpoints_must_resolve_to_an_allowed_origin() {
        let with = |key: &str, value: &str| {
            let mut raw = raw();
            let value = Some(String::from(value));
            match key {
                "loginPath" => raw.login_path = value,
                "refreshPath" => raw.refresh_path = value,
                _ => raw.logout_path = value,
            }
            key_of(raw)
        };
        for key in ["loginPath", "refreshPath", "logoutPath"] {
            assert_eq!(with(key, "https://evil.example/x").as_deref(), Some(key));
            let userinfo = "http://127.0.0.1:8080@evil.example/login";
            assert_eq!(with(key, userinfo).as_deref(), Some(key));
            // A relative path stays a path on baseUrl, whatever it starts with.
            assert_eq!(with(key, "@evil.example/login"), None);
            assert_eq!(with(key, "http://127.0.0.1:8080/x"), None);
            assert_eq!(with(key, "/v1/x"), None);
        }
        // An auth server on another origin is fine once it is allowed.
        let mut raw = raw();
        raw.login_path = Some("https://auth.example/login".into());
        raw.allowed_origins = Some(vec![
            "http://127.0.0.1:8080".into(),
            "https://auth.example".into(),
        ]);
        assert_eq!(key_of(raw), None);
    }

    #[test]
    fn defaults_are_the_design_ones() {
        let c = Config::parse(raw()).unwrap();
        assert_eq!(c.refresh_method, RefreshMethod::Post);
        assert_eq!(c.refresh_credential, RefreshCredential::Body);
        assert_eq!(c.refresh_body_field, "refreshToken");
        assert_eq!(c.access_token_path.len(), 4);
        assert_eq!(c.access_token_path[3].segments(), ["tokens", "accessToken"]);
        assert_eq!(c.refresh_token_path.len(), 3);
        assert_eq!(c.expires_in_path.len(), 2);
        assert_eq!(c.error_code_path.segments(), ["errorCode"]);
        assert_eq!(
            c.expired_error_codes,
            ExpiredCodes::Codes(vec!["AUTH_006".into()])
        );
        assert_eq!(c.refresh_lead_ms, 60_000);
        assert_eq!(c.max_retries, 1);
        assert!(c.allowed_origins.allows("http://127.0.0.1:8080"));
        assert!(!c.allowed_origins.allows("http://127.0.0.1:8081"));
        assert_eq!(c.login_url.as_deref(), Some("/login"));
        assert_eq!(c.idle_timeout_ms, None);
        assert!(c.cross_tab);
        assert!(c.can_renew());
    }

    #[test]
    fn login_path_is_required() {
        assert_eq!(
            key_of(RawConfig {
                login_path: None,
                ..raw()
            })
            .as_deref(),
            Some("loginPath")
        );
        assert_eq!(
            key_of(RawConfig {
                login_path: Some(" ".into()),
                ..raw()
            })
            .as_deref(),
            Some("loginPath")
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: Vec<(RawConfig, &str)> = vec![
            (
                RawConfig {
                    refresh_method: Some("PUT".into()),
                    ..raw()
                },
                "refreshMethod",
            ),
            (
                RawConfig {
                    refresh_credential: Some("header".into()),
                    ..raw()
                },
                "refreshCredential",
            ),
            (
                RawConfig {
                    refresh_credential: Some("cookie".into()),
                    refresh_path: None,
                    ..raw()
                },
                "refreshPath",
            ),
            (
                RawConfig {
                    access_token_path: Some(vec![]),
                    ..raw()
                },
                "accessTokenPath",
            ),
            (
                RawConfig {
                    refresh_token_path: Some(vec!["a..b".into()]),
                    ..raw()
                },
                "refreshTokenPath",
            ),
            (
                RawConfig {
                    expires_in_path: Some(vec!["".into()]),
                    ..raw()
                },
                "expiresInPath",
            ),
            (
                RawConfig {
                    error_code_path: Some(".x".into()),
                    ..raw()
                },
                "errorCodePath",
            ),
            (
                RawConfig {
                    refresh_lead_seconds: Some(-1.0),
                    ..raw()
                },
                "refreshLeadSeconds",
            ),
            (
                RawConfig {
                    refresh_lead_seconds: Some(f64::NAN),
                    ..raw()
                },
                "refreshLeadSeconds",
            ),
            (
                RawConfig {
                    max_retries: Some(1.5),
                    ..raw()
                },
                "maxRetries",
            ),
            (
                RawConfig {
                    max_retries: Some(9.0),
                    ..raw()
                },
                "maxRetries",
            ),
            (
                RawConfig {
                    allowed_origins: Some(vec![]),
                    ..raw()
                },
                "allowedOrigins",
            ),
            (
                RawConfig {
                    allowed_origins: Some(vec!["https://a.com/api".into()]),
                    ..raw()
                },
                "allowedOrigins",
            ),
            (
                RawConfig {
                    login_url: Setting::To("".into()),
                    ..raw()
                },
                "loginUrl",
            ),
            (
                RawConfig {
                    idle_timeout_seconds: Setting::To(0.0),
                    ..raw()
                },
                "idleTimeoutSeconds",
            ),
            (
                RawConfig {
                    base_url: Some("file:///tmp".into()),
                    ..raw()
                },
                "baseUrl",
            ),
        ];
        for (raw, key) in cases {
            assert_eq!(key_of(raw).as_deref(), Some(key));
        }
    }

    #[test]
    fn seed_dialects_parse() {
        // Seed 000: GET refresh with the bearer, renew only while in use.
        let c = Config::parse(RawConfig {
            login_path: Some("/auth/login".into()),
            refresh_path: Some("/auth/tokenRefresh".into()),
            refresh_method: Some("get".into()),
            refresh_credential: Some("bearer".into()),
            idle_timeout_seconds: Setting::To(1800.0),
            ..raw()
        })
        .unwrap();
        assert_eq!(c.refresh_method, RefreshMethod::Get);
        assert_eq!(c.refresh_credential, RefreshCredential::Bearer);
        assert_eq!(c.idle_timeout_ms, Some(1_800_000));
        // Seed 001: no refresh endpoint, relogin, every 401 means expired.
        let c = Config::parse(RawConfig {
            refresh_path: None,
            refresh_credential: Some("relogin".into()),
            expired_error_codes: Some(vec![]),
            ..raw()
        })
        .unwrap();
        assert!(c.can_renew());
        assert!(c.session_policy().keeps_credentials);
        assert!(c.expired_error_codes.matches(None));
        // No refresh endpoint and no relogin: the session cannot be renewed.
        let c = Config::parse(RawConfig {
            refresh_path: None,
            ..raw()
        })
        .unwrap();
        assert!(!c.can_renew());
        // loginUrl null: no redirect.
        let c = Config::parse(RawConfig {
            login_url: Setting::Off,
            ..raw()
        })
        .unwrap();
        assert_eq!(c.login_url, None);
    }

    #[test]
    fn allowed_origins_replace_the_default() {
        let c = Config::parse(RawConfig {
            base_url: Some("https://api.example.com".into()),
            allowed_origins: Some(vec![
                "https://api.example.com".into(),
                "https://files.example.com:8443".into(),
            ]),
            ..raw()
        })
        .unwrap();
        assert!(c.allowed_origins.allows("https://api.example.com"));
        assert!(c.allowed_origins.allows("https://files.example.com:8443"));
        assert!(!c.allowed_origins.allows("http://127.0.0.1:8080"));
    }

    #[test]
    fn endpoints_append_to_the_base() {
        let c = Config::parse(RawConfig {
            base_url: Some("https://x.gov.br/api/".into()),
            ..raw()
        })
        .unwrap();
        assert_eq!(
            c.endpoint("/v1/auth/login"),
            "https://x.gov.br/api/v1/auth/login"
        );
        assert_eq!(c.endpoint("auth"), "https://x.gov.br/api/auth");
        assert_eq!(
            c.endpoint("https://auth.x.gov.br/token"),
            "https://auth.x.gov.br/token"
        );
    }
}

/// The configuration from JSON, as a Rust app would load it (the `serde` feature).
#[cfg(all(test, feature = "serde", not(target_arch = "wasm32")))]
mod serde_tests {
    use super::*;

    fn from_json(json: &str) -> Result<Config, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_javascript_keys_load_and_come_back() {
        let config = from_json(
            r#"{"baseUrl": "https://api.example.com", "loginPath": "/auth/login",
                "refreshPath": "/auth/refresh", "refreshMethod": "GET",
                "accessTokenPath": "data.jwt", "expiredErrorCodes": [],
                "loginUrl": null, "idleTimeoutSeconds": 1800, "crossTab": false}"#,
        )
        .unwrap();
        assert_eq!(config.refresh_method, RefreshMethod::Get);
        assert_eq!(config.access_token_path[0].segments(), ["data", "jwt"]);
        assert_eq!(config.expired_error_codes, ExpiredCodes::Any);
        assert_eq!(config.login_url, None, "null is off");
        assert_eq!(config.idle_timeout_ms, Some(1_800_000));
        assert!(!config.cross_tab);
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(from_json(&json).unwrap(), config);
        // A missing loginUrl is the default one.
        let config = from_json(r#"{"baseUrl": "https://a.example", "loginPath": "/l"}"#).unwrap();
        assert_eq!(config.login_url.as_deref(), Some("/login"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_naming_them() {
        let typo = from_json(
            r#"{"baseUrl": "https://a.example", "loginPath": "/l", "refreshpath": "/r"}"#,
        );
        assert!(typo.unwrap_err().contains("refreshpath"));
        let bad =
            from_json(r#"{"baseUrl": "https://a.example", "loginPath": "/l", "maxRetries": 9}"#);
        assert!(bad
            .unwrap_err()
            .contains("maxRetries: must be an integer from 0 to 5"));
        let missing = from_json(r#"{"loginPath": "/l"}"#);
        assert!(missing.unwrap_err().contains("baseUrl: is required"));
    }

    #[test]
    fn each_raw_field_is_the_value_of_the_key_of_its_name() {
        // One key at a time, given a value of its own type by its JavaScript name: the values
        // the core checks hold it at that key's place, and nowhere else.
        for key in Key::ALL {
            let value = match key {
                Key::Fetch => continue,
                Key::AccessTokenPath
                | Key::RefreshTokenPath
                | Key::ExpiresInPath
                | Key::ExpiredErrorCodes
                | Key::AllowedOrigins => serde_json::json!(["x"]),
                Key::RefreshLeadSeconds | Key::MaxRetries | Key::IdleTimeoutSeconds => {
                    serde_json::json!(1)
                }
                Key::CrossTab => serde_json::json!(true),
                _ => serde_json::json!("x"),
            };
            let raw: RawConfig =
                serde_json::from_value(serde_json::json!({ key.name(): value })).unwrap();
            let values = raw.into_values();
            for other in Key::ALL {
                let given = values[other as usize] != Value::Undefined;
                assert_eq!(given, other == key, "{:?} set by {}", other, key.name());
            }
        }
    }

    #[test]
    fn errors_and_reasons_serialize_as_javascript_sees_them() {
        let error = AuthError::new(crate::core::ErrorCode::SessionExpired).with_server(
            Some(401),
            Some("AUTH_005".into()),
            None,
        );
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "session_expired");
        assert_eq!(json["serverCode"], "AUTH_005");
        let reason = serde_json::to_value(crate::core::EndReason::RefreshRejected).unwrap();
        assert_eq!(reason, "refresh_rejected");
    }
}
