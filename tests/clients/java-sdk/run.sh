#!/usr/bin/env bash
# The AWS SDK for Java v2 (BOM 2.57.8, pom.xml) against runnel: sync (Apache, HTTP/1.1) and async
# (Netty, HTTP/2 h2c and TLS+ALPN) clients, each run with CBOR on and off. Maven's local repository
# is $RUNNEL_CACHE/m2: offline when warm, online (Maven Central) otherwise.
. "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")"
rn_need_java || { echo "java-sdk: java/mvn missing and not installable" >&2; exit 1; }
M2="$(rn_cache m2)"
MVN=(mvn -q -B "-Dmaven.repo.local=$M2")
if ! nice "${MVN[@]}" -o compile >/dev/null 2>&1; then
  echo "java-sdk: Maven cache cold, resolving online" >&2
  nice "${MVN[@]}" compile || { echo "java-sdk: Maven build failed" >&2; exit 1; }
fi
CP="target/classes:$(cat target/classpath.txt)"

rn_start --in-memory --tls-self-signed --subscription-lifetime 3000 --kms-strict
MAIN_EP="$RN_ENDPOINT"
rn_start --in-memory --enforce-limits --credentials "$PWD/credentials.json"
LIMITS_EP="$RN_ENDPOINT"
rn_start --in-memory --inject-errors \
  'PutRecord=KMSThrottlingException,PutRecords=KMSOptInRequired,GetShardIterator=InternalFailure,ListStreams=ServiceUnavailable'
FAULTS_EP="$RN_ENDPOINT"

rc=0
for cbor in true false; do
  rn_start --in-memory --enable-test-clock   # its clock only moves forward: one per JVM run
  CLOCK_EP="$RN_ENDPOINT"
  RN_ENDPOINT="$MAIN_EP" RN_LIMITS_ENDPOINT="$LIMITS_EP" RN_CLOCK_ENDPOINT="$CLOCK_EP" RN_FAULTS_ENDPOINT="$FAULTS_EP" \
    java -Daws.cborEnabled="$cbor" -cp "$CP" runnel.Main "$@" || rc=1
done
exit $rc
