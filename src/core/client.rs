//! The whole client as one sans-IO state machine (DESIGN, "Effects, one driver").
//!
//! [`Client`] owns the [`Session`] and every flow in progress — logins, the single renewal
//! flight and its cross-tab turn, `restore()`, logouts, slow-path calls — each with its own
//! stage and counters. Inputs are method calls with `self.now` (ms since the epoch, page clock);
//! outputs are [`Effect`]s queued in order, which the edge drains with [`Client::poll`] and
//! carries out: send this request, arm the timer at t, emit this event, post this message to the
//! other tabs, take or release a lock, sleep, redirect, settle caller N. The edge reports what
//! happened (an answer, a granted lock, a message) back through the inputs, tagged with the
//! [`Op`] the effect named. Like quinn-proto's `Connection`, nothing here blocks or awaits, so
//! a whole cross-tab renewal can be replayed in a native test.
use alloc::{string::String, vec::Vec};

use super::call::{Call, CallStep};
use super::config::{Config, RefreshCredential, RefreshMethod};
use super::crosstab::{
    after_lock, leads, newest_marker, refresh_lock_name, version_marker_name, AfterLock, Message,
};
use super::error::{AuthError, ErrorCode};
use super::origin::Origin;
use super::refresh::{RefreshFailure, RefreshVerdict};
use super::session::{EndReason, Grant, RenewalTicket, Session};
use super::token::{AccessToken, Credentials, RefreshToken, TokenGeneration};

/// How long a tab waits for the broadcast of a renewal another tab makes, ms.
pub const AWAIT_BROADCAST_MS: u32 = 3_000;
/// How long `restore()` waits for a live tab to answer "who holds a session?", ms.
pub const ASK_MS: u32 = 300;

/// Names one I/O operation (a request, a lock, a lock query, a sleep) whose outcome the edge
/// reports back; a lock's op also names it for [`Effect::Release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op(pub u32);

/// Names one JavaScript promise the edge settles: a `login`, `restore`, `refresh`, `logout` or
/// a slow-path `fetch` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller(pub u32);

/// What the edge must do, in the order queued.
#[derive(Debug)]
pub enum Effect {
    /// Send a request to an auth endpoint; report with [`Client::answered`].
    Request(Request),
    /// Send slow-path call `caller`'s request with the bearer of this token generation; report
    /// with [`Client::call_answered`].
    Send(Caller, TokenGeneration),
    /// Settle a caller's promise.
    Settle(Caller, Outcome),
    /// Arm the one proactive timer at this instant (ms since the epoch), or disarm it; when it
    /// fires, call [`Client::wake`] with [`Wake::Resumed`].
    Timer(Option<u64>),
    /// Dispatch this event on the client.
    Emit(Event),
    /// Post this message to the other tabs (while the channel is open).
    Post(Message),
    /// Open (`true`) or close the channel to the other tabs.
    Channel(bool),
    /// Request the Web Lock `name`, shared or exclusive; report [`Client::lock_granted`] or
    /// [`Client::lock_failed`]; hold it until [`Effect::Release`] names the op.
    Lock {
        /// The lock's op.
        op: Op,
        /// The lock's name.
        name: String,
        /// Shared (a version marker) or exclusive (the refresh lock).
        shared: bool,
    },
    /// Release the lock of this op (or drop its request, if not granted yet).
    Release(Op),
    /// Ask which locks are held; report with [`Client::locks_held`].
    Query(Op),
    /// Wait this many ms; report with [`Client::slept`].
    Sleep(Op, u32),
    /// Send the page to `loginUrl` (unless it is already there).
    Redirect,
}

/// A request to an auth endpoint. Carries the secret it presents; `Debug` shows none.
pub struct Request {
    /// Reported back with the answer.
    pub op: Op,
    /// Absolute URL.
    pub url: String,
    /// `"POST"` or `"GET"`.
    pub method: &'static str,
    /// The JSON body, if any.
    pub body: Body,
    /// The access token for `Authorization: Bearer`, only toward allowed origins.
    pub bearer: Option<AccessToken>,
    /// `credentials: "include"`, for the HttpOnly refresh cookie.
    pub include_credentials: bool,
}

impl core::fmt::Debug for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Request")
            .field("op", &self.op)
            .field("url", &self.url)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// A request's JSON body.
#[derive(Debug)]
pub enum Body {
    /// No body.
    None,
    /// The login body, verbatim (`login()`, and renewals in `relogin` mode).
    Credentials(Credentials),
    /// `{"<refreshBodyField>": "<refresh token>"}`.
    RefreshToken(RefreshToken),
}

/// An auth endpoint's answer, as the edge read it.
#[derive(Debug)]
pub enum Answer {
    /// `fetch` rejected: offline, DNS, refused, CORS.
    Failed,
    /// An HTTP answer.
    Status {
        /// The HTTP status.
        status: u16,
        /// The tokens found at the configured paths (2xx answers only).
        grant: Option<Grant>,
        /// The error code (at `errorCodePath`) and `message` of the body.
        server: ServerSaid,
    },
}

/// What an error answer said.
#[derive(Clone, Debug, Default)]
pub struct ServerSaid {
    /// The code at `errorCodePath`, e.g. `"AUTH_006"`.
    pub code: Option<String>,
    /// The body's `message`.
    pub message: Option<String>,
    /// The `Retry-After` header (RFC 9110 §10.2.3), as a delay in ms from the answer.
    pub retry_after_ms: Option<u64>,
}

/// The longest `Retry-After` a renewal waits for, ms: a server cannot park a session longer.
pub const MAX_RETRY_AFTER_MS: u64 = 30 * 60 * 1000;

/// How a slow-path call's attempt came back.
#[derive(Debug)]
pub enum CallAnswer {
    /// A response to hand to the caller (not a 401 from an allowed origin).
    Response,
    /// A 401 from an allowed origin, with what its body said.
    Unauthorized(ServerSaid),
    /// `fetch` rejected (the edge kept the cause).
    Failed,
}

/// How a caller's promise settles.
#[derive(Debug)]
pub enum Outcome {
    /// Resolve `undefined`.
    Done,
    /// Resolve a boolean (`restore()`).
    Bool(bool),
    /// Resolve the call's last response.
    Response,
    /// Reject with the call's `fetch` failure (an `AbortError` as is, else `network`).
    FetchFailed,
    /// Reject with this error; `with_body`: attach the answer's JSON body as `details` (for
    /// `account_locked`).
    Error(AuthError, bool),
}

/// An event to dispatch.
#[derive(Debug)]
pub enum Event {
    /// `login`; `restored` when `restore()` resumed a session from the refresh cookie.
    Login {
        /// Resumed by `restore()` rather than a `login()`.
        restored: bool,
    },
    /// `refresh`.
    Refresh,
    /// `logout` with this reason.
    Logout(EndReason),
    /// `error` with this error (a transient renewal failure).
    Error(AuthError),
}

/// Why the page woke the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// The timer fired, or `focus`, `pageshow`, `visibilitychange`.
    Resumed,
    /// `online`.
    Online,
    /// `pagehide`: the page is hidden or unloading (maybe into the back/forward cache).
    Hidden,
}

/// Who waits for a renewal.
#[derive(Clone, Copy, Debug)]
enum Waiter {
    /// `refresh()`.
    Caller(Caller),
    /// A slow-path call.
    Call(Caller),
}

/// A flow's turn at renewing (DESIGN rule 6), in progress.
#[derive(Debug)]
enum Turn {
    /// Waiting for the exclusive refresh lock.
    Locking(Op),
    /// The lock is held; asked which version markers are held.
    Querying { lock: Op, query: Op },
    /// Waiting for another tab's broadcast of tokens newer than the flow's `before`, until the
    /// sleep ends; the lock (if any) is held meanwhile.
    Awaiting { lock: Option<Op>, sleep: Op },
}

/// What a turn came to.
enum TurnEnd {
    /// This tab renews, holding the lock (if any).
    Mine(Option<Op>),
    /// Another tab renewed and this one has adopted its tokens.
    Adopted,
    /// Another tab renewed but its tokens never arrived: a transient failure.
    Unavailable,
}

