//! JavaScript globals, bound once (gloo's habit), so the edge runs in a Window and in a Worker.

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// `atob`: base64 to a binary string (used for JWT payloads only).
    #[wasm_bindgen(catch, js_name = "atob")]
    fn atob(data: &str) -> Result<String, JsValue>;
}

/// Milliseconds since the Unix epoch on the page's clock (`Date.now()`).
pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A uniform random number in `[0, 1)`, for backoff jitter.
pub(crate) fn random() -> f64 {
    js_sys::Math::random()
}

/// The global object (`window` or `self`).
pub(crate) fn global() -> JsValue {
    js_sys::global().into()
}

/// The page's `fetch`, captured once when a client is made, so that an app that later replaces
/// `window.fetch` with `auth.fetcher()` does not send authfetch into a loop.
pub(crate) fn captured_fetch() -> Option<Function> {
    Reflect::get(&global(), &JsValue::from_str("fetch"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
}

/// `new Request(input, init)`: resolves the URL and normalizes the body exactly like `fetch`
/// does, and throws fetch's own `TypeError` for input it refuses.
pub(crate) fn new_request(input: &JsValue, init: &JsValue) -> Result<web_sys::Request, JsValue> {
    let class: Function = get(&global(), "Request").dyn_into()?;
    Reflect::construct(&class, &js_sys::Array::of2(input, init))?.dyn_into()
}

/// The absolute URL `fetch(input)` would request, resolved against the document's base URL
/// (a Worker's location) — without constructing a `Request`, which would consume a `Request`
/// input's body. `None` when `fetch` itself would refuse the input.
pub(crate) fn request_url(input: &JsValue) -> Option<String> {
    if let Some(request) = input.dyn_ref::<web_sys::Request>() {
        return Some(request.url());
    }
    let text = match input.as_string() {
        Some(text) => text,
        // A URL object or anything else with a useful toString(), as fetch accepts.
        None => input.dyn_ref::<js_sys::Object>()?.to_string().as_string()?,
    };
    let global = global();
    let base = get(&get(&global, "document"), "baseURI")
        .as_string()
        .or_else(|| get(&get(&global, "location"), "href").as_string())?;
    web_sys::Url::new_with_base(&text, &base)
        .ok()
        .map(|url| url.href())
}

/// Whether `value` is a `ReadableStream` (a body that can be read only once).
pub(crate) fn is_readable_stream(value: &JsValue) -> bool {
    value.is_instance_of::<web_sys::ReadableStream>()
}

/// `object[key]`, or `undefined`.
pub(crate) fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key] = value`; setting a property on a plain object cannot fail.
pub(crate) fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// Decodes a base64url JWT segment (RFC 7515 §2) and parses it as JSON.
pub(crate) fn decode_jwt_segment(segment: &str) -> Option<JsValue> {
    let mut base64: String = segment
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while base64.len() % 4 != 0 {
        base64.push('=');
    }
    let binary = atob(&base64).ok()?;
    js_sys::JSON::parse(&binary).ok().filter(|v| v.is_object())
}
