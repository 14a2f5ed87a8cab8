//! `login()` and `logout()`: their requests and what their answers do.
use super::{with_server, Body, Caller, Client, Effect, Event, OpKind, Outcome, Request};
use crate::core::answer::{Answer, Verdict};
use crate::core::error::{AuthError, ErrorCode};
use crate::core::session::EndReason;
use crate::core::token::Credentials;

use super::Op;

/// A login or logout request out, and what its answer is for.
#[derive(Debug)]
pub(super) enum PendingRequest {
    /// A login, started before the `logouts`-th logout.
    Login {
        op: Op,
        caller: Caller,
        credentials: Credentials,
        logouts: u32,
    },
    /// The best-effort `logoutPath` POST.
    Logout { op: Op, caller: Caller },
}

impl PendingRequest {
    pub(super) fn op(&self) -> Op {
        match self {
            PendingRequest::Login { op, .. } | PendingRequest::Logout { op, .. } => *op,
        }
    }
}

impl Client {
    /// POSTs the login body for `caller`.
    pub(super) fn start_login(&mut self, caller: Caller, credentials: Credentials) {
        let op = self.issue(OpKind::Request);
        let url = self.config.endpoint(&self.config.login_path);
        self.requests.push(PendingRequest::Login {
            op,
            caller,
            credentials: credentials.clone(),
            logouts: self.logouts,
        });
        self.effects.push(Effect::Request(Request {
            op,
            url,
            method: "POST",
            body: Body::Credentials(credentials),
            bearer: None,
            include_credentials: self.cookie_mode(),
        }));
    }

    /// Ends the session, then POSTs `logoutPath` with the bearer when there was one.
    pub(super) fn start_logout(&mut self, caller: Caller) {
        let bearer = self.session.access_token().cloned();
        // Logins and a restore in flight end here: their answers must not log the user back in.
        self.logouts = self.logouts.wrapping_add(1);
        self.cancel_restore();
        self.end_session(EndReason::User);
        let (Some(path), Some(bearer)) = (&self.config.logout_path, bearer) else {
            return self.settle(caller, Outcome::Done);
        };
        let url = self.config.endpoint(path);
        let bearer = self.allows_endpoint(&url).then_some(bearer);
        let op = self.issue(OpKind::Request);
        self.requests.push(PendingRequest::Logout { op, caller });
        self.effects.push(Effect::Request(Request {
            op,
            url,
            method: "POST",
            body: Body::None,
            bearer,
            include_credentials: self.cookie_mode(),
        }));
    }

    pub(super) fn request_answered(&mut self, request: PendingRequest, answer: Answer) {
        match request {
            // The user logged out while it was in flight: its tokens are never kept.
            PendingRequest::Login {
                caller, logouts, ..
            } if logouts != self.logouts => self.reject(caller, ErrorCode::NotAuthenticated),
            PendingRequest::Login {
                caller,
                credentials,
                ..
            } => self.login_answered(caller, credentials, answer),
            PendingRequest::Logout { caller, .. } => self.settle(caller, Outcome::Done),
        }
    }

    fn login_answered(&mut self, caller: Caller, credentials: Credentials, answer: Answer) {
        let (code, status, server) = match answer.verdict() {
            Verdict::Granted(grant) => {
                self.session.establish(grant, Some(credentials), self.now);
                self.tokens_changed();
                self.repeat_session();
                self.hold_marker();
                self.emit(Event::Login { restored: false });
                return self.settle(caller, Outcome::Done);
            }
            Verdict::NoAnswer => {
                return self.settle(caller, Outcome::error(AuthError::no_answer()))
            }
            Verdict::Refused(status, server) => {
                // Not a 2xx: `for_login_status` has a code for it.
                let code = ErrorCode::for_login_status(status).unwrap_or(ErrorCode::Network);
                (code, status, server)
            }
            Verdict::Malformed(status, server) => (ErrorCode::MalformedResponse, status, server),
        };
        // A locked account's whole answer rides along (PGBen: `desbloqueioEm`, …).
        let with_details = code == ErrorCode::AccountLocked;
        let error = with_server(code, status, server);
        self.settle(
            caller,
            Outcome::Error {
                error,
                with_details,
            },
        );
    }
}
