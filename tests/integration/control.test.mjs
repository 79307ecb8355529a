// control.test.mjs: the control plane through @aws-sdk/client-kinesis: retention changes and
// expiry (with the test-only clock, on disk and in memory), enhanced monitoring, DescribeLimits,
// account settings, stream modes, warm throughput, record size, record distribution strategy,
// and accounts/regions chosen by the access key and the credential scope.
//
// The clock: runnel started with --enable-test-clock honours `x-runnel-test-clock-offset-ms`
// on any request (it sets the server's clock offset, which then stays until changed). Every
// failing request is followed by a DescribeStream(Summary) comparison: nothing changed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import * as K from '@aws-sdk/client-kinesis';
import {
  kinesisClient, makeTempDir, removeDir, startRunnel, streamArn, uniqueName,
} from './runnel.mjs';
import { expectError, outputOf, readShard, shardId, text } from './kinesis.mjs';

const T = { timeout: 60000 };
const HOUR = 3600 * 1000;
const ALL_METRICS = ['IncomingBytes', 'IncomingRecords', 'OutgoingBytes', 'OutgoingRecords',
  'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded', 'IteratorAgeMilliseconds'];

const send = (client, op, input) => client.send(new K[`${op}Command`](input));

/** A client whose requests carry the test clock offset held in clock.offset. */
function clockedClient(endpoint, clock) {
  const c = kinesisClient(endpoint);
  c.middlewareStack.add((next) => async (args) => {
    args.request.headers['x-runnel-test-clock-offset-ms'] = String(clock.offset);
    return next(args);
  }, { step: 'build', name: 'testClock' });
  return c;
}

