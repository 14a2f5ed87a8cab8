// DESIGN rules 1 and 6, key crossTab: one session across the tabs of one browser context.
//
// Several pages of ONE context (they share BroadcastChannel and Web Locks, as tabs do), against
// the reference server with single-use refresh tokens. Time is the context's fake clock, shared
// by every tab, so proactive deadlines can be driven without waiting for them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, openClientTab, pollUntil, requestsTo, sleep, useE2E, waitForCounters } from "./harness.mjs";

const env = useE2E();

/**
 * Opens `count` tabs of one new context. With `clock`, the context's fake clock is installed
 * before the pages load and paused once they are ready. Without `locks`, the Web Locks API is
 * removed from every page before any script runs.
 */
async function openTabs(count, { clock = false, locks = true } = {}) {
  const context = await env.browser.newContext();
  if (!locks) {
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined, configurable: true });
    });
  }
  if (clock) await context.clock.install();
  const tabs = [];
  for (let i = 0; i < count; i++) tabs.push(await openTab(context));
  if (clock) {
    const now = await tabs[0].evaluate(() => Date.now());
    await context.clock.pauseAt(now + 1000);
  }
  const close = () => context.close().catch(() => {});
  return { context, tabs, close };
}

const openTab = (context) => openClientTab(context, env.server);

const expiries = (tabs) => Promise.all(tabs.map((t) => t.evaluate(() => auth.expiresAt)));
const logins = (events) => events.filter((e) => e.type === "login").length;

/** Tab 0 logs in; the others join through restore(), without a login of their own. */
async function signInAll(tabs) {
  await tabs[0].evaluate((credentials) => auth.login(credentials), MARIA);
  for (const tab of tabs.slice(1)) {
    assert.equal(await tab.evaluate(() => auth.restore()), true, "a tab could not join the live session");
  }
  const c = await env.counters();
  assert.equal(c.logins, 1, "joining tabs must not log in again");
}

/**
 * One proactive cycle: runs the shared clock to the deadline the tabs agree on, lets the tabs
 * talk (real time), runs past the claim window, then waits for the server's refresh `n` and for
 * every tab to hold the same, newer expiry.
 */
async function cycle(context, tabs, n) {
  const before = await expiries(tabs);
  const deadlines = await Promise.all(tabs.map((t) => t.evaluate(() => auth.refreshAt)));
  assert.ok(deadlines.every((d) => d === deadlines[0]), `the tabs disagree on the deadline: ${deadlines}`);
  const now = await tabs[0].evaluate(() => Date.now());
  await context.clock.runFor(Math.max(0, deadlines[0] - now));
  await sleep(50);
  await context.clock.runFor(300);
  const c = await waitForCounters(env, (x) => x.refreshes >= n, { timeout: 8000 });
  const after = await pollUntil(async () => {
    const e = await expiries(tabs);
    return e.every((x) => x === e[0] && x > before[0]) ? e : undefined;
  }, { timeout: 5000 });
  if (!after) {
    const events = await Promise.all(tabs.map((t) => t.evaluate(() => e2e.events.map((e) => `${e.type}:${e.detail?.reason ?? e.detail?.code ?? ""}`))));
    const counters = await env.counters();
    assert.fail(`cycle ${n}: the tabs did not all take the new tokens: ${await expiries(tabs)} (before ${before}); ` +
      `server ${JSON.stringify({ refreshRequests: counters.refreshRequests, refreshes: counters.refreshes, reuse: counters.reuseDetections })}; ` +
      `events ${JSON.stringify(events.map((l) => l.slice(-4)))}`);
  }
  return c;
}

/**
 * 20 proactive cycles of 65 s tokens in 4 tabs. With Web Locks: exactly one refresh per cycle.
 * Without: the elected leader renews for all; a follower's late request may cost the leader an
 * extra rotation, never a reused refresh token.
 */
async function twentyCycles({ locks }) {
  await env.config({ accessTtlSeconds: 65 });
  const { context, tabs, close } = await openTabs(4, { clock: true, locks });
  try {
    if (!locks) assert.equal(await tabs[1].evaluate(() => navigator.locks), undefined);
    await signInAll(tabs);
    for (let n = 1; n <= 20; n++) {
      const c = await cycle(context, tabs, n);
      if (locks) assert.equal(c.refreshRequests, n, `cycle ${n}: ${c.refreshRequests} refreshes (expected one per cycle)`);
      else if (c.refreshRequests > 2 * n) {
        const events = await Promise.all(tabs.map((t) => t.evaluate(() => e2e.events.map((e) => `${e.type}:${e.detail?.reason ?? e.detail?.code ?? ""}@${e.at}`))));
        assert.fail(`cycle ${n}: ${c.refreshRequests} refreshes; events ${JSON.stringify(events)}`);
      }
      assert.equal(c.reuseDetections, 0, `cycle ${n}: a used refresh token was presented`);
    }
    const c = await env.counters();
    if (locks) assert.equal(c.refreshRequests, 20);
    assert.equal(c.refreshes, c.refreshRequests, "every refresh succeeded");
    assert.equal(c.reuseDetections, 0);
    assert.equal(c.logins, 1);
    const events = await Promise.all(tabs.map((t) => t.evaluate(() => e2e.events.map((e) => e.type))));
    for (const [i, list] of events.entries()) {
      assert.ok(!list.includes("logout"), `tab ${i + 1} was logged out: ${list}`);
      assert.ok(list.filter((t) => t === "refresh").length >= 20, `tab ${i + 1} missed refreshes: ${list}`);
    }
  } finally {
    await close();
  }
}

