// The packed tarball in bundled apps (issue 11): tests/bundlers/build.sh installs
// authfetch-<version>.tgz into one small app and builds it with Vite and with webpack 5; each
// build is served by the reference server (page and API on one origin), and Vite's dev server
// runs it with the API proxied — then Chromium drives the app: login, a call, an expired token
// renewed and the call retried, logout.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { controlsFor, ENGINE, freePort, launchBrowser, MARIA, pollUntil, REPO_ROOT, startServer } from "./harness.mjs";

const FIXTURE = `${REPO_ROOT}tests/bundlers/`;
let browser;

before(async () => {
  execFileSync("bash", [`${FIXTURE}build.sh`], { stdio: ["ignore", "inherit", "inherit"], timeout: 240_000 });
  browser = await launchBrowser();
}, { timeout: 300_000 });

after(async () => {
  await browser?.close().catch(() => {});
});


/** The whole flow in the app at `url`, against the server whose controls are `api`. */
async function drive(url, api) {
  await api.reset();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("state")?.dataset.ready, null, { timeout: 20_000 });
    assert.equal(await page.textContent("#state"), "ready", `the app did not start: ${problems}`);

    assert.deepEqual(await page.evaluate(() => app.call("/v1/cidadao/me")), { ok: false, code: "not_authenticated" });
    assert.equal((await page.evaluate((c) => app.login(c), MARIA)).ok, true);
    const first = await page.evaluate(() => app.call("/v1/cidadao/me"));
    assert.equal(first.value?.status, 200, JSON.stringify(first));
    assert.equal(first.value.body.email, MARIA.email);

    await api.control("expire-access");
    const retried = await page.evaluate(() => app.call("/v1/cidadao/me"));
    assert.equal(retried.value?.status, 200, `the expired call was not renewed and retried: ${JSON.stringify(retried)}`);
    const c = await api.counters();
    assert.equal(c.refreshes, 1, "one renewal for the expired token");
    assert.equal(c.requests["/v1/cidadao/me"], 3, "the first call, the expired one and its retry");

    assert.equal((await page.evaluate(() => app.logout())).ok, true);
    assert.equal(await page.evaluate(() => app.isAuthenticated()), false);
    assert.deepEqual(await page.evaluate(() => app.events), ["login", "refresh", "logout"]);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
}

describe("bundled apps, from the tarball", () => {
  for (const bundler of ["vite", "webpack"]) {
    test(`${bundler} build: login, a call, an expired token renewed and retried, logout`, { timeout: 60_000 }, async () => {
      const server = await startServer({ www: `${FIXTURE}dist-${bundler}` });
      try {
        await drive(`${server.origin}/`, controlsFor(server.origin));
      } finally {
        await server.stop();
      }
    });
  }

  test("Vite dev server (API proxied): the same flow", { timeout: 120_000 }, async () => {
    const server = await startServer();
    const port = await freePort();
    const vite = spawn(process.execPath, [`${FIXTURE}node_modules/vite/bin/vite.js`, "--host", "127.0.0.1", "--port", String(port), "--strictPort"], {
      cwd: FIXTURE,
      env: { ...process.env, API_ORIGIN: server.origin, VITE_CACHE_DIR: `node_modules/.vite-${ENGINE}` },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    vite.stdout.on("data", (d) => (output += d));
    vite.stderr.on("data", (d) => (output += d));
    try {
      const url = `http://127.0.0.1:${port}/`;
      const up = await pollUntil(() => fetch(url).then((r) => r.ok, () => false), { timeout: 60_000, interval: 200 });
      assert.ok(up, `vite dev did not start:\n${output}`);
      await drive(url, controlsFor(server.origin));
    } finally {
      try {
        process.kill(-vite.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await server.stop();
    }
  });
});
