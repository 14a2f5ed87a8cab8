// authfetch/testing: a programmable token server for an app's own tests, as a plain
// `fetch`-compatible function. No network, no browser, no dependency: it answers `Request`s with
// `Response`s in the dialect of one of the five seed APIs (or a variant of one), and lets a test
// expire access tokens, revoke sessions, make the next login or refresh fail, and read counters.
// It mirrors the reference server (tests/api-server): token families, single-use refresh tokens
// with reuse detection, and each dialect's bodies and error shapes. Types: testing.d.ts.

/** PGBen (seed 004, /v1): `{accessToken, refreshToken, expiresIn}`, single-use refresh tokens,
 * errors `{statusCode, timestamp, path, message, errorCode}`. The other presets differ from it. */
const PGBEN = {
  loginPath: "/v1/auth/login",
  refreshPath: "/v1/auth/refresh-token",
  refreshMethod: "POST",
  refreshCredential: "body",
  refreshBodyField: "refreshToken",
  logoutPath: "/v1/auth/logout",
  accessTokenField: "accessToken",
  refreshTokenField: "refreshToken",
  expiresInField: "expiresIn",
  issueJwt: true,
  rotation: true,
  errorCodeField: "errorCode",
  errorEnvelope: true,
  credentialsStatus: 400,
  credentialsCode: "AUTH_001",
  expiredCode: "AUTH_006",
  invalidCode: "AUTH_005",
  refreshRejectedCode: "AUTH_007",
  mePath: "/v1/cidadao/me",
};

/** Errors as `{message}` only, the text standing for the code (seeds 000, 001 and 002). */
const MESSAGE_ERRORS = {
  errorCodeField: "message",
  errorEnvelope: false,
  credentialsStatus: 401,
  credentialsCode: "Credenciais inválidas",
  expiredCode: "Token expirado",
  invalidCode: "Token inválido",
};

/** The seed APIs as dialects. Every key here may be overridden by a `DialectOptions` object. */
const PRESETS = {
  pgben: PGBEN,
  // Seed 000 (file-upload integration): `{access_token, expires_in}`, renewal by
  // `GET /auth/tokenRefresh` with the current bearer, no refresh token.
  s000: {
    ...PGBEN,
    ...MESSAGE_ERRORS,
    loginPath: "/auth/login",
    refreshPath: "/auth/tokenRefresh",
    refreshMethod: "GET",
    refreshCredential: "bearer",
    logoutPath: null,
    accessTokenField: "access_token",
    refreshTokenField: null,
    expiresInField: "expires_in",
    rotation: false,
    refreshRejectedCode: "Token inválido",
    mePath: "/api/status",
  },
  // Seed 001 (Nortus): `{token}`, a JWT and nothing else; no refresh endpoint (a new login
  // renews); every error a bare status (errorCodeField null).
  s001: {
    ...PGBEN,
    ...MESSAGE_ERRORS,
    errorCodeField: null,
    loginPath: "/auth/login",
    refreshPath: null,
    refreshCredential: "relogin",
    logoutPath: null,
    accessTokenField: "token",
    refreshTokenField: null,
    expiresInField: null,
    rotation: false,
    refreshRejectedCode: "Token inválido",
    mePath: "/api/clientes",
  },
  // Seed 002 (Auth API): `{tokens: {accessToken, refreshToken}, user}`, JWT expiry only,
  // single-use refresh tokens.
  s002: {
    ...PGBEN,
    ...MESSAGE_ERRORS,
    loginPath: "/auth/login",
    refreshPath: "/auth/refresh-token",
    logoutPath: null,
    accessTokenField: "tokens.accessToken",
    refreshTokenField: "tokens.refreshToken",
    expiresInField: null,
    refreshRejectedCode: "Refresh token inválido",
    mePath: "/users/me",
  },
  // Seed 003 (Coinpay): `POST /auth` → `{access_token, refresh_token}`; the refresh answer has
  // the access token only (not rotated); errors `{error, message}`.
  s003: {
    ...PGBEN,
    loginPath: "/auth",
    refreshPath: "/auth/refresh",
    refreshBodyField: "refresh_token",
    logoutPath: null,
    accessTokenField: "access_token",
    refreshTokenField: "refresh_token",
    expiresInField: null,
    rotation: false,
    errorCodeField: "error",
    errorEnvelope: false,
    credentialsStatus: 401,
    credentialsCode: "invalid_credentials",
    expiredCode: "token_expired",
    invalidCode: "invalid_token",
    refreshRejectedCode: "invalid_refresh_token",
    mePath: "/dados-pessoais",
  },
};

