// A module Web Worker that holds an authfetch client (www/e2e/worker.test.mjs drives it). The
// page posts `{ id, op, arg }`; the worker answers `{ id, ok, value }` or `{ id, ok: false,
// code, message }`, and posts `{ event, detail }` for every client event.
import { createAuthClient, isAuthError } from "/pkg/index.js";

let auth;

const ops = {
  async create(config) {
    auth = await createAuthClient(config);
    for (const type of ["login", "refresh", "logout", "error"]) {
      auth.addEventListener(type, (e) => postMessage({ event: type, detail: isAuthError(e.detail) ? { code: e.detail.code } : { ...e.detail } }));
    }
    return { isAuthenticated: auth.isAuthenticated };
  },
  login: (credentials) => auth.login(credentials),
  async call(path) {
    const res = await auth.fetch(path);
    return { status: res.status, body: await res.json() };
  },
  logout: () => auth.logout(),
  state: () => ({ isAuthenticated: auth.isAuthenticated, expiresAt: auth.expiresAt, location: String(self.location) }),
};

self.onmessage = async ({ data: { id, op, arg } }) => {
  try {
    postMessage({ id, ok: true, value: await ops[op](arg) });
  } catch (e) {
    postMessage({ id, ok: false, code: isAuthError(e) ? e.code : e?.name, message: String(e?.message ?? e) });
  }
};
