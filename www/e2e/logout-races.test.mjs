// A logout wins over a login or a restore() still in flight (issue 10, defect 2): the late
// answer never logs the user back in, here or in another tab — against the real server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pollUntil, requestsTo, useE2E, waitForAuthfetch } from "./harness.mjs";
import { seed } from "./seeds.mjs";

const env = useE2E();
const s004 = seed("s004");
const COOKIE_CONFIG = { ...s004.config(), refreshCredential: "cookie" };

describe("logout during a login or a restore", () => {
  test("logout() while login() is in flight: login rejects not_authenticated, no session here or in a second tab", { timeout: 20_000 }, async () => {
    const { page, context } = await env.newPage();
    const other = await context.newPage();
    await other.goto(`${env.server.origin}/test.html`);
    await waitForAuthfetch(other);
    await other.evaluate(() => e2e.client());
    await env.control("fail-login", { count: 1, mode: "delay", delayMs: 800 });

    // The login is sent; once the server holds it (not after a page timer: Firefox throttles
    // the timers of a background tab to a second), the user logs out.
    await page.evaluate((credentials) => {
      window.pendingLogin = e2e.settle(e2e.client().login(credentials));
    }, s004.credentials);
    const arrived = await pollUntil(async () => requestsTo(await env.counters(), s004.loginEndpoint) === 1, { timeout: 3000 });
    assert.ok(arrived, "the login never reached the server");
    const outcome = await page.evaluate(async () => {
      await auth.logout();
      return { login: await window.pendingLogin, on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) };
    });
    assert.equal(outcome.login.ok, false, "login resolved after the logout");
    assert.equal(outcome.login.error.code, "not_authenticated");
    assert.equal(outcome.on, false, "the late answer was kept");
    assert.ok(!outcome.events.includes("login"), `events: ${outcome.events}`);

    // The server did log in (the answer was only late), yet no tab holds that session.
    await pollUntil(async () => (await env.counters()).logins === 1, { timeout: 3000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await other.evaluate(() => auth.isAuthenticated), false, "the late session reached the other tab");
    const call = await page.evaluate(() => e2e.call("/v1/cidadao/me"));
    assert.equal(call.error?.code, "not_authenticated");
    assert.equal(requestsTo(await env.counters(), "/v1/cidadao/me"), 0);
  });

  test("logout() while restore() is in flight (cookie mode): restore resolves false and the cookie's session is not taken", { timeout: 20_000 }, async () => {
    await env.config({ refreshCookie: true });
    const { page } = await env.newPage();
    await page.evaluate(({ config, credentials }) => e2e.client(config).login(credentials), {
      config: COOKIE_CONFIG,
      credentials: s004.credentials,
    });
    // A fresh page of the same context: the cookie is there, the session is not.
    await page.reload();
    await waitForAuthfetch(page);
    await env.control("fail-refresh", { count: 1, mode: "delay", delayMs: 800 });
    const outcome = await page.evaluate(async (config) => {
      const auth = e2e.client(config);
      const restore = e2e.settle(auth.restore());
      await new Promise((r) => setTimeout(r, 200));
      await auth.logout();
      const restored = await restore;
      await new Promise((r) => setTimeout(r, 1000));
      return { restored, on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) };
    }, COOKIE_CONFIG);
    assert.deepEqual(outcome.restored, { ok: true, value: false });
    assert.equal(outcome.on, false, "the restored session was kept after the logout");
    assert.ok(!outcome.events.includes("login"), `events: ${outcome.events}`);
  });
});
