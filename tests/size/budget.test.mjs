// The size budget: pkg/ as `make pkg` ships it (the wasm and index.js, the entry bundled with the
// browser edge and wasm-bindgen's glue, each gzip -9) must not weigh more than `gzipBytes` in size-budget.json at the
// repository root. Run by `make test` after `make pkg`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const budget = JSON.parse(readFileSync(join(root, "size-budget.json"), "utf8")).gzipBytes;
// zlib at level 9, as BENCHMARKS.md measures every package (`gzip -9` without a file name header;
// the gzip command itself compresses a little better).
const gzip = (file) => gzipSync(readFileSync(join(root, "pkg", file)), { level: 9 }).length;

test(`pkg/ weighs at most ${budget} B gzip (wasm + JS)`, () => {
  // testing.js (authfetch/testing) is for apps' tests and never reaches their pages.
  const shipped = readdirSync(join(root, "pkg")).filter((f) => (f.endsWith(".wasm") || f.endsWith(".js")) && f !== "testing.js");
  assert.deepEqual(shipped.sort(), ["authfetch_bg.wasm", "index.js"], "pkg/ ships other code files: count them here");
  const wasm = gzip("authfetch_bg.wasm");
  // The one module a browser loads on import: the entry, the browser edge and the glue.
  const js = gzip("index.js");
  console.log(`pkg/: wasm ${wasm} B + JS ${js} B = ${wasm + js} B gzip -9 (zlib); budget ${budget} B`);
  assert.ok(wasm + js <= budget, `pkg/ is ${wasm + js} B gzip, over the budget of ${budget} B by ${wasm + js - budget} B`);
});
