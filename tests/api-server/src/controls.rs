//! Test controls (`/__control/*`) and test-only API routes (`/__test/*`), mounted only with
//! `--test-controls`. They let browser tests set TTLs, inject refresh failures, expire or
//! revoke sessions and read counters, so that "exactly one refresh" can be asserted.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::app::bearer_token;
use crate::errors::ApiError;
use crate::pgben::UPLOAD_LIMIT;
use crate::state::{AppState, Dialect, Fault, FaultPlan, Settings};
use crate::{clock, cors};

/// The `/__control` routes; nest them under `/__control`.
pub fn control_routes() -> Router<AppState> {
    Router::new()
        .route("/reset", post(reset))
        .route("/config", get(config).post(set_config))
        .route("/fail-refresh", get(pending_faults).post(fail_refresh))
        .route("/fail-login", get(pending_login_faults).post(fail_login))
        .route("/expire-access", post(expire_access))
        .route("/revoke", post(revoke))
        .route("/counters", get(counters))
        .route("/journal", get(journal))
        .route("/issued-tokens", get(issued_tokens))
        .route("/delay-page", post(delay_page))
        .route("/uploads", get(uploads))
        .route("/uploads/{id}", get(upload))
        .route("/uploads/{id}/content", get(upload_content))
        .fallback(not_found)
}

/// The `/__test` routes; nest them under `/__test`.
pub fn test_routes() -> Router<AppState> {
    Router::new()
        .route("/always-401", any(always_401))
        .route("/redirect", any(redirect))
        .route("/grant", any(grant))
        .route(
            "/echo",
            any(echo).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .fallback(not_found)
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message, "CTRL_001")
}

/// The body as a JSON object; an empty body is an empty object.
fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad_request("the body must be a JSON object".into())),
    }
}

/// A non-negative integer field, if present.
fn integer(map: &Map<String, Value>, key: &str) -> Result<Option<u64>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad_request(format!("{key} must be a non-negative integer"))),
    }
}

async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.reset();
    Json(json!({"reset": true}))
}

fn config_body(s: Settings, cors_origins: &[String]) -> Json<Value> {
    let by_prefix: Map<String, Value> = Dialect::ALL
        .iter()
        .map(|d| (d.prefix().to_owned(), s.access_ttl_for(*d).into()))
        .collect();
    Json(json!({
        "accessTtlSeconds": s.access_ttl_s,
        "refreshTtlSeconds": s.refresh_ttl_s,
        "maxFailedLogins": s.max_failed_logins,
        "refreshCookie": s.refresh_cookie,
        "accessTtlSecondsByPrefix": by_prefix,
        "corsOrigins": cors_origins
    }))
}

/// A boolean field, if present.
fn boolean(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad_request(format!("{key} must be true or false"))),
    }
}

async fn config(State(state): State<AppState>) -> Json<Value> {
    state.with(|b| config_body(b.settings, &b.cors_origins))
}

async fn set_config(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let parsed = object(&body).and_then(|map| {
        let max = integer(&map, "maxFailedLogins")?
            .map(|n| {
                u32::try_from(n).map_err(|_| bad_request("maxFailedLogins is too large".into()))
            })
            .transpose()?;
        let cors_origins = match map.get("corsOrigins") {
            None | Some(Value::Null) => None,
            Some(list) => Some(cors::parse_origins(list).map_err(bad_request)?),
        };
        Ok((
            integer(&map, "accessTtlSeconds")?,
            integer(&map, "refreshTtlSeconds")?,
            max,
            boolean(&map, "refreshCookie")?,
            cors_origins,
        ))
    });
    let (access, refresh, max, cookie, cors_origins) = match parsed {
        Ok(fields) => fields,
        Err(e) => return e.at(uri.path()),
    };
    let body = state.with(|b| {
        if let Some(origins) = cors_origins {
            b.cors_origins = origins;
        }
        let s = &mut b.settings;
        if let Some(access) = access {
            // From now on every dialect issues with it (see Settings::access_ttl_for).
            s.access_ttl_s = access;
            s.access_ttl_uniform = true;
        }
        s.refresh_ttl_s = refresh.unwrap_or(s.refresh_ttl_s);
        s.max_failed_logins = max.unwrap_or(s.max_failed_logins);
        s.refresh_cookie = cookie.unwrap_or(s.refresh_cookie);
        config_body(*s, &b.cors_origins)
    });
    body.into_response()
}

