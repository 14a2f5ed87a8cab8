// Renders BENCHMARKS.md from the results of run.mjs. Every figure comes from this run; anything
// that could not be measured says so in its table.

const MINUS_WRAPPER_GOAL_MS = 0.05; // authfetch above the minimal JS wrapper, sequential, per call
const CONCURRENT_GOAL = 1.02; // authfetch / raw fetch at concurrency 32
const CONSTRUCT_GOAL_MS = 1;
const INIT_CONSTRUCT_GOAL_MS = 10;
const SIZE_TARGET_BYTES = 18_000; // wasm + JS, gzip
const SIZE_AIM_BYTES = 8 * 1024;
const FLAT_HEAP_BYTES_PER_10K = 16 * 1024;

const nf = new Intl.NumberFormat("en-US");
const int = (n) => (n === null || n === undefined ? "—" : nf.format(Math.round(n)));
const bytes = (n) => `${int(n)} (${(n / 1024).toFixed(1)} KiB)`;
const ms = (n, d = 1) => (n === null || n === undefined ? "—" : n.toFixed(d));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : "—");
const signed = (n, d = 1) => `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(d)}`;
const kib = (n) => `${signed(n / 1024)} KiB`;

function unmeasured(r) {
  if (!r) return "not measured";
  if (r.skipped) return "not measured in this run (BENCH_ONLY)";
  if (r.error) return `could not be measured: ${r.error}`;
  return null;
}

/** Least-squares slope of y over x, or null with fewer than two points. */
function slope(points, key) {
  if (points.length < 2) return null;
  const xs = points.map((p) => p.calls);
  const ys = points.map((p) => p[key]);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : null;
}

/** Growth figures of the memory run, per 10,000 calls. */
export function memoryGrowth(mem) {
  const pts = mem.points;
  const first = pts[0];
  const last = pts.at(-1);
  const per10k = 10_000 / mem.calls;
  // Steady state: from the first reading after calls were made (warm-up excluded).
  const steady = pts.length >= 3 ? pts.slice(1) : pts;
  return {
    overallHeap: (last.heapUsed - first.heapUsed) * per10k,
    overallPages: (last.wasmPages - first.wasmPages) * per10k,
    steadyFrom: steady[0].calls,
    steadyHeap: (slope(steady, "heapUsed") ?? 0) * 10_000,
    steadyPages: (slope(steady, "wasmPages") ?? 0) * 10_000,
    steadyPagesTotal: steady.at(-1).wasmPages - steady[0].wasmPages,
  };
}

function goalRow(goal, target, measured, met, margin) {
  const status = met === null ? "not measured" : met ? "met" : "not met";
  return `| ${goal} | ${target} | ${measured} | ${status} | ${margin} |`;
}

/**
 * A goal "figure ≤ bound" of the measure `r`: `figure(r)` is read only when `r` was measured;
 * `show` formats the figure and the margin, `measured` adds context to the figure.
 */
function atMostRow(goal, target, r, figure, bound, show, measured = show) {
  const why = unmeasured(r);
  if (why) return goalRow(goal, target, why, null, "—");
  const value = figure(r);
  const over = value - bound;
  return goalRow(goal, target, measured(value), over <= 0, `${show(Math.abs(over))} ${over <= 0 ? "under" : "over"} the bound`);
}

const perCall = (n) => `${(n * 1000).toFixed(1)} µs`;
const msText = (n, d = 2) => `${n.toFixed(d)} ms`;

/** The sequential per-call goal of a per-call measure `m` (`measureCalls`'s shape), run `how`. */
function sequentialRow(how, m) {
  return atMostRow(
    `Per-call overhead, sequential, ${how}`,
    `authfetch ≤ ${MINUS_WRAPPER_GOAL_MS} ms per call above the minimal JS wrapper`,
    m,
    (c) => c.variants.authfetch.seqMinusWrapper,
    MINUS_WRAPPER_GOAL_MS,
    (d) => msText(d, 3),
    (d) =>
      `${signed(d, 3)} ms per call (authfetch ${perCall(m.variants.authfetch.seqMedian / m.calls)}, ` +
      `wrapper ${perCall(m.variants.wrapper.seqMedian / m.calls)} per call)`,
  );
}

/** The concurrent per-call goal of a per-call measure `m`, run `how`. */
function concurrentRow(how, m) {
  return atMostRow(
    `Per-call time, concurrency ${m?.concurrency ?? 32}, ${how}`,
    `≤ ${CONCURRENT_GOAL.toFixed(2)} × raw fetch`,
    m,
    (c) => c.variants.authfetch.concRatio,
    CONCURRENT_GOAL,
    (r) => `${(r * 100).toFixed(1)} points`,
    (r) => `${r.toFixed(3)} × raw`,
  );
}

/** The construct and init + construct goals of a start measure `m` (`measureStart`'s shape), run `how`. */
function startRows(how, m) {
  return [
    ["Construct (`new AuthClient`)", CONSTRUCT_GOAL_MS, (st) => st.libs.authfetch.constructMs],
    ["Init + construct (`init()` + `new AuthClient`)", INIT_CONSTRUCT_GOAL_MS, (st) => st.libs.authfetch.initConstructMs],
  ].map(([goal, bound, figure]) =>
    atMostRow(`${goal}, ${how}`, `≤ ${bound} ms`, m, figure, bound, msText, (v) => `${msText(v)} (median of ${m.loads} page loads)`),
  );
}

