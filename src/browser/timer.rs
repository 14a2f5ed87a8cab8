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
