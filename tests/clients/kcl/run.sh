#!/usr/bin/env bash
# KCL 3.x and 2.x against runnel: leases in moto's DynamoDB server, two workers (two JVMs), a
# shard split mid-way and worker A killed with SIGKILL; polling retrieval and enhanced fan-out.
# KCL_MAJORS="3" / KCL_MODES="fanout" pick runs; KCL_LOG=info shows KCL's log; KCL_KEEP=DIR keeps
# the logs (the workers', the driver's, runnel's, moto's).
# Pins: pom.xml (KCL, AWS SDK BOM), MOTO_VERSION below. Caches: $RUNNEL_CACHE/m2, moto-<version>.
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
MOTO_VERSION=5.2.5
# Retrieval modes: polling (GetRecords), fanout (SubscribeToShard, HTTP/2 cleartext with prior
# knowledge), fanout-tls (the same over TLS + ALPN h2). KCL 3 runs the first two, KCL 2 polling
# and fanout-tls; KCL_MODES="..." runs the given ones with every KCL.
KCL_MAJORS="${KCL_MAJORS:-3 2}"

rn_need_java || { echo "kcl: java/mvn missing and not installable" >&2; exit 1; }

# --- moto[server] in a venv of its own, reused when present ---------------------------------
MOTO="$(rn_cache "moto-$MOTO_VERSION-$(sha256sum "$HERE/moto-requirements.txt" | cut -c1-12)")"
if ! "$MOTO/bin/python" -c "import moto, flask; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null; then
  echo "kcl: installing moto[server]==$MOTO_VERSION into $MOTO"
  rm -rf "$MOTO"
  python3 -c "import ensurepip" 2>/dev/null || rn_apt python3-venv
  python3 -m venv "$MOTO"
  "$MOTO/bin/pip" install -q --disable-pip-version-check -r "$HERE/moto-requirements.txt"
fi

# --- build: the Maven local repository under the cache; offline once it is warm -------------
# KCL 3 (pom.xml's default) and, with -Pkcl2, the newest KCL 2.x: the same program.
M2="$(rn_cache m2)"
declare -A CPS
for kcl in $KCL_MAJORS; do
  prof=(); [ "$kcl" = 2 ] && prof=(-Pkcl2)
  mvn_args=(-q -B -Dmaven.repo.local="$M2" -f "$HERE/pom.xml" "${prof[@]}")
  stamp="$M2/.runnel-kcl$kcl-$(sha256sum "$HERE/pom.xml" | cut -c1-16)"
  [ -f "$stamp" ] && mvn_args+=(-o)
  cpfile="$(rn_tmpdir)/cp.txt"
  nice mvn "${mvn_args[@]}" package dependency:build-classpath -Dmdep.outputFile="$cpfile" \
    || { echo "kcl: maven build failed (KCL $kcl)" >&2; exit 1; }
  touch "$stamp"
  ver="$(grep -oE 'amazon-kinesis-client-[0-9][0-9.]*\.jar' "$cpfile" | head -1 | sed 's/^amazon-kinesis-client-//; s/\.jar$//')"
  jar="$HERE/target/kcl-$ver/kcl-client-1.jar"
  [ -f "$jar" ] || { echo "kcl: no $jar after the build" >&2; exit 1; }
  CPS[$kcl]="$jar:$(cat "$cpfile")"
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
  port="$(rn_free_port)"
  rn_spawn moto "$MOTO/bin/moto_server" -H 127.0.0.1 -p "$port"
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" && break
    kill -0 "$RN_SPAWN_PID" 2>/dev/null || { cat "$RN_SPAWN_LOG" >&2; exit 1; }
    sleep 0.2
  done
  OUT="$(rn_tmpdir)"
  if RN_ENDPOINT="$ep" DDB_ENDPOINT="http://127.0.0.1:$port" KCL_MODE="$mode" KCL_OUT="$OUT" \
      java -Xmx384m -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel="${KCL_LOG:-warn}" -Dorg.slf4j.simpleLogger.showDateTime=true \
      -cp "${CPS[$kcl]}" runnel.kcl.Main driver; then
    echo "kcl $kcl $mode: pass ($(( $(date +%s) - t0 )) s)"
    if [ -n "${KCL_KEEP:-}" ]; then mkdir -p "$KCL_KEEP/$kcl-$mode"; cp -r "$OUT"/. "$RN_LOG" "$RN_SPAWN_LOG" "$KCL_KEEP/$kcl-$mode/"; fi
  else
    fail=1
    echo "kcl $kcl $mode: FAIL ($(( $(date +%s) - t0 )) s); worker A's output and runnel's log follow" >&2
    tail -40 "$OUT/worker-A.out" >&2 || true
    grep -iE 'warn|error' "$RN_LOG" | tail -20 >&2 || true
    if [ -n "${KCL_KEEP:-}" ]; then mkdir -p "$KCL_KEEP/$kcl-$mode"; cp -r "$OUT"/. "$RN_LOG" "$RN_SPAWN_LOG" "$KCL_KEEP/$kcl-$mode/"; fi
  fi
  kill "$RN_PID" "$RN_SPAWN_PID" 2>/dev/null || true
done
done
exit $fail
