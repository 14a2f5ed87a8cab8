//! The one proactive timer's handle (DESIGN rule 3), gloo's habit without its closure: a
//! `setTimeout` of a function the driver made once, cleared when the handle drops. Re-arming is
//! assigning a new handle, so no second place can arm it, and the function is never a closure
//! dropped while it runs.
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = "setTimeout")]
    fn set_timeout(handler: &js_sys::Function, delay_ms: u32) -> JsValue;
    #[wasm_bindgen(js_name = "clearTimeout")]
    fn clear_timeout(id: &JsValue);
}

/// The longest delay `setTimeout` takes (2³¹−1 ms, about 24.8 days); longer ones are clamped,
/// since the platform would fire them at once.
pub(crate) const MAX_DELAY_MS: u64 = (1 << 31) - 1;

/// A pending `setTimeout`; cleared when dropped.
#[derive(Debug)]
pub(crate) struct Timeout {
    id: JsValue,
}

impl Timeout {
    /// Calls `handler` once after `delay_ms` (clamped to [`MAX_DELAY_MS`]). Where the timer is
    /// an object with `unref` (Node.js), it is unref'd: a pending renewal does not keep the
    /// process alive.
    pub(crate) fn new(handler: &js_sys::Function, delay_ms: u64) -> Timeout {
        let delay = delay_ms.min(MAX_DELAY_MS) as u32;
        let id = set_timeout(handler, delay);
        super::js::unref(&id);
        Timeout { id }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use core::cell::Cell;
    use gloo_timers::future::TimeoutFuture;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// A counter and a function that increments it (kept alive by the returned closure).
    fn counter() -> (Rc<Cell<u32>>, Closure<dyn FnMut()>) {
        let fired = Rc::new(Cell::new(0));
        let f = fired.clone();
        (fired, Closure::new(move || f.set(f.get() + 1)))
    }

    #[wasm_bindgen_test]
    async fn fires_once_after_the_delay() {
        let (fired, handler) = counter();
        let _timer = Timeout::new(handler.as_ref().unchecked_ref(), 20);
        TimeoutFuture::new(5).await;
        assert_eq!(fired.get(), 0);
        TimeoutFuture::new(60).await;
        assert_eq!(fired.get(), 1);
    }

    #[wasm_bindgen_test]
    async fn replacing_the_handle_cancels_the_pending_timeout() {
        let (first, first_handler) = counter();
        let (second, second_handler) = counter();
        // The owner's slot, as the driver keeps it: assigning drops (clears) the previous one.
        let mut slot = Some(Timeout::new(first_handler.as_ref().unchecked_ref(), 20));
        let previous = slot.replace(Timeout::new(second_handler.as_ref().unchecked_ref(), 30));
        drop(previous);
        TimeoutFuture::new(80).await;
        assert_eq!((first.get(), second.get()), (0, 1));
        assert!(slot.is_some());
    }

    #[wasm_bindgen_test]
    async fn drop_stops_it() {
        let (dropped, handler) = counter();
        drop(Timeout::new(handler.as_ref().unchecked_ref(), 10));
        TimeoutFuture::new(50).await;
        assert_eq!(dropped.get(), 0);
    }

    #[wasm_bindgen_test]
    async fn delays_beyond_set_timeout_range_are_clamped_not_fired_at_once() {
        let (fired, handler) = counter();
        let _timer = Timeout::new(handler.as_ref().unchecked_ref(), u64::MAX);
        TimeoutFuture::new(30).await;
        assert_eq!(
            fired.get(),
            0,
            "an overflowing delay would have fired immediately"
        );
    }
}
