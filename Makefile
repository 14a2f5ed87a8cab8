# authfetch — the two commands: `make demo` and `make test` (plus `make bench`).
# Each target installs what it needs first (scripts/setup.sh, idempotent).

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# wasm-opt from npm binaryen (Debian's is too old for rustc's wasm features), cargo's tools.
export PATH := $(CURDIR)/www/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# The browser engines the end-to-end suite runs in (`make test ENGINES=chromium` for a quick
# local run).
export ENGINES ?= chromium firefox webkit

.PHONY: setup pkg pack server demo test lint unit wasm-tests e2e size types node soak bench clean

setup:
	@bash scripts/setup.sh

## pkg/: the npm package, size-optimized: rustc's wasm (the core and the binding layer, feature
## `npm`), wasm-bindgen's generated bindings of it (target/bindings: the wasm and its JS glue),
## then scripts/pack.mjs (wasm-opt; js/index.js, the entry, bundled with js/authfetch.js, the
## browser edge, and the glue into one minified pkg/index.js; the types, package.json).
pkg: setup
	cargo build --release --lib --target wasm32-unknown-unknown --features npm
	rm -rf target/bindings pkg
	wasm-bindgen --target web --no-typescript --out-dir target/bindings --out-name authfetch \
		target/wasm32-unknown-unknown/release/authfetch.wasm
	mkdir pkg
	node scripts/pack.mjs

## The npm tarball of pkg/: authfetch-<version>.tgz at the repository root (what the README
## installs).
pack: pkg
	rm -f authfetch-*.tgz
	cd pkg && npm pack --pack-destination .. --loglevel=warn

## The reference API server (tests/api-server).
server: setup
	cargo build -p api-server

## The demo against the reference server: a headless walkthrough, then the URL for a person.
## DEMO_EXIT=1 exits after the walkthrough.
demo: pkg server
	node www/walkthrough.mjs

## Every test: formatting and lints, the core and server (cargo test, with and without the
## `serde` feature), the core's and the bindings' wasm-bindgen tests in each engine of ENGINES,
## the size budget of pkg/ (size-budget.json), the typed-usage test of the packed tarball, the
## Node.js suite, the end-to-end suite (each engine of ENGINES against the server; the browser
## edge's own tests among it, www/e2e/edge.test.mjs).
test: setup lint unit wasm-tests size types node e2e

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p authfetch --all-targets --features serde -- -D warnings
	cargo clippy -p authfetch --target wasm32-unknown-unknown --lib --features npm -- -D warnings
	cargo clippy -p authfetch --target wasm32-unknown-unknown --lib --tests -- -D warnings

unit: setup
	cargo test --workspace
	cargo test -p authfetch --features serde --lib

## The core's unit tests and the binding layer's (tests/bindings.rs) compiled to wasm and run
## by wasm-bindgen-test-runner in headless Chromium, Firefox and WebKit (scripts/wasm-tests.sh).
wasm-tests: setup
	bash scripts/wasm-tests.sh

## pkg/ as shipped (wasm + JS, gzip -9) within the budget of size-budget.json.
size: pkg
	node --test --test-reporter=tap tests/size/

## The tarball in a strict TypeScript app: the README's examples compile, the types match the
## runtime (tests/types).
types: pack
	bash tests/types/run.sh

## authfetch in Node.js against the reference server, and the testing kit (tests/node).
node: pkg server
	node --test --test-reporter=tap tests/node/

## The end-to-end suite in every engine of ENGINES (www/e2e/engines.mjs), one engine after the
## other: run at once on two cores, their timing-sensitive scenarios (tabs whose clocks must
## move together) grow flaky.
e2e: pack server
	@for engine in $(ENGINES); do \
	  echo "== end-to-end suite in $$engine"; \
	  (cd www && ENGINE=$$engine npm run e2e) || exit 1; \
	done

## Longer runs than `make test`: the core's property tests (tests/properties.rs) with 200,000
## random cases each (SOAK_CASES to change it), then the browser soak (www/e2e/soak.test.mjs)
## with 10,000 refresh cycles (SOAK_CYCLES; SOAK_SEED replays a plan). Figures go to
## target/soak/browser.json.
soak: pkg server
	PROPTEST_CASES=$${SOAK_CASES:-200000} cargo test --release --test properties
	mkdir -p target/soak
	cd www && SOAK_CYCLES=$${SOAK_CYCLES:-10000} SOAK_REPORT=$(CURDIR)/target/soak/browser.json \
		node --test --test-reporter=tap e2e/soak.test.mjs

## Benchmarks side by side with the peers; writes BENCHMARKS.md (BENCH_QUICK=1: a short run).
## Measurement only: no figure is asserted.
bench: pkg
	bash scripts/bench.sh

clean:
	rm -rf pkg target
