//! # authfetch
//!
//! Keeps a web app's bearer-token session alive in the browser. It logs in, keeps the access
//! token in memory only, refreshes it one minute before expiry, and wraps `fetch` so that calls
//! to the API carry `Authorization: Bearer …`, are retried once after a refresh when the server
//! says the token expired (`401` with `AUTH_006`), and end the session with a redirect to the
//! login page otherwise.
//!
//! The crate has two halves, built the way quinn-proto and rustls are:
//!
//! * [`core`] — sans-IO: every rule (expiry, the 401 decision, single flight, backoff, the origin
//!   allowlist, configuration) as plain data and state machines. Time comes in as a number of
//!   milliseconds; decisions come out. It builds and is tested natively with a fake clock.
//! * `browser` (wasm32 only) — the thin edge that JavaScript sees as `AuthClient`: it carries the
//!   core's decisions out with `fetch`, one owned timer, page-lifecycle listeners and events.
//!
//! The JavaScript API is documented in the README; the design in `DESIGN.md`.
//!
//! On wasm32 the crate is `#![no_std]` unless the `std` feature is on (tests turn it on): the
//! shipped wasm carries neither std's panic and formatting machinery nor its allocator. A
//! panic — which no path is meant to reach — traps, as `panic = "abort"` would.
#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]
#![warn(missing_docs, missing_debug_implementations)]

extern crate alloc;

pub mod core;

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod runtime;

#[cfg(target_arch = "wasm32")]
pub mod browser;
