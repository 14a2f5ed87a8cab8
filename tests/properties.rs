//! Property tests of the core: random sequences of logins, calls, answers (200, 401 with every
//! code, 5xx, drops), timer firings, clock jumps forward and back, logouts, locks granted and
//! refused, and messages from other tabs, run against the real [`Client`] state machine — calls
//! through its real hot path, [`Client::call`] — with a small model of the edge that carries out
//! its effects the way the JavaScript edge's `drive` (js/authfetch.js) does.
//!
//! Invariants checked after every step:
//! - at most one refresh request in flight per session (single flight; a new login starts a
//!   new session, whose renewal does not wait for a stale one of the old session);
//! - no call sent more than `1 + maxRetries` times;
//! - no refresh token presented again after the server rotated it;
//! - the session ends only on a server's refusal (a rejected renewal, a 401 to a call) or a
//!   user's logout (here or in another tab);
//! - no caller settled twice; no panic;
//! - the core refuses none of the model's inputs (`InputError`): an edge that reports only what
//!   the core asked for is never told it did not.
//!
//! `PROPTEST_CASES` sets the number of cases (default 2,000; `make soak` runs many more).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{HashMap, HashSet, VecDeque};

use authfetch::core::client::{Body, CallAnswer, Caller, Client, Effect, Event, Op, Wake};
use authfetch::core::config::RawConfig;
use authfetch::core::crosstab::Message;
use authfetch::core::{
    AccessToken, Answer, Config, EndReason, Grant, InputError, JwtTimes, RefreshToken, ServerSaid,
    SharedSession, TokenGeneration,
};
use proptest::prelude::*;

const T0: u64 = 1_700_000_000_000;
const REFRESH: &str = "http://127.0.0.1:8080/v1/auth/refresh-token";

#[derive(Clone, Debug)]
enum Reply {
    Ok,
    Status(u16),
    Failed,
    NoToken,
}

#[derive(Clone, Debug)]
enum Step {
    Login,
    Refresh,
    Logout,
    Call,
    AnswerRequest(Reply),
    AnswerSend(usize, Option<u16>, &'static str),
    Grant,
    Deny,
    Steal,
    Query,
    Sleep,
    Timer,
    Advance(u32),
    Back(u32),
    Wake(u8),
    OtherTabSession,
    OtherTabLogout,
    OtherTabAsk,
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        4 => Just(Reply::Ok),
        1 => prop::sample::select(vec![400u16, 401, 403, 408, 429, 500, 503]).prop_map(Reply::Status),
        1 => Just(Reply::Failed),
        1 => Just(Reply::NoToken),
    ]
}

fn step(cross_tab: bool) -> impl Strategy<Value = Step> {
    let common = prop_oneof![
        2 => Just(Step::Login),
        1 => Just(Step::Refresh),
        1 => Just(Step::Logout),
        4 => Just(Step::Call),
        4 => reply().prop_map(Step::AnswerRequest),
        4 => (
            any::<usize>(),
            prop::option::of(prop::sample::select(vec![200u16, 401, 401, 403, 500])),
            prop::sample::select(vec!["AUTH_006", "AUTH_005", "AUTH_007", ""]),
        )
            .prop_map(|(i, status, code)| Step::AnswerSend(i, status, code)),
        2 => Just(Step::Timer),
        2 => (1u32..4_000_000).prop_map(Step::Advance),
        1 => (1u32..600_000).prop_map(Step::Back),
        1 => (0u8..3).prop_map(Step::Wake),
    ];
    let tabs = prop_oneof![
        2 => Just(Step::Grant),
        1 => Just(Step::Deny),
        1 => Just(Step::Steal),
        2 => Just(Step::Query),
        1 => Just(Step::Sleep),
        1 => Just(Step::OtherTabSession),
        1 => Just(Step::OtherTabLogout),
        1 => Just(Step::OtherTabAsk),
    ];
    if cross_tab {
        prop_oneof![3 => common, 1 => tabs].boxed()
    } else {
        common.boxed()
    }
}

