// Measure 1: size. authfetch as pkg/ ships it (authfetch_bg.wasm + index.js) next to each peer
// bundled by esbuild (build.mjs): raw bytes, gzip at level 9, brotli at quality 11.
// Plus `twiggy top` of the wasm when a twiggy binary is given, and of the same wasm built again
// with its names (namedBuild), by owner and by job.

import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { DIST_DIR, PEERS } from "./build.mjs";
import { ASSUMPTIONS, FEATURES } from "../../scripts/wasm-features.mjs";

const run = promisify(execFile);

export function sizesOf(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }).length,
  };
}

const add = (a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli });

/** `{ wasm, js, total, peers: [{id, label, ...sizes}] }` (each file compressed on its own; `js` is
 *  pkg/index.js, the one module an app imports: the entry bundled with the browser edge). */
export async function measureSizes(repoRoot) {
  const wasm = sizesOf(await readFile(`${repoRoot}pkg/authfetch_bg.wasm`));
  const js = sizesOf(await readFile(`${repoRoot}pkg/index.js`));
  const peers = [];
  for (const peer of PEERS) {
    peers.push({ id: peer.id, label: peer.label, packages: peer.packages, ...sizesOf(await readFile(`${DIST_DIR}${peer.file}`)) });
  }
  return { wasm, js, total: add(wasm, js), peers };
}

/** Versions of the peers as installed in www/bench/node_modules. */
export async function peerVersions(benchDir) {
  const out = {};
  for (const peer of PEERS) {
    for (const name of peer.packages) {
      const pkg = JSON.parse(await readFile(`${benchDir}node_modules/${name}/package.json`, "utf8"));
      out[name] = pkg.version;
    }
  }
  const esbuild = JSON.parse(await readFile(`${benchDir}node_modules/esbuild/package.json`, "utf8"));
  out.esbuild = esbuild.version;
  return out;
}

const CUSTOM = /^custom section|subsection$/; // custom sections (name, producers, …): not code or data
const ALLOC = /\balloc(\[\w+\])?::|lol_alloc|__rust_(re|de)?alloc/; // the allocator and the collections

/**
 * `twiggy top` of a wasm file: `{ rows, version, base, owners? }`, or throws. `rows`: its `n` largest
 * items `{name, bytes, percent}`; `base`: the bytes of code + data (every item but the custom
 * sections). `skipCustom` leaves the custom sections out of `rows` and gives `percent` of `base`
 * (else of the whole file, as twiggy does); `byOwner` adds `owners` (see OWNERS).
 */
export async function twiggyTop(twiggy, wasmPath, n = 15, { skipCustom = false, byOwner = false } = {}) {
  const { stdout } = await run(twiggy, ["top", "-f", "json", wasmPath], { maxBuffer: 64 << 20 });
  const all = JSON.parse(stdout);
  const code = all.filter((it) => !CUSTOM.test(it.name));
  const base = code.reduce((a, it) => a + it.shallow_size, 0);
  const rows = (skipCustom ? code : all).slice(0, n).map((it) => ({
    name: it.name,
    bytes: it.shallow_size,
    percent: skipCustom ? (it.shallow_size / base) * 100 : it.shallow_size_percent,
  }));
  return { rows, version: await versionOf(twiggy), base, ...(byOwner && { owners: owners(code, base) }) };
}

async function versionOf(tool) {
  try {
    return (await run(tool, ["--version"])).stdout.trim().split("\n")[0];
  } catch {
    return ""; // the version is cosmetic
  }
}

/**
 * Who owns the wasm's bytes, by item name. An item counts in the first row whose pattern matches
 * its name, in this order (so `drop_in_place<authfetch::core::…>` is drop glue). Items that match
 * none: "everything else".
 */
