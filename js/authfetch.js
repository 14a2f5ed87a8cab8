// authfetch's browser edge (scripts/pack.mjs bundles it with the entry into pkg/index.js): loads
// the WebAssembly core and carries out what it decides. The core (src/core, behind
// src/exports.rs) holds every rule, every token and every decision — when to renew, whether a 401
// is retried or ends the session, which origins get the bearer, what the other tabs are told,
// every error and its message — and queues effects; this file owns the browser's resources
// (fetch, the one renewal timer, the page listeners, the channel, the Web Locks, the events, the
// callers' promises) and drains the effects in one place, `drive`. It reads JavaScript values
// into fields for the core and back, and decides nothing.
//
// The core is reached through flat exports (src/exports.rs): numbers as arguments, strings as
// UTF-8 fields in the module's input buffer, answers as fields in its output buffer. Both are
// zeroed once read. Times are `Date.now()`, ms since the epoch.
//
// `init()` and `initSync()` load the module (as wasm-bindgen's `--target web` loader does); the
// package's entry (index.js) wraps them.

let wasm;
let KEYS;
let MAX_BODY = 0;
let u8 = new Uint8Array(0);
let dv = new DataView(u8.buffer);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Re-makes the views of the module's memory after it grew (the old buffer is detached). */
function mem() {
  if (u8.buffer !== wasm.memory.buffer) {
    u8 = new Uint8Array(wasm.memory.buffer);
    dv = new DataView(u8.buffer);
  }
}

/** Writes `list` into the input buffer: numbers, strings, `null`/`undefined` for an absent string. Its length in bytes. */
function fields(list) {
  let cap = 0;
  for (const f of list) cap += typeof f === "string" ? 8 + 3 * f.length : 8;
  const start = wasm.af_in(cap);
  mem();
  let at = start;
  for (const f of list) {
    if (typeof f === "string") {
      const { written } = encoder.encodeInto(f, u8.subarray(at + 8, at + 8 + 3 * f.length));
      dv.setFloat64(at, written, true);
      at += 8 + written;
    } else {
      dv.setFloat64(at, f ?? -1, true);
      at += 8;
    }
  }
  return at - start;
}

/** The output buffer's fields, read in order; `done()` zeroes them. */
function reader() {
  mem();
  const start = wasm.af_out();
  let at = start;
  return {
    num() {
      const n = dv.getFloat64(at, true);
      at += 8;
      return n;
    },
    text() {
      const n = this.num();
      if (n < 0) return undefined;
      const s = decoder.decode(u8.subarray(at, at + n));
      at += n;
      return s;
    },
    done() {
      u8.fill(0, start, at);
    },
  };
}

/** Reads an `AuthError` from `r`: an `Error` named "AuthError" with `code`, `status`, `serverCode`, `serverMessage` (`key`, `details` when given). */
function readError(r, details) {
  const error = new Error("");
  const code = r.text();
  error.message = r.text();
  error.name = "AuthError";
  error.code = code;
  const status = r.num();
  error.status = status < 0 ? undefined : status;
  error.serverCode = r.text();
  error.serverMessage = r.text();
  const key = r.text();
  if (key !== undefined) error.key = key;
  if (details !== undefined) error.details = details;
  return error;
}

/** The `AuthError` the core just wrote to the output buffer. */
function outputError() {
  const r = reader();
  const error = readError(r);
  r.done();
  return error;
}

/** One of the core's errors: 0 `not_authenticated`, 1 `body_not_replayable`, 2 `network` (no answer). */
function errorOf(code) {
  wasm.af_error(code);
  return outputError();
}

/** A fetch failure as a call rejects with it: the platform's `AbortError` as it is, else `network` with `cause`. */
function fetchFailed(cause) {
  if (cause?.name === "AbortError") return cause;
  const error = errorOf(2);
  error.cause = cause;
  return error;
}

// ---------------------------------------------------------------------------------------------
// Loading the module.

function finish(instance) {
  wasm = instance.exports;
  wasm.af_keys();
  const r = reader();
  KEYS = Array.from({ length: r.num() }, () => r.text());
  r.done();
  MAX_BODY = wasm.af_max_body();
  return wasm;
}

