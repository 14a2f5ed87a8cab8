//! Seed 002 (the Auth API with nested tokens) under `/s002`: login answers
//! `{tokens: {accessToken, refreshToken}, user: {…}}` (JWTs with `exp`/`iat`, no `expiresIn`);
//! `POST /auth/refresh-token {refreshToken}` answers a new pair and the essentials of the user;
//! refresh tokens are single use, with reuse detection. Errors are `{"message": "…"}` only.

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
use crate::errors::{injected_message as injected, message};
use crate::faults::{self, Endpoint};
use crate::serve::ConnHandle;
use crate::state::{AppState, Dialect};
use crate::tokens::{AccessRejection, TokenPair};

/// The seed's example user.
pub struct User {
    /// `id_user`, the tokens' `sub`.
    pub id: &'static str,
    name: &'static str,
    /// Login email.
    pub email: &'static str,
    password: &'static str,
    cpf: &'static str,
    role: &'static str,
}

/// The users (the seed's example request and answer).
pub static USERS: [User; 1] = [User {
    id: "61fd49d4-d018-4d1f-938f-c474ce999921",
    name: "Thiago",
    email: "thiago@thc.com",
    password: "123455678",
    cpf: "99091731079",
    role: "admin",
}];

fn user_by_id(id: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.id == id)
}

/// The `/s002` routes; nest them under `/s002`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh-token", post(refresh))
        .route("/users/me", get(me))
        .fallback(not_found)
}

const INVALID_CREDENTIALS: &str = "Credenciais inválidas";
const INVALID_REFRESH: &str = "Refresh token inválido";

/// The caller of a protected endpoint: a valid `/s002` access token and its user.
pub struct Caller(&'static User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let refused = |r| match r {
            AccessRejection::Expired => message(StatusCode::UNAUTHORIZED, "Token expirado"),
            AccessRejection::Invalid => message(StatusCode::UNAUTHORIZED, "Token inválido"),
        };
        let claims = authenticate(&parts.headers, &state.s002_tokens).map_err(refused)?;
        user_by_id(&claims.sub)
            .map(Caller)
            .ok_or_else(|| refused(AccessRejection::Invalid))
    }
}

fn tokens(pair: &TokenPair) -> Value {
    json!({ "accessToken": pair.access_token, "refreshToken": pair.refresh_token })
}

async fn login(
    State(state): State<AppState>,
    conn: Option<Extension<ConnHandle>>,
    body: Bytes,
) -> Response {
    if let Some(failure) = faults::gate(&state, Endpoint::Login, conn).await {
        return injected(failure, INVALID_CREDENTIALS);
    }
    let Some([email, password]) = json_strings(&body, ["email_user", "password_user"]) else {
        state.with(|b| b.count_login(false));
        return message(StatusCode::BAD_REQUEST, "Dados inválidos");
    };
    let user = USERS
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email.trim()) && u.password == password);
    state.with(|b| b.count_login(user.is_some()));
    let Some(user) = user else {
        return message(StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS);
    };
    // The seed's example payload: `id_user` and `role` besides `iat`/`exp`.
    let mut claims = Map::new();
    claims.insert("id_user".into(), user.id.into());
    claims.insert("role".into(), user.role.into());
    let life = state.settings().lifetimes(Dialect::S002);
    let pair = state
        .s002_tokens
        .issue(user.id, claims, life, clock::now_ms());
    Json(json!({
        "tokens": tokens(&pair),
        "user": {
            "id_user": user.id,
            "name_user": user.name,
            "email_user": user.email,
            "cpf_user": user.cpf,
            "role_user": user.role
        }
    }))
    .into_response()
}

async fn refresh(
    State(state): State<AppState>,
    conn: Option<Extension<ConnHandle>>,
    body: Bytes,
) -> Response {
    if let Some(failure) = faults::gate(&state, Endpoint::Refresh, conn).await {
        return injected(failure, INVALID_REFRESH);
    }
    let life = state.settings().lifetimes(Dialect::S002);
    let result = match json_strings(&body, ["refreshToken"]) {
        Some([token]) => state.s002_tokens.rotate(&token, life, clock::now_ms()),
        None => Err(crate::tokens::RefreshRejection::Invalid),
    };
    state.with(|b| b.count_refresh(result.as_ref().map(drop).map_err(|r| *r)));
    let pair = match result {
        Ok(pair) => pair,
        Err(_) => return message(StatusCode::UNAUTHORIZED, INVALID_REFRESH),
    };
    let user = state
        .s002_tokens
        .verify_access(&pair.access_token, clock::now_ms())
        .ok()
        .and_then(|claims| user_by_id(&claims.sub));
    let user = user.map_or(
        Value::Null,
        |u| json!({"id_user": u.id, "role_user": u.role}),
    );
    Json(json!({ "tokens": tokens(&pair), "user": user })).into_response()
}

