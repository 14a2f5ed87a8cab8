// The hand-written types (pkg/index.d.ts) against the package they describe, as installed from
// the packed tarball into app/node_modules/authfetch: every value the module exports and every
// member of AuthClient is declared, nothing declared is missing, and no `any` leaks out. Also
// the `not_initialized` error and the `isAuthError` guard, which need no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const installed = fileURLToPath(new URL("app/node_modules/authfetch/", import.meta.url));
const ts = createRequire(fileURLToPath(new URL("app/package.json", import.meta.url)))("typescript");
const dts = readFileSync(`${installed}index.d.ts`, "utf8");
const source = ts.createSourceFile("index.d.ts", dts, ts.ScriptTarget.ES2020, true);
const hasExport = (node) => node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const isDefault = (node) => node.modifiers?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);

/** The value exports the .d.ts declares (functions and classes; `default` for the default one). */
function declaredValues() {
  const names = new Set();
  for (const node of source.statements) {
    if (!hasExport(node)) continue;
    if (ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) names.add(isDefault(node) ? "default" : node.name.text);
  }
  return [...names].sort();
}

/** AuthClient's members as declared: methods, and properties with `readonly`. */
function declaredMembers() {
  const cls = source.statements.find((n) => ts.isClassDeclaration(n) && n.name?.text === "AuthClient");
  const methods = [];
  const readonly = [];
  for (const member of cls.members) {
    if (ts.isMethodDeclaration(member)) methods.push(member.name.getText(source));
    if (ts.isPropertyDeclaration(member)) {
      assert.ok(member.modifiers?.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword), `${member.name.getText(source)} must be readonly`);
      readonly.push(member.name.getText(source));
    }
  }
  return { methods: [...new Set(methods)].sort(), readonly: readonly.sort() };
}

const authfetch = await import(`${installed}index.js`);

test("before the module is loaded, new AuthClient() throws AuthError not_initialized saying what to call", () => {
  let thrown;
  try {
    new authfetch.AuthClient({ loginPath: "/v1/auth/login" });
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof Error);
  assert.equal(thrown.name, "AuthError");
  assert.equal(thrown.code, "not_initialized");
  assert.match(thrown.message, /createAuthClient/);
  assert.match(thrown.message, /init\(\)/);
  assert.equal(authfetch.isAuthError(thrown), true);
});

test("isAuthError tells authfetch's errors from others", () => {
  assert.equal(authfetch.isAuthError(new TypeError("Failed to fetch")), false);
  assert.equal(authfetch.isAuthError({ name: "AuthError" }), false, "no code");
  assert.equal(authfetch.isAuthError(null), false);
  assert.equal(authfetch.isAuthError("AuthError"), false);
  assert.equal(authfetch.isAuthError(Object.assign(new Error("x"), { name: "AuthError", code: "network" })), true);
});

test("the module exports exactly the values index.d.ts declares", () => {
  assert.deepEqual(Object.keys(authfetch).sort(), declaredValues());
});

test("AuthClient has exactly the members index.d.ts declares", () => {
  authfetch.initSync({ module: readFileSync(`${installed}authfetch_bg.wasm`) });
  const proto = authfetch.AuthClient.prototype;
  const runtime = { methods: [], readonly: [] };
  for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      // Nothing named `__…` is part of the API.
      if (name === "constructor" || name.startsWith("__")) continue;
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (d.get) {
        assert.equal(d.set, undefined, `${name} has a setter`);
        runtime.readonly.push(name);
      } else if (typeof d.value === "function") runtime.methods.push(name);
    }
  }
  const declared = declaredMembers();
  assert.deepEqual([...new Set(runtime.methods)].sort(), declared.methods);
  assert.deepEqual([...new Set(runtime.readonly)].sort(), declared.readonly);
});

test("index.d.ts has no `any` and names no wasm internals", () => {
  const words = dts.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
  assert.doesNotMatch(words, /\bany\b/);
  assert.doesNotMatch(words, /InitOutput|__wbg|WebAssembly\.Memory/);
});