#[derive(Debug)]
enum Stage {
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

/// The renewal flight, or one detached from an ended session and finishing stale.
#[derive(Debug)]
struct Renewal {
    id: RenewalTicket,
    /// The version held when it started.
    before: Option<u64>,
    stage: Stage,
    waiters: Vec<Waiter>,
}

/// `restore()` in progress; every caller gets its outcome.
#[derive(Debug)]
struct Restore {
    callers: Vec<Caller>,
    stage: RestoreStage,
}

#[derive(Debug)]
enum RestoreStage {
    /// Asked the other tabs; waiting for a session until the sleep ends.
    Asking(Op),
    /// The cookie refresh: its turn, request and marker.
    Cookie(Stage),
}

/// A request out, and what its answer is for.
#[derive(Debug)]
enum Pending {
    /// A login, started before the `logouts`-th logout.
    Login(Caller, Credentials, u32),
    Logout(Caller),
}

/// The marker lock: the version it names (of tokens, or the end of a lineage), and the refresh
/// lock to release once it is granted.
#[derive(Debug)]
struct Marker {
    op: Op,
    version: u64,
    /// A refused renewal's refresh lock: released only when the end marker is held, so that the
    /// next tab to take the lock sees the session ended (DESIGN rule 11).
    then_release: Option<Op>,
}

/// One tab's client: the session, the flows in progress and the effects queued.
#[derive(Debug)]
pub struct Client {
    session: Session,
    config: Config,
    /// The API's origin (of `baseUrl`): names the channel and the locks shared by its tabs.
    api_origin: String,
    /// Web Locks are available (with `crossTab`).
    locks: bool,
    /// This tab's random id on the channel (leader election without Web Locks).
    tab_id: f64,
    channel_open: bool,
    /// Without Web Locks: the ids of the other live tabs.
    peers: Vec<f64>,
    /// The marker lock held (or requested) for the version held now.
    marker: Option<Marker>,
    renewals: Vec<Renewal>,
    restore: Option<Restore>,
    pending: Vec<(Op, Pending)>,
    /// Slow-path calls: each call's state machine and what the last 401 said.
    calls: Vec<(Caller, Call, ServerSaid)>,
    next_op: u32,
    /// How many times `logout()` was called: a login answered after a later logout is dropped.
    logouts: u32,
    /// Effects queued, oldest first. A `Vec` that [`Client::poll`] takes from the front, which
    /// moves the rest: it is less wasm than a `VecDeque`, and the queue is short — a few effects
    /// per input; the longest, the 1,000 calls a storm resumes at once, moves about 30 MB in all
    /// (a few ms, once per storm).
    effects: Vec<Effect>,
    /// The page clock at the input being handled, ms since the epoch ([`Client::set_now`]).
    now: u64,
    /// xorshift64 state for the backoff's jitter, seeded by the edge.
    rng: u64,
}

impl Client {
    /// A client for `config`; `locks` says whether Web Locks are available, `tab_id` is a
    /// random number in `[0, 1)`. Opens the channel (effects queued) when `crossTab` is on.
    pub fn new(config: Config, locks: bool, tab_id: f64) -> Self {
        let api_origin = Origin::of_url(&config.base_url)
            .map(|o| String::from(o.as_str()))
            .unwrap_or_default();
        let mut client = Client {
            session: Session::new(config.session_policy()),
            locks: locks && config.cross_tab,
            config,
            api_origin,
            tab_id,
            channel_open: false,
            peers: Vec::new(),
            marker: None,
            renewals: Vec::new(),
            restore: None,
            pending: Vec::new(),
            calls: Vec::new(),
            next_op: 0,
            logouts: 0,
            effects: Vec::new(),
            now: 0,
            rng: (tab_id * 9_007_199_254_740_991.0) as u64 | 1,
        };
        client.open_channel();
        client
    }

    /// The page clock (ms since the epoch) for the inputs that follow; the edge sets it before
    /// every input.
    pub fn set_now(&mut self, now_ms: u64) {
        self.now = now_ms;
    }

    /// The next effect to carry out, in order.
    pub fn poll(&mut self) -> Option<Effect> {
        (!self.effects.is_empty()).then(|| self.effects.remove(0))
    }

    /// The session (getters, the hot path's decision).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, for the hot path's [`Call::next`].
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The API's origin (of `baseUrl`), as the channel's and the locks' names carry it; empty
    /// when `baseUrl` has none.
    pub fn api_origin(&self) -> &str {
        &self.api_origin
    }

    /// This tab's id on the channel.
    pub fn tab_id(&self) -> f64 {
        self.tab_id
    }

    // ---- inputs: the JavaScript API ----

    /// `login(credentials)`: POSTs the login body; settles `caller`.
    pub fn login(&mut self, caller: Caller, credentials: Credentials) {
        let op = self.op();
        let url = self.config.endpoint(&self.config.login_path);
        self.pending.push((
            op,
            Pending::Login(caller, credentials.clone(), self.logouts),
        ));
        self.effects.push(Effect::Request(Request {
            op,
            url,
            method: "POST",
            body: Body::Credentials(credentials),
            bearer: None,
            include_credentials: self.cookie_mode(),
        }));
    }

    /// `restore()`: joins the one in progress, or starts one; settles `caller` with a boolean.
    pub fn restore(&mut self, caller: Caller) {
        if let Some(restore) = &mut self.restore {
            restore.callers.push(caller);
            return;
        }
        if self.session.is_authenticated() {
            return self.settle(caller, Outcome::Bool(true));
        }
        if self.channel_open {
            self.post(Message::Ask);
            let sleep = self.sleep(ASK_MS);
            self.restore = Some(Restore {
                callers: alloc::vec![caller],
                stage: RestoreStage::Asking(sleep),
            });
        } else {
            self.restore = Some(Restore {
                callers: alloc::vec![caller],
                stage: RestoreStage::Asking(Op(u32::MAX)),
            });
            self.restore_from_cookie();
        }
    }

    /// `refresh()`: joins the renewal in flight or starts one; settles `caller`.
    pub fn refresh(&mut self, caller: Caller) {
        self.renew(Some(Waiter::Caller(caller)));
    }

    /// `logout()`: ends the session here and in the other tabs, then POSTs `logoutPath` (if
    /// configured) with the bearer, best effort; settles `caller` once that is answered.
    pub fn logout(&mut self, caller: Caller) {
        let bearer = self.session.access_token().cloned();
        // Logins and a restore in flight end here: their answers must not log the user back in.
        self.logouts = self.logouts.wrapping_add(1);
        self.cancel_restore();
        self.end_session(EndReason::User);
        let (Some(path), Some(bearer)) = (&self.config.logout_path, bearer) else {
            return self.settle(caller, Outcome::Done);
        };
        let url = self.config.endpoint(path);
        let bearer = self.allows(&url).then_some(bearer);
        let op = self.op();
        self.pending.push((op, Pending::Logout(caller)));
        self.effects.push(Effect::Request(Request {
            op,
            url,
            method: "POST",
            body: Body::None,
            bearer,
            include_credentials: self.cookie_mode(),
        }));
    }

    /// A call that could not take the hot path (a renewal first, a one-shot stream body):
    /// `call` continues here from `step`, settled as `caller`.
    pub fn call(&mut self, caller: Caller, call: Call, step: CallStep) {
        self.calls.push((caller, call, ServerSaid::default()));
        self.step_call(caller, step);
    }

    /// A call the hot path sent once got a 401 from the API: it continues here, as `caller`,
    /// once [`Client::call_answered`] says what the 401's body said.
    pub fn call_sent(&mut self, caller: Caller, call: Call) {
        self.calls.push((caller, call, ServerSaid::default()));
    }

    /// A slow-path call's attempt came back.
    pub fn call_answered(&mut self, caller: Caller, answer: CallAnswer) {
        let step = match answer {
            CallAnswer::Response => return self.finish_call(caller, Outcome::Response),
            CallAnswer::Failed => return self.finish_call(caller, Outcome::FetchFailed),
            CallAnswer::Unauthorized(said) => {
                let Some((_, call, server)) = self.calls.iter_mut().find(|c| c.0 == caller) else {
                    return;
                };
                let step = call.unauthorized(&mut self.session, said.code.as_deref(), self.now);
                *server = said;
                step
            }
        };
        self.step_call(caller, step);
    }

    // ---- inputs: the page and the other tabs ----

    /// The timer fired or the page woke (DESIGN rule 3): renew if due, else re-arm; `pagehide`
    /// closes the channel, and the page coming back reopens it and asks what was missed.
    pub fn wake(&mut self, why: Wake) {
        match why {
            Wake::Hidden => return self.close_channel(),
            Wake::Resumed | Wake::Online if self.config.cross_tab && !self.channel_open => {
                self.open_channel();
                self.post(Message::Ask);
                self.hold_marker();
            }
            _ => {}
        }
        if why == Wake::Online {
            self.session.network_restored(self.now);
        }
        if self.session.is_renewal_due(self.now) {
            // Failures are reported by the renewal itself (`error` or `logout` events).
            self.renew(None);
        } else {
            self.arm_timer();
        }
    }

