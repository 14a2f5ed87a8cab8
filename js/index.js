// The package's entry point: what `import … from "authfetch"` gives (scripts/pack.mjs bundles it
// with ./authfetch.js into one module, pkg/index.js). The session logic is the WebAssembly module
// that ./authfetch.js (the browser edge) loads and drives; this file adds what must exist before
// that module is loaded: one shared initialisation, `createAuthClient`, the `not_initialized`
// error and the `isAuthError` guard. Types: index.d.ts next to it.
import load, { initSync as loadSync, AuthClient as WasmAuthClient } from "./authfetch.js";

let loading;
let ready = false;

/**
 * Loads the WebAssembly module once; later and concurrent calls share the first one. With no
 * argument it is fetched from next to this file (bundlers copy it); `{ module_or_path }` takes a
 * URL, a `Response`, bytes or a compiled `WebAssembly.Module`. Resolves `undefined`; rejects
 * `not_initialized` (the browser's error in `cause`) when the module cannot be loaded, and a
 * later call tries again.
 */
export default function init(options) {
  if (ready) return Promise.resolve();
  if (!loading) {
    loading = load(options ?? fromFile()).then(
      () => {
        ready = true;
      },
      (error) => {
        loading = undefined;
        throw authError(
          `the authfetch WebAssembly module could not be loaded (${error}). authfetch_bg.wasm must be served next to the package's JS; with Vite's dev server, add optimizeDeps: { exclude: ["authfetch"] } to vite.config`,
          error,
        );
      },
    );
  }
  return loading;
}

/**
 * Node.js: `fetch` cannot read `file:` URLs, so the module next to this file is read from disk
 * (`process.getBuiltinModule`, Node 20.16+: no import a browser bundler would try to resolve).
 * Elsewhere `undefined`: the edge fetches it.
 */
function fromFile() {
  const here = import.meta.url;
  const fs = here.startsWith("file:") ? globalThis.process?.getBuiltinModule?.("node:fs") : undefined;
  return fs ? { module_or_path: fs.readFileSync(new URL(here.replace(/[^/]*$/, "authfetch_bg.wasm"))) } : undefined;
}

/** Loads the WebAssembly module synchronously from `{ module }` (bytes or a `WebAssembly.Module`). */
export function initSync(options) {
  if (!ready) {
    loadSync(options);
    ready = true;
  }
}

/** An `AuthError` with code `not_initialized`, as the module's own errors are shaped. */
function authError(message, cause) {
  const error = new Error(message);
  error.name = "AuthError";
  error.code = "not_initialized";
  if (cause !== undefined) error.cause = cause;
  return error;
}

/** The client (see index.d.ts); constructing it before `init()` throws `not_initialized`. */
export class AuthClient extends WasmAuthClient {
  constructor(config) {
    if (!ready) {
      throw authError(
        "new AuthClient() was used before the authfetch WebAssembly module was loaded: use `await createAuthClient(config)`, or `await init()` before `new AuthClient(config)`",
      );
    }
    super(config);
  }
}

/** Loads the module if needed (once, shared), then constructs an `AuthClient` with `config`. */
export async function createAuthClient(config) {
  await init();
  return new AuthClient(config);
}

/** Whether `value` is an error authfetch threw or rejected with (`name === "AuthError"`, a `code`). */
export function isAuthError(value) {
  return typeof value === "object" && value !== null && value.name === "AuthError" && typeof value.code === "string";
}