/// The edge, as far as the invariants need it, and what it has seen.
struct Edge {
    client: Client,
    now: u64,
    max_retries: u32,
    requests: VecDeque<(Op, String, Option<String>)>,
    /// Attempts in flight: the caller, the generation, and whether the core tracks the call
    /// (`false`: a hot-path send, which the edge itself holds).
    sends: Vec<(Caller, TokenGeneration, bool)>,
    locks: VecDeque<Op>,
    /// Locks granted and not released yet.
    held: Vec<Op>,
    queries: VecDeque<Op>,
    sleeps: VecDeque<Op>,
    timer: Option<u64>,
    sent: HashMap<u32, u32>,
    settled: HashSet<u32>,
    next_caller: u32,
    next_token: u32,
    rotated: HashSet<String>,
    /// Why the session may end now (what the server or the user said since the last end).
    may_end: HashSet<&'static str>,
    session_epoch: u32,
    refreshes_in_flight: HashMap<u32, u32>,
    request_epoch: HashMap<u32, u32>,
}

impl Edge {
    fn new(cross_tab: bool, max_retries: u32) -> Edge {
        let config = Config::parse(RawConfig {
            base_url: Some("http://127.0.0.1:8080".into()),
            login_path: Some("/v1/auth/login".into()),
            refresh_path: Some("/v1/auth/refresh-token".into()),
            cross_tab: Some(cross_tab),
            max_retries: Some(f64::from(max_retries)),
            ..RawConfig::default()
        })
        .unwrap();
        let mut edge = Edge {
            client: Client::new(config, cross_tab, 0.3),
            now: T0,
            max_retries,
            requests: VecDeque::new(),
            sends: Vec::new(),
            locks: VecDeque::new(),
            held: Vec::new(),
            queries: VecDeque::new(),
            sleeps: VecDeque::new(),
            timer: None,
            sent: HashMap::new(),
            settled: HashSet::new(),
            next_caller: 1000,
            next_token: 0,
            rotated: HashSet::new(),
            may_end: HashSet::new(),
            session_epoch: 0,
            refreshes_in_flight: HashMap::new(),
            request_epoch: HashMap::new(),
        };
        edge.drain();
        edge
    }

    fn caller(&mut self) -> Caller {
        self.next_caller += 1;
        Caller(self.next_caller)
    }

    fn grant(&mut self) -> Grant {
        self.next_token += 1;
        Grant {
            access_token: AccessToken::new(format!("a{}", self.next_token)),
            refresh_token: Some(RefreshToken::new(format!("r{}", self.next_token))),
            expires_in_s: Some(65.0),
            jwt: JwtTimes::default(),
        }
    }

    /// One input that cannot be refused, at the model's clock.
    fn act(&mut self, f: impl FnOnce(&mut Client, u64)) {
        f(&mut self.client, self.now);
        self.drain();
    }

    /// One input at the model's clock; the core must take it.
    fn input(&mut self, f: impl FnOnce(&mut Client, u64) -> Result<(), InputError>) {
        let now = self.now;
        if let Err(e) = f(&mut self.client, now) {
            panic!("the core refused an input the edge was asked for: {e:?}");
        }
        self.drain();
    }

