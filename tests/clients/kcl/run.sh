#!/usr/bin/env bash
# KCL 3.x against runnel: leases in moto's DynamoDB server, two workers (two JVMs), a shard split
# mid-way and worker A killed with SIGKILL; polling retrieval, then enhanced fan-out (h2c).
# Pins: pom.xml (KCL, AWS SDK BOM), MOTO_VERSION below. Caches: $RUNNEL_CACHE/m2, moto-<version>.
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
MOTO_VERSION=5.2.5
MODES="${KCL_MODES:-polling fanout}"

command -v java >/dev/null || { echo "kcl: java not found" >&2; exit 1; }
command -v mvn >/dev/null || { echo "kcl: mvn not found" >&2; exit 1; }

# --- moto[server] in a venv of its own, reused when present ---------------------------------
MOTO="$(rn_cache "moto-$MOTO_VERSION")"
if ! "$MOTO/bin/python" -c "import moto, flask; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null; then
  echo "kcl: installing moto[server]==$MOTO_VERSION into $MOTO"
  rm -rf "$MOTO"
  python3 -m venv "$MOTO"
  "$MOTO/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# --- build: the Maven local repository under the cache; offline once it is warm -------------
M2="$(rn_cache m2)"
BUILD="$(rn_tmpdir)"
mvn_args=(-q -B -Dmaven.repo.local="$M2" -f "$HERE/pom.xml")
stamp="$M2/.runnel-kcl-$(sha256sum "$HERE/pom.xml" | cut -c1-16)"
[ -f "$stamp" ] && mvn_args+=(-o)
( cd "$HERE" && nice mvn "${mvn_args[@]}" \
    package dependency:build-classpath -Dmdep.outputFile="$BUILD/cp.txt" ) \
  || { echo "kcl: maven build failed" >&2; exit 1; }
touch "$stamp"
CP="$HERE/target/classes:$(cat "$BUILD/cp.txt")"

fail=0
for mode in $MODES; do
  echo "== kcl: $mode"
  t0=$(date +%s)
  rn_start
  port="$(rn_free_port)"
  rn_spawn moto "$MOTO/bin/moto_server" -H 127.0.0.1 -p "$port"
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" && break
    kill -0 "$RN_SPAWN_PID" 2>/dev/null || { cat "$RN_SPAWN_LOG" >&2; exit 1; }
    sleep 0.2
  done
  OUT="$(rn_tmpdir)"
  if RN_ENDPOINT="$RN_ENDPOINT" DDB_ENDPOINT="http://127.0.0.1:$port" KCL_MODE="$mode" KCL_OUT="$OUT" \
      java -Xmx384m -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
      -cp "$CP" runnel.kcl.Main driver; then
    echo "kcl $mode: pass ($(( $(date +%s) - t0 )) s)"
    if [ -n "${KCL_KEEP:-}" ]; then mkdir -p "$KCL_KEEP/$mode"; cp -r "$OUT"/. "$RN_LOG" "$RN_SPAWN_LOG" "$KCL_KEEP/$mode/"; fi
  else
    fail=1
    echo "kcl $mode: FAIL ($(( $(date +%s) - t0 )) s); worker A's output and runnel's log follow" >&2
    tail -40 "$OUT/worker-A.out" >&2 || true
    grep -iE 'warn|error' "$RN_LOG" | tail -20 >&2 || true
    if [ -n "${KCL_KEEP:-}" ]; then mkdir -p "$KCL_KEEP/$mode"; cp -r "$OUT"/. "$RN_LOG" "$RN_SPAWN_LOG" "$KCL_KEEP/$mode/"; fi
  fi
  kill "$RN_PID" "$RN_SPAWN_PID" 2>/dev/null || true
done
exit $fail
