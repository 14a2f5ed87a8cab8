// webpack 5 with no loader and no plugin package: the wasm is found through
// `new URL("authfetch_bg.wasm", import.meta.url)` (an asset), and index.html is written as is,
// pointing at the bundle.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const html = readFileSync(new URL("index.html", import.meta.url), "utf8").replace("./src/main.js", "./main.js");

export default {
  mode: "production",
  entry: "./src/main.js",
  output: { path: fileURLToPath(new URL("dist-webpack/", import.meta.url)), filename: "main.js", clean: true },
  plugins: [
    {
      apply(compiler) {
        compiler.hooks.thisCompilation.tap("index.html", (compilation) => {
          compilation.hooks.processAssets.tap("index.html", () => {
            compilation.emitAsset("index.html", new compiler.webpack.sources.RawSource(html));
          });
        });
      },
    },
  ],
};
