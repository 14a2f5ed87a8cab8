//! A flow's turn at renewing among the tabs (DESIGN rule 6): the exclusive refresh lock and the
//! version markers with Web Locks, the elected leader without them.
//!
//! Two flows take turns: the renewal ([`super::renewal`]) and the cookie refresh of
//! `restore()` ([`super::restore`]). A turn ends as a [`TurnEnd`]: this tab renews (holding
//! the lock), another tab renewed and this one adopted its tokens, or the turn could not be had
//! (the broadcast never came, the lock never came free within [`LOCK_WAIT_MS`]).
use super::{Client, Effect, LockMode, Op, OpKind, LOCK_WAIT_MS};
use crate::core::config::RefreshCredential;
use crate::core::crosstab::{after_lock, newest_marker, refresh_lock_name, AfterLock, Message};
use crate::core::error::AuthError;
use crate::core::session::RenewalTicket;

use super::AWAIT_BROADCAST_MS;

/// A turn in progress.
#[derive(Debug)]
pub(super) enum Turn {
    /// Waiting for the exclusive refresh lock; when the `timeout` sleep ends, the locks are
    /// probed.
    Locking { lock: Op, timeout: Op },
    /// Still waiting for the refresh lock after [`LOCK_WAIT_MS`]: asked (`probe`) whether
    /// another holds it. If one does, this turn gives up; if not, the wait goes on.
    Probing { lock: Op, probe: Op },
    /// The lock is held; asked which version markers are held.
    Querying { lock: Op, query: Op },
    /// Waiting for another tab's broadcast of tokens newer than the flow's `before`, until the
    /// sleep ends; the lock (if any) is held meanwhile.
    Awaiting { lock: Option<Op>, sleep: Op },
}

impl Turn {
    /// Whether `op` is one this turn waits on.
    fn holds(&self, op: Op) -> bool {
        match *self {
            Turn::Locking { lock, timeout } => lock == op || timeout == op,
            Turn::Probing { lock, probe } => lock == op || probe == op,
            Turn::Querying { lock, query } => lock == op || query == op,
            Turn::Awaiting { sleep, .. } => sleep == op,
        }
    }

    /// The refresh lock it holds or waits for.
    pub(super) fn lock(&self) -> Option<Op> {
        match *self {
            Turn::Locking { lock, .. }
            | Turn::Probing { lock, .. }
            | Turn::Querying { lock, .. } => Some(lock),
            Turn::Awaiting { lock, .. } => lock,
        }
    }
}

/// Where a flow that takes turns is.
#[derive(Debug)]
pub(super) enum Stage {
    Turn(Turn),
    /// The request is out; the lock (if any) is held.
    Requesting {
        request: Op,
        lock: Option<Op>,
    },
    /// New tokens are held; waiting for their version marker before the lock is released.
    Marking {
        marker: Op,
        lock: Option<Op>,
    },
}

impl Stage {
    /// The refresh lock held (or waited for) at this stage.
    pub(super) fn lock(&self) -> Option<Op> {
        match self {
            Stage::Turn(turn) => turn.lock(),
            Stage::Requesting { lock, .. } | Stage::Marking { lock, .. } => *lock,
        }
    }
}

/// What a turn came to.
pub(super) enum TurnEnd {
    /// This tab renews, holding the lock (if any).
    Mine(Option<Op>),
    /// Another tab renewed and this one has adopted its tokens.
    Adopted,
    /// No turn: this error says why (a transient failure; the session is kept).
    Unavailable(AuthError),
}

/// Which flow a turn belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TurnOwner {
    Renewal(RenewalTicket),
    Restore,
}

