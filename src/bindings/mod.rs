//! The binding layer: the core's [`Client`] behind `#[wasm_bindgen]`, whose JavaScript side
//! wasm-bindgen generates (the npm build's `authfetch_bg.wasm` and its glue).
//!
//! It converts and forwards, and decides nothing: JavaScript values become core values here
//! (the configuration object, answer bodies through `JSON.parse`, channel messages, lock
//! names; [`values`]), core values become JavaScript values (an `AuthError` is a real `Error`,
//! a message a plain object, an endpoint request a `Request`; [`requests`]), and every rule is
//! the core's. The JavaScript edge (`js/authfetch.js`) owns the browser's resources and drains
//! the effects in one place: [`Core::poll`] names the next effect's kind, and the getters
//! ([`Core::id`], [`Core::number`], [`Core::text`], [`Core::value`]) hold its data until the
//! next poll. Times are `Date.now()`: ms since the Unix epoch, page clock.
use alloc::string::String;

use wasm_bindgen::prelude::*;

use crate::core::client::{self, CallAnswer, Caller, Client, Effect, LockMode, Op, Outcome};
use crate::core::config::{keys, Environment};
use crate::core::error::{AuthError, ErrorCode};
use crate::core::{answer, page, Answer, InputError, TokenGeneration};

mod requests;
mod values;

use values::JsJson;

/// The kind of the effect [`Core::poll`] took, and where its data is.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectKind {
    /// Send [`Core::value`], a `Request` to an auth endpoint (`undefined` when the browser
    /// refused to make it: report no answer), as op [`Core::id`]; report with
    /// [`Core::answered`].
    Request,
    /// Send call [`Core::id`] with the bearer of token generation [`Core::number`]; report
    /// with [`Core::call_answered`].
    Send,
    /// Resolve caller [`Core::id`]'s promise with [`Core::value`].
    Resolve,
    /// Reject caller [`Core::id`]'s promise with [`Core::value`] (an `AuthError`).
    Reject,
    /// Resolve caller [`Core::id`]'s promise with its call's last `Response`.
    Respond,
    /// Reject caller [`Core::id`]'s promise with its call's `fetch` failure (an `AbortError`
    /// as it is, else `network` with the failure as `cause`).
    FetchFailed,
    /// Arm the one renewal timer to fire in [`Core::number`] ms; then report [`Report::Resumed`].
    ArmTimer,
    /// Disarm the renewal timer.
    DisarmTimer,
    /// Dispatch a `CustomEvent` of type [`Core::text`] with detail [`Core::value`].
    Event,
    /// Post [`Core::value`] on the channel to the other tabs.
    Post,
    /// Open the `BroadcastChannel` named [`Core::text`].
    OpenChannel,
    /// Close the channel.
    CloseChannel,
    /// Request the exclusive Web Lock [`Core::text`] as op [`Core::id`]; report
    /// [`Report::LockGranted`] or [`Report::LockFailed`]; hold it until released.
    LockExclusive,
    /// The same, in shared mode.
    LockShared,
    /// Release the lock of op [`Core::id`], or drop its request; report nothing more of it.
    Release,
    /// Query the held Web Locks as op [`Core::id`]; report [`Report::LocksHeld`].
    Query,
    /// Wait [`Core::number`] ms as op [`Core::id`]; report [`Report::Slept`].
    Sleep,
    /// Send the page to `loginUrl` [`Core::text`] (see [`redirect_target`]).
    Redirect,
}

/// An `AuthClient` method the app called (see [`Core::start`]).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `login(credentials)`.
    Login,
    /// `restore()`.
    Restore,
    /// `refresh()`.
    Refresh,
    /// `logout()`.
    Logout,
    /// `free()`, first half: the session ends without events; the effects that follow let go
    /// of the channel, the locks and the timer. No caller.
    Free,
}

