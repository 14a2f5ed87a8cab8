#!/usr/bin/env bash
# Installs everything `make demo`, `make test` and `make bench` need, and nothing twice.
# Safe to run on a bare machine of this project's kind and on one that already has it all.
#
# On a bare machine the Debian packages (disk and network) download and unpack in the background
# while the npm packages install and the Rust tools build; the script waits for all and fails,
# with the step's log, when one fails. The Rust tools: wasm-bindgen-cli at the version the crate
# pins wasm-bindgen to (its `wasm-bindgen` generates the package's JavaScript side, its
# `wasm-bindgen-test-runner` runs the wasm-bindgen tests), and geckodriver for those tests in
# Firefox.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser engines the tests use (the Makefile's ENGINES); skips what a run does not need.
ENGINES="${ENGINES:-chromium firefox webkit}"

say() { printf '[setup] %s\n' "$*"; }

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
background=()

# Runs `$2…` in the background with its output in a log; `finish` waits for it.
start() {
  local name="$1"
  shift
  ("$@") >"$logs/$name.log" 2>&1 &
  background+=("$!:$name")
}

finish() {
  local entry failed=0
  for entry in "${background[@]}"; do
    if ! wait "${entry%%:*}"; then
      say "${entry#*:} failed:"
      tail -n 40 "$logs/${entry#*:}.log" >&2
      failed=1
    fi
  done
  [ "$failed" -eq 0 ] || exit 1
}

# Debian's browsers (TOOLCHAIN.md): Chromium (driven by playwright-core over CDP); Firefox ESR
# (puppeteer-core over WebDriver BiDi); WebKitGTK's WebDriver under Xvfb (selenium-webdriver).
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# chromedriver: the wasm-bindgen tests' driver in Chromium (the e2e suite needs none).
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
case " $ENGINES " in *" firefox "*) [ -x /usr/bin/firefox-esr ] || need_apt+=(firefox-esr) ;; esac
case " $ENGINES " in *" webkit "*)
  [ -x /usr/bin/WebKitWebDriver ] || need_apt+=(webkit2gtk-driver)
  command -v xvfb-run >/dev/null 2>&1 || need_apt+=(xvfb) ;;
esac
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "$@"
}
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]} (in the background)"
  start apt apt_install "${need_apt[@]}"
fi

if [ -f www/package.json ]; then
  if [ ! -d www/node_modules ] || [ www/package-lock.json -nt www/node_modules/.package-lock.json ]; then
    say "installing the npm packages of www/ (in the background)"
    start npm bash -c 'cd www && npm ci --no-audit --no-fund --loglevel=error'
  fi
fi

# wasm-bindgen-cli, pinned to the wasm-bindgen of Cargo.lock. Without --locked: its locked tree
# wants a webpki-roots the registry lacks (TOOLCHAIN.md). Built one after the other with
# geckodriver (2 cores).
WASM_BINDGEN=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print}' Cargo.lock)
rust_tools() {
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN" ]; then
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN" --force
  fi
  case " $ENGINES " in *" firefox "*)
    command -v geckodriver >/dev/null 2>&1 || cargo install geckodriver@0.37.1 --locked ;;
  esac
}
export PATH="$HOME/.cargo/bin:$PATH"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN" ] ||
  { case " $ENGINES " in *" firefox "*) ! command -v geckodriver >/dev/null 2>&1 ;; *) false ;; esac; }; then
  say "building wasm-bindgen-cli $WASM_BINDGEN and geckodriver (in the background, a few minutes once)"
  start rust-tools rust_tools
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

finish
say "toolchain ready"
