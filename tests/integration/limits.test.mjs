// limits.test.mjs: limit emulation (--enforce-limits, KINESIS_CONTRACT §5, §3.6) and AUTO record
// distribution (§3.2, §4.7), through @aws-sdk/client-kinesis.
//
// Throttled producers must see AWS's exceptions and messages, and recover the way real ones do:
// the SDK's own retry for PutRecord, a KPL-style loop re-sending the failed entries of PutRecords.
// Without the flag nothing is throttled.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kinesis';
import { kinesisClient, sleep, startRunnel, streamArn, uniqueName } from './runnel.mjs';
import { expectError, readShard, shardId } from './kinesis.mjs';

const T = { timeout: 120000 };
const ACCT = '000000000000';
const send = (client, op, input) => client.send(new K[`${op}Command`](input));

/** A client that rides out throttling for setup and read-back (many attempts). */
const patient = (endpoint) => kinesisClient(endpoint, { maxAttempts: 20 });

async function createStream(c, name, input = { ShardCount: 1 }) {
  await send(c, 'CreateStream', { StreamName: name, ...input });
}

/** Every record of every shard of a stream, read with a patient client. */
async function readAll(c, name) {
  const { Shards } = await send(c, 'ListShards', { StreamName: name });
  const out = {};
  for (const s of Shards) out[s.ShardId] = (await readShard(c, name, s.ShardId)).records;
  return out;
}

test('writes over a shard\'s rate: PutRecord throttled, the SDK\'s retry gets every record in', T, async (t) => {
  const srv = await startRunnel({ args: ['--enforce-limits'], inMemory: true });
  t.after(() => srv.stop());
  const setup = patient(srv.endpoint);
  const once = kinesisClient(srv.endpoint); // maxAttempts 1: sees the throttle
  const name = uniqueName('lim-put');
  await createStream(setup, name);

  // 1 MiB/s: a 600 KB record passes on a full bucket, the next one does not.
  const big = Buffer.alloc(600 * 1024, 7);
  await send(once, 'PutRecord', { StreamName: name, PartitionKey: 'a', Data: big });
  await expectError(send(once, 'PutRecord', { StreamName: name, PartitionKey: 'a', Data: big }), {
    name: 'ProvisionedThroughputExceededException',
    message: `Rate exceeded for shard shardId-000000000000 in stream ${name} under account ${ACCT}.`,
  });

  // 1.2 MB at once on a second stream: some calls are throttled and retried by the SDK
  // (standard strategy with its throttling backoff; 6 attempts: a retry's delay is drawn with full
  // jitter, so with the default 3 a record can come back twice before the bucket has refilled);
  // all land.
  const name2 = uniqueName('lim-retry');
  await createStream(setup, name2);
  const sdk = kinesisClient(srv.endpoint, { maxAttempts: 6 });
  const rec = (i) => ({ StreamName: name2, PartitionKey: `k${i}`, Data: Buffer.alloc(100 * 1024, i) });
  const res = await Promise.all(Array.from({ length: 12 }, (_, i) => send(sdk, 'PutRecord', rec(i))));
  assert.ok(res.some((r) => r.$metadata.attempts > 1), 'some PutRecord was retried');
  const got = (await readAll(setup, name2))[shardId(0)];
  assert.equal(got.length, 12);
  assert.deepEqual(got.map((r) => r.PartitionKey).sort(), Array.from({ length: 12 }, (_, i) => `k${i}`).sort());
});

