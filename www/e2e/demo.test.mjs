// The demo app itself (index.html + demo.js), driven as a person would through its controls.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { clickApi, requestsTo, useE2E } from "./harness.mjs";

const env = useE2E();

async function openDemo() {
  const opened = await env.newPage({ path: "/" });
  await opened.page.waitForSelector("body[data-ready='true']", { timeout: 15_000 });
  return opened;
}

const logTypes = (page) => page.$$eval("#event-log li", (items) => items.map((li) => li.dataset.type));

describe("demo page", () => {
  test("log in through the form, call both APIs, see the results, the countdown and the event log", { timeout: 25_000 }, async () => {
    const { page, consoleMessages } = await openDemo();
    assert.equal(await page.isVisible("#test-controls"), true, "the test controls panel is hidden");
    assert.equal(await page.inputValue("#email"), "maria.oliveira@exemplo.com");
    assert.equal(await page.getAttribute("#session-status", "data-state"), "signed-out");

    await page.click("#login-btn");
    await page.waitForSelector("#session-status[data-state='signed-in']", { timeout: 10_000 });

    const me = await clickApi(page, "btn-me", "/v1/cidadao/me");
    assert.equal(me.state, "ok", me.status);
    assert.match(me.status, /200/);
    assert.match(me.result, /Maria Oliveira/);

    const beneficios = await clickApi(page, "btn-beneficios", "/v1/beneficio/meus-beneficios");
    assert.equal(beneficios.state, "ok", beneficios.status);
    assert.match(beneficios.result, /PGB202505170001/);

    // The countdowns follow auth.refreshAt / auth.expiresAt (1 h token: refresh in ~59 min).
    await page.waitForFunction(() => /^in \d+:\d\d/.test(document.getElementById("refresh-countdown").textContent));
    const refreshIn = Number(await page.getAttribute("#refresh-countdown", "data-ms"));
    const expiresIn = Number(await page.getAttribute("#expiry-countdown", "data-ms"));
    assert.ok(refreshIn > 58 * 60_000 && refreshIn <= 59 * 60_000, `refresh countdown ${refreshIn} ms`);
    assert.ok(expiresIn > 59 * 60_000 && expiresIn <= 60 * 60_000, `expiry countdown ${expiresIn} ms`);

    assert.ok((await logTypes(page)).includes("login"), "no login entry in the event log");
    const c = await env.counters();
    assert.equal(requestsTo(c, "/v1/cidadao/me"), 1);
    assert.equal(requestsTo(c, "/v1/beneficio/meus-beneficios"), 1);
    assert.deepEqual(consoleMessages.filter((m) => m.type === "error" || m.type === "pageerror"), []);
  });

  test("forced expiry, an upload with its sha256, and sign out, through the demo's controls", { timeout: 25_000 }, async () => {
    const { page } = await openDemo();
    await page.click("#login-btn");
    await page.waitForSelector("#session-status[data-state='signed-in']", { timeout: 10_000 });

    await page.click("#expire-btn");
    await page.waitForFunction(() => document.getElementById("control-status").dataset.state === "ok");
    const me = await clickApi(page, "btn-me", "/v1/cidadao/me");
    assert.equal(me.state, "ok", me.status);
    assert.ok((await logTypes(page)).includes("refresh"), "no refresh entry after the forced expiry");
    assert.equal((await env.counters()).refreshes, 1);

    const bytes = randomBytes(48 * 1024);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    await page.setInputFiles("#upload-file", { name: "comprovante.pdf", mimeType: "application/pdf", buffer: bytes });
    await page.selectOption("#tipo-documento", "COMPROVANTE_RESIDENCIA");
    await page.click("#upload-btn");
    await page.waitForSelector("#upload-result:not([hidden])", { timeout: 10_000 });
    assert.equal(await page.textContent("#upload-sha256"), sha256);
    assert.equal(await page.getAttribute("#upload-size", "data-bytes"), String(bytes.length));

    await page.click("#logout-btn");
    await page.waitForSelector("#session-status[data-state='signed-out']", { timeout: 10_000 });
    const logout = await page.textContent("#event-log li[data-type='logout']");
    assert.match(logout, /user/);
  });

  test("revoke all, then an API call: the session ends and the page lands on /login", { timeout: 25_000 }, async () => {
    const { page } = await openDemo();
    await page.click("#login-btn");
    await page.waitForSelector("#session-status[data-state='signed-in']", { timeout: 10_000 });
    await page.click("#revoke-btn");
    await page.waitForFunction(() => document.getElementById("control-status").dataset.state === "ok");

    await Promise.all([page.waitForURL((url) => url.pathname === "/login", { timeout: 10_000 }), page.click("#btn-me")]);
    assert.match(await page.textContent("#session-ended"), /Session ended/);
    assert.equal(await page.getAttribute("#back-link", "href"), "/");
  });
});
