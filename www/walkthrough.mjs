// The headless demo walkthrough that `make demo` runs once pkg/ and the server are built.
//
// Starts the reference server (with test controls) on $PORT (8080) and $FOREIGN_PORT (8081),
// drives the demo page in headless Chromium through the whole session life cycle, prints one
// line per step, then leaves the server running for a person until Ctrl-C (SIGINT/SIGTERM).
// DEMO_EXIT=1: exit right after the walkthrough. Any failed step: exit 1.

import { createHash, randomBytes } from "node:crypto";
import { clickApi, controlsFor, launchBrowser, requestsTo, sleep, startServer } from "./e2e/harness.mjs";

const PORT = Number(process.env.PORT || 8080);
const FOREIGN_PORT = Number(process.env.FOREIGN_PORT || 8081);
const SHORT_TTL = 12; // s: the proactive refresh lands at ~6 s (lead capped at half the lifetime)
const HUMAN_TTL = 120; // s: what the person gets afterwards (a refresh every minute)

const started = performance.now();
const elapsed = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
const say = (text) => console.log(`${elapsed()} ${text}`);

let server;
let browser;
let current = "starting";
let steps = 0;

async function step(name, fn) {
  current = name;
  const line = await fn();
  steps += 1;
  say(line);
}

let stopping = false;

async function shutdown(code) {
  stopping = true;
  await browser?.close().catch(() => {});
  await server?.stop().catch(() => {});
  process.exit(code);
}

