// The app both bundlers build: one client for the PGBen routes of the page's own origin, driven
// by the end-to-end test through `window.app`.
import { createAuthClient, isAuthError } from "authfetch";

const state = document.getElementById("state");

createAuthClient({ loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token", loginUrl: null }).then(
  (auth) => {
    const events = [];
    for (const type of ["login", "refresh", "logout"]) auth.addEventListener(type, () => events.push(type));
    const settle = async (work) => {
      try {
        return { ok: true, value: await work() };
      } catch (e) {
        return { ok: false, code: isAuthError(e) ? e.code : String(e) };
      }
    };
    window.app = {
      events,
      login: (credentials) => settle(() => auth.login(credentials)),
      call: (path) =>
        settle(async () => {
          const res = await auth.fetch(path);
          return { status: res.status, body: await res.json() };
        }),
      logout: () => settle(() => auth.logout()),
      isAuthenticated: () => auth.isAuthenticated,
    };
    state.textContent = "ready";
    state.dataset.ready = "true";
  },
  (e) => {
    state.textContent = `failed: ${e}`;
    state.dataset.ready = "failed";
  },
);
