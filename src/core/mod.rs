//! The sans-IO core: every decision authfetch makes, with no browser, no clock and no timers.
//!
//! Inputs are plain values — server answers, error codes, `now_ms` (milliseconds since the Unix
//! epoch on the page's clock) — and outputs are decisions the browser edge carries out: "send with
//! token generation 3", "refresh, then retry once", "end the session", "wake me at t".
//! Everything here builds and is tested natively (`cargo test`) with a fake clock.
#![forbid(unsafe_code)]

pub mod answer;
pub mod call;
pub mod client;
pub mod config;
pub mod crosstab;
pub mod decimal;
pub mod error;
pub mod expiry;
pub mod origin;
pub mod page;
pub mod refresh;
pub mod session;
pub mod token;

pub use answer::{Answer, Json, Leaf, ServerSaid};
pub use call::{Call, CallStep};
pub use client::{Caller, Client, Effect, InputError, Op};
pub use config::{Config, RawConfig, RefreshCredential, RefreshMethod, Setting};
pub use error::{AuthError, ErrorCode};
pub use expiry::{Expiry, JwtTimes};
pub use origin::{Origin, OriginAllowlist};
pub use refresh::{Backoff, RefreshFailure, RefreshVerdict};
pub use session::{
    EndReason, ExpiredCodes, Grant, RenewalTicket, SendDecision, Session, SessionPolicy,
    SharedSession, UnauthorizedDecision,
};
pub use token::{AccessToken, Credentials, RefreshToken, TokenGeneration};
