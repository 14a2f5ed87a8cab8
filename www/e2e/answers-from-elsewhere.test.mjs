// DESIGN rule 13 (issue 10, defect 6): a 401 that does not come from the API — the API
// redirected the call to another origin, which refused it — is the caller's to read. It never
// ends the session, against the real server and its foreign port.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, useE2E } from "./harness.mjs";

const env = useE2E();

describe("answers from elsewhere", () => {
  test("a call redirected to another origin that answers 401 AUTH_005: the 401 is returned, the session is kept", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage();
    await page.evaluate((credentials) => e2e.client().login(credentials), MARIA);
    const target = `${env.server.foreignOrigin}/status/401`;
    const outcome = await page.evaluate(async (to) => {
      const redirected = await e2e.call(`/__test/redirect?to=${encodeURIComponent(to)}`);
      const after = await e2e.call("/v1/cidadao/me");
      return { redirected, after, on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) };
    }, target);
    assert.equal(outcome.redirected.ok, true, `the call rejected: ${JSON.stringify(outcome.redirected.error)}`);
    assert.equal(outcome.redirected.status, 401);
    assert.equal(outcome.redirected.body.origin, "foreign");
    assert.equal(outcome.on, true, "a foreign 401 ended the session");
    assert.deepEqual(outcome.events, ["login"]);
    assert.equal(outcome.after.status, 200);
    const c = await env.counters();
    assert.equal(c.refreshRequests, 0, "a foreign 401 started a renewal");
    // Firefox preflights the redirected request (it had carried Authorization); Chromium does not.
    assert.equal(c.foreign.paths["/status/401"] - c.foreign.preflights, 1, "the redirect was not followed");
    assert.equal(c.foreign.withAuthorization, 0, "the bearer followed the redirect to the foreign origin");
  });
});
