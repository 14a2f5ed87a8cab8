//! The one driver (DESIGN, "Effects, one driver"): drains the core's effects and carries each
//! out with the page's APIs, and feeds every I/O completion back into the core.
//!
//! Every input reaches the core through [`Inner::input`], which sets the clock, lets the core
//! decide with its borrow held, releases it, then drains the queue in [`Inner::drive`] — one
//! effect at a time, no borrow held while JavaScript runs, so a listener that calls back into
//! the client finds the core free. Completions come back through two module-wide functions
//! made once ([`dispatch`]): the hot path's answer handler and the I/O handler, each told which
//! client and which operation by arguments bound with `Function.prototype.bind` (or passed by
//! `setTimeout`). A client that was freed is simply not found: its late answers are dropped,
//! its late lock grants released at once.
use alloc::rc::{Rc, Weak};
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::core::client::{Answer, CallAnswer, Caller, Client, Effect, Event, Op, Outcome};
use crate::core::crosstab::channel_name;
use crate::core::ErrorCode;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Response;

use super::client::Inner;
use super::crosstab::{self, Channel};
use super::error::to_js;
use super::events;
use super::http;
use super::js::{now_ms, set, Shared};
use super::timer::Timeout;

#[wasm_bindgen]
extern "C" {
    /// A promise, seen through `then(onFulfilled, onRejected)` with plain functions.
    #[wasm_bindgen(js_name = Promise)]
    pub(super) type Pending;

    #[wasm_bindgen(method)]
    pub(super) fn then(this: &Pending, on_fulfilled: &JsValue, on_rejected: &JsValue) -> Promise;

    /// A function, seen through `bind(this, a, b)`: the engine's own partial application.
    #[wasm_bindgen(js_name = Function)]
    pub(super) type Handler;

    #[wasm_bindgen(method)]
    pub(super) fn bind(this: &Handler, this_arg: &JsValue, a: &JsValue, b: &JsValue) -> Function;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout_with(handler: &JsValue, ms: u32, tag: f64, op: u32) -> JsValue;
}

/// What an I/O completion is, in the low bits of its tag (the client's id above them).
#[derive(Clone, Copy)]
#[repr(u8)]
pub(super) enum Kind {
    /// An endpoint request's `fetch` resolved (value: the `Response`).
    Answered = 0,
    /// Its body was read (value: the text).
    Read,
    /// Its `fetch` rejected, or the body could not be read.
    Failed,
    /// A slow-path call's `fetch` resolved.
    CallAnswered,
    /// The body of a slow-path call's 401 was read.
    CallRead,
    /// A slow-path call's `fetch` rejected (value: the cause).
    CallFailed,
    /// A Web Lock was granted (value: the lock); answers the promise that holds it.
    Granted,
    /// A lock request was rejected.
    LockFailed,
    /// `navigator.locks.query()` answered.
    Queried,
    /// A sleep ended.
    Slept,
    /// The proactive timer fired.
    Timer,
}

const KINDS: u32 = 16;
/// Client ids fit below this, so that a hot-path tag holds a token generation above them.
const CLIENT_IDS: f64 = 1_048_576.0;

/// The clients of this module, by id; a freed client's slot holds a dead `Weak`.
struct Registry(RefCell<Vec<Weak<Inner>>>);

// SAFETY: wasm32 without the `atomics` target feature has one thread: nothing is shared.
unsafe impl Sync for Registry {}

static CLIENTS: Registry = Registry(RefCell::new(Vec::new()));

/// The two module-wide handlers: made on first use and kept for the module's life (they are
/// the module's own functions, like an export; nothing per client or per call is leaked).
struct Handlers(RefCell<Option<[JsValue; 3]>>);

// SAFETY: as for `Registry`.
unsafe impl Sync for Handlers {}

static HANDLERS: Handlers = Handlers(RefCell::new(None));

