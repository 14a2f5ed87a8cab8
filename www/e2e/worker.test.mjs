// authfetch inside a module Web Worker (issue 12), against the real server: the worker's own
// location gives the default baseUrl; there is no document, so crossTab is off and nothing
// redirects — a session the server ends is the `logout` event.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MARIA, useE2E } from "./harness.mjs";

const env = useE2E();

/** Starts www/worker.js in a page and returns `run(op, arg)` and the events it posted. */
async function startWorker() {
  const opened = await env.newPage();
  await opened.page.evaluate(() => {
    const worker = new Worker("/worker.js", { type: "module" });
    const waiting = new Map();
    let next = 0;
    window.workerEvents = [];
    worker.onmessage = ({ data }) => {
      if (data.event) window.workerEvents.push({ type: data.event, detail: data.detail });
      else waiting.get(data.id)?.(data);
    };
    worker.onerror = (e) => window.workerEvents.push({ type: "worker-error", detail: e.message });
    window.run = (op, arg) => new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      worker.postMessage({ id, op, arg });
    });
  });
  return {
    page: opened.page,
    run: (op, arg) => opened.page.evaluate(([op, arg]) => window.run(op, arg), [op, arg]),
    events: () => opened.page.evaluate(() => window.workerEvents),
  };
}

describe("in a module Web Worker", () => {
  test("login, a call, an expired token renewed and retried, and a session the server ends: logout event, no redirect", { timeout: 30_000 }, async () => {
    const { page, run, events } = await startWorker();
    const created = await run("create", { loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token" });
    assert.deepEqual(created, { id: 0, ok: true, value: { isAuthenticated: false } }, JSON.stringify(await events()));
    assert.equal((await run("login", MARIA)).ok, true);
    const me = await run("call", "/v1/cidadao/me");
    assert.equal(me.value?.status, 200, JSON.stringify(me));
    assert.equal(me.value.body.email, MARIA.email);

    await env.control("expire-access");
    const retried = await run("call", "/v1/cidadao/me");
    assert.equal(retried.value?.status, 200, JSON.stringify(retried));
    assert.equal((await env.counters()).refreshes, 1);

    await env.control("revoke", { all: true });
    const ended = await run("call", "/v1/cidadao/me");
    assert.equal(ended.ok, false);
    assert.equal(ended.code, "session_expired");
    assert.deepEqual(
      (await events()).map((e) => `${e.type}:${e.detail?.reason ?? ""}`),
      ["login:", "refresh:", "logout:invalid_token"],
    );
    const state = await run("state");
    assert.equal(state.value.isAuthenticated, false);
    assert.equal(new URL(page.url()).pathname, "/test.html", "the page was redirected");
  });

  test("two workers of one page keep separate sessions (no document: crossTab off)", { timeout: 30_000 }, async () => {
    const { page } = await env.newPage();
    const result = await page.evaluate(async (credentials) => {
      const start = () => {
        const worker = new Worker("/worker.js", { type: "module" });
        let next = 0;
        const waiting = new Map();
        worker.onmessage = ({ data }) => data.event || waiting.get(data.id)(data);
        return (op, arg) => new Promise((resolve) => {
          const id = next++;
          waiting.set(id, resolve);
          worker.postMessage({ id, op, arg });
        });
      };
      const [a, b] = [start(), start()];
      const config = { loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token" };
      await a("create", config);
      await b("create", config);
      await a("login", credentials);
      return { a: await a("call", "/v1/cidadao/me"), b: await b("call", "/v1/cidadao/me") };
    }, MARIA);
    assert.equal(result.a.value?.status, 200, JSON.stringify(result.a));
    assert.equal(result.b.code, "not_authenticated", "the second worker took the first one's session");
  });
});
