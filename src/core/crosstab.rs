//! One session across the tabs of an app (DESIGN rules 1 and 6): names and decisions.
//!
//! Tabs talk over a `BroadcastChannel` (in memory, same origin only) and serialize renewals
//! with the Web Locks API. Tokens travel with the instant they arrived (so every tab computes
//! the same expiry and refresh deadline) and with their **version**
//! ([`Session::version`](super::Session::version)): a login's lineage and a counter of the
//! renewals since, never a wall-clock time. A logout is a version too — the end of its lineage —
//! so a tab that missed it (asleep in the back/forward cache) learns of it when it asks, and its
//! late renewal is never adopted by the tabs that logged out. Messages are untrusted input:
//! checked for shape, versions exact and bounded.
//!
//! Why version markers: a tab that took the refresh lock cannot know whether the broadcast of
//! the previous holder's new tokens is still on its way — the channel and the lock manager are
//! not ordered with each other. So every tab holds a *shared* lock named after the version it
//! holds, taken before the refresh lock is released; the lock manager's state is consistent,
//! and a newer marker proves a renewal already happened.
use alloc::string::String;

use super::decimal;
use super::session::SharedSession;
use super::token::{AccessToken, RefreshToken};

/// What tabs tell each other over the channel (DESIGN rules 1, 6 and 11).
#[derive(Debug)]
pub enum Message {
    /// A session, newer or repeated on request.
    Session(SharedSession),
    /// The session ended in the sending tab, at this version (the end of its lineage): it ends
    /// the sessions of that lineage or an older one.
    Logout {
        /// The version of the ending.
        version: u64,
    },
    /// A tab without a session asks whether any tab holds one.
    Ask,
    /// A tab opened its channel (leader election without Web Locks).
    Hello {
        /// The sender's tab id.
        from: f64,
    },
    /// The answer to `Hello`: this tab is alive too.
    Here {
        /// The sender's tab id.
        from: f64,
    },
    /// A tab is closing its channel.
    Bye {
        /// The sender's tab id.
        from: f64,
    },
    /// A follower needs tokens newer than `version`: the leader renews (without Web Locks).
    Need {
        /// The version the follower holds.
        version: u64,
    },
}

/// The `type` of each message on the wire.
const TYPES: [&str; 7] = ["session", "logout", "ask", "hello", "here", "bye", "need"];

/// A message as it travels on the channel: one plain object with these fields, which the
/// binding layer converts to and from JavaScript (`type`, `access`, `refresh`, `lineage`,
/// `counter`, `receivedAt`, `expiresAt`, `from`). Read from another tab, each field is `None`
/// when absent or of another JavaScript type; nothing in it is trusted until
/// [`Message::from_wire`] says so (DESIGN rule 11).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wire {
    /// `type`: one of `session`, `logout`, `ask`, `hello`, `here`, `bye`, `need`.
    pub kind: Option<String>,
    /// `access`: the access token (`session`).
    pub access: Option<AccessToken>,
    /// `refresh`: the refresh token, if any (`session`).
    pub refresh: Option<RefreshToken>,
    /// `lineage`: the high half of a version, a whole number below 2³² (`session`, `logout`,
    /// `need`).
    pub lineage: Option<f64>,
    /// `counter`: the low half of the version, a whole number below 2³².
    pub counter: Option<f64>,
    /// `receivedAt`: when the access token arrived, ms since the epoch (`session`).
    pub received_at: Option<f64>,
    /// `expiresAt`: when it expires, ms since the epoch, if known (`session`).
    pub expires_at: Option<f64>,
    /// `from`: the sender's tab id, a random number in `[0, 1)` (every message).
    pub from: Option<f64>,
}

