// Rules 4, 5, 6, 8 and 9: the fetch interceptor against the real server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, pollUntil, requestsTo, sleep, useE2E } from "./harness.mjs";

const env = useE2E();

async function signedInPage(config = {}) {
  const opened = await env.newPage();
  await opened.page.evaluate(({ credentials, config }) => e2e.client(config).login(credentials), { credentials: MARIA, config });
  return opened;
}

describe("single flight", () => {
  test("50 concurrent auth.fetch calls after the access token expired: all answer 200 with exactly one refresh", { timeout: 25_000 }, async () => {
    const { page } = await signedInPage();
    await env.control("expire-access");

    const results = await page.evaluate(() =>
      Promise.all(Array.from({ length: 50 }, () => e2e.call("/v1/cidadao/me"))),
    );
    const outcomes = results.map((r) => (r.ok ? r.status : r.error.code));
    assert.deepEqual(outcomes, Array(50).fill(200));
    assert.ok(results.every((r) => r.body.email === MARIA.email));

    const c = await env.counters();
    assert.equal(c.refreshRequests, 1, "expected exactly one call of the refresh endpoint");
    assert.equal(c.refreshes, 1);
    assert.equal(c.reuseDetections, 0, "a refresh token was reused");
  });
});

describe("session end on an invalid token", () => {
  test("AUTH_005 after revoke: a logout event, the page goes to /login and the call rejects session_expired", { timeout: 25_000 }, async () => {
    const { page, reports } = await env.newPage();
    // Default loginUrl ("/login"): the key is removed so the library's default applies.
    await page.evaluate((credentials) => e2e.client({ loginUrl: undefined }).login(credentials), MARIA);
    await env.control("revoke", { all: true });

    // The page navigates away mid-call: the outcome is reported to Node as it happens. The old
    // document keeps running until the /login response commits, so holding that response for
    // a moment makes sure the report of the rejection gets out before the page is replaced.
    await env.control("delay-page", { path: "/login", ms: 500 });
    const navigated = page.waitForURL((url) => url.pathname === "/login", { timeout: 10_000 });
    await page.evaluate(() => {
      e2e.call("/v1/cidadao/me").then((result) => window.__e2eReport({ kind: "call", result }));
    });
    await navigated;

    const call = await pollUntil(() => reports.find((r) => r.kind === "call"), { timeout: 3000 });
    const logout = reports.find((r) => r.kind === "event" && r.type === "logout");
    assert.ok(logout, `no logout event; reports: ${JSON.stringify(reports)}`);
    assert.equal(logout.detail?.reason, "invalid_token", "AUTH_005 is an invalid token");
    assert.ok(call, "the call's outcome was not reported before the page left");
    assert.equal(call.result.ok, false, "the call resolved");
    assert.equal(call.result.error.code, "session_expired");

    await page.waitForSelector("#session-ended", { timeout: 5000 });
    const c = await env.counters();
    assert.equal(requestsTo(c, "/v1/cidadao/me"), 1, "an AUTH_005 answer was retried");
    assert.equal(c.refreshRequests, 0, "an AUTH_005 answer triggered a refresh");
  });
});

describe("no loops", () => {
  test("an endpoint that always answers 401 AUTH_006 costs 2 requests and 1 refresh per call, then stops", { timeout: 20_000 }, async () => {
    const { page } = await signedInPage();
    const result = await page.evaluate(() => e2e.call("/__test/always-401"));
    assert.equal(result.ok, false, `the call resolved with ${result.status}`);
    assert.equal(result.error.code, "session_expired");

    const c1 = await env.counters();
    const path = "/__test/always-401";
    assert.ok(requestsTo(c1, path) <= 2, `${requestsTo(c1, path)} requests for one call`);
    assert.ok(c1.refreshRequests <= 1, `${c1.refreshRequests} refreshes for one call`);
    // Rule 5: one refresh, then exactly one retry.
    assert.equal(requestsTo(c1, path), 2, "the request was not retried once after the refresh");
    assert.equal(c1.refreshRequests, 1);

    await sleep(1500);
    const c2 = await env.counters();
    assert.equal(requestsTo(c2, path), requestsTo(c1, path), "requests went on after the call settled");
    assert.equal(c2.refreshRequests, c1.refreshRequests, "refreshes went on after the call settled");
    assert.equal(c2.logins, c1.logins);
  });
});

describe("body replay", () => {
  test("a 200 KB FormData upload after the token expired is retried with identical bytes (sha256 matches)", { timeout: 25_000 }, async () => {
    const { page } = await signedInPage();
    // Make the file and its digest in the page before the token expires.
    const digest = await page.evaluate(async () => {
      const bytes = new Uint8Array(200 * 1024);
      for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      window.uploadBytes = bytes;
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
    });
    await env.control("expire-access");

    const res = await page.evaluate(() => {
      const form = new FormData();
      form.append("arquivo", new File([window.uploadBytes], "comprovante.bin", { type: "application/octet-stream" }));
      form.append("tipoDocumento", "COMPROVANTE_RENDA");
      return e2e.call("/v1/documento/upload", { method: "POST", body: form });
    });
    assert.equal(res.ok, true, `upload rejected: ${JSON.stringify(res.error)}`);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.tamanhoBytes, 200 * 1024);
    assert.equal(res.body.nomeArquivo, "comprovante.bin");
    assert.equal(res.body.sha256, digest, "the retried upload's bytes differ from the file");
    const stored = await (await fetch(`${env.server.origin}/__control/uploads/${res.body.id}`)).json();
    assert.equal(stored.sha256, digest, "the server stored other bytes");

    const c = await env.counters();
    assert.equal(requestsTo(c, "/v1/documento/upload"), 2, "expected the 401 attempt and one retry");
    assert.equal(c.refreshRequests, 1);
  });
});

describe("origin allowlist", () => {
  test("the bearer never reaches the foreign origin; the page origin gets it by default", { timeout: 20_000 }, async () => {
    const { page } = await signedInPage();
    const foreignUrl = `${env.server.foreignOrigin}/x`;
    const foreign = await page.evaluate((url) => e2e.call(url), foreignUrl);
    assert.equal(foreign.ok, true, `the foreign call rejected: ${JSON.stringify(foreign.error)}`);
    assert.equal(foreign.status, 200);
    assert.equal(foreign.body.origin, "foreign");
    assert.equal(foreign.body.authorization, false);

    const echo = await page.evaluate(() => e2e.call("/__test/echo"));
    assert.equal(echo.status, 200);
    assert.equal(echo.body.bearer, true, "the page origin did not get the bearer");

    const c = await env.counters();
    assert.ok(c.foreign.requests >= 1, "the foreign origin was never called");
    assert.equal(c.foreign.withAuthorization, 0, "an Authorization header reached the foreign origin");
  });
});
