//! One call through the interceptor as a state machine (DESIGN rules 4, 5, 8 and 9).
//!
//! A [`Call`] owns its counters — requests sent, renewals waited for, the token generation of
//! the last send — and answers, at each step, what the edge must do next: send with a token
//! generation, wait for the renewal, reject, or end the session. The edge never counts: it
//! reports what happened (`renewed`, `renewal_failed`, `unauthorized`) and does what it is told.
//! That is what bounds a call that always gets 401 to `1 + maxRetries` requests (rule 9), and
//! the no-loop tests below drive this very machine.
use super::error::ErrorCode;
use super::session::{EndReason, SendDecision, Session, UnauthorizedDecision};
use super::token::TokenGeneration;

/// What the edge must do next for a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStep {
    /// Send a copy of the call's snapshot with the access token of this generation.
    Send(TokenGeneration),
    /// Wait for the renewal (join the one in flight or start one), then report
    /// [`Call::renewed`] or [`Call::renewal_failed`].
    Renew,
    /// Reject the caller with this code; nothing more is sent.
    Reject(ErrorCode),
    /// End the session for this reason (event, redirect), then reject `session_expired`.
    End(EndReason),
    /// Hand the last answer to the caller as it is (a 401 for an older token, no retry left).
    Respond,
}

/// Whether an answer with `status` speaks for the API about the session: a 401 from an allowed
/// origin (`from_allowed_origin` is asked only for a 401). A 401 from elsewhere — a cross-origin
/// redirect's target — is returned to the caller as it is and never ends the session (rule 13).
pub fn speaks_for_api(status: u16, from_allowed_origin: impl FnOnce() -> bool) -> bool {
    status == 401 && from_allowed_origin()
}

/// One call to an allowed origin, from its first decision to its last answer.
#[derive(Clone, Debug)]
pub struct Call {
    /// Whether the request can be sent more than once (false: a `ReadableStream` body).
    replayable: bool,
    /// Requests sent so far.
    sent: u32,
    /// Renewals this call waited for, before its first send or after a 401.
    renewals: u32,
    /// The token generation of the last send.
    generation: TokenGeneration,
}

impl Call {
    /// A call not sent yet; `replayable` is false when its body can be read only once.
    pub fn new(replayable: bool) -> Self {
        Call {
            replayable,
            sent: 0,
            renewals: 0,
            generation: TokenGeneration::default(),
        }
    }

