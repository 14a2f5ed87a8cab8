//! Sending the page to `loginUrl` when a session ends (DESIGN rules 5 and 9).

use wasm_bindgen::JsCast;

/// Navigates to `login_url` (resolved against the current page), unless the page is already
/// there (same origin and path): a login page whose own calls fail must not reload itself
/// forever. In a Worker there is no page to move; nothing happens.
pub(crate) fn to_login(login_url: &str) {
    let global = js_sys::global();
    let Some(window) = global.dyn_ref::<web_sys::Window>() else {
        return;
    };
    let location = window.location();
    let Ok(here) = location.href() else {
        return;
    };
    let (Ok(target), Ok(current)) = (
        web_sys::Url::new_with_base(login_url, &here),
        web_sys::Url::new(&here),
    ) else {
        return;
    };
    if target.origin() == current.origin() && target.pathname() == current.pathname() {
        return;
    }
    let _ = location.assign(&target.href());
}
