// PGBen's cookie mode (seed 004's advice: the refresh token in an HttpOnly cookie, the access
// token in memory), key refreshCredential: "cookie", and restore() after a reload.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ENGINE, useE2E, waitForAuthfetch } from "./harness.mjs";
import { EMPTY_STORES, assertNoToken, readPersistentStores, seed as seedNamed, watchAuthAnswers } from "./seeds.mjs";

const env = useE2E();
const s004 = seedNamed("s004");
const COOKIE_CONFIG = { ...s004.config(), refreshCredential: "cookie", logoutPath: "/v1/auth/logout" };

/** The refresh cookie in the context's jar, as sent to the refresh endpoint. */
const refreshCookie = async (context) =>
  (await context.cookies([`${env.server.origin}${s004.refreshEndpoint}`])).find((c) => c.name === "pgben_refresh");

describe("cookie mode", () => {
  test("login: no refresh token in the JSON, an HttpOnly cookie the page cannot read; reload + restore() resumes without a login", { timeout: 25_000 }, async () => {
    await env.config({ refreshCookie: true });
    const { page, context, consoleMessages } = await env.newPage();
    const answers = watchAuthAnswers(page, [s004.loginEndpoint, s004.refreshEndpoint]);

    await page.evaluate(({ config, credentials }) => e2e.client(config).login(credentials), {
      config: COOKIE_CONFIG,
      credentials: s004.credentials,
    });
    const tokens = await answers.tokens();
    const login = answers.bodies.find((b) => b.path === s004.loginEndpoint);
    assert.ok(login, "the login answer was not seen");
    assert.ok(typeof login.body.accessToken === "string");
    assert.ok(!("refreshToken" in login.body), `the login JSON has a refreshToken: ${Object.keys(login.body)}`);
    // WebKit's layer sees answers as the page's fetch does, without Set-Cookie; the jar's
    // attributes below are checked in every engine.
    if (ENGINE !== "webkit") assert.match(login.setCookie ?? "", /^pgben_refresh=[^;]+; HttpOnly; SameSite=Strict; Path=\/v1\/auth$/);

    const cookie = await refreshCookie(context);
    assert.ok(cookie, "the browser holds no pgben_refresh cookie");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.path, "/v1/auth");
    assert.ok(tokens.includes(cookie.value), "the cookie is not the refresh token the server set");
    const seen = await page.evaluate(() => document.cookie);
    assertNoToken(seen, tokens, "document.cookie");
    assert.deepEqual(await readPersistentStores(page), EMPTY_STORES);

    // A refresh with the cookie rotates it.
    const refreshed = await page.evaluate(() => e2e.settle(auth.refresh()));
    assert.equal(refreshed.ok, true, JSON.stringify(refreshed.error));
    const rotated = await refreshCookie(context);
    assert.notEqual(rotated.value, cookie.value, "the cookie was not rotated");
    assert.ok(!("refreshToken" in answers.bodies.at(-1).body), "the refresh JSON has a refreshToken");

    // Reload (same context, so the same cookie jar) and resume without credentials.
    await page.reload();
    await waitForAuthfetch(page);
    const resumed = await page.evaluate(async (config) => {
      const auth = e2e.client(config);
      const restored = await e2e.settle(auth.restore());
      const first = await e2e.call("/v1/cidadao/me");
      return { restored, first, on: auth.isAuthenticated };
    }, COOKIE_CONFIG);
    assert.deepEqual(resumed.restored, { ok: true, value: true });
    assert.equal(resumed.first.status, 200, JSON.stringify(resumed.first));
    assert.equal(resumed.first.body.email, s004.credentials.email);

    const c = await env.counters();
    assert.equal(c.logins, 1, "the server saw a second login");
    assert.equal(c.refreshes, 2, "restore() did not use the cookie");
    assert.equal(c.reuseDetections, 0);
    assert.equal(c.bearerRequests["/v1/cidadao/me"], 1);
    const all = await answers.tokens();
    assertNoToken(consoleMessages.map((m) => m.text).join("\n"), all, "a console message");
    assertNoToken(await page.evaluate(() => document.cookie), all, "document.cookie after the reload");
    assert.deepEqual(await readPersistentStores(page), EMPTY_STORES);
  });

  test("restore() without a cookie answers false and holds no session", { timeout: 20_000 }, async () => {
    await env.config({ refreshCookie: true });
    const { page, context } = await env.newPage();
    assert.equal(await refreshCookie(context), undefined);
    const out = await page.evaluate(async (config) => {
      const auth = e2e.client(config);
      const restored = await e2e.settle(auth.restore());
      const next = await e2e.call("/v1/cidadao/me");
      return { restored, on: auth.isAuthenticated, next };
    }, COOKIE_CONFIG);
    assert.deepEqual(out.restored, { ok: true, value: false });
    assert.equal(out.on, false);
    assert.equal(out.next.error?.code, "not_authenticated");
    const c = await env.counters();
    assert.equal(c.logins, 0);
    assert.equal(c.refreshes, 0);
    assert.equal(c.requests["/v1/cidadao/me"] ?? 0, 0);
  });

  test("logout clears the cookie: a reload cannot resume", { timeout: 20_000 }, async () => {
    await env.config({ refreshCookie: true });
    const { page, context } = await env.newPage();
    await page.evaluate(({ config, credentials }) => e2e.client(config).login(credentials), {
      config: COOKIE_CONFIG,
      credentials: s004.credentials,
    });
    assert.ok(await refreshCookie(context), "no cookie after login");
    await page.evaluate(() => auth.logout());
    assert.equal(await refreshCookie(context), undefined, "the cookie survived the logout");

    await page.reload();
    await waitForAuthfetch(page);
    const restored = await page.evaluate((config) => e2e.client(config).restore(), COOKIE_CONFIG);
    assert.equal(restored, false);
    assert.equal((await env.counters()).refreshes, 0);
  });
});