async fn me(Caller(user): Caller) -> Json<Value> {
    Json(json!({
        "id_user": user.id,
        "name_user": user.name,
        "email_user": user.email,
        "cpf_user": user.cpf,
        "role_user": user.role
    }))
}

async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Recurso não encontrado")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, get, post};

    async fn login(router: &axum::Router) -> (String, String) {
        let r = post(
            router,
            "/s002/auth/login",
            json!({"email_user": "thiago@thc.com", "password_user": "123455678"}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.bytes);
        let b = r.json();
        (
            b["tokens"]["accessToken"].as_str().unwrap().to_owned(),
            b["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
        )
    }

    async fn refresh(router: &axum::Router, token: &str) -> testing::Reply {
        post(
            router,
            "/s002/auth/refresh-token",
            json!({ "refreshToken": token }),
            None,
        )
        .await
    }

    #[tokio::test]
    async fn login_answers_nested_tokens_and_the_user() {
        let (router, _) = testing::app();
        let r = post(
            &router,
            "/s002/auth/login",
            json!({"email_user": "thiago@thc.com", "password_user": "123455678"}),
            None,
        )
        .await;
        let b = r.json();
        assert_eq!(testing::keys(&b), ["tokens", "user"]);
        assert_eq!(testing::keys(&b["tokens"]), ["accessToken", "refreshToken"]);
        assert_eq!(
            b["user"],
            json!({
                "id_user": "61fd49d4-d018-4d1f-938f-c474ce999921",
                "name_user": "Thiago",
                "email_user": "thiago@thc.com",
                "cpf_user": "99091731079",
                "role_user": "admin"
            })
        );
        let claims = testing::jwt_payload(b["tokens"]["accessToken"].as_str().unwrap());
        assert_eq!(claims["id_user"], "61fd49d4-d018-4d1f-938f-c474ce999921");
        assert_eq!(claims["role"], "admin");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            7200
        );
        let access = b["tokens"]["accessToken"].as_str().unwrap();
        let me = get(&router, "/s002/users/me", Some(access)).await;
        assert_eq!(me.json(), b["user"]);

        let r = post(
            &router,
            "/s002/auth/login",
            json!({"email_user": "thiago@thc.com", "password_user": "x"}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json(), json!({"message": "Credenciais inválidas"}));
    }

    #[tokio::test]
    async fn refresh_rotates_and_reuse_revokes_the_family() {
        let (router, _) = testing::app();
        let (access, first) = login(&router).await;
        let r = refresh(&router, &first).await;
        assert_eq!(r.status, StatusCode::OK);
        let b = r.json();
        assert_eq!(testing::keys(&b), ["tokens", "user"]);
        assert_eq!(
            b["user"],
            json!({"id_user": "61fd49d4-d018-4d1f-938f-c474ce999921", "role_user": "admin"})
        );
        let second = b["tokens"]["refreshToken"].as_str().unwrap().to_owned();
        let fresh = b["tokens"]["accessToken"].as_str().unwrap().to_owned();
        assert_ne!(second, first);
        assert_ne!(fresh, access);
        // The first is used: presenting it again is reuse and kills the family.
        let r = refresh(&router, &first).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json(), json!({"message": "Refresh token inválido"}));
        let r = refresh(&router, &second).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = get(&router, "/s002/users/me", Some(&fresh)).await;
        assert_eq!(r.json(), json!({"message": "Token inválido"}));
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshes"], 1);
        assert_eq!(c["reuseDetections"], 1);
        assert_eq!(c["refreshFailures"], 2);
    }

    #[tokio::test]
    async fn expired_and_invalid_tokens_have_their_messages() {
        let (router, _) = testing::app();
        let (access, refresh_token) = login(&router).await;
        post(&router, "/__control/expire-access", json!({}), None).await;
        let r = get(&router, "/s002/users/me", Some(&access)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json(), json!({"message": "Token expirado"}));
        let r = get(&router, "/s002/users/me", Some("x.y.z")).await;
        assert_eq!(r.json(), json!({"message": "Token inválido"}));
        let r = get(&router, "/s002/users/me", None).await;
        assert_eq!(r.json(), json!({"message": "Token inválido"}));
        // The refresh token survives an expired access token.
        let r = refresh(&router, &refresh_token).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = post(&router, "/s002/auth/refresh-token", json!({}), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // fail-refresh "401" answers the dialect's own rejection and consumes nothing.
        let next = r.json();
        assert_eq!(next, json!({"message": "Refresh token inválido"}));
        let (_, token) = login(&router).await;
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 1, "mode": "401"}),
            None,
        )
        .await;
        let r = refresh(&router, &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json(), json!({"message": "Refresh token inválido"}));
        assert_eq!(refresh(&router, &token).await.status, StatusCode::OK);
    }
}
