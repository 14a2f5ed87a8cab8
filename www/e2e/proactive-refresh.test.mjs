// Rule 3: proactive refresh at expiresAt − lead, with the page clock under the test's control.
//
// The page's timers and Date are Playwright's fake clock (installed before the page loads, then
// paused); the network is real, so after moving the clock the tests poll the server's counters
// in real time for a moment.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, pollUntil, sleep, useE2E, waitForCounters } from "./harness.mjs";

const env = useE2E();

const MIN = 60_000;

/** test.html with the fake clock installed before load and paused once the package is ready. */
async function pausedClockPage() {
  const opened = await env.newPage({ clock: true });
  const now = await opened.page.evaluate(() => Date.now());
  await opened.page.clock.pauseAt(now + 1000);
  return opened;
}

async function loginAt(page) {
  return page.evaluate(async (credentials) => {
    const auth = e2e.client();
    await auth.login(credentials);
    return { now: Date.now(), expiresAt: auth.expiresAt, refreshAt: auth.refreshAt };
  }, MARIA);
}

function assertNear(actual, expected, message, tolerance = 1000) {
  assert.ok(typeof actual === "number" && Math.abs(actual - expected) <= tolerance, `${message}: ${actual} vs ${expected}`);
}

/** Counters after giving a refresh that should NOT happen a real-time chance to show up. */
async function countersAfterQuietPeriod() {
  await sleep(400);
  return env.counters();
}

describe("proactive refresh", () => {
  test("a 1 h token is refreshed once at 59 min (not at 58:50), expiresAt moves forward and the timer re-arms", { timeout: 25_000 }, async () => {
    await env.config({ accessTtlSeconds: 3600 });
    const { page } = await pausedClockPage();
    const t0 = await loginAt(page);
    assertNear(t0.expiresAt, t0.now + 60 * MIN, "expiresAt is not login time + 3600 s");

    await page.clock.runFor(58 * MIN + 50_000);
    let c = await countersAfterQuietPeriod();
    assert.equal(c.refreshRequests, 0, "refreshed before 59 min (58:50 elapsed)");

    await page.clock.runFor(20_000); // 59:10
    c = await waitForCounters(env, (x) => x.refreshes >= 1);
    assert.equal(c.refreshRequests, 1, "expected exactly one refresh by 59:10");
    assert.equal(c.refreshes, 1);
    c = await countersAfterQuietPeriod();
    assert.equal(c.refreshRequests, 1, "more than one refresh");

    // The client took the new token: expiresAt moved forward by about 59 min.
    const moved = await pollUntil(async () => {
      const expiresAt = await page.evaluate(() => auth.expiresAt);
      return expiresAt > t0.expiresAt ? expiresAt - t0.expiresAt : 0;
    }, { timeout: 3000 });
    assert.ok(moved >= 59 * MIN && moved <= 59 * MIN + 10_000, `expiresAt moved by ${moved} ms, expected about 59 min`);
    assert.equal(await page.evaluate(() => auth.isAuthenticated), true);

    // Re-armed: another hour later, a second refresh.
    await page.clock.runFor(60 * MIN);
    c = await waitForCounters(env, (x) => x.refreshes >= 2);
    assert.equal(c.refreshRequests, 2, "the timer was not re-armed after the first refresh");
    const events = await page.evaluate(() => e2e.events.map((e) => e.type));
    assert.ok(events.filter((t) => t === "refresh").length >= 1, `no refresh event: ${events}`);
    assert.ok(!events.includes("logout"), `unexpected logout: ${events}`);
  });

  test("a 20 s token is refreshed at about 10 s: the lead is capped at half the lifetime", { timeout: 20_000 }, async () => {
    await env.config({ accessTtlSeconds: 20 });
    const { page } = await pausedClockPage();
    const t0 = await loginAt(page);
    assertNear(t0.expiresAt, t0.now + 20_000, "expiresAt is not login time + 20 s");

    await page.clock.runFor(9_000);
    let c = await countersAfterQuietPeriod();
    assert.equal(c.refreshRequests, 0, "refreshed before 9 s of a 20 s token");

    await page.clock.runFor(2_000); // 11 s
    c = await waitForCounters(env, (x) => x.refreshRequests >= 1);
    assert.equal(c.refreshRequests, 1, "no refresh by 11 s of a 20 s token");
  });

  test("refreshAt is expiresAt minus 60 s for a 1 h token", { timeout: 20_000 }, async () => {
    await env.config({ accessTtlSeconds: 3600 });
    const { page } = await pausedClockPage();
    const t0 = await loginAt(page);
    assert.equal(typeof t0.refreshAt, "number", "refreshAt is not a number after login");
    assertNear(t0.refreshAt, t0.expiresAt - MIN, "refreshAt is not expiresAt - 60 s");
  });

  test("a deadline that passed while the page was hidden is caught up on visibilitychange", { timeout: 20_000 }, async () => {
    await env.config({ accessTtlSeconds: 3600 });
    const { page } = await pausedClockPage();
    const t0 = await loginAt(page);

    // The wall clock jumps past the refresh deadline (59 min) without any timer running, as when
    // a background tab's timers stall or the machine sleeps; the token itself is still valid.
    await page.clock.setSystemTime(t0.now + 59 * MIN + 30_000);
    let c = await countersAfterQuietPeriod();
    assert.equal(c.refreshRequests, 0, "a timer fired although the clock's timers were not run");

    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
      Object.defineProperty(document, "hidden", { value: false, configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    c = await waitForCounters(env, (x) => x.refreshRequests >= 1);
    assert.equal(c.refreshRequests, 1, "visibilitychange did not catch up the missed refresh");
    c = await countersAfterQuietPeriod();
    assert.equal(c.refreshRequests, 1, "more than one catch-up refresh");
    assert.equal(c.refreshes, 1);
  });
});