fn plan_body(plan: Option<FaultPlan>) -> Json<Value> {
    Json(match plan {
        None => json!({"count": 0, "mode": null}),
        Some(FaultPlan { remaining, fault }) => match fault {
            Fault::Status(code) => json!({"count": remaining, "mode": code.to_string()}),
            Fault::Reject => json!({"count": remaining, "mode": "401"}),
            Fault::Drop => json!({"count": remaining, "mode": "drop"}),
            Fault::Delay(d) => {
                json!({"count": remaining, "mode": "delay", "delayMs": d.as_millis() as u64})
            }
        },
    })
}

async fn pending_faults(State(state): State<AppState>) -> Json<Value> {
    plan_body(state.with(|b| b.refresh_faults))
}

async fn pending_login_faults(State(state): State<AppState>) -> Json<Value> {
    plan_body(state.with(|b| b.login_faults))
}

const MODES: &str = "mode must be \"401\", \"500\", \"503\", \"delay\" or \"drop\"";

/// Parses `{count, mode, delayMs?}`; `mode` may also be the number 401, 500 or 503.
fn parse_fault_plan(map: &Map<String, Value>) -> Result<Option<FaultPlan>, ApiError> {
    let count = integer(map, "count")?.unwrap_or(1);
    let count = u32::try_from(count).map_err(|_| bad_request("count is too large".into()))?;
    let mode = match map.get("mode") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(bad_request(MODES.into())),
    };
    let fault = match mode.as_str() {
        "401" => Fault::Reject,
        "500" => Fault::Status(500),
        "503" => Fault::Status(503),
        "drop" => Fault::Drop,
        "delay" => match integer(map, "delayMs")? {
            Some(ms) => Fault::Delay(Duration::from_millis(ms)),
            None => return Err(bad_request("delay needs delayMs".into())),
        },
        _ => return Err(bad_request(MODES.into())),
    };
    Ok((count > 0).then_some(FaultPlan {
        remaining: count,
        fault,
    }))
}

async fn fail_refresh(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let parsed = object(&body).and_then(|map| {
        let retry_after = integer(&map, "retryAfter")?;
        Ok((parse_fault_plan(&map)?, retry_after))
    });
    let (plan, retry_after) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return e.at(uri.path()),
    };
    state.with(|b| {
        b.refresh_faults = plan;
        b.refresh_retry_after_s = retry_after;
    });
    if matches!(plan, Some(p) if p.fault == Fault::Drop) {
        // See serve.rs: the dropped request must not travel on a reused connection.
        state.connections.close_idle();
    }
    plan_body(plan).into_response()
}

async fn fail_login(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let plan = match object(&body).and_then(|map| parse_fault_plan(&map)) {
        Ok(plan) => plan,
        Err(e) => return e.at(uri.path()),
    };
    state.with(|b| b.login_faults = plan);
    if matches!(plan, Some(p) if p.fault == Fault::Drop) {
        state.connections.close_idle();
    }
    plan_body(plan).into_response()
}

/// `POST /__control/delay-page {path, ms}`: answers to `path` (any method) are held `ms`
/// before they go out, until the next reset; `ms: 0` stops it.
async fn delay_page(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let parsed = object(&body).and_then(|map| {
        let path = match map.get("path") {
            Some(Value::String(p)) if p.starts_with('/') => p.clone(),
            _ => return Err(bad_request("send {\"path\": \"/…\", \"ms\": n}".into())),
        };
        Ok((path, integer(&map, "ms")?.unwrap_or(0)))
    });
    let (path, ms) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return e.at(uri.path()),
    };
    state.with(|b| {
        if ms == 0 {
            b.page_delays.remove(&path);
        } else {
            b.page_delays.insert(path.clone(), ms);
        }
    });
    Json(json!({ "path": path, "ms": ms })).into_response()
}

/// `GET /__control/issued-tokens`: `{tokens: [...]}`, the text of every access and refresh
/// token issued since the last reset, by every dialect — what the leak checks of the browser
/// tests look for, whatever the engine lets them see of the network.
async fn issued_tokens(State(state): State<AppState>) -> Json<Value> {
    let tokens: Vec<String> = state
        .token_stores()
        .iter()
        .flat_map(|s| s.issued_texts())
        .collect();
    Json(json!({ "tokens": tokens }))
}

