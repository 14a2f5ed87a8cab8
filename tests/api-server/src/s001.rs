//! Seed 001 (Nortus) under `/s001`: `POST /auth/login {email, password}` answers `{token}`, an
//! HS256 JWT with `exp` and `iat` and nothing about its expiry besides. There is no refresh
//! endpoint: "renewal" is a new login. Protected routes answer a bare 401 (no body) once the
//! token is expired or invalid; the seed documents no error bodies, so none has one.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use crate::app::{authenticate, json_strings};
use crate::clock;
use crate::faults::{self, Endpoint, Injected};
use crate::serve::ConnHandle;
use crate::state::{AppState, Dialect};

/// The user (the seed's example email).
pub const EMAIL: &str = "user@exemplo.com";
const PASSWORD: &str = "senha-nortus";
/// The user's id: the token's `sub`.
pub const USER_ID: &str = "3f6c1a52-8e0b-4d7a-9c1e-2b5f7d9a0c11";

/// The `/s001` routes; nest them under `/s001`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/api/clientes", get(clientes))
        .fallback(not_found)
}

/// A status with an empty body.
fn bare(status: StatusCode) -> Response {
    status.into_response()
}

/// The caller of a protected endpoint: any valid `/s001` token.
pub struct Caller;

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        authenticate(&parts.headers, &state.s001_tokens)
            .map(|_| Caller)
            .map_err(|_| bare(StatusCode::UNAUTHORIZED))
    }
}

async fn login(
    State(state): State<AppState>,
    conn: Option<Extension<ConnHandle>>,
    body: Bytes,
) -> Response {
    match faults::gate(&state, Endpoint::Login, conn).await {
        Some(Injected::Status(503)) => return bare(StatusCode::SERVICE_UNAVAILABLE),
        Some(Injected::Status(_)) => return bare(StatusCode::INTERNAL_SERVER_ERROR),
        Some(Injected::Reject) => return bare(StatusCode::UNAUTHORIZED),
        None => {}
    }
    let Some([email, password]) = json_strings(&body, ["email", "password"]) else {
        state.with(|b| b.count_login(false));
        return bare(StatusCode::BAD_REQUEST);
    };
    let ok = email.trim().eq_ignore_ascii_case(EMAIL) && password == PASSWORD;
    state.with(|b| b.count_login(ok));
    if !ok {
        return bare(StatusCode::UNAUTHORIZED);
    }
    let mut claims = Map::new();
    claims.insert("email".into(), EMAIL.into());
    let life = state.settings().lifetimes(Dialect::S001);
    let pair = state
        .s001_tokens
        .issue(USER_ID, claims, life, clock::now_ms());
    Json(json!({ "token": pair.access_token })).into_response()
}

async fn clientes(_caller: Caller) -> Json<Value> {
    Json(json!([
        {"id": 1, "nome": "Mercado Bom Preço Ltda", "cidade": "Recife"},
        {"id": 2, "nome": "Padaria Pão Quente", "cidade": "Olinda"}
    ]))
}

async fn not_found() -> Response {
    bare(StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, get, post};

    async fn login(router: &axum::Router) -> String {
        let body = json!({"email": EMAIL, "password": PASSWORD});
        testing::login_token(router, "/s001/auth/login", body, "/token").await
    }

    #[tokio::test]
    async fn login_answers_only_a_jwt_with_exp_and_iat() {
        let (router, _) = testing::app();
        let r = post(
            &router,
            "/s001/auth/login",
            json!({"email": EMAIL, "password": PASSWORD}),
            None,
        )
        .await;
        let body = r.json();
        assert_eq!(testing::keys(&body), ["token"]);
        let claims = testing::jwt_payload(body["token"].as_str().unwrap());
        assert_eq!(claims["sub"], USER_ID);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
        let token = body["token"].as_str().unwrap();
        let r = get(&router, "/s001/api/clientes", Some(token)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()[0]["id"], 1);

        let r = post(
            &router,
            "/s001/auth/login",
            json!({"email": EMAIL, "password": "x"}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.bytes.is_empty());
        let r = post(&router, "/s001/auth/login", json!({"email": EMAIL}), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.bytes.is_empty());
        // No refresh endpoint.
        let r = post(&router, "/s001/auth/refresh", json!({}), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.bytes.is_empty());
    }

    #[tokio::test]
    async fn expired_or_invalid_is_a_bare_401_and_renewal_is_a_new_login() {
        let (router, _) = testing::app();
        let first = login(&router).await;
        post(&router, "/__control/expire-access", json!({}), None).await;
        for token in [Some(first.as_str()), Some("a.b.c"), None] {
            let r = get(&router, "/s001/api/clientes", token).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert!(r.bytes.is_empty(), "{:?}", r.bytes);
        }
        let second = login(&router).await;
        assert_eq!(
            get(&router, "/s001/api/clientes", Some(&second))
                .await
                .status,
            StatusCode::OK
        );
        post(&router, "/__control/revoke", json!({"all": true}), None).await;
        let r = get(&router, "/s001/api/clientes", Some(&second)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let c = testing::counters(&router).await;
        assert_eq!(c["logins"], 2);
        assert_eq!(c["refreshRequests"], 0);
    }

    #[tokio::test]
    async fn fail_login_is_the_only_way_to_refuse_a_renewal() {
        let (router, _) = testing::app();
        login(&router).await;
        post(
            &router,
            "/__control/fail-login",
            json!({"count": 2, "mode": "401"}),
            None,
        )
        .await;
        for _ in 0..2 {
            let r = post(
                &router,
                "/s001/auth/login",
                json!({"email": EMAIL, "password": PASSWORD}),
                None,
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert!(r.bytes.is_empty());
        }
        login(&router).await;
        post(
            &router,
            "/__control/fail-login",
            json!({"count": 1, "mode": 500}),
            None,
        )
        .await;
        let r = post(
            &router,
            "/s001/auth/login",
            json!({"email": EMAIL, "password": PASSWORD}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        let c = testing::counters(&router).await;
        assert_eq!(
            (c["logins"].as_u64(), c["loginFailures"].as_u64()),
            (Some(2), Some(3))
        );
    }
}
