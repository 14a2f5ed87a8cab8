//! The demo's files: `--www` at `/`, `--pkg` (the built package, `make pkg`) at `/pkg`, and `/login`.
//! Paths are relative to the working directory; a missing directory or file is a 404, never a
//! crash.

use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Response};
use axum::Router;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Adds the static routes to `router`; the `--www` directory becomes its fallback.
pub fn attach<S>(router: Router<S>, www: &Path, pkg: &Path) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let login = ServeFile::new(www.join("login.html"));
    router
        .route_service(
            "/login",
            ServiceExt::<Request>::map_response(login, no_store),
        )
        .nest_service(
            "/pkg",
            ServiceExt::<Request>::map_response(ServeDir::new(pkg), no_store),
        )
        .fallback_service(ServiceExt::<Request>::map_response(
            ServeDir::new(www),
            no_store,
        ))
}

/// The demo is rebuilt while the server runs: a cached `pkg/*.wasm` from the last build would
/// make a test run old code.
fn no_store<B>(mut response: Response<B>) -> Response<B> {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use crate::state::{AppState, Settings};
    use crate::testing::get;
    use axum::http::{header, StatusCode};

    #[tokio::test]
    async fn serves_www_pkg_and_login_and_404s_without_them() {
        let root =
            std::env::temp_dir().join(format!("api-server-statics-{}", crate::ids::random_hex(8)));
        let (www, pkg) = (root.join("www"), root.join("pkg"));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(www.join("index.html"), "<h1>demo</h1>").unwrap();
        std::fs::write(www.join("login.html"), "<h1>login</h1>").unwrap();
        std::fs::write(pkg.join("authfetch_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();

        let router = crate::app::main_router(AppState::new(Settings::default(), true), &www, &pkg);
        let r = get(&router, "/", None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.bytes.as_ref(), b"<h1>demo</h1>");
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
        let r = get(&router, "/login", None).await;
        assert_eq!(r.bytes.as_ref(), b"<h1>login</h1>");
        assert!(r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let r = get(&router, "/pkg/authfetch_bg.wasm", None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(
            get(&router, "/nope.js", None).await.status,
            StatusCode::NOT_FOUND
        );
        std::fs::remove_dir_all(&root).unwrap();

        // The directories are gone now: 404s, no crash.
        for path in ["/", "/login", "/pkg/authfetch_bg.wasm"] {
            assert_eq!(
                get(&router, path, None).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
}