async fn expire_access(State(state): State<AppState>) -> Json<Value> {
    let expired: u64 = state
        .token_stores()
        .iter()
        .map(|s| s.expire_all_access())
        .sum();
    Json(json!({"expiredAccessTokens": expired}))
}

async fn revoke(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    match object(&body) {
        Ok(map) if map.get("all") == Some(&Value::Bool(true)) => {
            let revoked: usize = state.token_stores().iter().map(|s| s.revoke_all()).sum();
            Json(json!({"revokedFamilies": revoked})).into_response()
        }
        Ok(_) => bad_request("send {\"all\": true}".into()).at(uri.path()),
        Err(e) => e.at(uri.path()),
    }
}

async fn counters(State(state): State<AppState>) -> Response {
    Json(state.with(|b| b.counters.clone())).into_response()
}

async fn journal(State(state): State<AppState>) -> Response {
    let requests = state.with(|b| b.journal.iter().cloned().collect::<Vec<_>>());
    Json(json!({ "requests": requests })).into_response()
}

fn upload_summary(u: &crate::state::Upload) -> Value {
    json!({
        "id": u.id,
        "nomeArquivo": u.nome_arquivo,
        "tamanhoBytes": u.bytes.len(),
        "sha256": u.sha256,
        "tipoDocumento": u.tipo_documento,
        "contentType": u.content_type,
        "path": u.path,
        "tokenIssuedBy": u.token.map(|(issued, _)| issued.as_str()),
        "tokenIssuedAt": u.token.map(|(_, ms)| clock::iso_millis(ms))
    })
}

async fn uploads(State(state): State<AppState>) -> Response {
    let list = state.with(|b| b.uploads.values().map(upload_summary).collect::<Vec<_>>());
    Json(json!({ "uploads": list })).into_response()
}

async fn upload(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Response {
    let found = state.with(|b| b.uploads.get(&id).map(upload_summary));
    match found {
        Some(body) => Json(body).into_response(),
        None => ApiError::not_found().at(uri.path()),
    }
}

async fn upload_content(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Response {
    let found = state.with(|b| {
        b.uploads
            .get(&id)
            .map(|u| (u.content_type.clone(), u.bytes.clone()))
    });
    match found {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => ApiError::not_found().at(uri.path()),
    }
}

async fn always_401(OriginalUri(uri): OriginalUri) -> Response {
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let code = query
        .get("code")
        .cloned()
        .unwrap_or_else(|| "AUTH_006".to_owned());
    // `delayMs`: answer late, to let the client renew while this request is in flight.
    if let Some(ms) = query.get("delayMs").and_then(|ms| ms.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms.min(10_000))).await;
    }
    let message = match code.as_str() {
        "AUTH_005" => "Token inválido",
        "AUTH_006" => "Token expirado",
        "AUTH_007" => "Refresh token inválido ou expirado",
        _ => "Não autorizado",
    };
    // `bodyBytes`: a body that large (a hostile server); `chunked=1` sends it without a length.
    let Some(size) = query.get("bodyBytes").and_then(|n| n.parse::<usize>().ok()) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, message, code).at(uri.path());
    };
    let size = size.min(64 << 20);
    let head = format!("{{\"errorCode\":\"{code}\",\"padding\":\"");
    let mut body = head.into_bytes();
    body.resize(size.saturating_sub(2).max(body.len()), b'x');
    body.extend_from_slice(b"\"}");
    let content_type = [(header::CONTENT_TYPE, "application/json")];
    if query.get("chunked").is_some_and(|v| v == "1") {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(1 << 16)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let stream = futures_util::stream::iter(chunks);
        let body = axum::body::Body::from_stream(stream);
        return (StatusCode::UNAUTHORIZED, content_type, body).into_response();
    }
    (StatusCode::UNAUTHORIZED, content_type, body).into_response()
}

