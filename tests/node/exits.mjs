// Run by runtime.test.mjs: logs in, calls, renews — with crossTab off (the Node default) and on —
// and never calls free(). The process must exit by itself: the renewal timer and the channel
// are unref'd.
import { createAuthClient } from "../../pkg/index.js";

const origin = process.argv[2];
const config = { baseUrl: origin, loginPath: "/v1/auth/login", refreshPath: "/v1/auth/refresh-token" };
const credentials = { email: "maria.oliveira@exemplo.com", senha: "S3nh4F0rt3!" };

const auth = await createAuthClient(config);
await auth.login(credentials);
const res = await auth.fetch(`${origin}/v1/cidadao/me`);
await auth.refresh();

const shared = await createAuthClient({ ...config, crossTab: true });
await shared.login(credentials);

console.log(`status ${res.status}, ${auth.refreshAt > Date.now() ? "renewed" : "not renewed"}, crossTab true too`);