// `surface: true` marks the rows that exist only to hand the core's decisions to the JS edge
// and back (report.mjs sums them in "What stands between the package and 18 KB").
export const OWNERS = [
  // The flat exports (src/exports.rs): `af_…` functions, with our bodies inlined into them.
  { label: "the flat exports (`src/exports.rs`, our bodies inlined)", match: "`af_…`, `authfetch::exports`", re: /^af_|authfetch::exports::/, surface: true },
  { label: "drop glue", match: "`drop_in_place<…>`, of any type", re: /drop_in_place/ },
  { label: "our sans-IO core", match: "`authfetch::core`", re: /authfetch::core::/ },
  { label: "formatting and panics", match: "`fmt::`, `panic`", re: /fmt::|panic/ },
  { label: "allocator and collections", match: "`alloc::`, `lol_alloc`, `__rust_alloc`…", re: ALLOC },
  { label: "data segments (strings, tables, constants)", match: "`data segment`", re: /^data segment/ },
  {
    label: "module structure",
    match: "types, imports, exports, tables, globals, section headers",
    re: /^(type\[|import |export |table\[|global\[|memory\[|elem\[|wasm magic)|section headers$/,
  },
];

const OTHER = { label: "everything else", match: "none of the above", re: /(?:)/ };

/** `[{label, match, edge, items, bytes, percent, largest}]`: OWNERS's rows, then OTHER. */
function owners(items, base) {
  const rows = [...OWNERS, OTHER].map((o) => ({ ...o, items: 0, bytes: 0, largest: null }));
  for (const it of items) {
    const row = rows.find((r) => r.re.test(it.name));
    row.items += 1;
    row.bytes += it.shallow_size;
    if (!row.largest || it.shallow_size > row.largest.bytes) row.largest = { name: it.name, bytes: it.shallow_size };
  }
  return rows.map(({ re, ...r }) => ({ ...r, percent: (r.bytes / base) * 100 }));
}

/**
 * The jobs the JS edge calls the wasm for, each with the exports it calls for it. Every export of
 * src/exports.rs is in one row; one missing from every row shows as a row of its own ("an export
 * no job lists"), so a new export cannot go unaccounted.
 */
export const JOBS = [
  { label: "the configuration (`new AuthClient`: read and checked)", exports: ["af_keys", "af_new", "af_paths"] },
  {
    label: "login, restore, refresh and logout, and their endpoints' answers",
    exports: ["af_login", "af_flow", "af_answered", "af_jwt", "af_too_long", "af_max_body"],
  },
  { label: "the session shared among tabs (messages, Web Locks), and backoff sleeps", exports: ["af_message", "af_locks_held", "af_op"] },
  { label: "the effect queue, drained", exports: ["af_poll"] },
  {
    label: "calls (`auth.fetch`: the allowlist, the bearer, the 401 and its retry)",
    exports: ["af_fetch", "af_slow", "af_bearer", "af_call_sent", "af_call_answered", "af_allows", "af_allows_origin", "af_speaks"],
  },
  { label: "the page and the clock (wake-ups, the state getters)", exports: ["af_wake", "af_state"] },
  { label: "the buffers and the client's end", exports: ["af_in", "af_out", "af_out_len", "af_error", "af_shut_down", "af_free"] },
];

/** What no single export reaches alone, by name (the first row that matches); `core` marks the core's row. */
const SHARED = [
  { label: "the core's rules and state machines", re: /authfetch::core::/, core: true },
  { label: "the flat surface's readers and writers", re: /authfetch::exports::/ },
  { label: "allocator and collections", re: ALLOC },
  { label: "string and slice helpers, panics, module structure", re: /(?:)/ },
];

/**
 * `twiggy dominators` of a wasm with names: `{ jobs, shared, unlinked }`, bytes of code + data
 * (custom sections left out). `jobs`: JOBS's rows, each with the bytes its exports alone reach
 * (their retained size: what no other export also reaches); `shared`: the bytes several exports
 * reach, by SHARED's rows; `unlinked`: the rest of `base` (the file's code + data, as `twiggyTop`
 * gives it), which twiggy links to no code — the data segments (strings, messages, tables), which
 * the code reaches by address.
 */
export async function twiggyJobs(twiggy, wasmPath, base) {
  const { stdout } = await run(twiggy, ["dominators", "-f", "json", wasmPath], { maxBuffer: 64 << 20 });
  const { items } = JSON.parse(stdout);
  const jobs = JOBS.map((j) => ({ ...j, bytes: 0 }));
  const shared = SHARED.map(({ re, ...row }) => ({ ...row, bytes: 0 }));
  let linked = 0;
  for (const item of items.flatMap((root) => root.children ?? [])) {
    if (CUSTOM.test(item.name)) continue;
    linked += item.retained_size;
    // An exported function's entry names the function (the export itself is renamed by
    // wasm-opt); the memory and the globals rustc exports are module structure.
    const fn = item.name.startsWith("export ") ? item.children?.[0]?.name : undefined;
    if (fn?.startsWith("af_")) {
      let job = jobs.find((j) => j.exports.includes(fn));
      if (!job) jobs.push((job = { label: `an export no job lists: \`${fn}\``, exports: [fn], bytes: 0 }));
      job.bytes += item.retained_size;
    } else {
      shared[SHARED.findIndex((r) => r.re.test(item.name))].bytes += item.retained_size;
    }
  }
  return { jobs, shared, unlinked: base - linked };
}

export const RUSTC_WASM = "target/wasm32-unknown-unknown/release/authfetch.wasm";
export const WASM_OPT = "www/node_modules/.bin/wasm-opt";

/**
 * pkg/'s wasm has no name section (wasm-opt strips it), so twiggy numbers its items. This builds
 * it again with its names: wasm-opt's two passes of scripts/pack.mjs on rustc's output (`-Oz`,
 * then the renaming `-Oz`, both with wasm-features.mjs' FEATURES and ASSUMPTIONS), each with `-g`
 * to keep the names. `twiggyTop` of the result (custom
 * sections left out, by owner) and `twiggyJobs` (by job), plus `tools` (versions); its `base` is
 * comparable to pkg/'s code + data. Throws when a tool is missing or fails.
 */
export async function namedBuild(repoRoot, twiggy) {
  const wasmOpt = `${repoRoot}${WASM_OPT}`;
  await stat(wasmOpt).catch(() => {
    throw new Error(`wasm-opt is not installed (${WASM_OPT}; \`npm ci\` in www/)`);
  });
  // A failure says which tool and what it printed.
  const step = (tool, args) =>
    run(tool, args, { maxBuffer: 16 << 20 }).catch((e) => {
      throw new Error(`${basename(tool)} failed: ${String(e.stderr || e.message).replace(/\s+/g, " ").trim().slice(0, 300)}`);
    });
  const dir = await mkdtemp(join(tmpdir(), "authfetch-named-"));
  try {
    const named = join(dir, "named.wasm");
    await step(wasmOpt, ["-g", "-Oz", ...FEATURES, ...ASSUMPTIONS, `${repoRoot}${RUSTC_WASM}`, "-o", named]);
    await step(wasmOpt, ["-g", ...FEATURES, ...ASSUMPTIONS, "--minify-imports-and-exports-and-modules", "-Oz", named, "-o", named]);
    const top = await twiggyTop(twiggy, named, 15, { skipCustom: true, byOwner: true });
    return { ...top, ...(await twiggyJobs(twiggy, named, top.base)), tools: { wasmOpt: await versionOf(wasmOpt) } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