/// `GET /__test/redirect?to=<absolute URL>`: 302 to that URL, to play an API that redirects a
/// call to another origin (authfetch's rule 13: that origin's 401 is not the API's).
async fn redirect(OriginalUri(uri): OriginalUri) -> Response {
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    match query
        .get("to")
        .filter(|to| to.starts_with("http://") || to.starts_with("https://"))
    {
        Some(to) => (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response(),
        None => bad_request("redirect needs to=<absolute http(s) URL>".into()).at(uri.path()),
    }
}

/// `/__test/grant?access=<text>&expiresIn=<s>`: 200 `{accessToken: <text>, refreshToken,
/// expiresIn}` (default 3600) for any method and body — a login endpoint that hands out whatever
/// a test needs (a token with CR/LF or outside Latin-1, a lifetime of 0).
async fn grant(OriginalUri(uri): OriginalUri) -> Json<Value> {
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let access = query.get("access").cloned().unwrap_or_default();
    let expires_in = query
        .get("expiresIn")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(3600);
    Json(json!({"accessToken": access, "refreshToken": "test-refresh", "expiresIn": expires_in}))
}

async fn echo(
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "bearer": bearer_token(&headers).is_some(),
        "contentType": headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        "bodyBytes": body.len(),
        "bodySha256": hex::encode(Sha256::digest(&body))
    }))
}

