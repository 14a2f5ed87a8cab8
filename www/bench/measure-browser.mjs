// Measures 2–5, in headless Chromium against the reference server (started through the e2e
// harness): per-call overhead (driven by playwright, and again in a Chromium no driver is
// attached to), refresh storm, memory, start.

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT } from "../e2e/harness.mjs";

export const median = (xs) => {
  const s = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The first and third quartiles of `xs` (nearest rank), or null. */
export const quartiles = (xs) => {
  const s = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return [at(0.25), at(0.75)];
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with a message naming `what`, so a stuck page never hangs the run. */
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish in ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]);
}

/** Chromium with the harness's flags plus GC exposed and precise heap figures (measure 4). */
export async function launchBrowserWithGc() {
  // playwright-core is www/'s dependency, the one the harness uses.
  const requireFromWww = createRequire(`${REPO_ROOT}www/package.json`);
  const { chromium } = requireFromWww("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, "--js-flags=--expose-gc", "--enable-precise-memory-info"],
  });
}

/** A fresh context with calls.html loaded and window.bench ready. */
async function openBenchPage(browser, server, log) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (err) => log(`page error: ${err?.message ?? err}`));
  // Expected 401s (the storm) show up as "Failed to load resource": not worth a line each.
  let logged = 0;
  page.on("console", (msg) => {
    if (msg.type() !== "error" && msg.type() !== "warning") return;
    if (msg.text().startsWith("Failed to load resource")) return;
    if (++logged <= 5) log(`page console ${msg.type()}: ${msg.text()}`);
  });
  await page.goto(`${server.origin}/bench/calls.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
  return { context, page };
}

/** Resets the server and sets a one-hour access token so that no refresh interferes. */
async function freshServer(controls) {
  await controls.reset();
  await controls.config({ accessTtlSeconds: 3600 });
}

// --- 2. per-call overhead ---------------------------------------------------------------------

export const CALL_VARIANTS = ["raw", "wrapper", "authfetch", "axios", "ky"];
const MODES = { seq: "sequential", conc: "concurrent" };

/**
 * Adds to each variant of `variants` (`{name: {seq: [ms…], conc: [ms…]}}`, the time of every round
 * for all `calls`) its medians, and the medians over the rounds of its ratio to raw and of its
 * difference to the wrapper in ms per call (paired by round).
 */
function summarize(variants, calls) {
  const { raw, wrapper } = variants;
  for (const v of Object.values(variants)) {
    for (const mode of Object.keys(MODES)) {
      v[`${mode}Median`] = median(v[mode]);
      v[`${mode}Ratio`] = median(v[mode].map((t, i) => t / raw[mode][i]));
      v[`${mode}MinusWrapper`] = median(v[mode].map((t, i) => (t - wrapper[mode][i]) / calls));
    }
  }
}

/**
 * `{ calls, concurrency, rounds, variants: {name: {seq: [ms…], conc: [ms…], seqMedian, concMedian,
 *    seqRatio, concRatio, seqMinusWrapper, concMinusWrapper}}, refreshRequests }` — per mode, the
 * time of every round (ms for all `calls`), its median, and the medians over the rounds of the
 * variant's ratio to raw and of its difference to the wrapper in ms per call (paired by round).
 */
export async function measureCalls({ browser, server, controls, calls, concurrency, rounds, log }) {
  await freshServer(controls);
  const { context, page } = await openBenchPage(browser, server, log);
  try {
    await page.evaluate((names) => window.bench.setup(names), CALL_VARIANTS);
    const widths = { seq: 1, conc: concurrency };
    const runRound = async (mode, n, names, shift) => {
      const args = [names, n, widths[mode], shift];
      const what = `${MODES[mode]} round of ${n} calls per variant`;
      const r = await withTimeout(page.evaluate((a) => window.bench.interleaved(...a), args), 600_000, what);
      if (r.error) throw new Error(`${what}: ${r.error}`);
      return r.ms;
    };
    // Warm-up (not counted): JIT, connection pool, allocator.
    for (const mode of Object.keys(MODES)) await runRound(mode, Math.min(200, calls), CALL_VARIANTS, 0);
    const variants = Object.fromEntries(CALL_VARIANTS.map((n) => [n, { seq: [], conc: [] }]));
    for (let round = 0; round < rounds; round++) {
      // The page rotates the order turn by turn; odd rounds start from the reversed order, so
      // that each variant follows a different one.
      const order = round % 2 === 0 ? CALL_VARIANTS : [...CALL_VARIANTS].reverse();
      log(`per-call round ${round + 1}/${rounds}: ${order.join(", ")}, rotating`);
      for (const mode of Object.keys(MODES)) {
        const ms = await runRound(mode, calls, order, round);
        for (const name of CALL_VARIANTS) variants[name][mode].push(ms[name]);
      }
    }
    summarize(variants, calls);
    const counters = await controls.counters();
    // The same call without the network: CPU alone (bench-page.js, runCpu), a fresh page.
    const cpuCalls = calls * 10;
    const cpuRounds = [];
    const cpuPage = await openBenchPage(browser, server, log);
    try {
      for (let round = 0; round <= rounds; round++) {
        const r = await withTimeout(cpuPage.page.evaluate((n) => window.bench.cpu(n, 100), cpuCalls), 300_000, "cpu round");
        if (r.error) throw new Error(`cpu round: ${r.error}`);
        // Round 0 warms up (JIT) and is not counted.
        if (round > 0) cpuRounds.push(r.us);
      }
    } finally {
      await cpuPage.context.close().catch(() => {});
    }
    const cpu = { calls: cpuCalls, rounds: cpuRounds.length, us: {}, minusWrapper: {} };
    for (const name of Object.keys(cpuRounds[0] ?? {})) {
      cpu.us[name] = median(cpuRounds.map((r) => r[name]));
      cpu.minusWrapper[name] = median(cpuRounds.map((r) => r[name] - r.wrapper));
    }
    return { calls, concurrency, rounds, variants, cpu, refreshRequests: counters.refreshRequests };
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * Opens `${server.origin}${path}&report=…` in a Chromium that no driver is attached to — the
 * browser as users run it: started as a plain process with the bench's flags and a fresh profile
 * (no cache, no cookies). The page POSTs one JSON body to a one-shot HTTP listener here; that body,
 * parsed, is the answer. Chromium is killed and the profile removed when it arrives; `what` names
 * the run in a timeout or an early exit; `flags` are added to Chromium's command line.
 */
async function detachedPage({ server, path, timeoutMs, what, flags = [] }) {
  const received = {};
  received.body = new Promise((resolve) => (received.resolve = resolve));
  const listener = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      res.end();
      received.resolve(body);
    });
  });
  await new Promise((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const profile = await mkdtemp(join(tmpdir(), "authfetch-detached-"));
  const url = `${server.origin}${path}&report=${encodeURIComponent(`http://127.0.0.1:${listener.address().port}/`)}`;
  const chromium = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, ...flags, `--user-data-dir=${profile}`, url], { stdio: "ignore" });
  const exited = new Promise((resolve) => chromium.once("exit", (code, signal) => resolve(`Chromium exited (${code ?? signal}) before the page reported`)));
  try {
    const body = await withTimeout(Promise.race([received.body, exited.then((why) => Promise.reject(new Error(why)))]), timeoutMs, what);
    return JSON.parse(body);
  } finally {
    chromium.kill("SIGKILL");
    listener.close();
    await exited;
    // Chromium's helper processes may still be writing their cache for a moment after the
    // browser process is gone: removing the profile retries instead of failing the measure.
    await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

/**
 * The per-call measure of `measureCalls` (the same variants, calls, rounds and orders, minus the
 * CPU-only part) in a Chromium that no driver is attached to (`detachedPage`): the page
 * (`bench/calls-detached.html`) runs the rounds and POSTs the figures. Same shape as
 * `measureCalls`'s answer (`variants` with their medians), plus `{ detached: true }`.
 */
export async function measureCallsDetached({ server, controls, calls, concurrency, rounds, log }) {
  await freshServer(controls);
  const plan = { names: CALL_VARIANTS, calls, concurrency, rounds };
  log(`per-call, no DevTools attached: ${rounds} rounds of ${calls} calls per variant and mode, run by the page`);
  const answer = await detachedPage({
    server,
    path: `/bench/calls-detached.html?plan=${encodeURIComponent(JSON.stringify(plan))}`,
    timeoutMs: 1_800_000,
    what: "the detached per-call run",
  });
  if (answer.error) throw new Error(`detached per-call run: ${answer.error}`);
  summarize(answer.variants, calls);
  return { calls, concurrency, rounds, variants: answer.variants, detached: true };
}

// --- 3. refresh storm -------------------------------------------------------------------------

export const STORM_VARIANTS = ["authfetch", "axios"];
// References: the same number of concurrent raw-fetch calls with a valid token (`raw`), with the
// expired token, each 401 read and nothing else done (`rawExpired`), and the storm handled by a
// minimal hand-written single flight in plain JS (`handWritten`).
const STORM_REFERENCES = ["raw", "rawExpired", "handWritten"];

/** `{ calls, rounds, variants: {name: [{refreshRequests, refreshes, ms, ok, failed, firstError}…]}}`. */
export async function measureStorm({ browser, server, controls, calls, rounds, log }) {
  const names = [...STORM_VARIANTS, ...STORM_REFERENCES];
  const variants = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      await freshServer(controls);
      const { context, page } = await openBenchPage(browser, server, log);
      try {
        await page.evaluate((n) => window.bench.stormSetup(n), name);
        const before = await controls.counters();
        if (name !== "raw") await controls.control("expire-access");
        const r = await withTimeout(page.evaluate(([n, c]) => window.bench.storm(n, c), [name, calls]), 180_000, `${name} storm`);
        // Let stragglers (a refresh answered after the last call settled) reach the counters.
        await sleep(200);
        const after = await controls.counters();
        const entry = {
          ...r,
          refreshRequests: after.refreshRequests - before.refreshRequests,
          refreshes: after.refreshes - before.refreshes,
          reuseDetections: after.reuseDetections - before.reuseDetections,
        };
        variants[name].push(entry);
        log(`storm round ${round + 1}/${rounds} ${name}: ${entry.refreshRequests} refresh request(s), ${entry.ok}/${calls} ok, ${entry.ms.toFixed(0)} ms`);
      } finally {
        await context.close().catch(() => {});
      }
    }
  }
  for (const [name, list] of Object.entries(variants)) {
    variants[name] = { rounds: list, msMedian: median(list.map((e) => e.ms)) };
  }
  return { calls, rounds, variants };
}

// --- 4. memory --------------------------------------------------------------------------------

/**
 * `{ calls, every, concurrency, points: [{calls, wasmPages, heapUsed, perfHeapUsed}] }` — heapUsed from
 * CDP Runtime.getHeapUsage, perfHeapUsed from performance.memory.usedJSHeapSize, both after GC.
 */
export async function measureMemory({ server, controls, calls, every, concurrency, log }) {
  await freshServer(controls);
  const browser = await launchBrowserWithGc();
  try {
    const { page } = await openBenchPage(browser, server, log);
    const cdp = await page.context().newCDPSession(page);
    await page.evaluate(() => window.bench.setup(["authfetch"]));
    const hasGc = await page.evaluate(() => typeof gc === "function");
    if (!hasGc) throw new Error("gc() is not exposed in the page (--js-flags=--expose-gc)");
    const reading = async (done) => {
      // Two collections with a pause between them, so that finalizers queued by the first run.
      await page.evaluate(() => gc());
      await sleep(50);
      await page.evaluate(() => gc());
      const { usedSize } = await cdp.send("Runtime.getHeapUsage");
      const [wasmPages, perfHeapUsed] = await page.evaluate(() => [window.bench.wasmPages(), window.bench.jsHeap()]);
      return { calls: done, wasmPages, heapUsed: usedSize, perfHeapUsed };
    };
    const points = [await reading(0)];
    let done = 0;
    while (done < calls) {
      const n = Math.min(every, calls - done);
      const r = await withTimeout(page.evaluate(([a, b]) => window.bench.run("authfetch", a, b), [n, concurrency]), 600_000, `memory batch`);
      if (r.error) throw new Error(`authfetch call failed during the memory run: ${r.error}`);
      done += n;
      points.push(await reading(done));
      const p = points.at(-1);
      log(`memory: ${done}/${calls} calls, wasm ${p.wasmPages} pages, JS heap ${(p.heapUsed / 1024).toFixed(0)} KiB`);
    }
    const counters = await controls.counters();
    return { calls, every, concurrency, points, refreshRequests: counters.refreshRequests };
  } finally {
    await browser.close().catch(() => {});
  }
}

// --- 5. start ---------------------------------------------------------------------------------

export const START_LIBS = ["authfetch", "axios", "ky", "keycloak", "oidc", "auth0"];

/**
 * `{ loads, libs: {name: {samples, importMs, initMs, constructMs, secondConstructMs, initConstructMs,
 * initConstructQuartiles: [q1, q3], wasmFetchMs, afterFetchMs, importInitConstructMs, readyAt, firstCallMs,
 * firstCallAt}}}`: medians over the loads (ms), except `samples` (a count) and the quartiles.
 */
export async function measureStart({ browser, server, controls, loads, log }) {
  return startLoads({ controls, loads, log, label: "start", load: async (name) => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.origin}/bench/start.html?lib=${name}`);
      await page.waitForFunction(() => window.startResult !== undefined || window.startError !== undefined, null, {
        timeout: 20_000,
      });
      const { result, error } = await page.evaluate(() => ({ result: window.startResult, error: window.startError }));
      if (error) throw new Error(`start of ${name}: ${error}`);
      return result;
    } finally {
      await context.close().catch(() => {});
    }
  } });
}