    /// Carries out the effects, checking the invariants on the way.
    fn drain(&mut self) {
        while let Some(effect) = self.client.poll() {
            match effect {
                Effect::Request(r) => {
                    let presented = match &r.body {
                        Body::RefreshToken { token, .. } => Some(token.expose().to_owned()),
                        _ => None,
                    };
                    if let Some(t) = &presented {
                        assert!(
                            !self.rotated.contains(t),
                            "refresh token {t} presented again after rotation"
                        );
                    }
                    if r.url == REFRESH {
                        let n = self
                            .refreshes_in_flight
                            .entry(self.session_epoch)
                            .or_default();
                        *n += 1;
                        assert!(*n <= 1, "two refresh requests in flight for one session");
                        self.request_epoch.insert(r.op.0, self.session_epoch);
                    }
                    self.requests.push_back((r.op, r.url.clone(), presented));
                }
                Effect::Send { caller, generation } => {
                    let n = self.sent.entry(caller.0).or_default();
                    *n += 1;
                    assert!(
                        *n <= 1 + self.max_retries,
                        "call {} sent {n} times",
                        caller.0
                    );
                    self.sends.push((caller, generation, true));
                }
                Effect::Settle { caller, .. } => {
                    assert!(
                        self.settled.insert(caller.0),
                        "caller {} settled twice",
                        caller.0
                    );
                }
                Effect::Timer(delay) => self.timer = delay.map(|ms| self.now + u64::from(ms)),
                // A new login (or a session adopted from another tab) is a new session.
                Effect::Emit {
                    event: Event::Login { .. },
                    ..
                } => self.session_epoch += 1,
                Effect::Emit {
                    event: Event::Logout(reason),
                    ..
                } => {
                    let why = match reason {
                        EndReason::User => "user",
                        EndReason::OtherTab => "other_tab",
                        EndReason::RefreshRejected => "refresh_rejected",
                        EndReason::InvalidToken | EndReason::SessionExpired => "call_401",
                    };
                    assert!(
                        self.may_end.contains(why),
                        "the session ended ({reason:?}) with no reason for it: {:?}",
                        self.may_end
                    );
                    self.may_end.clear();
                    self.session_epoch += 1;
                }
                Effect::Lock { op, .. } => self.locks.push_back(op),
                Effect::Release(op) => {
                    self.locks.retain(|l| *l != op);
                    self.held.retain(|l| *l != op);
                }
                Effect::Query(op) => self.queries.push_back(op),
                Effect::Sleep { op, .. } => self.sleeps.push_back(op),
                Effect::Emit {
                    event: Event::Refresh | Event::Error(_),
                    ..
                }
                | Effect::Post(_)
                | Effect::Channel(_)
                | Effect::Redirect(_) => {}
            }
        }
    }

