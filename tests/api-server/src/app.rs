//! The main port's app: the dialects, the test routes and controls (with `--test-controls`),
//! the demo files, CORS for the `--cors-origin` origins (cors.rs), and one middleware that
//! counts API requests and keeps connections fresh while a `"drop"` refresh or login failure
//! is armed. Also the small pieces every dialect
//! shares: the bearer check and reading string fields from a JSON body.

use std::path::Path;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use serde_json::Value;

use crate::clock;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::tokens::{AccessClaims, AccessRejection, TokenStore};
use crate::{controls, cors, pgben, s000, s001, s002, s003, statics};

/// Path prefixes whose requests the counters count: the dialects and the test routes.
const COUNTED_PREFIXES: &[&str] = &["/v1", "/s000", "/s001", "/s002", "/s003", "/__test"];

/// The main port's router.
pub fn main_router(state: AppState, www: &Path, pkg: &Path) -> Router {
    let mut router = Router::new()
        .nest("/v1", pgben::routes())
        .nest("/s000", s000::routes())
        .nest("/s001", s001::routes())
        .nest("/s002", s002::routes())
        .nest("/s003", s003::routes());
    if state.test_controls {
        router = router
            .nest("/__control", controls::control_routes())
            .nest("/__test", controls::test_routes());
    } else {
        // Without the controls their paths are plain 404s, also for POST, which the static
        // file fallback would answer 405.
        router = router
            .route("/__control/{*rest}", any(not_found))
            .route("/__test/{*rest}", any(not_found));
    }
    statics::attach(router, www, pkg)
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        // Outermost, so that preflights (answered by the CORS layer) close their connection
        // too while a drop is armed.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_and_refresh,
        ))
        .with_state(state)
}

/// The token of an `Authorization: Bearer …` header (scheme case-insensitive, RFC 6750 §2.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks the request's bearer against `store` at the current time; no bearer is invalid.
pub fn authenticate(
    headers: &HeaderMap,
    store: &TokenStore,
) -> Result<AccessClaims, AccessRejection> {
    let token = bearer_token(headers).ok_or(AccessRejection::Invalid)?;
    store.verify_access(token, clock::now_ms())
}

/// The string fields `names` of a JSON object body, all of them, or `None` (not JSON, not an
/// object, a field missing or not a string).
pub fn json_strings<const N: usize>(body: &Bytes, names: [&str; N]) -> Option<[String; N]> {
    let value = serde_json::from_slice::<Value>(body).ok()?;
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = value.get(name)?.as_str()?.to_owned();
    }
    Some(out)
}

async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    ApiError::not_found().at(uri.path())
}

fn counted(path: &str) -> bool {
    COUNTED_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

async fn count_and_refresh(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let held = state.with(|b| b.page_delays.get(path).copied());
    if let Some(ms) = held {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    // Preflights are counted apart, in `preflights` (see cors.rs).
    if counted(path) && !cors::is_preflight(request.method(), request.headers()) {
        let bearer = bearer_token(request.headers()).is_some();
        let (method, path) = (request.method().as_str().to_owned(), path.to_owned());
        state.with(|b| b.count_request(&method, &path, bearer));
    }
    let mut response = next.run(request).await;
    if state.drop_pending() {
        // See serve.rs: the next dropped request must arrive on a fresh connection.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("Bearer ", None),
            ("Basic abc", None),
            ("Bearerabc", None),
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer_token(&h), want, "{value}");
        }
    }

    #[test]
    fn json_strings_wants_every_field_as_a_string() {
        let body = Bytes::from_static(br#"{"a":"x","b":"y","n":1}"#);
        assert_eq!(
            json_strings(&body, ["b", "a"]),
            Some(["y".into(), "x".into()])
        );
        assert_eq!(json_strings(&body, ["a", "n"]), None);
        assert_eq!(json_strings(&body, ["a", "c"]), None);
        assert_eq!(json_strings(&Bytes::from_static(b"nope"), ["a"]), None);
    }

    #[test]
    fn counts_api_and_test_paths_only() {
        assert!(counted("/v1/cidadao/me"));
        assert!(counted("/s000/api/status"));
        assert!(counted("/s003/auth"));
        assert!(!counted("/s0001/x"));
        assert!(counted("/v1"));
        assert!(counted("/__test/echo"));
        assert!(!counted("/v10/x"));
        assert!(!counted("/__control/counters"));
        assert!(!counted("/pkg/authfetch_bg.wasm"));
        assert!(!counted("/"));
    }
}
