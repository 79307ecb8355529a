#!/usr/bin/env bash
# run.sh: `make bench`. Installs the peers and load tools that are missing,
# builds runnel (Release, in build-bench/) and the bench helpers, then runs
# bench/bench.py, which prints one table per scenario.
#   BENCH_QUICK=1 make bench      a short smoke run (1 run per figure, 1 s loads)
#   BENCH_ONLY=runnel-never,kinesalite make bench    only some targets
#   BENCH_ONLY=auth bench/run.sh   only the verification-cost rows (runnel with and without --credentials)
#   BENCH_ONLY=decode bench/run.sh only the request-decoding cost per MiB (bench/decodecost.c)
#   BENCH_SRC=head make bench     benchmark the committed HEAD rather than the working tree
#   BENCH_ONLY=shards,rss,recovery bench/run.sh   only the shard-count, RSS and kill -9 recovery rows
#   BENCH_OLD=8fcdf34^ bench/run.sh  also build that commit (git archive, Release, build-bench-old/)
#                                 and run it beside this build as runnel-old-* in those rows
#                                 (or RUNNEL_BIN_OLD=/path/to/runnel for a binary built elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build-bench
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

scripts/deps.sh
need=()
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
command -v node >/dev/null || need+=(nodejs npm)
pkg-config --exists liburing 2>/dev/null || need+=(liburing-dev) # kload's io_uring engine
if [ "${#need[@]}" -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
fi
command -v moto_server >/dev/null || echo "bench: moto_server not on PATH; moto will be shown as unable" >&2

# peers, pinned by bench/package-lock.json
if [ ! -d bench/node_modules/kinesalite ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

# runnel in Release mode, in its own build dir
# GCC's flow-dependent warnings appear only at -O3 (Release); they stay warnings here so that
# one of them in code under work does not stop a benchmark run (the default build keeps -Werror).
OPTW="-Wno-error=use-after-free -Wno-error=maybe-uninitialized -Wno-error=stringop-overflow"
OPTW="$OPTW -Wno-error=array-bounds -Wno-error=stringop-truncation -Wno-error=format-truncation"
# BENCH_SRC=head benchmarks the committed HEAD (exported with git archive, the tree untouched)
# instead of the working tree, e.g. while the working tree is half way through an edit.
SRC=$ROOT
RB=$B
if [ "${BENCH_SRC:-}" = "head" ]; then
  SRC=$ROOT/build-bench-head/src
  RB=$ROOT/build-bench-head/build
  rm -rf "$SRC" && mkdir -p "$SRC"
  git archive HEAD | tar -x -C "$SRC"
fi
mkdir -p "$B"
export BENCH_SRC_DIR=$SRC BENCH_RUNNEL=$RB/runnel
cmake -S "$SRC" -B "$RB" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=$OPTW" >/dev/null
cmake --build "$RB" -j "$(nproc)" --target runnel decodecost
# BENCH_OLD=<commit>: another engine to compare with (the same build flags)
if [ -n "${BENCH_OLD:-}" ]; then
  OLD=$ROOT/build-bench-old
  rm -rf "$OLD/src" && mkdir -p "$OLD/src"
  git archive "$BENCH_OLD" | tar -x -C "$OLD/src"
  cmake -S "$OLD/src" -B "$OLD/build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=$OPTW" >/dev/null
  cmake --build "$OLD/build" -j "$(nproc)" --target runnel
  export RUNNEL_BIN_OLD=$OLD/build/runnel
fi

# the helpers: load client, empty-200 ceiling, disk ceiling, loopback bind shim
CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-parameter"
PKGS="libevent_core libevent_pthreads libnghttp2 jansson libssl libcrypto sqlite3"
# kload drives h1 PutRecord load through io_uring when liburing is there (else its poll loop)
KLOAD_URING=""
pkg-config --exists liburing 2>/dev/null && KLOAD_URING="-DKLOAD_URING $(pkg-config --cflags --libs liburing)"
cc $CFLAGS -o "$B/kload" bench/kload.c $(pkg-config --cflags --libs libnghttp2 jansson libcrypto) $KLOAD_URING
cc $CFLAGS -D_GNU_SOURCE -I"$SRC/src" -o "$B/empty200" bench/empty200.c \
  -Wl,--start-group "$RB/librn_net.a" "$RB/librn_core.a" "$RB/librn_store.a" "$RB/librn_util.a" -Wl,--end-group \
  $(pkg-config --cflags --libs $PKGS) -lpthread -lm
cc $CFLAGS -o "$B/diskceil" bench/diskceil.c -lpthread
cc $CFLAGS -shared -fPIC -o "$B/bindlo.so" bench/bindlo.c -ldl

# request decoding, per MiB of worst-case bodies (docs/wire.md, "Decoding cost"): the loop's cost
case ",${BENCH_ONLY:-decode}," in
  *,decode,*) echo "== request decoding cost: bench/decodecost 16 MiB, median of 3"; "$RB/decodecost" 16 3 ;;
esac
[ "${BENCH_ONLY:-}" = decode ] && exit 0

exec python3 bench/bench.py "$@"
