//! Seed 000 (the file-upload integration) under `/s000`: login answers `access_token` and
//! `expires_in`; the token is renewed with `GET /auth/tokenRefresh` carrying the current (still
//! valid) bearer; files go to `POST /api/envio` as multipart, and a 401 there aborts the upload.
//!
//! The seed gives no error bodies; this dialect answers `{"message": "…"}` without a code.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::app::{authenticate, bearer_token, json_strings};
use crate::clock;
use crate::errors::{injected_message as injected, message};
use crate::faults::{self, Endpoint};
use crate::form;
use crate::ids;
use crate::pgben::UPLOAD_LIMIT;
use crate::serve::ConnHandle;
use crate::state::{AppState, Dialect, Upload};
use crate::tokens::{AccessClaims, AccessRejection, RefreshRejection};

/// The one user of this integration (the seed's example is `seu_usuario`/`sua_senha`).
pub const USERNAME: &str = "integracao";
const PASSWORD: &str = "s3nh4-integr@cao";
/// The user's id: the tokens' `sub`.
pub const USER_ID: &str = "7d1e5c2a-4b3f-4e8a-9c6d-0a1b2c3d4e5f";

/// The upload endpoint's path, as recorded with each upload.
pub const UPLOAD_PATH: &str = "/s000/api/envio";

/// The `/s000` routes; nest them under `/s000`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/tokenRefresh", get(token_refresh))
        .route(
            "/api/envio",
            post(envio).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/api/status", get(status))
        .fallback(not_found)
}

fn rejection(r: AccessRejection) -> Response {
    match r {
        AccessRejection::Expired => message(StatusCode::UNAUTHORIZED, "Token expirado"),
        AccessRejection::Invalid => message(StatusCode::UNAUTHORIZED, "Token inválido"),
    }
}

/// The caller of a protected endpoint: a valid `/s000` access token.
pub struct Caller {
    claims: AccessClaims,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        authenticate(&parts.headers, &state.s000_tokens)
            .map(|claims| Caller { claims })
            .map_err(rejection)
    }
}

fn token_body(access_token: String, expires_in: u64) -> Json<Value> {
    Json(json!({ "access_token": access_token, "expires_in": expires_in }))
}

async fn login(
    State(state): State<AppState>,
    conn: Option<Extension<ConnHandle>>,
    body: Bytes,
) -> Response {
    if let Some(failure) = faults::gate(&state, Endpoint::Login, conn).await {
        return injected(failure, "Credenciais inválidas");
    }
    let Some([username, password]) = json_strings(&body, ["username", "password"]) else {
        state.with(|b| b.count_login(false));
        return message(StatusCode::BAD_REQUEST, "Dados inválidos");
    };
    let ok = username == USERNAME && password == PASSWORD;
    state.with(|b| b.count_login(ok));
    if !ok {
        return message(StatusCode::UNAUTHORIZED, "Credenciais inválidas");
    }
    let mut claims = Map::new();
    claims.insert("username".into(), USERNAME.into());
    let life = state.settings().lifetimes(Dialect::S000);
    let pair = state
        .s000_tokens
        .issue(USER_ID, claims, life, clock::now_ms());
    token_body(pair.access_token, pair.access_ttl_s).into_response()
}

async fn token_refresh(
    State(state): State<AppState>,
    conn: Option<Extension<ConnHandle>>,
    headers: HeaderMap,
) -> Response {
    if let Some(failure) = faults::gate(&state, Endpoint::Refresh, conn).await {
        return injected(failure, "Token inválido");
    }
    let life = state.settings().lifetimes(Dialect::S000);
    let result = match bearer_token(&headers) {
        Some(token) => state.s000_tokens.renew_access(token, life, clock::now_ms()),
        None => Err(AccessRejection::Invalid),
    };
    // A refused bearer is no refresh token: never a reuse.
    let outcome = result
        .as_ref()
        .map(drop)
        .map_err(|_| RefreshRejection::Invalid);
    state.with(|b| b.count_refresh(outcome));
    match result {
        Ok(access_token) => token_body(access_token, life.access_s).into_response(),
        Err(r) => rejection(r),
    }
}

async fn status(_caller: Caller) -> Json<Value> {
    Json(json!({ "status": "ok", "usuario": USERNAME }))
}