/** The other error codes of the `{message}` dialects: their texts. */
const MESSAGE_CODES = {
  badRequest: "Dados inválidos",
  notFound: "Recurso não encontrado",
  unavailable: "Serviço temporariamente indisponível",
  server: "Erro interno do servidor",
};

/** What a preset fixes that `DialectOptions` does not expose: its user, lifetime (s), other
 * error codes (`{status}` is replaced), extra fields of its token answers. */
const PRESET_EXTRAS = {
  pgben: {
    users: [{ email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" }],
    accessTtlSeconds: 3600,
    codes: { badRequest: "AUTH_001", notFound: "NOT_FOUND", unavailable: "SRV_503", server: "SRV_{status}" },
    answer: (kind, identity) => ({ tipoToken: "Bearer", ...(kind === "login" ? { usuario: identity } : {}) }),
  },
  s000: { users: [{ username: "integracao", password: "s3nh4-integr@cao" }], accessTtlSeconds: 3600, codes: MESSAGE_CODES },
  s001: { users: [{ email: "user@exemplo.com", password: "senha-nortus" }], accessTtlSeconds: 3600, codes: MESSAGE_CODES },
  s002: {
    users: [{ email_user: "thiago@thc.com", password_user: "123455678" }],
    accessTtlSeconds: 7200,
    codes: MESSAGE_CODES,
    answer: (_kind, identity) => ({ user: identity }),
  },
  s003: {
    users: [{ email: "usuario@example.com", password: "senha-coinpay" }],
    accessTtlSeconds: 900,
    codes: { badRequest: "invalid_request", notFound: "not_found", unavailable: "service_unavailable", server: "server_error" },
  },
};

/** The human text of each error, as the seeds word it (Portuguese). */
const TEXTS = {
  credentials: "Credenciais inválidas",
  badRequest: "Dados inválidos",
  expired: "Token expirado",
  invalid: "Token inválido",
  refreshRejected: "Refresh token inválido ou expirado",
  notFound: "Recurso não encontrado",
  unavailable: "Serviço temporariamente indisponível",
  server: "Erro interno do servidor",
};

const DEFAULT_ORIGIN = "https://api.test";
const THIRTY_DAYS_S = 30 * 24 * 3600;
const SECRET_FIELD = /pass|senha|secret|pin/i;

/**
 * A token server for tests. `options` are described in testing.d.ts; they are checked here and
 * a wrong one throws a `TypeError` naming it.
 */
export function createTokenServer(options = {}) {
  const known = ["origin", "dialect", "users", "accessTtlSeconds", "refreshTtlSeconds", "routes", "now"];
  refuseUnknown(options, known, "createTokenServer options");
  const origin = parseOrigin(options.origin ?? DEFAULT_ORIGIN);
  const dialect = resolveDialect(options.dialect ?? "pgben");
  const users = parseUsers(options.users ?? dialect.users);
  const accessTtlS = positive(options.accessTtlSeconds ?? dialect.accessTtlSeconds, "accessTtlSeconds");
  const refreshTtlS = positive(options.refreshTtlSeconds ?? THIRTY_DAYS_S, "refreshTtlSeconds");
  const now = options.now ?? (() => Date.now());
  if (typeof now !== "function") throw new TypeError("createTokenServer: now must be a function returning epoch ms");
  const routes = parseRoutes(options.routes ?? {}, dialect);

  // Everything a test can reset: the ledger of tokens and sessions, pending faults, counters.
  let state = freshState();
  function freshState() {
    return {
      families: new Map(), // session (family) id → { user, subject, revoked }
      access: new Map(), // access token → { family, seq, expMs }
      refresh: new Map(), // refresh token → { family, used, expMs }
      nextSeq: 0, // number of the next access token issued
      expiredBelow: 0, // access tokens numbered below this are expired
      faults: { login: [], refresh: [] }, // queued failures, each { failure, retryAfter }
      counters: {
        logins: 0,
        loginFailures: 0,
        refreshRequests: 0,
        refreshes: 0,
        refreshFailures: 0,
        reuseDetections: 0,
        requests: {},
        bearerRequests: {},
      },
    };
  }

  /** The clock, in epoch ms, checked so that a broken fake clock fails loudly. */
  function clock() {
    const t = now();
    if (typeof t !== "number" || !Number.isFinite(t)) throw new TypeError("createTokenServer: now() must return epoch ms");
    return t;
  }

  /** Issues an access token of `family`, valid for `accessTtlS` from now (JWT `exp` semantics). */
  function issueAccess(family) {
    const iat = Math.floor(clock() / 1000);
    const exp = iat + accessTtlS;
    const token = makeToken(dialect.issueJwt, { sub: state.families.get(family).subject, iat, exp, sid: family });
    state.access.set(token, { family, seq: state.nextSeq++, expMs: exp * 1000 });
    return token;
  }

  /** Issues a refresh token of `family`, valid for `refreshTtlS`. */
  function issueRefresh(family) {
    const iat = Math.floor(clock() / 1000);
    const exp = iat + refreshTtlS;
    const token = makeToken(dialect.issueJwt, { sub: state.families.get(family).subject, iat, nbf: iat, exp, sid: family });
    state.refresh.set(token, { family, used: false, expMs: exp * 1000 });
    return token;
  }

  /** `{ family, session }` of the request's bearer, or `{ refused }`: `"invalid"` or `"expired"`. */
  function verifyBearer(request) {
    const token = bearerOf(request);
    const entry = token === undefined ? undefined : state.access.get(token);
    const family = entry && state.families.get(entry.family);
    if (!entry || !family || family.revoked) return { refused: "invalid" };
    if (entry.seq < state.expiredBelow || clock() >= entry.expMs) return { refused: "expired" };
    return { family: entry.family, session: Object.freeze({ user: family.user, subject: family.subject }) };
  }

  /** A JSON answer, or a dialect-shaped error answer. */
  function json(status, body, headers = {}) {
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
  }
  function error(kind, path, status, headers = {}) {
    if (dialect.errorCodeField === null) return new Response(null, { status, headers });
    const codes = {
      credentials: dialect.credentialsCode,
      expired: dialect.expiredCode,
      invalid: dialect.invalidCode,
      refreshRejected: dialect.refreshRejectedCode,
      ...dialect.codes,
    };
    const code = codes[kind].replace("{status}", String(status));
    const body = dialect.errorEnvelope
      ? { statusCode: status, timestamp: new Date(clock()).toISOString(), path, message: TEXTS[kind] }
      : { message: TEXTS[kind] };
    body[dialect.errorCodeField] = code;
    return json(status, body, headers);
  }

  /** Takes the next queued fault of `endpoint` and renders it, or `undefined` for none. */
  function injected(endpoint, path, rejection) {
    const fault = state.faults[endpoint].shift();
    if (!fault) return undefined;
    if (endpoint === "login") state.counters.loginFailures++;
    else state.counters.refreshFailures++;
    if (fault.failure === "drop") return Response.error();
    if (fault.failure === "reject") return rejection();
    const headers = fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) };
    return error(fault.failure === 503 ? "unavailable" : "server", path, fault.failure, headers);
  }

  /** The login endpoint: checks the credentials, starts a session (a token family). */
  async function login(request, path) {
    const refused = () => error("credentials", path, 401);
    const fault = injected("login", path, refused);
    if (fault) return fault;
    const body = parseJson(await request.text());
    const complete = isObject(body) && users.some((u) => Object.keys(u).every((k) => k in body));
    const user = complete ? users.find((u) => Object.keys(u).every((k) => sameJson(body[k], u[k]))) : undefined;
    if (!user) {
      state.counters.loginFailures++;
      return complete ? error("credentials", path, dialect.credentialsStatus) : error("badRequest", path, 400);
    }
    state.counters.logins++;
    const family = randomId();
    state.families.set(family, { user, subject: `user-${users.indexOf(user) + 1}`, revoked: false });
    return tokenAnswer("login", family, issueAccess(family), dialect.refreshCredential === "body" ? issueRefresh(family) : undefined);
  }

  /** The refresh endpoint: a refresh token in the body (rotated or kept), or the current bearer. */
  async function refresh(request, path) {
    state.counters.refreshRequests++;
    const failed = (kind) => {
      state.counters.refreshFailures++;
      return error(kind, path, 401);
    };
    const fault = injected("refresh", path, () => error("refreshRejected", path, 401));
    if (fault) return fault;
    if (dialect.refreshCredential === "bearer") {
      const caller = verifyBearer(request);
      if (caller.refused) return failed(caller.refused);
      state.counters.refreshes++;
      return tokenAnswer("refresh", caller.family, issueAccess(caller.family), undefined);
    }
    const body = parseJson(await request.text());
    const token = isObject(body) ? body[dialect.refreshBodyField] : undefined;
    const entry = typeof token === "string" ? state.refresh.get(token) : undefined;
    const family = entry && state.families.get(entry.family);
    if (!entry || !family) return failed("refreshRejected");
    // A used refresh token presented again is reuse: the whole family is revoked (RFC 9700
    // §4.14.2), and every later presentation counts again.
    if (entry.used) {
      family.revoked = true;
      state.counters.reuseDetections++;
      return failed("refreshRejected");
    }
    if (family.revoked || clock() >= entry.expMs) return failed("refreshRejected");
    if (dialect.rotation) entry.used = true;
    state.counters.refreshes++;
    const rotated = dialect.rotation ? issueRefresh(entry.family) : undefined;
    return tokenAnswer("refresh", entry.family, issueAccess(entry.family), rotated);
  }

  /** The login or refresh answer in the dialect's shape. */
  function tokenAnswer(kind, family, accessToken, refreshToken) {
    const body = {};
    setPath(body, dialect.accessTokenField, accessToken);
    if (refreshToken !== undefined && dialect.refreshTokenField) setPath(body, dialect.refreshTokenField, refreshToken);
    if (dialect.expiresInField) setPath(body, dialect.expiresInField, accessTtlS);
    const { user, subject } = state.families.get(family);
    return json(200, Object.assign(body, dialect.answer?.(kind, identity(user, subject))));
  }

  /** Answers `request` if it is for this server's origin; `undefined` otherwise. */
  async function handle(request) {
    const url = new URL(request.url);
    if (url.origin !== origin) return undefined;
    const path = url.pathname;
    const { counters } = state;
    counters.requests[path] = (counters.requests[path] ?? 0) + 1;
    if (bearerOf(request) !== undefined) counters.bearerRequests[path] = (counters.bearerRequests[path] ?? 0) + 1;
    const response = await route(request, path);
    // Real fetch answers carry the request's URL; authfetch reads it to tell the API's 401s
    // from other origins'.
    if (response.type !== "error") Object.defineProperty(response, "url", { value: request.url, configurable: true });
    return response;
  }

  /** The answer for a request to `path` on this origin. */
  async function route(request, path) {
    const method = request.method.toUpperCase();
    if (path === dialect.loginPath && method === "POST") return login(request, path);
    if (dialect.refreshPath && path === dialect.refreshPath && method === dialect.refreshMethod) return refresh(request, path);
    const handler = routes.get(`${method} ${path}`) ?? routes.get(`* ${path}`);
    if (handler) {
      const caller = verifyBearer(request);
      if (caller.refused) return error(caller.refused, path, 401);
      if (handler === LOGOUT) {
        state.families.get(caller.family).revoked = true;
        return new Response(null, { status: 204 });
      }
      const response = await handler(request, caller.session);
      if (!(response instanceof Response)) throw new TypeError(`authfetch/testing: the route ${method} ${path} did not return a Response`);
      return response;
    }
    const allowed = [...routes.keys()].filter((k) => k.endsWith(` ${path}`)).map((k) => k.split(" ")[0]);
    if (path === dialect.loginPath) allowed.push("POST");
    if (path === dialect.refreshPath) allowed.push(dialect.refreshMethod);
    if (allowed.length > 0) return new Response(null, { status: 405, headers: { allow: allowed.join(", ") } });
    return error("notFound", path, 404);
  }

  /** `fetch`: the same arguments and result; other origins and dropped connections reject. */
  async function serverFetch(input, init) {
    const target = input instanceof Request ? input : new URL(String(input), origin).href;
    const request = new Request(target, init);
    if (request.signal.aborted) throw request.signal.reason ?? new DOMException("This operation was aborted", "AbortError");
    const requested = new URL(request.url).origin;
    if (requested !== origin) {
      const bearer = request.headers.has("authorization") ? ", with an Authorization header" : "";
      throw new TypeError(
        `authfetch/testing: no server at ${requested}: this token server is ${origin}, and the request (${request.method}${bearer}) was not sent`,
      );
    }
    const response = await handle(request);
    if (response.type === "error") throw new TypeError("Failed to fetch (authfetch/testing: the connection was dropped, as failNext…(\"drop\") asked)");
    return response;
  }

  /** Queues `count` failures of `endpoint`, checked. */
  function failNext(endpoint, failure, opts = {}) {
    const name = endpoint === "login" ? "failNextLogin" : "failNextRefresh";
    refuseUnknown(opts, ["retryAfter", "count"], `${name} options`);
    const status = Number.isInteger(failure) && failure >= 400 && failure <= 599;
    if (!status && failure !== "drop" && failure !== "reject") {
      throw new TypeError(`${name}: the failure must be an HTTP status 400–599, "drop" or "reject"`);
    }
    if (endpoint === "refresh" && !dialect.refreshPath) throw new TypeError(`${name}: this dialect has no refresh endpoint`);
    const count = opts.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new TypeError(`${name}: count must be a positive integer`);
    const { retryAfter } = opts;
    if (retryAfter !== undefined && (!status || !Number.isInteger(retryAfter) || retryAfter < 0)) {
      throw new TypeError(`${name}: retryAfter is whole seconds (≥ 0), with an HTTP status only`);
    }
    for (let i = 0; i < count; i++) state.faults[endpoint].push({ failure, retryAfter });
  }

  return Object.freeze({
    origin,
    fetch: serverFetch,
    handle,
    expireAccessTokens() {
      state.expiredBelow = state.nextSeq;
    },
    revokeSessions() {
      for (const family of state.families.values()) family.revoked = true;
    },
    failNextRefresh: (failure, opts) => failNext("refresh", failure, opts),
    failNextLogin: (failure, opts) => failNext("login", failure, opts),
    get counters() {
      const c = state.counters;
      return { ...c, requests: { ...c.requests }, bearerRequests: { ...c.bearerRequests } };
    },
    reset() {
      state = freshState();
    },
  });
}

