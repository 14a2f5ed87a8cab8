//! Access and refresh tokens for any dialect: HS256 JWTs grouped in families.
//!
//! A *family* is everything descended from one login: its first pair and every pair a refresh
//! produced from it. Revoking a family (logout, reuse detection, the revoke control) kills all
//! of its access and refresh tokens at once. The dialects decide the claims a user's access
//! token carries and the TTLs; this module decides validity. Every token issued is recorded in
//! a ledger, so that a token the ledger does not know (forged with a leaked key, issued before
//! a reset) is invalid even with a good signature.
//!
//! Time is passed in as milliseconds since the epoch (no clock is read here), so the tests can
//! move it. A token is expired from the second in its `exp` claim on: the claim is the truth,
//! whatever `expiresIn` the dialect reported, so a client that trusts either is never early.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids;

/// What happens to a refresh token when it is exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPolicy {
    /// Single use: every exchange returns a new refresh token, and presenting a used one again
    /// is reuse, which revokes the family (PGBen, seed 004; RFC 9700 §4.14.2).
    Rotate,
    /// Valid until it expires; an exchange returns only a new access token (seed 003).
    Reuse,
}

/// Lifetimes of the tokens issued next, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access token lifetime, s.
    pub access_s: u64,
    /// Refresh token lifetime, s.
    pub refresh_s: u64,
}

/// The claims of an access token: the registered ones plus the dialect's (`extra`, e.g.
/// PGBen's `email` and `perfis`), serialized in that order after `sub`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// The dialect's claims about the user.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Issued at, s since the epoch.
    pub iat: u64,
    /// Expires at, s since the epoch.
    pub exp: u64,
    /// The store's audience, when it has one (seed 003's `aud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The store's issuer.
    pub iss: String,
    /// This token's id in the ledger.
    pub jti: String,
    /// The family (session) id.
    pub sid: String,
}

/// The claims of a refresh token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// The user id.
    pub sub: String,
    /// Issued at, s since the epoch.
    pub iat: u64,
    /// Not before, s since the epoch (equal to `iat`, as in the seed's example).
    pub nbf: u64,
    /// Expires at, s since the epoch.
    pub exp: u64,
    /// The store's audience, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The store's issuer.
    pub iss: String,
    /// This token's id in the ledger.
    pub jti: String,
    /// The family (session) id.
    pub sid: String,
}

/// Tokens just issued. Deliberately not `Debug`: tokens are never logged.
pub struct TokenPair {
    /// The new access token.
    pub access_token: String,
    /// The new refresh token, or with [`RefreshPolicy::Reuse`] the one presented.
    pub refresh_token: String,
    /// The access token's lifetime, s: the dialect's `expiresIn`.
    pub access_ttl_s: u64,
}

/// Why an access token was refused; the dialects map these to their codes (PGBen: `AUTH_005`,
/// `AUTH_006`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRejection {
    /// Malformed, badly signed, unknown to the ledger, or of a revoked family.
    Invalid,
    /// Genuine but past its `exp`, or expired by [`TokenStore::expire_all_access`].
    Expired,
}

/// How an access token came to be: the test controls report it for uploads, so that a test can
/// tell a request sent with a renewed token from one sent with the login's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issued {
    /// By a login ([`TokenStore::issue`]).
    Login,
    /// By a renewal ([`TokenStore::rotate`] or [`TokenStore::renew_access`]).
    Refresh,
}

impl Issued {
    /// `"login"` or `"refresh"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Issued::Login => "login",
            Issued::Refresh => "refresh",
        }
    }
}

/// Why a refresh token could not be exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRejection {
    /// Malformed, badly signed, unknown, expired, or of a revoked family.
    Invalid,
    /// Already used: its family is revoked (now, or already before).
    Reused,
}

/// Issues, verifies, rotates and revokes one dialect's tokens. Safe to share between threads;
/// every method holds the ledger's lock only for a few map operations and never across
/// `.await` (there is none here).
pub struct TokenStore {
    issuer: String,
    audience: Option<String>,
    policy: RefreshPolicy,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ledger: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    families: HashMap<String, Family>,
    access: HashMap<String, AccessEntry>,
    refresh: HashMap<String, RefreshEntry>,
    /// Sequence number of the next access token issued.
    next_seq: u64,
    /// Access tokens numbered below this are expired: the expire-access control moves it.
    expired_below: u64,
    /// Every token text signed, in order (the `issued-tokens` control: leak checks look for
    /// them in pages, storage and logs).
    texts: Vec<String>,
}

