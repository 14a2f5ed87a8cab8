// An app on another origin than its API: CORS, against the real server's CORS mode.
//
// Two origins on one server: the page is opened at http://localhost:<port>, the client's baseUrl
// is http://127.0.0.1:<port> (the same server, another origin for the browser). The server's
// `corsOrigins` (the `--cors-origin` flag, set here through /__control/config) decides whether
// the API answers that page's CORS; every test starts with it empty (the reset).
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, newIsolatedContext, requestsTo, useE2E, waitForAuthfetch } from "./harness.mjs";

const env = useE2E();
const contexts = new Set();

afterEach(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  contexts.clear();
});

/** The page's origin: the server's port under another host name. */
const pageOrigin = () => `http://localhost:${env.server.port}`;

/** Opens test.html on the page origin, with a client whose API is the server's own origin. */
async function openCrossOrigin() {
  // A context that shares no CORS preflight cache with earlier tests (engines.mjs).
  const context = await newIsolatedContext(env.browser);
  contexts.add(context);
  const page = await context.newPage();
  await page.goto(`${pageOrigin()}/test.html`);
  await waitForAuthfetch(page);
  await page.evaluate((api) => {
    e2e.client({ baseUrl: api, logoutPath: "/v1/auth/logout" });
  }, env.server.origin);
  return { page };
}

const me = (page) => page.evaluate((api) => e2e.call(`${api}/v1/cidadao/me`), env.server.origin);

describe("CORS: the API allows the page's origin", () => {
  test("login, a call with the bearer, an expired token renewed once and retried, logout; preflights seen", { timeout: 30_000 }, async () => {
    const config = await env.config({ corsOrigins: [pageOrigin()] });
    assert.deepEqual(config.corsOrigins, [pageOrigin()]);
    const { page } = await openCrossOrigin();
    assert.notEqual(await page.evaluate(() => location.origin), env.server.origin, "the page is not cross-origin");

    const login = await page.evaluate((credentials) => e2e.settle(auth.login(credentials)), MARIA);
    assert.equal(login.ok, true, `login rejected: ${JSON.stringify(login.error)}`);
    const first = await me(page);
    assert.equal(first.ok, true, `the call rejected: ${JSON.stringify(first.error)}`);
    assert.equal(first.status, 200);
    assert.equal(first.body.email, MARIA.email);
    let c = await env.counters();
    assert.equal(c.bearerRequests["/v1/cidadao/me"], 1, "the bearer did not reach the API");

    await env.control("expire-access");
    const renewed = await me(page);
    assert.equal(renewed.status, 200, `after expire-access: ${JSON.stringify(renewed)}`);
    c = await env.counters();
    assert.equal(c.refreshRequests, 1, "exactly one refresh");
    assert.equal(c.refreshes, 1);
    assert.equal(requestsTo(c, "/v1/cidadao/me"), 3, "the call, its 401, and one retry");

    const logout = await page.evaluate(() => e2e.settle(auth.logout()));
    assert.equal(logout.ok, true, `logout rejected: ${JSON.stringify(logout.error)}`);
    const after = await page.evaluate(() => ({ on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) }));
    assert.equal(after.on, false);
    assert.deepEqual(after.events, ["login", "refresh", "logout"]);

    c = await env.counters();
    assert.equal(c.bearerRequests["/v1/auth/logout"], 1, "the logout endpoint did not get the bearer");
    // Authorization (and the JSON Content-Type) make every one of them preflighted; preflights
    // are counted apart from the requests.
    for (const path of ["/v1/auth/login", "/v1/cidadao/me", "/v1/auth/refresh-token", "/v1/auth/logout"]) {
      assert.ok((c.preflights[path] ?? 0) >= 1, `no preflight for ${path}: ${JSON.stringify(c.preflights)}`);
    }
    assert.equal(requestsTo(c, "/v1/auth/login"), 1);
  });

  test("Retry-After on a failed refresh is readable from the page (exposed)", { timeout: 20_000 }, async () => {
    await env.config({ corsOrigins: [pageOrigin()] });
    const { page } = await openCrossOrigin();
    await env.control("fail-refresh", { count: 1, mode: "503", retryAfter: 120 });
    const seen = await page.evaluate(async (api) => {
      const res = await fetch(`${api}/v1/auth/refresh-token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken: "x" }),
      });
      return { status: res.status, retryAfter: res.headers.get("retry-after") };
    }, env.server.origin);
    assert.deepEqual(seen, { status: 503, retryAfter: "120" });
  });
});

describe("CORS: the API does not allow the page's origin", () => {
  for (const [label, corsOrigins] of [
    ["no CORS at all", []],
    ["CORS for another origin only", ["http://elsewhere.test"]],
  ]) {
    test(`${label}: login rejects network, naming CORS and no session; nothing is held`, { timeout: 20_000 }, async () => {
      await env.config({ corsOrigins });
      const { page } = await openCrossOrigin();
      const out = await page.evaluate(async (credentials) => {
        const login = await e2e.settle(auth.login(credentials));
        return { login, on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) };
      }, MARIA);

      assert.equal(out.login.ok, false, "login resolved through a CORS block");
      const err = out.login.error;
      assert.equal(err.name, "AuthError");
      assert.equal(err.code, "network");
      assert.equal(err.status, undefined, "no answer was read, so there is no status");
      assert.match(err.message, /CORS/);
      assert.match(err.message, /origin/);
      assert.doesNotMatch(err.message, /session is kept/, "there is no session to keep");
      assert.equal(out.on, false);
      assert.deepEqual(out.events, []);

      // The browser asked, was refused, and never sent the login itself.
      const c = await env.counters();
      assert.ok((c.preflights["/v1/auth/login"] ?? 0) >= 1, `no preflight: ${JSON.stringify(c.preflights)}`);
      assert.equal(requestsTo(c, "/v1/auth/login"), 0, "the login was sent despite the refused preflight");
      assert.equal(c.logins, 0);
    });
  }

  test("CORS withdrawn from a live session: calls and refresh reject network naming CORS; the session is kept", { timeout: 20_000 }, async () => {
    await env.config({ corsOrigins: [pageOrigin()] });
    const { page } = await openCrossOrigin();
    await page.evaluate((credentials) => auth.login(credentials), MARIA);
    assert.equal((await me(page)).status, 200);

    await env.config({ corsOrigins: [] });
    const call = await me(page);
    assert.equal(call.ok, false, "the call resolved through a CORS block");
    assert.equal(call.error.code, "network");
    assert.match(call.error.message, /CORS/);
    const refresh = await page.evaluate(() => e2e.settle(auth.refresh()));
    assert.equal(refresh.ok, false);
    assert.equal(refresh.error.code, "network");
    assert.match(refresh.error.message, /CORS/);
    assert.match(refresh.error.message, /the session is kept$/);
    const state = await page.evaluate(() => ({ on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) }));
    assert.equal(state.on, true, "a CORS block ended the session");
    // A backoff retry may add more `error` events; never a `logout`.
    assert.deepEqual(state.events.slice(0, 2), ["login", "error"]);
    assert.ok(!state.events.includes("logout"), `events: ${state.events}`);
    assert.equal((await env.counters()).refreshes, 0);
  });
});
