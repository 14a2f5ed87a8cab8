// DESIGN rule 11 (issue 10, defects 1 and 4): versions are counters, a logout is a version too,
// and channel messages are untrusted — against the real server, tabs of one browser context.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, openClientTab, useE2E } from "./harness.mjs";

const env = useE2E();

const openTab = (context) => openClientTab(context, env.server);

const settle = (ms) => new Promise((r) => setTimeout(r, ms));

describe("versions across tabs", () => {
  test("a tab back from the back/forward cache learns of the logout it missed; its late renewal never logs the other tab back in", { timeout: 30_000 }, async () => {
    const context = await env.browser.newContext();
    try {
      const [a, b] = [await openTab(context), await openTab(context)];
      await a.evaluate((credentials) => auth.login(credentials), MARIA);
      assert.equal(await b.evaluate(() => auth.restore()), true);
      // B goes into the back/forward cache: it lets go of the channel.
      await b.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true })));
      await a.evaluate(() => auth.logout());
      // Still frozen, B renews on its own (no one to tell).
      assert.equal((await b.evaluate(() => e2e.settle(auth.refresh()))).ok, true);
      // B comes back.
      await b.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true })));
      await settle(800);
      const afterB = await b.evaluate(() => ({ on: auth.isAuthenticated, events: e2e.events.map((e) => e.detail?.reason ?? e.type) }));
      assert.equal(afterB.on, false, `B kept its session after A's logout: ${afterB.events}`);
      assert.ok(afterB.events.includes("other_tab"), `events: ${afterB.events}`);
      const afterA = await a.evaluate(() => ({ on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) }));
      assert.equal(afterA.on, false, "B's renewal logged A back in");
      assert.deepEqual(afterA.events, ["login", "logout"]);
      const call = await b.evaluate(() => e2e.call("/v1/cidadao/me"));
      assert.equal(call.error?.code, "not_authenticated");
    } finally {
      await context.close();
    }
  });

  test("a forged session message from the far future is not adopted and pins nothing: real renewals still reach every tab", { timeout: 30_000 }, async () => {
    const context = await env.browser.newContext();
    try {
      const [a, b] = [await openTab(context), await openTab(context)];
      await a.evaluate((credentials) => auth.login(credentials), MARIA);
      assert.equal(await b.evaluate(() => auth.restore()), true);
      const before = await b.evaluate(() => auth.expiresAt);
      // Any script of the origin can post on the channel.
      await b.evaluate((origin) => {
        const channel = new BroadcastChannel(`authfetch:${origin}`);
        const now = Date.now();
        channel.postMessage({
          type: "session", from: 0.5, access: "forged-token", lineage: 4294967295, counter: 4294967295,
          receivedAt: now, expiresAt: now + 3600_000,
        });
        channel.postMessage({ type: "session", from: 0.5, access: "forged-token", lineage: Math.floor(now / 1000) + 86400, counter: 0, receivedAt: now, expiresAt: now + 3600_000 });
        channel.close();
      }, env.server.origin);
      await settle(300);
      assert.equal(await a.evaluate(() => auth.expiresAt), before, "A took the forged session");
      const call = await a.evaluate(() => e2e.call("/v1/cidadao/me"));
      assert.equal(call.status, 200, "A's calls no longer carry its real token");
      // A real renewal in A reaches B.
      assert.equal((await a.evaluate(() => e2e.settle(auth.refresh()))).ok, true);
      await settle(300);
      const [ea, eb] = await Promise.all([a, b].map((t) => t.evaluate(() => auth.expiresAt)));
      assert.ok(ea > before, "A did not renew");
      assert.equal(eb, ea, "B did not take A's renewal");
      const c = await env.counters();
      assert.equal(c.reuseDetections, 0);
    } finally {
      await context.close();
    }
  });
});
