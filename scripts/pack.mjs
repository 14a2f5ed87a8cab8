// Finishes pkg/ after `wasm-bindgen --target web` (the Makefile's `pkg` target): the size the
// package ships at (BENCHMARKS.md, size).
//
// 1. wasm-opt (npm binaryen) runs `-Oz` on wasm-bindgen's output; a second pass renames the wasm's imports, exports and import module to one or
//    two letters (`--minify-imports-and-exports-and-modules`) and runs `-Oz` again. wasm-bindgen
//    names every import like `__wbg_headers_9ef80dd266706f48`: ~100 of those, each spelled in
//    both the wasm and the glue, are kilobytes that gzip cannot squeeze (the hashes are random).
//    (Two passes, because the renaming pass after a first `-Oz` comes out smaller than one pass.)
// 2. The glue (pkg/authfetch.js) is rewritten with wasm-opt's rename map, then minified by
//    esbuild — as a bundler would, and as every peer in the size table is measured.
// 3. The package's entry and types (js/index.js, js/index.d.ts) are added — the entry minified
//    too — with the README, the license files and the changelog, and package.json is written
//    from Cargo.toml's [package] (`cargo metadata`): an `exports` map, `sideEffects: false`,
//    `engines`. wasm-bindgen's own `.d.ts` files are dropped: they
//    name minified internals, not what a user calls.
//
// Every name of the map must be found where wasm-bindgen put it, or the script fails: a glue
// that silently calls a renamed export would only fail in the browser.
//
// Usage: node scripts/pack.mjs [pkg-dir]   (the Makefile's `pkg` target runs it)
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FEATURES } from "./wasm-features.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = process.argv[2] ?? join(root, "pkg");
const www = createRequire(join(root, "www", "package.json"));
const esbuild = www("esbuild");
const wasmOpt = join(root, "www", "node_modules", ".bin", "wasm-opt");

const WASM = join(pkg, "authfetch_bg.wasm");
const GLUE = join(pkg, "authfetch.js");
const GLUE_TYPES = join(pkg, "authfetch.d.ts");
const WASM_TYPES = join(pkg, "authfetch_bg.wasm.d.ts");
const MODULE = "./authfetch_bg.js";

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

function importModules(bytes) {
  const module = new WebAssembly.Module(bytes);
  return new Set(WebAssembly.Module.imports(module).map((i) => i.module));
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Replaces every `pattern(name)` by `pattern(renamed)`; fails when a name is not found. */
function renameAll(text, renames, pattern, what, { required = true } = {}) {
  for (const [from, to] of renames) {
    const re = pattern(escape(from));
    if (!re.test(text)) {
      if (required) fail(`${what} ${from} not found in the glue`);
      continue;
    }
    text = text.replace(re, (match) => match.replace(from, to));
  }
  return text;
}

const before = readFileSync(WASM);
const modules = importModules(before);
if (!modules.has(MODULE)) {
  console.log("pack: pkg/ is already packed");
  writeEntry();
  process.exit(0);
}
if (modules.size !== 1) fail(`unexpected import modules ${[...modules].join(", ")}`);

execFileSync(wasmOpt, [...FEATURES, "-Oz", WASM, "-o", WASM]);
const mapJson = execFileSync(
  wasmOpt,
  [...FEATURES, "--minify-imports-and-exports-and-modules", "-Oz", WASM, "-o", WASM],
  { encoding: "utf8", maxBuffer: 16 << 20 },
);
const map = JSON.parse(mapJson.slice(mapJson.indexOf("{")));
const [newModule, ...others] = importModules(readFileSync(WASM));
if (others.length) fail("the minified wasm has more than one import module");

const imports = map.imports.map(([, from, to]) => [from, to]);
const exports = map.exports;
let glue = readFileSync(GLUE, "utf8");
// Imports are the keys of the object the glue hands to `WebAssembly.instantiate`.
glue = renameAll(glue, imports, (n) => new RegExp(`\\b${n}(?=\\s*:)`, "g"), "import");
glue = renameAll(glue, [[MODULE, newModule]], (n) => new RegExp(`"${n}"(?=\\s*:)`, "g"), "module");
// Exports are read as `wasm.name`; a few (memory, …) the glue never reads by name.
glue = renameAll(glue, exports, (n) => new RegExp(`\\bwasm\\.${n}\\b`, "g"), "export", {
  required: false,
});
const leftover = glue.match(/\bwasm\.[A-Za-z_]\w{2,}\b/g);
if (leftover) fail(`exports not renamed: ${[...new Set(leftover)].join(", ")}`);

const { code } = esbuild.transformSync(glue, { minify: true, format: "esm", target: "es2020" });
writeFileSync(GLUE, code);

writeEntry();

const after = readFileSync(WASM);
console.log(
  `pack: wasm ${before.length} → ${after.length} bytes, glue ${code.length} bytes (minified), ` +
    `${imports.length} imports and ${exports.length} exports renamed`,
);

/** Step 3: the entry, its types, the license files, the changelog and package.json. */
function writeEntry() {
  const entry = readFileSync(join(root, "js", "index.js"), "utf8");
  const min = esbuild.transformSync(entry, { minify: true, format: "esm", target: "es2020" });
  writeFileSync(join(pkg, "index.js"), min.code);
  copyFileSync(join(root, "js", "index.d.ts"), join(pkg, "index.d.ts"));
  // authfetch/testing, for apps' own tests: shipped readable, never loaded by an app's pages.
  copyFileSync(join(root, "js", "testing.js"), join(pkg, "testing.js"));
  copyFileSync(join(root, "js", "testing.d.ts"), join(pkg, "testing.d.ts"));
  // The glue's own type files name minified internals (`InitOutput`).
  rmSync(GLUE_TYPES, { force: true });
  rmSync(WASM_TYPES, { force: true });
  const extra = ["LICENSE-MIT", "LICENSE-APACHE", "CHANGELOG.md"];
  for (const file of ["README.md", ...extra]) copyFileSync(join(root, file), join(pkg, file));
  const metadata = JSON.parse(
    execFileSync("cargo", ["metadata", "--no-deps", "--format-version", "1", "--manifest-path", join(root, "Cargo.toml")], {
      encoding: "utf8",
      maxBuffer: 16 << 20,
    }),
  );
  const crate = metadata.packages.find((p) => p.name === "authfetch");
  if (!crate) fail("no authfetch package in `cargo metadata`");
  const out = {
    name: crate.name,
    version: crate.version,
    description: crate.description,
    license: crate.license,
    repository: { type: "git", url: crate.repository },
    keywords: crate.keywords,
    type: "module",
    main: "./index.js",
    module: "./index.js",
    types: "./index.d.ts",
    exports: {
      ".": { types: "./index.d.ts", import: "./index.js", default: "./index.js" },
      "./testing": { types: "./testing.d.ts", import: "./testing.js", default: "./testing.js" },
      "./authfetch_bg.wasm": "./authfetch_bg.wasm",
      "./package.json": "./package.json",
    },
    files: ["index.js", "index.d.ts", "testing.js", "testing.d.ts", "authfetch.js", "authfetch_bg.wasm", "README.md", ...extra],
    // Importing the package changes nothing global: bundlers may drop what an app does not use.
    sideEffects: false,
    engines: { node: ">=20.16" },
  };
  writeFileSync(join(pkg, "package.json"), JSON.stringify(out, null, 2) + "\n");
}
