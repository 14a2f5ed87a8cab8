//! `restore()`: resume a session without credentials — from a live tab that answers the ask,
//! else (`refreshCredential: "cookie"`) by one refresh call carrying the HttpOnly cookie, in
//! this tab's turn, so that several tabs reloading at once present the cookie once.
use alloc::{vec, vec::Vec};

use super::turn::{Stage, TurnEnd};
use super::{with_server, Body, Caller, Client, Effect, Event, OpKind, Outcome, Request};
use super::{Op, ASK_MS};
use crate::core::answer::{Answer, Verdict};
use crate::core::config::RefreshMethod;
use crate::core::crosstab::Message;
use crate::core::error::{AuthError, ErrorCode};
use crate::core::refresh::RefreshFailure;

/// `restore()` in progress; every caller gets its outcome.
#[derive(Debug)]
pub(super) struct Restore {
    callers: Vec<Caller>,
    stage: RestoreStage,
}

#[derive(Debug)]
enum RestoreStage {
    /// Asked the other tabs, waiting for a session until this sleep ends; `None` without the
    /// channel, where the cookie refresh follows at once.
    Asking(Option<Op>),
    /// The cookie refresh: its turn, request and marker.
    Cookie(Stage),
}

impl Client {
    pub(super) fn start_restore(&mut self, caller: Caller) {
        if let Some(restore) = &mut self.restore {
            restore.callers.push(caller);
            return;
        }
        if self.session.is_authenticated() {
            return self.settle(caller, Outcome::Bool(true));
        }
        let sleep = self.channel.open.then(|| {
            self.post(Message::Ask);
            self.sleep(ASK_MS)
        });
        self.restore = Some(Restore {
            callers: vec![caller],
            stage: RestoreStage::Asking(sleep),
        });
        if sleep.is_none() {
            self.restore_from_cookie();
        }
    }

    /// Whether `restore()` asks the other tabs, until the sleep `op` ends.
    pub(super) fn restore_asking(&self, op: Op) -> bool {
        matches!(&self.restore, Some(Restore { stage: RestoreStage::Asking(Some(s)), .. }) if *s == op)
    }

    pub(super) fn restore_is_asking(&self) -> bool {
        matches!(
            &self.restore,
            Some(Restore {
                stage: RestoreStage::Asking(_),
                ..
            })
        )
    }

    /// The ask of `restore()` timed out or was answered.
    pub(super) fn restore_asked(&mut self) {
        if self.session.is_authenticated() {
            return self.finish_restore(Outcome::Bool(true));
        }
        self.restore_from_cookie();
    }

    /// The cookie refresh, in this tab's turn; without the cookie mode there is nothing to
    /// resume from: `false`.
    fn restore_from_cookie(&mut self) {
        let cookie = self.config.refresh_path.is_some() && self.cookie_mode();
        if !cookie {
            return self.finish_restore(Outcome::Bool(false));
        }
        match self.take_turn(None) {
            Ok(turn) => self.set_restore_stage(Stage::Turn(turn)),
            Err(end) => self.restore_turn_ended(end),
        }
    }

    pub(super) fn restore_turn_ended(&mut self, end: TurnEnd) {
        match end {
            TurnEnd::Mine(lock) => {
                if self.session.is_authenticated() {
                    self.release(lock);
                    return self.finish_restore(Outcome::Bool(true));
                }
                let Some(path) = self.config.refresh_path.as_ref() else {
                    self.release(lock);
                    return self.finish_restore(Outcome::Bool(false));
                };
                let url = self.config.endpoint(path);
                let method = match self.config.refresh_method {
                    RefreshMethod::Post => "POST",
                    RefreshMethod::Get => "GET",
                };
                let op = self.issue(OpKind::Request);
                self.set_restore_stage(Stage::Requesting { request: op, lock });
                self.effects.push(Effect::Request(Request {
                    op,
                    url,
                    method,
                    body: Body::None,
                    bearer: None,
                    include_credentials: true,
                }));
            }
            TurnEnd::Adopted => self.finish_restore(Outcome::Bool(true)),
            TurnEnd::Unavailable(error) => self.finish_restore(Outcome::error(error)),
        }
    }

