//! Multipart upload forms, read whole before an endpoint gives the bearer's verdict, as most
//! servers parse a form first: a 401 then reaches a client that has finished sending, which no
//! browser mistakes for a lost connection to send again (Firefox does resend an upload answered
//! mid-body).

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::Multipart;

/// One part of a form.
pub struct Part {
    /// The part's field name (`name=` of its `Content-Disposition`).
    pub name: Option<String>,
    /// Its file name, for a file part.
    pub file_name: Option<String>,
    /// Its `Content-Type`, default `application/octet-stream`.
    pub content_type: String,
    /// Its content, whole.
    pub bytes: Bytes,
}

/// Every part of the body, in order; `None` for a body that is not a readable multipart form.
pub async fn read(multipart: Result<Multipart, MultipartRejection>) -> Option<Vec<Part>> {
    let mut multipart = multipart.ok()?;
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().map(str::to_owned);
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        parts.push(Part {
            name,
            file_name,
            content_type,
            bytes: field.bytes().await.ok()?,
        });
    }
    Some(parts)
}
