// For the test and bench pages (served from www/, never shipped). The package keeps its
// WebAssembly instance to itself, so a page that watches the package's wasm memory catches it on
// its way out of the loader's call: `catchWasmMemory(found)`, called before the package is
// imported, wraps `WebAssembly.instantiateStreaming` and `instantiate` (results unchanged) and
// calls `found(memory)` for each instance made.
export function catchWasmMemory(found) {
  for (const name of ["instantiateStreaming", "instantiate"]) {
    const original = WebAssembly[name];
    WebAssembly[name] = async function (...args) {
      const made = await original.apply(this, args);
      const instance = made instanceof WebAssembly.Instance ? made : made.instance;
      const memory = Object.values(instance.exports).find((v) => v instanceof WebAssembly.Memory);
      if (memory) found(memory);
      return made;
    };
  }
}
