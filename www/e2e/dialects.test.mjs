// One scenario table, run against every seed dialect (seeds.mjs): authfetch configured as the
// README says — configuration only — against the reference server's /s000 … /s003 and /v1.
//
// Time is the page's fake clock where expiry matters; the network and the server are real, so
// after moving the clock the tests poll the server's counters in real time for a moment.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pollUntil, requestsTo, sleep, useE2E, waitForCounters } from "./harness.mjs";
import {
  EMPTY_STORES,
  SEEDS,
  assertNear,
  assertNoToken,
  journal,
  readPersistentStores,
  renewalRequests,
  renewals,
  watchAuthAnswers,
} from "./seeds.mjs";

const env = useE2E();

/** test.html with the fake clock installed before load and paused once the package is ready. */
async function pausedClockPage() {
  const opened = await env.newPage({ clock: true });
  const now = await opened.page.evaluate(() => Date.now());
  await opened.page.clock.pauseAt(now + 1000);
  return opened;
}

/** A client with the seed's configuration (plus `extra`), logged in with the seed's user. */
async function signIn(page, seed, extra = {}) {
  const out = await page.evaluate(
    async ({ config, credentials }) => {
      const auth = e2e.client(config);
      const result = await e2e.settle(auth.login(credentials));
      return { result, now: Date.now(), expiresAt: auth.expiresAt, refreshAt: auth.refreshAt };
    },
    { config: { ...seed.config(env.server.origin), ...extra }, credentials: seed.credentials },
  );
  assert.equal(out.result.ok, true, `login failed: ${JSON.stringify(out.result.error)}`);
  return out;
}

const call = (page, path) => page.evaluate((p) => e2e.call(p), path);

/** Counters after giving a request that should NOT happen a real-time chance to show up. */
async function countersAfterQuietPeriod() {
  await sleep(400);
  return env.counters();
}

