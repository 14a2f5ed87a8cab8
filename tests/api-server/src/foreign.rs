//! The foreign port: a second origin for authfetch's allowlist tests. It answers anything,
//! with CORS that lets every origin send every header, so that a bearer leaked by the library
//! would really arrive here and be counted in `foreign.withAuthorization`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::CorsLayer;

use crate::state::AppState;

/// The foreign port's app; its counters live in `state`, read through the main port.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(answer)
        // Mirrors the preflight's origin, method and headers: `Access-Control-Allow-Headers: *`
        // would not do, since the Fetch standard never lets a wildcard cover `Authorization`.
        .layer(CorsLayer::very_permissive())
        // Outermost, so that preflights, which the CORS layer answers itself, are counted too.
        .layer(middleware::from_fn_with_state(state, count))
}

async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let authorization = request.headers().contains_key(header::AUTHORIZATION);
    let path = request.uri().path().to_owned();
    state.with(|b| {
        let foreign = &mut b.counters.foreign;
        foreign.requests += 1;
        foreign.with_authorization += u64::from(authorization);
        foreign.preflights += u64::from(preflight);
        *foreign.paths.entry(path).or_default() += 1;
    });
    next.run(request).await
}

/// Anything: 200 with what was asked, or — for `/status/<code>` — that status, with a body
/// that says `AUTH_005` (what would end a session if authfetch took it for the API's answer).
async fn answer(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let body = json!({
        "origin": "foreign",
        "path": uri.path(),
        "method": method.as_str(),
        "authorization": headers.contains_key(header::AUTHORIZATION),
        "errorCode": "AUTH_005"
    });
    let status = uri
        .path()
        .strip_prefix("/status/")
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Settings;
    use crate::testing::{self, send};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};

    #[tokio::test]
    async fn preflight_mirrors_headers_and_leaks_are_counted() {
        let state = AppState::new(Settings::default(), true);
        let foreign = router(state.clone());
        let preflight = Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/data")
            .header(header::ORIGIN, "http://127.0.0.1:8080")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap();
        let r = send(&foreign, preflight).await;
        assert!(r.status.is_success());
        assert_eq!(
            r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            r.headers[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization,content-type"
        );
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_METHODS], "POST");

        let leaked = Request::post("/api/data")
            .header(header::ORIGIN, "http://127.0.0.1:8080")
            .header(header::AUTHORIZATION, "Bearer secret")
            .body(Body::empty())
            .unwrap();
        let r = send(&foreign, leaked).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            r.json(),
            json!({"origin": "foreign", "path": "/api/data", "method": "POST", "authorization": true, "errorCode": "AUTH_005"})
        );
        let clean = Request::get("/x").body(Body::empty()).unwrap();
        assert_eq!(send(&foreign, clean).await.json()["authorization"], false);
        let refused = Request::get("/status/401").body(Body::empty()).unwrap();
        assert_eq!(
            send(&foreign, refused).await.status,
            StatusCode::UNAUTHORIZED
        );

        // Visible through the main port's counters.
        let missing = std::path::Path::new("/nonexistent");
        let main = crate::app::main_router(state, missing, missing);
        let c = testing::counters(&main).await;
        assert_eq!(
            c["foreign"],
            json!({
                "requests": 4,
                "withAuthorization": 1,
                "preflights": 1,
                "paths": {"/api/data": 2, "/x": 1, "/status/401": 1}
            })
        );
    }
}
