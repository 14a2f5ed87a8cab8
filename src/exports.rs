//! The wasm's exports: the flat surface the JavaScript edge (`js/authfetch.js`) calls.
//!
//! The core decides, the edge does (DESIGN, "Effects, one driver"): the JavaScript owns every
//! browser resource — `fetch`, the one timer, the page listeners, the channel, the locks, the
//! events — and asks in here for every decision, then drains the effects the core queued with
//! [`af_poll`]. Nothing here calls JavaScript: the module has no imports.
//!
//! Arguments are numbers, or fields the edge wrote into the input buffer ([`af_in`]); answers
//! are numbers, or fields written to the output buffer ([`af_out`], [`af_out_len`]). A field is
//! a little-endian `f64`, or a string: its UTF-8 byte length as an `f64` (−1: absent), then its
//! bytes. Both buffers are zeroed once read, so a token or password that passed through them
//! does not stay in memory; the core's own copies are overwritten when dropped (`token.rs`).
//!
//! `now` is the page's clock at the input, ms since the Unix epoch (`Date.now()`). A client is
//! a pointer to its [`Handle`], made by [`af_new`] and released by [`af_free`]; the edge never
//! passes a released one.

use alloc::{boxed::Box, string::String, vec::Vec};
use core::cell::UnsafeCell;

use crate::core::call::speaks_for_api;
use crate::core::client::{
    Answer, Body, CallAnswer, Caller, Client, Effect, Event, Op, Outcome, ServerSaid, Wake,
};
use crate::core::config::{DotPath, KEYS};
use crate::core::crosstab::{channel_name, Message};
use crate::core::expiry::jwt_payload;
use crate::core::{
    AccessToken, AuthError, Call, CallStep, Config, Credentials, ErrorCode, Grant, JwtTimes,
    RawConfig, RefreshToken, SharedSession, TokenGeneration,
};

/// One of the two buffers. The module has one thread (wasm32 without `atomics`) and no
/// imports, so no export can run while another holds a buffer.
struct Buffer(UnsafeCell<Vec<u8>>);

// SAFETY: one thread (see `Buffer`).
unsafe impl Sync for Buffer {}

static INPUT: Buffer = Buffer(UnsafeCell::new(Vec::new()));
static OUTPUT: Buffer = Buffer(UnsafeCell::new(Vec::new()));

fn input_buffer() -> &'static mut Vec<u8> {
    // SAFETY: one thread, and each export takes each buffer once, for its own duration.
    unsafe { &mut *INPUT.0.get() }
}

fn output_buffer() -> &'static mut Vec<u8> {
    // SAFETY: as for `input_buffer`.
    unsafe { &mut *OUTPUT.0.get() }
}

/// The output buffer, emptied (and zeroed) for a new answer.
fn output() -> &'static mut Vec<u8> {
    let out = output_buffer();
    out.fill(0);
    out.clear();
    out
}

