// Types of the authfetch package (pkg/index.d.ts). Written by hand so that they describe what a
// user may do, not the WebAssembly module behind it; `make test` checks them against the runtime
// (tests/types/members.test.mjs) and compiles an app that uses every member with `--strict`
// (tests/types/app). Needs only the `ES2020` and `DOM` libs.

/** A JSON value, as `JSON.stringify` writes it. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;

/** A JSON object. */
export type JsonObject = { readonly [key: string]: JsonValue | undefined };

/**
 * What `login()` POSTs: any JSON object, sent verbatim as the request body — e.g. PGBen's
 * `{ email, senha }` or seed 002's `{ usuario, senha, codigoOrgao }`. It is never stored, logged
 * or shared with other tabs; with `refreshCredential: "relogin"` it is kept in memory to log in
 * again.
 */
export type Credentials = JsonObject;

/** One dot path (`"tokens.accessToken"`) or several, tried in order. */
export type JsonPaths = string | readonly string[];

/**
 * The configuration of an `AuthClient`. Every key is optional except `loginPath`; `null` means
 * "the default" (for `loginUrl` and `idleTimeoutSeconds`: "off"). Unknown keys are refused at
 * run time (`invalid_config`) and at compile time.
 */
export interface AuthClientConfig {
  /**
   * Where endpoint paths are appended: `"https://x/api"` + `"/v1/login"` = `"https://x/api/v1/login"`.
   * Default: the page's origin (required, and absolute, in Node.js). Its origin is allowed to
   * receive the bearer.
   */
  baseUrl?: string | null;
  /** The login endpoint (required): a path under `baseUrl`, or an absolute URL on an allowed origin. */
  loginPath: string;
  /** The refresh endpoint. Default: none — the session cannot be renewed and a 401 ends it. */
  refreshPath?: string | null;
  /** The refresh request's method. Default `"POST"`. */
  refreshMethod?: "POST" | "GET" | null;
  /**
   * How the refresh endpoint is authenticated. Default `"body"`: the refresh token as a JSON
   * field (`refreshBodyField`); `"bearer"`: the current access token in `Authorization`;
   * `"cookie"`: an HttpOnly cookie (`credentials: "include"`, no body); `"relogin"`: the login
   * is repeated with the credentials kept in memory (APIs without a refresh endpoint).
   */
  refreshCredential?: "body" | "bearer" | "cookie" | "relogin" | null;
  /** The refresh token's field in the refresh body. Default `"refreshToken"`. */
  refreshBodyField?: string | null;
  /** The server's logout endpoint, POSTed with the bearer, best effort. Default: none. */
  logoutPath?: string | null;
  /** Where the access token is in login and refresh answers. Default `["accessToken", "access_token", "token", "tokens.accessToken"]`. */
  accessTokenPath?: JsonPaths | null;
  /** Where the refresh token is; an answer without one keeps the old one. Default `["refreshToken", "refresh_token", "tokens.refreshToken"]`. */
  refreshTokenPath?: JsonPaths | null;
  /**
   * Where the token's lifetime is, in **seconds** (a duration, not an epoch). Default
   * `["expiresIn", "expires_in"]`; without it the JWT's `exp − iat` is used; without those, only
   * a 401 triggers renewal.
   */
  expiresInPath?: JsonPaths | null;
  /** Where the error code is in error bodies. Default `"errorCode"`. */
  errorCodePath?: string | null;
  /** 401s whose error code is one of these mean "expired: renew and retry". Default `["AUTH_006"]`; `[]`: every 401 does. */
  expiredErrorCodes?: readonly string[] | null;
  /** Renew this many **seconds** before expiry (at most half the token's lifetime). Default `60`. */
  refreshLeadSeconds?: number | null;
  /** How many times one call may be re-sent after a renewal: an integer from 0 to 5. Default `1`. */
  maxRetries?: number | null;
  /**
   * The only origins that ever receive the bearer, like `"https://api.example.com"` (scheme,
   * host and port, matched exactly). Default: the origin of `baseUrl`. The login, refresh and
   * logout endpoints must be on one of them.
   */
  allowedOrigins?: readonly string[] | null;
  /**
   * Where the page goes when the server ends the session. Default `"/login"`; `null`: no
   * redirect, only the `logout` event (always so in Node.js and workers: there is no page).
   */
  loginUrl?: string | null;
  /** Stop refreshing automatically after this many **seconds** without an API call. Default `null` (off). */
  idleTimeoutSeconds?: number | null;
  /**
   * Share one session among the tabs of the app (BroadcastChannel, Web Locks). Default `true` in
   * pages; `false` where there is no `document` (Node.js, workers): each client keeps to itself.
   */
  crossTab?: boolean | null;
  /**
   * The function every request is sent with: called as `fetch(request)` with one `Request`
   * (`this` is the global object), it must resolve a `Response` or reject like `fetch`. Default:
   * the global `fetch` as it is when the client is made (a later `globalThis.fetch = …` does not
   * change it). For runtimes and tests that bring their own (e.g. `authfetch/testing`).
   */
  fetch?: ((request: Request) => Promise<Response>) | null;
}