async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    ApiError::not_found().at(uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, get, login_maria, post, send};
    use axum::body::Body;
    use axum::http::Request;

    #[tokio::test]
    async fn fail_refresh_503_and_500_consume_nothing() {
        let (router, _) = testing::app();
        let (_, refresh) = login_maria(&router).await;
        let r = post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 2, "mode": "503"}),
            None,
        )
        .await;
        assert_eq!(r.json(), json!({"count": 2, "mode": "503"}));
        let body = json!({"refreshToken": refresh});
        for _ in 0..2 {
            let r = post(&router, "/v1/auth/refresh-token", body.clone(), None).await;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
            let e = r.json();
            assert_eq!(e["statusCode"], 503);
            assert_eq!(e["errorCode"], "SRV_503");
            assert_eq!(e["path"], "/v1/auth/refresh-token");
        }
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 1, "mode": 500}),
            None,
        )
        .await;
        let r = post(&router, "/v1/auth/refresh-token", body.clone(), None).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.json()["errorCode"], "SRV_500");
        // The plan is used up and the token was never consumed.
        assert_eq!(
            get(&router, "/__control/fail-refresh", None).await.json()["count"],
            0
        );
        let r = post(&router, "/v1/auth/refresh-token", body, None).await;
        assert_eq!(r.status, StatusCode::OK);
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshRequests"], 4);
        assert_eq!(c["refreshFailures"], 3);
        assert_eq!(c["refreshes"], 1);
        assert_eq!(c["reuseDetections"], 0);
    }

    /// Sets the pending refresh faults to `plan`.
    async fn plan_refresh_faults(router: &Router, plan: Value) {
        post(router, "/__control/fail-refresh", plan, None).await;
    }

    /// PGBen's refresh with `token`.
    async fn refresh_with(router: &Router, token: &str) -> testing::Reply {
        let body = json!({ "refreshToken": token });
        post(router, "/v1/auth/refresh-token", body, None).await
    }

    #[tokio::test]
    async fn fail_refresh_can_say_retry_after() {
        let (router, _) = testing::app();
        let (_, refresh) = login_maria(&router).await;
        let plan = json!({"count": 1, "mode": "503", "retryAfter": 120});
        plan_refresh_faults(&router, plan).await;
        let r = refresh_with(&router, &refresh).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers[header::RETRY_AFTER], "120");
    }

    #[tokio::test]
    async fn fail_refresh_delay_waits_then_answers() {
        let (router, _) = testing::app();
        let (_, refresh) = login_maria(&router).await;
        let plan = json!({"count": 1, "mode": "delay", "delayMs": 300});
        plan_refresh_faults(&router, plan).await;
        let started = std::time::Instant::now();
        let r = refresh_with(&router, &refresh).await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(r.status, StatusCode::OK);
        let next = r.json()["refreshToken"].as_str().unwrap().to_owned();
        let started = std::time::Instant::now();
        let r = refresh_with(&router, &next).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(started.elapsed() < Duration::from_millis(300));
        let c = testing::counters(&router).await;
        assert_eq!(
            (c["refreshes"].as_u64(), c["refreshFailures"].as_u64()),
            (Some(2), Some(0))
        );
    }

    #[tokio::test]
    async fn fail_refresh_rejects_bad_plans_and_count_zero_clears() {
        let (router, _) = testing::app();
        for bad in [
            json!({"count": 1, "mode": "teapot"}),
            json!({"count": 1}),
            json!({"count": -1, "mode": "503"}),
            json!({"count": 1, "mode": "delay"}),
        ] {
            let r = post(&router, "/__control/fail-refresh", bad.clone(), None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(r.json()["errorCode"], "CTRL_001");
        }
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 3, "mode": "drop"}),
            None,
        )
        .await;
        let r = get(&router, "/__control/fail-refresh", None).await;
        assert_eq!(r.json(), json!({"count": 3, "mode": "drop"}));
        // While a drop is armed every answer asks the browser for a fresh connection.
        assert_eq!(r.headers[header::CONNECTION], "close");
        let r = post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 0, "mode": "drop"}),
            None,
        )
        .await;
        assert_eq!(r.json()["count"], 0);
        assert!(r.headers.get(header::CONNECTION).is_none());
    }

    #[tokio::test]
    async fn drop_without_a_connection_answers_500() {
        // The oneshot router has no connection to close; the real one is tested in main.rs.
        let (router, _) = testing::app();
        let (_, refresh) = login_maria(&router).await;
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 1, "mode": "drop"}),
            None,
        )
        .await;
        let r = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": refresh}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn delay_page_holds_that_path_until_reset() {
        let (router, _) = testing::app();
        let r = post(
            &router,
            "/__control/delay-page",
            json!({"path": "/login", "ms": 300}),
            None,
        )
        .await;
        assert_eq!(r.json(), json!({"path": "/login", "ms": 300}));
        let held = |path: &'static str| {
            let router = router.clone();
            async move {
                let started = std::time::Instant::now();
                get(&router, path, None).await;
                started.elapsed()
            }
        };
        let ms = std::time::Duration::from_millis;
        assert!(held("/login").await >= ms(300));
        assert!(held("/v1/cidadao/me").await < ms(300));
        post(&router, "/__control/reset", json!({}), None).await;
        assert!(held("/login").await < ms(300));
        let r = post(&router, "/__control/delay-page", json!({"ms": 5}), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn issued_tokens_lists_every_token_text_until_reset() {
        let (router, _) = testing::app();
        let (access, refresh) = login_maria(&router).await;
        let r = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": refresh}),
            None,
        )
        .await;
        let renewed = r.json()["accessToken"].as_str().unwrap().to_owned();
        let listed = get(&router, "/__control/issued-tokens", None).await.json();
        let tokens: Vec<&str> = listed["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        // The login's pair and the renewal's pair (the refresh token rotates).
        assert_eq!(tokens.len(), 4);
        for text in [access.as_str(), refresh.as_str(), renewed.as_str()] {
            assert!(tokens.contains(&text), "{text} not listed");
        }
        post(&router, "/__control/reset", json!({}), None).await;
        let listed = get(&router, "/__control/issued-tokens", None).await.json();
        assert_eq!(listed, json!({"tokens": []}));
    }

    #[tokio::test]
    async fn expire_access_then_refresh_recovers() {
        let (router, _) = testing::app();
        let (access, refresh) = login_maria(&router).await;
        let r = post(&router, "/__control/expire-access", json!({}), None).await;
        assert_eq!(r.json()["expiredAccessTokens"], 1);
        let e = get(&router, "/v1/cidadao/me", Some(&access)).await.json();
        assert_eq!(e["errorCode"], "AUTH_006");
        let r = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": refresh}),
            None,
        )
        .await;
        let fresh = r.json()["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(&fresh)).await.status,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn revoke_all_kills_every_session() {
        let (router, _) = testing::app();
        let (a1, r1) = login_maria(&router).await;
        let (a2, r2) = testing::login(&router, "admin@pgben.gov.br", "Admin#2025").await;
        let r = post(&router, "/__control/revoke", json!({"all": true}), None).await;
        assert_eq!(r.json(), json!({"revokedFamilies": 2}));
        for access in [&a1, &a2] {
            assert_eq!(
                get(&router, "/v1/cidadao/me", Some(access)).await.json()["errorCode"],
                "AUTH_005"
            );
        }
        for refresh in [&r1, &r2] {
            let r = post(
                &router,
                "/v1/auth/refresh-token",
                json!({"refreshToken": refresh}),
                None,
            )
            .await;
            assert_eq!(r.json()["errorCode"], "AUTH_007");
        }
        let r = post(&router, "/__control/revoke", json!({}), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        // New logins work again.
        let (a3, _) = login_maria(&router).await;
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(&a3)).await.status,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn config_changes_later_tokens_and_reset_restores_everything() {
        let (router, _) = testing::app();
        let (old, _) = login_maria(&router).await;
        let initial = json!({
            "accessTtlSeconds": 3600,
            "refreshTtlSeconds": 2592000,
            "maxFailedLogins": 5,
            "refreshCookie": false,
            "accessTtlSecondsByPrefix": {"/s000": 3600, "/s001": 3600, "/s002": 7200, "/s003": 900, "/v1": 3600},
            "corsOrigins": []
        });
        assert_eq!(
            get(&router, "/__control/config", None).await.json(),
            initial
        );
        let r = post(
            &router,
            "/__control/config",
            json!({"accessTtlSeconds": 5, "refreshTtlSeconds": 60, "maxFailedLogins": 1, "refreshCookie": true}),
            None,
        )
        .await;
        let want = json!({
            "accessTtlSeconds": 5,
            "refreshTtlSeconds": 60,
            "maxFailedLogins": 1,
            "refreshCookie": true,
            "accessTtlSecondsByPrefix": {"/s000": 5, "/s001": 5, "/s002": 5, "/s003": 5, "/v1": 5},
            "corsOrigins": []
        });
        assert_eq!(r.json(), want);
        // Fields left out keep their values.
        assert_eq!(
            post(&router, "/__control/config", json!({}), None)
                .await
                .json(),
            want
        );
        assert_eq!(get(&router, "/__control/config", None).await.json(), want);
        let r = post(
            &router,
            "/v1/auth/login",
            json!({"email": "usuario@exemplo.com", "senha": "s3nh4S3gur@"}),
            None,
        )
        .await;
        assert_eq!(r.json()["expiresIn"], 5);
        for bad in [
            json!({"accessTtlSeconds": "x"}),
            json!({"refreshCookie": 1}),
        ] {
            let r = post(&router, "/__control/config", bad, None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        }
        // One wrong password locks now.
        let r = post(
            &router,
            "/v1/auth/login",
            json!({"email": "usuario@exemplo.com", "senha": "x"}),
            None,
        )
        .await;
        assert_eq!(r.json()["errorCode"], "AUTH_003");
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 5, "mode": "503"}),
            None,
        )
        .await;

        let r = post(&router, "/__control/reset", json!({}), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            get(&router, "/__control/config", None).await.json(),
            initial
        );
        assert_eq!(
            get(&router, "/__control/fail-refresh", None).await.json()["count"],
            0
        );
        let c = testing::counters(&router).await;
        assert_eq!(c["logins"], 0);
        assert_eq!(c["requests"], json!({}));
        // Lockout forgotten, sessions forgotten.
        testing::login(&router, "usuario@exemplo.com", "s3nh4S3gur@").await;
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(&old)).await.json()["errorCode"],
            "AUTH_005"
        );
    }

    #[tokio::test]
    async fn counters_count_api_and_test_routes_only() {
        let (router, _) = testing::app();
        let (access, _) = login_maria(&router).await;
        get(&router, "/v1/cidadao/me", Some(&access)).await;
        get(&router, "/v1/cidadao/me", Some(&access)).await;
        get(&router, "/v1/cidadao/me", None).await;
        get(&router, "/__test/echo", Some("whatever")).await;
        get(&router, "/index.html", None).await;
        get(&router, "/pkg/authfetch_bg.wasm", None).await;
        get(&router, "/__control/config", None).await;
        let c = testing::counters(&router).await;
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "logins",
                "loginFailures",
                "refreshRequests",
                "refreshes",
                "refreshFailures",
                "reuseDetections",
                "requests",
                "bearerRequests",
                "preflights",
                "foreign"
            ]
        );
        assert_eq!(
            c["requests"],
            json!({"/__test/echo": 1, "/v1/auth/login": 1, "/v1/cidadao/me": 3})
        );
        assert_eq!(
            c["bearerRequests"],
            json!({"/__test/echo": 1, "/v1/cidadao/me": 2})
        );
        assert_eq!(
            c["foreign"],
            json!({"requests": 0, "withAuthorization": 0, "preflights": 0, "paths": {}})
        );
    }

    #[tokio::test]
    async fn redirect_answers_302_to_an_absolute_url_only() {
        let (router, _) = testing::app();
        let r = get(
            &router,
            "/__test/redirect?to=http://127.0.0.1:9/status/401",
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::FOUND);
        assert_eq!(r.headers[header::LOCATION], "http://127.0.0.1:9/status/401");
        let r = get(&router, "/__test/redirect?to=/relative", None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn grant_hands_out_the_token_asked_for() {
        let (router, _) = testing::app();
        let r = get(&router, "/__test/grant?access=a%0D%0Ab", None).await;
        assert_eq!(r.json()["accessToken"], "a\r\nb");
        assert_eq!(r.json()["expiresIn"], 3600);
        let r = get(&router, "/__test/grant?access=x&expiresIn=0", None).await;
        assert_eq!(r.json()["expiresIn"], 0);
    }

    #[tokio::test]
    async fn always_401_can_answer_a_huge_body() {
        let (router, _) = testing::app();
        let r = get(&router, "/__test/always-401?bodyBytes=200000", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.bytes.len(), 200_000);
        assert_eq!(r.json()["errorCode"], "AUTH_006");
        let r = get(
            &router,
            "/__test/always-401?bodyBytes=100000&chunked=1",
            None,
        )
        .await;
        assert_eq!(r.bytes.len(), 100_000);
        assert!(!r.headers.contains_key(header::CONTENT_LENGTH));
    }

    #[tokio::test]
    async fn always_401_and_echo() {
        let (router, _) = testing::app();
        let r = get(&router, "/__test/always-401", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let e = r.json();
        assert_eq!(
            (e["errorCode"].as_str(), e["message"].as_str()),
            (Some("AUTH_006"), Some("Token expirado"))
        );
        assert_eq!(e["path"], "/__test/always-401");
        let (access, _) = login_maria(&router).await;
        let r = get(&router, "/__test/always-401?code=AUTH_005", Some(&access)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["errorCode"], "AUTH_005");
        assert_eq!(r.json()["message"], "Token inválido");

        let body = b"\x00\x01binary\xff".to_vec();
        let request = Request::put("/__test/echo?a=1&b=2")
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(body.clone()))
            .unwrap();
        let echo = send(&router, request).await.json();
        assert_eq!(
            echo,
            json!({
                "method": "PUT",
                "path": "/__test/echo",
                "query": "a=1&b=2",
                "bearer": true,
                "contentType": "application/octet-stream",
                "bodyBytes": body.len(),
                "bodySha256": hex::encode(Sha256::digest(&body))
            })
        );
        assert!(!echo.to_string().contains(&access));
        let echo = get(&router, "/__test/echo", None).await.json();
        assert_eq!(
            (echo["bearer"].as_bool(), echo["query"].is_null()),
            (Some(false), true)
        );
        assert_eq!(
            echo["bodySha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[tokio::test]
    async fn without_test_controls_there_are_none() {
        let state = AppState::new(Settings::default(), false);
        let missing = std::path::Path::new("/nonexistent");
        let router = crate::app::main_router(state, missing, missing);
        for path in ["/__control/counters", "/__test/echo", "/__test/always-401"] {
            assert_eq!(
                get(&router, path, None).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        let r = post(&router, "/__control/reset", json!({}), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // The API itself is there.
        login_maria(&router).await;
    }

    #[tokio::test]
    async fn fail_login_applies_to_every_dialect_in_its_own_shape() {
        let (router, _) = testing::app();
        let logins = [
            (
                "/s000/auth/login",
                json!({"username": "integracao", "password": "s3nh4-integr@cao"}),
            ),
            (
                "/s001/auth/login",
                json!({"email": "user@exemplo.com", "password": "senha-nortus"}),
            ),
            (
                "/s002/auth/login",
                json!({"email_user": "thiago@thc.com", "password_user": "123455678"}),
            ),
            (
                "/s003/auth",
                json!({"email": "usuario@example.com", "password": "senha-coinpay"}),
            ),
            (
                "/v1/auth/login",
                json!({"email": "maria.oliveira@exemplo.com", "senha": "S3nh4F0rt3!"}),
            ),
        ];
        let r = post(
            &router,
            "/__control/fail-login",
            json!({"count": 5, "mode": "401"}),
            None,
        )
        .await;
        assert_eq!(r.json(), json!({"count": 5, "mode": "401"}));
        let mut bodies = vec![];
        for (path, creds) in &logins {
            let r = post(&router, path, creds.clone(), None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
            bodies.push(String::from_utf8(r.bytes.to_vec()).unwrap());
        }
        assert_eq!(bodies[0], r#"{"message":"Credenciais inválidas"}"#);
        assert_eq!(bodies[1], "");
        assert_eq!(bodies[2], r#"{"message":"Credenciais inválidas"}"#);
        assert_eq!(
            bodies[3],
            r#"{"error":"invalid_credentials","message":"Credenciais inválidas"}"#
        );
        assert!(
            bodies[4].contains(r#""errorCode":"AUTH_001""#),
            "{}",
            bodies[4]
        );
        assert!(bodies[4].contains(r#""statusCode":401"#), "{}", bodies[4]);
        // Used up: every login works again; nothing was locked.
        assert_eq!(
            get(&router, "/__control/fail-login", None).await.json(),
            json!({"count": 0, "mode": null})
        );
        for (path, creds) in &logins {
            let r = post(&router, path, creds.clone(), None).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
        }
        let c = testing::counters(&router).await;
        assert_eq!(
            (c["logins"].as_u64(), c["loginFailures"].as_u64()),
            (Some(5), Some(5))
        );
        // Every mode, and a drop asks for fresh connections as for refresh.
        for (mode, status) in [("500", 500), ("503", 503)] {
            post(
                &router,
                "/__control/fail-login",
                json!({"count": 1, "mode": mode}),
                None,
            )
            .await;
            let r = post(&router, logins[4].0, logins[4].1.clone(), None).await;
            assert_eq!(r.status.as_u16(), status);
        }
        let r = post(
            &router,
            "/__control/fail-login",
            json!({"count": 1, "mode": "drop"}),
            None,
        )
        .await;
        assert_eq!(r.headers[header::CONNECTION], "close");
        let r = post(
            &router,
            "/__control/fail-login",
            json!({"count": 1, "mode": "teapot"}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn expire_access_revoke_and_counters_cover_every_dialect() {
        let (router, state) = testing::app();
        let s000 = testing::login_token(
            &router,
            "/s000/auth/login",
            json!({"username": "integracao", "password": "s3nh4-integr@cao"}),
            "/access_token",
        )
        .await;
        let s001 = testing::login_token(
            &router,
            "/s001/auth/login",
            json!({"email": "user@exemplo.com", "password": "senha-nortus"}),
            "/token",
        )
        .await;
        let s002 = testing::login_token(
            &router,
            "/s002/auth/login",
            json!({"email_user": "thiago@thc.com", "password_user": "123455678"}),
            "/tokens/accessToken",
        )
        .await;
        let s003 = testing::login_token(
            &router,
            "/s003/auth",
            json!({"email": "usuario@example.com", "password": "senha-coinpay"}),
            "/access_token",
        )
        .await;
        let (v1, _) = login_maria(&router).await;
        let routes = [
            ("/s000/api/status", &s000),
            ("/s001/api/clientes", &s001),
            ("/s002/users/me", &s002),
            ("/s003/dados-pessoais", &s003),
            ("/v1/cidadao/me", &v1),
        ];
        for (path, token) in routes {
            assert_eq!(get(&router, path, Some(token)).await.status, StatusCode::OK);
        }
        let r = post(&router, "/__control/expire-access", json!({}), None).await;
        assert_eq!(r.json()["expiredAccessTokens"], 5);
        for (path, token) in routes {
            let r = get(&router, path, Some(token)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        }
        let r = post(&router, "/__control/revoke", json!({"all": true}), None).await;
        assert_eq!(r.json()["revokedFamilies"], 5);
        let c = testing::counters(&router).await;
        assert_eq!(c["logins"], 5);
        for (path, _) in routes {
            assert_eq!(c["requests"][path], 2, "{path}");
            assert_eq!(c["bearerRequests"][path], 2, "{path}");
        }
        assert_eq!(c["requests"]["/s003/auth"], 1);
        // The journal has them in order, without tokens.
        let j = get(&router, "/__control/journal", None).await;
        let text = String::from_utf8(j.bytes.to_vec()).unwrap();
        for (_, token) in routes {
            assert!(!text.contains(token.as_str()));
        }
        let entries = j.json()["requests"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 15);
        assert_eq!(
            entries[0],
            json!({"method": "POST", "path": "/s000/auth/login", "bearer": false})
        );
        assert_eq!(
            entries[5],
            json!({"method": "GET", "path": "/s000/api/status", "bearer": true})
        );
        state.reset();
        let j = get(&router, "/__control/journal", None).await.json();
        assert_eq!(j["requests"], json!([]));
    }
}