    /// A well-formed message from another tab.
    pub fn message(&mut self, message: Message) {
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
            Message::Bye { from } => self.peers.retain(|p| *p != from),
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

    /// `free()`: the session ends without events; the channel closes, locks are released.
    pub fn shut_down(&mut self) {
        self.session.end(EndReason::User);
        self.effects.push(Effect::Timer(None));
        self.close_channel();
    }

    // ---- inputs: the edge's I/O ----

    /// An auth endpoint answered the request `op`.
    pub fn answered(&mut self, op: Op, answer: Answer) {
        if let Some(i) = self.pending.iter().position(|p| p.0 == op) {
            match self.pending.swap_remove(i).1 {
                // The user logged out while it was in flight: its tokens are never kept.
                Pending::Login(caller, _, started) if started != self.logouts => {
                    self.reject(caller, ErrorCode::NotAuthenticated)
                }
                Pending::Login(caller, credentials, _) => {
                    self.login_answered(caller, credentials, answer)
                }
                Pending::Logout(caller) => self.settle(caller, Outcome::Done),
            }
            return;
        }
        for i in 0..self.renewals.len() {
            if let Stage::Requesting { request, lock } = self.renewals[i].stage {
                if request == op {
                    return self.renewal_answered(i, lock, answer);
                }
            }
        }
        if let Some(lock) = self.restore_requesting(op) {
            self.restore_answered(lock, answer);
        }
    }

    /// The lock of `op` was granted.
    pub fn lock_granted(&mut self, op: Op) {
        // A marker a renewal or restore waits for before it releases the refresh lock.
        if let Some(i) = self.renewal_marking(op) {
            return self.renewal_marked(i);
        }
        if self.restore_marking(op) {
            return self.restore_marked();
        }
        if let Some(marker) = self.marker.as_mut().filter(|m| m.op == op) {
            let lock = marker.then_release.take();
            return self.release(lock);
        }
        if self.turn_of(op, |t| matches!(t, Turn::Locking(l) if *l == op)) {
            let query = self.op();
            self.effects.push(Effect::Query(query));
            self.set_turn(op, Turn::Querying { lock: op, query });
            return;
        }
        // Nobody waits for it (released meanwhile): let it go.
        self.effects.push(Effect::Release(op));
    }

    /// The lock request `op` failed (or its holder went away).
    pub fn lock_failed(&mut self, op: Op) {
        if self.marker.as_ref().is_some_and(|m| m.op == op) {
            self.drop_marker();
        }
        if let Some(i) = self.renewal_marking(op) {
            self.renewal_marked(i);
        } else if self.restore_marking(op) {
            self.restore_marked();
        } else if self.turn_of(op, |t| matches!(t, Turn::Locking(l) if *l == op)) {
            self.turn_ended(op, TurnEnd::Unavailable);
        }
    }

    /// The locks held now, by any tab (the answer to [`Effect::Query`] `op`).
    pub fn locks_held<'a>(&mut self, op: Op, names: impl IntoIterator<Item = &'a str>) {
        let Some((lock, before)) = self.turn_querying(op) else {
            return;
        };
        let newest = newest_marker(&self.api_origin, names);
        match after_lock(before, self.session.version(), newest) {
            AfterLock::AlreadyRenewed => {
                self.effects.push(Effect::Release(lock));
                self.turn_ended(op, TurnEnd::Adopted);
            }
            AfterLock::AwaitVersion(_) => {
                self.post(Message::Ask);
                let sleep = self.sleep(AWAIT_BROADCAST_MS);
                self.set_turn(
                    op,
                    Turn::Awaiting {
                        lock: Some(lock),
                        sleep,
                    },
                );
            }
            AfterLock::Renew => self.turn_ended(op, TurnEnd::Mine(Some(lock))),
        }
    }

    /// The sleep `op` ended.
    pub fn slept(&mut self, op: Op) {
        if matches!(&self.restore, Some(Restore { stage: RestoreStage::Asking(s), .. }) if *s == op)
        {
            return self.restore_asked();
        }
        if self.turn_of(
            op,
            |t| matches!(t, Turn::Awaiting { sleep, .. } if *sleep == op),
        ) {
            let end = self.awaited(op, true);
            if let Some(end) = end {
                self.turn_ended(op, end);
            }
        }
    }

    // ---- the flows ----

    fn login_answered(&mut self, caller: Caller, credentials: Credentials, answer: Answer) {
        let (status, grant, server) = match answer {
            Answer::Failed => {
                return self.settle(caller, Outcome::Error(AuthError::no_answer(), false))
            }
            Answer::Status {
                status,
                grant,
                server,
            } => (status, grant, server),
        };
        if let Some(code) = ErrorCode::for_login_status(status) {
            let error = with_server(code, status, server);
            // A locked account's whole answer rides along (PGBen: `desbloqueioEm`, …).
            let with_body = code == ErrorCode::AccountLocked;
            return self.settle(caller, Outcome::Error(error, with_body));
        }
        let Some(grant) = grant.filter(|g| g.access_token.is_header_safe()) else {
            let error = with_server(ErrorCode::MalformedResponse, status, server);
            return self.settle(caller, Outcome::Error(error, false));
        };
        self.session.establish(grant, Some(credentials), self.now);
        self.tokens_changed();
        self.repeat_session();
        self.hold_marker();
        self.emit(Event::Login { restored: false });
        self.settle(caller, Outcome::Done);
    }

    /// Joins the renewal in flight or starts one (single flight, DESIGN rule 6); `waiter` is
    /// told how it ends.
    fn renew(&mut self, waiter: Option<Waiter>) {
        let flight = self.session.renewal_in_flight();
        if let Some(renewal) = self.renewals.iter_mut().find(|r| Some(r.id) == flight) {
            renewal.waiters.extend(waiter);
            return;
        }
        let Some(id) = self.session.start_renewal() else {
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
        // The timer is disarmed while a renewal is in flight (`poll_timeout`).
        self.arm_timer();
        let before = self.session.version();
        let stage = match self.take_turn(before) {
            Ok(turn) => Stage::Turn(turn),
            Err(end) => {
                self.renewals.push(Renewal {
                    id,
                    before,
                    stage: Stage::Turn(Turn::Locking(Op(u32::MAX))),
                    waiters: waiter.into_iter().collect(),
                });
                let i = self.renewals.len() - 1;
                return self.renewal_turn_ended(i, end);
            }
        };
        self.renewals.push(Renewal {
            id,
            before,
            stage,
            waiters: waiter.into_iter().collect(),
        });
    }

    fn renewal_turn_ended(&mut self, i: usize, end: TurnEnd) {
        let stale = self.session.renewal_in_flight() != Some(self.renewals[i].id);
        if let (true, TurnEnd::Mine(lock)) = (stale, &end) {
            // The session it was for ended while it waited for its turn: it must not present
            // the refresh token of a newer session (found by the property tests).
            self.release(*lock);
            let renewal = self.renewals.swap_remove(i);
            let error = AuthError::new(ErrorCode::NotAuthenticated);
            return self.resume_all(renewal.waiters, Err(error));
        }
        match end {
            TurnEnd::Mine(lock) => match self.grant_request() {
                Ok(request) => {
                    self.renewals[i].stage = Stage::Requesting {
                        request: request.op,
                        lock,
                    };
                    self.effects.push(Effect::Request(request));
                }
                Err(failure) => {
                    self.renewal_failed(i, lock, failure, AuthError::new(ErrorCode::SessionExpired))
                }
            },
            TurnEnd::Adopted => {
                // The adoption already re-armed and emitted `refresh`.
                let renewal = self.renewals.swap_remove(i);
                self.session.renewal_superseded(renewal.id);
                self.arm_timer();
                self.resume_all(renewal.waiters, Ok(()));
            }
            TurnEnd::Unavailable => self.renewal_failed(
                i,
                None,
                RefreshFailure::Network,
                AuthError::new(ErrorCode::Network),
            ),
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
                Body::RefreshToken(self.session.refresh_token().cloned().ok_or(unavailable)?),
                None,
            ),
            RefreshCredential::Relogin => (
                Body::Credentials(self.session.credentials().cloned().ok_or(unavailable)?),
                None,
            ),
            RefreshCredential::Bearer if self.allows(&url) => (
                Body::None,
                Some(self.session.access_token().cloned().ok_or(unavailable)?),
            ),
            RefreshCredential::Bearer => return Err(unavailable),
            RefreshCredential::Cookie => (Body::None, None),
        };
        Ok(Request {
            op: self.op(),
            url,
            method,
            body,
            bearer,
            include_credentials: self.cookie_mode(),
        })
    }

    fn renewal_answered(&mut self, i: usize, lock: Option<Op>, answer: Answer) {
        let (status, grant, server) = match answer {
            Answer::Failed => {
                let error = AuthError::no_answer();
                return self.renewal_failed(i, lock, RefreshFailure::Network, error);
            }
            Answer::Status {
                status,
                grant,
                server,
            } => (status, grant, server),
        };
        if !(200..300).contains(&status) {
            let retry_after = server.retry_after_ms;
            let error = with_server(ErrorCode::Network, status, server);
            self.renewal_failed(i, lock, RefreshFailure::Status(status), error);
            // A 429 or 503 that says when to come back: not before then (capped).
            if let Some(ms) = retry_after {
                let until = self.now.saturating_add(ms.min(MAX_RETRY_AFTER_MS));
                if self.session.defer_retry(until) {
                    self.arm_timer();
                }
            }
            return;
        }
        let Some(grant) = grant.filter(|g| g.access_token.is_header_safe()) else {
            let error = with_server(ErrorCode::MalformedResponse, status, ServerSaid::default());
            return self.renewal_failed(i, lock, RefreshFailure::Malformed, error);
        };
        let id = self.renewals[i].id;
        if !self.session.renewal_succeeded(id, grant, self.now) {
            self.release(lock);
            let renewal = self.renewals.swap_remove(i);
            let error = AuthError::new(ErrorCode::NotAuthenticated);
            return self.resume_all(renewal.waiters, Err(error));
        }
        self.tokens_changed();
        // The other tabs learn the new tokens, and the marker proves the renewal, before the
        // refresh lock is released.
        self.repeat_session();
        match self.hold_marker() {
            Some(marker) => self.renewals[i].stage = Stage::Marking { marker, lock },
            None => {
                self.renewals[i].stage = Stage::Marking {
                    marker: Op(u32::MAX),
                    lock,
                };
                self.renewal_marked(i);
            }
        }
    }

