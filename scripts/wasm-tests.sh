#!/usr/bin/env bash
# The wasm-bindgen tests (`make wasm-tests`, part of `make test`): the core's unit tests (src/core,
# each `mod tests`) and the binding layer's (tests/bindings.rs), compiled for wasm32 and run by
# wasm-bindgen-test-runner — cargo's runner here, no wasm-pack — in headless Chromium, Firefox
# and WebKit, one engine after the other (ENGINES, as for the end-to-end suite).
#
# Per engine, exactly one driver variable is set (the runner takes the first it finds, and
# ~/.cargo/bin/geckodriver on PATH would win over the others): chromedriver and geckodriver with
# the capabilities of tests/webdriver/*.json (no network lookups: this machine's network is
# closed), WebKitGTK's WebKitWebDriver through the runner's Safari path, under Xvfb (it has no
# headless mode). A test binary the runner would run outside the browser — one without
# `wasm_bindgen_test_configure!(run_in_browser)` — is skipped by it (WASM_BINDGEN_TEST_ONLY_WEB)
# and counted here as a failure: every binary must say "Running headless tests in <browser>".
#
# Prints the runner's own summary lines; exits non-zero when an engine fails. Logs:
# target/wasm-tests/<engine>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"

ENGINES=(${ENGINES:-chromium firefox webkit})
RUNNER=$(command -v wasm-bindgen-test-runner) || { echo "wasm-bindgen-test-runner is missing: run scripts/setup.sh"; exit 2; }
LOGS=$ROOT/target/wasm-tests
mkdir -p "$LOGS"

# The runner must be the version wasm-bindgen is pinned to (Cargo.lock), or it refuses the wasm.
lock=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print}' Cargo.lock)
have=$("$RUNNER" --version | awk '{print $2}')
if [ "$lock" != "$have" ]; then
  echo "wasm-bindgen-test-runner $have, but Cargo.lock has wasm-bindgen $lock: run scripts/setup.sh"
  exit 2
fi

CLEAR=(-u GECKODRIVER -u SAFARIDRIVER -u CHROMEDRIVER -u MSEDGEDRIVER
  -u GECKODRIVER_REMOTE -u SAFARIDRIVER_REMOTE -u CHROMEDRIVER_REMOTE -u MSEDGEDRIVER_REMOTE
  -u GECKODRIVER_ARGS -u SAFARIDRIVER_ARGS -u CHROMEDRIVER_ARGS
  -u WASM_BINDGEN_TEST_WEBDRIVER_JSON -u NO_HEADLESS -u WASM_BINDGEN_TEST_ADDRESS)

failed=0
for engine in "${ENGINES[@]}"; do
  wrap=()
  case $engine in
    chromium)
      browser=Chrome
      driver=(CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/tests/webdriver/chromium.json") ;;
    firefox)
      browser=Firefox
      driver=(GECKODRIVER="$(command -v geckodriver)" WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/tests/webdriver/firefox.json") ;;
    webkit)
      # The runner's Safari path drives WebKitGTK's driver, which starts MiniBrowser.
      browser=Safari
      driver=(SAFARIDRIVER=/usr/bin/WebKitWebDriver)
      [ -n "${DISPLAY:-}" ] || wrap=(xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp") ;;
    *) echo "unknown engine $engine (chromium, firefox, webkit)"; failed=1; continue ;;
  esac
  echo "== wasm-bindgen tests in $engine"
  log=$LOGS/$engine.log
  env "${CLEAR[@]}" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$RUNNER" \
    WASM_BINDGEN_TEST_TIMEOUT=120 \
    WASM_BINDGEN_TEST_ONLY_WEB=1 \
    "${driver[@]}" \
    "${wrap[@]}" cargo test -p authfetch --target wasm32-unknown-unknown --lib --test bindings --no-fail-fast >"$log" 2>&1
  rc=$?
  binaries=$(grep -cE '^ +Running .*\.wasm\)$' "$log")
  in_browser=$(grep -c "^Running headless tests in $browser" "$log")
  grep -E '^ +Running .*\.wasm\)$|^test result:|^test .* FAILED$|^Error:|timed out|panicked' "$log"
  if [ "$rc" -ne 0 ]; then
    echo "the wasm-bindgen tests failed in $engine (log: ${log#"$ROOT"/}):"
    tail -n 40 "$log"
    failed=1
  elif [ "$binaries" -eq 0 ] || [ "$binaries" -ne "$in_browser" ]; then
    echo "only $in_browser of $binaries test binaries ran in $browser (a file without wasm_bindgen_test_configure!(run_in_browser)?)"
    failed=1
  fi
done
exit $failed
