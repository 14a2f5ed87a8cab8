// Measure 1: size. authfetch as pkg/ ships it (authfetch_bg.wasm + index.js) next to each peer
// bundled by esbuild (build.mjs): raw bytes, gzip at level 9, brotli at quality 11.
// Plus `twiggy top` of the wasm when a twiggy binary is given, and of the same wasm built again
// with its names (namedBuild): by owner, by job, and the imports by the crate that declares them
// (js-sys, web-sys, wasm-bindgen, the binding layer); and the JS by part (jsParts: the generated
// glue and the hand-written entry and edge, each minified on its own). The builds of other
// source trees (the package before the rewrite, the stubbed conversions, the serde probe) are
// size-builds.mjs'.

import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { DIST_DIR, PEERS } from "./build.mjs";
import { ASSUMPTIONS, FEATURES } from "../../scripts/wasm-features.mjs";

const run = promisify(execFile);

export const gzipSize = (buf) => gzipSync(buf, { level: 9 }).length;

export function sizesOf(buf) {
  return {
    raw: buf.length,
    gzip: gzipSize(buf),
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
 *  pkg/index.js, the one module an app imports: the entry bundled with the browser edge and the glue). */
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

/** The crate of the imports the wasm-bindgen CLI generates itself (no Rust declares them). */
const CLI = "wasm-bindgen's CLI";

const CUSTOM = /^custom section|subsection$/; // custom sections (name, producers, …): not code or data
const ALLOC = /\balloc(\[\w+\])?::|lol_alloc|__rust_(re|de)?alloc/; // the allocator and the collections

/** An item's name without the shims wasm-bindgen wraps an export or an import in (`core_new externref shim multivalue shim`). */
export const stripShims = (name) => String(name).replace(/( (externref|multivalue) shim)+$/, "");

/**
 * The exports of a wasm that are the package's own entry points (what the glue or the edge calls
 * for our code): its exported functions, but those named `__…` (wasm-bindgen's runtime:
 * `__wbindgen_malloc`, `__externref_table_alloc`, …), except `__wbg_<struct>_free` (a struct's
 * `free()`). Before the rewrite: the flat `af_…` exports.
 */
export function ownExports(buf) {
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(buf));
  return new Set(exports.filter((e) => e.kind === "function" && (!e.name.startsWith("__") || /^__wbg_\w+_free$/.test(e.name))).map((e) => e.name));
}

/** The function names of a wasm's name section, by function index (the imported functions first). */
export function functionNames(buf) {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(buf), "name");
  const names = new Map();
  if (!section) return names;
  const b = new Uint8Array(section);
  let p = 0;
  const leb = () => {
    let r = 0;
    let shift = 0;
    let byte;
    do {
      byte = b[p++];
      r += (byte & 127) * 2 ** shift;
      shift += 7;
    } while (byte & 128);
    return r;
  };
  while (p < b.length) {
    const id = b[p++];
    const size = leb();
    const end = p + size;
    if (id === 1) {
      for (let n = leb(); n > 0; n--) {
        const index = leb();
        const len = leb();
        names.set(index, Buffer.from(b.subarray(p, p + len)).toString("utf8"));
        p += len;
      }
    }
    p = end;
  }
  return names;
}

/**
 * The imported functions of wasm-bindgen's output, each with the Rust function that declares it:
 * its name section names an import `js_sys::Reflect::get::__wbg_get_<hash>::h<hash>`, so the
 * crate is the path's first segment (`js_sys`, `web_sys`, `wasm_bindgen`, `authfetch`); an import
 * without a Rust name is one the CLI itself generates (casts, the externref table's start).
 * `[{ name, rust, crate }]`.
 */
export function importsOf(buf) {
  const names = functionNames(buf);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(buf)).filter((i) => i.kind === "function");
  return imports.map((imp, index) => {
    const full = names.get(index);
    // `<path>::<import name>::h<hash>`: the path is the Rust function.
    const at = full ? full.indexOf(`::${imp.name}::`) : -1;
    const rust = at > 0 ? full.slice(0, at) : null;
    const crate = rust ? rust.replace(/^</, "").split("::")[0] : CLI;
    return { module: imp.module, name: imp.name, rust, crate };
  });
}

/**
 * Who owns the wasm's bytes, by item name. An item counts in the first row whose test matches its
 * name, in this order; items that match none: "everything else". `exports: true` is the row of
 * the package's own export functions (`ownExports`), matched by name without their shims.
 * `component` groups the rows into the components report.mjs compares before and after.
 */
