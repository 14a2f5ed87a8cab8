//! The PGBen dialect (seed `004_…`) under `/v1`: login with lockout, single-use refresh
//! tokens with reuse detection, the citizen, benefit, document, lookup and admin endpoints,
//! each answering the seed's example bodies with the calling user's values.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{
    DefaultBodyLimit, FromRequestParts, Multipart, OriginalUri, Path, Query, State,
};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::app::bearer_token;
use crate::clock;
use crate::errors::ApiError;
use crate::faults::{self, Endpoint, Injected};
use crate::form;
use crate::ids;
use crate::serve::ConnHandle;
use crate::state::{AppState, Bookkeeping, Dialect, Lockout, Upload};
use crate::tokens::{AccessClaims, AccessRejection, RefreshRejection, TokenPair};

/// Largest upload accepted, bytes: well above what a browser test sends, far below memory.
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// How long an account stays locked after too many wrong passwords (the seed's example:
/// `desbloqueioEm` is 30 minutes after the `timestamp`).
const LOCKOUT: Duration = Duration::from_secs(30 * 60);

/// A PGBen address.
#[derive(Debug)]
pub struct Endereco {
    id: &'static str,
    cep: &'static str,
    logradouro: &'static str,
    numero: &'static str,
    complemento: &'static str,
    bairro: &'static str,
    cidade: &'static str,
    uf: &'static str,
}

/// A user who can log in, with the citizen record `/v1/cidadao/me` shows.
#[derive(Debug)]
pub struct User {
    /// User id: the tokens' `sub`.
    pub id: &'static str,
    /// Full name.
    pub nome: &'static str,
    /// Login email.
    pub email: &'static str,
    senha: &'static str,
    /// Profiles (`CIDADAO`, `ADMIN`).
    pub perfis: &'static [&'static str],
    cpf: &'static str,
    data_nascimento: &'static str,
    telefone: &'static str,
    endereco: Endereco,
    data_criacao: &'static str,
}

/// The users of the README. Maria's record is the seed's citizen example; João is the seed's
/// login example (given his own id, since the seed reuses Maria's); the admin is the first
/// entry of the seed's user list.
pub static USERS: [User; 3] = [
    User {
        id: "550e8400-e29b-41d4-a716-446655440000",
        nome: "Maria Oliveira",
        email: "maria.oliveira@exemplo.com",
        senha: "S3nh4F0rt3!",
        perfis: &["CIDADAO"],
        cpf: "123.456.789-09",
        data_nascimento: "1985-05-15",
        telefone: "(11) 98765-4321",
        endereco: Endereco {
            id: "660e8400-e29b-41d4-a716-446655441111",
            cep: "01310-100",
            logradouro: "Avenida Paulista",
            numero: "1000",
            complemento: "Apto 101",
            bairro: "Bela Vista",
            cidade: "São Paulo",
            uf: "SP",
        },
        data_criacao: "2025-05-17T14:30:00Z",
    },
    User {
        id: "550e8400-e29b-41d4-a716-446655440001",
        nome: "João da Silva",
        email: "usuario@exemplo.com",
        senha: "s3nh4S3gur@",
        perfis: &["CIDADAO"],
        cpf: "987.654.321-00",
        data_nascimento: "1990-03-22",
        telefone: "(21) 99876-5432",
        endereco: Endereco {
            id: "660e8400-e29b-41d4-a716-446655441112",
            cep: "20040-020",
            logradouro: "Avenida Rio Branco",
            numero: "156",
            complemento: "Sala 1201",
            bairro: "Centro",
            cidade: "Rio de Janeiro",
            uf: "RJ",
        },
        data_criacao: "2025-05-10T09:00:00Z",
    },
    User {
        id: "110e8400-e29b-41d4-a716-446655447777",
        nome: "Administrador do Sistema",
        email: "admin@pgben.gov.br",
        senha: "Admin#2025",
        perfis: &["ADMIN"],
        cpf: "111.222.333-96",
        data_nascimento: "1975-09-30",
        telefone: "(61) 3333-4444",
        endereco: Endereco {
            id: "660e8400-e29b-41d4-a716-446655449999",
            cep: "70040-010",
            logradouro: "Esplanada dos Ministérios",
            numero: "Bloco A",
            complemento: "Sala 100",
            bairro: "Zona Cívico-Administrativa",
            cidade: "Brasília",
            uf: "DF",
        },
        data_criacao: "2024-01-01T00:00:00Z",
    },
];

fn user_by_email(email: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.email.eq_ignore_ascii_case(email))
}

fn user_by_id(id: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.id == id)
}

fn user_by_cpf(cpf: &str) -> Option<&'static User> {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let wanted = digits(cpf);
    USERS.iter().find(|u| digits(u.cpf) == wanted)
}

/// The `/v1` routes; nest them under `/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh-token", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/cidadao", post(create_cidadao))
        .route("/cidadao/me", get(me))
        .route("/meus-dados", get(me))
        .route("/beneficio/solicitar", post(solicitar))
        .route("/beneficio/meus-beneficios", get(meus_beneficios))
        .route(
            "/documento/upload",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/consulta/situacao-cadastral", get(situacao_cadastral))
        .route("/admin/usuarios", get(admin_usuarios))
        .route(
            "/admin/beneficio/{id}/status",
            patch(admin_beneficio_status),
        )
        .fallback(not_found)
}

/// The caller of a protected endpoint: a valid PGBen access token and its user. Rejects with
/// 401 `AUTH_005` or `AUTH_006`.
pub struct Caller {
    /// The token's claims.
    pub claims: AccessClaims,
    /// The token's user.
    pub user: &'static User,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |u| u.0.path())
            .to_owned();
        let Some(token) = bearer_token(&parts.headers) else {
            return Err(ApiError::invalid_token().at(&path));
        };
        match state.pgben_tokens.verify_access(token, clock::now_ms()) {
            Ok(claims) => match user_by_id(&claims.sub) {
                Some(user) => Ok(Caller { claims, user }),
                None => Err(ApiError::invalid_token().at(&path)),
            },
            Err(AccessRejection::Expired) => Err(ApiError::expired_token().at(&path)),
            Err(AccessRejection::Invalid) => Err(ApiError::invalid_token().at(&path)),
        }
    }
}

fn token_body(pair: &TokenPair) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("accessToken".into(), pair.access_token.clone().into());
    body.insert("refreshToken".into(), pair.refresh_token.clone().into());
    body.insert("expiresIn".into(), pair.access_ttl_s.into());
    body.insert("tipoToken".into(), "Bearer".into());
    body
}

