//! The binding layer (src/bindings) in real browsers: what wasm-bindgen's JavaScript side hands
//! it — the configuration object, answer bodies, channel messages, lock snapshots — and what it
//! hands back — errors as real `Error`s, effects, messages, requests. Run by `make test` in
//! headless Chromium, Firefox and WebKit (scripts/wasm-tests.sh).
#![cfg(target_arch = "wasm32")]

use authfetch::bindings::{redirect_target, Attempt, Core, EdgeError, EffectKind, Method, Report};
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const API: &str = "http://127.0.0.1:8080";
const T0: f64 = 1_700_000_000_000.0;

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object: JsValue = Object::new().into();
    for (key, value) in fields {
        Reflect::set(&object, &JsValue::from_str(key), value).unwrap();
    }
    object
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

fn core(config: &JsValue) -> Result<Core, JsValue> {
    Core::new(
        config,
        Some(format!("{API}/app")),
        Some(API.into()),
        true,
        true,
        true,
        0.5,
    )
}

fn pgben() -> JsValue {
    object(&[
        ("loginPath", text("/v1/auth/login")),
        ("refreshPath", text("/v1/auth/refresh-token")),
    ])
}

/// A client of `pgben()` whose login request is out: the client and the request's op.
fn logging_in() -> (Core, u32) {
    let mut c = core(&pgben()).unwrap();
    drain(&mut c);
    c.start(T0, Method::Login, 1, Some("{}".into()));
    let op = drain(&mut c)
        .into_iter()
        .find(|e| e.0 == EffectKind::Request)
        .unwrap()
        .1;
    (c, op)
}

/// Every effect queued: (kind, id, number, text, value).
fn drain(c: &mut Core) -> Vec<(EffectKind, u32, f64, Option<String>, JsValue)> {
    let mut out = Vec::new();
    while let Some(kind) = c.poll() {
        out.push((kind, c.id(), c.number(), c.text().as_string(), c.value()));
    }
    out
}

#[wasm_bindgen_test]
fn a_configuration_error_is_a_real_error_named_auth_error_that_names_the_key() {
    let bad = object(&[("loginPath", text("/login")), ("maxRetries", text("1"))]);
    let error = core(&bad).unwrap_err();
    assert!(error.is_instance_of::<js_sys::Error>());
    let error: js_sys::Error = error.unchecked_into();
    assert_eq!(error.name(), "AuthError");
    assert_eq!(get(&error, "code"), "invalid_config");
    assert_eq!(get(&error, "key"), "maxRetries");
    assert_eq!(
        String::from(error.message()),
        "maxRetries: must be a number"
    );
    assert!(get(&error, "status").is_undefined());
    // An unknown key, from the object's own keys, before a wrong value.
    let typo = object(&[("loginPath", JsValue::from(3)), ("refreshpath", text("/r"))]);
    assert_eq!(get(&core(&typo).unwrap_err(), "key"), "refreshpath");
    // Not an object at all.
    assert_eq!(get(&core(&text("/login")).unwrap_err(), "key"), "config");
}

#[wasm_bindgen_test]
fn a_getter_that_throws_is_a_wrong_value_of_its_key_and_arrays_must_hold_strings() {
    let config = pgben();
    let getter = js_sys::Function::new_no_args("throw new RangeError('boom')");
    let descriptor = object(&[("get", getter.into())]);
    let target: &Object = config.unchecked_ref();
    Object::define_property(target, &text("allowedOrigins"), descriptor.unchecked_ref());
    assert_eq!(get(&core(&config).unwrap_err(), "key"), "allowedOrigins");
    let mixed = object(&[
        ("loginPath", text("/login")),
        (
            "expiredErrorCodes",
            Array::of2(&text("AUTH_006"), &JsValue::from(1)).into(),
        ),
    ]);
    assert_eq!(get(&core(&mixed).unwrap_err(), "key"), "expiredErrorCodes");
    let list = object(&[
        ("loginPath", text("/login")),
        (
            "accessTokenPath",
            Array::of2(&text("data.jwt"), &text("token")).into(),
        ),
        ("baseUrl", text("api/")),
    ]);
    assert!(
        core(&list).is_ok(),
        "a relative baseUrl resolves against the page"
    );
}

