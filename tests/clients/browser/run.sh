#!/usr/bin/env bash
# tests/clients/browser/run.sh: the JS SDK v3 (@aws-sdk/client-kinesis) from a page in headless
# Chromium against runnel, cross-origin, so through CORS (docs/net.md). Needs Debian's chromium
# (installed with apt-get when /usr/bin/chromium is missing) and, from npm with the exact pins of
# package-lock.json, playwright-core (drives Chromium) and esbuild (bundles page.mjs).
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "browser: installing Debian's chromium" >&2
  if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo -n apt-get); fi
  { "${APT[@]}" install -y chromium || { "${APT[@]}" update && "${APT[@]}" install -y chromium; }; } >&2 \
    || { echo "browser: cannot install chromium (apt-get install -y chromium)" >&2; exit 1; }
fi
[ -x /usr/bin/chromium ] || { echo "browser: /usr/bin/chromium missing after install" >&2; exit 1; }

cd "$HERE"
# Own node_modules under this dir; npm's cache (~/.npm) keeps the tarballs between runs.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.runnel-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.runnel-lock
fi

OUT="$(rn_tmpdir)"
node_modules/.bin/esbuild page.mjs --bundle --platform=browser --format=esm --target=es2022 \
  --log-level=warning --outfile="$OUT/page.js"

rn_start --in-memory
node run.mjs "$RN_ENDPOINT" "$OUT/page.js"
