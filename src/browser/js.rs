//! JavaScript globals, bound once (gloo's habit), so the edge runs in a Window and in a Worker.
use alloc::{borrow::ToOwned, string::String};

use crate::core::OriginAllowlist;
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

/// Whether `fetch(input)` would go to an origin of `allowlist`, resolved against the document's
/// base URL (a Worker's location) — without constructing a `Request`, which would consume a
/// `Request` input's body. A string that starts with an allowed origin is decided without a URL
/// parser ([`OriginAllowlist::allows_url_prefix`]: the hot path of absolute API URLs), and a path
/// like `"/v1/x"` is the page's own origin without parsing anything. `false` when `fetch` itself
/// would refuse the input.
pub(crate) fn targets_allowed(
    input: &JsValue,
    page_origin: &str,
    allowlist: &OriginAllowlist,
) -> bool {
    let origin = match input_text(input) {
        Some(InputText::Url(text)) => {
            if let Some(allowed) = allowlist.allows_url_prefix(&text) {
                return allowed;
            }
            text_origin(&text, page_origin)
        }
        Some(InputText::Request(url)) => web_sys::Url::new(&url).ok().map(|url| url.origin()),
        None => None,
    };
    origin.is_some_and(|origin| allowlist.allows(&origin))
}

/// What `fetch` reads its target from.
enum InputText {
    /// A `Request`'s `url`, already absolute.
    Request(String),
    /// A string, or a URL object's text, maybe relative.
    Url(String),
}

fn input_text(input: &JsValue) -> Option<InputText> {
    if let Some(request) = input.dyn_ref::<web_sys::Request>() {
        return Some(InputText::Request(request.url()));
    }
    match input.as_string() {
        Some(text) => Some(InputText::Url(text)),
        // A URL object or anything else with a useful toString(), as fetch accepts.
        None => Some(InputText::Url(
            input.dyn_ref::<js_sys::Object>()?.to_string().as_string()?,
        )),
    }
}

/// The origin of `text` resolved against the document's base URL (a Worker's location).
fn text_origin(text: &str, page_origin: &str) -> Option<String> {
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
    web_sys::Url::new_with_base(text, &base)
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
    use crate::core::Origin;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn targets_are_resolved_like_fetch() {
        let page = get(&get(&global(), "location"), "origin")
            .as_string()
            .unwrap();
        let goes_to = |input: &str, origin: &str| {
            let only = OriginAllowlist::new(alloc::vec![Origin::parse(origin).unwrap()]).unwrap();
            targets_allowed(&input.into(), &page, &only)
        };
        assert!(goes_to("/v1/cidadao/me", &page));
        assert!(goes_to("relative/path", &page));
        // What the URL parser reinterprets as another host must never count as the page.
        for sneaky in [
            "//evil.example/x",
            "/\\evil.example/x",
            "/\t/evil.example/x",
            "/\n/evil.example",
        ] {
            assert!(goes_to(sneaky, "http://evil.example"), "{sneaky:?}");
            assert!(!goes_to(sneaky, &page), "{sneaky:?}");
        }
        assert!(goes_to(
            "https://api.example.com:8443/v1",
            "https://api.example.com:8443"
        ));
        assert!(!goes_to(
            "https://api.example.com:8443/v1",
            "https://api.example.com"
        ));
        // The prefix fast path and the parser agree on every spelling.
        assert!(goes_to(
            "https://api.example.com/x",
            "https://api.example.com"
        ));
        assert!(goes_to(
            "https://api.example.com?q",
            "https://api.example.com"
        ));
        assert!(goes_to(
            "HTTPS://API.example.com:443/x",
            "https://api.example.com"
        ));
        assert!(!goes_to(
            "https://api.example.com@evil.example/x",
            "https://api.example.com"
        ));
        assert!(!goes_to(
            "https://api.example.com.evil.example/",
            "https://api.example.com"
        ));
        assert!(!goes_to("http://[bad", &page));
        let only = |origin: &str| {
            OriginAllowlist::new(alloc::vec![Origin::parse(origin).unwrap()]).unwrap()
        };
        let url = web_sys::Url::new("https://api.example.com/x").unwrap();
        assert!(targets_allowed(
            &url.into(),
            &page,
            &only("https://api.example.com")
        ));
        let request = web_sys::Request::new_with_str("https://files.example.com/a").unwrap();
        assert!(targets_allowed(
            &request.into(),
            &page,
            &only("https://files.example.com")
        ));
    }
}
