// authfetch/testing through the package's exports map, under `strict`.
import { createAuthClient } from "authfetch";
import { createTokenServer } from "authfetch/testing";

const server = createTokenServer({ dialect: "s003", accessTtlSeconds: 900 });
const auth = await createAuthClient({
  baseUrl: server.origin,
  loginPath: "/auth",
  refreshPath: "/auth/refresh",
  refreshBodyField: "refresh_token",
  errorCodePath: "error",
  expiredErrorCodes: ["token_expired"],
  fetch: server.fetch,
});
await auth.login({ email: "usuario@example.com", password: "senha-coinpay" });
server.expireAccessTokens();
server.failNextRefresh(503, { retryAfter: 2 });
server.failNextLogin("drop");
const refreshes: number = server.counters.refreshes;
const perPath: number | undefined = server.counters.requests["/dados-pessoais"];
const answer: Response | undefined = await server.handle(new Request(`${server.origin}/dados-pessoais`));
console.info(refreshes, perPath, answer?.status);
server.revokeSessions();
server.reset();

// @ts-expect-error a dialect that does not exist
createTokenServer({ dialect: "s999" });
// @ts-expect-error a failure that does not exist
server.failNextRefresh("timeout");