/// Appends fields to the output buffer.
struct Writer(&'static mut Vec<u8>);

impl Writer {
    fn new() -> Writer {
        Writer(output())
    }

    fn num(&mut self, n: f64) -> &mut Self {
        self.0.extend_from_slice(&n.to_le_bytes());
        self
    }

    fn flag(&mut self, b: bool) -> &mut Self {
        self.num(f64::from(u8::from(b)))
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.num(s.len() as f64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.num(-1.0),
        }
    }

    fn opt_ms(&mut self, ms: Option<u64>) -> &mut Self {
        self.num(ms.map_or(-1.0, |ms| ms as f64))
    }

    /// A version as the channel carries it: two whole numbers below 2³², `lineage` and
    /// `counter`, each exact in a JS number (a whole `u64` would not be).
    fn version(&mut self, version: u64) -> &mut Self {
        self.num((version >> 32) as f64)
            .num((version & 0xFFFF_FFFF) as f64)
    }

    /// An [`AuthError`]: code, message, status (−1: none), server code, server message, key.
    fn error(&mut self, e: &AuthError) -> &mut Self {
        self.text(e.code.as_str())
            .text(&e.message)
            .num(e.status.map_or(-1.0, f64::from))
            .opt_text(e.server_code.as_deref())
            .opt_text(e.server_message.as_deref())
            .opt_text(e.key.as_deref())
    }

    fn paths(&mut self, paths: &[DotPath]) -> &mut Self {
        self.num(paths.len() as f64);
        for path in paths {
            self.num(path.segments().len() as f64);
            for segment in path.segments() {
                self.text(segment);
            }
        }
        self
    }
}

/// Reads the fields of the input buffer's first `len` bytes, then zeroes them.
struct Reader {
    bytes: &'static mut [u8],
    at: usize,
}

impl Reader {
    fn new(len: usize) -> Reader {
        let input = input_buffer();
        let len = len.min(input.len());
        Reader {
            bytes: &mut input[..len],
            at: 0,
        }
    }

    fn num(&mut self) -> f64 {
        let mut raw = [0u8; 8];
        if let Some(field) = self.bytes.get(self.at..self.at + 8) {
            raw.copy_from_slice(field);
            self.at += 8;
            f64::from_le_bytes(raw)
        } else {
            f64::NAN
        }
    }

    /// A string field, owned; `None` when absent or cut short.
    fn text(&mut self) -> Option<String> {
        self.str().map(String::from)
    }

    /// A string field, borrowed from the buffer; `None` when absent or cut short.
    fn str(&mut self) -> Option<&str> {
        let len = self.num();
        if len.is_nan() || len < 0.0 {
            return None;
        }
        let end = self.at.checked_add(len as usize)?;
        let field = self.bytes.get(self.at..end)?;
        self.at = end;
        // SAFETY: the edge writes every string field with `TextEncoder.encodeInto`, whose output
        // is always UTF-8 (a lone surrogate becomes U+FFFD); a field cut short was refused above.
        // Not validating again here keeps `core::str::from_utf8` out of the module.
        Some(unsafe { core::str::from_utf8_unchecked(field) })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.bytes.fill(0);
    }
}

/// At least `len` bytes of input buffer to write fields into; where it starts (valid until the
/// next call that may grow memory).
#[no_mangle]
pub extern "C" fn af_in(len: usize) -> *mut u8 {
    let input = input_buffer();
    if input.len() < len {
        input.resize(len, 0);
    }
    input.as_mut_ptr()
}

/// Where the output buffer starts.
#[no_mangle]
pub extern "C" fn af_out() -> *const u8 {
    output_buffer().as_ptr()
}

/// How many bytes the output buffer holds.
#[no_mangle]
pub extern "C" fn af_out_len() -> usize {
    output_buffer().len()
}

/// Every configuration key, as strings (the count first), for the edge to read from the
/// constructor's argument.
#[no_mangle]
pub extern "C" fn af_keys() {
    let mut out = Writer::new();
    out.num(KEYS.len() as f64);
    for key in KEYS {
        out.text(key);
    }
}

/// One client: the core, and the hot path's call between [`af_fetch`] and [`af_slow`].
#[derive(Debug)]
pub struct Handle {
    client: Client,
    hot: Option<(Call, CallStep)>,
}

fn handle<'a>(c: *mut Handle) -> &'a mut Handle {
    // SAFETY: `c` comes from `af_new` and is not yet freed (the edge's only caller contract).
    unsafe { &mut *c }
}

/// The client at `now`.
fn client<'a>(c: *mut Handle, now: f64) -> &'a mut Client {
    let client = &mut handle(c).client;
    client.set_now(now as u64);
    client
}

/// The JS types each of [`KEYS`] accepts besides `undefined` and `null` (a bit per type tag of
/// [`af_new`]), and the error's text otherwise — DESIGN's configuration table.
const TYPES: [(u16, &str); KEYS.len()] = {
    const STRING: (u16, &str) = (1 << 2, "must be a string");
    const NUMBER: (u16, &str) = (1 << 3, "must be a number");
    const STRINGS: (u16, &str) = (1 << 5, "must be an array of strings");
    // A dot path, or a list of them tried in order.
    const PATHS: (u16, &str) = (1 << 2 | 1 << 5, STRINGS.1);
    const BOOLEAN: (u16, &str) = (1 << 4, "must be true or false");
    const FUNCTION: (u16, &str) = (1 << 7, "must be a function");
    [
        STRING,   // baseUrl
        STRING,   // loginPath
        STRING,   // refreshPath
        STRING,   // refreshMethod
        STRING,   // refreshCredential
        STRING,   // refreshBodyField
        STRING,   // logoutPath
        PATHS,    // accessTokenPath
        PATHS,    // refreshTokenPath
        PATHS,    // expiresInPath
        STRING,   // errorCodePath
        STRINGS,  // expiredErrorCodes
        NUMBER,   // refreshLeadSeconds
        NUMBER,   // maxRetries
        PATHS,    // allowedOrigins
        STRING,   // loginUrl
        NUMBER,   // idleTimeoutSeconds
        BOOLEAN,  // crossTab
        FUNCTION, // fetch
    ]
};

/// A configuration value's type tag (see [`af_new`]), its value skipped: the first pass checks
/// types only, and allocates nothing.
fn skip_value(r: &mut Reader) -> u32 {
    let tag = r.num() as u32;
    match tag {
        2 => {
            r.str();
        }
        3 | 4 => {
            r.num();
        }
        5 => {
            for _ in 0..r.num() as usize {
                r.str();
            }
        }
        _ => {}
    }
    tag
}

/// Key `i`'s `invalid_config` error for a value of the wrong JS type.
fn wrong_type(i: usize) -> AuthError {
    AuthError::invalid_config(KEYS[i], TYPES[i].1)
}

/// The second pass's readers, one per kind of key in [`TYPES`]: each reads a value whose type
/// the first pass accepted for its key, so a tag it does not read is `undefined` or `null`
/// (which carry no value): "not given".
impl Reader {
    /// A string key.
    fn opt_text(&mut self) -> Option<String> {
        (self.num() == 2.0).then(|| self.text()).flatten()
    }

    /// A dot-path key: a string is a one-element list.
    fn opt_texts(&mut self) -> Option<Vec<String>> {
        match self.num() as u32 {
            2 => self.text().map(|one| alloc::vec![one]),
            5 => {
                let n = self.num() as usize;
                let mut list = Vec::new();
                for _ in 0..n {
                    list.push(self.text().unwrap_or_default());
                }
                Some(list)
            }
            _ => None,
        }
    }

    /// A number key.
    fn opt_number(&mut self) -> Option<f64> {
        (self.num() == 3.0).then(|| self.num())
    }

    /// A boolean key.
    fn opt_bool(&mut self) -> Option<bool> {
        (self.num() == 4.0).then(|| self.num() == 1.0)
    }
}

/// What the page says about where the client runs.
struct Page {
    /// There is a page: `location.href` is a string.
    here: bool,
    /// `location.origin`.
    origin: String,
    /// `baseUrl` resolved by the browser's URL parser against `location.href` (or alone without
    /// a page); `None` when it is not a string or the parser refused it.
    resolved_base: Option<String>,
    /// A `document` exists (not Node.js or a worker).
    document: bool,
}

/// `new AuthClient(config)`, read: see [`af_new`] for the layout. The errors come in the order
/// the client reads the keys: `fetch` first, then the object, unknown keys, and every other key
/// in [`KEYS`] order (`baseUrl` with its resolution against the page); then
/// [`Config::parse`]'s checks of the values.
fn read_config(
    r: &mut Reader,
    is_object: bool,
    fetch_exists: bool,
    page: Page,
) -> Result<Config, AuthError> {
    let own_keys = r.num() as usize;
    let mut unknown = None;
    for _ in 0..own_keys {
        let key = r.str().unwrap_or_default();
        if unknown.is_none() && !KEYS.contains(&key) {
            unknown = Some(String::from(key));
        }
    }
    // Two passes over the values. The first reads every value's JS type and steps over the
    // value (`skip_value`): `wrong` has a bit set for each key whose type is not one TYPES
    // accepts, reported in turn below. The second, once those checks pass, reads each value into
    // its field with the typed reader of its key: no array of every value in between, which
    // keeps the constructor's wasm small (see BENCHMARKS.md, size).
    let values_at = r.at;
    let fetch = KEYS.len() - 1;
    let mut wrong = 0u32;
    // The last tag read: `fetch`'s, once every value is read.
    let mut fetch_tag = 0;
    for (i, (accepted, _)) in TYPES.iter().enumerate() {
        let tag = skip_value(r);
        fetch_tag = tag;
        if tag > 1 && accepted & 1 << tag.min(15) == 0 {
            wrong |= 1 << i;
        }
    }
    if wrong & 1 << fetch != 0 {
        return Err(wrong_type(fetch));
    }
    // Without a global `fetch`, the configuration must give one (type tag 7: a function).
    if !fetch_exists && fetch_tag != 7 {
        return Err(AuthError::invalid_config(
            "config",
            "this environment has no fetch",
        ));
    }
    if !is_object {
        return Err(AuthError::invalid_config("config", "must be an object"));
    }
    if let Some(key) = unknown {
        return Err(AuthError::invalid_config(
            &key,
            "is not a configuration key (check its spelling)",
        ));
    }
    r.at = values_at;
    // `baseUrl` resolved against the page, default the page's origin. Where there is no page
    // (Node.js) it must be given, as an absolute URL.
    let no_page = || {
        AuthError::invalid_config(
            "baseUrl",
            "must be an absolute URL where there is no page (Node.js)",
        )
    };
    if wrong & 1 != 0 {
        return Err(wrong_type(0));
    }
    let base_url = match (skip_value(r) == 2, page.here) {
        (false, true) => page.origin,
        (false, false) => return Err(no_page()),
        (true, true) => page
            .resolved_base
            .ok_or_else(|| AuthError::invalid_config("baseUrl", "must be a URL"))?,
        (true, false) => page.resolved_base.ok_or_else(no_page)?,
    };
    // The other keys' type errors, in KEYS order.
    if wrong != 0 {
        return Err(wrong_type(wrong.trailing_zeros() as usize));
    }
    let raw = RawConfig {
        base_url,
        login_path: r.opt_text(),
        refresh_path: r.opt_text(),
        refresh_method: r.opt_text(),
        refresh_credential: r.opt_text(),
        refresh_body_field: r.opt_text(),
        logout_path: r.opt_text(),
        access_token_path: r.opt_texts(),
        refresh_token_path: r.opt_texts(),
        expires_in_path: r.opt_texts(),
        error_code_path: r.opt_text(),
        expired_error_codes: r.opt_texts(),
        refresh_lead_seconds: r.opt_number(),
        max_retries: r.opt_number(),
        allowed_origins: r.opt_texts(),
        // An explicit `null` is "no redirect": `Some(None)`.
        login_url: match r.num() as u32 {
            1 => Some(None),
            2 => r.text().map(Some),
            _ => None,
        },
        // An explicit `null` is "off".
        idle_timeout_seconds: match r.num() as u32 {
            1 => Some(None),
            3 => Some(Some(r.num())),
            _ => None,
        },
        // Without a document (Node.js, workers) there are no tabs: each client keeps to itself
        // unless told otherwise.
        cross_tab: r.opt_bool().or((!page.document).then_some(false)),
    };
    Config::parse(raw)
}

/// `new AuthClient(config)`: a client, or null with the `invalid_config` error in the output
/// buffer.
///
/// Input: `location.origin` (empty without a page), `baseUrl` as the URL parser resolved it
/// (absent when not a string or refused), the count of the config's own
/// keys and each key, then for each of [`KEYS`] in order its value: a type tag — 0 undefined,
/// 1 null, 2 string (then the string), 3 number (then it), 4 boolean (then 0 or 1), 5 array of
/// strings (then the count and each), 6 another array, 7 function, 8 anything else.
/// `flags`: 1 the config is an object, 2 a `document` exists, 4 Web Locks exist, 8 a global
/// `fetch` exists, 16 there is a page (`location.href` is a string). `tab_id`: this tab's random id in `[0, 1)`.
#[no_mangle]
pub extern "C" fn af_new(len: usize, flags: u32, tab_id: f64) -> *mut Handle {
    let mut r = Reader::new(len);
    let page = Page {
        here: flags & 16 != 0,
        origin: r.text().unwrap_or_default(),
        resolved_base: r.text(),
        document: flags & 2 != 0,
    };
    let config = read_config(&mut r, flags & 1 != 0, flags & 8 != 0, page);
    drop(r);
    match config {
        Ok(config) => Box::into_raw(Box::new(Handle {
            client: Client::new(config, flags & 4 != 0, tab_id),
            hot: None,
        })),
        Err(e) => {
            Writer::new().error(&e);
            core::ptr::null_mut()
        }
    }
}

/// Where the edge reads answers: `accessTokenPath`, `refreshTokenPath`, `expiresInPath` (each
/// a count of paths, each path a count of segments and the segments), then `errorCodePath`.
#[no_mangle]
pub extern "C" fn af_paths(c: *mut Handle) {
    let config = handle(c).client.config();
    Writer::new()
        .paths(&config.access_token_path)
        .paths(&config.refresh_token_path)
        .paths(&config.expires_in_path)
        .paths(core::slice::from_ref(&config.error_code_path));
}

/// `free()`, first half: the session ends without events (the effects it queues — goodbye to
/// the other tabs, the channel closed, locks released, the timer disarmed — are drained next).
#[no_mangle]
pub extern "C" fn af_shut_down(c: *mut Handle, now: f64) {
    client(c, now).shut_down();
}

/// `free()`, second half: the client is gone; `c` is never passed again.
#[no_mangle]
pub extern "C" fn af_free(c: *mut Handle) {
    if !c.is_null() {
        // SAFETY: from `af_new`, not freed before (the edge frees once).
        drop(unsafe { Box::from_raw(c) });
    }
}

/// An error of `code` for the edge to reject with: 0 `not_authenticated`, 1
/// `body_not_replayable`, 2 `network` for a request that got no answer.
#[no_mangle]
pub extern "C" fn af_error(code: u32) {
    let error = match code {
        0 => AuthError::new(ErrorCode::NotAuthenticated),
        1 => AuthError::new(ErrorCode::BodyNotReplayable),
        _ => AuthError::no_answer(),
    };
    Writer::new().error(&error);
}

/// `login(credentials)` for `caller`; input: the credentials' JSON text. `len` −1: they were
/// not a JSON-serializable object — false, with the error in the output buffer.
#[no_mangle]
pub extern "C" fn af_login(c: *mut Handle, now: f64, caller: u32, len: isize) -> bool {
    let credentials = match usize::try_from(len) {
        Ok(len) => Reader::new(len).text(),
        Err(_) => None,
    };
    match credentials {
        Some(body) => {
            client(c, now).login(Caller(caller), Credentials::new(body));
            true
        }
        None => {
            let why = "login() takes a JSON-serializable object";
            Writer::new().error(&AuthError::invalid_config("credentials", why));
            false
        }
    }
}

/// `restore()` (0), `refresh()` (1) or `logout()` (2) for `caller`.
#[no_mangle]
pub extern "C" fn af_flow(c: *mut Handle, now: f64, which: u32, caller: u32) {
    let client = client(c, now);
    match which {
        0 => client.restore(Caller(caller)),
        1 => client.refresh(Caller(caller)),
        _ => client.logout(Caller(caller)),
    }
}

/// Whether the absolute URL in the input goes to an allowed origin: 1 or 0 when decided, −1
/// when the edge must parse it and ask [`af_allows_origin`] (the prefix cannot decide).
#[no_mangle]
pub extern "C" fn af_allows(c: *mut Handle, len: usize) -> i32 {
    let mut r = Reader::new(len);
    let url = r.str().unwrap_or_default();
    match handle(c)
        .client
        .config()
        .allowed_origins
        .allows_url_prefix(url)
    {
        Some(allowed) => i32::from(allowed),
        None => -1,
    }
}

/// Whether the origin in the input (as the browser's URL parser serialized it) is allowed.
#[no_mangle]
pub extern "C" fn af_allows_origin(c: *mut Handle, len: usize) -> bool {
    let mut r = Reader::new(len);
    let origin = r.str().unwrap_or_default();
    handle(c).client.config().allowed_origins.allows(origin)
}

/// Whether an answer with `status` may speak for the API (a 401): the edge then asks whether
/// its URL is on an allowed origin (DESIGN rule 13).
#[no_mangle]
pub extern "C" fn af_speaks(status: u32) -> bool {
    speaks_for_api(u16::try_from(status).unwrap_or(0), || true)
}

/// A call to an allowed origin (DESIGN rules 4, 5, 8): the token generation to send it with now
/// (the hot path: the edge sends it, or hands it to [`af_slow`] if it cannot), or −1 when it
/// must wait — the edge then hands it to [`af_slow`] as a slow-path call.
#[no_mangle]
pub extern "C" fn af_fetch(c: *mut Handle, now: f64, replayable: bool) -> f64 {
    let handle = handle(c);
    handle.client.set_now(now as u64);
    let mut call = Call::new(replayable);
    let step = call.next(handle.client.session_mut(), now as u64);
    let hot = match (step, replayable) {
        (CallStep::Send(generation), true) => f64::from(generation.0),
        _ => -1.0,
    };
    handle.hot = Some((call, step));
    hot
}

/// The call [`af_fetch`] decided continues in the core as `caller`'s slow-path call.
#[no_mangle]
pub extern "C" fn af_slow(c: *mut Handle, now: f64, caller: u32) {
    let handle = handle(c);
    if let Some((call, step)) = handle.hot.take() {
        handle.client.set_now(now as u64);
        handle.client.call(Caller(caller), call, step);
    }
}

/// `Bearer <access token>` of token generation `generation` in the output buffer; false when
/// the session holds no token of that generation.
#[no_mangle]
pub extern "C" fn af_bearer(c: *mut Handle, generation: u32) -> bool {
    let session = handle(c).client.session();
    let token = session
        .access_token()
        .filter(|_| session.generation() == TokenGeneration(generation));
    let mut out = Writer::new();
    if let Some(token) = token {
        // A string field written in two parts: no copy of the token to overwrite afterwards.
        let token = token.expose().as_bytes();
        out.num((7 + token.len()) as f64);
        out.0.extend_from_slice(b"Bearer ");
        out.0.extend_from_slice(token);
    }
    token.is_some()
}

/// A hot-path call sent once with `generation` answered 401: it continues as `caller`'s
/// slow-path call.
#[no_mangle]
pub extern "C" fn af_call_sent(c: *mut Handle, now: f64, caller: u32, generation: u32) {
    client(c, now).call_sent(
        Caller(caller),
        Call::sent_once(true, TokenGeneration(generation)),
    );
}

/// A slow-path call's attempt came back: `kind` 0 a response for the caller, 1 a 401 from the
/// API (input: its body's error code and `message`, each maybe absent), 2 `fetch` rejected.
#[no_mangle]
pub extern "C" fn af_call_answered(c: *mut Handle, now: f64, caller: u32, kind: u32, len: usize) {
    let answer = match kind {
        0 => CallAnswer::Response,
        1 => {
            let mut r = Reader::new(len);
            CallAnswer::Unauthorized(ServerSaid {
                code: r.text(),
                message: r.text(),
                retry_after_ms: None,
            })
        }
        _ => CallAnswer::Failed,
    };
    client(c, now).call_answered(Caller(caller), answer);
}

/// The most of an answer's body the edge reads, in bytes (UTF-16 code units once read): auth
/// answers and error bodies are small; a larger one is not read (DESIGN rule 12).
pub const MAX_BODY: u32 = 64 * 1024;

/// [`MAX_BODY`], for the edge to refuse a body that is longer once read.
#[no_mangle]
pub extern "C" fn af_max_body() -> u32 {
    MAX_BODY
}

/// Whether an answer whose `Content-Length` is the input (absent: none) is not to be read: a
/// length over [`MAX_BODY`] or not a number. A body without a length is read, and refused
/// after reading if too long.
#[no_mangle]
pub extern "C" fn af_too_long(len: usize) -> bool {
    let mut r = Reader::new(len);
    let length = r.str();
    length.is_some_and(|text| decimal(text).is_none_or(|n| n > u64::from(MAX_BODY)))
}

/// A whole decimal number (`1*DIGIT`, surrounding spaces allowed, at most 15 digits);
/// `None` otherwise.
fn decimal(text: &str) -> Option<u64> {
    let text = text.trim_ascii();
    (text.len() <= 15).then(|| crate::core::decimal::parse(text))?
}

/// `Retry-After` (RFC 9110 §10.2.3) as a delay in ms from `now`: delay-seconds, else the
/// HTTP-date the browser's `Date.parse` read (`date`, epoch ms; NaN: unreadable).
fn retry_after_ms(text: Option<&str>, date: f64, now: f64) -> Option<u64> {
    if let Some(seconds) = decimal(text?) {
        return Some(seconds.saturating_mul(1000));
    }
    // A date in the past is "now"; NaN (unreadable) is no answer.
    date.is_finite()
        .then(|| (date as u64).saturating_sub(now as u64))
}

/// An auth endpoint's answer for `op`. `status` 0: `fetch` rejected (or the request could not
/// be made). Input: `Retry-After` (absent: none), then the access token, the refresh token, the
/// error code and `message` read from the JSON body (each maybe absent). Numbers: `date`, the
/// `Retry-After` as `Date.parse` read it; `expires_in` seconds, `exp` and `iat` the access
/// token's JWT claims in epoch seconds (each NaN when absent).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn af_answered(
    c: *mut Handle,
    now: f64,
    op: u32,
    status: u32,
    len: usize,
    date: f64,
    expires_in: f64,
    exp: f64,
    iat: f64,
) {
    let answer = match u16::try_from(status) {
        Ok(0) | Err(_) => Answer::Failed,
        Ok(status) => {
            let mut r = Reader::new(len);
            let retry_after = retry_after_ms(r.str(), date, now);
            let (access, refresh) = (r.text(), r.text());
            let grant = access
                .filter(|_| (200..300).contains(&status))
                .map(|access| Grant {
                    access_token: AccessToken::new(access),
                    refresh_token: refresh.map(RefreshToken::new),
                    expires_in_s: Some(expires_in).filter(|n| !n.is_nan()),
                    jwt: JwtTimes {
                        exp: Some(exp).filter(|n| !n.is_nan()),
                        iat: Some(iat).filter(|n| !n.is_nan()),
                    },
                });
            let server = ServerSaid {
                code: r.text(),
                message: r.text(),
                retry_after_ms: retry_after,
            };
            Answer::Status {
                status,
                grant,
                server,
            }
        }
    };
    client(c, now).answered(Op(op), answer);
}

