//! The session state machine: who holds which token, when to renew, what a 401 means.
//!
//! Built like quinn-proto's `Connection`: the edge feeds in events with `now_ms` (milliseconds
//! since the Unix epoch, page clock) — a call about to be sent, a 401, a renewal's outcome, a
//! timer firing — and carries out the decisions that come back. [`Session::poll_timeout`] says
//! when the one proactive timer should fire next.
//!
//! "Renewal" means getting a new access token by whatever the configuration says: the refresh
//! endpoint, or, in `relogin` mode, the login repeated with the credentials held in memory.

use alloc::{string::String, vec::Vec};

use super::expiry::{Expiry, JwtTimes};
use super::refresh::{Backoff, RefreshFailure, RefreshVerdict};
use super::token::{AccessToken, Credentials, RefreshToken, TokenGeneration};

/// The parts of the configuration the session decides with (see `Config::session_policy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Refresh this long before expiry, ms; capped at half the lifetime.
    pub refresh_lead_ms: u64,
    /// Retries of one request after a renewal (`maxRetries`, DESIGN rule 9).
    pub max_retries: u32,
    /// A refresh endpoint or relogin exists; without one a 401 ends the session.
    pub can_renew: bool,
    /// `relogin` mode: the login body is kept in memory to log in again.
    pub keeps_credentials: bool,
    /// Which 401s mean "expired".
    pub expired_error_codes: ExpiredCodes,
    /// Proactive renewal stops after this long without an authenticated call, ms (seed 000).
    pub idle_timeout_ms: Option<u64>,
}

/// Which 401 answers mean "the access token expired: refresh and retry once" (DESIGN rule 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpiredCodes {
    /// Every 401 does (`expiredErrorCodes: []`; seed 001, whose 401s carry no code).
    Any,
    /// Only 401s whose error code is one of these (default `["AUTH_006"]`, seed 004).
    Codes(Vec<String>),
}

impl ExpiredCodes {
    /// Whether a 401 with this server error code means "expired".
    pub fn matches(&self, server_code: Option<&str>) -> bool {
        match self {
            ExpiredCodes::Any => true,
            ExpiredCodes::Codes(codes) => server_code.is_some_and(|c| codes.iter().any(|k| k == c)),
        }
    }
}

/// What a successful login or renewal answered, read by the edge from the JSON body.
#[derive(Debug)]
pub struct Grant {
    /// The new access token.
    pub access_token: AccessToken,
    /// The new refresh token, if the answer had one; without one the old one is kept.
    pub refresh_token: Option<RefreshToken>,
    /// `expiresIn`, seconds of lifetime, if the answer had it.
    pub expires_in_s: Option<f64>,
    /// The access token's JWT `exp`/`iat`, if it is a JWT.
    pub jwt: JwtTimes,
}

/// Why a session ended: the `detail.reason` of the `logout` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum EndReason {
    /// `logout()` was called.
    User,
    /// A retried request was still refused, or a 401 could not be renewed.
    SessionExpired,
    /// The server called the token invalid (a 401 whose code is not an "expired" one, e.g.
    /// PGBen `AUTH_005`).
    InvalidToken,
    /// The refresh endpoint refused (400/401/403, e.g. PGBen `AUTH_007`).
    RefreshRejected,
    /// Another tab ended the session.
    OtherTab,
}

impl EndReason {
    /// Whether the page goes to `loginUrl`: when the server ended the session. Not after
    /// `logout()` (the app decides) nor when another tab ended it (that tab redirects itself).
    pub fn redirects_to_login(self) -> bool {
        matches!(
            self,
            EndReason::SessionExpired | EndReason::InvalidToken | EndReason::RefreshRejected
        )
    }

    /// The string JavaScript sees in `detail.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::User => "user",
            EndReason::SessionExpired => "session_expired",
            EndReason::InvalidToken => "invalid_token",
            EndReason::RefreshRejected => "refresh_rejected",
            EndReason::OtherTab => "other_tab",
        }
    }
}

/// What to do with a call to an allowed origin that is about to be sent (DESIGN rule 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendDecision {
    /// No session: reject `not_authenticated` without sending.
    NotAuthenticated,
    /// The token is expired or inside the lead window (or a renewal is in flight): wait for
    /// the renewal, then send.
    RenewFirst,
    /// Send now with the current access token, of this generation.
    Send(TokenGeneration),
}

/// What a 401 answer means for the request that got it (DESIGN rules 5 and 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnauthorizedDecision {
    /// The request was sent with an older token than the current one: resend with the
    /// current token, without renewing again.
    RetryWithCurrent,
    /// The request was sent with an older token and may not be sent again (`maxRetries`
    /// spent): its 401 goes to the caller as it is. The current token was not refused, so the
    /// session goes on.
    ReturnAnswer,
    /// The token expired: renew (joining a renewal in flight), then resend once.
    RenewThenRetry,
    /// The session is over: end it, redirect, reject `session_expired`.
    EndSession(EndReason),
    /// The session had already ended meanwhile: reject `session_expired`, nothing more.
    AlreadyEnded,
}

struct Held {
    access_token: AccessToken,
    refresh_token: Option<RefreshToken>,
    credentials: Option<Credentials>,
    expiry: Expiry,
    /// When the access token arrived (ms since the epoch), for its expiry.
    received_at_ms: u64,
    /// Its cross-tab version (see [`Session::version`]).
    version: u64,
}

/// A session as it travels between tabs over the `BroadcastChannel` (memory only).
#[derive(Clone, Debug)]
pub struct SharedSession {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, if any.
    pub refresh_token: Option<RefreshToken>,
    /// Its cross-tab version (see [`Session::version`]). Credentials never travel between tabs
    /// (DESIGN rule 11): in `relogin` mode the tab that logged in keeps them, and keeps them
    /// across adopted renewals of the same login (lineage) only.
    pub version: u64,
    /// When the access token arrived, ms since the epoch (for its expiry).
    pub received_at_ms: u64,
    /// When it expires, ms since the epoch, if known.
    pub expires_at_ms: Option<u64>,
}

