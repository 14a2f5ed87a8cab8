//! The client's flows, driven input by input with a fake clock, the way the edges drive them.
use alloc::{format, string::String, vec::Vec};

use super::*;
use crate::core::answer::MAX_RETRY_AFTER_MS;
use crate::core::config::{RawConfig, Setting};
use crate::core::crosstab::version_marker_name;
use crate::core::session::Grant;
use crate::core::{JwtTimes, SharedSession};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

pub(crate) const T0: u64 = 1_700_000_000_000;
const API: &str = "http://127.0.0.1:8080";

pub(crate) fn config(cross_tab: bool) -> Config {
    Config::parse(RawConfig {
        base_url: Some(API.into()),
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

fn expired() -> CallAnswer {
    CallAnswer::Unauthorized(ServerSaid {
        code: Some("AUTH_006".into()),
        ..ServerSaid::default()
    })
}

/// Whether `effects` hold one that matches the pattern.
macro_rules! has {
    ($effects:expr, $($pattern:tt)+) => {
        $effects.iter().any(|e| matches!(e, $($pattern)+))
    };
}

pub(crate) fn drain(c: &mut Client) -> Vec<Effect> {
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

/// The op of the first request `c` queued.
fn request_op(c: &mut Client) -> Op {
    requests(&drain(c))[0].0
}

/// `refresh()` as caller 2 at `T0`, its request answered with `answer`: the effects after.
fn refreshed(c: &mut Client, answer: Answer) -> Vec<Effect> {
    c.refresh(T0, Caller(2));
    let op = request_op(c);
    c.answered(T0, op, answer).unwrap();
    drain(c)
}

/// The messages posted among `effects`, read back as another tab reads them.
fn posted(effects: &[Effect]) -> Vec<Message> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post(wire) => Some(Message::from_wire(wire.clone()).expect("well-formed")),
            _ => None,
        })
        .collect()
}

fn posted_wire(effects: Vec<Effect>, kind: &str) -> Option<Wire> {
    effects.into_iter().find_map(|e| match e {
        Effect::Post(wire) if wire.kind.as_deref() == Some(kind) => Some(wire),
        _ => None,
    })
}

fn settled(effects: &[Effect]) -> Vec<(u32, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Settle { caller, outcome } => Some((
                caller.0,
                match outcome {
                    Outcome::Error { error, .. } => String::from(error.code.as_str()),
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

/// The error caller `caller` was rejected with among `effects`.
fn rejection(effects: &[Effect], caller: u32) -> AuthError {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Settle {
                caller: c,
                outcome: Outcome::Error { error, .. },
            } if c.0 == caller => Some(error.clone()),
            _ => None,
        })
        .expect("the caller is rejected")
}

fn lock_of(effects: &[Effect], wanted: LockMode) -> Option<(Op, String)> {
    effects.iter().find_map(|e| match e {
        Effect::Lock { op, name, mode } if *mode == wanted => Some((*op, name.clone())),
        _ => None,
    })
}

fn query_of(effects: &[Effect]) -> Option<Op> {
    effects.iter().find_map(|e| match e {
        Effect::Query(op) => Some(*op),
        _ => None,
    })
}

fn sleep_of(effects: &[Effect], wanted: u32) -> Option<Op> {
    effects.iter().find_map(|e| match e {
        Effect::Sleep { op, ms } if *ms == wanted => Some(*op),
        _ => None,
    })
}

fn timer_of(effects: &[Effect]) -> Option<Option<u32>> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Timer(delay) => Some(*delay),
        _ => None,
    })
}

pub(crate) fn logged_in(cross_tab: bool, locks: bool) -> Client {
    let mut c = Client::new(config(cross_tab), locks, 0.5);
    c.login(T0, Caller(1), Some("{}".into()));
    let effects = drain(&mut c);
    let (op, url) = requests(&effects)[0].clone();
    assert_eq!(url, "http://127.0.0.1:8080/v1/auth/login");
    c.answered(T0, op, ok("a1", "r1", 3600.0)).unwrap();
    let effects = drain(&mut c);
    assert_eq!(settled(&effects), [(1, "done".into())]);
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Login { restored: false },
            ..
        }
    ));
    c
}

