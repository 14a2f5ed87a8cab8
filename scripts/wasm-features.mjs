// The wasm features rustc enables for wasm32-unknown-unknown, which wasm-opt must accept.
// Shared (with ASSUMPTIONS below) by scripts/pack.mjs and the size benchmark's named rebuild (www/bench/measure-size.mjs).
export const FEATURES = [
  "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int",
  "--enable-sign-ext",
  "--enable-mutable-globals",
  "--enable-reference-types",
];

// What wasm-opt may assume of the module beyond its features, in every `-Oz` pass (pack.mjs and
// the named rebuild alike). `--low-memory-unused`: addresses below 1,024 are never used, which
// lets wasm-opt fold constant offsets into loads and stores. True of rustc's wasm32 layout: the
// 1 MiB stack sits at the bottom of memory and grows down from 1,048,576 (the data follows it),
// so the low 1 KiB is the stack's far end, reached only by a stack a thousand times deeper than
// the core's. Measured: 151 B less gzip.
export const ASSUMPTIONS = ["--low-memory-unused"];
