#!/bin/bash
# Verification cost on the record path: the same signed requests to a developer-mode and a verified runnel.
# Usage: RUNNEL_BIN=build/runnel KLOAD=<kload built by bench/run.sh> bench/authcost.sh
set -e
R=${RUNNEL_BIN:-build/runnel} K=${KLOAD:-build-bench/kload}
cat > ${TMPDIR:-/tmp}/bcreds.json <<'J'
{"identities": [{"access_key_id": "AKIDBENCH", "secret_access_key": "bench/secret", "account_id": "123456789012",
  "arn": "arn:aws:iam::123456789012:user/bench",
  "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}]}]}
J
$R serve --listen 127.0.0.1:46001 --in-memory --create-stream-delay 0 --log-level error > ${TMPDIR:-/tmp}/dev.log 2>&1 &
D=$!
$R serve --listen 127.0.0.1:46002 --in-memory --create-stream-delay 0 --log-level error --credentials ${TMPDIR:-/tmp}/bcreds.json > ${TMPDIR:-/tmp}/ver.log 2>&1 &
V=$!
sleep 0.5
for p in 46001 46002; do $K call --port $p --sign AKIDBENCH:bench/secret --target CreateStream --body '{"StreamName":"bench","ShardCount":4}'; done
sleep 0.3
for round in 1 2 3; do
  for proto in h1 h2; do
    for p in 46001 46002; do
      echo "== round $round $proto port $p ($([ $p = 46001 ] && echo developer || echo verified))"
      pid=$([ $p = 46001 ] && echo $D || echo $V)
      t0=$(awk '{print $14+$15}' /proc/$pid/stat)
      out=$($K put --port $p --proto $proto --op PutRecord --size 100 --inflight 64 --stream bench --seconds 4 --sign AKIDBENCH:bench/secret $EXTRA 2>&1 | tail -1)
      t1=$(awk '{print $14+$15}' /proc/$pid/stat)
      reqs=$(echo "$out" | sed 's/.*"ok":\([0-9]*\).*/\1/')
      rate=$(echo "$out" | sed 's/.*"req_per_s":\([0-9.]*\).*/\1/')
      awk -v r="$rate" -v t=$((t1-t0)) -v n=$reqs 'BEGIN{printf "req/s %s  server CPU %.2f us/request (%d ticks, %d requests)\n", r, t*10000/n, t, n}' 
    done
  done
done
kill $D $V
