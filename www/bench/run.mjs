// The benchmark run: measures size, per-call overhead (under playwright, and in a Chromium no
// driver is attached to), the refresh storm, memory and start, and
// writes BENCHMARKS.md at the repository root. Run by scripts/bench.sh (`make bench`), which
// builds the bundles first (build.mjs). Nothing here asserts a figure: it measures and reports.
//
// Environment:
//   BENCH_QUICK=1          quick run: 200 calls per variant, 2 rounds, 5 page loads, 10,000 memory calls
//   BENCH_CALLS            calls per variant and mode (default 2000; quick 200)
//   BENCH_ROUNDS           rounds of the per-call measure (default 5; quick 2)
//   BENCH_PAGE_LOADS       page loads per library for the start measure (default 20; quick 5)
//   BENCH_MEMORY_CALLS     auth.fetch calls of the memory measure (default 100000; quick 10000)
//   BENCH_MEMORY_EVERY     calls between memory readings (default 10000; quick 2000)
//   BENCH_STORM_CALLS      concurrent calls of the refresh storm (default 1000)
//   BENCH_STORM_ROUNDS     storms per library (default 3; quick 1)
//   BENCH_ONLY             comma-separated subset of size,calls,callsDetached,storm,memory,start,startDetached
//                          (default: all)
//   BENCH_OUT              where to write the report (default BENCHMARKS.md at the repository root)
//   BENCH_RESULTS_JSON     also write the measures' raw results (JSON) to this file
//   TWIGGY                 path of a twiggy binary (scripts/bench.sh sets it); TWIGGY_NOTE: why not
//                          (the size measure's named build also needs
//                          www/node_modules/.bin/wasm-opt; without it the report says so)
//   BENCH_SIZE_BUILDS=0    the size measure skips its builds of other source trees (the package
//                          before the rewrite, the stubbed conversions, the serde probes)
//   BENCH_SIZE_BEFORE      the commit measured as "before" (default 0dc2ddc)
//   API_SERVER_BIN         the reference server binary (the e2e harness honours it)
// Exits 1 when a measurement failed (the report still says what was measured).

import os from "node:os";
import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { controlsFor, launchBrowser, REPO_ROOT, SERVER_BIN, startServer } from "../e2e/harness.mjs";
import { BENCH_DIR } from "./build.mjs";
import { BINDGEN_WASM, importCrates, jsParts, measureSizes, namedBuild, peerVersions, sizesOf, twiggyTop } from "./measure-size.mjs";
import { buildBefore, measureSerde, measureStubs, pkgSha } from "./size-builds.mjs";
import { measureCalls, measureCallsDetached, measureMemory, measureStart, measureStartDetached, measureStorm } from "./measure-browser.mjs";
import { renderReport } from "./report.mjs";

const env = process.env;
const QUICK = env.BENCH_QUICK === "1";
const int = (name, full, quick) => {
  const raw = env[name];
  if (raw === undefined || raw === "") return QUICK ? quick : full;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
};

const config = {
  quick: QUICK,
  calls: int("BENCH_CALLS", 2000, 200),
  rounds: int("BENCH_ROUNDS", 5, 2),
  concurrency: 32,
  pageLoads: int("BENCH_PAGE_LOADS", 20, 5),
  memoryCalls: int("BENCH_MEMORY_CALLS", 100_000, 10_000),
  memoryEvery: int("BENCH_MEMORY_EVERY", 10_000, 2_000),
  memoryConcurrency: 32,
  stormCalls: int("BENCH_STORM_CALLS", 1000, 1000),
  stormRounds: int("BENCH_STORM_ROUNDS", 3, 1),
};
const ALL = ["size", "calls", "callsDetached", "storm", "memory", "start", "startDetached"];
const only = env.BENCH_ONLY ? env.BENCH_ONLY.split(",").map((s) => s.trim()) : ALL;
for (const m of only) if (!ALL.includes(m)) throw new Error(`BENCH_ONLY: unknown measure ${m}`);
const OUT = env.BENCH_OUT || `${REPO_ROOT}BENCHMARKS.md`;

const started = Date.now();
const log = (msg) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

