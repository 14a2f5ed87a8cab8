// authfetch/testing (js/testing.js) used as a plain fetch: the token server an app's tests drive
// an AuthClient with. No network, no wasm: each test makes its own server and calls
// `server.fetch` the way a client would.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTokenServer } from "../../js/testing.js";

const ORIGIN = "https://api.test";
const MARIA = { email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" };

/** POSTs `body` as JSON to `path` on `server`. */
function post(server, path, body, headers = {}) {
  return server.fetch(`${server.origin}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
}

/** GETs `path` on `server`, with `token` as the bearer when given. */
function get(server, path, token) {
  return server.fetch(`${server.origin}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

/** Logs Maria in on a PGBen server; the answer's body. */
async function login(server) {
  const res = await post(server, "/v1/auth/login", MARIA);
  assert.equal(res.status, 200);
  return res.json();
}

/** The JSON payload of a JWT. */
function payload(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

/** Asserts a PGBen error answer: status, code, and the seed's body shape. */
async function assertPgbenError(res, status, errorCode, path) {
  assert.equal(res.status, status);
  const body = await res.json();
  assert.deepEqual(Object.keys(body), ["statusCode", "timestamp", "path", "message", "errorCode"]);
  assert.equal(body.statusCode, status);
  assert.equal(body.errorCode, errorCode);
  assert.equal(body.path, path);
  assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
  return body;
}

describe("PGBen (the default dialect)", () => {
  test("login answers the seed's token body; tokens are random JWTs with exp and iat", async () => {
    const server = createTokenServer();
    assert.equal(server.origin, ORIGIN);
    const res = await post(server, "/v1/auth/login", MARIA);
    assert.equal(res.status, 200);
    assert.equal(res.url, `${ORIGIN}/v1/auth/login`);
    assert.match(res.headers.get("content-type"), /application\/json/);
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["accessToken", "refreshToken", "expiresIn", "tipoToken", "usuario"]);
    assert.equal(body.expiresIn, 3600);
    assert.deepEqual(body.usuario, { id: "user-1", email: MARIA.email });
    const claims = payload(body.accessToken);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 5);
    assert.equal(claims.sub, "user-1");
    assert.match(body.accessToken, /^[\w-]+\.[\w-]+\.$/);
    const again = await login(server);
    assert.notEqual(again.accessToken, body.accessToken);
    assert.notEqual(again.refreshToken, body.refreshToken);
    assert.equal(server.counters.logins, 2);
  });

  test("a wrong password is 400 AUTH_001; so is a body without the fields, or not JSON", async () => {
    const server = createTokenServer();
    const wrong = await assertPgbenError(await post(server, "/v1/auth/login", { ...MARIA, senha: "x" }), 400, "AUTH_001", "/v1/auth/login");
    assert.equal(wrong.message, "Credenciais inválidas");
    await assertPgbenError(await post(server, "/v1/auth/login", { email: MARIA.email }), 400, "AUTH_001", "/v1/auth/login");
    const notJson = await server.fetch(`${ORIGIN}/v1/auth/login`, { method: "POST", body: "email=x" });
    await assertPgbenError(notJson, 400, "AUTH_001", "/v1/auth/login");
    assert.deepEqual([server.counters.logins, server.counters.loginFailures], [0, 3]);
  });

  test("an API route: 200 with a valid bearer, 401 AUTH_005 without one or with an unknown one", async () => {
    const server = createTokenServer();
    const { accessToken } = await login(server);
    const ok = await get(server, "/v1/cidadao/me", accessToken);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { id: "user-1", email: MARIA.email });
    await assertPgbenError(await get(server, "/v1/cidadao/me"), 401, "AUTH_005", "/v1/cidadao/me");
    await assertPgbenError(await get(server, "/v1/cidadao/me", "not-a-token"), 401, "AUTH_005", "/v1/cidadao/me");
    const basic = await server.fetch(`${ORIGIN}/v1/cidadao/me`, { headers: { authorization: `Basic ${accessToken}` } });
    assert.equal(basic.status, 401);
  });

  test("expireAccessTokens(): the current access tokens answer 401 AUTH_006; a refreshed one works", async () => {
    const server = createTokenServer();
    const first = await login(server);
    server.expireAccessTokens();
    const expired = await get(server, "/v1/cidadao/me", first.accessToken);
    const body = await assertPgbenError(expired, 401, "AUTH_006", "/v1/cidadao/me");
    assert.equal(body.message, "Token expirado");
    assert.equal(expired.url, `${ORIGIN}/v1/cidadao/me`, "authfetch reads the 401's url to know it is the API's");
    const renewed = await post(server, "/v1/auth/refresh-token", { refreshToken: first.refreshToken });
    assert.equal(renewed.status, 200);
    const second = await renewed.json();
    assert.equal((await get(server, "/v1/cidadao/me", second.accessToken)).status, 200);
    assert.equal((await get(server, "/v1/cidadao/me", first.accessToken)).status, 401);
  });

  test("refresh rotates the refresh token; presenting the old one again is reuse: the whole family is revoked", async () => {
    const server = createTokenServer();
    const first = await login(server);
    const other = await login(server); // another session of the same user
    const res = await post(server, "/v1/auth/refresh-token", { refreshToken: first.refreshToken });
    assert.equal(res.status, 200);
    const second = await res.json();
    assert.deepEqual(Object.keys(second), ["accessToken", "refreshToken", "expiresIn", "tipoToken"]);
    assert.notEqual(second.refreshToken, first.refreshToken);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(payload(second.accessToken).sid, payload(first.accessToken).sid);

    const reuse = await post(server, "/v1/auth/refresh-token", { refreshToken: first.refreshToken });
    await assertPgbenError(reuse, 401, "AUTH_007", "/v1/auth/refresh-token");
    for (const token of [first.accessToken, second.accessToken]) {
      await assertPgbenError(await get(server, "/v1/cidadao/me", token), 401, "AUTH_005", "/v1/cidadao/me");
    }
    const orphan = await post(server, "/v1/auth/refresh-token", { refreshToken: second.refreshToken });
    await assertPgbenError(orphan, 401, "AUTH_007", "/v1/auth/refresh-token");
    assert.equal((await get(server, "/v1/cidadao/me", other.accessToken)).status, 200, "another session is untouched");
    // Every presentation of a used token counts as reuse again.
    await post(server, "/v1/auth/refresh-token", { refreshToken: first.refreshToken });
    const c = server.counters;
    assert.deepEqual(
      [c.refreshRequests, c.refreshes, c.refreshFailures, c.reuseDetections],
      [4, 1, 3, 2],
    );
  });

  test("a refresh without a refresh token, or with an access token, is 401 AUTH_007", async () => {
    const server = createTokenServer();
    const { accessToken } = await login(server);
    await assertPgbenError(await post(server, "/v1/auth/refresh-token", {}), 401, "AUTH_007", "/v1/auth/refresh-token");
    await assertPgbenError(await post(server, "/v1/auth/refresh-token", { refreshToken: accessToken }), 401, "AUTH_007", "/v1/auth/refresh-token");
    assert.equal(server.counters.reuseDetections, 0);
  });

  test("revokeSessions(): the next API call is 401 AUTH_005, the refresh 401 AUTH_007; a new login works", async () => {
    const server = createTokenServer();
    const { accessToken, refreshToken } = await login(server);
    server.revokeSessions();
    await assertPgbenError(await get(server, "/v1/cidadao/me", accessToken), 401, "AUTH_005", "/v1/cidadao/me");
    await assertPgbenError(await post(server, "/v1/auth/refresh-token", { refreshToken }), 401, "AUTH_007", "/v1/auth/refresh-token");
    const fresh = await login(server);
    assert.equal((await get(server, "/v1/cidadao/me", fresh.accessToken)).status, 200);
  });

  test("logout revokes the caller's session only", async () => {
    const server = createTokenServer();
    const a = await login(server);
    const b = await login(server);
    const res = await server.fetch(`${ORIGIN}/v1/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${a.accessToken}` } });
    assert.equal(res.status, 204);
    assert.equal((await get(server, "/v1/cidadao/me", a.accessToken)).status, 401);
    assert.equal((await post(server, "/v1/auth/refresh-token", { refreshToken: a.refreshToken })).status, 401);
    assert.equal((await get(server, "/v1/cidadao/me", b.accessToken)).status, 200);
  });
});

