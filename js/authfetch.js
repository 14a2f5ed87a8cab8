// authfetch's browser edge (scripts/pack.mjs bundles it with the entry and wasm-bindgen's
// generated bindings into pkg/index.js): it owns the browser's resources and carries out what
// the core decides. The core (src/core, reached through the generated bindings of
// src/bindings) holds every rule, every token and every decision — when to renew, whether a 401
// is retried or ends the session, which origins get the bearer, what the other tabs are told,
// every error and its message — and queues effects; this file owns `fetch`, the one renewal
// timer, the page listeners, the channel, the Web Locks, the events and the callers' promises,
// and drains the effects in one place, `drive`. It reads nothing into the core but the
// arguments the bindings take, and decides nothing. Times are `Date.now()`, ms since the epoch.
import load, {
  initSync as loadSync,
  Attempt,
  Core,
  EdgeError,
  EffectKind as Effect,
  Method,
  Report,
  edgeError,
  redirectTarget,
} from "./bindings/authfetch.js";

const isPlainObject = (v) => v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;

/**
 * `{ module_or_path }`: a URL (string, `URL`, `Request`), a `Response` (or a promise of one), bytes
 * or a `WebAssembly.Module`, or one of those alone; by default the .wasm next to this file.
 */
export default function init(options) {
  return load(options === undefined || isPlainObject(options) ? options : { module_or_path: options });
}

/** `{ module }`: the module's bytes or a `WebAssembly.Module`, or one of those alone; loads it synchronously. */
export function initSync(options) {
  return loadSync(isPlainObject(options) ? options : { module: options });
}

// ---------------------------------------------------------------------------------------------
// The client's state: what the browser side of the effects in progress holds.

/** Frees a client whose `AuthClient` was garbage-collected without `free()`. */
const registry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((s) => shutDown(s)) : undefined;

const notAuthenticated = () => edgeError(EdgeError.NotAuthenticated);

