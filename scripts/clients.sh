#!/usr/bin/env bash
# clients.sh: run the real-client suites, tests/clients/<name>/run.sh, each against runnels it
# starts itself, and print the matrix. CLIENTS="java-sdk rust" picks some; default: all.
# Each suite installs (pinned) and caches what it needs under $RUNNEL_CACHE (~/.cache/runnel).
set -uo pipefail
cd "$(dirname "$0")/.."
export RUNNEL_BIN="${RUNNEL_BIN:-$PWD/build/runnel}"
names=()
if [ -n "${CLIENTS:-}" ]; then
  read -r -a names <<<"$CLIENTS"
else
  for d in tests/clients/*/; do [ -x "$d/run.sh" ] && names+=("$(basename "$d")"); done
fi
declare -A result secs
fail=0
for n in "${names[@]}"; do
  echo "== client suite: $n"
  t0=$(date +%s)
  if timeout --kill-after=10 "${CLIENT_TIMEOUT:-900}" "tests/clients/$n/run.sh"; then
    result[$n]=pass
  else
    result[$n]="FAIL (rc $?)"; fail=1
  fi
  secs[$n]=$(( $(date +%s) - t0 ))
done
echo "== client matrix"
for n in "${names[@]}"; do printf '  %-16s %-12s %4ss\n' "$n" "${result[$n]}" "${secs[$n]}"; done
exit $fail