async function summary(client, name) {
  return (await send(client, 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary;
}

async function describe(client, name) {
  const d = (await send(client, 'DescribeStream', { StreamName: name })).StreamDescription;
  return d;
}

/** Assert that a failing call left the stream exactly as it was. */
async function unchanged(client, name, before) {
  assert.deepEqual(await summary(client, name), before);
}

async function put(client, name, data, pk = 'k') {
  return send(client, 'PutRecord', { StreamName: name, PartitionKey: pk, Data: Buffer.from(data) });
}

async function readAll(client, name, type = 'TRIM_HORIZON', extra = {}) {
  const gsi = { StreamName: name, ShardId: shardId(0), ShardIteratorType: type, ...extra };
  const { ShardIterator } = await send(client, 'GetShardIterator', gsi);
  const out = [];
  let it = ShardIterator;
  for (let i = 0; i < 20 && it; i++) {
    const r = await send(client, 'GetRecords', { ShardIterator: it });
    out.push(...r.Records.map((x) => text(x.Data)));
    if (r.Records.length === 0) break;
    it = r.NextShardIterator;
  }
  return out;
}

function segFiles(dataDir) {
  const logs = path.join(dataDir, 'logs');
  const out = [];
  if (!fs.existsSync(logs)) return out;
  for (const id of fs.readdirSync(logs)) {
    for (const shard of fs.readdirSync(path.join(logs, id))) {
      for (const f of fs.readdirSync(path.join(logs, id, shard))) if (f.endsWith('.seg')) out.push(`${id}/${shard}/${f}`);
    }
  }
  return out.sort();
}

// ---- retention ------------------------------------------------------------------------------

test('retention: increase/decrease bounds and exact messages; bad input changes nothing', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('ret');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const before = await summary(c, name);
  assert.equal(before.RetentionPeriodHours, 24);

  const bad = [
    ['IncreaseStreamRetentionPeriod', 20, 'Minimum allowed retention period is 24 hours. Requested retention period (20 hours) is too short.'],
    ['DecreaseStreamRetentionPeriod', 0, 'Minimum allowed retention period is 24 hours. Requested retention period (0 hours) is too short.'],
    ['IncreaseStreamRetentionPeriod', 9999, 'Maximum allowed retention period is 8760 hours. Requested retention period (9999 hours) is too long.'],
    ['DecreaseStreamRetentionPeriod', 8761, 'Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.'],
    ['DecreaseStreamRetentionPeriod', 40, `Requested retention period (40 hours) for stream ${name} can not be longer than existing retention period (24 hours). Use IncreaseRetentionPeriod API.`],
  ];
  for (const [op, h, message] of bad) {
    await expectError(send(c, op, { StreamName: name, RetentionPeriodHours: h }), { name: 'InvalidArgumentException', message });
    await unchanged(c, name, before);
  }
  // Equal is accepted (and changes nothing).
  await send(c, 'IncreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 24 });
  await send(c, 'DecreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 24 });
  await unchanged(c, name, before);

  await send(c, 'IncreaseStreamRetentionPeriod', { StreamARN: streamArn(name), RetentionPeriodHours: 8760 });
  assert.equal((await describe(c, name)).RetentionPeriodHours, 8760);
  const mid = await summary(c, name);
  await expectError(send(c, 'IncreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 30 }), {
    name: 'InvalidArgumentException',
    message: `Requested retention period (30 hours) for stream ${name} can not be shorter than existing retention period (8760 hours). Use DecreaseRetentionPeriod API.`,
  });
  await unchanged(c, name, mid);
  await send(c, 'DecreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 25 });
  assert.equal((await summary(c, name)).RetentionPeriodHours, 25);

  await expectError(send(c, 'IncreaseStreamRetentionPeriod', { StreamName: 'nope', RetentionPeriodHours: 48 }), {
    name: 'ResourceNotFoundException', message: 'Stream nope under account 000000000000 not found.',
  });
  await expectError(send(c, 'IncreaseStreamRetentionPeriod', { StreamName: name }), {
    name: 'ValidationException', message: /retentionPeriodHours/,
  });
});

test('retention: UPDATING refuses changes with ResourceInUseException', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--update-stream-delay', '60000'] });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('upd');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  await send(c, 'IncreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 48 });
  const s = await summary(c, name);
  assert.equal(s.StreamStatus, 'UPDATING');
  assert.equal(s.RetentionPeriodHours, 48);
  const msg = `Stream ${name} under account 000000000000 not ACTIVE, instead in state UPDATING`;
  await expectError(send(c, 'IncreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 72 }), { name: 'ResourceInUseException', message: msg });
  await expectError(send(c, 'EnableEnhancedMonitoring', { StreamName: name, ShardLevelMetrics: ['ALL'] }), { name: 'ResourceInUseException', message: msg });
  await expectError(send(c, 'UpdateMaxRecordSize', { StreamARN: streamArn(name), MaxRecordSizeInKiB: 2048 }), { name: 'ResourceInUseException', message: msg });
  await expectError(send(c, 'AddTagsToStream', { StreamName: name, Tags: { a: 'b' } }), { name: 'ResourceInUseException', message: msg });
  await unchanged(c, name, s);
});

async function expiryScenario(t, { inMemory }) {
  const dataDir = inMemory ? undefined : makeTempDir();
  const clock = { offset: 0 };
  let srv = await startRunnel({ inMemory, dataDir, args: ['--enable-test-clock'] });
  let c = clockedClient(srv.endpoint, clock);
  t.after(async () => { c.destroy(); await srv.stop(); removeDir(dataDir); });
  const name = uniqueName('exp');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });

  // Batch A at t0, batch B at t0+12h.
  const a0 = await put(c, name, 'a0');
  await put(c, name, 'a1');
  clock.offset = 12 * HOUR;
  await put(c, name, 'b0');
  await put(c, name, 'b1');
  assert.deepEqual(await readAll(c, name), ['a0', 'a1', 'b0', 'b1']);

  // t0+25h: A is past the 24 h retention, B is not.
  clock.offset = 25 * HOUR;
  assert.deepEqual(await readAll(c, name), ['b0', 'b1']);
  // AT_SEQUENCE_NUMBER of an expired record and AT_TIMESTAMP before the horizon clamp to it.
  assert.deepEqual(await readAll(c, name, 'AT_SEQUENCE_NUMBER', { StartingSequenceNumber: a0.SequenceNumber }), ['b0', 'b1']);
  assert.deepEqual(await readAll(c, name, 'AT_TIMESTAMP', { Timestamp: new Date(Date.now() - HOUR) }), ['b0', 'b1']);

  // Growing the retention does not bring A back; B stays readable past 24 h of age.
  await send(c, 'IncreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 48 });
  clock.offset = 40 * HOUR;
  assert.deepEqual(await readAll(c, name), ['b0', 'b1']);

  if (!inMemory) {
    // A restart re-derives the horizon: A stays gone, B is still there.
    c.destroy();
    await srv.stop();
    srv = await startRunnel({ dataDir, args: ['--enable-test-clock'] });
    c = clockedClient(srv.endpoint, clock);
    assert.deepEqual(await readAll(c, name), ['b0', 'b1']);
    assert.deepEqual(segFiles(dataDir), ['1/0/00000000000000000001.seg']);
  }

  // Shrinking the retention to 24 h at t0+40h expires B at once (it is 28 h old): the log is
  // empty, the old segment is deleted from disk and the counter sequence continues.
  await send(c, 'DecreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 24 });
  assert.deepEqual(await readAll(c, name), []);
  if (!inMemory) assert.deepEqual(segFiles(dataDir), ['1/0/00000000000000000005.seg']);
  const fresh = await put(c, name, 'c0');
  assert.ok(BigInt(fresh.SequenceNumber) > BigInt(a0.SequenceNumber));
  assert.deepEqual(await readAll(c, name), ['c0']);
  assert.deepEqual(await readAll(c, name, 'LATEST'), []);

  if (!inMemory) {
    c.destroy();
    await srv.stop();
    srv = await startRunnel({ dataDir, args: ['--enable-test-clock'] });
    c = clockedClient(srv.endpoint, clock);
    assert.deepEqual(await readAll(c, name), ['c0']);
    // Nobody reads the shard: the periodic sweep still deletes the expired segment once its
    // records expire (the sweep runs on a request at most once a minute of server time).
    clock.offset = 80 * HOUR;
    await send(c, 'ListStreams', {});
    // The log was opened by the read above, so the sweep trims it.
    assert.deepEqual(segFiles(dataDir), ['1/0/00000000000000000006.seg']);
  }
  clock.offset = 0;
  await send(c, 'ListStreams', {});
}

function bytesUnder(dir) {
  let n = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    // a file listed may be gone by the stat (the checkpoint renames CHECKPOINT.tmp, recycles files)
    n += e.isDirectory() ? bytesUnder(p) : (fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0);
  }
  return n;
}

test('disk use is bounded by retention: expired segments go, the commit journal stays within its files', T, async (t) => {
  const dataDir = makeTempDir();
  const clock = { offset: 0 };
  const MIB = 1 << 20;
  // 1 MiB journal files, a checkpoint every 256 KiB: the journal turns over many times.
  const srv = await startRunnel({
    dataDir, args: ['--enable-test-clock', '--journal-bytes', String(MIB), '--checkpoint-bytes', String(MIB / 4)],
  });
  const c = clockedClient(srv.endpoint, clock);
  t.after(async () => { c.destroy(); await srv.stop(); removeDir(dataDir); });
  const name = uniqueName('disk');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 4 });
  const data = Buffer.alloc(40 * 1024, 7);
  const round = async (tag, n) => {
    for (let i = 0; i < n; i++) {
      const Records = Array.from({ length: 20 }, (_, k) => ({ PartitionKey: `${tag}-${i}-${k}`, Data: data }));
      const r = await send(c, 'PutRecords', { StreamName: name, Records });
      assert.equal(r.FailedRecordCount, 0);
    }
  };
  await round('a', 16); // 12.5 MiB
  const written = bytesUnder(path.join(dataDir, 'logs'));
  const journal = () => bytesUnder(path.join(dataDir, 'journal'));
  t.diagnostic(`after 12.5 MiB: segments ${written} bytes, journal ${journal()} bytes`);
  // Live files plus at most 4 recycled and 2 prepared spares, each 1 MiB: never the data's size.
  assert.ok(journal() <= 8 * MIB, `journal holds ${journal()} bytes`);
  // 25 h later everything written has expired: reads and the sweep trim it, and writing on
  // keeps both the segments and the journal small.
  clock.offset = 25 * HOUR;
  await send(c, 'ListStreams', {});
  for (let s = 0; s < 4; s++) {
    const { ShardIterator } = await send(c, 'GetShardIterator', { StreamName: name, ShardId: shardId(s), ShardIteratorType: 'TRIM_HORIZON' });
    const r = await send(c, 'GetRecords', { ShardIterator });
    assert.equal(r.Records.length, 0);
  }
  await round('b', 2);
  const after = bytesUnder(path.join(dataDir, 'logs'));
  t.diagnostic(`after expiry and 1.6 MiB more: segments ${after} bytes, journal ${journal()} bytes`);
  assert.ok(after < written / 4, `segments: ${after} bytes left of ${written}`);
  assert.ok(journal() <= 8 * MIB, `journal holds ${journal()} bytes`);
});

