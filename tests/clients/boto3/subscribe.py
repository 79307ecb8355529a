"""boto3's subscribe_to_shard against runnel (HTTP/1.1: botocore speaks no HTTP/2).

Reads records put before and during the subscription from the EventStream, checks the
continuation sequence numbers, the end of the stream at runnel's --subscription-lifetime,
a resumed subscription (AFTER_SEQUENCE_NUMBER), ChildShards at the end of a split shard, and that
the client's connections stay usable afterwards. Usage: subscribe.py ENDPOINT LIFETIME_MS
"""
import sys
import time

import boto3
from botocore.config import Config

endpoint, lifetime_ms = sys.argv[1], int(sys.argv[2])
kinesis = boto3.client(
    "kinesis", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
    config=Config(retries={"max_attempts": 1}, read_timeout=30))


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAIL: {what}")
    print(f"ok - {what}")


name = f"boto3-efo-{int(time.time() * 1000)}"
kinesis.create_stream(StreamName=name, ShardCount=1)
kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="py")["Consumer"]
while kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"][
        "ConsumerStatus"] != "ACTIVE":
    time.sleep(0.1)
shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]

before = [f"before-{i}".encode() for i in range(3)]
seqs = [kinesis.put_record(StreamName=name, PartitionKey=f"k{i}", Data=d)["SequenceNumber"]
        for i, d in enumerate(before)]

t0 = time.monotonic()
resp = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId=shard,
                                  StartingPosition={"Type": "TRIM_HORIZON"})
check(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, "subscribe_to_shard answers 200")
during = [f"during-{i}".encode() for i in range(5)]
got, events, put_during = [], [], False
for event in resp["EventStream"]:
    ev = event["SubscribeToShardEvent"]
    events.append(ev)
    got.extend(ev["Records"])
    if not put_during and len(got) >= len(before):
        put_during = True
        for i, d in enumerate(during):
            seqs.append(kinesis.put_record(StreamName=name, PartitionKey=f"d{i}", Data=d)["SequenceNumber"])
took = time.monotonic() - t0

check([r["Data"] for r in got] == before + during, "records put before and during arrive in order")
check([r["SequenceNumber"] for r in got] == seqs, "with the sequence numbers PutRecord returned")
check(all(r["PartitionKey"] for r in got) and all("ApproximateArrivalTimestamp" in r for r in got),
      "records carry PartitionKey and ApproximateArrivalTimestamp")
check(all("ContinuationSequenceNumber" in e and "MillisBehindLatest" in e for e in events),
      f"{len(events)} events, each with ContinuationSequenceNumber and MillisBehindLatest")
check(events[-1]["ContinuationSequenceNumber"] == seqs[-1], "the last continuation is the last record")
check(lifetime_ms / 1000 - 0.2 <= took < lifetime_ms / 1000 + 2.0,
      f"the stream ends at the lifetime ({took:.2f} s, lifetime {lifetime_ms / 1000:.1f} s)")

# The connections are still good; a resumed subscription continues after the last record.
time.sleep(1.1)  # one SubscribeToShard per second per consumer and shard
kinesis.put_record(StreamName=name, PartitionKey="after", Data=b"after")
resp = kinesis.subscribe_to_shard(
    ConsumerARN=consumer["ConsumerARN"], ShardId=shard,
    StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": events[-1]["ContinuationSequenceNumber"]})
stream = resp["EventStream"]
again = []
for event in stream:
    again.extend(r["Data"] for r in event["SubscribeToShardEvent"]["Records"])
    if again:
        break
stream.close()
check(again == [b"after"], "AFTER_SEQUENCE_NUMBER of the continuation resumes with the next record")

# A split ends the parent's subscription with ChildShards and no continuation.
time.sleep(1.1)
resp = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId=shard,
                                  StartingPosition={"Type": "LATEST"})
last, split = None, False
for event in resp["EventStream"]:
    last = event["SubscribeToShardEvent"]
    if not split:
        split = True
        kinesis.split_shard(StreamName=name, ShardToSplit=shard, NewStartingHashKey=str(2 ** 127))
check(last is not None and "ContinuationSequenceNumber" not in last and
      [c["ShardId"] for c in last.get("ChildShards", [])] == ["shardId-000000000001", "shardId-000000000002"],
      "a split shard's stream ends with ChildShards and no continuation")
check(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamName"] == name,
      "the client works after the event streams")
print("boto3 subscribe_to_shard: all ok")
