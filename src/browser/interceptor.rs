//! The `fetch` interceptor (DESIGN rules 4, 5, 8, 9, 10 and 13).
//!
//! `auth.fetch(input, init)` turns its arguments into a [`Snapshot`] before it returns, decides
//! the allowlist on the snapshot's URL and asks the core's [`Call`] what to do. A call to an
//! allowed origin with a usable token — nearly every call — is decided in that one synchronous
//! step: it returns the captured `fetch`'s promise chained to two functions made once per client
//! ([`Answers`]); the call's snapshot and token generation ride along as bound arguments, so
//! no Rust future, `JsFuture` or `Closure` is made per call. Only a 401 from the API, a call that
//! must wait for a renewal first, and a one-shot stream body take the slow path: an async loop
//! that carries out the [`Call`]'s steps until it settles.
use alloc::rc::{Rc, Weak};
use alloc::string::String;

use crate::core::{AuthError, Call, CallStep, ErrorCode, TokenGeneration};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{Request, Response};

use super::client::{reject, Inner};
use super::error::to_js;
use super::http;
use super::js::{get, global, now_ms, set};
use super::snapshot::Snapshot;

#[wasm_bindgen]
extern "C" {
    /// A promise, seen through `then(onFulfilled, onRejected)` with plain functions.
    #[wasm_bindgen(js_name = Promise)]
    type Pending;

    #[wasm_bindgen(method)]
    fn then(this: &Pending, on_fulfilled: &JsValue, on_rejected: &JsValue) -> Promise;

    /// A function, seen through `bind(this, a, b)`: the engine's own partial application.
    #[wasm_bindgen(js_name = Function)]
    type Handler;

    #[wasm_bindgen(method)]
    fn bind(this: &Handler, this_arg: &JsValue, a: &JsValue, b: &JsValue) -> JsValue;
}

type OnResponse = Closure<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>;
type OnFailure = Closure<dyn FnMut(JsValue) -> JsValue>;

/// The two functions every hot-path promise is chained to, made once per client and released
/// with it.
pub(super) struct Answers {
    /// `(snapshot, generation, response)`: the response itself, unless it is a 401 from an
    /// allowed origin, which continues on the slow path.
    on_response: OnResponse,
    /// `(error)`: `fetch` rejected; see [`fetch_failed`].
    on_failure: OnFailure,
}

impl core::fmt::Debug for Answers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Answers")
    }
}

impl Answers {
    /// The answers of the client `inner` (weak: the client owns them).
    pub(super) fn new(inner: Weak<Inner>) -> Self {
        let on_response = Closure::new(move |snapshot: JsValue, generation: JsValue, response| {
            match inner.upgrade() {
                Some(inner) => inner.answered(snapshot, generation, response),
                // The client was freed: the answer goes to the caller as the server gave it.
                None => response,
            }
        });
        let on_failure = Closure::new(|cause| Promise::reject(&fetch_failed(cause)).into());
        Answers {
            on_response,
            on_failure,
        }
    }
}

impl Inner {
    /// `auth.fetch(input, init)`: see [`super::AuthClient::fetch`].
    pub(super) fn fetch(self: &Rc<Self>, input: &JsValue, init: &JsValue) -> Promise {
        let snapshot = match Snapshot::take(input, init) {
            Ok(snapshot) => snapshot,
            Err(thrown) => return Promise::reject(&thrown),
        };
        if !self.allows(&snapshot.url()) {
            // Untouched, to the captured fetch, as `fetch(input, init)` would send it.
            return self.send(snapshot.request());
        }
        let mut call = Call::new(snapshot.replayable());
        let step = call.next(&mut self.session.borrow_mut(), now_ms());
        if let (CallStep::Send(generation), true) = (step, snapshot.replayable()) {
            if let Some(request) = self.attempt(&snapshot, generation) {
                let answers = &self.answers;
                let on_response = answers
                    .on_response
                    .as_ref()
                    .unchecked_ref::<Handler>()
                    .bind(
                        &JsValue::NULL,
                        snapshot.request(),
                        &JsValue::from(generation.0),
                    );
                let sent = self.send(&request);
                return sent
                    .unchecked_ref::<Pending>()
                    .then(&on_response, answers.on_failure.as_ref());
            }
        }
        future_to_promise(self.clone().drive(snapshot, call, step, None))
    }

    /// A hot-path answer: the response unless it is a 401 from the API, whose call continues
    /// on the slow path as a call sent once with tokens of `generation`.
    fn answered(
        self: Rc<Self>,
        snapshot: JsValue,
        generation: JsValue,
        response: JsValue,
    ) -> JsValue {
        if !response
            .dyn_ref::<Response>()
            .is_some_and(|r| self.is_unauthorized(r))
        {
            return response;
        }
        let unauthorized: Response = response.unchecked_into();
        let generation = TokenGeneration(generation.as_f64().unwrap_or_default() as u32);
        let snapshot = Snapshot::of_sent(snapshot.unchecked_into());
        future_to_promise(async move {
            let mut call = Call::sent_once(true, generation);
            let (code, said) = self.read_unauthorized(&unauthorized).await;
            let step = code.apply(&self, &mut call);
            self.drive(snapshot, call, step, Some(said)).await
        })
        .into()
    }

