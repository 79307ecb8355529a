#!/usr/bin/env bash
# deps.sh: install what building and testing runnel needs, only what is missing.
# Debian 12 packages with apt-get (as root, or through sudo); the test clients with npm ci.
#   scripts/deps.sh            build dependencies
#   scripts/deps.sh --test     and what `make test` needs (node modules, boto3, the AWS CLI, Go)
#   scripts/deps.sh --cluster  and what `make cluster` needs: nats-server (the version in
#                              tests/cluster/nats-server.version, built with `go install` into
#                              $RUNNEL_CACHE/nats) and Debian's libnats-dev (nats.c). Prints
#                              "nats-server: PATH" last.
set -euo pipefail
cd "$(dirname "$0")/.."

# help2man and dpkg-dev: `make deb`'s man page and Depends (scripts/deb.sh).
pkgs=(build-essential cmake pkg-config libevent-dev libnghttp2-dev libjansson-dev libssl-dev
      libsqlite3-dev libyaml-dev clang help2man dpkg-dev libcurl4-openssl-dev libinih-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--cluster" ]; then
  command -v node >/dev/null || { SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo";
    $SUDO apt-get update -q; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nodejs npm; }
  if [ ! -d node_modules/@aws-sdk/client-kinesis ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  # The AWS CLI and boto3: the python3 on PATH usually has them; Debian's packages are the fallback.
  if ! python3 -c 'import boto3' 2>/dev/null || ! command -v aws >/dev/null; then
    if ! /usr/bin/python3 -c 'import boto3' 2>/dev/null || [ ! -x /usr/bin/aws ]; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -q
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q awscli python3-boto3
    fi
  fi
  # Go itself (tests/clients/go/run.sh builds the Go SDK v2 client in module mode, its modules from
  # the Go module proxy): /usr/local/go/bin/go or a go on PATH, else Debian's golang-go.
  if [ ! -x /usr/local/go/bin/go ] && ! command -v go >/dev/null; then
    echo "deps: installing golang-go"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q golang-go
  fi
fi

if [ "${1:-}" = "--cluster" ]; then
  # nats.c, the C client a NATS store backend will link (Debian 12: 3.4.1).
  if ! dpkg-query -W -f='${Status}' libnats-dev 2>/dev/null | grep -q "install ok installed"; then
    echo "deps: installing libnats-dev"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q libnats-dev
  fi
  # nats-server: Debian's 2.9.10 is too old (docs/cluster.md), so the pinned release is built from
  # the Go module proxy with the machine's Go (its go.mod wants go >= NATS_GO_MIN; Debian 12's
  # golang-go is 1.19), module download and build caches inside the cache dir. No toolchain
  # download (GOTOOLCHAIN=local). A no-op when the binary of that version is there.
  ver="$(cat tests/cluster/nats-server.version)"
  NATS_GO_MIN=1.26.0
  dir="${RUNNEL_CACHE:-$HOME/.cache/runnel}/nats"
  bin="$dir/$ver/bin/nats-server"
  if ! [ -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "nats-server: $ver" ]; then
    GO=""
    for g in /usr/local/go/bin/go "$(command -v go || true)"; do
      [ -n "$g" ] && [ -x "$g" ] && { GO="$g"; break; }
    done
    [ -n "$GO" ] || { echo "deps: nats-server $ver needs Go >= $NATS_GO_MIN and there is no go" >&2; exit 1; }
    have="$(GOTOOLCHAIN=local "$GO" env GOVERSION | sed 's/^go//')"
    if [ "$(printf '%s\n%s\n' "$NATS_GO_MIN" "$have" | sort -V | head -1)" != "$NATS_GO_MIN" ]; then
      echo "deps: $GO is go$have; nats-server $ver needs go >= $NATS_GO_MIN (put it at /usr/local/go)" >&2
      exit 1
    fi
    echo "deps: building nats-server $ver with go$have (go install, cached in $dir)"
    mkdir -p "$dir"
    GOBIN="$dir/$ver/bin" GOPATH="$dir/gopath" GOMODCACHE="$dir/gopath/pkg/mod" GOCACHE="$dir/gocache" \
      GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 \
      nice "$GO" install "github.com/nats-io/nats-server/v2@$ver"
    [ "$("$bin" --version)" = "nats-server: $ver" ] || { echo "deps: $bin is not $ver" >&2; exit 1; }
  fi
  echo "nats-server: $bin"
fi
