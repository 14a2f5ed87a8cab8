//! `AuthClient`, the object JavaScript sees, and the flows it runs: login, the `fetch`
//! interceptor, single-flight renewal, the proactive timer, logout.
//!
//! Every flow asks the core ([`Session`]) what to do and does it. A `RefCell` borrow is never
//! held across an `.await` or a call out to JavaScript (events, navigation, `fetch`), so a
//! listener that calls back into the client cannot trip over one.
use alloc::{borrow::ToOwned, string::String, vec::Vec};

use alloc::rc::{Rc, Weak};
use core::cell::RefCell;

use crate::core::{
    AuthError, Config, Credentials, EndReason, ErrorCode, Origin, RefreshCredential,
    RefreshFailure, RefreshMethod, RefreshVerdict, RenewalId, Session, TokenGeneration,
};
use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

use super::config;
use super::crosstab::{Channel, HeldLock, Locks, Message};
use super::error::to_js;
use super::events::{self, Events};
use super::http::{self, EndpointCall};
use super::interceptor::Answers;
use super::js::{captured_fetch, now_ms, random, set};
use super::lifecycle::{PageLifecycle, Wake};
use super::redirect;
use super::sharing::Turn;
use super::timer::RefreshTimer;

type FetchClosure = Closure<dyn FnMut(JsValue, JsValue) -> Promise>;

/// Keeps one bearer session alive and authenticates `fetch` calls to the API.
///
/// ```js
/// import init, { AuthClient } from "authfetch";
/// await init();
/// const auth = new AuthClient({ loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token" });
/// await auth.login({ email: "maria@exemplo.com", senha: "…" });
/// const res = await auth.fetch("/v1/cidadao/me");
/// ```
///
/// Every rejection is an `Error` with `name === "AuthError"` and a `code` (see the README).
#[wasm_bindgen]
pub struct AuthClient {
    inner: Rc<Inner>,
}

impl core::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthClient")
            .field("session", &self.inner.session)
            .finish_non_exhaustive()
    }
}

pub(super) struct Inner {
    pub(super) config: Config,
    pub(super) session: RefCell<Session>,
    /// The renewal in flight (single flight, DESIGN rule 6): callers that need a new token
    /// await this promise instead of starting another renewal.
    pub(super) flight: RefCell<Option<(RenewalId, Promise)>>,
    /// The `restore()` in flight: concurrent calls share it, so a rotated refresh cookie is
    /// never presented twice.
    pub(super) restoring: RefCell<Option<Promise>>,
    pub(super) timer: RefCell<RefreshTimer>,
    pub(super) lifecycle: RefCell<Option<PageLifecycle>>,
    pub(super) fetcher: RefCell<Option<FetchClosure>>,
    pub(super) events: Events,
    pub(super) fetch: Function,
    /// The two functions every hot-path call's promise is chained to.
    pub(super) answers: Answers,
    /// The API's origin (of `baseUrl`): names the channel and the locks shared by its tabs.
    pub(super) api_origin: String,
    /// The channel to the other tabs, while `crossTab` is on and the page is shown.
    pub(super) channel: RefCell<Option<Channel>>,
    /// `navigator.locks`, where the browser has it (with `crossTab`).
    pub(super) locks: Option<Locks>,
    /// The shared lock naming the version of the tokens this tab holds.
    pub(super) marker: RefCell<Option<HeldLock>>,
    /// Without Web Locks: the ids of the other live tabs (leader election).
    pub(super) peers: RefCell<Vec<f64>>,
    /// Resolvers of `wait_for_newer` calls, woken whenever the tokens change or end.
    pub(super) version_waiters: RefCell<Vec<Function>>,
    /// The `Authorization` value of the current access token as a JS string, made once per
    /// token generation instead of once per call; dropped when the session ends.
    pub(super) bearer: RefCell<Option<(TokenGeneration, JsValue)>>,
}

