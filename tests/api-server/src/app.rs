//! The main port's app: the dialects, the test routes and controls (with `--test-controls`),
//! the demo files, and one middleware that counts API requests and keeps connections fresh
//! while a `"drop"` refresh failure is armed.

use std::path::Path;

use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::any;
use axum::Router;

use crate::errors::ApiError;
use crate::state::AppState;
use crate::{controls, pgben, statics};

/// Path prefixes whose requests the counters count: the dialects and the test routes.
const COUNTED_PREFIXES: &[&str] = &["/v1", "/__test"];

/// The main port's router.
pub fn main_router(state: AppState, www: &Path, pkg: &Path) -> Router {
    let mut router = Router::new().nest("/v1", pgben::routes());
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
    if counted(path) {
        let bearer = bearer_token(request.headers()).is_some();
        let path = path.to_owned();
        state.with(|b| b.count_request(&path, bearer));
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
    fn counts_api_and_test_paths_only() {
        assert!(counted("/v1/cidadao/me"));
        assert!(counted("/v1"));
        assert!(counted("/__test/echo"));
        assert!(!counted("/v10/x"));
        assert!(!counted("/__control/counters"));
        assert!(!counted("/pkg/authfetch_bg.wasm"));
        assert!(!counted("/"));
    }
}
