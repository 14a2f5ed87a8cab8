//! Calls to the auth endpoints (login, refresh, logout) and reading JSON answers with the
//! configured dot paths. JSON is parsed by the browser (`JSON.parse`): no serde_json in the wasm.
use alloc::string::String;

use crate::core::config::DotPath;
use crate::core::expiry::jwt_payload;
use crate::core::{AccessToken, AuthError, Config, ErrorCode, Grant, JwtTimes, RefreshToken};
use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, Response};

use super::js::{decode_jwt_segment, get, global, set};

/// One call to an auth endpoint.
#[derive(Debug)]
pub(crate) struct EndpointCall<'a> {
    /// Absolute URL.
    pub url: &'a str,
    /// `"POST"` or `"GET"`.
    pub method: &'static str,
    /// A JSON body, sent with `Content-Type: application/json`.
    pub json_body: Option<&'a str>,
    /// `Authorization` header value (`"Bearer …"`), only for allowed origins.
    pub authorization: Option<&'a str>,
    /// `credentials: "include"`, for the HttpOnly refresh cookie.
    pub include_credentials: bool,
}

/// An endpoint's answer: the status and the body parsed as JSON (`None` if it is not JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub json: Option<JsValue>,
}

impl Answer {
    /// Whether the status is 2xx.
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends `call` with the captured `fetch`. Errors (`Err(())`) when `fetch` itself rejects:
/// offline, DNS, refused or dropped connection, CORS.
pub(crate) async fn send(fetch: &Function, call: EndpointCall<'_>) -> Result<Answer, ()> {
    let headers = Headers::new().map_err(drop)?;
    let _ = headers.set("Accept", "application/json");
    // A plain object for the `RequestInit`: properties set through `Reflect.set`, which the
    // edge imports anyway, instead of one typed setter import per field.
    let init: JsValue = js_sys::Object::new().into();
    set(&init, "method", &JsValue::from_str(call.method));
    if let Some(body) = call.json_body {
        let _ = headers.set("Content-Type", "application/json");
        set(&init, "body", &JsValue::from_str(body));
    }
    if let Some(authorization) = call.authorization {
        let _ = headers.set("Authorization", authorization);
    }
    set(&init, "headers", &headers);
    if call.include_credentials {
        set(&init, "credentials", &JsValue::from_str("include"));
    }
    let request = Request::new_with_str_and_init(call.url, init.unchecked_ref()).map_err(drop)?;
    let response = send_request(fetch, &request).await.map_err(drop)?;
    Ok(Answer {
        status: response.status(),
        json: read_json(&response).await,
    })
}

/// `fetch(request)` with the captured `fetch`.
pub(crate) async fn send_request(fetch: &Function, request: &Request) -> Result<Response, JsValue> {
    let promise: Promise = fetch.call1(&global(), request)?.dyn_into()?;
    JsFuture::from(promise).await?.dyn_into()
}

/// The body parsed as JSON, or `None` (empty, not JSON, unreadable).
pub(crate) async fn read_json(response: &Response) -> Option<JsValue> {
    let text = JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()?;
    js_sys::JSON::parse(&text).ok()
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
pub(crate) fn server_error(
    config: &Config,
    json: Option<&JsValue>,
) -> (Option<String>, Option<String>) {
    let Some(json) = json else {
        return (None, None);
    };
    let code = at_path(json, &config.error_code_path);
    let code = code.as_string().or_else(|| {
        // A numeric code, as String(n) writes it: no float formatting in the wasm.
        let n = js_sys::Number::from(code.as_f64()?);
        n.to_string_with_radix(10).ok().map(String::from)
    });
    (code, get(json, "message").as_string())
}

/// An [`AuthError`] of `code` carrying `status` and what the server said in `json`.
pub(crate) fn error_from(
    config: &Config,
    code: ErrorCode,
    status: u16,
    json: Option<&JsValue>,
) -> AuthError {
    let (server_code, server_message) = server_error(config, json);
    AuthError::new(code).with_server(Some(status), server_code, server_message)
}
