// The per-call protocol of measure-browser.mjs (measureCalls), run by the page itself, for a
// Chromium with no DevTools protocol attached — the browser as users run it. With the protocol's
// Network domain on (every playwright page), Chromium records the JavaScript stack of each
// request's initiator, which costs more the deeper the stack that calls `fetch`.
//
// ?plan={"names":[…],"calls":n,"concurrency":n,"rounds":n}&report=<url>: the page POSTs
// `{ variants: { name: { seq: [ms…], conc: [ms…] } } }` or `{ error }` to <url> when done.
const query = new URLSearchParams(location.search);
const plan = JSON.parse(query.get("plan"));
const widths = { seq: 1, conc: plan.concurrency };
let body;
try {
  while (!window.benchReady) await new Promise((resolve) => setTimeout(resolve, 10));
  await window.bench.setup(plan.names);
  const run = async (mode, n, names, shift) => {
    const r = await window.bench.interleaved(names, n, widths[mode], shift);
    if (r.error) throw new Error(`${mode} round of ${n} calls per variant: ${r.error}`);
    return r.ms;
  };
  // Warm-up (not counted), then the rounds in measureCalls' orders.
  for (const mode of Object.keys(widths)) await run(mode, Math.min(200, plan.calls), plan.names, 0);
  const variants = Object.fromEntries(plan.names.map((n) => [n, { seq: [], conc: [] }]));
  for (let round = 0; round < plan.rounds; round++) {
    const order = round % 2 === 0 ? plan.names : [...plan.names].reverse();
    for (const mode of Object.keys(widths)) {
      const ms = await run(mode, plan.calls, order, round);
      for (const name of plan.names) variants[name][mode].push(ms[name]);
    }
  }
  body = { variants };
} catch (e) {
  body = { error: String(e?.stack ?? e) };
}
// A simple cross-origin POST (text/plain, no-cors): no preflight, the answer is not read.
await fetch(query.get("report"), { method: "POST", mode: "no-cors", body: JSON.stringify(body) });
