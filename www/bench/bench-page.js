// In-page side of the benchmarks (loaded by calls.html). Node drives it with page.evaluate
// through `window.bench`; every function answers plain data.
//
// The same request is made five ways, each reading and parsing the JSON body (axios always does):
//   raw       fetch with a hand-set `Authorization: Bearer` (token from a raw-fetch login)
//   wrapper   the minimal hand-written fetch wrapper: copy the headers, set the bearer, call fetch
//   authfetch auth.fetch
//   axios     axios instance + axios-auth-refresh, configured as its README advises
//   ky        ky instance with a beforeRequest hook setting the bearer

import { catchWasmMemory } from "/wasm-memory.js";

const LOGIN_PATH = "/v1/auth/login";
const REFRESH_PATH = "/v1/auth/refresh-token";
const ME_PATH = "/v1/cidadao/me";
const CREDENTIALS = { email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" };

const state = { memory: null, caught: false, clients: {} };

async function loadAuthfetch() {
  if (!state.caught) {
    state.caught = true;
    catchWasmMemory((memory) => (state.memory ??= memory));
  }
  const mod = await import("/pkg/index.js");
  await mod.default();
  return mod;
}

async function rawLogin() {
  const res = await fetch(LOGIN_PATH, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(CREDENTIALS),
  });
  if (res.status !== 200) throw new Error(`raw login answered ${res.status}`);
  return res.json();
}

function expect200(status, variant) {
  if (status !== 200) throw new Error(`${variant}: ${ME_PATH} answered ${status}`);
}