/// The payload segment of the access token in the input, when it has a JWT's shape, in the
/// output buffer (the edge base64url-decodes and JSON-parses it); false otherwise.
#[no_mangle]
pub extern "C" fn af_jwt(len: usize) -> bool {
    let mut r = Reader::new(len);
    let payload = r.str().and_then(jwt_payload);
    if let Some(payload) = payload {
        Writer::new().text(payload);
    }
    // The token is read in place, and zeroed with the input buffer when `r` is dropped.
    payload.is_some()
}

/// The page woke the client: 0 resumed (timer, `focus`, `pageshow`, `visibilitychange`),
/// 1 `online`, 2 `pagehide`.
#[no_mangle]
pub extern "C" fn af_wake(c: *mut Handle, now: f64, why: u32) {
    let why = match why {
        0 => Wake::Resumed,
        1 => Wake::Online,
        _ => Wake::Hidden,
    };
    client(c, now).wake(why);
}

/// A Web Lock or a sleep of `op` ended: 0 the lock was granted, 1 its request failed, 2 the
/// sleep is over.
#[no_mangle]
pub extern "C" fn af_op(c: *mut Handle, now: f64, what: u32, op: u32) {
    let client = client(c, now);
    match what {
        0 => client.lock_granted(Op(op)),
        1 => client.lock_failed(Op(op)),
        _ => client.slept(Op(op)),
    }
}