#[wasm_bindgen_test]
fn the_channel_opens_with_the_origin_s_name_and_a_login_request_is_a_request() {
    let mut c = core(&pgben()).unwrap();
    let effects = drain(&mut c);
    assert!(effects.iter().any(|e| e.0 == EffectKind::OpenChannel
        && e.3.as_deref() == Some("authfetch:http://127.0.0.1:8080")));
    c.start(
        T0,
        Method::Login,
        1,
        Some(r#"{"email":"a","senha":"b"}"#.into()),
    );
    let effects = drain(&mut c);
    let (_, op, _, _, request) = effects.iter().find(|e| e.0 == EffectKind::Request).unwrap();
    let request: web_sys::Request = request.clone().dyn_into().expect("a Request");
    assert_eq!(request.url(), "http://127.0.0.1:8080/v1/auth/login");
    assert_eq!(request.method(), "POST");
    let headers = request.headers();
    assert_eq!(
        headers.get("Content-Type").unwrap().as_deref(),
        Some("application/json")
    );
    assert_eq!(headers.get("Authorization").unwrap(), None);
    // The answer's body, read as text: a numeric-string lifetime counts.
    let body = text(r#"{"accessToken":"a1","refreshToken":"r1","expiresIn":"3600"}"#);
    c.answered(T0, *op, Some(200), &body, None).unwrap();
    let effects = drain(&mut c);
    assert!(effects
        .iter()
        .any(|e| e.0 == EffectKind::Resolve && e.1 == 1));
    let login = effects.iter().find(|e| e.0 == EffectKind::Event).unwrap();
    assert_eq!(login.3.as_deref(), Some("login"));
    assert_eq!(get(&login.4, "expiresAt"), T0 + 3_600_000.0);
    assert!(c.is_authenticated());
    assert_eq!(c.expires_at(), T0 + 3_600_000.0);
    assert_eq!(c.bearer(1), "Bearer a1");
    assert!(
        c.bearer(2).is_undefined(),
        "no token of a generation the session does not hold"
    );
    // A message this tab posts is a plain object another tab's core takes.
    let session = effects.iter().find(|e| e.0 == EffectKind::Post).unwrap();
    assert_eq!(get(&session.4, "type"), "session");
    let mut other = core(&pgben()).unwrap();
    drain(&mut other);
    other.report(T0, Report::Message, 0, &session.4).unwrap();
    assert!(
        other.is_authenticated(),
        "the other tab did not take the session"
    );
    // A refresh request carries the refresh token in its JSON body.
    c.start(T0 + 1.0, Method::Refresh, 2, None);
    let effects = drain(&mut c);
    let lock = effects
        .iter()
        .find(|e| e.0 == EffectKind::LockExclusive)
        .unwrap();
    c.report(T0 + 1.0, Report::LockGranted, lock.1, &JsValue::UNDEFINED)
        .unwrap();
    let query = drain(&mut c)
        .into_iter()
        .find(|e| e.0 == EffectKind::Query)
        .unwrap();
    let snapshot = object(&[("held", Array::new().into())]);
    c.report(T0 + 1.0, Report::LocksHeld, query.1, &snapshot)
        .unwrap();
    let effects = drain(&mut c);
    let (_, _, _, _, request) = effects.iter().find(|e| e.0 == EffectKind::Request).unwrap();
    let request: web_sys::Request = request.clone().dyn_into().unwrap();
    assert_eq!(request.url(), "http://127.0.0.1:8080/v1/auth/refresh-token");
}

#[wasm_bindgen_test]
fn an_error_answer_s_body_rides_along_as_details_for_a_locked_account() {
    let (mut c, op) = logging_in();
    let body =
        text(r#"{"errorCode":"AUTH_003","message":"Conta bloqueada","tentativasRestantes":0}"#);
    c.answered(T0, op, Some(403), &body, None).unwrap();
    let (_, _, _, _, error) = drain(&mut c)
        .into_iter()
        .find(|e| e.0 == EffectKind::Reject)
        .unwrap();
    assert_eq!(get(&error, "code"), "account_locked");
    assert_eq!(get(&error, "serverCode"), "AUTH_003");
    assert_eq!(get(&error, "serverMessage"), "Conta bloqueada");
    assert_eq!(get(&get(&error, "details"), "tentativasRestantes"), 0);
    // Reported twice: the core never asked for that, and says so.
    assert!(c.answered(T0, op, Some(403), &body, None).is_err());
}

#[wasm_bindgen_test]
fn the_allowlist_s_fast_path_and_the_browser_s_url_parser_agree() {
    let c = core(&pgben()).unwrap();
    let cases = [
        ("http://127.0.0.1:8080/v1", true),
        ("http://127.0.0.1:8080", true),
        ("http://127.0.0.1:8080?x", true),
        ("HTTP://127.0.0.1:8080/v1", true),
        ("http://127.0.0.1:80800/v1", false),
        ("http://127.0.0.1:8080@evil.example/v1", false),
        ("http://127.0.0.1:8080.evil.example/v1", false),
        ("http://127.0.0.1:8081/v1", false),
        ("http:\\\\127.0.0.1:8080\\v1", true),
        ("https://127.0.0.1:8080/v1", false),
        ("data:text/plain,x", false),
        ("not a url", false),
    ];
    for (url, allowed) in cases {
        assert_eq!(c.allows(url), allowed, "{url}");
        // The parser's own answer, for comparison.
        let parsed = web_sys::Url::new(url)
            .map(|u| u.origin() == API)
            .unwrap_or(false);
        assert_eq!(parsed, allowed, "the URL parser reads {url} otherwise");
    }
}

#[wasm_bindgen_test]
fn a_call_without_a_session_is_refused_unsent_and_edge_errors_are_auth_errors() {
    let mut c = core(&pgben()).unwrap();
    drain(&mut c);
    assert_eq!(c.call(T0, 9, true).unwrap(), None);
    let (_, caller, _, _, error) = drain(&mut c)
        .into_iter()
        .find(|e| e.0 == EffectKind::Reject)
        .unwrap();
    assert_eq!(caller, 9);
    assert_eq!(get(&error, "code"), "not_authenticated");
    for (which, code) in [
        (EdgeError::NotAuthenticated, "not_authenticated"),
        (EdgeError::NoAnswer, "network"),
        (EdgeError::BodyNotReplayable, "body_not_replayable"),
    ] {
        let error = authfetch::bindings::edge_error(which);
        assert_eq!(error.name(), "AuthError");
        assert_eq!(get(&error, "code"), code);
    }
    // A call the core never tracked cannot be answered.
    assert!(c
        .call_answered(T0, 77, Attempt::Response, None, &JsValue::UNDEFINED)
        .is_err());
}

#[wasm_bindgen_test]
fn the_page_goes_to_login_url_unless_it_is_already_there() {
    assert_eq!(
        redirect_target("/login", "http://127.0.0.1:8080/app?x=1").as_deref(),
        Some("http://127.0.0.1:8080/login")
    );
    assert_eq!(
        redirect_target("/login?next=1", "http://127.0.0.1:8080/login#top"),
        None
    );
    assert_eq!(
        redirect_target("login", "http://127.0.0.1:8080/app/page").as_deref(),
        Some("http://127.0.0.1:8080/app/login")
    );
    assert_eq!(
        redirect_target("http://[bad", "http://127.0.0.1:8080/"),
        None
    );
}

#[wasm_bindgen_test]
fn bodies_are_read_within_the_cap_and_json_parse_s_failures_say_nothing() {
    assert!(Core::reads_body(None));
    assert!(Core::reads_body(Some("65536".into())));
    assert!(!Core::reads_body(Some("65537".into())));
    let (mut c, op) = logging_in();
    // A 2xx that is not JSON: no usable token.
    c.answered(T0, op, Some(200), &text("<html>"), None)
        .unwrap();
    let (_, _, _, _, error) = drain(&mut c)
        .into_iter()
        .find(|e| e.0 == EffectKind::Reject)
        .unwrap();
    assert_eq!(get(&error, "code"), "malformed_response");
    // A message that is not an object, and one with a bad version: ignored.
    c.report(T0, Report::Message, 0, &text("session")).unwrap();
    let forged =
        JSON::parse(r#"{"type":"session","access":"x","lineage":-1,"counter":0,"receivedAt":1}"#)
            .unwrap();
    c.report(T0, Report::Message, 0, &forged).unwrap();
    assert!(!c.is_authenticated());
}