impl Client {
    /// Starts this tab's turn at renewing tokens of version `before`: with Web Locks, the
    /// exclusive refresh lock (then the version markers); without, the elected leader renews
    /// and the others ask it. Without the channel (`crossTab: false`) every turn is this tab's
    /// at once: `Err` is a turn that ended as it began.
    pub(super) fn take_turn(&mut self, before: Option<u64>) -> Result<Turn, TurnEnd> {
        if !self.channel.open {
            return Err(TurnEnd::Mine(None));
        }
        let relogin = self.config.refresh_credential == RefreshCredential::Relogin;
        if relogin && self.session.credentials().is_none() {
            // `relogin` mode in a tab that did not log in: the credentials never travel, so the
            // tab that holds them renews; this one asks it and adopts its broadcast.
            return match before {
                Some(version) => Ok(self.ask_for(version)),
                None => Err(TurnEnd::Mine(None)),
            };
        }
        if self.locks {
            let lock = self.request_lock(refresh_lock_name(&self.api_origin), LockMode::Exclusive);
            let timeout = self.sleep(LOCK_WAIT_MS);
            return Ok(Turn::Locking { lock, timeout });
        }
        // Without Web Locks: the leader renews (in `relogin` mode, the tab with the
        // credentials); a follower asks it (`need`) and adopts its broadcast, and never presents
        // the refresh token itself — so a used one is never presented again. A follower that
        // hears nothing in AWAIT_BROADCAST_MS fails transiently and asks again after its backoff.
        match before.filter(|_| !relogin && !self.is_leader()) {
            Some(version) => Ok(self.ask_for(version)),
            None => Err(TurnEnd::Mine(None)),
        }
    }

    /// Asks the tab that renews for tokens newer than `version`, and waits for its broadcast.
    fn ask_for(&mut self, version: u64) -> Turn {
        self.post(Message::Need { version });
        let sleep = self.sleep(AWAIT_BROADCAST_MS);
        Turn::Awaiting { lock: None, sleep }
    }

    /// Whether this tab answers another's `need`: the leader without Web Locks; in `relogin`
    /// mode, the tab that holds the credentials.
    pub(super) fn renews_for_others(&self) -> bool {
        if self.config.refresh_credential == RefreshCredential::Relogin {
            self.session.credentials().is_some()
        } else {
            self.is_leader()
        }
    }

    /// The flow whose turn waits on `op`.
    fn turn_owner(&self, op: Op) -> Option<TurnOwner> {
        // Plain loops rather than iterator adapters: less wasm (see BENCHMARKS.md, size).
        for renewal in &self.renewals {
            if matches!(&renewal.stage, Stage::Turn(turn) if turn.holds(op)) {
                return Some(TurnOwner::Renewal(renewal.flight.ticket));
            }
        }
        match self.restore_stage() {
            Some(Stage::Turn(turn)) if turn.holds(op) => Some(TurnOwner::Restore),
            _ => None,
        }
    }

    /// `owner`'s turn, if its flow is taking one.
    fn turn(&self, owner: TurnOwner) -> Option<&Turn> {
        let stage = match owner {
            TurnOwner::Renewal(ticket) => {
                let mut found = None;
                for renewal in &self.renewals {
                    if renewal.flight.ticket == ticket {
                        found = Some(&renewal.stage);
                    }
                }
                found
            }
            TurnOwner::Restore => self.restore_stage(),
        };
        match stage {
            Some(Stage::Turn(turn)) => Some(turn),
            _ => None,
        }
    }

    /// The stage of `owner`'s flow.
    fn stage_mut(&mut self, owner: TurnOwner) -> Option<&mut Stage> {
        match owner {
            TurnOwner::Renewal(ticket) => self
                .renewals
                .iter_mut()
                .find(|r| r.flight.ticket == ticket)
                .map(|r| &mut r.stage),
            TurnOwner::Restore => self.restore_stage_mut(),
        }
    }

    fn set_turn(&mut self, owner: TurnOwner, turn: Turn) {
        if let Some(stage) = self.stage_mut(owner) {
            *stage = Stage::Turn(turn);
        }
    }

