#!/usr/bin/env bash
# crash-campaign.sh: `make crash-campaign`. CRASH_RUNS (10) recorded runs, each with a new seed,
# of CRASH_CAMPAIGN_POINTS (500) crash points x CRASH_CAMPAIGN_VARIANTS (5) states (last-fsync
# state, every write, and random subsets with torn sectors), CRASH_CAMPAIGN_RECOVERIES (20) of
# them with CRASH_RECOVERY_POINTS (10) crash points inside their own recovery, plus the
# directory-fsync self-test and the recovery self-test.
# Prints one line per run and a total; exits 1 when any state failed (the seed is printed).
set -uo pipefail
cd "$(dirname "$0")/.."
export RUNNEL_BIN="${RUNNEL_BIN:-$PWD/build/runnel}" CRASHREC_SO="${CRASHREC_SO:-$PWD/build/tests/crash/crashrec.so}"
runs="${CRASH_RUNS:-10}" points="${CRASH_CAMPAIGN_POINTS:-500}" variants="${CRASH_CAMPAIGN_VARIANTS:-5}"
recoveries="${CRASH_CAMPAIGN_RECOVERIES:-20}" rpoints="${CRASH_RECOVERY_POINTS:-10}"
fail=0
python3 tests/crash/crash.py --points 40 --variants 1 --hide dirsync || fail=1
python3 tests/crash/crash.py --points 4 --variants 6 --recoveries 3 --recovery-points 16 --recovery-hide sync || fail=1
for i in $(seq 1 "$runs"); do
  seed=$(( (RANDOM << 15 | RANDOM) + 1 ))
  python3 tests/crash/crash.py --points "$points" --variants "$variants" --seed "$seed" \
    --recoveries "$recoveries" --recovery-points "$rpoints" || fail=1
done
[ "$fail" -eq 0 ] && echo "crash-campaign: every state passed" || echo "crash-campaign: FAILURES (seeds above)"
exit $fail
