//! Seed 003 (Coinpay) under `/s003`: `POST /auth {email, password}` answers
//! `{access_token, refresh_token}` — a 15-minute access JWT and a 30-day refresh JWT, both with
//! `sub`, `iat`, `exp`, `aud` and `iss`; `POST /auth/refresh {refresh_token}` answers
//! `{access_token}` only: the refresh token is not rotated and stays valid until it expires.
//!
//! The seed gives no error bodies; this dialect answers `{"error": code, "message": text}`.

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
use crate::tokens::{AccessRejection, RefreshRejection};

/// The user: the seed's example email and payload (`sub`, `name`, `roles`).
pub const EMAIL: &str = "usuario@example.com";
const PASSWORD: &str = "senha-coinpay";
/// The user's id: the tokens' `sub`, the seed's example.
pub const USER_ID: &str = "1234567890";
const NAME: &str = "John Doe";

/// The `/s003` routes; nest them under `/s003`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/dados-pessoais", get(dados_pessoais))
        .fallback(not_found)
}

/// `{"error": code, "message": text}` with `status`.
fn error(status: StatusCode, code: &'static str, message: &'static str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

fn expired() -> Response {
    error(StatusCode::UNAUTHORIZED, "token_expired", "Token expirado")
}

fn invalid_token() -> Response {
    error(StatusCode::UNAUTHORIZED, "invalid_token", "Token inválido")
}

fn invalid_credentials() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Credenciais inválidas",
    )
}

fn invalid_refresh_token() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
        "Refresh token inválido ou expirado",
    )
}

fn injected(injected: Injected, refused: fn() -> Response) -> Response {
    match injected {
        Injected::Status(503) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Serviço temporariamente indisponível",
        ),
        Injected::Status(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Erro interno do servidor",
        ),
        Injected::Reject => refused(),
    }
}

/// The caller of a protected endpoint: a valid `/s003` access token.
pub struct Caller;

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match authenticate(&parts.headers, &state.s003_tokens) {
            Ok(_) => Ok(Caller),
            Err(AccessRejection::Expired) => Err(expired()),
            Err(AccessRejection::Invalid) => Err(invalid_token()),
        }
    }
}

async fn login(
    State(state): State<AppState>,
    conn: Option<Extension<ConnHandle>>,
    body: Bytes,
) -> Response {
    if let Some(failure) = faults::gate(&state, Endpoint::Login, conn).await {
        return injected(failure, invalid_credentials);
    }
    let Some([email, password]) = json_strings(&body, ["email", "password"]) else {
        state.with(|b| b.count_login(false));
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Informe email e password",
        );
    };
    let ok = email.trim().eq_ignore_ascii_case(EMAIL) && password == PASSWORD;
    state.with(|b| b.count_login(ok));
    if !ok {
        return invalid_credentials();
    }
    let mut claims = Map::new();
    claims.insert("name".into(), NAME.into());
    claims.insert("roles".into(), json!(["user"]));
    let life = state.settings().lifetimes(Dialect::S003);
    let pair = state
        .s003_tokens
        .issue(USER_ID, claims, life, clock::now_ms());
    Json(json!({ "access_token": pair.access_token, "refresh_token": pair.refresh_token }))
        .into_response()
}

async fn refresh(
    State(state): State<AppState>,
    conn: Option<Extension<ConnHandle>>,
    body: Bytes,
) -> Response {
    if let Some(failure) = faults::gate(&state, Endpoint::Refresh, conn).await {
        return injected(failure, invalid_refresh_token);
    }
    let life = state.settings().lifetimes(Dialect::S003);
    let result = match json_strings(&body, ["refresh_token"]) {
        Some([token]) => state.s003_tokens.rotate(&token, life, clock::now_ms()),
        None => Err(RefreshRejection::Invalid),
    };
    state.with(|b| b.count_refresh(result.as_ref().map(drop).map_err(|r| *r)));
    match result {
        // Not rotated: the answer has the new access token only.
        Ok(pair) => Json(json!({ "access_token": pair.access_token })).into_response(),
        Err(_) => invalid_refresh_token(),
    }
}