#[test]
fn the_hot_path_sends_at_once_and_keeps_nothing() {
    let mut c = logged_in(false, false);
    let generation = c.session().generation();
    assert_eq!(c.call(T0 + 1, Caller(7), true), Ok(Some(generation)));
    assert!(drain(&mut c).is_empty(), "no effect, nothing tracked");
    assert_eq!(c.bearer(generation).map(AccessToken::expose), Some("a1"));
    // The same caller again: the hot path kept nothing, so it is free.
    assert_eq!(c.call(T0 + 2, Caller(7), true), Ok(Some(generation)));
    // A one-shot body is tracked: it cannot be sent again after a 401 without the core.
    assert_eq!(c.call(T0 + 3, Caller(8), false), Ok(None));
    let effects = drain(&mut c);
    assert!(has!(
        effects,
        Effect::Send {
            caller: Caller(8),
            ..
        }
    ));
    assert_eq!(
        c.call(T0 + 4, Caller(8), true),
        Err(InputError::CallerInUse(Caller(8)))
    );
    // Without a session: rejected, never sent.
    let mut fresh = Client::new(config(false), false, 0.5);
    assert_eq!(fresh.call(T0, Caller(1), true), Ok(None));
    assert_eq!(
        settled(&drain(&mut fresh)),
        [(1, "not_authenticated".into())]
    );
}

#[test]
fn a_call_in_the_lead_window_waits_for_the_renewal_and_a_hot_401_joins_it() {
    let mut c = logged_in(false, false);
    let late = T0 + 3_600_000 - 30_000;
    assert_eq!(c.call(late, Caller(10), true), Ok(None));
    let effects = drain(&mut c);
    let (op, url) = requests(&effects)[0].clone();
    assert!(url.ends_with("/refresh-token"));
    assert!(
        !has!(effects, Effect::Send { .. }),
        "not sent before the renewal"
    );
    // A call sent earlier on the hot path comes back 401: it joins the same renewal.
    let old = c.session().generation();
    let said = ServerSaid {
        code: Some("AUTH_006".into()),
        ..ServerSaid::default()
    };
    c.hot_unauthorized(late, Caller(11), old, said).unwrap();
    assert!(requests(&drain(&mut c)).is_empty(), "single flight");
    c.answered(late + 5, op, ok("a2", "r2", 3600.0)).unwrap();
    let effects = drain(&mut c);
    let generation = c.session().generation();
    for caller in [Caller(10), Caller(11)] {
        assert!(
            has!(effects, Effect::Send { caller: c2, generation: g } if *c2 == caller && *g == generation)
        );
    }
    c.call_answered(late + 6, Caller(10), CallAnswer::Response)
        .unwrap();
    assert_eq!(settled(&drain(&mut c)), [(10, "response".into())]);
}

#[test]
fn concurrent_refreshes_and_expired_calls_share_one_renewal() {
    let mut c = logged_in(false, false);
    let now = T0 + 1000;
    c.refresh(now, Caller(2));
    c.refresh(now, Caller(3));
    let generation = c.session().generation();
    for caller in 10..60 {
        let said = ServerSaid {
            code: Some("AUTH_006".into()),
            ..ServerSaid::default()
        };
        c.hot_unauthorized(now, Caller(caller), generation, said)
            .unwrap();
    }
    let effects = drain(&mut c);
    let out = requests(&effects);
    assert_eq!(out.len(), 1, "one refresh request for 52 waiters");
    assert_eq!(out[0].1, "http://127.0.0.1:8080/v1/auth/refresh-token");
    c.answered(now, out[0].0, ok("a2", "r2", 3600.0)).unwrap();
    let effects = drain(&mut c);
    // Both refresh() callers resolve; each call is sent again with the new generation.
    assert_eq!(settled(&effects), [(2, "done".into()), (3, "done".into())]);
    let generation = c.session().generation();
    let resent = effects
        .iter()
        .filter(|e| matches!(e, Effect::Send { generation: g, .. } if *g == generation))
        .count();
    assert_eq!(resent, 50);
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Refresh,
            ..
        }
    ));
}

#[test]
fn a_tracked_call_that_cannot_be_sent_again_is_refused_by_why() {
    let mut c = logged_in(false, false);
    let generation = c.session().generation();
    c.hot_unauthorized(T0, Caller(5), generation, ServerSaid::default())
        .unwrap();
    // A 401 without an expired code ends the session (DESIGN rule 5): nothing to resend.
    assert_eq!(rejection(&drain(&mut c), 5).code, ErrorCode::SessionExpired);
    let mut c = logged_in(false, false);
    c.hot_unauthorized(
        T0,
        Caller(5),
        generation,
        ServerSaid {
            code: Some("AUTH_006".into()),
            ..ServerSaid::default()
        },
    )
    .unwrap();
    let op = request_op(&mut c);
    c.answered(T0, op, ok("a2", "r2", 3600.0)).unwrap();
    drain(&mut c);
    // The body could not be copied again.
    c.call_unsendable(T0, Caller(5)).unwrap();
    assert_eq!(
        rejection(&drain(&mut c), 5).code,
        ErrorCode::BodyNotReplayable
    );
    assert_eq!(
        c.call_unsendable(T0, Caller(5)),
        Err(InputError::UnknownCaller(Caller(5)))
    );
}