/// What the page or an effect reports (see [`Core::report`]).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// The renewal timer fired, or the page woke: `focus`, `pageshow`, `visibilitychange`.
    Resumed,
    /// `online`.
    Online,
    /// `pagehide`.
    Hidden,
    /// The Web Lock of the op was granted.
    LockGranted,
    /// The lock request of the op failed, or the lock was taken away.
    LockFailed,
    /// The sleep of the op is over.
    Slept,
    /// `navigator.locks.query()` answered the op's query: the value is its snapshot
    /// (`undefined` when it failed); the names of its `held` locks are read.
    LocksHeld,
    /// A message event's `data` from the channel: the value. Untrusted: a malformed one changes
    /// nothing (DESIGN rule 11).
    Message,
}

/// How a call's attempt came back (see [`Core::call_answered`]).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A response for the caller (not a 401 from an allowed origin, [`Core::speaks`]).
    Response,
    /// A 401 from an allowed origin; its body's text comes with it.
    Unauthorized,
    /// `fetch` rejected (the edge keeps the cause).
    Failed,
    /// The attempt could not be made (the body could not be copied, no bearer).
    Unsendable,
}

/// An error the edge raises for a call the core does not track: `not_authenticated` for a
/// released client, `network` for a `fetch` that got no answer, `body_not_replayable` for a
/// hot-path call whose body could not be copied for its first attempt.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeError {
    /// `not_authenticated`.
    NotAuthenticated,
    /// `network`: no answer from the server (offline, DNS, CORS).
    NoAnswer,
    /// `body_not_replayable`.
    BodyNotReplayable,
}

/// One client: the core, and the effect the edge is carrying out.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Core {
    client: Client,
    /// The configuration's `fetch`, if it gave one.
    fetch: JsValue,
    /// The parsed body of the last auth answer that was not a success: an `account_locked`
    /// rejection carries it as `details`.
    refusal: JsValue,
    effect: Drained,
}

/// The data of the effect polled last.
#[derive(Debug, Default)]
struct Drained {
    id: u32,
    number: f64,
    text: Option<String>,
    value: JsValue,
}