test('PutRecords: per-record throttling with FailedRecordCount; re-sending failed entries gets all in', T, async (t) => {
  const srv = await startRunnel({ args: ['--enforce-limits'], inMemory: true });
  t.after(() => srv.stop());
  const setup = patient(srv.endpoint);
  const once = kinesisClient(srv.endpoint);
  const name = uniqueName('lim-batch');
  await createStream(setup, name);

  const all = [];
  for (let b = 0; b < 2; b++)
    for (let i = 0; i < 500; i++) all.push({ PartitionKey: `b${b}-${i}`, Data: Buffer.alloc(3000, i % 256) });
  let firstFailure = null;
  let rounds = 0;
  for (const batch of [all.slice(0, 500), all.slice(500)]) {
    let pending = batch;
    while (pending.length) {
      rounds += 1;
      assert.ok(rounds < 100, 'too many rounds');
      const r = await send(once, 'PutRecords', { StreamName: name, Records: pending });
      assert.equal(r.Records.length, pending.length);
      const failed = r.Records.filter((x) => x.ErrorCode);
      assert.equal(r.FailedRecordCount, failed.length);
      for (const f of failed) {
        assert.equal(f.ErrorCode, 'ProvisionedThroughputExceededException');
        assert.equal(f.ErrorMessage, `Rate exceeded for shard shardId-000000000000 in stream ${name} under account ${ACCT}.`);
        assert.equal(f.SequenceNumber, undefined);
      }
      for (const ok of r.Records.filter((x) => !x.ErrorCode)) assert.equal(ok.ShardId, shardId(0));
      if (failed.length && !firstFailure) firstFailure = r;
      pending = pending.filter((_, i) => r.Records[i].ErrorCode);
      if (pending.length) await sleep(150);
    }
  }
  assert.ok(firstFailure, '1.5 MB in one PutRecords exceeds 1 MiB/s');
  assert.ok(firstFailure.FailedRecordCount > 0 && firstFailure.FailedRecordCount < 500);
  const got = (await readAll(setup, name))[shardId(0)];
  assert.equal(got.length, 1000);
  assert.equal(new Set(got.map((r) => r.PartitionKey)).size, 1000);
});

