// Types of `authfetch/testing` (testing.js): a programmable token server for an app's own tests,
// as a plain `fetch`-compatible function. Written by hand; needs only the `ES2020` and `DOM` libs.

import type { Credentials } from "./index.js";

/**
 * The five seed APIs, each a preset dialect. Each entry gives the login body its default user
 * accepts and the `createAuthClient` configuration that speaks it (add `fetch: server.fetch`
 * and, in tests, `loginUrl: null`).
 */
export type DialectName =
  /**
   * PGBen (seed 004, the default): `POST /v1/auth/login {email, senha}` →
   * `{accessToken, refreshToken, expiresIn, tipoToken, usuario}`; `POST /v1/auth/refresh-token
   * {refreshToken}` → a new pair (single use: presenting a used refresh token again revokes the
   * session); `POST /v1/auth/logout`; `GET /v1/cidadao/me`. Errors
   * `{statusCode, timestamp, path, message, errorCode}`: 400 `AUTH_001` wrong credentials, 401
   * `AUTH_006` expired, 401 `AUTH_005` invalid, 401 `AUTH_007` refresh refused. Access tokens
   * live 3600 s. User: `{ email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" }`.
   *
   * ```ts
   * createAuthClient({ baseUrl: server.origin, loginPath: "/v1/auth/login",
   *   refreshPath: "/v1/auth/refresh-token", fetch: server.fetch });
   * ```
   */
  | "pgben"
  /**
   * The file-upload integration (seed 000): `POST /auth/login {username, password}` →
   * `{access_token, expires_in}`; renewal `GET /auth/tokenRefresh` with the current, still valid
   * bearer (no refresh token); `GET /api/status`. Errors `{message}` only ("Token expirado",
   * "Token inválido"): no code to tell them apart. 3600 s. User:
   * `{ username: "integracao", password: "s3nh4-integr@cao" }`.
   *
   * ```ts
   * createAuthClient({ baseUrl: server.origin, loginPath: "/auth/login",
   *   refreshPath: "/auth/tokenRefresh", refreshMethod: "GET", refreshCredential: "bearer",
   *   expiredErrorCodes: [], maxRetries: 0, idleTimeoutSeconds: 1800, fetch: server.fetch });
   * ```
   */
  | "s000"
  /**
   * Nortus (seed 001): `POST /auth/login {email, password}` → `{token}` only, a JWT (expiry from
   * its `exp`); no refresh endpoint: renewal is a new login; `GET /api/clientes`. Every error is a
   * bare status without a body. 3600 s. User: `{ email: "user@exemplo.com", password: "senha-nortus" }`.
   *
   * ```ts
   * createAuthClient({ baseUrl: server.origin, loginPath: "/auth/login",
   *   refreshCredential: "relogin", expiredErrorCodes: [], fetch: server.fetch });
   * ```
   */
  | "s001"
  /**
   * The Auth API with nested tokens (seed 002): `POST /auth/login {email_user, password_user}` →
   * `{tokens: {accessToken, refreshToken}, user}` (JWTs, no `expiresIn`); `POST
   * /auth/refresh-token {refreshToken}` → a new pair (single use); `GET /users/me`. Errors
   * `{message}`: "Token expirado", "Token inválido", "Refresh token inválido". 7200 s. User:
   * `{ email_user: "thiago@thc.com", password_user: "123455678" }`.
   *
   * ```ts
   * createAuthClient({ baseUrl: server.origin, loginPath: "/auth/login",
   *   refreshPath: "/auth/refresh-token", errorCodePath: "message",
   *   expiredErrorCodes: ["Token expirado"], fetch: server.fetch });
   * ```
   */
  | "s002"
  /**
   * Coinpay (seed 003): `POST /auth {email, password}` → `{access_token, refresh_token}` (JWTs);
   * `POST /auth/refresh {refresh_token}` → `{access_token}` only: the refresh token is not
   * rotated; `GET /dados-pessoais`. Errors `{error, message}`: `token_expired`, `invalid_token`,
   * `invalid_refresh_token`, `invalid_credentials`. 900 s. User:
   * `{ email: "usuario@example.com", password: "senha-coinpay" }`.
   *
   * ```ts
   * createAuthClient({ baseUrl: server.origin, loginPath: "/auth", refreshPath: "/auth/refresh",
   *   refreshBodyField: "refresh_token", errorCodePath: "error",
   *   expiredErrorCodes: ["token_expired"], fetch: server.fetch });
   * ```
   */
  | "s003";

/**
 * A dialect of your own: it starts from `preset` (default `"pgben"`) and overrides each key it
 * names; a key left out keeps the preset's value. Unknown keys throw a `TypeError`.
 *
 * ```ts
 * createTokenServer({ dialect: { preset: "pgben", loginPath: "/api/login", expiredCode: "TOKEN_EXPIRED" } });
 * ```
 */
