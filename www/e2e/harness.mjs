// Shared helpers for the browser end-to-end suite and the demo walkthrough.
//
// Everything here drives real things: the reference API server binary (tests/api-server) and
// Debian's Chromium through playwright-core. Nothing is mocked.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { after, afterEach, before, beforeEach } from "node:test";
import { launchEngine } from "./engines.mjs";

/** The repository root (www/e2e/ → ../../). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Path of the api-server binary: `$API_SERVER_BIN`, else target/debug/api-server of this repo. */
export const SERVER_BIN =
  process.env.API_SERVER_BIN ?? fileURLToPath(new URL("../../target/debug/api-server", import.meta.url));

export { CHROMIUM_ARGS, CHROMIUM_PATH, ENGINE, freePort } from "./engines.mjs";

/** The PGBen dialect as the demo and the tests configure authfetch. */
export const LOGIN_PATH = "/v1/auth/login";
export const REFRESH_PATH = "/v1/auth/refresh-token";
export const MARIA = Object.freeze({ email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export { sleep };

// Every server started by this process, so that a crash still takes them down.
const liveServers = new Set();
process.on("exit", () => {
  for (const child of liveServers) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

/**
 * Starts the reference server with test controls and waits for its listening line. `www` is the
 * folder served at `/` (default: this repository's www/).
 * Resolves `{ port, foreignPort, origin, foreignOrigin, stop() }`.
 */
export async function startServer({ port = 0, foreignPort = 0, host = "127.0.0.1", www = `${REPO_ROOT}www`, extraArgs = [] } = {}) {
  const args = [
    "--host", host,
    "--port", String(port),
    "--foreign-port", String(foreignPort),
    "--test-controls",
    "--www", www,
    "--pkg", `${REPO_ROOT}pkg`,
    ...extraArgs,
  ];
  const child = spawn(SERVER_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  liveServers.add(child);
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  exited.then(() => liveServers.delete(child));

  const listening = new Promise((resolve, reject) => {
    child.once("error", (err) => reject(new Error(`cannot start ${SERVER_BIN}: ${err.message}`)));
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg && msg.event === "listening") resolve(msg);
    });
    exited.then(({ code, signal }) =>
      reject(new Error(`api-server exited (${code ?? signal}) before listening:\n${stderr}`)),
    );
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`api-server did not print its listening line in 20 s:\n${stderr}`)), 20_000);
  });
  let msg;
  try {
    msg = await Promise.race([listening, timeout]);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout.resume();

  const origin = `http://${host}:${msg.port}`;
  return {
    port: msg.port,
    foreignPort: msg.foreignPort,
    origin,
    foreignOrigin: `http://${host}:${msg.foreignPort}`,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/**
 * A context that shares nothing with the contexts before it, caches included. Every engine's
 * contexts are that already, but WebKit's layer reuses browser sessions between contexts
 * (engines-webkit.mjs): this one gets a session of its own.
 */
export function newIsolatedContext(browser) {
  return browser.newIsolatedContext ? browser.newIsolatedContext() : browser.newContext();
}

/** Launches the engine of this run (ENGINE: chromium, firefox or webkit; engines.mjs). */
export async function launchBrowser() {
  return launchEngine();
}

/** Test controls of a running server: `control(path, body)`, `counters()`, `reset()`, `config(body)`. */
export function controlsFor(origin) {
  async function control(path, body) {
    const res = await fetch(`${origin}/__control/${path.replace(/^\/+/, "")}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /__control/${path} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }
  async function counters() {
    const res = await fetch(`${origin}/__control/counters`);
    if (!res.ok) throw new Error(`GET /__control/counters answered ${res.status}`);
    return res.json();
  }
  return {
    control,
    counters,
    reset: () => control("reset"),
    config: (body) => control("config", body),
  };
}

/** Number of requests the server counted for one path (0 when never requested). */
export function requestsTo(counters, path) {
  return counters.requests?.[path] ?? 0;
}

/**
 * Polls `fn` in real time until it returns a truthy value; returns that value.
 * On timeout returns the last value (falsy) so the caller's assertion reports what was seen.
 */
export async function pollUntil(fn, { timeout = 5000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let value;
  for (;;) {
    value = await fn();
    if (value || Date.now() >= deadline) return value;
    await sleep(interval);
  }
}

/** Polls the server counters until `pred(counters)` holds (or `timeout` ms pass); returns them. */
export async function waitForCounters(controls, pred, opts) {
  let last;
  await pollUntil(async () => {
    last = await controls.counters();
    return pred(last);
  }, opts);
  return last;
}

// Installed in every test page once the package is loaded: a client factory that records the
// client's events, and a way to turn a rejection into plain data that crosses to Node.
function installPageHelpers({ loginPath, refreshPath }) {
  function errorInfo(e) {
    if (e === null || typeof e !== "object") return { thrown: String(e) };
    let details;
    try {
      details = e.details === undefined ? undefined : JSON.parse(JSON.stringify(e.details));
    } catch {
      details = String(e.details);
    }
    return {
      isError: e instanceof Error,
      name: e.name,
      code: e.code,
      status: e.status,
      serverCode: e.serverCode,
      serverMessage: e.serverMessage,
      message: e.message,
      details,
    };
  }
  function plain(detail) {
    if (detail instanceof Error) return errorInfo(detail);
    try {
      return JSON.parse(JSON.stringify(detail ?? null));
    } catch {
      return String(detail);
    }
  }
  window.e2e = {
    events: [],
    errorInfo,
    /** new AuthClient with the PGBen paths and loginUrl: null unless overridden; a key set to
     *  undefined is removed, so that the library's own default applies. */
    client(config = {}) {
      const merged = { loginPath, refreshPath, loginUrl: null, ...config };
      for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
      const auth = new window.authfetch.AuthClient(merged);
      for (const type of ["login", "refresh", "logout", "error"]) {
        auth.addEventListener(type, (ev) => {
          const entry = { type, at: Date.now(), detail: plain(ev.detail) };
          window.e2e.events.push(entry);
          if (typeof window.__e2eReport === "function") window.__e2eReport({ kind: "event", ...entry });
        });
      }
      window.auth = auth;
      return auth;
    },
    /** Awaits a promise and answers {ok, value} or {ok: false, error: errorInfo}. */
    async settle(promise) {
      try {
        return { ok: true, value: await promise };
      } catch (e) {
        return { ok: false, error: errorInfo(e) };
      }
    },
    /** auth.fetch, answered as plain data: {ok, status, body} or {ok: false, error}. */
    async call(input, init) {
      try {
        const res = await window.auth.fetch(input, init);
        const text = await res.text();
        let body = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        return { ok: true, status: res.status, body };
      } catch (e) {
        return { ok: false, error: errorInfo(e) };
      }
    },
  };
}

/**
 * Opens a page in a fresh browser context (own storage), records console messages and the token
 * texts of every login/refresh answer seen on the network, and waits for the package.
 *
 * Options: `clock` (true → `page.clock.install()` before navigation), `path` (default
 * "/test.html"), `waitForPackage` (default true for test.html).
 */
export async function openPage(browser, server, { clock = false, path = "/test.html", waitForPackage } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleMessages = [];
  const tokens = new Set();
  const pendingBodies = new Set();
  const reports = [];
  page.on("console", (msg) => consoleMessages.push({ type: msg.type(), text: msg.text() }));
  page.on("pageerror", (err) => consoleMessages.push({ type: "pageerror", text: String(err?.stack ?? err) }));
  page.on("response", (response) => {
    let url;
    try {
      url = new URL(response.url());
    } catch {
      return;
    }
    if (url.pathname !== LOGIN_PATH && url.pathname !== REFRESH_PATH) return;
    if (response.status() !== 200) return;
    const read = response
      .json()
      .then((body) => collectTokens(body, tokens))
      .catch(() => {})
      .finally(() => pendingBodies.delete(read));
    pendingBodies.add(read);
  });
  await page.exposeFunction("__e2eReport", (entry) => {
    reports.push(entry);
  });
  if (clock) await page.clock.install();
  await page.goto(server.origin + path);
  if (waitForPackage ?? path === "/test.html") await waitForAuthfetch(page);
  return {
    page,
    context,
    consoleMessages,
    /** Events reported live through __e2eReport (they survive a navigation of the page). */
    reports,
    /**
     * Token texts seen in login/refresh answers so far (after pending bodies are read), and
     * every token the server issued (`/__control/issued-tokens`), so that leak checks have
     * them whatever the engine lets the test see of the network.
     */
    async tokenTexts() {
      await Promise.all([...pendingBodies]);
      const issued = await fetch(`${server.origin}/__control/issued-tokens`).then((r) => r.json());
      return [...new Set([...tokens, ...issued.tokens])];
    },
    close: () => context.close(),
  };
}

/** A new tab of `context` on test.html of `server`, with a client made (`window.auth`). */
export async function openClientTab(context, server) {
  const page = await context.newPage();
  await page.goto(`${server.origin}/test.html`);
  await waitForAuthfetch(page);
  await page.evaluate(() => e2e.client());
  return page;
}

/** Waits for test.html to have loaded the package, then installs the page helpers. */
export async function waitForAuthfetch(page) {
  await page.waitForFunction(() => window.authfetchReady === true || window.authfetchError !== undefined, null, {
    timeout: 15_000,
  });
  const failure = await page.evaluate(() => window.authfetchError);
  if (failure !== undefined) throw new Error(`the package failed to load in the page: ${failure}`);
  await page.evaluate(installPageHelpers, { loginPath: LOGIN_PATH, refreshPath: REFRESH_PATH });
}

/** Demo page: clicks an API button and waits for its answer to be shown; answers
 *  `{ state, status, result }` as the page shows them. */
export async function clickApi(page, buttonId, path) {
  await page.click(`#${buttonId}`);
  await page.waitForFunction(
    (p) => {
      const s = document.getElementById("api-status");
      return s.textContent.includes(p) && (s.dataset.state === "ok" || s.dataset.state === "error");
    },
    path,
    { timeout: 10_000 },
  );
  return {
    state: await page.getAttribute("#api-status", "data-state"),
    status: await page.textContent("#api-status"),
    result: await page.textContent("#api-result"),
  };
}

/** Adds every token text found anywhere in a login or refresh answer `body` to the set `into`. */
export function collectTokens(body, into) {
  const keys = ["accessToken", "refreshToken", "access_token", "refresh_token", "token"];
  const walk = (value) => {
    if (!value || typeof value !== "object") return;
    for (const [key, inner] of Object.entries(value)) {
      if (keys.includes(key) && typeof inner === "string" && inner.length > 0) into.add(inner);
      else if (inner && typeof inner === "object") walk(inner);
    }
  };
  walk(body);
}

/**
 * Registers the hooks of one test file: a server and a browser for the whole file, a server
 * reset before every test, and every page opened in a test closed after it. Returns an object
 * whose fields are filled in by `before`: `server`, `browser`, the controls (`control`,
 * `counters`, `reset`, `config`), and `newPage(options)`.
 */
export function useE2E() {
  const env = {};
  const openedPages = new Set();

  before(async () => {
    env.server = await startServer();
    Object.assign(env, controlsFor(env.server.origin));
    env.browser = await launchBrowser();
  }, { timeout: 40_000 });

  after(async () => {
    for (const p of openedPages) await p.close().catch(() => {});
    openedPages.clear();
    await env.browser?.close().catch(() => {});
    await env.server?.stop();
  }, { timeout: 20_000 });

  beforeEach(async () => {
    await env.reset();
  });

  afterEach(async () => {
    for (const p of openedPages) await p.close().catch(() => {});
    openedPages.clear();
  });

  env.newPage = async (options) => {
    const opened = await openPage(env.browser, env.server, options);
    openedPages.add(opened);
    return opened;
  };
  return env;
}