for (const seed of SEEDS) {
  const ttl = seed.ttlSeconds * 1000;

  describe(`${seed.name}: ${seed.title}`, () => {
    test(`${seed.name}: login, then an authenticated call; the expiry is known`, { timeout: 20_000 }, async () => {
      const { page } = await env.newPage();
      const t = await signIn(page, seed);
      // Every seed lets the expiry be known: expires_in, expiresIn, or the JWT's exp − iat.
      assertNear(t.expiresAt, t.now + ttl, "expiresAt is not login time + the token's lifetime");

      const r = await call(page, seed.apiPath);
      assert.equal(r.status, 200, JSON.stringify(r));
      assert.ok(seed.checkBody(r.body), `unexpected body: ${JSON.stringify(r.body)}`);
      const c = await env.counters();
      assert.equal(c.logins, 1);
      assert.equal(c.bearerRequests[seed.apiPath], 1, "the call did not carry the bearer");
      assert.equal(c.refreshRequests, 0);
    });

    test(`${seed.name}: proactive renewal one minute before expiry (not 70 s before), once`, { timeout: 25_000 }, async () => {
      const { page } = await pausedClockPage();
      const t = await signIn(page, seed);

      // Some use of the API on the way (seed 000 renews only while the API is in use).
      const used = Math.round(ttl * 0.6);
      await page.clock.runFor(used);
      assert.equal((await call(page, seed.apiPath)).status, 200);

      await page.clock.runFor(ttl - 70_000 - used);
      let c = await countersAfterQuietPeriod();
      assert.equal(renewalRequests(seed, c), 0, "renewed 70 s before expiry");

      await page.clock.runFor(20_000);
      c = await waitForCounters(env, (x) => renewals(seed, x) >= 1);
      assert.equal(renewals(seed, c), 1, "no renewal by 50 s before expiry");
      c = await countersAfterQuietPeriod();
      assert.equal(renewalRequests(seed, c), 1, "more than one renewal");
      if (seed.name === "s001") assert.equal(c.logins, 2, "seed 001's renewal is a second login");

      const moved = await pollUntil(async () => {
        const at = await page.evaluate(() => auth.expiresAt);
        return at > t.expiresAt ? at - t.expiresAt : 0;
      }, { timeout: 3000 });
      assertNear(moved, ttl - 60_000, "expiresAt did not move by the renewal's timing", 10_000);
      const after = await call(page, seed.apiPath);
      assert.equal(after.status, 200);
      const events = await page.evaluate(() => e2e.events.map((e) => e.type));
      assert.ok(events.includes("refresh"), `no refresh event: ${events}`);
      assert.ok(!events.includes("logout"), `unexpected logout: ${events}`);
    });

    test(`${seed.name}: a token the page knows is expired is renewed before the call is sent`, { timeout: 20_000 }, async () => {
      const { page } = await pausedClockPage();
      const t = await signIn(page, seed);
      // The page's clock passes the expiry without any timer running (a sleeping laptop).
      await page.clock.setSystemTime(t.now + ttl + 5000);

      const r = await call(page, seed.apiPath);
      assert.equal(r.status, 200, JSON.stringify(r));
      const c = await env.counters();
      assert.equal(renewals(seed, c), 1, "no renewal");
      assert.equal(requestsTo(c, seed.apiPath), 1, "the call was sent more than once (or with the old token first)");
      const order = await journal(env.server.origin);
      const renewal = order.lastIndexOf(seed.renewalRoute);
      const sent = order.indexOf(`GET ${seed.apiPath}`);
      assert.ok(renewal >= 0 && sent > renewal, `the call went out before the renewal: ${order.join(", ")}`);
    });

    if (seed.retriesAfter401) {
      test(`${seed.name}: a token the server expired: 401, one renewal, the call is retried and succeeds`, { timeout: 20_000 }, async () => {
        const { page } = await env.newPage();
        await signIn(page, seed);
        await env.control("expire-access");

        const r = await call(page, seed.apiPath);
        assert.equal(r.status, 200, JSON.stringify(r));
        assert.ok(seed.checkBody(r.body));
        const c = await env.counters();
        assert.equal(requestsTo(c, seed.apiPath), 2, "expected the 401 and one retry");
        assert.equal(renewalRequests(seed, c), 1);
        assert.equal(renewals(seed, c), 1);
        assert.equal(c.reuseDetections, 0);
        assert.equal(await page.evaluate(() => auth.isAuthenticated), true);
      });
    } else {
      test(`${seed.name}: a token the server expired: the 401 is final, nothing is re-sent (maxRetries 0)`, { timeout: 20_000 }, async () => {
        const { page } = await env.newPage();
        await signIn(page, seed);
        await env.control("expire-access");

        const r = await call(page, seed.apiPath);
        assert.equal(r.ok, false, `the call resolved: ${JSON.stringify(r)}`);
        assert.equal(r.error.code, "session_expired");
        assert.equal(r.error.status, 401);
        const c = await env.counters();
        assert.equal(requestsTo(c, seed.apiPath), 1, "a 401 was re-sent");
        assert.equal(c.refreshRequests, 0);
        const state = await page.evaluate(() => ({ on: auth.isAuthenticated, events: e2e.events }));
        assert.equal(state.on, false);
        assert.equal(state.events.find((e) => e.type === "logout")?.detail?.reason, "session_expired");
      });
    }

    test(`${seed.name}: the renewal refused: logout event, the page goes to /login, the call rejects session_expired`, { timeout: 25_000 }, async () => {
      const clientKnows = !seed.retriesAfter401;
      const { page, reports } = clientKnows ? await pausedClockPage() : await env.newPage();
      // Default loginUrl ("/login"): the key is removed so the library's default applies.
      const t = await signIn(page, seed, { loginUrl: undefined });
      if (clientKnows) await page.clock.setSystemTime(t.now + ttl + 5000);
      else await env.control("expire-access");
      await seed.refuseRenewal(env);

      // The server holds the /login document a moment, so the call's outcome is reported
      // before the page goes (in every engine: no request interception needed).
      await env.control("delay-page", { path: "/login", ms: 500 });
      const navigated = page.waitForURL((url) => url.pathname === "/login", { timeout: 10_000 });
      await page.evaluate((path) => {
        e2e.call(path).then((result) => window.__e2eReport({ kind: "call", result }));
      }, seed.apiPath);
      await navigated;

      const outcome = await pollUntil(() => reports.find((r) => r.kind === "call"), { timeout: 3000 });
      const logout = reports.find((r) => r.kind === "event" && r.type === "logout");
      assert.ok(logout, `no logout event; reports: ${JSON.stringify(reports)}`);
      assert.equal(logout.detail?.reason, "refresh_rejected");
      assert.ok(outcome, "the call's outcome was not reported before the page left");
      assert.equal(outcome.result.ok, false, "the call resolved");
      assert.equal(outcome.result.error.code, "session_expired");
      await page.waitForSelector("#session-ended", { timeout: 5000 });

      const c = await env.counters();
      assert.equal(renewalRequests(seed, c), 1, "expected exactly one renewal attempt");
      assert.equal(renewals(seed, c), 0);
      assert.equal(requestsTo(c, seed.apiPath), clientKnows ? 0 : 1, "the call was sent again after the refusal");
    });

    test(`${seed.name}: no token or password text in storage, cookies, IndexedDB, the console or events`, { timeout: 20_000 }, async () => {
      const { page, consoleMessages } = await env.newPage();
      const answers = watchAuthAnswers(page, [seed.loginEndpoint, seed.refreshEndpoint].filter(Boolean));
      await signIn(page, seed);
      const renewed = await page.evaluate(() => e2e.settle(auth.refresh()));
      assert.equal(renewed.ok, true, `renewal failed: ${JSON.stringify(renewed.error)}`);
      assert.equal((await call(page, seed.apiPath)).status, 200);
      // Some console output of the page's own, to show the console really is being read.
      await page.evaluate(() => console.info("e2e: console is recorded"));

      assert.deepEqual(await readPersistentStores(page), EMPTY_STORES, "something was stored");
      const tokens = await answers.tokens();
      assert.ok(tokens.length >= 2, `expected at least 2 token texts from the network, got ${tokens.length}`);
      const secrets = [...tokens, Object.values(seed.credentials)[1]];
      const consoleText = consoleMessages.map((m) => m.text).join("\n");
      assert.match(consoleText, /console is recorded/);
      assertNoToken(consoleText, secrets, "a console message");
      assertNoToken(await page.evaluate(() => JSON.stringify(e2e.events)), secrets, "an event detail");
      assertNoToken(
        await page.evaluate(() => Object.keys(localStorage).join() + Object.keys(sessionStorage).join()),
        secrets,
        "a storage key",
      );
    });
  });
}
