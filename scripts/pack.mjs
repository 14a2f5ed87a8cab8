// Finishes pkg/ from wasm-bindgen's output (target/bindings: authfetch_bg.wasm and its JS glue,
// authfetch.js), which the Makefile's `pkg` target generates: the size the package ships at
// (BENCHMARKS.md, size).
//
// 1. wasm-opt (npm binaryen) runs `-Oz`; a second pass renames the wasm's exports, imports and
//    import module to one or two letters (`--minify-imports-and-exports-and-modules`), runs `-Oz`
//    again and drops the custom sections no engine reads (STRIP). (Two passes, because the
//    renaming pass after a first `-Oz` comes out smaller than one pass.) Both passes take
//    wasm-features.mjs' FEATURES and ASSUMPTIONS. The result is pkg/authfetch_bg.wasm.
// 2. The generated glue is rewritten with wasm-opt's rename map — it names every export as
//    `wasm.<name>`, every import as a key of its imports object, and the import module once —
//    and bundled by esbuild with the package's entry (js/index.js) and the browser edge
//    (js/authfetch.js, which imports the glue as "./bindings/authfetch.js") into one minified
//    module, pkg/index.js: what `import … from "authfetch"` loads, in one request, starting with
//    V8's compile hint (COMPILE_HINT).
// 3. The types (js/index.d.ts), authfetch/testing (js/testing.js, its types), the README, the
//    license files and the changelog are added, and package.json is written from Cargo.toml's
//    [package] (`cargo metadata`): an `exports` map, `sideEffects: false`, `engines`.
//
// Every name the glue uses must be found in the map, or the script fails: a glue that silently
// calls a renamed export would only fail in the browser.
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
const bindings = join(root, "target", "bindings");
const www = createRequire(join(root, "www", "package.json"));
const esbuild = www("esbuild");
const wasmOpt = join(root, "www", "node_modules", ".bin", "wasm-opt");

const GENERATED_WASM = join(bindings, "authfetch_bg.wasm");
const GLUE = join(bindings, "authfetch.js");
const WASM = join(pkg, "authfetch_bg.wasm");
const ENTRY = join(root, "js", "index.js");
/** The import module wasm-bindgen names in the wasm and in the glue's imports object. */
const IMPORT_MODULE = "./authfetch_bg.js";
/** The syntax the shipped JS is written in (class private fields and methods: ES2022). */
const TARGET = "es2022";
/**
 * The first line of the shipped JS: V8's explicit compile hint (Chrome 136+). Nearly every
 * function of the edge, the entry and the glue runs while the client starts — init, the
 * constructor, the driver, the first call — so V8 compiles them all while loading the file, off
 * the main thread, instead of one by one on first call on it. Other engines ignore the comment; a
 * bundler that rewrites the file drops it.
 */
const COMPILE_HINT = "//# allFunctionsCalledOnLoad";

/**
 * The custom sections rustc leaves that no engine reads: `target_features` (the features the
 * linker saw) and `producers` (the toolchain's name and version). Dropped in the second pass.
 */
const STRIP = ["--strip-target-features", "--strip-producers"];

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const before = readFileSync(GENERATED_WASM);
execFileSync(wasmOpt, [...FEATURES, ...ASSUMPTIONS, "-Oz", GENERATED_WASM, "-o", WASM]);
const mapJson = execFileSync(
  wasmOpt,
  [...FEATURES, ...ASSUMPTIONS, "--minify-imports-and-exports-and-modules", "-Oz", ...STRIP, WASM, "-o", WASM],
  { encoding: "utf8", maxBuffer: 16 << 20 },
);
const map = JSON.parse(mapJson.slice(mapJson.indexOf("{")));

let glue = readFileSync(GLUE, "utf8");
for (const [from, to] of map.exports) {
  glue = glue.replace(new RegExp(`\\bwasm\\.${escape(from)}\\b`, "g"), `wasm.${to}`);
}
const leftover = glue.match(/\bwasm\.[A-Za-z_]\w{2,}\b/g);
if (leftover) fail(`exports not in the module: ${[...new Set(leftover)].join(", ")}`);
// An import is `[module, name, new name]` in the map; the glue names it as a key of its imports
// object, and the module once, as that object's key. The new module name is the packed wasm's.
for (const [module, name, to] of map.imports) {
  if (module !== IMPORT_MODULE) fail(`an import from another module: ${module} ${name}`);
  const key = new RegExp(`^(\\s+)${escape(name)}:`, "m");
  if (!key.test(glue)) fail(`import ${name} not in the glue`);
  glue = glue.replace(key, `$1${JSON.stringify(to)}:`);
}
const modules = [...new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(WASM))).map((i) => i.module))];
if (modules.length !== 1) fail(`the packed wasm imports from ${modules.length} modules`);
const moduleKey = `${JSON.stringify(IMPORT_MODULE)}: import0`;
if (!glue.includes(moduleKey)) fail("the glue names its import module otherwise");
glue = glue.replace(moduleKey, `${JSON.stringify(modules[0])}: import0`);
if (/__wbg_\w+:/.test(glue)) fail(`imports not renamed: ${glue.match(/__wbg_\w+(?=:)/g).join(", ")}`);

// The edge imports "./bindings/authfetch.js": resolved to the rewritten glue, bundled into one
// module. The glue's `new URL('authfetch_bg.wasm', import.meta.url)` stays as written, so the
// wasm is still found next to pkg/index.js, and bundlers still see it as an asset.
const gluePlugin = {
  name: "bindings",
  setup(build) {
    build.onResolve({ filter: /^\.\/bindings\/authfetch\.js$/ }, () => ({ path: GLUE, namespace: "bindings" }));
    build.onLoad({ filter: /.*/, namespace: "bindings" }, () => ({ contents: glue, loader: "js" }));
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
  plugins: [gluePlugin],
  logLevel: "error",
});
const code = bundled.outputFiles[0].text;
writeFileSync(join(pkg, "index.js"), code);

writeFiles();

const after = readFileSync(WASM);
console.log(
  `pack: wasm ${before.length} → ${after.length} bytes, index.js ${code.length} bytes (entry, edge and glue, minified), ${map.exports.length} exports and ${map.imports.length} imports renamed`,
);

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
