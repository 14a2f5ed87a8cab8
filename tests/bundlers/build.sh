#!/usr/bin/env bash
# Builds the bundler fixture apps from the packed tarball (make pack): installs Vite and
# webpack (package-lock.json), installs authfetch-<version>.tgz as a user would, then
# `vite build` → dist-vite/ and `webpack` → dist-webpack/. Run by www/e2e/bundlers.test.mjs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tarball="$(ls "$root"/authfetch-*.tgz | head -n1)"
cd "$here"
# One build at a time (the engines' suites run at once), and none when the apps are newer than
# the tarball.
exec 9>"$here/.build.lock"
flock 9
if [ dist-vite/index.html -nt "$tarball" ] && [ dist-webpack/index.html -nt "$tarball" ]; then
  echo "bundlers: the apps are built from this tarball already"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
npm install --no-save --no-audit --no-fund --loglevel=error "$tarball"
npx vite build --logLevel warn
npx webpack --config webpack.config.js --stats errors-warnings