#[wasm_bindgen]
impl AuthClient {
    /// Validates `config` (see the README's configuration table) and starts listening for the
    /// page waking up (`visibilitychange`, `focus`, `online`, `pageshow`).
    ///
    /// Throws an `AuthError` with code `invalid_config` and `key` naming the key at fault.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<AuthClient, JsValue> {
        let config = config::read(&config).map_err(|e| to_js(&e, None))?;
        let unavailable = |what: &str| to_js(&AuthError::invalid_config("config", what), None);
        let fetch = captured_fetch().ok_or_else(|| unavailable("this environment has no fetch"))?;
        let events =
            Events::new().ok_or_else(|| unavailable("this environment has no EventTarget"))?;
        let api_origin = Origin::of_url(&config.base_url)
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default();
        let locks = if config.cross_tab {
            Locks::available()
        } else {
            None
        };
        let inner = Rc::new_cyclic(|weak| Inner {
            answers: Answers::new(weak.clone()),
            session: RefCell::new(Session::new(config.session_policy())),
            config,
            flight: RefCell::new(None),
            restoring: RefCell::new(None),
            timer: RefCell::new(RefreshTimer::default()),
            lifecycle: RefCell::new(None),
            fetcher: RefCell::new(None),
            events,
            fetch,
            api_origin,
            channel: RefCell::new(None),
            locks,
            marker: RefCell::new(None),
            peers: RefCell::new(Vec::new()),
            version_waiters: RefCell::new(Vec::new()),
            bearer: RefCell::new(None),
        });
        inner.open_channel();
        let weak = Rc::downgrade(&inner);
        *inner.lifecycle.borrow_mut() =
            Some(PageLifecycle::listen(move |why| wake_later(&weak, why)));
        Ok(AuthClient { inner })
    }

    /// Logs in: POSTs `credentials` verbatim as JSON to `baseUrl + loginPath` and keeps the
    /// tokens of the answer in memory. Resolves `undefined`; emits `login`.
    ///
    /// Rejects `invalid_credentials` (400/401), `account_locked` (403/423, with the server's
    /// JSON body in `details`), `network` (offline, 5xx), `malformed_response` (no access token).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn login(&self, credentials: JsValue) -> Promise {
        future_to_promise(self.inner.clone().login(credentials))
    }

    /// Tries to resume a session without credentials, e.g. after a page reload. Resolves
    /// `true` when a session is held: already, or — with `refreshCredential: "cookie"` — after
    /// the refresh endpoint accepted the HttpOnly refresh cookie (emits `login` with
    /// `detail.restored === true`). Resolves `false` when there is nothing to resume.
    /// Concurrent calls share one attempt.
    ///
    /// Rejects `network` (the refresh endpoint could not be reached or failed with 5xx) and
    /// `malformed_response`; "no session" is `false`, not an error.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn restore(&self) -> Promise {
        let in_flight = self.inner.restoring.borrow().clone();
        if let Some(promise) = in_flight {
            return promise;
        }
        let promise = future_to_promise(self.inner.clone().restore());
        *self.inner.restoring.borrow_mut() = Some(promise.clone());
        promise
    }

    /// `fetch` with the session: same arguments, same `Response`. Requests to origins outside
    /// `allowedOrigins` pass through untouched. Requests to the API carry the bearer; a token in
    /// its lead window is renewed first; a 401 with an "expired" code is renewed and retried
    /// once; any other 401 ends the session (event `logout`, redirect to `loginUrl`).
    ///
    /// Rejects `not_authenticated` (no session: nothing was sent), `session_expired`, `network`
    /// (fetch failed; the original `TypeError` is in `cause`), `body_not_replayable`; and with
    /// fetch's own `TypeError` for input `fetch` itself refuses.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RequestInit | undefined")] init: JsValue,
    ) -> Promise {
        self.inner.fetch(&input, &init)
    }

    /// [`AuthClient::fetch`] as a plain function with `fetch`'s signature, bound to this client,
    /// for libraries that take a `fetch` (`ky`, openapi-fetch, …). The same function every time.
    /// `free()` releases it: calling it afterwards throws instead of reaching a freed client.
    #[wasm_bindgen(unchecked_return_type = "typeof fetch")]
    pub fn fetcher(&self) -> Function {
        let mut slot = self.inner.fetcher.borrow_mut();
        let closure = slot.get_or_insert_with(|| {
            let weak = Rc::downgrade(&self.inner);
            Closure::new(move |input, init| match weak.upgrade() {
                Some(inner) => inner.fetch(&input, &init),
                None => Promise::reject(&reject(ErrorCode::NotAuthenticated)),
            })
        });
        closure.as_ref().unchecked_ref::<Function>().clone()
    }

    /// Renews the access token now, joining a renewal already in flight. Emits `refresh`.
    ///
    /// Rejects `not_authenticated` (no session), `session_expired` (the server refused: the
    /// session ended), `network`/`malformed_response` (transient: the session is kept and
    /// retried with backoff), `invalid_config` (no `refreshPath` and not `relogin`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn refresh(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.renew().await.map(|()| JsValue::UNDEFINED) })
    }

    /// Ends the session: tokens are dropped, `logout` is emitted with reason `user`, and
    /// `logoutPath` (if configured) is POSTed with the bearer, best effort. No redirect.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self) -> Promise {
        future_to_promise(self.inner.clone().logout())
    }

    /// Whether a session is held.
    #[wasm_bindgen(getter, js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.inner.session.borrow().is_authenticated()
    }

    /// When the access token expires: epoch ms on the local clock; `undefined` when unknown or
    /// logged out.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> Option<f64> {
        self.inner
            .session
            .borrow()
            .expires_at_ms()
            .map(|ms| ms as f64)
    }

    /// When the next proactive renewal is scheduled: epoch ms on the local clock (`expiresAt`
    /// minus the lead, or a backoff retry); `undefined` when none is.
    #[wasm_bindgen(getter, js_name = refreshAt)]
    pub fn refresh_at(&self) -> Option<f64> {
        self.inner
            .session
            .borrow()
            .refresh_at_ms()
            .map(|ms| ms as f64)
    }

    /// Listens for `login`, `refresh` (`detail.expiresAt`), `logout` (`detail.reason`) or
    /// `error` (`detail` is the `AuthError`); each is a `CustomEvent`.
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: &str,
        #[wasm_bindgen(unchecked_param_type = "(event: CustomEvent) => void")] listener: &JsValue,
    ) {
        if let Some(listener) = listener.dyn_ref::<Function>() {
            let _ = self
                .inner
                .events
                .target()
                .add_event_listener_with_callback(kind, listener);
        }
    }

    /// Stops listening.
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(
        &self,
        kind: &str,
        #[wasm_bindgen(unchecked_param_type = "(event: CustomEvent) => void")] listener: &JsValue,
    ) {
        if let Some(listener) = listener.dyn_ref::<Function>() {
            let _ = self
                .inner
                .events
                .target()
                .remove_event_listener_with_callback(kind, listener);
        }
    }
}