    fn renewal_marked(&mut self, i: usize) {
        let renewal = self.renewals.swap_remove(i);
        if let Stage::Marking { lock, .. } = renewal.stage {
            self.release(lock);
        }
        self.emit(Event::Refresh);
        self.resume_all(renewal.waiters, Ok(()));
    }

    fn renewal_failed(
        &mut self,
        i: usize,
        lock: Option<Op>,
        failure: RefreshFailure,
        error: AuthError,
    ) {
        let renewal = self.renewals.swap_remove(i);
        let jitter = self.jitter();
        let verdict = self
            .session
            .renewal_failed(renewal.id, failure, self.now, jitter);
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
        self.resume_all(renewal.waiters, Err(error));
    }

    fn resume_all(&mut self, waiters: Vec<Waiter>, outcome: Result<(), AuthError>) {
        for waiter in waiters {
            self.resume(waiter, outcome.clone());
        }
    }

    /// Tells `waiter` how the renewal it waited for ended.
    fn resume(&mut self, waiter: Waiter, outcome: Result<(), AuthError>) {
        match waiter {
            Waiter::Caller(caller) => match outcome {
                Ok(()) => self.settle(caller, Outcome::Done),
                Err(error) => self.settle(caller, Outcome::Error(error, false)),
            },
            Waiter::Call(caller) => {
                let Some((_, call, _)) = self.calls.iter_mut().find(|c| c.0 == caller) else {
                    return;
                };
                let step = match outcome {
                    Ok(()) => call.renewed(&mut self.session, self.now),
                    Err(error) => match call.renewal_failed(&mut self.session, self.now) {
                        Some(step) => step,
                        None => return self.finish_call(caller, Outcome::Error(error, false)),
                    },
                };
                self.step_call(caller, step);
            }
        }
    }

