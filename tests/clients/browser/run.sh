#!/usr/bin/env bash
# tests/clients/browser/run.sh: the JS SDK v3 (@aws-sdk/client-kinesis) from a page in headless
# Chromium against runnel, cross-origin, so through CORS (docs/net.md). Needs Debian's chromium
# (installed with apt-get when /usr/bin/chromium is missing) and, from npm with the exact pins of
# package-lock.json, playwright-core (drives Chromium) and esbuild (bundles page.mjs).
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

rn_need_chromium
rn_npm_ci "$HERE"
cd "$HERE"

OUT="$(rn_tmpdir)"
node_modules/.bin/esbuild page.mjs --bundle --platform=browser --format=esm --target=es2022 \
  --log-level=warning --outfile="$OUT/page.js"

rn_start --in-memory
node run.mjs "$RN_ENDPOINT" "$OUT/page.js"