/** Marks the logout route in the route table: it revokes the caller's session. */
const LOGOUT = () => new Response(null, { status: 204 });

/** The dialect a `dialect` option names or describes, with its preset's extras. */
function resolveDialect(option) {
  if (typeof option === "string") {
    if (!hasOwn(PRESETS, option)) throw new TypeError(`createTokenServer: unknown dialect ${JSON.stringify(option)}`);
    return { ...PRESET_EXTRAS[option], ...PRESETS[option] };
  }
  if (!isObject(option)) throw new TypeError("createTokenServer: dialect must be a preset name or an object");
  refuseUnknown(option, ["preset", ...Object.keys(PRESETS.pgben)], "dialect");
  const preset = option.preset ?? "pgben";
  if (!hasOwn(PRESETS, preset)) throw new TypeError(`dialect.preset: unknown preset ${JSON.stringify(preset)}`);
  const dialect = { ...PRESET_EXTRAS[preset], ...PRESETS[preset] };
  for (const [key, value] of Object.entries(option)) if (key !== "preset" && value !== undefined) dialect[key] = value;
  for (const key of ["loginPath", "refreshPath", "logoutPath", "mePath"]) {
    const value = dialect[key];
    if ((value !== null || key === "loginPath") && (typeof value !== "string" || !value.startsWith("/"))) {
      throw new TypeError(`dialect.${key} must be a path starting with "/"${key === "loginPath" ? "" : ", or null"}`);
    }
  }
  for (const key of ["accessTokenField", "refreshBodyField", "refreshTokenField", "expiresInField", "errorCodeField"]) {
    const value = dialect[key];
    const nullable = key !== "accessTokenField" && key !== "refreshBodyField";
    if (!(typeof value === "string" && value !== "") && !(nullable && value === null)) {
      throw new TypeError(`dialect.${key} must be a non-empty string${nullable ? ", or null" : ""}`);
    }
  }
  for (const key of ["credentialsCode", "expiredCode", "invalidCode", "refreshRejectedCode"]) {
    if (typeof dialect[key] !== "string") throw new TypeError(`dialect.${key} must be a string`);
  }
  for (const key of ["issueJwt", "rotation", "errorEnvelope"]) {
    if (typeof dialect[key] !== "boolean") throw new TypeError(`dialect.${key} must be a boolean`);
  }
  if (dialect.credentialsStatus !== 400 && dialect.credentialsStatus !== 401) throw new TypeError("dialect.credentialsStatus must be 400 or 401");
  if (!["body", "bearer", "relogin"].includes(dialect.refreshCredential)) throw new TypeError('dialect.refreshCredential must be "body", "bearer" or "relogin"');
  if (!["POST", "GET"].includes(dialect.refreshMethod)) throw new TypeError('dialect.refreshMethod must be "POST" or "GET"');
  if (dialect.refreshCredential === "relogin") dialect.refreshPath = null;
  return dialect;
}

