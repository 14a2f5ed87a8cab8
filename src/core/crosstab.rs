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

    #[test]
    fn the_lowest_id_leads() {
        assert!(leads(0.1, &[0.5, 0.9]));
        assert!(!leads(0.5, &[0.1, 0.9]));
        assert!(leads(0.5, &[]), "a tab alone leads");
    }
}
