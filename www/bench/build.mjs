// Builds the peer bundles the benchmark pages load and the size table measures: each peer's main
// entry, bundled whole by esbuild (minified ESM for the browser), into www/bench/dist/.
//
//   node build.mjs          (scripts/bench.sh runs it; idempotent)
//
// Each entry is one import of the package's main entry re-exported as a namespace
// (`export * as lib from "pkg"`), so nothing the package exports is tree-shaken away.

import { build } from "esbuild";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("./", import.meta.url));
export const DIST_DIR = fileURLToPath(new URL("./dist/", import.meta.url));

/** The peers: bundle file name, what it holds, and its entry source. */
export const PEERS = [
  {
    id: "auth0",
    file: "auth0-spa-js.js",
    label: "@auth0/auth0-spa-js",
    packages: ["@auth0/auth0-spa-js"],
    entry: 'export * as lib from "@auth0/auth0-spa-js";',
  },
  {
    id: "oidc",
    file: "oidc-client-ts.js",
    label: "oidc-client-ts",
    packages: ["oidc-client-ts"],
    entry: 'export * as lib from "oidc-client-ts";',
  },
  {
    id: "keycloak",
    file: "keycloak-js.js",
    label: "keycloak-js",
    packages: ["keycloak-js"],
    entry: 'export * as lib from "keycloak-js";',
  },
  {
    id: "axios",
    file: "axios-auth-refresh.js",
    label: "axios + axios-auth-refresh",
    packages: ["axios", "axios-auth-refresh"],
    entry: 'export * as lib from "axios";\nexport * as authRefresh from "axios-auth-refresh";',
  },
  {
    id: "ky",
    file: "ky.js",
    label: "ky",
    packages: ["ky"],
    entry: 'export * as lib from "ky";',
  },
];

export async function buildAll({ quiet = false } = {}) {
  await mkdir(DIST_DIR, { recursive: true });
  for (const peer of PEERS) {
    await build({
      stdin: { contents: peer.entry, resolveDir: BENCH_DIR, sourcefile: `${peer.id}-entry.js`, loader: "js" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      define: { "process.env.NODE_ENV": '"production"' },
      legalComments: "none",
      outfile: `${DIST_DIR}${peer.file}`,
      logLevel: quiet ? "error" : "warning",
    });
  }
  await writeFile(`${DIST_DIR}README.txt`, "Built by www/bench/build.mjs (scripts/bench.sh). Not committed.\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildAll();
  console.log(`[bench] bundles written to ${DIST_DIR}`);
}
