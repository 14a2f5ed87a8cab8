// DESIGN rule 2, expiry without clock trust: the page's clock 10 minutes ahead of the server's,
// and separately 10 minutes behind, and the proactive renewal still lands one minute before the
// token's real end — for seed 003 (a 15-minute JWT with exp/iat and nothing else: at 14 min
// after login, not at 13:50) and seed 004 (expiresIn: at 59 min).
//
// A client that trusted the JWT's `exp` against its own clock would renew at 4 min (page ahead)
// or at 24 min, after the token died (page behind).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { sleep, useE2E, waitForCounters } from "./harness.mjs";
import { MIN, assertNear, seed as seedNamed } from "./seeds.mjs";

const env = useE2E();

/** test.html whose paused fake clock reads the server's time shifted by `skewMs`. */
async function skewedPage(skewMs) {
  const opened = await env.newPage({ clock: true });
  const now = await opened.page.evaluate(() => Date.now());
  await opened.page.clock.pauseAt(now + 1000);
  await opened.page.clock.setSystemTime(Date.now() + skewMs);
  return opened;
}

for (const name of ["s003", "s004"]) {
  const seed = seedNamed(name);
  const ttl = seed.ttlSeconds * 1000;
  for (const [label, skew] of [["ahead of", 10 * MIN], ["behind", -10 * MIN]]) {
    describe(`${name}, page clock 10 minutes ${label} the server's`, () => {
      test(`${name}: the proactive renewal comes ${ttl / MIN - 1} min after login (not ${ttl / MIN - 1} min − 10 s)`, { timeout: 25_000 }, async () => {
        const { page } = await skewedPage(skew);
        const pageNow = await page.evaluate(() => Date.now());
        assertNear(pageNow - Date.now(), skew, "the page clock is not skewed", 5000);

        const t = await page.evaluate(
          async ({ config, credentials }) => {
            const auth = e2e.client(config);
            await auth.login(credentials);
            return { now: Date.now(), expiresAt: auth.expiresAt, refreshAt: auth.refreshAt };
          },
          { config: seed.config(env.server.origin), credentials: seed.credentials },
        );
        // On the page's own clock: login time + the lifetime, whatever the server's clock says.
        assertNear(t.expiresAt, t.now + ttl, "expiresAt is not the page's login time + the lifetime");
        assertNear(t.refreshAt, t.now + ttl - MIN, "refreshAt is not one minute before expiry");

        await page.clock.runFor(ttl - MIN - 10_000);
        await sleep(400);
        let c = await env.counters();
        assert.equal(c.refreshRequests, 0, `renewed before ${ttl / MIN - 1} min − 10 s`);

        await page.clock.runFor(20_000);
        c = await waitForCounters(env, (x) => x.refreshes >= 1);
        assert.equal(c.refreshRequests, 1, `no renewal by ${ttl / MIN - 1} min + 10 s`);
        assert.equal(c.refreshes, 1, "the renewal was refused (sent after the token's real end?)");
        const r = await page.evaluate((path) => e2e.call(path), seed.apiPath);
        assert.equal(r.status, 200);
        c = await env.counters();
        assert.equal(c.refreshRequests, 1, "the call needed another renewal");
      });
    });
  }
}