/** The route table: `"METHOD /path"` (or `"* /path"`) → handler; the dialect's own routes first. */
function parseRoutes(given, dialect) {
  if (!isObject(given)) throw new TypeError("createTokenServer: routes must be an object of handlers");
  const table = new Map();
  if (dialect.mePath) table.set(`GET ${dialect.mePath}`, (_request, session) => meAnswer(session));
  if (dialect.logoutPath) table.set(`POST ${dialect.logoutPath}`, LOGOUT);
  for (const [key, handler] of Object.entries(given)) {
    const match = /^(?:([A-Za-z]+) +)?(\/\S*)$/.exec(key.trim());
    if (!match || typeof handler !== "function") {
      throw new TypeError(`routes[${JSON.stringify(key)}] must be "/path" or "METHOD /path" mapped to a function`);
    }
    table.set(`${match[1] ? match[1].toUpperCase() : "*"} ${match[2]}`, handler);
  }
  return table;
}

/** The "me" route's answer: the user's id and credentials, without the password. */
function meAnswer(session) {
  return new Response(JSON.stringify(identity(session.user, session.subject)), {
    headers: { "content-type": "application/json" },
  });
}

/** `{ id, …credentials }` without the fields that look secret (password, senha, …). */
function identity(user, subject) {
  const out = { id: subject };
  for (const [key, value] of Object.entries(user)) if (!SECRET_FIELD.test(key)) out[key] = value;
  return out;
}

