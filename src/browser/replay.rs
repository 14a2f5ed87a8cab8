//! Requests that can be sent again byte for byte (DESIGN rule 8).
//!
//! The caller's `(input, init)` become one pristine `Request` — built by the platform's own
//! constructor, so the URL resolves and the body serializes exactly as `fetch` would do it
//! (FormData gets its multipart boundary once). Every attempt is a `Request.clone()` of it: the
//! body is teed, so a string, Blob/File, FormData, URLSearchParams or ArrayBuffer body is
//! re-sent identically on the retry. A `ReadableStream` body given in `init` is read as it is
//! sent and cannot be replayed: it goes out uncloned, and a retry is refused.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Request;

#[wasm_bindgen]
extern "C" {
    /// A request's `Headers`, seen through a `set` that takes the value as a JS string: the
    /// bearer is made into one once per access token, not copied out of wasm on every call.
    #[wasm_bindgen(js_name = Headers)]
    type BearerHeaders;

    #[wasm_bindgen(method, catch)]
    fn set(this: &BearerHeaders, name: &str, value: &JsValue) -> Result<(), JsValue>;
}

use super::js::{get, is_readable_stream, new_request};

/// The pristine request a call's attempts are cloned from — or, for a call with no body and
/// a URL for input (most API reads), just its arguments: each attempt is built afresh from them,
/// which costs one `Request` per attempt instead of two.
#[derive(Debug)]
pub(crate) struct ReplayableRequest {
    source: Source,
    /// The first attempt of an `Arguments` source, built up front to validate the input.
    first: Option<Request>,
    one_shot: bool,
    sent: bool,
}

#[derive(Debug)]
enum Source {
    Template(Request),
    Arguments { input: JsValue, init: JsValue },
}

impl ReplayableRequest {
    /// Builds the request like `fetch(input, init)` would. Errors: fetch's own `TypeError` for
    /// input it would refuse (a bad URL, a used body), passed through unchanged.
    pub(crate) fn new(input: &JsValue, init: &JsValue) -> Result<Self, JsValue> {
        let body = if init.is_object() {
            get(init, "body")
        } else {
            JsValue::UNDEFINED
        };
        let bodyless = body.is_undefined() || body.is_null();
        if bodyless && input.dyn_ref::<Request>().is_none() {
            // Built now once, so that input fetch refuses fails here, as fetch would.
            let first = new_request(input, init)?;
            let source = Source::Arguments {
                input: input.clone(),
                init: init.clone(),
            };
            return Ok(ReplayableRequest {
                source,
                first: Some(first),
                one_shot: false,
                sent: false,
            });
        }
        let template = new_request(input, init)?;
        let one_shot = is_readable_stream(&body);
        Ok(ReplayableRequest {
            source: Source::Template(template),
            one_shot,
            sent: false,
            first: None,
        })
    }

    /// The next attempt with `authorization` (a JS string, `Bearer …`) set, or `None` when the
    /// body was a one-shot stream that has already been sent (the caller rejects
    /// `body_not_replayable`).
    pub(crate) fn attempt(&mut self, authorization: &JsValue) -> Option<Request> {
        let request = match (&self.source, self.first.take()) {
            (Source::Arguments { .. }, Some(first)) => first,
            (Source::Arguments { input, init }, None) => new_request(input, init).ok()?,
            (Source::Template(template), _) if self.one_shot => {
                if self.sent {
                    return None;
                }
                // The handle, not a JS clone: a stream body goes out as it is.
                Clone::clone(template)
            }
            (Source::Template(template), _) => Request::clone(template).ok()?,
        };
        self.sent = true;
        // A `no-cors` request silently ignores the header, as the platform does.
        let headers: BearerHeaders = request.headers().unchecked_into();
        let _ = headers.set("Authorization", authorization);
        Some(request)
    }

