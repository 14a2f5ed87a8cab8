//! CORS on the main port, for an app served from another origin than the API: the origins
//! `--cors-origin` gives (and `/__control/config` `corsOrigins` sets at run time) may call the
//! main port from a page; every other origin gets no CORS header, so the browser blocks it.
//!
//! For an allowed `Origin`, a preflight (`OPTIONS` with `Access-Control-Request-Method`) is
//! answered here, 204, never reaching the routes; an actual response gets the origin echoed,
//! `Access-Control-Allow-Credentials: true` (cookie mode needs both: a `*` origin cannot carry
//! credentials) and `Retry-After` exposed. A preflight from any other origin is answered 204
//! with no CORS header, which the browser takes as a refusal. Every preflight is counted in
//! `preflights` by path, and (app.rs) not in `requests` or the journal: how many a browser
//! sends depends on its preflight cache.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// `Access-Control-Allow-Methods`: what the seed APIs use.
const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// `Access-Control-Allow-Headers`: the two request headers authfetch's calls need (the bearer
/// and the JSON body's type), no more.
const ALLOW_HEADERS: &str = "Authorization, Content-Type";
/// `Access-Control-Max-Age`, s: how long a browser may reuse a preflight's answer.
const MAX_AGE_S: &str = "600";

/// Checks that `text` is an origin as a browser sends it in `Origin`: `http` or `https`, a
/// host, an optional port, nothing after (`http://localhost:8080`). Answers it in lower case
/// (browsers send the host so), or why not.
pub fn parse_origin(text: &str) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    let authority = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    if authority.is_some_and(well_formed_authority) {
        Ok(lower)
    } else {
        Err(format!(
            "{text:?} is not an origin (scheme://host[:port], no path, no trailing slash)"
        ))
    }
}