/// `navigator.locks.query()` answered `op`'s query; input: the count of held locks' names,
/// then each.
#[no_mangle]
pub extern "C" fn af_locks_held(c: *mut Handle, now: f64, op: u32, len: usize) {
    let mut r = Reader::new(len);
    let count = r.num() as usize;
    let mut names = Vec::new();
    for _ in 0..count.min(10_000) {
        if let Some(name) = r.text() {
            names.push(name);
        }
    }
    drop(r);
    client(c, now).locks_held(Op(op), names.iter().map(String::as_str));
}

/// A message from another tab, checked for shape here; anything malformed is ignored (DESIGN
/// rule 11: messages are untrusted). `kind`: its `type`'s index in the list [`af_poll`] names
/// (0 `session`, 1 `logout`, 2 `ask`, 3 `hello`, 4 `here`, 5 `bye`, 6 `need`; −1 anything
/// else). Input: `access`, `refresh` (each absent unless a string). Numbers (NaN unless a
/// number): `lineage`, `counter`, `receivedAt`, `expiresAt`, `from`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn af_message(
    c: *mut Handle,
    now: f64,
    kind: i32,
    len: usize,
    lineage: f64,
    counter: f64,
    received_at: f64,
    expires_at: f64,
    from: f64,
) {
    let mut r = Reader::new(len);
    let (access, refresh) = (r.text(), r.text());
    drop(r);
    let time = |n: f64| Some(n).filter(|n| n.is_finite() && *n >= 0.0);
    // A version half: a whole number below 2³².
    let half =
        |n: f64| (n >= 0.0 && n <= f64::from(u32::MAX) && n == n as u32 as f64).then_some(n as u64);
    let version = half(lineage).zip(half(counter)).map(|(l, c)| l << 32 | c);
    let message = match kind {
        0 => access
            .map(AccessToken::new)
            .filter(AccessToken::is_header_safe)
            .zip(version)
            .zip(time(received_at))
            .map(|((access_token, version), received)| {
                Message::Session(SharedSession {
                    access_token,
                    refresh_token: refresh.map(RefreshToken::new),
                    version,
                    received_at_ms: received as u64,
                    expires_at_ms: time(expires_at).map(|n| n as u64),
                })
            }),
        1 => version.map(|version| Message::Logout { version }),
        2 => Some(Message::Ask),
        3 => time(from).map(|from| Message::Hello { from }),
        4 => time(from).map(|from| Message::Here { from }),
        5 => time(from).map(|from| Message::Bye { from }),
        6 => version.map(|version| Message::Need { version }),
        _ => None,
    };
    if let Some(message) = message {
        client(c, now).message(message);
    }
}