    /// The version `owner`'s flow renews from.
    fn before(&self, owner: TurnOwner) -> Option<u64> {
        match owner {
            TurnOwner::Renewal(ticket) => self
                .renewals
                .iter()
                .find(|r| r.flight.ticket == ticket)
                .and_then(|r| r.flight.before),
            TurnOwner::Restore => None,
        }
    }

    pub(super) fn turn_ended(&mut self, owner: TurnOwner, end: TurnEnd) {
        match owner {
            TurnOwner::Renewal(ticket) => self.renewal_turn_ended(ticket, end),
            TurnOwner::Restore => self.restore_turn_ended(end),
        }
    }

    /// The lock of `op` was granted: a marker a flow waits for, a marker that frees a refresh
    /// lock, or a turn's refresh lock; a lock nobody waits for any more is let go.
    pub(super) fn on_lock_granted(&mut self, op: Op) {
        if let Some(ticket) = self.renewal_marking(op) {
            return self.renewal_marked(ticket);
        }
        if self.restore_marking(op) {
            return self.restore_marked();
        }
        if let Some(marker) = self.marker.as_mut().filter(|m| m.op == op) {
            let lock = marker.then_release.take();
            return self.release(lock);
        }
        let owner = self.turn_owner(op);
        let locking = owner.and_then(|owner| self.turn(owner)).is_some_and(
            |t| matches!(t, Turn::Locking { lock, .. } | Turn::Probing { lock, .. } if *lock == op),
        );
        if let (Some(owner), true) = (owner, locking) {
            let query = self.issue(OpKind::Query);
            self.effects.push(Effect::Query(query));
            return self.set_turn(owner, Turn::Querying { lock: op, query });
        }
        self.release(Some(op));
    }

    /// The lock request `op` failed (or the lock was taken away).
    pub(super) fn on_lock_failed(&mut self, op: Op) {
        if self.marker.as_ref().is_some_and(|m| m.op == op) {
            self.drop_marker();
        }
        if let Some(ticket) = self.renewal_marking(op) {
            return self.renewal_marked(ticket);
        }
        if self.restore_marking(op) {
            return self.restore_marked();
        }
        if let Some(owner) = self.turn_owner(op) {
            // The turn's refresh lock failed, or was stolen from it: no turn.
            self.release(self.turn_lock(owner).filter(|l| *l != op));
            let error = AuthError::no_turn("the cross-tab refresh lock could not be taken");
            self.turn_ended(owner, TurnEnd::Unavailable(error));
        }
    }

    fn turn_lock(&self, owner: TurnOwner) -> Option<Op> {
        self.turn(owner).and_then(Turn::lock)
    }

