#!/usr/bin/env bash
# tests/console/run.sh: the web console (/console, docs/console.md) in headless Chromium against
# runnels that console.test.mjs starts on free loopback ports. Needs Debian's chromium (installed
# with apt-get when /usr/bin/chromium is missing), playwright-core from npm with the exact pin of
# package-lock.json (in this dir's own node_modules; npm's cache keeps the tarball), and the repo's
# own node modules (scripts/deps.sh --test: the SDK that tests/integration/runnel.mjs imports).
#   tests/console/run.sh                 the tests (make console; make test)
#   tests/console/run.sh --screenshots   also retake docs/console/*.png (screenshots.mjs)
. "$(dirname "$0")/../clients/lib.sh" # rn_need_chromium, rn_npm_ci (and its exit trap, unused here)
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export RUNNEL_BIN

rn_need_chromium
rn_npm_ci "$HERE"
cd "$REPO"
if [ "${1:-}" = "--screenshots" ]; then
  node tests/console/screenshots.mjs docs/console
fi
node --test --test-concurrency=1 tests/console/