    fn run(&mut self, step: Step) {
        match step {
            Step::Login => {
                let caller = self.caller();
                self.act(|c, now| c.login(now, caller, Some("{}".into())));
            }
            Step::Refresh => {
                let caller = self.caller();
                self.act(|c, now| c.refresh(now, caller));
            }
            Step::Logout => {
                let caller = self.caller();
                self.may_end.insert("user");
                self.act(|c, now| c.logout(now, caller));
            }
            Step::Call => {
                let caller = self.caller();
                let mut hot = None;
                self.input(|c, now| {
                    hot = c.call(now, caller, true)?;
                    Ok(())
                });
                // The hot path: sent by the edge with the core's generation, the core not told.
                if let Some(generation) = hot {
                    self.sent.insert(caller.0, 1);
                    self.sends.push((caller, generation, false));
                }
            }
            Step::AnswerRequest(reply) => {
                let Some((op, url, presented)) = self.requests.pop_front() else {
                    return;
                };
                if url == REFRESH {
                    let epoch = self.request_epoch.remove(&op.0).unwrap_or_default();
                    *self.refreshes_in_flight.entry(epoch).or_default() -= 1;
                }
                let answer = match reply {
                    Reply::Ok => {
                        if let Some(t) = presented {
                            self.rotated.insert(t);
                        }
                        let grant = self.grant();
                        Answer::Status {
                            status: 200,
                            grant: Some(grant),
                            server: ServerSaid::default(),
                        }
                    }
                    Reply::NoToken => Answer::Status {
                        status: 200,
                        grant: None,
                        server: ServerSaid::default(),
                    },
                    Reply::Status(status) => {
                        if url == REFRESH
                            && (400..500).contains(&status)
                            && !matches!(status, 408 | 425 | 429)
                        {
                            self.may_end.insert("refresh_rejected");
                            if let Some(t) = presented {
                                self.rotated.insert(t);
                            }
                        }
                        Answer::Status {
                            status,
                            grant: None,
                            server: ServerSaid::default(),
                        }
                    }
                    Reply::Failed => Answer::Failed,
                };
                self.input(|c, now| c.answered(now, op, answer));
            }
            Step::AnswerSend(i, status, code) => {
                if self.sends.is_empty() {
                    return;
                }
                let (caller, generation, tracked) = self.sends.remove(i % self.sends.len());
                let answer = match status {
                    None => CallAnswer::Failed,
                    Some(401) => {
                        self.may_end.insert("call_401");
                        CallAnswer::Unauthorized(ServerSaid {
                            code: (!code.is_empty()).then(|| code.to_owned()),
                            message: None,
                            retry_after_ms: None,
                        })
                    }
                    Some(_) => CallAnswer::Response,
                };
                if tracked {
                    self.input(|c, now| c.call_answered(now, caller, answer));
                } else if let CallAnswer::Unauthorized(said) = answer {
                    // The hot path hands only a 401 to the core.
                    self.input(|c, now| c.hot_unauthorized(now, caller, generation, said));
                }
            }
            Step::Grant => {
                if let Some(op) = self.locks.pop_front() {
                    // A granted lock stays held (in `held`) until the core releases it.
                    self.held.push(op);
                    self.input(|c, now| c.lock_granted(now, op));
                }
            }
            Step::Deny => {
                if let Some(op) = self.locks.pop_front() {
                    self.input(|c, now| c.lock_failed(now, op));
                }
            }
            Step::Steal => {
                // Another script takes a held lock away (`steal`): its request rejects.
                if !self.held.is_empty() {
                    let op = self.held.remove(0);
                    self.input(|c, now| c.lock_failed(now, op));
                }
            }
            Step::Query => {
                if let Some(op) = self.queries.pop_front() {
                    self.input(|c, now| c.locks_held(now, op, []));
                }
            }
            Step::Sleep => {
                if let Some(op) = self.sleeps.pop_front() {
                    self.input(|c, now| c.slept(now, op));
                }
            }
            Step::Timer => {
                if let Some(at) = self.timer.take() {
                    self.now = self.now.max(at);
                    self.act(|c, now| c.wake(now, Wake::Resumed));
                }
            }
            Step::Advance(ms) => self.now += u64::from(ms),
            Step::Back(ms) => self.now = self.now.saturating_sub(u64::from(ms)),
            Step::Wake(kind) => {
                let why = [Wake::Resumed, Wake::Online, Wake::Hidden][usize::from(kind)];
                self.act(|c, now| c.wake(now, why));
            }
            Step::OtherTabSession => {
                self.next_token += 1;
                // Another tab's renewal of the session held, or its own new login.
                let version = match self.client.session().version() {
                    Some(v) => v + 1,
                    None => (self.now / 1000) << 32,
                };
                let shared = SharedSession {
                    access_token: AccessToken::new(format!("o{}", self.next_token)),
                    refresh_token: Some(RefreshToken::new(format!("or{}", self.next_token))),
                    version,
                    received_at_ms: self.now,
                    expires_at_ms: Some(self.now + 65_000),
                };
                let wire = Message::Session(shared).into_wire(0.9);
                self.input(|c, now| c.message(now, wire));
            }
            Step::OtherTabLogout => {
                self.may_end.insert("other_tab");
                let version = self.client.session().version().unwrap_or_default() | 0xFFFF_FFFF;
                let wire = Message::Logout { version }.into_wire(0.9);
                self.input(|c, now| c.message(now, wire));
            }
            Step::OtherTabAsk => {
                let wire = Message::Ask.into_wire(0.9);
                self.input(|c, now| c.message(now, wire));
            }
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn one_tab_keeps_every_invariant(
        max_retries in 0u32..3,
        steps in prop::collection::vec(step(false), 1..80),
    ) {
        let mut edge = Edge::new(false, max_retries);
        for step in steps {
            edge.run(step);
        }
    }

    #[test]
    fn a_tab_among_others_keeps_every_invariant(
        max_retries in 0u32..3,
        steps in prop::collection::vec(step(true), 1..80),
    ) {
        let mut edge = Edge::new(true, max_retries);
        for step in steps {
            edge.run(step);
        }
    }
}

#[test]
fn the_properties_run_on_the_outcomes_they_claim() {
    // One scripted run through the same edge model: login, a 401 AUTH_006, one renewal, the
    // retry — so a model that silently did nothing would fail here.
    let mut edge = Edge::new(false, 1);
    edge.run(Step::Login);
    edge.run(Step::AnswerRequest(Reply::Ok));
    assert!(edge.client.session().is_authenticated());
    edge.run(Step::Call);
    assert_eq!(edge.sends.len(), 1);
    edge.run(Step::AnswerSend(0, Some(401), "AUTH_006"));
    assert_eq!(edge.requests.len(), 1, "one renewal requested");
    edge.run(Step::AnswerRequest(Reply::Ok));
    assert_eq!(edge.sends.len(), 1, "the call was sent again");
    assert_eq!(edge.sent.values().copied().max(), Some(2));
    edge.run(Step::AnswerSend(0, Some(200), ""));
    assert!(edge.settled.contains(&edge.next_caller));
}
