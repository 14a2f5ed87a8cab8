//! Calls through the interceptor (DESIGN rules 4, 5, 8, 9 and 13): the hot path that needs no
//! tracking, and the calls the core tracks — the ones that wait for a renewal, carry a one-shot
//! body, or were answered 401 by the API.
use super::renewal::Waiter;
use super::{with_server, CallAnswer, Caller, Client, Effect, InputError, Outcome};
use crate::core::answer::ServerSaid;
use crate::core::call::{Call, CallStep};
use crate::core::error::{AuthError, ErrorCode};
use crate::core::token::TokenGeneration;

/// A call the core tracks: its state machine, what its last 401 said, and whether an attempt
/// is out (a `Send` effect the edge has not reported on yet).
#[derive(Debug)]
pub(super) struct TrackedCall {
    caller: Caller,
    call: Call,
    said: ServerSaid,
    sending: bool,
}

impl Client {
    /// A call to an allowed origin at `now_ms` (the edge checked [`Client::allows`]). The hot
    /// path: `Some(generation)` when it can go out now with the bearer of that token
    /// generation — its body can be sent again, and the token is not due for renewal — and the
    /// core keeps nothing of it; a 401 from the API comes back through
    /// [`Client::hot_unauthorized`]. `None`: the core tracks it as `caller` from here, and its
    /// effects say what happens (a renewal first, a send, a rejection such as
    /// `not_authenticated`). `replayable` is false for a one-shot body (a `ReadableStream`).
    ///
    /// Errors: [`InputError::CallerInUse`] when `caller` already names a tracked call.
    pub fn call(
        &mut self,
        now_ms: u64,
        caller: Caller,
        replayable: bool,
    ) -> Result<Option<TokenGeneration>, InputError> {
        self.now = now_ms;
        self.new_caller(caller)?;
        let mut call = Call::new(replayable);
        match call.next(&mut self.session, now_ms) {
            CallStep::Send(generation) if replayable => Ok(Some(generation)),
            step => {
                self.track(caller, call);
                self.step_call(caller, step);
                Ok(None)
            }
        }
    }

    /// A call sent on the hot path with `generation` was answered 401 by the API, whose body
    /// said `said`: the core tracks it from here as `caller` (a renewal and a retry, or the
    /// session's end).
    ///
    /// Errors: [`InputError::CallerInUse`] when `caller` already names a tracked call.
    pub fn hot_unauthorized(
        &mut self,
        now_ms: u64,
        caller: Caller,
        generation: TokenGeneration,
        said: ServerSaid,
    ) -> Result<(), InputError> {
        self.now = now_ms;
        self.new_caller(caller)?;
        self.track(caller, Call::sent_once(true, generation));
        self.unauthorized(caller, said);
        Ok(())
    }

    /// A tracked call's attempt (its last [`Effect::Send`]) came back.
    ///
    /// Errors: [`InputError::UnknownCaller`] when no attempt of `caller` is out.
    pub fn call_answered(
        &mut self,
        now_ms: u64,
        caller: Caller,
        answer: CallAnswer,
    ) -> Result<(), InputError> {
        self.now = now_ms;
        self.sent(caller)?;
        match answer {
            CallAnswer::Response => self.finish_call(caller, Outcome::Response),
            CallAnswer::Failed => self.finish_call(caller, Outcome::FetchFailed),
            CallAnswer::Unauthorized(said) => self.unauthorized(caller, said),
        }
        Ok(())
    }

    /// The edge could not make the attempt an [`Effect::Send`] asked for: the body could not
    /// be copied again (`body_not_replayable`), or the session no longer holds a token of that
    /// generation (`not_authenticated`: it ended while the effects were drained).
    ///
    /// Errors: [`InputError::UnknownCaller`] when no attempt of `caller` is out.
    pub fn call_unsendable(&mut self, now_ms: u64, caller: Caller) -> Result<(), InputError> {
        self.now = now_ms;
        let generation = self.sent(caller)?;
        let code = if self.bearer(generation).is_some() {
            ErrorCode::BodyNotReplayable
        } else {
            ErrorCode::NotAuthenticated
        };
        self.finish_call(caller, Outcome::error(AuthError::new(code)));
        Ok(())
    }

    fn new_caller(&self, caller: Caller) -> Result<(), InputError> {
        match self.calls.iter().any(|c| c.caller == caller) {
            true => Err(InputError::CallerInUse(caller)),
            false => Ok(()),
        }
    }

    fn track(&mut self, caller: Caller, call: Call) {
        self.calls.push(TrackedCall {
            caller,
            call,
            said: ServerSaid::default(),
            sending: false,
        });
    }

    /// The attempt of `caller` came back: it is no longer out. The generation it was sent
    /// with.
    fn sent(&mut self, caller: Caller) -> Result<TokenGeneration, InputError> {
        let tracked = self
            .calls
            .iter_mut()
            .find(|c| c.caller == caller && c.sending)
            .ok_or(InputError::UnknownCaller(caller))?;
        tracked.sending = false;
        Ok(tracked.call.generation())
    }

    fn unauthorized(&mut self, caller: Caller, said: ServerSaid) {
        let Some(tracked) = self.calls.iter_mut().find(|c| c.caller == caller) else {
            return;
        };
        let step = tracked
            .call
            .unauthorized(&mut self.session, said.code.as_deref(), self.now);
        tracked.said = said;
        self.step_call(caller, step);
    }

    /// The renewal a tracked call waited for ended.
    pub(super) fn call_renewed(&mut self, caller: Caller, outcome: Result<(), AuthError>) {
        let Some(tracked) = self.calls.iter_mut().find(|c| c.caller == caller) else {
            return;
        };
        let step = match outcome {
            Ok(()) => tracked.call.renewed(&mut self.session, self.now),
            Err(error) => match tracked.call.renewal_failed(&mut self.session, self.now) {
                Some(step) => step,
                None => return self.finish_call(caller, Outcome::error(error)),
            },
        };
        self.step_call(caller, step);
    }

    /// Carries out one step of a tracked call.
    fn step_call(&mut self, caller: Caller, step: CallStep) {
        match step {
            CallStep::Send(generation) => {
                if let Some(tracked) = self.calls.iter_mut().find(|c| c.caller == caller) {
                    tracked.sending = true;
                }
                self.effects.push(Effect::Send { caller, generation });
            }
            CallStep::Renew => self.renew(Some(Waiter::Call(caller))),
            CallStep::Reject(ErrorCode::SessionExpired) => self.call_expired(caller),
            CallStep::Reject(code) => {
                self.finish_call(caller, Outcome::error(AuthError::new(code)))
            }
            CallStep::End(reason) => {
                self.end_session(reason);
                self.call_expired(caller);
            }
            CallStep::Respond => self.finish_call(caller, Outcome::Response),
        }
    }

    /// Rejects a call `session_expired` (always after a 401), with what that 401 said.
    fn call_expired(&mut self, caller: Caller) {
        let said = self
            .calls
            .iter_mut()
            .find(|c| c.caller == caller)
            .map(|c| core::mem::take(&mut c.said))
            .unwrap_or_default();
        let error = with_server(ErrorCode::SessionExpired, 401, said);
        self.finish_call(caller, Outcome::error(error));
    }

    fn finish_call(&mut self, caller: Caller, outcome: Outcome) {
        self.calls.retain(|c| c.caller != caller);
        self.settle(caller, outcome);
    }
}
