// DESIGN rule 4 and the threat model (issue 10, RELIABILITY.md): spellings that try to carry the
// bearer to another origin, each made by a logged-in client in Chromium against the reference
// server's foreign port, which counts every request and every Authorization header it sees.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, useE2E } from "./harness.mjs";

const env = useE2E();

async function signedIn() {
  const opened = await env.newPage();
  await opened.page.evaluate((credentials) => e2e.client().login(credentials), MARIA);
  return opened.page;
}

/** Every way to name the foreign origin; `port` is the API's, `foreign` the foreign port. */
function tricks(port, foreign) {
  return [
    ["protocol-relative //host", `//127.0.0.1:${foreign}/protocol-relative`],
    ["upper-case scheme and host", `HTTP://127.0.0.1:${foreign}/upper`],
    ["another port of the API's host", `http://127.0.0.1:${foreign}/port`],
    ["backslashes the URL parser reads as slashes", `http:\\\\127.0.0.1:${foreign}\\backslash`],
    ["ideographic full stops (IDN mapping) in the host", `http://127。0。0。1:${foreign}/idn-dots`],
    ["percent-encoded host", `http://%31%32%37.0.0.1:${foreign}/percent`],
    ["the API's origin in the path of a foreign URL", `http://127.0.0.1:${foreign}/http://127.0.0.1:${port}/v1`],
    ["the API's origin in the query of a foreign URL", `http://127.0.0.1:${foreign}/q?next=http://127.0.0.1:${port}`],
    ["a tab, a newline and spaces around the URL", `\t http://127.0.0.1:${foreign}/whitespace\n`],
  ];
}

describe("the allowlist against hostile spellings", () => {
  test("the API's origin as userinfo in front of another host: refused as fetch refuses it (TypeError), nothing sent", { timeout: 20_000 }, async () => {
    const page = await signedIn();
    const { port, foreignPort } = env.server;
    const urls = [`http://127.0.0.1:${port}@127.0.0.1:${foreignPort}/userinfo`, `http://127.0.0.1:${port}:pw@127.0.0.1:${foreignPort}/userinfo-pw`];
    const results = await page.evaluate(
      (list) => Promise.all(list.map(async (url) => [await e2e.call(url), await fetch(url).then(() => "sent", (e) => e.name)])),
      urls,
    );
    for (const [ours, plain] of results) {
      assert.equal(plain, "TypeError", "fetch itself refuses credentials in a URL");
      assert.equal(ours.ok, false);
      assert.equal(ours.error.name, "TypeError", JSON.stringify(ours.error));
    }
    assert.equal((await env.counters()).foreign.requests, 0);
  });

  test("no spelling of another origin gets the bearer: the foreign port sees every request and no Authorization", { timeout: 30_000 }, async () => {
    const page = await signedIn();
    const list = tricks(env.server.port, env.server.foreignPort);
    const results = await page.evaluate(
      (cases) => Promise.all(cases.map(([name, url]) => e2e.call(url).then((r) => ({ name, ok: r.ok, status: r.status, body: r.body, error: r.error })))),
      list,
    );
    for (const r of results) {
      assert.equal(r.ok, true, `${r.name}: ${JSON.stringify(r.error)}`);
      assert.equal(r.body?.origin, "foreign", `${r.name}: did not reach the foreign origin`);
      assert.equal(r.body.authorization, false, `${r.name}: the bearer reached the foreign origin`);
    }
    const c = await env.counters();
    assert.equal(c.foreign.requests, list.length);
    assert.equal(c.foreign.withAuthorization, 0);
    // The session is untouched, and the API still gets the bearer.
    const me = await page.evaluate(() => e2e.call("/v1/cidadao/me"));
    assert.equal(me.status, 200);
  });

  test("Request and URL objects naming the foreign origin pass through without the bearer", { timeout: 20_000 }, async () => {
    const page = await signedIn();
    const foreign = env.server.foreignOrigin;
    const results = await page.evaluate(async (origin) => {
      const asRequest = await e2e.call(new Request(`${origin}/request-object`, { headers: { "X-Kept": "1" } }));
      const asUrl = await e2e.call(new URL("/url-object", origin));
      return [asRequest, asUrl];
    }, foreign);
    for (const r of results) {
      assert.equal(r.status, 200, JSON.stringify(r));
      assert.equal(r.body.authorization, false);
    }
    assert.equal((await env.counters()).foreign.withAuthorization, 0);
  });

  test("data: and blob: URLs are fetched as fetch would, with nothing added", { timeout: 20_000 }, async () => {
    const page = await signedIn();
    const results = await page.evaluate(async () => {
      const data = await auth.fetch("data:text/plain,hello");
      const blobUrl = URL.createObjectURL(new Blob(["from a blob"], { type: "text/plain" }));
      const blob = await auth.fetch(blobUrl);
      return [await data.text(), await blob.text()];
    });
    assert.deepEqual(results, ["hello", "from a blob"]);
  });

  test("an API answer that redirects to the foreign origin: the browser follows it without the bearer", { timeout: 20_000 }, async () => {
    const page = await signedIn();
    const target = `${env.server.foreignOrigin}/after-redirect`;
    const r = await page.evaluate((to) => e2e.call(`/__test/redirect?to=${encodeURIComponent(to)}`), target);
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.body.origin, "foreign");
    assert.equal(r.body.authorization, false, "the bearer followed the redirect to another origin");
    const c = await env.counters();
    assert.equal(c.foreign.withAuthorization, 0);
    assert.equal(c.bearerRequests["/__test/redirect"], 1, "the API itself got the bearer");
  });
});