/// The renewal ticket: names one renewal, so that the answer to a renewal started before a
/// logout (or before a new login) is recognized as stale and dropped instead of overwriting the
/// newer session. Local to a tab; not the token generation (which counts access tokens in this
/// tab) nor the cross-tab version (which orders sessions between tabs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewalTicket(u32);

/// One tab's session.
pub struct Session {
    policy: SessionPolicy,
    held: Option<Held>,
    /// The newest cross-tab version this tab has known: of tokens held, adopted, or ended (a
    /// logout ends its whole lineage: the counter part is all ones).
    last_known: u64,
    generation: TokenGeneration,
    renewal: Option<RenewalTicket>,
    renewals_started: u32,
    backoff: Backoff,
    retry_at_ms: Option<u64>,
    last_activity_ms: u64,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("authenticated", &self.held.is_some())
            .field("generation", &self.generation)
            .field("expiry", &self.held.as_ref().map(|h| h.expiry))
            .field("renewal", &self.renewal)
            .field("retry_at_ms", &self.retry_at_ms)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with no tokens yet.
    pub fn new(policy: SessionPolicy) -> Self {
        Session {
            policy,
            held: None,
            last_known: 0,
            generation: TokenGeneration::default(),
            renewal: None,
            renewals_started: 0,
            backoff: Backoff::default(),
            retry_at_ms: None,
            last_activity_ms: 0,
        }
    }

    /// Starts a session from a login answer received at `now_ms` — or, with `credentials`
    /// `None`, from a session resumed without them (`restore()`). The login body is kept only
    /// in `relogin` mode.
    pub fn establish(&mut self, grant: Grant, credentials: Option<Credentials>, now_ms: u64) {
        let Grant {
            access_token,
            refresh_token,
            expires_in_s,
            jwt,
        } = grant;
        self.held = Some(Held {
            access_token,
            refresh_token,
            credentials: credentials.filter(|_| self.policy.keeps_credentials),
            expiry: Expiry::from_grant(now_ms, expires_in_s, jwt),
            received_at_ms: now_ms,
            version: new_lineage(now_ms, self.last_known),
        });
        self.last_known = self.last_known.max(self.version().unwrap_or_default());
        self.generation = self.generation.next();
        self.renewal = None;
        self.backoff.reset();
        self.retry_at_ms = None;
        self.last_activity_ms = now_ms;
    }

    /// Whether a session is held.
    pub fn is_authenticated(&self) -> bool {
        self.held.is_some()
    }

    /// The current access token's generation.
    pub fn generation(&self) -> TokenGeneration {
        self.generation
    }

    /// The access token to put in `Authorization: Bearer`, if a session is held.
    pub fn access_token(&self) -> Option<&AccessToken> {
        self.held.as_ref().map(|h| &h.access_token)
    }