async function machineInfo() {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const meminfo = await readFile("/proc/meminfo", "utf8").catch(() => "");
  const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const commit = sh("git", ["-C", REPO_ROOT, "rev-parse", "--short", "HEAD"]);
  const dirty = sh("git", ["-C", REPO_ROOT, "status", "--porcelain", "--untracked-files=no"]);
  return {
    nproc: sh("nproc", []) ?? String(os.availableParallelism()),
    cpu: model,
    memory: Number.isFinite(memKb) ? `${(memKb / 1024 / 1024).toFixed(1)} GiB` : "unknown",
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: commit ? `${commit}${dirty ? " (with uncommitted changes)" : ""}` : "unknown",
    serverBin: SERVER_BIN.startsWith(REPO_ROOT) ? SERVER_BIN.slice(REPO_ROOT.length) : SERVER_BIN,
    chromium: null,
    ...(await readFile(`${REPO_ROOT}pkg/authfetch_bg.wasm`)
      .then(async (buf) => ({
        pkgSha: createHash("sha256").update(buf).digest("hex").slice(0, 16),
        pkgBuilt: (await stat(`${REPO_ROOT}pkg/authfetch_bg.wasm`)).mtime.toISOString().replace(/\.\d+Z$/, "Z"),
      }))
      .catch(() => ({}))),
    loadStart: os.loadavg()[0],
  };
}

const results = Object.fromEntries(ALL.filter((m) => !only.includes(m)).map((m) => [m, { skipped: true }]));
const failures = [];
async function measure(name, fn) {
  if (!only.includes(name)) {
    results[name] = { skipped: true };
    return;
  }
  log(`measuring ${name}`);
  const t0 = Date.now();
  try {
    results[name] = await fn();
    log(`${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    const message = String(e?.message ?? e).split("\n")[0];
    results[name] = { error: message };
    failures.push(name);
    log(`${name} FAILED: ${e?.stack ?? e}`);
  }
}

const machine = await machineInfo();
log(`config: ${JSON.stringify(config)}`);

await measure("size", async () => {
  const sizes = await measureSizes(REPO_ROOT);
  sizes.versions = await peerVersions(BENCH_DIR);
  sizes.budget = await readFile(`${REPO_ROOT}size-budget.json`, "utf8").then((t) => JSON.parse(t).gzipBytes, () => null);
  // Each part of the size measure that fails says so in its place; the others go on.
  const part = async (name, fn) => {
    const t0 = Date.now();
    try {
      const value = await fn();
      log(`size: ${name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return value;
    } catch (e) {
      log(`size: ${name} FAILED: ${e?.stack ?? e}`);
      return { error: String(e?.message ?? e).split("\n")[0] };
    }
  };
  if (env.TWIGGY) {
    sizes.twiggy = await part("twiggy top", () => twiggyTop(env.TWIGGY, `${REPO_ROOT}pkg/authfetch_bg.wasm`, 15));
    if (sizes.twiggy.error) sizes.twiggy.error = `twiggy failed: ${sizes.twiggy.error}`;
    // pkg/'s wasm has no name section, so its items are code[N]/data[N]: the same wasm built again
    // with its names, from wasm-bindgen's output when it is not newer than pkg/ (else it is not
    // what pkg/ was built from).
    const [bs, ps] = await Promise.all([stat(`${REPO_ROOT}${BINDGEN_WASM}`).catch(() => null), stat(`${REPO_ROOT}pkg/authfetch_bg.wasm`)]);
    if (bs && bs.mtimeMs <= ps.mtimeMs) {
      sizes.named = await part("named build", () => namedBuild(REPO_ROOT, env.TWIGGY));
    } else {
      sizes.named = { error: bs ? `${BINDGEN_WASM} is newer than pkg/` : `no wasm-bindgen output (${BINDGEN_WASM})` };
    }
    if (!sizes.named.error) {
      sizes.jsParts = await part("JS by part", () => jsParts(REPO_ROOT, sizes.named));
      sizes.crates = await part("imports by crate", () => importCrates(REPO_ROOT, sizes.named));
    } else {
      sizes.jsParts = sizes.crates = { error: `no build with names (${sizes.named.error})` };
    }
  } else {
    sizes.twiggy = { error: env.TWIGGY_NOTE || "twiggy is not installed" };
    sizes.jsParts = sizes.crates = { error: "no build with names (twiggy is not installed)" };
  }
  // The builds of other source trees (size-builds.mjs), cached under target/bench-size/.
  if (env.BENCH_SIZE_BUILDS === "0") {
    sizes.before = sizes.stubs = sizes.serde = { skipped: "BENCH_SIZE_BUILDS=0" };
  } else {
    sizes.before = await part("the package before the rewrite", async () => {
      const b = await buildBefore(REPO_ROOT, { log });
      const wasm = sizesOf(await readFile(`${b.dir}/authfetch_bg.wasm`));
      const js = sizesOf(await readFile(`${b.dir}/index.js`));
      const out = { ...b, wasm, js, total: { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip, brotli: wasm.brotli + js.brotli } };
      if (env.TWIGGY) {
        try {
          const named = await namedBuild(REPO_ROOT, env.TWIGGY, { input: `${b.dir}/rustc.wasm`, jobs: false });
          out.named = { owners: named.owners, base: named.base, tools: named.tools };
          out.pkgBase = (await twiggyTop(env.TWIGGY, `${b.dir}/authfetch_bg.wasm`, 1)).base;
        } catch (e) {
          out.named = { error: String(e?.message ?? e).split("\n")[0] };
        }
      } else {
        out.named = { error: env.TWIGGY_NOTE || "twiggy is not installed" };
      }
      return out;
    });
    sizes.stubs = await part("the stubbed conversions", async () => {
      const stubs = await measureStubs(REPO_ROOT, { log });
      return { ...stubs, pkgSame: stubs.baseline.sha === (await pkgSha(REPO_ROOT)) };
    });
    sizes.serde = await part("the serde probes", () => measureSerde(REPO_ROOT, { log }));
  }
  if (sizes.named && !sizes.named.error) delete sizes.named.items;
  return sizes;
});