/** Every `code` an `AuthError` has. */
export type AuthErrorCode =
  /** The configuration is wrong; `key` names the key. */
  | "invalid_config"
  /** Login answered 400 or 401. */
  | "invalid_credentials"
  /** Login answered 403 or 423 (PGBen `AUTH_003`); `details` holds the server's error body. */
  | "account_locked"
  /** A call to the API with no session: nothing was sent. */
  | "not_authenticated"
  /** The session ended: refresh refused, a retry still 401, or an invalid token. */
  | "session_expired"
  /** No answer (offline, DNS, blocked by CORS) or a 5xx; the session, if one is held, is kept. */
  | "network"
  /** A 2xx login or refresh answer without a usable access token. */
  | "malformed_response"
  /** A retry was needed but the request body was a one-shot `ReadableStream`. */
  | "body_not_replayable"
  /**
   * `new AuthClient()` before the WebAssembly module was loaded (use `createAuthClient`), or the
   * module could not be loaded (`cause` holds the browser's error).
   */
  | "not_initialized";

/**
 * Every error authfetch throws or rejects with: an `Error` with `name === "AuthError"`. Never
 * holds a token, a refresh token or a password. Test for it with `isAuthError`.
 */
export interface AuthError extends Error {
  name: "AuthError";
  code: AuthErrorCode;
  /** The HTTP status that caused it, if any. */
  status?: number;
  /** The server's error code, read at `errorCodePath` (e.g. `"AUTH_001"`). */
  serverCode?: string;
  /** The server's `message`, if its error body had one. */
  serverMessage?: string;
  /** For `invalid_config`: the configuration key at fault. */
  key?: string;
  /** For `account_locked`: the server's whole JSON error body. */
  details?: unknown;
  /** For `network` from `fetch`: the original `TypeError`. */
  cause?: unknown;
}

/** Whether `value` is an `AuthError` (works across realms: it checks `name` and `code`). */
export function isAuthError(value: unknown): value is AuthError;

/** `detail` of `login`: a session started here, in another tab, or was restored. */
export interface LoginDetail {
  /** When the access token expires: epoch ms on the local clock; `undefined` when unknown. */
  expiresAt: number | undefined;
  /** `true` when `restore()` resumed it from the refresh cookie. */
  restored?: true;
}

/** `detail` of `refresh`: a new access token arrived (here or from another tab). */
export interface RefreshDetail {
  /** When the new access token expires: epoch ms on the local clock; `undefined` when unknown. */
  expiresAt: number | undefined;
}

/** Why a session ended. */
export type LogoutReason =
  /** `logout()` was called. */
  | "user"
  /** A retried call was still refused, or a 401 could not be renewed. */
  | "session_expired"
  /** The server called the token invalid (e.g. PGBen `AUTH_005`). */
  | "invalid_token"
  /** The refresh endpoint refused (e.g. PGBen `AUTH_007`). */
  | "refresh_rejected"
  /** Another tab ended it. */
  | "other_tab";

/** `detail` of `logout`. */
export interface LogoutDetail {
  reason: LogoutReason;
}

/** The events of an `AuthClient`, each a `CustomEvent` with this `detail`. */
export interface AuthClientEventMap {
  login: CustomEvent<LoginDetail>;
  refresh: CustomEvent<RefreshDetail>;
  logout: CustomEvent<LogoutDetail>;
  /** A background renewal failed but the session is kept (offline, 5xx). */
  error: CustomEvent<AuthError>;
}