/** A new client's state from `config`; throws the core's `invalid_config` `AuthError`. */
function create(config) {
  const g = globalThis;
  const href = g.location?.href;
  const here = typeof href === "string" ? href : undefined;
  const origin = here === undefined ? undefined : String(g.location.origin ?? "");
  const core = new Core(config, here, origin, g.document !== undefined, lockManager() !== undefined, typeof g.fetch === "function", Math.random());
  const s = {
    core,
    live: true,
    fetch: core.fetch ?? g.fetch,
    events: new EventTarget(),
    callers: new Map(),
    nextCaller: 0,
    locks: new Map(),
    released: new Set(),
    timer: undefined,
    channel: undefined,
    bearer: undefined,
    listeners: [],
  };
  // Page lifecycle (DESIGN rule 3): a deadline missed while timers stalled is caught up on
  // waking. In a worker there is no window: nothing to listen to.
  if (isWindow()) {
    const wake = (why) => () => report(s, why, 0, undefined);
    listen(s, g, "focus", wake(Report.Resumed));
    listen(s, g, "pageshow", wake(Report.Resumed));
    listen(s, g, "online", wake(Report.Online));
    listen(s, g, "pagehide", wake(Report.Hidden));
    if (g.document) listen(s, g.document, "visibilitychange", wake(Report.Resumed));
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
  input(s, (c, now) => c.start(now, Method.Free, 0, undefined));
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
  s.core.free();
  s.core = undefined;
  for (const d of callers) d.reject(notAuthenticated());
  for (const lock of locks) (lock.release ?? lock.abort)();
}

/** The next caller id (the core names promises by it). */
function nextCaller(s) {
  return (s.nextCaller = (s.nextCaller + 1) >>> 0);
}

/** The promise of `caller`, which the core settles; `snapshot`: a call's request. */
function deferred(s, caller, snapshot) {
  const d = { resolve: undefined, reject: undefined, snapshot, answer: undefined, promise: undefined };
  d.promise = new Promise((resolve, reject) => {
    d.resolve = resolve;
    d.reject = reject;
  });
  s.callers.set(caller, d);
  return d;
}

/** Gives the core one input, `f(core, now)`, then carries out what it queued. A freed client's inputs are dropped. */
function input(s, f) {
  if (!s.live) return;
  f(s.core, Date.now());
  drive(s);
}

/** Reports `what` of op `op` (with `value`: a lock snapshot, a channel message) to the core. */
function report(s, what, op, value) {
  input(s, (c, now) => c.report(now, what, op, value));
}

/** `fetch(request)` with the captured `fetch` (called on the global object); what it throws becomes a rejection. */
function send(s, request) {
  try {
    return Promise.resolve(s.fetch.call(globalThis, request));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** A fetch failure as a call rejects with it: the platform's `AbortError` as it is, else `network` with `cause`. */
function fetchFailed(cause) {
  if (cause?.name === "AbortError") return cause;
  const error = edgeError(EdgeError.NoAnswer);
  error.cause = cause;
  return error;
}

/** Whether `response` speaks for the API about the session: a 401 from an allowed origin (DESIGN rule 13). */
function speaks(s, response) {
  return response instanceof Response && Core.speaks(response.status) && s.core.allows(response.url);
}

/** The text of a body the core agrees to read (its `Content-Length`), from a copy when the response still goes to the caller; `undefined` otherwise. */
function bodyText(response, copy) {
  if (!Core.readsBody(response.headers.get("Content-Length"))) return undefined;
  try {
    return (copy ? response.clone() : response).text();
  } catch {
    return undefined;
  }
}

/** Calls `then(text)` once the body is read (`undefined` when it was not, or failed). */
function whenRead(text, then) {
  if (text) text.then(then, () => then(undefined));
  else then(undefined);
}

/** The token generation's `Authorization` value, made once per generation; `undefined` when the session holds no token of it. */
function bearerFor(s, generation) {
  if (s.bearer?.[0] !== generation) s.bearer = [generation, s.core.bearer(generation)];
  return s.bearer[1];
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
  if (init !== null && typeof init === "object") {
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

/** The next attempt with `authorization` set; `undefined` without one, or when the body can no longer be cloned. */
function attempt(snap, authorization) {
  if (authorization === undefined) return undefined;
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

/**
 * `auth.fetch(input, init)`. The caller's own code (getters, `toString`, a body's source) runs
 * first, all of it inside `snapshot`; only then is the client asked, so a caller that releases
 * it from there (`free()` in a getter) gets `not_authenticated` for this call only.
 */
function clientFetch(s, input, init) {
  let snap;
  try {
    snap = snapshot(input, init);
  } catch (thrown) {
    return Promise.reject(thrown);
  }
  if (!s.live) return Promise.reject(notAuthenticated());
  const c = s.core;
  if (!c.allows(snap.request.url)) return send(s, snap.request);
  const caller = nextCaller(s);
  const generation = c.call(Date.now(), caller, !snap.oneShot);
  if (generation === undefined) {
    // The core tracks this call: its effects say what happens.
    const d = deferred(s, caller, snap);
    drive(s);
    return d.promise;
  }
  const request = attempt(snap, bearerFor(s, generation));
  if (!request) return Promise.reject(edgeError(EdgeError.BodyNotReplayable));
  return send(s, request).then(
    (response) => hotAnswered(s, caller, snap, generation, response),
    (cause) => Promise.reject(fetchFailed(cause)),
  );
}

/** A hot-path answer: the response, unless it is a 401 from the API — then the core takes the call over, sent once with `generation`. */
function hotAnswered(s, caller, snap, generation, response) {
  if (!s.live || !speaks(s, response)) return response;
  const d = deferred(s, caller, snap);
  d.answer = response;
  whenRead(bodyText(response, true), (text) => input(s, (c, now) => c.callAnswered(now, caller, Attempt.Unauthorized, generation, text)));
  return d.promise;
}

/** Sends a tracked call's next attempt with the bearer of `generation`. */
function sendCall(s, caller, generation) {
  const d = s.callers.get(caller);
  const request = d && attempt(d.snapshot, bearerFor(s, generation));
  if (!request) {
    input(s, (c, now) => c.callAnswered(now, caller, Attempt.Unsendable, undefined, undefined));
    return;
  }
  send(s, request).then(
    (response) => callAnswered(s, caller, response),
    (cause) => callReport(s, caller, cause, Attempt.Failed, undefined),
  );
}

/** A tracked call's `fetch` answered. */
function callAnswered(s, caller, response) {
  if (!speaks(s, response)) return callReport(s, caller, response, Attempt.Response, undefined);
  whenRead(bodyText(response, true), (text) => callReport(s, caller, response, Attempt.Unauthorized, text));
}

function callReport(s, caller, answer, attempt, text) {
  const d = s.callers.get(caller);
  if (d) d.answer = answer;
  input(s, (c, now) => c.callAnswered(now, caller, attempt, undefined, text));
}

// ---------------------------------------------------------------------------------------------
// Requests to the auth endpoints (login, refresh, logout) and their answers.

function endpointAnswered(s, op, response) {
  if (!(response instanceof Response)) return endpointFailed(s, op);
  const retryAfter = response.headers.get("Retry-After");
  whenRead(bodyText(response, false), (text) => input(s, (c, now) => c.answered(now, op, response.status, text, retryAfter)));
}

/** An endpoint request got no answer (`fetch` rejected, or the request could not be made). */
function endpointFailed(s, op) {
  input(s, (c, now) => c.answered(now, op, undefined, undefined, undefined));
}

// ---------------------------------------------------------------------------------------------
// The one driver (DESIGN, "Effects, one driver").

/** Drains the core's effects, one at a time: each is taken whole, then carried out. */
function drive(s) {
  for (let kind; s.live && (kind = s.core.poll()) !== undefined; ) carryOut(s, s.core, kind);
}

/** Settles caller `id`'s promise with `settle(deferred)`. */
function settle(s, id, settle) {
  const d = s.callers.get(id);
  if (!d) return;
  s.callers.delete(id);
  settle(d);
}

function carryOut(s, c, kind) {
  switch (kind) {
    case Effect.Request: {
      const op = c.id;
      const request = c.value;
      if (request === undefined) return endpointFailed(s, op);
      send(s, request).then(
        (response) => endpointAnswered(s, op, response),
        () => endpointFailed(s, op),
      );
      return;
    }
    case Effect.Send:
      return sendCall(s, c.id, c.number);
    case Effect.Resolve: {
      const value = c.value;
      return settle(s, c.id, (d) => d.resolve(value));
    }
    case Effect.Reject: {
      const error = c.value;
      return settle(s, c.id, (d) => d.reject(error));
    }
    case Effect.Respond:
      return settle(s, c.id, (d) => d.resolve(d.answer));
    case Effect.FetchFailed:
      return settle(s, c.id, (d) => d.reject(fetchFailed(d.answer)));
    case Effect.ArmTimer:
      clearTimeout(s.timer);
      s.timer = setTimeout(() => report(s, Report.Resumed, 0, undefined), c.number);
      // Node.js: a renewal timer does not keep the process alive.
      s.timer?.unref?.();
      return;
    case Effect.DisarmTimer:
      clearTimeout(s.timer);
      s.timer = undefined;
      return;
    case Effect.Event: {
      const type = c.text;
      // The session is over: its bearer string goes too.
      if (type === "logout") s.bearer = undefined;
      s.events.dispatchEvent(new CustomEvent(type, { detail: c.value }));
      return;
    }
    case Effect.Post:
      try {
        s.channel?.postMessage(c.value);
      } catch {
        // A closed channel: the other tabs learn it by asking.
      }
      return;
    case Effect.OpenChannel:
      s.channel?.close();
      s.channel = openChannel(s, c.text);
      return;
    case Effect.CloseChannel:
      s.channel?.close();
      s.channel = undefined;
      return;
    case Effect.LockExclusive:
    case Effect.LockShared:
      return requestLock(s, c.id, c.text, kind === Effect.LockShared);
    case Effect.Release:
      return release(s, c.id);
    case Effect.Query:
      return queryLocks(s, c.id);
    case Effect.Sleep: {
      const op = c.id;
      setTimeout(() => report(s, Report.Slept, op, undefined), c.number)?.unref?.();
      return;
    }
    case Effect.Redirect:
      return toLogin(c.text);
  }
}

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
  channel.addEventListener("message", (event) => report(s, Report.Message, 0, event.data));
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

/**
 * `navigator.locks.request(name, { mode, signal }, granted)`: held until the core releases it.
 * A request the core drops before the grant is aborted, so that a lock another tab never lets go
 * of leaves no request behind.
 */
function requestLock(s, op, name, shared) {
  const controller = typeof AbortController === "function" ? new AbortController() : undefined;
  const lock = { release: undefined, abort: () => controller?.abort() };
  s.locks.set(op, lock);
  const failed = () => {
    if (s.released.delete(op)) return;
    s.locks.delete(op);
    report(s, Report.LockFailed, op, undefined);
  };
  let requested;
  try {
    requested = lockManager()?.request(name, { mode: shared ? "shared" : "exclusive", signal: controller?.signal }, () => granted(s, op, lock));
  } catch {
    requested = undefined;
  }
  if (requested instanceof Promise) requested.then(undefined, failed);
  else failed();
}

/** A lock was granted: the promise returned holds it until released (at once for a freed client, or one released before the grant). */
function granted(s, op, lock) {
  if (!s.live || s.released.delete(op)) return undefined;
  const hold = new Promise((resolve) => {
    lock.release = resolve;
  });
  report(s, Report.LockGranted, op, undefined);
  return hold;
}

/** Releases the lock of `op`, or drops its request (whose grant or failure is then ignored). */
function release(s, op) {
  const lock = s.locks.get(op);
  if (!lock) return;
  s.locks.delete(op);
  if (lock.release) return lock.release();
  s.released.add(op);
  lock.abort();
}

function queryLocks(s, op) {
  const held = (snapshot) => report(s, Report.LocksHeld, op, snapshot);
  let query;
  try {
    query = lockManager()?.query();
  } catch {
    query = undefined;
  }
  if (query instanceof Promise) query.then(held, () => held(undefined));
  else held(undefined);
}

/** Sends the page to `loginUrl`, unless it is already there (the core's rule, `redirectTarget`). A worker has no page to move. */
function toLogin(loginUrl) {
  if (!isWindow()) return;
  try {
    const target = redirectTarget(loginUrl, globalThis.location.href);
    if (target !== undefined) globalThis.location.assign(target);
  } catch {
    // An unreadable URL: the page stays.
  }
}

// ---------------------------------------------------------------------------------------------
// The public class (see index.d.ts).

export class AuthClient {
  #s;
  #fetcher;

  constructor(config) {
    this.#s = create(config);
    registry?.register(this, this.#s, this.#s);
  }

  /** Starts `method` (with the login's `credentials` text) and returns the promise the core settles. */
  #call(method, credentials) {
    const s = this.#s;
    if (!s.live) return Promise.reject(notAuthenticated());
    const caller = nextCaller(s);
    const d = deferred(s, caller);
    input(s, (c, now) => c.start(now, method, caller, credentials));
    return d.promise;
  }

  login(credentials) {
    // The caller's own code (`toJSON`, getters) runs first, before the client is asked.
    let body;
    try {
      body = JSON.stringify(credentials);
    } catch {
      body = undefined;
    }
    return this.#call(Method.Login, body);
  }

  restore() {
    return this.#call(Method.Restore);
  }

  refresh() {
    return this.#call(Method.Refresh);
  }

  logout() {
    return this.#call(Method.Logout);
  }

  fetch(input, init) {
    return clientFetch(this.#s, input, init);
  }

  /** `fetch` bound to this client: it keeps the client alive as long as it is kept, and, like `fetch`, never throws (a released client rejects). */
  fetcher() {
    return (this.#fetcher ??= (input, init) => this.fetch(input, init));
  }

  get isAuthenticated() {
    return this.#s.live && this.#s.core.isAuthenticated;
  }

  get expiresAt() {
    return this.#s.live ? this.#s.core.expiresAt : undefined;
  }

  get refreshAt() {
    return this.#s.live ? this.#s.core.refreshAt : undefined;
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
