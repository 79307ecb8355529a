#!/usr/bin/env bash
# The AWS SDK for Rust (aws-sdk-kinesis from crates.io, pinned in Cargo.toml/Cargo.lock) against
# runnel: the record path with typed errors, SubscribeToShard over HTTP/2 (prior knowledge) and
# over HTTP/1.1, and verified mode (--credentials). Compiled dependencies are kept in
# $RUNNEL_CACHE/cargo-target/rust-client; crates in CARGO_HOME (~/.cargo).
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

command -v cargo >/dev/null || { echo "FAIL: cargo not found (install Rust: rustup or Debian's cargo)" >&2; exit 1; }
export CARGO_TARGET_DIR="$(rn_cache cargo-target)/rust-client"
t0=$(date +%s)
(cd "$HERE" && nice cargo build --locked --quiet)
echo "cargo build (debug): $(( $(date +%s) - t0 )) s"
BIN="$CARGO_TARGET_DIR/debug/runnel-rust-client"

# 1. record path and typed errors (the test clock ages an iterator past its 5 minutes)
rn_start --in-memory --enable-test-clock
RN_ENDPOINT="$RN_ENDPOINT" "$BIN" records

# 2. SubscribeToShard, ended by a short lifetime: HTTP/2 with prior knowledge, then HTTP/1.1
rn_start --in-memory --subscription-lifetime 3000
RN_ENDPOINT="$RN_ENDPOINT" "$BIN" subscribe h2
rn_start --in-memory --subscription-lifetime 3000
RN_ENDPOINT="$RN_ENDPOINT" "$BIN" subscribe h1   # the SDK's usual transport to an http:// endpoint

# 3. verified mode: one identity allowed everything, one denied PutRecord
creds="$(rn_tmpdir)/credentials.json"
cat >"$creds" <<'JSON'
{"identities": [
 {"access_key_id": "AKIARUSTCLIENT000001", "secret_access_key": "rust-client-secret-key-00000000000000001",
  "account_id": "123456789012", "arn": "arn:aws:iam::123456789012:user/rust-writer",
  "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}]},
 {"access_key_id": "AKIARUSTCLIENT000002", "secret_access_key": "rust-client-secret-key-00000000000000002",
  "account_id": "123456789012", "arn": "arn:aws:iam::123456789012:user/rust-no-put",
  "policies": [{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"},
    {"Effect": "Deny", "Action": "kinesis:PutRecord", "Resource": "*"}]}]}]}
JSON
rn_start --in-memory --credentials "$creds"
RN_ENDPOINT="$RN_ENDPOINT" RN_KEY=AKIARUSTCLIENT000001 RN_SECRET=rust-client-secret-key-00000000000000001 \
  RN_DENY_KEY=AKIARUSTCLIENT000002 RN_DENY_SECRET=rust-client-secret-key-00000000000000002 "$BIN" verified
echo "rust client: all checks passed"
