//! How a client shares its session with the other tabs of the app (DESIGN rules 1 and 6):
//! adopting newer sessions, answering "who holds a session?", taking turns at renewing, and
//! holding the version marker. The decisions are the core's (`core::crosstab`,
//! `Session::adopt`); this module carries them out with the handles of `crosstab`.
use alloc::{string::String, vec::Vec};

use alloc::rc::Rc;

use crate::core::crosstab::{
    after_lock, channel_name, leads, newest_marker, refresh_lock_name, version_marker_name,
    AfterLock,
};
use crate::core::EndReason;
use js_sys::{Array, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::client::Inner;
use super::crosstab::{sleep, Channel, HeldLock, Message};
use super::events;

/// How long a tab waits for the broadcast of a renewal another tab makes, ms.
const AWAIT_BROADCAST_MS: u32 = 3_000;
/// How long `restore()` waits for a live tab to answer "who holds a session?", ms.
const ASK_MS: u32 = 300;

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
        // Without Web Locks the tabs elect a leader: everyone learns who is alive.
        if let (None, Some(me)) = (&self.locks, self.tab_id()) {
            self.post(&Message::Hello { from: me });
        }
    }

    /// Closes the channel and releases the marker (`pagehide`, `free()`); waiters give up.
    pub(super) fn close_channel(&self) {
        if let (None, Some(me)) = (&self.locks, self.tab_id()) {
            self.post(&Message::Bye { from: me });
        }
        self.peers.borrow_mut().clear();
        let channel = self.channel.borrow_mut().take();
        drop(channel);
        let marker = self.marker.borrow_mut().take();
        drop(marker);
        self.notify_version();
    }

    fn tab_id(&self) -> Option<f64> {
        self.channel.borrow().as_ref().map(Channel::tab_id)
    }

    /// Without Web Locks: whether this tab is the leader, the one that renews for all.
    fn is_leader(&self) -> bool {
        self.tab_id()
            .is_some_and(|me| leads(me, &self.peers.borrow()))
    }

    fn add_peer(&self, id: f64) {
        let mut peers = self.peers.borrow_mut();
        if !peers.contains(&id) {
            peers.push(id);
        }
    }

    fn on_message(self: &Rc<Self>, message: Message) {
        match message {
            Message::Session(shared) => {
                let was_authenticated = self.session.borrow().is_authenticated();
                let adopted = self.session.borrow_mut().adopt(shared);
                if !adopted {
                    return;
                }
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
            Message::Ask => self.repeat_session(),
            Message::Hello { from } => {
                self.add_peer(from);
                if let Some(me) = self.tab_id() {
                    self.post(&Message::Here { from: me });
                }
            }
            Message::Here { from } => self.add_peer(from),
            Message::Bye { from } => self.peers.borrow_mut().retain(|p| *p != from),
            Message::Need { version } => {
                let held = self.session.borrow().version();
                if held > Some(version) {
                    // Already newer: the broadcast may have crossed the request.
                    self.repeat_session();
                } else if held == Some(version) && self.is_leader() {
                    let inner = self.clone();
                    // Joins this tab's renewal if one is in flight; it reports its own failures.
                    spawn_local(async move {
                        let _ = inner.renew().await;
                    });
                }
            }
        }
    }

    fn repeat_session(&self) {
        let shared = self.session.borrow().share();
        if let Some(shared) = shared {
            self.post(&Message::Session(shared));
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
        self.repeat_session();
        self.hold_marker_soon();
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
            let current = self.session.borrow().version() == Some(version);
            if current && self.channel.borrow().is_some() {
                let previous = self.marker.replace(Some(lock));
                drop(previous);
            }
        }
    }

    /// Wakes every `wait_for_newer`.
    pub(super) fn notify_version(&self) {
        let waiters: Vec<_> = self.version_waiters.borrow_mut().drain(..).collect();
        for resolve in waiters {
            let _ = resolve.call0(&JsValue::UNDEFINED);
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
    /// Locks, the exclusive refresh lock and the version markers; without, the elected leader
    /// renews. Without the channel (`crossTab: false`) every turn is this tab's.
    pub(super) async fn take_turn(&self, before: Option<u64>) -> Turn {
        if self.channel.borrow().is_none() {
            return Turn::Mine(None);
        }
        let Some(locks) = &self.locks else {
            return self.leader_turn(before).await;
        };
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
            AfterLock::AwaitVersion(_) => {
                self.post(&Message::Ask);
                self.await_broadcast(before).await
            }
            AfterLock::Renew => Turn::Mine(Some(lock)),
        }
    }

    async fn await_broadcast(&self, before: Option<u64>) -> Turn {
        if self.wait_for_newer(before, AWAIT_BROADCAST_MS).await {
            Turn::Adopted
        } else {
            Turn::Unavailable
        }
    }

    /// The fallback without Web Locks: the leader (lowest id among the live tabs) renews; a
    /// follower asks it (`need`) and adopts its broadcast, and never presents the refresh token
    /// itself — so a used one is never presented again. A follower that hears nothing in
    /// [`AWAIT_BROADCAST_MS`] fails transiently and asks again after its backoff. Tabs leave
    /// the election with `bye` on `pagehide`; a tab that vanished without one (a crash) stays
    /// leader until the others reload, and their sessions then end at expiry rather than risk
    /// a reused refresh token.
    async fn leader_turn(&self, before: Option<u64>) -> Turn {
        let Some(version) = before else {
            return Turn::Mine(None);
        };
        if self.is_leader() {
            return Turn::Mine(None);
        }
        self.post(&Message::Need { version });
        self.await_broadcast(before).await
    }
}