#[wasm_bindgen]
impl Core {
    /// `new AuthClient(config)`: reads `config` once (each key, its type; see
    /// `core::config::keys::read` for the refusals and their order) and opens the channel.
    /// `href` and `origin`: `location.href` and `location.origin` where there is a location
    /// (not in Node.js); `document`: a `document` exists; `locks`: the Web Locks API does;
    /// `global_fetch`: a global `fetch` function does; `tab_id`: `Math.random()`.
    ///
    /// Throws the `invalid_config` `AuthError` that names the key.
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: &JsValue,
        href: Option<String>,
        origin: Option<String>,
        document: bool,
        locks: bool,
        global_fetch: bool,
        tab_id: f64,
    ) -> Result<Core, JsValue> {
        let env = Environment {
            origin: origin.filter(|_| href.is_some()),
            document,
            global_fetch,
        };
        let read = values::read_config(config);
        let resolve = |base: &str| requests::resolve(base, href.as_deref());
        let config = keys::read(
            read.values,
            read.is_object,
            read.own_keys.as_deref(),
            &env,
            resolve,
        )
        .map_err(|e| values::error(&e, None))?;
        Ok(Core {
            client: Client::new(config, locks, tab_id),
            fetch: read.fetch,
            refusal: JsValue::UNDEFINED,
            effect: Drained::default(),
        })
    }

    /// The configuration's `fetch` function, or `undefined` (then the global one).
    #[wasm_bindgen(getter)]
    pub fn fetch(&self) -> JsValue {
        self.fetch.clone()
    }

    /// The app called `method` of its `AuthClient`; the promise it got back is `caller`'s.
    /// `credentials`: for [`Method::Login`], `JSON.stringify(credentials)` (`undefined` when it
    /// is not serializable); ignored otherwise.
    pub fn start(&mut self, now: f64, method: Method, caller: u32, credentials: Option<String>) {
        let (now, caller) = (now as u64, Caller(caller));
        match method {
            Method::Login => self.client.login(now, caller, credentials),
            Method::Restore => self.client.restore(now, caller),
            Method::Refresh => self.client.refresh(now, caller),
            Method::Logout => self.client.logout(now, caller),
            Method::Free => self.client.shut_down(now),
        }
    }

    /// The page or an effect reports `what`: a wake-up, or how op `op` ended; `value` is the
    /// lock snapshot or the channel message ([`Report`]), `undefined` otherwise.
    ///
    /// Throws when the core never asked for this report (an edge defect); a malformed channel
    /// message is ignored, by design.
    pub fn report(
        &mut self,
        now: f64,
        what: Report,
        op: u32,
        value: &JsValue,
    ) -> Result<(), JsValue> {
        let (now, op) = (now as u64, Op(op));
        let wake = match what {
            Report::Resumed => Some(client::Wake::Resumed),
            Report::Online => Some(client::Wake::Online),
            Report::Hidden => Some(client::Wake::Hidden),
            _ => None,
        };
        if let Some(why) = wake {
            self.client.wake(now, why);
            return Ok(());
        }
        let result = match what {
            Report::Resumed | Report::Online | Report::Hidden => Ok(()),
            Report::LockGranted => self.client.lock_granted(now, op),
            Report::LockFailed => self.client.lock_failed(now, op),
            Report::Slept => self.client.slept(now, op),
            Report::LocksHeld => {
                let names = values::held_lock_names(value);
                self.client
                    .locks_held(now, op, names.iter().map(String::as_str))
            }
            Report::Message => {
                // A malformed message is refused by the core and ignored here, by design.
                let _ = self.client.message(now, values::wire_of(value));
                Ok(())
            }
        };
        result.map_err(input_error)
    }

    /// Whether a request to the absolute `url` may carry the bearer (DESIGN rule 4).
    pub fn allows(&self, url: &str) -> bool {
        self.client.allows(url, requests::origin_of)
    }

    /// Whether an answer with `status` may speak for the API about the session (a 401, DESIGN
    /// rules 5 and 13): the edge then asks whether its URL is on an allowed origin
    /// ([`Core::allows`]), so that a call's own answers cost no URL copy.
    pub fn speaks(status: u16) -> bool {
        crate::core::call::speaks_for_api(status, || true)
    }

    /// A call to an allowed origin, as `caller`: the token generation to send it with now (the
    /// hot path), or `undefined` when the core tracks it from here (its effects follow).
    /// `replayable`: its body can be sent again (not a one-shot stream).
    pub fn call(
        &mut self,
        now: f64,
        caller: u32,
        replayable: bool,
    ) -> Result<Option<u32>, JsValue> {
        let hot = self.client.call(now as u64, Caller(caller), replayable);
        hot.map(|g| g.map(|g| g.0)).map_err(input_error)
    }

    /// `Bearer <access token>` of token generation `generation` (a string), or `undefined` when
    /// the session holds no token of it.
    pub fn bearer(&self, generation: u32) -> JsValue {
        match self.client.bearer(TokenGeneration(generation)) {
            Some(token) => requests::with_bearer(token, JsValue::from_str),
            None => JsValue::UNDEFINED,
        }
    }

    /// A call's attempt came back as `attempt`. `body` is the text of a 401's body (`undefined`
    /// when it was not read). `generation` is given for a call sent on the hot path (a 401: the
    /// core tracks it from here), absent for a call the core tracks.
    ///
    /// Throws when the core never asked for this attempt (an edge defect).
    #[wasm_bindgen(js_name = callAnswered)]
    pub fn call_answered(
        &mut self,
        now: f64,
        caller: u32,
        attempt: Attempt,
        generation: Option<u32>,
        body: &JsValue,
    ) -> Result<(), JsValue> {
        let (now, caller) = (now as u64, Caller(caller));
        let said = || {
            let json = JsJson::parse(body);
            answer::server_said(json.as_ref(), &self.client.config().error_code_path)
        };
        let done = match (attempt, generation) {
            (Attempt::Unauthorized, Some(g)) => {
                let said = said();
                self.client
                    .hot_unauthorized(now, caller, TokenGeneration(g), said)
            }
            (Attempt::Unauthorized, None) => {
                let said = said();
                self.client
                    .call_answered(now, caller, CallAnswer::Unauthorized(said))
            }
            (Attempt::Response, _) => self.client.call_answered(now, caller, CallAnswer::Response),
            (Attempt::Failed, _) => self.client.call_answered(now, caller, CallAnswer::Failed),
            (Attempt::Unsendable, _) => self.client.call_unsendable(now, caller),
        };
        done.map_err(input_error)
    }

    /// Whether to read the body of an answer whose `Content-Length` is `content_length`
    /// (DESIGN rule 12).
    #[wasm_bindgen(js_name = readsBody)]
    pub fn reads_body(content_length: Option<String>) -> bool {
        answer::reads_body(content_length.as_deref())
    }

    /// The auth endpoint request `op` was answered with `status` (absent: `fetch` rejected, or
    /// the request could not be made); `body` is its text (`undefined` when not read),
    /// `retry_after` its `Retry-After` header.
    ///
    /// Throws when the core never asked for this answer (an edge defect).
    pub fn answered(
        &mut self,
        now: f64,
        op: u32,
        status: Option<u16>,
        body: &JsValue,
        retry_after: Option<String>,
    ) -> Result<(), JsValue> {
        let now = now as u64;
        let answer = match status {
            None => Answer::Failed,
            Some(status) => {
                let json = JsJson::parse(body);
                self.refusal = match (&json, (200..300).contains(&status)) {
                    (Some(json), false) => json.0.clone(),
                    _ => JsValue::UNDEFINED,
                };
                let retry_after = retry_after.and_then(|text| {
                    answer::retry_after_ms(&text, now, |date| Some(js_sys::Date::parse(date)))
                });
                Answer::read(
                    self.client.config(),
                    status,
                    json.as_ref(),
                    retry_after,
                    JsJson::decode_base64,
                )
            }
        };
        self.client
            .answered(now, Op(op), answer)
            .map_err(input_error)
    }

    /// Whether a session is held.
    #[wasm_bindgen(getter, js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.client.session().is_authenticated()
    }

    /// When the access token expires: ms since the epoch, page clock; `undefined` when
    /// unknown or no session is held.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> JsValue {
        epoch_ms(self.client.session().expires_at_ms())
    }

    /// When the next proactive renewal is due: ms since the epoch; `undefined` when none is.
    #[wasm_bindgen(getter, js_name = refreshAt)]
    pub fn refresh_at(&self) -> JsValue {
        epoch_ms(self.client.session().refresh_at_ms())
    }

    /// Takes the next effect the core queued: its kind, its data in the getters until the next
    /// poll; `undefined` when there is none.
    pub fn poll(&mut self) -> Option<EffectKind> {
        let effect = self.client.poll()?;
        let mut drained = Drained::default();
        let kind = match effect {
            Effect::Request(request) => {
                drained.id = request.op.0;
                drained.value = requests::build(request);
                EffectKind::Request
            }
            Effect::Send { caller, generation } => {
                drained.id = caller.0;
                drained.number = f64::from(generation.0);
                EffectKind::Send
            }
            Effect::Settle { caller, outcome } => {
                drained.id = caller.0;
                match outcome {
                    Outcome::Done => EffectKind::Resolve,
                    Outcome::Bool(b) => {
                        drained.value = JsValue::from_bool(b);
                        EffectKind::Resolve
                    }
                    Outcome::Response => EffectKind::Respond,
                    Outcome::FetchFailed => EffectKind::FetchFailed,
                    Outcome::Error {
                        error,
                        with_details,
                    } => {
                        let details = with_details.then_some(&self.refusal);
                        drained.value = values::error(&error, details).into();
                        EffectKind::Reject
                    }
                }
            }
            Effect::Timer(Some(ms)) => {
                drained.number = f64::from(ms);
                EffectKind::ArmTimer
            }
            Effect::Timer(None) => EffectKind::DisarmTimer,
            Effect::Emit {
                event,
                expires_at_ms,
            } => {
                let (name, detail) = values::event(event, expires_at_ms);
                drained.text = Some(String::from(name));
                drained.value = detail;
                EffectKind::Event
            }
            Effect::Post(wire) => {
                drained.value = values::wire_to_js(wire);
                EffectKind::Post
            }
            Effect::Channel(Some(name)) => {
                drained.text = Some(name);
                EffectKind::OpenChannel
            }
            Effect::Channel(None) => EffectKind::CloseChannel,
            Effect::Lock { op, name, mode } => {
                drained.id = op.0;
                drained.text = Some(name);
                match mode {
                    LockMode::Exclusive => EffectKind::LockExclusive,
                    LockMode::Shared => EffectKind::LockShared,
                }
            }
            Effect::Release(op) => {
                drained.id = op.0;
                EffectKind::Release
            }
            Effect::Query(op) => {
                drained.id = op.0;
                EffectKind::Query
            }
            Effect::Sleep { op, ms } => {
                drained.id = op.0;
                drained.number = f64::from(ms);
                EffectKind::Sleep
            }
            Effect::Redirect(url) => {
                drained.text = Some(url);
                EffectKind::Redirect
            }
        };
        self.effect = drained;
        Some(kind)
    }

    /// The op or caller the polled effect names.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> u32 {
        self.effect.id
    }

    /// The polled effect's number: a token generation, or a delay in ms.
    #[wasm_bindgen(getter)]
    pub fn number(&self) -> f64 {
        self.effect.number
    }

    /// The polled effect's name (a string): an event type, a channel or lock name, `loginUrl`;
    /// `undefined` for the other effects.
    #[wasm_bindgen(getter)]
    pub fn text(&self) -> JsValue {
        self.effect
            .text
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from_str)
    }

    /// The polled effect's JavaScript value: a `Request`, a settled value, an event detail, a
    /// channel message.
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> JsValue {
        self.effect.value.clone()
    }
}