/** What `init()` can load the WebAssembly module from. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the WebAssembly module, once: later and concurrent calls share the first load. With no
 * argument the module is fetched from next to this file (bundlers copy it). Rejects `AuthError`
 * `not_initialized` when it cannot be loaded (the browser's error in `cause`); a later call tries
 * again.
 */
export default function init(options?: { module_or_path?: InitInput | Promise<InitInput> }): Promise<void>;

/** Loads the WebAssembly module synchronously from bytes or a compiled module. */
export function initSync(options: { module: BufferSource | WebAssembly.Module }): void;

/**
 * Loads the WebAssembly module if needed (once, shared by concurrent calls), then returns
 * `new AuthClient(config)`. Rejects `invalid_config` like the constructor, or `not_initialized`
 * like `init()`.
 */
export function createAuthClient(config: AuthClientConfig): Promise<AuthClient>;

/**
 * Keeps one bearer session alive and authenticates `fetch` calls to the API.
 *
 * ```ts
 * const auth = await createAuthClient({ loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token" });
 * await auth.login({ email: "maria@exemplo.com", senha: "…" });
 * const res = await auth.fetch("/v1/cidadao/me");
 * ```
 */
export class AuthClient {
  /**
   * Checks `config` and starts listening for the page waking up. Throws `AuthError`
   * `invalid_config` (its `key` names the key) or, before `init()`, `not_initialized`.
   */
  constructor(config: AuthClientConfig);
  /**
   * Logs in: POSTs `credentials` verbatim as JSON to `baseUrl + loginPath` and keeps the tokens
   * in memory. Emits `login`. Rejects `invalid_credentials` (400/401), `account_locked`
   * (403/423, the server's body in `details`), `network` (no answer, 5xx), `malformed_response`.
   */
  login(credentials: Credentials): Promise<void>;
  /**
   * `fetch` with the session: same arguments, same `Response`. Requests to other origins than
   * `allowedOrigins` pass through untouched; requests to the API carry the bearer; a 401 "expired"
   * is renewed and retried once; any other 401 ends the session. Rejects `not_authenticated`
   * (nothing was sent), `session_expired`, `network` (the `TypeError` in `cause`),
   * `body_not_replayable`, or with what `fetch` itself throws for bad arguments.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * `fetch` as a plain function bound to this client, for ky, openapi-fetch, …: always the same
   * function. It keeps the client alive as long as it is kept, and, like `fetch`, never throws:
   * after `free()` it returns a promise that rejects `not_authenticated`.
   */
  fetcher(): typeof fetch;
  /**
   * Renews the access token now, joining a renewal in flight. Emits `refresh`. Rejects
   * `not_authenticated`, `session_expired` (refused: the session ended), `network` or
   * `malformed_response` (the session is kept and retried with backoff).
   */
  refresh(): Promise<void>;
  /** Ends the session (event `logout`, reason `user`) and POSTs `logoutPath` if configured; no redirect. */
  logout(): Promise<void>;
  /**
   * Resumes a session without credentials: one held already, one another tab holds, or the
   * refresh cookie (`refreshCredential: "cookie"`). `false` when there is none; rejects `network`.
   */
  restore(): Promise<boolean>;
  /** Whether a session is held. */
  readonly isAuthenticated: boolean;
  /** When the access token expires: epoch ms on the local clock; `undefined` when unknown or logged out. */
  readonly expiresAt: number | undefined;
  /** When the next automatic renewal is scheduled: epoch ms on the local clock; `undefined` when none is. */
  readonly refreshAt: number | undefined;
  /** Listens for `login`, `refresh`, `logout` or `error`. */
  addEventListener<K extends keyof AuthClientEventMap>(type: K, listener: (event: AuthClientEventMap[K]) => void): void;
  /** Stops listening. */
  removeEventListener<K extends keyof AuthClientEventMap>(type: K, listener: (event: AuthClientEventMap[K]) => void): void;
  /**
   * Releases the client: its timer, listeners, tokens, channel and locks; calls still waiting
   * reject `not_authenticated`, and so does every later call, through `fetcher()` too. Called
   * from inside a call's own arguments (a getter of its `init`), it rejects that call only.
   * (Where the runtime has explicit resource management, `[Symbol.dispose]` does the same.)
   */
  free(): void;
}
