# lib.sh: shared by the real-client suites under tests/clients/<name>/run.sh (sourced, bash).
#
#   . "$(dirname "$0")/../lib.sh"
#   rn_start [runnel serve flags...]   # starts runnel on a free 127.0.0.1 port, sets RN_ENDPOINT,
#                                      # RN_PORT, RN_PID, RN_DATA; stopped by pid when the script exits
#   rn_cache java                      # prints (and makes) the download cache dir for one toolchain
#
# The binary is $RUNNEL_BIN (else build/runnel). Downloads (Maven, crates, Go modules, pip wheels)
# go under $RUNNEL_CACHE (default ~/.cache/runnel), kept between runs; every version is pinned in
# the client's own files. Nothing here downloads anything at runnel's run time.
set -euo pipefail

RN_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNNEL_BIN="${RUNNEL_BIN:-$RN_REPO/build/runnel}"
RUNNEL_CACHE="${RUNNEL_CACHE:-$HOME/.cache/runnel}"
RN_PIDS=()
RN_DIRS=()

rn_cache() {
  local d="$RUNNEL_CACHE/$1"
  mkdir -p "$d"
  printf '%s\n' "$d"
}

rn_cleanup() {
  local rc=$? p d # the script's own status, kept whatever the cleanup's last test says
  for p in "${RN_PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  for d in "${RN_DIRS[@]:-}"; do
    [ -n "$d" ] && case "$d" in /tmp/*) rm -rf "$d" ;; esac
  done
  return "$rc"
}
trap rn_cleanup EXIT

# A temp dir removed when the script exits.
rn_tmpdir() {
  local d
  d="$(mktemp -d /tmp/runnel-client-XXXXXX)"
  RN_DIRS+=("$d")
  printf '%s\n' "$d"
}

# rn_start [flags...]: runnel serve on 127.0.0.1:0 with a fresh data dir; waits for its endpoint line.
rn_start() {
  [ -x "$RUNNEL_BIN" ] || { echo "runnel binary not found at $RUNNEL_BIN (set RUNNEL_BIN)" >&2; return 1; }
  RN_DATA="$(rn_tmpdir)"
  local log="$RN_DATA.log"
  RN_DIRS+=("$log")
  "$RUNNEL_BIN" serve --listen 127.0.0.1:0 --data-dir "$RN_DATA/data" "$@" >"$log" 2>&1 &
  RN_PID=$!
  RN_PIDS+=("$RN_PID")
  local i
  for i in $(seq 1 150); do
    RN_ENDPOINT="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$log" | head -1 || true)"
    [ -n "$RN_ENDPOINT" ] && break
    kill -0 "$RN_PID" 2>/dev/null || { echo "runnel exited before listening:" >&2; cat "$log" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$RN_ENDPOINT" ] || { echo "runnel did not print its endpoint in 15 s:" >&2; cat "$log" >&2; return 1; }
  RN_PORT="${RN_ENDPOINT##*:}"
  RN_LOG="$log"
  export RN_ENDPOINT RN_PORT RN_PID RN_LOG
}

# rn_free_port: a free TCP port on 127.0.0.1 (for the helper servers a suite starts, e.g. moto).
rn_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# rn_spawn NAME CMD...: start a helper server in the background, stopped by pid at exit.
rn_spawn() {
  local name="$1"; shift
  local log
  log="$(rn_tmpdir)/$name.log"
  "$@" >"$log" 2>&1 &
  RN_PIDS+=("$!")
  RN_SPAWN_PID=$!
  RN_SPAWN_LOG="$log"
}

# rn_apt PKG...: install Debian packages that are missing (as root, or through sudo); fails loudly.
rn_apt() {
  local missing=() p SUDO=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null || { echo "need ${missing[*]} and there is no apt-get" >&2; return 1; }
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "clients: installing ${missing[*]}"
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
}

# rn_need_chromium: Debian's /usr/bin/chromium (for playwright-core's executablePath), installed
# when missing.
rn_need_chromium() {
  [ -x /usr/bin/chromium ] || rn_apt chromium || return 1
  [ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium missing after installing chromium" >&2; return 1; }
}

# rn_npm_ci DIR: DIR's own node_modules from its package-lock.json (exact pins), unless the installed
# tree already matches the lock; npm's cache (~/.npm) keeps the tarballs between runs.
rn_npm_ci() {
  (cd "$1" && { [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.runnel-lock; } || {
    npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.runnel-lock; })
}

# rn_need_java: java (17+) and mvn on PATH, from Debian's packages when the machine has none.
rn_need_java() {
  command -v java >/dev/null || rn_apt openjdk-17-jdk-headless || return 1
  command -v mvn >/dev/null || rn_apt maven || return 1
  command -v java >/dev/null && command -v mvn >/dev/null
}

# rn_moto: moto's server (DynamoDB for KCL's leases), moto[server] $RN_MOTO_VERSION with every
# package pinned in tests/clients/kcl/moto-requirements.txt, in a venv of its own under
# $RUNNEL_CACHE (made once, reused), started on a free 127.0.0.1 port and stopped by pid at exit.
# Sets MOTO_ENDPOINT, MOTO_PID, MOTO_LOG.
RN_MOTO_VERSION=5.2.5
rn_moto() {
  local req="$RN_REPO/tests/clients/kcl/moto-requirements.txt" venv port
  venv="$(rn_cache "moto-$RN_MOTO_VERSION-$(sha256sum "$req" | cut -c1-12)")"
  if ! "$venv/bin/python" -c "import moto, flask; assert moto.__version__ == '$RN_MOTO_VERSION'" 2>/dev/null; then
    echo "clients: installing moto[server]==$RN_MOTO_VERSION into $venv"
    rm -rf "$venv"
    python3 -c "import ensurepip" 2>/dev/null || rn_apt python3-venv || return 1
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" || return 1
  fi
  port="$(rn_free_port)"
  rn_spawn moto "$venv/bin/moto_server" -H 127.0.0.1 -p "$port"
  MOTO_PID="$RN_SPAWN_PID" MOTO_LOG="$RN_SPAWN_LOG" MOTO_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "$MOTO_ENDPOINT/moto-api/" && return 0
    kill -0 "$MOTO_PID" 2>/dev/null || { echo "moto exited:" >&2; cat "$MOTO_LOG" >&2; return 1; }
    sleep 0.2
  done
  echo "moto did not answer in 20 s" >&2
  return 1
}

# rn_mvn STAMP POM [MVN_ARGS...]: package a suite's Maven program; the local repository is
# $RUNNEL_CACHE/m2, offline once this pom (by hash) has built there under the name STAMP. Sets
# RN_MVN_CP to the program's dependency class path (its own jar is under the pom's target dir).
rn_mvn() {
  local name="$1" pom="$2" m2 stamp cpfile
  shift 2
  m2="$(rn_cache m2)"
  local args=(-q -B -Dmaven.repo.local="$m2" -f "$pom" "$@")
  stamp="$m2/.runnel-$name-$(sha256sum "$pom" | cut -c1-16)"
  [ -f "$stamp" ] && args+=(-o)
  cpfile="$(mktemp /tmp/runnel-mvn-cp-XXXXXX)"
  if ! nice mvn "${args[@]}" package dependency:build-classpath -Dmdep.outputFile="$cpfile"; then
    rm -f "$cpfile"
    return 1
  fi
  touch "$stamp"
  RN_MVN_CP="$(cat "$cpfile")"
  rm -f "$cpfile"
}
