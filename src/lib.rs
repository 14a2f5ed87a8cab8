//! # authfetch
//!
//! Keeps a web app's bearer-token session alive in the browser. It logs in, keeps the access
//! token in memory only, refreshes it one minute before expiry, and wraps `fetch` so that calls
//! to the API carry `Authorization: Bearer …`, are retried once after a refresh when the server
//! says the token expired (`401` with `AUTH_006`), and end the session with a redirect to the
//! login page otherwise.
//!
//! The crate is the half of the package that decides, built the way quinn-proto and rustls
//! are:
//!
//! * [`core`] — sans-IO: every rule (expiry, the 401 decision, single flight, backoff, the origin
//!   allowlist, configuration) as plain data and state machines. Time comes in as a number of
//!   milliseconds; decisions come out as effects. It builds and is tested natively with a fake
//!   clock.
//! * `bindings` (wasm32 only) — the core's client behind `#[wasm_bindgen]`: wasm-bindgen
//!   generates its JavaScript side. It converts values and forwards, and decides nothing. The
//!   browser edge that drives it — `fetch`, the timer, page listeners, the channel, locks,
//!   events, the `AuthClient` class — is JavaScript (`js/authfetch.js`), which carries out the
//!   core's effects.
//!
//! The JavaScript API is documented in the README; the design in `docs/DESIGN.md`.
//!
//! Features: `serde` (`Serialize`/`Deserialize` for the configuration and the public core
//! types); `npm`, for the npm package's wasm only: the crate is then `#![no_std]`, so the
//! shipped wasm carries neither std's panic and formatting machinery nor its allocator (a panic
//! — which no path is meant to reach — traps, as `panic = "abort"` would).
#![cfg_attr(feature = "npm", no_std)]
#![warn(missing_docs, missing_debug_implementations)]

extern crate alloc;

pub mod core;

#[cfg(feature = "npm")]
mod runtime;

#[cfg(target_arch = "wasm32")]
pub mod bindings;

// The core's unit tests also run in headless browsers (`make test`: Chromium, Firefox, WebKit).
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
