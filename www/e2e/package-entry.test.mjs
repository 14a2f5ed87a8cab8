// The package's entry (pkg/index.js, issue 11) in a page that has not loaded it yet: the
// `not_initialized` errors, one shared load for concurrent `createAuthClient` calls, a failed
// load that a later call retries.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { useE2E } from "./harness.mjs";

const env = useE2E();

/** A page of the server's origin that has not imported authfetch; counts fetches of the wasm. */
async function blankPage() {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const wasmFetches = [];
  page.on("request", (r) => {
    if (r.url().endsWith(".wasm")) wasmFetches.push(new URL(r.url()).pathname);
  });
  await page.goto(`${env.server.origin}/login`);
  return { page, wasmFetches, close: () => context.close() };
}

describe("the package entry", () => {
  test("new AuthClient() before init() throws AuthError not_initialized naming createAuthClient; nothing was fetched", { timeout: 20_000 }, async () => {
    const { page, wasmFetches, close } = await blankPage();
    try {
      const thrown = await page.evaluate(async () => {
        const { AuthClient, isAuthError } = await import("/pkg/index.js");
        try {
          new AuthClient({ loginPath: "/v1/auth/login" });
          return null;
        } catch (e) {
          return { name: e.name, code: e.code, message: e.message, guard: isAuthError(e) };
        }
      });
      assert.equal(thrown?.name, "AuthError");
      assert.equal(thrown.code, "not_initialized");
      assert.equal(thrown.guard, true);
      assert.match(thrown.message, /createAuthClient/);
      assert.deepEqual(wasmFetches, []);
    } finally {
      await close();
    }
  });

  test("five concurrent createAuthClient() calls share one load: one fetch of the wasm, five working clients", { timeout: 20_000 }, async () => {
    const { page, wasmFetches, close } = await blankPage();
    try {
      const result = await page.evaluate(async () => {
        const { createAuthClient } = await import("/pkg/index.js");
        const config = { loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token", loginUrl: null };
        const clients = await Promise.all(Array.from({ length: 5 }, () => createAuthClient(config)));
        await clients[0].login({ email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" });
        const me = await clients[0].fetch("/v1/cidadao/me");
        return { distinct: new Set(clients).size, status: me.status, others: clients.slice(1).map((c) => typeof c.isAuthenticated) };
      });
      assert.deepEqual(result, { distinct: 5, status: 200, others: ["boolean", "boolean", "boolean", "boolean"] });
      assert.deepEqual(wasmFetches, ["/pkg/authfetch_bg.wasm"]);
    } finally {
      await close();
    }
  });

  test("a module that cannot be loaded rejects not_initialized with the cause and a hint; a later init() loads it", { timeout: 20_000 }, async () => {
    const { page, close } = await blankPage();
    try {
      const result = await page.evaluate(async () => {
        const authfetch = await import("/pkg/index.js");
        let failed;
        try {
          // The server answers this with its HTML 404 page, as a misconfigured dev server would.
          await authfetch.default({ module_or_path: "/nowhere/authfetch_bg.wasm" });
        } catch (e) {
          failed = { name: e.name, code: e.code, message: e.message, cause: String(e.cause) };
        }
        await authfetch.default();
        const auth = new authfetch.AuthClient({ loginPath: "/v1/auth/login" });
        return { failed, works: auth.isAuthenticated === false };
      });
      assert.equal(result.failed?.name, "AuthError");
      assert.equal(result.failed.code, "not_initialized");
      assert.match(result.failed.message, /could not be loaded/);
      assert.match(result.failed.message, /optimizeDeps/);
      assert.notEqual(result.failed.cause, "undefined");
      assert.equal(result.works, true);
    } finally {
      await close();
    }
  });
});
