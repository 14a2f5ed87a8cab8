//! The single renewal flight (DESIGN rules 6 and 7): joined by every waiter, carried through
//! its cross-tab turn, its request and its version marker, and ended by a verdict on its
//! answer.
use alloc::vec::Vec;

use super::turn::{Stage, TurnEnd};
use super::{with_server, Body, Caller, Client, Effect, Event, Op, OpKind, Outcome, Request};
use crate::core::answer::{Answer, Verdict, MAX_RETRY_AFTER_MS};
use crate::core::config::{RefreshCredential, RefreshMethod};
use crate::core::error::{AuthError, ErrorCode};
use crate::core::refresh::{RefreshFailure, RefreshVerdict};
use crate::core::session::{EndReason, RenewalTicket};

/// Who waits for a renewal.
#[derive(Clone, Copy, Debug)]
pub(super) enum Waiter {
    /// `refresh()`.
    Caller(Caller),
    /// A call the core tracks.
    Call(Caller),
}

/// The renewal flight, or one detached from an ended session and finishing stale: where it is.
#[derive(Debug)]
pub(super) struct Renewal {
    pub(super) flight: Flight,
    pub(super) stage: Stage,
}

/// What a renewal is, wherever it is.
#[derive(Debug)]
pub(super) struct Flight {
    pub(super) ticket: RenewalTicket,
    /// The version held when it started.
    pub(super) before: Option<u64>,
    waiters: Vec<Waiter>,
}

impl Client {
    /// Joins the renewal in flight or starts one (single flight, DESIGN rule 6); `waiter` is
    /// told how it ends.
    pub(super) fn renew(&mut self, waiter: Option<Waiter>) {
        let flight = self.session.renewal_in_flight();
        if let Some(renewal) = self
            .renewals
            .iter_mut()
            .find(|r| Some(r.flight.ticket) == flight)
        {
            renewal.flight.waiters.extend(waiter);
            return;
        }
        let Some(ticket) = self.session.start_renewal() else {
            let error = if !self.session.is_authenticated() {
                AuthError::new(ErrorCode::NotAuthenticated)
            } else if !self.config.can_renew() {
                AuthError::invalid_config(
                    "refreshPath",
                    "renewal needs a refreshPath or refreshCredential \"relogin\"",
                )
            } else {
                AuthError::new(ErrorCode::Network)
            };
            if let Some(waiter) = waiter {
                self.resume(waiter, Err(error));
            }
            return;
        };
        // The timer is disarmed while a renewal is in flight (`Session::poll_timeout`).
        self.arm_timer();
        let before = self.session.version();
        let flight = Flight {
            ticket,
            before,
            waiters: Vec::from_iter(waiter),
        };
        match self.take_turn(before) {
            Ok(turn) => self.renewals.push(Renewal {
                flight,
                stage: Stage::Turn(turn),
            }),
            Err(end) => self.flight_turn_ended(flight, end),
        }
    }

    fn take_renewal(&mut self, ticket: RenewalTicket) -> Option<Renewal> {
        let i = self
            .renewals
            .iter()
            .position(|r| r.flight.ticket == ticket)?;
        Some(self.renewals.swap_remove(i))
    }

    /// The renewal whose request is `op`.
    pub(super) fn renewal_requesting(&self, op: Op) -> Option<RenewalTicket> {
        self.renewals
            .iter()
            .find(|r| matches!(r.stage, Stage::Requesting { request, .. } if request == op))
            .map(|r| r.flight.ticket)
    }

    /// The renewal waiting for marker `op`.
    pub(super) fn renewal_marking(&self, op: Op) -> Option<RenewalTicket> {
        self.renewals
            .iter()
            .find(|r| matches!(r.stage, Stage::Marking { marker, .. } if marker == op))
            .map(|r| r.flight.ticket)
    }

    pub(super) fn renewal_turn_ended(&mut self, ticket: RenewalTicket, end: TurnEnd) {
        if let Some(renewal) = self.take_renewal(ticket) {
            self.flight_turn_ended(renewal.flight, end);
        }
    }

    fn flight_turn_ended(&mut self, flight: Flight, end: TurnEnd) {
        let stale = self.session.renewal_in_flight() != Some(flight.ticket);
        if let (true, TurnEnd::Mine(lock)) = (stale, &end) {
            // The session it was for ended while it waited for its turn: it must not present
            // the refresh token of a newer session (found by the property tests).
            self.release(*lock);
            let error = AuthError::new(ErrorCode::NotAuthenticated);
            return self.resume_all(flight.waiters, Err(error));
        }
        match end {
            TurnEnd::Mine(lock) => match self.grant_request() {
                Ok(request) => {
                    let stage = Stage::Requesting {
                        request: request.op,
                        lock,
                    };
                    self.renewals.push(Renewal { flight, stage });
                    self.effects.push(Effect::Request(request));
                }
                Err(failure) => {
                    let error = AuthError::new(ErrorCode::SessionExpired);
                    self.renewal_failed(flight, lock, failure, error);
                }
            },
            TurnEnd::Adopted => {
                // The adoption already re-armed and emitted `refresh`.
                self.session.renewal_superseded(flight.ticket);
                self.arm_timer();
                self.resume_all(flight.waiters, Ok(()));
            }
            TurnEnd::Unavailable(error) => {
                self.renewal_failed(flight, None, RefreshFailure::Network, error)
            }
        }
    }

