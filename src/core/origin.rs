//! Which origins may receive the bearer (DESIGN rule 4).
//!
//! An origin is scheme + host + port (RFC 6454). Matching is exact: `https://api.example.com`
//! does not allow `https://evil.api.example.com`, `http://api.example.com` or
//! `https://api.example.com:8443`. Request URLs are resolved by the browser (`new URL`), whose
//! `origin` is already in this serialized form.
use alloc::{string::String, vec::Vec};

use core::fmt;

use super::decimal;

/// A serialized origin, `scheme://host[:port]`, lower-case, default port omitted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// Parses a configured origin such as `"https://api.example.com"` or
    /// `"http://127.0.0.1:8080/"`.
    ///
    /// Accepts `http` and `https` only; a trailing `/` is allowed, any other path, query,
    /// fragment or user info is refused (an origin is not a URL prefix). Hosts are compared in
    /// ASCII: write internationalized names in their `xn--` form.
    ///
    /// Errors: a static reason, for `invalid_config`.
    pub fn parse(text: &str) -> Result<Origin, &'static str> {
        const SHAPE: &str = "entries must be origins like \"https://api.example.com\" (scheme://host[:port], no path)";
        let lower = text.trim_ascii().to_ascii_lowercase();
        let (scheme, rest) = split_scheme(&lower).ok_or(SHAPE)?;
        let default_port = match scheme {
            "https" => "443",
            "http" => "80",
            _ => return Err("entries must use http or https"),
        };
        let authority = rest.strip_suffix("/").unwrap_or(rest);
        if authority.is_empty()
            || authority
                .bytes()
                .any(|b| matches!(b, b'/' | b'?' | b'#' | b'@' | b' '))
        {
            return Err(SHAPE);
        }
        let (host, port) = split_host_port(authority).ok_or(SHAPE)?;
        let mut out = String::with_capacity(lower.len());
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(host);
        if let Some(port) = port.filter(|p| *p != default_port) {
            out.push(':');
            out.push_str(port);
        }
        Ok(Origin(out))
    }

    /// The origin of an absolute `http(s)` URL such as `"https://api.example.com/v1/"`.
    ///
    /// Errors: a static reason when `url` is not an absolute http(s) URL.
    pub fn of_url(url: &str) -> Result<Origin, &'static str> {
        let (scheme, rest) = split_scheme(url).ok_or("must be an absolute http(s) URL")?;
        let end = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let mut origin = String::with_capacity(scheme.len() + 3 + end);
        origin.push_str(scheme);
        origin.push_str("://");
        origin.push_str(rest.get(..end).unwrap_or(rest));
        Origin::parse(&origin)
    }

    /// The serialized form, as `URL.prototype.origin` prints it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `scheme://rest` at the first `:`.
///
/// Byte positions of ASCII delimiters are char boundaries, so the checked `get`s never fail;
/// they (and not `split_once`/`find`, whose panic paths format) keep `core::fmt` out of the wasm.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let colon = url.bytes().position(|b| b == b':')?;
    let rest = url.get(colon..)?.strip_prefix("://")?;
    Some((url.get(..colon)?, rest))
}

/// Splits `host[:port]` (IPv6 hosts in brackets); the port, when present, must be 1–65535.
///
/// Here and in `Origin::parse`, one-character patterns are `&str`s, not `char`s: a `char`
/// pattern brings `char::encode_utf8` into the wasm.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with("[") {
        let end = authority.bytes().position(|b| b == b']')?;
        let (host, rest) = authority.split_at_checked(end + 1)?;
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(":")?)),
        }
    } else {
        match authority.bytes().position(|b| b == b':') {
            Some(colon) => (authority.get(..colon)?, Some(authority.get(colon + 1..)?)),
            None => (authority, None),
        }
    };
    let port_ok = port.is_none_or(|p| decimal::parse(p).is_some_and(|n| (1..=65_535).contains(&n)));
    (!host.is_empty() && port_ok).then_some((host, port))
}

/// The origins allowed to receive the bearer. Never empty: at least the API's own origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginAllowlist(Vec<Origin>);

