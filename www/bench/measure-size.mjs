// Measure 1: size. authfetch as pkg/ ships it (authfetch_bg.wasm + authfetch.js) next to each peer
// bundled by esbuild (build.mjs): raw bytes, gzip at level 9, brotli at quality 11.
// Plus `twiggy top` of the wasm when a twiggy binary is given.

import { readFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { AUTHFETCH_GLUE_MIN, DIST_DIR, PEERS } from "./build.mjs";

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

/** `{ wasm, glue, total, glueMin, totalMin, peers: [{id, label, ...sizes}] }` (each file compressed on its own). */
export async function measureSizes(repoRoot) {
  const wasm = sizesOf(await readFile(`${repoRoot}pkg/authfetch_bg.wasm`));
  const glue = sizesOf(await readFile(`${repoRoot}pkg/authfetch.js`));
  const glueMin = sizesOf(await readFile(`${DIST_DIR}${AUTHFETCH_GLUE_MIN}`));
  const peers = [];
  for (const peer of PEERS) {
    peers.push({ id: peer.id, label: peer.label, packages: peer.packages, ...sizesOf(await readFile(`${DIST_DIR}${peer.file}`)) });
  }
  return { wasm, glue, total: add(wasm, glue), glueMin, totalMin: add(wasm, glueMin), peers };
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

/**
 * `twiggy top -n N` of a wasm file: `{ rows: [{name, bytes, percent}], version }`, or throws.
 * `skipCustom` leaves out custom sections and the name section (for rustc's output, where they
 * dominate but never reach pkg/).
 */
export async function twiggyTop(twiggy, wasmPath, n = 15, { skipCustom = false } = {}) {
  const { stdout } = await run(twiggy, ["top", ...(skipCustom ? [] : ["-n", String(n)]), "-f", "json", wasmPath], {
    maxBuffer: 64 << 20,
  });
  let items = JSON.parse(stdout);
  let base = null; // bytes the percentages are of (null: twiggy's own, of the whole file)
  if (skipCustom) {
    items = items.filter((it) => !/^custom section|subsection$/.test(it.name));
    base = items.reduce((a, it) => a + it.shallow_size, 0);
    items = items.slice(0, n);
  }
  const rows = items.map((it) => ({
    name: it.name,
    bytes: it.shallow_size,
    percent: base ? (it.shallow_size / base) * 100 : it.shallow_size_percent,
  }));
  let version = "";
  try {
    version = (await run(twiggy, ["--version"])).stdout.trim();
  } catch {
    // version is cosmetic
  }
  return { rows, version, base };
}
