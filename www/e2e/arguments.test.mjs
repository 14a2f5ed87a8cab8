// Rule 10: auth.fetch reads its arguments when it is called, as fetch does — against the real
// server: what the server received is what the caller passed at the moment of the call.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MARIA, pollUntil, requestsTo, useE2E } from "./harness.mjs";

const env = useE2E();
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

async function signedInPage() {
  const opened = await env.newPage();
  await opened.page.evaluate((credentials) => e2e.client().login(credentials), MARIA);
  return opened;
}

describe("arguments are read at the call", () => {
  test("one init object reused with a new body for each call: the server receives each body", { timeout: 20_000 }, async () => {
    const { page } = await signedInPage();
    const bodies = ["first body", "second body", "third body"];
    const results = await page.evaluate((bodies) => {
      const init = { method: "POST", headers: { "content-type": "text/plain" } };
      const calls = [];
      for (const body of bodies) {
        init.body = body;
        calls.push(e2e.call("/__test/echo", init));
      }
      return Promise.all(calls);
    }, bodies);
    assert.deepEqual(
      results.map((r) => [r.status, r.body.method, r.body.bearer, r.body.bodySha256]),
      bodies.map((b) => [200, "POST", true, sha256(b)]),
    );
  });

  test("one URL object whose query changes after each call: the server sees each page", { timeout: 20_000 }, async () => {
    const { page } = await signedInPage();
    const queries = await page.evaluate(async () => {
      const url = new URL("/__test/echo", location.origin);
      const calls = [];
      for (const n of [1, 2, 3]) {
        url.searchParams.set("page", String(n));
        calls.push(e2e.call(url));
      }
      // Changed again once every call was made: none of them may see it.
      url.searchParams.set("page", "changed");
      return (await Promise.all(calls)).map((r) => r.body.query);
    });
    assert.deepEqual(queries, ["page=1", "page=2", "page=3"]);
  });

  test("a URL object and a <base> changed between the attempt and the retry: the retry goes to the API, the foreign origin sees nothing", { timeout: 25_000 }, async () => {
    const { page } = await signedInPage();
    await env.control("expire-access");
    // The renewal takes 1.5 s: time to change the caller's arguments after the first attempt.
    await env.control("fail-refresh", { count: 1, mode: "delay", delayMs: 1500 });
    await page.evaluate(() => {
      window.__url = new URL("/v1/cidadao/me", location.origin);
      window.__calls = Promise.all([e2e.call(window.__url), e2e.call("v1/cidadao/me")]);
    });
    // Both first attempts were answered 401 and the renewal is in flight.
    await pollUntil(async () => {
      const c = await env.counters();
      return requestsTo(c, "/v1/cidadao/me") >= 2 && c.refreshRequests >= 1;
    }, { timeout: 5000 });
    await page.evaluate((foreign) => {
      window.__url.href = `${foreign}/stolen`;
      const base = document.createElement("base");
      base.href = `${foreign}/`;
      document.head.prepend(base);
    }, env.server.foreignOrigin);
    const results = await page.evaluate(() => window.__calls);
    for (const r of results) {
      assert.equal(r.ok, true, `the call rejected: ${JSON.stringify(r.error)}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.email, MARIA.email);
    }
    const c = await env.counters();
    assert.equal(requestsTo(c, "/v1/cidadao/me"), 4, "each call: one attempt, one retry, both to the API");
    assert.equal(c.refreshRequests, 1);
    assert.equal(c.foreign.requests, 0, "a retry went to the foreign origin");
    assert.equal(c.foreign.withAuthorization, 0, "the bearer reached the foreign origin");
  });

  test("an input whose toString throws rejects that call only; a call made in the same tick succeeds", { timeout: 20_000 }, async () => {
    const { page } = await signedInPage();
    const outcome = await page.evaluate(async () => {
      const bad = { toString() { throw new RangeError("toString refused"); } };
      const badInit = { get method() { throw new TypeError("getter refused"); } };
      let threwSynchronously = false;
      let calls;
      try {
        calls = [auth.fetch(bad), auth.fetch("/v1/cidadao/me"), auth.fetch("/v1/cidadao/me", badInit)];
      } catch {
        threwSynchronously = true;
      }
      const settled = await Promise.allSettled(calls ?? []);
      // Nothing was left stuck: the next call goes through.
      const after = await e2e.call("/v1/cidadao/me");
      return {
        threwSynchronously,
        settled: settled.map((s) =>
          s.status === "fulfilled" ? { status: s.value.status } : { name: s.reason?.name, message: s.reason?.message },
        ),
        after: after.status,
      };
    });
    assert.equal(outcome.threwSynchronously, false, "auth.fetch threw instead of rejecting");
    assert.deepEqual(outcome.settled, [
      { name: "RangeError", message: "toString refused" },
      { status: 200 },
      { name: "TypeError", message: "getter refused" },
    ]);
    assert.equal(outcome.after, 200);
  });
});