/**
 * `measureStart` in a Chromium that no driver is attached to (`detachedPage`): one browser
 * process with a fresh profile per page load, the page POSTing its figures. Same shape, plus
 * `eager`: authfetch's figures (same shape as one of `libs`) from as many loads again in a
 * Chromium told to compile every wasm function before the module runs
 * (`--js-flags=--no-wasm-lazy-compilation`) — how much of construct is V8's lazy compilation of
 * the wasm functions it reaches, and what compiling all of them up front costs init.
 */
export async function measureStartDetached({ server, controls, loads, log }) {
  const detached = (flags) => async (name) => {
    const what = `start of ${name}${flags.length ? ` (${flags.join(" ")})` : ""}`;
    const answer = await detachedPage({ server, path: `/bench/start.html?lib=${name}`, timeoutMs: 30_000, what, flags });
    if (answer.error) throw new Error(`${what}: ${answer.error}`);
    return answer.result;
  };
  const lazy = await startLoads({ controls, loads, log, label: "start, no DevTools attached", load: detached([]) });
  const eager = await startLoads({
    controls,
    loads,
    log,
    label: "start, no DevTools attached, eager wasm compilation",
    libs: ["authfetch"],
    load: detached(["--js-flags=--no-wasm-lazy-compilation"]),
  });
  return { ...lazy, eager: eager.libs.authfetch };
}

