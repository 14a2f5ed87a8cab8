// The authfetch demo: one AuthClient for the PGBen API served by the reference server.
// No framework, no build step. The page never sees a token: the library never exposes one.

import { createAuthClient } from "/pkg/index.js";

const $ = (id) => document.getElementById(id);

/** @type {import("/pkg/index.js").AuthClient | undefined} */
let auth;

// ---------------------------------------------------------------- formatting

const pad = (n, w = 2) => String(n).padStart(w, "0");

function clockTime(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function logTime(ms) {
  return `${clockTime(ms)}.${pad(new Date(ms).getMilliseconds(), 3)}`;
}

/** "in 59:12", "in 1:02:03", "now" */
function countdown(ms) {
  if (ms <= 0) return "now";
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `in ${h}:${pad(m)}:${pad(s)}` : `in ${m}:${pad(s)}`;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB (${n} bytes)`;
  return `${(n / 1024 / 1024).toFixed(2)} MB (${n} bytes)`;
}

/** An AuthError as one line: code, HTTP status, server code and message. Never a token. */
function describeError(e) {
  if (e && e.name === "AuthError") {
    const parts = [e.code];
    if (e.status) parts.push(`HTTP ${e.status}`);
    if (e.serverCode) parts.push(e.serverCode);
    let text = parts.join(" · ");
    if (e.serverMessage) text += ` — ${e.serverMessage}`;
    return text;
  }
  return String(e && e.message ? e.message : e);
}

// ---------------------------------------------------------------- event log

function logEvent(type, text) {
  const li = document.createElement("li");
  li.dataset.type = type;
  const time = document.createElement("time");
  time.textContent = logTime(Date.now());
  const tag = document.createElement("span");
  tag.className = `tag tag-${type}`;
  tag.textContent = type;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(time, tag, body);
  $("event-log").prepend(li);
  console.info(`[demo] ${type}: ${text}`); // mirrored for developers (and the walkthrough); never a token
}

function setStatus(id, state, text) {
  const el = $(id);
  el.dataset.state = state;
  el.textContent = text;
}

// ---------------------------------------------------------------- session view

function updateUi() {
  const signedIn = Boolean(auth && auth.isAuthenticated);
  const badge = $("session-status");
  badge.dataset.state = signedIn ? "signed-in" : "signed-out";
  badge.textContent = signedIn ? "signed in" : "signed out";
  badge.className = `badge ${signedIn ? "badge-on" : "badge-off"}`;

  $("login-btn").disabled = !auth || signedIn;
  $("logout-btn").disabled = !signedIn;
  $("refresh-btn").disabled = !signedIn;
  // The API buttons stay usable when signed out: they show `not_authenticated` (nothing is sent).
  for (const id of ["btn-me", "btn-beneficios", "upload-btn"]) $(id).disabled = !auth;
}

function tick() {
  updateUi();
  const now = Date.now();
  const refreshAt = auth ? auth.refreshAt : undefined;
  const expiresAt = auth ? auth.expiresAt : undefined;
  const signedIn = Boolean(auth && auth.isAuthenticated);

  const rc = $("refresh-countdown");
  rc.textContent = refreshAt !== undefined ? countdown(refreshAt - now) : signedIn ? "not scheduled" : "—";
  rc.dataset.ms = refreshAt !== undefined ? String(refreshAt - now) : "";
  $("refresh-at").textContent = refreshAt !== undefined ? `(${clockTime(refreshAt)})` : "";

  const ec = $("expiry-countdown");
  ec.textContent = expiresAt !== undefined ? countdown(expiresAt - now) : signedIn ? "unknown" : "—";
  ec.dataset.ms = expiresAt !== undefined ? String(expiresAt - now) : "";
  $("expires-at").textContent = expiresAt !== undefined ? `(${clockTime(expiresAt)})` : "";
}

function secondsFromNow(epochMs) {
  return epochMs === undefined || epochMs === null ? "unknown" : `${Math.round((epochMs - Date.now()) / 1000)} s`;
}

// ---------------------------------------------------------------- actions

async function onLogin(event) {
  event.preventDefault();
  const error = $("login-error");
  error.hidden = true;
  $("login-btn").disabled = true;
  try {
    await auth.login({ email: $("email").value, senha: $("senha").value });
  } catch (e) {
    let text = describeError(e);
    if (e && e.code === "account_locked" && e.details && e.details.desbloqueioEm) {
      text += ` (unlocks at ${new Date(e.details.desbloqueioEm).toLocaleTimeString()})`;
    }
    error.textContent = text;
    error.hidden = false;
  } finally {
    tick();
  }
}

async function callApi(path) {
  setStatus("api-status", "pending", `GET ${path} …`);
  $("api-result").textContent = "";
  try {
    const res = await auth.fetch(path);
    const text = await res.text();
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON: show as is
    }
    $("api-status").dataset.httpStatus = String(res.status);
    setStatus("api-status", res.ok ? "ok" : "error", `GET ${path} → ${res.status} ${res.statusText}`);
    $("api-result").textContent = shown;
  } catch (e) {
    $("api-status").dataset.httpStatus = "";
    setStatus("api-status", "error", `GET ${path} failed: ${describeError(e)}`);
    console.info(`[demo] api: GET ${path} failed: ${describeError(e)}`);
  } finally {
    tick();
  }
}

async function onUpload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) {
    setStatus("upload-status", "error", "choose a file first");
    return;
  }
  const form = new FormData();
  form.append("arquivo", file, file.name);
  form.append("tipoDocumento", $("tipo-documento").value);
  $("upload-result").hidden = true;
  setStatus("upload-status", "pending", `uploading ${file.name} (${bytes(file.size)}) …`);
  try {
    const res = await auth.fetch("/v1/documento/upload", { method: "POST", body: form });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      setStatus("upload-status", "error", `upload → ${res.status} ${body.errorCode ?? ""} ${body.message ?? ""}`.trim());
      return;
    }
    setStatus("upload-status", "ok", `upload → ${res.status} ${res.statusText}, ${body.status ?? ""}`.trim());
    $("upload-name").textContent = `${body.nomeArquivo} (${body.tipoDocumento}, ${body.contentType})`;
    $("upload-size").textContent = bytes(body.tamanhoBytes);
    $("upload-size").dataset.bytes = String(body.tamanhoBytes);
    $("upload-sha256").textContent = body.sha256 ?? "";
    $("upload-result").hidden = false;
  } catch (e) {
    setStatus("upload-status", "error", `upload failed: ${describeError(e)}`);
  } finally {
    tick();
  }
}

async function onRefresh() {
  try {
    await auth.refresh();
  } catch (e) {
    // The `error` / `logout` events already went to the log.
  } finally {
    tick();
  }
}

async function onLogout() {
  try {
    await auth.logout();
  } finally {
    tick();
  }
}

// ---------------------------------------------------------------- test controls

async function control(path, body, describe) {
  try {
    const res = await fetch(`/__control/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    setStatus("control-status", "ok", describe);
    logEvent("control", describe);
  } catch (e) {
    setStatus("control-status", "error", `${path} failed: ${e.message}`);
  }
}

