// Hostile or broken auth answers (issue 10, defect 7): a login answer whose access token a
// header cannot carry is refused as malformed_response, instead of a session whose calls go out
// without the bearer and then end — against the real server's /__test/grant login stand-in.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { requestsTo, useE2E } from "./harness.mjs";

const env = useE2E();
const grantPath = (access) => `/__test/grant?access=${encodeURIComponent(access)}`;

describe("tokens a header cannot carry", () => {
  for (const [what, access] of [
    ["CR/LF", "abc\r\nX-Injected: 1"],
    ["a character outside Latin-1", "t\u00f6k\u00e9n\u2713"],
    ["a space", "two words"],
  ]) {
    test(`an access token with ${what} is refused at login (malformed_response); nothing is sent`, { timeout: 15_000 }, async () => {
      const { page } = await env.newPage();
      const outcome = await page.evaluate(async (loginPath) => {
        const auth = e2e.client({ loginPath });
        const login = await e2e.settle(auth.login({ any: "body" }));
        const call = await e2e.call("/v1/cidadao/me");
        return { login, call, on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) };
      }, grantPath(access));
      assert.equal(outcome.login.ok, false, "the login was accepted");
      assert.equal(outcome.login.error.code, "malformed_response");
      assert.equal(outcome.on, false);
      assert.deepEqual(outcome.events, []);
      assert.equal(outcome.call.error?.code, "not_authenticated");
      assert.equal(requestsTo(await env.counters(), "/v1/cidadao/me"), 0);
    });
  }

  test("an opaque token like 1|abc (visible ASCII) is accepted and sent as the bearer", { timeout: 15_000 }, async () => {
    const { page } = await env.newPage();
    const outcome = await page.evaluate(async (loginPath) => {
      const auth = e2e.client({ loginPath });
      const login = await e2e.settle(auth.login({}));
      const echo = await e2e.call("/__test/echo");
      return { login, echo };
    }, grantPath("1|c2VjcmV0LXRva2Vu"));
    assert.equal(outcome.login.ok, true, JSON.stringify(outcome.login.error));
    assert.equal(outcome.echo.body.bearer, true);
  });
});

describe("lifetimes that are no lifetime", () => {
  test("expiresIn: 0 is an unknown expiry: no renewal every few seconds while idle", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage({ clock: true });
    const outcome = await page.evaluate(async (loginPath) => {
      const auth = e2e.client({ loginPath });
      await auth.login({});
      return { expiresAt: auth.expiresAt ?? null, refreshAt: auth.refreshAt ?? null };
    }, `${grantPath("1|idle-token")}&expiresIn=0`);
    assert.deepEqual(outcome, { expiresAt: null, refreshAt: null });
    await page.clock.runFor(120_000);
    await new Promise((r) => setTimeout(r, 300));
    const c = await env.counters();
    assert.equal(c.refreshRequests, 0, `${c.refreshRequests} renewals in two idle minutes`);
    assert.equal(await page.evaluate(() => auth.isAuthenticated), true);
  });
});

describe("bounded reads", () => {
  for (const chunked of [false, true]) {
    test(`a 16 MB 401 body${chunked ? " without a length" : ""} does not grow wasm memory; the call ends as for a 401 without a code`, { timeout: 30_000 }, async () => {
      const { page } = await env.newPage();
      const outcome = await page.evaluate(async ({ chunked }) => {
        // The package's memory, as test.html caught it when it loaded the package.
        const memory = window.authfetchMemory;
        if (!(memory instanceof WebAssembly.Memory)) throw new Error("test.html did not catch the package's wasm memory");
        const auth = e2e.client();
        await auth.login({ email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" });
        const before = memory.buffer.byteLength;
        const call = await e2e.call(`/__test/always-401?code=AUTH_006&bodyBytes=${16 << 20}${chunked ? "&chunked=1" : ""}`);
        return { call, grewBy: memory.buffer.byteLength - before, events: e2e.events.map((e) => e.detail?.reason ?? e.type) };
      }, { chunked });
      assert.ok(outcome.grewBy < 256 * 1024, `wasm memory grew by ${outcome.grewBy} B`);
      // Unread, the body says no code: not "expired", so the session ends (rule 5).
      assert.equal(outcome.call.error?.code, "session_expired", JSON.stringify(outcome.call));
      assert.equal(outcome.call.error?.serverCode, undefined);
      assert.deepEqual(outcome.events, ["login", "invalid_token"]);
    });
  }
});


describe("Retry-After", () => {
  test("a 503 from the refresh endpoint with Retry-After: 120 puts the next renewal two minutes out, not one second", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage();
    await page.evaluate((credentials) => e2e.client().login(credentials), { email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" });
    await env.control("fail-refresh", { count: 1, mode: "503", retryAfter: 120 });
    const outcome = await page.evaluate(async () => {
      const renewed = await e2e.settle(auth.refresh());
      return { renewed, inMs: auth.refreshAt - Date.now(), on: auth.isAuthenticated };
    });
    assert.equal(outcome.renewed.error?.code, "network");
    assert.equal(outcome.on, true);
    assert.ok(outcome.inMs > 110_000 && outcome.inMs <= 120_000, `next renewal in ${outcome.inMs} ms`);
  });
});