test('retention expiry on disk with the test clock: reads, iterators, restart, segment files', T, async (t) => {
  await expiryScenario(t, { inMemory: false });
});

test('retention expiry in memory with the test clock', T, async (t) => {
  await expiryScenario(t, { inMemory: true });
});

test('the test clock header is ignored without --enable-test-clock', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const clock = { offset: 100 * HOUR };
  const c = clockedClient(srv.endpoint, clock);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('noclk');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  await put(c, name, 'x');
  assert.deepEqual(await readAll(c, name), ['x']);
  const s = await summary(c, name);
  assert.ok(Math.abs(s.StreamCreationTimestamp.getTime() - Date.now()) < 60000);
});

// ---- enhanced monitoring, limits ---------------------------------------------------------------

test('enhanced monitoring: ALL expands, Current/Desired, stored in DescribeStream', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('mon');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  assert.deepEqual((await describe(c, name)).EnhancedMonitoring, [{ ShardLevelMetrics: [] }]);

  let r = await send(c, 'EnableEnhancedMonitoring', { StreamName: name, ShardLevelMetrics: ['OutgoingBytes', 'IncomingBytes'] });
  assert.deepEqual(outputOf(r), {
    StreamName: name, StreamARN: streamArn(name),
    CurrentShardLevelMetrics: [], DesiredShardLevelMetrics: ['IncomingBytes', 'OutgoingBytes'],
  });
  r = await send(c, 'EnableEnhancedMonitoring', { StreamARN: streamArn(name), ShardLevelMetrics: ['ALL'] });
  assert.deepEqual(r.CurrentShardLevelMetrics, ['IncomingBytes', 'OutgoingBytes']);
  assert.deepEqual(r.DesiredShardLevelMetrics, ALL_METRICS);
  assert.equal(r.StreamName, name);
  assert.deepEqual((await describe(c, name)).EnhancedMonitoring, [{ ShardLevelMetrics: ALL_METRICS }]);
  r = await send(c, 'DisableEnhancedMonitoring', { StreamName: name, ShardLevelMetrics: ['IteratorAgeMilliseconds', 'IncomingBytes'] });
  assert.deepEqual(r.DesiredShardLevelMetrics, ALL_METRICS.filter((m) => m !== 'IteratorAgeMilliseconds' && m !== 'IncomingBytes'));
  assert.deepEqual((await summary(c, name)).EnhancedMonitoring, [{ ShardLevelMetrics: r.DesiredShardLevelMetrics }]);
  r = await send(c, 'DisableEnhancedMonitoring', { StreamName: name, ShardLevelMetrics: ['ALL'] });
  assert.deepEqual(r.DesiredShardLevelMetrics, []);

  const before = await summary(c, name);
  await expectError(send(c, 'EnableEnhancedMonitoring', { StreamName: name, ShardLevelMetrics: ['Bogus'] }), { name: 'ValidationException', message: /shardLevelMetrics/ });
  await expectError(send(c, 'EnableEnhancedMonitoring', { StreamName: name, ShardLevelMetrics: [] }), { name: 'ValidationException' });
  await expectError(send(c, 'EnableEnhancedMonitoring', { StreamName: 'nope', ShardLevelMetrics: ['ALL'] }), {
    name: 'ResourceNotFoundException', message: 'Stream nope under account 000000000000 not found.',
  });
  await unchanged(c, name, before);
});