/// `[hot, io, failed]`: the hot path's answer handler `(tag, snapshot, response)`, the I/O
/// handler `(tag, op, value)`, and the hot path's failure handler `(cause)`.
pub(super) fn dispatch() -> [JsValue; 3] {
    let mut slot = HANDLERS.0.mutate();
    slot.get_or_insert_with(|| {
        let hot = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>::new(
            |tag: JsValue, snapshot: JsValue, response: JsValue| {
                let tag = tag.as_f64().unwrap_or_default();
                let generation = (tag / CLIENT_IDS) as u32;
                match client((tag % CLIENT_IDS) as u32) {
                    Some(inner) => inner.answered(snapshot, generation, response),
                    // The client was freed: the answer goes to the caller as the server gave it.
                    None => response,
                }
            },
        );
        let io = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>::new(
            |tag: JsValue, op: JsValue, value: JsValue| {
                let tag = tag.as_f64().unwrap_or_default() as u32;
                let op = op.as_f64().unwrap_or_default() as u32;
                let kind = tag % KINDS;
                match client(tag / KINDS) {
                    Some(inner) => inner.completed(kind, op, value),
                    // A freed client: a lock granted late is let go at once.
                    None => JsValue::UNDEFINED,
                }
            },
        );
        let failed = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>::new(
            |cause: JsValue, _: JsValue, _: JsValue| -> JsValue {
                Promise::reject(&super::interceptor::fetch_failed(cause)).into()
            },
        );
        [
            hot.into_js_value(),
            io.into_js_value(),
            failed.into_js_value(),
        ]
    })
    .clone()
}

/// Registers `inner`; its id.
pub(super) fn register(inner: &Weak<Inner>) -> u32 {
    let mut clients = CLIENTS.0.mutate();
    if let Some(free) = clients.iter().position(|c| c.strong_count() == 0) {
        clients[free] = inner.clone();
        return free as u32;
    }
    clients.push(inner.clone());
    (clients.len() - 1) as u32
}

fn client(id: u32) -> Option<Rc<Inner>> {
    CLIENTS.0.read().get(id as usize).and_then(Weak::upgrade)
}

/// The JavaScript side of the effects in progress: the callers' promises, the requests' and
/// locks' state, the timer, the channel.
#[derive(Debug, Default)]
pub(super) struct Io {
    /// Promises to settle, by caller.
    pub(super) callers: Vec<(u32, Deferred)>,
    next_caller: u32,
    /// Status of endpoint requests whose body is being read, by op.
    statuses: Vec<(u32, u16, Option<u64>)>,
    /// Held locks' release functions, by op.
    locks: Vec<(u32, Function)>,
    /// Lock requests released before they were granted.
    dropped: Vec<u32>,
    /// The JSON body of the last endpoint answer read (`details` of `account_locked`).
    last_json: Option<JsValue>,
    timer: Option<Timeout>,
    timer_fn: Option<Function>,
    pub(super) channel: Option<Channel>,
}

/// A caller's promise, and what its call keeps on the JavaScript side.
#[derive(Debug)]
pub(super) struct Deferred {
    resolve: Function,
    reject: Function,
    /// A slow-path call's snapshot.
    pub(super) snapshot: Option<super::snapshot::Snapshot>,
    /// A slow-path call's last response, or its `fetch` failure.
    answer: JsValue,
}

impl Deferred {
    /// Rejects the promise with `error`.
    pub(super) fn reject(self, error: &JsValue) {
        let _ = self.reject.call1(&JsValue::UNDEFINED, error);
    }
}

impl Io {
    /// A new caller and the promise it settles.
    pub(super) fn caller(&mut self) -> (Caller, Promise) {
        let mut functions = None;
        let promise = Promise::new(&mut |resolve, reject| functions = Some((resolve, reject)));
        // `new Promise` runs its executor at once, so the functions are set.
        let (resolve, reject) = functions.unwrap_or_else(|| {
            (
                Function::from(JsValue::UNDEFINED),
                Function::from(JsValue::UNDEFINED),
            )
        });
        self.next_caller = self.next_caller.wrapping_add(1);
        let id = self.next_caller;
        self.callers.push((
            id,
            Deferred {
                resolve,
                reject,
                snapshot: None,
                answer: JsValue::UNDEFINED,
            },
        ));
        (Caller(id), promise)
    }

    /// Keeps `answer` (a response, or a `fetch` failure) for a slow-path call's settlement.
    pub(super) fn keep_answer(&mut self, caller: u32, answer: JsValue) {
        if let Some(deferred) = self.deferred(caller) {
            deferred.answer = answer;
        }
    }

    fn deferred(&mut self, caller: u32) -> Option<&mut Deferred> {
        self.callers
            .iter_mut()
            .find(|c| c.0 == caller)
            .map(|c| &mut c.1)
    }

