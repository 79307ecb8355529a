#!/usr/bin/env python3
"""test_auth_boto3.py: verified mode (--credentials FILE) driven by boto3 and the AWS CLI.

Run: RUNNEL_BIN=build/runnel python3 tests/integration/test_auth_boto3.py
With the right secret both work; with a wrong one both get InvalidSignatureException in AWS's
words, and an unknown key UnrecognizedClientException. Prints one line per test and a final
"N passed, N failed" line; exits non-zero on any failure. Reuses test_cli_boto3.py's harness.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli_boto3 as base  # noqa: E402  (re-execs under /usr/bin/python3 when boto3 is missing)
from test_cli_boto3 import ClientError, Config, boto3, eq, expect_client_error, ok  # noqa: E402,F401

ACCT = "123456789012"
REGION = "us-east-1"
KEY, SECRET = "AKIDPYTHON00000001", "py/secret+key"
BAD_SIG = ("The request signature we calculated does not match the signature you provided. Check your AWS "
           "Secret Access Key and signing method. Consult the service documentation for details.")
BAD_TOKEN = "The security token included in the request is invalid."
IDENTITIES = {"identities": [{
    "access_key_id": KEY, "secret_access_key": SECRET, "account_id": ACCT,
    "arn": "arn:aws:iam::%s:user/py" % ACCT,
    "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}],
}]}

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def client(endpoint, key=KEY, secret=SECRET):
    return boto3.client(
        "kinesis", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30))


def aws(ctx, secret, *args):
    env = dict(ctx["aws_env"], AWS_SECRET_ACCESS_KEY=secret)
    cmd = ["aws", "--endpoint-url", ctx["endpoint"], "--output", "json", "kinesis"] + list(args)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)


@test
def boto3_right_secret(ctx):
    c = client(ctx["endpoint"])
    c.create_stream(StreamName="py-auth", ShardCount=1)
    c.get_waiter("stream_exists").wait(StreamName="py-auth", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    d = c.describe_stream_summary(StreamName="py-auth")["StreamDescriptionSummary"]
    eq(d["StreamARN"], "arn:aws:kinesis:%s:%s:stream/py-auth" % (REGION, ACCT), "ARN in the identity's account")
    p = c.put_record(StreamName="py-auth", PartitionKey="k", Data=b"signed")
    it = c.get_shard_iterator(StreamName="py-auth", ShardId=p["ShardId"], ShardIteratorType="TRIM_HORIZON")
    eq(c.get_records(ShardIterator=it["ShardIterator"])["Records"][0]["Data"], b"signed", "record")


@test
def boto3_wrong_secret_and_unknown_key(ctx):
    expect_client_error(lambda: client(ctx["endpoint"], secret="wrong").list_streams(), "InvalidSignatureException", BAD_SIG)
    expect_client_error(lambda: client(ctx["endpoint"], key="AKIDNOBODY00000001").list_streams(),
                        "UnrecognizedClientException", BAD_TOKEN)


@test
def cli_right_and_wrong_secret(ctx):
    p = aws(ctx, SECRET, "list-streams")
    ok(p.returncode == 0, "aws kinesis list-streams with the right secret: %s" % p.stderr)
    ok("py-auth" in json.loads(p.stdout)["StreamNames"], p.stdout)
    p = aws(ctx, "wrong", "list-streams")
    ok(p.returncode in (254, 255), "exit code for a service error, got %d" % p.returncode)
    ok("InvalidSignatureException" in p.stderr and BAD_SIG in p.stderr, "stderr: %s" % p.stderr)


def main():
    if not os.path.exists(base.RUNNEL_BIN):
        print("runnel binary not found at %s (set RUNNEL_BIN)" % base.RUNNEL_BIN)
        print("0 passed, 1 failed")
        return 1
    home = tempfile.mkdtemp(prefix="runnel-awsauth-")
    creds = os.path.join(home, "runnel-credentials.json")
    with open(creds, "w") as f:
        json.dump(IDENTITIES, f)
    aws_env = dict(os.environ)
    aws_env.update({
        "AWS_ACCESS_KEY_ID": KEY, "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
        "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
    })
    aws_env.pop("AWS_PROFILE", None)
    aws_env.pop("AWS_SESSION_TOKEN", None)
    passed = failed = 0
    srv = None
    try:
        srv = base.Runnel(["--credentials", creds])
        ctx = {"endpoint": srv.endpoint, "aws_env": aws_env}
        for fn in TESTS:
            t0 = time.time()
            try:
                fn(ctx)
                passed += 1
                print("ok   %s (%.1fs)" % (fn.__name__, time.time() - t0))
            except Exception:  # noqa: BLE001
                failed += 1
                print("FAIL %s\n%s" % (fn.__name__, traceback.format_exc()))
            sys.stdout.flush()
    except Exception:  # noqa: BLE001
        failed += 1
        print("FAIL setup\n%s" % traceback.format_exc())
    finally:
        if srv is not None:
            rc = srv.stop()
            if rc != 0:
                print("# runnel exited with %s after SIGTERM; stderr tail:\n%s" % (rc, srv.stderr()))
        shutil.rmtree(home, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
