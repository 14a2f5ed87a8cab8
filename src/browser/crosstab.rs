//! The tabs of one app share one session (DESIGN rules 1 and 6): a `BroadcastChannel` for news
//! (new tokens, logout, "who holds a session?") and the Web Locks API for turns at renewing.
//! Both are owned here; dropping a handle closes the channel or releases the lock.
use alloc::{string::String, vec::Vec};

use super::listener::EventListener;
use crate::core::{AccessToken, Credentials, RefreshToken, SharedSession};
use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BroadcastChannel, MessageEvent};

use super::js::{get, global, set};

/// What tabs tell each other.
#[derive(Debug)]
pub(crate) enum Message {
    /// A session, newer or repeated on request.
    Session(SharedSession),
    /// The session ended in the sending tab, for this reason.
    Logout,
    /// A tab without a session asks whether any tab holds one.
    Ask,
    /// A tab opened its channel (leader election without Web Locks).
    Hello { from: f64 },
    /// The answer to `Hello`: this tab is alive too.
    Here { from: f64 },
    /// A tab is closing its channel.
    Bye { from: f64 },
    /// A follower needs tokens newer than `version`: the leader renews (without Web Locks).
    Need { version: u64 },
}

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
                if let Some(credentials) = &s.credentials {
                    put("credentials", credentials.expose().into());
                }
                put("receivedAt", (s.received_at_ms as f64).into());
                if let Some(at) = s.expires_at_ms {
                    put("expiresAt", (at as f64).into());
                }
            }
            Message::Logout => put("type", "logout".into()),
            Message::Ask => put("type", "ask".into()),
            Message::Hello { .. } => put("type", "hello".into()),
            Message::Here { .. } => put("type", "here".into()),
            Message::Bye { .. } => put("type", "bye".into()),
            Message::Need { version } => {
                put("type", "need".into());
                put("version", (*version as f64).into());
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
                access_token: AccessToken::new(text("access").filter(|s| !s.is_empty())?),
                refresh_token: text("refresh").map(RefreshToken::new),
                credentials: text("credentials").map(Credentials::new),
                received_at_ms: number("receivedAt")? as u64,
                expires_at_ms: number("expiresAt").map(|n| n as u64),
            })),
            "logout" => Some(Message::Logout),
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
                version: number("version")? as u64,
            }),
            _ => None,
        }
    }
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
    pub(crate) fn open(name: &str, on_message: impl Fn(Message) + 'static) -> Option<Channel> {
        let channel = BroadcastChannel::new(name).ok()?;
        let listener = EventListener::new(&channel, "message", move |event| {
            let data = event.dyn_ref::<MessageEvent>().map(MessageEvent::data);
            if let Some(message) = data.as_ref().and_then(Message::from_js) {
                on_message(message);
            }
        });
        Some(Channel {
            channel,
            _listener: listener,
            tab_id: js_sys::Math::random(),
        })
    }

    /// This tab's id, a random number in `[0, 1)`.
    pub(crate) fn tab_id(&self) -> f64 {
        self.tab_id
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

/// `navigator.locks`, when the browser has it.
#[derive(Debug)]
pub(crate) struct Locks {
    manager: JsValue,
    request: Function,
    query: Function,
    /// Swallows the rejection of a lock request whose holder went away, so it is not reported
    /// as an unhandled rejection.
    ignore: Closure<dyn FnMut(JsValue)>,
}

impl Locks {
    /// The lock manager, or `None` where the Web Locks API is missing.
    pub(crate) fn available() -> Option<Locks> {
        let manager = get(&get(&global(), "navigator"), "locks");
        let request = get(&manager, "request").dyn_into::<Function>().ok()?;
        let query = get(&manager, "query").dyn_into::<Function>().ok()?;
        Some(Locks {
            manager,
            request,
            query,
            ignore: Closure::new(|_| {}),
        })
    }

    /// Waits for the lock `name` (exclusive, or shared) and holds it until the handle drops.
    pub(crate) async fn acquire(&self, name: &str, shared: bool) -> Result<HeldLock, JsValue> {
        let mut release = None;
        let hold = Promise::new(&mut |resolve, _| release = Some(resolve));
        let mut granted = None;
        let on_grant_promise = Promise::new(&mut |resolve, _| granted = Some(resolve));
        // `Promise::new` runs its executor synchronously: both are set.
        let (Some(release), Some(granted)) = (release, granted) else {
            return Err(JsValue::UNDEFINED);
        };
        let hold: JsValue = hold.into();
        let on_grant = Closure::once(move |_lock: JsValue| -> JsValue {
            let _ = granted.call0(&JsValue::UNDEFINED);
            hold
        });
        let options: JsValue = Object::new().into();
        set(
            &options,
            "mode",
            &JsValue::from_str(if shared { "shared" } else { "exclusive" }),
        );
        let requested: Promise = self
            .request
            .call3(
                &self.manager,
                &JsValue::from_str(name),
                &options,
                on_grant.as_ref(),
            )?
            .dyn_into()?;
        let _ = requested.catch(&self.ignore);
        JsFuture::from(on_grant_promise).await?;
        Ok(HeldLock {
            release,
            _on_grant: on_grant,
        })
    }

    /// The names of every lock held now, by any tab.
    pub(crate) async fn held_names(&self) -> Vec<String> {
        let snapshot = match self
            .query
            .call0(&self.manager)
            .and_then(|p| p.dyn_into::<Promise>())
        {
            Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::UNDEFINED),
            Err(_) => return Vec::new(),
        };
        let held = get(&snapshot, "held");
        if !Array::is_array(&held) {
            return Vec::new();
        }
        Array::from(&held)
            .iter()
            .filter_map(|lock| get(&lock, "name").as_string())
            .collect()
    }
}

