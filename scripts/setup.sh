#!/usr/bin/env bash
# Installs everything `make demo`, `make test` and `make bench` need, and nothing twice.
# Safe to run on a bare machine of this project's kind and on one that already has it all.
#
# On a bare machine the Debian packages (disk and network) download and unpack in the background
# while the npm packages install; the script waits for both and fails, with the step's log, when
# one fails. No Rust tool is installed: the wasm is rustc's, finished by wasm-opt from npm.
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

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

finish
say "toolchain ready"
