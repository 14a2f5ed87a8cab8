#!/usr/bin/env bash
# Installs everything `make demo`, `make test` and `make bench` need, and nothing twice.
# Safe to run on a bare machine of this project's kind and on one that already has it all.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130

say() { printf '[setup] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  # Not --locked: the locked tree wants a webpki-roots the registry lacks (TOOLCHAIN.md).
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
  say "installing wasm-pack"
  cargo install wasm-pack
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  say "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q chromium chromium-driver
fi

# The other engines of `make test` (TOOLCHAIN.md, "Other engines"): Firefox ESR (driven over
# WebDriver BiDi; geckodriver for the wasm-bindgen tests) and WebKitGTK's WebDriver under Xvfb.
# ENGINES (default "chromium firefox webkit") skips what a run does not use.
ENGINES="${ENGINES:-chromium firefox webkit}"
need_apt=()
case " $ENGINES " in *" firefox "*) [ -x /usr/bin/firefox-esr ] || need_apt+=(firefox-esr) ;; esac
case " $ENGINES " in *" webkit "*)
  [ -x /usr/bin/WebKitWebDriver ] || need_apt+=(webkit2gtk-driver)
  command -v xvfb-run >/dev/null 2>&1 || need_apt+=(xvfb) ;;
esac
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${need_apt[@]}"
fi
case " $ENGINES " in *" firefox "*)
  if ! command -v geckodriver >/dev/null 2>&1; then
    say "installing geckodriver 0.37.1"
    cargo install geckodriver@0.37.1 --locked
  fi ;;
esac

if [ -f www/package.json ]; then
  if [ ! -d www/node_modules ] || [ www/package-lock.json -nt www/node_modules/.package-lock.json ]; then
    say "installing the npm packages of www/"
    (cd www && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
say "toolchain ready"