    /// `free()`: every caller still waiting, and every lock still held, to be let go.
    pub(super) fn shut_down(&mut self) -> (Vec<Deferred>, Vec<Function>) {
        self.timer = None;
        self.channel = None;
        let callers = self.callers.drain(..).map(|c| c.1).collect();
        let locks = self.locks.drain(..).map(|l| l.1).collect();
        (callers, locks)
    }

    fn take_caller(&mut self, caller: u32) -> Option<Deferred> {
        let i = self.callers.iter().position(|c| c.0 == caller)?;
        Some(self.callers.swap_remove(i).1)
    }
}

impl Inner {
    /// Gives the core one input at the page clock's now, then carries out what it queued.
    pub(super) fn input(&self, f: impl FnOnce(&mut Client)) {
        {
            let mut core = self.core.mutate();
            core.set_now(now_ms());
            f(&mut core);
        }
        self.drive();
    }

    /// Drains the core's effects, one at a time, with no borrow held while each runs.
    pub(super) fn drive(&self) {
        loop {
            let effect = self.core.mutate().poll();
            match effect {
                Some(effect) => self.carry_out(effect),
                None => return,
            }
        }
    }

    fn carry_out(&self, effect: Effect) {
        match effect {
            Effect::Request(request) => {
                let op = request.op.0;
                let sent = {
                    let core = self.core.read();
                    http::request(core.config(), &request)
                };
                match sent {
                    Some(sent) => self.chain(self.send(&sent), Kind::Answered, Kind::Failed, op),
                    None => self.input(|core| core.answered(Op(op), Answer::Failed)),
                }
            }
            Effect::Send(caller, generation) => self.send_call(caller.0, generation),
            Effect::Settle(caller, outcome) => self.settle(caller.0, outcome),
            Effect::Timer(at) => self.arm(at),
            Effect::Emit(event) => self.emit(event),
            Effect::Post(message) => {
                let io = self.io.read();
                if let Some(channel) = &io.channel {
                    channel.post(&message);
                }
            }
            Effect::Channel(true) => {
                let name = channel_name(&self.api_origin);
                let tab_id = self.core.read().tab_id();
                let weak = self.weak.clone();
                let channel = Channel::open(&name, tab_id, move |message| {
                    if let Some(inner) = weak.upgrade() {
                        inner.input(|core| core.message(message));
                    }
                });
                self.io.mutate().channel = channel;
            }
            Effect::Channel(false) => {
                let channel = self.io.mutate().channel.take();
                drop(channel);
            }
            Effect::Lock { op, name, shared } => {
                let granted = self.bound(Kind::Granted, op.0);
                match crosstab::request_lock(&name, shared, &granted) {
                    Some(requested) => {
                        let failed = self.bound(Kind::LockFailed, op.0);
                        let _ = requested
                            .unchecked_ref::<Pending>()
                            .then(&JsValue::UNDEFINED, &failed);
                    }
                    None => self.input(|core| core.lock_failed(op)),
                }
            }
            Effect::Release(op) => {
                let mut io = self.io.mutate();
                match io.locks.iter().position(|l| l.0 == op.0) {
                    Some(i) => {
                        let (_, release) = io.locks.swap_remove(i);
                        drop(io);
                        let _ = release.call0(&JsValue::UNDEFINED);
                    }
                    None => io.dropped.push(op.0),
                }
            }
            Effect::Query(op) => match crosstab::query_locks() {
                Some(query) => self.chain(query, Kind::Queried, Kind::Queried, op.0),
                None => self.input(|core| core.locks_held(op, [])),
            },
            Effect::Sleep(op, ms) => {
                let [_, io, _] = dispatch();
                let _ = set_timeout_with(&io, ms, self.tag(Kind::Slept), op.0);
            }
            Effect::Redirect => {
                let login_url = self.core.read().config().login_url.clone();
                if let Some(url) = login_url {
                    super::redirect::to_login(&url);
                }
            }
        }
    }