test('DescribeLimits reflects --shard-limit, open shards and on-demand streams', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--shard-limit', '77'] });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  assert.deepEqual(outputOf(await send(c, 'DescribeLimits', {})), {
    ShardLimit: 77, OpenShardCount: 0, OnDemandStreamCount: 0, OnDemandStreamCountLimit: 50,
  });
  await send(c, 'CreateStream', { StreamName: uniqueName('lim'), ShardCount: 3 });
  await send(c, 'CreateStream', { StreamName: uniqueName('lim'), StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  assert.deepEqual(outputOf(await send(c, 'DescribeLimits', {})), {
    ShardLimit: 77, OpenShardCount: 7, OnDemandStreamCount: 1, OnDemandStreamCountLimit: 50,
  });
});

// ---- account settings, modes, warm throughput, record size, distribution ------------------------

test('account settings: commitment enable/disable, persisted across restart', T, async (t) => {
  const dataDir = makeTempDir();
  const clock = { offset: 0 };
  let srv = await startRunnel({ dataDir, args: ['--enable-test-clock'] });
  let c = clockedClient(srv.endpoint, clock);
  t.after(async () => { c.destroy(); await srv.stop(); removeDir(dataDir); });
  assert.deepEqual(outputOf(await send(c, 'DescribeAccountSettings', {})), { MinimumThroughputBillingCommitment: { Status: 'DISABLED' } });
  const t0 = Date.now();
  const en = (await send(c, 'UpdateAccountSettings', { MinimumThroughputBillingCommitment: { Status: 'ENABLED' } })).MinimumThroughputBillingCommitment;
  assert.equal(en.Status, 'ENABLED');
  assert.ok(Math.abs(en.StartedAt.getTime() - t0) < 10000);
  assert.equal(en.EarliestAllowedEndAt.getTime() - en.StartedAt.getTime(), 24 * HOUR);
  assert.equal(en.EndedAt, undefined);

  // Disabling before the 24 h minimum schedules the end.
  const dis = (await send(c, 'UpdateAccountSettings', { MinimumThroughputBillingCommitment: { Status: 'DISABLED' } })).MinimumThroughputBillingCommitment;
  assert.equal(dis.Status, 'ENABLED_UNTIL_EARLIEST_ALLOWED_END');
  assert.equal(dis.EndedAt.getTime(), en.EarliestAllowedEndAt.getTime());

  c.destroy();
  await srv.stop();
  srv = await startRunnel({ dataDir, args: ['--enable-test-clock'] });
  c = clockedClient(srv.endpoint, clock);
  assert.deepEqual(outputOf(await send(c, 'DescribeAccountSettings', {})), { MinimumThroughputBillingCommitment: dis });
  // After the earliest end the commitment is over.
  clock.offset = 25 * HOUR;
  const over = (await send(c, 'DescribeAccountSettings', {})).MinimumThroughputBillingCommitment;
  assert.equal(over.Status, 'DISABLED');
  assert.equal(over.EndedAt.getTime(), en.EarliestAllowedEndAt.getTime());
  clock.offset = 0;
  await send(c, 'ListStreams', {});
});