impl OriginAllowlist {
    /// An allowlist of the given origins. Errors when `origins` is empty (nothing could ever be
    /// authenticated, which is never what a configuration means).
    pub fn new(origins: Vec<Origin>) -> Result<Self, &'static str> {
        if origins.is_empty() {
            return Err("must name at least one origin");
        }
        Ok(OriginAllowlist(origins))
    }

    /// The allowlist of one origin (the default: `baseUrl`'s).
    pub fn of(origin: Origin) -> Self {
        OriginAllowlist(alloc::vec![origin])
    }

    /// Whether a request to `origin` (the browser's serialized `URL.origin` of the resolved
    /// request URL) may carry the bearer. The opaque origin `"null"` never may.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o.0 == origin)
    }

    /// Whether the absolute URL `url` goes to an allowed origin, decided without a URL parser
    /// when that is certain: `Some(true)` when `url` is an allowed origin spelled exactly as
    /// serialized and followed by `/`, `?`, `#` or nothing (the WHATWG URL parser cannot read
    /// any other host or port out of that). `None` for anything else — another spelling
    /// (`HTTPS://`, `:443`), user info, a backslash, other origins — which the caller resolves
    /// with the browser's parser. Never `Some(false)`: refusing is the parser's job.
    pub fn allows_url_prefix(&self, url: &str) -> Option<bool> {
        let allowed = self.0.iter().any(|o| {
            url.strip_prefix(o.as_str())
                .is_some_and(|rest| matches!(rest.bytes().next(), None | Some(b'/' | b'?' | b'#')))
        });
        allowed.then_some(true)
    }

    /// The allowed origins.
    pub fn origins(&self) -> &[Origin] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn o(s: &str) -> String {
        Origin::parse(s)
            .map(|o| o.0)
            .unwrap_or_else(|e| e.to_owned())
    }

    #[test]
    fn parses_and_normalizes() {
        assert_eq!(o("https://api.example.com"), "https://api.example.com");
        assert_eq!(o("HTTPS://API.Example.com/"), "https://api.example.com");
        assert_eq!(o("https://api.example.com:443"), "https://api.example.com");
        assert_eq!(o("http://127.0.0.1:80"), "http://127.0.0.1");
        assert_eq!(o("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(
            o("https://api.example.com:80"),
            "https://api.example.com:80"
        );
        assert_eq!(o("http://[::1]:3000"), "http://[::1]:3000");
        assert_eq!(o("http://[::1]"), "http://[::1]");
    }

    #[test]
    fn refuses_what_is_not_an_origin() {
        for bad in [
            "api.example.com",
            "ftp://api.example.com",
            "https://",
            "https://api.example.com/v1",
            "https://api.example.com?x=1",
            "https://user@api.example.com",
            "https://api.example.com:0",
            "https://api.example.com:99999",
            "https://api.example.com:",
            "http://[::1",
            "null",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn matching_is_exact() {
        let list = OriginAllowlist::new(vec![
            Origin::parse("https://api.example.com").unwrap(),
            Origin::parse("http://127.0.0.1:8080").unwrap(),
        ])
        .unwrap();
        assert!(list.allows("https://api.example.com"));
        assert!(list.allows("http://127.0.0.1:8080"));
        for other in [
            "https://evil.api.example.com",
            "https://api.example.com.evil.com",
            "http://api.example.com",
            "https://api.example.com:8443",
            "http://127.0.0.1:8081",
            "http://localhost:8080",
            "null",
            "",
        ] {
            assert!(!list.allows(other), "{other} must not get the bearer");
        }
    }

    #[test]
    fn origin_of_a_url() {
        let of = |u: &str| Origin::of_url(u).map(|o| o.0);
        assert_eq!(
            of("https://API.example.com/v1/x?y#z").as_deref(),
            Ok("https://api.example.com")
        );
        assert_eq!(
            of("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert!(of("/relative").is_err());
        assert!(of("file:///etc").is_err());
    }

    #[test]
    fn empty_allowlist_is_refused() {
        assert!(OriginAllowlist::new(vec![]).is_err());
    }

    #[test]
    fn url_prefix_decides_only_exact_spellings() {
        let list = OriginAllowlist::new(vec![
            Origin::parse("https://api.example.com").unwrap(),
            Origin::parse("http://127.0.0.1:8080").unwrap(),
        ])
        .unwrap();
        for url in [
            "https://api.example.com/v1/me",
            "https://api.example.com",
            "https://api.example.com?x=1",
            "https://api.example.com#top",
            "http://127.0.0.1:8080/v1/me",
        ] {
            assert_eq!(list.allows_url_prefix(url), Some(true), "{url}");
        }
        for url in [
            "https://api.example.com.evil.com/",
            "https://api.example.com@evil.com/",
            "https://api.example.com:443/",
            "https://api.example.com\\@evil.com/",
            "HTTPS://api.example.com/",
            " https://api.example.com/",
            "http://127.0.0.1:80801/",
            "https://evil.com/https://api.example.com/",
            "/v1/me",
        ] {
            assert_eq!(list.allows_url_prefix(url), None, "{url}");
        }
    }
}