/// Why a message from another tab was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl Message {
    /// A message from another tab, checked for shape (DESIGN rule 11): a known `type`; an
    /// access token a header can carry; versions whole and below 2³² in each half; times and
    /// tab ids finite and not negative. The sender's own tab id is not needed by every type
    /// and is then ignored.
    pub fn from_wire(wire: Wire) -> Result<Message, Malformed> {
        let time = |n: Option<f64>| n.filter(|n| n.is_finite() && *n >= 0.0);
        // A version half: a whole number below 2³².
        let half = |n: Option<f64>| {
            n.filter(|n| *n >= 0.0 && *n <= f64::from(u32::MAX) && *n == *n as u32 as f64)
                .map(|n| n as u64)
        };
        let version = half(wire.lineage)
            .zip(half(wire.counter))
            .map(|(l, c)| l << 32 | c)
            .ok_or(Malformed("version"));
        let from = time(wire.from).ok_or(Malformed("from"));
        let kind = wire.kind.as_deref().unwrap_or_default();
        Ok(match TYPES.iter().position(|t| *t == kind) {
            Some(0) => Message::Session(SharedSession {
                access_token: wire
                    .access
                    .filter(AccessToken::is_header_safe)
                    .ok_or(Malformed("access"))?,
                refresh_token: wire.refresh,
                version: version?,
                received_at_ms: time(wire.received_at).ok_or(Malformed("receivedAt"))? as u64,
                expires_at_ms: time(wire.expires_at).map(|n| n as u64),
            }),
            Some(1) => Message::Logout { version: version? },
            Some(2) => Message::Ask,
            Some(3) => Message::Hello { from: from? },
            Some(4) => Message::Here { from: from? },
            Some(5) => Message::Bye { from: from? },
            Some(6) => Message::Need { version: version? },
            _ => return Err(Malformed("type")),
        })
    }

    /// This message as it travels, sent by the tab `from`.
    pub fn into_wire(self, from: f64) -> Wire {
        let split = |version: u64| {
            (
                Some((version >> 32) as f64),
                Some((version & 0xFFFF_FFFF) as f64),
            )
        };
        let mut wire = Wire {
            from: Some(from),
            ..Wire::default()
        };
        let kind = match self {
            Message::Session(s) => {
                (wire.lineage, wire.counter) = split(s.version);
                wire.received_at = Some(s.received_at_ms as f64);
                wire.expires_at = s.expires_at_ms.map(|n| n as f64);
                wire.access = Some(s.access_token);
                wire.refresh = s.refresh_token;
                0
            }
            Message::Logout { version } => {
                (wire.lineage, wire.counter) = split(version);
                1
            }
            Message::Ask => 2,
            Message::Hello { .. } => 3,
            Message::Here { .. } => 4,
            Message::Bye { .. } => 5,
            Message::Need { version } => {
                (wire.lineage, wire.counter) = split(version);
                6
            }
        };
        wire.kind = Some(String::from(TYPES[kind]));
        wire
    }
}

/// The `BroadcastChannel` name for an API origin.
pub fn channel_name(api_origin: &str) -> String {
    join(&["authfetch:", api_origin])
}

/// The exclusive Web Lock held while renewing.
pub fn refresh_lock_name(api_origin: &str) -> String {
    join(&["authfetch:", api_origin, ":refresh"])
}

/// The version marker lock's name: the shared Web Lock held by every tab that holds tokens of the
/// cross-tab `version`, so that a tab that wins the refresh lock can see a newer session exists.
pub fn version_marker_name(api_origin: &str, version: u64) -> String {
    let mut name = join(&["authfetch:", api_origin, ":v:"]);
    decimal::push(&mut name, version);
    name
}

/// The newest version among held lock names, as `navigator.locks.query()` lists them.
pub fn newest_marker<'a>(api_origin: &str, held: impl IntoIterator<Item = &'a str>) -> Option<u64> {
    let prefix = join(&["authfetch:", api_origin, ":v:"]);
    let mut newest = None;
    for name in held {
        let version = name.strip_prefix(prefix.as_str()).and_then(decimal::parse);
        if version > newest {
            newest = version;
        }
    }
    newest
}

/// What a tab that just acquired the refresh lock should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterLock {
    /// The tokens changed while it waited (another tab's broadcast arrived): nothing to do.
    AlreadyRenewed,
    /// Another tab renewed to this version, but its broadcast has not arrived yet: wait for it.
    AwaitVersion(u64),
    /// Nobody renewed: renew now, presenting the refresh token this tab holds.
    Renew,
}

/// Decides after acquiring the refresh lock. `before` is the version the tab held when it
/// decided to renew, `now` the version it holds now, `newest_marker` the newest version marker
/// any tab holds.
pub fn after_lock(before: Option<u64>, now: Option<u64>, newest_marker: Option<u64>) -> AfterLock {
    if now > before {
        return AfterLock::AlreadyRenewed;
    }
    match newest_marker {
        Some(marker) if Some(marker) > now => AfterLock::AwaitVersion(marker),
        _ => AfterLock::Renew,
    }
}

/// Without Web Locks: the tabs elect a leader over the channel — each announces a random id,
/// the lowest id among the live tabs leads, and only the leader renews; the others ask it and
/// adopt its broadcast. `mine` is this tab's id, `peers` the ids of the other live tabs.
pub fn leads(mine: f64, peers: &[f64]) -> bool {
    peers.iter().all(|other| mine < *other)
}

