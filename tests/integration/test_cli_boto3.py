#!/usr/bin/env python3
"""test_cli_boto3.py: runnel driven by boto3 and by the AWS CLI (JSON 1.1 over HTTP/1.1).

Run: RUNNEL_BIN=build/runnel python3 tests/integration/test_cli_boto3.py
Prints one line per test and a final "N passed, N failed" line; exits non-zero on any failure.

boto3 comes from the python3 running this file; if it has none, the script re-runs itself under
/usr/bin/python3 (Debian's python3-boto3). The CLI is `aws` on PATH (v1 takes --data as raw text;
v2 needs --cli-binary-format raw-in-base64-out, added when `aws --version` says aws-cli/2).
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError, WaiterError
except ImportError:
    alt = "/usr/bin/python3"
    if os.environ.get("RUNNEL_TEST_REEXEC") != "1" and os.path.realpath(sys.executable) != os.path.realpath(alt) \
            and os.path.exists(alt) \
            and subprocess.run([alt, "-c", "import boto3"], capture_output=True).returncode == 0:
        os.environ["RUNNEL_TEST_REEXEC"] = "1"
        os.execv(alt, [alt, os.path.abspath(__file__)] + sys.argv[1:])
    print("boto3 is not installed for %s nor for %s (apt-get install python3-boto3)" % (sys.executable, alt))
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
RUNNEL_BIN = os.path.abspath(os.path.join(REPO_ROOT, os.environ.get("RUNNEL_BIN", "build/runnel")))
ACCOUNT = "000000000000"
REGION = "us-east-1"
SEQ_LEN = 56


class Runnel:
    """A runnel process on a free loopback port with a temp data dir; stop() by pid."""

    def __init__(self, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="runnel-py-")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.data_dir = os.path.join(self.dir, "data")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNEL_")}
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [RUNNEL_BIN, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data-dir", self.data_dir]
            + list(extra_args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr_file, cwd=self.dir, env=env)
        self.endpoint = None
        found = threading.Event()

        def reader():
            for raw in self.proc.stdout:  # keeps draining stdout for the process's whole life
                line = raw.decode("utf-8", "replace")
                if self.endpoint is None and "http://127.0.0.1:" in line:
                    i = line.index("http://127.0.0.1:")
                    j = i + len("http://127.0.0.1:")
                    while j < len(line) and line[j].isdigit():
                        j += 1
                    self.endpoint = line[i:j]
                    found.set()
            found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(15) or self.endpoint is None:
            self.stop()
            raise RuntimeError("runnel did not print its endpoint; stderr: %s" % self.stderr())

    def stderr(self):
        if getattr(self, "final_stderr", None) is not None:
            return self.final_stderr
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.stderr_file.close()
        self.final_stderr = self.stderr()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


# ---------------------------------------------------------------- test registry and runner
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (what, b, a))


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_client_error(fn, code, message=None, status=400):
    try:
        fn()
    except ClientError as e:
        err = e.response["Error"]
        eq(err.get("Code"), code, "error code")
        if message is not None:
            eq(err.get("Message"), message, "error message")
        eq(e.response["ResponseMetadata"]["HTTPStatusCode"], status, "HTTP status")
        ok(e.response["ResponseMetadata"].get("RequestId"), "request id present")
        return e
    raise AssertionError("expected %s, call succeeded" % code)


def hash_ranges(n):
    w = (1 << 128) // n
    return [(str(i * w), str((1 << 128) - 1 if i == n - 1 else (i + 1) * w - 1)) for i in range(n)]


# ---------------------------------------------------------------- boto3
def client(endpoint):
    return boto3.client(
        "kinesis", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30))


@test
def boto3_create_wait_describe_list(ctx):
    k = ctx["kin"]
    name = "py-boto3-a"
    resp = k.create_stream(StreamName=name, ShardCount=3)
    eq(resp["ResponseMetadata"]["HTTPStatusCode"], 200, "CreateStream status")
    t0 = time.time()
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 2})
    ok(time.time() - t0 < 5, "stream_exists waiter succeeded on its first poll (stream ACTIVE at once)")
    d = k.describe_stream(StreamName=name)["StreamDescription"]
    eq(d["StreamName"], name, "StreamName")
    eq(d["StreamARN"], "arn:aws:kinesis:%s:%s:stream/%s" % (REGION, ACCOUNT, name), "StreamARN")
    eq(d["StreamStatus"], "ACTIVE", "StreamStatus")
    eq(d["RetentionPeriodHours"], 24, "RetentionPeriodHours")
    eq(d["HasMoreShards"], False, "HasMoreShards")
    eq(d.get("EncryptionType"), "NONE", "EncryptionType")
    ok(abs(d["StreamCreationTimestamp"].timestamp() - time.time()) < 120, "StreamCreationTimestamp near now")
    eq([s["ShardId"] for s in d["Shards"]], ["shardId-%012d" % i for i in range(3)], "shard ids")
    eq([(s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in d["Shards"]],
       hash_ranges(3), "hash ranges")
    for s in d["Shards"]:
        seq = s["SequenceNumberRange"]["StartingSequenceNumber"]
        ok(seq.isdigit() and len(seq) == SEQ_LEN, "StartingSequenceNumber has 56 digits: %s" % seq)
    ls = k.list_streams()
    ok(name in ls["StreamNames"], "ListStreams lists the stream")
    eq(ls["HasMoreStreams"], False, "HasMoreStreams")
    shards = k.list_shards(StreamName=name)["Shards"]
    eq([s["ShardId"] for s in shards], [s["ShardId"] for s in d["Shards"]], "ListShards ids")
    summ = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    eq(summ["OpenShardCount"], 3, "OpenShardCount")


@test
def boto3_paginators(ctx):
    k = ctx["kin"]
    name = "py-boto3-pages"
    k.create_stream(StreamName=name, ShardCount=5)
    for n in ("py-boto3-p1", "py-boto3-p2"):
        k.create_stream(StreamName=n, ShardCount=1)
    # DescribeStream paginator: ExclusiveStartShardId = last ShardId, until HasMoreShards is false.
    ids = []
    for page in k.get_paginator("describe_stream").paginate(StreamName=name, PaginationConfig={"PageSize": 2}):
        ids += [s["ShardId"] for s in page["StreamDescription"]["Shards"]]
    eq(ids, ["shardId-%012d" % i for i in range(5)], "DescribeStream paginator")
    names = []
    for page in k.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 1}):
        names += page["StreamNames"]
    eq(names, k.list_streams()["StreamNames"], "ListStreams paginator with PageSize 1")
    ok(len(names) >= 3, "several streams listed")


@test
def boto3_put_get_records(ctx):
    k = ctx["kin"]
    name = "py-boto3-rec"
    k.create_stream(StreamName=name, ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    payload = bytes(range(256))
    r = k.put_record(StreamName=name, PartitionKey="pk", Data=payload)
    eq(r["ShardId"], "shardId-000000000000", "ShardId")
    ok(r["SequenceNumber"].isdigit() and len(r["SequenceNumber"]) == SEQ_LEN, "56-digit sequence number")
    rs = k.put_records(StreamName=name, Records=[{"PartitionKey": "p%d" % i, "Data": b"rec-%d" % i} for i in range(10)])
    eq(rs["FailedRecordCount"], 0, "FailedRecordCount")
    eq(len(rs["Records"]), 10, "PutRecords results")
    seqs = [int(x["SequenceNumber"]) for x in rs["Records"]]
    ok(all(a < b for a, b in zip([int(r["SequenceNumber"])] + seqs, seqs)), "sequence numbers increase")
    it = k.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = k.get_records(ShardIterator=it, Limit=100)
    eq([x["Data"] for x in got["Records"]], [payload] + [b"rec-%d" % i for i in range(10)], "records read back")
    eq([x["PartitionKey"] for x in got["Records"]], ["pk"] + ["p%d" % i for i in range(10)], "partition keys")
    ok(isinstance(got["MillisBehindLatest"], int) and got["MillisBehindLatest"] >= 0, "MillisBehindLatest")
    ok(got.get("NextShardIterator"), "NextShardIterator")
    after = k.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                 ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                 StartingSequenceNumber=rs["Records"][8]["SequenceNumber"])["ShardIterator"]
    eq([x["Data"] for x in k.get_records(ShardIterator=after)["Records"]], [b"rec-9"], "AFTER_SEQUENCE_NUMBER")


@test
def boto3_errors_and_delete(ctx):
    k = ctx["kin"]
    expect_client_error(lambda: k.describe_stream(StreamName="nope"), "ResourceNotFoundException",
                        "Stream nope under account 000000000000 not found.")
    name = "py-boto3-del"
    k.create_stream(StreamName=name, ShardCount=1)
    expect_client_error(lambda: k.create_stream(StreamName=name, ShardCount=1), "ResourceInUseException",
                        "Stream %s under account %s already exists." % (name, ACCOUNT))
    expect_client_error(lambda: k.get_records(ShardIterator="garbage"), "InvalidArgumentException",
                        "Invalid ShardIterator.")
    k.delete_stream(StreamName=name)
    t0 = time.time()
    k.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 2})
    ok(time.time() - t0 < 5, "stream_not_exists waiter succeeded on its first poll")


# ---------------------------------------------------------------- AWS CLI
def aws(ctx, *args, check=True):
    cmd = ["aws", "--endpoint-url", ctx["endpoint"], "--output", "json", "kinesis"] + list(args)
    p = subprocess.run(cmd, env=ctx["aws_env"], capture_output=True, text=True, timeout=90)
    if check and p.returncode != 0:
        raise AssertionError("%s -> exit %d\nstdout: %s\nstderr: %s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def aws_json(ctx, *args):
    out = aws(ctx, *args).stdout
    return json.loads(out) if out.strip() else {}


@test
def cli_full_cycle(ctx):
    name = "py-cli-stream"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "2")
    t0 = time.time()
    aws(ctx, "wait", "stream-exists", "--stream-name", name)
    ok(time.time() - t0 < 8, "wait stream-exists returned at once")
    d = aws_json(ctx, "describe-stream", "--stream-name", name)["StreamDescription"]
    eq(d["StreamStatus"], "ACTIVE", "StreamStatus")
    eq(len(d["Shards"]), 2, "shard count")
    eq(d["StreamARN"], "arn:aws:kinesis:%s:%s:stream/%s" % (REGION, ACCOUNT, name), "StreamARN")
    ok(name in aws_json(ctx, "list-streams")["StreamNames"], "list-streams")
    shards = aws_json(ctx, "list-shards", "--stream-name", name)["Shards"]
    eq([s["ShardId"] for s in shards], ["shardId-000000000000", "shardId-000000000001"], "list-shards")
    binfmt = ["--cli-binary-format", "raw-in-base64-out"] if ctx["cli_v2"] else []
    # Pin the record to shard 0 so the read below knows where to look.
    r = aws_json(ctx, "put-record", "--stream-name", name, "--partition-key", "cli-key",
                 "--explicit-hash-key", "0", "--data", "hello from the cli", *binfmt)
    eq(r["ShardId"], "shardId-000000000000", "put-record ShardId")
    ok(r["SequenceNumber"].isdigit() and len(r["SequenceNumber"]) == SEQ_LEN, "put-record SequenceNumber")
    recs = json.dumps([{"PartitionKey": "k%d" % i, "Data": "batch-%d" % i, "ExplicitHashKey": "1"} for i in range(3)])
    pr = aws_json(ctx, "put-records", "--stream-name", name, "--records", recs, *binfmt)
    eq(pr["FailedRecordCount"], 0, "put-records FailedRecordCount")
    eq([x["ShardId"] for x in pr["Records"]], ["shardId-000000000000"] * 3, "put-records shards")
    it = aws_json(ctx, "get-shard-iterator", "--stream-name", name, "--shard-id", "shardId-000000000000",
                  "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    got = aws_json(ctx, "get-records", "--shard-iterator", it)
    datas = [base64.b64decode(x["Data"]).decode() for x in got["Records"]]
    eq(datas, ["hello from the cli", "batch-0", "batch-1", "batch-2"], "get-records data")
    eq(got["Records"][0]["SequenceNumber"], r["SequenceNumber"], "sequence number round-trip")
    aws(ctx, "delete-stream", "--stream-name", name)
    p = aws(ctx, "describe-stream", "--stream-name", name, check=False)
    ok(p.returncode != 0, "describe-stream after delete fails")


@test
def cli_error_exit_code_and_message(ctx):
    p = aws(ctx, "describe-stream", "--stream-name", "nope", check=False)
    ok(p.returncode in (254, 255), "CLI exit code for a service error is 254/255, got %d" % p.returncode)
    ok("ResourceNotFoundException" in p.stderr, "stderr names the error: %s" % p.stderr)
    ok("Stream nope under account 000000000000 not found." in p.stderr, "stderr has the message: %s" % p.stderr)
    p = aws(ctx, "create-stream", "--stream-name", "py-cli-zero", "--shard-count", "0", check=False)
    ok(p.returncode != 0, "ShardCount 0 rejected")
    ok("ValidationException" in p.stderr or "Invalid value for parameter" in p.stderr, "validation error: %s" % p.stderr)


def main():
    if not os.path.exists(RUNNEL_BIN):
        print("runnel binary not found at %s (set RUNNEL_BIN)" % RUNNEL_BIN)
        print("0 passed, 1 failed")
        return 1
    ver = subprocess.run(["aws", "--version"], capture_output=True, text=True)
    version_text = (ver.stdout + ver.stderr).strip()
    print("# %s; boto3 %s under %s" % (version_text, boto3.__version__, sys.executable))
    home = tempfile.mkdtemp(prefix="runnel-awscfg-")
    aws_env = dict(os.environ)
    aws_env.update({
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
        "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
    })
    aws_env.pop("AWS_PROFILE", None)
    aws_env.pop("AWS_SESSION_TOKEN", None)
    passed = failed = 0
    srv = None
    try:
        srv = Runnel()
        ctx = {"endpoint": srv.endpoint, "kin": client(srv.endpoint), "aws_env": aws_env,
               "cli_v2": version_text.startswith("aws-cli/2")}
        for fn in TESTS:
            t0 = time.time()
            try:
                fn(ctx)
                passed += 1
                print("ok   %s (%.1fs)" % (fn.__name__, time.time() - t0))
            except Exception:  # noqa: BLE001 — report every failure and go on
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