/// A granted Web Lock; released when dropped.
#[derive(Debug)]
pub(crate) struct HeldLock {
    release: Function,
    _on_grant: Closure<dyn FnMut(JsValue) -> JsValue>,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}

/// A promise that resolves with `"timeout"` after `ms` (the page's `setTimeout`).
pub(crate) fn sleep(ms: u32) -> Promise {
    Promise::new(&mut |resolve, _| {
        if let Ok(set_timeout) = get(&global(), "setTimeout").dyn_into::<Function>() {
            let _ = set_timeout.call3(
                &JsValue::NULL,
                &resolve,
                &ms.into(),
                &JsValue::from_str("timeout"),
            );
        }
    })
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
            credentials: None,
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
                assert_eq!(s.received_at_ms, 1_700_000_000_123);
                assert_eq!(s.expires_at_ms, Some(1_700_000_065_123));
            }
            other => panic!("{other:?}"),
        }
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

    #[wasm_bindgen_test]
    async fn an_exclusive_lock_is_one_holder_at_a_time_and_drop_releases_it() {
        let locks = Locks::available().expect("Chromium has the Web Locks API");
        let first = locks.acquire("authfetch-test-lock", false).await.unwrap();
        assert!(locks
            .held_names()
            .await
            .iter()
            .any(|n| n == "authfetch-test-lock"));
        // A second request waits until the first is dropped.
        let second = wasm_bindgen_futures::future_to_promise(async move {
            let locks = Locks::available().unwrap();
            let _held = locks.acquire("authfetch-test-lock", false).await?;
            Ok(JsValue::from_str("granted"))
        });
        let raced = Promise::race(&Array::of2(&second, &sleep(50)));
        assert_eq!(
            JsFuture::from(raced).await.unwrap().as_string().as_deref(),
            Some("timeout")
        );
        drop(first);
        assert_eq!(
            JsFuture::from(second).await.unwrap().as_string().as_deref(),
            Some("granted")
        );
    }
}