/// The session: 0 whether one is held (1 or 0), 1 `expiresAt`, 2 `refreshAt` (epoch ms on the
/// page's clock; −1 when none).
#[no_mangle]
pub extern "C" fn af_state(c: *mut Handle, what: u32) -> f64 {
    let session = handle(c).client.session();
    let ms = match what {
        0 => return f64::from(u8::from(session.is_authenticated())),
        1 => session.expires_at_ms(),
        _ => session.refresh_at_ms(),
    };
    ms.map_or(-1.0, |ms| ms as f64)
}

/// The next effect the core queued, its fields in the output buffer; 0 when there is none.
///
/// 1 request to an auth endpoint: op, method, URL, body kind (0 none, 1 credentials: then their
///   JSON text, 2 refresh token: then the field name and the token), the bearer's access token
///   (absent: none), `credentials: "include"` (1/0);
/// 2 send a slow-path call: caller, token generation;
/// 3 settle a caller: caller, outcome (0 done, 1 false, 2 true, 3 the call's response, 4 its
///   `fetch` failure, 5 an error: then the error, 6 the same with the answer's JSON body as
///   `details`);
/// 4 arm the timer: the instant (epoch ms), −1 to disarm;
/// 5 an event: kind (0 `login`, 1 `login` restored, 2 `refresh`, 3 `logout`: then the reason,
///   4 `error`: then the error), then `expiresAt` (−1: unknown);
/// 6 post to the other tabs: type (0 session: then access token, refresh token (absent: none),
///   version, `receivedAt`, `expiresAt` (−1: none); 1 logout: then the version; 2 ask; 3 hello;
///   4 here; 5 bye; 6 need: then the version), then this tab's id;
/// 7 open (1, then the channel's name) or close (0) the channel;
/// 8 request a Web Lock: op, name, shared (1/0); 9 release op's lock; 10 query the locks: op;
/// 11 sleep: op, ms; 12 redirect: `loginUrl`.
#[no_mangle]
pub extern "C" fn af_poll(c: *mut Handle) -> u32 {
    let client = &mut handle(c).client;
    let Some(effect) = client.poll() else {
        output();
        return 0;
    };
    let mut out = Writer::new();
    match effect {
        Effect::Request(r) => {
            out.num(f64::from(r.op.0)).text(r.method).text(&r.url);
            match &r.body {
                Body::None => out.num(0.0),
                Body::Credentials(credentials) => out.num(1.0).text(credentials.expose()),
                Body::RefreshToken(token) => out
                    .num(2.0)
                    .text(&client.config().refresh_body_field)
                    .text(token.expose()),
            };
            out.opt_text(r.bearer.as_ref().map(AccessToken::expose))
                .flag(r.include_credentials);
            1
        }
        Effect::Send(caller, generation) => {
            out.num(f64::from(caller.0)).num(f64::from(generation.0));
            2
        }
        Effect::Settle(caller, outcome) => {
            out.num(f64::from(caller.0));
            match outcome {
                Outcome::Done => out.num(0.0),
                Outcome::Bool(b) => out.num(if b { 2.0 } else { 1.0 }),
                Outcome::Response => out.num(3.0),
                Outcome::FetchFailed => out.num(4.0),
                Outcome::Error(e, with_body) => {
                    out.num(if with_body { 6.0 } else { 5.0 }).error(&e)
                }
            };
            3
        }
        Effect::Timer(at) => {
            out.opt_ms(at);
            4
        }
        Effect::Emit(event) => {
            match event {
                Event::Login { restored } => out.flag(restored),
                Event::Refresh => out.num(2.0),
                Event::Logout(reason) => out.num(3.0).text(reason.as_str()),
                Event::Error(e) => out.num(4.0).error(&e),
            };
            out.opt_ms(client.session().expires_at_ms());
            5
        }
        Effect::Post(message) => {
            match message {
                Message::Session(s) => out
                    .num(0.0)
                    .text(s.access_token.expose())
                    .opt_text(s.refresh_token.as_ref().map(RefreshToken::expose))
                    .version(s.version)
                    .num(s.received_at_ms as f64)
                    .opt_ms(s.expires_at_ms),
                Message::Logout { version } => out.num(1.0).version(version),
                Message::Ask => out.num(2.0),
                Message::Hello { .. } => out.num(3.0),
                Message::Here { .. } => out.num(4.0),
                Message::Bye { .. } => out.num(5.0),
                Message::Need { version } => out.num(6.0).version(version),
            };
            out.num(client.tab_id());
            6
        }
        Effect::Channel(open) => {
            out.flag(open);
            if open {
                out.text(&channel_name(client.api_origin()));
            }
            7
        }
        Effect::Lock { op, name, shared } => {
            out.num(f64::from(op.0)).text(&name).flag(shared);
            8
        }
        Effect::Release(op) => {
            out.num(f64::from(op.0));
            9
        }
        Effect::Query(op) => {
            out.num(f64::from(op.0));
            10
        }
        Effect::Sleep(op, ms) => {
            out.num(f64::from(op.0)).num(f64::from(ms));
            11
        }
        Effect::Redirect => {
            out.opt_text(client.config().login_url.as_deref());
            12
        }
    }
}