    /// Whether another attempt could still be made.
    pub(crate) fn can_replay(&self) -> bool {
        !(self.one_shot && self.sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::js::set;
    use js_sys::{ArrayBuffer, Uint8Array};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::wasm_bindgen_test;
    use web_sys::{FormData, Request};

    async fn bytes(request: &Request) -> Vec<u8> {
        let buffer = JsFuture::from(request.array_buffer().unwrap())
            .await
            .unwrap();
        Uint8Array::new(&buffer.dyn_into::<ArrayBuffer>().unwrap()).to_vec()
    }

    fn init(method: &str, body: &JsValue) -> JsValue {
        let init = js_sys::Object::new();
        set(&init, "method", &JsValue::from_str(method));
        set(&init, "body", body);
        init.into()
    }

    #[wasm_bindgen_test]
    async fn form_data_is_replayed_byte_for_byte() {
        let form = FormData::new().unwrap();
        let file = Uint8Array::from(&(0..=255u8).cycle().take(70_000).collect::<Vec<u8>>()[..]);
        let parts = js_sys::Array::of1(&file);
        let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
        form.append_with_blob_and_filename("arquivo", &blob, "doc.bin")
            .unwrap();
        form.append_with_str("tipoDocumento", "COMPROVANTE_RENDA")
            .unwrap();
        let mut request =
            ReplayableRequest::new(&JsValue::from_str("/upload"), &init("POST", &form)).unwrap();
        let first = request.attempt(&"Bearer one".into()).unwrap();
        let second = request.attempt(&"Bearer two".into()).unwrap();
        assert_eq!(
            first.headers().get("Authorization").unwrap().as_deref(),
            Some("Bearer one")
        );
        assert_eq!(
            second.headers().get("Authorization").unwrap().as_deref(),
            Some("Bearer two")
        );
        let content_type = first.headers().get("Content-Type").unwrap();
        assert_eq!(
            content_type,
            second.headers().get("Content-Type").unwrap(),
            "same boundary"
        );
        let (a, b) = (bytes(&first).await, bytes(&second).await);
        assert!(a.len() > 70_000);
        assert_eq!(a, b);
    }

    #[wasm_bindgen_test]
    async fn string_and_url_search_params_bodies_are_replayed() {
        let params = web_sys::UrlSearchParams::new_with_str("a=1&b=%C3%A7").unwrap();
        for body in [JsValue::from_str("{\"x\":1}"), params.into()] {
            let mut request =
                ReplayableRequest::new(&JsValue::from_str("/x"), &init("PUT", &body)).unwrap();
            let first = bytes(&request.attempt(&"Bearer a".into()).unwrap()).await;
            let second = bytes(&request.attempt(&"Bearer b".into()).unwrap()).await;
            assert!(!first.is_empty());
            assert_eq!(first, second);
            assert!(request.can_replay());
        }
    }

    #[wasm_bindgen_test]
    fn the_callers_request_is_never_modified() {
        let original = Request::new_with_str("/me").unwrap();
        let mut request = ReplayableRequest::new(&original, &JsValue::UNDEFINED).unwrap();
        let attempt = request.attempt(&"Bearer secret".into()).unwrap();
        assert!(attempt.headers().has("Authorization").unwrap());
        assert!(!original.headers().has("Authorization").unwrap());
        assert!(attempt.url().ends_with("/me"));
    }

    #[wasm_bindgen_test]
    fn a_stream_body_goes_out_once() {
        let stream = web_sys::ReadableStream::new().unwrap();
        let init = init("POST", &stream);
        set(&init, "duplex", &JsValue::from_str("half"));
        let mut request = ReplayableRequest::new(&JsValue::from_str("/stream"), &init).unwrap();
        assert!(request.can_replay());
        assert!(request.attempt(&"Bearer a".into()).is_some());
        assert!(!request.can_replay());
        assert!(request.attempt(&"Bearer b".into()).is_none());
    }

    #[wasm_bindgen_test]
    fn bad_input_is_fetchs_own_type_error() {
        let error = ReplayableRequest::new(&JsValue::from_str("http://[bad"), &JsValue::UNDEFINED)
            .unwrap_err();
        assert!(error.is_instance_of::<js_sys::TypeError>());
    }
}
