//! The browser edge (wasm32 only).
