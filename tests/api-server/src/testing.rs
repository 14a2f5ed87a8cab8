//! Helpers for the tests: the main router driven with `oneshot`, no network.

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

use crate::app;
use crate::state::{AppState, Settings};

/// A main router with test controls and no static directories, and its state.
pub fn app_with(settings: Settings) -> (Router, AppState) {
    let state = AppState::new(settings, true);
    let missing = Path::new("/nonexistent/api-server-test");
    (app::main_router(state.clone(), missing, missing), state)
}

/// [`app_with`], with `cors_origins` allowed (as `--cors-origin` gives them).
pub fn app_with_cors(settings: Settings, cors_origins: Vec<String>) -> (Router, AppState) {
    let state = AppState::with_cors(settings, true, cors_origins);
    let missing = Path::new("/nonexistent/api-server-test");
    (app::main_router(state.clone(), missing, missing), state)
}

/// [`app_with`] the default settings.
pub fn app() -> (Router, AppState) {
    app_with(Settings::default())
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
}

impl Reply {
    /// The body as JSON; panics (failing the test) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.bytes))
    }
}

/// Sends `request` through `router`.
pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        bytes,
    }
}

/// A request with an optional JSON body and bearer.
pub fn request(
    method: Method,
    path: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(json) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// `GET path` with an optional bearer.
pub async fn get(router: &Router, path: &str, bearer: Option<&str>) -> Reply {
    send(router, request(Method::GET, path, None, bearer)).await
}

/// `POST path` with a JSON body and an optional bearer.
pub async fn post(router: &Router, path: &str, body: Value, bearer: Option<&str>) -> Reply {
    send(router, request(Method::POST, path, Some(body), bearer)).await
}

/// Logs in through `/v1/auth/login`; answers `(accessToken, refreshToken)`.
pub async fn login(router: &Router, email: &str, senha: &str) -> (String, String) {
    let reply = post(
        router,
        "/v1/auth/login",
        serde_json::json!({"email": email, "senha": senha}),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.bytes);
    let body = reply.json();
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["refreshToken"].as_str().unwrap().to_owned(),
    )
}

/// POSTs `body` to a dialect's login `path` and answers the access token found at the JSON
/// `pointer` (e.g. `/tokens/accessToken`); panics (failing the test) when there is none.
pub async fn login_token(router: &Router, path: &str, body: Value, pointer: &str) -> String {
    let reply = post(router, path, body, None).await;
    match reply.json().pointer(pointer).and_then(Value::as_str) {
        Some(token) => token.to_owned(),
        None => panic!("{path}: no token at {pointer}: {:?}", reply.bytes),
    }
}

/// Logs Maria in.
pub async fn login_maria(router: &Router) -> (String, String) {
    login(router, "maria.oliveira@exemplo.com", "S3nh4F0rt3!").await
}

/// Reads `/__control/counters`.
pub async fn counters(router: &Router) -> Value {
    get(router, "/__control/counters", None).await.json()
}

/// The keys of a JSON object, in order.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// The payload of a JWT, decoded without checking anything.
pub fn jwt_payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A form part: name, optional (file name, content type), bytes.
pub type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A multipart/form-data body: answers (content type, bytes).
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some((filename, content_type)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST path` with a multipart body and an optional bearer.
pub fn upload_request(
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    bearer: Option<&str>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(token) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    b.body(Body::from(body)).unwrap()
}

/// `POST path` with a JSON body and extra headers (e.g. `Cookie`).
pub async fn post_with(
    router: &Router,
    path: &str,
    body: Option<Value>,
    headers: &[(header::HeaderName, &str)],
) -> Reply {
    let mut request = request(Method::POST, path, body, None);
    for (name, value) in headers {
        request
            .headers_mut()
            .append(name.clone(), value.parse().unwrap());
    }
    send(router, request).await
}

/// Sets `/__control/config`.
pub async fn config(router: &Router, body: Value) -> Value {
    let r = post(router, "/__control/config", body, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.bytes);
    r.json()
}