/** The `users` option: a non-empty array of credentials objects. */
function parseUsers(users) {
  if (!Array.isArray(users) || users.length === 0 || !users.every((u) => isObject(u) && Object.keys(u).length > 0)) {
    throw new TypeError("createTokenServer: users must be a non-empty array of credentials objects");
  }
  return users.map((u) => Object.freeze({ ...u }));
}

/** `scheme://host[:port]` from `value`, or a `TypeError`. */
function parseOrigin(value) {
  let url;
  try {
    url = new URL(String(value));
  } catch {
    throw new TypeError(`createTokenServer: origin must be like "https://api.test", not ${JSON.stringify(String(value))}`);
  }
  if (url.origin === "null" || (url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    throw new TypeError(`createTokenServer: origin must be scheme://host[:port] only, not ${JSON.stringify(String(value))}`);
  }
  return url.origin;
}

function positive(value, name) {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`createTokenServer: ${name} must be a positive number of seconds`);
  }
  return value;
}

function refuseUnknown(object, known, what) {
  if (!isObject(object)) throw new TypeError(`${what} must be an object`);
  for (const key of Object.keys(object)) if (!known.includes(key)) throw new TypeError(`${what}: unknown key ${JSON.stringify(key)}`);
}

/** The bearer token of `request`'s `Authorization` header, or `undefined`. */
function bearerOf(request) {
  const match = /^bearer +(\S+) *$/i.exec(request.headers.get("authorization") ?? "");
  return match ? match[1] : undefined;
}

