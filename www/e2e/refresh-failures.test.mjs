// Rule 7: refresh failures are classified — transient ones back off and keep the session,
// a rejected refresh ends it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, requestsTo, sleep, useE2E, waitForCounters } from "./harness.mjs";

const env = useE2E();

describe("transient refresh failures", () => {
  test("refresh answering 503 three times: the session is kept, backoff retries, the 4th attempt succeeds", { timeout: 25_000 }, async () => {
    // 120 s tokens: the proactive refresh is due at 60 s, and the token stays valid for 60 s more,
    // far longer than 1 + 2 + 4 s of backoff.
    await env.config({ accessTtlSeconds: 120 });
    const { page } = await env.newPage({ clock: true });
    const now = await page.evaluate(() => Date.now());
    await page.clock.pauseAt(now + 1000);
    await page.evaluate((credentials) => e2e.client().login(credentials), MARIA);
    await env.control("fail-refresh", { count: 3, mode: "503" });

    await page.clock.runFor(60_000);
    let c = await waitForCounters(env, (x) => x.refreshRequests >= 1);
    assert.equal(c.refreshRequests, 1, "the proactive refresh did not start at 60 s");

    // Retries wait for a timer: with the page clock paused, nothing more happens.
    await sleep(800);
    c = await env.counters();
    assert.equal(c.refreshRequests, 1, "the failed refresh was retried without waiting");

    // Let page time pass in small steps (real time in between for the network) until it succeeds.
    let pageMsElapsed = 0;
    while (c.refreshes < 1 && pageMsElapsed < 50_000) {
      await page.clock.runFor(250);
      pageMsElapsed += 250;
      c = await env.counters();
    }
    // Give a wrongly scheduled extra attempt the chance to show up.
    await page.clock.runFor(2000);
    await sleep(300);
    c = await env.counters();

    assert.equal(c.refreshes, 1, `no successful refresh after ${pageMsElapsed} ms of page time`);
    assert.equal(c.refreshRequests, 4, "expected 3 failed attempts and 1 success");
    // Backoff 1 s + 2 s + 4 s (with jitter): seconds of page time, not an immediate retry loop.
    assert.ok(pageMsElapsed >= 1500, `the retries came after only ${pageMsElapsed} ms`);

    const state = await page.evaluate(() => ({
      isAuthenticated: auth.isAuthenticated,
      events: e2e.events.map((e) => e.type),
    }));
    assert.equal(state.isAuthenticated, true, "the session was dropped on a transient failure");
    assert.ok(!state.events.includes("logout"), `a logout event on a transient failure: ${state.events}`);
    const me = await page.evaluate(() => e2e.call("/v1/cidadao/me"));
    assert.equal(me.status, 200);
  });
});

describe("rejected refresh", () => {
  test("the refresh endpoint answering 401 ends the session: logout event, rejection session_expired", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage();
    await page.evaluate((credentials) => e2e.client().login(credentials), MARIA);
    await env.control("revoke", { all: true });

    const out = await page.evaluate(async () => {
      const refresh = await e2e.settle(auth.refresh());
      return { refresh, isAuthenticated: auth.isAuthenticated, events: e2e.events };
    });
    assert.equal(out.refresh.ok, false, "refresh resolved although the server rejected it");
    assert.equal(out.refresh.error.name, "AuthError");
    assert.equal(out.refresh.error.code, "session_expired");
    assert.equal(out.isAuthenticated, false);
    const logout = out.events.find((e) => e.type === "logout");
    assert.ok(logout, `no logout event: ${JSON.stringify(out.events)}`);
    assert.equal(logout.detail?.reason, "refresh_rejected");
    assert.equal(out.refresh.error.status, 401);
    assert.equal(out.refresh.error.serverCode, "AUTH_007");
    assert.doesNotMatch(out.refresh.error.message, /network/i, "a rejection is not a network failure");

    // The session is gone: the next API call is not even sent.
    const before = requestsTo(await env.counters(), "/v1/cidadao/me");
    const next = await page.evaluate(() => e2e.call("/v1/cidadao/me"));
    assert.equal(next.error?.code, "not_authenticated");
    assert.equal(requestsTo(await env.counters(), "/v1/cidadao/me"), before);
    const c = await env.counters();
    assert.equal(c.refreshRequests, 1);
    assert.equal(c.refreshes, 0);
  });
});