test('UpdateStreamMode, warm throughput, max record size, distribution strategy', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('mode');
  const arn = streamArn(name);
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 2 });
  let s = await summary(c, name);
  assert.equal(s.RecordDistributionStrategy, undefined); // provisioned: not shown
  assert.equal(s.MaxRecordSizeInKiB, 1024);

  // Provisioned: AUTO and warm throughput are refused; nothing changes.
  await expectError(send(c, 'UpdateStreamRecordDistributionStrategy', { StreamARN: arn, RecordDistributionStrategy: 'AUTO' }), {
    name: 'InvalidArgumentException',
    message: `RecordDistributionStrategy AUTO is only supported for streams in ON_DEMAND mode. Stream ${name} under account 000000000000 is in PROVISIONED mode.`,
  });
  await expectError(send(c, 'UpdateStreamWarmThroughput', { StreamName: name, WarmThroughputMiBps: 10 }), {
    name: 'InvalidArgumentException', message: /only supported for streams in ON_DEMAND mode/,
  });
  await expectError(send(c, 'UpdateStreamMode', { StreamARN: arn, StreamModeDetails: { StreamMode: 'PROVISIONED' } }), {
    name: 'InvalidArgumentException', message: `Stream ${name} under account 000000000000 is already in PROVISIONED mode.`,
  });
  await expectError(send(c, 'UpdateStreamMode', { StreamARN: arn, StreamModeDetails: { StreamMode: 'ON_DEMAND' }, WarmThroughputMiBps: 5 }), {
    name: 'InvalidArgumentException', message: /MinimumThroughputBillingCommitment/,
  });
  await expectError(send(c, 'UpdateStreamMode', { StreamARN: arn, StreamModeDetails: { StreamMode: 'BOGUS' } }), { name: 'ValidationException' });
  await expectError(send(c, 'UpdateMaxRecordSize', { StreamARN: arn, MaxRecordSizeInKiB: 10241 }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value less than or equal to 10240",
  });
  await expectError(send(c, 'UpdateMaxRecordSize', { StreamARN: arn, MaxRecordSizeInKiB: 1023 }), { name: 'ValidationException' });
  await unchanged(c, name, s);

  // Record size: stored, shown, enforced by PutRecord.
  await send(c, 'UpdateMaxRecordSize', { StreamARN: arn, MaxRecordSizeInKiB: 2048 });
  assert.equal((await summary(c, name)).MaxRecordSizeInKiB, 2048);
  await put(c, name, Buffer.alloc(1500 * 1024, 1));
  await expectError(put(c, name, Buffer.alloc(2048 * 1024, 1)), { name: 'InvalidArgumentException', message: /exceeds the maximum record size of 2048 KiB/ });

  // To on-demand: shard count stays; strategy shown; AUTO allowed.
  await send(c, 'UpdateStreamMode', { StreamARN: arn, StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  s = await summary(c, name);
  assert.deepEqual(s.StreamModeDetails, { StreamMode: 'ON_DEMAND' });
  assert.equal(s.OpenShardCount, 2);
  assert.equal(s.RecordDistributionStrategy, 'USER_PARTITION_KEY');
  assert.equal(s.WarmThroughput, undefined);
  await send(c, 'UpdateStreamRecordDistributionStrategy', { StreamARN: arn, RecordDistributionStrategy: 'AUTO' });
  assert.equal((await summary(c, name)).RecordDistributionStrategy, 'AUTO');
  const listed = (await send(c, 'ListStreams', {})).StreamSummaries.find((x) => x.StreamName === name);
  assert.deepEqual(listed.StreamModeDetails, { StreamMode: 'ON_DEMAND' });

  // Warm throughput needs the account's commitment.
  await expectError(send(c, 'UpdateStreamWarmThroughput', { StreamName: name, WarmThroughputMiBps: 10 }), {
    name: 'InvalidArgumentException',
    message: 'Warm throughput requires MinimumThroughputBillingCommitment to be enabled for account 000000000000.',
  });
  await send(c, 'UpdateAccountSettings', { MinimumThroughputBillingCommitment: { Status: 'ENABLED' } });
  await expectError(send(c, 'UpdateStreamWarmThroughput', { StreamName: name, WarmThroughputMiBps: 10241 }), {
    name: 'InvalidArgumentException', message: 'WarmThroughputMiBps 10241 exceeds the maximum warm throughput of 10240 MiBps.',
  });
  let w = await send(c, 'UpdateStreamWarmThroughput', { StreamName: name, WarmThroughputMiBps: 100 });
  assert.deepEqual(outputOf(w), { StreamARN: arn, StreamName: name, WarmThroughput: { TargetMiBps: 100, CurrentMiBps: 0 } });
  w = await send(c, 'UpdateStreamWarmThroughput', { StreamARN: arn, WarmThroughputMiBps: 300 });
  assert.deepEqual(w.WarmThroughput, { TargetMiBps: 300, CurrentMiBps: 100 });
  assert.deepEqual((await summary(c, name)).WarmThroughput, { TargetMiBps: 300, CurrentMiBps: 300 });

  // Back to provisioned: shards stay, AUTO and warm throughput go.
  await send(c, 'UpdateStreamMode', { StreamARN: arn, StreamModeDetails: { StreamMode: 'PROVISIONED' } });
  s = await summary(c, name);
  assert.deepEqual(s.StreamModeDetails, { StreamMode: 'PROVISIONED' });
  assert.equal(s.OpenShardCount, 2);
  assert.equal(s.RecordDistributionStrategy, undefined);
  assert.equal(s.WarmThroughput, undefined);
  assert.equal(s.MaxRecordSizeInKiB, 2048);

  // Switch to on-demand with warm throughput in one call.
  await send(c, 'UpdateStreamMode', { StreamARN: arn, StreamModeDetails: { StreamMode: 'ON_DEMAND' }, WarmThroughputMiBps: 50 });
  s = await summary(c, name);
  assert.deepEqual(s.WarmThroughput, { TargetMiBps: 50, CurrentMiBps: 50 });
  assert.equal(s.RecordDistributionStrategy, 'USER_PARTITION_KEY');
});

