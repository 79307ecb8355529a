#!/usr/bin/env bash
# The AWS SDK for Go v2 (current, from the Go module proxy; versions pinned in go.mod/go.sum)
# against runnel: the record path and typed errors over HTTP/1.1, SubscribeToShard over h2c, and
# verified mode (--credentials). Module mode, GOFLAGS=-mod=readonly; GOMODCACHE and GOCACHE under
# $RUNNEL_CACHE/go (kept between runs).
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

# go: /usr/local/go/bin/go, else go on PATH, else Debian's golang-go; go.mod needs the `go` line's
# version (no toolchain download: GOTOOLCHAIN=local).
want="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$HERE/go.mod")"
GO=""
for g in /usr/local/go/bin/go "$(command -v go || true)"; do [ -n "$g" ] && [ -x "$g" ] && { GO="$g"; break; }; done
if [ -z "$GO" ]; then
  echo "go: not found; installing Debian's golang-go"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q golang-go >/dev/null \
    || { echo "FAIL: cannot install golang-go" >&2; exit 1; }
  GO="$(command -v go)"
fi
have="$(GOTOOLCHAIN=local "$GO" env GOVERSION | sed 's/^go//')"
if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" != "$want" ]; then
  echo "FAIL: $GO is go$have; go.mod needs go >= $want (put Go >= $want at /usr/local/go)" >&2
  exit 1
fi

GOC="$(rn_cache go)"
export GOMODCACHE="$GOC/mod" GOCACHE="$GOC/build" GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0
BIN="$(rn_tmpdir)/goclient"
t0=$(date +%s)
(cd "$HERE" && "$GO" build -o "$BIN" .)
echo "go build ($("$GO" version | cut -d' ' -f3)): $(( $(date +%s) - t0 )) s"

# 1. record path and typed errors, the SDK's default HTTP/1.1 client
rn_start --in-memory
RN_ENDPOINT="$RN_ENDPOINT" "$BIN" records

# 2. SubscribeToShard over h2c, ended by a short lifetime
rn_start --in-memory --subscription-lifetime 4000
RN_ENDPOINT="$RN_ENDPOINT" "$BIN" subscribe

# 3. verified mode: one identity allowed everything, one denied PutRecord
creds="$(rn_tmpdir)/credentials.json"
cat >"$creds" <<'JSON'
{"identities": [
 {"access_key_id": "AKIAGOCLIENT00000001", "secret_access_key": "go-client-secret-key-0000000000000000001",
  "account_id": "123456789012", "arn": "arn:aws:iam::123456789012:user/go-writer",
  "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}]},
 {"access_key_id": "AKIAGOCLIENT00000002", "secret_access_key": "go-client-secret-key-0000000000000000002",
  "account_id": "123456789012", "arn": "arn:aws:iam::123456789012:user/go-no-put",
  "policies": [{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"},
    {"Effect": "Deny", "Action": "kinesis:PutRecord", "Resource": "*"}]}]}]}
JSON
rn_start --in-memory --credentials "$creds"
RN_ENDPOINT="$RN_ENDPOINT" RN_KEY=AKIAGOCLIENT00000001 RN_SECRET=go-client-secret-key-0000000000000000001 \
  RN_DENY_KEY=AKIAGOCLIENT00000002 RN_DENY_SECRET=go-client-secret-key-0000000000000000002 "$BIN" verified
echo "go client: all checks passed"