describe("one refresh for all tabs", () => {
  test("4 tabs, 65 s tokens, single-use refresh tokens: 20 cycles cost 20 refreshes and 0 reuse detections; every tab follows", { timeout: 120_000 }, async () => {
    await twentyCycles({ locks: true });
  });

  test("the same without the Web Locks API (a leader elected over the channel): every cycle renewed, no reuse, no logout", { timeout: 120_000 }, async () => {
    await twentyCycles({ locks: false });
  });

  test("4 tabs each firing 25 concurrent calls on an expired token: one refresh, 100 successes", { timeout: 30_000 }, async () => {
    const { tabs, close } = await openTabs(4);
    try {
      await signInAll(tabs);
      await env.control("expire-access");
      const results = await Promise.all(
        tabs.map((t) => t.evaluate(() => Promise.all(Array.from({ length: 25 }, () => e2e.call("/v1/cidadao/me"))))),
      );
      const flat = results.flat();
      assert.equal(flat.length, 100);
      const failed = flat.filter((r) => !r.ok || r.status !== 200);
      assert.equal(failed.length, 0, `failed calls: ${JSON.stringify(failed.slice(0, 3))}`);
      const c = await env.counters();
      assert.equal(c.refreshRequests, 1, `${c.refreshRequests} refreshes for 100 expired calls in 4 tabs`);
      assert.equal(c.reuseDetections, 0);
      assert.ok(requestsTo(c, "/v1/cidadao/me") <= 200, "more than one retry per call");
    } finally {
      await close();
    }
  });
});

describe("logout everywhere", () => {
  test("logout in tab 1 reaches tabs 2-4 within a second (reason other_tab); their next fetch is not sent", { timeout: 30_000 }, async () => {
    const { tabs, close } = await openTabs(4);
    try {
      await signInAll(tabs);
      await tabs[0].evaluate(() => auth.logout());
      for (const [i, tab] of tabs.slice(1).entries()) {
        const ended = await pollUntil(
          () => tab.evaluate(() => e2e.events.find((e) => e.type === "logout")?.detail?.reason),
          { timeout: 1000 },
        );
        assert.equal(ended, "other_tab", `tab ${i + 2} did not end its session with reason other_tab`);
        assert.equal(await tab.evaluate(() => auth.isAuthenticated), false);
      }
      const before = requestsTo(await env.counters(), "/v1/cidadao/me");
      for (const tab of tabs.slice(1)) {
        const result = await tab.evaluate(() => e2e.call("/v1/cidadao/me"));
        assert.equal(result.error?.code, "not_authenticated");
      }
      assert.equal(requestsTo(await env.counters(), "/v1/cidadao/me"), before, "a logged-out tab reached the server");
    } finally {
      await close();
    }
  });

  test("a session the server ended in one tab ends in every tab", { timeout: 30_000 }, async () => {
    const { tabs, close } = await openTabs(3);
    try {
      await signInAll(tabs);
      await env.control("revoke", { all: true });
      const refresh = await tabs[0].evaluate(() => e2e.settle(auth.refresh()));
      assert.equal(refresh.error?.code, "session_expired");
      for (const tab of tabs.slice(1)) {
        const reason = await pollUntil(
          () => tab.evaluate(() => e2e.events.find((e) => e.type === "logout")?.detail?.reason),
          { timeout: 1000 },
        );
        assert.equal(reason, "other_tab");
      }
      assert.equal((await env.counters()).refreshRequests, 1, "the other tabs must not try the dead refresh token");
    } finally {
      await close();
    }
  });
});

