//! The whole client as one sans-IO state machine (DESIGN, "Effects, one driver").
//!
//! [`Client`] owns the [`Session`] and every flow in progress, each in its own module: logins
//! and logouts (`login`), the single renewal flight (`renewal`) and its cross-tab turn
//! (`turn`), `restore()` (`restore`), calls through the interceptor (`calls`), and the channel
//! to the other tabs with its version markers (`channel`). Inputs are method calls, each with
//! `now_ms` (ms since the Unix epoch, page clock), as quinn-proto's `Connection` takes `now`;
//! outputs are [`Effect`]s queued in order, which the edge drains with [`Client::poll`] and
//! carries out: send this request, arm the timer, emit this event, post this message, take or
//! release a lock, sleep, redirect, settle caller N. The edge reports what happened back
//! through the inputs, naming the [`Op`] the effect named; an input the core never asked for
//! (an op it never issued, or one already reported) is an [`InputError`], not a silent drop.
//! Nothing here blocks or awaits, so a whole cross-tab renewal can be replayed in a native
//! test.
use alloc::{string::String, vec::Vec};

use super::answer::{Answer, ServerSaid};
use super::config::{Config, RefreshCredential};
use super::crosstab::{Malformed, Message, Wire};
use super::error::{AuthError, ErrorCode};
use super::origin::Origin;
use super::session::{EndReason, Session};
use super::token::{AccessToken, Credentials, RefreshToken, TokenGeneration};

mod calls;
mod channel;
mod login;
mod renewal;
mod restore;
mod turn;

use calls::TrackedCall;
use channel::{Channel, Marker};
use login::PendingRequest;
use renewal::{Renewal, Waiter};
use restore::Restore;

/// How long a tab waits for the broadcast of a renewal another tab makes, ms.
pub const AWAIT_BROADCAST_MS: u32 = 3_000;
/// How long `restore()` waits for a live tab to answer "who holds a session?", ms.
pub const ASK_MS: u32 = 300;
/// How long a tab waits for the cross-tab refresh lock before it gives up this turn, ms: a tab
/// frozen by the browser in the middle of a renewal, or another script holding the lock's
/// name, can hold it forever (DESIGN rule 6).
pub const LOCK_WAIT_MS: u32 = 10_000;
/// The longest delay `setTimeout` keeps, ms (2³¹ − 1); longer ones fire at once, so the timer
/// is armed for this long at most and re-armed when it fires (DESIGN rule 3).
pub const MAX_TIMER_MS: u64 = 2_147_483_647;

/// Names one I/O operation (a request, a lock, a lock query, a sleep) whose outcome the edge
/// reports back; a lock's op also names it for [`Effect::Release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op(pub u32);

/// Names one JavaScript promise the edge settles: a `login`, `restore`, `refresh`, `logout` or
/// a `fetch` call. The edge picks it; the core only settles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller(pub u32);

/// How a Web Lock is requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// The refresh lock, one holder among the tabs.
    Exclusive,
    /// A version marker, held by every tab that holds that version.
    Shared,
}

/// What the edge must do, in the order queued. Each effect carries what the edge needs to do
/// it.
#[derive(Debug)]
pub enum Effect {
    /// Send a request to an auth endpoint; report with [`Client::answered`].
    Request(Request),
    /// Send `caller`'s call with the bearer of this token generation; report with
    /// [`Client::call_answered`] (or [`Client::call_unsendable`]).
    Send {
        /// The call.
        caller: Caller,
        /// The token generation whose bearer it carries.
        generation: TokenGeneration,
    },
    /// Settle a caller's promise.
    Settle {
        /// The promise.
        caller: Caller,
        /// How.
        outcome: Outcome,
    },
    /// Arm the one proactive timer to fire in this many ms (at most [`MAX_TIMER_MS`]), or
    /// disarm it (`None`); when it fires, call [`Client::wake`] with [`Wake::Resumed`].
    Timer(Option<u32>),
    /// Dispatch this event on the client.
    Emit {
        /// The event.
        event: Event,
        /// `detail.expiresAt` of `login` and `refresh`: ms since the epoch, if known.
        expires_at_ms: Option<u64>,
    },
    /// Post this message to the other tabs.
    Post(Wire),
    /// Open the channel to the other tabs with this name (`Some`), or close it.
    Channel(Option<String>),
    /// Request the Web Lock `name`; report [`Client::lock_granted`] or
    /// [`Client::lock_failed`]; hold it until [`Effect::Release`] names the op.
    Lock {
        /// The lock's op.
        op: Op,
        /// The lock's name.
        name: String,
        /// Exclusive (the refresh lock) or shared (a version marker).
        mode: LockMode,
    },
    /// Release the lock of this op, or drop its request if it is not granted yet: the edge
    /// reports nothing more of it.
    Release(Op),
    /// Ask which locks are held; report with [`Client::locks_held`].
    Query(Op),
    /// Wait this many ms; report with [`Client::slept`].
    Sleep {
        /// The sleep's op.
        op: Op,
        /// How long, ms.
        ms: u32,
    },
    /// Send the page to this `loginUrl` (as configured: the edge resolves it against the
    /// page), unless the page is already there (`page::is_same_page`).
    Redirect(String),
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
    /// The login body, verbatim JSON text (`login()`, and renewals in `relogin` mode).
    Credentials(Credentials),
    /// `{"<field>": "<refresh token>"}` (`refreshBodyField`).
    RefreshToken {
        /// The field's name.
        field: String,
        /// The refresh token.
        token: RefreshToken,
    },
}

