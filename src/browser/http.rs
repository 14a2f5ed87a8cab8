//! The auth endpoints' requests (login, refresh, logout) as the core describes them, and
//! their JSON answers read with the configured dot paths. JSON is parsed by the browser (`JSON.parse`): no serde_json in the wasm.
use alloc::string::String;

use crate::core::client::{self, Answer, Body, Client, ServerSaid};
use crate::core::config::DotPath;
use crate::core::expiry::jwt_payload;
use crate::core::{AccessToken, Config, Grant, JwtTimes, RefreshToken};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, Request};

use super::js::{decode_jwt_segment, get, set};

/// The `Request` for an auth endpoint call of the core: `Accept: application/json`, the JSON
/// body (`Content-Type: application/json`), the bearer, `credentials: "include"` for the
/// refresh cookie. `None` when the platform refuses to build it (a malformed URL).
pub(crate) fn request(config: &Config, call: &client::Request) -> Option<Request> {
    let headers = Headers::new().ok()?;
    let _ = headers.set("Accept", "application/json");
    // A plain object for the `RequestInit`: properties set through `Reflect.set`, which the
    // edge imports anyway, instead of one typed setter import per field.
    let init: JsValue = js_sys::Object::new().into();
    set(&init, "method", &JsValue::from_str(call.method));
    let body = match &call.body {
        Body::None => None,
        Body::Credentials(credentials) => Some(JsValue::from_str(credentials.expose())),
        Body::RefreshToken(token) => {
            let body: JsValue = js_sys::Object::new().into();
            set(
                &body,
                &config.refresh_body_field,
                &JsValue::from_str(token.expose()),
            );
            js_sys::JSON::stringify(&body).ok().map(JsValue::from)
        }
    };
    if let Some(body) = body {
        let _ = headers.set("Content-Type", "application/json");
        set(&init, "body", &body);
    }
    if let Some(token) = &call.bearer {
        let mut value = String::with_capacity(7 + token.expose().len());
        value.push_str("Bearer ");
        value.push_str(token.expose());
        let _ = headers.set("Authorization", &value);
    }
    set(&init, "headers", &headers);
    if call.include_credentials {
        set(&init, "credentials", &JsValue::from_str("include"));
    }
    Request::new_with_str_and_init(&call.url, init.unchecked_ref()).ok()
}

/// An endpoint's answer for the core: `status`, and the body `text` parsed as JSON — the tokens
/// at the configured paths (2xx), the error code and message. Also the parsed JSON (`details`
/// of `account_locked`).
pub(crate) fn answer(
    config: &Config,
    status: u16,
    retry_after_ms: Option<u64>,
    text: &JsValue,
) -> (Answer, Option<JsValue>) {
    let json = parse_capped(text);
    let grant = json
        .as_ref()
        .filter(|_| (200..300).contains(&status))
        .and_then(|json| read_grant(config, json));
    let mut server = said(config, json.as_ref());
    server.retry_after_ms = retry_after_ms;
    (
        Answer::Status {
            status,
            grant,
            server,
        },
        json,
    )
}

/// What a 401's body `text` said (its code at `errorCodePath`, its `message`).
pub(crate) fn server_said(core: &Client, text: &JsValue) -> ServerSaid {
    said(core.config(), parse_capped(text).as_ref())
}

/// The most of an answer's body authfetch reads, in bytes (UTF-16 code units once read): auth
/// answers and error bodies are small; a larger one is not read (DESIGN rule 12).
pub(crate) const MAX_BODY: u32 = 64 * 1024;

/// Whether `response` announces a body over [`MAX_BODY`] (`Content-Length`): then it is not
/// read at all. A body without a length is read, and refused after reading if too long.
pub(crate) fn too_long(response: &web_sys::Response) -> bool {
    let length = response.headers().get("Content-Length").ok().flatten();
    length.is_some_and(|text| decimal(&text).is_none_or(|n| n > u64::from(MAX_BODY)))
}

/// The text of a 401's body, read from a copy (the response itself may still go to the
/// caller); `None` when it is too long to read or cannot be copied.
pub(crate) fn unauthorized_body(response: &web_sys::Response) -> Option<js_sys::Promise> {
    if too_long(response) {
        return None;
    }
    web_sys::Response::clone(response).ok()?.text().ok()
}