describe("failures on demand", () => {
  test("failNextRefresh(503, { retryAfter: 120 }): one 503 with Retry-After, then refresh works again", async () => {
    const server = createTokenServer();
    const { refreshToken } = await login(server);
    server.failNextRefresh(503, { retryAfter: 120 });
    const failed = await post(server, "/v1/auth/refresh-token", { refreshToken });
    assert.equal(failed.headers.get("retry-after"), "120");
    const body = await assertPgbenError(failed, 503, "SRV_503", "/v1/auth/refresh-token");
    assert.equal(body.message, "Serviço temporariamente indisponível");
    // The refresh token was not consumed by the failed call.
    assert.equal((await post(server, "/v1/auth/refresh-token", { refreshToken })).status, 200);
    const c = server.counters;
    assert.deepEqual([c.refreshRequests, c.refreshes, c.refreshFailures, c.reuseDetections], [2, 1, 1, 0]);
  });

  test("count fails that many calls in a row; failures queue in order", async () => {
    const server = createTokenServer();
    const { refreshToken } = await login(server);
    server.failNextRefresh(500, { count: 2 });
    server.failNextRefresh("reject");
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(server, "/v1/auth/refresh-token", { refreshToken })).status);
    assert.deepEqual(statuses, [500, 500, 401, 200]);
    assert.equal(server.counters.refreshFailures, 3);
  });

  test('failNextRefresh("drop"): the fetch rejects with a TypeError like a network failure', async () => {
    const server = createTokenServer();
    const { refreshToken } = await login(server);
    server.failNextRefresh("drop");
    await assert.rejects(post(server, "/v1/auth/refresh-token", { refreshToken }), (e) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /Failed to fetch/);
      assert.ok(!e.message.includes(refreshToken));
      return true;
    });
    assert.equal((await post(server, "/v1/auth/refresh-token", { refreshToken })).status, 200);
    assert.deepEqual([server.counters.refreshRequests, server.counters.refreshFailures], [2, 1]);
  });

  test("through handle(), a drop is Response.error() (MSW's network error)", async () => {
    const server = createTokenServer();
    server.failNextLogin("drop");
    const res = await server.handle(new Request(`${ORIGIN}/v1/auth/login`, { method: "POST", body: JSON.stringify(MARIA) }));
    assert.equal(res?.type, "error");
  });

  test("failNextLogin: a status in the dialect's shape, or a refusal (401 AUTH_001)", async () => {
    const server = createTokenServer();
    server.failNextLogin(500);
    server.failNextLogin("reject");
    await assertPgbenError(await post(server, "/v1/auth/login", MARIA), 500, "SRV_500", "/v1/auth/login");
    await assertPgbenError(await post(server, "/v1/auth/login", MARIA), 401, "AUTH_001", "/v1/auth/login");
    await login(server);
    assert.deepEqual([server.counters.logins, server.counters.loginFailures], [1, 2]);
  });

  test("bad failure arguments throw a TypeError", () => {
    const server = createTokenServer();
    for (const [failure, options] of [
      [200, undefined],
      ["timeout", undefined],
      [503, { count: 0 }],
      ["drop", { retryAfter: 5 }],
      [503, { retryAfter: -1 }],
      [503, { retry: 5 }],
    ]) {
      assert.throws(() => server.failNextRefresh(failure, options), TypeError, `${failure} ${JSON.stringify(options)}`);
    }
  });
});