/// Where the page goes for `login_url` from the page at `here` (`location.href`): the URL
/// resolved against the page, or `undefined` when the page is already there (DESIGN rule 9)
/// or the URL cannot be resolved.
#[wasm_bindgen(js_name = redirectTarget)]
pub fn redirect_target(login_url: &str, here: &str) -> Option<String> {
    let target = requests::resolve(login_url, Some(here))?;
    (!page::is_same_page(&target, here)).then_some(target)
}

/// The `AuthError` of `which`.
#[wasm_bindgen(js_name = edgeError)]
pub fn edge_error(which: EdgeError) -> js_sys::Error {
    let error = match which {
        EdgeError::NotAuthenticated => AuthError::new(ErrorCode::NotAuthenticated),
        EdgeError::NoAnswer => AuthError::no_answer(),
        EdgeError::BodyNotReplayable => AuthError::new(ErrorCode::BodyNotReplayable),
    };
    values::error(&error, None)
}

/// An instant in ms since the epoch as a JavaScript number, `undefined` for none.
fn epoch_ms(ms: Option<u64>) -> JsValue {
    ms.map_or(JsValue::UNDEFINED, |ms| JsValue::from_f64(ms as f64))
}

/// An input the core refused, as a JavaScript `Error`: the edge reported something the core
/// never asked for.
fn input_error(e: InputError) -> JsValue {
    let what = match e {
        InputError::UnknownOp(_) => "an op it never issued, or already reported",
        InputError::WrongOp(_) => "an op of another kind",
        InputError::UnknownCaller(_) => "a call with no attempt out",
        InputError::CallerInUse(_) => "a caller already in use",
        InputError::Malformed(_) => "a malformed message",
    };
    let mut message = String::from("authfetch: the edge reported ");
    message.push_str(what);
    js_sys::Error::new(&message).into()
}
