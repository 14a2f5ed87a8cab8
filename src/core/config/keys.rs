//! Reading `new AuthClient(config)`: the keys, the JavaScript types each accepts, and the order
//! in which the refusals come (the edge's `edge.test.mjs` "configuration errors … in the order
//! the keys are read" checks that order in every engine).
//!
//! The binding layer reads each [`Key`] of the JavaScript object once and classifies its value
//! as a [`Value`]; [`read`] does everything else: which types a key accepts, unknown keys, the
//! defaults that depend on where the client runs ([`Environment`]), then [`Config::parse`]'s
//! checks of the values.
use alloc::{string::String, vec::Vec};

use super::{Config, RawConfig, Setting};
use crate::core::error::AuthError;
use core::slice;

/// One key of the JavaScript configuration object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// `baseUrl`.
    BaseUrl,
    /// `loginPath`.
    LoginPath,
    /// `refreshPath`.
    RefreshPath,
    /// `refreshMethod`.
    RefreshMethod,
    /// `refreshCredential`.
    RefreshCredential,
    /// `refreshBodyField`.
    RefreshBodyField,
    /// `logoutPath`.
    LogoutPath,
    /// `accessTokenPath`.
    AccessTokenPath,
    /// `refreshTokenPath`.
    RefreshTokenPath,
    /// `expiresInPath`.
    ExpiresInPath,
    /// `errorCodePath`.
    ErrorCodePath,
    /// `expiredErrorCodes`.
    ExpiredErrorCodes,
    /// `refreshLeadSeconds`.
    RefreshLeadSeconds,
    /// `maxRetries`.
    MaxRetries,
    /// `allowedOrigins`.
    AllowedOrigins,
    /// `loginUrl`.
    LoginUrl,
    /// `idleTimeoutSeconds`.
    IdleTimeoutSeconds,
    /// `crossTab`.
    CrossTab,
    /// `fetch`: the function requests are sent with. Checked here, used by the JavaScript edge.
    Fetch,
}

/// What JavaScript type a key takes (besides `undefined` and `null`, which mean "the default").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expects {
    Text,
    Number,
    Boolean,
    /// An array of strings.
    Texts,
    /// A dot path, or an array of them tried in order.
    Paths,
    Function,
}

impl Key {
    /// Every key, in the order the configuration is read.
    pub const ALL: [Key; 19] = [
        Key::BaseUrl,
        Key::LoginPath,
        Key::RefreshPath,
        Key::RefreshMethod,
        Key::RefreshCredential,
        Key::RefreshBodyField,
        Key::LogoutPath,
        Key::AccessTokenPath,
        Key::RefreshTokenPath,
        Key::ExpiresInPath,
        Key::ErrorCodePath,
        Key::ExpiredErrorCodes,
        Key::RefreshLeadSeconds,
        Key::MaxRetries,
        Key::AllowedOrigins,
        Key::LoginUrl,
        Key::IdleTimeoutSeconds,
        Key::CrossTab,
        Key::Fetch,
    ];

