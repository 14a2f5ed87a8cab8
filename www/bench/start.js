// Start-up of one library per page load (start.html?lib=…), timed with performance.now():
//   importMs     dynamic import() of the module (fetch + parse + evaluate)
//   initMs       authfetch only: init() (fetch, compile and instantiate the .wasm)
//   wasmFetchMs  authfetch only: the .wasm's fetch (Resource Timing: request start to last byte)
//   afterFetchMs authfetch only: init's time after the .wasm's last byte arrived
//   constructMs  construction: new AuthClient / axios.create + interceptors / ky.create /
//                new Keycloak / new UserManager / new Auth0Client (no network for the last three)
//   readyAt      performance.now() when constructed: ms since navigation start
//   secondConstructMs  authfetch only: a second client made (and freed) right after the first,
//                in the same page: construction once the engine has run the constructor once
//   firstCallMs  authfetch, axios, ky: login + one authenticated GET (body parsed)
//   firstCallAt  performance.now() when that GET's body is read: ms since navigation start
// The answer goes to window.startResult (or window.startError), and with &report=<url> is also
// POSTed there (see the end of this file).

const LOGIN_PATH = "/v1/auth/login";
const REFRESH_PATH = "/v1/auth/refresh-token";
const ME_PATH = "/v1/cidadao/me";
const CREDENTIALS = { email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" };
const origin = location.origin;

const libs = {
  async authfetch() {
    const t0 = performance.now();
    const mod = await import("/pkg/index.js");
    const t1 = performance.now();
    await mod.default();
    const t2 = performance.now();
    const auth = new mod.AuthClient({ loginPath: LOGIN_PATH, refreshPath: REFRESH_PATH, loginUrl: null });
    const t3 = performance.now();
    const second = new mod.AuthClient({ loginPath: LOGIN_PATH, refreshPath: REFRESH_PATH, loginUrl: null });
    const secondConstructMs = performance.now() - t3;
    second.free();
    // The wasm's own fetch, from Resource Timing: request start to its last byte; and what init
    // took after that last byte (the compile that did not overlap the download, instantiation).
    const wasm = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/authfetch_bg.wasm"));
    const wasmFetchMs = wasm ? wasm.responseEnd - wasm.startTime : null;
    const afterFetchMs = wasm ? t2 - wasm.responseEnd : null;
    const t3b = performance.now();
    await auth.login(CREDENTIALS);
    const res = await auth.fetch(ME_PATH);
    if (res.status !== 200) throw new Error(`GET ${ME_PATH} answered ${res.status}`);
    await res.json();
    const t4 = performance.now();
    return { importMs: t1 - t0, initMs: t2 - t1, wasmFetchMs, afterFetchMs, constructMs: t3 - t2, secondConstructMs, readyAt: t3, firstCallMs: t4 - t3b, firstCallAt: t4 };
  },

  async axios() {
    const t0 = performance.now();
    const { lib, authRefresh } = await import("/bench/dist/axios-auth-refresh.js");
    const t1 = performance.now();
    const axios = lib.default;
    const tokens = { access: null, refresh: null };
    const api = axios.create({ baseURL: origin });
    authRefresh.createAuthRefreshInterceptor(api, (failedRequest) =>
      axios.post(`${origin}${REFRESH_PATH}`, { refreshToken: tokens.refresh }).then((r) => {
        tokens.access = r.data.accessToken;
        tokens.refresh = r.data.refreshToken;
        failedRequest.response.config.headers["Authorization"] = "Bearer " + tokens.access;
        return Promise.resolve();
      }),
    );
    api.interceptors.request.use((request) => {
      request.headers["Authorization"] = `Bearer ${tokens.access}`;
      return request;
    });
    const t3 = performance.now();
    const login = await axios.post(`${origin}${LOGIN_PATH}`, CREDENTIALS);
    tokens.access = login.data.accessToken;
    tokens.refresh = login.data.refreshToken;
    const res = await api.get(ME_PATH);
    if (res.status !== 200) throw new Error(`GET ${ME_PATH} answered ${res.status}`);
    const t4 = performance.now();
    return { importMs: t1 - t0, initMs: null, constructMs: t3 - t1, readyAt: t3, firstCallMs: t4 - t3, firstCallAt: t4 };
  },

  async ky() {
    const t0 = performance.now();
    const { lib } = await import("/bench/dist/ky.js");
    const t1 = performance.now();
    const ky = lib.default;
    let accessToken = null;
    const api = ky.create({
      baseUrl: origin,
      hooks: { beforeRequest: [({ request }) => request.headers.set("Authorization", `Bearer ${accessToken}`)] },
    });
    const t3 = performance.now();
    ({ accessToken } = await ky.post(`${origin}${LOGIN_PATH}`, { json: CREDENTIALS }).json());
    const res = await api.get(ME_PATH);
    if (res.status !== 200) throw new Error(`GET ${ME_PATH} answered ${res.status}`);
    await res.json();
    const t4 = performance.now();
    return { importMs: t1 - t0, initMs: null, constructMs: t3 - t1, readyAt: t3, firstCallMs: t4 - t3, firstCallAt: t4 };
  },

  async keycloak() {
    const t0 = performance.now();
    const { lib } = await import("/bench/dist/keycloak-js.js");
    const t1 = performance.now();
    const kc = new lib.default({ url: `${origin}/auth`, realm: "bench", clientId: "bench" });
    const t3 = performance.now();
    window.__keep = kc;
    return { importMs: t1 - t0, initMs: null, constructMs: t3 - t1, readyAt: t3, firstCallMs: null, firstCallAt: null };
  },

  async oidc() {
    const t0 = performance.now();
    const { lib } = await import("/bench/dist/oidc-client-ts.js");
    const t1 = performance.now();
    const um = new lib.UserManager({
      authority: `${origin}/oidc`,
      client_id: "bench",
      redirect_uri: `${origin}/bench/start.html`,
    });
    const t3 = performance.now();
    window.__keep = um;
    return { importMs: t1 - t0, initMs: null, constructMs: t3 - t1, readyAt: t3, firstCallMs: null, firstCallAt: null };
  },

  async auth0() {
    const t0 = performance.now();
    const { lib } = await import("/bench/dist/auth0-spa-js.js");
    const t1 = performance.now();
    const client = new lib.Auth0Client({ domain: "auth.bench.invalid", clientId: "bench" });
    const t3 = performance.now();
    window.__keep = client;
    return { importMs: t1 - t0, initMs: null, constructMs: t3 - t1, readyAt: t3, firstCallMs: null, firstCallAt: null };
  },
};

const query = new URLSearchParams(location.search);
const name = query.get("lib");
try {
  if (!libs[name]) throw new Error(`unknown lib ${name}`);
  window.startResult = await libs[name]();
} catch (e) {
  window.startError = String((e && (e.stack || e.message)) || e);
}
// &report=<url> (measureStartDetached: no driver reads window.startResult): POST
// `{ result }` or `{ error }` there, a simple cross-origin POST (text/plain, no-cors).
if (query.has("report")) {
  const body = window.startError === undefined ? { result: window.startResult } : { error: window.startError };
  await fetch(query.get("report"), { method: "POST", mode: "no-cors", body: JSON.stringify(body) });
}