/// The refresh token's cookie in cookie mode (seed 004's advice: "Armazene o refresh token em
/// HTTP-Only cookies"). Scoped to the auth endpoints, so that it never rides along with API
/// calls, and `SameSite=Strict`, so that no other site can make the browser send it.
pub const REFRESH_COOKIE: &str = "pgben_refresh";
const COOKIE_ATTRIBUTES: &str = "HttpOnly; SameSite=Strict; Path=/v1/auth";

/// Whether the request reached us over https: directly (an absolute `https:` request target)
/// or through a proxy that says so (`X-Forwarded-Proto: https`, `Forwarded: proto=https`).
fn over_https(uri: &Uri, headers: &HeaderMap) -> bool {
    let says_https = |name: header::HeaderName, needle: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains(needle))
        })
    };
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
        || says_https(header::FORWARDED, "proto=https")
}

/// `Set-Cookie` for `token`; an empty token clears the cookie (`Max-Age=0`).
fn set_cookie(token: &str, secure: bool) -> Option<HeaderValue> {
    let clear = if token.is_empty() { "; Max-Age=0" } else { "" };
    let secure = if secure { "; Secure" } else { "" };
    // A JWT is base64url and dots: always a valid header value; None only for a bug.
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={token}; {COOKIE_ATTRIBUTES}{clear}{secure}"
    ))
    .ok()
}

/// The value of the cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// A login or refresh answer: in cookie mode the refresh token goes into the cookie and out of
/// the body.
fn token_answer(
    pair: &TokenPair,
    extra: Option<(&str, Value)>,
    cookie_mode: bool,
    secure: bool,
) -> Response {
    let mut body = token_body(pair);
    if let Some((key, value)) = extra {
        body.insert(key.to_owned(), value);
    }
    if !cookie_mode {
        return Json(body).into_response();
    }
    // shift_remove: keep the seed's field order (remove would swap the last field in).
    body.shift_remove("refreshToken");
    match set_cookie(&pair.refresh_token, secure) {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], Json(body)).into_response(),
        None => ApiError::internal().at("/v1/auth"),
    }
}

/// Answers an injected failure of the login or refresh endpoint in PGBen's shape.
fn injected(injected: Injected, rejection: ApiError, path: &str) -> Response {
    match injected {
        Injected::Status(503) => ApiError::unavailable().at(path),
        Injected::Status(_) => ApiError::internal().at(path),
        Injected::Reject => rejection.at(path),
    }
}

async fn login(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    conn: Option<Extension<ConnHandle>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if let Some(failure) = faults::gate(&state, Endpoint::Login, conn).await {
        // Mode "401": the credentials refused, with a 401 instead of the usual 400.
        let refused = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Credenciais inválidas",
            "AUTH_001",
        );
        return injected(failure, refused, path);
    }
    let now = clock::now_ms();
    let credentials = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        let email = v.get("email")?.as_str()?.trim().to_lowercase();
        let senha = v.get("senha")?.as_str()?.to_owned();
        Some((email, senha))
    });
    let Some((email, senha)) = credentials else {
        state.with(|b| b.counters.login_failures += 1);
        return ApiError::invalid_credentials().at(path);
    };
    let user = user_by_email(&email).filter(|u| u.senha == senha);
    let judged = state.with(|b| judge_login(b, &email, user, now));
    let user = match judged {
        Ok(user) => user,
        Err(e) => return e.at(path),
    };
    let mut claims = Map::new();
    claims.insert("email".into(), user.email.into());
    claims.insert("perfis".into(), json!(user.perfis));
    let settings = state.settings();
    let pair = state
        .pgben_tokens
        .issue(user.id, claims, settings.lifetimes(Dialect::PgBen), now);
    let usuario =
        json!({"id": user.id, "nome": user.nome, "email": user.email, "perfis": user.perfis});
    token_answer(
        &pair,
        Some(("usuario", usuario)),
        settings.refresh_cookie,
        over_https(&uri, &headers),
    )
}

/// Decides a login attempt for `email` (lower-cased); `user` is the user whose password
/// matched, if any. Counts and locks as the README says.
fn judge_login(
    book: &mut Bookkeeping,
    email: &str,
    user: Option<&'static User>,
    now_ms: u64,
) -> Result<&'static User, ApiError> {
    let max = book.settings.max_failed_logins;
    let lock = book.lockouts.entry(email.to_owned()).or_default();
    if let Some(until) = lock.locked_until_ms {
        if now_ms < until {
            book.counters.login_failures += 1;
            return Err(ApiError::account_locked(clock::iso_millis(until)));
        }
        *lock = Lockout::default();
    }
    if let Some(user) = user {
        *lock = Lockout::default();
        book.counters.logins += 1;
        return Ok(user);
    }
    lock.failures += 1;
    book.counters.login_failures += 1;
    if max > 0 && lock.failures >= max {
        let until = now_ms.saturating_add(LOCKOUT.as_millis() as u64);
        lock.locked_until_ms = Some(until);
        return Err(ApiError::account_locked(clock::iso_millis(until)));
    }
    Err(ApiError::invalid_credentials())
}

