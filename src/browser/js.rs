//! JavaScript globals, bound once (gloo's habit), so the edge runs in a Window and in a Worker.
use alloc::{borrow::ToOwned, string::String};

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

/// The origin `fetch(input)` would send to, resolved against the document's base URL (a
/// Worker's location) — without constructing a `Request`, which would consume a `Request`
/// input's body. A path like `"/v1/x"` is the page's own origin without parsing anything.
/// `None` when `fetch` itself would refuse the input.
pub(crate) fn request_origin(input: &JsValue, page_origin: &str) -> Option<String> {
    if let Some(request) = input.dyn_ref::<web_sys::Request>() {
        return web_sys::Url::new(&request.url())
            .ok()
            .map(|url| url.origin());
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
    // A plain path on a page whose base URL is on its own origin stays on that origin.
    // Anything the URL parser might reinterpret (`//host`, a backslash, a tab or newline it
    // strips) takes the full parse below.
    let plain_path = text.starts_with('/')
        && !text.starts_with("//")
        && !text.contains(['\\', '\t', '\n', '\r']);
    let base_on_page = !page_origin.is_empty()
        && base.starts_with(page_origin)
        && base.as_bytes().get(page_origin.len()) == Some(&b'/');
    if plain_path && base_on_page {
        return Some(page_origin.to_owned());
    }
    web_sys::Url::new_with_base(&text, &base)
        .ok()
        .map(|url| url.origin())
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn request_origin_resolves_like_fetch() {
        let page = get(&get(&global(), "location"), "origin")
            .as_string()
            .unwrap();
        let origin = |input: JsValue| request_origin(&input, &page);
        assert_eq!(
            origin("/v1/cidadao/me".into()).as_deref(),
            Some(page.as_str())
        );
        assert_eq!(
            origin("relative/path".into()).as_deref(),
            Some(page.as_str())
        );
        // What the URL parser reinterprets as another host must never count as the page.
        for sneaky in [
            "//evil.example/x",
            "/\\evil.example/x",
            "/\t/evil.example/x",
            "/\n/evil.example",
        ] {
            assert_eq!(
                origin(sneaky.into()).as_deref(),
                Some("http://evil.example"),
                "{sneaky:?}"
            );
        }
        assert_eq!(
            origin("https://api.example.com:8443/v1".into()).as_deref(),
            Some("https://api.example.com:8443")
        );
        let url = web_sys::Url::new("https://api.example.com/x").unwrap();
        assert_eq!(
            origin(url.into()).as_deref(),
            Some("https://api.example.com")
        );
        let request = web_sys::Request::new_with_str("https://files.example.com/a").unwrap();
        assert_eq!(
            origin(request.into()).as_deref(),
            Some("https://files.example.com")
        );
        assert_eq!(origin("http://[bad".into()), None);
    }
}