/** `{ module }`: the module's bytes or a `WebAssembly.Module`; loads it synchronously. */
export function initSync(options) {
  if (wasm) return wasm;
  let module = options !== null && typeof options === "object" && Object.getPrototypeOf(options) === Object.prototype ? options.module : options;
  if (!(module instanceof WebAssembly.Module)) module = new WebAssembly.Module(module);
  return finish(new WebAssembly.Instance(module, {}));
}

/**
 * `{ module_or_path }`: a URL (string, `URL`, `Request`), a `Response` (or a promise of one), bytes
 * or a `WebAssembly.Module`; by default the .wasm next to this file.
 */
export default async function init(options) {
  if (wasm) return wasm;
  let source = options !== null && typeof options === "object" && Object.getPrototypeOf(options) === Object.prototype ? options.module_or_path : options;
  if (source === undefined) source = new URL("authfetch_bg.wasm", import.meta.url);
  if (typeof source === "string" || source instanceof URL || (typeof Request === "function" && source instanceof Request)) {
    source = fetch(source);
  }
  source = await source;
  if (typeof Response === "function" && source instanceof Response) {
    if (!source.ok) throw new Error(`failed to fetch the module: ${source.status} ${source.statusText} (${source.url})`);
    if (typeof WebAssembly.instantiateStreaming === "function" && source.headers.get("Content-Type") === "application/wasm") {
      return finish((await WebAssembly.instantiateStreaming(source, {})).instance);
    }
    source = await source.arrayBuffer();
  }
  const made = await WebAssembly.instantiate(source, {});
  return finish(made instanceof WebAssembly.Instance ? made : made.instance);
}

// ---------------------------------------------------------------------------------------------
// The client's state: what the browser side of the effects in progress holds.

/** Frees a client whose `AuthClient` was garbage-collected without `free()`. */
const registry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((s) => shutDown(s)) : undefined;

const EVENTS = ["login", "login", "refresh", "logout", "error"];

const isObject = (v) => typeof v === "object" && v !== null;

/** Stands for a configuration value whose getter threw: "anything else" to the core, which names the key. */
const THREW = Symbol("threw");

/** The configuration's value as the core reads it: a type tag, then the value. */
function tagged(v) {
  if (v === undefined) return [0];
  if (v === null) return [1];
  switch (typeof v) {
    case "string":
      return [2, v];
    case "number":
      return [3, v];
    case "boolean":
      return [4, v ? 1 : 0];
    case "function":
      return [7];
  }
  if (Array.isArray(v)) {
    try {
      const list = Array.from(v);
      return list.every((x) => typeof x === "string") ? [5, list.length, ...list] : [6];
    } catch {
      return [8];
    }
  }
  return [8];
}

/** `config[key]`, or `THREW` when reading it throws (a getter, a Proxy). */
function read(config, key) {
  try {
    return config[key];
  } catch {
    return THREW;
  }
}

function readPaths(r) {
  return Array.from({ length: r.num() }, () => Array.from({ length: r.num() }, () => r.text()));
}

