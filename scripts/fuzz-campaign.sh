#!/usr/bin/env bash
# fuzz-campaign.sh: run every libFuzzer target (build-fuzz/, made by `make fuzz`) for
# FUZZ_SECONDS each (default 600), growing its committed corpus in fuzz/corpus/<target>/.
# Not part of CI: a campaign takes FUZZ_SECONDS x the number of targets / FUZZ_PARALLEL.
# New inputs are merged into the corpus (-merge=1 keeps only inputs that add coverage); a
# crash leaves its input in build-fuzz/crashes/<target>/ and fails the campaign at the end.
#   FUZZ_SECONDS=60 FUZZ_TARGETS="fuzz_wire_cbor fuzz_net_h2" FUZZ_PARALLEL=2 scripts/fuzz-campaign.sh
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-600}
par=${FUZZ_PARALLEL:-1}
targets=${FUZZ_TARGETS:-$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')}
mkdir -p build-fuzz/campaign

one() {
  local t=$1 bin=build-fuzz/$1 corpus=fuzz/corpus/$1 new=build-fuzz/new-corpus/$1
  local crashes=build-fuzz/crashes/$1 log=build-fuzz/campaign/$1.log
  [ -x "$bin" ] || { echo "fuzz-campaign: $bin missing (make fuzz)"; echo fail > "build-fuzz/campaign/$t.rc"; return; }
  mkdir -p "$corpus" "$new" "$crashes"
  local before; before=$(ls "$corpus" | wc -l)
  echo "fuzz-campaign: $t for ${secs}s (corpus: $before inputs)"
  "$bin" -max_total_time="$secs" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$new" "$corpus" > "$log" 2>&1
  local rc=$?
  # keep only what adds coverage to the committed corpus
  "$bin" -merge=1 -artifact_prefix="$crashes/" "$corpus" "$new" >> "$log" 2>&1 || rc=1
  local after; after=$(ls "$corpus" | wc -l)
  local execs; execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | head -1 | awk '{print $2+0}')
  echo "fuzz-campaign: $t rc=$rc executions=${execs:-0} corpus $before -> $after"
  echo "$rc" > "build-fuzz/campaign/$t.rc"
}

running=0
for t in $targets; do
  one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$par" ]; then wait -n; running=$((running - 1)); fi
done
wait
failed=()
for t in $targets; do
  [ "$(cat "build-fuzz/campaign/$t.rc" 2>/dev/null)" = "0" ] || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz-campaign: FAILED: ${failed[*]} (logs in build-fuzz/campaign/, inputs in build-fuzz/crashes/)"
  exit 1
fi
echo "fuzz-campaign: every target ran ${secs}s without a crash"