/// `host[:port]`: a name or IPv4 address, or an IPv6 address in brackets; a port of digits.
fn well_formed_authority(authority: &str) -> bool {
    let (host, port, host_bytes): (&str, &str, &[u8]) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((address, "")) => (address, "", b":."),
            Some((address, rest)) => match rest.strip_prefix(':') {
                Some(port) if !port.is_empty() => (address, port, b":."),
                _ => return false,
            },
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((_, "")) => return false,
            Some((host, port)) => (host, port, b"-."),
            None => (authority, "", b"-."),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || host_bytes.contains(&b));
    host_ok && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a JSON array of origins (the config control's `corsOrigins`).
pub fn parse_origins(value: &serde_json::Value) -> Result<Vec<String>, String> {
    let wrong = || "corsOrigins must be an array of origins".to_owned();
    value
        .as_array()
        .ok_or_else(wrong)?
        .iter()
        .map(|v| v.as_str().ok_or_else(wrong).and_then(parse_origin))
        .collect()
}

/// The middleware: answers preflights, adds the CORS headers to allowed origins' responses.
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let allowed = origin.as_ref().is_some_and(|origin| {
        let origin = origin.to_str().unwrap_or_default();
        state.with(|b| b.cors_origins.iter().any(|o| o == origin))
    });
    let origin = origin.filter(|_| allowed);
    if is_preflight(request.method(), request.headers()) {
        let path = request.uri().path().to_owned();
        state.with(|b| *b.counters.preflights.entry(path).or_default() += 1);
        return preflight(origin);
    }
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        allow(headers, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
    response
}

/// A CORS preflight: `OPTIONS` with `Access-Control-Request-Method`.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// 204; with the CORS headers when `origin` (already checked) is allowed.
fn preflight(origin: Option<HeaderValue>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        allow(headers, origin);
        for (name, value) in [
            (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS),
            (header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_S),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// The headers every answer to an allowed origin has: the origin echoed, credentials allowed,
/// and `Vary: Origin` (another origin gets another answer).
fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Settings;
    use crate::testing::{self, config, get, post, send};
    use axum::http::Request;
    use serde_json::json;

    const PAGE: &str = "http://localhost:8080";

    fn preflight_request(origin: &str, path: &str) -> Request<Body> {
        Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .body(Body::empty())
            .unwrap()
    }

    fn with_origin(mut request: Request<Body>, origin: &str) -> Request<Body> {
        let value = HeaderValue::from_str(origin).unwrap();
        request.headers_mut().insert(header::ORIGIN, value);
        request
    }

    fn cors_headers(headers: &HeaderMap) -> Vec<String> {
        headers
            .keys()
            .map(|name| name.as_str().to_owned())
            .filter(|name| name.starts_with("access-control-"))
            .collect()
    }

    #[test]
    fn origins_parse_as_a_browser_sends_them() {
        for good in [
            "http://localhost:8080",
            "https://app.example.com",
            "http://127.0.0.1:5173",
            "http://[::1]:8080",
        ] {
            assert_eq!(parse_origin(good).as_deref(), Ok(good));
        }
        assert_eq!(
            parse_origin("HTTP://LocalHost:8080").as_deref(),
            Ok("http://localhost:8080")
        );
        for bad in [
            "",
            "localhost:8080",
            "http://",
            "http://localhost:8080/",
            "http://localhost/app",
            "*",
            "ftp://x",
            "http://localhost:",
            "http://a:b:c",
            "http://[::1",
            "http://[::1]x",
            "http://a b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_origins(&json!(["http://a.test", "https://b.test:8443"])),
            Ok(vec!["http://a.test".into(), "https://b.test:8443".into()])
        );
        assert!(parse_origins(&json!("http://a.test")).is_err());
        assert!(parse_origins(&json!(["http://a.test/"])).is_err());
        assert!(parse_origins(&json!([1])).is_err());
    }

    #[tokio::test]
    async fn an_allowed_origins_preflight_is_answered_and_counted() {
        let (router, _) = testing::app_with_cors(Settings::default(), vec![PAGE.into()]);
        let r = send(&router, preflight_request(PAGE, "/v1/cidadao/me")).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let h = &r.headers;
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], PAGE);
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET, POST, PUT, PATCH, DELETE"
        );
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "Authorization, Content-Type"
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert_eq!(h[header::VARY], "Origin");
        assert!(r.bytes.is_empty());
        // A login's preflight, too; counted by path, never as requests.
        send(&router, preflight_request(PAGE, "/v1/auth/login")).await;
        let c = testing::counters(&router).await;
        assert_eq!(
            c["preflights"],
            json!({"/v1/auth/login": 1, "/v1/cidadao/me": 1})
        );
        assert_eq!(c["requests"], json!({}));
        let j = get(&router, "/__control/journal", None).await.json();
        assert_eq!(j["requests"], json!([]));
    }

    #[tokio::test]
    async fn a_preflight_asks_for_a_fresh_connection_while_a_drop_is_armed() {
        // Else the dropped request could follow its preflight on a reused connection (serve.rs).
        let (router, _) = testing::app_with_cors(Settings::default(), vec![PAGE.into()]);
        let plan = json!({"count": 1, "mode": "drop"});
        post(&router, "/__control/fail-refresh", plan, None).await;
        let r = send(&router, preflight_request(PAGE, "/v1/auth/refresh-token")).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(r.headers[header::CONNECTION], "close");
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], PAGE);
    }

    #[tokio::test]
    async fn another_origin_gets_no_cors_headers() {
        let (router, _) = testing::app_with_cors(Settings::default(), vec![PAGE.into()]);
        for origin in ["http://evil.test", "http://localhost:8081", "null"] {
            let r = send(&router, preflight_request(origin, "/v1/cidadao/me")).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{origin}");
            assert_eq!(cors_headers(&r.headers), Vec::<String>::new(), "{origin}");
            assert!(r.headers.get(header::VARY).is_none(), "{origin}");
            let login = testing::request(
                Method::POST,
                "/v1/auth/login",
                Some(json!({"email": "maria.oliveira@exemplo.com", "senha": "S3nh4F0rt3!"})),
                None,
            );
            let r = send(&router, with_origin(login, origin)).await;
            // The server answers; the browser is what keeps the page from reading it.
            assert_eq!(r.status, StatusCode::OK, "{origin}");
            assert_eq!(cors_headers(&r.headers), Vec::<String>::new(), "{origin}");
        }
        // Without any origin configured, not even the page's.
        let (plain, _) = testing::app();
        let r = send(&plain, preflight_request(PAGE, "/v1/cidadao/me")).await;
        assert_eq!(cors_headers(&r.headers), Vec::<String>::new());
        assert_eq!(
            testing::counters(&plain).await["preflights"],
            json!({"/v1/cidadao/me": 1})
        );
    }

    #[tokio::test]
    async fn actual_responses_to_an_allowed_origin_carry_the_headers() {
        let (router, _) = testing::app_with_cors(Settings::default(), vec![PAGE.into()]);
        let (access, _) = testing::login_maria(&router).await;
        let me = testing::request(Method::GET, "/v1/cidadao/me", None, Some(&access));
        let r = send(&router, with_origin(me, PAGE)).await;
        assert_eq!(r.status, StatusCode::OK);
        let h = &r.headers;
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], PAGE);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "Retry-After");
        assert_eq!(h[header::VARY], "Origin");
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_METHODS).is_none());
        // Errors too: a 401 the page must be able to read to renew.
        let me = testing::request(Method::GET, "/v1/cidadao/me", None, Some("nope"));
        let r = send(&router, with_origin(me, PAGE)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], PAGE);
        // A request without `Origin` (same origin, or not a browser) gets none.
        let r = get(&router, "/v1/cidadao/me", Some(&access)).await;
        assert_eq!(cors_headers(&r.headers), Vec::<String>::new());
    }

    #[tokio::test]
    async fn the_config_control_sets_origins_and_reset_restores_the_flags() {
        let flag = "http://app.test:3000";
        let (router, _) = testing::app_with_cors(Settings::default(), vec![flag.into()]);
        assert_eq!(
            get(&router, "/__control/config", None).await.json()["corsOrigins"],
            json!([flag])
        );
        let body = config(&router, json!({"corsOrigins": [PAGE]})).await;
        assert_eq!(body["corsOrigins"], json!([PAGE]));
        let r = send(&router, preflight_request(PAGE, "/v1/cidadao/me")).await;
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], PAGE);
        // The runtime list replaced the flag's.
        let r = send(&router, preflight_request(flag, "/v1/cidadao/me")).await;
        assert_eq!(cors_headers(&r.headers), Vec::<String>::new());
        // Left out, it stays; bad lists are refused and change nothing.
        assert_eq!(
            config(&router, json!({})).await["corsOrigins"],
            json!([PAGE])
        );
        for bad in [
            json!({"corsOrigins": "http://a.test"}),
            json!({"corsOrigins": ["http://a.test/"]}),
            json!({"corsOrigins": ["*"]}),
        ] {
            let r = post(&router, "/__control/config", bad.clone(), None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(r.json()["errorCode"], "CTRL_001");
        }
        assert_eq!(
            get(&router, "/__control/config", None).await.json()["corsOrigins"],
            json!([PAGE])
        );

        post(&router, "/__control/reset", json!({}), None).await;
        assert_eq!(
            get(&router, "/__control/config", None).await.json()["corsOrigins"],
            json!([flag])
        );
        let r = send(&router, preflight_request(PAGE, "/v1/cidadao/me")).await;
        assert_eq!(cors_headers(&r.headers), Vec::<String>::new());
        let r = send(&router, preflight_request(flag, "/v1/cidadao/me")).await;
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], flag);
        // An empty list turns CORS off.
        config(&router, json!({"corsOrigins": []})).await;
        let r = send(&router, preflight_request(flag, "/v1/cidadao/me")).await;
        assert_eq!(cors_headers(&r.headers), Vec::<String>::new());
    }
}