/** A new client's state from `config`; throws the core's `invalid_config`. */
function create(config) {
  const g = globalThis;
  const object = isObject(config);
  const values = KEYS.map((key) => (object ? read(config, key) : undefined));
  const here = g.location?.href;
  const page = typeof here === "string";
  const base = values[KEYS.indexOf("baseUrl")];
  let resolved;
  if (typeof base === "string") {
    try {
      resolved = new URL(base, page ? here : undefined).href;
    } catch {
      resolved = undefined;
    }
  }
  const flags =
    (object ? 1 : 0) |
    (g.document !== undefined ? 2 : 0) |
    (lockManager() ? 4 : 0) |
    (typeof g.fetch === "function" ? 8 : 0) |
    (page ? 16 : 0);
  let own = [];
  try {
    if (object) own = Object.keys(config);
  } catch {
    // A Proxy that will not list its keys: its unknown keys go unnoticed, its known ones are read.
  }
  const events = new EventTarget();
  const len = fields([page ? String(g.location.origin ?? "") : "", resolved, own.length, ...own, ...values.flatMap(tagged)]);
  const c = wasm.af_new(len, flags, Math.random());
  if (c === 0) throw outputError();
  const given = values[KEYS.indexOf("fetch")];
  wasm.af_paths(c);
  const r = reader();
  const paths = { access: readPaths(r), refresh: readPaths(r), expiresIn: readPaths(r), errorCode: readPaths(r)[0] };
  r.done();
  const s = {
    c,
    live: true,
    fetch: typeof given === "function" ? given : g.fetch,
    paths,
    events,
    callers: new Map(),
    nextCaller: 0,
    locks: new Map(),
    dropped: new Set(),
    lastJson: undefined,
    timer: undefined,
    channel: undefined,
    bearer: undefined,
    listeners: [],
    fetcher: undefined,
  };
  // Page lifecycle (DESIGN rule 3): a deadline missed while timers stalled is caught up on
  // waking. In a worker there is no window: nothing to listen to.
  if (isWindow()) {
    const wake = (why) => () => input(s, (c, now) => wasm.af_wake(c, now, why));
    listen(s, g, "focus", wake(0));
    listen(s, g, "pageshow", wake(0));
    listen(s, g, "online", wake(1));
    listen(s, g, "pagehide", wake(2));
    if (g.document) listen(s, g.document, "visibilitychange", wake(0));
  }
  // The channel the core opened.
  drive(s);
  return s;
}

function listen(s, target, type, fn) {
  target.addEventListener(type, fn);
  s.listeners.push([target, type, fn]);
}

/** `free()`: the session ends without events, and everything the client holds is let go. */
function shutDown(s) {
  if (!s.live) return;
  input(s, (c, now) => wasm.af_shut_down(c, now));
  s.live = false;
  for (const [target, type, fn] of s.listeners) target.removeEventListener(type, fn);
  s.listeners = [];
  s.bearer = undefined;
  clearTimeout(s.timer);
  s.timer = undefined;
  s.channel?.close();
  s.channel = undefined;
  const callers = [...s.callers.values()];
  const locks = [...s.locks.values()];
  s.callers.clear();
  s.locks.clear();
  wasm.af_free(s.c);
  s.c = 0;
  for (const d of callers) d.reject(errorOf(0));
  for (const release of locks) release();
}

/** A new caller's id and the promise it settles. */
function newCaller(s) {
  const id = (s.nextCaller = (s.nextCaller + 1) >>> 0);
  const d = { resolve: undefined, reject: undefined, snapshot: undefined, answer: undefined };
  const promise = new Promise((resolve, reject) => {
    d.resolve = resolve;
    d.reject = reject;
  });
  s.callers.set(id, d);
  return [id, promise];
}

/** Gives the core one input, `f(client, now)`, then carries out what it queued. A freed client's inputs are dropped. */
function input(s, f) {
  if (!s.live) return;
  f(s.c, Date.now());
  drive(s);
}