describe("requests, routes and origins", () => {
  test("counters count requests and bearer requests per path; each read is a snapshot", async () => {
    const server = createTokenServer();
    const { accessToken } = await login(server);
    await get(server, "/v1/cidadao/me", accessToken);
    await get(server, "/v1/cidadao/me", accessToken);
    await get(server, "/v1/cidadao/me");
    await get(server, "/v1/nothing?x=1");
    const snapshot = server.counters;
    assert.deepEqual(snapshot.requests, { "/v1/auth/login": 1, "/v1/cidadao/me": 3, "/v1/nothing": 1 });
    assert.deepEqual(snapshot.bearerRequests, { "/v1/cidadao/me": 2 });
    await get(server, "/v1/cidadao/me");
    assert.equal(snapshot.requests["/v1/cidadao/me"], 3);
    assert.equal(server.counters.requests["/v1/cidadao/me"], 4);
  });

  test("an unknown route is 404 NOT_FOUND; a known path with another method is 405", async () => {
    const server = createTokenServer();
    await assertPgbenError(await get(server, "/v1/nothing"), 404, "NOT_FOUND", "/v1/nothing");
    const wrongMethod = await get(server, "/v1/auth/login");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "POST");
  });

  test("another origin: fetch rejects with a TypeError naming it, nothing is counted; handle() answers undefined", async () => {
    const server = createTokenServer();
    const { accessToken } = await login(server);
    const elsewhere = server.fetch("https://evil.test/steal", { headers: { authorization: `Bearer ${accessToken}` } });
    await assert.rejects(elsewhere, (e) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /https:\/\/evil\.test/);
      assert.match(e.message, /Authorization header/);
      assert.ok(!e.message.includes(accessToken), "never the token");
      return true;
    });
    await assert.rejects(server.fetch("http://api.test/v1/cidadao/me"), /http:\/\/api\.test/);
    await assert.rejects(server.fetch("https://api.test:8443/v1/cidadao/me"), /https:\/\/api\.test:8443/);
    assert.equal(await server.handle(new Request("https://elsewhere.test/x")), undefined);
    assert.deepEqual(server.counters.requests, { "/v1/auth/login": 1 });
  });

  test("relative URLs resolve against the server's origin; a Request object works too", async () => {
    const server = createTokenServer();
    const { accessToken } = await login(server);
    assert.equal((await server.fetch("/v1/cidadao/me", { headers: { authorization: `Bearer ${accessToken}` } })).status, 200);
    const request = new Request(`${ORIGIN}/v1/cidadao/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal((await server.fetch(request)).status, 200);
    assert.equal((await server.fetch(new URL("/v1/cidadao/me", ORIGIN))).status, 401);
  });

  test("an aborted signal rejects with the abort reason, like fetch", async () => {
    const server = createTokenServer();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(server.fetch(`${ORIGIN}/v1/cidadao/me`, { signal: controller.signal }), { name: "AbortError" });
    assert.deepEqual(server.counters.requests, {});
  });

  test("fetch is a plain function: it needs no `this`", async () => {
    const { fetch: detached } = createTokenServer();
    assert.equal((await detached.call(undefined, `${ORIGIN}/v1/cidadao/me`)).status, 401);
  });

  test("extra routes get the request and the session, only with a valid bearer", async () => {
    const seen = [];
    const server = createTokenServer({
      routes: {
        "POST /v1/beneficio/solicitar": async (request, session) => {
          seen.push([await request.json(), session.user.email, session.subject]);
          return Response.json({ protocolo: "PGB1" }, { status: 202 });
        },
        "/v1/qualquer": () => new Response("any method"),
        "GET /v1/sempre-401": () => new Response(null, { status: 401 }),
        "GET /v1/quebrada": () => "not a response",
        "GET /v1/caiu": () => Response.error(),
      },
    });
    const { accessToken } = await login(server);
    const auth = { authorization: `Bearer ${accessToken}` };
    const res = await post(server, "/v1/beneficio/solicitar", { tipoBeneficio: "AUXILIO" }, auth);
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { protocolo: "PGB1" });
    assert.deepEqual(seen, [[{ tipoBeneficio: "AUXILIO" }, MARIA.email, "user-1"]]);
    await assertPgbenError(await post(server, "/v1/beneficio/solicitar", {}), 401, "AUTH_005", "/v1/beneficio/solicitar");
    assert.equal(seen.length, 1, "not called without a bearer");
    assert.equal((await server.fetch(`${ORIGIN}/v1/qualquer`, { method: "DELETE", headers: auth })).status, 200);
    const always = await get(server, "/v1/sempre-401", accessToken);
    assert.equal(always.status, 401);
    assert.equal(always.url, `${ORIGIN}/v1/sempre-401`);
    assert.equal((await get(server, "/v1/beneficio/solicitar", accessToken)).status, 405);
    await assert.rejects(get(server, "/v1/quebrada", accessToken), (e) => e instanceof TypeError && /GET \/v1\/quebrada/.test(e.message) && !e.message.includes(accessToken));
    await assert.rejects(get(server, "/v1/caiu", accessToken), TypeError);
    assert.equal((await get(server, "/v1/cidadao/me", accessToken)).status, 200, "the dialect's me route stays");
  });

  test("the now option is the clock: tokens expire at their exp second, refresh tokens after refreshTtlSeconds", async () => {
    let t = 1_700_000_000_000;
    const server = createTokenServer({ now: () => t, accessTtlSeconds: 60, refreshTtlSeconds: 600 });
    const { accessToken, refreshToken, expiresIn } = await login(server);
    assert.equal(expiresIn, 60);
    assert.deepEqual([payload(accessToken).iat, payload(accessToken).exp], [1_700_000_000, 1_700_000_060]);
    t += 59_999;
    assert.equal((await get(server, "/v1/cidadao/me", accessToken)).status, 200);
    t += 1;
    await assertPgbenError(await get(server, "/v1/cidadao/me", accessToken), 401, "AUTH_006", "/v1/cidadao/me");
    t += 600_000;
    await assertPgbenError(await post(server, "/v1/auth/refresh-token", { refreshToken }), 401, "AUTH_007", "/v1/auth/refresh-token");
    assert.equal(server.counters.reuseDetections, 0, "an expired refresh token is not reuse");
  });

  test("reset() forgets tokens, sessions, pending failures and counters", async () => {
    const server = createTokenServer();
    const { accessToken } = await login(server);
    server.failNextLogin(503);
    server.reset();
    assert.deepEqual(server.counters, {
      logins: 0, loginFailures: 0, refreshRequests: 0, refreshes: 0, refreshFailures: 0, reuseDetections: 0,
      requests: {}, bearerRequests: {},
    });
    assert.equal((await get(server, "/v1/cidadao/me", accessToken)).status, 401);
    await login(server);
  });

  test("options are checked: a wrong or unknown one throws a TypeError naming it", () => {
    for (const [options, name] of [
      [{ origin: "https://api.test/v1" }, /origin/],
      [{ origin: "not a url" }, /origin/],
      [{ dialect: "s009" }, /s009/],
      [{ dialect: { refreshPth: "/x" } }, /refreshPth/],
      [{ dialect: { loginPath: "auth/login" } }, /loginPath/],
      [{ dialect: { loginPath: null } }, /loginPath/],
      [{ dialect: { accessTokenField: "" } }, /accessTokenField/],
      [{ now: 5 }, /now/],
      [{ dialect: { preset: "nope" } }, /nope/],
      [{ users: [] }, /users/],
      [{ accessTtlSeconds: 0 }, /accessTtlSeconds/],
      [{ routes: { "GET no-slash": () => new Response() } }, /no-slash/],
      [{ acessTtlSeconds: 5 }, /acessTtlSeconds/],
    ]) {
      assert.throws(() => createTokenServer(options), (e) => e instanceof TypeError && name.test(e.message), JSON.stringify(options));
    }
  });
});

describe("the seed dialects", () => {
  test("s000: {username, password} → {access_token, expires_in}; GET /auth/tokenRefresh with the bearer; {message} errors", async () => {
    const server = createTokenServer({ dialect: "s000" });
    assert.equal((await post(server, "/auth/login", { username: "integracao", password: "x" })).status, 401);
    assert.deepEqual(await (await post(server, "/auth/login", { username: "integracao" })).json(), { message: "Dados inválidos" });
    const res = await post(server, "/auth/login", { username: "integracao", password: "s3nh4-integr@cao" });
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["access_token", "expires_in"]);
    assert.equal(body.expires_in, 3600);
    assert.equal((await get(server, "/api/status", body.access_token)).status, 200);
    const renewed = await get(server, "/auth/tokenRefresh", body.access_token);
    assert.equal(renewed.status, 200);
    const next = await renewed.json();
    assert.deepEqual(Object.keys(next), ["access_token", "expires_in"]);
    assert.notEqual(next.access_token, body.access_token);
    assert.equal((await get(server, "/api/status", body.access_token)).status, 200, "the old bearer stays valid until it expires");
    assert.equal((await post(server, "/auth/tokenRefresh", {})).status, 405);
    server.expireAccessTokens();
    const expired = await get(server, "/api/status", next.access_token);
    assert.equal(expired.status, 401);
    assert.deepEqual(await expired.json(), { message: "Token expirado" });
    const refused = await get(server, "/auth/tokenRefresh", next.access_token);
    assert.equal(refused.status, 401, "an expired bearer cannot be renewed");
    assert.deepEqual(await refused.json(), { message: "Token expirado" });
    assert.deepEqual(await (await get(server, "/api/status")).json(), { message: "Token inválido" });
    server.failNextRefresh(503);
    assert.deepEqual(await (await get(server, "/auth/tokenRefresh")).json(), { message: "Serviço temporariamente indisponível" });
    const c = server.counters;
    assert.deepEqual([c.refreshRequests, c.refreshes, c.refreshFailures], [3, 1, 2]);
  });

  test("s001: {email, password} → {token} only (a JWT); no refresh endpoint; bare 401s", async () => {
    const server = createTokenServer({ dialect: "s001" });
    const wrong = await post(server, "/auth/login", { email: "user@exemplo.com", password: "x" });
    assert.equal(wrong.status, 401);
    assert.equal(await wrong.text(), "");
    const body = await (await post(server, "/auth/login", { email: "user@exemplo.com", password: "senha-nortus" })).json();
    assert.deepEqual(Object.keys(body), ["token"]);
    const claims = payload(body.token);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal((await get(server, "/api/clientes", body.token)).status, 200);
    server.expireAccessTokens();
    const expired = await get(server, "/api/clientes", body.token);
    assert.equal(expired.status, 401);
    assert.equal(await expired.text(), "");
    const noRefresh = await post(server, "/auth/refresh", {});
    assert.equal(noRefresh.status, 404);
    assert.equal(await noRefresh.text(), "");
    assert.throws(() => server.failNextRefresh(503), /no refresh endpoint/);
  });

  test("s002: nested {tokens: {accessToken, refreshToken}, user}; rotation with reuse detection; {message} errors", async () => {
    const server = createTokenServer({ dialect: "s002" });
    const login002 = () => post(server, "/auth/login", { email_user: "thiago@thc.com", password_user: "123455678" });
    const first = await (await login002()).json();
    assert.deepEqual(Object.keys(first), ["tokens", "user"]);
    assert.deepEqual(Object.keys(first.tokens), ["accessToken", "refreshToken"]);
    assert.deepEqual(first.user, { id: "user-1", email_user: "thiago@thc.com" });
    const claims = payload(first.tokens.accessToken);
    assert.equal(claims.exp - claims.iat, 7200);
    const second = await (await post(server, "/auth/refresh-token", { refreshToken: first.tokens.refreshToken })).json();
    assert.notEqual(second.tokens.refreshToken, first.tokens.refreshToken);
    assert.equal((await get(server, "/users/me", second.tokens.accessToken)).status, 200);
    const reuse = await post(server, "/auth/refresh-token", { refreshToken: first.tokens.refreshToken });
    assert.equal(reuse.status, 401);
    assert.deepEqual(await reuse.json(), { message: "Refresh token inválido" });
    assert.deepEqual(await (await get(server, "/users/me", second.tokens.accessToken)).json(), { message: "Token inválido" });
    const third = await (await login002()).json();
    server.expireAccessTokens();
    assert.deepEqual(await (await get(server, "/users/me", third.tokens.accessToken)).json(), { message: "Token expirado" });
    assert.equal(server.counters.reuseDetections, 1);
  });

  test("s003: POST /auth → {access_token, refresh_token}; refresh answers {access_token} only, the refresh token kept; {error, message}", async () => {
    const server = createTokenServer({ dialect: "s003" });
    const wrong = await post(server, "/auth", { email: "usuario@example.com", password: "x" });
    assert.equal(wrong.status, 401);
    assert.equal((await wrong.json()).error, "invalid_credentials");
    const body = await (await post(server, "/auth", { email: "usuario@example.com", password: "senha-coinpay" })).json();
    assert.deepEqual(Object.keys(body), ["access_token", "refresh_token"]);
    const claims = payload(body.access_token);
    assert.equal(claims.exp - claims.iat, 900);
    for (let i = 0; i < 2; i++) {
      const res = await post(server, "/auth/refresh", { refresh_token: body.refresh_token });
      assert.equal(res.status, 200, "not rotated: the same refresh token works again");
      assert.deepEqual(Object.keys(await res.json()), ["access_token"]);
    }
    server.expireAccessTokens();
    const expired = await get(server, "/dados-pessoais", body.access_token);
    assert.equal(expired.status, 401);
    assert.deepEqual(await expired.json(), { message: "Token expirado", error: "token_expired" });
    assert.equal((await (await get(server, "/dados-pessoais")).json()).error, "invalid_token");
    assert.equal((await (await post(server, "/auth/refresh", { refresh_token: "x" })).json()).error, "invalid_refresh_token");
    assert.equal((await (await get(server, "/nada")).json()).error, "not_found");
    assert.equal(server.counters.reuseDetections, 0);
  });

  test("a custom dialect starts from a preset and overrides what it names", async () => {
    const users = [{ usuario: "ana", senha: "1234", codigoOrgao: 7 }];
    const server = createTokenServer({
      origin: "http://localhost:8080",
      users,
      accessTtlSeconds: 300,
      dialect: {
        preset: "pgben",
        loginPath: "/api/login",
        refreshPath: "/api/renovar",
        refreshBodyField: "rt",
        accessTokenField: "auth.access",
        refreshTokenField: "auth.refresh",
        expiresInField: "ttl",
        issueJwt: false,
        expiredCode: "TOKEN_EXPIRED",
        mePath: "/api/eu",
      },
    });
    assert.equal(server.origin, "http://localhost:8080");
    assert.equal((await post(server, "/api/login", { ...users[0], codigoOrgao: 8 })).status, 400, "compared field by field");
    const res = await post(server, "/api/login", { ...users[0], lembrar: true });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.ttl, 300);
    assert.ok(!body.auth.access.includes("."), "not a JWT");
    assert.match(body.auth.access, /^[\w-]{43}$/);
    const me = await get(server, "/api/eu", body.auth.access);
    assert.deepEqual(await me.json(), { id: "user-1", usuario: "ana", codigoOrgao: 7 });
    server.expireAccessTokens();
    assert.equal((await (await get(server, "/api/eu", body.auth.access)).json()).errorCode, "TOKEN_EXPIRED");
    const renewed = await post(server, "/api/renovar", { rt: body.auth.refresh });
    assert.equal(renewed.status, 200);
    assert.ok((await renewed.json()).auth.refresh);
  });
});