export interface DialectOptions {
  /** The preset this dialect starts from. Default `"pgben"`. */
  preset?: DialectName;
  /** The login endpoint (`POST`), a path starting with `/`. */
  loginPath?: string;
  /** The refresh endpoint, a path; `null`: none (forced with `refreshCredential: "relogin"`). */
  refreshPath?: string | null;
  /** The refresh endpoint's method. */
  refreshMethod?: "POST" | "GET";
  /**
   * How the refresh endpoint is authenticated: `"body"`, the refresh token as a JSON field
   * (`refreshBodyField`); `"bearer"`, the current access token, which must still be valid (no
   * refresh token is issued); `"relogin"`, no refresh endpoint at all (renewal is a new login).
   */
  refreshCredential?: "body" | "bearer" | "relogin";
  /** The refresh token's field in the refresh request's JSON body. */
  refreshBodyField?: string;
  /** A logout endpoint (`POST` with the bearer: revokes that session, answers 204); `null`: none. */
  logoutPath?: string | null;
  /** Where the access token goes in login and refresh answers: a dot path (`"tokens.accessToken"`). */
  accessTokenField?: string;
  /** Where the refresh token goes (dot path); `null`: never sent. */
  refreshTokenField?: string | null;
  /** Where the access token's lifetime goes, in **seconds** (dot path); `null`: not sent (clients read the JWT's `exp`). */
  expiresInField?: string | null;
  /**
   * Tokens as well-formed, unsigned JWTs (`alg: "none"`) whose payload has `sub`, `iat`, `exp`
   * (seconds since the epoch), `sid` and a random `jti`, so that clients which read `exp` work;
   * `false`: opaque random strings. Either way a token is random and only this server knows it.
   */
  issueJwt?: boolean;
  /** Refresh tokens are single use: each refresh answers a new one, and a used one presented again revokes the session (reuse detection). `false`: the refresh token is kept and not sent again. */
  rotation?: boolean;
  /**
   * Where the error code goes in error bodies: `"errorCode"` (PGBen), `"error"` (seed 003),
   * `"message"` (the code is the message text: seeds 000 and 002); `null`: error answers have no
   * body at all (seed 001).
   */
  errorCodeField?: string | null;
  /** PGBen's envelope around errors: `{statusCode, timestamp, path, message, <code field>}`. */
  errorEnvelope?: boolean;
  /** The status of a login with wrong credentials: PGBen answers 400, the others 401. */
  credentialsStatus?: 400 | 401;
  /** The error code of wrong credentials (PGBen `"AUTH_001"`). */
  credentialsCode?: string;
  /** The error code of a 401 for an expired access token (PGBen `"AUTH_006"`): the client's `expiredErrorCodes`. */
  expiredCode?: string;
  /** The error code of a 401 for a missing, unknown or revoked access token (PGBen `"AUTH_005"`). */
  invalidCode?: string;
  /** The error code of a refused refresh (PGBen `"AUTH_007"`). */
  refreshRejectedCode?: string;
  /** A `GET` route answering `{ id, ...the user's credentials without password fields }` with a valid bearer; `null`: none. */
  mePath?: string | null;
}

/** Who made a request with a valid bearer: passed to your routes. */
export interface TokenSession {
  /** The entry of `users` that logged in (a frozen copy). */
  readonly user: Credentials;
  /** The user's id, the tokens' `sub`: `"user-1"` for the first entry of `users`, and so on. */
  readonly subject: string;
}

/**
 * An API route of your own. Called only when the request carries a valid, unexpired bearer of a
 * live session; otherwise the server answers the dialect's 401 itself. What it throws, the
 * server's `fetch` rejects with; `Response.error()` makes it reject with a `TypeError`, like a
 * network failure.
 */
export type TokenServerRoute = (request: Request, session: TokenSession) => Response | Promise<Response>;

/** The options of `createTokenServer`. Unknown keys throw a `TypeError`. */
export interface TokenServerOptions {
  /** The API's origin, `scheme://host[:port]`. Default `"https://api.test"`. */
  origin?: string;
  /** A preset, or a variant of one. Default `"pgben"`. */
  dialect?: DialectName | DialectOptions;
  /**
   * The credentials accepted at login: a body is accepted when it has every field of one entry
   * with the same value (extra fields are ignored); a body missing a field is a 400. Default:
   * the dialect's one user (PGBen: `{ email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" }`).
   */
  users?: readonly Credentials[];
  /** Access token lifetime, **seconds**. Default the dialect's: 3600 (seed 002: 7200, seed 003: 900). */
  accessTtlSeconds?: number;
  /** Refresh token lifetime, **seconds**. Default 2,592,000 (30 days). */
  refreshTtlSeconds?: number;
  /**
   * Extra API routes, keyed `"METHOD /path"` or `"/path"` (any method); the path is matched
   * exactly, without the query. They sit beside the dialect's own `mePath` route.
   */
  routes?: Readonly<Record<string, TokenServerRoute>>;
  /** The clock, in **epoch milliseconds**; read at every request. Default `() => Date.now()`, so fake timers that replace `Date` move it too. */
  now?: () => number;
}

