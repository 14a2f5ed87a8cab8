// Rule 1: tokens live in memory only, and no token text ever reaches a log, an event or an error.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, useE2E } from "./harness.mjs";
import { EMPTY_STORES as EMPTY, assertNoToken, readPersistentStores } from "./seeds.mjs";

const env = useE2E();

describe("memory only", () => {
  test("after login and after a refresh, localStorage, sessionStorage, cookies, IndexedDB and CacheStorage hold nothing", { timeout: 20_000 }, async () => {
    const { page, tokenTexts } = await env.newPage();

    await page.evaluate((credentials) => e2e.client().login(credentials), MARIA);
    assert.deepEqual(await readPersistentStores(page), EMPTY, "something was stored after login");

    const refreshed = await page.evaluate(async () => {
      const r = await e2e.settle(auth.refresh());
      const me = await e2e.call("/v1/cidadao/me");
      return { r, status: me.status };
    });
    assert.equal(refreshed.r.ok, true, `refresh rejected: ${JSON.stringify(refreshed.r.error)}`);
    assert.equal(refreshed.status, 200);
    assert.deepEqual(await readPersistentStores(page), EMPTY, "something was stored after the refresh");

    // The login and refresh answers were really seen: two tokens each.
    const tokens = await tokenTexts();
    assert.ok(tokens.length >= 4, `expected the texts of 4 tokens from the network, got ${tokens.length}`);
    const c = await env.counters();
    assert.equal(c.refreshes, 1);
  });

  test("no console message, event detail or error contains a token text", { timeout: 20_000 }, async () => {
    const { page, consoleMessages, tokenTexts } = await env.newPage();

    const seen = await page.evaluate(async (credentials) => {
      const auth = e2e.client();
      const out = [];
      // A failed login, a login, a refresh, an expired-token retry, then a revoked session:
      // every path that could be tempted to log something.
      out.push(await e2e.settle(auth.login({ email: credentials.email, senha: "errada" })));
      await auth.login(credentials);
      out.push(await e2e.settle(auth.refresh()));
      return out;
    }, MARIA);
    await env.control("expire-access");
    const retried = await page.evaluate(() => e2e.call("/v1/cidadao/me"));
    assert.equal(retried.status, 200, `the call after expire-access failed: ${JSON.stringify(retried)}`);
    await env.control("revoke", { all: true });
    const ended = await page.evaluate(() => e2e.call("/v1/cidadao/me"));
    assert.equal(ended.ok, false);

    const tokens = await tokenTexts();
    assert.ok(tokens.length >= 6, `expected the texts of 6 tokens (login + 2 refreshes), got ${tokens.length}`);
    const c = await env.counters();
    assert.equal(c.refreshes, 2, "the test did not exercise two refreshes");

    assertNoToken(consoleMessages.map((m) => m.text).join("\n"), tokens, "a console message");
    const events = await page.evaluate(() => JSON.stringify(e2e.events));
    assert.ok(events.includes('"logout"'), "no logout event was recorded");
    assertNoToken(events, tokens, "an event detail");
    assertNoToken(JSON.stringify([seen, ended]), tokens, "an error");
    // The page-visible surface of the client: its own enumerable state and its string form.
    const surface = await page.evaluate(() => {
      const parts = [String(auth)];
      for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(auth))) {
        try {
          const v = auth[key];
          if (typeof v !== "function") parts.push(`${key}=${JSON.stringify(v)}`);
        } catch {
          // getters that throw are fine
        }
      }
      return parts.join("\n");
    });
    assertNoToken(surface, tokens, "a property of the AuthClient");
  });

  test("once dropped, no token, refresh token or password is left in the wasm memory; what the session holds is", { timeout: 20_000 }, async () => {
    const { page, tokenTexts } = await env.newPage();
    /**
     * Which of `texts` the package's wasm memory holds: their last 16 bytes, byte for byte (a
     * freed block's first bytes are overwritten by the allocator's own bookkeeping, so a whole
     * text could be missed where its end is still there).
     */
    const inMemory = (texts) =>
      page.evaluate((texts) => {
        const memory = window.authfetchMemory;
        if (!(memory instanceof WebAssembly.Memory)) throw new Error("test.html did not catch the package's wasm memory");
        const bytes = new TextDecoder("latin1").decode(new Uint8Array(memory.buffer));
        return texts.filter((t) => bytes.includes(t.slice(-16)));
      }, texts);

    await page.evaluate((credentials) => e2e.client().login(credentials), MARIA);
    // A call makes the bearer's header value, in the wasm memory, then hands it to JavaScript.
    assert.equal((await page.evaluate(() => e2e.call("/v1/cidadao/me"))).status, 200);
    const first = await tokenTexts();
    assert.equal(first.length, 2, `expected an access and a refresh token, got ${first.length}`);
    assert.deepEqual((await inMemory(first)).sort(), [...first].sort(), "the session's tokens are not where the scan looks");

    const refreshed = await page.evaluate(() => e2e.settle(auth.refresh()));
    assert.equal(refreshed.ok, true, JSON.stringify(refreshed));
    assert.equal((await page.evaluate(() => e2e.call("/v1/cidadao/me"))).status, 200);
    const second = (await tokenTexts()).filter((t) => !first.includes(t));
    assert.equal(second.length, 2);
    assert.deepEqual(await inMemory(first), [], "a replaced token is still in the wasm memory");
    assert.ok((await inMemory(second)).length > 0, "the held tokens are not where the scan looks");

    await page.evaluate(() => auth.logout());
    assert.deepEqual(await inMemory([...first, ...second, MARIA.senha]), [], "a dropped token or the password is still in the wasm memory");
  });
});