test('reads: GetRecords over 5 calls/s and GetShardIterator over 5/s are throttled', T, async (t) => {
  const srv = await startRunnel({ args: ['--enforce-limits'], inMemory: true });
  t.after(() => srv.stop());
  const setup = patient(srv.endpoint);
  const once = kinesisClient(srv.endpoint);
  const name = uniqueName('lim-read');
  await createStream(setup, name);
  await send(setup, 'PutRecord', { StreamName: name, PartitionKey: 'a', Data: Buffer.from('x') });
  const { ShardIterator } = await send(setup, 'GetShardIterator', { StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' });
  let ok = 0;
  let err = null;
  for (let i = 0; i < 10; i++) {
    try { await send(once, 'GetRecords', { ShardIterator }); ok += 1; } catch (e) { err = e; }
  }
  assert.ok(ok >= 5 && ok < 10, `admitted ${ok} of 10`);
  assert.equal(err.name, 'ProvisionedThroughputExceededException');
  assert.equal(err.message, `Rate exceeded for Shard - ${ACCT}/${name}/shardId-000000000000`);
  await sleep(1100); // a second later the shard reads again
  const r = await send(once, 'GetRecords', { ShardIterator });
  assert.equal(r.Records.length, 1);

  let gsiErr = null;
  for (let i = 0; i < 10; i++) {
    try {
      await send(once, 'GetShardIterator', { StreamName: name, ShardId: shardId(0), ShardIteratorType: 'LATEST' });
    } catch (e) { gsiErr = e; }
  }
  assert.equal(gsiErr?.name, 'ProvisionedThroughputExceededException');
});

test('a big read leaves a debt: the shard\'s next GetRecords calls are throttled until it is paid', T, async (t) => {
  const srv = await startRunnel({ args: ['--enforce-limits', '--enable-test-clock'], inMemory: true });
  t.after(() => srv.stop());
  const clock = { offset: 0 };
  const c = kinesisClient(srv.endpoint);
  c.middlewareStack.add((next) => async (args) => {
    args.request.headers['x-runnel-test-clock-offset-ms'] = String(clock.offset);
    return next(args);
  }, { step: 'build', name: 'testClock' });
  const name = uniqueName('lim-debt');
  await createStream(c, name);
  for (let i = 0; i < 4; i++) { // 4 x 1000 KB, a second apart on the server's clock
    clock.offset += 1100;
    await send(c, 'PutRecord', { StreamName: name, PartitionKey: `k${i}`, Data: Buffer.alloc(1000 * 1024, i) });
  }
  clock.offset += 5000;
  const { ShardIterator } = await send(c, 'GetShardIterator', { StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' });
  const r = await send(c, 'GetRecords', { ShardIterator }); // ~4 MB out of a 2 MiB allowance
  assert.equal(r.Records.length, 4);
  clock.offset += 500;
  await expectError(send(c, 'GetRecords', { ShardIterator: r.NextShardIterator }), {
    name: 'ProvisionedThroughputExceededException', message: `Rate exceeded for Shard - ${ACCT}/${name}/shardId-000000000000`,
  });
  clock.offset += 1000; // 1.5 s after the read: the debt (about 2 MB at 2 MiB/s) is paid
  const after = await send(c, 'GetRecords', { ShardIterator: r.NextShardIterator });
  assert.equal(after.Records.length, 0);
});

test('control plane: bursts get LimitExceededException; the on-demand stream count is enforced', T, async (t) => {
  const srv = await startRunnel({ args: ['--enforce-limits', '--enable-test-clock'], inMemory: true });
  t.after(() => srv.stop());
  const clock = { offset: 0 };
  const c = kinesisClient(srv.endpoint);
  c.middlewareStack.add((next) => async (args) => {
    args.request.headers['x-runnel-test-clock-offset-ms'] = String(clock.offset);
    return next(args);
  }, { step: 'build', name: 'testClock' });
  const name = uniqueName('lim-ctl');
  await createStream(c, name);

  const burst = async (n, fn) => {
    let ok = 0; let err = null;
    for (let i = 0; i < n; i++) { try { await fn(); ok += 1; } catch (e) { err = e; } }
    return { ok, err };
  };
  let b = await burst(25, () => send(c, 'DescribeStreamSummary', { StreamName: name }));
  assert.ok(b.ok >= 20 && b.ok < 25, `DescribeStreamSummary admitted ${b.ok}`);
  assert.equal(b.err.name, 'LimitExceededException');
  assert.equal(b.err.message, `Rate exceeded for stream ${name} under account ${ACCT}.`);
  b = await burst(20, () => send(c, 'ListStreams', {}));
  assert.ok(b.ok >= 5 && b.ok < 20, `ListStreams admitted ${b.ok}`);
  assert.equal(b.err.name, 'LimitExceededException');
  assert.equal(b.err.message, `Rate exceeded for account ${ACCT}.`);
  b = await burst(3, () => send(c, 'DescribeLimits', {}));
  assert.equal(b.ok, 1);
  clock.offset += 2000; // a moment later all is well again
  await send(c, 'ListStreams', {});
  await send(c, 'DescribeLimits', {});

  // 50 on-demand streams per account; the 51st (created or switched) is refused.
  for (let i = 0; i < 50; i++) {
    clock.offset += 250; // 4 CreateStream per second of the server's clock
    await createStream(c, `${name}-od-${i}`, { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  }
  clock.offset += 1000;
  const msg = `Account ${ACCT} has reached the limit of 50 streams in ON_DEMAND mode in region us-east-1.`;
  await expectError(createStream(c, `${name}-od-x`, {}), { name: 'LimitExceededException', message: msg });
  await expectError(send(c, 'UpdateStreamMode', { StreamARN: streamArn(name), StreamModeDetails: { StreamMode: 'ON_DEMAND' } }), {
    name: 'LimitExceededException', message: msg,
  });
  await createStream(c, `${name}-prov`, { ShardCount: 1 }); // provisioned ones still fine
  const lim = await send(c, 'DescribeLimits', {});
  assert.equal(lim.OnDemandStreamCount, 50);
  assert.equal(lim.OnDemandStreamCountLimit, 50);
});

test('without --enforce-limits nothing is throttled', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const c = kinesisClient(srv.endpoint);
  const name = uniqueName('nolim');
  await createStream(c, name);
  for (let i = 0; i < 30; i++) await send(c, 'ListStreams', {});
  for (let i = 0; i < 30; i++) await send(c, 'DescribeStreamSummary', { StreamName: name });
  const big = Buffer.alloc(600 * 1024, 1);
  for (let i = 0; i < 5; i++) await send(c, 'PutRecord', { StreamName: name, PartitionKey: 'a', Data: big });
  const r = await send(c, 'PutRecords', {
    StreamName: name, Records: Array.from({ length: 500 }, (_, i) => ({ PartitionKey: `p${i}`, Data: Buffer.alloc(3000) })),
  });
  assert.equal(r.FailedRecordCount, 0);
  const { ShardIterator } = await send(c, 'GetShardIterator', { StreamName: name, ShardId: shardId(0), ShardIteratorType: 'LATEST' });
  for (let i = 0; i < 20; i++) await send(c, 'GetRecords', { ShardIterator });
  for (let i = 0; i < 20; i++) await send(c, 'GetShardIterator', { StreamName: name, ShardId: shardId(0), ShardIteratorType: 'LATEST' });
});

test('AUTO distribution: keys optional and ignored, records spread over the open shards', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const c = kinesisClient(srv.endpoint);
  const name = uniqueName('auto');
  await createStream(c, name, { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  const arn = streamArn(name);
  await send(c, 'UpdateStreamRecordDistributionStrategy', { StreamARN: arn, RecordDistributionStrategy: 'AUTO' });

  // 200 with one and the same key (and a hash key that would pin them), 200 without any.
  const keyed = Array.from({ length: 200 }, (_, i) => ({ PartitionKey: 'same', ExplicitHashKey: '0', Data: Buffer.from(`k${i}`) }));
  const keyless = Array.from({ length: 200 }, (_, i) => ({ Data: Buffer.from(`n${i}`) }));
  for (const recs of [keyed.slice(0, 100), keyless.slice(0, 100)]) {
    const r = await send(c, 'PutRecords', { StreamName: name, Records: recs });
    assert.equal(r.FailedRecordCount, 0);
  }
  for (let i = 100; i < 200; i++) {
    await send(c, 'PutRecord', { StreamName: name, ...keyed[i] });
    await send(c, 'PutRecord', { StreamARN: arn, ...keyless[i] });
  }
  const shards = await readAll(c, name);
  assert.equal(Object.keys(shards).length, 4);
  let total = 0;
  for (const [sid, recs] of Object.entries(shards)) {
    assert.ok(recs.length >= 50, `${sid} got ${recs.length} of 400`);
    total += recs.length;
    for (const r of recs) {
      const d = Buffer.from(r.Data).toString();
      if (d.startsWith('k')) assert.equal(r.PartitionKey, 'same');
      else assert.ok(!('PartitionKey' in r) || r.PartitionKey === undefined, `keyless record came back with ${r.PartitionKey}`);
    }
  }
  assert.equal(total, 400);

  await expectError(send(c, 'PutRecord', { StreamName: name, Data: Buffer.from('x'), SequenceNumberForOrdering: '0' }), {
    name: 'InvalidArgumentException',
    message: `SequenceNumberForOrdering is not supported for stream ${name} under account ${ACCT} because its RecordDistributionStrategy is AUTO.`,
  });

  // Back to USER_PARTITION_KEY: the key is required again.
  await send(c, 'UpdateStreamRecordDistributionStrategy', { StreamARN: arn, RecordDistributionStrategy: 'USER_PARTITION_KEY' });
  await expectError(send(c, 'PutRecord', { StreamName: name, Data: Buffer.from('x') }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null",
  });
  await expectError(send(c, 'PutRecords', { StreamName: name, Records: [{ PartitionKey: 'a', Data: Buffer.from('x') }, { Data: Buffer.from('y') }] }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value null at 'records.2.member.partitionKey' failed to satisfy constraint: Member must not be null",
  });
});