    /// Carries out one step of a slow-path call.
    fn step_call(&mut self, caller: Caller, step: CallStep) {
        match step {
            CallStep::Send(generation) => self.effects.push(Effect::Send(caller, generation)),
            CallStep::Renew => self.renew(Some(Waiter::Call(caller))),
            CallStep::Reject(ErrorCode::SessionExpired) => self.call_expired(caller),
            CallStep::Reject(code) => {
                self.finish_call(caller, Outcome::Error(AuthError::new(code), false))
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
            .find(|c| c.0 == caller)
            .map(|c| core::mem::take(&mut c.2))
            .unwrap_or_default();
        let error = with_server(ErrorCode::SessionExpired, 401, said);
        self.finish_call(caller, Outcome::Error(error, false));
    }

    fn finish_call(&mut self, caller: Caller, outcome: Outcome) {
        self.calls.retain(|c| c.0 != caller);
        self.settle(caller, outcome);
    }

    // ---- restore ----

    /// The ask of `restore()` timed out or was answered.
    fn restore_asked(&mut self) {
        if self.session.is_authenticated() {
            return self.finish_restore(Outcome::Bool(true));
        }
        self.restore_from_cookie();
    }

    /// `restore()` with `refreshCredential: "cookie"`: one refresh call carrying the cookie,
    /// in this tab's turn (several tabs reloading at once present the cookie once).
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

    fn restore_turn_ended(&mut self, end: TurnEnd) {
        match end {
            TurnEnd::Mine(lock) => {
                if self.session.is_authenticated() {
                    self.release(lock);
                    return self.finish_restore(Outcome::Bool(true));
                }
                let Some(path) = self.config.refresh_path.as_ref() else {
                    return;
                };
                let url = self.config.endpoint(path);
                let method = match self.config.refresh_method {
                    RefreshMethod::Post => "POST",
                    RefreshMethod::Get => "GET",
                };
                let op = self.op();
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
            TurnEnd::Unavailable => self.restore_error(AuthError::new(ErrorCode::Network)),
        }
    }

    fn restore_answered(&mut self, lock: Option<Op>, answer: Answer) {
        let (status, grant, server) = match answer {
            Answer::Failed => {
                self.release(lock);
                return self.restore_error(AuthError::no_answer());
            }
            Answer::Status {
                status,
                grant,
                server,
            } => (status, grant, server),
        };
        if !(200..300).contains(&status) {
            self.release(lock);
            if RefreshFailure::Status(status).is_rejection() {
                return self.finish_restore(Outcome::Bool(false));
            }
            return self.restore_error(with_server(ErrorCode::Network, status, server));
        }
        let Some(grant) = grant.filter(|g| g.access_token.is_header_safe()) else {
            self.release(lock);
            let error = with_server(ErrorCode::MalformedResponse, status, ServerSaid::default());
            return self.restore_error(error);
        };
        // A login that finished meanwhile wins: its tokens are the newer ones.
        if self.session.is_authenticated() {
            self.release(lock);
            return self.finish_restore(Outcome::Bool(true));
        }
        self.session.establish(grant, None, self.now);
        self.tokens_changed();
        self.repeat_session();
        match self.hold_marker() {
            Some(marker) => self.set_restore_stage(Stage::Marking { marker, lock }),
            None => {
                self.set_restore_stage(Stage::Marking {
                    marker: Op(u32::MAX),
                    lock,
                });
                self.restore_marked();
            }
        }
    }

    fn restore_marked(&mut self) {
        if let Some(Restore {
            stage: RestoreStage::Cookie(Stage::Marking { lock, .. }),
            ..
        }) = &self.restore
        {
            let lock = *lock;
            self.release(lock);
        }
        self.emit(Event::Login { restored: true });
        self.finish_restore(Outcome::Bool(true));
    }

    /// `logout()` during `restore()`: it resolves `false` now, a lock it holds is released, and
    /// its answer (if one comes) is dropped.
    fn cancel_restore(&mut self) {
        let Some(restore) = &self.restore else {
            return;
        };
        let lock = match &restore.stage {
            RestoreStage::Cookie(Stage::Requesting { lock, .. } | Stage::Marking { lock, .. }) => {
                *lock
            }
            RestoreStage::Cookie(Stage::Turn(Turn::Querying { lock, .. })) => Some(*lock),
            RestoreStage::Cookie(Stage::Turn(Turn::Awaiting { lock, .. })) => *lock,
            RestoreStage::Cookie(Stage::Turn(Turn::Locking(_))) | RestoreStage::Asking(_) => None,
        };
        self.release(lock);
        self.finish_restore(Outcome::Bool(false));
    }

    fn restore_error(&mut self, error: AuthError) {
        self.finish_restore(Outcome::Error(error, false));
    }

    fn finish_restore(&mut self, outcome: Outcome) {
        let Some(restore) = self.restore.take() else {
            return;
        };
        for caller in restore.callers {
            let outcome = match &outcome {
                Outcome::Bool(b) => Outcome::Bool(*b),
                Outcome::Error(e, _) => Outcome::Error(e.clone(), false),
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

    fn restore_requesting(&self, op: Op) -> Option<Option<Op>> {
        match &self.restore {
            Some(Restore {
                stage: RestoreStage::Cookie(Stage::Requesting { request, lock }),
                ..
            }) if *request == op => Some(*lock),
            _ => None,
        }
    }

    fn restore_marking(&self, op: Op) -> bool {
        matches!(&self.restore, Some(Restore {
            stage: RestoreStage::Cookie(Stage::Marking { marker, .. }),
            ..
        }) if *marker == op)
    }

    // ---- turns ----

    /// Starts this tab's turn at renewing tokens of version `before` (DESIGN rule 6): with
    /// Web Locks, the exclusive refresh lock, then the version markers; without, the elected
    /// leader renews and the others ask it. Without the channel (`crossTab: false`) every turn
    /// is this tab's at once: `Err` is a turn that ended as it began.
    fn take_turn(&mut self, before: Option<u64>) -> Result<Turn, TurnEnd> {
        if !self.channel_open {
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
            let op = self.op();
            let name = refresh_lock_name(&self.api_origin);
            self.effects.push(Effect::Lock {
                op,
                name,
                shared: false,
            });
            return Ok(Turn::Locking(op));
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
    fn renews_for_others(&self) -> bool {
        if self.config.refresh_credential == RefreshCredential::Relogin {
            self.session.credentials().is_some()
        } else {
            self.is_leader()
        }
    }

    /// Where the turn that `op` belongs to is: a renewal's index, or the restore (`None`).
    fn turn_index(&self, op: Op) -> Option<Option<usize>> {
        let holds = |turn: &Turn| match turn {
            Turn::Locking(lock) => *lock == op,
            Turn::Querying { lock, query } => *lock == op || *query == op,
            Turn::Awaiting { sleep, .. } => *sleep == op,
        };
        if let Some(i) = self
            .renewals
            .iter()
            .position(|r| matches!(&r.stage, Stage::Turn(t) if holds(t)))
        {
            return Some(Some(i));
        }
        match &self.restore {
            Some(Restore {
                stage: RestoreStage::Cookie(Stage::Turn(t)),
                ..
            }) if holds(t) => Some(None),
            _ => None,
        }
    }

    fn turn_mut(&mut self, at: Option<usize>) -> Option<&mut Turn> {
        let stage = match at {
            Some(i) => &mut self.renewals[i].stage,
            None => match &mut self.restore {
                Some(Restore {
                    stage: RestoreStage::Cookie(stage),
                    ..
                }) => stage,
                _ => return None,
            },
        };
        match stage {
            Stage::Turn(turn) => Some(turn),
            _ => None,
        }
    }

    fn turn_of(&self, op: Op, test: impl Fn(&Turn) -> bool) -> bool {
        let Some(at) = self.turn_index(op) else {
            return false;
        };
        let stage = match at {
            Some(i) => &self.renewals[i].stage,
            None => match &self.restore {
                Some(Restore {
                    stage: RestoreStage::Cookie(stage),
                    ..
                }) => stage,
                _ => return false,
            },
        };
        matches!(stage, Stage::Turn(t) if test(t))
    }

    fn set_turn(&mut self, op: Op, turn: Turn) {
        if let Some(at) = self.turn_index(op) {
            if let Some(slot) = self.turn_mut(at) {
                *slot = turn;
            }
        }
    }

    /// The lock and the flow's `before` of the turn querying with `op`.
    fn turn_querying(&self, op: Op) -> Option<(Op, Option<u64>)> {
        let at = self.turn_index(op)?;
        let (stage, before) = match at {
            Some(i) => (&self.renewals[i].stage, self.renewals[i].before),
            None => match &self.restore {
                Some(Restore {
                    stage: RestoreStage::Cookie(stage),
                    ..
                }) => (stage, None),
                _ => return None,
            },
        };
        match stage {
            Stage::Turn(Turn::Querying { lock, query }) if *query == op => Some((*lock, before)),
            _ => None,
        }
    }

    fn turn_ended(&mut self, op: Op, end: TurnEnd) {
        match self.turn_index(op) {
            Some(Some(i)) => self.renewal_turn_ended(i, end),
            Some(None) => self.restore_turn_ended(end),
            None => {}
        }
    }

    /// An awaiting turn (the one whose sleep is `op`), asked again: adopted when tokens newer
    /// than its `before` are held; unavailable when the session ended, the channel closed or
    /// (`timed_out`) the wait is over; `None`: keep waiting.
    fn awaited(&mut self, op: Op, timed_out: bool) -> Option<TurnEnd> {
        let at = self.turn_index(op)?;
        let before = at.map(|i| self.renewals[i].before).unwrap_or(None);
        let lock = match self.turn_mut(at)? {
            Turn::Awaiting { lock, .. } => *lock,
            _ => return None,
        };
        let version = self.session.version();
        let end = if version > before {
            TurnEnd::Adopted
        } else if timed_out || (before.is_some() && version.is_none()) || !self.channel_open {
            TurnEnd::Unavailable
        } else {
            return None;
        };
        self.release(lock);
        Some(end)
    }

    /// The tokens changed or ended, or the channel closed: every flow waiting for newer tokens
    /// looks again (the awaiting turns, `restore()`'s ask).
    fn versions_changed(&mut self) {
        // Plain loops rather than an iterator chain: less wasm (see BENCHMARKS.md, size).
        let mut sleeps = Vec::new();
        let mut look = |stage: &Stage| {
            if let Stage::Turn(Turn::Awaiting { sleep, .. }) = stage {
                sleeps.push(*sleep);
            }
        };
        for renewal in &self.renewals {
            look(&renewal.stage);
        }
        if let Some(Restore {
            stage: RestoreStage::Cookie(stage),
            ..
        }) = &self.restore
        {
            look(stage);
        }
        for sleep in sleeps {
            if let Some(end) = self.awaited(sleep, false) {
                self.turn_ended(sleep, end);
            }
        }
        let asking = matches!(
            &self.restore,
            Some(Restore {
                stage: RestoreStage::Asking(_),
                ..
            })
        );
        if asking && (self.session.is_authenticated() || !self.channel_open) {
            self.restore_asked();
        }
    }

    // ---- the session's fan-out ----

    /// The tokens changed (login, renewal, restore, adoption): the timer follows the new
    /// expiry and every flow waiting for newer tokens looks again.
    fn tokens_changed(&mut self) {
        self.arm_timer();
        self.versions_changed();
    }

    /// Ends the session once: the timer stops, the other tabs end with this one (unless it
    /// was one of them that ended it), the marker goes, `logout` is emitted, and — when the
    /// server ended it — the page goes to `loginUrl`.
    fn end_session(&mut self, reason: EndReason) {
        let Some(reason) = self.session.end(reason) else {
            return;
        };
        self.effects.push(Effect::Timer(None));
        if reason != EndReason::OtherTab {
            let version = self.session.last_known();
            self.post(Message::Logout { version });
        }
        self.drop_marker();
        self.versions_changed();
        self.emit(Event::Logout(reason));
        if reason.redirects_to_login() && self.config.login_url.is_some() {
            self.effects.push(Effect::Redirect);
        }
    }

    /// Arms the one proactive timer for the session's next deadline, or disarms it.
    fn arm_timer(&mut self) {
        let at = self.session.poll_timeout(self.now);
        self.effects.push(Effect::Timer(at));
    }

    // ---- the channel ----

    fn open_channel(&mut self) {
        if !self.config.cross_tab || self.channel_open {
            return;
        }
        self.channel_open = true;
        self.effects.push(Effect::Channel(true));
        // Without Web Locks the tabs elect a leader: everyone learns who is alive.
        if !self.locks {
            self.post(Message::Hello { from: self.tab_id });
        }
    }

    /// Closes the channel and releases the marker (`pagehide`, `free()`); waiters give up.
    fn close_channel(&mut self) {
        if !self.channel_open {
            return;
        }
        if !self.locks {
            self.post(Message::Bye { from: self.tab_id });
        }
        self.peers.clear();
        self.channel_open = false;
        self.effects.push(Effect::Channel(false));
        self.drop_marker();
        self.versions_changed();
    }

    fn post(&mut self, message: Message) {
        if self.channel_open {
            self.effects.push(Effect::Post(message));
        }
    }

    /// Tells the other tabs about the session held now.
    fn repeat_session(&mut self) {
        if let Some(shared) = self.session.share() {
            self.post(Message::Session(shared));
        }
    }

    /// Holds the shared marker lock of the version held now, releasing the previous one; the
    /// op of the new request, if one was made.
    fn hold_marker(&mut self) -> Option<Op> {
        let version = self
            .session
            .version()
            .filter(|_| self.locks && self.channel_open)?;
        if self.marker.as_ref().is_some_and(|m| m.version == version) {
            return None;
        }
        Some(self.mark(version, None))
    }

    /// After a refused renewal: holds the marker of the lineage's end (the logout version),
    /// then releases the refresh `lock`. A tab that was waiting for the lock finds a marker
    /// newer than its tokens, asks, and hears of the logout instead of presenting the refresh
    /// token the server just refused. Without markers the lock is released at once.
    fn hold_end_marker(&mut self, lock: Option<Op>) {
        if lock.is_none() || !self.locks || !self.channel_open {
            return self.release(lock);
        }
        let version = self.session.last_known();
        self.mark(version, lock);
    }

    /// Requests the shared marker lock of `version` in place of the current marker; once it is
    /// granted, `then_release` (a refresh lock) is released. The op of the request.
    fn mark(&mut self, version: u64, then_release: Option<Op>) -> Op {
        let op = self.op();
        let name = version_marker_name(&self.api_origin, version);
        self.effects.push(Effect::Lock {
            op,
            name,
            shared: true,
        });
        self.drop_marker();
        self.marker = Some(Marker {
            op,
            version,
            then_release,
        });
        op
    }

    /// Releases the marker, and the refresh lock waiting on it if any.
    fn drop_marker(&mut self) {
        if let Some(marker) = self.marker.take() {
            self.effects.push(Effect::Release(marker.op));
            self.release(marker.then_release);
        }
    }

    fn add_peer(&mut self, id: f64) {
        if !self.peers.contains(&id) {
            self.peers.push(id);
        }
    }

    /// Without Web Locks: whether this tab is the leader, the one that renews for all.
    fn is_leader(&self) -> bool {
        self.channel_open && leads(self.tab_id, &self.peers)
    }

    // ---- small helpers ----

    /// A uniform number in `[0, 1)` for the backoff's jitter (xorshift64).
    fn jitter(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    fn op(&mut self) -> Op {
        self.next_op = self.next_op.wrapping_add(1) % (u32::MAX - 1);
        Op(self.next_op)
    }

    fn sleep(&mut self, ms: u32) -> Op {
        let op = self.op();
        self.effects.push(Effect::Sleep(op, ms));
        op
    }

    fn release(&mut self, lock: Option<Op>) {
        if let Some(op) = lock {
            self.effects.push(Effect::Release(op));
        }
    }

    /// The renewal waiting for marker `op`.
    fn renewal_marking(&self, op: Op) -> Option<usize> {
        self.renewals
            .iter()
            .position(|r| matches!(r.stage, Stage::Marking { marker, .. } if marker == op))
    }

    fn emit(&mut self, event: Event) {
        self.effects.push(Effect::Emit(event));
    }

    fn settle(&mut self, caller: Caller, outcome: Outcome) {
        self.effects.push(Effect::Settle(caller, outcome));
    }

    fn reject(&mut self, caller: Caller, code: ErrorCode) {
        self.settle(caller, Outcome::Error(AuthError::new(code), false));
    }

    fn cookie_mode(&self) -> bool {
        self.config.refresh_credential == RefreshCredential::Cookie
    }

    /// Whether the absolute `url` (an endpoint of the configuration) is on an allowed origin.
    fn allows(&self, url: &str) -> bool {
        Origin::of_url(url).is_ok_and(|o| self.config.allowed_origins.allows(o.as_str()))
    }
}

/// An error of `code` carrying `status` and what the server said; `network` says the server
/// answered with an error status.
fn with_server(code: ErrorCode, status: u16, said: ServerSaid) -> AuthError {
    let error = match code {
        ErrorCode::Network => AuthError::server_failed(),
        _ => AuthError::new(code),
    };
    error.with_server(Some(status), said.code, said.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::RawConfig;
    use crate::core::JwtTimes;

    const T0: u64 = 1_700_000_000_000;

    fn config(cross_tab: bool) -> Config {
        Config::parse(RawConfig {
            base_url: "http://127.0.0.1:8080".into(),
            login_path: Some("/v1/auth/login".into()),
            refresh_path: Some("/v1/auth/refresh-token".into()),
            logout_path: Some("/v1/auth/logout".into()),
            cross_tab: Some(cross_tab),
            ..RawConfig::default()
        })
        .unwrap()
    }

    fn grant(access: &str, refresh: &str, ttl_s: f64) -> Grant {
        Grant {
            access_token: AccessToken::new(access.into()),
            refresh_token: Some(RefreshToken::new(refresh.into())),
            expires_in_s: Some(ttl_s),
            jwt: JwtTimes::default(),
        }
    }

    fn ok(access: &str, refresh: &str, ttl_s: f64) -> Answer {
        Answer::Status {
            status: 200,
            grant: Some(grant(access, refresh, ttl_s)),
            server: ServerSaid::default(),
        }
    }

    fn status(status: u16) -> Answer {
        Answer::Status {
            status,
            grant: None,
            server: ServerSaid::default(),
        }
    }

    /// Whether `effects` hold one that matches the pattern.
    macro_rules! has {
        ($effects:expr, $($pattern:tt)+) => {
            $effects.iter().any(|e| matches!(e, $($pattern)+))
        };
    }

    fn drain(c: &mut Client) -> Vec<Effect> {
        core::iter::from_fn(|| c.poll()).collect()
    }

    /// The requests among `effects`: (op, url).
    fn requests(effects: &[Effect]) -> Vec<(Op, String)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Request(r) => Some((r.op, r.url.clone())),
                _ => None,
            })
            .collect()
    }

    fn settled(effects: &[Effect]) -> Vec<(u32, String)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Settle(c, o) => Some((
                    c.0,
                    match o {
                        Outcome::Error(e, _) => String::from(e.code.as_str()),
                        Outcome::Done => "done".into(),
                        Outcome::Bool(b) => if *b { "true" } else { "false" }.into(),
                        Outcome::Response => "response".into(),
                        Outcome::FetchFailed => "fetch_failed".into(),
                    },
                )),
                _ => None,
            })
            .collect()
    }

    fn logged_in(cross_tab: bool, locks: bool) -> Client {
        let mut c = Client::new(config(cross_tab), locks, 0.5);
        c.set_now(T0);
        c.login(Caller(1), Credentials::new("{}".into()));
        let effects = drain(&mut c);
        let (op, url) = requests(&effects)[0].clone();
        assert_eq!(url, "http://127.0.0.1:8080/v1/auth/login");
        c.answered(op, ok("a1", "r1", 3600.0));
        let effects = drain(&mut c);
        assert_eq!(settled(&effects), [(1, "done".into())]);
        assert!(has!(
            effects,
            Effect::Emit(Event::Login { restored: false })
        ));
        c
    }

    #[test]
    fn concurrent_refreshes_and_expired_calls_share_one_renewal() {
        let mut c = logged_in(false, false);
        c.set_now(T0 + 1000);
        c.refresh(Caller(2));
        c.refresh(Caller(3));
        for caller in 10..60 {
            let mut call = Call::sent_once(true, c.session().generation());
            let _ = &mut call;
            c.call_sent(Caller(caller), call);
            c.call_answered(
                Caller(caller),
                CallAnswer::Unauthorized(ServerSaid {
                    code: Some("AUTH_006".into()),
                    message: None,
                    retry_after_ms: None,
                }),
            );
        }
        let effects = drain(&mut c);
        let out = requests(&effects);
        assert_eq!(out.len(), 1, "one refresh request for 52 waiters");
        assert_eq!(out[0].1, "http://127.0.0.1:8080/v1/auth/refresh-token");
        c.answered(out[0].0, ok("a2", "r2", 3600.0));
        let effects = drain(&mut c);
        // Both refresh() callers resolve; each call is sent again with the new generation.
        assert_eq!(settled(&effects), [(2, "done".into()), (3, "done".into())]);
        let resent = effects
            .iter()
            .filter(|e| matches!(e, Effect::Send(_, g) if *g == c.session().generation()))
            .count();
        assert_eq!(resent, 50);
        assert!(has!(effects, Effect::Emit(Event::Refresh)));
    }

    #[test]
    fn a_rejected_renewal_ends_the_session_and_redirects_once() {
        let mut c = logged_in(false, false);
        c.refresh(Caller(2));
        let effects = drain(&mut c);
        let (op, _) = requests(&effects)[0].clone();
        c.answered(op, status(401));
        let effects = drain(&mut c);
        assert_eq!(settled(&effects), [(2, "session_expired".into())]);
        let logouts = effects
            .iter()
            .filter(|e| matches!(e, Effect::Emit(Event::Logout(EndReason::RefreshRejected))))
            .count();
        assert_eq!(logouts, 1);
        assert!(has!(effects, Effect::Redirect));
        assert!(!c.session().is_authenticated());
    }

    #[test]
    fn a_transient_failure_keeps_the_session_and_backs_off() {
        let mut c = logged_in(false, false);
        c.refresh(Caller(2));
        let effects = drain(&mut c);
        let (op, _) = requests(&effects)[0].clone();
        c.answered(op, status(503));
        let effects = drain(&mut c);
        assert_eq!(settled(&effects), [(2, "network".into())]);
        assert!(has!(effects, Effect::Emit(Event::Error(_))));
        let at = effects.iter().rev().find_map(|e| match e {
            Effect::Timer(at) => Some(*at),
            _ => None,
        });
        let at = at.flatten().expect("a backoff retry is armed");
        assert!((T0 + 750..=T0 + 1000).contains(&at), "{at}");
        assert!(c.session().is_authenticated());
    }

    /// The error caller `caller` was rejected with among `effects`.
    fn rejection(effects: &[Effect], caller: u32) -> AuthError {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Settle(c, Outcome::Error(error, _)) if c.0 == caller => Some(error.clone()),
                _ => None,
            })
            .expect("the caller is rejected")
    }

    #[test]
    fn a_login_without_an_answer_names_cors_and_claims_no_session() {
        let mut c = Client::new(config(false), false, 0.5);
        c.set_now(T0);
        c.login(Caller(1), Credentials::new("{}".into()));
        let (op, _) = requests(&drain(&mut c))[0].clone();
        c.answered(op, Answer::Failed);
        let e = rejection(&drain(&mut c), 1);
        assert_eq!(e.code, ErrorCode::Network);
        assert_eq!(e.status, None);
        assert!(e.message.contains("no answer"), "{}", e.message);
        assert!(e.message.contains("CORS"), "{}", e.message);
        assert!(!e.message.contains("session"), "{}", e.message);
        assert!(!c.session().is_authenticated());

        // A 5xx is an answer: no CORS in its message, and still no session to keep.
        c.login(Caller(2), Credentials::new("{}".into()));
        let (op, _) = requests(&drain(&mut c))[0].clone();
        c.answered(op, status(503));
        let e = rejection(&drain(&mut c), 2);
        assert_eq!((e.code, e.status), (ErrorCode::Network, Some(503)));
        assert!(e.message.contains("error status"), "{}", e.message);
        assert!(!e.message.contains("CORS"), "{}", e.message);
        assert!(!e.message.contains("session"), "{}", e.message);
    }

    #[test]
    fn a_renewal_without_an_answer_names_cors_and_keeps_the_session() {
        let mut c = logged_in(false, false);
        c.refresh(Caller(2));
        let (op, _) = requests(&drain(&mut c))[0].clone();
        c.answered(op, Answer::Failed);
        let effects = drain(&mut c);
        let e = rejection(&effects, 2);
        assert_eq!(e.code, ErrorCode::Network);
        assert!(e.message.contains("CORS"), "{}", e.message);
        assert!(
            e.message.ends_with("; the session is kept"),
            "{}",
            e.message
        );
        assert!(has!(effects, Effect::Emit(Event::Error(ev)) if *ev == e));
        assert!(c.session().is_authenticated());

        // Its 5xx says the server answered, and that the session is kept.
        c.set_now(T0 + 60_000);
        c.refresh(Caller(3));
        let (op, _) = requests(&drain(&mut c))[0].clone();
        c.answered(op, status(500));
        let e = rejection(&drain(&mut c), 3);
        assert_eq!(e.status, Some(500));
        assert_eq!(
            e.message,
            "the server answered with an error status; the session is kept"
        );
    }

    #[test]
    fn retry_after_on_a_503_defers_the_next_renewal_and_is_capped() {
        for (said_ms, expected_ms) in [(120_000, 120_000), (u64::MAX, MAX_RETRY_AFTER_MS)] {
            let mut c = logged_in(false, false);
            c.refresh(Caller(2));
            let (op, _) = requests(&drain(&mut c))[0].clone();
            c.answered(
                op,
                Answer::Status {
                    status: 503,
                    grant: None,
                    server: ServerSaid {
                        retry_after_ms: Some(said_ms),
                        ..ServerSaid::default()
                    },
                },
            );
            let effects = drain(&mut c);
            let armed = effects.iter().rev().find_map(|e| match e {
                Effect::Timer(at) => Some(*at),
                _ => None,
            });
            assert_eq!(armed, Some(Some(T0 + expected_ms)));
            assert_eq!(c.session().refresh_at_ms(), Some(T0 + expected_ms));
            assert!(c.session().is_authenticated());
        }
    }

    #[test]
    fn with_web_locks_a_renewal_takes_the_refresh_lock_and_checks_the_markers() {
        let mut c = logged_in(true, true);
        let before = c.session().version().unwrap();
        c.refresh(Caller(2));
        let effects = drain(&mut c);
        let lock = effects
            .iter()
            .find_map(|e| match e {
                Effect::Lock {
                    op,
                    name,
                    shared: false,
                } => {
                    assert_eq!(name, "authfetch:http://127.0.0.1:8080:refresh");
                    Some(*op)
                }
                _ => None,
            })
            .unwrap();
        assert!(requests(&effects).is_empty(), "no request before the lock");
        c.lock_granted(lock);
        let effects = drain(&mut c);
        let query = effects
            .iter()
            .find_map(|e| match e {
                Effect::Query(op) => Some(*op),
                _ => None,
            })
            .unwrap();
        // Another tab already renewed to a newer version: wait for its broadcast, no request.
        let newer = version_marker_name("http://127.0.0.1:8080", before + 5);
        c.locks_held(query, [newer.as_str()]);
        let effects = drain(&mut c);
        assert!(requests(&effects).is_empty());
        assert!(has!(effects, Effect::Post(Message::Ask)));
        // Its broadcast arrives: adopted, the lock released, refresh() resolves.
        c.message(Message::Session(crate::core::SharedSession {
            access_token: AccessToken::new("a2".into()),
            refresh_token: Some(RefreshToken::new("r2".into())),
            version: before + 5,
            received_at_ms: T0 + 5,
            expires_at_ms: Some(T0 + 3_600_000),
        }));
        let effects = drain(&mut c);
        assert!(has!(effects, Effect::Release(op) if *op == lock));
        assert_eq!(settled(&effects), [(2, "done".into())]);
        assert!(
            requests(&effects).is_empty(),
            "a used refresh token is never presented"
        );
    }

    #[test]
    fn with_web_locks_and_no_newer_marker_this_tab_renews_then_marks_then_releases() {
        let mut c = logged_in(true, true);
        let (lock, effects) = renewal_turn(&mut c, &[]);
        let (op, _) = requests(&effects)[0].clone();
        c.set_now(T0 + 2000);
        c.answered(op, ok("a2", "r2", 3600.0));
        let effects = drain(&mut c);
        // The new tokens go to the other tabs and a marker is requested; the lock is still held.
        assert!(has!(effects, Effect::Post(Message::Session(_))));
        let marker = effects
            .iter()
            .find_map(|e| match e {
                Effect::Lock {
                    op,
                    shared: true,
                    name,
                } => {
                    // The login's lineage, first renewal.
                    let version = ((T0 / 1000) << 32) + 1;
                    assert!(name.ends_with(&alloc::format!(":v:{version}")), "{name}");
                    Some(*op)
                }
                _ => None,
            })
            .unwrap();
        assert!(!has!(effects, Effect::Release(op) if *op == lock));
        assert!(settled(&effects).is_empty());
        c.lock_granted(marker);
        let effects = drain(&mut c);
        assert!(has!(effects, Effect::Release(op) if *op == lock));
        assert_eq!(settled(&effects), [(2, "done".into())]);
    }

    /// Takes the refresh lock and answers the markers query with `held`: the effects after.
    fn renewal_turn(c: &mut Client, held: &[&str]) -> (Op, Vec<Effect>) {
        c.refresh(Caller(2));
        let lock = drain(c)
            .into_iter()
            .find_map(|e| match e {
                Effect::Lock { op, .. } => Some(op),
                _ => None,
            })
            .expect("the refresh lock is requested");
        c.lock_granted(lock);
        let query = drain(c)
            .into_iter()
            .find_map(|e| match e {
                Effect::Query(op) => Some(op),
                _ => None,
            })
            .expect("the markers are queried");
        c.locks_held(query, held.iter().copied());
        (lock, drain(c))
    }

    #[test]
    fn a_refused_renewal_holds_the_end_marker_before_releasing_the_lock_so_the_next_tab_never_presents_the_refused_token(
    ) {
        // Tab A renews and the server refuses: A's session ends.
        let mut a = logged_in(true, true);
        let mut b = logged_in(true, true);
        let (lock, effects) = renewal_turn(&mut a, &[]);
        let (op, _) = requests(&effects)[0].clone();
        a.answered(op, status(401));
        let effects = drain(&mut a);
        assert!(has!(effects, Effect::Post(Message::Logout { .. })));
        assert!(has!(
            effects,
            Effect::Emit(Event::Logout(EndReason::RefreshRejected))
        ));
        // The refresh lock is held until the marker of the lineage's end is.
        assert!(!has!(effects, Effect::Release(op) if *op == lock));
        let (marker, name) = effects
            .iter()
            .find_map(|e| match e {
                Effect::Lock {
                    op,
                    name,
                    shared: true,
                } => Some((*op, name.clone())),
                _ => None,
            })
            .expect("an end marker is requested");
        let end = a.session().last_known();
        assert!(name.ends_with(&alloc::format!(":v:{end}")), "{name}");
        a.lock_granted(marker);
        assert!(has!(drain(&mut a), Effect::Release(op) if *op == lock));

        // Tab B, next to take the lock, sees the end marker: it asks instead of renewing...
        let (_, effects) = renewal_turn(&mut b, &[name.as_str()]);
        assert!(
            requests(&effects).is_empty(),
            "B presented the refused refresh token"
        );
        assert!(has!(effects, Effect::Post(Message::Ask)));
        // ...and A's answer ends B's session too.
        a.message(Message::Ask);
        let answer = drain(&mut a)
            .into_iter()
            .find_map(|e| match e {
                Effect::Post(m @ Message::Logout { .. }) => Some(m),
                _ => None,
            })
            .expect("A answers with its logout");
        b.message(answer);
        let effects = drain(&mut b);
        assert!(has!(
            effects,
            Effect::Emit(Event::Logout(EndReason::OtherTab))
        ));
        assert!(requests(&effects).is_empty());
        assert!(!b.session().is_authenticated());
    }

    #[test]
    fn without_web_locks_a_follower_asks_the_leader_and_never_presents_the_refresh_token() {
        let mut c = logged_in(true, false);
        // A peer with a lower id leads.
        c.message(Message::Hello { from: 0.1 });
        let version = c.session().version().unwrap();
        c.refresh(Caller(2));
        let effects = drain(&mut c);
        assert!(requests(&effects).is_empty());
        assert!(has!(effects, Effect::Post(Message::Need { version: v }) if *v == version));
        let sleep = effects
            .iter()
            .find_map(|e| match e {
                Effect::Sleep(op, AWAIT_BROADCAST_MS) => Some(*op),
                _ => None,
            })
            .unwrap();
        // The leader never answers: a transient failure, not a request.
        c.slept(sleep);
        let effects = drain(&mut c);
        assert!(requests(&effects).is_empty());
        assert_eq!(settled(&effects), [(2, "network".into())]);
        assert!(c.session().is_authenticated());
        // The leader leaves: this tab leads and renews itself.
        c.message(Message::Bye { from: 0.1 });
        c.refresh(Caller(3));
        assert_eq!(requests(&drain(&mut c)).len(), 1);
    }

    #[test]
    fn logout_ends_here_tells_the_other_tabs_and_posts_the_logout_endpoint() {
        let mut c = logged_in(true, true);
        c.logout(Caller(2));
        let effects = drain(&mut c);
        assert!(has!(effects, Effect::Post(Message::Logout { .. })));
        assert!(has!(effects, Effect::Emit(Event::Logout(EndReason::User))));
        assert!(!has!(effects, Effect::Redirect));
        let out = requests(&effects);
        assert_eq!(out[0].1, "http://127.0.0.1:8080/v1/auth/logout");
        assert!(
            settled(&effects).is_empty(),
            "settled once the endpoint answered"
        );
        c.answered(out[0].0, Answer::Failed);
        assert_eq!(settled(&drain(&mut c)), [(2, "done".into())]);
        // A logout from another tab is not echoed back.
        let mut c = logged_in(true, true);
        let version = c.session().version().unwrap() | 0xFFFF_FFFF;
        c.message(Message::Logout { version });
        let effects = drain(&mut c);
        assert!(!has!(effects, Effect::Post(Message::Logout { .. })));
        assert!(has!(
            effects,
            Effect::Emit(Event::Logout(EndReason::OtherTab))
        ));
    }

    #[test]
    fn a_renewal_of_an_ended_session_never_presents_the_next_sessions_refresh_token() {
        let mut c = logged_in(true, true);
        c.refresh(Caller(2));
        let lock = match drain(&mut c)
            .into_iter()
            .find(|e| matches!(e, Effect::Lock { shared: false, .. }))
        {
            Some(Effect::Lock { op, .. }) => op,
            _ => unreachable!(),
        };
        c.logout(Caller(3));
        drain(&mut c);
        // A new login here while the old renewal still waits for its turn.
        c.set_now(T0 + 60_000);
        c.login(Caller(4), Credentials::new("{}".into()));
        let (op, _) = requests(&drain(&mut c))[0].clone();
        c.answered(op, ok("a9", "r9", 3600.0));
        drain(&mut c);
        c.lock_granted(lock);
        let query = match drain(&mut c)
            .into_iter()
            .find(|e| matches!(e, Effect::Query(_)))
        {
            Some(Effect::Query(op)) => op,
            _ => unreachable!(),
        };
        c.locks_held(query, []);
        let effects = drain(&mut c);
        assert!(
            requests(&effects).is_empty(),
            "the stale renewal presented r9"
        );
        assert!(has!(effects, Effect::Release(op) if *op == lock));
        assert!(settled(&effects).iter().any(|(caller, _)| *caller == 2));
    }

    #[test]
    fn in_relogin_mode_the_credentials_stay_in_their_tab_which_renews_for_the_others() {
        let relogin = || {
            Config::parse(RawConfig {
                base_url: "http://127.0.0.1:8080".into(),
                login_path: Some("/auth/login".into()),
                refresh_credential: Some("relogin".into()),
                ..RawConfig::default()
            })
            .unwrap()
        };
        // Tab A logs in; what it posts carries no credentials.
        let mut a = Client::new(relogin(), true, 0.2);
        a.set_now(T0);
        a.login(
            Caller(1),
            Credentials::new(r#"{"password":"secret"}"#.into()),
        );
        let (op, _) = requests(&drain(&mut a))[0].clone();
        a.answered(op, ok("a1", "unused", 3600.0));
        let shared = drain(&mut a)
            .into_iter()
            .find_map(|e| match e {
                Effect::Post(Message::Session(shared)) => Some(shared),
                _ => None,
            })
            .unwrap();
        assert!(!alloc::format!("{shared:?}").contains("secret"));
        // Tab B adopts it, then must renew: it asks instead of taking the lock.
        let mut b = Client::new(relogin(), true, 0.7);
        b.set_now(T0 + 1);
        drain(&mut b);
        b.message(Message::Session(shared));
        assert!(b.session().credentials().is_none());
        drain(&mut b);
        b.refresh(Caller(2));
        let effects = drain(&mut b);
        assert!(requests(&effects).is_empty());
        assert!(!has!(effects, Effect::Lock { shared: false, .. }));
        let need = effects
            .into_iter()
            .find_map(|e| match e {
                Effect::Post(need @ Message::Need { .. }) => Some(need),
                _ => None,
            })
            .unwrap();
        // Tab A hears it and renews with its credentials (its own turn: the refresh lock).
        a.message(need);
        let effects = drain(&mut a);
        assert!(has!(effects, Effect::Lock { shared: false, .. }));
    }

    #[test]
    fn a_login_answered_after_a_logout_is_dropped() {
        let mut c = Client::new(config(true), true, 0.5);
        c.set_now(T0);
        c.login(Caller(1), Credentials::new("{}".into()));
        let (op, _) = requests(&drain(&mut c))[0].clone();
        c.logout(Caller(2));
        assert_eq!(settled(&drain(&mut c)), [(2, "done".into())]);
        c.answered(op, ok("late", "late-refresh", 3600.0));
        let effects = drain(&mut c);
        assert_eq!(settled(&effects), [(1, "not_authenticated".into())]);
        assert!(!c.session().is_authenticated());
        assert!(!has!(effects, Effect::Post(Message::Session(_))));
        assert!(!has!(effects, Effect::Emit(_)));
    }

    #[test]
    fn a_logout_during_a_cookie_restore_resolves_it_false_and_drops_its_answer() {
        let cookie = Config::parse(RawConfig {
            base_url: "http://127.0.0.1:8080".into(),
            login_path: Some("/v1/auth/login".into()),
            refresh_path: Some("/v1/auth/refresh-token".into()),
            refresh_credential: Some("cookie".into()),
            cross_tab: Some(false),
            ..RawConfig::default()
        })
        .unwrap();
        let mut c = Client::new(cookie, false, 0.5);
        c.set_now(T0);
        c.restore(Caller(1));
        let (op, url) = requests(&drain(&mut c))[0].clone();
        assert_eq!(url, "http://127.0.0.1:8080/v1/auth/refresh-token");
        c.logout(Caller(2));
        let effects = drain(&mut c);
        assert_eq!(settled(&effects), [(1, "false".into()), (2, "done".into())]);
        c.answered(op, ok("late", "late-refresh", 3600.0));
        assert!(drain(&mut c).is_empty());
        assert!(!c.session().is_authenticated());
    }

    #[test]
    fn restore_asks_the_other_tabs_then_answers_false_without_a_cookie() {
        let mut c = Client::new(config(true), true, 0.5);
        c.set_now(T0);
        drain(&mut c);
        c.restore(Caller(1));
        c.restore(Caller(2));
        let effects = drain(&mut c);
        assert!(has!(effects, Effect::Post(Message::Ask)));
        let sleep = effects
            .iter()
            .find_map(|e| match e {
                Effect::Sleep(op, ASK_MS) => Some(*op),
                _ => None,
            })
            .unwrap();
        c.slept(sleep);
        assert_eq!(
            settled(&drain(&mut c)),
            [(1, "false".into()), (2, "false".into())]
        );
    }

    #[test]
    fn restore_resolves_true_when_a_tab_answers_with_its_session() {
        let mut c = Client::new(config(true), true, 0.5);
        c.set_now(T0);
        drain(&mut c);
        c.restore(Caller(1));
        drain(&mut c);
        c.message(Message::Session(crate::core::SharedSession {
            access_token: AccessToken::new("a".into()),
            refresh_token: None,
            version: (T0 / 1000) << 32,
            received_at_ms: T0,
            expires_at_ms: Some(T0 + 3_600_000),
        }));
        let effects = drain(&mut c);
        assert_eq!(settled(&effects), [(1, "true".into())]);
        assert!(has!(
            effects,
            Effect::Emit(Event::Login { restored: false })
        ));
    }

    #[test]
    fn pagehide_closes_the_channel_and_releases_the_marker_and_pageshow_asks_again() {
        let mut c = logged_in(true, true);
        c.wake(Wake::Hidden);
        let effects = drain(&mut c);
        assert!(has!(effects, Effect::Channel(false)));
        assert!(has!(effects, Effect::Release(_)));
        c.wake(Wake::Resumed);
        let effects = drain(&mut c);
        assert!(has!(effects, Effect::Channel(true)));
        assert!(has!(effects, Effect::Post(Message::Ask)));
        assert!(has!(effects, Effect::Lock { shared: true, .. }));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let mut c = logged_in(true, true);
        c.refresh(Caller(2));
        let text = alloc::format!("{c:?} {:?}", drain(&mut c));
        for secret in ["a1", "r1", "{}"] {
            assert!(
                !text.contains(&alloc::format!("\"{secret}\"")),
                "{secret} in {text}"
            );
        }
    }
}