async fn refresh(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    conn: Option<Extension<ConnHandle>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if let Some(failure) = faults::gate(&state, Endpoint::Refresh, conn).await {
        let mut answer = injected(failure, ApiError::invalid_refresh_token(), path);
        // `fail-refresh` with `retryAfter`: the 500/503 says when to come back.
        let retry_after = state.with(|b| b.refresh_retry_after_s);
        if let (Some(s), Injected::Status(_)) = (retry_after, failure) {
            if let Ok(value) = axum::http::HeaderValue::from_str(&s.to_string()) {
                answer
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        return answer;
    }
    let settings = state.settings();
    let from_body = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("refreshToken")?.as_str().map(str::to_owned));
    // Cookie mode: a body without a refresh token (none at all, as authfetch sends) means the
    // cookie's.
    let from_cookie = from_body.is_none() && settings.refresh_cookie;
    let presented = from_body.or_else(|| {
        from_cookie
            .then(|| cookie(&headers, REFRESH_COOKIE).map(str::to_owned))
            .flatten()
    });
    let result = match presented {
        Some(token) => {
            state
                .pgben_tokens
                .rotate(&token, settings.lifetimes(Dialect::PgBen), clock::now_ms())
        }
        None => Err(RefreshRejection::Invalid),
    };
    state.with(|b| b.count_refresh(result.as_ref().map(drop).map_err(|r| *r)));
    let secure = over_https(&uri, &headers);
    match result {
        Ok(pair) => token_answer(&pair, None, settings.refresh_cookie, secure),
        Err(_) => {
            let mut answer = ApiError::invalid_refresh_token().at(path);
            // A refused cookie is useless: tell the browser to drop it.
            if from_cookie {
                if let Some(clear) = set_cookie("", secure) {
                    answer.headers_mut().insert(header::SET_COOKIE, clear);
                }
            }
            answer
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    caller: Caller,
) -> Response {
    state.pgben_tokens.revoke_family(&caller.claims.sid);
    let mut answer = StatusCode::NO_CONTENT.into_response();
    if state.settings().refresh_cookie {
        if let Some(clear) = set_cookie("", over_https(&uri, &headers)) {
            answer.headers_mut().insert(header::SET_COOKIE, clear);
        }
    }
    answer
}

async fn create_cidadao(OriginalUri(uri): OriginalUri, body: Bytes) -> Response {
    let Ok(Value::Object(posted)) = serde_json::from_slice::<Value>(&body) else {
        return ApiError::invalid_data("Dados inválidos").at(uri.path());
    };
    let mut out = Map::new();
    out.insert("id".into(), ids::uuid_v4().into());
    for (key, value) in posted {
        match (key.as_str(), value) {
            ("senha" | "id" | "dataCriacao" | "status", _) => {}
            ("endereco", Value::Object(endereco)) => {
                let mut with_id = Map::new();
                with_id.insert("id".into(), ids::uuid_v4().into());
                with_id.extend(endereco.into_iter().filter(|(k, _)| k != "id"));
                out.insert(key, Value::Object(with_id));
            }
            (_, value) => {
                out.insert(key, value);
            }
        }
    }
    out.insert(
        "dataCriacao".into(),
        clock::iso_seconds(clock::now_ms()).into(),
    );
    out.insert("status".into(), "ATIVO".into());
    (StatusCode::CREATED, Json(out)).into_response()
}

fn citizen_body(user: &User) -> Value {
    let e = &user.endereco;
    json!({
        "id": user.id,
        "nomeCompleto": user.nome,
        "cpf": user.cpf,
        "dataNascimento": user.data_nascimento,
        "email": user.email,
        "telefone": user.telefone,
        "endereco": {
            "id": e.id,
            "cep": e.cep,
            "logradouro": e.logradouro,
            "numero": e.numero,
            "complemento": e.complemento,
            "bairro": e.bairro,
            "cidade": e.cidade,
            "uf": e.uf
        },
        "dataCriacao": user.data_criacao,
        "status": "ATIVO"
    })
}

async fn me(caller: Caller) -> Json<Value> {
    Json(citizen_body(caller.user))
}

async fn solicitar(State(state): State<AppState>, _caller: Caller, body: Bytes) -> Response {
    // The seed's body is the usual one, but any body is accepted: browser tests replay
    // arbitrary bodies here.
    let tipo = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("tipoBeneficio")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "AUXILIO_EMERGENCIAL".to_owned());
    let now = clock::now_ms();
    let date = clock::iso_seconds(now);
    let number = state.with(|b| {
        b.protocols_issued += 1;
        b.protocols_issued
    });
    let protocolo = format!("PGB{}{:04}", date[..10].replace('-', ""), number);
    let body = json!({
        "id": ids::uuid_v4(),
        "protocolo": protocolo,
        "tipoBeneficio": tipo,
        "status": "EM_ANALISE",
        "dataSolicitacao": date,
        "mensagem": "Sua solicitação foi recebida e está em análise"
    });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// `pagina` and `itensPorPagina` from the query, defaulting to the seed's 1 and 10.
fn paging(uri: &Uri) -> (u64, u64) {
    let query = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let number = |key: &str, default: u64| {
        query
            .get(key)
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    (number("pagina", 1), number("itensPorPagina", 10))
}

async fn meus_beneficios(_caller: Caller, OriginalUri(uri): OriginalUri) -> Json<Value> {
    let (pagina, itens_por_pagina) = paging(&uri);
    Json(json!({
        "itens": [
            {
                "id": "990e8400-e29b-41d4-a716-446655444444",
                "protocolo": "PGB202505170001",
                "tipoBeneficio": "AUXILIO_EMERGENCIAL",
                "status": "CONCEDIDO",
                "valor": 600.00,
                "dataSolicitacao": "2025-05-10T10:15:00Z",
                "dataConcessao": "2025-05-12T14:30:00Z",
                "dataInicio": "2025-06-01T00:00:00Z",
                "dataFim": "2025-08-31T23:59:59Z"
            },
            {
                "id": "aa0e8400-e29b-41d4-a716-446655445555",
                "protocolo": "PGB202503150042",
                "tipoBeneficio": "BOLSA_FAMILIA",
                "status": "CANCELADO",
                "valor": 350.00,
                "dataSolicitacao": "2025-03-15T09:30:00Z",
                "dataConcessao": "2025-03-20T11:45:00Z",
                "dataInicio": "2025-04-01T00:00:00Z",
                "dataFim": "2024-05-15T23:59:59Z",
                "motivoCancelamento": "Inatividade superior a 6 meses"
            }
        ],
        "totalItens": 2,
        "pagina": pagina,
        "itensPorPagina": itens_por_pagina
    }))
}

/// `POST /v1/documento/upload`: the file is the `arquivo` part, `tipoDocumento` the other field.
/// The form is read whole before the bearer's verdict (`form`).
async fn upload(
    State(state): State<AppState>,
    caller: Result<Caller, Response>,
    OriginalUri(uri): OriginalUri,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let path = uri.path();
    let parts = form::read(multipart).await;
    let caller = match caller {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let parts = parts.unwrap_or_default();
    let named = |name: &str| parts.iter().rfind(|p| p.name.as_deref() == Some(name));
    let tipo_documento =
        named("tipoDocumento").and_then(|p| String::from_utf8(p.bytes.to_vec()).ok());
    let Some(file) = named("arquivo") else {
        return ApiError::invalid_data("Arquivo obrigatório").at(path);
    };
    let nome_arquivo = file
        .file_name
        .clone()
        .unwrap_or_else(|| "arquivo".to_owned());
    let (content_type, bytes) = (file.content_type.clone(), file.bytes.clone());
    let id = ids::uuid_v4();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let extension = nome_arquivo
        .rsplit_once('.')
        .map(|(_, ext)| format!(".{ext}"))
        .unwrap_or_default();
    let body = json!({
        "id": id,
        "nomeArquivo": nome_arquivo,
        "tipoDocumento": tipo_documento,
        "tamanhoBytes": bytes.len(),
        "contentType": content_type,
        "urlDownload": format!("https://storage.pgben.gov.br/documentos/{id}{extension}"),
        "dataUpload": clock::iso_seconds(clock::now_ms()),
        "status": "VALIDO",
        "sha256": sha256
    });
    let stored = Upload {
        id: id.clone(),
        path: "/v1/documento/upload",
        token: state.pgben_tokens.issued(&caller.claims.jti),
        nome_arquivo,
        tipo_documento,
        content_type,
        sha256,
        bytes: bytes.to_vec(),
    };
    state.with(|b| b.uploads.insert(id, stored));
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn situacao_cadastral(caller: Caller, OriginalUri(uri): OriginalUri) -> Json<Value> {
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    // The citizen with that CPF; without one, or for an unknown one, the caller.
    let user = query
        .get("cpf")
        .and_then(|cpf| user_by_cpf(cpf))
        .unwrap_or(caller.user);
    Json(json!({
        "cpf": user.cpf,
        "nome": user.nome.to_uppercase(),
        "situacaoCadastral": "REGULAR",
        "mensagem": "Cidadão apto a receber benefícios",
        "beneficiosAtivos": [
            {
                "tipoBeneficio": "AUXILIO_EMERGENCIAL",
                "dataInicio": "2025-06-01",
                "dataFim": "2025-08-31",
                "valor": 600.00,
                "status": "CONCEDIDO"
            }
        ]
    }))
}

fn require_admin(caller: &Caller, permissao: &'static str) -> Result<(), ApiError> {
    if caller.user.perfis.contains(&"ADMIN") {
        Ok(())
    } else {
        Err(ApiError::forbidden(permissao))
    }
}

async fn admin_usuarios(caller: Caller, OriginalUri(uri): OriginalUri) -> Response {
    if let Err(denied) = require_admin(&caller, "USUARIO_LISTAR") {
        return denied.at(uri.path());
    }
    let (pagina, itens_por_pagina) = paging(&uri);
    Json(json!({
        "itens": [
            {
                "id": "110e8400-e29b-41d4-a716-446655447777",
                "nome": "Administrador do Sistema",
                "email": "admin@pgben.gov.br",
                "perfis": ["ADMIN"],
                "dataCriacao": "2024-01-01T00:00:00Z",
                "ultimoAcesso": "2025-05-17T14:30:00Z",
                "status": "ATIVO"
            },
            {
                "id": "220e8400-e29b-41d4-a716-446655448888",
                "nome": "Analista de Benefícios",
                "email": "analista@pgben.gov.br",
                "perfis": ["ANALISTA"],
                "dataCriacao": "2024-01-15T00:00:00Z",
                "ultimoAcesso": "2025-05-17T13:45:00Z",
                "status": "ATIVO"
            }
        ],
        "totalItens": 2,
        "pagina": pagina,
        "itensPorPagina": itens_por_pagina
    }))
    .into_response()
}

async fn admin_beneficio_status(
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(denied) = require_admin(&caller, "BENEFICIO_APROVAR") {
        return denied.at(uri.path());
    }
    let novo_status = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("novoStatus")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "CANCELADO".to_owned());
    Json(json!({
        "id": id,
        "protocolo": "PGB202505170001",
        "statusAnterior": "EM_ANALISE",
        "novoStatus": novo_status,
        "dataAtualizacao": clock::iso_seconds(clock::now_ms()),
        "mensagem": "Status do benefício atualizado com sucesso"
    }))
    .into_response()
}

async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    ApiError::not_found().at(uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Settings;
    use crate::testing::{self, get, login_maria, multipart, post, send};
    use axum::body::Body;
    use axum::http::{header, Method, Request};

    const MARIA: &str = "maria.oliveira@exemplo.com";

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[tokio::test]
    async fn login_answers_the_seed_body_for_the_user() {
        let (router, state) = testing::app();
        let reply = post(
            &router,
            "/v1/auth/login",
            json!({"email": "usuario@exemplo.com", "senha": "s3nh4S3gur@"}),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        let body = reply.json();
        assert_eq!(
            keys(&body),
            [
                "accessToken",
                "refreshToken",
                "expiresIn",
                "tipoToken",
                "usuario"
            ]
        );
        assert_eq!(body["expiresIn"], 3600);
        assert_eq!(body["tipoToken"], "Bearer");
        assert_eq!(
            body["usuario"],
            json!({
                "id": "550e8400-e29b-41d4-a716-446655440001",
                "nome": "João da Silva",
                "email": "usuario@exemplo.com",
                "perfis": ["CIDADAO"]
            })
        );
        let claims = state
            .pgben_tokens
            .verify_access(body["accessToken"].as_str().unwrap(), clock::now_ms())
            .unwrap();
        assert_eq!(claims.sub, "550e8400-e29b-41d4-a716-446655440001");
        assert_eq!(claims.iss, "PGBen API");
        assert_eq!(claims.extra["email"], "usuario@exemplo.com");
        assert_eq!(claims.extra["perfis"], json!(["CIDADAO"]));
        assert_eq!(claims.exp - claims.iat, 3600);
        // The email is matched case-insensitively.
        testing::login(&router, "MARIA.Oliveira@exemplo.com", "S3nh4F0rt3!").await;
        let c = testing::counters(&router).await;
        assert_eq!(
            (c["logins"].as_u64(), c["loginFailures"].as_u64()),
            (Some(2), Some(0))
        );
    }

    #[tokio::test]
    async fn bad_logins_answer_auth_001() {
        let (router, _) = testing::app();
        for body in [
            json!({"email": MARIA, "senha": "errada"}),
            json!({"email": "ninguem@exemplo.com", "senha": "S3nh4F0rt3!"}),
            json!({"email": MARIA}),
            json!({"email": MARIA, "senha": 42}),
            json!(["not", "an", "object"]),
        ] {
            let reply = post(&router, "/v1/auth/login", body.clone(), None).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
            let e = reply.json();
            assert_eq!(
                keys(&e),
                ["statusCode", "timestamp", "path", "message", "errorCode"]
            );
            assert_eq!(e["statusCode"], 400);
            assert_eq!(e["path"], "/v1/auth/login");
            assert_eq!(e["message"], "Credenciais inválidas");
            assert_eq!(e["errorCode"], "AUTH_001");
            assert!(humantime::parse_rfc3339(e["timestamp"].as_str().unwrap()).is_ok());
        }
        let raw = Request::post("/v1/auth/login")
            .body(Body::from("email=x&senha=y"))
            .unwrap();
        let reply = send(&router, raw).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.json()["errorCode"], "AUTH_001");
        let c = testing::counters(&router).await;
        assert_eq!(c["loginFailures"], 6);
        assert_eq!(c["logins"], 0);
        assert_eq!(c["requests"]["/v1/auth/login"], 6);
    }

    #[tokio::test]
    async fn lockout_after_max_failed_logins() {
        let (router, _) = testing::app_with(Settings {
            max_failed_logins: 3,
            ..Settings::default()
        });
        let wrong = json!({"email": MARIA, "senha": "errada"});
        for _ in 0..2 {
            let reply = post(&router, "/v1/auth/login", wrong.clone(), None).await;
            assert_eq!(reply.json()["errorCode"], "AUTH_001");
        }
        let before = clock::now_ms();
        let reply = post(&router, "/v1/auth/login", wrong.clone(), None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        let locked = reply.json();
        assert_eq!(
            keys(&locked),
            [
                "statusCode",
                "timestamp",
                "path",
                "message",
                "errorCode",
                "tentativasRestantes",
                "desbloqueioEm"
            ]
        );
        assert_eq!(
            locked["message"],
            "Conta bloqueada por excesso de tentativas"
        );
        assert_eq!(locked["errorCode"], "AUTH_003");
        assert_eq!(locked["tentativasRestantes"], 0);
        let until = humantime::parse_rfc3339(locked["desbloqueioEm"].as_str().unwrap()).unwrap();
        let until_ms = until
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(until_ms >= before + 30 * 60 * 1000 - 1000);
        assert!(until_ms <= clock::now_ms() + 30 * 60 * 1000);

        // Now even the right password answers the same lock.
        let right = json!({"email": MARIA, "senha": "S3nh4F0rt3!"});
        let again = post(&router, "/v1/auth/login", right, None).await;
        assert_eq!(again.status, StatusCode::FORBIDDEN);
        assert_eq!(again.json()["desbloqueioEm"], locked["desbloqueioEm"]);
        // Other accounts are not affected.
        testing::login(&router, "usuario@exemplo.com", "s3nh4S3gur@").await;
    }

    #[test]
    fn lock_lifts_after_thirty_minutes_and_success_resets_the_count() {
        let mut book = Bookkeeping {
            settings: Settings {
                max_failed_logins: 2,
                ..Settings::default()
            },
            ..Bookkeeping::default()
        };
        let maria = user_by_email(MARIA);
        let t0 = 1_700_000_000_000;
        assert!(judge_login(&mut book, MARIA, None, t0).is_err());
        assert!(judge_login(&mut book, MARIA, maria, t0).is_ok());
        // The success reset the count: one more failure does not lock.
        let e = judge_login(&mut book, MARIA, None, t0).unwrap_err();
        assert_eq!(e.body("/", t0)["errorCode"], "AUTH_001");
        let e = judge_login(&mut book, MARIA, None, t0).unwrap_err();
        assert_eq!(e.body("/", t0)["errorCode"], "AUTH_003");
        assert_eq!(
            e.body("/", t0)["desbloqueioEm"],
            clock::iso_millis(t0 + 1_800_000)
        );
        assert!(judge_login(&mut book, MARIA, maria, t0 + 1_799_999).is_err());
        assert!(judge_login(&mut book, MARIA, maria, t0 + 1_800_000).is_ok());
        assert_eq!(book.counters.logins, 2);
        assert_eq!(book.counters.login_failures, 4);
    }

    #[tokio::test]
    async fn refresh_rotates_and_reuse_revokes_the_family() {
        let (router, _) = testing::app();
        let (access1, refresh1) = login_maria(&router).await;
        let reply = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": refresh1}),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        let pair = reply.json();
        assert_eq!(
            keys(&pair),
            ["accessToken", "refreshToken", "expiresIn", "tipoToken"]
        );
        assert_eq!(pair["expiresIn"], 3600);
        assert_eq!(pair["tipoToken"], "Bearer");
        let access2 = pair["accessToken"].as_str().unwrap();
        let refresh2 = pair["refreshToken"].as_str().unwrap();
        assert_ne!(refresh2, refresh1);
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(access2)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(&access1)).await.status,
            StatusCode::OK
        );

        // The first refresh token again: reuse.
        let reused = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": refresh1}),
            None,
        )
        .await;
        assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
        let e = reused.json();
        assert_eq!(e["errorCode"], "AUTH_007");
        assert_eq!(e["message"], "Refresh token inválido ou expirado");
        assert_eq!(e["path"], "/v1/auth/refresh-token");
        // The whole family is dead.
        for access in [access1.as_str(), access2] {
            let r = get(&router, "/v1/cidadao/me", Some(access)).await;
            assert_eq!(r.json()["errorCode"], "AUTH_005");
        }
        let r = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": refresh2}),
            None,
        )
        .await;
        assert_eq!(r.json()["errorCode"], "AUTH_007");
        for bad in [
            json!({}),
            json!({"refreshToken": "a.b.c"}),
            json!({"refreshToken": access2}),
        ] {
            let r = post(&router, "/v1/auth/refresh-token", bad, None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert_eq!(r.json()["errorCode"], "AUTH_007");
        }
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshRequests"], 6);
        assert_eq!(c["refreshes"], 1);
        assert_eq!(c["refreshFailures"], 5);
        assert_eq!(c["reuseDetections"], 1);
    }

    #[tokio::test]
    async fn invalid_tokens_answer_auth_005_and_expired_ones_auth_006() {
        let (router, state) = testing::app();
        let (access, _) = login_maria(&router).await;
        let mut tampered = access.clone();
        tampered.pop();
        tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
        let other =
            crate::tokens::TokenStore::new("PGBen API", crate::tokens::RefreshPolicy::Rotate)
                .issue(
                    "550e8400-e29b-41d4-a716-446655440000",
                    Map::new(),
                    state.settings().lifetimes(Dialect::PgBen),
                    clock::now_ms(),
                )
                .access_token;
        for bearer in [
            None,
            Some("garbage"),
            Some(tampered.as_str()),
            Some(other.as_str()),
        ] {
            let r = get(&router, "/v1/cidadao/me", bearer).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            let e = r.json();
            assert_eq!(e["errorCode"], "AUTH_005", "{bearer:?}");
            assert_eq!(e["message"], "Token inválido");
            assert_eq!(e["path"], "/v1/cidadao/me");
        }
        let basic = Request::get("/v1/meus-dados")
            .header(header::AUTHORIZATION, format!("Basic {access}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&router, basic).await.json()["errorCode"], "AUTH_005");

        // A TTL of 0 issues tokens that are expired at once: a genuine token past its exp.
        let r = post(
            &router,
            "/__control/config",
            json!({"accessTtlSeconds": 0}),
            None,
        )
        .await;
        assert_eq!(r.json()["accessTtlSeconds"], 0);
        let (expired, _) = login_maria(&router).await;
        let r = get(&router, "/v1/meus-dados", Some(&expired)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let e = r.json();
        assert_eq!(e["errorCode"], "AUTH_006");
        assert_eq!(e["message"], "Token expirado");
        assert_eq!(e["path"], "/v1/meus-dados");
        // The older token, issued with an hour, is still fine.
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(&access)).await.status,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn citizen_endpoints_answer_the_seed_bodies() {
        let (router, _) = testing::app();
        let (access, _) = login_maria(&router).await;
        let seed_citizen = json!({
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "nomeCompleto": "Maria Oliveira",
            "cpf": "123.456.789-09",
            "dataNascimento": "1985-05-15",
            "email": "maria.oliveira@exemplo.com",
            "telefone": "(11) 98765-4321",
            "endereco": {
                "id": "660e8400-e29b-41d4-a716-446655441111",
                "cep": "01310-100",
                "logradouro": "Avenida Paulista",
                "numero": "1000",
                "complemento": "Apto 101",
                "bairro": "Bela Vista",
                "cidade": "São Paulo",
                "uf": "SP"
            },
            "dataCriacao": "2025-05-17T14:30:00Z",
            "status": "ATIVO"
        });
        for path in ["/v1/cidadao/me", "/v1/meus-dados"] {
            let r = get(&router, path, Some(&access)).await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.json(), seed_citizen);
            assert_eq!(
                std::str::from_utf8(&r.bytes).unwrap(),
                seed_citizen.to_string()
            );
        }

        let r = get(&router, "/v1/beneficio/meus-beneficios", Some(&access)).await;
        let list = r.json();
        assert_eq!(list["totalItens"], 2);
        assert_eq!(list["pagina"], 1);
        assert_eq!(list["itensPorPagina"], 10);
        assert_eq!(list["itens"][0]["protocolo"], "PGB202505170001");
        assert_eq!(list["itens"][0]["valor"], 600.0);
        assert_eq!(
            list["itens"][1]["motivoCancelamento"],
            "Inatividade superior a 6 meses"
        );

        let r = get(
            &router,
            "/v1/consulta/situacao-cadastral?cpf=98765432100",
            Some(&access),
        )
        .await;
        let s = r.json();
        assert_eq!(s["cpf"], "987.654.321-00");
        assert_eq!(s["nome"], "JOÃO DA SILVA");
        assert_eq!(s["situacaoCadastral"], "REGULAR");
        assert_eq!(s["beneficiosAtivos"][0]["valor"], 600.0);
        let r = get(&router, "/v1/consulta/situacao-cadastral", Some(&access)).await;
        assert_eq!(r.json()["nome"], "MARIA OLIVEIRA");
    }

    #[tokio::test]
    async fn solicitar_and_cadastro() {
        let (router, _) = testing::app();
        let (access, _) = login_maria(&router).await;
        let r = post(
            &router,
            "/v1/beneficio/solicitar",
            json!({"tipoBeneficio": "BOLSA_FAMILIA", "documentos": []}),
            Some(&access),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        let b = r.json();
        assert_eq!(
            keys(&b),
            [
                "id",
                "protocolo",
                "tipoBeneficio",
                "status",
                "dataSolicitacao",
                "mensagem"
            ]
        );
        assert_eq!(b["tipoBeneficio"], "BOLSA_FAMILIA");
        assert_eq!(b["status"], "EM_ANALISE");
        let protocolo = b["protocolo"].as_str().unwrap();
        assert!(
            protocolo.starts_with("PGB") && protocolo.ends_with("0001"),
            "{protocolo}"
        );
        assert_eq!(protocolo.len(), 15);
        assert_eq!(
            b["mensagem"],
            "Sua solicitação foi recebida e está em análise"
        );
        let r = post(&router, "/v1/beneficio/solicitar", json!({}), None).await;
        assert_eq!(r.json()["errorCode"], "AUTH_005");

        let r = post(
            &router,
            "/v1/cidadao",
            json!({
                "nomeCompleto": "Ana Souza",
                "cpf": "222.333.444-05",
                "email": "ana@exemplo.com",
                "senha": "segredo",
                "endereco": {"cep": "01310-100", "uf": "SP"}
            }),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let c = r.json();
        assert_eq!(
            keys(&c),
            [
                "id",
                "nomeCompleto",
                "cpf",
                "email",
                "endereco",
                "dataCriacao",
                "status"
            ]
        );
        assert!(c.get("senha").is_none());
        assert_eq!(keys(&c["endereco"]), ["id", "cep", "uf"]);
        assert_eq!(c["status"], "ATIVO");
        let r = post(&router, "/v1/cidadao", json!("x"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["errorCode"], "VAL_001");
    }

    fn upload_request(content_type: &str, body: Vec<u8>, bearer: Option<&str>) -> Request<Body> {
        testing::upload_request("/v1/documento/upload", content_type, body, bearer)
    }

    #[tokio::test]
    async fn upload_reports_size_and_sha256_and_keeps_the_bytes() {
        let (router, _) = testing::app();
        let (access, _) = login_maria(&router).await;
        // Binary content with bytes that look like a boundary's neighbours.
        let file: Vec<u8> = (0..=255u8)
            .cycle()
            .take(100_000)
            .chain(*b"\r\n--x\r\n\0")
            .collect();
        let (ct, body) = multipart(&[
            (
                "arquivo",
                Some(("comprovante_renda.pdf", "application/pdf")),
                &file,
            ),
            ("tipoDocumento", None, b"COMPROVANTE_RENDA"),
        ]);
        let r = send(&router, upload_request(&ct, body, Some(&access))).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let doc = r.json();
        assert_eq!(
            keys(&doc),
            [
                "id",
                "nomeArquivo",
                "tipoDocumento",
                "tamanhoBytes",
                "contentType",
                "urlDownload",
                "dataUpload",
                "status",
                "sha256"
            ]
        );
        let sha = hex::encode(Sha256::digest(&file));
        assert_eq!(doc["nomeArquivo"], "comprovante_renda.pdf");
        assert_eq!(doc["tipoDocumento"], "COMPROVANTE_RENDA");
        assert_eq!(doc["tamanhoBytes"], file.len());
        assert_eq!(doc["contentType"], "application/pdf");
        assert_eq!(doc["status"], "VALIDO");
        assert_eq!(doc["sha256"], sha);
        let id = doc["id"].as_str().unwrap();
        assert_eq!(
            doc["urlDownload"],
            format!("https://storage.pgben.gov.br/documentos/{id}.pdf")
        );

        let stored = get(&router, &format!("/__control/uploads/{id}"), None)
            .await
            .json();
        assert_eq!(stored["id"], id);
        assert_eq!(stored["nomeArquivo"], "comprovante_renda.pdf");
        assert_eq!(stored["tamanhoBytes"], file.len());
        assert_eq!(stored["sha256"], sha);
        let content = get(&router, &format!("/__control/uploads/{id}/content"), None).await;
        assert_eq!(content.bytes.as_ref(), file.as_slice());
        assert_eq!(content.headers[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(
            get(&router, "/__control/uploads/nope", None).await.status,
            StatusCode::NOT_FOUND
        );

        // No file part, not multipart at all, no token.
        let (ct, body) = multipart(&[("tipoDocumento", None, b"RG")]);
        let r = send(&router, upload_request(&ct, body, Some(&access))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["message"], "Arquivo obrigatório");
        let r = send(
            &router,
            upload_request("application/json", b"{}".to_vec(), Some(&access)),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let (ct, body) = multipart(&[("arquivo", Some(("a.txt", "text/plain")), b"x")]);
        let r = send(&router, upload_request(&ct, body, None)).await;
        assert_eq!(r.json()["errorCode"], "AUTH_005");
    }

    #[tokio::test]
    async fn admin_endpoints_need_the_admin_profile() {
        let (router, _) = testing::app();
        let (citizen, _) = login_maria(&router).await;
        let r = get(&router, "/v1/admin/usuarios", Some(&citizen)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let e = r.json();
        assert_eq!(e["errorCode"], "AUTH_009");
        assert_eq!(e["message"], "Acesso negado. Permissão insuficiente.");
        assert_eq!(e["permissaoNecessaria"], "USUARIO_LISTAR");
        assert_eq!(e["path"], "/v1/admin/usuarios");
        let path = "/v1/admin/beneficio/990e8400-e29b-41d4-a716-446655444444/status";
        let patch = |bearer: &str| {
            testing::request(
                Method::PATCH,
                path,
                Some(json!({"novoStatus": "CONCEDIDO", "motivo": "ok", "notificarCidadao": true})),
                Some(bearer),
            )
        };
        let r = send(&router, patch(&citizen)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.json()["permissaoNecessaria"], "BENEFICIO_APROVAR");
        assert_eq!(r.json()["path"], path);

        let (admin, _) = testing::login(&router, "admin@pgben.gov.br", "Admin#2025").await;
        let r = get(
            &router,
            "/v1/admin/usuarios?pagina=2&itensPorPagina=5",
            Some(&admin),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let list = r.json();
        assert_eq!(list["itens"][0]["email"], "admin@pgben.gov.br");
        assert_eq!(list["itens"][1]["perfis"], json!(["ANALISTA"]));
        assert_eq!(
            (list["pagina"].as_u64(), list["itensPorPagina"].as_u64()),
            (Some(2), Some(5))
        );
        let r = send(&router, patch(&admin)).await;
        assert_eq!(r.status, StatusCode::OK);
        let b = r.json();
        assert_eq!(b["id"], "990e8400-e29b-41d4-a716-446655444444");
        assert_eq!(b["statusAnterior"], "EM_ANALISE");
        assert_eq!(b["novoStatus"], "CONCEDIDO");
        assert_eq!(b["mensagem"], "Status do benefício atualizado com sucesso");
        // No token: 401 before any permission check.
        let r = get(&router, "/v1/admin/usuarios", None).await;
        assert_eq!(r.json()["errorCode"], "AUTH_005");
    }

    #[tokio::test]
    async fn logout_revokes_the_family_only() {
        let (router, _) = testing::app();
        let (a1, r1) = login_maria(&router).await;
        let (a2, _) = login_maria(&router).await;
        let r = send(
            &router,
            testing::request(Method::POST, "/v1/auth/logout", None, Some(&a1)),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(r.bytes.is_empty());
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(&a1)).await.json()["errorCode"],
            "AUTH_005"
        );
        let r = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": r1}),
            None,
        )
        .await;
        assert_eq!(r.json()["errorCode"], "AUTH_007");
        assert_eq!(
            get(&router, "/v1/cidadao/me", Some(&a2)).await.status,
            StatusCode::OK
        );
        let r = send(
            &router,
            testing::request(Method::POST, "/v1/auth/logout", None, None),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn unknown_v1_paths_answer_a_pgben_404() {
        let (router, _) = testing::app();
        let r = get(&router, "/v1/nao-existe", None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.json()["errorCode"], "NOT_FOUND");
        assert_eq!(r.json()["path"], "/v1/nao-existe");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thousand_expired_requests_then_one_refresh() {
        let (router, _) = testing::app();
        let (access, refresh) = login_maria(&router).await;
        post(&router, "/__control/expire-access", json!({}), None).await;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..1000 {
            let (router, access) = (router.clone(), access.clone());
            let path = if i % 2 == 0 {
                "/v1/cidadao/me"
            } else {
                "/v1/beneficio/meus-beneficios"
            };
            set.spawn(async move {
                get(&router, path, Some(&access)).await.json()["errorCode"].clone()
            });
        }
        while let Some(code) = set.join_next().await {
            assert_eq!(code.unwrap(), "AUTH_006");
        }
        let r = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": refresh}),
            None,
        )
        .await;
        let fresh = r.json()["accessToken"].as_str().unwrap().to_owned();
        for _ in 0..200 {
            let (router, fresh) = (router.clone(), fresh.clone());
            set.spawn(async move {
                get(&router, "/v1/cidadao/me", Some(&fresh))
                    .await
                    .status
                    .as_u16()
                    .into()
            });
        }
        while let Some(status) = set.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshRequests"], 1);
        assert_eq!(c["refreshes"], 1);
        assert_eq!(c["requests"]["/v1/cidadao/me"], 700);
        assert_eq!(c["requests"]["/v1/beneficio/meus-beneficios"], 500);
        assert_eq!(c["bearerRequests"]["/v1/cidadao/me"], 700);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_refreshes_with_one_token_issue_one_pair() {
        let (router, _) = testing::app();
        let (_, refresh) = login_maria(&router).await;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (router, refresh) = (router.clone(), refresh.clone());
            set.spawn(async move {
                post(
                    &router,
                    "/v1/auth/refresh-token",
                    json!({"refreshToken": refresh}),
                    None,
                )
                .await
                .status
            });
        }
        let mut ok = 0;
        while let Some(status) = set.join_next().await {
            ok += usize::from(status.unwrap() == StatusCode::OK);
        }
        assert_eq!(ok, 1);
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshes"], 1);
        assert_eq!(c["reuseDetections"], 49);
    }

    fn set_cookie_of(r: &testing::Reply) -> Option<String> {
        r.headers
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// The token in `pgben_refresh=<token>; …`.
    fn cookie_token(set_cookie: &str) -> String {
        let first = set_cookie.split(';').next().unwrap();
        first.strip_prefix("pgben_refresh=").unwrap().to_owned()
    }

    #[tokio::test]
    async fn cookie_mode_moves_the_refresh_token_into_an_http_only_cookie() {
        let (router, _) = testing::app();
        // Off by default: no cookie, and a cookie alone is no refresh token.
        let r = post(
            &router,
            "/v1/auth/login",
            json!({"email": MARIA, "senha": "S3nh4F0rt3!"}),
            None,
        )
        .await;
        assert!(set_cookie_of(&r).is_none());
        let plain_refresh = r.json()["refreshToken"].as_str().unwrap().to_owned();
        let r = testing::post_with(
            &router,
            "/v1/auth/refresh-token",
            None,
            &[(header::COOKIE, &format!("pgben_refresh={plain_refresh}"))],
        )
        .await;
        assert_eq!(r.json()["errorCode"], "AUTH_007");

        testing::config(&router, json!({"refreshCookie": true})).await;
        let r = post(
            &router,
            "/v1/auth/login",
            json!({"email": MARIA, "senha": "S3nh4F0rt3!"}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let body = r.json();
        assert_eq!(
            keys(&body),
            ["accessToken", "expiresIn", "tipoToken", "usuario"]
        );
        let set = set_cookie_of(&r).unwrap();
        let first = cookie_token(&set);
        assert_eq!(
            set,
            format!("pgben_refresh={first}; HttpOnly; SameSite=Strict; Path=/v1/auth")
        );
        assert_eq!(testing::jwt_payload(&first)["sub"], body["usuario"]["id"]);

        // No body, an empty one or an empty object: the cookie's token, rotated.
        let mut current = first.clone();
        for body in [None, Some(json!({}))] {
            let r = testing::post_with(
                &router,
                "/v1/auth/refresh-token",
                body,
                &[(
                    header::COOKIE,
                    &format!("theme=dark; pgben_refresh={current}"),
                )],
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.bytes);
            assert_eq!(keys(&r.json()), ["accessToken", "expiresIn", "tipoToken"]);
            let next = cookie_token(&set_cookie_of(&r).unwrap());
            assert_ne!(next, current);
            current = next;
        }
        // Over https (behind a proxy that says so) the cookie is Secure.
        let r = testing::post_with(
            &router,
            "/v1/auth/refresh-token",
            None,
            &[
                (header::COOKIE, &format!("pgben_refresh={current}")),
                (
                    header::HeaderName::from_static("x-forwarded-proto"),
                    "https",
                ),
            ],
        )
        .await;
        let set = set_cookie_of(&r).unwrap();
        assert!(
            set.ends_with("; HttpOnly; SameSite=Strict; Path=/v1/auth; Secure"),
            "{set}"
        );
        let live = cookie_token(&set);

        // The first cookie again: reuse, the family dies, the browser is told to drop it.
        let r = testing::post_with(
            &router,
            "/v1/auth/refresh-token",
            None,
            &[(header::COOKIE, &format!("pgben_refresh={first}"))],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["errorCode"], "AUTH_007");
        assert_eq!(
            set_cookie_of(&r).unwrap(),
            "pgben_refresh=; HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age=0"
        );
        let r = testing::post_with(
            &router,
            "/v1/auth/refresh-token",
            None,
            &[(header::COOKIE, &format!("pgben_refresh={live}"))],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // No cookie at all.
        let r = testing::post_with(&router, "/v1/auth/refresh-token", None, &[]).await;
        assert_eq!(r.json()["errorCode"], "AUTH_007");
        let c = testing::counters(&router).await;
        assert_eq!(c["reuseDetections"], 1);
        assert_eq!(c["refreshes"], 3);
    }

    #[tokio::test]
    async fn cookie_mode_still_takes_a_body_token_and_logout_clears_the_cookie() {
        let (router, _) = testing::app();
        testing::config(&router, json!({"refreshCookie": true})).await;
        let r = post(
            &router,
            "/v1/auth/login",
            json!({"email": MARIA, "senha": "S3nh4F0rt3!"}),
            None,
        )
        .await;
        let access = r.json()["accessToken"].as_str().unwrap().to_owned();
        let token = cookie_token(&set_cookie_of(&r).unwrap());
        let r = post(
            &router,
            "/v1/auth/refresh-token",
            json!({"refreshToken": token}),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.json().get("refreshToken").is_none());
        assert!(set_cookie_of(&r).is_some());
        let r = send(
            &router,
            testing::request(Method::POST, "/v1/auth/logout", None, Some(&access)),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(
            set_cookie_of(&r).unwrap(),
            "pgben_refresh=; HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age=0"
        );
    }

    #[tokio::test]
    async fn the_refresh_flag_mode_401_answers_auth_007_and_consumes_nothing() {
        let (router, _) = testing::app();
        let (_, refresh) = login_maria(&router).await;
        post(
            &router,
            "/__control/fail-refresh",
            json!({"count": 1, "mode": 401}),
            None,
        )
        .await;
        let body = json!({"refreshToken": refresh});
        let r = post(&router, "/v1/auth/refresh-token", body.clone(), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["errorCode"], "AUTH_007");
        assert_eq!(r.json()["path"], "/v1/auth/refresh-token");
        let r = post(&router, "/v1/auth/refresh-token", body, None).await;
        assert_eq!(r.status, StatusCode::OK);
        let c = testing::counters(&router).await;
        assert_eq!(c["refreshFailures"], 1);
        assert_eq!(c["reuseDetections"], 0);
    }
}