#[test]
fn inputs_the_core_never_asked_for_are_errors() {
    let mut c = logged_in(true, true);
    assert_eq!(
        c.answered(T0, Op(999), status(200)),
        Err(InputError::UnknownOp(Op(999)))
    );
    assert_eq!(c.slept(T0, Op(0)), Err(InputError::UnknownOp(Op(0))));
    assert_eq!(
        c.call_answered(T0, Caller(42), CallAnswer::Response),
        Err(InputError::UnknownCaller(Caller(42)))
    );
    c.refresh(T0, Caller(2));
    let effects = drain(&mut c);
    let (lock, _) = lock_of(&effects, LockMode::Exclusive).unwrap();
    let sleep = sleep_of(&effects, LOCK_WAIT_MS).unwrap();
    // A lock reported as a sleep, a sleep as a lock.
    assert_eq!(c.slept(T0, lock), Err(InputError::WrongOp(lock)));
    assert_eq!(c.lock_granted(T0, sleep), Err(InputError::WrongOp(sleep)));
    // Granted once; a second grant is out of order.
    c.lock_granted(T0, lock).unwrap();
    assert_eq!(c.lock_granted(T0, lock), Err(InputError::WrongOp(lock)));
    // A malformed message changes nothing.
    let malformed = c.message(T0, Wire::default());
    assert!(matches!(malformed, Err(InputError::Malformed(_))));
    // The lock wait's sleep after the lock came in time: stale, not an error.
    assert_eq!(c.slept(T0 + 10_000, sleep), Ok(()));
    assert_eq!(
        c.slept(T0 + 10_000, sleep),
        Err(InputError::UnknownOp(sleep))
    );
}

#[test]
fn a_refresh_lock_held_forever_ends_the_wait_keeping_the_session() {
    let mut c = logged_in(true, true);
    let late = T0 + 3_600_000 + 1;
    // An expired-token call and a still-valid-token wait: both wait for the turn.
    assert_eq!(c.call(late, Caller(10), true), Ok(None));
    let effects = drain(&mut c);
    let (lock, name) = lock_of(&effects, LockMode::Exclusive).unwrap();
    assert_eq!(name, "authfetch:http://127.0.0.1:8080:refresh");
    let timeout = sleep_of(&effects, LOCK_WAIT_MS).expect("the wait is bounded");
    // After the wait, the locks are probed: nobody holds it yet, so the wait goes on.
    let later = late + u64::from(LOCK_WAIT_MS);
    c.slept(later, timeout).unwrap();
    let probe = query_of(&drain(&mut c)).expect("the locks are probed");
    c.locks_held(later, probe, ["unrelated"]).unwrap();
    let effects = drain(&mut c);
    assert!(requests(&effects).is_empty() && settled(&effects).is_empty());
    let timeout = sleep_of(&effects, LOCK_WAIT_MS).expect("it waits again");
    // Another tab holds it and never lets go: the wait ends, the lock request is dropped.
    let later = later + u64::from(LOCK_WAIT_MS);
    c.slept(later, timeout).unwrap();
    let probe = query_of(&drain(&mut c)).unwrap();
    c.locks_held(later, probe, [name.as_str()]).unwrap();
    let effects = drain(&mut c);
    assert!(has!(effects, Effect::Release(op) if *op == lock));
    let error = rejection(&effects, 10);
    assert_eq!(error.code, ErrorCode::Network);
    assert!(
        error.message.contains("refresh lock for 10 s"),
        "{}",
        error.message
    );
    assert!(
        error.message.ends_with("; the session is kept"),
        "{}",
        error.message
    );
    assert!(
        requests(&effects).is_empty(),
        "no refresh token presented without the lock"
    );
    assert!(c.session().is_authenticated());
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Error(_),
            ..
        }
    ));
    // A backoff retry is armed; the late grant of the dropped request is not the edge's to
    // report any more.
    assert!(matches!(timer_of(&effects), Some(Some(_))));
    assert_eq!(
        c.lock_granted(later, lock),
        Err(InputError::UnknownOp(lock))
    );
    // The next turn takes the lock again.
    c.refresh(later + 20_000, Caller(11));
    assert!(lock_of(&drain(&mut c), LockMode::Exclusive).is_some());
    assert_eq!(LOCK_WAIT_MS, 10_000, "the lock-wait message says 10 s");
}

