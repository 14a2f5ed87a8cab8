//! The PGBen error body (seed 004): `{statusCode, timestamp, path, message, errorCode}`, plus
//! the extra fields some errors carry (`tentativasRestantes`, `permissaoNecessaria`, …).
//!
//! The controls use the same shape, so that every JSON error of this server reads alike.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::clock;
use crate::faults::Injected;

/// An error answer before it knows its path and time; [`ApiError::at`] makes it a response.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    error_code: Cow<'static, str>,
    /// Kept small (not a `Map`) so that `Result<_, ApiError>` stays cheap to return.
    extra: Vec<(&'static str, Value)>,
}

impl ApiError {
    /// An error with the given status, `message` and `errorCode`.
    pub fn new(
        status: StatusCode,
        message: impl Into<Cow<'static, str>>,
        error_code: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            error_code: error_code.into(),
            extra: Vec::new(),
        }
    }

    /// Adds a field after `errorCode`, as the seed's lockout and permission errors have.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra.push((key, value.into()));
        self
    }

    /// The JSON body for a request to `path` answered at `now_ms`.
    pub fn body(&self, path: &str, now_ms: u64) -> Value {
        let mut body = Map::new();
        body.insert("statusCode".into(), self.status.as_u16().into());
        body.insert("timestamp".into(), clock::iso_millis(now_ms).into());
        body.insert("path".into(), path.into());
        body.insert("message".into(), Value::from(self.message.as_ref()));
        body.insert("errorCode".into(), Value::from(self.error_code.as_ref()));
        for (key, value) in &self.extra {
            body.insert((*key).to_owned(), value.clone());
        }
        Value::Object(body)
    }

    /// The response for a request to `path`, stamped with the current time.
    pub fn at(&self, path: &str) -> Response {
        (self.status, Json(self.body(path, clock::now_ms()))).into_response()
    }

    /// 400 `AUTH_001`: wrong password, unknown user, or a login body without the fields.
    pub fn invalid_credentials() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Credenciais inválidas", "AUTH_001")
    }

    /// 403 `AUTH_003`: too many wrong passwords; `desbloqueio_em` is ISO 8601.
    pub fn account_locked(desbloqueio_em: String) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Conta bloqueada por excesso de tentativas",
            "AUTH_003",
        )
        .with("tentativasRestantes", 0)
        .with("desbloqueioEm", desbloqueio_em)
    }

    /// 401 `AUTH_005`: no bearer, a bad signature, a malformed token or a revoked family.
    pub fn invalid_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Token inválido", "AUTH_005")
    }

    /// 401 `AUTH_006`: a genuine token past its expiry.
    pub fn expired_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Token expirado", "AUTH_006")
    }

    /// 401 `AUTH_007`: any refresh token that cannot be exchanged.
    pub fn invalid_refresh_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Refresh token inválido ou expirado",
            "AUTH_007",
        )
    }

    /// 403 `AUTH_009`: authenticated, but the profile lacks `permissao`.
    pub fn forbidden(permissao: &'static str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Acesso negado. Permissão insuficiente.",
            "AUTH_009",
        )
        .with("permissaoNecessaria", permissao)
    }

    /// 400 `VAL_001`: a request body the endpoint cannot use (not in the seed, which leaves
    /// validation codes to a document it does not include).
    pub fn invalid_data(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, "VAL_001")
    }

    /// 404 `NOT_FOUND`: no such endpoint or record.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Recurso não encontrado", "NOT_FOUND")
    }

    /// 500 `SRV_500`.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Erro interno do servidor",
            "SRV_500",
        )
    }

    /// 503 `SRV_503`.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Serviço temporariamente indisponível",
            "SRV_503",
        )
    }
}

/// A `{"message": "…"}` error body, the shape seeds 000 and 002 use.
pub fn message(status: StatusCode, message: &'static str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// A failure injected by the test controls, in the `{"message": …}` dialects: 503, 500, or
/// the dialect's own refusal (`refused`) for a rejected call.
pub fn injected_message(injected: Injected, refused: &'static str) -> Response {
    match injected {
        Injected::Status(503) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Serviço temporariamente indisponível",
        ),
        Injected::Status(_) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Erro interno do servidor",
        ),
        Injected::Reject => message(StatusCode::UNAUTHORIZED, refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_seed_shape_and_order() {
        let body = ApiError::expired_token().body("/v1/cidadao/me", 1_747_518_607_000);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"statusCode":401,"timestamp":"2025-05-17T21:50:07.000Z","path":"/v1/cidadao/me","message":"Token expirado","errorCode":"AUTH_006"}"#
        );
    }

    #[test]
    fn extra_fields_follow_the_error_code() {
        let body = ApiError::forbidden("BENEFICIO_APROVAR").body("/v1/recurso-restrito", 0);
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "statusCode",
                "timestamp",
                "path",
                "message",
                "errorCode",
                "permissaoNecessaria"
            ]
        );
        assert_eq!(body["message"], "Acesso negado. Permissão insuficiente.");
        assert_eq!(body["permissaoNecessaria"], "BENEFICIO_APROVAR");
    }
}
