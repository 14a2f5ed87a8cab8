//! URLs through the browser's parser, and the requests to the auth endpoints as `Request`s.
use alloc::string::String;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Url};

use crate::core::client::{self, Body};
use crate::core::token::AccessToken;

/// `url` resolved against `base` by the browser's URL parser (`new URL(url, base)`), or alone
/// without a base; `None` when the parser refuses it.
pub(super) fn resolve(url: &str, base: Option<&str>) -> Option<String> {
    let parsed = match base {
        Some(base) => Url::new_with_base(url, base),
        None => Url::new(url),
    };
    parsed.ok().map(|u| u.href())
}

/// The origin the browser's URL parser reads from the absolute `url`.
pub(super) fn origin_of(url: &str) -> Option<String> {
    Url::new(url).ok().map(|u| u.origin())
}

/// `f("Bearer <access token>")`: the value is made in a buffer of its own, freed (and so
/// zeroed, `src/runtime.rs`) as soon as `f` returns.
pub(super) fn with_bearer<T>(token: &AccessToken, f: impl FnOnce(&str) -> T) -> T {
    let mut value = String::with_capacity(7 + token.expose().len());
    value.push_str("Bearer ");
    value.push_str(token.expose());
    f(&value)
}

/// The auth endpoint request as a `Request`: `Accept: application/json`, the JSON body with its
/// `Content-Type`, the bearer, `credentials: "include"` for the refresh cookie. `undefined`
/// when the browser refuses to make it (the core is then told there was no answer).
pub(super) fn build(request: client::Request) -> JsValue {
    make(request).unwrap_or(JsValue::UNDEFINED)
}

fn make(request: client::Request) -> Result<JsValue, JsValue> {
    let headers = Headers::new()?;
    headers.set("Accept", "application/json")?;
    let init = RequestInit::new();
    init.set_method(request.method);
    let body = match &request.body {
        Body::None => None,
        Body::Credentials(credentials) => Some(JsValue::from_str(credentials.expose())),
        Body::RefreshToken { field, token } => {
            let object: JsValue = Object::new().into();
            Reflect::set(
                &object,
                &JsValue::from_str(field),
                &JsValue::from_str(token.expose()),
            )?;
            Some(js_sys::JSON::stringify(&object)?.into())
        }
    };
    if let Some(body) = body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&body);
    }
    if let Some(bearer) = &request.bearer {
        with_bearer(bearer, |value| headers.set("Authorization", value))?;
    }
    init.set_headers(&headers);
    if request.include_credentials {
        init.set_credentials(RequestCredentials::Include);
    }
    Ok(Request::new_with_str_and_init(&request.url, &init)?.into())
}
