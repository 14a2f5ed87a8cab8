// The wasm features rustc enables for wasm32-unknown-unknown, which wasm-opt must accept.
// Shared by scripts/pack.mjs and the size benchmark's named rebuild (www/bench/measure-size.mjs).
export const FEATURES = [
  "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int",
  "--enable-sign-ext",
  "--enable-mutable-globals",
  "--enable-reference-types",
];