    /// The answer to the query `op`: which locks are held by any tab.
    pub(super) fn on_locks_held<'a>(&mut self, op: Op, names: impl IntoIterator<Item = &'a str>) {
        let Some(owner) = self.turn_owner(op) else {
            return;
        };
        let (lock, probing) = match self.stage_mut(owner) {
            Some(Stage::Turn(Turn::Querying { lock, .. })) => (*lock, false),
            Some(Stage::Turn(Turn::Probing { lock, probe })) if *probe == op => (*lock, true),
            _ => return,
        };
        if probing {
            return self.probed(owner, lock, names);
        }
        let newest = newest_marker(&self.api_origin, names);
        match after_lock(self.before(owner), self.session.version(), newest) {
            AfterLock::AlreadyRenewed => {
                self.release(Some(lock));
                self.turn_ended(owner, TurnEnd::Adopted);
            }
            AfterLock::AwaitVersion(_) => {
                self.post(Message::Ask);
                let sleep = self.sleep(AWAIT_BROADCAST_MS);
                let lock = Some(lock);
                self.set_turn(owner, Turn::Awaiting { lock, sleep });
            }
            AfterLock::Renew => self.turn_ended(owner, TurnEnd::Mine(Some(lock))),
        }
    }

    /// A sleep of a turn ended: the wait for the refresh lock has lasted [`LOCK_WAIT_MS`] (the
    /// locks are probed), or the wait for a broadcast is over.
    pub(super) fn on_turn_sleep(&mut self, op: Op) {
        let Some(owner) = self.turn_owner(op) else {
            // The sleep of a turn that has moved on (the lock came in time).
            return;
        };
        let lock_wait = match self.turn(owner) {
            Some(Turn::Locking { lock, timeout }) if *timeout == op => Some(*lock),
            _ => None,
        };
        if let Some(lock) = lock_wait {
            let probe = self.issue(OpKind::Query);
            self.effects.push(Effect::Query(probe));
            return self.set_turn(owner, Turn::Probing { lock, probe });
        }
        if let Some(end) = self.awaited(owner, true) {
            self.turn_ended(owner, end);
        }
    }

    /// The probe of a turn that waited [`LOCK_WAIT_MS`] for the refresh lock answered. Another
    /// holds the lock (this tab's own request is not granted, so it is not the holder): a tab
    /// frozen in the middle of a renewal, or a script that took the lock's name, may never let
    /// go, so the turn gives up — its request dropped, the session kept, the next renewal
    /// trying again after the backoff. Nobody holds it: the grant is on its way; wait again.
    /// The wait is probed rather than timed alone because a page's clock can jump (a
    /// laptop's sleep, a test's fake clock) past the wait while the grant is still queued.
    fn probed<'a>(&mut self, owner: TurnOwner, lock: Op, names: impl IntoIterator<Item = &'a str>) {
        let refresh = refresh_lock_name(&self.api_origin);
        if names.into_iter().any(|name| name == refresh) {
            self.release(Some(lock));
            let error = AuthError::no_turn(
                "another tab has held the cross-tab refresh lock for 10 s (a tab frozen in the \
                 middle of a renewal, or another script using the lock's name)",
            );
            return self.turn_ended(owner, TurnEnd::Unavailable(error));
        }
        let timeout = self.sleep(LOCK_WAIT_MS);
        self.set_turn(owner, Turn::Locking { lock, timeout });
    }

    /// An awaiting turn asked again: adopted when tokens newer than its `before` are held;
    /// unavailable when the session ended, the channel closed or (`timed_out`) the wait is
    /// over; `None`: keep waiting (or not an awaiting turn).
    fn awaited(&mut self, owner: TurnOwner, timed_out: bool) -> Option<TurnEnd> {
        let before = self.before(owner);
        let lock = match self.stage_mut(owner)? {
            Stage::Turn(Turn::Awaiting { lock, .. }) => *lock,
            _ => return None,
        };
        let version = self.session.version();
        let end = if version > before {
            TurnEnd::Adopted
        } else if timed_out || (before.is_some() && version.is_none()) || !self.channel.open {
            TurnEnd::Unavailable(AuthError::no_turn(
                "another tab renews the session, but its new tokens did not arrive",
            ))
        } else {
            return None;
        };
        self.release(lock);
        Some(end)
    }

    /// The tokens changed or ended, or the channel closed: every flow waiting for newer tokens
    /// looks again (the awaiting turns, `restore()`'s ask).
    pub(super) fn versions_changed(&mut self) {
        let mut awaiting = alloc::vec::Vec::new();
        for renewal in &self.renewals {
            if let Stage::Turn(Turn::Awaiting { .. }) = renewal.stage {
                awaiting.push(TurnOwner::Renewal(renewal.flight.ticket));
            }
        }
        if let Some(Stage::Turn(Turn::Awaiting { .. })) = self.restore_stage() {
            awaiting.push(TurnOwner::Restore);
        }
        for owner in awaiting {
            if let Some(end) = self.awaited(owner, false) {
                self.turn_ended(owner, end);
            }
        }
        if self.restore_is_asking() && (self.session.is_authenticated() || !self.channel.open) {
            self.restore_asked();
        }
    }
}
