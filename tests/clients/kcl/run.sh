#!/usr/bin/env bash
# KCL 3.x and 2.x against runnel: leases in moto's DynamoDB server, two workers (two JVMs), a
# shard split mid-way and worker A killed with SIGKILL; polling retrieval and enhanced fan-out.
# KCL_MAJORS="3" / KCL_MODES="fanout" pick runs; KCL_LOG=info shows KCL's log; KCL_KEEP=DIR keeps
# the logs (the workers', the driver's, runnel's, moto's).
# Pins: pom.xml (KCL, AWS SDK BOM), moto-requirements.txt (moto, RN_MOTO_VERSION in lib.sh).
# Caches: $RUNNEL_CACHE/m2, moto-<version>-<hash> (lib.sh rn_moto).
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
# Retrieval modes: polling (GetRecords), fanout (SubscribeToShard, HTTP/2 cleartext with prior
# knowledge), fanout-tls (the same over TLS + ALPN h2). KCL 3 runs the first two, KCL 2 polling
# and fanout-tls; KCL_MODES="..." runs the given ones with every KCL.
KCL_MAJORS="${KCL_MAJORS:-3 2}"

rn_need_java || { echo "kcl: java/mvn missing and not installable" >&2; exit 1; }

# --- build: the Maven local repository under the cache; offline once it is warm -------------
# KCL 3 (pom.xml's default) and, with -Pkcl2, the newest KCL 2.x: the same program.
declare -A CPS
for kcl in $KCL_MAJORS; do
  prof=(); [ "$kcl" = 2 ] && prof=(-Pkcl2)
  rn_mvn "kcl$kcl" "$HERE/pom.xml" "${prof[@]}" || { echo "kcl: maven build failed (KCL $kcl)" >&2; exit 1; }
  ver="$(grep -oE 'amazon-kinesis-client-[0-9][0-9.]*\.jar' <<<"$RN_MVN_CP" | head -1 | sed 's/^amazon-kinesis-client-//; s/\.jar$//')"
  jar="$HERE/target/kcl-$ver/kcl-client-1.jar"
  [ -f "$jar" ] || { echo "kcl: no $jar after the build" >&2; exit 1; }
  CPS[$kcl]="$jar:$RN_MVN_CP"
done

# The checks themselves first: they must fail on logs showing each breakage.
java -cp "${CPS[${KCL_MAJORS%% *}]}" runnel.kcl.Main selftest >/dev/null \
  || { java -cp "${CPS[${KCL_MAJORS%% *}]}" runnel.kcl.Main selftest; exit 1; }

fail=0
for kcl in $KCL_MAJORS; do
if [ -n "${KCL_MODES:-}" ]; then modes="$KCL_MODES"
elif [ "$kcl" = 3 ]; then modes="polling fanout"
else modes="polling fanout-tls"; fi
for mode in $modes; do
  echo "== kcl $kcl: $mode"
  t0=$(date +%s)
  # Fan-out: subscriptions last 3 s (AWS: 5 min), so KCL renews each several times mid-run.
  # fanout-tls: the same over TLS (runnel's development certificate, trusted by the test alone).
  case "$mode" in
    fanout) rn_start --subscription-lifetime 3000; ep="$RN_ENDPOINT" ;;
    fanout-tls) rn_start --subscription-lifetime 3000 --tls-self-signed; ep="https://${RN_ENDPOINT#http://}" ;;
    *) rn_start; ep="$RN_ENDPOINT" ;;
  esac
  rn_moto || exit 1
  OUT="$(rn_tmpdir)"
  if RN_ENDPOINT="$ep" DDB_ENDPOINT="$MOTO_ENDPOINT" KCL_MODE="$mode" KCL_OUT="$OUT" \
      java -Xmx384m -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel="${KCL_LOG:-warn}" -Dorg.slf4j.simpleLogger.showDateTime=true \
      -cp "${CPS[$kcl]}" runnel.kcl.Main driver; then
    echo "kcl $kcl $mode: pass ($(( $(date +%s) - t0 )) s)"
    if [ -n "${KCL_KEEP:-}" ]; then mkdir -p "$KCL_KEEP/$kcl-$mode"; cp -r "$OUT"/. "$RN_LOG" "$MOTO_LOG" "$KCL_KEEP/$kcl-$mode/"; fi
  else
    fail=1
    echo "kcl $kcl $mode: FAIL ($(( $(date +%s) - t0 )) s); worker A's output and runnel's log follow" >&2
    tail -40 "$OUT/worker-A.out" >&2 || true
    grep -iE 'warn|error' "$RN_LOG" | tail -20 >&2 || true
    if [ -n "${KCL_KEEP:-}" ]; then mkdir -p "$KCL_KEEP/$kcl-$mode"; cp -r "$OUT"/. "$RN_LOG" "$MOTO_LOG" "$KCL_KEEP/$kcl-$mode/"; fi
  fi
  kill "$RN_PID" "$MOTO_PID" 2>/dev/null || true
done
done
exit $fail
