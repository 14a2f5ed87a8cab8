// Writes every ```ts block of README.md to app/src/readme/block-NN.ts, one module each, so that
// `tsc` compiles the README's examples exactly as a user would paste them. The names the
// examples leave to the app (`ORIGIN`, `fileInput`, `showLoginForm`) are declared in
// app/src/readme-globals.d.ts.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
const out = fileURLToPath(new URL("app/src/readme/", import.meta.url));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
if (blocks.length === 0) throw new Error("README.md has no ```ts block");
blocks.forEach((code, i) => {
  const name = `block-${String(i + 1).padStart(2, "0")}.ts`;
  writeFileSync(`${out}${name}`, `// README.md, TypeScript block ${i + 1} (written by tests/types/readme.mjs)\n${code}\nexport {};\n`);
});
console.log(`readme: ${blocks.length} TypeScript blocks of README.md written to ${out}`);
