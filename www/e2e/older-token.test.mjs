// Rule 5 with maxRetries 0 (seed 000's choice; issue 10, defect 9): a 401 for a request sent
// with an older token, while a newer one is held, may not be retried — and must not end the
// session either: the current token was never refused. The caller gets the 401 as it is.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, useE2E } from "./harness.mjs";

const env = useE2E();

describe("a 401 for an older token", () => {
  test("maxRetries 0: a late 401 for the token before a renewal is returned to the caller; the session goes on", { timeout: 20_000 }, async () => {
    const { page } = await env.newPage();
    const outcome = await page.evaluate(async (credentials) => {
      const auth = e2e.client({ maxRetries: 0 });
      await auth.login(credentials);
      // Sent with the first token, answered 401 only after the renewal below.
      const late = e2e.call("/__test/always-401?delayMs=800");
      await new Promise((r) => setTimeout(r, 100));
      await auth.refresh();
      const answer = await late;
      const after = await e2e.call("/v1/cidadao/me");
      return { answer, after, on: auth.isAuthenticated, events: e2e.events.map((e) => e.type) };
    }, MARIA);
    assert.equal(outcome.answer.ok, true, `the call rejected: ${JSON.stringify(outcome.answer.error)}`);
    assert.equal(outcome.answer.status, 401);
    assert.equal(outcome.answer.body.errorCode, "AUTH_006", "the 401's body was not handed over whole");
    assert.equal(outcome.on, true, "the session ended although the current token is valid");
    assert.ok(!outcome.events.includes("logout"), `events: ${outcome.events}`);
    assert.equal(outcome.after.status, 200);
    const c = await env.counters();
    assert.equal(c.requests["/__test/always-401"], 1, "the call was retried although maxRetries is 0");
    assert.equal(c.refreshes, 1);
  });
});