    /// An I/O completion of `kind` for `op` (or caller) with `value`.
    fn completed(self: Rc<Self>, kind: u32, op: u32, value: JsValue) -> JsValue {
        const ANSWERED: u32 = Kind::Answered as u32;
        const READ: u32 = Kind::Read as u32;
        const FAILED: u32 = Kind::Failed as u32;
        const CALL_ANSWERED: u32 = Kind::CallAnswered as u32;
        const CALL_READ: u32 = Kind::CallRead as u32;
        const CALL_FAILED: u32 = Kind::CallFailed as u32;
        const GRANTED: u32 = Kind::Granted as u32;
        const LOCK_FAILED: u32 = Kind::LockFailed as u32;
        const QUERIED: u32 = Kind::Queried as u32;
        const SLEPT: u32 = Kind::Slept as u32;
        const TIMER: u32 = Kind::Timer as u32;
        match kind {
            ANSWERED => match value.dyn_into::<Response>() {
                Ok(response) => {
                    let retry_after = http::retry_after_ms(&response, now_ms());
                    self.io
                        .mutate()
                        .statuses
                        .push((op, response.status(), retry_after));
                    let text = (!http::too_long(&response)).then(|| response.text().ok());
                    match text.flatten() {
                        Some(text) => self.chain(text, Kind::Read, Kind::Read, op),
                        None => self.read(op, JsValue::UNDEFINED),
                    }
                }
                Err(_) => self.input(|core| core.answered(Op(op), Answer::Failed)),
            },
            READ => self.read(op, value),
            FAILED => self.input(|core| core.answered(Op(op), Answer::Failed)),
            CALL_ANSWERED => {
                // A 401 is read from a copy: the response itself may still go to the caller.
                let unauthorized = value
                    .dyn_ref::<Response>()
                    .filter(|r| self.is_unauthorized(r))
                    .map(http::unauthorized_body);
                self.io.mutate().keep_answer(op, value);
                match unauthorized {
                    Some(Some(text)) => self.chain(text, Kind::CallRead, Kind::CallRead, op),
                    Some(None) => self.call_read(op, &JsValue::UNDEFINED),
                    None => self.input(|core| core.call_answered(Caller(op), CallAnswer::Response)),
                }
            }
            CALL_READ => self.call_read(op, &value),
            CALL_FAILED => {
                self.io.mutate().keep_answer(op, value);
                self.input(|core| core.call_answered(Caller(op), CallAnswer::Failed));
            }
            GRANTED => return self.granted(op),
            LOCK_FAILED => self.input(|core| core.lock_failed(Op(op))),
            QUERIED => {
                let names = crosstab::held_names(&value);
                self.input(|core| core.locks_held(Op(op), names.iter().map(|n| n.as_str())));
            }
            SLEPT => self.input(|core| core.slept(Op(op))),
            TIMER => self.input(|core| core.wake(crate::core::client::Wake::Resumed)),
            _ => {}
        }
        JsValue::UNDEFINED
    }

    /// A slow-path call's 401 body was read (`undefined`: not read): the core hears what it said.
    pub(super) fn call_read(&self, caller: u32, text: &JsValue) {
        let said = http::server_said(&self.core.read(), text);
        self.input(|core| core.call_answered(Caller(caller), CallAnswer::Unauthorized(said)));
    }

    /// An endpoint answer's body was read (`undefined`: not read): the core gets the answer.
    fn read(&self, op: u32, text: JsValue) {
        let (status, retry_after) = {
            let mut io = self.io.mutate();
            let i = io.statuses.iter().position(|s| s.0 == op);
            i.map(|i| {
                let (_, status, retry_after) = io.statuses.swap_remove(i);
                (status, retry_after)
            })
            .unwrap_or_default()
        };
        let config = self.core.read();
        let (answer, json) = http::answer(config.config(), status, retry_after, &text);
        drop(config);
        self.io.mutate().last_json = json;
        self.input(|core| core.answered(Op(op), answer));
    }

    /// A lock was granted: the promise returned here holds it until released.
    fn granted(&self, op: u32) -> JsValue {
        let mut release = None;
        let hold = Promise::new(&mut |resolve, _| release = Some(resolve));
        let Some(release) = release else {
            return JsValue::UNDEFINED;
        };
        {
            let mut io = self.io.mutate();
            if let Some(i) = io.dropped.iter().position(|d| *d == op) {
                // Released before it was granted: let it go at once.
                io.dropped.swap_remove(i);
                return JsValue::UNDEFINED;
            }
            io.locks.push((op, release));
        }
        self.input(|core| core.lock_granted(Op(op)));
        hold.into()
    }

