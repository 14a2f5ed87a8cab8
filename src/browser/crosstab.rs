//! The tabs of one app share one session (DESIGN rules 1 and 6): a `BroadcastChannel` for news
//! (new tokens, logout, "who holds a session?") and the Web Locks API for turns at renewing.
//! The channel is owned here (dropping it closes it); the lock calls are bound here and their
//! outcomes go to the driver.
use alloc::{string::String, vec::Vec};

use super::listener::EventListener;
use crate::core::crosstab::Message;
use crate::core::{AccessToken, RefreshToken, SharedSession};
use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

use super::js::{get, global, set};

impl Message {
    /// The structured-clone form posted on the channel.
    pub(crate) fn to_js(&self, from: f64) -> JsValue {
        let out: JsValue = Object::new().into();
        let put = |key: &str, value: JsValue| set(&out, key, &value);
        put("from", from.into());
        match self {
            Message::Session(s) => {
                put("type", "session".into());
                put("access", s.access_token.expose().into());
                if let Some(refresh) = &s.refresh_token {
                    put("refresh", refresh.expose().into());
                }
                put_version(&out, s.version);
                put("receivedAt", (s.received_at_ms as f64).into());
                if let Some(at) = s.expires_at_ms {
                    put("expiresAt", (at as f64).into());
                }
            }
            Message::Logout { version } => {
                put("type", "logout".into());
                put_version(&out, *version);
            }
            Message::Ask => put("type", "ask".into()),
            Message::Hello { .. } => put("type", "hello".into()),
            Message::Here { .. } => put("type", "here".into()),
            Message::Bye { .. } => put("type", "bye".into()),
            Message::Need { version } => {
                put("type", "need".into());
                put_version(&out, *version);
            }
        }
        out
    }

    /// Reads a posted message; `None` for anything malformed (it is ignored).
    pub(crate) fn from_js(data: &JsValue) -> Option<Message> {
        let text = |key| get(data, key).as_string();
        let number = |key| {
            get(data, key)
                .as_f64()
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        match text("type")?.as_str() {
            "session" => Some(Message::Session(SharedSession {
                access_token: Some(AccessToken::new(text("access")?))
                    .filter(AccessToken::is_header_safe)?,
                refresh_token: text("refresh").map(RefreshToken::new),
                version: version(data)?,
                received_at_ms: number("receivedAt")? as u64,
                expires_at_ms: number("expiresAt").map(|n| n as u64),
            })),
            "logout" => Some(Message::Logout {
                version: version(data)?,
            }),
            "ask" => Some(Message::Ask),
            "hello" => Some(Message::Hello {
                from: number("from")?,
            }),
            "here" => Some(Message::Here {
                from: number("from")?,
            }),
            "bye" => Some(Message::Bye {
                from: number("from")?,
            }),
            "need" => Some(Message::Need {
                version: version(data)?,
            }),
            _ => None,
        }
    }
}

/// A version as the channel carries it: two whole numbers below 2³², `lineage` and `counter`,
/// each exact in a JS number (a whole `u64` would not be).
fn put_version(out: &JsValue, version: u64) {
    set(out, "lineage", &((version >> 32) as f64).into());
    set(out, "counter", &((version & 0xFFFF_FFFF) as f64).into());
}

/// The version of a message; `None` unless both halves are whole numbers below 2³².
fn version(data: &JsValue) -> Option<u64> {
    let half = |key| {
        let n = get(data, key).as_f64()?;
        (n >= 0.0 && n <= f64::from(u32::MAX) && n == n as u32 as f64).then_some(n as u64)
    };
    Some(half("lineage")? << 32 | half("counter")?)
}

/// The channel of one API origin, and this tab's random id on it.
#[derive(Debug)]
pub(crate) struct Channel {
    channel: BroadcastChannel,
    _listener: EventListener,
    tab_id: f64,
}

impl Channel {
    /// Opens `name` and calls `on_message` for every well-formed message from other tabs.
    /// `None` where `BroadcastChannel` does not exist.
    pub(crate) fn open(
        name: &str,
        tab_id: f64,
        on_message: impl Fn(Message) + 'static,
    ) -> Option<Channel> {
        let channel = BroadcastChannel::new(name).ok()?;
        // Node.js: an open channel does not keep the process alive.
        super::js::unref(&channel);
        let listener = EventListener::new(&channel, "message", move |event| {
            let data = event.dyn_ref::<MessageEvent>().map(MessageEvent::data);
            if let Some(message) = data.as_ref().and_then(Message::from_js) {
                on_message(message);
            }
        });
        Some(Channel {
            channel,
            _listener: listener,
            tab_id,
        })
    }

