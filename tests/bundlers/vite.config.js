// `vite build` writes dist-vite/; the dev server (`vite`) proxies the API to the reference server
// named by API_ORIGIN, as an app's dev setup would. `optimizeDeps.exclude` is what the README
// asks of Vite users: the dev server's dependency pre-bundling moves a package's JS away from its
// .wasm file, and `new URL("authfetch_bg.wasm", import.meta.url)` then points at nothing.
import { defineConfig } from "vite";

export default defineConfig({
  build: { outDir: "dist-vite", emptyOutDir: true },
  optimizeDeps: { exclude: ["authfetch"] },
  // One cache per dev server: the e2e suites of the engines run at once.
  cacheDir: process.env.VITE_CACHE_DIR ?? "node_modules/.vite",
  server: {
    proxy: process.env.API_ORIGIN ? { "/v1": { target: process.env.API_ORIGIN, changeOrigin: false } } : undefined,
  },
});