    /// The key as JavaScript spells it (camelCase).
    pub fn name(self) -> &'static str {
        match self {
            Key::BaseUrl => "baseUrl",
            Key::LoginPath => "loginPath",
            Key::RefreshPath => "refreshPath",
            Key::RefreshMethod => "refreshMethod",
            Key::RefreshCredential => "refreshCredential",
            Key::RefreshBodyField => "refreshBodyField",
            Key::LogoutPath => "logoutPath",
            Key::AccessTokenPath => "accessTokenPath",
            Key::RefreshTokenPath => "refreshTokenPath",
            Key::ExpiresInPath => "expiresInPath",
            Key::ErrorCodePath => "errorCodePath",
            Key::ExpiredErrorCodes => "expiredErrorCodes",
            Key::RefreshLeadSeconds => "refreshLeadSeconds",
            Key::MaxRetries => "maxRetries",
            Key::AllowedOrigins => "allowedOrigins",
            Key::LoginUrl => "loginUrl",
            Key::IdleTimeoutSeconds => "idleTimeoutSeconds",
            Key::CrossTab => "crossTab",
            Key::Fetch => "fetch",
        }
    }

    /// The key named `name`, if there is one.
    pub fn named(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }

    fn expects(self) -> Expects {
        match self {
            Key::BaseUrl
            | Key::LoginPath
            | Key::RefreshPath
            | Key::RefreshMethod
            | Key::RefreshCredential
            | Key::RefreshBodyField
            | Key::LogoutPath
            | Key::ErrorCodePath
            | Key::LoginUrl => Expects::Text,
            Key::AccessTokenPath | Key::RefreshTokenPath | Key::ExpiresInPath => Expects::Paths,
            Key::ExpiredErrorCodes | Key::AllowedOrigins => Expects::Texts,
            Key::RefreshLeadSeconds | Key::MaxRetries | Key::IdleTimeoutSeconds => Expects::Number,
            Key::CrossTab => Expects::Boolean,
            Key::Fetch => Expects::Function,
        }
    }

    /// Whether `value` is of a type this key takes (`undefined` and `null` always are).
    fn accepts(self, value: &Value) -> bool {
        matches!(
            (self.expects(), value),
            (_, Value::Undefined | Value::Null)
                | (Expects::Text | Expects::Paths, Value::Text(_))
                | (Expects::Texts | Expects::Paths, Value::Texts(_))
                | (Expects::Number, Value::Number(_))
                | (Expects::Boolean, Value::Bool(_))
                | (Expects::Function, Value::Function)
        )
    }

    /// The refusal of a value of the wrong type.
    fn wrong_type(self) -> AuthError {
        let why = match self.expects() {
            Expects::Text => "must be a string",
            Expects::Number => "must be a number",
            Expects::Boolean => "must be true or false",
            Expects::Texts | Expects::Paths => "must be an array of strings",
            Expects::Function => "must be a function",
        };
        AuthError::invalid_config(self.name(), why)
    }
}

/// A configuration value as the binding layer found it: its JavaScript type, and the value
/// where the core needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `undefined` (or the key is absent): the default.
    Undefined,
    /// `null`: the default, or "off" for `loginUrl` and `idleTimeoutSeconds`.
    Null,
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// An array whose elements are all strings.
    Texts(Vec<String>),
    /// Any other array.
    Array,
    /// A function.
    Function,
    /// Anything else (an object, a symbol, a bigint).
    Other,
    /// Reading the key threw (a getter, a `Proxy` trap): a wrong value of that key.
    Threw,
}

/// Where the client runs, as the JavaScript edge sees it when the client is made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// `location.origin`, where there is a location (a page or a worker); `None` in Node.js.
    pub origin: Option<String>,
    /// A `document` exists: a page, where tabs share a session (`crossTab` defaults to `true`).
    pub document: bool,
    /// A global `fetch` function exists.
    pub global_fetch: bool,
}

/// The values of [`Key::ALL`], in that order, as the binding layer read them.
pub type Values = [Value; Key::ALL.len()];

/// `new AuthClient(config)`, read (DESIGN's configuration table).
///
/// `is_object`: `config` is an object (else every value is `undefined`). `own_keys`: the
/// object's own enumerable keys (`Object.keys`), or `None` when listing them threw (a `Proxy`):
/// its unknown keys then go unnoticed. `resolve`: the browser's URL parser, resolving `baseUrl`
/// against the location (or alone without one) to an absolute URL; `None` when it refuses.
///
/// The refusals, all `invalid_config`, come in this order: `fetch` of the wrong type; no
/// `fetch` at all (none given, and no global one); `config` not an object; the first unknown
/// key (a typo such as `refreshpath`); `baseUrl` of the wrong type, then not a URL (without a
/// location — Node.js — it must be given, absolute); every other key of the wrong type, in
/// [`Key::ALL`] order; then [`Config::parse`]'s checks of the values.
pub fn read(
    values: Values,
    is_object: bool,
    own_keys: Option<&[String]>,
    env: &Environment,
    resolve: impl FnOnce(&str) -> Option<String>,
) -> Result<Config, AuthError> {
    let value = |key: Key| &values[key as usize];
    if !Key::Fetch.accepts(value(Key::Fetch)) {
        return Err(Key::Fetch.wrong_type());
    }
    if !env.global_fetch && *value(Key::Fetch) != Value::Function {
        return Err(AuthError::invalid_config(
            "config",
            "this environment has no fetch",
        ));
    }
    if !is_object {
        return Err(AuthError::invalid_config("config", "must be an object"));
    }
    for key in own_keys.unwrap_or_default() {
        if Key::named(key).is_none() {
            return Err(AuthError::invalid_config(
                key,
                "is not a configuration key (check its spelling)",
            ));
        }
    }
    let no_location = || {
        AuthError::invalid_config(
            "baseUrl",
            "must be an absolute URL where there is no page (Node.js)",
        )
    };
    let base_url = match (value(Key::BaseUrl), &env.origin) {
        (Value::Text(base), Some(_)) => {
            resolve(base).ok_or_else(|| AuthError::invalid_config("baseUrl", "must be a URL"))?
        }
        (Value::Text(base), None) => resolve(base).ok_or_else(no_location)?,
        (Value::Undefined | Value::Null, Some(origin)) => origin.clone(),
        (Value::Undefined | Value::Null, None) => return Err(no_location()),
        (_, _) => return Err(Key::BaseUrl.wrong_type()),
    };
    for key in Key::ALL {
        if !key.accepts(value(key)) {
            return Err(key.wrong_type());
        }
    }
    let mut values = values;
    // Without a document (Node.js, workers) there are no tabs: each client keeps to itself
    // unless told otherwise.
    let cross_tab = &mut values[Key::CrossTab as usize];
    if !env.document && cross_tab.flag().is_none() {
        *cross_tab = Value::Bool(false);
    }
    Config::from_values(&values, &base_url)
}