    /// Posts to every other tab of this origin.
    pub(crate) fn post(&self, message: &Message) {
        let _ = self.channel.post_message(&message.to_js(self.tab_id));
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.channel.close();
    }
}

/// `navigator.locks`, or `undefined` where the Web Locks API is missing.
fn lock_manager() -> JsValue {
    get(&get(&global(), "navigator"), "locks")
}

fn method(manager: &JsValue, name: &str) -> Option<Function> {
    get(manager, name).dyn_into::<Function>().ok()
}

/// Whether the Web Locks API is available.
pub(crate) fn locks_available() -> bool {
    let manager = lock_manager();
    method(&manager, "request").is_some() && method(&manager, "query").is_some()
}

/// `navigator.locks.request(name, { mode }, granted)`: `granted` is called with the lock when
/// it is granted and returns the promise that holds it. The request's own promise (rejected
/// when the request fails); `None` without Web Locks.
pub(crate) fn request_lock(name: &str, shared: bool, granted: &Function) -> Option<Promise> {
    let manager = lock_manager();
    let options: JsValue = Object::new().into();
    let mode = if shared { "shared" } else { "exclusive" };
    set(&options, "mode", &JsValue::from_str(mode));
    method(&manager, "request")?
        .call3(&manager, &JsValue::from_str(name), &options, granted)
        .ok()?
        .dyn_into()
        .ok()
}

/// `navigator.locks.query()`; `None` without Web Locks.
pub(crate) fn query_locks() -> Option<Promise> {
    let manager = lock_manager();
    method(&manager, "query")?
        .call0(&manager)
        .ok()?
        .dyn_into()
        .ok()
}

/// The names of the held locks in a `query()` answer.
pub(crate) fn held_names(snapshot: &JsValue) -> Vec<String> {
    let held = get(snapshot, "held");
    if !Array::is_array(&held) {
        return Vec::new();
    }
    Array::from(&held)
        .iter()
        .filter_map(|lock| get(&lock, "name").as_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn messages_survive_the_round_trip_and_junk_is_ignored() {
        let session = SharedSession {
            access_token: AccessToken::new("a.b.c".into()),
            refresh_token: Some(RefreshToken::new("r".into())),
            version: (1_700_000_000 << 32) | 41,
            received_at_ms: 1_700_000_000_123,
            expires_at_ms: Some(1_700_000_065_123),
        };
        let js = Message::Session(session).to_js(0.25);
        match Message::from_js(&js) {
            Some(Message::Session(s)) => {
                assert_eq!(s.access_token.expose(), "a.b.c");
                assert_eq!(
                    s.refresh_token.as_ref().map(RefreshToken::expose),
                    Some("r")
                );
                assert_eq!(s.version, (1_700_000_000 << 32) | 41, "a whole u64, exact");
                assert_eq!(s.received_at_ms, 1_700_000_000_123);
                assert_eq!(s.expires_at_ms, Some(1_700_000_065_123));
            }
            other => panic!("{other:?}"),
        }
        let ended = u64::MAX;
        match Message::from_js(&Message::Logout { version: ended }.to_js(0.5)) {
            Some(Message::Logout { version }) => assert_eq!(version, ended),
            other => panic!("{other:?}"),
        }
        // A version half that is not a whole number below 2^32 makes the message junk.
        let forged = Message::Logout { version: 1 }.to_js(0.5);
        set(&forged, "counter", &JsValue::from(2f64.powi(40)));
        assert!(Message::from_js(&forged).is_none());
        match Message::from_js(&Message::Need { version: 7 }.to_js(0.5)) {
            Some(Message::Need { version: 7 }) => {}
            other => panic!("{other:?}"),
        }
        match Message::from_js(&Message::Hello { from: 0.5 }.to_js(0.5)) {
            Some(Message::Hello { from }) => assert_eq!(from, 0.5),
            other => panic!("{other:?}"),
        }
        for junk in [
            JsValue::NULL,
            JsValue::from_str("session"),
            Object::new().into(),
        ] {
            assert!(Message::from_js(&junk).is_none());
        }
        let no_token: JsValue = Object::new().into();
        set(&no_token, "type", &"session".into());
        set(&no_token, "receivedAt", &1.0.into());
        assert!(Message::from_js(&no_token).is_none());
    }
}