struct Family {
    subject: String,
    claims: Map<String, Value>,
    revoked: bool,
}

struct AccessEntry {
    family: String,
    seq: u64,
    issued: Issued,
    issued_at_ms: u64,
}

struct RefreshEntry {
    family: String,
    used: bool,
}

impl TokenStore {
    /// A store whose tokens carry `iss: issuer`, signed with a fresh random key: tokens never
    /// outlive the process.
    pub fn new(issuer: impl Into<String>, policy: RefreshPolicy) -> Self {
        let issuer = issuer.into();
        let secret = ids::random_bytes(32);
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry and nbf are judged against the ledger's clock below, so that "expired" can be
        // told apart from "invalid" and time can be passed in.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = HashSet::new();
        validation.set_issuer(&[issuer.as_str()]);
        Self {
            issuer,
            audience: None,
            policy,
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            ledger: Mutex::new(Ledger::default()),
        }
    }

    /// The same store, whose tokens also carry `aud: audience`, and which refuses tokens with
    /// another audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        let audience = audience.into();
        self.validation.set_audience(&[audience.as_str()]);
        self.audience = Some(audience);
        self
    }

    /// Starts a new family for `subject` (a login) and issues its first pair. `claims` go into
    /// every access token of the family, the later refreshed ones included.
    pub fn issue(
        &self,
        subject: &str,
        claims: Map<String, Value>,
        life: Lifetimes,
        now_ms: u64,
    ) -> TokenPair {
        let mut ledger = self.lock();
        let family = ids::uuid_v4();
        ledger.families.insert(
            family.clone(),
            Family {
                subject: subject.to_owned(),
                claims,
                revoked: false,
            },
        );
        let access_token = self.sign_access(&mut ledger, &family, Issued::Login, life, now_ms);
        let refresh_token = self.sign_refresh(&mut ledger, &family, life, now_ms);
        TokenPair {
            access_token,
            refresh_token,
            access_ttl_s: life.access_s,
        }
    }

    /// Checks a bearer token and answers its claims.
    pub fn verify_access(&self, token: &str, now_ms: u64) -> Result<AccessClaims, AccessRejection> {
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| AccessRejection::Invalid)?
            .claims;
        let ledger = self.lock();
        let entry = ledger
            .access
            .get(&claims.jti)
            .ok_or(AccessRejection::Invalid)?;
        let family = ledger
            .families
            .get(&entry.family)
            .ok_or(AccessRejection::Invalid)?;
        if family.revoked || entry.family != claims.sid {
            return Err(AccessRejection::Invalid);
        }
        if entry.seq < ledger.expired_below || now_ms >= claims.exp.saturating_mul(1000) {
            return Err(AccessRejection::Expired);
        }
        Ok(claims)
    }

    /// Exchanges a refresh token for new tokens of the same family, with the same claims.
    ///
    /// With [`RefreshPolicy::Rotate`] the presented token is consumed; presenting it again
    /// revokes the whole family and answers [`RefreshRejection::Reused`]. The check and the
    /// consumption happen under one lock, so of many concurrent exchanges of one token exactly
    /// one succeeds.
    pub fn rotate(
        &self,
        token: &str,
        life: Lifetimes,
        now_ms: u64,
    ) -> Result<TokenPair, RefreshRejection> {
        let claims = jsonwebtoken::decode::<RefreshClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| RefreshRejection::Invalid)?
            .claims;
        let mut ledger = self.lock();
        let entry = ledger
            .refresh
            .get_mut(&claims.jti)
            .ok_or(RefreshRejection::Invalid)?;
        let family_id = entry.family.clone();
        let already_used = entry.used;
        if self.policy == RefreshPolicy::Rotate && !already_used {
            entry.used = true;
        }
        let family = ledger
            .families
            .get_mut(&family_id)
            .ok_or(RefreshRejection::Invalid)?;
        if family_id != claims.sid {
            return Err(RefreshRejection::Invalid);
        }
        // Every presentation of a used token is reuse, also after the first one revoked the
        // family: the counters then show how often a client re-sent one.
        if already_used {
            family.revoked = true;
            return Err(RefreshRejection::Reused);
        }
        if family.revoked {
            return Err(RefreshRejection::Invalid);
        }
        if now_ms >= claims.exp.saturating_mul(1000) || now_ms < claims.nbf.saturating_mul(1000) {
            return Err(RefreshRejection::Invalid);
        }
        let access_token = self.sign_access(&mut ledger, &family_id, Issued::Refresh, life, now_ms);
        let refresh_token = match self.policy {
            RefreshPolicy::Rotate => self.sign_refresh(&mut ledger, &family_id, life, now_ms),
            RefreshPolicy::Reuse => token.to_owned(),
        };
        Ok(TokenPair {
            access_token,
            refresh_token,
            access_ttl_s: life.access_s,
        })
    }

    /// Exchanges a valid access token for a new one of the same family (seed 000's
    /// `GET /auth/tokenRefresh` with the current bearer). The presented token stays valid until
    /// it expires. Refuses exactly what [`TokenStore::verify_access`] refuses, so an expired
    /// bearer cannot be renewed.
    pub fn renew_access(
        &self,
        token: &str,
        life: Lifetimes,
        now_ms: u64,
    ) -> Result<String, AccessRejection> {
        let claims = self.verify_access(token, now_ms)?;
        let mut ledger = self.lock();
        // Revoked between the check and here: the family is gone.
        if !matches!(ledger.families.get(&claims.sid), Some(f) if !f.revoked) {
            return Err(AccessRejection::Invalid);
        }
        Ok(self.sign_access(&mut ledger, &claims.sid, Issued::Refresh, life, now_ms))
    }

    /// How and when (ms since the epoch) the access token with id `jti` was issued.
    pub fn issued(&self, jti: &str) -> Option<(Issued, u64)> {
        self.lock()
            .access
            .get(jti)
            .map(|e| (e.issued, e.issued_at_ms))
    }

    /// Revokes one family (logout); false when it was unknown or already revoked.
    pub fn revoke_family(&self, family: &str) -> bool {
        let mut ledger = self.lock();
        match ledger.families.get_mut(family) {
            Some(f) if !f.revoked => {
                f.revoked = true;
                true
            }
            _ => false,
        }
    }

    /// Revokes every family; answers how many were still alive.
    pub fn revoke_all(&self) -> usize {
        let mut ledger = self.lock();
        ledger
            .families
            .values_mut()
            .filter(|f| !f.revoked)
            .map(|f| f.revoked = true)
            .count()
    }

    /// Expires every access token issued so far (their refresh tokens stay valid); answers
    /// how many were newly expired.
    pub fn expire_all_access(&self) -> u64 {
        let mut ledger = self.lock();
        let newly = ledger.next_seq - ledger.expired_below;
        ledger.expired_below = ledger.next_seq;
        newly
    }

    /// Every access and refresh token text this store signed since it was last cleared.
    pub fn issued_texts(&self) -> Vec<String> {
        self.lock().texts.clone()
    }

    /// Forgets every family and token: everything issued before answers invalid.
    pub fn clear(&self) {
        *self.lock() = Ledger::default();
    }

    fn sign_access(
        &self,
        ledger: &mut Ledger,
        family: &str,
        issued: Issued,
        life: Lifetimes,
        now_ms: u64,
    ) -> String {
        let (sub, extra) = match ledger.families.get(family) {
            Some(f) => (f.subject.clone(), f.claims.clone()),
            None => (String::new(), Map::new()),
        };
        let iat = now_ms / 1000;
        let claims = AccessClaims {
            sub,
            extra,
            iat,
            exp: iat.saturating_add(life.access_s),
            aud: self.audience.clone(),
            iss: self.issuer.clone(),
            jti: ids::random_hex(16),
            sid: family.to_owned(),
        };
        let seq = ledger.next_seq;
        ledger.next_seq += 1;
        ledger.access.insert(
            claims.jti.clone(),
            AccessEntry {
                family: family.to_owned(),
                seq,
                issued,
                issued_at_ms: now_ms,
            },
        );
        let text = self.sign(&claims);
        ledger.texts.push(text.clone());
        text
    }

    fn sign_refresh(
        &self,
        ledger: &mut Ledger,
        family: &str,
        life: Lifetimes,
        now_ms: u64,
    ) -> String {
        let sub = ledger
            .families
            .get(family)
            .map(|f| f.subject.clone())
            .unwrap_or_default();
        let iat = now_ms / 1000;
        let claims = RefreshClaims {
            sub,
            iat,
            nbf: iat,
            exp: iat.saturating_add(life.refresh_s),
            aud: self.audience.clone(),
            iss: self.issuer.clone(),
            jti: ids::random_hex(16),
            sid: family.to_owned(),
        };
        ledger.refresh.insert(
            claims.jti.clone(),
            RefreshEntry {
                family: family.to_owned(),
                used: false,
            },
        );
        let text = self.sign(&claims);
        ledger.texts.push(text.clone());
        text
    }

    fn sign<T: Serialize>(&self, claims: &T) -> String {
        // Cannot fail: the claims are strings, integers and JSON values, which always
        // serialize, and HMAC-SHA256 accepts a key of any length.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail")
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        // A panic under this lock leaves at worst one half-recorded token, which then answers
        // invalid; that is better than refusing every later request.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: Lifetimes = Lifetimes {
        access_s: 60,
        refresh_s: 600,
    };
    const T0: u64 = 1_700_000_000_000;

    fn claims() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("email".into(), "a@b.c".into());
        m.insert("perfis".into(), serde_json::json!(["CIDADAO"]));
        m
    }

    fn payload(token: &str) -> Value {
        use base64::Engine as _;
        let part = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn issued_access_token_verifies_with_its_claims_in_order() {
        let store = TokenStore::new("PGBen API", RefreshPolicy::Rotate);
        let pair = store.issue("u1", claims(), LIFE, T0);
        let c = store.verify_access(&pair.access_token, T0 + 1).unwrap();
        assert_eq!(c.sub, "u1");
        assert_eq!(c.extra["email"], "a@b.c");
        assert_eq!(c.iss, "PGBen API");
        assert_eq!(c.exp - c.iat, 60);
        assert_eq!(c.sid.len(), 36);
        let p = payload(&pair.access_token);
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["sub", "email", "perfis", "iat", "exp", "iss", "jti", "sid"]
        );
        let r = payload(&pair.refresh_token);
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["sub", "iat", "nbf", "exp", "iss", "jti", "sid"]);
        assert_eq!(r["exp"].as_u64().unwrap() - r["iat"].as_u64().unwrap(), 600);
    }

    #[test]
    fn access_token_expires_at_its_exp_second() {
        let store = TokenStore::new("x", RefreshPolicy::Rotate);
        let pair = store.issue("u1", claims(), LIFE, T0 + 500);
        assert!(store.verify_access(&pair.access_token, T0 + 59_999).is_ok());
        assert_eq!(
            store.verify_access(&pair.access_token, T0 + 60_000),
            Err(AccessRejection::Expired)
        );
    }

    #[test]
    fn garbage_foreign_and_refresh_tokens_are_invalid_access_tokens() {
        let store = TokenStore::new("x", RefreshPolicy::Rotate);
        let other = TokenStore::new("x", RefreshPolicy::Rotate);
        let pair = store.issue("u1", claims(), LIFE, T0);
        let forged = other.issue("u1", claims(), LIFE, T0);
        for bad in [
            "",
            "abc",
            "a.b.c",
            forged.access_token.as_str(),
            pair.refresh_token.as_str(),
        ] {
            assert_eq!(
                store.verify_access(bad, T0),
                Err(AccessRejection::Invalid),
                "{bad}"
            );
        }
        // An access token is no refresh token either.
        assert_eq!(
            store.rotate(&pair.access_token, LIFE, T0).err(),
            Some(RefreshRejection::Invalid)
        );
        // Even expired, a foreign token is invalid, not expired.
        assert_eq!(
            store.verify_access(&forged.access_token, T0 + 3_600_000),
            Err(AccessRejection::Invalid)
        );
    }

    #[test]
    fn rotation_is_single_use_and_reuse_revokes_the_family() {
        let store = TokenStore::new("x", RefreshPolicy::Rotate);
        let first = store.issue("u1", claims(), LIFE, T0);
        let second = store.rotate(&first.refresh_token, LIFE, T0 + 1000).unwrap();
        assert_eq!(
            store.verify_access(&second.access_token, T0).unwrap().sid,
            store.verify_access(&first.access_token, T0).unwrap().sid
        );
        assert_ne!(second.refresh_token, first.refresh_token);
        let c = store
            .verify_access(&second.access_token, T0 + 1000)
            .unwrap();
        assert_eq!(c.extra["perfis"], serde_json::json!(["CIDADAO"]));
        // The older access token stays valid until it expires.
        assert!(store.verify_access(&first.access_token, T0 + 1000).is_ok());

        let third = store
            .rotate(&second.refresh_token, LIFE, T0 + 2000)
            .unwrap();
        // Reuse of the first refresh token: the whole family dies.
        assert_eq!(
            store.rotate(&first.refresh_token, LIFE, T0 + 3000).err(),
            Some(RefreshRejection::Reused)
        );
        for access in [
            &first.access_token,
            &second.access_token,
            &third.access_token,
        ] {
            assert_eq!(
                store.verify_access(access, T0 + 3000),
                Err(AccessRejection::Invalid)
            );
        }
        assert_eq!(
            store.rotate(&third.refresh_token, LIFE, T0 + 3000).err(),
            Some(RefreshRejection::Invalid)
        );
        // A used token stays a reuse each time it comes back.
        assert_eq!(
            store.rotate(&second.refresh_token, LIFE, T0 + 3000).err(),
            Some(RefreshRejection::Reused)
        );
        // Another family of the same user is untouched.
        let other = store.issue("u1", claims(), LIFE, T0 + 3000);
        assert!(store.verify_access(&other.access_token, T0 + 3000).is_ok());
    }

    #[test]
    fn expired_refresh_token_is_invalid_and_not_consumed_as_reuse() {
        let store = TokenStore::new("x", RefreshPolicy::Rotate);
        let pair = store.issue("u1", claims(), LIFE, T0);
        assert_eq!(
            store.rotate(&pair.refresh_token, LIFE, T0 + 600_000).err(),
            Some(RefreshRejection::Invalid)
        );
    }

    #[test]
    fn reuse_policy_keeps_the_refresh_token() {
        let store = TokenStore::new("x", RefreshPolicy::Reuse);
        let pair = store.issue("u1", claims(), LIFE, T0);
        let a = store.rotate(&pair.refresh_token, LIFE, T0 + 1).unwrap();
        let b = store.rotate(&pair.refresh_token, LIFE, T0 + 2).unwrap();
        assert_eq!(a.refresh_token, pair.refresh_token);
        assert_eq!(b.refresh_token, pair.refresh_token);
        assert_ne!(a.access_token, b.access_token);
    }

    #[test]
    fn expire_all_access_spares_refresh_and_later_tokens() {
        let store = TokenStore::new("x", RefreshPolicy::Rotate);
        let a = store.issue("u1", claims(), LIFE, T0);
        let b = store.issue("u2", claims(), LIFE, T0);
        assert_eq!(store.expire_all_access(), 2);
        assert_eq!(store.expire_all_access(), 0);
        assert_eq!(
            store.verify_access(&a.access_token, T0),
            Err(AccessRejection::Expired)
        );
        let a2 = store.rotate(&a.refresh_token, LIFE, T0).unwrap();
        assert!(store.verify_access(&a2.access_token, T0).is_ok());
        assert_eq!(
            store.verify_access(&b.access_token, T0),
            Err(AccessRejection::Expired)
        );
    }

    #[test]
    fn revoke_all_and_clear() {
        let store = TokenStore::new("x", RefreshPolicy::Rotate);
        let a = store.issue("u1", claims(), LIFE, T0);
        let b = store.issue("u2", claims(), LIFE, T0);
        let family = store.verify_access(&a.access_token, T0).unwrap().sid;
        assert!(store.revoke_family(&family));
        assert!(!store.revoke_family(&family));
        assert_eq!(store.revoke_all(), 1);
        assert_eq!(
            store.verify_access(&b.access_token, T0),
            Err(AccessRejection::Invalid)
        );
        assert_eq!(
            store.rotate(&b.refresh_token, LIFE, T0).err(),
            Some(RefreshRejection::Invalid)
        );
        let c = store.issue("u3", claims(), LIFE, T0);
        store.clear();
        assert_eq!(
            store.verify_access(&c.access_token, T0),
            Err(AccessRejection::Invalid)
        );
    }

    #[test]
    fn concurrent_exchanges_of_one_token_yield_exactly_one_pair() {
        // The losers present a used token, which is reuse: the family ends revoked, but the
        // point here is that the ledger never hands out two pairs for one token.
        let store = std::sync::Arc::new(TokenStore::new("x", RefreshPolicy::Rotate));
        let pair = store.issue("u1", claims(), LIFE, T0);
        let token = std::sync::Arc::new(pair.refresh_token);
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (store, token) = (store.clone(), token.clone());
                std::thread::spawn(move || store.rotate(&token, LIFE, T0).is_ok())
            })
            .collect();
        let ok = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(ok, 1);
    }
}
