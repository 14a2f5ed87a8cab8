//! The one proactive-refresh timer (DESIGN rule 3), owned here and nowhere else.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (a Window's or a Worker's).
    #[wasm_bindgen(js_name = "setTimeout")]
    fn set_timeout(handler: &js_sys::Function, delay_ms: u32) -> JsValue;
    /// The global `clearTimeout`.
    #[wasm_bindgen(js_name = "clearTimeout")]
    fn clear_timeout(id: &JsValue);
}

/// One `setTimeout`, cleared when dropped: the contract of gloo-timers' `Timeout`, which this
/// replaces because gloo links Rust's standard library and the shipped wasm is built without it.
#[derive(Debug)]
struct Timeout {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    fn new(delay_ms: u32, wake: impl FnOnce() + 'static) -> Timeout {
        let callback = Closure::once(wake);
        let id = set_timeout(callback.as_ref().unchecked_ref(), delay_ms);
        Timeout {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

/// `setTimeout`'s longest delay, 2³¹−1 ms (about 24.8 days): longer ones fire at once.
pub(crate) const MAX_DELAY_MS: u64 = (1 << 31) - 1;

/// Holds at most one pending timeout. Arming replaces (and so cancels) the previous one;
/// dropping the owner cancels it, because a `Timeout` clears itself on drop.
#[derive(Debug, Default)]
pub(crate) struct RefreshTimer {
    pending: Option<Timeout>,
}

impl RefreshTimer {
    /// Fires `wake` after `delay_ms`, clamped to `setTimeout`'s range; a clamped timer simply
    /// wakes early and the owner re-arms, so a token valid for months is still handled.
    pub(crate) fn arm(&mut self, delay_ms: u64, wake: impl FnOnce() + 'static) {
        // The clamp makes the cast lossless.
        let delay = delay_ms.min(MAX_DELAY_MS) as u32;
        self.pending = Some(Timeout::new(delay, wake));
    }

    /// Cancels the pending timeout, if any.
    pub(crate) fn cancel(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use core::cell::Cell;
    use gloo_timers::future::TimeoutFuture;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn counter() -> (Rc<Cell<u32>>, impl FnOnce() + 'static) {
        let fired = Rc::new(Cell::new(0));
        let f = fired.clone();
        (fired, move || f.set(f.get() + 1))
    }

    #[wasm_bindgen_test]
    async fn fires_once_after_the_delay() {
        let mut timer = RefreshTimer::default();
        let (fired, wake) = counter();
        timer.arm(20, wake);
        TimeoutFuture::new(5).await;
        assert_eq!(fired.get(), 0);
        TimeoutFuture::new(60).await;
        assert_eq!(fired.get(), 1);
    }

    #[wasm_bindgen_test]
    async fn arming_again_replaces_the_pending_timeout() {
        let mut timer = RefreshTimer::default();
        let (first, wake_first) = counter();
        let (second, wake_second) = counter();
        timer.arm(20, wake_first);
        timer.arm(30, wake_second);
        TimeoutFuture::new(80).await;
        assert_eq!((first.get(), second.get()), (0, 1));
    }

    #[wasm_bindgen_test]
    async fn cancel_and_drop_stop_it() {
        let (cancelled, wake) = counter();
        let mut timer = RefreshTimer::default();
        timer.arm(10, wake);
        timer.cancel();
        let (dropped, wake) = counter();
        let mut owner = RefreshTimer::default();
        owner.arm(10, wake);
        drop(owner);
        TimeoutFuture::new(50).await;
        assert_eq!((cancelled.get(), dropped.get()), (0, 0));
    }

    #[wasm_bindgen_test]
    async fn delays_beyond_set_timeout_range_are_clamped_not_fired_at_once() {
        let (fired, wake) = counter();
        let mut timer = RefreshTimer::default();
        timer.arm(u64::MAX, wake);
        TimeoutFuture::new(30).await;
        assert_eq!(
            fired.get(),
            0,
            "an overflowing delay would have fired immediately"
        );
    }
}
