//! The client's events: `login`, `refresh`, `logout`, `error`, each a `CustomEvent`.
//!
//! Listeners live on a private `EventTarget`, so `addEventListener`/`removeEventListener` behave
//! exactly as the platform's (same listener added twice is one listener, `{ once: true }` is not
//! needed because listeners are plain functions).

use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

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
        let init = CustomEventInit::new();
        init.set_detail(detail);
        if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = self.target.dispatch_event(&event);
        }
    }
}
