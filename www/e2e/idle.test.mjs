// Seed 000's rule, key idleTimeoutSeconds: "o token só será renovado se ainda houver uso ativo
// da API" — the proactive renewal happens only while the API is in use; after a quiet spell the
// next call renews first, then goes out with the fresh token.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { requestsTo, sleep, useE2E, waitForCounters } from "./harness.mjs";
import { MIN, journal, seed as seedNamed } from "./seeds.mjs";

const env = useE2E();
const s000 = seedNamed("s000");

// 10-minute tokens (renewal due at 9 min) and a 60 s idle timeout.
const TTL_S = 600;
const IDLE_S = 60;

async function signedIn() {
  await env.config({ accessTtlSeconds: TTL_S });
  const opened = await env.newPage({ clock: true });
  const { page } = opened;
  const now = await page.evaluate(() => Date.now());
  await page.clock.pauseAt(now + 1000);
  const t = await page.evaluate(
    async ({ config, credentials }) => {
      const auth = e2e.client(config);
      await auth.login(credentials);
      return { now: Date.now(), expiresAt: auth.expiresAt };
    },
    { config: { ...s000.config(env.server.origin), idleTimeoutSeconds: IDLE_S }, credentials: s000.credentials },
  );
  assert.equal(t.expiresAt - t.now, TTL_S * 1000);
  return { ...opened, t };
}

describe("s000 idle rule", () => {
  test("no call for longer than idleTimeoutSeconds past the renewal deadline: no proactive renewal; the next call renews first and succeeds", { timeout: 25_000 }, async () => {
    const { page } = await signedIn();

    // 9:30: past the 9:00 deadline, 9.5 min without a call (idle timeout 60 s).
    await page.clock.runFor(9 * MIN + 30_000);
    await sleep(500);
    let c = await env.counters();
    assert.equal(c.refreshRequests, 0, "renewed although the API was idle");

    const r = await page.evaluate((path) => e2e.call(path), s000.apiPath);
    assert.equal(r.status, 200, JSON.stringify(r));
    c = await env.counters();
    assert.equal(c.refreshes, 1, "the call did not renew first");
    assert.equal(requestsTo(c, s000.apiPath), 1);
    const order = await journal(env.server.origin);
    assert.deepEqual(order, ["POST /s000/auth/login", "GET /s000/auth/tokenRefresh", "GET /s000/api/status"]);
  });

  test("a call within idleTimeoutSeconds before the deadline keeps the proactive renewal on", { timeout: 25_000 }, async () => {
    const { page } = await signedIn();

    await page.clock.runFor(8 * MIN + 30_000); // 8:30: in use
    assert.equal((await page.evaluate((path) => e2e.call(path), s000.apiPath)).status, 200);
    await sleep(300);
    assert.equal((await env.counters()).refreshRequests, 0, "the call at 8:30 renewed (outside the lead window)");

    await page.clock.runFor(40_000); // 9:10
    const c = await waitForCounters(env, (x) => x.refreshes >= 1);
    assert.equal(c.refreshRequests, 1, "no proactive renewal at 9:00 although the API was in use 30 s before");
  });
});