function goalsTable({ results }) {
  const { calls, start, size } = results;
  const detached = results.callsDetached;
  const bytesText = (n) => `${int(n)} B`;
  const rows = [
    sequentialRow("under playwright (DevTools protocol attached)", calls),
    sequentialRow("no DevTools protocol attached (the browser as users run it)", detached),
    atMostRow(
      "Per-call overhead, CPU only (instant `fetch`)",
      `authfetch ≤ ${MINUS_WRAPPER_GOAL_MS} ms per call above the minimal JS wrapper`,
      calls,
      (c) => c.cpu.minusWrapper.authfetch / 1000,
      MINUS_WRAPPER_GOAL_MS,
      (d) => msText(d, 4),
      (d) =>
        `${signed(d, 4)} ms per call (authfetch ${calls.cpu.us.authfetch.toFixed(1)} µs, ` +
        `wrapper ${calls.cpu.us.wrapper.toFixed(1)} µs per call)`,
    ),
    concurrentRow("under playwright", calls),
    concurrentRow("no DevTools protocol attached", detached),
    ...startRows("under playwright", start),
    ...startRows("no DevTools protocol attached", results.startDetached),
    ...[
      ["Package size, target", SIZE_TARGET_BYTES],
      ["Package size, aim", SIZE_AIM_BYTES],
    ].map(([goal, bound]) =>
      atMostRow(
        goal,
        `wasm + JS ≤ ${int(bound)} B gzip`,
        size,
        (sz) => sz.total.gzip,
        bound,
        bytesText,
        (v) => `${int(v)} B gzip (${(v / bound).toFixed(2)} × the bound)`,
      ),
    ),
  ];

  const storm = results.storm;
  {
    const why = unmeasured(storm);
    if (why) rows.push(goalRow("Refresh storm", "exactly 1 refresh", why, null, "—"));
    else {
      const counts = storm.variants.authfetch.rounds.map((e) => e.refreshRequests);
      const met = counts.every((c) => c === 1);
      const worst = counts.reduce((a, c) => (Math.abs(c - 1) > Math.abs(a - 1) ? c : a), counts[0]);
      rows.push(
        goalRow(
          `Refresh storm (${int(storm.calls)} calls)`,
          "exactly 1 refresh",
          `${counts.join(", ")} refresh request(s) in ${counts.length} storm(s)`,
          met,
          met ? "exact" : `${signed(worst - 1, 0)} refresh(es) in the worst storm`,
        ),
      );
    }
  }

  const mem = results.memory;
  {
    const why = unmeasured(mem);
    if (why) rows.push(goalRow("Flat memory", "no growth", why, null, "—"));
    else {
      const g = memoryGrowth(mem);
      const met = g.steadyPagesTotal === 0 && g.steadyHeap <= FLAT_HEAP_BYTES_PER_10K;
      rows.push(
        goalRow(
          `Flat memory (${int(mem.calls)} calls)`,
          `per 10,000 calls after the first ${int(g.steadyFrom)}: wasm +0 pages, JS heap < ${FLAT_HEAP_BYTES_PER_10K / 1024} KiB`,
          `wasm ${signed(g.steadyPages, 2)} pages, JS heap ${kib(g.steadyHeap)} per 10,000 calls`,
          met,
          met
            ? `JS heap ${((FLAT_HEAP_BYTES_PER_10K - g.steadyHeap) / 1024).toFixed(1)} KiB under the bound`
            : [
                g.steadyPagesTotal ? `wasm grew ${g.steadyPagesTotal} page(s)` : null,
                g.steadyHeap > FLAT_HEAP_BYTES_PER_10K ? `JS heap ${((g.steadyHeap - FLAT_HEAP_BYTES_PER_10K) / 1024).toFixed(1)} KiB per 10,000 calls over the bound` : null,
              ]
                .filter(Boolean)
                .join("; "),
        ),
      );
    }
  }

  return [
    "| goal | target | measured | status | by how much |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** An item's name as table cell: code, `|` escaped, at most 100 characters. */
function itemName(name, max = 100) {
  const s = String(name).replace(/\|/g, "\\|").replace(/`/g, "'");
  return `\`${s.length > max ? `${s.slice(0, max - 3)}…` : s}\``;
}

/** The wasm built again with its names (measure-size.mjs, namedBuild): by owner, then its top items. */
function namedSection(named, pkgBase) {
  const out = ["### Where the wasm's bytes are, by owner", ""];
  if (!named || named.error) return [...out, `Not measured: ${named?.error ?? "no build with names"}.`, ""];
  const same =
    named.base === pkgBase ? "the same as `pkg/`'s" : `${int(Math.abs(named.base - pkgBase))} B ${named.base > pkgBase ? "more" : "less"} than \`pkg/\`'s ${int(pkgBase)} B`;
  out.push(
    "`pkg/`'s wasm has no name section (wasm-opt strips it), so the items above are numbered. To name them, the same wasm was built",
    `again with its names kept: rustc's output (\`target/wasm32-unknown-unknown/release/authfetch.wasm\`) through`,
    `${named.tools.wasmOpt || "wasm-opt"} twice, as \`scripts/pack.mjs\` runs it (\`-Oz\`,`,
    "then the renaming `-Oz`, both with `scripts/wasm-features.mjs`' features and assumptions), each pass with `-g`; then `twiggy top`",
    "of it, its custom sections (the names among them) left out.",
    `Its code + data: ${int(named.base)} B, ${same}. Each item counts in the first row, top to bottom, whose names it matches.`,
    "",
    "| owner | names matching | items | bytes | % of code + data | largest item (bytes) |",
    "| --- | --- | ---: | ---: | ---: | --- |",
  );
  for (const o of named.owners) {
    const largest = o.largest ? `${itemName(o.largest.name, 60)} (${int(o.largest.bytes)})` : "—";
    out.push(`| ${o.label} | ${o.match} | ${int(o.items)} | ${int(o.bytes)} | ${o.percent.toFixed(1)} | ${largest} |`);
  }
  out.push("", `Its ${named.rows.length} largest items:`, "", "| item | bytes | % of code + data |", "| --- | ---: | ---: |");
  for (const r of named.rows) out.push(`| ${itemName(r.name)} | ${int(r.bytes)} | ${r.percent.toFixed(2)} |`);
  out.push("", ...jobsSection(named));
  return out;
}

/** The same wasm by job (measure-size.mjs, twiggyJobs): what each job's exports alone reach, then what they share. */
function jobsSection(named) {
  if (!named.jobs) return [];
  const out = [
    "### Where the wasm's bytes are, by job",
    "",
    "The same build, `twiggy dominators`: each export's retained size (the code and data only it reaches; what two exports",
    "both reach counts below, as shared), summed by the job the JS edge calls the export for. A job's row is the least its",
    "removal would save. Code + data of the same build as above, in bytes.",
    "",
    "| job | exports | bytes only its exports reach | % of code + data |",
    "| --- | --- | ---: | ---: |",
  ];
  const pct = (b) => ((100 * b) / named.base).toFixed(1);
  for (const j of named.jobs) out.push(`| ${j.label} | ${j.exports.map((e) => `\`${e}\``).join(", ")} | ${int(j.bytes)} | ${pct(j.bytes)} |`);
  for (const r of named.shared) out.push(`| shared by several jobs: ${r.label} | — | ${int(r.bytes)} | ${pct(r.bytes)} |`);
  out.push(`| data segments (strings, messages, tables; the code reaches them by address) | — | ${int(named.unlinked)} | ${pct(named.unlinked)} |`, "");
  return out;
}

function sizeSection(size) {
  const out = ["## 1. Size", ""];
  const why = unmeasured(size);
  if (why) return [...out, `**${why[0].toUpperCase()}${why.slice(1)}.**`, ""].join("\n");
  out.push(
    "authfetch as `pkg/` ships it (`authfetch_bg.wasm` + `index.js`, the one module an app imports: the entry bundled with the browser edge; each compressed on its own, as a server would send them)",
    "next to each peer bundled by esbuild " +
      `${size.versions.esbuild} (minified ESM for the browser, the package's main entry re-exported whole: \`export * as lib from "pkg"\`).`,
    "gzip is zlib at level 9 (`gzip -9` without the file name header); brotli is Node's `brotliCompressSync` at quality 11.",
    "**Baseline: authfetch (wasm + JS), gzip.**",
    "",
    "| package | version | raw (B) | gzip -9 (B) | brotli 11 (B) | gzip ratio to authfetch |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
  );
  const base = size.total.gzip;
  const row = (name, version, s, r) => `| ${name} | ${version} | ${bytes(s.raw)} | ${bytes(s.gzip)} | ${bytes(s.brotli)} | ${r} |`;
  out.push(row("&nbsp;&nbsp;`authfetch_bg.wasm`", "", size.wasm, "—"));
  out.push(row("&nbsp;&nbsp;`index.js` (the entry and the browser edge, minified)", "", size.js, "—"));
  out.push(row("**authfetch (wasm + JS)**", "pkg/", size.total, "**1.00×**"));
  for (const p of [...size.peers].sort((a, b) => a.gzip - b.gzip)) {
    const version = p.packages.map((n) => size.versions[n]).join(" + ");
    out.push(row(p.label, version, p, ratio(p.gzip, base)));
  }
  out.push("");
  out.push("### What weighs most in the wasm (`twiggy top -n 15`)", "");
  const tw = size.twiggy;
  if (!tw || tw.error) {
    out.push(`Not measured: ${tw?.error ?? "twiggy was not run"}.`, "");
  } else {
    out.push(`${tw.version || "twiggy"} on \`pkg/authfetch_bg.wasm\` (shallow sizes).`, "");
    out.push("| item | bytes | % of file |", "| --- | ---: | ---: |");
    for (const r of tw.rows) out.push(`| ${itemName(r.name)} | ${int(r.bytes)} | ${r.percent.toFixed(2)} |`);
    out.push("");
    out.push(...namedSection(size.named, tw.base));
    out.push(...gapSection(size));
  }
  return out.join("\n");
}

/**
 * What stands between the package and the size target and aim: the JS files as measured, the
 * wasm split into the flat exports and the rest by owner, each share's gzip estimated at the
 * wasm's own gzip-to-raw ratio (gzip cannot be applied to a part of a module); then what the
 * wasm must lose next to its jobs (jobsSection).
 */
function gapSection(size) {
  const named = size.named;
  if (!named || named.error || !named.owners) return [];
  const js = size.js.gzip;
  const perByte = size.wasm.gzip / size.wasm.raw;
  const surfaceOwners = named.owners.filter((o) => o.surface);
  const surface = surfaceOwners.reduce((a, o) => a + o.bytes, 0);
  const core = named.owners.find((o) => o.label === "our sans-IO core")?.bytes ?? 0;
  const rest = named.base - surface - core;
  const wasmTarget = SIZE_TARGET_BYTES - js;
  const est = (raw) => int(raw * perByte);
  const total = size.total.gzip;
  const newBytes = named.rows.find((r) => r.name === "af_new")?.bytes ?? 0;
  // The code + data the wasm must lose to fit, next to the two largest jobs' own bytes.
  const cut = named.base - Math.max(0, wasmTarget) / perByte;
  const byBytes = named.jobs ? [...named.jobs].sort((a, b) => b.bytes - a.bytes) : undefined;
  const twoJobs = byBytes?.slice(0, 2);
  const twoSum = twoJobs?.reduce((a, j) => a + j.bytes, 0) ?? 0;
  const sharedCore = named.shared?.find((r) => r.core)?.bytes ?? 0;
  // Two bounds on the ways out that keep the JS as it is. A rewrite for size: every job's own
  // bytes and the core's shared rules, halved. Rules out of the wasm: the largest jobs, one at a
  // time, until their own bytes reach the cut (the shared rules they alone reach left aside);
  // `sums` holds their bytes added up one job at a time.
  const rules = (named.jobs ?? []).reduce((a, j) => a + j.bytes, sharedCore);
  const fewest = [];
  const sums = [];
  for (const j of byBytes ?? []) {
    if ((sums.at(-1) ?? 0) >= cut) break;
    fewest.push(j);
    sums.push((sums.at(-1) ?? 0) + j.bytes);
  }
  return [
    "### What stands between the package and 18 KB, and 8 KB",
    "",
    `The JS (\`index.js\`: the entry and the edge) weighs ${int(js)} B gzip, so the target leaves the wasm ${int(wasmTarget)} B gzip: at this wasm's`,
    `ratio of ${perByte.toFixed(3)} gzip bytes per byte, about ${int(Math.max(0, wasmTarget) / perByte)} B of code + data. The wasm's ${int(named.base)} B split by the owners above:`,
    "",
    "| share | owners | code + data (B) | gzip, estimated at the wasm's ratio (B) |",
    "| --- | --- | ---: | ---: |",
    `| the flat surface | ${surfaceOwners.map((o) => o.label).join("; ")} | ${int(surface)} | ${est(surface)} |`,
    `| the core's rules and state machines | our sans-IO core | ${int(core)} | ${est(core)} |`,
    `| what any Rust wasm carries | the other rows (drop glue, allocator, strings and messages, formatting, module structure, the rest) | ${int(rest)} | ${est(rest)} |`,
    "",
    `- **18,000 B (target).** ${int(total)} B now: ${int(total - SIZE_TARGET_BYTES)} B over. The wasm alone, ${int(size.wasm.gzip)} B gzip, is ${size.wasm.gzip > SIZE_TARGET_BYTES ? "over the target with no JS at all" : "under the target only without the JS"}.`,
    "  The JS edge already holds every browser call; what is left is the core's rules, and no one item of it: the",
    `  largest, the constructor \`af_new\` (${int(newBytes)} B, the configuration's checks), is ${((100 * newBytes) / named.base).toFixed(0)} % of it. wasm-opt inlines the core's`,
    "  functions that one export alone calls into that export (`Config::parse` into `af_new`, `Client::answered` into",
    "  `af_answered`), so the owner rows do not separate the surface from the rules; the job rows above do.",
    ...(twoJobs?.length === 2
      ? [
          `- **By job.** To fit, the wasm must lose about ${int(cut)} B of its ${int(named.base)} B of code + data: ${cut > twoSum ? "more" : "less"} than the two largest`,
          `  jobs' own bytes together (${twoJobs.map((j) => `${j.label.replace(/ \(.*/, "")}, ${int(j.bytes)} B`).join("; ")}, ${int(twoSum)} B in all).`,
          `  The core's rules that several jobs share (${int(sharedCore)} B) are the largest row: the bytes are spread across the`,
          "  jobs, not held by one of them.",
          ...(cut > 0
            ? [
              `- **Halving the rules is not enough.** Every job's own bytes and the core's shared rules hold ${int(rules)} B of code + data;`,
              `  written again with half the code, they would save ${int(rules / 2)} B, ${rules / 2 >= cut ? "enough" : `${int(cut - rules / 2)} B short of the ${int(cut)} B`} to lose.`,
              `  Moving rules out of the wasm instead: the largest jobs' own bytes add up to ${sums.map(int).join("; ")} B, so the cut takes the`,
              `  ${fewest.length > 1 ? `${fewest.length - 1} or ${fewest.length}` : "one"} largest of the ${named.jobs.length} (the shared rules only they reach would go too, which the table cannot split): ${fewest.map((j) => j.label.replace(/ \(.*/, "")).join("; ")};`,
              "  and that before the JavaScript that would do their work.",
              "  With the JS as it is, the target holds only if the wasm keeps less than half of its rules' code, or hands its largest",
              "  jobs to JavaScript, which the issue forbids (every decision stays in Rust).",
              ]
            : []),
        ]
      : []),
    "- **Cuts made and tried.** The cuts made so far are listed in CHANGELOG.md (the edge out of the wasm; one table-driven",
    "  configuration reader; configuration errors built in one place; byte loops instead of `str::split` and Unicode trims;",
    "  no second UTF-8 check of what `TextEncoder` wrote; strings the core only looks at read in place; the entry and the",
    "  edge in one JS module). Measured and not kept: generic code is not the cost (`twiggy monos`: 503 B of duplicated",
    "  instances in all); LLVM's inliner set lower or higher only grows the wasm; `Origin::parse` and its helpers weigh at",
    "  most 1,417 B (about 700 B gzip, measured by a stub). Owned strings are not the cost either: the configuration's",
    "  strings read in place (borrowed from the input buffer, each copied once into the checked configuration, instead of",
    "  owned and moved) made the wasm 8 B larger. A moved `String` costs no more code than a borrowed one; what a rule costs",
    "  is its code. The configuration's checks (`Config::check` and the helpers only it calls) weigh 4,820 B, 2,202 B gzip",
    "  (measured by a stub): the largest job's rules are about a quarter of the gap.",
    "- **The next step** is therefore not a trim but a decision between the issue's own terms: the target set for the",
    "  package as it is (the budget file already fails any growth), or the largest jobs' decisions moved out of the wasm, against",
    "  \"every decision stays in Rust\". A rewrite for size is the third way only if it removes more than half of the",
    "  rules' code: no trim of the rules so far (listed above) has come near.",
    `- **8,192 B (aim).** The core's own share (${est(core)} B estimated) is over it alone with the JS files: reaching it needs the core`,
    "  itself about halved (its rules, strings and state machines), or no wasm at all — keycloak-js, at 8.3 KB, is plain JS.",
    "",
  ];
}

const VARIANT_LABELS = {
  raw: "raw `fetch` + hand-set bearer",
  wrapper: "minimal JS wrapper (`new Headers` + bearer, then `fetch`)",
  authfetch: "authfetch `auth.fetch`",
  axios: "axios + axios-auth-refresh",
  ky: "ky + `beforeRequest` hook",
};

function callsSection(calls, detached) {
  const out = ["## 2. Per-call overhead", ""];
  const why = unmeasured(calls);
  if (why) return [...out, `**${why[0].toUpperCase()}${why.slice(1)}.**`, ""].join("\n");
  const c = calls.concurrency;
  out.push(
    `${int(calls.calls)} GETs of \`/v1/cidadao/me\` per variant and mode, in headless Chromium against the reference server on`,
    "loopback (access token TTL 3600 s: no refresh during the run); every variant checks the status and reads and parses the",
    "JSON body. The *minimal JS wrapper* is the floor of any fetch wrapper: it copies the headers into `new Headers`, sets the",
    "bearer and calls `fetch` (`wrapper` in `www/bench/bench-page.js`); *minus wrapper* is what a variant costs above it.",
    "",
    "The variants are interleaved call by call, so that a change in the machine's load falls on all of them alike. Turn *i*",
    "gives every variant its *i*-th part in an order that rotates by one from turn to turn (odd rounds start from the reversed",
    "order); `performance.now()` is read around each part, and a variant's time is the sum of its parts.",
    "*Sequential*: a part is one call, nothing else in flight.",
    `*Concurrency ${c}*: a part is a wave of ${c} concurrent calls of one variant, awaited whole before the next variant's wave, so that`,
    "only that variant's calls are in flight and its time holds only its own work. (Timing each call of one mixed pipeline",
    "instead would charge a variant's work to the calls of the other variants in flight beside it, and blur the differences.)",
    `Each wave starts its ${c} calls at once, which queue on Chromium's 6 connections per host, and ends with the slowest.`,
    "The page is not cross-origin isolated, so `performance.now()` moves in 0.1 ms steps with a random threshold in each step:",
    "one part's time is ±0.1 ms, the sum of a variant's parts is unbiased.",
    "",
    `${calls.rounds} rounds after an uncounted warm-up. Per call is the median over the rounds of the variant's time divided by`,
    `the calls (at concurrency ${c}: a wave's time shared by its calls, not a call's latency); the ratio to raw and *minus wrapper*`,
    "are the medians over the rounds of each round's own ratio and difference (paired by round: same turns, same load).",
    `**Baseline: raw \`fetch\`.** Refresh requests the server saw during the run: ${calls.refreshRequests}.`,
    "",
    `| variant | sequential: per call (µs) | ratio to raw | minus wrapper (ms per call) | concurrency ${c}: per call (µs) | ratio to raw | minus wrapper (ms per call) |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const modeCells = (v, mode, n = calls.calls) =>
    `${ms((v[`${mode}Median`] * 1000) / n)} | ${v[`${mode}Ratio`].toFixed(3)}× | ${signed(v[`${mode}MinusWrapper`], 3)}`;
  for (const [name, v] of Object.entries(calls.variants)) {
    out.push(`| ${VARIANT_LABELS[name]} | ${modeCells(v, "seq")} | ${modeCells(v, "conc")} |`);
  }
  out.push("", `Every round (ms for all ${int(calls.calls)} calls), sequential / concurrency ${c}:`, "");
  out.push("| variant | " + calls.variants.raw.seq.map((_, i) => `round ${i + 1}`).join(" | ") + " |");
  out.push("| --- |" + calls.variants.raw.seq.map(() => " ---: |").join(""));
  for (const [name, v] of Object.entries(calls.variants)) {
    out.push(`| ${VARIANT_LABELS[name]} | ` + v.seq.map((s, i) => `${ms(s, 0)} / ${ms(v.conc[i], 0)}`).join(" | ") + " |");
  }
  out.push("");
  out.push(...detachedSection(calls, detached, modeCells));
  const cpu = calls.cpu;
  out.push(
    "### Without the network: what each adds in CPU",
    "",
    `The same GET through an instant \`fetch\` stub (a resolved promise of a small \`Response\`, no network, no body read), so that`,
    "only the library's own work is timed: the minimal wrapper, authfetch (its client made while the page's `fetch` was the stub,",
    `which it captures, and logged in through it), and the stub called directly. ${int(cpu.calls)} calls per variant and round, in`,
    `blocks of 100 interleaved with rotating order; ${cpu.rounds} rounds after an uncounted warm-up; medians over the rounds.`,
    "",
    "| variant | per call (µs) | minus wrapper (µs) |",
    "| --- | ---: | ---: |",
  );
  const cpuLabels = { stub: "the stub alone", wrapper: VARIANT_LABELS.wrapper, authfetch: VARIANT_LABELS.authfetch };
  for (const [name, us] of Object.entries(cpu.us)) {
    out.push(`| ${cpuLabels[name] ?? name} | ${us.toFixed(1)} | ${signed(cpu.minusWrapper[name], 1)} |`);
  }
  out.push("");
  return out.join("\n");
}

/** The same measure in a Chromium no driver is attached to (measureCallsDetached). */
function detachedSection(calls, detached, modeCells) {
  const out = ["### The browser as users run it: no DevTools protocol attached", ""];
  const why = unmeasured(detached);
  if (why) return [...out, `Not measured: ${why}.`, ""];
  const c = detached.concurrency;
  out.push(
    "playwright drives Chromium over the DevTools protocol with its Network domain on, and Chromium then records the JavaScript",
    "stack of every request's initiator when `fetch` is called: the deeper the stack under `fetch`, the more it costs. authfetch",
    "calls `fetch` from under its own frames (the edge's `fetch`, its snapshot and its send), a few deeper than a JS wrapper, so the table",
    "above charges it for the recording too. Here the same variants, calls, rounds and orders run in a Chromium started as a",
    "plain process with the same flags and no driver attached (`bench/calls-detached.html`: the page runs the rounds itself and",
    "POSTs its figures back); no user's browser records initiator stacks unless its DevTools are open.",
    "",
    `| variant | sequential: per call (µs) | ratio to raw | minus wrapper (ms per call) | concurrency ${c}: per call (µs) | ratio to raw | minus wrapper (ms per call) |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const [name, v] of Object.entries(detached.variants)) {
    out.push(`| ${VARIANT_LABELS[name]} | ${modeCells(v, "seq", detached.calls)} | ${modeCells(v, "conc", detached.calls)} |`);
  }
  out.push("");
  return out;
}

function stormSection(storm) {
  const out = ["## 3. Refresh storm", ""];
  const why = unmeasured(storm);
  if (why) return [...out, `**${why[0].toUpperCase()}${why.slice(1)}.**`, ""].join("\n");
  out.push(
    `${int(storm.calls)} concurrent calls of \`/v1/cidadao/me\` fired at once after \`POST /__control/expire-access\` made the held`,
    "access token answer 401 `AUTH_006`. Refresh requests are the server's `refreshRequests` counter (every call of the refresh",
    `endpoint); the time runs from firing the calls until all of them settled. ${storm.rounds} storm(s) per library, each in a fresh page`,
    "after a fresh login. axios-auth-refresh is configured as its README advises (`createAuthRefreshInterceptor` on an axios",
    "instance with a refresh function POSTing the refresh token, and a request interceptor adding the current bearer).",
    "Three references frame the time: the same calls through raw `fetch` with a valid token (1,000 answers 200); with the",
    "expired token (1,000 answers 401, each read, nothing else); and the storm handled by the rule hand-written in plain JS",
    "(one refresh in flight, each call retried once: `handWritten` in `www/bench/bench-page.js`), the floor for this job in",
    "this browser. The retries queue behind the stale calls on Chromium's 6 connections per host, which slows both waves.",
    "**Baseline: authfetch.**",
    "",
    "| library | refresh requests per storm | successful refreshes | calls that succeeded | time until all complete, median (ms) | ratio to authfetch |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  );
  const base = storm.variants.authfetch?.msMedian;
  const labels = {
    authfetch: "authfetch",
    axios: "axios + axios-auth-refresh",
    raw: "*reference, not a storm: raw `fetch`, valid token*",
    rawExpired: "*reference, not a storm: raw `fetch`, expired token, 401s read, no refresh or retry*",
    handWritten: "*reference: the same storm, single flight + one retry hand-written in plain JS*",
  };
  for (const name of ["authfetch", "axios", "handWritten", "raw", "rawExpired"]) {
    const v = storm.variants[name];
    if (!v) continue;
    const list = v.rounds;
    const okText = list
      .map((e) => `${int(e.ok)}/${int(storm.calls)}${name === "rawExpired" ? " answered 401" : ""}`)
      .join(", ");
    out.push(
      `| ${labels[name]} | ${list.map((e) => e.refreshRequests).join(", ")} | ${list.map((e) => e.refreshes).join(", ")} | ${okText} | ${ms(v.msMedian, 0)} | ${ratio(v.msMedian, base)} |`,
    );
  }
  const notes = [];
  for (const [name, v] of Object.entries(storm.variants)) {
    const failed = v.rounds.find((e) => e.failed > 0);
    if (failed) notes.push(`- ${labels[name]}: ${failed.failed} call(s) failed in a storm; the first error: \`${String(failed.firstError).split("\n")[0].slice(0, 200)}\``);
    const reuse = v.rounds.reduce((a, e) => a + (e.reuseDetections ?? 0), 0);
    if (reuse) notes.push(`- ${labels[name]}: the server detected ${reuse} reuse(s) of a refresh token.`);
  }
  if (notes.length) out.push("", ...notes);
  out.push("");
  return out.join("\n");
}

function memorySection(mem) {
  const out = ["## 4. Memory", ""];
  const why = unmeasured(mem);
  if (why) return [...out, `**${why[0].toUpperCase()}${why.slice(1)}.**`, ""].join("\n");
  const g = memoryGrowth(mem);
  out.push(
    `${int(mem.calls)} \`auth.fetch\` calls (${mem.concurrency} at a time, in batches of ${int(mem.every)}), one client, in Chromium started with`,
    "`--js-flags=--expose-gc --enable-precise-memory-info`; before each reading `gc()` runs twice (50 ms apart, so that finalizers",
    "run). Wasm memory is `memory.buffer.byteLength / 65536` of the package's instance (the page catches it on its way out of",
    "`WebAssembly.instantiateStreaming`: the package does not expose it); the JS heap is CDP",
    "`Runtime.getHeapUsage().usedSize` (and `performance.memory.usedJSHeapSize` beside it). **Baseline: the reading before the calls.**",
    "",
    "| after calls | wasm pages | wasm memory (KiB) | JS heap used, CDP (KiB) | change from before (KiB) | `usedJSHeapSize` (KiB) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const first = mem.points[0];
  for (const p of mem.points) {
    out.push(
      `| ${int(p.calls)} | ${p.wasmPages} | ${int(p.wasmPages * 64)} | ${int(p.heapUsed / 1024)} | ${kib(p.heapUsed - first.heapUsed)} | ${p.perfHeapUsed === null ? "—" : int(p.perfHeapUsed / 1024)} |`,
    );
  }
  out.push(
    "",
    "| growth per 10,000 calls | wasm pages | JS heap |",
    "| --- | ---: | ---: |",
    `| overall (before → after) | ${signed(g.overallPages, 2)} | ${kib(g.overallHeap)} |`,
    `| steady state (least-squares slope from ${int(g.steadyFrom)} calls on) | ${signed(g.steadyPages, 2)} | ${kib(g.steadyHeap)} |`,
    "",
    `Refresh requests during the run: ${mem.refreshRequests}.`,
    "",
  );
  return out.join("\n");
}

const START_LABELS = {
  authfetch: "authfetch (`init()` + `new AuthClient`)",
  axios: "axios + axios-auth-refresh (`axios.create` + interceptors)",
  ky: "ky (`ky.create` with a hook)",
  keycloak: "keycloak-js (`new Keycloak`)",
  oidc: "oidc-client-ts (`new UserManager`)",
  auth0: "@auth0/auth0-spa-js (`new Auth0Client`)",
};

/** The start table of a start measure `m` (`measureStart`'s shape). */
function startTable(m) {
  const out = [
    "| library | import (ms) | init (ms) | construct (ms) | init + construct (ms) | import + init + construct (ms) | ratio to authfetch | login + GET (ms) | first authenticated response at (ms) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const base = m.libs.authfetch?.importInitConstructMs;
  for (const [name, s] of Object.entries(m.libs)) {
    out.push(
      `| ${START_LABELS[name]} | ${ms(s.importMs)} | ${ms(s.initMs)} | ${ms(s.constructMs)} | ${ms(s.initConstructMs)} | ${ms(s.importInitConstructMs)} | ${ratio(s.importInitConstructMs, base)} | ${s.firstCallMs === null ? "no network (construction only)" : ms(s.firstCallMs)} | ${ms(s.firstCallAt)} |`,
    );
  }
  const a = m.libs.authfetch;
  if (a && typeof a.wasmFetchMs === "number") {
    const [q1, q3] = a.initConstructQuartiles ?? [null, null];
    out.push(
      "",
      `Where authfetch's init goes: the wasm's own fetch (Resource Timing, request start to last byte) took ${ms(a.wasmFetchMs)} ms (median), and`,
      `init ended ${ms(a.afterFetchMs)} ms after its last byte (compiling what did not overlap the download, instantiating). Init + construct`,
      `spreads from load to load on this 2-core machine: ${ms(q1)} ms at the first quartile, ${ms(q3)} ms at the third.`,
    );
  }
  return out;
}

function startSection(start, detached) {
  const out = ["## 5. Start", ""];
  const why = unmeasured(start);
  const whyDetached = unmeasured(detached);
  if (why && whyDetached) return [...out, `**${why[0].toUpperCase()}${why.slice(1)}.**`, ""].join("\n");
  out.push(
    `Median over ${(why ? detached : start).loads} page loads per library, each in a fresh browser context, one library per page, the order rotating`,
    "between loads; `performance.now()` around each step (Chromium rounds it to 0.1 ms on a page that is not cross-origin",
    "isolated). *Import* is the dynamic `import()` of the module (fetch + parse + evaluate); *init* is authfetch's `init()` (fetch,",
    "compile and instantiate the wasm); *construct* is the client's construction (no network for keycloak-js, oidc-client-ts and",
    "auth0). *Login + GET* is a login and one authenticated GET of `/v1/cidadao/me`; *first authenticated response* is when that",
    "GET's body was read, in ms since navigation start. **Baseline: authfetch.**",
    "",
    ...(why ? [`**Under playwright: ${why}.**`] : startTable(start)),
    "",
    "### The browser as users run it: no DevTools protocol attached",
    "",
  );
  if (whyDetached) {
    out.push(`**${whyDetached[0].toUpperCase()}${whyDetached.slice(1)}.**`, "");
  } else {
    out.push(
      `The same protocol (${detached.loads} page loads per library) in a Chromium started as a plain process, one per page load with a`,
      "fresh profile, the page POSTing its figures: no driver shares the page's main thread while it starts. Under playwright the",
      "protocol's own work at navigation lands in import or in init, whichever is running (one is slow when the other is fast).",
      "",
      ...startTable(detached),
      "",
    );
  }
  const a = why ? undefined : start.libs.authfetch;
  if (a && typeof a.secondConstructMs === "number") {
    out.push(
      `Where authfetch's construct goes: a second client made right after the first, in the same page, took ${ms(a.secondConstructMs)} ms`,
      `(median), against ${ms(a.constructMs)} ms for the first. The difference is the engine's first run of the constructor: V8 compiles a`,
      "wasm function when it is first called (lazy compilation). The package's JavaScript is compiled while it loads (its one",
      "module, `index.js`, starts with V8's compile hint, `//# allFunctionsCalledOnLoad`; see `scripts/pack.mjs`). The constructor reaches the",
      "configuration reader, the core's construction, the listeners and the channel. `BroadcastChannel`'s own construction is part",
      "of both figures.",
    );
    const e = whyDetached ? null : detached.eager;
    const d = whyDetached ? null : detached.libs.authfetch;
    if (e && d) {
      const saved = d.constructMs - e.constructMs;
      const cost = e.initMs - d.initMs;
      out.push(
        "",
        `Measured: in the detached Chromium told to compile every wasm function before the module runs`,
        `(\`--js-flags=--no-wasm-lazy-compilation\`, ${detached.loads} more page loads), construct took ${ms(e.constructMs)} ms against ${ms(d.constructMs)} ms, and init`,
        `${ms(e.initMs)} ms against ${ms(d.initMs)} ms (${ms(e.afterFetchMs)} ms after the wasm's last byte against ${ms(d.afterFetchMs)} ms): lazy compilation of`,
        `the wasm code the first construct reaches accounts for ${ms(saved)} ms of it (${((saved / d.constructMs) * 100).toFixed(0)} %), and compiling the whole module up front`,
        `costs init ${ms(cost)} ms. The first construct shrinks with the wasm code it reaches (§1), not with anything it waits for.`,
      );
    }
  }
  out.push("");
  return out.join("\n");
}

export function renderReport({ machine, config, results }) {
  const mode = config.quick ? "**quick run** (`BENCH_QUICK=1`: fewer calls, rounds and page loads — indicative only)" : "full run";
  return [
    "# Benchmarks",
    "",
    "authfetch measured side by side with the libraries a web app would otherwise use for the same job: size, the cost it adds",
    "to every call, what happens when a thousand calls meet an expired token, whether memory stays flat, and how long it takes",
    "to start. This file is generated — `make bench` overwrites it; the figures are measurements of one run on the machine",
    "below, not assertions, and nothing fails when a goal is not met.",
    "",
    "```sh",
    "make bench                  # full run (well under 15 minutes on 2 cores)",
    "BENCH_QUICK=1 make bench    # quick run while developing",
    "```",
    "",
    `This is a ${mode}. Sources: \`scripts/bench.sh\` and \`www/bench/\`.`,
    "",
    "## Machine",
    "",
    "| | |",
    "| --- | --- |",
    `| CPUs (nproc) | ${machine.nproc} |`,
    `| CPU | ${machine.cpu} |`,
    `| memory | ${machine.memory} |`,
    `| OS | ${machine.os} |`,
    `| Chromium | ${machine.chromium ?? "—"} (headless) |`,
    `| Node | ${machine.node} |`,
    `| date | ${machine.date} |`,
    `| commit | ${machine.commit} |`,
    `| package measured | \`pkg/authfetch_bg.wasm\` sha256 \`${machine.pkgSha ?? "—"}\`, built ${machine.pkgBuilt ?? "—"} |`,
    `| reference server | \`${machine.serverBin}\`, loopback (127.0.0.1) |`,
    `| run time | ${machine.durationS} s |`,
    `| load average (1 min) at start / end | ${machine.loadStart.toFixed(2)} / ${machine.loadEnd.toFixed(2)} (at start: other work already sharing the CPUs; at end: includes this run) |`,
    "",
    "## Goals",
    "",
    goalsTable({ results }),
    "",
    sizeSection(results.size),
    callsSection(results.calls, results.callsDetached),
    stormSection(results.storm),
    memorySection(results.memory),
    startSection(results.start, results.startDetached),
  ].join("\n");
}
