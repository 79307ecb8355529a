#!/usr/bin/env bash
# tests/clients/boto3/run.sh: boto3's subscribe_to_shard (HTTP/1.1 chunked event stream) against
# runnel. Uses python3's boto3 when it has one; otherwise installs requirements.txt (boto3 and its
# dependencies, every version pinned) from PyPI into a venv cached under $RUNNEL_CACHE/boto3 (and
# fails loudly if it cannot).
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
REQ_SUM="$(sha256sum "$HERE/requirements.txt" | cut -c1-12)"
LIFETIME_MS=3000

PY=python3
if ! "$PY" -c 'import boto3' 2>/dev/null; then
  venv="$(rn_cache boto3)/venv-$REQ_SUM"
  if ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    rm -rf "$venv"
    python3 -c "import ensurepip" 2>/dev/null || rn_apt python3-venv
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  fi
  PY="$venv/bin/python"
fi
"$PY" -c 'import boto3, botocore; print(f"# boto3 {boto3.__version__}, botocore {botocore.__version__}")'

rn_start --subscription-lifetime "$LIFETIME_MS" --consumer-delay 0 --update-stream-delay 0
"$PY" "$HERE/subscribe.py" "$RN_ENDPOINT" "$LIFETIME_MS"
