// Finishes pkg/ after the Makefile's `pkg` target copied rustc's wasm (pkg/authfetch_bg.wasm) into
// it: the size the package ships at (BENCHMARKS.md, size).
//
// 1. wasm-opt (npm binaryen) runs `-Oz`; a second pass renames the wasm's exports to one or two
//    letters (`--minify-imports-and-exports-and-modules`), runs `-Oz` again and drops the custom
//    sections no engine reads (STRIP). (Two passes, because the renaming pass after a first
//    `-Oz` comes out smaller than one pass.) Both passes take wasm-features.mjs' FEATURES and
//    ASSUMPTIONS.
// 2. The browser edge (js/authfetch.js) is rewritten with wasm-opt's rename map — it reads every
//    export as `wasm.<name>` — and bundled by esbuild with the package's entry (js/index.js), which
//    imports it, into one minified module, pkg/index.js: what `import … from "authfetch"` loads, in
//    one request, starting with V8's compile hint (COMPILE_HINT). One file instead of the entry and
//    the edge side by side: 282 B less gzip (zlib -9), and no second module request on import.
// 3. The types (js/index.d.ts), authfetch/testing (js/testing.js, its types), the README, the
//    license files and the changelog are added, and package.json is written from Cargo.toml's
//    [package] (`cargo metadata`): an `exports` map, `sideEffects: false`, `engines`.
//
// Every export the edge reads must be found in the map, and the module must have no imports, or
// the script fails: an edge that silently calls a renamed export would only fail in the browser.
//
// Usage: node scripts/pack.mjs [pkg-dir]   (the Makefile's `pkg` target runs it)
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ASSUMPTIONS, FEATURES } from "./wasm-features.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = process.argv[2] ?? join(root, "pkg");
const www = createRequire(join(root, "www", "package.json"));
const esbuild = www("esbuild");
const wasmOpt = join(root, "www", "node_modules", ".bin", "wasm-opt");

const WASM = join(pkg, "authfetch_bg.wasm");
const EDGE = join(root, "js", "authfetch.js");
const ENTRY = join(root, "js", "index.js");
/** The syntax the shipped JS is written in (class private fields and methods: ES2022). */
const TARGET = "es2022";
/**
 * The first line of both shipped JS files: V8's explicit compile hint (Chrome 136+). Nearly every
 * function of the edge and the entry runs while the client starts — init, the constructor, the
 * driver, the first call — so V8 compiles them all while loading the file, off the main thread,
 * instead of one by one on first call on it. Measured in Chromium (the start measure, 15 page
 * loads, twice each way): the first `new AuthClient` took 2.2–2.3 ms with it, 2.7–3.0 ms
 * without; the import and init vary more from load to load than between the two. Other engines
 * ignore the comment; a bundler that rewrites the files drops it.
 */
const COMPILE_HINT = "//# allFunctionsCalledOnLoad";

/**
 * The custom sections rustc leaves that no engine reads: `target_features` (the features the
 * linker saw) and `producers` (the toolchain's name and version). Dropped in the second pass:
 * 230 B of the wasm.
 */
const STRIP = ["--strip-target-features", "--strip-producers"];

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const before = readFileSync(WASM);
const module = new WebAssembly.Module(before);
if (WebAssembly.Module.imports(module).length) fail("the module imports something: the core must not call JavaScript");
if (!WebAssembly.Module.exports(module).some((e) => e.name === "af_new")) {
  // pkg/index.js was bundled with the rename map of that packing, which is gone: left as it is.
  console.log("pack: pkg/ is already packed");
  writeFiles();
  process.exit(0);
}

execFileSync(wasmOpt, [...FEATURES, ...ASSUMPTIONS, "-Oz", WASM, "-o", WASM]);
const mapJson = execFileSync(
  wasmOpt,
  [...FEATURES, ...ASSUMPTIONS, "--minify-imports-and-exports-and-modules", "-Oz", ...STRIP, WASM, "-o", WASM],
  { encoding: "utf8", maxBuffer: 16 << 20 },
);
const map = JSON.parse(mapJson.slice(mapJson.indexOf("{")));

let edge = readFileSync(EDGE, "utf8");
for (const [from, to] of map.exports) {
  edge = edge.replace(new RegExp(`\\bwasm\\.${escape(from)}\\b`, "g"), `wasm.${to}`);
}
const leftover = edge.match(/\bwasm\.[A-Za-z_]\w{2,}\b/g);
if (leftover) fail(`exports not in the module: ${[...new Set(leftover)].join(", ")}`);

// The entry imports "./authfetch.js": resolved to the renamed edge, bundled into one module. The
// `new URL("authfetch_bg.wasm", import.meta.url)` of both stays as written, so the wasm is still
// found next to pkg/index.js, and bundlers still see it as an asset.
const edgePlugin = {
  name: "renamed-edge",
  setup(build) {
    build.onResolve({ filter: /^\.\/authfetch\.js$/ }, () => ({ path: EDGE, namespace: "edge" }));
    build.onLoad({ filter: /.*/, namespace: "edge" }, () => ({ contents: edge, loader: "js" }));
  },
};
const bundled = await esbuild.build({
  entryPoints: [ENTRY],
  bundle: true,
  write: false,
  minify: true,
  format: "esm",
  target: TARGET,
  banner: { js: COMPILE_HINT },
  legalComments: "none",
  plugins: [edgePlugin],
  logLevel: "error",
});
const code = bundled.outputFiles[0].text;
writeFileSync(join(pkg, "index.js"), code);

writeFiles();

const after = readFileSync(WASM);
console.log(`pack: wasm ${before.length} → ${after.length} bytes, index.js ${code.length} bytes (the entry and the edge, minified), ${map.exports.length} exports renamed`);

/** Step 3: the types, authfetch/testing, the license files, the changelog and package.json. */
function writeFiles() {
  copyFileSync(join(root, "js", "index.d.ts"), join(pkg, "index.d.ts"));
  // authfetch/testing, for apps' own tests: shipped readable, never loaded by an app's pages.
  copyFileSync(join(root, "js", "testing.js"), join(pkg, "testing.js"));
  copyFileSync(join(root, "js", "testing.d.ts"), join(pkg, "testing.d.ts"));
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
    files: ["index.js", "index.d.ts", "testing.js", "testing.d.ts", "authfetch_bg.wasm", "README.md", ...extra],
    // Importing the package changes nothing global: bundlers may drop what an app does not use.
    sideEffects: false,
    engines: { node: ">=20.16" },
  };
  writeFileSync(join(pkg, "package.json"), JSON.stringify(out, null, 2) + "\n");
}