/** `fetch(request)` with the captured `fetch` (called on the global object); what it throws becomes a rejection. */
function send(s, request) {
  try {
    return Promise.resolve(s.fetch.call(globalThis, request));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Whether the absolute `url` is on an allowed origin: the core decides on the URL, or on the origin the browser's parser reads from it. */
function allows(s, url) {
  const prefix = wasm.af_allows(s.c, fields([url]));
  if (prefix >= 0) return prefix === 1;
  let origin;
  try {
    origin = new URL(url).origin;
  } catch {
    return false;
  }
  return wasm.af_allows_origin(s.c, fields([origin])) === 1;
}

/** Whether `response` speaks for the API: a 401 from an allowed origin (DESIGN rule 13). */
function unauthorized(s, response) {
  return response instanceof Response && wasm.af_speaks(response.status) === 1 && allows(s, response.url);
}

/** Whether `response` announces a body the core will not read (`Content-Length` over its limit). */
function tooLong(response) {
  const length = response.headers.get("Content-Length");
  return wasm.af_too_long(fields([length])) === 1;
}

/** The text of a 401's body, read from a copy (the response itself may still go to the caller); `undefined` when it is too long or cannot be copied. */
function unauthorizedBody(response) {
  if (tooLong(response)) return undefined;
  try {
    return response.clone().text();
  } catch {
    return undefined;
  }
}

/** `JSON.parse` of a body read as text; `undefined` for one over the limit, not JSON, or not read. */
function parseCapped(text) {
  if (typeof text !== "string" || text.length > MAX_BODY) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `value` at a dot path (its segments), or `undefined`. */
function atPath(value, path) {
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

function firstString(json, paths) {
  for (const path of paths) {
    const v = atPath(json, path);
    if (typeof v === "string" && v !== "") return v;
  }
  return undefined;
}

/** The first number, or numeric string (some servers send `"3600"`), at one of `paths`. */
function firstNumber(json, paths) {
  for (const path of paths) {
    const v = atPath(json, path);
    if (typeof v === "number") return v;
    if (typeof v === "string" && v.trim() !== "") {
      const n = parseFloat(v);
      if (Number.isFinite(n)) return n;
    }
  }
  return NaN;
}

const numberOr = (v) => (typeof v === "number" ? v : NaN);

/** The access token's JWT `exp` and `iat` (epoch seconds; NaN when absent or not a JWT). */
function jwtTimes(access) {
  if (wasm.af_jwt(fields([access])) !== 1) return [NaN, NaN];
  const r = reader();
  const payload = r.text();
  r.done();
  try {
    let base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4 !== 0) base64 += "=";
    const claims = JSON.parse(atob(base64));
    if (isObject(claims)) return [numberOr(claims.exp), numberOr(claims.iat)];
  } catch {
    // Not a JWT after all: its expiry is unknown.
  }
  return [NaN, NaN];
}

/** The error code (at `errorCodePath`; a number as `String(n)`) and `message` of an error body. */
function said(s, json) {
  if (json === undefined) return [undefined, undefined];
  let code = atPath(json, s.paths.errorCode);
  if (typeof code === "number") code = String(code);
  const message = isObject(json) ? json.message : undefined;
  return [typeof code === "string" ? code : undefined, typeof message === "string" ? message : undefined];
}

/** The token generation's `Authorization` value, made once per generation; `undefined` when the session holds no token of it. */
function bearerFor(s, generation) {
  if (s.bearer?.[0] === generation) return s.bearer[1];
  if (wasm.af_bearer(s.c, generation) !== 1) return undefined;
  const r = reader();
  const value = r.text();
  r.done();
  s.bearer = [generation, value];
  return value;
}

// ---------------------------------------------------------------------------------------------
// A call's arguments as one snapshot (DESIGN rules 8 and 10): `new Request(input, init)` reads
// them at once, as `fetch` does — the URL resolved against the base URL of that moment, the
// headers copied, the body taken. Every attempt is made from it: a bodyless request as it is, a
// request with a body `clone()`d (which tees the body, so it goes out byte for byte again). A
// `ReadableStream` body from `init` can go out once only.

function snapshot(input, init) {
  const request = new Request(input, init);
  let body;
  let threw = false;
  if (isObject(init)) {
    try {
      body = init.body;
    } catch {
      threw = true;
    }
  }
  const oneShot = threw || (typeof ReadableStream === "function" && body instanceof ReadableStream);
  const bodyless = !threw && (body === undefined || body === null) && !(input instanceof Request);
  return { request, tee: !bodyless && !oneShot, oneShot };
}

/** The next attempt with `authorization` set; `undefined` when the body can no longer be cloned. */
function attempt(snap, authorization) {
  let request = snap.request;
  if (snap.tee) {
    try {
      request = request.clone();
    } catch {
      return undefined;
    }
  }
  try {
    request.headers.set("Authorization", authorization);
  } catch {
    // A `no-cors` request's headers are immutable: it goes without, as the platform sends it.
  }
  return request;
}

/** `auth.fetch(input, init)`: the hot path decided in one call into the core, else a slow-path call the core carries on. */
function clientFetch(s, input, init) {
  if (!s.live) return Promise.reject(errorOf(0));
  let snap;
  try {
    snap = snapshot(input, init);
  } catch (thrown) {
    return Promise.reject(thrown);
  }
  if (!allows(s, snap.request.url)) return send(s, snap.request);
  const generation = wasm.af_fetch(s.c, Date.now(), snap.oneShot ? 0 : 1);
  if (generation >= 0) {
    const bearer = bearerFor(s, generation);
    const request = bearer === undefined ? undefined : attempt(snap, bearer);
    if (request) {
      return send(s, request).then(
        (response) => hotAnswered(s, snap.request, generation, response),
        (cause) => Promise.reject(fetchFailed(cause)),
      );
    }
  }
  const [caller, promise] = newCaller(s);
  s.callers.get(caller).snapshot = snap;
  wasm.af_slow(s.c, Date.now(), caller);
  drive(s);
  return promise;
}

/** A hot-path answer: the response, unless it is a 401 from the API — then the call continues in the core, sent once with `generation`. */
function hotAnswered(s, request, generation, response) {
  if (!s.live || !unauthorized(s, response)) return response;
  const body = unauthorizedBody(response);
  const [caller, promise] = newCaller(s);
  const d = s.callers.get(caller);
  d.answer = response;
  d.snapshot = { request, tee: true, oneShot: false };
  input(s, (c, now) => wasm.af_call_sent(c, now, caller, generation));
  readThen(body, (text) => callRead(s, caller, text));
  return promise;
}

/** Calls `then(value)` when `promise` settles, either way; at once with `undefined` when there is no promise. */
function readThen(promise, then) {
  if (promise) promise.then(then, then);
  else then(undefined);
}

/** A slow-path call's 401 body was read (`undefined`: not read): the core hears what it said. */
function callRead(s, caller, text) {
  const [code, message] = said(s, parseCapped(text));
  input(s, (c, now) => wasm.af_call_answered(c, now, caller, 1, fields([code, message])));
}

/** A slow-path call's `fetch` settled. */
function callAnswered(s, caller, response) {
  if (!s.live) return;
  const d = s.callers.get(caller);
  if (d) d.answer = response;
  if (!unauthorized(s, response)) {
    input(s, (c, now) => wasm.af_call_answered(c, now, caller, 0, 0));
    return;
  }
  readThen(unauthorizedBody(response), (text) => callRead(s, caller, text));
}

function callFailed(s, caller, cause) {
  const d = s.callers.get(caller);
  if (d) d.answer = cause;
  input(s, (c, now) => wasm.af_call_answered(c, now, caller, 2, 0));
}

/** Sends a slow-path call's next attempt with the bearer of `generation`. */
function sendCall(s, caller, generation) {
  const d = s.callers.get(caller);
  const bearer = bearerFor(s, generation);
  let request;
  let code = 0;
  if (d?.snapshot && bearer !== undefined) {
    request = attempt(d.snapshot, bearer);
    code = 1;
  }
  if (!request) {
    if (d) {
      s.callers.delete(caller);
      d.reject(errorOf(code));
    }
    return;
  }
  send(s, request).then(
    (response) => callAnswered(s, caller, response),
    (cause) => callFailed(s, caller, cause),
  );
}

// ---------------------------------------------------------------------------------------------
// Requests to the auth endpoints (login, refresh, logout) and their answers.

/** An endpoint request got no answer (`fetch` rejected, or the request could not be made). */
function endpointFailed(s, op) {
  input(s, (c, now) => wasm.af_answered(c, now, op, 0, 0, NaN, NaN, NaN, NaN));
}

function endpointRequest(s, op, method, url, body, bearer, include) {
  let request;
  try {
    const headers = new Headers();
    headers.set("Accept", "application/json");
    const init = { method };
    if (body !== undefined) {
      headers.set("Content-Type", "application/json");
      init.body = body;
    }
    if (bearer !== undefined) headers.set("Authorization", `Bearer ${bearer}`);
    init.headers = headers;
    if (include) init.credentials = "include";
    request = new Request(url, init);
  } catch {
    endpointFailed(s, op);
    return;
  }
  send(s, request).then(
    (response) => endpointAnswered(s, op, response),
    () => endpointFailed(s, op),
  );
}

function endpointAnswered(s, op, response) {
  if (!(response instanceof Response)) {
    endpointFailed(s, op);
    return;
  }
  const retryAfter = response.headers.get("Retry-After");
  const status = response.status;
  let text;
  if (!tooLong(response)) {
    try {
      text = response.text();
    } catch {
      text = undefined;
    }
  }
  readThen(text, (value) => endpointRead(s, op, status, retryAfter, value));
}

/** An endpoint answer's body was read (`undefined`: not read): the core gets the answer. */
function endpointRead(s, op, status, retryAfter, text) {
  const json = parseCapped(text);
  s.lastJson = json;
  let access;
  let refresh;
  let expiresIn = NaN;
  let exp = NaN;
  let iat = NaN;
  if (json !== undefined && status >= 200 && status < 300) {
    access = firstString(json, s.paths.access);
    if (access !== undefined) {
      refresh = firstString(json, s.paths.refresh);
      expiresIn = firstNumber(json, s.paths.expiresIn);
      [exp, iat] = jwtTimes(access);
    }
  }
  const [code, message] = said(s, json);
  const date = retryAfter === null ? NaN : Date.parse(retryAfter.trim());
  input(s, (c, now) => wasm.af_answered(c, now, op, status, fields([retryAfter, access, refresh, code, message]), date, expiresIn, exp, iat));
}

// ---------------------------------------------------------------------------------------------
// The one driver (DESIGN, "Effects, one driver").

/** Drains the core's effects, one at a time: each is read whole, then carried out. */
function drive(s) {
  while (s.live) {
    const kind = wasm.af_poll(s.c);
    if (kind === 0) return;
    carryOut(s, kind, reader());
  }
}

function carryOut(s, kind, r) {
  switch (kind) {
    case 1: {
      const op = r.num();
      const method = r.text();
      const url = r.text();
      const bodyKind = r.num();
      let body;
      if (bodyKind === 1) body = r.text();
      else if (bodyKind === 2) {
        const field = r.text();
        body = JSON.stringify({ [field]: r.text() });
      }
      const bearer = r.text();
      const include = r.num() === 1;
      r.done();
      endpointRequest(s, op, method, url, body, bearer, include);
      return;
    }
    case 2: {
      const caller = r.num();
      const generation = r.num();
      r.done();
      sendCall(s, caller, generation);
      return;
    }
    case 3: {
      const caller = r.num();
      const outcome = r.num();
      const error = outcome >= 5 ? readError(r, outcome === 6 ? s.lastJson : undefined) : undefined;
      r.done();
      const d = s.callers.get(caller);
      if (!d) return;
      s.callers.delete(caller);
      if (outcome === 0) d.resolve(undefined);
      else if (outcome <= 2) d.resolve(outcome === 2);
      else if (outcome === 3) d.resolve(d.answer);
      else if (outcome === 4) d.reject(fetchFailed(d.answer));
      else d.reject(error);
      return;
    }
    case 4: {
      const at = r.num();
      r.done();
      arm(s, at);
      return;
    }
    case 5: {
      const event = r.num();
      let detail;
      if (event === 3) detail = { reason: r.text() };
      else if (event === 4) detail = readError(r);
      const expiresAt = r.num();
      r.done();
      if (event <= 2) {
        detail = { expiresAt: expiresAt < 0 ? undefined : expiresAt };
        if (event === 1) detail.restored = true;
      }
      // The session is over: its bearer string goes too.
      if (event === 3) s.bearer = undefined;
      s.events.dispatchEvent(new CustomEvent(EVENTS[event], { detail }));
      return;
    }
    case 6: {
      const type = r.num();
      const message = {};
      message.type = MESSAGES[type];
      if (type === 0) {
        message.access = r.text();
        const refresh = r.text();
        if (refresh !== undefined) message.refresh = refresh;
        message.lineage = r.num();
        message.counter = r.num();
        message.receivedAt = r.num();
        const expiresAt = r.num();
        if (expiresAt >= 0) message.expiresAt = expiresAt;
      } else if (type === 1 || type === 6) {
        message.lineage = r.num();
        message.counter = r.num();
      }
      message.from = r.num();
      r.done();
      try {
        s.channel?.postMessage(message);
      } catch {
        // A closed channel: the other tabs learn it by asking.
      }
      return;
    }
    case 7: {
      const open = r.num() === 1;
      const name = open ? r.text() : undefined;
      r.done();
      s.channel?.close();
      s.channel = open ? openChannel(s, name) : undefined;
      return;
    }
    case 8: {
      const op = r.num();
      const name = r.text();
      const shared = r.num() === 1;
      r.done();
      requestLock(s, op, name, shared);
      return;
    }
    case 9: {
      const op = r.num();
      r.done();
      const release = s.locks.get(op);
      if (release) {
        s.locks.delete(op);
        release();
      } else s.dropped.add(op);
      return;
    }
    case 10: {
      const op = r.num();
      r.done();
      queryLocks(s, op);
      return;
    }
    case 11: {
      const op = r.num();
      const ms = r.num();
      r.done();
      setTimeout(() => input(s, (c, now) => wasm.af_op(c, now, 2, op)), ms);
      return;
    }
    case 12: {
      const loginUrl = r.text();
      r.done();
      if (loginUrl !== undefined) toLogin(loginUrl);
      return;
    }
  }
  r.done();
}

/** Arms the one proactive timer at `at` (epoch ms), or disarms it (−1); unref'd where timers are objects (Node.js). */
function arm(s, at) {
  clearTimeout(s.timer);
  s.timer = undefined;
  if (at < 0) return;
  // setTimeout fires at once for delays beyond 2³¹−1 ms: longer ones are clamped.
  const delay = Math.min(Math.max(at - Date.now(), 0), 2147483647);
  s.timer = setTimeout(() => input(s, (c, now) => wasm.af_wake(c, now, 0)), delay);
  s.timer?.unref?.();
}

/** The channel's message types, by the index the core names them with (`af_poll`, `af_message`). */
const MESSAGES = ["session", "logout", "ask", "hello", "here", "bye", "need"];

/** The channel of the API's origin, its messages given to the core; `undefined` where `BroadcastChannel` is missing. */
function openChannel(s, name) {
  let channel;
  try {
    channel = new BroadcastChannel(name);
  } catch {
    return undefined;
  }
  // Node.js: an open channel does not keep the process alive.
  channel.unref?.();
  channel.addEventListener("message", (event) => {
    const data = event.data;
    if (!isObject(data)) return;
    const text = (v) => (typeof v === "string" ? v : undefined);
    input(s, (c, now) =>
      wasm.af_message(
        c,
        now,
        MESSAGES.indexOf(data.type),
        fields([text(data.access), text(data.refresh)]),
        numberOr(data.lineage),
        numberOr(data.counter),
        numberOr(data.receivedAt),
        numberOr(data.expiresAt),
        numberOr(data.from),
      ),
    );
  });
  return channel;
}

/** Whether this runs in a page's window (not a worker, not Node.js). */
function isWindow() {
  return typeof Window === "function" && globalThis instanceof Window;
}

/** `navigator.locks`, where the Web Locks API is complete; else `undefined`. */
function lockManager() {
  const locks = globalThis.navigator?.locks;
  return typeof locks?.request === "function" && typeof locks?.query === "function" ? locks : undefined;
}

/** `navigator.locks.request(name, { mode }, granted)`: held until the core releases it. */
function requestLock(s, op, name, shared) {
  const failed = () => input(s, (c, now) => wasm.af_op(c, now, 1, op));
  let requested;
  try {
    requested = lockManager()?.request(name, { mode: shared ? "shared" : "exclusive" }, () => granted(s, op));
  } catch {
    requested = undefined;
  }
  if (requested instanceof Promise) requested.then(undefined, failed);
  else failed();
}

/** A lock was granted: the promise returned holds it until released (at once for a freed client, or one released before the grant). */
function granted(s, op) {
  if (!s.live) return undefined;
  if (s.dropped.delete(op)) return undefined;
  let release;
  const hold = new Promise((resolve) => {
    release = resolve;
  });
  s.locks.set(op, release);
  input(s, (c, now) => wasm.af_op(c, now, 0, op));
  return hold;
}

function queryLocks(s, op) {
  const held = (snapshot) => {
    const names = Array.isArray(snapshot?.held) ? snapshot.held.map((lock) => lock?.name).filter((n) => typeof n === "string") : [];
    input(s, (c, now) => wasm.af_locks_held(c, now, op, fields([names.length, ...names])));
  };
  let query;
  try {
    query = lockManager()?.query();
  } catch {
    query = undefined;
  }
  if (query instanceof Promise) query.then(held, held);
  else held(undefined);
}

/** Sends the page to `loginUrl` (resolved against it), unless it is already there (same origin and path): a login page whose own calls fail must not reload itself forever. A worker has no page to move. */
function toLogin(loginUrl) {
  const g = globalThis;
  if (!isWindow()) return;
  try {
    const here = g.location.href;
    const target = new URL(loginUrl, here);
    const current = new URL(here);
    if (target.origin === current.origin && target.pathname === current.pathname) return;
    g.location.assign(target.href);
  } catch {
    // An unreadable URL: the page stays.
  }
}

// ---------------------------------------------------------------------------------------------
// The public class (see index.d.ts).

export class AuthClient {
  #s;

  constructor(config) {
    this.#s = create(config);
    registry?.register(this, this.#s, this.#s);
  }

  #call(f) {
    const s = this.#s;
    if (!s.live) return Promise.reject(errorOf(0));
    const [caller, promise] = newCaller(s);
    input(s, (c, now) => f(c, now, caller));
    return promise;
  }

  login(credentials) {
    let body;
    if (isObject(credentials)) {
      try {
        body = JSON.stringify(credentials);
      } catch {
        body = undefined;
      }
    }
    const s = this.#s;
    if (!s.live) return Promise.reject(errorOf(0));
    if (typeof body !== "string") {
      wasm.af_login(s.c, Date.now(), 0, -1);
      return Promise.reject(outputError());
    }
    return this.#call((c, now, caller) => wasm.af_login(c, now, caller, fields([body])));
  }

  restore() {
    return this.#call((c, now, caller) => wasm.af_flow(c, now, 0, caller));
  }

  refresh() {
    return this.#call((c, now, caller) => wasm.af_flow(c, now, 1, caller));
  }

  logout() {
    return this.#call((c, now, caller) => wasm.af_flow(c, now, 2, caller));
  }

  fetch(input, init) {
    return clientFetch(this.#s, input, init);
  }

  fetcher() {
    const s = this.#s;
    s.fetcher ??= (input, init) => {
      if (!s.live) throw errorOf(0);
      return clientFetch(s, input, init);
    };
    return s.fetcher;
  }

  get isAuthenticated() {
    return this.#s.live && wasm.af_state(this.#s.c, 0) === 1;
  }

  get expiresAt() {
    return this.#ms(1);
  }

  get refreshAt() {
    return this.#ms(2);
  }

  #ms(what) {
    const ms = this.#s.live ? wasm.af_state(this.#s.c, what) : -1;
    return ms < 0 ? undefined : ms;
  }

  addEventListener(type, listener) {
    if (typeof listener === "function") this.#s.events.addEventListener(String(type), listener);
  }

  removeEventListener(type, listener) {
    if (typeof listener === "function") this.#s.events.removeEventListener(String(type), listener);
  }

  free() {
    registry?.unregister(this.#s);
    shutDown(this.#s);
  }
}

if (typeof Symbol.dispose === "symbol") AuthClient.prototype[Symbol.dispose] = AuthClient.prototype.free;
