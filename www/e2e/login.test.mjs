// Login against PGBen (/v1), its error mapping, and what happens before any login.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, requestsTo, useE2E } from "./harness.mjs";

const env = useE2E();

describe("login", () => {
  test("login with {email, senha}, then an authenticated GET /v1/cidadao/me answers 200 with Maria's data", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage();
    const out = await page.evaluate(async (credentials) => {
      const auth = e2e.client();
      const login = await e2e.settle(auth.login(credentials));
      const me = await e2e.call("/v1/cidadao/me");
      return { login, me, isAuthenticated: auth.isAuthenticated, expiresAt: auth.expiresAt, now: Date.now(), events: e2e.events };
    }, MARIA);

    assert.equal(out.login.ok, true, `login rejected: ${JSON.stringify(out.login.error)}`);
    assert.equal(out.isAuthenticated, true);
    assert.equal(out.me.ok, true, `fetch rejected: ${JSON.stringify(out.me.error)}`);
    assert.equal(out.me.status, 200);
    assert.equal(out.me.body.nomeCompleto, "Maria Oliveira");
    assert.equal(out.me.body.email, MARIA.email);
    // expiresAt = receipt time + expiresIn (3600 s by default), epoch ms on the local clock.
    assert.equal(typeof out.expiresAt, "number");
    assert.ok(Math.abs(out.expiresAt - (out.now + 3600_000)) < 10_000, `expiresAt ${out.expiresAt} is not now + 3600 s`);
    assert.ok(out.events.some((e) => e.type === "login"), "no login event");

    const c = await env.counters();
    assert.equal(c.logins, 1);
    assert.equal(c.bearerRequests?.["/v1/cidadao/me"], 1, "the API call did not carry a bearer");
  });

  test("a wrong password rejects an AuthError invalid_credentials (AUTH_001, status 400)", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage();
    const out = await page.evaluate(async (email) => {
      const auth = e2e.client();
      const login = await e2e.settle(auth.login({ email, senha: "senha-errada" }));
      return { login, isAuthenticated: auth.isAuthenticated };
    }, MARIA.email);

    assert.equal(out.login.ok, false, "login with a wrong password resolved");
    const err = out.login.error;
    assert.equal(err.isError, true, "the rejection is not an Error");
    assert.equal(err.name, "AuthError");
    assert.equal(err.code, "invalid_credentials");
    assert.equal(err.serverCode, "AUTH_001");
    assert.equal(err.status, 400);
    assert.equal(out.isAuthenticated, false);
  });

  test("after maxFailedLogins wrong passwords: account_locked, status 403, AUTH_003, with tentativasRestantes and desbloqueioEm", { timeout: 20_000 }, async () => {
    await env.config({ maxFailedLogins: 3 });
    const { page } = await env.newPage();
    const attempts = await page.evaluate(async (email) => {
      const auth = e2e.client();
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await e2e.settle(auth.login({ email, senha: `errada-${i}` })));
      return results;
    }, MARIA.email);

    assert.deepEqual(
      attempts.slice(0, 2).map((a) => a.error?.code),
      ["invalid_credentials", "invalid_credentials"],
    );
    const locked = attempts[2];
    assert.equal(locked.ok, false);
    assert.equal(locked.error.name, "AuthError");
    assert.equal(locked.error.code, "account_locked");
    assert.equal(locked.error.status, 403);
    assert.equal(locked.error.serverCode, "AUTH_003");
    assert.ok(locked.error.details && typeof locked.error.details === "object", `no details: ${JSON.stringify(locked.error)}`);
    assert.equal(typeof locked.error.details.tentativasRestantes, "number");
    assert.equal(typeof locked.error.details.desbloqueioEm, "string");
    assert.ok(Date.parse(locked.error.details.desbloqueioEm) > Date.now(), "desbloqueioEm is not in the future");

    // Locked means locked: even the right password now answers account_locked.
    const right = await page.evaluate((credentials) => e2e.settle(auth.login(credentials)), MARIA);
    assert.equal(right.error?.code, "account_locked");
  });
});

describe("before login", () => {
  test("auth.fetch('/v1/cidadao/me') rejects not_authenticated and sends nothing", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage();
    const out = await page.evaluate(() => {
      e2e.client();
      return e2e.call("/v1/cidadao/me");
    });
    assert.equal(out.ok, false, `the call resolved with ${out.status}`);
    assert.equal(out.error.name, "AuthError");
    assert.equal(out.error.code, "not_authenticated");
    const c = await env.counters();
    assert.equal(requestsTo(c, "/v1/cidadao/me"), 0, "the request reached the server");
  });
});