impl Drop for AuthClient {
    /// `free()`: the timer, the page listeners and the `fetcher()` closure are released and the
    /// tokens dropped, even while a call still holds the shared state.
    fn drop(&mut self) {
        self.inner.shut_down();
    }
}

/// Runs a wake-up after the current JS task, so that the timer or listener callback that
/// asked for it has returned before its owner may be replaced.
fn wake_later(weak: &Weak<Inner>, why: Wake) {
    let weak = weak.clone();
    spawn_local(async move {
        if let Some(inner) = weak.upgrade() {
            inner.wake(why).await;
        }
    });
}

fn bearer(token: &str) -> String {
    let mut value = String::with_capacity(7 + token.len());
    value.push_str("Bearer ");
    value.push_str(token);
    value
}

pub(super) fn reject(code: ErrorCode) -> JsValue {
    to_js(&AuthError::new(code), None)
}

impl Inner {
    async fn login(self: Rc<Self>, credentials: JsValue) -> Result<JsValue, JsValue> {
        let body = credentials
            .is_object()
            .then(|| js_sys::JSON::stringify(&credentials).ok())
            .flatten()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                to_js(
                    &AuthError::invalid_config(
                        "credentials",
                        "login() takes a JSON-serializable object",
                    ),
                    None,
                )
            })?;
        let url = self.config.endpoint(&self.config.login_path);
        let answer = http::send(
            &self.fetch,
            EndpointCall {
                url: &url,
                method: "POST",
                json_body: Some(&body),
                authorization: None,
                include_credentials: self.config.refresh_credential == RefreshCredential::Cookie,
            },
        )
        .await
        .map_err(|()| reject(ErrorCode::Network))?;
        if let Some(code) = ErrorCode::for_login_status(answer.status) {
            let error = http::error_from(&self.config, code, answer.status, answer.json.as_ref());
            // A locked account's whole answer rides along (PGBen: `desbloqueioEm`, …).
            let details = answer
                .json
                .as_ref()
                .filter(|_| code == ErrorCode::AccountLocked);
            return Err(to_js(&error, details));
        }
        let grant = answer
            .json
            .as_ref()
            .and_then(|json| http::read_grant(&self.config, json))
            .ok_or_else(|| {
                let error = http::error_from(
                    &self.config,
                    ErrorCode::MalformedResponse,
                    answer.status,
                    answer.json.as_ref(),
                );
                to_js(&error, None)
            })?;
        self.session
            .borrow_mut()
            .establish(grant, Some(Credentials::new(body)), now_ms());
        self.arm_timer();
        self.share_session();
        self.events.emit(events::LOGIN, &self.expiry_detail());
        Ok(JsValue::UNDEFINED)
    }

    async fn restore(self: Rc<Self>) -> Result<JsValue, JsValue> {
        let outcome = self.resume().await;
        self.restoring.borrow_mut().take();
        outcome.map(JsValue::from_bool)
    }

    /// `restore()`: a session held here, else one a live tab shares, else the refresh cookie.
    async fn resume(self: &Rc<Self>) -> Result<bool, JsValue> {
        if self.session.borrow().is_authenticated() || self.ask_other_tabs().await {
            return Ok(true);
        }
        self.resume_from_cookie().await
    }

    /// `restore()` with `refreshCredential: "cookie"`: one refresh call carrying the cookie,
    /// in this tab's turn (several tabs reloading at once present the cookie once).
    async fn resume_from_cookie(self: &Rc<Self>) -> Result<bool, JsValue> {
        let config = &self.config;
        let path = match (&config.refresh_path, config.refresh_credential) {
            (Some(path), RefreshCredential::Cookie) => path,
            _ => return Ok(false),
        };
        let lock = match self.take_turn(None).await {
            Turn::Mine(lock) => lock,
            Turn::Adopted => return Ok(true),
            Turn::Unavailable => return Err(reject(ErrorCode::Network)),
        };
        if self.session.borrow().is_authenticated() {
            return Ok(true);
        }
        let method = match config.refresh_method {
            RefreshMethod::Post => "POST",
            RefreshMethod::Get => "GET",
        };
        let url = config.endpoint(path);
        let answer = http::send(
            &self.fetch,
            EndpointCall {
                url: &url,
                method,
                json_body: None,
                authorization: None,
                include_credentials: true,
            },
        )
        .await
        .map_err(|()| reject(ErrorCode::Network))?;
        if !answer.ok() {
            if RefreshFailure::Status(answer.status).is_rejection() {
                return Ok(false);
            }
            let error = http::error_from(
                config,
                ErrorCode::Network,
                answer.status,
                answer.json.as_ref(),
            );
            return Err(to_js(&error, None));
        }
        let grant = answer
            .json
            .as_ref()
            .and_then(|json| http::read_grant(config, json))
            .ok_or_else(|| {
                to_js(
                    &http::error_from(config, ErrorCode::MalformedResponse, answer.status, None),
                    None,
                )
            })?;
        // A login that finished meanwhile wins: its tokens are the newer ones.
        if !self.session.borrow().is_authenticated() {
            self.session.borrow_mut().establish(grant, None, now_ms());
            self.arm_timer();
            self.post(&Message::Session(
                self.session.borrow().share().ok_or(JsValue::NULL)?,
            ));
            self.hold_marker().await;
            drop(lock);
            let detail = self.expiry_detail();
            set(&detail, "restored", &JsValue::TRUE);
            self.events.emit(events::LOGIN, &detail);
        }
        Ok(true)
    }

    /// Joins the renewal in flight or starts one (single flight, DESIGN rule 6).
    pub(super) async fn renew(self: &Rc<Self>) -> Result<(), JsValue> {
        let in_flight = self.flight.borrow().as_ref().map(|(_, p)| p.clone());
        let promise = match in_flight {
            Some(promise) => promise,
            None => {
                let started = self.session.borrow_mut().start_renewal();
                let Some(id) = started else {
                    return Err(if !self.session.borrow().is_authenticated() {
                        reject(ErrorCode::NotAuthenticated)
                    } else if !self.config.can_renew() {
                        to_js(
                            &AuthError::invalid_config(
                                "refreshPath",
                                "renewal needs a refreshPath or refreshCredential \"relogin\"",
                            ),
                            None,
                        )
                    } else {
                        reject(ErrorCode::Network)
                    });
                };
                let promise = future_to_promise(self.clone().renewal(id));
                *self.flight.borrow_mut() = Some((id, promise.clone()));
                promise
            }
        };
        JsFuture::from(promise).await.map(drop)
    }

    /// One renewal, start to finish: ask, then tell the core, re-arm, emit.
    async fn renewal(self: Rc<Self>, id: RenewalId) -> Result<JsValue, JsValue> {
        let before = self.session.borrow().version();
        let (outcome, lock) = match self.take_turn(before).await {
            Turn::Mine(lock) => (self.request_grant().await, lock),
            Turn::Adopted => {
                // The adoption already re-armed and emitted `refresh`.
                self.clear_flight(id);
                self.session.borrow_mut().renewal_superseded(id);
                self.arm_timer();
                return Ok(JsValue::UNDEFINED);
            }
            Turn::Unavailable => {
                let failure = (RefreshFailure::Network, AuthError::new(ErrorCode::Network));
                (Err(failure), None)
            }
        };
        self.clear_flight(id);
        let now = now_ms();
        match outcome {
            Ok(grant) => {
                let applied = self.session.borrow_mut().renewal_succeeded(id, grant, now);
                if !applied {
                    return Err(reject(ErrorCode::NotAuthenticated));
                }
                self.arm_timer();
                // The other tabs learn the new tokens, and the marker proves the renewal,
                // before the refresh lock is released.
                let shared = self.session.borrow().share();
                if let Some(shared) = shared {
                    self.post(&Message::Session(shared));
                }
                self.hold_marker().await;
                drop(lock);
                self.events.emit(events::REFRESH, &self.expiry_detail());
                Ok(JsValue::UNDEFINED)
            }
            Err((failure, error)) => {
                drop(lock);
                let verdict = self
                    .session
                    .borrow_mut()
                    .renewal_failed(id, failure, now, random());
                match verdict {
                    RefreshVerdict::Stale => Err(reject(ErrorCode::NotAuthenticated)),
                    RefreshVerdict::Rejected => {
                        let error = AuthError::new(ErrorCode::SessionExpired).with_server(
                            error.status,
                            error.server_code,
                            error.server_message,
                        );
                        self.end_session(EndReason::RefreshRejected);
                        Err(to_js(&error, None))
                    }
                    RefreshVerdict::Transient { .. } => {
                        self.arm_timer();
                        let error = to_js(&error, None);
                        self.events.emit(events::ERROR, &error);
                        Err(error)
                    }
                }
            }
        }
    }

    /// `Bearer <access token>` for tokens of `generation`, made once per generation; `None`
    /// without an access token.
    pub(super) fn bearer_for(&self, generation: TokenGeneration) -> Option<JsValue> {
        let mut cached = self.bearer.borrow_mut();
        match cached.as_ref() {
            Some((held, value)) if *held == generation => Some(value.clone()),
            _ => {
                let session = self.session.borrow();
                let value = JsValue::from_str(&bearer(session.access_token()?.expose()));
                *cached = Some((generation, value.clone()));
                Some(value)
            }
        }
    }

    /// Empties the flight slot if it still holds renewal `id` (after a logout a newer one may).
    fn clear_flight(&self, id: RenewalId) {
        let mut flight = self.flight.borrow_mut();
        if flight.as_ref().is_some_and(|(current, _)| *current == id) {
            flight.take();
        }
    }

    /// Asks the server for a new access token the way `refreshCredential` says.
    async fn request_grant(&self) -> Result<crate::core::Grant, (RefreshFailure, AuthError)> {
        let unavailable = || {
            (
                RefreshFailure::Unavailable,
                AuthError::new(ErrorCode::SessionExpired),
            )
        };
        let config = &self.config;
        let path = match config.refresh_credential {
            RefreshCredential::Relogin => &config.login_path,
            _ => config.refresh_path.as_ref().ok_or_else(unavailable)?,
        };
        let url = config.endpoint(path);
        let method = match (config.refresh_credential, config.refresh_method) {
            (RefreshCredential::Relogin, _) | (_, RefreshMethod::Post) => "POST",
            (_, RefreshMethod::Get) => "GET",
        };
        let (body, authorization) = {
            let session = self.session.borrow();
            match config.refresh_credential {
                RefreshCredential::Body => {
                    let token = session.refresh_token().ok_or_else(unavailable)?;
                    let body = Object::new();
                    set(
                        &body,
                        &config.refresh_body_field,
                        &JsValue::from_str(token.expose()),
                    );
                    let body = js_sys::JSON::stringify(&body)
                        .ok()
                        .and_then(|s| s.as_string());
                    (Some(body.ok_or_else(unavailable)?), None)
                }
                RefreshCredential::Relogin => (
                    Some(
                        session
                            .credentials()
                            .ok_or_else(unavailable)?
                            .expose()
                            .to_owned(),
                    ),
                    None,
                ),
                RefreshCredential::Bearer if self.allows(&url) => (
                    None,
                    Some(bearer(
                        session.access_token().ok_or_else(unavailable)?.expose(),
                    )),
                ),
                RefreshCredential::Bearer => return Err(unavailable()),
                RefreshCredential::Cookie => (None, None),
            }
        };
        let answer = http::send(
            &self.fetch,
            EndpointCall {
                url: &url,
                method,
                json_body: body.as_deref(),
                authorization: authorization.as_deref(),
                include_credentials: config.refresh_credential == RefreshCredential::Cookie,
            },
        )
        .await
        .map_err(|()| (RefreshFailure::Network, AuthError::new(ErrorCode::Network)))?;
        if !answer.ok() {
            let error = http::error_from(
                config,
                ErrorCode::Network,
                answer.status,
                answer.json.as_ref(),
            );
            return Err((RefreshFailure::Status(answer.status), error));
        }
        answer
            .json
            .as_ref()
            .and_then(|json| http::read_grant(config, json))
            .ok_or_else(|| {
                let error =
                    http::error_from(config, ErrorCode::MalformedResponse, answer.status, None);
                (RefreshFailure::Malformed, error)
            })
    }

    async fn logout(self: Rc<Self>) -> Result<JsValue, JsValue> {
        let authorization = self
            .session
            .borrow()
            .access_token()
            .map(|t| bearer(t.expose()));
        let ended = authorization.is_some();
        self.end_session(EndReason::User);
        if let (Some(path), true) = (&self.config.logout_path, ended) {
            let url = self.config.endpoint(path);
            let authorization = authorization.filter(|_| self.allows(&url));
            // Best effort: the local session is over whatever the server answers.
            let _ = http::send(
                &self.fetch,
                EndpointCall {
                    url: &url,
                    method: "POST",
                    json_body: None,
                    authorization: authorization.as_deref(),
                    include_credentials: self.config.refresh_credential
                        == RefreshCredential::Cookie,
                },
            )
            .await;
        }
        Ok(JsValue::UNDEFINED)
    }

    /// Ends the session once: drops the tokens, cancels the timer, emits `logout`, and — when
    /// the server ended it — sends the page to `loginUrl`.
    pub(super) fn end_session(&self, reason: EndReason) {
        let ended = self.session.borrow_mut().end(reason);
        let Some(reason) = ended else {
            return;
        };
        self.bearer.borrow_mut().take();
        // A renewal still in flight belongs to the ended session: new callers must not join it.
        self.flight.borrow_mut().take();
        self.timer.borrow_mut().cancel();
        // Every tab ends with this one (`other_tab` there; never echoed back).
        if reason != EndReason::OtherTab {
            self.post(&Message::Logout);
        }
        let marker = self.marker.borrow_mut().take();
        drop(marker);
        self.notify_version();
        let detail = Object::new();
        set(&detail, "reason", &JsValue::from_str(reason.as_str()));
        self.events.emit(events::LOGOUT, &detail);
        if let (true, Some(url)) = (reason.redirects_to_login(), &self.config.login_url) {
            redirect::to_login(url);
        }
    }

    /// Arms the one proactive timer for the core's next deadline, or disarms it.
    pub(super) fn arm_timer(self: &Rc<Self>) {
        let now = now_ms();
        let next = self.session.borrow().poll_timeout(now);
        let mut timer = self.timer.borrow_mut();
        match next {
            Some(at) => {
                let weak = Rc::downgrade(self);
                timer.arm(at.saturating_sub(now), move || {
                    wake_later(&weak, Wake::Resumed)
                });
            }
            None => timer.cancel(),
        }
    }

    /// The timer fired or the page woke: renew if due, else re-arm (a clamped or stalled
    /// timer lands here early or late; both are fine).
    async fn wake(self: Rc<Self>, why: Wake) {
        match why {
            // Channels and locks are released while the page is hidden or unloading...
            Wake::Hidden => return self.close_channel(),
            // ...and taken again when it comes back (back/forward cache): ask what was missed.
            Wake::Resumed | Wake::Online
                if self.config.cross_tab && self.channel.borrow().is_none() =>
            {
                self.open_channel();
                self.post(&Message::Ask);
                self.hold_marker().await;
            }
            _ => {}
        }
        let now = now_ms();
        if why == Wake::Online {
            self.session.borrow_mut().network_restored(now);
        }
        let due = self.session.borrow().is_renewal_due(now);
        if due {
            // Failures are reported by the renewal itself (`error` or `logout` events).
            let _ = self.renew().await;
        } else {
            self.arm_timer();
        }
    }

    pub(super) fn expiry_detail(&self) -> JsValue {
        let detail = Object::new();
        let expires_at = self.session.borrow().expires_at_ms();
        set(
            &detail,
            "expiresAt",
            &expires_at.map_or(JsValue::UNDEFINED, |ms| JsValue::from(ms as f64)),
        );
        detail.into()
    }

    fn shut_down(&self) {
        if let Ok(mut timer) = self.timer.try_borrow_mut() {
            timer.cancel();
        }
        if let Ok(mut lifecycle) = self.lifecycle.try_borrow_mut() {
            lifecycle.take();
        }
        if let Ok(mut fetcher) = self.fetcher.try_borrow_mut() {
            fetcher.take();
        }
        if let Ok(mut session) = self.session.try_borrow_mut() {
            session.end(EndReason::User);
        }
        if let Ok(mut bearer) = self.bearer.try_borrow_mut() {
            bearer.take();
        }
        if let (Ok(mut channel), Ok(mut marker)) =
            (self.channel.try_borrow_mut(), self.marker.try_borrow_mut())
        {
            channel.take();
            marker.take();
        }
        if let Ok(mut peers) = self.peers.try_borrow_mut() {
            peers.clear();
        }
        self.notify_version();
    }
}