/**
 * The start protocol: `loads` page loads of each of `libs` (default every library), the order
 * rotating; `load(name)` gives one page load's figures. Summarized as `measureStart` answers.
 */
async function startLoads({ controls, loads, log, label, load, libs: names = START_LIBS }) {
  await freshServer(controls);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < loads; i++) {
    // Rotate the order on every load.
    const order = names.map((_, k) => names[(k + i) % names.length]);
    for (const name of order) samples[name].push(await load(name));
    log(`${label}: page load ${i + 1}/${loads} done`);
  }
  const libs = {};
  for (const [name, list] of Object.entries(samples)) {
    const med = (k) => median(list.map((s) => s[k]));
    const importInitConstruct = list.map((s) => s.importMs + (s.initMs ?? 0) + s.constructMs);
    libs[name] = {
      samples: list.length,
      importMs: med("importMs"),
      initMs: med("initMs"),
      constructMs: med("constructMs"),
      secondConstructMs: list.some((s) => s.secondConstructMs !== undefined) ? med("secondConstructMs") : null,
      initConstructMs: median(list.map((s) => (s.initMs ?? 0) + s.constructMs)),
      // How init + construct spreads over the loads: the fastest quarter's bound and the slowest's.
      initConstructQuartiles: quartiles(list.map((s) => (s.initMs ?? 0) + s.constructMs)),
      wasmFetchMs: list.some((s) => typeof s.wasmFetchMs === "number") ? med("wasmFetchMs") : null,
      afterFetchMs: list.some((s) => typeof s.afterFetchMs === "number") ? med("afterFetchMs") : null,
      importInitConstructMs: median(importInitConstruct),
      readyAt: med("readyAt"),
      firstCallMs: med("firstCallMs"),
      firstCallAt: med("firstCallAt"),
    };
  }
  return { loads, libs };
}