/** What the next login or refresh call answers: an HTTP status (400–599) in the dialect's error shape, `"drop"` (no answer: a network failure), or `"reject"` (the dialect's refusal: 401 wrong credentials or refresh refused). */
export type TokenServerFailure = number | "drop" | "reject";

/** Options of `failNextLogin` and `failNextRefresh`. */
export interface TokenServerFailureOptions {
  /** A `Retry-After` header, in whole **seconds** (only with an HTTP status). */
  retryAfter?: number;
  /** How many calls in a row fail this way. Default 1. */
  count?: number;
}

/** What the server has seen since it was made or `reset()`. */
export interface TokenServerCounters {
  /** Successful logins. */
  readonly logins: number;
  /** Logins answered with an error (wrong credentials, a bad body, an injected failure). */
  readonly loginFailures: number;
  /** Every call of the refresh endpoint, failed or not. */
  readonly refreshRequests: number;
  /** Refresh calls that issued a new access token. */
  readonly refreshes: number;
  /** Refresh calls that did not (refused tokens, injected failures). */
  readonly refreshFailures: number;
  /** Used refresh tokens presented again; each revoked its session. */
  readonly reuseDetections: number;
  /** Requests by path (without the query), every endpoint included. */
  readonly requests: Readonly<Record<string, number>>;
  /** Of those, the ones that carried `Authorization: Bearer …`, by path. */
  readonly bearerRequests: Readonly<Record<string, number>>;
}

/** A token server in memory, driven by your test. */
export interface TokenServer {
  /** The API's origin, e.g. `"https://api.test"`: give it to the client as `baseUrl`. */
  readonly origin: string;
  /**
   * `fetch`, answered by this server: same arguments, a `Response` with `url` set. A relative URL
   * resolves against `origin`. Rejects with a `TypeError` naming the origin for a request to any
   * other origin (nothing is sent anywhere: a test notices a bearer going elsewhere), with a
   * `TypeError` when a failure `"drop"` is due (or a route answered `Response.error()`), and with
   * the `AbortError` of an aborted signal.
   * A plain function: hand it to `createAuthClient({ fetch: server.fetch })`.
   */
  readonly fetch: typeof fetch;
  /**
   * Answers `request` if it is for `origin`; resolves `undefined` for any other origin (so that
   * MSW moves on). A due `"drop"` answers `Response.error()`, MSW's network error.
   */
  handle(request: Request): Promise<Response | undefined>;
  /** Expires every access token issued so far: they answer the dialect's 401 "expired" (PGBen `AUTH_006`). Refresh tokens stay valid. */
  expireAccessTokens(): void;
  /** Revokes every session: their access tokens answer 401 "invalid" (PGBen `AUTH_005`), their refresh tokens are refused (`AUTH_007`). New logins work. */
  revokeSessions(): void;
  /** Makes the next refresh call (or the next `count`) fail. Failures queue in the order given. Throws a `TypeError` for a bad argument, or when the dialect has no refresh endpoint. */
  failNextRefresh(failure: TokenServerFailure, options?: TokenServerFailureOptions): void;
  /** Makes the next login call (or the next `count`) fail; as `failNextRefresh`. */
  failNextLogin(failure: TokenServerFailure, options?: TokenServerFailureOptions): void;
  /** A snapshot of the counters: read it again after acting. */
  readonly counters: TokenServerCounters;
  /** Forgets every token and session, pending failures and counters; the options stay. */
  reset(): void;
}

/**
 * A token server for tests: no network, no browser. Throws a `TypeError` naming a wrong option.
 *
 * ```ts
 * const server = createTokenServer();               // PGBen at https://api.test
 * const auth = await createAuthClient({ baseUrl: server.origin, loginPath: "/v1/auth/login",
 *   refreshPath: "/v1/auth/refresh-token", loginUrl: null, fetch: server.fetch });
 * await auth.login({ email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" });
 * server.expireAccessTokens();                      // the next call renews once and retries
 * ```
 */
export function createTokenServer(options?: TokenServerOptions): TokenServer;