    /// The slow path: carries out `call`'s steps, from `step`, until the call settles.
    /// `server` is what the last 401 said (its `errorCodePath` code and `message`), for the
    /// `session_expired` rejection.
    async fn drive(
        self: Rc<Self>,
        snapshot: Snapshot,
        mut call: Call,
        mut step: CallStep,
        mut server: Option<ServerSaid>,
    ) -> Result<JsValue, JsValue> {
        loop {
            step = match step {
                CallStep::Send(generation) => {
                    let request = self
                        .attempt(&snapshot, generation)
                        .ok_or_else(|| reject(ErrorCode::BodyNotReplayable))?;
                    let response: Response = JsFuture::from(self.send(&request))
                        .await
                        .map_err(fetch_failed)?
                        .dyn_into()?;
                    if !self.is_unauthorized(&response) {
                        return Ok(response.into());
                    }
                    let (code, said) = self.read_unauthorized(&response).await;
                    server = Some(said);
                    code.apply(&self, &mut call)
                }
                CallStep::Renew => match self.renew().await {
                    Ok(()) => call.renewed(&mut self.session.borrow_mut(), now_ms()),
                    Err(error) => call
                        .renewal_failed(&mut self.session.borrow_mut(), now_ms())
                        .ok_or(error)?,
                },
                CallStep::Reject(ErrorCode::SessionExpired) => return Err(expired(server)),
                CallStep::Reject(code) => return Err(reject(code)),
                CallStep::End(reason) => {
                    self.end_session(reason);
                    return Err(expired(server));
                }
            }
        }
    }

    /// Reads a 401's error body: the code at `errorCodePath` and the `message`.
    async fn read_unauthorized(&self, response: &Response) -> (Unauthorized, ServerSaid) {
        let json = http::read_json(response).await;
        let (code, message) = http::server_error(&self.config, json.as_ref());
        (Unauthorized(code.clone()), ServerSaid { code, message })
    }

    /// Whether `response` is a 401 from an allowed origin — one that speaks for the API. A 401
    /// from elsewhere (after a cross-origin redirect) is the caller's to read (rule 13).
    fn is_unauthorized(&self, response: &Response) -> bool {
        response.status() == 401 && self.allows(&response.url())
    }

    /// Whether the absolute `url` is on an allowed origin.
    pub(super) fn allows(&self, url: &str) -> bool {
        super::js::url_allowed(&self.config.allowed_origins, url)
    }

    /// The attempt of `snapshot` with the bearer of token `generation`; `None` when the
    /// session no longer holds those tokens or the body cannot be cloned.
    fn attempt(&self, snapshot: &Snapshot, generation: TokenGeneration) -> Option<Request> {
        snapshot.attempt(&self.bearer_for(generation)?)
    }

    /// `fetch(request)` with the captured `fetch`; what it throws becomes a rejection.
    fn send(&self, request: &Request) -> Promise {
        match self.fetch.call1(&global(), request) {
            Ok(promise) => promise.unchecked_into(),
            Err(thrown) => Promise::reject(&thrown),
        }
    }
}

/// The code of a 401's error body, to be applied to the call's state machine.
struct Unauthorized(Option<String>);

impl Unauthorized {
    /// Tells `call` about the 401; the next step.
    fn apply(self, inner: &Inner, call: &mut Call) -> CallStep {
        call.unauthorized(&mut inner.session.borrow_mut(), self.0.as_deref(), now_ms())
    }
}

/// What a 401's body said, for the `session_expired` rejection.
struct ServerSaid {
    code: Option<String>,
    message: Option<String>,
}

/// `session_expired`, with status 401 and what the server said when a 401 ended the call.
fn expired(server: Option<ServerSaid>) -> JsValue {
    let error = AuthError::new(ErrorCode::SessionExpired);
    let error = match server {
        Some(said) => error.with_server(Some(401), said.code, said.message),
        None => error,
    };
    to_js(&error, None)
}

/// What a call rejects with when `fetch` rejected with `cause`: the platform's `AbortError` as
/// it is (an aborted call, as `fetch` does); anything else is `network`, with `cause` set.
fn fetch_failed(cause: JsValue) -> JsValue {
    if get(&cause, "name").as_string().as_deref() == Some("AbortError") {
        return cause;
    }
    let error = reject(ErrorCode::Network);
    set(&error, "cause", &cause);
    error
}
