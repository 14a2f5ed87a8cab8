//! Page-lifecycle listeners that catch up a refresh deadline missed while timers were stalled
//! (background tab, laptop asleep, offline): DESIGN rule 3.

use super::listener::EventListener;
use crate::core::client::Wake;
use alloc::vec::Vec;
use wasm_bindgen::JsCast;

/// Owns the listeners; dropping it removes every one (each `EventListener` does on drop).
#[derive(Debug)]
pub(crate) struct PageLifecycle {
    _listeners: Vec<EventListener>,
}

impl PageLifecycle {
    /// Listens on the current window and document. In a Worker (no window) there is nothing to
    /// listen to and the list is empty.
    pub(crate) fn listen(on_wake: impl Fn(Wake) + Clone + 'static) -> PageLifecycle {
        let mut listeners = Vec::with_capacity(5);
        let global = js_sys::global();
        if let Some(window) = global.dyn_ref::<web_sys::Window>() {
            for (name, wake) in [
                ("focus", Wake::Resumed),
                ("pageshow", Wake::Resumed),
                ("online", Wake::Online),
                ("pagehide", Wake::Hidden),
            ] {
                let on_wake = on_wake.clone();
                listeners.push(EventListener::new(window, name, move |_| on_wake(wake)));
            }
            if let Some(document) = window.document() {
                let on_wake = on_wake.clone();
                listeners.push(EventListener::new(
                    &document,
                    "visibilitychange",
                    move |_| on_wake(Wake::Resumed),
                ));
            }
        }
        PageLifecycle {
            _listeners: listeners,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use core::cell::RefCell;
    use wasm_bindgen_test::wasm_bindgen_test;
    use web_sys::Event;

    fn fire(target: &web_sys::EventTarget, name: &str) {
        let event = Event::new(name).unwrap();
        target.dispatch_event(&event).unwrap();
    }

    #[wasm_bindgen_test]
    fn wakes_on_each_page_event_and_stops_when_dropped() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        let lifecycle = PageLifecycle::listen(move |why| log.borrow_mut().push(why));
        let window = web_sys::window().unwrap();
        let document = window.document().unwrap();
        fire(&window, "focus");
        fire(&window, "pageshow");
        fire(&window, "online");
        fire(&document, "visibilitychange");
        fire(&window, "pagehide");
        fire(&window, "resize");
        assert_eq!(
            *seen.borrow(),
            [
                Wake::Resumed,
                Wake::Resumed,
                Wake::Online,
                Wake::Resumed,
                Wake::Hidden
            ]
        );
        drop(lifecycle);
        fire(&window, "focus");
        fire(&document, "visibilitychange");
        assert_eq!(seen.borrow().len(), 5, "listeners removed on drop");
    }
}
