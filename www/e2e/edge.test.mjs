// The browser edge (js/authfetch.js) on its own, in each engine: what the public API does before
// any session, its configuration errors, the call snapshot, events, the page listeners and the
// one timer — each checked against the package as an app loads it, and the reference server
// where a request goes out.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MARIA, requestsTo, sleep, useE2E, waitForCounters } from "./harness.mjs";

const env = useE2E();
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const MIN = 60_000;

async function page() {
  return (await env.newPage()).page;
}

describe("the browser edge", () => {
  test("configuration errors are AuthErrors naming the key, in the order the keys are read", { timeout: 20_000 }, async () => {
    const p = await page();
    const keys = await p.evaluate(() => {
      const keyOf = (config) => {
        try {
          new window.authfetch.AuthClient(config);
          return "no error";
        } catch (e) {
          if (!(e instanceof Error) || e.name !== "AuthError" || e.code !== "invalid_config") return `not an invalid_config AuthError: ${e}`;
          if (!e.message.startsWith(`${e.key}: `)) return `message ${JSON.stringify(e.message)} does not name ${e.key}`;
          return e.key;
        }
      };
      const login = { loginPath: "/login" };
      const api = { baseUrl: "http://127.0.0.1:8080" };
      return [
        keyOf({}),
        keyOf({ loginPath: 3 }),
        keyOf({ ...login, refreshpath: "/r" }),
        keyOf({ ...login, maxRetries: "1" }),
        keyOf({ ...login, maxRetries: 1.5 }),
        keyOf({ ...login, crossTab: 1 }),
        keyOf({ ...login, allowedOrigins: "https://a.example/api" }),
        keyOf({ ...login, expiredErrorCodes: [1] }),
        keyOf({ ...login, accessTokenPath: ["a", 2] }),
        keyOf({ ...login, refreshCredential: "cookie" }),
        keyOf({ ...login, fetch: "not a function" }),
        keyOf({ ...login, baseUrl: "http://[bad" }),
        keyOf({ ...api, loginPath: "https://evil.example/login" }),
        keyOf({ ...api, ...login, refreshPath: "http://127.0.0.1:8080@evil.example/refresh" }),
        keyOf({ ...api, ...login, logoutPath: "https://evil.example/logout" }),
        keyOf("/login"),
        keyOf(null),
        // An unknown key is named before a wrong value of a known one.
        keyOf({ loginPath: 3, typo: 1 }),
        // A getter that throws is a wrong value of its key, not an exception from the constructor.
        keyOf({
          ...login,
          get refreshPath() {
            throw new RangeError("boom");
          },
        }),
        keyOf(new Proxy({}, { get: (_, key) => { if (key === "allowedOrigins") throw new Error("trap"); return key === "loginPath" ? "/login" : undefined; } })),
      ];
    });
    assert.deepEqual(keys, [
      "loginPath",
      "loginPath",
      "refreshpath",
      "maxRetries",
      "maxRetries",
      "crossTab",
      "allowedOrigins",
      "expiredErrorCodes",
      "accessTokenPath",
      "refreshPath",
      "fetch",
      "baseUrl",
      "loginPath",
      "refreshPath",
      "logoutPath",
      "config",
      "config",
      "typo",
      "refreshPath",
      "allowedOrigins",
    ]);
  });

  test("null is the default, or off where the key has an off; keys are read from the prototype too", async () => {
    const p = await page();
    const made = await p.evaluate(() => {
      const { AuthClient } = window.authfetch;
      const a = new AuthClient({ loginPath: "/login", refreshPath: null, loginUrl: null, idleTimeoutSeconds: null });
      class Settings {
        get loginPath() {
          return "/v1/auth/login";
        }
      }
      const b = new AuthClient(new Settings());
      const out = [a.isAuthenticated, b.isAuthenticated];
      a.free();
      b.free();
      return out;
    });
    assert.deepEqual(made, [false, false]);
  });

  test("before a session: nothing is sent, each call rejects not_authenticated, restore() is false, logout() is quiet", { timeout: 20_000 }, async () => {
    const p = await page();
    const out = await p.evaluate(async () => {
      const auth = e2e.client();
      const state = [auth.isAuthenticated, auth.expiresAt, auth.refreshAt];
      const call = await e2e.settle(auth.fetch("/v1/cidadao/me"));
      const refresh = await e2e.settle(auth.refresh());
      const restore = await e2e.settle(auth.restore());
      const logout = await e2e.settle(auth.logout());
      return { state, call, refresh, restore, logout, events: e2e.events.length };
    });
    assert.deepEqual(out.state, [false, undefined, undefined]);
    assert.equal(out.call.error.code, "not_authenticated");
    assert.equal(out.call.error.name, "AuthError");
    assert.equal(out.call.error.isError, true);
    assert.equal(out.call.error.status, undefined);
    assert.equal(out.refresh.error.code, "not_authenticated");
    assert.deepEqual(out.restore, { ok: true, value: false });
    assert.deepEqual(out.logout, { ok: true, value: undefined });
    assert.equal(out.events, 0, "no session, no event");
    assert.equal(requestsTo(await env.counters(), "/v1/cidadao/me"), 0);
  });

  test("fetcher() is one function; after free() it rejects not_authenticated like fetch, never throws, and every method says not_authenticated", { timeout: 20_000 }, async () => {
    const p = await page();
    const out = await p.evaluate(async () => {
      const auth = e2e.client();
      const f = auth.fetcher();
      const same = f === auth.fetcher();
      const before = await e2e.settle(f("/v1/cidadao/me"));
      auth.free();
      let thrown;
      let returned;
      try {
        returned = f("/v1/cidadao/me");
      } catch (e) {
        thrown = e2e.errorInfo(e);
      }
      const isPromise = returned instanceof Promise;
      const rejected = isPromise ? await e2e.settle(returned) : undefined;
      const after = await e2e.settle(auth.fetch("/v1/cidadao/me"));
      const login = await e2e.settle(auth.login({ email: "x", senha: "y" }));
      auth.free();
      return { same, before, thrown, isPromise, rejected, after, login, state: [auth.isAuthenticated, auth.expiresAt] };
    });
    assert.equal(out.same, true);
    assert.equal(out.before.error.code, "not_authenticated");
    assert.equal(out.thrown, undefined, "a freed client's fetcher threw instead of returning a rejected promise");
    assert.equal(out.isPromise, true);
    assert.equal(out.rejected.error.code, "not_authenticated");
    assert.equal(out.after.error.code, "not_authenticated");
    assert.equal(out.login.error.code, "not_authenticated");
    assert.deepEqual(out.state, [false, undefined]);
  });

  test("login() refuses what is not a JSON-serializable object, naming credentials", async () => {
    const p = await page();
    const out = await p.evaluate(async () => {
      const auth = e2e.client();
      const cyclic = {};
      cyclic.self = cyclic;
      return Promise.all([auth.login("maria"), auth.login(cyclic), auth.login(null)].map((x) => e2e.settle(x)));
    });
    for (const r of out) assert.equal(r.error.code, "invalid_config");
    assert.equal(requestsTo(await env.counters(), "/v1/auth/login"), 0);
  });

  test("input fetch refuses is fetch's own TypeError; a foreign origin gets the caller's request as it is, without the bearer", { timeout: 20_000 }, async () => {
    const p = await page();
    await p.evaluate((credentials) => e2e.client().login(credentials), MARIA);
    const out = await p.evaluate(async (foreign) => {
      const bad = await window.auth.fetch("http://[::1").then(
        () => "resolved",
        (e) => ({ typeError: e instanceof TypeError, code: e.code }),
      );
      // Its body is read once, by the call (as `fetch(request)` reads it), and sent whole.
      const request = new Request(`${foreign}/echo`, { method: "POST", body: "payload" });
      const passed = await window.auth.fetch(request).then((r) => r.json());
      return { bad, passed, authorization: request.headers.has("Authorization") };
    }, env.server.foreignOrigin);
    assert.deepEqual(out.bad, { typeError: true, code: undefined });
    assert.deepEqual([out.passed.origin, out.passed.method, out.passed.authorization], ["foreign", "POST", false]);
    assert.equal(out.authorization, false, "the caller's Request is never given the bearer");
    const c = await env.counters();
    assert.equal(c.foreign.withAuthorization, 0);
    assert.equal(c.foreign.requests, 1);
  });

  test("with a session: the caller's Request is never changed, and a string, URLSearchParams or FormData body is sent whole", { timeout: 20_000 }, async () => {
    const p = await page();
    await p.evaluate((credentials) => e2e.client().login(credentials), MARIA);
    const out = await p.evaluate(async () => {
      const request = new Request("/__test/echo", { method: "PUT", body: "{\"x\":1}" });
      const first = await e2e.call(request);
      const form = new FormData();
      form.append("tipo", "COMPROVANTE");
      const bodies = [];
      for (const body of ["text", new URLSearchParams("a=1&b=%C3%A7"), form]) {
        bodies.push((await e2e.call("/__test/echo", { method: "POST", body })).body);
      }
      return { first: first.body, header: request.headers.has("Authorization"), bodies };
    });
    assert.equal(out.first.bearer, true);
    assert.equal(out.first.bodySha256, sha256('{"x":1}'));
    assert.equal(out.header, false);
    const [text, params, form] = out.bodies;
    assert.deepEqual([text.bearer, text.bodySha256], [true, sha256("text")]);
    assert.deepEqual([params.bearer, params.bodySha256], [true, sha256("a=1&b=%C3%A7")]);
    assert.equal(form.bearer, true);
    assert.match(form.contentType, /^multipart\/form-data; boundary=/);
    assert.ok(form.bodyBytes > 0);
  });

  test("events are CustomEvents with their detail; a removed or non-function listener gets nothing", { timeout: 20_000 }, async () => {
    const p = await page();
    const out = await p.evaluate(async (credentials) => {
      const { AuthClient } = window.authfetch;
      const auth = new AuthClient({ loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token", loginUrl: null });
      const seen = [];
      const listener = (e) => seen.push([e.type, e instanceof CustomEvent, typeof e.detail.expiresAt]);
      auth.addEventListener("login", listener);
      auth.addEventListener("login", listener);
      auth.addEventListener("login", { handleEvent: () => seen.push("object") });
      await auth.login(credentials);
      auth.removeEventListener("login", listener);
      await auth.login(credentials);
      const reasons = [];
      auth.addEventListener("logout", (e) => reasons.push(e.detail.reason));
      await auth.logout();
      auth.free();
      return { seen, reasons };
    }, MARIA);
    assert.deepEqual(out.seen, [["login", true, "number"]]);
    assert.deepEqual(out.reasons, ["user"]);
  });

  test("a wake-up event catches up a missed deadline once; after free() the events reach nothing", { timeout: 25_000 }, async () => {
    await env.config({ accessTtlSeconds: 3600 });
    const { page: p } = await env.newPage({ clock: true });
    await p.clock.pauseAt((await p.evaluate(() => Date.now())) + 1000);
    const t0 = await p.evaluate(async (credentials) => {
      const auth = e2e.client();
      await auth.login(credentials);
      return Date.now();
    }, MARIA);
    // The wall clock passes the renewal deadline (59 min) with no timer run, as in a sleeping
    // laptop: `focus` catches it up, once.
    await p.clock.setSystemTime(t0 + 59 * MIN + 30_000);
    await p.evaluate(() => {
      window.dispatchEvent(new Event("focus"));
      window.dispatchEvent(new Event("online"));
    });
    await waitForCounters(env, (x) => x.refreshRequests >= 1);
    await sleep(400);
    assert.equal((await env.counters()).refreshRequests, 1, "focus + online: one catch-up renewal");
    // Freed, the client listens to nothing: a deadline missed again is never caught up.
    await p.evaluate(() => window.auth.free());
    await p.clock.setSystemTime(t0 + 2 * 59 * MIN + 60_000);
    await p.evaluate(() => {
      for (const type of ["focus", "pageshow", "online", "pagehide"]) window.dispatchEvent(new Event(type));
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await sleep(400);
    assert.equal((await env.counters()).refreshRequests, 1);
  });

  test("an access token that lives longer than setTimeout can wait (24.8 days) is renewed neither at once nor early", { timeout: 20_000 }, async () => {
    await env.config({ accessTtlSeconds: 40 * 24 * 3600 });
    const p = await page();
    const out = await p.evaluate(async (credentials) => {
      const auth = e2e.client();
      await auth.login(credentials);
      await new Promise((r) => setTimeout(r, 500));
      return { refreshIn: auth.refreshAt - Date.now(), refreshes: e2e.events.filter((e) => e.type === "refresh").length };
    }, MARIA);
    assert.ok(out.refreshIn > 39 * 24 * 3600 * 1000, `refreshAt ${out.refreshIn} ms away`);
    assert.equal(out.refreshes, 0);
    assert.equal((await env.counters()).refreshRequests, 0);
  });
});