/// How a call's attempt came back.
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
    /// Reject with this error.
    Error {
        /// The error.
        error: AuthError,
        /// Attach the answer's parsed JSON body as `details` (`account_locked`: PGBen's
        /// `tentativasRestantes`, `desbloqueioEm`).
        with_details: bool,
    },
}

impl Outcome {
    /// Reject with `error`, nothing attached.
    pub fn error(error: AuthError) -> Outcome {
        Outcome::Error {
            error,
            with_details: false,
        }
    }
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

/// An input the core cannot take: the edge reported something the core never asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputError {
    /// No effect named this op, or it was already reported (or released).
    UnknownOp(Op),
    /// The op was issued for another kind of outcome (a sleep reported as a lock, say).
    WrongOp(Op),
    /// No call of this caller waits for this input.
    UnknownCaller(Caller),
    /// A new call named a caller that already has one.
    CallerInUse(Caller),
    /// A message from another tab was malformed (DESIGN rule 11); it changed nothing.
    Malformed(Malformed),
}

/// What an issued op waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Request,
    /// A lock requested, not granted yet.
    Lock,
    /// A lock granted, held until released.
    Held,
    Query,
    Sleep,
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
    channel: Channel,
    /// The marker lock held (or requested) for the version held now.
    marker: Option<Marker>,
    /// The renewal in flight, and detached ones of ended sessions finishing stale.
    renewals: Vec<Renewal>,
    restore: Option<Restore>,
    /// Login and logout requests out.
    requests: Vec<PendingRequest>,
    /// Calls the core tracks (not sent on the hot path, or handed over after a 401).
    calls: Vec<TrackedCall>,
    /// The ops issued whose outcome the edge has not reported yet.
    ops: Vec<(Op, OpKind)>,
    last_op: u32,
    /// How many times `logout()` was called: a login answered after a later logout is dropped.
    logouts: u32,
    /// Effects queued, oldest first. A `Vec` that [`Client::poll`] takes from the front, which
    /// moves the rest: less wasm than a `VecDeque`, and the queue is short (a few effects per
    /// input; the longest, the 1,000 calls a storm resumes at once, moves about 30 MB in all,
    /// a few ms once per storm).
    effects: Vec<Effect>,
    /// The page clock at the input being handled, ms since the epoch.
    now: u64,
    /// xorshift64 state for the backoff's jitter, seeded from the tab id.
    rng: u64,
}

impl Client {
    /// A client for `config`; `web_locks` says whether the Web Locks API is available,
    /// `tab_id` is a random number in `[0, 1)`. Opens the channel (effects queued) when
    /// `crossTab` is on.
    pub fn new(config: Config, web_locks: bool, tab_id: f64) -> Self {
        let api_origin = Origin::of_url(&config.base_url)
            .map(|o| String::from(o.as_str()))
            .unwrap_or_default();
        let mut client = Client {
            session: Session::new(config.session_policy()),
            locks: web_locks && config.cross_tab,
            config,
            api_origin,
            tab_id,
            channel: Channel::default(),
            marker: None,
            renewals: Vec::new(),
            restore: None,
            requests: Vec::new(),
            calls: Vec::new(),
            ops: Vec::new(),
            last_op: 0,
            logouts: 0,
            effects: Vec::new(),
            now: 0,
            rng: (tab_id * 9_007_199_254_740_991.0) as u64 | 1,
        };
        client.open_channel();
        client
    }

    /// The next effect to carry out, in order.
    pub fn poll(&mut self) -> Option<Effect> {
        (!self.effects.is_empty()).then(|| self.effects.remove(0))
    }

    /// The session (its getters: `isAuthenticated`, `expiresAt`, `refreshAt`).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The access token of token generation `generation`, for the bearer of a call the core
    /// decided to send with it; `None` when the session holds no token of that generation (it
    /// ended or renewed since).
    pub fn bearer(&self, generation: TokenGeneration) -> Option<&AccessToken> {
        self.session
            .access_token()
            .filter(|_| self.session.generation() == generation)
    }