async function waitFor(what, fn, timeoutMs = 10_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

async function walkthrough() {
  server = await startServer({ port: PORT, foreignPort: FOREIGN_PORT });
  const ctl = controlsFor(server.origin);
  say(`server listening on ${server.origin} (foreign origin :${server.foreignPort}, test controls on)`);
  await ctl.reset();

  browser = await launchBrowser();
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // demo.js mirrors its event log and failed API calls to the console ("[demo] type: text").
  const demoLines = [];
  page.on("console", (msg) => {
    if (msg.text().startsWith("[demo] ")) demoLines.push(msg.text().slice(7));
  });
  // What the API answered, seen from the network (statuses and PGBen error codes, never tokens).
  const answers = [];
  page.on("response", async (response) => {
    const url = new URL(response.url());
    if (!url.pathname.startsWith("/v1/")) return;
    const entry = { path: url.pathname, status: response.status(), errorCode: undefined };
    answers.push(entry);
    if (entry.status === 401) entry.errorCode = await response.json().then((b) => b.errorCode).catch(() => undefined);
  });
  const answersFor = (path, from) => answers.slice(from).filter((a) => a.path === path);

  const readApi = async (buttonId, path) => {
    const { state, status, result } = await clickApi(page, buttonId, path);
    if (state !== "ok") throw new Error(status);
    return { status, body: JSON.parse(result) };
  };
  const controlClick = async (buttonId) => {
    await page.$eval("#control-status", (el) => (el.dataset.state = ""));
    await page.click(`#${buttonId}`);
    await page.waitForFunction(() => document.getElementById("control-status").dataset.state !== "", null, { timeout: 5000 });
    if ((await page.getAttribute("#control-status", "data-state")) !== "ok") {
      throw new Error(await page.textContent("#control-status"));
    }
  };
  const setTtl = async (seconds) => {
    await page.fill("#ttl-input", String(seconds));
    await controlClick("ttl-apply");
  };

  await step("open the demo page", async () => {
    await page.goto(`${server.origin}/`);
    await page.waitForSelector("body[data-ready='true']", { timeout: 15_000 });
    if (!(await page.isVisible("#test-controls"))) throw new Error("the test controls panel is hidden");
    return "demo page loaded — authfetch initialised, test controls shown";
  });

  await step("short access TTL", async () => {
    await setTtl(SHORT_TTL);
    return `access TTL set to ${SHORT_TTL} s (test control) — the proactive refresh will come at ~${SHORT_TTL / 2} s`;
  });

  let loginAt;
  await step("login", async () => {
    await page.click("#login-btn");
    await page.waitForSelector("#session-status[data-state='signed-in']", { timeout: 10_000 });
    loginAt = performance.now();
    const { expiresAt, refreshAt, now } = await page.evaluate(() => ({
      expiresAt: window.auth.expiresAt,
      refreshAt: window.auth.refreshAt,
      now: Date.now(),
    }));
    const refreshIn = refreshAt === undefined ? "unknown" : `${((refreshAt - now) / 1000).toFixed(1)} s`;
    return `login ok (maria.oliveira@exemplo.com) — expiresAt in ${Math.round((expiresAt - now) / 1000)} s, refresh in ${refreshIn}`;
  });

  await step("GET /v1/cidadao/me", async () => {
    const { body } = await readApi("btn-me", "/v1/cidadao/me");
    return `GET /v1/cidadao/me → 200 — ${body.nomeCompleto}, CPF ${body.cpf}`;
  });

  await step("GET /v1/beneficio/meus-beneficios", async () => {
    const { body } = await readApi("btn-beneficios", "/v1/beneficio/meus-beneficios");
    const list = (body.itens ?? []).map((b) => `${b.tipoBeneficio} ${b.status}`).join(", ");
    return `GET /v1/beneficio/meus-beneficios → 200 — ${body.totalItens} benefícios: ${list}`;
  });

  await step("proactive refresh", async () => {
    // Tokens issued from now on (the refreshed one included) live HUMAN_TTL s, so that the
    // following steps are not interleaved with more 6-second refreshes.
    await setTtl(HUMAN_TTL);
    const c = await waitFor("the proactive refresh", async () => {
      const x = await ctl.counters();
      return x.refreshes >= 1 ? x : null;
    }, (SHORT_TTL + 5) * 1000);
    const at = ((performance.now() - loginAt) / 1000).toFixed(1);
    const entry = await waitFor(
      "the refresh entry in the event log",
      () => page.$eval("#event-log", (ol) => ol.querySelector("li[data-type='refresh'] .text")?.textContent ?? null),
      5000,
    );
    return `proactive refresh ${at} s after login, no API call involved (server: refreshRequests ${c.refreshRequests}, refreshes ${c.refreshes}) — event log: "${entry}"`;
  });

  await step("expired access token", async () => {
    const before = await ctl.counters();
    const from = answers.length;
    await controlClick("expire-btn");
    await readApi("btn-me", "/v1/cidadao/me");
    await sleep(100); // let the 401 body be read from the network log
    const after = await ctl.counters();
    const seen = answersFor("/v1/cidadao/me", from).map((a) => `${a.status}${a.errorCode ? ` ${a.errorCode}` : ""}`);
    const requests = requestsTo(after, "/v1/cidadao/me") - requestsTo(before, "/v1/cidadao/me");
    const refreshes = after.refreshRequests - before.refreshRequests;
    if (seen[0] !== "401 AUTH_006" || seen.at(-1) !== "200" || refreshes !== 1 || requests !== 2) {
      throw new Error(`expected 401 AUTH_006, one refresh, then 200; saw [${seen.join(", ")}], ${refreshes} refreshes, ${requests} requests`);
    }
    return `expire-access, then GET /v1/cidadao/me: ${seen.join(" → refresh → retry ")} (server: ${requests} requests, ${refreshes} refresh)`;
  });

  await step("upload", async () => {
    const bytes = randomBytes(64 * 1024);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    await page.setInputFiles("#upload-file", { name: "comprovante_renda.pdf", mimeType: "application/pdf", buffer: bytes });
    await page.selectOption("#tipo-documento", "COMPROVANTE_RENDA");
    await page.click("#upload-btn");
    await page.waitForFunction(() => ["ok", "error"].includes(document.getElementById("upload-status").dataset.state), null, {
      timeout: 10_000,
    });
    if ((await page.getAttribute("#upload-status", "data-state")) !== "ok") throw new Error(await page.textContent("#upload-status"));
    const answered = await page.textContent("#upload-sha256");
    const size = await page.getAttribute("#upload-size", "data-bytes");
    if (answered !== sha256) throw new Error(`sha256 mismatch: sent ${sha256}, server answered ${answered}`);
    return `upload comprovante_renda.pdf → 201 — ${size} bytes, sha256 ${answered.slice(0, 16)}… (matches the bytes sent)`;
  });

  await step("revoke all", async () => {
    const from = demoLines.length;
    await controlClick("revoke-btn");
    await Promise.all([page.waitForURL((url) => url.pathname === "/login", { timeout: 10_000 }), page.click("#btn-me")]);
    await page.waitForSelector("#session-ended", { timeout: 5000 });
    const lines = demoLines.slice(from);
    const logout = lines.find((l) => l.startsWith("logout: "));
    const failed = lines.find((l) => l.startsWith("api: "));
    if (!logout) throw new Error(`no logout event before the redirect; page said: ${lines.join(" | ")}`);
    const reason = /reason: (\w+)/.exec(logout)?.[1];
    const rejection = failed ? failed.replace(/^api: GET \S+ failed: /, "") : "?";
    return `revoke all, then GET /v1/cidadao/me → rejected ${rejection}; logout (${reason}) → page now at ${new URL(page.url()).pathname}`;
  });

  await ctl.config({ accessTtlSeconds: HUMAN_TTL });
  if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
  say(`walkthrough complete — ${steps} steps ok; access TTL is ${HUMAN_TTL} s for you (a refresh every minute)`);
}

const watchdog = setTimeout(() => {
  say(`FAILED at "${current}": the walkthrough took more than 120 s`);
  shutdown(1);
}, 120_000);

try {
  await walkthrough();
} catch (err) {
  say(`FAILED at "${current}": ${err?.message ?? err}`);
  await shutdown(1);
}
clearTimeout(watchdog);
await browser?.close().catch(() => {});
browser = undefined;

if (process.env.DEMO_EXIT === "1") {
  await shutdown(0);
} else {
  console.log(`Demo running at ${server.origin}/ — Ctrl-C to stop`);
  const stop = () => shutdown(0);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // If the server dies on its own, there is nothing left to show.
  server.process.once("exit", (code, signal) => {
    // Ctrl-C in a terminal reaches the server too; our own SIGINT handler then exits 0.
    setTimeout(() => {
      if (stopping) return;
      console.error(`the server exited (${code ?? signal})`);
      process.exit(1);
    }, 500);
  });
}