/// `Retry-After` (RFC 9110 §10.2.3) as a delay in ms from now: delay-seconds, or an HTTP-date
/// read by the browser's `Date.parse`. `None` when absent or unreadable.
pub(crate) fn retry_after_ms(response: &web_sys::Response, now_ms: u64) -> Option<u64> {
    let text = response.headers().get("Retry-After").ok().flatten()?;
    if let Some(seconds) = decimal(&text) {
        return Some(seconds.saturating_mul(1000));
    }
    let at = js_sys::Date::parse(text.trim());
    // A date in the past is "now"; `NaN` (unreadable) is no answer.
    (at.is_finite()).then(|| (at as u64).saturating_sub(now_ms))
}

/// A whole decimal number (`1*DIGIT`, surrounding spaces allowed); `None` otherwise.
fn decimal(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || text.len() > 15 {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// `JSON.parse(text)` of a body read as a JS string, without copying it into wasm memory;
/// `None` for a body over [`MAX_BODY`], not JSON, or not read.
fn parse_capped(text: &JsValue) -> Option<JsValue> {
    let text = text.dyn_ref::<js_sys::JsString>()?;
    if text.length() > MAX_BODY {
        return None;
    }
    json_parse(text).ok()
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `JSON.parse` of a JS string.
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &js_sys::JsString) -> Result<JsValue, JsValue>;
}

/// `value` at a dot path, or `undefined`.
fn at_path(value: &JsValue, path: &DotPath) -> JsValue {
    path.segments()
        .iter()
        .try_fold(value.clone(), |v, key| v.is_object().then(|| get(&v, key)))
        .unwrap_or(JsValue::UNDEFINED)
}

/// The first non-empty string found at one of `paths`.
fn first_string(value: &JsValue, paths: &[DotPath]) -> Option<String> {
    paths
        .iter()
        .find_map(|p| at_path(value, p).as_string().filter(|s| !s.is_empty()))
}

/// The first number (or numeric string, as some servers send `"3600"`) at one of `paths`.
fn first_number(value: &JsValue, paths: &[DotPath]) -> Option<f64> {
    paths.iter().find_map(|p| {
        let v = at_path(value, p);
        v.as_f64().or_else(|| {
            // parseFloat("3600"), the browser's own parser: no float parsing in the wasm.
            let text = v.as_string().filter(|s| !s.trim().is_empty())?;
            Some(js_sys::parse_float(&text)).filter(|n| n.is_finite())
        })
    })
}

/// Reads a login/refresh answer into a [`Grant`] with `accessTokenPath`, `refreshTokenPath` and
/// `expiresInPath`, and the access token's JWT `exp`/`iat` when it is a JWT. `None` when no
/// access token is found (`malformed_response`).
pub(crate) fn read_grant(config: &Config, json: &JsValue) -> Option<Grant> {
    let access = first_string(json, &config.access_token_path)?;
    let jwt = jwt_payload(&access)
        .and_then(decode_jwt_segment)
        .map(|claims| JwtTimes {
            exp: get(&claims, "exp").as_f64(),
            iat: get(&claims, "iat").as_f64(),
        })
        .unwrap_or_default();
    Some(Grant {
        access_token: AccessToken::new(access),
        refresh_token: first_string(json, &config.refresh_token_path).map(RefreshToken::new),
        expires_in_s: first_number(json, &config.expires_in_path),
        jwt,
    })
}

/// The server's error code (at `errorCodePath`) and `message` in an error body.
fn said(config: &Config, json: Option<&JsValue>) -> ServerSaid {
    let Some(json) = json else {
        return ServerSaid::default();
    };
    let code = at_path(json, &config.error_code_path);
    let code = code.as_string().or_else(|| {
        // A numeric code, as String(n) writes it: no float formatting in the wasm.
        let n = js_sys::Number::from(code.as_f64()?);
        n.to_string_with_radix(10).ok().map(String::from)
    });
    ServerSaid {
        code,
        message: get(json, "message").as_string(),
        retry_after_ms: None,
    }
}
