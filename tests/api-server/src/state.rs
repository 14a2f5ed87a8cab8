//! The server's shared state: settings (the TTL and lockout flags, changeable by the controls),
//! each dialect's token store, and the mutable test bookkeeping (counters, lockouts, uploads,
//! injected refresh failures) behind one short-lived lock.
//!
//! No lock here is ever held across an `.await`: [`App::with`] takes a closure, so the guard
//! cannot escape into async code.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

use crate::serve::Connections;
use crate::tokens::{Issued, Lifetimes, RefreshPolicy, RefreshRejection, TokenStore};

/// The seed APIs this server speaks, each under its own path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Seed 000, the file-upload integration, under `/s000`.
    S000,
    /// Seed 001, Nortus, under `/s001`.
    S001,
    /// Seed 002, the Auth API with nested tokens, under `/s002`.
    S002,
    /// Seed 003, Coinpay, under `/s003`.
    S003,
    /// Seed 004, PGBen, under `/v1`.
    PgBen,
}

impl Dialect {
    /// Every dialect, in seed order.
    pub const ALL: [Dialect; 5] = [
        Dialect::S000,
        Dialect::S001,
        Dialect::S002,
        Dialect::S003,
        Dialect::PgBen,
    ];

    /// The path prefix its routes are nested under.
    pub fn prefix(self) -> &'static str {
        match self {
            Dialect::S000 => "/s000",
            Dialect::S001 => "/s001",
            Dialect::S002 => "/s002",
            Dialect::S003 => "/s003",
            Dialect::PgBen => "/v1",
        }
    }

    /// The access token lifetime its seed document gives, s: seed 000's `expires_in: 3600`;
    /// seed 001 gives none (one hour, "tokens JWT geralmente têm tempo de expiração longo");
    /// seed 002's example tokens have `exp − iat = 7200`; seed 003 says 15 minutes; seed
    /// 004's `expiresIn: 3600`.
    pub fn seed_access_ttl_s(self) -> u64 {
        match self {
            Dialect::S000 | Dialect::S001 | Dialect::PgBen => 3600,
            Dialect::S002 => 7200,
            Dialect::S003 => 900,
        }
    }
}

/// Settings that the flags set and `/__control/config` may change at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Access token lifetime, s (`--access-ttl`): PGBen's, and every dialect's once set.
    pub access_ttl_s: u64,
    /// Whether `access_ttl_s` was set (by `--access-ttl` or the config control): then every
    /// dialect issues access tokens with it; until then each issues with its seed's lifetime.
    pub access_ttl_uniform: bool,
    /// Refresh token lifetime, s (`--refresh-ttl`), every dialect.
    pub refresh_ttl_s: u64,
    /// Consecutive wrong passwords that lock an account (`--max-failed-logins`); 0 never locks.
    pub max_failed_logins: u32,
    /// PGBen's cookie mode (`--refresh-cookie`): the refresh token travels in an HttpOnly
    /// cookie instead of the JSON bodies.
    pub refresh_cookie: bool,
}

impl Settings {
    /// The access token lifetime `dialect` issues with now, s.
    pub fn access_ttl_for(&self, dialect: Dialect) -> u64 {
        if self.access_ttl_uniform || dialect == Dialect::PgBen {
            self.access_ttl_s
        } else {
            dialect.seed_access_ttl_s()
        }
    }

    /// The token lifetimes `dialect` issues with now.
    pub fn lifetimes(&self, dialect: Dialect) -> Lifetimes {
        Lifetimes {
            access_s: self.access_ttl_for(dialect),
            refresh_s: self.refresh_ttl_s,
        }
    }
}

impl Default for Settings {
    /// The flags' defaults: 1 h access (the seed's `expiresIn: 3600`), 30 d refresh (the
    /// seed's example refresh token), 5 attempts, no cookie mode.
    fn default() -> Self {
        Self {
            access_ttl_s: 3600,
            access_ttl_uniform: false,
            refresh_ttl_s: 2_592_000,
            max_failed_logins: 5,
            refresh_cookie: false,
        }
    }
}