impl Value {
    /// A string.
    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// A list of strings; a string alone is a list of one (a dot path on its own).
    pub(super) fn list(&self) -> Option<&[String]> {
        match self {
            Value::Text(one) => Some(slice::from_ref(one)),
            Value::Texts(list) => Some(list),
            _ => None,
        }
    }

    /// A number.
    pub(super) fn number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// A boolean.
    pub(super) fn flag(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl RawConfig {
    /// The configuration as the values [`read`] would have read from JavaScript: each given
    /// field its value, `null` for a [`Setting::Off`], `undefined` for the rest.
    pub(super) fn into_values(self) -> Values {
        let text = |v: Option<String>| v.map_or(Value::Undefined, Value::Text);
        let texts = |v: Option<Vec<String>>| v.map_or(Value::Undefined, Value::Texts);
        let number = |v: Option<f64>| v.map_or(Value::Undefined, Value::Number);
        let setting = |v: Setting<Value>| match v {
            Setting::Default => Value::Undefined,
            Setting::Off => Value::Null,
            Setting::To(value) => value,
        };
        let login_url = match self.login_url {
            Setting::To(url) => Setting::To(Value::Text(url)),
            Setting::Off => Setting::Off,
            Setting::Default => Setting::Default,
        };
        let idle = match self.idle_timeout_seconds {
            Setting::To(s) => Setting::To(Value::Number(s)),
            Setting::Off => Setting::Off,
            Setting::Default => Setting::Default,
        };
        [
            text(self.base_url),
            text(self.login_path),
            text(self.refresh_path),
            text(self.refresh_method),
            text(self.refresh_credential),
            text(self.refresh_body_field),
            text(self.logout_path),
            texts(self.access_token_path),
            texts(self.refresh_token_path),
            texts(self.expires_in_path),
            text(self.error_code_path),
            texts(self.expired_error_codes),
            number(self.refresh_lead_seconds),
            number(self.max_retries),
            texts(self.allowed_origins),
            setting(login_url),
            setting(idle),
            self.cross_tab.map_or(Value::Undefined, Value::Bool),
            Value::Undefined,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::borrow::ToOwned;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const API: &str = "http://127.0.0.1:8080";

    fn page() -> Environment {
        Environment {
            origin: Some(API.into()),
            document: true,
            global_fetch: true,
        }
    }

    fn values(given: &[(Key, Value)]) -> Values {
        let mut values = Key::ALL.map(|_| Value::Undefined);
        for (key, value) in given {
            values[*key as usize] = value.clone();
        }
        values
    }

    fn with_login(more: &[(Key, Value)]) -> Values {
        let mut given = vec![(Key::LoginPath, Value::Text("/login".into()))];
        given.extend_from_slice(more);
        values(&given)
    }

    /// The key an `invalid_config` refusal names, or "no error".
    fn key_of(values: Values, own: &[&str], env: &Environment) -> String {
        let own: Vec<String> = own.iter().map(|k| (*k).to_owned()).collect();
        match read(values, true, Some(&own), env, |base| {
            crate::core::Origin::of_url(base)
                .ok()
                .map(|_| base.to_owned())
        }) {
            Ok(_) => "no error".into(),
            Err(e) => e.key.unwrap_or_default(),
        }
    }

    #[test]
    fn every_key_is_in_its_place_and_named_once() {
        for (i, key) in Key::ALL.into_iter().enumerate() {
            assert_eq!(key as usize, i, "{key:?} is out of place in Key::ALL");
            assert_eq!(Key::named(key.name()), Some(key));
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_naming_its_key_in_reading_order() {
        let env = page();
        for key in Key::ALL {
            let wrong = match key.expects() {
                Expects::Function | Expects::Boolean => Value::Text("x".into()),
                _ => Value::Function,
            };
            let mut given = vec![(key, wrong), (Key::Fetch, Value::Function)];
            if key == Key::Fetch {
                given.pop();
            }
            // A later key of the wrong type too: the earlier one is named.
            given.push((Key::CrossTab, Value::Number(1.0)));
            let named = key_of(values(&given), &[], &env);
            assert_eq!(named, key.name());
            // A getter that threw is a wrong value of its key.
            let threw = key_of(values(&[(key, Value::Threw)]), &[], &env);
            assert_eq!(threw, key.name());
        }
    }

    #[test]
    fn fetch_and_the_object_come_first_then_unknown_keys_then_values() {
        let env = page();
        // `fetch` of the wrong type before an unknown key.
        let bad_fetch = with_login(&[(Key::Fetch, Value::Number(1.0))]);
        assert_eq!(key_of(bad_fetch, &["typo"], &env), "fetch");
        // An unknown key before a wrong value of a known one.
        let bad_login = values(&[(Key::LoginPath, Value::Number(3.0))]);
        assert_eq!(key_of(bad_login, &["loginPath", "typo"], &env), "typo");
        // Not an object.
        let not_object = read(values(&[]), false, None, &env, |_| None).unwrap_err();
        assert_eq!(not_object.key.as_deref(), Some("config"));
        // No fetch anywhere.
        let bare = Environment {
            global_fetch: false,
            ..page()
        };
        assert_eq!(key_of(with_login(&[]), &[], &bare), "config");
        assert_eq!(
            key_of(with_login(&[(Key::Fetch, Value::Function)]), &[], &bare),
            "no error"
        );
    }

    #[test]
    fn base_url_defaults_to_the_location_and_is_required_without_one() {
        let node = Environment {
            origin: None,
            document: false,
            global_fetch: true,
        };
        assert_eq!(key_of(with_login(&[]), &[], &node), "baseUrl");
        let given = with_login(&[(Key::BaseUrl, Value::Text(API.into()))]);
        assert_eq!(key_of(given, &[], &node), "no error");
        let relative = with_login(&[(Key::BaseUrl, Value::Text("/api".into()))]);
        assert_eq!(key_of(relative, &[], &node), "baseUrl");
        let config = read(with_login(&[]), true, None, &page(), |_| None).unwrap();
        assert_eq!(config.base_url, API);
        assert!(config.cross_tab);
    }

    #[test]
    fn null_is_the_default_or_off_and_there_are_no_tabs_without_a_document() {
        let given = with_login(&[
            (Key::RefreshPath, Value::Null),
            (Key::LoginUrl, Value::Null),
            (Key::IdleTimeoutSeconds, Value::Null),
            (Key::CrossTab, Value::Null),
        ]);
        let config = read(given.clone(), true, None, &page(), |_| None).unwrap();
        assert_eq!(config.refresh_path, None);
        assert_eq!(config.login_url, None);
        assert!(config.cross_tab);
        let worker = Environment {
            document: false,
            ..page()
        };
        let config = read(given, true, None, &worker, |_| None).unwrap();
        assert!(
            !config.cross_tab,
            "crossTab defaults to false without a document"
        );
        let told = with_login(&[(Key::CrossTab, Value::Bool(true))]);
        assert!(read(told, true, None, &worker, |_| None).unwrap().cross_tab);
    }

    #[test]
    fn a_dot_path_alone_is_a_list_of_one() {
        let given = with_login(&[(Key::AccessTokenPath, Value::Text("data.jwt".into()))]);
        let config = read(given, true, None, &page(), |_| None).unwrap();
        assert_eq!(config.access_token_path.len(), 1);
        assert_eq!(config.access_token_path[0].segments(), ["data", "jwt"]);
    }
}
