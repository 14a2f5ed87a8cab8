//! Reads the constructor's JavaScript object into the core's [`RawConfig`], checking each key's
//! JS type (so the error names the key) and refusing unknown keys (so a typo is not ignored).
//!
//! `null` counts as "not given" except for `loginUrl` and `idleTimeoutSeconds`, where it means
//! "off". serde-wasm-bindgen is not used here: it would add kilobytes to the wasm and its
//! errors do not name the key.
use alloc::{string::String, vec, vec::Vec};

use crate::core::config::KEYS;
use crate::core::{AuthError, Config, RawConfig};
use js_sys::{Array, Function, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::js::{captured_fetch, get, global};

/// Parses the `new AuthClient(config)` argument.
///
/// Errors: `invalid_config` with `key` — the argument is not an object (`key: "config"`), a key
/// is unknown, a value has the wrong JS type, or the core refuses a value.
pub(crate) fn read(config: &JsValue) -> Result<Config, AuthError> {
    if !config.is_object() {
        return Err(AuthError::invalid_config("config", "must be an object"));
    }
    for key in Object::keys(config.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !KEYS.contains(&key.as_str()) {
            return Err(AuthError::invalid_config(
                &key,
                "is not a configuration key (check its spelling)",
            ));
        }
    }
    let mut raw = RawConfig::default();
    fill(config, &mut raw)?;
    Config::parse(raw)
}

/// Reads every key into `raw`, which the caller owns: an early return here drops nothing, so
/// `read` drops the partly filled value in one place (smaller wasm than a drop per key).
fn fill(config: &JsValue, raw: &mut RawConfig) -> Result<(), AuthError> {
    raw.base_url = base_url(config)?;
    raw.login_path = string(config, "loginPath")?;
    raw.refresh_path = string(config, "refreshPath")?;
    raw.refresh_method = string(config, "refreshMethod")?;
    raw.refresh_credential = string(config, "refreshCredential")?;
    raw.refresh_body_field = string(config, "refreshBodyField")?;
    raw.logout_path = string(config, "logoutPath")?;
    raw.access_token_path = strings(config, "accessTokenPath", true)?;
    raw.refresh_token_path = strings(config, "refreshTokenPath", true)?;
    raw.expires_in_path = strings(config, "expiresInPath", true)?;
    raw.error_code_path = string(config, "errorCodePath")?;
    raw.expired_error_codes = strings(config, "expiredErrorCodes", false)?;
    raw.refresh_lead_seconds = number(config, "refreshLeadSeconds")?;
    raw.max_retries = number(config, "maxRetries")?;
    raw.allowed_origins = strings(config, "allowedOrigins", true)?;
    raw.login_url = nullable(config, "loginUrl", string)?;
    raw.idle_timeout_seconds = nullable(config, "idleTimeoutSeconds", number)?;
    // Without a document (Node.js, workers) there are no tabs: each client keeps to itself
    // unless told otherwise.
    raw.cross_tab = boolean(config, "crossTab")?
        .or_else(|| get(&global(), "document").is_undefined().then_some(false));
    Ok(())
}

/// The `fetch` key: the function requests are sent with, called as `fetch(request)` with one
/// `Request`; default the global `fetch` as it is when the client is made.
///
/// Errors: `invalid_config` (`key: "fetch"`) for a value that is not a function, or (`key:
/// "config"`) when there is no global `fetch` to default to.
pub(crate) fn fetch(config: &JsValue) -> Result<Function, AuthError> {
    match given(config, "fetch") {
        Some(f) => f
            .dyn_into::<Function>()
            .map_err(|_| AuthError::invalid_config("fetch", "must be a function")),
        None => captured_fetch()
            .ok_or_else(|| AuthError::invalid_config("config", "this environment has no fetch")),
    }
}

/// `baseUrl` resolved against the page (`location.href`), default the page's origin. Where there
/// is no `location` (Node.js) it must be given, as an absolute URL.
fn base_url(config: &JsValue) -> Result<String, AuthError> {
    let location = get(&global(), "location");
    let here = get(&location, "href").as_string();
    let no_page = || {
        AuthError::invalid_config(
            "baseUrl",
            "must be an absolute URL where there is no page (Node.js)",
        )
    };
    match (string(config, "baseUrl")?, here) {
        (None, Some(_)) => Ok(get(&location, "origin").as_string().unwrap_or_default()),
        (None, None) => Err(no_page()),
        (Some(base), Some(here)) => web_sys::Url::new_with_base(&base, &here)
            .map(|u| u.href())
            .map_err(|_| AuthError::invalid_config("baseUrl", "must be a URL")),
        (Some(base), None) => web_sys::Url::new(&base)
            .map(|u| u.href())
            .map_err(|_| no_page()),
    }
}

fn given(config: &JsValue, key: &str) -> Option<JsValue> {
    Some(get(config, key)).filter(|v| !v.is_undefined() && !v.is_null())
}

/// `config[key]` as `read` takes it: `None` when not given, `invalid_config` saying `why` when
/// `read` refuses the value's JS type (the error is built only then).
fn typed<T>(
    config: &JsValue,
    key: &'static str,
    read: fn(&JsValue) -> Option<T>,
    why: &'static str,
) -> Result<Option<T>, AuthError> {
    match given(config, key) {
        None => Ok(None),
        Some(value) => read(&value)
            .map(Some)
            .ok_or_else(|| AuthError::invalid_config(key, why)),
    }
}

fn string(config: &JsValue, key: &'static str) -> Result<Option<String>, AuthError> {
    typed(config, key, JsValue::as_string, "must be a string")
}

fn number(config: &JsValue, key: &'static str) -> Result<Option<f64>, AuthError> {
    typed(config, key, JsValue::as_f64, "must be a number")
}

fn boolean(config: &JsValue, key: &'static str) -> Result<Option<bool>, AuthError> {
    typed(config, key, JsValue::as_bool, "must be true or false")
}

/// A list of strings; where `single_ok`, one string is a one-element list.
fn strings(
    config: &JsValue,
    key: &'static str,
    single_ok: bool,
) -> Result<Option<Vec<String>>, AuthError> {
    let Some(value) = given(config, key) else {
        return Ok(None);
    };
    if let (true, Some(one)) = (single_ok, value.as_string()) {
        return Ok(Some(vec![one]));
    }
    let wrong = || AuthError::invalid_config(key, "must be an array of strings");
    if !Array::is_array(&value) {
        return Err(wrong());
    }
    let mut list = Vec::new();
    for item in Array::from(&value).iter() {
        match item.as_string() {
            Some(text) => list.push(text),
            None => return Err(wrong()),
        }
    }
    Ok(Some(list))
}

/// A key where an explicit `null` means "off": `Some(None)`.
fn nullable<T>(
    config: &JsValue,
    key: &'static str,
    read: fn(&JsValue, &'static str) -> Result<Option<T>, AuthError>,
) -> Result<Option<Option<T>>, AuthError> {
    if get(config, key).is_null() {
        return Ok(Some(None));
    }
    Ok(read(config, key)?.map(Some))
}
