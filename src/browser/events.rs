//! The client's events: `login`, `refresh`, `logout`, `error`, each a `CustomEvent`.
//!
//! Listeners live on a private `EventTarget`, so `addEventListener`/`removeEventListener` behave
//! exactly as the platform's (same listener added twice is one listener, `{ once: true }` is not
//! needed because listeners are plain functions).

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CustomEvent, EventTarget};

use super::js::set;

/// The event names of the public API.
pub(crate) const LOGIN: &str = "login";
/// `detail.expiresAt`: epoch ms (page clock) or `undefined`.
pub(crate) const REFRESH: &str = "refresh";
/// `detail.reason`: `user`, `session_expired`, `invalid_token`, `refresh_rejected`, `other_tab`.
pub(crate) const LOGOUT: &str = "logout";
/// `detail`: the `AuthError` of a failure no caller was waiting for (a background refresh).
pub(crate) const ERROR: &str = "error";

/// Owns the `EventTarget` the listeners are registered on.
#[derive(Debug)]
pub(crate) struct Events {
    target: EventTarget,
}

impl Events {
    /// A fresh target; `None` only where `EventTarget` cannot be constructed (never in a
    /// browser or worker).
    pub(crate) fn new() -> Option<Events> {
        EventTarget::new().ok().map(|target| Events { target })
    }

    /// The target, for `addEventListener`/`removeEventListener`.
    pub(crate) fn target(&self) -> &EventTarget {
        &self.target
    }

    /// Dispatches `name` with `detail`, synchronously. A listener that throws is reported by
    /// the browser and does not stop authfetch.
    pub(crate) fn emit(&self, name: &str, detail: &JsValue) {
        // `{ detail }` as a plain object (one import fewer than `CustomEventInit`'s setter).
        let init: JsValue = js_sys::Object::new().into();
        set(&init, "detail", detail);
        if let Ok(event) = CustomEvent::new_with_event_init_dict(name, init.unchecked_ref()) {
            let _ = self.target.dispatch_event(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::js::get;
    use js_sys::{Array, Function};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn listeners_get_custom_events_with_detail() {
        let events = Events::new().unwrap();
        let received = Array::new();
        let sink = received.clone();
        let listener =
            Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
                sink.push(&e.detail());
            });
        let f: &Function = listener.as_ref().unchecked_ref();
        events
            .target()
            .add_event_listener_with_callback(REFRESH, f)
            .unwrap();
        let detail = js_sys::Object::new();
        crate::browser::js::set(&detail, "expiresAt", &JsValue::from(42.0));
        events.emit(REFRESH, &detail);
        events.emit(LOGIN, &JsValue::NULL);
        assert_eq!(received.length(), 1);
        assert_eq!(get(&received.get(0), "expiresAt").as_f64(), Some(42.0));
        events
            .target()
            .remove_event_listener_with_callback(REFRESH, f)
            .unwrap();
        events.emit(REFRESH, &detail);
        assert_eq!(received.length(), 1);
    }
}
