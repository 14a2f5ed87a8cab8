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
//! * `exports` (wasm32 only) — the wasm's flat surface: numbers and UTF-8 fields in linear
//!   memory, no imports. The browser edge that calls it — `fetch`, the timer, page listeners,
//!   the channel, locks, events, the `AuthClient` class — is hand-written JavaScript
//!   (`js/authfetch.js`), which carries out the core's effects and decides nothing.
//!
//! The JavaScript API is documented in the README; the design in `DESIGN.md`.
//!
//! On wasm32 the crate is `#![no_std]`: the shipped wasm carries neither std's panic and
//! formatting machinery nor its allocator. A panic — which no path is meant to reach — traps,
//! as `panic = "abort"` would.
#![cfg_attr(feature = "npm", no_std)]
#![warn(missing_docs, missing_debug_implementations)]

extern crate alloc;

pub mod core;

#[cfg(feature = "npm")]
mod runtime;

#[cfg(target_arch = "wasm32")]
pub mod bindings;
