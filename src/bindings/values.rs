//! JavaScript values to core values and back: the configuration object, JSON bodies, channel
//! messages, lock names, errors and event details. Each field name JavaScript sees is written
//! here once, for both directions.
use alloc::{string::String, vec::Vec};

use js_sys::{Array, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::answer::{self, Json, Leaf};
use crate::core::client::Event;
use crate::core::config::{Key, Value};
use crate::core::crosstab::Wire;
use crate::core::error::AuthError;
use crate::core::token::{AccessToken, RefreshToken};

#[wasm_bindgen]
extern "C" {
    /// `Object.keys(value)`, which a `Proxy` may refuse.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn own_keys(value: &JsValue) -> Result<Array, JsValue>;

    /// `Array.from(value)`, which a hostile iterable may refuse.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = from)]
    fn array_from(value: &JsValue) -> Result<Array, JsValue>;

    /// `JSON.parse(text)` of a JavaScript string: the text never enters the wasm memory.
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn parse_json(text: &JsValue) -> Result<JsValue, JsValue>;

    /// `atob(text)`: base64 to a binary string (pages, workers, Node.js).
    #[wasm_bindgen(catch, js_name = atob)]
    fn atob(text: &str) -> Result<JsValue, JsValue>;
}

/// `value[key]`, `undefined` when reading it throws.
fn get(value: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(value, &JsValue::from_str(key))
}

/// Sets `object[key]`; a fresh plain object or error never refuses.
fn set(object: &JsValue, key: &str, value: &JsValue) {
    // `Reflect.set` on an object this module just made cannot throw.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn text_or_undefined(text: Option<&str>) -> JsValue {
    text.map_or(JsValue::UNDEFINED, JsValue::from_str)
}

/// The configuration object as the core reads it.
pub(super) struct ReadConfig {
    pub(super) values: crate::core::config::keys::Values,
    pub(super) is_object: bool,
    pub(super) own_keys: Option<Vec<String>>,
    /// `fetch`, when it is a function.
    pub(super) fetch: JsValue,
}

/// Reads each configuration key of `config` once (from the prototype chain too, as property
/// access does), with its JavaScript type.
pub(super) fn read_config(config: &JsValue) -> ReadConfig {
    let is_object = config.is_object();
    let mut fetch = JsValue::UNDEFINED;
    let mut values = Key::ALL.map(|_| Value::Undefined);
    if is_object {
        for (slot, key) in values.iter_mut().zip(Key::ALL) {
            *slot = match get(config, key.name()) {
                Ok(value) => {
                    if key == Key::Fetch && value.is_function() {
                        fetch = value.clone();
                    }
                    classify(&value)
                }
                Err(_) => Value::Threw,
            };
        }
    }
    let own_keys = match is_object {
        true => own_keys(config).ok().map(|keys| texts_of(&keys)),
        false => None,
    };
    ReadConfig {
        values,
        is_object,
        own_keys,
        fetch,
    }
}

/// A configuration value's JavaScript type, with the value where the core reads it.
fn classify(value: &JsValue) -> Value {
    if value.is_undefined() {
        return Value::Undefined;
    }
    if value.is_null() {
        return Value::Null;
    }
    if let Some(text) = value.as_string() {
        return Value::Text(text);
    }
    if let Some(n) = value.as_f64() {
        return Value::Number(n);
    }
    if let Some(b) = value.as_bool() {
        return Value::Bool(b);
    }
    if value.is_function() {
        return Value::Function;
    }
    if Array::is_array(value) {
        let Ok(items) = array_from(value) else {
            return Value::Other;
        };
        let texts = texts_of(&items);
        return match texts.len() == items.length() as usize {
            true => Value::Texts(texts),
            false => Value::Array,
        };
    }
    Value::Other
}

/// The strings among `items`, in order.
fn texts_of(items: &Array) -> Vec<String> {
    let mut texts = Vec::new();
    for item in items.iter() {
        if let Some(text) = item.as_string() {
            texts.push(text);
        }
    }
    texts
}

/// A parsed JSON body, looked into by the core.
pub(super) struct JsJson(pub(super) JsValue);

impl JsJson {
    /// `JSON.parse` of `text`, a JavaScript string the core agrees to read
    /// ([`answer::parses_body`]); `None` for anything else, or text that is not JSON.
    pub(super) fn parse(text: &JsValue) -> Option<JsJson> {
        let text = text.dyn_ref::<JsString>()?;
        if !answer::parses_body(text.length() as usize) {
            return None;
        }
        parse_json(text).ok().map(JsJson)
    }

    /// A JWT payload in standard base64, decoded (`atob`) and parsed.
    pub(super) fn decode_base64(base64: &str) -> Option<JsJson> {
        let text = atob(base64).ok()?;
        parse_json(&text).ok().map(JsJson)
    }
}

impl Json for JsJson {
    fn at(&self, path: &[String]) -> Leaf {
        let mut value = self.0.clone();
        for segment in path {
            if !value.is_object() {
                return Leaf::Absent;
            }
            match get(&value, segment) {
                Ok(next) => value = next,
                Err(_) => return Leaf::Absent,
            }
        }
        if let Some(text) = value.as_string() {
            Leaf::Text(text)
        } else if let Some(n) = value.as_f64() {
            Leaf::Number(n)
        } else {
            Leaf::Absent
        }
    }
}

/// The names of the `held` locks of a `navigator.locks.query()` snapshot.
pub(super) fn held_lock_names(snapshot: &JsValue) -> Vec<String> {
    let held = get(snapshot, "held").unwrap_or_default();
    let mut names = Vec::new();
    if Array::is_array(&held) {
        for lock in Array::from(&held).iter() {
            if let Some(name) = get(&lock, "name").ok().and_then(|n| n.as_string()) {
                names.push(name);
            }
        }
    }
    names
}

/// A message's fields, each `None` unless of its type; nothing of a value that is not an
/// object.
pub(super) fn wire_of(data: &JsValue) -> Wire {
    if !data.is_object() {
        return Wire::default();
    }
    let text = |key| get(data, key).ok()?.as_string();
    let number = |key| get(data, key).ok()?.as_f64();
    Wire {
        kind: text("type"),
        access: text("access").map(AccessToken::new),
        refresh: text("refresh").map(RefreshToken::new),
        lineage: number("lineage"),
        counter: number("counter"),
        received_at: number("receivedAt"),
        expires_at: number("expiresAt"),
        from: number("from"),
    }
}

/// A message as a plain object with the fields it has.
pub(super) fn wire_to_js(wire: Wire) -> JsValue {
    let object: JsValue = Object::new().into();
    let text = |key, value: Option<&str>| {
        if let Some(value) = value {
            set(&object, key, &JsValue::from_str(value));
        }
    };
    text("type", wire.kind.as_deref());
    text("access", wire.access.as_ref().map(AccessToken::expose));
    text("refresh", wire.refresh.as_ref().map(RefreshToken::expose));
    let fields = [
        ("lineage", wire.lineage),
        ("counter", wire.counter),
        ("receivedAt", wire.received_at),
        ("expiresAt", wire.expires_at),
        ("from", wire.from),
    ];
    for (key, value) in fields {
        if let Some(n) = value {
            set(&object, key, &JsValue::from_f64(n));
        }
    }
    object
}

/// An [`AuthError`] as JavaScript sees it: an `Error` named `AuthError` with `code`, `status`,
/// `serverCode`, `serverMessage` (each `undefined` when absent), `key` for `invalid_config`, and
/// `details` when given.
pub(super) fn error(e: &AuthError, details: Option<&JsValue>) -> js_sys::Error {
    let error = js_sys::Error::new(&e.message);
    error.set_name("AuthError");
    set(&error, "code", &JsValue::from_str(e.code.as_str()));
    let status = e.status.map_or(JsValue::UNDEFINED, JsValue::from);
    set(&error, "status", &status);
    set(
        &error,
        "serverCode",
        &text_or_undefined(e.server_code.as_deref()),
    );
    set(
        &error,
        "serverMessage",
        &text_or_undefined(e.server_message.as_deref()),
    );
    if let Some(key) = &e.key {
        set(&error, "key", &JsValue::from_str(key));
    }
    if let Some(details) = details.filter(|d| !d.is_undefined()) {
        set(&error, "details", details);
    }
    error
}

/// An event's type and `detail`: `login` and `refresh` carry `expiresAt` (ms since the epoch,
/// `undefined` when unknown; `restored: true` for a session `restore()` resumed), `logout`
/// its `reason`, `error` the `AuthError`.
pub(super) fn event(event: Event, expires_at_ms: Option<u64>) -> (&'static str, JsValue) {
    let detail: JsValue = Object::new().into();
    let name = match event {
        Event::Login { restored } => {
            set(&detail, "expiresAt", &expires_at(expires_at_ms));
            if restored {
                set(&detail, "restored", &JsValue::TRUE);
            }
            "login"
        }
        Event::Refresh => {
            set(&detail, "expiresAt", &expires_at(expires_at_ms));
            "refresh"
        }
        Event::Logout(reason) => {
            set(&detail, "reason", &JsValue::from_str(reason.as_str()));
            "logout"
        }
        Event::Error(e) => return ("error", error(&e, None).into()),
    };
    (name, detail)
}

fn expires_at(ms: Option<u64>) -> JsValue {
    ms.map_or(JsValue::UNDEFINED, |ms| JsValue::from_f64(ms as f64))
}
