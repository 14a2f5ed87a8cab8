//! The public `AuthClient` API in a real browser (each engine of `make browser`, headless,
//! through wasm-bindgen-test-runner): what can be checked without a server. Everything that
//! talks to the API is covered by the end-to-end suite in `www/e2e/` against the reference
//! server.
#![cfg(target_arch = "wasm32")]

use authfetch::browser::AuthClient;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn config(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &JsValue::from_str(key), value).unwrap();
    }
    object.into()
}

fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

fn text(value: &JsValue, key: &str) -> Option<String> {
    field(value, key).as_string()
}

fn pgben() -> AuthClient {
    AuthClient::new(config(&[
        ("loginPath", "/v1/auth/login".into()),
        ("refreshPath", "/v1/auth/refresh-token".into()),
    ]))
    .unwrap()
}

fn invalid_config_key(pairs: &[(&str, JsValue)]) -> Option<String> {
    let error = AuthClient::new(config(pairs)).unwrap_err();
    assert_eq!(text(&error, "name").as_deref(), Some("AuthError"));
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&error, "code").as_deref(), Some("invalid_config"));
    text(&error, "key")
}

#[wasm_bindgen_test]
fn config_errors_name_the_key() {
    let login = ("loginPath", JsValue::from_str("/login"));
    assert_eq!(invalid_config_key(&[]).as_deref(), Some("loginPath"));
    assert_eq!(
        invalid_config_key(&[("loginPath", 3.into())]).as_deref(),
        Some("loginPath")
    );
    assert_eq!(
        invalid_config_key(&[login.clone(), ("refreshpath", "/r".into())]).as_deref(),
        Some("refreshpath")
    );
    assert_eq!(
        invalid_config_key(&[login.clone(), ("maxRetries", "1".into())]).as_deref(),
        Some("maxRetries")
    );
    assert_eq!(
        invalid_config_key(&[login.clone(), ("crossTab", 1.into())]).as_deref(),
        Some("crossTab")
    );
    assert_eq!(
        invalid_config_key(&[
            login.clone(),
            ("allowedOrigins", "https://a.example/api".into())
        ])
        .as_deref(),
        Some("allowedOrigins")
    );
    // The credentials, refresh token and bearer only go to allowed origins.
    for (key, endpoint) in [
        ("loginPath", "https://evil.example/login"),
        ("refreshPath", "http://127.0.0.1:8080@evil.example/refresh"),
        ("logoutPath", "https://evil.example/logout"),
    ] {
        let mut pairs = vec![("baseUrl", JsValue::from_str("http://127.0.0.1:8080"))];
        if key != "loginPath" {
            pairs.push(login.clone());
        }
        pairs.push((key, endpoint.into()));
        assert_eq!(
            invalid_config_key(&pairs).as_deref(),
            Some(key),
            "{endpoint}"
        );
    }
    assert_eq!(
        invalid_config_key(&[
            login.clone(),
            ("expiredErrorCodes", js_sys::Array::of1(&1.into()).into())
        ])
        .as_deref(),
        Some("expiredErrorCodes")
    );
    assert_eq!(
        invalid_config_key(&[login.clone(), ("refreshCredential", "cookie".into())]).as_deref(),
        Some("refreshPath")
    );
    let not_an_object = AuthClient::new(JsValue::from_str("/login")).unwrap_err();
    assert_eq!(text(&not_an_object, "key").as_deref(), Some("config"));
}

#[wasm_bindgen_test]
fn null_means_default_or_off() {
    let client = AuthClient::new(config(&[
        ("loginPath", "/login".into()),
        ("refreshPath", JsValue::NULL),
        ("loginUrl", JsValue::NULL),
        ("idleTimeoutSeconds", JsValue::NULL),
    ]));
    assert!(client.is_ok());
}

#[wasm_bindgen_test]
fn a_new_client_holds_no_session() {
    let auth = pgben();
    assert!(!auth.is_authenticated());
    assert_eq!(auth.expires_at(), None);
    assert_eq!(auth.refresh_at(), None);
}

async fn rejection(promise: Promise) -> JsValue {
    JsFuture::from(promise)
        .await
        .expect_err("the promise should reject")
}

#[wasm_bindgen_test]
async fn fetch_before_login_rejects_without_sending() {
    let auth = pgben();
    let error = rejection(auth.fetch("/v1/cidadao/me".into(), JsValue::UNDEFINED)).await;
    assert_eq!(text(&error, "name").as_deref(), Some("AuthError"));
    assert_eq!(text(&error, "code").as_deref(), Some("not_authenticated"));
    assert!(field(&error, "status").is_undefined());
    let error = rejection(auth.refresh()).await;
    assert_eq!(text(&error, "code").as_deref(), Some("not_authenticated"));
}

#[wasm_bindgen_test]
async fn restore_without_a_session_resolves_false() {
    let auth = pgben();
    let held = JsFuture::from(auth.restore()).await.unwrap();
    assert_eq!(held.as_bool(), Some(false));
}

#[wasm_bindgen_test]
async fn fetcher_is_one_bound_function_that_outlives_nothing() {
    let auth = pgben();
    let fetcher = auth.fetcher();
    assert!(fetcher.is_instance_of::<Function>());
    assert_eq!(
        JsValue::from(fetcher.clone()),
        JsValue::from(auth.fetcher()),
        "the same function every time"
    );
    let promise: Promise = fetcher
        .call1(&JsValue::NULL, &"/v1/cidadao/me".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let error = rejection(promise).await;
    assert_eq!(text(&error, "code").as_deref(), Some("not_authenticated"));
    // free(): the closure is released; calling the function must not reach a dropped client.
    drop(auth);
    let called = fetcher.call1(&JsValue::NULL, &"/v1/cidadao/me".into());
    assert!(
        called.is_err(),
        "a released closure throws instead of running"
    );
}

#[wasm_bindgen_test]
async fn logout_without_a_session_is_quiet() {
    let auth = pgben();
    let fired = js_sys::Array::new();
    let sink = fired.clone();
    let listener = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        sink.push(&e);
    });
    auth.add_event_listener("logout", listener.as_ref());
    JsFuture::from(auth.logout()).await.unwrap();
    assert_eq!(fired.length(), 0, "no session, no logout event");
}

#[wasm_bindgen_test]
async fn bad_fetch_input_is_fetchs_own_type_error() {
    let auth = pgben();
    let error = rejection(auth.fetch("http://[::1".into(), JsValue::UNDEFINED)).await;
    assert!(error.is_instance_of::<js_sys::TypeError>());
}

#[wasm_bindgen_test]
async fn pass_through_does_not_consume_the_callers_body() {
    // A foreign origin: the caller's Request must reach fetch with its body unread, even though
    // authfetch looked at its URL. (The call itself fails: nothing listens there.)
    let auth = pgben();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str("payload"));
    let request = web_sys::Request::new_with_str_and_init("http://127.0.0.1:9/x", &init).unwrap();
    let outcome = JsFuture::from(auth.fetch(JsValue::from(&request), JsValue::UNDEFINED)).await;
    let error = outcome.unwrap_err();
    assert!(
        error.is_instance_of::<js_sys::TypeError>(),
        "fetch's own network error, untouched"
    );
    let message = text(&error, "message").unwrap_or_default();
    assert!(!message.contains("already been used"), "{message}");
    assert!(
        field(&error, "code").is_undefined(),
        "not wrapped in an AuthError"
    );
}
