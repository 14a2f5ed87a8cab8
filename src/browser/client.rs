//! `AuthClient`, the object JavaScript sees: it reads the configuration, owns the client's
//! JavaScript handles, and turns each API call into an input of the core's
//! [`Client`](crate::core::client::Client), whose effects the driver carries out.
//!
//! No decision is taken here: the core decides, [`super::driver`] does.
use alloc::borrow::ToOwned;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use core::cell::RefCell;

use crate::core::client::{Caller, Client};
use crate::core::{AuthError, Credentials, ErrorCode, Origin, TokenGeneration};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::config;
use super::crosstab;
use super::driver::{self, Io};
use super::error::to_js;
use super::events::Events;
use super::js::{random, Shared};
use super::lifecycle::PageLifecycle;

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
            .field("core", &self.inner.core)
            .finish_non_exhaustive()
    }
}

/// What a client holds: the core, and the JavaScript handles the driver works with.
#[derive(Debug)]
pub(super) struct Inner {
    /// This client's id among the module's clients (the driver's handlers find it by it).
    pub(super) id: u32,
    pub(super) weak: Weak<Inner>,
    /// Every decision, every token.
    pub(super) core: RefCell<Client>,
    /// The JavaScript side of the effects in progress.
    pub(super) io: RefCell<Io>,
    pub(super) events: Events,
    /// The page's `fetch`, captured at construction.
    pub(super) fetch: Function,
    /// The API's origin (of `baseUrl`): names the channel and the locks shared by its tabs.
    pub(super) api_origin: String,
    /// The `Authorization` value of the current access token as a JS string, made once per
    /// token generation instead of once per call; dropped when the session ends.
    pub(super) bearer: RefCell<Option<(TokenGeneration, JsValue)>>,
    lifecycle: RefCell<Option<PageLifecycle>>,
    fetcher: RefCell<Option<FetchClosure>>,
}

#[wasm_bindgen]
impl AuthClient {
    /// Validates `config` (see the README's configuration table) and starts listening for the
    /// page waking up (`visibilitychange`, `focus`, `online`, `pageshow`).
    ///
    /// Throws an `AuthError` with code `invalid_config` and `key` naming the key at fault.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<AuthClient, JsValue> {
        let fetch = config::fetch(&config).map_err(|e| to_js(&e, None))?;
        let config = config::read(&config).map_err(|e| to_js(&e, None))?;
        let unavailable = |what: &str| to_js(&AuthError::invalid_config("config", what), None);
        let events =
            Events::new().ok_or_else(|| unavailable("this environment has no EventTarget"))?;
        let api_origin = Origin::of_url(&config.base_url)
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default();
        let core = Client::new(config, crosstab::locks_available(), random());
        let inner = Rc::new_cyclic(|weak| Inner {
            id: driver::register(weak),
            weak: weak.clone(),
            core: RefCell::new(core),
            io: RefCell::new(Io::default()),
            events,
            fetch,
            api_origin,
            bearer: RefCell::new(None),
            lifecycle: RefCell::new(None),
            fetcher: RefCell::new(None),
        });
        let weak = Rc::downgrade(&inner);
        *inner.lifecycle.mutate() = Some(PageLifecycle::listen(move |why| {
            if let Some(inner) = weak.upgrade() {
                inner.input(|core| core.wake(why));
            }
        }));
        // The channel the core opened.
        inner.drive();
        Ok(AuthClient { inner })
    }

    /// Logs in: POSTs `credentials` verbatim as JSON to `baseUrl + loginPath` and keeps the
    /// tokens of the answer in memory. Resolves `undefined`; emits `login`.
    ///
    /// Rejects `invalid_credentials` (400/401), `account_locked` (403/423, with the server's
    /// JSON body in `details`), `network` (offline, 5xx), `malformed_response` (no access token).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn login(&self, credentials: JsValue) -> Promise {
        let body = credentials
            .is_object()
            .then(|| js_sys::JSON::stringify(&credentials).ok())
            .flatten()
            .and_then(|s| s.as_string());
        let Some(body) = body else {
            let why = "login() takes a JSON-serializable object";
            return Promise::reject(&to_js(&AuthError::invalid_config("credentials", why), None));
        };
        self.inner
            .call(|core, caller| core.login(caller, Credentials::new(body)))
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
        self.inner.call(Client::restore)
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
        let mut slot = self.inner.fetcher.mutate();
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
        self.inner.call(Client::refresh)
    }

    /// Ends the session: tokens are dropped, `logout` is emitted with reason `user`, and
    /// `logoutPath` (if configured) is POSTed with the bearer, best effort. No redirect.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self) -> Promise {
        self.inner.call(Client::logout)
    }

    /// Whether a session is held.
    #[wasm_bindgen(getter, js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.inner.core.read().session().is_authenticated()
    }

    /// When the access token expires: epoch ms on the local clock; `undefined` when unknown or
    /// logged out.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> Option<f64> {
        self.inner
            .core
            .read()
            .session()
            .expires_at_ms()
            .map(|ms| ms as f64)
    }

    /// When the next proactive renewal is scheduled: epoch ms on the local clock (`expiresAt`
    /// minus the lead, or a backoff retry); `undefined` when none is.
    #[wasm_bindgen(getter, js_name = refreshAt)]
    pub fn refresh_at(&self) -> Option<f64> {
        self.inner
            .core
            .read()
            .session()
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
    /// `free()`: the session ends without events, the channel closes, locks are released,
    /// the timer and the page listeners go, and calls still waiting reject `not_authenticated`.
    fn drop(&mut self) {
        let inner = &self.inner;
        inner.input(Client::shut_down);
        inner.lifecycle.mutate().take();
        inner.fetcher.mutate().take();
        inner.bearer.mutate().take();
        let (callers, locks) = inner.io.mutate().shut_down();
        for deferred in callers {
            deferred.reject(&reject(ErrorCode::NotAuthenticated));
        }
        for release in locks {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

impl Inner {
    /// A new caller promise, given to the core with `f`.
    fn call(&self, f: impl FnOnce(&mut Client, Caller)) -> Promise {
        let (caller, promise) = self.io.mutate().caller();
        self.input(|core| f(core, caller));
        promise
    }

    /// `Bearer <access token>` for tokens of `generation`, made once per generation; `None`
    /// when the session holds no tokens of that generation.
    pub(super) fn bearer_for(&self, generation: TokenGeneration) -> Option<JsValue> {
        let mut cached = self.bearer.mutate();
        match cached.as_ref() {
            Some((held, value)) if *held == generation => Some(value.clone()),
            _ => {
                let core = self.core.read();
                let session = core.session();
                if session.generation() != generation {
                    return None;
                }
                let token = session.access_token()?.expose();
                let mut value = String::with_capacity(7 + token.len());
                value.push_str("Bearer ");
                value.push_str(token);
                let value = JsValue::from_str(&value);
                *cached = Some((generation, value.clone()));
                Some(value)
            }
        }
    }

    /// The session ended: its bearer string is dropped.
    pub(super) fn io_bearer_forget(&self) {
        self.bearer.mutate().take();
    }
}

/// An `AuthError` of `code` as a JS value.
pub(super) fn reject(code: ErrorCode) -> JsValue {
    to_js(&AuthError::new(code), None)
}