    /// The refresh request the way `refreshCredential` says (the repeated login in `relogin`
    /// mode). Errs when there is nothing to present: the session cannot be renewed.
    fn grant_request(&mut self) -> Result<Request, RefreshFailure> {
        let config = &self.config;
        let relogin = config.refresh_credential == RefreshCredential::Relogin;
        let path = if relogin {
            Some(&config.login_path)
        } else {
            config.refresh_path.as_ref()
        };
        let url = config.endpoint(path.ok_or(RefreshFailure::Unavailable)?);
        let method = match (relogin, config.refresh_method) {
            (true, _) | (_, RefreshMethod::Post) => "POST",
            (_, RefreshMethod::Get) => "GET",
        };
        let unavailable = RefreshFailure::Unavailable;
        let (body, bearer) = match config.refresh_credential {
            RefreshCredential::Body => (
                Body::RefreshToken {
                    field: config.refresh_body_field.clone(),
                    token: self.session.refresh_token().cloned().ok_or(unavailable)?,
                },
                None,
            ),
            RefreshCredential::Relogin => (
                Body::Credentials(self.session.credentials().cloned().ok_or(unavailable)?),
                None,
            ),
            RefreshCredential::Bearer if self.allows_endpoint(&url) => (
                Body::None,
                Some(self.session.access_token().cloned().ok_or(unavailable)?),
            ),
            RefreshCredential::Bearer => return Err(unavailable),
            RefreshCredential::Cookie => (Body::None, None),
        };
        Ok(Request {
            op: self.issue(OpKind::Request),
            url,
            method,
            body,
            bearer,
            include_credentials: self.cookie_mode(),
        })
    }

    pub(super) fn renewal_answered(&mut self, ticket: RenewalTicket, answer: Answer) {
        let Some(Renewal { flight, stage }) = self.take_renewal(ticket) else {
            return;
        };
        let lock = stage.lock();
        let grant = match answer.verdict() {
            Verdict::Granted(grant) => grant,
            Verdict::NoAnswer => {
                let error = AuthError::no_answer();
                return self.renewal_failed(flight, lock, RefreshFailure::Network, error);
            }
            Verdict::Refused(status, server) => {
                let retry_after = server.retry_after_ms;
                let error = with_server(ErrorCode::Network, status, server);
                self.renewal_failed(flight, lock, RefreshFailure::Status(status), error);
                // A 429 or 503 that says when to come back: not before then (capped).
                if let Some(ms) = retry_after {
                    let until = self.now.saturating_add(ms.min(MAX_RETRY_AFTER_MS));
                    if self.session.defer_retry(until) {
                        self.arm_timer();
                    }
                }
                return;
            }
            Verdict::Malformed(status, server) => {
                let error = with_server(ErrorCode::MalformedResponse, status, server);
                return self.renewal_failed(flight, lock, RefreshFailure::Malformed, error);
            }
        };
        if !self.session.renewal_succeeded(ticket, grant, self.now) {
            self.release(lock);
            let error = AuthError::new(ErrorCode::NotAuthenticated);
            return self.resume_all(flight.waiters, Err(error));
        }
        self.tokens_changed();
        // The other tabs learn the new tokens, and the marker proves the renewal, before the
        // refresh lock is released.
        self.repeat_session();
        match self.hold_marker() {
            Some(marker) => self.renewals.push(Renewal {
                flight,
                stage: Stage::Marking { marker, lock },
            }),
            None => self.renewal_done(flight, lock),
        }
    }

    /// The marker `op` of a renewal's new tokens is held.
    pub(super) fn renewal_marked(&mut self, ticket: RenewalTicket) {
        if let Some(renewal) = self.take_renewal(ticket) {
            let lock = renewal.stage.lock();
            self.renewal_done(renewal.flight, lock);
        }
    }

    /// A renewal succeeded and its tokens are marked: the lock goes, everyone hears.
    fn renewal_done(&mut self, flight: Flight, lock: Option<Op>) {
        self.release(lock);
        self.emit(Event::Refresh);
        self.resume_all(flight.waiters, Ok(()));
    }

    fn renewal_failed(
        &mut self,
        flight: Flight,
        lock: Option<Op>,
        failure: RefreshFailure,
        error: AuthError,
    ) {
        let jitter = self.jitter();
        let verdict = self
            .session
            .renewal_failed(flight.ticket, failure, self.now, jitter);
        let error = match verdict {
            RefreshVerdict::Stale => {
                self.release(lock);
                AuthError::new(ErrorCode::NotAuthenticated)
            }
            RefreshVerdict::Rejected => {
                let error = AuthError::new(ErrorCode::SessionExpired).with_server(
                    error.status,
                    error.server_code,
                    error.server_message,
                );
                self.end_session(EndReason::RefreshRejected);
                self.hold_end_marker(lock);
                error
            }
            RefreshVerdict::Transient { .. } => {
                let error = error.session_kept();
                self.release(lock);
                self.arm_timer();
                self.emit(Event::Error(error.clone()));
                error
            }
        };
        self.resume_all(flight.waiters, Err(error));
    }

    fn resume_all(&mut self, waiters: Vec<Waiter>, outcome: Result<(), AuthError>) {
        for waiter in waiters {
            self.resume(waiter, outcome.clone());
        }
    }

    /// Tells `waiter` how the renewal it waited for ended.
    pub(super) fn resume(&mut self, waiter: Waiter, outcome: Result<(), AuthError>) {
        match waiter {
            Waiter::Caller(caller) => match outcome {
                Ok(()) => self.settle(caller, Outcome::Done),
                Err(error) => self.settle(caller, Outcome::error(error)),
            },
            Waiter::Call(caller) => self.call_renewed(caller, outcome),
        }
    }
}