function hasOwn(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sameJson(a, b) {
  return a === b || (typeof a === "object" && a !== null && JSON.stringify(a) === JSON.stringify(b));
}

/** Sets `object`'s dot path `path` (`"tokens.accessToken"`) to `value`. */
function setPath(object, path, value) {
  const keys = path.split(".");
  const last = keys.pop();
  let at = object;
  for (const key of keys) {
    if (!isObject(at[key])) at[key] = {};
    at = at[key];
  }
  at[last] = value;
}

/**
 * A new random token: with `jwt`, an unsigned JWT (`alg: "none"`) whose payload is `claims`
 * plus a random `jti`, so that clients reading `exp`/`iat` work; otherwise 32 random bytes.
 */
function makeToken(jwt, claims) {
  if (!jwt) return base64url(randomBytes(32));
  const encode = (value) => base64url(new TextEncoder().encode(JSON.stringify(value)));
  return `${encode({ alg: "none", typ: "JWT" })}.${encode({ ...claims, jti: randomId() })}.`;
}

function randomId() {
  return base64url(randomBytes(16));
}

function randomBytes(length) {
  const bytes = new Uint8Array(length);
  if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(bytes);
  else for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Unpadded base64url (RFC 4648 §5) of `bytes`. */
function base64url(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += BASE64URL[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}
