// Seed 000's upload, POST /api/envio (multipart, bearer): "Se houver erro de autenticação (ex:
// 401), o envio é cancelado". With maxRetries 0 authfetch never re-sends an upload after a 401;
// instead it never sends one with a token it knows is expired: it renews first.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { requestsTo, useE2E } from "./harness.mjs";
import { journal, seed as seedNamed } from "./seeds.mjs";

const env = useE2E();
const s000 = seedNamed("s000");
const UPLOAD = "/s000/api/envio";

async function signedIn({ clock = false } = {}) {
  const opened = await env.newPage({ clock });
  const { page } = opened;
  if (clock) {
    const now = await page.evaluate(() => Date.now());
    await page.clock.pauseAt(now + 1000);
  }
  const t = await page.evaluate(
    async ({ config, credentials }) => {
      const auth = e2e.client(config);
      await auth.login(credentials);
      return { now: Date.now(), expiresAt: auth.expiresAt };
    },
    { config: s000.config(env.server.origin), credentials: s000.credentials },
  );
  return { ...opened, t };
}

/** Uploads `size` random bytes from the page; answers the call and the page's own SHA-256. */
function upload(page, size) {
  return page.evaluate(
    async ({ path, size }) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      const digest = await crypto.subtle.digest("SHA-256", bytes);
      const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      const form = new FormData();
      form.append("arquivo", new File([bytes], "lote-2025.bin", { type: "application/octet-stream" }));
      form.append("descricao", "lote de teste");
      return { sha256, result: await e2e.call(path, { method: "POST", body: form }) };
    },
    { path: UPLOAD, size },
  );
}

async function storedUploads() {
  const res = await fetch(`${env.server.origin}/__control/uploads`);
  return (await res.json()).uploads;
}

describe("s000 upload", () => {
  test("an upload with a token the page knows expired: renewed first, sent once, with the fresh token, stored byte for byte", { timeout: 25_000 }, async () => {
    const { page, t } = await signedIn({ clock: true });
    await page.clock.setSystemTime(t.expiresAt + 5000);

    const { sha256, result } = await upload(page, 300_000);
    assert.equal(result.status, 200, JSON.stringify(result));
    assert.equal(result.body.sha256, sha256);
    assert.equal(result.body.tamanhoBytes, 300_000);
    assert.equal(result.body.nomeArquivo, "lote-2025.bin");

    const c = await env.counters();
    assert.equal(requestsTo(c, UPLOAD), 1, "the upload was sent more than once");
    assert.equal(c.refreshes, 1);
    const order = await journal(env.server.origin);
    assert.deepEqual(order, ["POST /s000/auth/login", "GET /s000/auth/tokenRefresh", `POST ${UPLOAD}`]);
    const stored = await storedUploads();
    assert.equal(stored.length, 1);
    assert.equal(stored[0].sha256, sha256);
    assert.equal(stored[0].tokenIssuedBy, "refresh", "the upload carried the login's (expired) token");
  });

  test("a 401 aborts the upload: not re-sent, nothing stored, the session ends", { timeout: 20_000 }, async () => {
    const { page } = await signedIn();
    // The server expires the token behind the page's back: the page cannot know.
    await env.control("expire-access");

    const { result } = await upload(page, 50_000);
    assert.equal(result.ok, false, `the upload resolved: ${JSON.stringify(result)}`);
    assert.equal(result.error.code, "session_expired");
    assert.equal(result.error.status, 401);
    const c = await env.counters();
    assert.equal(requestsTo(c, UPLOAD), 1, "the upload was re-sent after a 401");
    assert.equal(c.refreshRequests, 0);
    assert.deepEqual(await storedUploads(), []);
    assert.equal(await page.evaluate(() => auth.isAuthenticated), false);
  });

  test("a fresh token: the upload goes out at once with the login's token", { timeout: 20_000 }, async () => {
    const { page } = await signedIn();
    const { sha256, result } = await upload(page, 10_000);
    assert.equal(result.status, 200);
    const stored = await storedUploads();
    assert.equal(stored.length, 1);
    assert.equal(stored[0].sha256, sha256);
    assert.equal(stored[0].tokenIssuedBy, "login");
    assert.equal((await env.counters()).refreshRequests, 0);
  });
});
