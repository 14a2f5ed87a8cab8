// How long a client lives, and what its own callers can do to it: the client behind
// `fetcher()` lives as long as the function does (a garbage collection does not end its session);
// `free()` called from inside a call's own arguments rejects that call only; a released client's
// `fetcher()` rejects like `fetch` rather than throwing. In every engine, against the reference
// server; the collection itself only where the engine lets a test force one (Chromium's gc()).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ENGINE, MARIA, requestsTo, useE2E } from "./harness.mjs";

const env = useE2E();

describe("a client's lifetime", () => {
  test(
    "a client kept only through fetcher() lives as long as the function: a garbage collection does not end its session",
    { timeout: 30_000, skip: ENGINE !== "chromium" && "only Chromium lets a test force a collection (--js-flags=--expose-gc)" },
    async () => {
      const { page } = await env.newPage();
      const out = await page.evaluate(async (credentials) => {
        if (typeof gc !== "function") throw new Error("gc() is not exposed to the page");
        const { AuthClient } = window.authfetch;
        const collected = [];
        const watch = new FinalizationRegistry((what) => collected.push(what));
        // A client nobody keeps: it shows that a collection really happens here.
        (() => watch.register(new AuthClient({ loginPath: "/v1/auth/login", loginUrl: null }), "dropped"))();
        // The README's recipe, `ky.create({ fetch: auth.fetcher() })`, in a module that keeps only
        // the function.
        window.apiFetch = await (async () => {
          const auth = new AuthClient({ loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token", loginUrl: null });
          watch.register(auth, "kept");
          await auth.login(credentials);
          return auth.fetcher();
        })();
        for (let i = 0; i < 40 && !collected.includes("dropped"); i++) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        // A few more rounds, for the registry's own callbacks to have run.
        for (let i = 0; i < 5; i++) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        const call = await window.apiFetch("/v1/cidadao/me").then(
          (response) => ({ status: response.status }),
          (error) => ({ code: error.code }),
        );
        return { collected, call };
      }, MARIA);
      assert.ok(out.collected.includes("dropped"), `nothing was collected: the test proves nothing (${JSON.stringify(out)})`);
      assert.ok(!out.collected.includes("kept"), "the client behind the fetcher was collected");
      assert.deepEqual(out.call, { status: 200 });
    },
  );

  test("free() called from the caller's own arguments rejects that call only, not_authenticated, and sends nothing", { timeout: 20_000 }, async () => {
    const { page, consoleMessages } = await env.newPage();
    const out = await page.evaluate(async (credentials) => {
      const signedIn = async () => {
        const auth = e2e.client();
        await auth.login(credentials);
        return auth;
      };
      let auth = await signedIn();
      const init = await e2e.settle(
        auth.fetch("/v1/cidadao/me", {
          get headers() {
            auth.free();
            return { "X-Probe": "1" };
          },
        }),
      );
      auth = await signedIn();
      const url = await e2e.settle(
        auth.fetch({
          toString() {
            auth.free();
            return "/v1/cidadao/me";
          },
        }),
      );
      auth = await signedIn();
      const fetcher = auth.fetcher();
      const viaFetcher = await e2e.settle(
        fetcher("/v1/cidadao/me", {
          get method() {
            auth.free();
            return "GET";
          },
        }),
      );
      auth = e2e.client();
      const login = await e2e.settle(
        auth.login({
          toJSON() {
            auth.free();
            return credentials;
          },
        }),
      );
      // The package still works: a new client signs in and calls.
      auth = await signedIn();
      const after = await e2e.call("/v1/cidadao/me");
      return { init, url, viaFetcher, login, after: after.status };
    }, MARIA);
    for (const key of ["init", "url", "viaFetcher", "login"]) {
      const r = out[key];
      assert.equal(r.ok, false, `${key}: resolved`);
      assert.equal(r.error.isError, true, `${key}: ${JSON.stringify(r.error)}`);
      assert.equal(r.error.name, "AuthError", `${key}: ${JSON.stringify(r.error)}`);
      assert.equal(r.error.code, "not_authenticated", `${key}: ${JSON.stringify(r.error)}`);
    }
    assert.equal(out.after, 200);
    const c = await env.counters();
    assert.equal(requestsTo(c, "/v1/cidadao/me"), 1, "a call whose client was released from its arguments was sent");
    assert.equal(c.logins, 4, "the credentials of the released client were sent");
    const errors = consoleMessages.filter((m) => m.type === "pageerror" || m.type === "error");
    assert.deepEqual(errors, [], "an error escaped to the page");
  });
});