export const OWNERS = [
  {
    id: "exports",
    component: "exports",
    label: "the export functions, with our bodies inlined into them",
    match: "the wasm's own exports (`core_…`, `redirectTarget`, `edgeError`, `__wbg_core_free`; before: `af_…`) and wasm-bindgen's `externref shim` / `multivalue shim` of each",
    exports: true,
  },
  { id: "drop", component: "rust", label: "drop glue", match: "`drop_in_place<…>`, of any type", re: /drop_in_place/ },
  { id: "js-sys", component: "js-sys", label: "js-sys's wrappers", match: "`js_sys::…`, with the shims of its imports", re: /^<?js_sys::/ },
  { id: "web-sys", component: "web-sys", label: "web-sys's wrappers", match: "`web_sys::…`, with the shims of its imports", re: /^<?web_sys::/ },
  {
    id: "runtime",
    component: "runtime",
    label: "wasm-bindgen's runtime and shims",
    match: "`wasm_bindgen::…` (and its traits' impls for our types), `__wbindgen_…`, `__externref_…`, `__wbg_…`, the CLI's cast shims (`… -> Externref`)",
    re: /^<?wasm_bindgen::| as wasm_bindgen::|^__(wbindgen|externref|wbg_|abort|instance)|Externref/,
  },
  {
    id: "bindings",
    component: "bindings",
    label: "the binding layer's own functions",
    match: "`authfetch::bindings` (before: `authfetch::exports`), with the shims of the imports it declares",
    re: /^<?authfetch::(bindings|exports)::/,
  },
  { id: "core", component: "core", label: "our sans-IO core", match: "`authfetch::core`", re: /authfetch::core::/ },
  { id: "fmt", component: "rust", label: "formatting and panics", match: "`fmt::`, `panic`", re: /fmt::|panic/ },
  { id: "alloc", component: "rust", label: "allocator and collections", match: "`alloc::`, `lol_alloc`, `__rust_alloc`…", re: ALLOC },
  { id: "data", component: "data", label: "data segments (strings, tables, constants)", match: "`data segment`", re: /^data segment/ },
  {
    id: "structure",
    component: "structure",
    label: "module structure",
    match: "types, imports, exports, tables, globals, section headers",
    re: /^(type\[|import |export |table\[|global\[|memory\[|elem\[|wasm magic)|section headers$/,
  },
];

const OTHER = {
  id: "other",
  component: "rust",
  label: "everything else",
  match: "none of the above (`core`'s str, iter, Option, Result…; `memcmp`; `code[…]`: functions wasm-opt made by merging, unnamed)",
  re: /(?:)/,
};

/** `[{id, component, label, match, items, bytes, percent, largest}]`: OWNERS's rows, then OTHER. */
function owners(items, base, ours) {
  const rows = [...OWNERS, OTHER].map((o) => ({ ...o, items: 0, bytes: 0, largest: null }));
  const matches = (row, name) => (row.exports ? ours.has(stripShims(name)) : row.re.test(name));
  for (const it of items) {
    const row = rows.find((r) => matches(r, it.name));
    row.items += 1;
    row.bytes += it.shallow_size;
    if (!row.largest || it.shallow_size > row.largest.bytes) row.largest = { name: it.name, bytes: it.shallow_size };
  }
  return rows.map(({ re, exports, ...r }) => ({ ...r, percent: (r.bytes / base) * 100 }));
}

/**
 * `twiggy top` of a wasm file: `{ rows, version, base, owners?, items? }`, or throws. `rows`: its
 * `n` largest items `{name, bytes, percent}`; `base`: the bytes of code + data (every item but the
 * custom sections). `skipCustom` leaves the custom sections out of `rows` and gives `percent` of
 * `base` (else of the whole file, as twiggy does); `ours` (the set of `ownExports`) adds `owners`
 * (see OWNERS); `keepItems` adds every code + data item `{name, bytes}`.
 */
export async function twiggyTop(twiggy, wasmPath, n = 15, { skipCustom = false, ours, keepItems = false } = {}) {
  const { stdout } = await run(twiggy, ["top", "-f", "json", wasmPath], { maxBuffer: 64 << 20 });
  const all = JSON.parse(stdout);
  const code = all.filter((it) => !CUSTOM.test(it.name));
  const base = code.reduce((a, it) => a + it.shallow_size, 0);
  const rows = (skipCustom ? code : all).slice(0, n).map((it) => ({
    name: it.name,
    bytes: it.shallow_size,
    percent: skipCustom ? (it.shallow_size / base) * 100 : it.shallow_size_percent,
  }));
  return {
    rows,
    version: await versionOf(twiggy),
    base,
    ...(ours && { owners: owners(code, base, ours) }),
    ...(keepItems && { items: code.map((it) => ({ name: it.name, bytes: it.shallow_size })) }),
  };
}

export async function versionOf(tool, args = ["--version"]) {
  try {
    return (await run(tool, args)).stdout.trim().split("\n")[0];
  } catch {
    return ""; // the version is cosmetic
  }
}

/**
 * The jobs the JS edge calls the wasm for, each with the exports it calls for it: `methods` are
 * `Core`'s, matched by the method name of their export (`core_<method>`, as wasm-bindgen names
 * them: `core_callAnswered` is `callAnswered`), `exports` whole export names, `re` a pattern of
 * export names. An export that no row lists shows as a row of its own ("an export no job lists"),
 * so a new export cannot go unaccounted.
 */
export const JOBS = [
  { label: "the configuration (`new AuthClient`: read and checked)", methods: ["new", "fetch"] },
  { label: "login, restore, refresh and logout, and their endpoints' answers", methods: ["start", "answered", "readsBody"] },
  {
    label: "what the page and the effects report (wake-ups, Web Locks, sleeps, lock snapshots, channel messages)",
    methods: ["report"],
  },
  { label: "the effect queue, drained (`poll` and the polled effect's getters)", methods: ["poll", "id", "number", "text", "value"] },
  { label: "calls (`auth.fetch`: the allowlist, the bearer, the 401 and its retry)", methods: ["call", "callAnswered", "allows", "bearer", "speaks"] },
  { label: "the session's getters and the redirect", methods: ["isAuthenticated", "expiresAt", "refreshAt"], exports: ["redirectTarget"] },
  { label: "the edge's own errors and the client's end", exports: ["edgeError", "__wbg_core_free"] },
  { label: "wasm-bindgen's own exports (allocation, the externref table, exceptions, start)", re: /^__/ },
];

const METHOD = /^core_(\w+)$/; // `#[wasm_bindgen] pub struct Core`'s methods: `core_<js name>`

function jobOf(jobs, fn) {
  const method = METHOD.exec(fn)?.[1];
  const job = jobs.find((j) => (method ? j.methods?.includes(method) : j.exports?.includes(fn) || j.re?.test(fn)));
  if (job) return job;
  const extra = { label: `an export no job lists: \`${fn}\``, exports: [fn], extra: true, bytes: 0 };
  jobs.push(extra);
  return extra;
}

/** What no single export reaches alone, by name (the first row that matches); `core` marks the core's row. */
const SHARED = [
  { label: "js-sys, web-sys and wasm-bindgen's runtime", re: /^<?(js_sys|web_sys|wasm_bindgen)::| as wasm_bindgen::|^__(wbindgen|externref)|Externref/ },
  { label: "the binding layer's helpers", re: /^<?authfetch::(bindings|exports)::/ },
  { label: "the core's rules and state machines", re: /authfetch::core::/, core: true },
  { label: "allocator and collections", re: ALLOC },
  { label: "string and slice helpers, panics, module structure", re: /(?:)/ },
];

/**
 * `twiggy dominators` of a wasm with names: `{ jobs, shared, unlinked }`, bytes of code + data
 * (custom sections left out). `jobs`: JOBS's rows, each with the bytes its exports alone reach
 * (their retained size: what no other export also reaches), the exports found listed in `found`;
 * `shared`: the bytes several exports reach, by SHARED's rows; `unlinked`: the rest of `base` (the
 * file's code + data, as `twiggyTop` gives it), which twiggy links to no code — the data segments
 * (strings, messages, tables), which the code reaches by address.
 */
export async function twiggyJobs(twiggy, wasmPath, base, map) {
  const { stdout } = await run(twiggy, ["dominators", "-f", "json", wasmPath], { maxBuffer: 64 << 20 });
  // wasm-opt renamed the exports: `export "Y"` is `core_new` (the map's `[from, to]`).
  const original = new Map((map?.exports ?? []).map(([from, to]) => [to, from]));
  const { items } = JSON.parse(stdout);
  const jobs = JOBS.map(({ re, ...j }) => ({ ...j, re, bytes: 0, found: [] }));
  const shared = SHARED.map(({ re, ...row }) => ({ ...row, bytes: 0 }));
  let linked = 0;
  for (const item of items.flatMap((root) => root.children ?? [])) {
    if (CUSTOM.test(item.name)) continue;
    linked += item.retained_size;
    // An export's entry holds what it exports: a function (named by its original export name, or
    // else by the function's own name), or the memory, the table, a global: module structure.
    const child = item.name.startsWith("export ") ? item.children?.[0]?.name : undefined;
    const exported = original.get(/^export "(.*)"$/.exec(item.name)?.[1]);
    const fn = child && !/^(memory|table|global)\[\d+\]$/.test(child) ? (exported ?? stripShims(child)) : undefined;
    if (fn) {
      const job = jobOf(jobs, fn);
      job.bytes += item.retained_size;
      (job.found ??= []).push(fn);
    } else {
      shared[SHARED.findIndex((r) => r.re.test(item.name))].bytes += item.retained_size;
    }
  }
  return { jobs: jobs.map(({ re, ...j }) => ({ ...j, pattern: re ? String(re) : undefined })), shared, unlinked: base - linked };
}

export const BINDGEN_WASM = "target/bindings/authfetch_bg.wasm";
export const BINDGEN_GLUE = "target/bindings/authfetch.js";
export const WASM_OPT = "www/node_modules/.bin/wasm-opt";

/** Runs a tool; a failure says which tool and what it printed. */
export function step(tool, args, options = {}) {
  return run(tool, args, { maxBuffer: 64 << 20, ...options }).catch((e) => {
    throw new Error(`${basename(tool)} failed: ${String(e.stderr || e.message).replace(/\s+/g, " ").trim().slice(-400)}`);
  });
}

/**
 * pkg/'s wasm has no name section (wasm-opt strips it), so twiggy numbers its items. This builds
 * it again with its names: wasm-opt's two passes of scripts/pack.mjs on wasm-bindgen's output
 * (`input`, by default target/bindings/authfetch_bg.wasm: what pack.mjs optimizes; for the
 * package before the rewrite, rustc's output), `-Oz`, then the renaming `-Oz`, both with
 * wasm-features.mjs' FEATURES and ASSUMPTIONS, each with `-g` to keep the names. `twiggyTop` of
 * the result (custom sections left out, by owner), with `jobs` `twiggyJobs` (by job), plus `tools`
 * (versions), `map` (the renaming pass's map of the import and export names, as pack.mjs gets it),
 * `imports` (importsOf the input) and `items` (every code + data item); its `base` is comparable
 * to pkg/'s code + data. Throws when a tool is missing or fails.
 */
export async function namedBuild(repoRoot, twiggy, { input = `${repoRoot}${BINDGEN_WASM}`, jobs = true } = {}) {
  const wasmOpt = `${repoRoot}${WASM_OPT}`;
  await stat(wasmOpt).catch(() => {
    throw new Error(`wasm-opt is not installed (${WASM_OPT}; \`npm ci\` in www/)`);
  });
  const source = await readFile(input);
  const dir = await mkdtemp(join(tmpdir(), "authfetch-named-"));
  try {
    const named = join(dir, "named.wasm");
    await step(wasmOpt, ["-g", "-Oz", ...FEATURES, ...ASSUMPTIONS, input, "-o", named]);
    const { stdout } = await step(wasmOpt, ["-g", ...FEATURES, ...ASSUMPTIONS, "--minify-imports-and-exports-and-modules", "-Oz", named, "-o", named]);
    const map = JSON.parse(stdout.slice(stdout.indexOf("{")));
    const module = WebAssembly.Module.imports(new WebAssembly.Module(await readFile(named)))[0]?.module;
    const top = await twiggyTop(twiggy, named, 15, { skipCustom: true, ours: ownExports(source), keepItems: true });
    return {
      ...top,
      ...(jobs && (await twiggyJobs(twiggy, named, top.base, map))),
      map,
      module,
      imports: importsOf(source),
      tools: { wasmOpt: await versionOf(wasmOpt) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The generated glue as scripts/pack.mjs rewrites it before bundling: every `wasm.<export>` and
 * every key of its imports object renamed by wasm-opt's `map`, the import module named `module`.
 * Names the glue does not hold are left (a glue some imports were taken out of, importCrates).
 */
export function renameGlue(glue, map, module) {
  for (const [from, to] of map.exports) glue = glue.replace(new RegExp(`\\bwasm\\.${escape(from)}\\b`, "g"), `wasm.${to}`);
  for (const [, name, to] of map.imports) glue = glue.replace(new RegExp(`^(\\s+)${escape(name)}:`, "m"), `$1${JSON.stringify(to)}:`);
  return glue.replace('"./authfetch_bg.js": import0', `${JSON.stringify(module)}: import0`);
}

/** esbuild as scripts/pack.mjs runs it (www/node_modules' esbuild, minified ES2022 ESM, the compile hint first). */
const PACK = { bundle: true, write: false, minify: true, format: "esm", target: "es2022", legalComments: "none", logLevel: "error" };
const COMPILE_HINT = "//# allFunctionsCalledOnLoad";
const GLUE_IMPORT = /^\.\/bindings\/authfetch\.js$/;

function esbuildOf(repoRoot) {
  return createRequire(`${repoRoot}www/package.json`)("esbuild");
}

/** The glue minified on its own, as a module whose exports are all kept. */
export async function minifyGlue(repoRoot, glue) {
  const out = await esbuildOf(repoRoot).build({ ...PACK, stdin: { contents: glue, loader: "js", resolveDir: repoRoot } });
  return out.outputFiles[0].text;
}

/**
 * pkg/index.js by part. `bundle`: the file as shipped; `rebuilt`: the same bundle made again here
 * from js/ and the renamed glue (it must come out as `bundle` did: `same`); `inBundle`: the raw bytes
 * each input holds in it (esbuild's metafile); `glue`: the renamed glue minified on its own;
 * `edge`: the entry and the edge (js/index.js, js/authfetch.js) bundled and minified with the glue
 * left out (an import of it). Sizes `{raw, gzip, brotli}`.
 */
export async function jsParts(repoRoot, named) {
  const esbuild = esbuildOf(repoRoot);
  const glue = renameGlue(await readFile(`${repoRoot}${BINDGEN_GLUE}`, "utf8"), named.map, named.module);
  const entry = `${repoRoot}js/index.js`;
  const plugin = (external) => ({
    name: "bindings",
    setup(build) {
      build.onResolve({ filter: GLUE_IMPORT }, (args) => (external ? { path: args.path, external: true } : { path: "glue", namespace: "bindings" }));
      build.onLoad({ filter: /.*/, namespace: "bindings" }, () => ({ contents: glue, loader: "js" }));
    },
  });
  const options = { ...PACK, entryPoints: [entry], banner: { js: COMPILE_HINT }, metafile: true };
  const full = await esbuild.build({ ...options, plugins: [plugin(false)] });
  const edge = await esbuild.build({ ...options, plugins: [plugin(true)] });
  const bundle = await readFile(`${repoRoot}pkg/index.js`);
  const rebuilt = Buffer.from(full.outputFiles[0].text);
  const inputs = Object.entries(Object.values(full.metafile.outputs)[0].inputs);
  const bytesOf = (re) => inputs.filter(([path]) => re.test(path)).reduce((a, [, v]) => a + v.bytesInOutput, 0);
  return {
    bundle: sizesOf(bundle),
    rebuilt: rebuilt.length,
    same: rebuilt.equals(bundle),
    inBundle: { entry: bytesOf(/(^|\/)js\/index\.js$/), edge: bytesOf(/(^|\/)js\/authfetch\.js$/), glue: bytesOf(/^bindings:/) },
    glue: sizesOf(Buffer.from(await minifyGlue(repoRoot, glue))),
    edge: sizesOf(Buffer.from(edge.outputFiles[0].text)),
  };
}

/** The entries of the generated glue's imports object: `{ key, text, start, end }`, in order. */
export function glueImports(glue) {
  const open = glue.indexOf("const import0 = {");
  const close = glue.indexOf("\n    };", open);
  if (open < 0 || close < 0) throw new Error("the glue's imports object (`const import0 = {`) was not found");
  const body = glue.slice(open, close);
  const starts = [...body.matchAll(/^ {8}("?[\w$]+"?): /gm)].map((m) => ({ key: m[1].replace(/"/g, ""), at: open + m.index }));
  return starts.map((s, i) => ({ key: s.key, start: s.at, end: i + 1 < starts.length ? starts[i + 1].at : close + 1, text: glue.slice(s.at, i + 1 < starts.length ? starts[i + 1].at : close + 1) }));
}

/** What an import function of the glue runs: its `const ret = …` or its first statement. */
function jsOf(text) {
  const ret = /const ret = ([^;]+);/.exec(text)?.[1];
  const first = text
    .split("\n")
    .slice(1)
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith("//") && !l.startsWith("const v = ") && !l.startsWith("const obj = ") && !l.startsWith("const val = "));
  return (ret ?? first ?? "").replace(/;$/, "").replace(/getStringFromWasm0\(arg\d+, arg\d+\)/g, "str");
}

/** The Rust side's crate, as a label. */
const CRATES = {
  js_sys: "js-sys",
  web_sys: "web-sys",
  wasm_bindgen: "wasm-bindgen (`JsValue`'s type tests and readers, `throw`)",
  authfetch: "the binding layer (`authfetch::bindings`' own `extern` blocks)",
  [CLI]: "wasm-bindgen's CLI (casts, the externref table's start)",
};

/**
 * The imports of the wasm by the crate that declares them (importsOf): for each crate, its imports
 * with the Rust function and the JS each runs, the glue's bytes of their import functions (as
 * generated, and each minified alone), the glue's measured cost (the renamed glue minified and
 * gzipped with and without them: esbuild drops the helpers only they used), and the named build's
 * wasm bytes of the crate's wrapper functions (`js_sys::…`, with the shims of its imports) and
 * of its import entries.
 */
export async function importCrates(repoRoot, named) {
  const glue = await readFile(`${repoRoot}${BINDGEN_GLUE}`, "utf8");
  const entries = new Map(glueImports(glue).map((e) => [e.key, e]));
  const esbuild = esbuildOf(repoRoot);
  // An import function minified alone, as the argument of a call (`x(…);`, 4 bytes not counted).
  const minified = async (text) =>
    (await esbuild.transform(`x(${text.trim().replace(/^[\w$"]+:\s*/, "").replace(/,$/, "")});`, { minify: true, target: "es2022" })).code.trim().length - 4;
  const whole = await minifyGlue(repoRoot, renameGlue(glue, named.map, named.module));
  const wholeGzip = gzipSize(Buffer.from(whole));
  const renamed = new Map(named.map.imports.map(([, name, to]) => [name, to]));
  const importItem = new Map(named.items.filter((it) => it.name.startsWith("import ")).map((it) => [it.name.replace(/^import [^:]*::/, ""), it.bytes]));
  const byCrate = new Map();
  for (const imp of named.imports) {
    const entry = entries.get(imp.name);
    const row = {
      key: imp.name,
      rust: imp.rust,
      js: entry ? jsOf(entry.text) : null,
      glueRaw: entry ? entry.text.length : 0,
      glueMin: entry ? await minified(entry.text) : 0,
      wasmImport: importItem.get(renamed.get(imp.name)) ?? 0,
    };
    if (!byCrate.has(imp.crate)) byCrate.set(imp.crate, []);
    byCrate.get(imp.crate).push(row);
  }
  const crates = [];
  for (const [crate, imports] of byCrate) {
    // The glue without this crate's import functions (the wasm would not instantiate: measured only).
    let without = glue;
    for (const e of [...imports].map((i) => entries.get(i.key)).filter(Boolean).sort((a, b) => b.start - a.start)) {
      without = without.slice(0, e.start) + without.slice(e.end);
    }
    const withoutGzip = gzipSize(Buffer.from(await minifyGlue(repoRoot, renameGlue(without, named.map, named.module))));
    const re = { js_sys: /^<?js_sys::/, web_sys: /^<?web_sys::/ }[crate];
    const wrappers = re ? named.items.filter((it) => re.test(it.name)) : [];
    crates.push({
      crate,
      label: CRATES[crate] ?? crate,
      imports,
      glueRaw: imports.reduce((a, i) => a + i.glueRaw, 0),
      glueMin: imports.reduce((a, i) => a + i.glueMin, 0),
      glueGzip: wholeGzip - withoutGzip,
      wasmImports: imports.reduce((a, i) => a + i.wasmImport, 0),
      ...(re && { wasmWrappers: wrappers.reduce((a, it) => a + it.bytes, 0), wrapperItems: wrappers.length }),
    });
  }
  const order = ["js_sys", "web_sys", "wasm_bindgen", "authfetch", CLI];
  crates.sort((a, b) => (order.indexOf(a.crate) + 1 || 99) - (order.indexOf(b.crate) + 1 || 99));
  return { crates, glueGzip: wholeGzip };
}