/// What `GET /__control/counters` reports. Field order is the README's.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Successful logins.
    pub logins: u64,
    /// Logins answered with an error (bad body, wrong password, locked, injected failure).
    pub login_failures: u64,
    /// Every call of a refresh endpoint, failed or not.
    pub refresh_requests: u64,
    /// Refresh calls that issued tokens.
    pub refreshes: u64,
    /// Refresh calls that did not (rejected tokens and injected failures).
    pub refresh_failures: u64,
    /// Refresh tokens presented a second time (each revoked its family).
    pub reuse_detections: u64,
    /// Requests by path (API, `/__test`, login and refresh; not static files or controls).
    pub requests: BTreeMap<String, u64>,
    /// Of those, the ones that carried `Authorization: Bearer …`, by path.
    pub bearer_requests: BTreeMap<String, u64>,
    /// CORS preflights the main port answered (any path, any origin), by path; they are not in
    /// `requests` or the journal.
    pub preflights: BTreeMap<String, u64>,
    /// What the foreign port saw.
    pub foreign: ForeignCounters,
}

/// The foreign port's counters.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForeignCounters {
    /// Every request, CORS preflights included.
    pub requests: u64,
    /// Requests that carried an `Authorization` header: a leaked bearer.
    pub with_authorization: u64,
    /// CORS preflights (`OPTIONS` with `Access-Control-Request-Method`).
    pub preflights: u64,
    /// Requests by path.
    pub paths: BTreeMap<String, u64>,
}

/// How the next refresh or login calls fail (`/__control/fail-refresh`, `fail-login`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (500 or 503) with the dialect's error body.
    Status(u16),
    /// Answer 401 with the dialect's own rejection (refresh: the refresh token or bearer is
    /// refused; login: the credentials are).
    Reject,
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without an answer.
    Drop,
}

/// A fault and how many more calls it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// Calls still to fail.
    pub remaining: u32,
    /// How they fail.
    pub fault: Fault,
}

impl FaultPlan {
    /// Takes one fault from `plan`, clearing it when used up.
    fn take(plan: &mut Option<FaultPlan>) -> Option<Fault> {
        let p = plan.as_mut()?;
        let fault = p.fault;
        p.remaining = p.remaining.saturating_sub(1);
        if p.remaining == 0 {
            *plan = None;
        }
        Some(fault)
    }
}

/// One counted request, in arrival order (`GET /__control/journal`).
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Whether it carried `Authorization: Bearer …` (never the token).
    pub bearer: bool,
}

/// The journal keeps the most recent requests only.
pub const JOURNAL_LIMIT: usize = 10_000;

/// Consecutive wrong passwords for one email, and the lock they caused.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Wrong passwords since the last success or unlock.
    pub failures: u32,
    /// Locked until then, ms since the epoch.
    pub locked_until_ms: Option<u64>,
}

/// A file received by an upload endpoint, kept in memory.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The document id (`id` in the answer).
    pub id: String,
    /// The upload endpoint's path (`/v1/documento/upload`, `/s000/api/envio`).
    pub path: &'static str,
    /// How the bearer the upload carried was issued, and when (ms since the epoch).
    pub token: Option<(Issued, u64)>,
    /// The part's file name.
    pub nome_arquivo: String,
    /// The `tipoDocumento` field, if sent.
    pub tipo_documento: Option<String>,
    /// The part's content type.
    pub content_type: String,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// The file itself.
    pub bytes: Vec<u8>,
}

/// Everything mutable except the token ledgers.
#[derive(Debug, Default)]
pub struct Bookkeeping {
    /// Current settings.
    pub settings: Settings,
    /// Counters since start or the last reset.
    pub counters: Counters,
    /// Lockouts by lower-cased email.
    pub lockouts: HashMap<String, Lockout>,
    /// Uploads by id.
    pub uploads: HashMap<String, Upload>,
    /// Pending refresh failures.
    pub refresh_faults: Option<FaultPlan>,
    /// `Retry-After` (s) on the injected 500/503 answers of `fail-refresh`, if asked for.
    pub refresh_retry_after_s: Option<u64>,
    /// Pending login failures.
    pub login_faults: Option<FaultPlan>,
    /// Counted requests in arrival order, the last [`JOURNAL_LIMIT`].
    pub journal: VecDeque<JournalEntry>,
    /// Benefit requests made, for the `protocolo` numbers.
    pub protocols_issued: u64,
    /// Origins whose pages may call the main port (`--cors-origin`, `corsOrigins`); see cors.rs.
    pub cors_origins: Vec<String>,
    /// Paths whose answers are held this long, ms (`/__control/delay-page`): a test lets a page
    /// that is navigating away report what happened before the new document replaces it.
    pub page_delays: HashMap<String, u64>,
}

