//! The one proactive-refresh timer (DESIGN rule 3), owned here and nowhere else.

use gloo_timers::callback::Timeout;

/// `setTimeout`'s longest delay, 2³¹−1 ms (about 24.8 days): longer ones fire at once.
pub(crate) const MAX_DELAY_MS: u64 = (1 << 31) - 1;

/// Holds at most one pending timeout. Arming replaces (and so cancels) the previous one;
/// dropping the owner cancels it, because gloo's `Timeout` clears itself on drop.
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
    use gloo_timers::future::TimeoutFuture;
    use std::cell::Cell;
    use std::rc::Rc;
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
