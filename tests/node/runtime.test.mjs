// authfetch in Node.js (issue 12), against the real reference server: the package as it ships
// (pkg/index.js, the wasm read from disk by createAuthClient), no page, no document. Time-based
// rules run on @sinonjs/fake-timers' clock (setTimeout and Date only; the network stays real).
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { controlsFor, MARIA, REPO_ROOT, startServer } from "../../www/e2e/harness.mjs";
import { seed } from "../../www/e2e/seeds.mjs";
import { createAuthClient, isAuthError } from "../../pkg/index.js";

const FakeTimers = createRequire(`${REPO_ROOT}www/package.json`)("@sinonjs/fake-timers");

let server;
let api;

before(async () => {
  server = await startServer();
  api = controlsFor(server.origin);
});
after(async () => {
  await server?.stop();
});
beforeEach(async () => {
  await api.reset();
});

const pgben = (extra = {}) => ({
  baseUrl: server.origin,
  loginPath: "/v1/auth/login",
  refreshPath: "/v1/auth/refresh-token",
  ...extra,
});

/** Rejection of `promise` as `{ code, message }`, or fails when it resolves. */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(isAuthError(e), `not an AuthError: ${e}`);
    return e;
  }
  assert.fail("resolved");
}

describe("configuration without a page", () => {
  test("an absolute baseUrl needs no location; a missing or relative one is invalid_config naming baseUrl", async () => {
    const auth = await createAuthClient(pgben());
    assert.equal(auth.isAuthenticated, false);
    auth.free();
    for (const baseUrl of [undefined, "/api"]) {
      const e = await rejection(createAuthClient({ ...pgben(), baseUrl }));
      assert.equal(e.code, "invalid_config");
      assert.equal(e.key, "baseUrl");
      assert.match(e.message, /Node\.js/);
    }
  });

  test("a relative input to fetch is fetch's own TypeError, naming the URL; nothing is sent", async () => {
    const auth = await createAuthClient(pgben());
    await auth.login(MARIA);
    const before = (await api.counters()).requests["/v1/cidadao/me"] ?? 0;
    await assert.rejects(auth.fetch("/v1/cidadao/me"), (e) => e instanceof TypeError && /\/v1\/cidadao\/me/.test(String(e.message) + String(e.cause)));
    assert.equal((await api.counters()).requests["/v1/cidadao/me"] ?? 0, before);
    auth.free();
  });

  test("the fetch option: every request goes through the function given, with one Request", async () => {
    const seen = [];
    const auth = await createAuthClient(
      pgben({
        fetch: (request) => {
          seen.push(`${request.method} ${new URL(request.url).pathname} ${request.headers.has("authorization")}`);
          return fetch(request);
        },
      }),
    );
    await auth.login(MARIA);
    const res = await auth.fetch(`${server.origin}/v1/cidadao/me`);
    assert.equal(res.status, 200);
    assert.deepEqual(seen, ["POST /v1/auth/login false", "GET /v1/cidadao/me true"]);
    const e = await rejection(createAuthClient(pgben({ fetch: "fetch" })));
    assert.equal(e.key, "fetch");
    auth.free();
  });
});

describe("the session in Node.js", () => {
  test("login, a call with the bearer, an expired token renewed once and the call retried, logout", async () => {
    const auth = await createAuthClient(pgben());
    const events = [];
    for (const type of ["login", "refresh", "logout"]) auth.addEventListener(type, (e) => events.push(`${type}:${e.detail.reason ?? ""}`));
    await auth.login(MARIA);
    const me = await auth.fetch(`${server.origin}/v1/cidadao/me`);
    assert.equal((await me.json()).email, MARIA.email);
    await api.control("expire-access");
    const again = await Promise.all([1, 2, 3].map(() => auth.fetch(`${server.origin}/v1/cidadao/me`)));
    assert.deepEqual(again.map((r) => r.status), [200, 200, 200]);
    assert.equal((await api.counters()).refreshes, 1, "three expired calls, one renewal");
    await auth.logout();
    assert.deepEqual(events, ["login:", "refresh:", "logout:user"]);
    const after = await rejection(auth.fetch(`${server.origin}/v1/cidadao/me`));
    assert.equal(after.code, "not_authenticated");
    auth.free();
  });

  test("proactive renewal one minute before expiry, on a fake clock", async () => {
    await api.config({ accessTtlSeconds: 3600 });
    const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const auth = await createAuthClient(pgben());
      await auth.login(MARIA);
      assert.equal(auth.refreshAt, auth.expiresAt - 60_000);
      const renewed = new Promise((resolve) => auth.addEventListener("refresh", resolve));
      await clock.tickAsync(3540_000 - 1000);
      assert.equal((await api.counters()).refreshRequests, 0, "renewed before its time");
      await clock.tickAsync(1000);
      await renewed;
      const c = await api.counters();
      assert.equal(c.refreshes, 1);
      assert.equal(auth.expiresAt, Date.now() + 3600_000);
      auth.free();
    } finally {
      clock.uninstall();
    }
  });

  test("a session the server ends: logout event with its reason, no redirect attempted, the call rejects", async () => {
    const auth = await createAuthClient(pgben());
    const reasons = [];
    auth.addEventListener("logout", (e) => reasons.push(e.detail.reason));
    await auth.login(MARIA);
    await api.control("revoke", { all: true });
    const e = await rejection(auth.fetch(`${server.origin}/v1/cidadao/me`));
    assert.equal(e.code, "session_expired");
    assert.deepEqual(reasons, ["invalid_token"]);
    auth.free();
  });

  test("two clients in one process are isolated (crossTab defaults to false without a document)", async () => {
    const a = await createAuthClient(pgben());
    const b = await createAuthClient(pgben());
    await a.login(MARIA);
    assert.equal(b.isAuthenticated, false, "B took A's session");
    assert.equal(await b.restore(), false);
    const e = await rejection(b.fetch(`${server.origin}/v1/cidadao/me`));
    assert.equal(e.code, "not_authenticated");
    await b.login(MARIA);
    await a.logout();
    assert.equal(b.isAuthenticated, true, "A's logout ended B");
    assert.equal((await b.fetch(`${server.origin}/v1/cidadao/me`)).status, 200);
    a.free();
    b.free();
  });
});