describe("new tabs join", () => {
  test("a fifth tab opened later: restore() is true, its first call succeeds, and the server saw no login", { timeout: 30_000 }, async () => {
    const { context, tabs, close } = await openTabs(4);
    try {
      await signInAll(tabs);
      const fifth = await openTab(context);
      const restored = await fifth.evaluate(() => auth.restore());
      assert.equal(restored, true);
      const events = await fifth.evaluate(() => e2e.events);
      assert.equal(logins(events), 1, "joining emits one login event in the new tab");
      const call = await fifth.evaluate(() => e2e.call("/v1/cidadao/me"));
      assert.equal(call.status, 200);
      assert.equal(call.body?.email, MARIA.email);
      const c = await env.counters();
      assert.equal(c.logins, 1, "the fifth tab logged in instead of joining");
      assert.equal(c.refreshRequests, 0);
      const expiresAt = await Promise.all([tabs[0], fifth].map((t) => t.evaluate(() => auth.expiresAt)));
      assert.equal(expiresAt[0], expiresAt[1], "the joining tab must hold the same expiry");
    } finally {
      await close();
    }
  });

  test("with no live tab, restore() is false and nothing is sent", { timeout: 20_000 }, async () => {
    const { tabs, close } = await openTabs(1);
    try {
      assert.equal(await tabs[0].evaluate(() => auth.restore()), false);
      const c = await env.counters();
      assert.equal(c.refreshRequests, 0);
      assert.equal(c.logins, 0);
    } finally {
      await close();
    }
  });

  test("crossTab: false keeps each tab to itself", { timeout: 20_000 }, async () => {
    const { tabs, close } = await openTabs(2);
    try {
      await tabs[0].evaluate(() => e2e.client({ crossTab: false }));
      await tabs[1].evaluate(() => e2e.client({ crossTab: false }));
      await tabs[0].evaluate((credentials) => auth.login(credentials), MARIA);
      assert.equal(await tabs[1].evaluate(() => auth.restore()), false);
      assert.equal(await tabs[1].evaluate(() => auth.isAuthenticated), false);
    } finally {
      await close();
    }
  });
});

describe("release", () => {
  const ourLocks = (tab) =>
    tab.evaluate(async () => (await navigator.locks.query()).held.map((l) => l.name).filter((n) => n.startsWith("authfetch:")));

  test("free() releases the tab's lock and channel; pagehide releases them and pageshow takes them back", { timeout: 30_000 }, async () => {
    const { tabs, close } = await openTabs(3);
    try {
      await signInAll(tabs);
      // Every tab holds the shared marker of the version it holds.
      const held = await pollUntil(async () => {
        const names = await ourLocks(tabs[0]);
        return names.length === 3 ? names : undefined;
      }, { timeout: 3000 });
      assert.ok(held, `expected 3 version markers, saw ${await ourLocks(tabs[0])}`);
      assert.equal(new Set(held).size, 1, "all tabs hold the same version");

      // free(): the marker goes, and the freed client hears nothing more.
      await tabs[2].evaluate(() => auth.free());
      const afterFree = await pollUntil(async () => {
        const names = await ourLocks(tabs[0]);
        return names.length === 2 ? names : undefined;
      }, { timeout: 3000 });
      assert.ok(afterFree, `free() did not release the marker: ${await ourLocks(tabs[0])}`);

      // pagehide: tab 2 lets go of its marker and channel, so a logout elsewhere does not reach it.
      await tabs[1].evaluate(() => window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true })));
      const afterHide = await pollUntil(async () => {
        const names = await ourLocks(tabs[0]);
        return names.length === 1 ? names : undefined;
      }, { timeout: 3000 });
      assert.ok(afterHide, `pagehide did not release the marker: ${await ourLocks(tabs[0])}`);
      await tabs[0].evaluate(() => auth.logout());
      await sleep(300);
      assert.equal(await tabs[1].evaluate(() => auth.isAuthenticated), true, "a hidden page still heard the channel");

      // pageshow (back from the back/forward cache): the channel reopens and the tab asks what it missed.
      await tabs[0].evaluate((credentials) => auth.login(credentials), MARIA);
      await tabs[1].evaluate(() => window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true })));
      const rejoined = await pollUntil(async () => {
        const [a, b] = await Promise.all(tabs.slice(0, 2).map((t) => t.evaluate(() => auth.expiresAt)));
        return a !== undefined && a === b;
      }, { timeout: 3000 });
      assert.ok(rejoined, "after pageshow the tab did not take the session the other tab holds");
    } finally {
      await close();
    }
  });

  test("without Web Locks, free() in the leader says goodbye: the other tab leads and renews at once (each tab freed in turn)", { timeout: 40_000 }, async () => {
    // The leader is the tab with the lowest random id; freeing each tab in turn, in two fresh
    // contexts, frees the leader in one of them.
    for (const freed of [0, 1]) {
      await env.reset();
      const { tabs, close } = await openTabs(2, { locks: false });
      try {
        await signInAll(tabs);
        await tabs[freed].evaluate(() => auth.free());
        const other = tabs[1 - freed];
        const started = Date.now();
        const renewed = await other.evaluate(() => e2e.settle(auth.refresh()));
        assert.equal(renewed.ok, true, `tab ${1 - freed} could not renew after tab ${freed} was freed: ${JSON.stringify(renewed.error)}`);
        assert.ok(Date.now() - started < 2500, "the renewal waited for a leader that was gone");
        const c = await env.counters();
        assert.equal(c.refreshes, 1);
        assert.equal(c.reuseDetections, 0);
        assert.equal(await other.evaluate(() => auth.isAuthenticated), true);
      } finally {
        await close();
      }
    }
  });
});
