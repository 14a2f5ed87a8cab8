//! The browser edge (wasm32 only): carries out the core's decisions.
//!
//! `AuthClient` (client) turns each API call into an input of the core's
//! [`Client`](crate::core::client::Client); the driver drains the effects it queues and feeds
//! I/O completions back; the interceptor decides a call's hot path in one synchronous step with
//! the core's [`Call`](crate::core::Call). Built the way gloo is: one small module per concern,
//! and every JS resource — the refresh timer, each page-lifecycle listener, the channel, each
//! held lock, the `fetcher()` closure — owned by exactly one handle. The edge reads JavaScript
//! into typed values and back; what to do is the core's to say.

mod client;
mod config;
mod crosstab;
mod driver;
mod error;
mod events;
mod http;
mod interceptor;
mod js;
mod lifecycle;
mod listener;
mod redirect;
mod snapshot;
mod timer;

pub use client::AuthClient;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
