//! Injected failures of the login and refresh endpoints (`/__control/fail-login`,
//! `/__control/fail-refresh`), the same for every dialect: [`gate`] counts the call, takes a
//! pending fault and carries out what needs no body (a delay, a dropped connection); the
//! dialect renders the answers that have one, in its own error shape.

use axum::Extension;

use crate::serve::ConnHandle;
use crate::state::{AppState, Fault};

/// Which kind of endpoint is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A login endpoint: faults from `fail-login`, failures counted in `loginFailures`.
    Login,
    /// A refresh endpoint: counted in `refreshRequests`; faults from `fail-refresh`, failures
    /// counted in `refreshFailures`.
    Refresh,
}

/// An injected failure the dialect must answer in its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// 500 or 503 with the dialect's server error body.
    Status(u16),
    /// 401 with the dialect's rejection of this endpoint.
    Reject,
}

/// Runs at the start of every login and refresh handler. `None`: go on normally (after the
/// injected delay, if one was pending). A drop never returns: the connection is closed under
/// the handler, which is dropped with it.
pub async fn gate(
    state: &AppState,
    endpoint: Endpoint,
    conn: Option<Extension<ConnHandle>>,
) -> Option<Injected> {
    let fault = state.with(|b| {
        let fault = match endpoint {
            Endpoint::Refresh => {
                b.counters.refresh_requests += 1;
                b.take_refresh_fault()
            }
            Endpoint::Login => b.take_login_fault(),
        };
        if matches!(fault, Some(Fault::Status(_) | Fault::Drop | Fault::Reject)) {
            match endpoint {
                Endpoint::Refresh => b.counters.refresh_failures += 1,
                Endpoint::Login => b.counters.login_failures += 1,
            }
        }
        fault
    });
    match fault {
        None => None,
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Some(Fault::Status(code)) => Some(Injected::Status(code)),
        Some(Fault::Reject) => Some(Injected::Reject),
        Some(Fault::Drop) => match conn {
            Some(Extension(conn)) => {
                conn.kill();
                // The connection task drops this future with the connection.
                std::future::pending().await
            }
            // Only a router called without `serve` (the unit tests) gets here.
            None => Some(Injected::Status(500)),
        },
    }
}