impl Bookkeeping {
    /// Takes one pending refresh failure, if any.
    pub fn take_refresh_fault(&mut self) -> Option<Fault> {
        FaultPlan::take(&mut self.refresh_faults)
    }

    /// Takes one pending login failure, if any.
    pub fn take_login_fault(&mut self) -> Option<Fault> {
        FaultPlan::take(&mut self.login_faults)
    }

    /// Counts the outcome of a refresh call that got past the injected faults.
    pub fn count_refresh(&mut self, outcome: Result<(), RefreshRejection>) {
        match outcome {
            Ok(()) => self.counters.refreshes += 1,
            Err(rejection) => {
                self.counters.refresh_failures += 1;
                if rejection == RefreshRejection::Reused {
                    self.counters.reuse_detections += 1;
                }
            }
        }
    }

    /// Counts the outcome of a login call that got past the injected faults.
    pub fn count_login(&mut self, ok: bool) {
        if ok {
            self.counters.logins += 1;
        } else {
            self.counters.login_failures += 1;
        }
    }

    /// Counts a request to an API path and writes it in the journal.
    pub fn count_request(&mut self, method: &str, path: &str, bearer: bool) {
        if self.journal.len() >= JOURNAL_LIMIT {
            self.journal.pop_front();
        }
        self.journal.push_back(JournalEntry {
            method: method.to_owned(),
            path: path.to_owned(),
            bearer,
        });
        *self.counters.requests.entry(path.to_owned()).or_default() += 1;
        if bearer {
            *self
                .counters
                .bearer_requests
                .entry(path.to_owned())
                .or_default() += 1;
        }
    }
}

/// The state every handler gets: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// See [`AppState`].
pub struct App {
    /// The settings the flags gave, restored by `/__control/reset`.
    pub defaults: Settings,
    /// The CORS origins the flags gave (`--cors-origin`), restored by `/__control/reset`.
    pub cors_defaults: Vec<String>,
    /// Whether `/__control` and `/__test` exist.
    pub test_controls: bool,
    /// Seed 000's (`/s000`) tokens: renewed with the current bearer, no refresh token.
    pub s000_tokens: TokenStore,
    /// Seed 001's (`/s001`) tokens: login only.
    pub s001_tokens: TokenStore,
    /// Seed 002's (`/s002`) tokens: rotated refresh tokens.
    pub s002_tokens: TokenStore,
    /// Seed 003's (`/s003`) tokens: refresh tokens reused until they expire, `aud` claims.
    pub s003_tokens: TokenStore,
    /// PGBen's (`/v1`) tokens.
    pub pgben_tokens: TokenStore,
    /// The main port's open connections, to close idle ones when a drop is armed.
    pub connections: Connections,
    book: Mutex<Bookkeeping>,
}

impl AppState {
    /// Fresh state with `defaults` as the settings and no CORS origin: the tests' shorthand.
    #[cfg(test)]
    pub fn new(defaults: Settings, test_controls: bool) -> Self {
        Self::with_cors(defaults, test_controls, Vec::new())
    }

    /// Fresh state with `defaults` as the settings and `cors_origins` (parsed by
    /// `cors::parse_origin`) allowed to call the main port from a page.
    pub fn with_cors(defaults: Settings, test_controls: bool, cors_origins: Vec<String>) -> Self {
        Self(Arc::new(App {
            defaults,
            cors_defaults: cors_origins.clone(),
            test_controls,
            s000_tokens: TokenStore::new("integracao-api", RefreshPolicy::Rotate),
            s001_tokens: TokenStore::new("Nortus API", RefreshPolicy::Rotate),
            s002_tokens: TokenStore::new("auth-api", RefreshPolicy::Rotate),
            // The seed's example payload: `iss` the auth server, `aud` the API.
            s003_tokens: TokenStore::new("http://auth.example.com", RefreshPolicy::Reuse)
                .with_audience("http://api.example.com"),
            pgben_tokens: TokenStore::new("PGBen API", RefreshPolicy::Rotate),
            connections: Connections::default(),
            book: Mutex::new(Bookkeeping {
                settings: defaults,
                cors_origins,
                ..Bookkeeping::default()
            }),
        }))
    }
}