#[test]
fn a_rejected_renewal_ends_the_session_and_redirects_once() {
    let mut c = logged_in(false, false);
    let effects = refreshed(&mut c, status(401));
    assert_eq!(settled(&effects), [(2, "session_expired".into())]);
    let logouts = effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Emit {
                    event: Event::Logout(EndReason::RefreshRejected),
                    ..
                }
            )
        })
        .count();
    assert_eq!(logouts, 1);
    assert!(has!(effects, Effect::Redirect(url) if url == "/login"));
    assert!(!c.session().is_authenticated());
}

#[test]
fn a_transient_failure_keeps_the_session_and_backs_off() {
    let mut c = logged_in(false, false);
    let effects = refreshed(&mut c, status(503));
    assert_eq!(settled(&effects), [(2, "network".into())]);
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Error(_),
            ..
        }
    ));
    let delay = timer_of(&effects)
        .flatten()
        .expect("a backoff retry is armed");
    assert!((750..=1000).contains(&delay), "{delay}");
    assert!(c.session().is_authenticated());
}

#[test]
fn the_timer_is_armed_for_at_most_what_set_timeout_keeps() {
    let mut c = Client::new(config(false), false, 0.5);
    c.login(T0, Caller(1), Some("{}".into()));
    let op = request_op(&mut c);
    // A token that lives 30 days: its refresh is further away than setTimeout can wait.
    c.answered(T0, op, ok("a1", "r1", 30.0 * 86_400.0)).unwrap();
    let delay = timer_of(&drain(&mut c)).flatten().unwrap();
    assert_eq!(u64::from(delay), MAX_TIMER_MS);
    // It fires early, finds nothing due, and arms again for the rest.
    c.wake(T0 + MAX_TIMER_MS, Wake::Resumed);
    let effects = drain(&mut c);
    assert!(requests(&effects).is_empty());
    let rest = 30 * 86_400_000 - 60_000 - MAX_TIMER_MS;
    assert_eq!(timer_of(&effects), Some(Some(rest as u32)));
}

#[test]
fn a_login_without_an_answer_names_cors_and_claims_no_session() {
    let mut c = Client::new(config(false), false, 0.5);
    c.login(T0, Caller(1), Some("{}".into()));
    let op = request_op(&mut c);
    c.answered(T0, op, Answer::Failed).unwrap();
    let e = rejection(&drain(&mut c), 1);
    assert_eq!(e.code, ErrorCode::Network);
    assert_eq!(e.status, None);
    assert!(e.message.contains("no answer"), "{}", e.message);
    assert!(e.message.contains("CORS"), "{}", e.message);
    assert!(!e.message.contains("session"), "{}", e.message);
    assert!(!c.session().is_authenticated());

    // A 5xx is an answer: no CORS in its message, and still no session to keep.
    c.login(T0, Caller(2), Some("{}".into()));
    let op = request_op(&mut c);
    c.answered(T0, op, status(503)).unwrap();
    let e = rejection(&drain(&mut c), 2);
    assert_eq!((e.code, e.status), (ErrorCode::Network, Some(503)));
    assert!(e.message.contains("error status"), "{}", e.message);
    assert!(!e.message.contains("CORS"), "{}", e.message);
    assert!(!e.message.contains("session"), "{}", e.message);
}