const browserMeasures = ["calls", "callsDetached", "storm", "memory", "start", "startDetached"].filter((m) => only.includes(m));
let server;
let browser;
try {
  if (browserMeasures.length) {
    server = await startServer({ extraArgs: ["--access-ttl", "3600"] });
    browser = await launchBrowser();
    machine.chromium = browser.version();
    log(`server at ${server.origin}; Chromium ${machine.chromium}`);
  }
  const controls = server ? controlsFor(server.origin) : null;
  await measure("calls", () =>
    measureCalls({ browser, server, controls, calls: config.calls, concurrency: config.concurrency, rounds: config.rounds, log }),
  );
  await measure("callsDetached", () =>
    measureCallsDetached({ server, controls, calls: config.calls, concurrency: config.concurrency, rounds: config.rounds, log }),
  );
  await measure("storm", () =>
    measureStorm({ browser, server, controls, calls: config.stormCalls, rounds: config.stormRounds, log }),
  );
  await measure("memory", () =>
    measureMemory({
      server,
      controls,
      calls: config.memoryCalls,
      every: config.memoryEvery,
      concurrency: config.memoryConcurrency,
      log,
    }),
  );
  await measure("start", () => measureStart({ browser, server, controls, loads: config.pageLoads, log }));
  await measure("startDetached", () => measureStartDetached({ server, controls, loads: config.pageLoads, log }));
} catch (e) {
  // The server or the browser could not start: every browser measure is unmeasured.
  for (const m of browserMeasures) {
    if (!results[m]) {
      results[m] = { error: `the reference server or Chromium did not start (${String(e?.message ?? e).split("\n")[0].replace(/:$/, "")})` };
      failures.push(m);
    }
  }
  log(`FAILED to start the server or the browser: ${e?.stack ?? e}`);
} finally {
  await browser?.close().catch(() => {});
  await server?.stop().catch(() => {});
}
if (!machine.chromium) {
  machine.chromium = sh("/usr/bin/chromium", ["--version"]) ?? "unknown";
}

machine.durationS = Math.round((Date.now() - started) / 1000);
machine.loadEnd = os.loadavg()[0];
if (env.BENCH_RESULTS_JSON) await writeFile(env.BENCH_RESULTS_JSON, JSON.stringify(results, null, 1));
const report = renderReport({ machine, config, results });
await writeFile(OUT, report);
log(`wrote ${OUT}`);
if (failures.length) {
  console.error(`[bench] measurement(s) failed: ${failures.join(", ")}`);
  process.exitCode = 1;
}