impl App {
    /// Runs `f` on the bookkeeping under its lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut Bookkeeping) -> R) -> R {
        // A panic under this lock leaves at worst a counter off by one.
        let mut book = self.book.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut book)
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.with(|b| b.settings)
    }

    /// Every dialect's token store, for the controls that act on all sessions.
    pub fn token_stores(&self) -> [&TokenStore; 5] {
        [
            &self.s000_tokens,
            &self.s001_tokens,
            &self.s002_tokens,
            &self.s003_tokens,
            &self.pgben_tokens,
        ]
    }

    /// Whether a `"drop"` refresh or login failure is armed.
    pub fn drop_pending(&self) -> bool {
        let is_drop = |plan: &Option<FaultPlan>| {
            matches!(
                plan,
                Some(FaultPlan {
                    fault: Fault::Drop,
                    ..
                })
            )
        };
        self.with(|b| is_drop(&b.refresh_faults) || is_drop(&b.login_faults))
    }

    /// Back to the state at start: no sessions, lockouts, uploads, counters or faults, and
    /// the flags' settings and CORS origins.
    pub fn reset(&self) {
        for store in self.token_stores() {
            store.clear();
        }
        self.with(|b| {
            *b = Bookkeeping {
                settings: self.defaults,
                cors_origins: self.cors_defaults.clone(),
                ..Bookkeeping::default()
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_run_out_after_count_calls() {
        let state = AppState::new(Settings::default(), true);
        state.with(|b| {
            b.refresh_faults = Some(FaultPlan {
                remaining: 2,
                fault: Fault::Drop,
            })
        });
        assert!(state.drop_pending());
        assert_eq!(state.with(|b| b.take_refresh_fault()), Some(Fault::Drop));
        assert_eq!(state.with(|b| b.take_refresh_fault()), Some(Fault::Drop));
        assert_eq!(state.with(|b| b.take_refresh_fault()), None);
        assert!(!state.drop_pending());
        state.with(|b| {
            b.login_faults = Some(FaultPlan {
                remaining: 1,
                fault: Fault::Drop,
            })
        });
        assert!(state.drop_pending());
        assert_eq!(state.with(|b| b.take_login_fault()), Some(Fault::Drop));
        assert_eq!(state.with(|b| b.take_refresh_fault()), None);
        assert!(!state.drop_pending());
    }

    #[test]
    fn each_dialect_has_its_seed_lifetime_until_one_is_set() {
        let mut s = Settings::default();
        let ttl = |s: &Settings| Dialect::ALL.map(|d| s.access_ttl_for(d));
        assert_eq!(ttl(&s), [3600, 3600, 7200, 900, 3600]);
        s.access_ttl_s = 20;
        s.access_ttl_uniform = true;
        assert_eq!(ttl(&s), [20; 5]);
        assert_eq!(s.lifetimes(Dialect::S003).refresh_s, 2_592_000);
    }

    #[test]
    fn the_journal_keeps_the_latest_requests() {
        let mut b = Bookkeeping::default();
        for i in 0..JOURNAL_LIMIT + 5 {
            b.count_request("GET", &format!("/v1/{i}"), i % 2 == 0);
        }
        assert_eq!(b.journal.len(), JOURNAL_LIMIT);
        assert_eq!(b.journal[0].path, "/v1/5");
        assert!(!b.journal[0].bearer);
        assert_eq!(b.counters.requests.len(), JOURNAL_LIMIT + 5);
    }

    #[test]
    fn reset_restores_the_flags_settings() {
        let defaults = Settings {
            access_ttl_s: 10,
            access_ttl_uniform: true,
            refresh_ttl_s: 20,
            max_failed_logins: 3,
            refresh_cookie: true,
        };
        let state = AppState::new(defaults, true);
        state.with(|b| {
            b.settings.access_ttl_s = 1;
            b.settings.refresh_cookie = false;
            b.count_request("GET", "/v1/x", true);
        });
        state.reset();
        assert_eq!(state.settings(), defaults);
        assert!(state.with(|b| b.counters.requests.is_empty() && b.journal.is_empty()));
    }
}
