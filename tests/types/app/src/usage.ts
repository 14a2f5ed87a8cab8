// Every public member of authfetch, used as the README shows, under `strict`. The
// `@ts-expect-error` lines are mistakes the types must refuse: if one compiled, tsc would report
// the unused directive and `make types` would fail.
import init, {
  AuthClient,
  createAuthClient,
  initSync,
  isAuthError,
  type AuthClientConfig,
  type AuthClientEventMap,
  type AuthError,
  type AuthErrorCode,
  type Credentials,
  type LoginDetail,
  type LogoutReason,
} from "authfetch";

const config: AuthClientConfig = {
  baseUrl: "https://api.pgben.gov.br",
  loginPath: "/v1/auth/login",
  refreshPath: "/v1/auth/refresh-token",
  refreshMethod: "POST",
  refreshCredential: "body",
  refreshBodyField: "refreshToken",
  logoutPath: null,
  accessTokenPath: ["accessToken", "tokens.accessToken"],
  refreshTokenPath: "refreshToken",
  expiresInPath: ["expiresIn"],
  errorCodePath: "errorCode",
  expiredErrorCodes: ["AUTH_006"],
  refreshLeadSeconds: 60,
  maxRetries: 1,
  allowedOrigins: ["https://api.pgben.gov.br"],
  loginUrl: "/login",
  idleTimeoutSeconds: null,
  crossTab: true,
  fetch: (request) => fetch(request),
};

// The one-step start.
const auth: AuthClient = await createAuthClient(config);

// Or the two steps; init() again is free (it is shared).
await init();
await init({ module_or_path: new URL("authfetch_bg.wasm", "https://app.example/") });
const second = new AuthClient({ loginPath: "/v1/auth/login" });
declare const wasmBytes: ArrayBuffer;
initSync({ module: wasmBytes });

const credentials: Credentials = { email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" };
await auth.login(credentials);
await auth.login({ usuario: "maria", senha: "x", codigoOrgao: 7, lembrar: true, extra: null });

// fetch's own signature: one argument or two.
const res: Response = await auth.fetch("/v1/cidadao/me");
await auth.fetch(new URL("https://api.pgben.gov.br/v1/cidadao/me"));
await auth.fetch(new Request("https://api.pgben.gov.br/v1/cidadao/me"), { headers: { Accept: "application/json" } });
await auth.fetch("/v1/documento/upload", { method: "POST", body: new FormData() });
const me: unknown = await res.json();
const bound: typeof fetch = auth.fetcher();
await bound("/v1/cidadao/me");

await auth.refresh();
const restored: boolean = await auth.restore();
const on: boolean = auth.isAuthenticated;
const expiresAt: number | undefined = auth.expiresAt;
const refreshAt: number | undefined = auth.refreshAt;

// Events, with typed details.
const onLogin = (event: AuthClientEventMap["login"]) => {
  const detail: LoginDetail = event.detail;
  const when: number | undefined = detail.expiresAt;
  const fromCookie: boolean = detail.restored === true;
  console.info(when, fromCookie);
};
auth.addEventListener("login", onLogin);
auth.removeEventListener("login", onLogin);
auth.addEventListener("refresh", (event) => console.info(event.detail.expiresAt?.toFixed(0)));
auth.addEventListener("logout", (event) => {
  const reason: LogoutReason = event.detail.reason;
  if (reason === "other_tab") console.info("ended in another tab");
});
auth.addEventListener("error", (event) => {
  const code: AuthErrorCode = event.detail.code;
  console.warn(code, event.detail.status, event.detail.message);
});

// Errors: the guard narrows `unknown`.
try {
  await auth.fetch("/v1/cidadao/me");
} catch (e) {
  if (isAuthError(e)) {
    const error: AuthError = e;
    switch (error.code) {
      case "not_authenticated":
      case "session_expired":
        break;
      case "network":
        console.warn(error.cause);
        break;
      case "account_locked":
        console.warn(error.details);
        break;
      case "invalid_config":
        console.warn(error.key);
        break;
      case "not_initialized":
      case "invalid_credentials":
      case "malformed_response":
      case "body_not_replayable":
        console.warn(error.serverCode, error.serverMessage);
        break;
      default: {
        // Every code is handled above: this is unreachable.
        const never: never = error.code;
        console.error(never);
      }
    }
  }
}

await auth.logout();
auth.free();
second.free();
console.info(me, restored, on, expiresAt, refreshAt);

// Mistakes the types refuse.
// @ts-expect-error a misspelled configuration key
new AuthClient({ loginPath: "/v1/auth/login", refreshpath: "/v1/auth/refresh-token" });
// @ts-expect-error a configuration value of the wrong type
new AuthClient({ loginPath: "/v1/auth/login", maxRetries: "1" });
// @ts-expect-error a refreshCredential that does not exist
new AuthClient({ loginPath: "/v1/auth/login", refreshCredential: "header" });
// @ts-expect-error loginPath is required
new AuthClient({ refreshPath: "/v1/auth/refresh-token" });
// @ts-expect-error a fetch option that is not a function
new AuthClient({ loginPath: "/v1/auth/login", fetch: "fetch" });
// @ts-expect-error an unknown event name
auth.addEventListener("logut", () => {});
// @ts-expect-error credentials that are not an object
await auth.login("maria:S3nh4F0rt3!");
// @ts-expect-error credentials that are not JSON
await auth.login({ when: new Date() });
// @ts-expect-error a detail field that does not exist
auth.addEventListener("logout", (event) => event.detail.expiresAt);