    /// A call already sent once with tokens of `generation` (the hot path hands its call over
    /// here when the answer is a 401).
    pub fn sent_once(replayable: bool, generation: TokenGeneration) -> Self {
        Call {
            sent: 1,
            generation,
            ..Call::new(replayable)
        }
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// The token generation of the last send.
    pub fn generation(&self) -> TokenGeneration {
        self.generation
    }

    /// The next step at `now_ms` (ms since the epoch): send, renew first (once per call at
    /// most), or reject. A second send of a body that cannot be replayed is refused with
    /// `body_not_replayable` (rule 8).
    pub fn next(&mut self, session: &mut Session, now_ms: u64) -> CallStep {
        if self.sent > 0 && !self.replayable {
            return CallStep::Reject(ErrorCode::BodyNotReplayable);
        }
        match session.before_send(now_ms, self.renewals == 0) {
            SendDecision::NotAuthenticated => CallStep::Reject(ErrorCode::NotAuthenticated),
            SendDecision::RenewFirst => {
                self.renewals += 1;
                CallStep::Renew
            }
            SendDecision::Send(generation) => {
                self.sent += 1;
                self.generation = generation;
                CallStep::Send(generation)
            }
        }
    }

    /// The renewal this call waited for succeeded: the next step.
    pub fn renewed(&mut self, session: &mut Session, now_ms: u64) -> CallStep {
        self.next(session, now_ms)
    }

    /// The renewal this call waited for failed. Before the first send, a token that is still
    /// valid at `now_ms` is used anyway (being offline logs no one out, rule 7): `Some(step)`.
    /// After a 401 the call is over: `None`, and the edge rejects with the renewal's error.
    pub fn renewal_failed(&mut self, session: &mut Session, now_ms: u64) -> Option<CallStep> {
        (self.sent == 0 && session.may_send_after_failed_renewal(now_ms))
            .then(|| self.next(session, now_ms))
    }

    /// The last send was answered 401 with `server_code` (at `errorCodePath`): renew and retry,
    /// retry with a newer token already held, end the session, or reject (rule 5).
    pub fn unauthorized(
        &mut self,
        session: &mut Session,
        server_code: Option<&str>,
        now_ms: u64,
    ) -> CallStep {
        let retries = self.sent.saturating_sub(1);
        match session.on_unauthorized(self.generation, server_code, retries, self.renewals) {
            UnauthorizedDecision::RetryWithCurrent => self.next(session, now_ms),
            UnauthorizedDecision::ReturnAnswer => CallStep::Respond,
            UnauthorizedDecision::RenewThenRetry => {
                self.renewals += 1;
                CallStep::Renew
            }
            UnauthorizedDecision::EndSession(reason) => CallStep::End(reason),
            UnauthorizedDecision::AlreadyEnded => CallStep::Reject(ErrorCode::SessionExpired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::session::tests::{grant, logged_in, policy, T0};
    use crate::core::SessionPolicy;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const S: u64 = 1000;

    /// Drives `call` against a server that answers every request 401 with `code`, renewing
    /// successfully whenever asked; returns (requests, renewals, the last step).
    fn against_always_401(s: &mut Session, mut call: Call, code: &str) -> (u32, u32, CallStep) {
        let mut renewals = 0;
        let mut step = call.next(s, T0);
        for _ in 0..20 {
            step = match step {
                CallStep::Send(_) => call.unauthorized(s, Some(code), T0),
                CallStep::Renew => {
                    let id = s.start_renewal().expect("one renewal in flight");
                    renewals += 1;
                    assert!(s.renewal_succeeded(id, grant(3600.0, Some("r")), T0));
                    call.renewed(s, T0)
                }
                done => return (call.sent(), renewals, done),
            };
        }
        panic!("the call did not stop: {call:?}");
    }

    #[test]
    fn always_401_costs_two_requests_and_one_renewal() {
        let mut s = logged_in(policy(), 3600.0);
        let (requests, renewals, last) = against_always_401(&mut s, Call::new(true), "AUTH_006");
        assert_eq!((requests, renewals), (2, 1));
        assert_eq!(last, CallStep::End(EndReason::SessionExpired));
    }

    #[test]
    fn always_401_with_max_retries_three_costs_four_requests() {
        let policy = SessionPolicy {
            max_retries: 3,
            ..policy()
        };
        let mut s = logged_in(policy, 3600.0);
        let (requests, renewals, last) = against_always_401(&mut s, Call::new(true), "AUTH_006");
        assert_eq!((requests, renewals), (4, 3));
        assert_eq!(last, CallStep::End(EndReason::SessionExpired));
    }

    #[test]
    fn an_invalid_token_ends_the_session_after_one_request() {
        let mut s = logged_in(policy(), 3600.0);
        let (requests, renewals, last) = against_always_401(&mut s, Call::new(true), "AUTH_005");
        assert_eq!((requests, renewals), (1, 0));
        assert_eq!(last, CallStep::End(EndReason::InvalidToken));
    }

    #[test]
    fn a_stream_body_is_renewed_for_but_not_sent_twice() {
        let mut s = logged_in(policy(), 3600.0);
        let (requests, renewals, last) = against_always_401(&mut s, Call::new(false), "AUTH_006");
        assert_eq!((requests, renewals), (1, 1));
        assert_eq!(last, CallStep::Reject(ErrorCode::BodyNotReplayable));
    }

    #[test]
    fn a_call_that_renewed_before_sending_does_not_renew_again() {
        let mut s = logged_in(policy(), 3600.0);
        let mut call = Call::new(true);
        // Inside the lead window: renew first.
        let late = s.expires_at_ms().unwrap() - 10 * S;
        assert_eq!(call.next(&mut s, late), CallStep::Renew);
        let id = s.start_renewal().unwrap();
        assert!(s.renewal_succeeded(id, grant(3600.0, Some("r2")), late));
        let CallStep::Send(generation) = call.renewed(&mut s, late) else {
            panic!("not sent after the renewal");
        };
        assert_eq!(generation, s.generation());
        assert_eq!(
            call.unauthorized(&mut s, Some("AUTH_006"), late),
            CallStep::End(EndReason::SessionExpired)
        );
    }

    #[test]
    fn a_failed_renewal_before_the_first_send_uses_a_still_valid_token() {
        let mut s = logged_in(policy(), 3600.0);
        let late = s.expires_at_ms().unwrap() - 10 * S;
        let mut call = Call::new(true);
        assert_eq!(call.next(&mut s, late), CallStep::Renew);
        assert_eq!(
            call.renewal_failed(&mut s, late),
            Some(CallStep::Send(s.generation()))
        );
        // After a 401 a failed renewal ends the call.
        let mut call = Call::sent_once(true, s.generation());
        assert_eq!(
            call.unauthorized(&mut s, Some("AUTH_006"), late),
            CallStep::Renew
        );
        assert_eq!(call.renewal_failed(&mut s, late), None);
        // An expired token is not used.
        let mut call = Call::new(true);
        let after = s.expires_at_ms().unwrap() + S;
        assert_eq!(call.next(&mut s, after), CallStep::Renew);
        assert_eq!(call.renewal_failed(&mut s, after), None);
    }

    #[test]
    fn a_401_for_an_older_generation_is_resent_without_renewing() {
        let mut s = logged_in(policy(), 3600.0);
        let mut call = Call::sent_once(true, s.generation());
        let id = s.start_renewal().unwrap();
        assert!(s.renewal_succeeded(id, grant(3600.0, Some("r2")), T0 + S));
        assert_eq!(
            call.unauthorized(&mut s, Some("AUTH_006"), T0 + S),
            CallStep::Send(s.generation())
        );
        assert_eq!(call.sent(), 2);
    }

    #[test]
    fn no_session_is_rejected_unsent_and_an_ended_one_after_a_401() {
        let mut s = Session::new(policy());
        let mut call = Call::new(true);
        assert_eq!(
            call.next(&mut s, T0),
            CallStep::Reject(ErrorCode::NotAuthenticated)
        );
        assert_eq!(call.sent(), 0);
        let mut s = logged_in(policy(), 3600.0);
        let mut call = Call::sent_once(true, s.generation());
        s.end(EndReason::User);
        assert_eq!(
            call.unauthorized(&mut s, Some("AUTH_006"), T0),
            CallStep::Reject(ErrorCode::SessionExpired)
        );
    }

    #[test]
    fn with_max_retries_zero_a_401_for_an_older_token_is_returned_and_the_session_kept() {
        let policy = SessionPolicy {
            max_retries: 0,
            ..policy()
        };
        let mut s = logged_in(policy, 3600.0);
        let mut call = Call::new(true);
        let CallStep::Send(sent) = call.next(&mut s, T0) else {
            panic!("not sent");
        };
        let id = s.start_renewal().unwrap();
        assert!(s.renewal_succeeded(id, grant(3600.0, Some("r2")), T0 + S));
        assert!(s.generation() > sent);
        assert_eq!(
            call.unauthorized(&mut s, Some("AUTH_006"), T0 + S),
            CallStep::Respond
        );
        assert!(s.is_authenticated());
        assert_eq!(call.sent(), 1);
    }

    #[test]
    fn max_retries_zero_never_retries() {
        let policy = SessionPolicy {
            max_retries: 0,
            ..policy()
        };
        let mut s = logged_in(policy, 3600.0);
        let (requests, renewals, last) = against_always_401(&mut s, Call::new(true), "AUTH_006");
        assert_eq!((requests, renewals), (1, 0));
        assert_eq!(last, CallStep::End(EndReason::SessionExpired));
    }
}
