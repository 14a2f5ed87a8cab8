//! The channel to the other tabs of the API's origin (DESIGN rules 6 and 11): what this tab
//! posts, what it does with what the others post, the version marker it holds, and — without
//! Web Locks — the tabs it knows of for the leader election.
use alloc::vec::Vec;

use super::{Client, Effect, Event, LockMode, Op};
use crate::core::crosstab::{channel_name, leads, version_marker_name, Message};
use crate::core::session::EndReason;

/// The channel's state.
#[derive(Debug, Default)]
pub(super) struct Channel {
    pub(super) open: bool,
    /// Without Web Locks: the ids of the other live tabs.
    peers: Vec<f64>,
}

/// The marker lock: the version it names (of tokens, or the end of a lineage), and the refresh
/// lock to release once it is granted.
#[derive(Debug)]
pub(super) struct Marker {
    pub(super) op: Op,
    version: u64,
    /// A refused renewal's refresh lock: released only when the end marker is held, so that the
    /// next tab to take the lock sees the session ended (DESIGN rule 11).
    pub(super) then_release: Option<Op>,
}

impl Client {
    pub(super) fn open_channel(&mut self) {
        if !self.config.cross_tab || self.channel.open {
            return;
        }
        self.channel.open = true;
        let name = channel_name(&self.api_origin);
        self.effects.push(Effect::Channel(Some(name)));
        // Without Web Locks the tabs elect a leader: everyone learns who is alive.
        if !self.locks {
            self.post(Message::Hello { from: self.tab_id });
        }
    }

    /// Closes the channel and releases the marker (`pagehide`, `free()`); waiters give up.
    pub(super) fn close_channel(&mut self) {
        if !self.channel.open {
            return;
        }
        if !self.locks {
            self.post(Message::Bye { from: self.tab_id });
        }
        self.channel.peers.clear();
        self.channel.open = false;
        self.effects.push(Effect::Channel(None));
        self.drop_marker();
        self.versions_changed();
    }

    pub(super) fn post(&mut self, message: Message) {
        if self.channel.open {
            self.effects
                .push(Effect::Post(message.into_wire(self.tab_id)));
        }
    }

    /// Tells the other tabs about the session held now.
    pub(super) fn repeat_session(&mut self) {
        if let Some(shared) = self.session.share() {
            self.post(Message::Session(shared));
        }
    }

    /// A well-formed message from another tab.
    pub(super) fn on_message(&mut self, message: Message) {
        match message {
            Message::Session(shared) => {
                let was_authenticated = self.session.is_authenticated();
                if !self.session.adopt(shared, self.now) {
                    return;
                }
                self.tokens_changed();
                self.hold_marker();
                self.emit(if was_authenticated {
                    Event::Refresh
                } else {
                    Event::Login { restored: false }
                });
            }
            Message::Logout { version } => {
                if self.session.ended_elsewhere(version) {
                    self.end_session(EndReason::OtherTab);
                }
            }
            Message::Ask => {
                if self.session.is_authenticated() {
                    self.repeat_session();
                } else if self.session.last_known() != 0 {
                    // A tab back from the back/forward cache learns of the logout it missed.
                    let version = self.session.last_known();
                    self.post(Message::Logout { version });
                }
            }
            Message::Hello { from } => {
                self.add_peer(from);
                self.post(Message::Here { from: self.tab_id });
            }
            Message::Here { from } => self.add_peer(from),
            Message::Bye { from } => self.channel.peers.retain(|p| *p != from),
            Message::Need { version } => {
                let held = self.session.version();
                if held > Some(version) {
                    // Already newer: the broadcast may have crossed the request.
                    self.repeat_session();
                } else if held == Some(version) && self.renews_for_others() {
                    self.renew(None);
                }
            }
        }
    }

    /// Holds the shared marker lock of the version held now, releasing the previous one; the
    /// op of the new request, if one was made.
    pub(super) fn hold_marker(&mut self) -> Option<Op> {
        let version = self
            .session
            .version()
            .filter(|_| self.locks && self.channel.open)?;
        if self.marker.as_ref().is_some_and(|m| m.version == version) {
            return None;
        }
        Some(self.mark(version, None))
    }

    /// After a refused renewal: holds the marker of the lineage's end (the logout version),
    /// then releases the refresh `lock`. A tab that was waiting for the lock finds a marker
    /// newer than its tokens, asks, and hears of the logout instead of presenting the refresh
    /// token the server just refused. Without markers the lock is released at once.
    pub(super) fn hold_end_marker(&mut self, lock: Option<Op>) {
        if lock.is_none() || !self.locks || !self.channel.open {
            return self.release(lock);
        }
        let version = self.session.last_known();
        self.mark(version, lock);
    }

    /// Requests the shared marker lock of `version` in place of the current marker; once it is
    /// granted, `then_release` (a refresh lock) is released. The op of the request.
    fn mark(&mut self, version: u64, then_release: Option<Op>) -> Op {
        let name = version_marker_name(&self.api_origin, version);
        let op = self.request_lock(name, LockMode::Shared);
        self.drop_marker();
        self.marker = Some(Marker {
            op,
            version,
            then_release,
        });
        op
    }

    /// Releases the marker, and the refresh lock waiting on it if any.
    pub(super) fn drop_marker(&mut self) {
        if let Some(marker) = self.marker.take() {
            self.release(Some(marker.op));
            self.release(marker.then_release);
        }
    }

    fn add_peer(&mut self, id: f64) {
        if !self.channel.peers.contains(&id) {
            self.channel.peers.push(id);
        }
    }

    /// Without Web Locks: whether this tab is the leader, the one that renews for all.
    pub(super) fn is_leader(&self) -> bool {
        self.channel.open && leads(self.tab_id, &self.channel.peers)
    }
}