/// `POST /api/envio`: the first part with a file name is the file, whatever the part's name
/// (the seed names none). The form is read whole before the bearer's verdict (`form`); a 401
/// stores nothing.
async fn envio(
    State(state): State<AppState>,
    caller: Result<Caller, Response>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let parts = form::read(multipart).await;
    let caller = match caller {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let file = parts
        .into_iter()
        .flatten()
        .find_map(|p| Some((p.file_name?, p.content_type, p.bytes)));
    let Some((nome_arquivo, content_type, bytes)) = file else {
        return message(StatusCode::BAD_REQUEST, "Arquivo obrigatório");
    };
    let id = ids::uuid_v4();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let body = json!({
        "id": id,
        "nomeArquivo": nome_arquivo,
        "tamanhoBytes": bytes.len(),
        "contentType": content_type,
        "sha256": sha256,
        "status": "RECEBIDO"
    });
    let stored = Upload {
        id: id.clone(),
        path: UPLOAD_PATH,
        token: state.s000_tokens.issued(&caller.claims.jti),
        nome_arquivo,
        tipo_documento: None,
        content_type,
        sha256,
        bytes: bytes.to_vec(),
    };
    state.with(|b| b.uploads.insert(id, stored));
    Json(body).into_response()
}

async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Recurso não encontrado")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, get, multipart, post, send, upload_request};
    use axum::http::{header, Method};

    async fn login(router: &Router) -> String {
        let body = json!({"username": USERNAME, "password": PASSWORD});
        testing::login_token(router, "/s000/auth/login", body, "/access_token").await
    }

    #[tokio::test]
    async fn login_answers_access_token_and_expires_in_only() {
        let (router, _) = testing::app();
        let r = post(
            &router,
            "/s000/auth/login",
            json!({"username": USERNAME, "password": PASSWORD}),
            None,
        )
        .await;
        let body = r.json();
        assert_eq!(testing::keys(&body), ["access_token", "expires_in"]);
        assert_eq!(body["expires_in"], 3600);
        let claims = testing::jwt_payload(body["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], USER_ID);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );

        for (creds, status) in [
            (
                json!({"username": USERNAME, "password": "x"}),
                StatusCode::UNAUTHORIZED,
            ),
            (json!({"username": USERNAME}), StatusCode::BAD_REQUEST),
        ] {
            let r = post(&router, "/s000/auth/login", creds, None).await;
            assert_eq!(r.status, status);
            let e = r.json();
            assert_eq!(testing::keys(&e), ["message"]);
        }
        let c = testing::counters(&router).await;
        assert_eq!(
            (c["logins"].as_u64(), c["loginFailures"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(c["requests"]["/s000/auth/login"], 3);
    }

    #[tokio::test]
    async fn token_refresh_takes_the_current_bearer_and_refuses_an_expired_one() {
        let (router, _) = testing::app();
        let access = login(&router).await;
        let r = get(&router, "/s000/auth/tokenRefresh", Some(&access)).await;
        assert_eq!(r.status, StatusCode::OK);
        let body = r.json();
        assert_eq!(testing::keys(&body), ["access_token", "expires_in"]);
        let fresh = body["access_token"].as_str().unwrap().to_owned();
        assert_ne!(fresh, access);
        assert_eq!(
            testing::jwt_payload(&fresh)["sid"],
            testing::jwt_payload(&access)["sid"]
        );
        // Both work until they expire.
        for token in [&access, &fresh] {
            assert_eq!(
                get(&router, "/s000/api/status", Some(token)).await.status,
                StatusCode::OK
            );
        }
        // An expired bearer cannot be renewed: the seed renews only before expiry.
        post(&router, "/__control/expire-access", json!({}), None).await;
        for token in [&access, &fresh] {
            let r = get(&router, "/s000/auth/tokenRefresh", Some(token)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert_eq!(r.json(), json!({"message": "Token expirado"}));
            let r = get(&router, "/s000/api/status", Some(token)).await;
            assert_eq!(r.json(), json!({"message": "Token expirado"}));
        }
        let r = get(&router, "/s000/auth/tokenRefresh", None).await;
        assert_eq!(r.json(), json!({"message": "Token inválido"}));
        let r = get(&router, "/s000/auth/tokenRefresh", Some("a.b.c")).await;
        assert_eq!(r.json(), json!({"message": "Token inválido"}));
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshRequests"], 5);
        assert_eq!(c["refreshes"], 1);
        assert_eq!(c["refreshFailures"], 4);
        assert_eq!(c["reuseDetections"], 0);

        // Revoked: invalid, for the call and the renewal.
        let access = login(&router).await;
        post(&router, "/__control/revoke", json!({"all": true}), None).await;
        let r = get(&router, "/s000/auth/tokenRefresh", Some(&access)).await;
        assert_eq!(r.json(), json!({"message": "Token inválido"}));
    }

    #[tokio::test]
    async fn envio_stores_the_file_and_a_401_stores_nothing() {
        let (router, _) = testing::app();
        let access = login(&router).await;
        let file: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let (ct, body) = multipart(&[
            ("descricao", None, b"lote 1"),
            ("file", Some(("lote.csv", "text/csv")), &file),
        ]);
        let r = send(
            &router,
            upload_request(UPLOAD_PATH, &ct, body, Some(&access)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let doc = r.json();
        let sha = hex::encode(Sha256::digest(&file));
        assert_eq!(doc["nomeArquivo"], "lote.csv");
        assert_eq!(doc["tamanhoBytes"], file.len());
        assert_eq!(doc["sha256"], sha);
        let id = doc["id"].as_str().unwrap();
        let stored = get(&router, &format!("/__control/uploads/{id}"), None)
            .await
            .json();
        assert_eq!(stored["sha256"], sha);
        assert_eq!(stored["path"], UPLOAD_PATH);
        assert_eq!(stored["tokenIssuedBy"], "login");

        // With a renewed token the record says so.
        let fresh = get(&router, "/s000/auth/tokenRefresh", Some(&access))
            .await
            .json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (ct, body) = multipart(&[("arquivo", Some(("b.bin", "application/pdf")), b"x")]);
        let r = send(
            &router,
            upload_request(UPLOAD_PATH, &ct, body, Some(&fresh)),
        )
        .await;
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let stored = get(&router, &format!("/__control/uploads/{id}"), None)
            .await
            .json();
        assert_eq!(stored["tokenIssuedBy"], "refresh");

        // 401: aborted, nothing stored.
        post(&router, "/__control/expire-access", json!({}), None).await;
        let (ct, body) = multipart(&[("arquivo", Some(("c.txt", "text/plain")), b"y")]);
        let r = send(
            &router,
            upload_request(UPLOAD_PATH, &ct, body, Some(&fresh)),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json(), json!({"message": "Token expirado"}));
        let list = get(&router, "/__control/uploads", None).await.json();
        assert_eq!(list["uploads"].as_array().unwrap().len(), 2);

        // No file part.
        let access = login(&router).await;
        let (ct, body) = multipart(&[("descricao", None, b"sem arquivo")]);
        let r = send(
            &router,
            upload_request(UPLOAD_PATH, &ct, body, Some(&access)),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json(), json!({"message": "Arquivo obrigatório"}));
    }

    #[tokio::test]
    async fn faults_answer_in_the_message_shape() {
        let (router, _) = testing::app();
        let access = login(&router).await;
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 2, "mode": "401"}),
            None,
        )
        .await;
        for _ in 0..2 {
            let r = get(&router, "/s000/auth/tokenRefresh", Some(&access)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert_eq!(r.json(), json!({"message": "Token inválido"}));
        }
        // Nothing was consumed or revoked.
        assert_eq!(
            get(&router, "/s000/auth/tokenRefresh", Some(&access))
                .await
                .status,
            StatusCode::OK
        );
        post(
            &router,
            "/__control/fail-login",
            json!({"count": 1, "mode": "503"}),
            None,
        )
        .await;
        let r = post(
            &router,
            "/s000/auth/login",
            json!({"username": USERNAME, "password": PASSWORD}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(testing::keys(&r.json()), ["message"]);
        let r = send(
            &router,
            testing::request(Method::GET, "/s000/nao-existe", None, None),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshFailures"], 2);
        assert_eq!(c["refreshes"], 1);
        assert_eq!(c["loginFailures"], 1);
    }
}
