#!/usr/bin/env bash
# The typed-usage test (`make types`, part of `make test`): installs the packed tarball into a
# strict TypeScript app as a user would, compiles the app and every ```ts block of README.md
# with `tsc --noEmit` (strict, skipLibCheck off, lib ES2020 + DOM), then checks the types
# against the runtime (members.test.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tarball="$(ls "$root"/authfetch-*.tgz | head -n1)"
cd "$here/app"
npm ci --no-audit --no-fund --loglevel=error
npm install --no-save --no-audit --no-fund --loglevel=error "$tarball"
node "$here/readme.mjs"
npx tsc -p . --noEmit
echo "tsc: the typed-usage app and the README's TypeScript blocks compile (strict)"
node --test --test-reporter=tap "$here/members.test.mjs"
