#!/usr/bin/env bash
# `make bench`: measures authfetch side by side with its peers and writes BENCHMARKS.md.
#
#   bash scripts/bench.sh                 full run (what `make bench` runs, after `pkg` and `server`)
#   BENCH_QUICK=1 bash scripts/bench.sh   quick run while developing
#
#   BENCH_ONLY=size BENCH_QUICK=1 bash scripts/bench.sh   the size measure alone (no server, no browser)
#
# Steps: the npm packages of www/bench (a separate npm project: the peers and esbuild), the
# reference server as a release build (unless API_SERVER_BIN names one, or BENCH_ONLY names no
# browser measure), twiggy (cargo install; BENCH_NO_TWIGGY=1 skips it), the peer bundles
# (www/bench/build.mjs), then the measurements (www/bench/run.mjs, whose environment knobs are
# listed at its top). The size measure also builds the package before the rewrite, the stubbed
# conversions and the serde probes, in temporary directories, cached under target/bench-size/
# (www/bench/size-builds.mjs; BENCH_SIZE_BUILDS=0 skips them). Idempotent; needs only the package
# registries. Exits non-zero when a measurement failed; no figure is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/www/node_modules/.bin:$HOME/.cargo/bin:$PATH"

say() { printf '[bench] %s\n' "$*"; }

# The package under test: measured as it is, never rebuilt here (`make bench` builds it first).
for f in pkg/authfetch_bg.wasm pkg/index.js; do
  if [ ! -f "$f" ]; then
    say "$f is missing: build the package first (make pkg)"
    exit 1
  fi
done

# playwright-core comes from www/ (the e2e harness's own dependency).
if [ ! -d www/node_modules/playwright-core ]; then
  say "installing the npm packages of www/"
  (cd www && npm ci --no-audit --no-fund --loglevel=error)
fi

# The peers and esbuild: www/bench's own npm project.
if [ ! -d www/bench/node_modules ] || [ www/bench/package-lock.json -nt www/bench/node_modules/.package-lock.json ]; then
  say "installing the npm packages of www/bench/"
  (cd www/bench && npm ci --no-audit --no-fund --loglevel=error)
fi

# Whether a browser measure runs (BENCH_ONLY=size needs neither the server nor Chromium).
browser_measures=1
if [ -n "${BENCH_ONLY:-}" ] && [ -z "$(printf '%s' "$BENCH_ONLY" | tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -vx size || true)" ]; then
  browser_measures=0
fi

# The reference server: a release build, so that the server's own cost does not drown the
# client's. API_SERVER_BIN (honoured by the e2e harness) picks another binary.
if [ "$browser_measures" = 0 ]; then
  say "BENCH_ONLY=$BENCH_ONLY: no browser measure, so no reference server"
elif [ -z "${API_SERVER_BIN:-}" ]; then
  say "building the reference server (release)"
  cargo build --release -p api-server
  export API_SERVER_BIN="$ROOT/target/release/api-server"
fi
if [ "$browser_measures" = 1 ] && [ ! -x "$API_SERVER_BIN" ]; then
  say "API_SERVER_BIN=$API_SERVER_BIN is not an executable"
  exit 1
fi

# twiggy, for the table of what weighs most in the wasm. Not having it is reported, not fatal.
export TWIGGY="" TWIGGY_NOTE=""
if command -v twiggy >/dev/null 2>&1; then
  TWIGGY=$(command -v twiggy)
elif [ "${BENCH_NO_TWIGGY:-}" = 1 ]; then
  TWIGGY_NOTE="twiggy is not installed and BENCH_NO_TWIGGY=1 skipped installing it"
else
  say "installing twiggy (cargo install twiggy; a few minutes, once)"
  twiggy_log=$(mktemp)
  if cargo install twiggy >"$twiggy_log" 2>&1 && command -v twiggy >/dev/null 2>&1; then
    TWIGGY=$(command -v twiggy)
  else
    say "cargo install twiggy failed; the report says so. Last lines:"
    tail -n 5 "$twiggy_log" | sed 's/^/[bench]   /'
    TWIGGY_NOTE="cargo install twiggy failed ($(grep -m1 -E '^error' "$twiggy_log" | cut -c1-160 || true))"
  fi
  rm -f "$twiggy_log"
fi

say "bundling the peers (esbuild)"
node www/bench/build.mjs

if [ "${BENCH_QUICK:-}" = 1 ]; then say "measuring (quick run)"; else say "measuring (full run)"; fi
node www/bench/run.mjs
