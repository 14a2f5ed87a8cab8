// A cross-tab refresh lock that another page of the origin takes and never releases (a tab the
// browser froze in the middle of a renewal; any script using the lock's name): the renewal waits
// for it at most LOCK_WAIT_MS (10 s, src/core/client/mod.rs), then gives up its turn without
// presenting the refresh token — the waiting call rejects `network`, the session is kept — and
// the next renewal, once the lock is free, goes through. Two pages of one context (they share
// Web Locks, as tabs do) with the context's fake clock, against the reference server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, openClientTab, pollUntil, useE2E, waitForAuthfetch } from "./harness.mjs";

const env = useE2E();

describe("a refresh lock held forever", () => {
  test("the wait ends after 10 s: the call rejects network, the session is kept, no refresh token is presented; once the lock is let go the next call renews once", { timeout: 60_000 }, async () => {
    const context = await env.browser.newContext();
    try {
      await context.clock.install();
      const holder = await context.newPage();
      await holder.goto(`${env.server.origin}/test.html`);
      await waitForAuthfetch(holder);
      const tab = await openClientTab(context, env.server);
      const now = await tab.evaluate(() => Date.now());
      await context.clock.pauseAt(now + 1000);
      await tab.evaluate((credentials) => auth.login(credentials), MARIA);

      // The other page takes the refresh lock and never lets go.
      const name = `authfetch:${env.server.origin}:refresh`;
      await holder.evaluate((name) => {
        navigator.locks.request(name, () => new Promise((resolve) => (window.letGo = resolve)));
      }, name);
      assert.ok(await pollUntil(() => holder.evaluate(() => typeof window.letGo === "function")), "the holder never got the lock");

      // The server expires the access token: the call's 401 AUTH_006 needs a renewal.
      await env.control("expire-access");
      // Started in the page and left running there (an engine whose driver runs one command at a
      // time could not move the clock while a command waited for the call).
      await tab.evaluate(() => {
        e2e.call("/v1/cidadao/me").then((result) => (window.callResult = result));
      });
      const waiting = await pollUntil(() => tab.evaluate((n) => navigator.locks.query().then((s) => s.pending.some((l) => l.name === n)), name));
      assert.ok(waiting, "the tab never asked for the refresh lock");
      await context.clock.runFor(10_000);
      const call = await pollUntil(() => tab.evaluate(() => window.callResult), { timeout: 15_000 });
      assert.ok(call, "the call is still pending after the lock wait");
      assert.equal(call.ok, false, JSON.stringify(call));
      assert.equal(call.error.code, "network", JSON.stringify(call));
      assert.match(call.error.message, /refresh lock/);
      assert.match(call.error.message, /the session is kept$/);
      const state = await tab.evaluate(() => ({
        authenticated: auth.isAuthenticated,
        events: e2e.events.map((e) => e.type),
        pending: navigator.locks.query().then((s) => s.pending.length),
      }));
      assert.equal(state.authenticated, true, "the session was lost");
      assert.ok(state.events.includes("error"), `no error event: ${state.events}`);
      assert.ok(!state.events.includes("logout"), `the session ended: ${state.events}`);
      const queued = await tab.evaluate(() => navigator.locks.query().then((s) => s.pending.length));
      assert.equal(queued, 0, "the dropped lock request is still queued");
      let c = await env.counters();
      assert.equal(c.refreshRequests, 0, "the refresh token was presented while another held the lock");

      // The lock is let go: the next call renews once and goes through.
      await holder.evaluate(() => window.letGo());
      const again = await tab.evaluate(() => e2e.call("/v1/cidadao/me"));
      assert.equal(again.status, 200, JSON.stringify(again));
      c = await env.counters();
      assert.equal(c.refreshes, 1);
      assert.equal(c.reuseDetections ?? 0, 0);
    } finally {
      await context.close().catch(() => {});
    }
  });
});
