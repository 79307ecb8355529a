#!/usr/bin/env bash
# deps.sh: install what building and testing runnel needs, only what is missing.
# Debian 12 packages with apt-get (as root, or through sudo); the test clients with npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libevent-dev libnghttp2-dev libjansson-dev libssl-dev
      libsqlite3-dev clang)
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

if [ "${1:-}" = "--test" ]; then
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