describe("crossTab: true in Node.js", () => {
  test("an explicit crossTab: true is honoured: a second client of the process joins the first one's session", async () => {
    const a = await createAuthClient(pgben({ crossTab: true }));
    const b = await createAuthClient(pgben({ crossTab: true }));
    await a.login(MARIA);
    assert.equal(await b.restore(), true);
    assert.equal((await b.fetch(`${server.origin}/v1/cidadao/me`)).status, 200);
    assert.equal((await api.counters()).logins, 1, "the second client logged in again");
    a.free();
    b.free();
  });
});

describe("seed APIs from Node.js", () => {
  test("seed 000: a FormData upload with a Blob, sent once with the bearer, stored byte for byte", async () => {
    const s000 = seed("s000");
    const auth = await createAuthClient(s000.config(server.origin));
    await auth.login(s000.credentials);
    const bytes = crypto.getRandomValues(new Uint8Array(40_000));
    const digest = Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("hex");
    const form = new FormData();
    form.append("arquivo", new Blob([bytes], { type: "application/octet-stream" }), "lote.bin");
    form.append("descricao", "lote de teste");
    const res = await auth.fetch(`${server.origin}/s000/api/envio`, { method: "POST", body: form });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.sha256, digest);
    assert.equal((await api.counters()).requests["/s000/api/envio"], 1);
    auth.free();
  });

  test("seed 001 (Nortus): renewal is a new login with the credentials kept in memory", async () => {
    const auth = await createAuthClient({
      baseUrl: `${server.origin}/s001`,
      loginPath: "/auth/login",
      refreshCredential: "relogin",
      expiredErrorCodes: [],
    });
    await auth.login({ email: "user@exemplo.com", password: "senha-nortus" });
    await api.control("expire-access");
    const res = await auth.fetch(`${server.origin}/s001/api/clientes`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).length, 2);
    const c = await api.counters();
    assert.equal(c.requests["/s001/auth/login"], 2, "the renewal is a second login");
    auth.free();
  });
});

describe("the process", () => {
  test("a script that logs in, calls and renews exits by itself (timers and channel do not hold it)", { timeout: 20_000 }, async () => {
    const script = fileURLToPath(new URL("exits.mjs", import.meta.url));
    const child = spawn(process.execPath, [script, server.origin], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const started = Date.now();
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 0, out);
    assert.match(out, /status 200, renewed, crossTab true too/);
    assert.ok(Date.now() - started < 10_000, `it took ${Date.now() - started} ms to exit`);
  });
});

/**
 * Writes the README block that starts with `// <file>` into a new app folder whose
 * node_modules/authfetch is the package (as `npm install` makes it), runs `node ...args` there
 * and resolves `{ code, out }`.
 */
async function runReadmeBlock(file, args) {
  const { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const readme = readFileSync(`${REPO_ROOT}README.md`, "utf8");
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const block = readme.match(new RegExp(`^\`\`\`js\n(// ${escaped}[\\s\\S]*?)^\`\`\`$`, "m"))?.[1];
  assert.ok(block, `README.md has no \`// ${file}\` block`);
  const dir = mkdtempSync(`${tmpdir()}/authfetch-node-app-`);
  mkdirSync(`${dir}/node_modules`);
  symlinkSync(`${REPO_ROOT}pkg`, `${dir}/node_modules/authfetch`, "dir");
  writeFileSync(`${dir}/${file}`, block);
  // Without NODE_TEST_CONTEXT: the child is a run of its own, not a file of this runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...env, API_ORIGIN: server.origin }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  return { code, out };
}

describe("the README's Node.js examples, run as written", () => {
  test("app.mjs against the server: logs in, calls, renews, exits", { timeout: 20_000 }, async () => {
    const { code, out } = await runReadmeBlock("app.mjs", ["app.mjs"]);
    assert.equal(code, 0, out);
    assert.match(out, /^200 Maria Oliveira$/m);
    assert.match(out, /renewed until/);
    const c = await api.counters();
    assert.equal(c.logins, 1);
    assert.equal(c.refreshes, 1);
  });

  test("session.test.mjs, the testing kit's example test: passes under node --test", { timeout: 20_000 }, async () => {
    const { code, out } = await runReadmeBlock("session.test.mjs", ["--test", "--test-reporter=tap", "session.test.mjs"]);
    assert.equal(code, 0, out);
    assert.match(out, /^# pass 1$/m);
    assert.match(out, /^# fail 0$/m);
  });
});
