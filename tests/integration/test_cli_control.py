#!/usr/bin/env python3
"""test_cli_control.py: the control plane through the AWS CLI (JSON 1.1 over HTTP/1.1):
retention, tags (stream- and ARN-scoped), enhanced monitoring, limits, account settings,
stream mode, record size, resource policies, and accounts chosen by the access key.

Run: RUNNEL_BIN=build/runnel python3 tests/integration/test_cli_control.py
Prints one line per test and a final "N passed, N failed" line; exits non-zero on any failure.
Reuses the server launcher and assertions of test_cli_boto3.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_boto3 import ACCOUNT, REGION, RUNNEL_BIN, Runnel, eq, ok  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def aws(ctx, *args, check=True, key=None, region=None):
    env = dict(ctx["aws_env"])
    if key:
        env["AWS_ACCESS_KEY_ID"] = key
    if region:
        env["AWS_DEFAULT_REGION"] = region
    cmd = ["aws", "--endpoint-url", ctx["endpoint"], "--output", "json", "kinesis"] + list(args)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)
    if check and p.returncode != 0:
        raise AssertionError("%s -> exit %d\nstdout: %s\nstderr: %s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def aws_json(ctx, *args, **kw):
    out = aws(ctx, *args, **kw).stdout
    return json.loads(out) if out.strip() else {}


def aws_error(ctx, code, message, *args, **kw):
    p = aws(ctx, *args, check=False, **kw)
    ok(p.returncode in (254, 255), "exit code %d for %s" % (p.returncode, args[0]))
    ok(code in p.stderr, "stderr names %s: %s" % (code, p.stderr))
    ok(message in p.stderr, "stderr has %r: %s" % (message, p.stderr))


def arn(name, region=REGION, account=ACCOUNT):
    return "arn:aws:kinesis:%s:%s:stream/%s" % (region, account, name)


@test
def cli_retention(ctx):
    name = "cli-ret"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "1")
    aws(ctx, "increase-stream-retention-period", "--stream-name", name, "--retention-period-hours", "72")
    d = aws_json(ctx, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    eq(d["RetentionPeriodHours"], 72, "retention")
    aws_error(ctx, "InvalidArgumentException",
              "Requested retention period (100 hours) for stream cli-ret can not be longer than existing "
              "retention period (72 hours). Use IncreaseRetentionPeriod API.",
              "decrease-stream-retention-period", "--stream-name", name, "--retention-period-hours", "100")
    aws_error(ctx, "InvalidArgumentException",
              "Maximum allowed retention period is 8760 hours. Requested retention period (9999 hours) is too long.",
              "increase-stream-retention-period", "--stream-name", name, "--retention-period-hours", "9999")
    aws(ctx, "decrease-stream-retention-period", "--stream-name", name, "--retention-period-hours", "24")
    eq(aws_json(ctx, "describe-stream", "--stream-name", name)["StreamDescription"]["RetentionPeriodHours"], 24, "retention")


@test
def cli_tags(ctx):
    name = "cli-tags"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "1")
    aws(ctx, "add-tags-to-stream", "--stream-name", name, "--tags", "team=data,env=dev")
    r = aws_json(ctx, "list-tags-for-stream", "--stream-name", name)
    eq(r, {"Tags": [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}], "HasMoreTags": False}, "tags")
    r = aws_json(ctx, "list-tags-for-stream", "--stream-name", name, "--limit", "1")
    eq(r["HasMoreTags"], True, "HasMoreTags")
    aws(ctx, "remove-tags-from-stream", "--stream-name", name, "--tag-keys", "env")
    aws(ctx, "tag-resource", "--resource-arn", arn(name), "--tags", "owner=me")
    r = aws_json(ctx, "list-tags-for-resource", "--resource-arn", arn(name))
    eq(r, {"Tags": [{"Key": "owner", "Value": "me"}, {"Key": "team", "Value": "data"}]}, "resource tags")
    aws(ctx, "untag-resource", "--resource-arn", arn(name), "--tag-keys", "owner")
    aws_error(ctx, "InvalidArgumentException", "Some tags contain invalid characters.",
              "add-tags-to-stream", "--stream-name", name, "--tags", '{"bad#key": "1"}')
    eq(aws_json(ctx, "list-tags-for-stream", "--stream-name", name)["Tags"], [{"Key": "team", "Value": "data"}], "unchanged")


@test
def cli_monitoring_limits_settings(ctx):
    name = "cli-mon"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "2")
    r = aws_json(ctx, "enable-enhanced-monitoring", "--stream-name", name, "--shard-level-metrics", "ALL")
    eq(len(r["DesiredShardLevelMetrics"]), 7, "ALL expands to seven")
    r = aws_json(ctx, "disable-enhanced-monitoring", "--stream-name", name, "--shard-level-metrics", "IncomingBytes")
    eq(len(r["DesiredShardLevelMetrics"]), 6, "one disabled")
    lim = aws_json(ctx, "describe-limits")
    eq(lim["ShardLimit"], 500, "ShardLimit")
    eq(lim["OnDemandStreamCountLimit"], 50, "OnDemandStreamCountLimit")
    ok(lim["OpenShardCount"] >= 2, "OpenShardCount")
    s = aws_json(ctx, "describe-account-settings")
    eq(s["MinimumThroughputBillingCommitment"]["Status"], "DISABLED", "commitment")


@test
def cli_mode_and_record_size(ctx):
    name = "cli-mode"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "3")
    aws(ctx, "update-stream-mode", "--stream-arn", arn(name), "--stream-mode-details", "StreamMode=ON_DEMAND")
    d = aws_json(ctx, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    eq(d["StreamModeDetails"], {"StreamMode": "ON_DEMAND"}, "mode")
    eq(d["OpenShardCount"], 3, "shards stay")
    p = aws(ctx, "update-max-record-size", "--stream-arn", arn(name), "--max-record-size-in-ki-b", "4096", check=False)
    if p.returncode == 0:
        eq(aws_json(ctx, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]["MaxRecordSizeInKiB"],
           4096, "MaxRecordSizeInKiB")
    else:  # an older CLI without the 2025 operation
        ok("Invalid choice" in p.stderr or "invalid choice" in p.stderr, "update-max-record-size: %s" % p.stderr)


@test
def cli_resource_policy(ctx):
    name = "cli-pol"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "1")
    eq(aws_json(ctx, "get-resource-policy", "--resource-arn", arn(name)), {"Policy": "{}"}, "no policy")
    pol = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}]}'
    aws(ctx, "put-resource-policy", "--resource-arn", arn(name), "--policy", pol)
    eq(aws_json(ctx, "get-resource-policy", "--resource-arn", arn(name))["Policy"], pol, "policy verbatim")
    aws_error(ctx, "InvalidArgumentException", "Invalid policy document: Policy is not valid JSON.",
              "put-resource-policy", "--resource-arn", arn(name), "--policy", "{nope")
    aws(ctx, "delete-resource-policy", "--resource-arn", arn(name))
    aws_error(ctx, "ResourceNotFoundException", "No resource policy found for resource %s." % arn(name),
              "delete-resource-policy", "--resource-arn", arn(name))


@test
def cli_accounts(ctx):
    aws(ctx, "create-stream", "--stream-name", "cli-acct", "--shard-count", "1", key="123456789012", region="eu-west-1")
    d = aws_json(ctx, "describe-stream-summary", "--stream-name", "cli-acct",
                 key="123456789012", region="eu-west-1")["StreamDescriptionSummary"]
    eq(d["StreamARN"], arn("cli-acct", "eu-west-1", "123456789012"), "ARN names account and region")
    aws_error(ctx, "ResourceNotFoundException", "Stream cli-acct under account 000000000000 not found.",
              "describe-stream", "--stream-name", "cli-acct", region="eu-west-1")
    names = aws_json(ctx, "list-streams", key="123456789012", region="us-east-1")["StreamNames"]
    eq(names, [], "other region of the same account is empty")


_CLI_COMMANDS = None


def cli_has(command):
    """Whether the installed AWS CLI knows `aws kinesis <command>` (from `aws kinesis help`)."""
    global _CLI_COMMANDS
    if _CLI_COMMANDS is None:
        p = subprocess.run(["aws", "kinesis", "help"], capture_output=True, text=True, timeout=90,
                           env=dict(os.environ, AWS_PAGER="", PAGER="cat", MANPAGER="cat"))
        text = re.sub(r".\x08", "", p.stdout)  # the man-page overstrike of bold text
        text = text.split("AVAILABLE COMMANDS", 1)[-1]
        _CLI_COMMANDS = set(re.findall(r"^\s*o\s+([a-z0-9-]+)\s*$", text, re.M))
    return command in _CLI_COMMANDS


class Skip(Exception):
    pass


def need(*commands):
    missing = [c for c in commands if not cli_has(c)]
    if missing:
        raise Skip("the installed AWS CLI has no %s" % ", ".join(missing))


MAX_HASH = str(2 ** 128 - 1)


def shards(ctx, name):
    return {s["ShardId"]: s for s in aws_json(ctx, "list-shards", "--stream-name", name)["Shards"]}


@test
def cli_resharding(ctx):
    need("split-shard", "merge-shards", "update-shard-count", "list-shards")
    name = "cli-reshard"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "1")
    half = str(2 ** 127)
    p = aws(ctx, "split-shard", "--stream-name", name, "--shard-to-split", "shardId-000000000000",
            "--new-starting-hash-key", half)
    eq(p.stdout.strip(), "", "split-shard prints nothing")
    sh = shards(ctx, name)
    eq(sorted(sh), ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"], "split children")
    ok("EndingSequenceNumber" in sh["shardId-000000000000"]["SequenceNumberRange"], "parent closed")
    eq(sh["shardId-000000000001"]["ParentShardId"], "shardId-000000000000", "child 1 parent")
    eq(sh["shardId-000000000001"]["HashKeyRange"], {"StartingHashKey": "0", "EndingHashKey": str(2 ** 127 - 1)}, "child 1 range")
    eq(sh["shardId-000000000002"]["HashKeyRange"], {"StartingHashKey": half, "EndingHashKey": MAX_HASH}, "child 2 range")
    # bad key: not above StartingHashKey + 1; nothing changes
    aws_error(ctx, "InvalidArgumentException",
              "NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000001 in stream cli-reshard under account "
              "000000000000 is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's "
              "EndingHashKey %d." % (2 ** 127 - 1),
              "split-shard", "--stream-name", name, "--shard-to-split", "shardId-000000000001", "--new-starting-hash-key", "1")
    eq(len(shards(ctx, name)), 3, "rejected split changes nothing")
    p = aws(ctx, "merge-shards", "--stream-name", name, "--shard-to-merge", "shardId-000000000001",
            "--adjacent-shard-to-merge", "shardId-000000000002")
    eq(p.stdout.strip(), "", "merge-shards prints nothing")
    sh = shards(ctx, name)
    m = sh["shardId-000000000003"]
    eq((m["ParentShardId"], m["AdjacentParentShardId"]), ("shardId-000000000001", "shardId-000000000002"), "merge parents")
    eq(m["HashKeyRange"], {"StartingHashKey": "0", "EndingHashKey": MAX_HASH}, "merged range")
    r = aws_json(ctx, "update-shard-count", "--stream-name", name, "--target-shard-count", "2",
                 "--scaling-type", "UNIFORM_SCALING")
    eq((r["StreamName"], r["CurrentShardCount"], r["TargetShardCount"]), (name, 1, 2), "update-shard-count output")
    d = aws_json(ctx, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    eq(d["OpenShardCount"], 2, "open shards after update-shard-count")
    aws_error(ctx, "InvalidArgumentException", "Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short.",
              "decrease-stream-retention-period", "--stream-name", name, "--retention-period-hours", "12")


@test
def cli_encryption(ctx):
    need("start-stream-encryption", "stop-stream-encryption")
    name = "cli-enc"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "1")
    aws(ctx, "start-stream-encryption", "--stream-name", name, "--encryption-type", "KMS", "--key-id", "alias/aws/kinesis")
    d = aws_json(ctx, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    eq((d["EncryptionType"], d.get("KeyId")), ("KMS", "alias/aws/kinesis"), "encryption on")
    r = aws_json(ctx, "put-record", "--stream-name", name, "--partition-key", "k", "--data", "aGVsbG8=")
    eq(r.get("EncryptionType"), "KMS", "put-record EncryptionType")
    aws(ctx, "stop-stream-encryption", "--stream-name", name, "--encryption-type", "KMS", "--key-id", "alias/aws/kinesis")
    d = aws_json(ctx, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    eq(d["EncryptionType"], "NONE", "encryption off")


@test
def cli_account_settings_and_warm_throughput(ctx):
    # A separate account and region: the commitment is account-wide and outlives a disable by 24 h.
    need("describe-account-settings", "update-account-settings", "update-stream-warm-throughput")
    kw = {"key": "111122223333", "region": "ap-south-1"}
    name = "cli-warm"
    aws(ctx, "create-stream", "--stream-name", name, "--stream-mode-details", "StreamMode=ON_DEMAND", **kw)
    aws_error(ctx, "InvalidArgumentException",
              "Warm throughput requires MinimumThroughputBillingCommitment to be enabled for account 111122223333.",
              "update-stream-warm-throughput", "--stream-name", name, "--warm-throughput-mi-bps", "10", **kw)
    r = aws_json(ctx, "update-account-settings", "--minimum-throughput-billing-commitment", "Status=ENABLED", **kw)
    eq(r["MinimumThroughputBillingCommitment"]["Status"], "ENABLED", "commitment enabled")
    ok("EarliestAllowedEndAt" in r["MinimumThroughputBillingCommitment"], "EarliestAllowedEndAt")
    eq(aws_json(ctx, "describe-account-settings", **kw)["MinimumThroughputBillingCommitment"]["Status"], "ENABLED", "described")
    r = aws_json(ctx, "update-stream-warm-throughput", "--stream-name", name, "--warm-throughput-mi-bps", "100", **kw)
    eq(r["StreamName"], name, "warm StreamName")
    eq(r["WarmThroughput"]["TargetMiBps"], 100, "warm target")
    r = aws_json(ctx, "update-account-settings", "--minimum-throughput-billing-commitment", "Status=DISABLED", **kw)
    eq(r["MinimumThroughputBillingCommitment"]["Status"], "ENABLED_UNTIL_EARLIEST_ALLOWED_END", "disable before the minimum")


@test
def cli_update_max_record_size(ctx):
    need("update-max-record-size")
    name = "cli-size"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "1")
    p = aws(ctx, "update-max-record-size", "--stream-arn", arn(name), "--max-record-size-in-ki-b", "2048")
    eq(p.stdout.strip(), "", "update-max-record-size prints nothing")
    eq(aws_json(ctx, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]["MaxRecordSizeInKiB"],
       2048, "MaxRecordSizeInKiB")
    aws_error(ctx, "ValidationException", "maxRecordSizeInKiB",
              "update-max-record-size", "--stream-arn", arn(name), "--max-record-size-in-ki-b", "10241")


@test
def cli_consumer_arn_tags_and_policy(ctx):
    need("register-stream-consumer", "tag-resource", "untag-resource", "list-tags-for-resource",
         "put-resource-policy", "get-resource-policy", "delete-resource-policy")
    name = "cli-cons"
    aws(ctx, "create-stream", "--stream-name", name, "--shard-count", "1")
    c = aws_json(ctx, "register-stream-consumer", "--stream-arn", arn(name), "--consumer-name", "app")["Consumer"]
    carn = c["ConsumerARN"]
    aws(ctx, "tag-resource", "--resource-arn", carn, "--tags", "team=data,env=dev")
    aws(ctx, "untag-resource", "--resource-arn", carn, "--tag-keys", "env")
    eq(aws_json(ctx, "list-tags-for-resource", "--resource-arn", carn), {"Tags": [{"Key": "team", "Value": "data"}]}, "consumer tags")
    eq(aws_json(ctx, "list-tags-for-resource", "--resource-arn", arn(name)), {"Tags": []}, "stream tags separate")
    pol = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:SubscribeToShard","Resource":"*"}]}'
    aws(ctx, "put-resource-policy", "--resource-arn", carn, "--policy", pol)
    eq(aws_json(ctx, "get-resource-policy", "--resource-arn", carn), {"Policy": pol}, "consumer policy")
    aws(ctx, "delete-resource-policy", "--resource-arn", carn)
    eq(aws_json(ctx, "get-resource-policy", "--resource-arn", carn), {"Policy": "{}"}, "consumer policy deleted")
    bad = carn.rsplit(":", 1)[0] + ":1"
    aws_error(ctx, "ResourceNotFoundException", "Consumer %s, account 000000000000 not found." % bad,
              "list-tags-for-resource", "--resource-arn", bad)


def main():
    if not os.path.exists(RUNNEL_BIN):
        print("runnel binary not found at %s (set RUNNEL_BIN)" % RUNNEL_BIN)
        print("0 passed, 1 failed")
        return 1
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
    srv = Runnel()
    try:
        ctx = {"endpoint": srv.endpoint, "aws_env": aws_env}
        for fn in TESTS:
            try:
                fn(ctx)
                print("ok %s" % fn.__name__)
                passed += 1
            except Skip as e:
                print("skip %s: %s" % (fn.__name__, e))
                continue
            except Exception:
                print("FAIL %s\n%s" % (fn.__name__, traceback.format_exc()))
                failed += 1
    finally:
        rc = srv.stop()
        shutil.rmtree(home, ignore_errors=True)
        if rc not in (0, None):
            print("FAIL runnel exited with %s; stderr: %s" % (rc, srv.stderr()))
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
