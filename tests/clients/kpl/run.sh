#!/usr/bin/env bash
# The KPL (com.amazonaws:amazon-kinesis-producer 0.15.12, its native kinesis_producer from its jar)
# against runnel over TLS on runnel's one port (--tls-self-signed, VerifyCertificate=false), STS
# GetCallerIdentity on the same port, CloudWatch off and pointed at a dead loopback port.
# Checks: aggregation on and off (Producer puts; Reader reads back with GetRecords and de-aggregates
# with KCL's AggregatorUtil); with aggregation on, a real KCL 3 worker (the KCL suite's program,
# tests/clients/kcl: a Scheduler, polling from TRIM_HORIZON, leases in moto's DynamoDB) reads the
# same records back de-aggregated (KplConsume.java); a put to a missing stream fails with
# ResourceNotFoundException. Separate JVMs: the KPL and KCL need different protobuf runtimes.
# Pins: pom.xml, ../kcl/pom.xml, ../kcl/moto-requirements.txt. Caches: $RUNNEL_CACHE/m2, moto-*.
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
N="${KPL_RECORDS:-3000}"

rn_need_java || { echo "kpl: java/mvn missing and not installable" >&2; exit 1; }
case "$(uname -m)" in x86_64|aarch64) ;; *) echo "kpl: the KPL ships no binary for $(uname -m)" >&2; exit 1 ;; esac

TMP="$(rn_tmpdir)"
jvm=(java -Xmx256m -XX:TieredStopAtLevel=1 -Djava.io.tmpdir="$TMP"
     -Dorg.slf4j.simpleLogger.defaultLogLevel="${KPL_JAVA_LOG:-warn}")

# --- build: the Maven local repository under the cache; offline once it is warm -------------
declare -A CP
for side in producer reader; do
  rn_mvn "kpl-$side" "$HERE/pom.xml" -P"$side" || { echo "kpl: maven build failed ($side)" >&2; exit 1; }
  jar="$HERE/target/$side/kpl-client-1.jar"
  [ -f "$jar" ] || { echo "kpl: no $jar after the build" >&2; exit 1; }
  CP[$side]="$jar:$RN_MVN_CP"
done
# The KCL worker: the KCL suite's program, KCL 3 (its pom's default profile).
KCL_HERE="$RN_REPO/tests/clients/kcl"
rn_mvn kcl3 "$KCL_HERE/pom.xml" || { echo "kpl: maven build failed (KCL)" >&2; exit 1; }
jar="$(ls "$KCL_HERE"/target/kcl-3.*/kcl-client-1.jar 2>/dev/null | head -1)"
[ -f "$jar" ] || { echo "kpl: no KCL 3 program jar after the build" >&2; exit 1; }
CP[kcl]="$jar:$RN_MVN_CP"
"${jvm[@]}" -cp "${CP[kcl]}" runnel.kcl.Main selftest >/dev/null \
  || { "${jvm[@]}" -cp "${CP[kcl]}" runnel.kcl.Main selftest; exit 1; }

# --- run: one runnel with TLS on its port ------------------------------------------------------
rn_start --tls-self-signed
grep -q "https://127.0.0.1:$RN_PORT" "$RN_LOG" || { echo "kpl: runnel did not offer TLS:" >&2; cat "$RN_LOG" >&2; exit 1; }
# AWS_EC2_METADATA_DISABLED: else the native producer asks 169.254.169.254 for its zone.
export AWS_EC2_METADATA_DISABLED=true AWS_JAVA_V1_DISABLE_DEPRECATION_ANNOUNCEMENT=true
export RN_ENDPOINT RN_PORT DEAD_PORT="$(rn_free_port)" RN_ACCOUNT=000000000000
producer() { "${jvm[@]}" -cp "${CP[producer]}" runnel.kpl.Producer "$@"; }
reader() { "${jvm[@]}" -cp "${CP[reader]}" runnel.kpl.Reader "$@"; }
kcl_worker() { DDB_ENDPOINT="$MOTO_ENDPOINT" "${jvm[@]}" -Xmx384m -cp "${CP[kcl]}" runnel.kcl.Main kpl "$@"; }

fail=0
reader create kpl-agg kpl-noagg || fail=1
for mode in agg noagg; do
  echo "== kpl: aggregation $mode"
  producer put "kpl-$mode" "$mode" "$N" "$TMP/$mode.tsv" || fail=1
  reader check "kpl-$mode" "$mode" "$TMP/$mode.tsv" || fail=1
done
echo "== kpl: aggregation agg, read by a KCL worker"
rn_moto || exit 1
kcl_worker kpl-agg "$TMP/agg.tsv" || fail=1
echo "== kpl: a stream that does not exist"
producer missing || fail=1
if [ "$fail" != 0 ]; then echo "kpl: FAIL; runnel's log:" >&2; tail -20 "$RN_LOG" >&2; exit 1; fi
echo "kpl: pass"
