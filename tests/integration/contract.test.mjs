// contract.test.mjs: deeper KINESIS_CONTRACT.md cases beyond the per-operation suite: page caps
// (100 shards per DescribeStream page, 100 streams per ListStreams page, 10 MiB per GetRecords),
// shard-ID leniency (§3.1), foreign sequence numbers (§6), quoted iterators (§3.5), stream state
// delays (§4.1), the shard limit (§4.2), --account-id/--region, and record-size limits (§5).
// Over HTTP/1.1 unless a test says otherwise (api.test.mjs covers both protocols).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, DescribeStreamSummaryCommand,
  GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, ListStreamsCommand,
  PutRecordCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  ACCOUNT, CREDENTIALS, kinesisClient, sleep, startRunnel, uniqueName,
} from './runnel.mjs';
import { expectError, readShard, shardId, text } from './kinesis.mjs';

const T = { timeout: 90000 };

describe('contract details (default server)', () => {
  let srv;
  let client;
  before(async () => {
    srv = await startRunnel();
    client = kinesisClient(srv.endpoint, { http1: true });
  });
  after(async () => { try { client?.destroy(); } finally { await srv?.stop(); } });

  const create = async (name, n) => { await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: n })); return name; };

  test('DescribeStream returns at most 100 shards per page; ListShards up to 1000', T, async () => {
    const name = await create(uniqueName('c-150'), 150);
    const d1 = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(d1.Shards.length, 100);
    assert.equal(d1.HasMoreShards, true);
    const d2 = (await client.send(new DescribeStreamCommand({ StreamName: name, ExclusiveStartShardId: d1.Shards[99].ShardId, Limit: 10000 }))).StreamDescription;
    assert.equal(d2.Shards.length, 50);
    assert.equal(d2.HasMoreShards, false);
    assert.deepEqual([...d1.Shards, ...d2.Shards].map((s) => s.ShardId), Array.from({ length: 150 }, (_, i) => shardId(i)));
    const ls = await client.send(new ListShardsCommand({ StreamName: name }));
    assert.equal(ls.Shards.length, 150);
    assert.equal(ls.NextToken, undefined);
    const sum = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
    assert.equal(sum.OpenShardCount, 150);
    // Every hash key is covered exactly once: ranges tile [0, 2^128-1].
    let next = 0n;
    for (const s of ls.Shards) {
      assert.equal(BigInt(s.HashKeyRange.StartingHashKey), next);
      next = BigInt(s.HashKeyRange.EndingHashKey) + 1n;
    }
    assert.equal(next, 1n << 128n);
    await client.send(new DeleteStreamCommand({ StreamName: name }));
  });

  test('ListStreams returns at most 100 names per page by default, with NextToken', T, async () => {
    const base = uniqueName('c-many');
    const names = Array.from({ length: 105 }, (_, i) => `${base}-${String(i).padStart(3, '0')}`);
    for (const n of names) await create(n, 1);
    const p1 = await client.send(new ListStreamsCommand({}));
    assert.equal(p1.StreamNames.length, 100);
    assert.equal(p1.HasMoreStreams, true);
    assert.equal(typeof p1.NextToken, 'string');
    const p2 = await client.send(new ListStreamsCommand({ NextToken: p1.NextToken }));
    const all = [...p1.StreamNames, ...p2.StreamNames];
    for (const n of names) assert.ok(all.includes(n), `${n} listed`);
    assert.equal(new Set(all).size, all.length);
    const big = await client.send(new ListStreamsCommand({ Limit: 10000 }));
    assert.ok(big.StreamNames.length <= 100, 'effective maximum 100 per page');
    for (const n of names) await client.send(new DeleteStreamCommand({ StreamName: n }));
  });

  test('GetRecords returns at most 10 MiB per call; the rest on the next call', T, async () => {
    const name = await create(uniqueName('c-10mib'), 1);
    const size = 1000 * 1024; // + 1-byte key: just under 1 MiB per record
    for (let i = 0; i < 12; i++) {
      await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.alloc(size, 0x30 + i) }));
    }
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
    const r1 = await client.send(new GetRecordsCommand({ ShardIterator }));
    const bytes = r1.Records.reduce((a, r) => a + r.Data.length + r.PartitionKey.length, 0);
    assert.ok(bytes <= 10 * 1024 * 1024, `first call returned ${bytes} bytes (> 10 MiB)`);
    assert.ok(r1.Records.length >= 1 && r1.Records.length < 12, `first call returned ${r1.Records.length} records`);
    const rest = [];
    let it = r1.NextShardIterator;
    for (let i = 0; i < 10 && rest.length + r1.Records.length < 12; i++) {
      const r = await client.send(new GetRecordsCommand({ ShardIterator: it }));
      rest.push(...r.Records);
      it = r.NextShardIterator;
    }
    const all = [...r1.Records, ...rest];
    assert.equal(all.length, 12);
    all.forEach((r, i) => assert.equal(r.Data[0], 0x30 + i));
  });

  test('a record over 1 MiB (data + key) is rejected; exactly 1 MiB is accepted', T, async () => {
    const name = await create(uniqueName('c-1mib'), 1);
    const ok = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.alloc(1024 * 1024 - 1) }));
    assert.equal(ok.ShardId, shardId(0));
    let err;
    try {
      await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.alloc(1024 * 1024) }));
    } catch (e) { err = e; }
    assert.ok(err, 'a 1 MiB + 1 byte record was accepted');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.ok(['ValidationException', 'InvalidArgumentException'].includes(err.name), `${err.name}: ${err.message}`);
    const { records } = await readShard(client, name, shardId(0));
    assert.equal(records.length, 1);
  });

  test('shard-ID leniency (§3.1): shardId-1 and 1 normalise; junk → Could not find shard', T, async () => {
    const name = await create(uniqueName('c-sid'), 2);
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: '0', Data: Buffer.from('x') }));
    for (const given of ['shardId-0', '0', 'shard-0', 'shardId-000000000000']) {
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: given, ShardIteratorType: 'TRIM_HORIZON' }));
      const r = await client.send(new GetRecordsCommand({ ShardIterator }));
      assert.deepEqual(r.Records.map((x) => text(x.Data)), ['x'], `ShardId ${given}`);
    }
    await expectError(client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: 'ABKLFD8', ShardIteratorType: 'TRIM_HORIZON' })), {
      name: 'ResourceNotFoundException', message: `Could not find shard ABKLFD8 in stream ${name} under account ${ACCOUNT}.`,
    });
    await expectError(client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-5', ShardIteratorType: 'TRIM_HORIZON' })), {
      name: 'ResourceNotFoundException', message: `Shard shardId-000000000005 in stream ${name} under account ${ACCOUNT} does not exist`,
    });
  });

  test('StartingSequenceNumber from another shard, another stream, or made up (§6)', T, async () => {
    // Created over a second apart, so their sequence numbers can encode different creation times.
    const b = await create(uniqueName('c-seqb'), 2);
    await sleep(1100);
    const a = await create(uniqueName('c-seqa'), 2);
    const put = (s, h) => client.send(new PutRecordCommand({ StreamName: s, PartitionKey: 'k', ExplicitHashKey: h, Data: Buffer.from('x') }));
    const a1 = await put(a, (1n << 127n).toString()); // shard 1
    assert.equal(a1.ShardId, shardId(1));
    const b0 = await put(b, '0');
    assert.equal(b0.ShardId, shardId(0));
    const gsi = (stream, sid, seq) => client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: sid, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: seq }));
    await expectError(gsi(a, shardId(0), a1.SequenceNumber), {
      name: 'InvalidArgumentException',
      message: `Invalid StartingSequenceNumber. It encodes ${shardId(1)}, while it was used in a call to a shard with ${shardId(0)}`,
    });
    // b0 was made for shard 0 of stream b. Depending on what the number encodes, AWS answers
    // "did not come from this stream" (when it can tell); never a silent success.
    await expectError(gsi(a, shardId(0), b0.SequenceNumber), {
      name: 'InvalidArgumentException',
      message: new RegExp(`^StartingSequenceNumber ${b0.SequenceNumber} used in GetShardIterator on shard ${shardId(0)} in stream ${a} under account ${ACCOUNT} is invalid( because it did not come from this stream)?\\.$`),
    });
    await expectError(gsi(a, shardId(0), '123'), {
      name: 'InvalidArgumentException',
      message: `StartingSequenceNumber 123 used in GetShardIterator on shard ${shardId(0)} in stream ${a} under account ${ACCOUNT} is invalid.`,
    });
    await expectError(gsi(a, shardId(0), 'abc'), {
      name: 'ValidationException',
      message: "1 validation error detected: Value 'abc' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
    });
  });

  test('an iterator wrapped in double quotes is accepted (§3.5)', T, async () => {
    const name = await create(uniqueName('c-quote'), 1);
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('q') }));
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
    const r = await client.send(new GetRecordsCommand({ ShardIterator: `"${ShardIterator}"` }));
    assert.deepEqual(r.Records.map((x) => text(x.Data)), ['q']);
  });

  test('each GetRecords returns a new iterator string, even with nothing new (§3.5)', T, async () => {
    const name = await create(uniqueName('c-newit'), 1);
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'LATEST' }));
    const r1 = await client.send(new GetRecordsCommand({ ShardIterator }));
    await sleep(5);
    const r2 = await client.send(new GetRecordsCommand({ ShardIterator: r1.NextShardIterator }));
    assert.notEqual(r1.NextShardIterator, ShardIterator);
    assert.notEqual(r2.NextShardIterator, r1.NextShardIterator);
  });

  test('StreamName and StreamARN that disagree are rejected', T, async () => {
    const a = await create(uniqueName('c-arna'), 1);
    const b = await create(uniqueName('c-arnb'), 1);
    let err;
    try {
      await client.send(new DescribeStreamSummaryCommand({ StreamName: a, StreamARN: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${b}` }));
    } catch (e) { err = e; }
    assert.ok(err, 'mismatched StreamName/StreamARN accepted');
    assert.equal(err.$metadata.httpStatusCode, 400);
  });

  test('concurrent writers on many HTTP/1.1 connections: every record once, per-shard order matches sequence', T, async () => {
    const name = await create(uniqueName('c-conc'), 2);
    const clients = Array.from({ length: 16 }, () => kinesisClient(srv.endpoint, { http1: true }));
    try {
      const acks = [];
      await Promise.all(clients.map(async (c, w) => {
        for (let i = 0; i < 25; i++) {
          const r = await c.send(new PutRecordCommand({ StreamName: name, PartitionKey: `w${w}-${i}`, Data: Buffer.from(`w${w}-${i}`) }));
          acks.push({ data: `w${w}-${i}`, shard: r.ShardId, seq: r.SequenceNumber });
        }
      }));
      const seen = new Map();
      for (const sid of [shardId(0), shardId(1)]) {
        const { records } = await readShard(client, name, sid);
        let prev = -1n;
        for (const r of records) {
          assert.ok(BigInt(r.SequenceNumber) > prev);
          prev = BigInt(r.SequenceNumber);
          assert.ok(!seen.has(text(r.Data)), 'duplicate');
          seen.set(text(r.Data), { shard: sid, seq: r.SequenceNumber });
        }
      }
      assert.equal(seen.size, 400);
      for (const a of acks) assert.deepEqual(seen.get(a.data), { shard: a.shard, seq: a.seq });
    } finally {
      for (const c of clients) c.destroy();
    }
  });
});

describe('server flags', () => {
  test('--create-stream-delay / --delete-stream-delay: CREATING and DELETING are visible (§4.1)', T, async (t) => {
    const srv = await startRunnel({ args: ['--create-stream-delay', '1500', '--delete-stream-delay', '1500'] });
    const client = kinesisClient(srv.endpoint);
    t.after(async () => { client.destroy(); await srv.stop(); });
    const name = uniqueName('c-delay');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    let d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(d.StreamStatus, 'CREATING');
    assert.deepEqual(d.Shards, [], 'no shards while CREATING');
    await expectError(client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x') })), {
      name: 'ResourceNotFoundException', message: `Stream ${name} under account ${ACCOUNT} not found.`,
    });
    const ls = await client.send(new ListStreamsCommand({}));
    assert.equal(ls.StreamSummaries.find((s) => s.StreamName === name)?.StreamStatus, 'CREATING');
    await expectError(client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 })), {
      name: 'ResourceInUseException', message: `Stream ${name} under account ${ACCOUNT} already exists.`,
    });
    const t0 = Date.now();
    for (let i = 0; i < 40 && d.StreamStatus !== 'ACTIVE'; i++) {
      await sleep(100);
      d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    }
    assert.equal(d.StreamStatus, 'ACTIVE');
    assert.ok(Date.now() - t0 > 800, 'stayed CREATING for about the delay');
    assert.equal(d.Shards.length, 2);
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x') }));

    await client.send(new DeleteStreamCommand({ StreamName: name }));
    d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(d.StreamStatus, 'DELETING');
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      await sleep(100);
      try { await client.send(new DescribeStreamCommand({ StreamName: name })); } catch (e) {
        assert.equal(e.name, 'ResourceNotFoundException');
        gone = true;
      }
    }
    assert.ok(gone, 'stream gone after the delete delay');
  });

  test('--shard-limit: CreateStream over the limit → LimitExceededException (§4.2)', T, async (t) => {
    const srv = await startRunnel({ args: ['--shard-limit', '5'] });
    const client = kinesisClient(srv.endpoint, { http1: true });
    t.after(async () => { client.destroy(); await srv.stop(); });
    await client.send(new CreateStreamCommand({ StreamName: uniqueName('c-lim'), ShardCount: 3 }));
    await expectError(client.send(new CreateStreamCommand({ StreamName: uniqueName('c-lim'), ShardCount: 3 })), {
      name: 'LimitExceededException',
      message: 'This request would exceed the shard limit for the account 000000000000 in us-east-1. Current shard count for the account: 3. Limit: 5. Number of additional shards that would have resulted from this request: 3. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.',
    });
    await client.send(new CreateStreamCommand({ StreamName: uniqueName('c-lim'), ShardCount: 2 }));
  });

  test('--account-id shows in ARNs and messages; the credential-scope region shows in ARNs', T, async (t) => {
    const srv = await startRunnel({ args: ['--account-id', '123456789012'] });
    const client = kinesisClient(srv.endpoint, { http1: true });
    const west = new KinesisClient({
      region: 'eu-west-1', endpoint: srv.endpoint, credentials: CREDENTIALS, maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
    t.after(async () => { client.destroy(); west.destroy(); await srv.stop(); });
    const name = uniqueName('c-acct');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(d.StreamARN, `arn:aws:kinesis:us-east-1:123456789012:stream/${name}`);
    await expectError(client.send(new DescribeStreamCommand({ StreamName: 'nope' })), {
      name: 'ResourceNotFoundException', message: 'Stream nope under account 123456789012 not found.',
    });
    const wname = uniqueName('c-west');
    await west.send(new CreateStreamCommand({ StreamName: wname, ShardCount: 1 }));
    const w = (await west.send(new DescribeStreamCommand({ StreamName: wname }))).StreamDescription;
    assert.equal(w.StreamARN, `arn:aws:kinesis:eu-west-1:123456789012:stream/${wname}`);
  });
});
