//! How a client shares its session with the other tabs of the app (DESIGN rules 1 and 6):
//! adopting newer sessions, answering "who holds a session?", taking turns at renewing, and
//! holding the version marker. The decisions are the core's (`core::crosstab`,
//! `Session::adopt`); this module carries them out with the handles of `crosstab`.

use std::rc::Rc;

use crate::core::crosstab::{
    after_lock, channel_name, claim_wins, newest_marker, refresh_lock_name, version_marker_name,
    AfterLock,
};
use js_sys::{Array, Promise};
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::client::Inner;
use super::crosstab::{sleep, Channel, HeldLock, Message};
use super::events;
use super::js::now_ms;
use crate::core::EndReason;

/// Without Web Locks, how long a tab waits for competing claims before renewing, ms.
const CLAIM_WINDOW_MS: u32 = 100;
/// How long a tab waits for the broadcast of a renewal another tab made, ms.
const AWAIT_BROADCAST_MS: u32 = 3_000;
/// How long `restore()` waits for a live tab to answer "who holds a session?", ms.
const ASK_MS: u32 = 300;
/// Claims remembered (the newest ones).
const CLAIMS_KEPT: usize = 32;

/// A renewal claim seen from another tab (fallback without Web Locks).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Claim {
    version: u64,
    from: f64,
    seq: u64,
    at_ms: u64,
}

/// The outcome of taking a turn at renewing.
#[derive(Debug)]
pub(crate) enum Turn {
    /// This tab renews now; the refresh lock (if any) is held until the handle drops.
    Mine(Option<HeldLock>),
    /// Another tab renewed and this one has adopted its tokens.
    Adopted,
    /// Another tab renewed but its tokens never arrived: treat as a transient failure.
    Unavailable,
}

impl Inner {
    /// Opens the channel of this API origin, when `crossTab` is on.
    pub(super) fn open_channel(self: &Rc<Self>) {
        if !self.config.cross_tab || self.channel.borrow().is_some() {
            return;
        }
        let weak = Rc::downgrade(self);
        let channel = Channel::open(&channel_name(&self.api_origin), move |message| {
            if let Some(inner) = weak.upgrade() {
                inner.on_message(message);
            }
        });
        *self.channel.borrow_mut() = channel;
    }

    /// Closes the channel and releases the marker (`pagehide`, `free()`); waiters give up.
    pub(super) fn close_channel(&self) {
        let channel = self.channel.borrow_mut().take();
        drop(channel);
        let marker = self.marker.borrow_mut().take();
        drop(marker);
        self.notify_version();
    }

    fn on_message(self: &Rc<Self>, message: Message) {
        match message {
            Message::Session(shared) => {
                let was_authenticated = self.session.borrow().is_authenticated();
                let adopted = self.session.borrow_mut().adopt(shared);
                if !adopted {
                    return;
                }
                let version = self.session.borrow().version();
                self.claims
                    .borrow_mut()
                    .retain(|c| Some(c.version) >= version);
                self.arm_timer();
                self.notify_version();
                self.hold_marker_soon();
                let event = if was_authenticated {
                    events::REFRESH
                } else {
                    events::LOGIN
                };
                self.events.emit(event, &self.expiry_detail());
            }
            Message::Logout => self.end_session(EndReason::OtherTab),
            Message::Ask => {
                let shared = self.session.borrow().share();
                if let Some(shared) = shared {
                    self.post(&Message::Session(shared));
                }
            }
            Message::Claim { version, from } => {
                let mut claims = self.claims.borrow_mut();
                let seq = claims.last().map_or(0, |c| c.seq + 1);
                claims.push(Claim {
                    version,
                    from,
                    seq,
                    at_ms: now_ms(),
                });
                if claims.len() > CLAIMS_KEPT {
                    claims.remove(0);
                }
            }
        }
    }

    /// Posts to the other tabs, if the channel is open.
    pub(super) fn post(&self, message: &Message) {
        if let Some(channel) = self.channel.borrow().as_ref() {
            channel.post(message);
        }
    }

    /// Tells the other tabs about the session held now, and holds its marker soon.
    pub(super) fn share_session(self: &Rc<Self>) {
        let shared = self.session.borrow().share();
        if let Some(shared) = shared {
            self.post(&Message::Session(shared));
            self.hold_marker_soon();
        }
    }

    fn hold_marker_soon(self: &Rc<Self>) {
        let inner = self.clone();
        spawn_local(async move { inner.hold_marker().await });
    }