    /// Whether the cookie refresh's request is `op`.
    pub(super) fn restore_requesting(&self, op: Op) -> bool {
        matches!(self.restore_stage(), Some(Stage::Requesting { request, .. }) if *request == op)
    }

    pub(super) fn restore_answered(&mut self, answer: Answer) {
        let lock = self.restore_stage().and_then(Stage::lock);
        let error = match answer.verdict() {
            // A login that finished meanwhile wins: its tokens are the newer ones.
            Verdict::Granted(_) if self.session.is_authenticated() => {
                self.release(lock);
                return self.finish_restore(Outcome::Bool(true));
            }
            Verdict::Granted(grant) => {
                self.session.establish(grant, None, self.now);
                self.tokens_changed();
                self.repeat_session();
                return match self.hold_marker() {
                    Some(marker) => self.set_restore_stage(Stage::Marking { marker, lock }),
                    None => self.restore_done(lock),
                };
            }
            Verdict::NoAnswer => AuthError::no_answer(),
            Verdict::Refused(status, _) if RefreshFailure::Status(status).is_rejection() => {
                self.release(lock);
                return self.finish_restore(Outcome::Bool(false));
            }
            Verdict::Refused(status, server) => with_server(ErrorCode::Network, status, server),
            Verdict::Malformed(status, server) => {
                with_server(ErrorCode::MalformedResponse, status, server)
            }
        };
        self.release(lock);
        self.finish_restore(Outcome::error(error));
    }

    /// Whether the cookie refresh waits for the marker `op`.
    pub(super) fn restore_marking(&self, op: Op) -> bool {
        matches!(self.restore_stage(), Some(Stage::Marking { marker, .. }) if *marker == op)
    }

    pub(super) fn restore_marked(&mut self) {
        let lock = self.restore_stage().and_then(Stage::lock);
        self.restore_done(lock);
    }

    fn restore_done(&mut self, lock: Option<Op>) {
        self.release(lock);
        self.emit(Event::Login { restored: true });
        self.finish_restore(Outcome::Bool(true));
    }

    /// `logout()` during `restore()`: it resolves `false` now, a lock it holds (or waits for)
    /// is released, and its answer (if one comes) is dropped.
    pub(super) fn cancel_restore(&mut self) {
        if self.restore.is_none() {
            return;
        }
        let lock = self.restore_stage().and_then(Stage::lock);
        self.release(lock);
        self.finish_restore(Outcome::Bool(false));
    }

    fn finish_restore(&mut self, outcome: Outcome) {
        let Some(restore) = self.restore.take() else {
            return;
        };
        for caller in restore.callers {
            let outcome = match &outcome {
                Outcome::Bool(b) => Outcome::Bool(*b),
                Outcome::Error { error, .. } => Outcome::error(error.clone()),
                _ => Outcome::Done,
            };
            self.settle(caller, outcome);
        }
    }

    fn set_restore_stage(&mut self, stage: Stage) {
        if let Some(restore) = &mut self.restore {
            restore.stage = RestoreStage::Cookie(stage);
        }
    }

    /// The cookie refresh's stage, if `restore()` is that far.
    pub(super) fn restore_stage(&self) -> Option<&Stage> {
        match &self.restore {
            Some(Restore {
                stage: RestoreStage::Cookie(stage),
                ..
            }) => Some(stage),
            _ => None,
        }
    }

    pub(super) fn restore_stage_mut(&mut self) -> Option<&mut Stage> {
        match &mut self.restore {
            Some(Restore {
                stage: RestoreStage::Cookie(stage),
                ..
            }) => Some(stage),
            _ => None,
        }
    }
}
