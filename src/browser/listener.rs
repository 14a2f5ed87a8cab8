//! An event listener owned by one handle: dropping the handle removes it.
//!
//! The same contract as gloo-events' `EventListener`, which this replaces because gloo links
//! Rust's standard library and the shipped wasm is built without it (see `Cargo.toml`).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

/// `target.addEventListener(kind, callback)` until dropped.
#[derive(Debug)]
pub(crate) struct EventListener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl EventListener {
    /// Calls `callback` for every `kind` event on `target` until the handle is dropped.
    pub(crate) fn new(
        target: &EventTarget,
        kind: &'static str,
        callback: impl FnMut(Event) + 'static,
    ) -> EventListener {
        let callback = Closure::<dyn FnMut(Event)>::new(callback);
        // Only throws for a callback that is not callable, which a Closure always is.
        let _ = target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        EventListener {
            target: target.clone(),
            kind,
            callback,
        }
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}