    /// Holds the shared marker lock of the version held now (releasing the previous one).
    pub(super) async fn hold_marker(&self) {
        let version = self.session.borrow().version();
        let (Some(locks), Some(version)) = (&self.locks, version) else {
            return;
        };
        if self.channel.borrow().is_none() {
            return;
        }
        let name = version_marker_name(&self.api_origin, version);
        if let Ok(lock) = locks.acquire(&name, true).await {
            let still_current =
                self.session.borrow().version() == Some(version) && self.channel.borrow().is_some();
            if still_current {
                let previous = self.marker.replace(Some(lock));
                drop(previous);
            }
        }
    }

    /// Wakes every `wait_for_newer`.
    pub(super) fn notify_version(&self) {
        let waiters: Vec<_> = self.version_waiters.borrow_mut().drain(..).collect();
        for resolve in waiters {
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }
    }

    /// Waits until this tab holds tokens newer than version `than` (or any, for `None`), at
    /// most `timeout_ms`. `false` on timeout or when the session ended meanwhile.
    pub(super) async fn wait_for_newer(&self, than: Option<u64>, timeout_ms: u32) -> bool {
        let deadline = sleep(timeout_ms);
        loop {
            let version = self.session.borrow().version();
            if version > than {
                return true;
            }
            if (than.is_some() && version.is_none()) || self.channel.borrow().is_none() {
                return false;
            }
            let mut slot = None;
            let notified = Promise::new(&mut |resolve, _| slot = Some(resolve));
            if let Some(resolve) = slot {
                self.version_waiters.borrow_mut().push(resolve);
            }
            let first = JsFuture::from(Promise::race(&Array::of2(&notified, &deadline))).await;
            if first
                .ok()
                .and_then(|v| v.as_string())
                .is_some_and(|s| s == "timeout")
            {
                return self.session.borrow().version() > than;
            }
        }
    }

    /// `restore()`'s first step: asks the open tabs for their session.
    pub(super) async fn ask_other_tabs(&self) -> bool {
        if self.channel.borrow().is_none() {
            return false;
        }
        self.post(&Message::Ask);
        self.wait_for_newer(None, ASK_MS).await
    }

    /// Takes this tab's turn at renewing tokens of version `before` (DESIGN rule 6): with Web
    /// Locks, the exclusive refresh lock and the version markers; without, claims over the
    /// channel. Without the channel (`crossTab: false`) every turn is this tab's.
    pub(super) async fn take_turn(&self, before: Option<u64>) -> Turn {
        if self.channel.borrow().is_none() {
            return Turn::Mine(None);
        }
        match &self.locks {
            Some(locks) => {
                let Ok(lock) = locks
                    .acquire(&refresh_lock_name(&self.api_origin), false)
                    .await
                else {
                    return Turn::Unavailable;
                };
                let now = self.session.borrow().version();
                let held = locks.held_names().await;
                let newest = newest_marker(&self.api_origin, held.iter().map(String::as_str));
                match after_lock(before, now, newest) {
                    AfterLock::AlreadyRenewed => Turn::Adopted,
                    AfterLock::AwaitVersion(_) => self.await_broadcast(before).await,
                    AfterLock::Renew => Turn::Mine(Some(lock)),
                }
            }
            None => self.claim_turn(before).await,
        }
    }

    async fn await_broadcast(&self, before: Option<u64>) -> Turn {
        self.post(&Message::Ask);
        if self.wait_for_newer(before, AWAIT_BROADCAST_MS).await {
            Turn::Adopted
        } else {
            Turn::Unavailable
        }
    }

    /// The fallback without Web Locks: a tab that already saw a fresh claim for this version
    /// waits for its broadcast; otherwise it claims, waits [`CLAIM_WINDOW_MS`] for competing
    /// claims, and the lowest tab id renews. A used refresh token is never presented as long as
    /// the channel delivers within the window (it does within milliseconds).
    async fn claim_turn(&self, before: Option<u64>) -> Turn {
        let (Some(version), Some(me)) =
            (before, self.channel.borrow().as_ref().map(Channel::tab_id))
        else {
            return Turn::Mine(None);
        };
        let fresh = |c: &Claim| {
            c.version == version && now_ms().saturating_sub(c.at_ms) < u64::from(AWAIT_BROADCAST_MS)
        };
        let someone_first = self.claims.borrow().iter().any(fresh);
        if someone_first {
            return self.await_broadcast(before).await;
        }
        let mine_seq = self.claims.borrow().last().map_or(0, |c| c.seq + 1);
        self.post(&Message::Claim { version, from: me });
        let _ = JsFuture::from(sleep(CLAIM_WINDOW_MS)).await;
        if self.session.borrow().version() > before {
            return Turn::Adopted;
        }
        let competing: Vec<f64> = self
            .claims
            .borrow()
            .iter()
            .filter(|c| c.version == version && c.seq >= mine_seq)
            .map(|c| c.from)
            .collect();
        if claim_wins(me, &competing) {
            Turn::Mine(None)
        } else {
            self.await_broadcast(before).await
        }
    }
}