async fn dados_pessoais(_caller: Caller) -> Json<Value> {
    Json(json!({ "id": USER_ID, "nome": NAME, "email": EMAIL, "roles": ["user"] }))
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "Recurso não encontrado")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, get, post};

    async fn login(router: &axum::Router) -> (String, String) {
        let r = post(
            router,
            "/s003/auth",
            json!({"email": EMAIL, "password": PASSWORD}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.bytes);
        let b = r.json();
        assert_eq!(testing::keys(&b), ["access_token", "refresh_token"]);
        (
            b["access_token"].as_str().unwrap().to_owned(),
            b["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn refresh(router: &axum::Router, token: &str) -> testing::Reply {
        post(
            router,
            "/s003/auth/refresh",
            json!({ "refresh_token": token }),
            None,
        )
        .await
    }

    #[tokio::test]
    async fn login_answers_a_15_minute_access_and_a_30_day_refresh_jwt() {
        let (router, _) = testing::app();
        let (access, refresh_token) = login(&router).await;
        let a = testing::jwt_payload(&access);
        let r = testing::jwt_payload(&refresh_token);
        for claims in [&a, &r] {
            assert_eq!(claims["sub"], USER_ID);
            assert_eq!(claims["aud"], "http://api.example.com");
            assert_eq!(claims["iss"], "http://auth.example.com");
        }
        assert_eq!(a["name"], NAME);
        assert_eq!(a["roles"], json!(["user"]));
        let life = |c: &Value| c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap();
        assert_eq!(life(&a), 15 * 60);
        assert_eq!(life(&r), 30 * 24 * 3600);
        let me = get(&router, "/s003/dados-pessoais", Some(&access)).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json()["email"], EMAIL);

        // The control still sets the access lifetime.
        testing::config(&router, json!({"accessTtlSeconds": 30})).await;
        let (access, _) = login(&router).await;
        assert_eq!(life(&testing::jwt_payload(&access)), 30);

        let r = post(
            &router,
            "/s003/auth",
            json!({"email": EMAIL, "password": "x"}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.json(),
            json!({"error": "invalid_credentials", "message": "Credenciais inválidas"})
        );
    }

    #[tokio::test]
    async fn refresh_answers_an_access_token_only_and_does_not_rotate() {
        let (router, _) = testing::app();
        let (access, token) = login(&router).await;
        let mut seen = vec![access];
        for _ in 0..3 {
            let r = refresh(&router, &token).await;
            assert_eq!(r.status, StatusCode::OK);
            let b = r.json();
            assert_eq!(testing::keys(&b), ["access_token"]);
            let fresh = b["access_token"].as_str().unwrap().to_owned();
            assert!(!seen.contains(&fresh));
            assert_eq!(
                testing::jwt_payload(&fresh)["aud"],
                "http://api.example.com"
            );
            seen.push(fresh);
        }
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshes"], 3);
        assert_eq!(c["reuseDetections"], 0);
        let r = refresh(&router, "x.y.z").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["error"], "invalid_refresh_token");
        // An access token is no refresh token.
        let r = refresh(&router, &seen[0]).await;
        assert_eq!(r.json()["error"], "invalid_refresh_token");
    }

    #[tokio::test]
    async fn expired_and_invalid_tokens_have_their_codes() {
        let (router, _) = testing::app();
        let (access, token) = login(&router).await;
        post(&router, "/__control/expire-access", json!({}), None).await;
        let r = get(&router, "/s003/dados-pessoais", Some(&access)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.json(),
            json!({"error": "token_expired", "message": "Token expirado"})
        );
        let r = get(&router, "/s003/dados-pessoais", Some(&token)).await;
        assert_eq!(r.json()["error"], "invalid_token");
        // A PGBen token is not a Coinpay token.
        let (pgben, _) = testing::login_maria(&router).await;
        let r = get(&router, "/s003/dados-pessoais", Some(&pgben)).await;
        assert_eq!(r.json()["error"], "invalid_token");
        assert_eq!(refresh(&router, &token).await.status, StatusCode::OK);
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 1, "mode": "401"}),
            None,
        )
        .await;
        let r = refresh(&router, &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["error"], "invalid_refresh_token");
        post(&router, "/__control/revoke", json!({"all": true}), None).await;
        let r = refresh(&router, &token).await;
        assert_eq!(r.json()["error"], "invalid_refresh_token");
        let r = get(&router, "/s003/nada", None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.json()["error"], "not_found");
    }
}
