// DESIGN rule 11 (issue 10, defect 3): in relogin mode (seed 001) the password never travels
// between tabs. The tab that logged in keeps it and renews for the others, which ask it over the
// channel — checked against the real server, with a script of the same origin listening in.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { useE2E, waitForAuthfetch } from "./harness.mjs";
import { seed } from "./seeds.mjs";

const env = useE2E();
const s001 = seed("s001");

async function openTab(context, config) {
  const page = await context.newPage();
  await page.goto(`${env.server.origin}/test.html`);
  await waitForAuthfetch(page);
  await page.evaluate((config) => e2e.client(config), config);
  return page;
}

describe("relogin mode across tabs", () => {
  test("the password is never posted to the channel; a tab without it renews through the tab that logged in", { timeout: 30_000 }, async () => {
    const context = await env.browser.newContext();
    try {
      const config = s001.config(env.server.origin);
      const [a, b] = [await openTab(context, config), await openTab(context, config)];
      // Any script of the origin can listen to the channel and ask for the session.
      const spy = await context.newPage();
      await spy.goto(`${env.server.origin}/test.html`);
      await spy.evaluate((origin) => {
        window.heard = [];
        const channel = new BroadcastChannel(`authfetch:${origin}`);
        channel.onmessage = (e) => window.heard.push(JSON.stringify(e.data));
        window.ask = () => channel.postMessage({ type: "ask", from: 0.99 });
      }, env.server.origin);

      await a.evaluate((credentials) => auth.login(credentials), s001.credentials);
      assert.equal(await b.evaluate(() => auth.restore()), true, "tab B did not join");
      await spy.evaluate(() => window.ask());
      // B renews: it asks, A logs in again with the password it alone holds, B adopts.
      const renewed = await b.evaluate(() => e2e.settle(auth.refresh()));
      assert.equal(renewed.ok, true, JSON.stringify(renewed.error));
      await spy.evaluate(() => window.ask());
      await new Promise((r) => setTimeout(r, 300));
      const c = await env.counters();
      assert.equal(c.logins, 2, "the renewal is one more login, made by tab A");
      const [ea, eb] = await Promise.all([a, b].map((t) => t.evaluate(() => auth.expiresAt)));
      assert.equal(ea, eb, "the tabs hold different tokens");

      const heard = await spy.evaluate(() => window.heard);
      assert.ok(heard.some((m) => m.includes('"session"')), "the spy heard no session at all");
      for (const m of heard) {
        assert.ok(!m.includes(s001.credentials.password), `the password was posted: ${m}`);
        assert.ok(!m.includes("credentials"), `credentials were posted: ${m}`);
      }
    } finally {
      await context.close();
    }
  });
});
