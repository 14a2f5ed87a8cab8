//! Where the page goes when the session ends (DESIGN rule 9).
use super::origin::Origin;

/// Whether `target` (`loginUrl`, resolved against the page by the browser's URL parser) is the
/// page at `here` (`location.href`): the same origin and the same path, whatever the query or
/// fragment. A login page whose own calls fail must not reload itself forever, so the page is
/// never sent to `loginUrl` while it is already there. Both are absolute URLs as the browser
/// serializes them; one that is not an http(s) URL is never the same page.
pub fn is_same_page(target: &str, here: &str) -> bool {
    let (Ok(a), Ok(b)) = (Origin::of_url(target), Origin::of_url(here)) else {
        return false;
    };
    a == b && path_of(target) == path_of(here)
}

/// The path of an absolute URL: from the first `/` after `scheme://host` to `?`, `#` or the end.
///
/// Byte positions of ASCII delimiters are char boundaries, so the checked `get`s never fail.
fn path_of(url: &str) -> &str {
    let bytes = url.as_bytes();
    // The authority starts after the first "//" (both URLs are absolute: `scheme://`).
    let authority = bytes
        .windows(2)
        .position(|w| w == b"//")
        .map_or(0, |i| i + 2);
    let start = bytes
        .iter()
        .skip(authority)
        .position(|b| *b == b'/')
        .map_or(bytes.len(), |i| authority + i);
    let end = bytes
        .iter()
        .skip(start)
        .position(|b| matches!(b, b'?' | b'#'))
        .map_or(bytes.len(), |i| start + i);
    match url.get(start..end).unwrap_or_default() {
        "" => "/",
        path => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_same_page_is_the_same_origin_and_path() {
        let here = "https://app.example.com/login?next=%2Fhome#top";
        assert!(is_same_page("https://app.example.com/login", here));
        assert!(is_same_page("https://app.example.com/login#x", here));
        assert!(is_same_page("https://APP.example.com:443/login", here));
        assert!(!is_same_page("https://app.example.com/login/", here));
        assert!(!is_same_page("https://app.example.com/signin", here));
        assert!(!is_same_page("https://auth.example.com/login", here));
        assert!(!is_same_page("http://app.example.com/login", here));
        assert!(is_same_page("https://a.example", "https://a.example/"));
        assert!(
            !is_same_page("/login", "/login"),
            "relative URLs are not pages"
        );
    }
}