async function showCounters() {
  const res = await fetch("/__control/counters");
  $("counters").textContent = JSON.stringify(await res.json(), null, 2);
}

async function setUpTestControls() {
  let available = false;
  try {
    available = (await fetch("/__control/counters")).status === 200;
  } catch {
    available = false;
  }
  if (!available) return;
  $("test-controls").hidden = false;
  $("expire-btn").addEventListener("click", () =>
    control("expire-access", {}, "server: every access token issued so far now answers 401 AUTH_006"),
  );
  $("revoke-btn").addEventListener("click", () =>
    control("revoke", { all: true }, "server: every session revoked (AUTH_005 / AUTH_007)"),
  );
  $("ttl-apply").addEventListener("click", () => {
    const seconds = Number($("ttl-input").value);
    if (!Number.isInteger(seconds) || seconds < 1) {
      setStatus("control-status", "error", "the TTL must be a whole number of seconds ≥ 1");
      return;
    }
    return control("config", { accessTtlSeconds: seconds }, `server: access tokens issued from now on live ${seconds} s`);
  });
  $("counters-btn").addEventListener("click", () => showCounters().catch(() => {}));
}

// ---------------------------------------------------------------- start

async function main() {
  try {
    auth = await createAuthClient({ loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token" });
  } catch (e) {
    setStatus("session-status", "error", "failed to load authfetch");
    logEvent("error", `failed to load authfetch: ${describeError(e)}`);
    return;
  }
  window.auth = auth; // for poking at it from the console: it holds no readable token

  auth.addEventListener("login", (e) =>
    logEvent("login", `signed in — access token expires in ${secondsFromNow(e.detail?.expiresAt ?? auth.expiresAt)}`),
  );
  auth.addEventListener("refresh", (e) =>
    logEvent("refresh", `new access token — expires in ${secondsFromNow(e.detail?.expiresAt ?? auth.expiresAt)}`),
  );
  auth.addEventListener("logout", (e) => logEvent("logout", `session ended — reason: ${e.detail?.reason ?? "unknown"}`));
  auth.addEventListener("error", (e) => logEvent("error", describeError(e.detail)));

  $("login-form").addEventListener("submit", onLogin);
  $("btn-me").addEventListener("click", () => callApi("/v1/cidadao/me"));
  $("btn-beneficios").addEventListener("click", () => callApi("/v1/beneficio/meus-beneficios"));
  $("upload-form").addEventListener("submit", onUpload);
  $("refresh-btn").addEventListener("click", onRefresh);
  $("logout-btn").addEventListener("click", onLogout);

  await setUpTestControls();
  tick();
  setInterval(tick, 250);
  document.body.dataset.ready = "true";

  // Another open tab of this origin may already hold a session: join it.
  auth
    .restore()
    .then((held) => {
      if (held) logEvent("restore", "session resumed from another tab");
      tick();
    })
    .catch((e) => logEvent("error", `restore: ${describeError(e)}`));
}

main();
