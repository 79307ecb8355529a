#!/bin/bash
# bench/ab_shards.sh: A/B of two runnel builds on the shard-count load of issue 12, one server each,
# runs interleaved so the machine's noise falls on both alike: PutRecords 500 x 100 B, h1, 8 in flight,
# 16,384 partition keys, on a 4-shard and a 1,024-shard stream (every shard written once first).
#   OLD=/path/runnel NEW=/path/runnel [FS=never|always] [RUNS=3] [SECS=5] bench/ab_shards.sh
# Servers on core 0 and the load on core 1 (taskset), on 127.0.0.1 free ports, stopped by PID.
# Prints "run stream build records/s" lines; kload comes from build-bench (make bench builds it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
K="$ROOT/build-bench/kload"
: "${OLD:?OLD=/path/to/runnel}" "${NEW:?NEW=/path/to/runnel}"
FS=${FS:-never}
declare -A BIN=([old]="$OLD" [new]="$NEW") PID PORT DIR
cleanup() { for b in old new; do [ -n "${PID[$b]:-}" ] && kill "${PID[$b]}" 2>/dev/null || true; [ -n "${DIR[$b]:-}" ] && rm -rf "${DIR[$b]}"; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for b in old new; do
  DIR[$b]=$(mktemp -d "${TMPDIR:-/tmp}/ab-$b.XXXX"); PORT[$b]=$(free_port)
  taskset -c 0 "${BIN[$b]}" serve --listen 127.0.0.1:${PORT[$b]} --data-dir "${DIR[$b]}" --fsync "$FS" \
    --shard-limit 100000 --log-level warn >/dev/null 2>&1 &
  PID[$b]=$!
done
sleep 1
for b in old new; do
  p=${PORT[$b]}
  "$K" create --port $p --prefix a --count 1 --shards 4 >/dev/null
  "$K" create --port $p --prefix b --count 1 --shards 1024 >/dev/null
  "$K" put --port $p --op PutRecords --records 500 --spread 1024 --total-records 1024 --inflight 1 \
    --stream b-0 --max-seconds 60 >/dev/null
done
for i in $(seq "${RUNS:-3}"); do
  for st in a-0 b-0; do
    for b in old new; do
      r=$(taskset -c 1 "$K" put --port ${PORT[$b]} --proto h1 --op PutRecords --records 500 --size 100 \
        --inflight 8 --stream $st --seconds "${SECS:-5}" --keys 16384 | tail -1 |
        grep -o '"records_per_s":[0-9]*' | cut -d: -f2)
      echo "$i $([ $st = a-0 ] && echo 4 || echo 1024)-shards $b ${r:-failed}"
    done
  done
done