#[test]
fn login_takes_a_json_object_and_a_locked_account_carries_its_answer() {
    let mut c = Client::new(config(false), false, 0.5);
    for (caller, body) in [(1, None), (2, Some("\"maria\"")), (3, Some("[1]"))] {
        c.login(T0, Caller(caller), body.map(String::from));
        let e = rejection(&drain(&mut c), caller);
        assert_eq!(
            (e.code, e.key.as_deref()),
            (ErrorCode::InvalidConfig, Some("credentials"))
        );
    }
    c.login(T0, Caller(4), Some(r#"{"email":"a"}"#.into()));
    let op = request_op(&mut c);
    c.answered(T0, op, status(403)).unwrap();
    let effects = drain(&mut c);
    assert!(
        has!(effects, Effect::Settle { outcome: Outcome::Error { with_details: true, error }, .. } if error.code == ErrorCode::AccountLocked)
    );
}

#[test]
fn a_renewal_without_an_answer_names_cors_and_keeps_the_session() {
    let mut c = logged_in(false, false);
    let effects = refreshed(&mut c, Answer::Failed);
    let e = rejection(&effects, 2);
    assert_eq!(e.code, ErrorCode::Network);
    assert!(e.message.contains("CORS"), "{}", e.message);
    assert!(
        e.message.ends_with("; the session is kept"),
        "{}",
        e.message
    );
    assert!(has!(effects, Effect::Emit { event: Event::Error(ev), .. } if *ev == e));
    assert!(c.session().is_authenticated());

    // Its 5xx says the server answered, and that the session is kept.
    let later = T0 + 60_000;
    c.refresh(later, Caller(3));
    let op = request_op(&mut c);
    c.answered(later, op, status(500)).unwrap();
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
        c.refresh(T0, Caller(2));
        let op = request_op(&mut c);
        let answer = Answer::Status {
            status: 503,
            grant: None,
            server: ServerSaid {
                retry_after_ms: Some(said_ms),
                ..ServerSaid::default()
            },
        };
        c.answered(T0, op, answer).unwrap();
        let effects = drain(&mut c);
        assert_eq!(timer_of(&effects), Some(Some(expected_ms as u32)));
        assert_eq!(c.session().refresh_at_ms(), Some(T0 + expected_ms));
        assert!(c.session().is_authenticated());
    }
}

#[test]
fn with_web_locks_a_renewal_takes_the_refresh_lock_and_checks_the_markers() {
    let mut c = logged_in(true, true);
    let before = c.session().version().unwrap();
    c.refresh(T0, Caller(2));
    let effects = drain(&mut c);
    let (lock, name) = lock_of(&effects, LockMode::Exclusive).unwrap();
    assert_eq!(name, "authfetch:http://127.0.0.1:8080:refresh");
    assert!(requests(&effects).is_empty(), "no request before the lock");
    c.lock_granted(T0, lock).unwrap();
    let effects = drain(&mut c);
    let query = effects
        .iter()
        .find_map(|e| match e {
            Effect::Query(op) => Some(*op),
            _ => None,
        })
        .unwrap();
    // Another tab already renewed to a newer version: wait for its broadcast, no request.
    let newer = version_marker_name(API, before + 5);
    c.locks_held(T0, query, [newer.as_str()]).unwrap();
    let effects = drain(&mut c);
    assert!(requests(&effects).is_empty());
    assert!(posted(&effects).iter().any(|m| matches!(m, Message::Ask)));
    // Its broadcast arrives: adopted, the lock released, refresh() resolves.
    let shared = Message::Session(SharedSession {
        access_token: AccessToken::new("a2".into()),
        refresh_token: Some(RefreshToken::new("r2".into())),
        version: before + 5,
        received_at_ms: T0 + 5,
        expires_at_ms: Some(T0 + 3_600_000),
    });
    c.message(T0, shared.into_wire(0.9)).unwrap();
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
    c.answered(T0 + 2000, op, ok("a2", "r2", 3600.0)).unwrap();
    let effects = drain(&mut c);
    // The new tokens go to the other tabs and a marker is requested; the lock is still held.
    assert!(posted(&effects)
        .iter()
        .any(|m| matches!(m, Message::Session(_))));
    let (marker, name) = lock_of(&effects, LockMode::Shared).unwrap();
    // The login's lineage, first renewal.
    let version = ((T0 / 1000) << 32) + 1;
    assert!(name.ends_with(&format!(":v:{version}")), "{name}");
    assert!(!has!(effects, Effect::Release(op) if *op == lock));
    assert!(settled(&effects).is_empty());
    c.lock_granted(T0 + 2000, marker).unwrap();
    let effects = drain(&mut c);
    assert!(has!(effects, Effect::Release(op) if *op == lock));
    assert_eq!(settled(&effects), [(2, "done".into())]);
}

/// Takes the refresh lock and answers the markers query with `held`: the effects after.
fn renewal_turn(c: &mut Client, held: &[&str]) -> (Op, Vec<Effect>) {
    c.refresh(T0, Caller(2));
    let (lock, _) = lock_of(&drain(c), LockMode::Exclusive).expect("the refresh lock is requested");
    c.lock_granted(T0, lock).unwrap();
    let query = drain(c)
        .into_iter()
        .find_map(|e| match e {
            Effect::Query(op) => Some(op),
            _ => None,
        })
        .expect("the markers are queried");
    c.locks_held(T0, query, held.iter().copied()).unwrap();
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
    a.answered(T0, op, status(401)).unwrap();
    let effects = drain(&mut a);
    assert!(posted(&effects)
        .iter()
        .any(|m| matches!(m, Message::Logout { .. })));
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Logout(EndReason::RefreshRejected),
            ..
        }
    ));
    // The refresh lock is held until the marker of the lineage's end is.
    assert!(!has!(effects, Effect::Release(op) if *op == lock));
    let (marker, name) = lock_of(&effects, LockMode::Shared).expect("an end marker is requested");
    let end = a.session().last_known();
    assert!(name.ends_with(&format!(":v:{end}")), "{name}");
    a.lock_granted(T0, marker).unwrap();
    assert!(has!(drain(&mut a), Effect::Release(op) if *op == lock));

    // Tab B, next to take the lock, sees the end marker: it asks instead of renewing...
    let (_, effects) = renewal_turn(&mut b, &[name.as_str()]);
    assert!(
        requests(&effects).is_empty(),
        "B presented the refused refresh token"
    );
    assert!(posted(&effects).iter().any(|m| matches!(m, Message::Ask)));
    // ...and A's answer ends B's session too.
    a.message(T0, Message::Ask.into_wire(0.7)).unwrap();
    let answer = posted_wire(drain(&mut a), "logout").expect("A answers with its logout");
    b.message(T0, answer).unwrap();
    let effects = drain(&mut b);
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Logout(EndReason::OtherTab),
            ..
        }
    ));
    assert!(requests(&effects).is_empty());
    assert!(!b.session().is_authenticated());
}