    /// Whether a request to the absolute `url` may carry the bearer (DESIGN rule 4): decided on
    /// the URL's spelling when that is certain, else on `origin_of(url)`, the origin the
    /// browser's URL parser reads from it (`None` when it cannot: no bearer).
    pub fn allows(&self, url: &str, origin_of: impl FnOnce(&str) -> Option<String>) -> bool {
        let allowed = &self.config.allowed_origins;
        allowed
            .allows_url_prefix(url)
            .unwrap_or_else(|| origin_of(url).is_some_and(|origin| allowed.allows(&origin)))
    }

    // ---- inputs: the JavaScript API ----

    /// `login(credentials)`: POSTs the login body; settles `caller`. `credentials` is the JSON
    /// text of what the app passed (`JSON.stringify`); `None`, or text that is not a JSON
    /// object, is refused at once: `invalid_config` naming `credentials`.
    pub fn login(&mut self, now_ms: u64, caller: Caller, credentials: Option<String>) {
        self.now = now_ms;
        match credentials.filter(|text| text.starts_with("{")) {
            Some(text) => self.start_login(caller, Credentials::new(text)),
            None => {
                let why = "login() takes a JSON-serializable object";
                self.settle(
                    caller,
                    Outcome::error(AuthError::invalid_config("credentials", why)),
                );
            }
        }
    }

    /// `restore()`: joins the one in progress, or starts one; settles `caller` with a boolean.
    pub fn restore(&mut self, now_ms: u64, caller: Caller) {
        self.now = now_ms;
        self.start_restore(caller);
    }

    /// `refresh()`: joins the renewal in flight or starts one; settles `caller`.
    pub fn refresh(&mut self, now_ms: u64, caller: Caller) {
        self.now = now_ms;
        self.renew(Some(Waiter::Caller(caller)));
    }

    /// `logout()`: ends the session here and in the other tabs, then POSTs `logoutPath` (if
    /// configured) with the bearer, best effort; settles `caller` once that is answered.
    pub fn logout(&mut self, now_ms: u64, caller: Caller) {
        self.now = now_ms;
        self.start_logout(caller);
    }

    /// `free()`: the session ends without events; the channel closes, locks are released.
    pub fn shut_down(&mut self, now_ms: u64) {
        self.now = now_ms;
        self.session.end(EndReason::User);
        self.effects.push(Effect::Timer(None));
        self.close_channel();
    }

    // ---- inputs: the page and the other tabs ----

    /// The timer fired or the page woke (DESIGN rule 3): renew if due, else re-arm; `pagehide`
    /// closes the channel, and the page coming back reopens it and asks what was missed.
    pub fn wake(&mut self, now_ms: u64, why: Wake) {
        self.now = now_ms;
        match why {
            Wake::Hidden => return self.close_channel(),
            Wake::Resumed | Wake::Online if self.config.cross_tab && !self.channel.open => {
                self.open_channel();
                self.post(Message::Ask);
                self.hold_marker();
            }
            _ => {}
        }
        if why == Wake::Online {
            self.session.network_restored(now_ms);
        }
        if self.session.is_renewal_due(now_ms) {
            // Failures are reported by the renewal itself (`error` or `logout` events).
            self.renew(None);
        } else {
            self.arm_timer();
        }
    }

    /// A message from another tab, as it came off the channel: checked for shape first
    /// (DESIGN rule 11); a malformed one changes nothing and is reported as
    /// [`InputError::Malformed`].
    pub fn message(&mut self, now_ms: u64, wire: Wire) -> Result<(), InputError> {
        self.now = now_ms;
        let message = Message::from_wire(wire).map_err(InputError::Malformed)?;
        self.on_message(message);
        Ok(())
    }

    // ---- inputs: the edge's I/O ----

    /// An auth endpoint answered the request `op` (see [`Answer::read`]).
    pub fn answered(&mut self, now_ms: u64, op: Op, answer: Answer) -> Result<(), InputError> {
        self.now = now_ms;
        self.take_op(op, OpKind::Request)?;
        if let Some(i) = self.requests.iter().position(|r| r.op() == op) {
            let request = self.requests.swap_remove(i);
            self.request_answered(request, answer);
        } else if let Some(ticket) = self.renewal_requesting(op) {
            self.renewal_answered(ticket, answer);
        } else if self.restore_requesting(op) {
            self.restore_answered(answer);
        }
        // Otherwise the flow it was for has ended (a `restore()` that a logout cancelled).
        Ok(())
    }

    /// The lock of `op` was granted.
    pub fn lock_granted(&mut self, now_ms: u64, op: Op) -> Result<(), InputError> {
        self.now = now_ms;
        self.expect_op(op, OpKind::Lock)?;
        self.set_op(op, OpKind::Held);
        self.on_lock_granted(op);
        Ok(())
    }