    /// The refresh token to present, if one is held.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.held.as_ref().and_then(|h| h.refresh_token.as_ref())
    }

    /// The login body to repeat, in `relogin` mode.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.held.as_ref().and_then(|h| h.credentials.as_ref())
    }

    /// When the access token expires, ms since the epoch (page clock), if known.
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.held.as_ref().and_then(|h| h.expiry.expires_at_ms())
    }

    /// When the next proactive renewal is scheduled, ms since the epoch: the backoff retry
    /// after a transient failure, else `expiresAt − lead`. `None` when nothing is scheduled.
    pub fn refresh_at_ms(&self) -> Option<u64> {
        let held = self.held.as_ref().filter(|_| self.policy.can_renew)?;
        self.retry_at_ms
            .or_else(|| held.expiry.refresh_at_ms(self.policy.refresh_lead_ms))
    }

    /// Decides about a call to an allowed origin at `now_ms`, and records it as activity for
    /// `idleTimeoutSeconds`. With `may_renew` false (the call already waited for a renewal),
    /// it never answers [`SendDecision::RenewFirst`]: one renewal per call at most.
    pub fn before_send(&mut self, now_ms: u64, may_renew: bool) -> SendDecision {
        let Some(held) = &self.held else {
            return SendDecision::NotAuthenticated;
        };
        self.last_activity_ms = now_ms;
        if !may_renew || !self.policy.can_renew {
            return SendDecision::Send(self.generation);
        }
        if self.renewal.is_some() {
            return SendDecision::RenewFirst;
        }
        let in_window = held
            .expiry
            .refresh_at_ms(self.policy.refresh_lead_ms)
            .is_some_and(|at| now_ms >= at);
        let backing_off = self.retry_at_ms.is_some_and(|at| now_ms < at);
        // During a backoff a still-valid token is used as is; an expired one is worth a
        // renewal attempt the caller is waiting for (single flight keeps it to one).
        if in_window && (!backing_off || held.expiry.is_expired(now_ms)) {
            SendDecision::RenewFirst
        } else {
            SendDecision::Send(self.generation)
        }
    }

    /// Decides about a 401 answer to a request sent with generation `sent`, carrying the
    /// server error code `server_code`, after `retries_used` re-sends of that request and
    /// `renewals_used` renewals it waited for (including one before its first send). Both are
    /// bounded by `maxRetries`, so a server that always answers 401 costs at most
    /// `1 + maxRetries` requests and `maxRetries` renewals per call (DESIGN rule 9).
    pub fn on_unauthorized(
        &self,
        sent: TokenGeneration,
        server_code: Option<&str>,
        retries_used: u32,
        renewals_used: u32,
    ) -> UnauthorizedDecision {
        if self.held.is_none() {
            return UnauthorizedDecision::AlreadyEnded;
        }
        if sent < self.generation {
            return if retries_used < self.policy.max_retries {
                UnauthorizedDecision::RetryWithCurrent
            } else {
                UnauthorizedDecision::ReturnAnswer
            };
        }
        if retries_used >= self.policy.max_retries {
            return UnauthorizedDecision::EndSession(EndReason::SessionExpired);
        }
        if !self.policy.expired_error_codes.matches(server_code) {
            return UnauthorizedDecision::EndSession(EndReason::InvalidToken);
        }
        if self.policy.can_renew && renewals_used < self.policy.max_retries {
            UnauthorizedDecision::RenewThenRetry
        } else {
            UnauthorizedDecision::EndSession(EndReason::SessionExpired)
        }
    }

    /// After a renewal the call waited for has failed transiently: whether the call may still be
    /// sent with the token held (it has not expired at `now_ms`, or its expiry is unknown), rather
    /// than rejected `network`.
    pub fn may_send_after_failed_renewal(&self, now_ms: u64) -> bool {
        self.held
            .as_ref()
            .is_some_and(|h| !h.expiry.is_expired(now_ms))
    }

    /// The renewal in flight, if any.
    pub fn renewal_in_flight(&self) -> Option<RenewalTicket> {
        self.renewal
    }

    /// Claims the single renewal flight (DESIGN rule 6). `Some(id)`: the caller must renew now
    /// and report with [`Session::renewal_succeeded`] or [`Session::renewal_failed`]. `None`:
    /// one is already in flight (join it), or there is no session or no way to renew.
    pub fn start_renewal(&mut self) -> Option<RenewalTicket> {
        if self.held.is_none() || !self.policy.can_renew || self.renewal.is_some() {
            return None;
        }
        self.renewals_started = self.renewals_started.wrapping_add(1);
        let id = RenewalTicket(self.renewals_started);
        self.renewal = Some(id);
        Some(id)
    }

    /// Renewal `id` answered a new grant at `now_ms`. A refresh answer without a refresh token
    /// keeps the old one (seed 003 does not rotate); a rotated one replaces it for good.
    /// Returns `false` (and drops the grant) when `id` is stale: the session it was for ended
    /// while it was in flight.
    pub fn renewal_succeeded(&mut self, id: RenewalTicket, grant: Grant, now_ms: u64) -> bool {
        if self.renewal != Some(id) {
            return false;
        }
        self.renewal = None;
        let Some(held) = self.held.as_mut() else {
            return false;
        };
        let Grant {
            access_token,
            refresh_token,
            expires_in_s,
            jwt,
        } = grant;
        held.access_token = access_token;
        if let Some(rotated) = refresh_token {
            held.refresh_token = Some(rotated);
        }
        held.expiry = Expiry::from_grant(now_ms, expires_in_s, jwt);
        held.received_at_ms = now_ms;
        held.version = held.version.saturating_add(1);
        self.last_known = self.last_known.max(held.version);
        self.generation = self.generation.next();
        self.backoff.reset();
        self.retry_at_ms = None;
        true
    }

    /// Renewal `id` did not need to ask the server: another tab renewed and this one adopted
    /// its tokens (see [`Session::adopt`]). Clears the flight; `false` when `id` is stale.
    pub fn renewal_superseded(&mut self, id: RenewalTicket) -> bool {
        if self.renewal != Some(id) {
            return false;
        }
        self.renewal = None;
        self.backoff.reset();
        self.retry_at_ms = None;
        true
    }

    /// The cross-tab version of the tokens held: a login's lineage (the second it was answered,
    /// kept above every lineage this tab has known) in the high 32 bits, and the renewals since
    /// that login in the low 32. Tabs adopt only a newer version; a renewal is the next
    /// version of its lineage, never a wall-clock time, so a clock stepping back cannot reorder
    /// renewals; the version marker lock names it. Not the token generation, which counts
    /// access tokens within one tab.
    pub fn version(&self) -> Option<u64> {
        self.held.as_ref().map(|h| h.version)
    }

    /// The newest version this tab has known, of tokens or of a logout (0: none).
    pub fn last_known(&self) -> u64 {
        self.last_known
    }

    /// Another tab ended the session at `version` (a logout announces its lineage): whether
    /// that ends the tokens held here — those of that lineage or an older one. The version is
    /// remembered either way, so that tokens of an ended lineage are never adopted again.
    pub fn ended_elsewhere(&mut self, version: u64) -> bool {
        self.last_known = self.last_known.max(version | LINEAGE_END);
        self.held
            .as_ref()
            .is_some_and(|h| lineage_of(version) >= lineage_of(h.version))
    }

    /// The session as other tabs should receive it.
    pub fn share(&self) -> Option<SharedSession> {
        self.held.as_ref().map(|h| SharedSession {
            access_token: h.access_token.clone(),
            refresh_token: h.refresh_token.clone(),
            version: h.version,
            received_at_ms: h.received_at_ms,
            expires_at_ms: h.expiry.expires_at_ms(),
        })
    }

    /// Takes over a session another tab broadcast, when it is newer than the one held (or none
    /// is held): same tokens, same version, same expiry, so every tab arms the same deadline.
    /// A renewal in flight here stays in flight (its lock holder decides). Returns whether the
    /// tokens were taken; an older or equal version is ignored.
    ///
    /// Not newer means: not above the newest version known here — so tokens of a lineage a
    /// logout ended are never taken again — and a lineage more than a minute ahead of `now_ms`
    /// is refused, so that no message can pin the versions above every real login.
    pub fn adopt(&mut self, shared: SharedSession, now_ms: u64) -> bool {
        let newest = self.last_known.max(self.version().unwrap_or_default());
        let ahead = lineage_of(shared.version) > (now_ms / 1000).saturating_add(60);
        if shared.version <= newest || ahead {
            return false;
        }
        let SharedSession {
            access_token,
            refresh_token,
            version,
            received_at_ms,
            expires_at_ms,
        } = shared;
        self.last_known = version;
        // The credentials stay while the tokens descend from the same login (a renewal another
        // tab made); another login's tokens come without them.
        let credentials = self
            .held
            .take()
            .filter(|h| lineage_of(h.version) == lineage_of(version))
            .and_then(|h| h.credentials);
        let expiry = match expires_at_ms {
            Some(expires_at_ms) => Expiry::At {
                received_at_ms,
                expires_at_ms,
            },
            None => Expiry::Unknown,
        };
        self.held = Some(Held {
            access_token,
            refresh_token,
            credentials,
            expiry,
            received_at_ms,
            version,
        });
        self.generation = self.generation.next();
        self.backoff.reset();
        self.retry_at_ms = None;
        true
    }

    /// Renewal `id` failed at `now_ms` (DESIGN rule 7).
    /// [`RefreshVerdict::Rejected`]: the caller ends the session with
    /// [`EndReason::RefreshRejected`]. [`RefreshVerdict::Transient`]: the session is kept and the
    /// next automatic attempt is scheduled with backoff; `jitter` is a uniform random number in
    /// `[0, 1)`. [`RefreshVerdict::Stale`]: `id` belonged to a session that has ended; nothing
    /// changes.
    pub fn renewal_failed(
        &mut self,
        id: RenewalTicket,
        failure: RefreshFailure,
        now_ms: u64,
        jitter: f64,
    ) -> RefreshVerdict {
        if self.renewal != Some(id) || self.held.is_none() {
            return RefreshVerdict::Stale;
        }
        self.renewal = None;
        if failure.is_rejection() {
            return RefreshVerdict::Rejected;
        }
        let retry_at_ms = now_ms.saturating_add(self.backoff.next_delay_ms(jitter));
        self.retry_at_ms = Some(retry_at_ms);
        RefreshVerdict::Transient { retry_at_ms }
    }

    /// After a transient renewal failure: the next attempt is no sooner than `until_ms` (a
    /// `Retry-After`). Returns whether the schedule changed; nothing changes without a session
    /// or a scheduled retry.
    pub fn defer_retry(&mut self, until_ms: u64) -> bool {
        match self.retry_at_ms {
            Some(at) if self.held.is_some() && at < until_ms => {
                self.retry_at_ms = Some(until_ms);
                true
            }
            _ => false,
        }
    }

    /// When the one proactive timer should fire next, ms since the epoch (quinn-proto's
    /// `poll_timeout`). `None`: disarm it — no session, no way to renew, a renewal in flight,
    /// expiry unknown, or idle for longer than `idleTimeoutSeconds` (the next call renews lazily).
    pub fn poll_timeout(&self, now_ms: u64) -> Option<u64> {
        if self.renewal.is_some() {
            return None;
        }
        if let Some(idle) = self.policy.idle_timeout_ms {
            if now_ms.saturating_sub(self.last_activity_ms) >= idle {
                return None;
            }
        }
        self.refresh_at_ms()
    }

    /// The timer fired, or the page came back (`visibilitychange`, `focus`, `online`,
    /// `pageshow`; DESIGN rule 3): whether a renewal is due now. Timers stall in background
    /// tabs and during sleep, so this is asked again whenever the page wakes.
    pub fn is_renewal_due(&self, now_ms: u64) -> bool {
        self.poll_timeout(now_ms).is_some_and(|at| now_ms >= at)
    }

    /// The browser is back online: a renewal waiting out a backoff becomes due at once.
    pub fn network_restored(&mut self, now_ms: u64) {
        if self.retry_at_ms.is_some() {
            self.retry_at_ms = Some(now_ms);
            self.backoff.reset();
        }
    }

    /// Ends the session, dropping every token and credential. Returns the reason when a
    /// session was held (the edge then emits `logout` and redirects), `None` when it had
    /// already ended — so one ending never produces two events.
    pub fn end(&mut self, reason: EndReason) -> Option<EndReason> {
        self.renewal = None;
        self.retry_at_ms = None;
        self.backoff.reset();
        let held = self.held.take()?;
        // A logout is a version too: the end of its lineage.
        self.last_known = self.last_known.max(held.version | LINEAGE_END);
        Some(reason)
    }
}

