// The five seed dialects as the end-to-end tests drive them: the authfetch configuration each
// seed needs (configuration only — the README's table), its user, its endpoints on the reference
// server, and how a test makes the server refuse its renewal. Plus small page helpers shared by
// the dialect tests. Not a test file (the runner only picks up *.test.mjs).
import assert from "node:assert/strict";
import { collectTokens, requestsTo } from "./harness.mjs";

export const MIN = 60_000;

/**
 * Every dialect, in seed order. `config(origin)` is exactly what an app would pass to
 * `new AuthClient(...)`; keys the test page's e2e.client() would otherwise default (the PGBen
 * refreshPath) are set to undefined, which removes them.
 */
export const SEEDS = [
  {
    name: "s000",
    title: "seed 000 (upload integration: GET /auth/tokenRefresh with the bearer)",
    config: (origin) => ({
      baseUrl: origin + "/s000",
      loginPath: "/auth/login",
      refreshPath: "/auth/tokenRefresh",
      refreshMethod: "GET",
      refreshCredential: "bearer",
      expiredErrorCodes: [],
      maxRetries: 0,
      idleTimeoutSeconds: 1800,
    }),
    credentials: { username: "integracao", password: "s3nh4-integr@cao" },
    loginEndpoint: "/s000/auth/login",
    refreshEndpoint: "/s000/auth/tokenRefresh",
    // The request that renews, as the server's journal writes it.
    renewalRoute: "GET /s000/auth/tokenRefresh",
    apiPath: "/s000/api/status",
    checkBody: (body) => body?.usuario === "integracao",
    ttlSeconds: 3600,
    // A 401 aborts (maxRetries 0): a token the server expired behind the page's back cannot be
    // recovered; renewal happens before sending, on the page's own knowledge of the expiry.
    retriesAfter401: false,
    refuseRenewal: (env) => env.control("fail-refresh", { count: 1, mode: "401" }),
  },
  {
    name: "s001",
    title: "seed 001 (Nortus: {token} only, renewal is a new login)",
    config: (origin) => ({
      baseUrl: origin + "/s001",
      loginPath: "/auth/login",
      refreshPath: undefined,
      refreshCredential: "relogin",
      expiredErrorCodes: [],
    }),
    credentials: { email: "user@exemplo.com", password: "senha-nortus" },
    loginEndpoint: "/s001/auth/login",
    refreshEndpoint: null,
    // The request that renews, as the server's journal writes it.
    renewalRoute: "POST /s001/auth/login",
    apiPath: "/s001/api/clientes",
    checkBody: (body) => Array.isArray(body) && body.length === 2,
    ttlSeconds: 3600,
    retriesAfter401: true,
    refuseRenewal: (env) => env.control("fail-login", { count: 1, mode: "401" }),
  },
  {
    name: "s002",
    title: "seed 002 (nested tokens, errors in message)",
    config: (origin) => ({
      baseUrl: origin + "/s002",
      loginPath: "/auth/login",
      refreshPath: "/auth/refresh-token",
      errorCodePath: "message",
      expiredErrorCodes: ["Token expirado"],
    }),
    credentials: { email_user: "thiago@thc.com", password_user: "123455678" },
    loginEndpoint: "/s002/auth/login",
    refreshEndpoint: "/s002/auth/refresh-token",
    // The request that renews, as the server's journal writes it.
    renewalRoute: "POST /s002/auth/refresh-token",
    apiPath: "/s002/users/me",
    checkBody: (body) => body?.email_user === "thiago@thc.com",
    ttlSeconds: 7200,
    retriesAfter401: true,
    refuseRenewal: (env) => env.control("fail-refresh", { count: 1, mode: "401" }),
  },
  {
    name: "s003",
    title: "seed 003 (Coinpay: 15-min JWT, refresh_token not rotated)",
    config: (origin) => ({
      baseUrl: origin + "/s003",
      loginPath: "/auth",
      refreshPath: "/auth/refresh",
      refreshBodyField: "refresh_token",
      errorCodePath: "error",
      expiredErrorCodes: ["token_expired"],
    }),
    credentials: { email: "usuario@example.com", password: "senha-coinpay" },
    loginEndpoint: "/s003/auth",
    refreshEndpoint: "/s003/auth/refresh",
    // The request that renews, as the server's journal writes it.
    renewalRoute: "POST /s003/auth/refresh",
    apiPath: "/s003/dados-pessoais",
    checkBody: (body) => body?.email === "usuario@example.com",
    ttlSeconds: 900,
    retriesAfter401: true,
    refuseRenewal: (env) => env.control("fail-refresh", { count: 1, mode: "401" }),
  },
  {
    name: "s004",
    title: "seed 004 (PGBen /v1)",
    config: () => ({ loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token" }),
    credentials: { email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" },
    loginEndpoint: "/v1/auth/login",
    refreshEndpoint: "/v1/auth/refresh-token",
    // The request that renews, as the server's journal writes it.
    renewalRoute: "POST /v1/auth/refresh-token",
    apiPath: "/v1/cidadao/me",
    checkBody: (body) => body?.email === "maria.oliveira@exemplo.com",
    ttlSeconds: 3600,
    retriesAfter401: true,
    refuseRenewal: (env) => env.control("fail-refresh", { count: 1, mode: "401" }),
  },
];

export const seed = (name) => SEEDS.find((s) => s.name === name);

/**
 * How many renewals the server granted: refreshes, or for seed 001 (no refresh endpoint) the
 * logins after the first.
 */
export function renewals(seed, counters) {
  return seed.refreshEndpoint ? counters.refreshes : counters.logins - 1;
}

/** How many renewals were asked for, granted or not. */
export function renewalRequests(seed, counters) {
  return seed.refreshEndpoint ? counters.refreshRequests : requestsTo(counters, seed.loginEndpoint) - 1;
}

/**
 * Records, for one page, the token texts of every 2xx answer of the seed's login and refresh
 * endpoints (JSON bodies and Set-Cookie headers) and the JSON bodies themselves.
 */
export function watchAuthAnswers(page, paths) {
  const tokens = new Set();
  const bodies = [];
  const pending = new Set();
  page.on("response", (response) => {
    let url;
    try {
      url = new URL(response.url());
    } catch {
      return;
    }
    if (!paths.includes(url.pathname) || response.status() < 200 || response.status() >= 300) return;
    const read = (async () => {
      const headers = await response.allHeaders().catch(() => ({}));
      for (const line of String(headers["set-cookie"] ?? "").split("\n")) {
        const value = line.split(";")[0].split("=").slice(1).join("=");
        if (value) tokens.add(value);
      }
      const body = await response.json().catch(() => undefined);
      if (body !== undefined) {
        bodies.push({ path: url.pathname, body, setCookie: headers["set-cookie"] ?? null });
        collectTokens(body, tokens);
      }
    })().finally(() => pending.delete(read));
    pending.add(read);
  });
  return {
    bodies,
    /** The token texts seen, and every token the server issued (whatever the engine shows). */
    async tokens() {
      await Promise.all([...pending]);
      const issued = await fetch(`${new URL(page.url()).origin}/__control/issued-tokens`).then((r) => r.json());
      return [...new Set([...tokens, ...issued.tokens])];
    },
  };
}

/** Everything the page could have persisted, read from inside the page. */
export async function readPersistentStores(page) {
  return page.evaluate(async () => {
    const dump = (storage) => Object.fromEntries(Object.keys(storage).map((k) => [k, storage.getItem(k)]));
    return {
      localStorage: dump(localStorage),
      sessionStorage: dump(sessionStorage),
      cookie: document.cookie,
      indexedDB: (await indexedDB.databases()).map((db) => db.name),
      cacheStorage: "caches" in window ? await caches.keys() : [],
    };
  });
}

export const EMPTY_STORES = { localStorage: {}, sessionStorage: {}, cookie: "", indexedDB: [], cacheStorage: [] };

export function assertNoToken(haystack, tokens, where) {
  for (const token of tokens) {
    assert.ok(!haystack.includes(token), `a token text (${token.length} chars) appears in ${where}`);
  }
}

/** Reads the server's journal: counted requests in arrival order, as "METHOD /path". */
export async function journal(origin) {
  const res = await fetch(`${origin}/__control/journal`);
  if (!res.ok) throw new Error(`GET /__control/journal answered ${res.status}`);
  const { requests } = await res.json();
  return requests.map((r) => `${r.method} ${r.path}`);
}

export function assertNear(actual, expected, message, tolerance = 2000) {
  assert.ok(
    typeof actual === "number" && Math.abs(actual - expected) <= tolerance,
    `${message}: ${actual} vs ${expected} (off by ${actual - expected} ms)`,
  );
}