    /// The lock request `op` failed, or the lock was taken away.
    pub fn lock_failed(&mut self, now_ms: u64, op: Op) -> Result<(), InputError> {
        self.now = now_ms;
        if self.expect_op(op, OpKind::Held).is_err() {
            self.expect_op(op, OpKind::Lock)?;
        }
        self.take_any_op(op);
        self.on_lock_failed(op);
        Ok(())
    }

    /// The locks held now, by any tab: the answer to [`Effect::Query`] `op`.
    pub fn locks_held<'a>(
        &mut self,
        now_ms: u64,
        op: Op,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), InputError> {
        self.now = now_ms;
        self.take_op(op, OpKind::Query)?;
        self.on_locks_held(op, names);
        Ok(())
    }

    /// The sleep `op` ended.
    pub fn slept(&mut self, now_ms: u64, op: Op) -> Result<(), InputError> {
        self.now = now_ms;
        self.take_op(op, OpKind::Sleep)?;
        if self.restore_asking(op) {
            self.restore_asked();
        } else {
            self.on_turn_sleep(op);
        }
        Ok(())
    }

    // ---- the ops ----

    /// A new op, waiting for `kind` of outcome.
    fn issue(&mut self, kind: OpKind) -> Op {
        // Op 0 is never issued; 2³² ops are more than a page ever makes.
        self.last_op = self.last_op.wrapping_add(1).max(1);
        let op = Op(self.last_op);
        self.ops.push((op, kind));
        op
    }

    fn expect_op(&self, op: Op, kind: OpKind) -> Result<(), InputError> {
        match self.ops.iter().position(|(o, _)| *o == op) {
            None => Err(InputError::UnknownOp(op)),
            Some(i) if self.ops.get(i).is_some_and(|(_, k)| *k != kind) => {
                Err(InputError::WrongOp(op))
            }
            Some(_) => Ok(()),
        }
    }

    /// Consumes `op`, which must wait for `kind`.
    fn take_op(&mut self, op: Op, kind: OpKind) -> Result<(), InputError> {
        self.expect_op(op, kind)?;
        self.take_any_op(op);
        Ok(())
    }

    fn take_any_op(&mut self, op: Op) {
        if let Some(i) = self.ops.iter().position(|(o, _)| *o == op) {
            self.ops.swap_remove(i);
        }
    }

    fn set_op(&mut self, op: Op, kind: OpKind) {
        self.take_any_op(op);
        self.ops.push((op, kind));
    }

    // ---- effects ----

    fn sleep(&mut self, ms: u32) -> Op {
        let op = self.issue(OpKind::Sleep);
        self.effects.push(Effect::Sleep { op, ms });
        op
    }

    fn request_lock(&mut self, name: String, mode: LockMode) -> Op {
        let op = self.issue(OpKind::Lock);
        self.effects.push(Effect::Lock { op, name, mode });
        op
    }

    /// Releases the lock of `lock` (or drops its request), if any and if the edge still holds
    /// or waits for it (a lock that failed is gone already).
    fn release(&mut self, lock: Option<Op>) {
        let Some(op) = lock.filter(|op| self.ops.iter().any(|(o, _)| o == op)) else {
            return;
        };
        self.take_any_op(op);
        self.effects.push(Effect::Release(op));
    }

    fn emit(&mut self, event: Event) {
        let expires_at_ms = self.session.expires_at_ms();
        self.effects.push(Effect::Emit {
            event,
            expires_at_ms,
        });
    }

    fn settle(&mut self, caller: Caller, outcome: Outcome) {
        self.effects.push(Effect::Settle { caller, outcome });
    }

    fn reject(&mut self, caller: Caller, code: ErrorCode) {
        self.settle(caller, Outcome::error(AuthError::new(code)));
    }

    /// Arms the one proactive timer for the session's next deadline, or disarms it.
    fn arm_timer(&mut self) {
        let delay = self
            .session
            .poll_timeout(self.now)
            .map(|at| at.saturating_sub(self.now).min(MAX_TIMER_MS) as u32);
        self.effects.push(Effect::Timer(delay));
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
        if let Some(url) = self
            .config
            .login_url
            .clone()
            .filter(|_| reason.redirects_to_login())
        {
            self.effects.push(Effect::Redirect(url));
        }
    }

    // ---- small helpers ----

    /// A uniform number in `[0, 1)` for the backoff's jitter (xorshift64).
    fn jitter(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    fn cookie_mode(&self) -> bool {
        self.config.refresh_credential == RefreshCredential::Cookie
    }

    /// Whether the absolute `url` (an endpoint of the configuration, already checked to be
    /// on an allowed origin by `Config::parse`) is on an allowed origin.
    fn allows_endpoint(&self, url: &str) -> bool {
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
pub(crate) mod tests;