#[test]
fn without_web_locks_a_follower_asks_the_leader_and_never_presents_the_refresh_token() {
    let mut c = logged_in(true, false);
    // A peer with a lower id leads.
    c.message(T0, Message::Hello { from: 0.1 }.into_wire(0.1))
        .unwrap();
    let version = c.session().version().unwrap();
    c.refresh(T0, Caller(2));
    let effects = drain(&mut c);
    assert!(requests(&effects).is_empty());
    assert!(posted(&effects)
        .iter()
        .any(|m| matches!(m, Message::Need { version: v } if *v == version)));
    let sleep = sleep_of(&effects, AWAIT_BROADCAST_MS).unwrap();
    // The leader never answers: a transient failure, not a request.
    c.slept(T0, sleep).unwrap();
    let effects = drain(&mut c);
    assert!(requests(&effects).is_empty());
    assert_eq!(settled(&effects), [(2, "network".into())]);
    assert!(c.session().is_authenticated());
    // The leader leaves: this tab leads and renews itself.
    c.message(T0, Message::Bye { from: 0.1 }.into_wire(0.1))
        .unwrap();
    c.refresh(T0, Caller(3));
    assert_eq!(requests(&drain(&mut c)).len(), 1);
}

#[test]
fn logout_ends_here_tells_the_other_tabs_and_posts_the_logout_endpoint() {
    let mut c = logged_in(true, true);
    c.logout(T0, Caller(2));
    let effects = drain(&mut c);
    assert!(posted(&effects)
        .iter()
        .any(|m| matches!(m, Message::Logout { .. })));
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Logout(EndReason::User),
            ..
        }
    ));
    assert!(!has!(effects, Effect::Redirect(_)));
    let out = requests(&effects);
    assert_eq!(out[0].1, "http://127.0.0.1:8080/v1/auth/logout");
    assert!(
        settled(&effects).is_empty(),
        "settled once the endpoint answered"
    );
    c.answered(T0, out[0].0, Answer::Failed).unwrap();
    assert_eq!(settled(&drain(&mut c)), [(2, "done".into())]);
    // A logout from another tab is not echoed back.
    let mut c = logged_in(true, true);
    let version = c.session().version().unwrap() | 0xFFFF_FFFF;
    c.message(T0, Message::Logout { version }.into_wire(0.9))
        .unwrap();
    let effects = drain(&mut c);
    assert!(posted(&effects).is_empty());
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Logout(EndReason::OtherTab),
            ..
        }
    ));
}

#[test]
fn a_renewal_of_an_ended_session_never_presents_the_next_sessions_refresh_token() {
    let mut c = logged_in(true, true);
    c.refresh(T0, Caller(2));
    let (lock, _) = lock_of(&drain(&mut c), LockMode::Exclusive).unwrap();
    c.logout(T0, Caller(3));
    drain(&mut c);
    // A new login here while the old renewal still waits for its turn.
    let later = T0 + 60_000;
    c.login(later, Caller(4), Some("{}".into()));
    let op = request_op(&mut c);
    c.answered(later, op, ok("a9", "r9", 3600.0)).unwrap();
    drain(&mut c);
    c.lock_granted(later, lock).unwrap();
    let query = drain(&mut c)
        .into_iter()
        .find_map(|e| match e {
            Effect::Query(op) => Some(op),
            _ => None,
        })
        .unwrap();
    c.locks_held(later, query, []).unwrap();
    let effects = drain(&mut c);
    assert!(
        requests(&effects).is_empty(),
        "the stale renewal presented r9"
    );
    assert!(has!(effects, Effect::Release(op) if *op == lock));
    assert!(settled(&effects).iter().any(|(caller, _)| *caller == 2));
}

