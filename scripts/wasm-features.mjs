// The wasm features wasm-bindgen's output uses: the same list as Cargo.toml's wasm-opt flags.
// Shared by scripts/pack.mjs and the size benchmark's named rebuild (www/bench/measure-size.mjs).
export const FEATURES = [
  "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int",
  "--enable-sign-ext",
  "--enable-mutable-globals",
  "--enable-reference-types",
];