/** Raw fetch with the bearer of a raw login set by hand; each call expects `status`. */
async function rawClient(status, variant) {
  const { accessToken } = await rawLogin();
  const url = new URL(ME_PATH, location.origin).href;
  return {
    async call() {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${accessToken}` } });
      if (res.status !== status) throw new Error(`${variant}: ${ME_PATH} answered ${res.status}, not ${status}`);
      return res.json();
    },
  };
}

/** Builds one variant: logs in and answers `{ call }` (one authenticated GET, body parsed). */
const builders = {
  async raw() {
    return rawClient(200, "raw");
  },

  /** The floor of any fetch wrapper: what `(input, init) => fetch(input, init + bearer)` costs. */
  async wrapper() {
    const { accessToken } = await rawLogin();
    const authFetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("Authorization", `Bearer ${accessToken}`);
      return fetch(input, { ...init, headers });
    };
    const url = new URL(ME_PATH, location.origin).href;
    return {
      async call() {
        const res = await authFetch(url);
        expect200(res.status, "wrapper");
        return res.json();
      },
    };
  },

  /** The storm's second reference: raw fetch keeps sending the token the server expired, reads
   *  each 401 answer and does nothing else (no refresh, no retry) — what 1,000 401s cost alone. */
  async rawExpired() {
    return rawClient(401, "rawExpired");
  },

  /** The storm's third reference: the refresh rule hand-written in plain JS, minimal and correct
   *  (one refresh in flight, each call retried once with the new token) — the floor a library
   *  doing the same job can reach in this browser, with none of authfetch's other duties. */
  async handWritten() {
    let { accessToken, refreshToken } = await rawLogin();
    let refreshing = null;
    const refresh = async () => {
      const res = await fetch(REFRESH_PATH, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken }),
      });
      if (res.status !== 200) throw new Error(`handWritten: refresh answered ${res.status}`);
      ({ accessToken, refreshToken } = await res.json());
    };
    const url = new URL(ME_PATH, location.origin).href;
    const get = (token) => fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    return {
      async call() {
        const sent = accessToken;
        let res = await get(sent);
        if (res.status === 401) {
          await res.text();
          if (accessToken === sent) {
            refreshing ??= refresh().finally(() => (refreshing = null));
            await refreshing;
          }
          res = await get(accessToken);
        }
        expect200(res.status, "handWritten");
        return res.json();
      },
    };
  },

  async authfetch() {
    const { AuthClient } = await loadAuthfetch();
    const auth = new AuthClient({ loginPath: LOGIN_PATH, refreshPath: REFRESH_PATH, loginUrl: null });
    await auth.login(CREDENTIALS);
    const url = new URL(ME_PATH, location.origin).href;
    return {
      auth,
      async call() {
        const res = await auth.fetch(url);
        expect200(res.status, "authfetch");
        return res.json();
      },
    };
  },

  async axios() {
    const { lib, authRefresh } = await import("/bench/dist/axios-auth-refresh.js");
    const axios = lib.default;
    const tokens = { access: null, refresh: null };
    const api = axios.create({ baseURL: location.origin });
    // axios-auth-refresh's README: a refresh function that stores the new token and sets it on the
    // failed request; a request interceptor that reads the current token on every request.
    const refreshAuthLogic = (failedRequest) =>
      axios.post(`${location.origin}${REFRESH_PATH}`, { refreshToken: tokens.refresh }).then((res) => {
        tokens.access = res.data.accessToken;
        tokens.refresh = res.data.refreshToken;
        failedRequest.response.config.headers["Authorization"] = "Bearer " + tokens.access;
        return Promise.resolve();
      });
    authRefresh.createAuthRefreshInterceptor(api, refreshAuthLogic);
    api.interceptors.request.use((request) => {
      request.headers["Authorization"] = `Bearer ${tokens.access}`;
      return request;
    });
    const login = await axios.post(`${location.origin}${LOGIN_PATH}`, CREDENTIALS);
    tokens.access = login.data.accessToken;
    tokens.refresh = login.data.refreshToken;
    return {
      async call() {
        const res = await api.get(ME_PATH);
        expect200(res.status, "axios");
        return res.data;
      },
    };
  },

  async ky() {
    const { lib } = await import("/bench/dist/ky.js");
    const ky = lib.default;
    const { accessToken } = await ky.post(`${location.origin}${LOGIN_PATH}`, { json: CREDENTIALS }).json();
    const api = ky.create({
      baseUrl: location.origin,
      hooks: {
        beforeRequest: [
          ({ request }) => {
            request.headers.set("Authorization", `Bearer ${accessToken}`);
          },
        ],
      },
    });
    return {
      async call() {
        const res = await api.get(ME_PATH);
        expect200(res.status, "ky");
        return res.json();
      },
    };
  },
};

/**
 * n calls of each named variant, interleaved: turn i gives every variant its i-th `width` calls
 * (one call when sequential, a wave of `width` concurrent calls else), in the order of `names`
 * rotated by `shift + i`, so that a change in the machine's load falls on all variants alike.
 * Each turn is timed on its own; answers `{ name: ms }`, the sum of that variant's turns.
 */
async function runInterleaved(names, n, width, shift) {
  const clients = names.map((name) => state.clients[name].call);
  const totals = new Array(names.length).fill(0);
  for (let done = 0, i = shift; done < n; done += width, i++) {
    const w = Math.min(width, n - done);
    for (let k = 0; k < names.length; k++) {
      const v = (k + i) % names.length;
      const call = clients[v];
      const t0 = performance.now();
      if (w === 1) await call();
      else await Promise.all(Array.from({ length: w }, call));
      totals[v] += performance.now() - t0;
    }
  }
  return Object.fromEntries(names.map((name, v) => [name, totals[v]]));
}

async function runConcurrent(call, n, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await call();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return performance.now() - t0;
}

/**
 * What each library adds in CPU alone: every variant calls the same instant `fetch` stub (a
 * resolved promise of a small `Response`, no network), so nothing but the library's own work is
 * timed. authfetch captures the stub at construction (the page's `fetch` is swapped for it
 * while the client is made) and is logged in through it. Turn i gives each variant its i-th
 * block of `block` calls, in an order rotated by i. Answers `{ name: µs per call }`.
 */
async function runCpu(n, block) {
  const tokens = JSON.stringify({ accessToken: "a".repeat(400), refreshToken: "r", expiresIn: 3600 });
  const answer = (input) =>
    Promise.resolve(new Response(String(input?.url ?? input).endsWith(LOGIN_PATH) ? tokens : "{}", { status: 200 }));
  const token = "a".repeat(400);
  const { AuthClient } = await loadAuthfetch();
  const real = window.fetch;
  window.fetch = answer;
  let auth;
  try {
    auth = new AuthClient({ loginPath: LOGIN_PATH, refreshPath: REFRESH_PATH, loginUrl: null, crossTab: false });
  } finally {
    window.fetch = real;
  }
  await auth.login(CREDENTIALS);
  const url = new URL(ME_PATH, location.origin).href;
  const variants = {
    stub: () => answer(url, { headers: { Authorization: `Bearer ${token}` } }),
    wrapper: (init) => {
      const headers = new Headers(init?.headers);
      headers.set("Authorization", `Bearer ${token}`);
      return answer(url, { ...init, headers });
    },
    authfetch: () => auth.fetch(url),
  };
  const names = Object.keys(variants);
  const totals = new Array(names.length).fill(0);
  for (let done = 0, i = 0; done < n; done += block, i++) {
    for (let k = 0; k < names.length; k++) {
      const v = (k + i) % names.length;
      const call = variants[names[v]];
      const t0 = performance.now();
      for (let j = 0; j < block; j++) {
        const res = await call();
        if (res.status !== 200) throw new Error(`cpu: ${names[v]} answered ${res.status}`);
      }
      totals[v] += performance.now() - t0;
    }
  }
  auth.free();
  return Object.fromEntries(names.map((name, v) => [name, (totals[v] / n) * 1000]));
}

function errorText(e) {
  return String((e && (e.code ? `${e.name} ${e.code}: ${e.message}` : e.stack || e.message)) || e);
}

window.bench = {
  /** Logs every named variant in; answers the names that are ready. */
  async setup(names) {
    for (const name of names) state.clients[name] = await builders[name]();
    return Object.keys(state.clients);
  },

  /** n calls of one variant, `concurrency` at a time (the memory measure): `{ ms }` or `{ error }`. */
  async run(name, n, concurrency) {
    try {
      return { ms: await runConcurrent(state.clients[name].call, n, concurrency) };
    } catch (e) {
      return { error: errorText(e) };
    }
  },

  /** n calls of each variant, interleaved (runInterleaved): `{ ms: { name: ms } }` or `{ error }`. */
  async interleaved(names, n, width, shift) {
    try {
      return { ms: await runInterleaved(names, n, width, shift) };
    } catch (e) {
      return { error: errorText(e) };
    }
  },

  /** CPU per call against an instant fetch (runCpu): `{ us: { name: µs } }` or `{ error }`. */
  async cpu(n, block) {
    try {
      return { us: await runCpu(n, block) };
    } catch (e) {
      return { error: errorText(e) };
    }
  },

  /** Wasm memory of authfetch, in 64 KiB pages (null before init; see `loadAuthfetch`). */
  wasmPages() {
    return state.memory ? state.memory.buffer.byteLength / 65536 : null;
  },

  jsHeap() {
    return performance.memory ? performance.memory.usedJSHeapSize : null;
  },

  // --- refresh storm -------------------------------------------------------------------------

  /** Logs one storm variant in (`authfetch` or `axios`). */
  async stormSetup(name) {
    state.clients[name] = await builders[name]();
    return true;
  },

  /** Fires n calls at once and waits for all: `{ ms, ok, failed, firstError }`. */
  async storm(name, n) {
    const { call } = state.clients[name];
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: n }, () => call()));
    const ms = performance.now() - t0;
    const failures = results.filter((r) => r.status === "rejected");
    return {
      ms,
      ok: n - failures.length,
      failed: failures.length,
      firstError: failures.length ? errorText(failures[0].reason) : null,
    };
  },
};
window.benchReady = true;