fn join(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const O: &str = "https://api.example.com";

    #[test]
    fn names_are_per_origin() {
        assert_eq!(channel_name(O), "authfetch:https://api.example.com");
        assert_eq!(
            refresh_lock_name(O),
            "authfetch:https://api.example.com:refresh"
        );
        assert_eq!(
            version_marker_name(O, 17),
            "authfetch:https://api.example.com:v:17"
        );
        assert_ne!(channel_name(O), channel_name("https://other.example.com"));
    }

    #[test]
    fn newest_marker_reads_only_this_origins_markers() {
        let held = [
            "authfetch:https://api.example.com:v:100",
            "authfetch:https://api.example.com:v:250",
            "authfetch:https://api.example.com:refresh",
            "authfetch:https://other.example.com:v:999",
            "unrelated",
        ];
        assert_eq!(newest_marker(O, held), Some(250));
        assert_eq!(
            newest_marker(O, ["authfetch:https://api.example.com:v:x"]),
            None
        );
        assert_eq!(newest_marker(O, []), None);
    }

    #[test]
    fn after_the_lock_a_tab_renews_only_when_nobody_did() {
        // The broadcast arrived while waiting for the lock.
        assert_eq!(
            after_lock(Some(100), Some(200), Some(200)),
            AfterLock::AlreadyRenewed
        );
        // Another tab renewed, its broadcast is still on its way: wait, never present the
        // refresh token it already used.
        assert_eq!(
            after_lock(Some(100), Some(100), Some(200)),
            AfterLock::AwaitVersion(200)
        );
        // Nobody renewed: the markers are at our own version (or none are left).
        assert_eq!(
            after_lock(Some(100), Some(100), Some(100)),
            AfterLock::Renew
        );
        assert_eq!(after_lock(Some(100), Some(100), None), AfterLock::Renew);
        // A tab with no session yet (restore in cookie mode) and a live session elsewhere.
        assert_eq!(after_lock(None, None, Some(5)), AfterLock::AwaitVersion(5));
    }

    fn session_wire() -> Wire {
        Wire {
            kind: Some("session".into()),
            access: Some(AccessToken::new("a.b.c".into())),
            refresh: Some(RefreshToken::new("r".into())),
            lineage: Some(1_700_000_000.0),
            counter: Some(3.0),
            received_at: Some(1_700_000_000_000.0),
            expires_at: Some(1_700_000_060_000.0),
            from: Some(0.25),
        }
    }

    #[test]
    fn every_message_travels_and_comes_back_the_same() {
        let messages = [
            Message::from_wire(session_wire()).unwrap(),
            Message::Logout {
                version: 7 << 32 | 0xFFFF_FFFF,
            },
            Message::Ask,
            Message::Hello { from: 0.5 },
            Message::Here { from: 0.5 },
            Message::Bye { from: 0.5 },
            Message::Need {
                version: 9 << 32 | 1,
            },
        ];
        for message in messages {
            let printed = alloc::format!("{message:?}");
            let back = Message::from_wire(message.into_wire(0.5)).unwrap();
            assert_eq!(alloc::format!("{back:?}"), printed);
        }
        let wire = Message::from_wire(session_wire()).unwrap().into_wire(0.25);
        assert_eq!(wire.access.as_ref().map(AccessToken::expose), Some("a.b.c"));
        assert_eq!(wire.lineage, Some(1_700_000_000.0));
        assert_eq!(wire.counter, Some(3.0));
    }

    #[test]
    fn malformed_messages_are_refused_naming_the_field() {
        let refused = |change: fn(&mut Wire)| {
            let mut wire = session_wire();
            change(&mut wire);
            Message::from_wire(wire).err()
        };
        assert_eq!(
            refused(|w| w.kind = Some("sessions".into())),
            Some(Malformed("type"))
        );
        assert_eq!(refused(|w| w.kind = None), Some(Malformed("type")));
        assert_eq!(refused(|w| w.access = None), Some(Malformed("access")));
        let unsafe_token = |w: &mut Wire| w.access = Some(AccessToken::new("a\r\nX: 1".into()));
        assert_eq!(refused(unsafe_token), Some(Malformed("access")));
        // Versions no message can pin: not whole, negative, at or over 2³² in a half.
        assert_eq!(
            refused(|w| w.counter = Some(1.5)),
            Some(Malformed("version"))
        );
        assert_eq!(
            refused(|w| w.lineage = Some(-1.0)),
            Some(Malformed("version"))
        );
        assert_eq!(
            refused(|w| w.lineage = Some(4_294_967_296.0)),
            Some(Malformed("version"))
        );
        assert_eq!(
            refused(|w| w.counter = Some(f64::NAN)),
            Some(Malformed("version"))
        );
        assert_eq!(
            refused(|w| w.received_at = Some(f64::INFINITY)),
            Some(Malformed("receivedAt"))
        );
        // A negative expiry is no expiry, not a refusal.
        let Ok(Message::Session(s)) = Message::from_wire(Wire {
            expires_at: Some(-5.0),
            ..session_wire()
        }) else {
            panic!("refused");
        };
        assert_eq!(s.expires_at_ms, None);
        let hello = Wire {
            kind: Some("hello".into()),
            from: Some(-0.5),
            ..Wire::default()
        };
        assert_eq!(Message::from_wire(hello).err(), Some(Malformed("from")));
    }

    #[test]
    fn the_lowest_id_leads() {
        assert!(leads(0.1, &[0.5, 0.9]));
        assert!(!leads(0.5, &[0.1, 0.9]));
        assert!(leads(0.5, &[]), "a tab alone leads");
    }
}