test('UpdateStreamMode goes through UPDATING with --update-stream-delay', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--update-stream-delay', '300'] });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('upd');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  await send(c, 'UpdateStreamMode', { StreamARN: streamArn(name), StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  assert.equal((await summary(c, name)).StreamStatus, 'UPDATING');
  await expectError(send(c, 'UpdateStreamMode', { StreamARN: streamArn(name), StreamModeDetails: { StreamMode: 'PROVISIONED' } }), {
    name: 'ResourceInUseException', message: `Stream ${name} under account 000000000000 not ACTIVE, instead in state UPDATING`,
  });
  await new Promise((r) => setTimeout(r, 400));
  const s = await summary(c, name);
  assert.equal(s.StreamStatus, 'ACTIVE');
  assert.deepEqual(s.StreamModeDetails, { StreamMode: 'ON_DEMAND' });
});

test('CreateStream settings: MaxRecordSizeInKiB, RecordDistributionStrategy', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const a = uniqueName('cs');
  await send(c, 'CreateStream', { StreamName: a, MaxRecordSizeInKiB: 4096, RecordDistributionStrategy: 'AUTO' });
  const s = await summary(c, a);
  assert.equal(s.MaxRecordSizeInKiB, 4096);
  assert.equal(s.RecordDistributionStrategy, 'AUTO');
  const b = uniqueName('cs');
  await expectError(send(c, 'CreateStream', { StreamName: b, ShardCount: 1, RecordDistributionStrategy: 'AUTO' }), {
    name: 'InvalidArgumentException', message: /AUTO is only supported for streams in ON_DEMAND mode/,
  });
  await expectError(send(c, 'DescribeStreamSummary', { StreamName: b }), { name: 'ResourceNotFoundException' });
});

