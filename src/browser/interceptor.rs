//! The `fetch` interceptor (DESIGN rules 4, 5, 8, 9, 10 and 13).
//!
//! `auth.fetch(input, init)` turns its arguments into a [`Snapshot`] before it returns, decides
//! the allowlist on the snapshot's URL and asks the core's [`Call`] what to do. A call to an
//! allowed origin with a usable token — nearly every call — is decided in that one synchronous
//! step: it returns the captured `fetch`'s promise chained to the driver's module-wide answer
//! handler, with the call's snapshot and token generation bound to it by
//! `Function.prototype.bind`; no Rust future, `JsFuture` or `Closure` is made per call. A 401
//! from the API, a call that must wait for a renewal first and a one-shot stream body continue
//! in the core as slow-path calls, whose steps the driver carries out.
use crate::core::call::speaks_for_api;
use crate::core::client::Caller;
use crate::core::{AuthError, Call, CallStep, TokenGeneration};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Request, Response};

use super::client::Inner;
use super::driver::{dispatch, Handler, Kind, Pending};
use super::error::to_js;
use super::js::{get, global, set, url_allowed, Shared};
use super::snapshot::Snapshot;

impl Inner {
    /// `auth.fetch(input, init)`: see [`super::AuthClient::fetch`].
    pub(super) fn fetch(&self, input: &JsValue, init: &JsValue) -> Promise {
        let snapshot = match Snapshot::take(input, init) {
            Ok(snapshot) => snapshot,
            Err(thrown) => return Promise::reject(&thrown),
        };
        if !self.allows(&snapshot.url()) {
            // Untouched, to the captured fetch, as `fetch(input, init)` would send it.
            return self.send(snapshot.request());
        }
        let mut call = Call::new(snapshot.replayable());
        let step = call.next(self.core.mutate().session_mut(), super::js::now_ms());
        if let (CallStep::Send(generation), true) = (step, snapshot.replayable()) {
            if let Some(request) = self
                .bearer_for(generation)
                .and_then(|b| snapshot.attempt(&b))
            {
                let [hot, _, failed] = dispatch();
                let tag = JsValue::from(self.hot_tag(generation.0));
                let on_answer =
                    hot.unchecked_ref::<Handler>()
                        .bind(&JsValue::NULL, &tag, snapshot.request());
                return self
                    .send(&request)
                    .unchecked_ref::<Pending>()
                    .then(&on_answer, &failed);
            }
        }
        // The slow path: the call continues in the core.
        let (caller, promise) = self.io.mutate().caller();
        self.keep_snapshot(caller, snapshot);
        self.input(|core| core.call(caller, call, step));
        promise
    }

    /// A hot-path answer: the response unless it is a 401 from the API, whose call continues
    /// in the core as a call sent once with tokens of `generation`.
    pub(super) fn answered(
        &self,
        snapshot: JsValue,
        generation: u32,
        response: JsValue,
    ) -> JsValue {
        // A 401 is read from a copy: the response itself may still go to the caller.
        let Some(body) = response
            .dyn_ref::<Response>()
            .filter(|r| self.is_unauthorized(r))
            .map(super::http::unauthorized_body)
        else {
            return response;
        };
        let (caller, promise) = self.io.mutate().caller();
        self.io.mutate().keep_answer(caller.0, response.clone());
        self.keep_snapshot(caller, Snapshot::of_sent(snapshot.unchecked_into()));
        let call = Call::sent_once(true, TokenGeneration(generation));
        self.input(|core| core.call_sent(caller, call));
        match body {
            Some(body) => self.chain(body, Kind::CallRead, Kind::CallRead, caller.0),
            None => self.call_read(caller.0, &JsValue::UNDEFINED),
        }
        promise.into()
    }

    fn keep_snapshot(&self, caller: Caller, snapshot: Snapshot) {
        let mut io = self.io.mutate();
        if let Some(deferred) = io.callers.iter_mut().find(|c| c.0 == caller.0) {
            deferred.1.snapshot = Some(snapshot);
        }
    }

    /// Whether `response` speaks for the API: a 401 from an allowed origin (rule 13).
    pub(super) fn is_unauthorized(&self, response: &Response) -> bool {
        speaks_for_api(response.status(), || self.allows(&response.url()))
    }

    /// Whether the absolute `url` is on an allowed origin.
    pub(super) fn allows(&self, url: &str) -> bool {
        url_allowed(&self.core.read().config().allowed_origins, url)
    }

    /// `fetch(request)` with the captured `fetch`; what it throws becomes a rejection.
    pub(super) fn send(&self, request: &Request) -> Promise {
        match self.fetch.call1(&global(), request) {
            Ok(promise) => promise.unchecked_into(),
            Err(thrown) => Promise::reject(&thrown),
        }
    }
}

/// What a call rejects with when `fetch` rejected with `cause`: the platform's `AbortError` as
/// it is (an aborted call, as `fetch` does); anything else is `network` with the no-answer
/// message (offline, server down or CORS), with `cause` set.
pub(super) fn fetch_failed(cause: JsValue) -> JsValue {
    if get(&cause, "name").as_string().as_deref() == Some("AbortError") {
        return cause;
    }
    let error = to_js(&AuthError::no_answer(), None);
    set(&error, "cause", &cause);
    error
}
