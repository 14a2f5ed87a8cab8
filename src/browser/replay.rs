//! Requests that can be sent again byte for byte (DESIGN rule 8).
//!
//! The caller's `(input, init)` become one pristine `Request` — built by the platform's own
//! constructor, so the URL resolves and the body serializes exactly as `fetch` would do it
//! (FormData gets its multipart boundary once). Every attempt is a `Request.clone()` of it: the
//! body is teed, so a string, Blob/File, FormData, URLSearchParams or ArrayBuffer body is
//! re-sent identically on the retry. A `ReadableStream` body given in `init` is read as it is
//! sent and cannot be replayed: it goes out uncloned, and a retry is refused.

use wasm_bindgen::JsValue;
use web_sys::Request;

use super::js::{get, is_readable_stream, new_request};

/// The pristine request a call's attempts are cloned from.
#[derive(Debug)]
pub(crate) struct ReplayableRequest {
    template: Request,
    one_shot: bool,
    sent: bool,
}

impl ReplayableRequest {
    /// Builds the request like `fetch(input, init)` would. Errors: fetch's own `TypeError` for
    /// input it would refuse (a bad URL, a used body), passed through unchanged.
    pub(crate) fn new(input: &JsValue, init: &JsValue) -> Result<Self, JsValue> {
        let template = new_request(input, init)?;
        let one_shot = init.is_object() && is_readable_stream(&get(init, "body"));
        Ok(ReplayableRequest {
            template,
            one_shot,
            sent: false,
        })
    }

    /// The resolved absolute URL.
    pub(crate) fn url(&self) -> String {
        self.template.url()
    }

    /// The next attempt with `authorization` set, or `None` when the body was a one-shot stream
    /// that has already been sent (the caller rejects `body_not_replayable`).
    pub(crate) fn attempt(&mut self, authorization: &str) -> Option<Request> {
        let request = if self.one_shot {
            if self.sent {
                return None;
            }
            // The handle, not a JS clone: a stream body goes out as it is.
            Clone::clone(&self.template)
        } else {
            Request::clone(&self.template).ok()?
        };
        self.sent = true;
        // A `no-cors` request silently ignores the header, as the platform does.
        let _ = request.headers().set("Authorization", authorization);
        Some(request)
    }

    /// Whether another attempt could still be made.
    pub(crate) fn can_replay(&self) -> bool {
        !(self.one_shot && self.sent)
    }
}
