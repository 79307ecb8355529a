#!/usr/bin/env bash
# fuzz-campaign.sh: run every libFuzzer target (build-fuzz/, made by `make fuzz`) for
# FUZZ_SECONDS each (default 600), growing its committed corpus in fuzz/corpus/<target>/.
# Not part of CI: a campaign takes FUZZ_SECONDS x the number of targets. New inputs are
# merged into the corpus (-merge=1 keeps only inputs that add coverage); a crash leaves
# its input in build-fuzz/crashes/<target>/ and fails the campaign at the end.
#   FUZZ_SECONDS=60 FUZZ_TARGETS="fuzz_wire_cbor fuzz_net_h2" scripts/fuzz-campaign.sh
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-1}
targets=${FUZZ_TARGETS:-$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')}
failed=()
for t in $targets; do
  bin=build-fuzz/$t
  [ -x "$bin" ] || { echo "fuzz-campaign: $bin missing (make fuzz)"; failed+=("$t"); continue; }
  corpus=fuzz/corpus/$t
  new=build-fuzz/new-corpus/$t
  crashes=build-fuzz/crashes/$t
  mkdir -p "$corpus" "$new" "$crashes"
  before=$(ls "$corpus" | wc -l)
  echo "fuzz-campaign: $t for ${secs}s (corpus: $before inputs)"
  "$bin" -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" -rss_limit_mb=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$new" "$corpus" \
    > "build-fuzz/$t.log" 2>&1
  rc=$?
  # keep only what adds coverage to the committed corpus
  "$bin" -merge=1 "$corpus" "$new" >> "build-fuzz/$t.log" 2>&1
  after=$(ls "$corpus" | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/$t.log" | awk '{s+=$2} END {print s+0}')
  echo "fuzz-campaign: $t rc=$rc executions=$execs corpus $before -> $after"
  [ $rc -eq 0 ] || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz-campaign: FAILED: ${failed[*]} (inputs in build-fuzz/crashes/)"
  exit 1
fi
echo "fuzz-campaign: every target ran ${secs}s without a crash"