/// The low 32 bits of a version: the renewals of its lineage; all ones marks its end.
const LINEAGE_END: u64 = 0xFFFF_FFFF;

/// The lineage (a login's second) of a version.
fn lineage_of(version: u64) -> u64 {
    version >> 32
}

/// The version of a new login answered at `now_ms`: a lineage of its second, kept above every
/// lineage known (`last_known`), so that a new login is newer than anything before it even if
/// the clock stepped back.
fn new_lineage(now_ms: u64, last_known: u64) -> u64 {
    let lineage = (now_ms / 1000).max(lineage_of(last_known).saturating_add(1));
    lineage.min(u64::from(u32::MAX)) << 32
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::expiry::MIN_REFRESH_GAP_MS;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    pub(crate) const T0: u64 = 1_700_000_000_000;
    const S: u64 = 1_000;
    const MIN: u64 = 60 * S;

    pub(crate) fn policy() -> SessionPolicy {
        SessionPolicy {
            refresh_lead_ms: MIN,
            max_retries: 1,
            can_renew: true,
            keeps_credentials: false,
            expired_error_codes: ExpiredCodes::Codes(vec!["AUTH_006".into()]),
            idle_timeout_ms: None,
        }
    }

    pub(crate) fn grant(expires_in_s: f64, refresh: Option<&str>) -> Grant {
        Grant {
            access_token: AccessToken::new("access-secret".into()),
            refresh_token: refresh.map(|r| RefreshToken::new(r.into())),
            expires_in_s: Some(expires_in_s),
            jwt: JwtTimes::default(),
        }
    }

    fn creds() -> Credentials {
        Credentials::new(r#"{"email":"a","senha":"b"}"#.into())
    }

    pub(crate) fn logged_in(policy: SessionPolicy, ttl_s: f64) -> Session {
        let mut s = Session::new(policy);
        s.establish(grant(ttl_s, Some("r1")), Some(creds()), T0);
        s
    }

    /// Drives the proactive timer the way the edge does: fire at poll_timeout, renew at once.
    fn run_timer_until(s: &mut Session, until: u64, ttl_s: f64) -> Vec<u64> {
        let mut fired = vec![];
        while let Some(at) = s.poll_timeout(0).filter(|at| *at <= until) {
            assert!(s.is_renewal_due(at));
            let id = s.start_renewal().unwrap();
            assert!(s.renewal_succeeded(id, grant(ttl_s, Some("rotated")), at));
            fired.push(at);
        }
        fired
    }

    #[test]
    fn expired_codes_match() {
        let codes = ExpiredCodes::Codes(vec!["AUTH_006".into()]);
        assert!(codes.matches(Some("AUTH_006")));
        assert!(!codes.matches(Some("AUTH_005")));
        assert!(!codes.matches(None));
        assert!(ExpiredCodes::Any.matches(Some("whatever")));
    }

    #[test]
    fn no_session_means_not_authenticated() {
        let mut s = Session::new(policy());
        assert_eq!(s.before_send(T0, true), SendDecision::NotAuthenticated);
        assert!(s.start_renewal().is_none());
        assert_eq!(s.poll_timeout(T0), None);
        assert_eq!(
            s.on_unauthorized(TokenGeneration(0), Some("AUTH_006"), 0, 0),
            UnauthorizedDecision::AlreadyEnded
        );
    }

    #[test]
    fn proactive_refresh_one_minute_before_expiry() {
        let mut s = logged_in(policy(), 3600.0);
        let due = T0 + 59 * MIN;
        assert_eq!(s.poll_timeout(T0), Some(due));
        assert!(!s.is_renewal_due(T0 + 58 * MIN + 50 * S));
        assert!(s.is_renewal_due(T0 + 59 * MIN + 10 * S));
        // Calls before the window go straight out.
        assert_eq!(
            s.before_send(due - 1, true),
            SendDecision::Send(TokenGeneration(1))
        );
        // The timer re-arms for the new token.
        let id = s.start_renewal().unwrap();
        assert_eq!(s.poll_timeout(due), None, "disarmed while in flight");
        assert!(s.renewal_succeeded(id, grant(3600.0, Some("r2")), due));
        assert_eq!(s.poll_timeout(due), Some(due + 59 * MIN));
        assert_eq!(s.generation(), TokenGeneration(2));
    }

    #[test]
    fn an_hour_of_65_second_tokens_is_one_refresh_per_cycle() {
        let mut s = logged_in(policy(), 65.0);
        // Lead capped at half of 65 s: every 32.5 s.
        let fired = run_timer_until(&mut s, T0 + 3600 * S, 65.0);
        assert_eq!(fired.len(), 110);
        assert!(fired.windows(2).all(|w| w[1] - w[0] == 32_500));
        assert_eq!(s.generation(), TokenGeneration(111));
    }

    #[test]
    fn a_twenty_second_token_refreshes_at_ten_seconds() {
        let s = logged_in(policy(), 20.0);
        assert_eq!(s.poll_timeout(T0), Some(T0 + 10 * S));
    }

    #[test]
    fn calls_in_the_lead_window_wait_for_the_renewal() {
        let mut s = logged_in(policy(), 3600.0);
        let in_window = T0 + 59 * MIN + S;
        assert_eq!(s.before_send(in_window, true), SendDecision::RenewFirst);
        let id = s.start_renewal().unwrap();
        // Everyone else joins the flight.
        assert_eq!(s.before_send(in_window, true), SendDecision::RenewFirst);
        assert!(s.start_renewal().is_none(), "single flight");
        // After a renewal was waited for, the call is sent whatever happened.
        assert_eq!(
            s.before_send(in_window, false),
            SendDecision::Send(TokenGeneration(1))
        );
        assert!(s.renewal_succeeded(id, grant(3600.0, None), in_window));
        assert_eq!(
            s.before_send(in_window, true),
            SendDecision::Send(TokenGeneration(2))
        );
    }

    #[test]
    fn expired_code_renews_then_retries_once() {
        let s = logged_in(policy(), 3600.0);
        let g = s.generation();
        assert_eq!(
            s.on_unauthorized(g, Some("AUTH_006"), 0, 0),
            UnauthorizedDecision::RenewThenRetry
        );
        // The retry is still refused: the session is over (rule 5), no loop (rule 9).
        assert_eq!(
            s.on_unauthorized(g, Some("AUTH_006"), 1, 1),
            UnauthorizedDecision::EndSession(EndReason::SessionExpired)
        );
    }

    #[test]
    fn invalid_token_ends_the_session() {
        let s = logged_in(policy(), 3600.0);
        assert_eq!(
            s.on_unauthorized(s.generation(), Some("AUTH_005"), 0, 0),
            UnauthorizedDecision::EndSession(EndReason::InvalidToken)
        );
        assert_eq!(
            s.on_unauthorized(s.generation(), None, 0, 0),
            UnauthorizedDecision::EndSession(EndReason::InvalidToken)
        );
    }

    #[test]
    fn a_401_for_an_older_generation_is_retried_without_renewing() {
        let mut s = logged_in(policy(), 3600.0);
        let old = s.generation();
        let id = s.start_renewal().unwrap();
        assert!(s.renewal_succeeded(id, grant(3600.0, Some("r2")), T0 + S));
        assert_eq!(
            s.on_unauthorized(old, Some("AUTH_006"), 0, 0),
            UnauthorizedDecision::RetryWithCurrent
        );
        assert_eq!(
            s.on_unauthorized(old, Some("AUTH_005"), 0, 0),
            UnauthorizedDecision::RetryWithCurrent
        );
    }

    #[test]
    fn fifty_concurrent_expired_calls_cost_one_renewal() {
        let mut s = logged_in(policy(), 3600.0);
        let sent = s.generation();
        let mut renewals = 0;
        let mut id = None;
        let mut decisions = vec![];
        // All 50 get 401 AUTH_006 while the first renewal is in flight.
        for _ in 0..50 {
            let d = s.on_unauthorized(sent, Some("AUTH_006"), 0, 0);
            if d == UnauthorizedDecision::RenewThenRetry {
                if let Some(started) = s.start_renewal() {
                    id = Some(started);
                    renewals += 1;
                }
            }
            decisions.push(d);
        }
        assert!(s.renewal_succeeded(id.unwrap(), grant(3600.0, Some("r2")), T0 + S));
        // Late 401s for the old generation retry with the new token, without renewing.
        for _ in 0..10 {
            assert_eq!(
                s.on_unauthorized(sent, Some("AUTH_006"), 0, 0),
                UnauthorizedDecision::RetryWithCurrent
            );
        }
        assert_eq!(renewals, 1);
        assert!(decisions
            .iter()
            .all(|d| *d == UnauthorizedDecision::RenewThenRetry));
    }

    #[test]
    fn a_call_that_renewed_before_sending_does_not_renew_again() {
        let s = logged_in(policy(), 3600.0);
        assert_eq!(
            s.on_unauthorized(s.generation(), Some("AUTH_006"), 0, 1),
            UnauthorizedDecision::EndSession(EndReason::SessionExpired)
        );
    }

    #[test]
    fn max_retries_zero_never_retries() {
        let s = logged_in(
            SessionPolicy {
                max_retries: 0,
                ..policy()
            },
            3600.0,
        );
        assert_eq!(
            s.on_unauthorized(s.generation(), Some("AUTH_006"), 0, 0),
            UnauthorizedDecision::EndSession(EndReason::SessionExpired)
        );
    }

    #[test]
    fn without_renewal_a_401_ends_the_session() {
        let mut s = logged_in(
            SessionPolicy {
                can_renew: false,
                ..policy()
            },
            20.0,
        );
        assert_eq!(s.poll_timeout(T0), None);
        assert_eq!(
            s.before_send(T0 + 3600 * S, true),
            SendDecision::Send(TokenGeneration(1))
        );
        assert_eq!(
            s.on_unauthorized(s.generation(), Some("AUTH_006"), 0, 0),
            UnauthorizedDecision::EndSession(EndReason::SessionExpired)
        );
    }

    #[test]
    fn every_401_is_expired_when_the_list_is_empty() {
        let s = logged_in(
            SessionPolicy {
                expired_error_codes: ExpiredCodes::Any,
                ..policy()
            },
            3600.0,
        );
        assert_eq!(
            s.on_unauthorized(s.generation(), None, 0, 0),
            UnauthorizedDecision::RenewThenRetry
        );
    }

    #[test]
    fn transient_failures_back_off_and_keep_the_session() {
        let mut s = logged_in(policy(), 120.0);
        let due = s.poll_timeout(T0).unwrap();
        assert_eq!(due, T0 + 60 * S);
        let mut now = due;
        let mut waits = vec![];
        for failure in [
            RefreshFailure::Status(503),
            RefreshFailure::Network,
            RefreshFailure::Status(500),
        ] {
            assert!(s.is_renewal_due(now));
            let id = s.start_renewal().unwrap();
            match s.renewal_failed(id, failure, now, 0.0) {
                RefreshVerdict::Transient { retry_at_ms } => {
                    waits.push(retry_at_ms - now);
                    assert_eq!(s.poll_timeout(now), Some(retry_at_ms));
                    assert!(!s.is_renewal_due(retry_at_ms - 1));
                    now = retry_at_ms;
                }
                other => panic!("a transient failure gave {other:?}"),
            }
            assert!(s.is_authenticated());
        }
        assert_eq!(waits, [1_000, 2_000, 4_000]);
        // During the backoff a still-valid token is used without another attempt.
        assert_eq!(
            s.before_send(now - 1, true),
            SendDecision::Send(TokenGeneration(1))
        );
        let id = s.start_renewal().unwrap();
        assert!(s.renewal_succeeded(id, grant(120.0, Some("r2")), now));
        assert_eq!(
            s.poll_timeout(now),
            Some(now + 60 * S),
            "backoff forgotten after success"
        );
    }

    #[test]
    fn an_expired_token_during_backoff_still_lets_a_call_try() {
        let mut s = logged_in(policy(), 20.0);
        let now = T0 + 19 * S;
        let id = s.start_renewal().unwrap();
        s.renewal_failed(id, RefreshFailure::Network, now, 0.0);
        assert_eq!(
            s.before_send(now + 500, true),
            SendDecision::Send(TokenGeneration(1))
        );
        assert_eq!(s.before_send(T0 + 20 * S, true), SendDecision::RenewFirst);
    }

    #[test]
    fn back_online_renews_at_once() {
        let mut s = logged_in(policy(), 120.0);
        let now = T0 + 60 * S;
        let id = s.start_renewal().unwrap();
        s.renewal_failed(id, RefreshFailure::Network, now, 0.0);
        assert!(!s.is_renewal_due(now + 10));
        s.network_restored(now + 10);
        assert!(s.is_renewal_due(now + 10));
    }

    #[test]
    fn rejected_refresh_ends_the_session_once() {
        let mut s = logged_in(policy(), 3600.0);
        let id = s.start_renewal().unwrap();
        assert_eq!(
            s.renewal_failed(id, RefreshFailure::Status(401), T0, 0.5),
            RefreshVerdict::Rejected
        );
        assert_eq!(
            s.end(EndReason::RefreshRejected),
            Some(EndReason::RefreshRejected)
        );
        assert_eq!(
            s.end(EndReason::SessionExpired),
            None,
            "no second logout event"
        );
        assert!(s.access_token().is_none());
        assert!(s.refresh_token().is_none());
        assert_eq!(s.before_send(T0, true), SendDecision::NotAuthenticated);
    }

    #[test]
    fn logout_during_a_renewal_drops_its_tokens() {
        let mut s = logged_in(policy(), 3600.0);
        let id = s.start_renewal().unwrap();
        s.end(EndReason::User);
        assert!(!s.renewal_succeeded(id, grant(3600.0, Some("late")), T0 + S));
        assert!(!s.is_authenticated());
        assert!(s.refresh_token().is_none());
    }

    #[test]
    fn a_renewal_from_before_a_new_login_is_stale() {
        let mut s = logged_in(policy(), 3600.0);
        let old = s.start_renewal().unwrap();
        s.end(EndReason::User);
        s.establish(grant(3600.0, Some("fresh")), Some(creds()), T0 + S);
        let new = s.start_renewal().unwrap();
        assert_ne!(old, new);
        assert!(!s.renewal_succeeded(old, grant(3600.0, Some("stale")), T0 + 2 * S));
        assert_eq!(
            s.renewal_failed(old, RefreshFailure::Status(401), T0, 0.0),
            RefreshVerdict::Stale,
            "a stale rejection must not end the new session"
        );
        assert!(s.is_authenticated());
        assert_eq!(s.refresh_token().map(RefreshToken::expose), Some("fresh"));
        assert!(s.renewal_succeeded(new, grant(3600.0, Some("r2")), T0 + 2 * S));
        assert_eq!(s.refresh_token().map(RefreshToken::expose), Some("r2"));
    }

    /// Another tab's session of `version`, received at `received_at_ms`.
    fn shared(version: u64, received_at_ms: u64, refresh: &str) -> SharedSession {
        SharedSession {
            access_token: AccessToken::new("access-from-other-tab".into()),
            refresh_token: Some(RefreshToken::new(refresh.into())),
            version,
            received_at_ms,
            expires_at_ms: Some(received_at_ms + 65 * S),
        }
    }

    /// Now, for adoptions: a few minutes after login.
    const NOW: u64 = T0 + 300 * S;

    #[test]
    fn tabs_adopt_only_newer_sessions_and_share_the_deadline() {
        let mut a = logged_in(policy(), 65.0);
        let mut b = Session::new(policy());
        let first = a.version().unwrap();
        assert!(
            b.adopt(a.share().unwrap(), NOW),
            "a new tab takes the live session"
        );
        assert_eq!(b.version(), a.version());
        assert_eq!(
            b.poll_timeout(T0),
            a.poll_timeout(T0),
            "one deadline for all tabs"
        );
        assert_eq!(b.expires_at_ms(), Some(T0 + 65 * S));
        // A renews; B adopts the newer tokens; the older copy is ignored.
        let id = a.start_renewal().unwrap();
        assert!(a.renewal_succeeded(id, grant(65.0, Some("r2")), T0 + 33 * S));
        assert_eq!(
            a.version(),
            Some(first + 1),
            "a renewal is the next version"
        );
        assert!(b.adopt(a.share().unwrap(), NOW));
        assert_eq!(b.refresh_token().map(RefreshToken::expose), Some("r2"));
        assert!(
            !b.adopt(shared(first, T0, "r1"), NOW),
            "an older session never replaces a newer one"
        );
        assert!(
            !b.adopt(a.share().unwrap(), NOW),
            "the same version twice is one adoption"
        );
        assert_eq!(b.refresh_token().map(RefreshToken::expose), Some("r2"));
    }

    #[test]
    fn a_renewal_overtaken_by_another_tab_is_superseded() {
        let mut s = logged_in(policy(), 65.0);
        let id = s.start_renewal().unwrap();
        let next = s.version().unwrap() + 1;
        assert!(s.adopt(shared(next, T0 + 33 * S, "r2"), NOW));
        assert!(s.renewal_superseded(id));
        assert!(
            !s.renewal_succeeded(id, grant(65.0, Some("late")), T0 + 34 * S),
            "cleared"
        );
        assert_eq!(s.refresh_token().map(RefreshToken::expose), Some("r2"));
        assert_eq!(s.poll_timeout(T0 + 33 * S), Some(T0 + 33 * S + 32_500));
    }

    #[test]
    fn credentials_never_travel_and_stay_within_their_lineage() {
        let relogin = SessionPolicy {
            keeps_credentials: true,
            ..policy()
        };
        // The tab that logged in shares its tokens, never its credentials...
        let mut first = logged_in(relogin.clone(), 3600.0);
        let shared = first.share().unwrap();
        let mut other = Session::new(relogin);
        assert!(other.adopt(shared, NOW));
        assert!(other.credentials().is_none());
        // ...keeps them when it adopts a renewal of its own login...
        let renewed = SharedSession {
            version: other.version().unwrap() + 1,
            received_at_ms: T0 + 10 * S,
            ..other.share().unwrap()
        };
        assert!(first.adopt(renewed, NOW));
        assert!(first.credentials().is_some());
        // ...and drops them for another login's tokens.
        let another = SharedSession {
            version: ((T0 + 20 * S) / 1000) << 32,
            received_at_ms: T0 + 20 * S,
            ..first.share().unwrap()
        };
        assert!(first.adopt(another, NOW));
        assert!(first.credentials().is_none());
    }

    #[test]
    fn versions_are_counters_a_logout_ends_its_lineage_and_no_message_pins_them() {
        let mut a = logged_in(policy(), 65.0);
        let login = a.version().unwrap();
        assert_eq!(login, (T0 / 1000) << 32);
        // A renewal after the clock stepped back an hour is still the next version.
        let id = a.start_renewal().unwrap();
        assert!(a.renewal_succeeded(id, grant(65.0, Some("r2")), T0 - 3600 * S));
        assert_eq!(a.version(), Some(login + 1));
        // B holds the login's tokens; A logs out: the logout ends B's lineage...
        let mut b = Session::new(policy());
        assert!(b.adopt(shared(login, T0, "r1"), NOW));
        a.end(EndReason::User);
        assert!(b.ended_elsewhere(a.last_known()));
        b.end(EndReason::OtherTab);
        // ...and A never takes that lineage's tokens again, even renewed by a tab that missed
        // the logout (back from the back/forward cache).
        assert!(!a.adopt(shared(login + 7, T0 + 60 * S, "late"), NOW));
        // A new login is newer than everything before it, even with the clock stepped back.
        a.establish(grant(65.0, Some("r3")), None, T0 - 7200 * S);
        assert!(a.version().unwrap() > login + 7);
        // A lineage from the far future is refused: it would pin the versions.
        let mut c = Session::new(policy());
        let forged = ((NOW / 1000) + 3600) << 32;
        assert!(!c.adopt(shared(forged, NOW, "forged"), NOW));
        // A huge counter in a real lineage does not pin anything: renewals go on from it.
        assert!(c.adopt(shared(login | 0xFFFF_FF00, NOW, "high"), NOW));
        let id = c.start_renewal().unwrap();
        assert!(c.renewal_succeeded(id, grant(65.0, None), NOW));
        assert_eq!(c.version(), Some((login | 0xFFFF_FF00) + 1));
        // A stale logout (an older lineage) does not end a newer session.
        let mut d = logged_in(policy(), 65.0);
        assert!(!d.ended_elsewhere(((T0 / 1000) - 10) << 32 | 0xFFFF_FFFF));
        assert!(d.is_authenticated());
    }

    #[test]
    fn rotation_replaces_and_absence_keeps_the_refresh_token() {
        let mut s = logged_in(policy(), 3600.0);
        let id = s.start_renewal().unwrap();
        assert!(s.renewal_succeeded(id, grant(3600.0, Some("r2")), T0));
        assert_eq!(s.refresh_token().map(RefreshToken::expose), Some("r2"));
        let id = s.start_renewal().unwrap();
        assert!(s.renewal_succeeded(id, grant(3600.0, None), T0));
        assert_eq!(
            s.refresh_token().map(RefreshToken::expose),
            Some("r2"),
            "seed 003 keeps it"
        );
    }

    #[test]
    fn credentials_are_kept_only_for_relogin() {
        let s = logged_in(policy(), 3600.0);
        assert!(s.credentials().is_none());
        let mut s = logged_in(
            SessionPolicy {
                keeps_credentials: true,
                ..policy()
            },
            3600.0,
        );
        assert!(s.credentials().is_some());
        s.end(EndReason::User);
        assert!(s.credentials().is_none(), "cleared on logout");
    }

    #[test]
    fn unknown_expiry_renews_only_on_401() {
        let mut s = Session::new(policy());
        let g = Grant {
            expires_in_s: None,
            ..grant(0.0, None)
        };
        s.establish(g, Some(creds()), T0);
        assert_eq!(s.expires_at_ms(), None);
        assert_eq!(s.poll_timeout(T0), None);
        assert_eq!(
            s.before_send(T0 + 86_400 * S, true),
            SendDecision::Send(TokenGeneration(1))
        );
        assert_eq!(
            s.on_unauthorized(s.generation(), Some("AUTH_006"), 0, 0),
            UnauthorizedDecision::RenewThenRetry
        );
    }

    #[test]
    fn idle_sessions_stop_renewing_and_renew_lazily() {
        let idle = 10 * MIN;
        let mut s = logged_in(
            SessionPolicy {
                idle_timeout_ms: Some(idle),
                ..policy()
            },
            3600.0,
        );
        assert_eq!(s.poll_timeout(T0 + idle - 1), Some(T0 + 59 * MIN));
        assert_eq!(
            s.poll_timeout(T0 + idle),
            None,
            "idle: proactive renewal stops"
        );
        assert!(!s.is_renewal_due(T0 + 59 * MIN));
        // The next call renews lazily, before being sent.
        assert_eq!(s.before_send(T0 + 70 * MIN, true), SendDecision::RenewFirst);
        // A call marks activity again.
        let mut s = logged_in(
            SessionPolicy {
                idle_timeout_ms: Some(idle),
                ..policy()
            },
            3600.0,
        );
        s.before_send(T0 + 55 * MIN, true);
        assert!(s.is_renewal_due(T0 + 59 * MIN));
    }

    #[test]
    fn tokens_never_print() {
        let s = logged_in(policy(), 3600.0);
        let printed = format!("{s:?} {:?}", grant(1.0, Some("refresh-secret")));
        assert!(!printed.contains("access-secret"), "{printed}");
        assert!(!printed.contains("refresh-secret"), "{printed}");
    }

    #[test]
    fn the_renewal_floor_holds_for_tiny_tokens() {
        let s = logged_in(policy(), 1.0);
        assert_eq!(s.poll_timeout(T0), Some(T0 + MIN_REFRESH_GAP_MS));
    }

    #[test]
    fn only_server_endings_redirect() {
        assert!(EndReason::SessionExpired.redirects_to_login());
        assert!(EndReason::InvalidToken.redirects_to_login());
        assert!(EndReason::RefreshRejected.redirects_to_login());
        assert!(!EndReason::User.redirects_to_login());
        assert!(!EndReason::OtherTab.redirects_to_login());
    }

    #[test]
    fn a_failed_renewal_lets_a_still_valid_token_through() {
        let mut s = logged_in(policy(), 120.0);
        let id = s.start_renewal().unwrap();
        s.renewal_failed(id, RefreshFailure::Network, T0 + 60 * S, 0.0);
        assert!(s.may_send_after_failed_renewal(T0 + 119 * S));
        assert!(
            !s.may_send_after_failed_renewal(T0 + 120 * S),
            "expired: reject network"
        );
        s.end(EndReason::User);
        assert!(!s.may_send_after_failed_renewal(T0));
    }

    #[test]
    fn end_reasons_are_the_design_strings() {
        let all = [
            (EndReason::User, "user"),
            (EndReason::SessionExpired, "session_expired"),
            (EndReason::InvalidToken, "invalid_token"),
            (EndReason::RefreshRejected, "refresh_rejected"),
            (EndReason::OtherTab, "other_tab"),
        ];
        for (r, s) in all {
            assert_eq!(r.as_str(), s);
        }
    }
}
