//! The browser edge (wasm32 only): carries out the core's decisions.
//!
//! Built the way gloo is: one small module per concern, and every JS resource — the refresh
//! timer, each page-lifecycle listener, the `fetcher()` closure — owned by exactly one handle
//! whose `Drop` releases it. No decision is taken here; [`crate::core::Session`] takes them.

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