    /// Sends a slow-path call's next attempt with the bearer of `generation`.
    fn send_call(&self, caller: u32, generation: crate::core::TokenGeneration) {
        let attempt = {
            let io = self.io.read();
            let snapshot = io
                .callers
                .iter()
                .find(|c| c.0 == caller)
                .and_then(|c| c.1.snapshot.as_ref());
            match (snapshot, self.bearer_for(generation)) {
                (Some(snapshot), Some(bearer)) => snapshot
                    .attempt(&bearer)
                    .ok_or(ErrorCode::BodyNotReplayable),
                _ => Err(ErrorCode::NotAuthenticated),
            }
        };
        match attempt {
            Ok(request) => self.chain(
                self.send(&request),
                Kind::CallAnswered,
                Kind::CallFailed,
                caller,
            ),
            Err(code) => {
                let outcome = Outcome::Error(crate::core::AuthError::new(code), false);
                self.settle(caller, outcome);
            }
        }
    }

    fn settle(&self, caller: u32, outcome: Outcome) {
        let (deferred, details) = {
            let mut io = self.io.mutate();
            let details = io.last_json.clone();
            (io.take_caller(caller), details)
        };
        let Some(deferred) = deferred else {
            return;
        };
        let (ok, value) = match outcome {
            Outcome::Done => (true, JsValue::UNDEFINED),
            Outcome::Bool(b) => (true, JsValue::from_bool(b)),
            Outcome::Response => (true, deferred.answer),
            Outcome::FetchFailed => (false, super::interceptor::fetch_failed(deferred.answer)),
            Outcome::Error(error, with_body) => {
                (false, to_js(&error, details.as_ref().filter(|_| with_body)))
            }
        };
        let settle = if ok {
            &deferred.resolve
        } else {
            &deferred.reject
        };
        let _ = settle.call1(&JsValue::UNDEFINED, &value);
    }

    /// Arms the one proactive timer at `at` (ms since the epoch), or disarms it.
    fn arm(&self, at: Option<u64>) {
        let mut io = self.io.mutate();
        io.timer = None;
        let Some(at) = at else {
            return;
        };
        let timer_fn = match &io.timer_fn {
            Some(f) => f.clone(),
            None => {
                let f = self.bound(Kind::Timer, 0);
                io.timer_fn = Some(f.clone());
                f
            }
        };
        io.timer = Some(Timeout::new(&timer_fn, at.saturating_sub(now_ms())));
    }

    fn emit(&self, event: Event) {
        let detail = match &event {
            Event::Error(error) => to_js(error, None),
            Event::Logout(reason) => {
                // The session is over: its bearer string goes too.
                self.io_bearer_forget();
                let detail: JsValue = js_sys::Object::new().into();
                set(&detail, "reason", &JsValue::from_str(reason.as_str()));
                detail
            }
            Event::Login { restored } => {
                let detail = self.expiry_detail();
                if *restored {
                    set(&detail, "restored", &JsValue::TRUE);
                }
                detail
            }
            Event::Refresh => self.expiry_detail(),
        };
        let name = match event {
            Event::Login { .. } => events::LOGIN,
            Event::Refresh => events::REFRESH,
            Event::Logout(_) => events::LOGOUT,
            Event::Error(_) => events::ERROR,
        };
        self.events.emit(name, &detail);
    }

    /// `{ expiresAt }` of the tokens held now (epoch ms, or `undefined`).
    pub(super) fn expiry_detail(&self) -> JsValue {
        let detail: JsValue = js_sys::Object::new().into();
        let expires_at = self.core.read().session().expires_at_ms();
        set(
            &detail,
            "expiresAt",
            &expires_at.map_or(JsValue::UNDEFINED, |ms| JsValue::from(ms as f64)),
        );
        detail
    }

    /// `promise.then(io(kind, id), io(failed, id))`.
    pub(super) fn chain(&self, promise: Promise, kind: Kind, failed: Kind, id: u32) {
        let _ = promise
            .unchecked_ref::<Pending>()
            .then(&self.bound(kind, id), &self.bound(failed, id));
    }

    /// The I/O handler with this client's `kind` and `id` bound.
    pub(super) fn bound(&self, kind: Kind, id: u32) -> Function {
        let [_, io, _] = dispatch();
        io.unchecked_ref::<Handler>()
            .bind(&JsValue::NULL, &self.tag(kind).into(), &id.into())
    }

    fn tag(&self, kind: Kind) -> f64 {
        f64::from(self.id * KINDS + kind as u32)
    }

    /// The hot path's tag: this client and the token generation the call was sent with.
    pub(super) fn hot_tag(&self, generation: u32) -> f64 {
        f64::from(generation) * CLIENT_IDS + f64::from(self.id)
    }
}