#[test]
fn a_stale_renewal_that_wins_its_turn_after_a_new_login_presents_nothing() {
    // Without the channel's lock request being dropped: the turn of a stale renewal ends after
    // a new login (the no-Web-Locks leader path, where the turn is a wait for a broadcast).
    let mut c = logged_in(true, false);
    c.message(T0, Message::Hello { from: 0.1 }.into_wire(0.1))
        .unwrap();
    c.refresh(T0, Caller(2));
    let sleep = sleep_of(&drain(&mut c), AWAIT_BROADCAST_MS).unwrap();
    c.logout(T0, Caller(3));
    let effects = drain(&mut c);
    assert!(settled(&effects).iter().any(|(caller, _)| *caller == 2));
    c.login(T0 + 1000, Caller(4), Some("{}".into()));
    let op = request_op(&mut c);
    c.answered(T0 + 1000, op, ok("a9", "r9", 3600.0)).unwrap();
    drain(&mut c);
    c.slept(T0 + 3000, sleep).unwrap();
    assert!(requests(&drain(&mut c)).is_empty());
}

#[test]
fn in_relogin_mode_the_credentials_stay_in_their_tab_which_renews_for_the_others() {
    let relogin = || {
        Config::parse(RawConfig {
            base_url: Some(API.into()),
            login_path: Some("/auth/login".into()),
            refresh_credential: Some("relogin".into()),
            ..RawConfig::default()
        })
        .unwrap()
    };
    // Tab A logs in; what it posts carries no credentials.
    let mut a = Client::new(relogin(), true, 0.2);
    a.login(T0, Caller(1), Some(r#"{"password":"secret"}"#.into()));
    let op = request_op(&mut a);
    a.answered(T0, op, ok("a1", "unused", 3600.0)).unwrap();
    let shared = posted_wire(drain(&mut a), "session").unwrap();
    assert!(!format!("{shared:?}").contains("secret"));
    // Tab B adopts it, then must renew: it asks instead of taking the lock.
    let mut b = Client::new(relogin(), true, 0.7);
    drain(&mut b);
    b.message(T0 + 1, shared).unwrap();
    assert!(b.session().credentials().is_none());
    drain(&mut b);
    b.refresh(T0 + 1, Caller(2));
    let effects = drain(&mut b);
    assert!(requests(&effects).is_empty());
    assert!(lock_of(&effects, LockMode::Exclusive).is_none());
    let need = posted_wire(effects, "need").unwrap();
    // Tab A hears it and renews with its credentials (its own turn: the refresh lock).
    a.message(T0 + 1, need).unwrap();
    assert!(lock_of(&drain(&mut a), LockMode::Exclusive).is_some());
}

#[test]
fn a_login_answered_after_a_logout_is_dropped() {
    let mut c = Client::new(config(true), true, 0.5);
    c.login(T0, Caller(1), Some("{}".into()));
    let op = request_op(&mut c);
    c.logout(T0, Caller(2));
    assert_eq!(settled(&drain(&mut c)), [(2, "done".into())]);
    c.answered(T0, op, ok("late", "late-refresh", 3600.0))
        .unwrap();
    let effects = drain(&mut c);
    assert_eq!(settled(&effects), [(1, "not_authenticated".into())]);
    assert!(!c.session().is_authenticated());
    assert!(posted(&effects).is_empty());
    assert!(!has!(effects, Effect::Emit { .. }));
}

#[test]
fn a_logout_during_a_cookie_restore_resolves_it_false_and_drops_its_answer() {
    let cookie = Config::parse(RawConfig {
        base_url: Some(API.into()),
        login_path: Some("/v1/auth/login".into()),
        refresh_path: Some("/v1/auth/refresh-token".into()),
        refresh_credential: Some("cookie".into()),
        cross_tab: Some(false),
        ..RawConfig::default()
    })
    .unwrap();
    let mut c = Client::new(cookie, false, 0.5);
    c.restore(T0, Caller(1));
    let (op, url) = requests(&drain(&mut c))[0].clone();
    assert_eq!(url, "http://127.0.0.1:8080/v1/auth/refresh-token");
    c.logout(T0, Caller(2));
    let effects = drain(&mut c);
    assert_eq!(settled(&effects), [(1, "false".into()), (2, "done".into())]);
    c.answered(T0, op, ok("late", "late-refresh", 3600.0))
        .unwrap();
    assert!(drain(&mut c).is_empty());
    assert!(!c.session().is_authenticated());
}

#[test]
fn restore_asks_the_other_tabs_then_answers_false_without_a_cookie() {
    let mut c = Client::new(config(true), true, 0.5);
    drain(&mut c);
    c.restore(T0, Caller(1));
    c.restore(T0, Caller(2));
    let effects = drain(&mut c);
    assert!(posted(&effects).iter().any(|m| matches!(m, Message::Ask)));
    let sleep = sleep_of(&effects, ASK_MS).unwrap();
    c.slept(T0, sleep).unwrap();
    assert_eq!(
        settled(&drain(&mut c)),
        [(1, "false".into()), (2, "false".into())]
    );
}

#[test]
fn restore_resolves_true_when_a_tab_answers_with_its_session() {
    let mut c = Client::new(config(true), true, 0.5);
    drain(&mut c);
    c.restore(T0, Caller(1));
    drain(&mut c);
    let shared = Message::Session(SharedSession {
        access_token: AccessToken::new("a".into()),
        refresh_token: None,
        version: (T0 / 1000) << 32,
        received_at_ms: T0,
        expires_at_ms: Some(T0 + 3_600_000),
    });
    c.message(T0, shared.into_wire(0.9)).unwrap();
    let effects = drain(&mut c);
    assert_eq!(settled(&effects), [(1, "true".into())]);
    assert!(has!(
        effects,
        Effect::Emit {
            event: Event::Login { restored: false },
            expires_at_ms: Some(_),
        }
    ));
}

#[test]
fn pagehide_closes_the_channel_and_releases_the_marker_and_pageshow_asks_again() {
    let mut c = logged_in(true, true);
    c.wake(T0, Wake::Hidden);
    let effects = drain(&mut c);
    assert!(has!(effects, Effect::Channel(None)));
    assert!(has!(effects, Effect::Release(_)));
    c.wake(T0, Wake::Resumed);
    let effects = drain(&mut c);
    assert!(
        has!(effects, Effect::Channel(Some(name)) if name == "authfetch:http://127.0.0.1:8080")
    );
    assert!(posted(&effects).iter().any(|m| matches!(m, Message::Ask)));
    assert!(lock_of(&effects, LockMode::Shared).is_some());
}

#[test]
fn a_session_ended_by_the_server_redirects_to_login_url_unless_it_is_off() {
    let mut c = logged_in(false, false);
    let generation = c.session().generation();
    let invalid = ServerSaid {
        code: Some("AUTH_005".into()),
        ..ServerSaid::default()
    };
    c.hot_unauthorized(T0, Caller(3), generation, invalid.clone())
        .unwrap();
    let effects = drain(&mut c);
    assert!(has!(effects, Effect::Redirect(url) if url == "/login"));
    let error = rejection(&effects, 3);
    assert_eq!(
        (error.code, error.server_code.as_deref()),
        (ErrorCode::SessionExpired, Some("AUTH_005"))
    );
    let no_redirect = Config::parse(RawConfig {
        login_url: Setting::Off,
        ..RawConfig::from(config(false))
    })
    .unwrap();
    let mut c = Client::new(no_redirect, false, 0.5);
    c.login(T0, Caller(1), Some("{}".into()));
    let op = request_op(&mut c);
    c.answered(T0, op, ok("a1", "r1", 3600.0)).unwrap();
    drain(&mut c);
    let generation = c.session().generation();
    c.hot_unauthorized(T0, Caller(3), generation, invalid)
        .unwrap();
    assert!(!has!(drain(&mut c), Effect::Redirect(_)));
}

#[test]
fn an_expired_call_retries_once_after_one_renewal() {
    let mut c = logged_in(false, false);
    let generation = c.session().generation();
    c.hot_unauthorized(
        T0,
        Caller(3),
        generation,
        match expired() {
            CallAnswer::Unauthorized(said) => said,
            _ => unreachable!(),
        },
    )
    .unwrap();
    let op = request_op(&mut c);
    c.answered(T0, op, ok("a2", "r2", 3600.0)).unwrap();
    drain(&mut c);
    // Still 401 after the renewal: the session ends, no second renewal.
    c.call_answered(T0, Caller(3), expired()).unwrap();
    let effects = drain(&mut c);
    assert!(requests(&effects).is_empty());
    assert_eq!(rejection(&effects, 3).code, ErrorCode::SessionExpired);
    assert!(!c.session().is_authenticated());
}

#[test]
fn debug_output_holds_no_secret() {
    let mut c = logged_in(true, true);
    c.refresh(T0, Caller(2));
    let text = format!("{c:?} {:?}", drain(&mut c));
    for secret in ["a1", "r1", "{}"] {
        assert!(
            !text.contains(&format!("\"{secret}\"")),
            "{secret} in {text}"
        );
    }
    let wire = Message::Session(c.session().share().unwrap()).into_wire(0.5);
    let printed = format!("{wire:?}");
    assert!(
        !printed.contains("\"a1\"") && !printed.contains("\"r1\""),
        "{printed}"
    );
}
