//! The server's shared state: settings (the TTL and lockout flags, changeable by the controls),
//! each dialect's token store, and the mutable test bookkeeping (counters, lockouts, uploads,
//! injected refresh failures) behind one short-lived lock.
//!
//! No lock here is ever held across an `.await`: [`App::with`] takes a closure, so the guard
//! cannot escape into async code.

use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

use crate::serve::Connections;
use crate::tokens::{Lifetimes, RefreshPolicy, TokenStore};

/// Settings that the flags set and `/__control/config` may change at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Access token lifetime, s (`--access-ttl`).
    pub access_ttl_s: u64,
    /// Refresh token lifetime, s (`--refresh-ttl`).
    pub refresh_ttl_s: u64,
    /// Consecutive wrong passwords that lock an account (`--max-failed-logins`); 0 never locks.
    pub max_failed_logins: u32,
}

impl Settings {
    /// The token lifetimes to issue with.
    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access_s: self.access_ttl_s,
            refresh_s: self.refresh_ttl_s,
        }
    }
}

impl Default for Settings {
    /// The flags' defaults: 1 h access (the seed's `expiresIn: 3600`), 30 d refresh (the
    /// seed's example refresh token), 5 attempts.
    fn default() -> Self {
        Self {
            access_ttl_s: 3600,
            refresh_ttl_s: 2_592_000,
            max_failed_logins: 5,
        }
    }
}

/// What `GET /__control/counters` reports. Field order is the README's.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Successful logins.
    pub logins: u64,
    /// Logins answered with an error (bad body, wrong password, locked).
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

/// How the next refresh calls fail (`/__control/fail-refresh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshFault {
    /// Answer this status (500 or 503) with the error body.
    Status(u16),
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without an answer.
    Drop,
}

/// A fault and how many more refresh calls it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// Refresh calls still to fail.
    pub remaining: u32,
    /// How they fail.
    pub fault: RefreshFault,
}

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
    /// Benefit requests made, for the `protocolo` numbers.
    pub protocols_issued: u64,
}

impl Bookkeeping {
    /// Takes one pending refresh failure, if any.
    pub fn take_refresh_fault(&mut self) -> Option<RefreshFault> {
        let plan = self.refresh_faults.as_mut()?;
        let fault = plan.fault;
        plan.remaining = plan.remaining.saturating_sub(1);
        if plan.remaining == 0 {
            self.refresh_faults = None;
        }
        Some(fault)
    }

    /// Counts a request to an API path.
    pub fn count_request(&mut self, path: &str, bearer: bool) {
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
    /// Whether `/__control` and `/__test` exist.
    pub test_controls: bool,
    /// PGBen's (`/v1`) tokens.
    pub pgben_tokens: TokenStore,
    /// The main port's open connections, to close idle ones when a drop is armed.
    pub connections: Connections,
    book: Mutex<Bookkeeping>,
}

impl AppState {
    /// Fresh state with `defaults` as the settings.
    pub fn new(defaults: Settings, test_controls: bool) -> Self {
        Self(Arc::new(App {
            defaults,
            test_controls,
            pgben_tokens: TokenStore::new("PGBen API", RefreshPolicy::Rotate),
            connections: Connections::default(),
            book: Mutex::new(Bookkeeping {
                settings: defaults,
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
    pub fn token_stores(&self) -> [&TokenStore; 1] {
        [&self.pgben_tokens]
    }

    /// Whether a `"drop"` refresh failure is armed.
    pub fn drop_pending(&self) -> bool {
        self.with(|b| {
            matches!(
                b.refresh_faults,
                Some(FaultPlan {
                    fault: RefreshFault::Drop,
                    ..
                })
            )
        })
    }

    /// Back to the state at start: no sessions, lockouts, uploads, counters or faults, and
    /// the flags' settings.
    pub fn reset(&self) {
        for store in self.token_stores() {
            store.clear();
        }
        self.with(|b| {
            *b = Bookkeeping {
                settings: self.defaults,
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
                fault: RefreshFault::Drop,
            })
        });
        assert!(state.drop_pending());
        assert_eq!(
            state.with(|b| b.take_refresh_fault()),
            Some(RefreshFault::Drop)
        );
        assert_eq!(
            state.with(|b| b.take_refresh_fault()),
            Some(RefreshFault::Drop)
        );
        assert_eq!(state.with(|b| b.take_refresh_fault()), None);
        assert!(!state.drop_pending());
    }

    #[test]
    fn reset_restores_the_flags_settings() {
        let defaults = Settings {
            access_ttl_s: 10,
            refresh_ttl_s: 20,
            max_failed_logins: 3,
        };
        let state = AppState::new(defaults, true);
        state.with(|b| {
            b.settings.access_ttl_s = 1;
            b.count_request("/v1/x", true);
        });
        state.reset();
        assert_eq!(state.settings(), defaults);
        assert!(state.with(|b| b.counters.requests.is_empty()));
    }
}
