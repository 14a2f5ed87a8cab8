//! [`AuthError`] as the JavaScript `Error` every rejection is.
use alloc::string::String;

use crate::core::AuthError;
use wasm_bindgen::JsValue;

use super::js::set;

/// An `Error` with `name === "AuthError"` and `code`, `status`, `serverCode`, `serverMessage`
/// (and `key` for `invalid_config`, `details` when given: the server's JSON error body for
/// `account_locked`). Absent fields are `undefined`. Holds no secret: [`AuthError`] cannot.
pub(crate) fn to_js(error: &AuthError, details: Option<&JsValue>) -> JsValue {
    let js: JsValue = js_sys::Error::new(&error.message).into();
    set(&js, "name", &JsValue::from_str("AuthError"));
    set(&js, "code", &JsValue::from_str(error.code.as_str()));
    let text = |s: &Option<String>| s.as_deref().map_or(JsValue::UNDEFINED, JsValue::from_str);
    set(
        &js,
        "status",
        &error.status.map_or(JsValue::UNDEFINED, JsValue::from),
    );
    set(&js, "serverCode", &text(&error.server_code));
    set(&js, "serverMessage", &text(&error.server_message));
    if let Some(key) = &error.key {
        set(&js, "key", &JsValue::from_str(key));
    }
    if let Some(details) = details {
        set(&js, "details", details);
    }
    js
}