// ---- accounts and regions ---------------------------------------------------------------------

test('accounts and regions: a 12-digit access key selects the account; isolation per account and region', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--account-id', '999999999999'] });
  const mk = (accessKeyId, region) => new KinesisClient({
    region, endpoint: srv.endpoint, credentials: { accessKeyId, secretAccessKey: 'x' }, maxAttempts: 1,
  });
  const a = mk('111111111111', 'us-east-1');
  const b = mk('222222222222', 'eu-west-1');
  const b2 = mk('222222222222', 'us-east-1');
  const d = mk('AKIDEXAMPLE', 'us-east-1'); // not 12 digits: --account-id
  t.after(async () => { for (const x of [a, b, b2, d]) x.destroy(); await srv.stop(); });
  const name = 'shared-name';
  for (const cl of [a, b, b2, d]) await send(cl, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const arnOf = async (cl) => (await send(cl, 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary.StreamARN;
  assert.equal(await arnOf(a), 'arn:aws:kinesis:us-east-1:111111111111:stream/shared-name');
  assert.equal(await arnOf(b), 'arn:aws:kinesis:eu-west-1:222222222222:stream/shared-name');
  assert.equal(await arnOf(b2), 'arn:aws:kinesis:us-east-1:222222222222:stream/shared-name');
  assert.equal(await arnOf(d), 'arn:aws:kinesis:us-east-1:999999999999:stream/shared-name');

  await put(a, name, 'from-a');
  await put(b, name, 'from-b');
  assert.deepEqual(await readAll(a, name), ['from-a']);
  assert.deepEqual(await readAll(b, name), ['from-b']);
  assert.deepEqual(await readAll(b2, name), []);

  const only = uniqueName('only-a');
  await send(a, 'CreateStream', { StreamName: only, ShardCount: 1 });
  assert.deepEqual((await send(b, 'ListStreams', {})).StreamNames, [name]);
  assert.deepEqual((await send(a, 'ListStreams', {})).StreamNames.sort(), [only, name].sort());
  await expectError(send(b2, 'DescribeStream', { StreamName: only }), {
    name: 'ResourceNotFoundException', message: `Stream ${only} under account 222222222222 not found.`,
  });
  // Tags and limits are per account too.
  await send(a, 'AddTagsToStream', { StreamName: name, Tags: { team: 'a' } });
  assert.deepEqual((await send(b, 'ListTagsForStream', { StreamName: name })).Tags, []);
  assert.equal((await send(a, 'DescribeLimits', {})).OpenShardCount, 2);
  assert.equal((await send(b, 'DescribeLimits', {})).OpenShardCount, 1);
  // Another account's ARN is refused as AWS refuses it (no resource policy grants tagging operations).
  await expectError(send(b2, 'ListTagsForResource', { ResourceARN: 'arn:aws:kinesis:us-east-1:111111111111:stream/shared-name' }), {
    name: 'AccessDeniedException',
    message: 'User: arn:aws:iam::222222222222:root is not authorized to perform: kinesis:ListTagsForResource on resource: '
      + 'arn:aws:kinesis:us-east-1:111111111111:stream/shared-name because no resource-based policy allows the '
      + 'kinesis:ListTagsForResource action',
  });
});

test('retention expires closed shards: they leave ListShards and DescribeStream, children move to the trim horizon', T, async (t) => {
  const clock = { offset: 0 };
  const srv = await startRunnel({ inMemory: true, args: ['--enable-test-clock'] });
  t.after(() => srv.stop());
  const c = clockedClient(srv.endpoint, clock);
  const name = uniqueName('expire-lineage');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  await send(c, 'PutRecord', { StreamName: name, PartitionKey: 'k', Data: text('old') });
  await send(c, 'SplitShard', {
    StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: (1n << 127n).toString(),
  });
  const before = (await send(c, 'ListShards', { StreamName: name })).Shards.map((s) => s.ShardId);
  assert.deepEqual(before, [shardId(0), shardId(1), shardId(2)]);
  const horizon0 = await send(c, 'ListShards', { StreamName: name, ShardFilter: { Type: 'AT_TRIM_HORIZON' } });
  assert.deepEqual(horizon0.Shards.map((s) => s.ShardId), [shardId(0)]);

  clock.offset = 25 * HOUR; // past the 24-hour retention of everything shard 0 ever held
  const after = (await send(c, 'ListShards', { StreamName: name })).Shards.map((s) => s.ShardId);
  assert.deepEqual(after, [shardId(1), shardId(2)]);
  const horizon = await send(c, 'ListShards', { StreamName: name, ShardFilter: { Type: 'AT_TRIM_HORIZON' } });
  assert.deepEqual(horizon.Shards.map((s) => s.ShardId), [shardId(1), shardId(2)]);
  const d = await describe(c, name);
  assert.deepEqual(d.Shards.map((s) => s.ShardId), [shardId(1), shardId(2)]);
  clock.offset = 0;
  await send(c, 'ListStreams', {}); // puts the server's clock back
});
