//! JavaScript globals, bound once (gloo's habit), so the edge runs in a Window and in a Worker.
use alloc::string::String;
use core::cell::{Ref, RefCell, RefMut};

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

/// `RefCell` access that traps instead of panicking with a formatted message: a borrow held
/// while JavaScript runs cannot happen by construction (the driver releases every borrow before
/// it carries out an effect), and `core::fmt` stays out of the wasm.
pub(crate) trait Shared<T> {
    /// `borrow_mut()`, trapping on a conflicting borrow.
    fn mutate(&self) -> RefMut<'_, T>;
    /// `borrow()`, trapping on a conflicting borrow.
    fn read(&self) -> Ref<'_, T>;
}

impl<T> Shared<T> for RefCell<T> {
    fn mutate(&self) -> RefMut<'_, T> {
        self.try_borrow_mut().unwrap_or_else(|_| trap())
    }

    fn read(&self) -> Ref<'_, T> {
        self.try_borrow().unwrap_or_else(|_| trap())
    }
}

/// Stops the module: what a panic does in the shipped wasm, without its message.
fn trap() -> ! {
    core::arch::wasm32::unreachable()
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

/// Whether the absolute URL `url` (a request's or a response's `url`) is on an origin of
/// `allowlist`: decided without a URL parser when the URL starts with an allowed origin
/// ([`OriginAllowlist::allows_url_prefix`], the hot path), else by the browser's parser.
/// `false` for anything the parser refuses.
pub(crate) fn url_allowed(allowlist: &OriginAllowlist, url: &str) -> bool {
    allowlist.allows_url_prefix(url).unwrap_or_else(|| {
        web_sys::Url::new(url).is_ok_and(|parsed| allowlist.allows(&parsed.origin()))
    })
}

/// Calls `handle.unref()` where `handle` has it (Node.js timers and channels), so that it does
/// not keep the process alive; nothing elsewhere.
pub(crate) fn unref(handle: &JsValue) {
    if let Some(unref) = get(handle, "unref").dyn_ref::<Function>() {
        let _ = unref.call0(handle);
    }
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
    fn the_prefix_fast_path_and_the_parser_agree() {
        let only = |origin: &str| {
            OriginAllowlist::new(alloc::vec![Origin::parse(origin).unwrap()]).unwrap()
        };
        let api = only("https://api.example.com");
        for allowed in [
            "https://api.example.com/x",
            "https://api.example.com?q",
            "https://api.example.com",
            "HTTPS://API.example.com:443/x",
            "https://user@api.example.com/x",
        ] {
            assert!(url_allowed(&api, allowed), "{allowed:?}");
        }
        for refused in [
            "https://api.example.com@evil.example/x",
            "https://api.example.com.evil.example/",
            "https://api.example.com:8443/v1",
            "http://api.example.com/x",
            "http://[bad",
            "data:text/plain,x",
        ] {
            assert!(!url_allowed(&api, refused), "{refused:?}");
        }
        assert!(url_allowed(
            &only("https://api.example.com:8443"),
            "https://api.example.com:8443/v1"
        ));
    }
}
