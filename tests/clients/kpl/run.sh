#!/usr/bin/env bash
# The KPL (com.amazonaws:amazon-kinesis-producer 0.15.12, its native kinesis_producer from its jar)
# against runnel over TLS on runnel's one port (--tls-self-signed, VerifyCertificate=false), STS
# GetCallerIdentity on the same port, CloudWatch off and pointed at a dead loopback port.
# Checks: aggregation on and off (Producer puts; Reader reads back with GetRecords and de-aggregates
# with KCL's AggregatorUtil); a put to a missing stream fails with ResourceNotFoundException.
# Two JVMs: the KPL and KCL need different protobuf runtimes. Pins: pom.xml. Cache: $RUNNEL_CACHE/m2.
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
N="${KPL_RECORDS:-3000}"

rn_need_java || { echo "kpl: java/mvn missing and not installable" >&2; exit 1; }
case "$(uname -m)" in x86_64|aarch64) ;; *) echo "kpl: the KPL ships no binary for $(uname -m)" >&2; exit 1 ;; esac

# --- build: the Maven local repository under the cache; offline once it is warm -------------
M2="$(rn_cache m2)"
declare -A CP
for side in producer reader; do
  mvn_args=(-q -B -Dmaven.repo.local="$M2" -f "$HERE/pom.xml" -P"$side")
  stamp="$M2/.runnel-kpl-$side-$(sha256sum "$HERE/pom.xml" | cut -c1-16)"
  [ -f "$stamp" ] && mvn_args+=(-o)
  cpfile="$(rn_tmpdir)/cp.txt"
  nice mvn "${mvn_args[@]}" package dependency:build-classpath -Dmdep.outputFile="$cpfile" \
    || { echo "kpl: maven build failed ($side)" >&2; exit 1; }
  touch "$stamp"
  jar="$HERE/target/$side/kpl-client-1.jar"
  [ -f "$jar" ] || { echo "kpl: no $jar after the build" >&2; exit 1; }
  CP[$side]="$jar:$(cat "$cpfile")"
done

# --- run: one runnel with TLS on its port ------------------------------------------------------
rn_start --tls-self-signed
grep -q "https://127.0.0.1:$RN_PORT" "$RN_LOG" || { echo "kpl: runnel did not offer TLS:" >&2; cat "$RN_LOG" >&2; exit 1; }
TMP="$(rn_tmpdir)"
# AWS_EC2_METADATA_DISABLED: else the native producer asks 169.254.169.254 for its zone.
export AWS_EC2_METADATA_DISABLED=true AWS_JAVA_V1_DISABLE_DEPRECATION_ANNOUNCEMENT=true
export RN_ENDPOINT RN_PORT DEAD_PORT="$(rn_free_port)" RN_ACCOUNT=000000000000
jvm=(java -Xmx256m -XX:TieredStopAtLevel=1 -Djava.io.tmpdir="$TMP"
     -Dorg.slf4j.simpleLogger.defaultLogLevel="${KPL_JAVA_LOG:-warn}")
producer() { "${jvm[@]}" -cp "${CP[producer]}" runnel.kpl.Producer "$@"; }
reader() { "${jvm[@]}" -cp "${CP[reader]}" runnel.kpl.Reader "$@"; }

fail=0
reader create kpl-agg kpl-noagg || fail=1
for mode in agg noagg; do
  echo "== kpl: aggregation $mode"
  producer put "kpl-$mode" "$mode" "$N" "$TMP/$mode.tsv" || fail=1
  reader check "kpl-$mode" "$mode" "$TMP/$mode.tsv" || fail=1
done
echo "== kpl: a stream that does not exist"
producer missing || fail=1
if [ "$fail" != 0 ]; then echo "kpl: FAIL; runnel's log:" >&2; tail -20 "$RN_LOG" >&2; exit 1; fi
echo "kpl: pass"
