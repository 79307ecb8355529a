// reshard.test.mjs: SplitShard, MergeShards, UpdateShardCount and ListShards' ShardFilter over the
// lineage, through @aws-sdk/client-kinesis against a real runnel. Expected values come from
// ../shared/KINESIS_CONTRACT.md (§3.3 lineage, §3.6 ChildShards, §4.4 filters, §4.5 resharding, §6
// messages) and are computed here (hash ranges, adjacency), never asked of runnel.
//
// The last test reshards under a concurrent PutRecords load and checks, reading the lineage
// parent-first, that every acknowledged record comes back exactly once and each partition key's
// records come back in the order they were written.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, DescribeStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand,
  GetShardIteratorCommand, ListShardsCommand, MergeShardsCommand, PutRecordCommand, PutRecordsCommand,
  SplitShardCommand, UpdateShardCountCommand, DeleteStreamCommand,
} from '@aws-sdk/client-kinesis';
import { ACCOUNT, REGION, kinesisClient, makeTempDir, removeDir, sleep, startRunnel, streamArn, uniqueName } from './runnel.mjs';
import {
  HASH_MAX, SEQ_RE, assertOk, describeAllShards, expectError, hashRanges, outputOf, readShard, shardId,
} from './kinesis.mjs';

const T = { timeout: 60000 };

const notFound = (name) => `Stream ${name} under account ${ACCOUNT} not found.`;
const couldNotFind = (sid, name) => `Could not find shard ${sid} in stream ${name} under account ${ACCOUNT}.`;
const closedMsg = (sid, name) =>
  `Shard ${sid} in stream ${name} under account ${ACCOUNT} has already been merged or split, and thus is not eligible for merging or splitting.`;
const splitRangeMsg = (k, sid, name, start, end) =>
  `NewStartingHashKey ${k} used in SplitShard() on shard ${sid} in stream ${name} under account ${ACCOUNT} is not both greater than one plus the shard's StartingHashKey ${start} and less than the shard's EndingHashKey ${end}.`;
const notAdjacentMsg = (a, b, name) =>
  `Shards ${a} and ${b} in stream ${name} under account ${ACCOUNT} are not an adjacent pair of shards eligible for merging`;
const onDemandMsg = (name) => `Request is invalid. Stream ${name} under account ${ACCOUNT} is in On-Demand mode.`;
const notActiveMsg = (name, state) => `Stream ${name} under account ${ACCOUNT} not ACTIVE, instead in state ${state}`;
const shardLimitMsg = (current, limit, more) =>
  `This request would exceed the shard limit for the account ${ACCOUNT} in ${REGION}. Current shard count for the account: ${current}. Limit: ${limit}. Number of additional shards that would have resulted from this request: ${more}. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.`;

const range = (start, end) => ({ StartingHashKey: start.toString(), EndingHashKey: end.toString() });
const rangeOf = (s) => [BigInt(s.HashKeyRange.StartingHashKey), BigInt(s.HashKeyRange.EndingHashKey)];
const isOpen = (s) => s.SequenceNumberRange.EndingSequenceNumber === undefined;
const ids = (shards) => shards.map((s) => s.ShardId);

/** Open shards sorted by start tile [0, 2^128-1]; every closed shard's children cover it; every
 * child names existing closed parents; ids are unique. */
function assertLineage(shards) {
  const byId = new Map(shards.map((s) => [s.ShardId, s]));
  assert.equal(byId.size, shards.length, 'shard ids unique');
  const open = shards.filter(isOpen).sort((a, b) => (rangeOf(a)[0] < rangeOf(b)[0] ? -1 : 1));
  let next = 0n;
  for (const s of open) {
    const [a, b] = rangeOf(s);
    assert.equal(a, next, `open shards tile the key space (at ${s.ShardId})`);
    next = b + 1n;
  }
  assert.equal(next, HASH_MAX + 1n, 'open shards reach 2^128-1');
  for (const s of shards) {
    for (const p of [s.ParentShardId, s.AdjacentParentShardId].filter(Boolean)) {
      assert.ok(byId.has(p), `${s.ShardId}'s parent ${p} is listed`);
      assert.ok(!isOpen(byId.get(p)), `${s.ShardId}'s parent ${p} is closed`);
    }
    if (isOpen(s)) continue;
    assert.match(s.SequenceNumberRange.EndingSequenceNumber, SEQ_RE);
    const kids = shards.filter((c) => c.ParentShardId === s.ShardId || c.AdjacentParentShardId === s.ShardId);
    const [a, b] = rangeOf(s);
    if (kids.length === 2) {
      const [lo, hi] = kids.map(rangeOf).sort((x, y) => (x[0] < y[0] ? -1 : 1));
      assert.deepEqual([lo[0], lo[1] + 1n, hi[1]], [a, hi[0], b], `split children tile ${s.ShardId}`);
    } else {
      assert.equal(kids.length, 1, `${s.ShardId} has children`);
      const [ka, kb] = rangeOf(kids[0]);
      assert.ok(kids[0].AdjacentParentShardId, `${s.ShardId}'s only child is a merge child`);
      assert.ok(ka <= a && b <= kb, `merge child holds ${s.ShardId}`);
    }
  }
}

/** Shards in lineage order: every shard after its parents (Kahn's algorithm, ties by id). */
function lineageOrder(shards) {
  const done = new Set();
  const out = [];
  const pending = [...shards].sort((a, b) => a.ShardId.localeCompare(b.ShardId));
  while (pending.length) {
    const i = pending.findIndex((s) => [s.ParentShardId, s.AdjacentParentShardId]
      .every((p) => !p || done.has(p) || !shards.some((x) => x.ShardId === p)));
    assert.ok(i >= 0, 'lineage has no cycle');
    const [s] = pending.splice(i, 1);
    done.add(s.ShardId);
    out.push(s);
  }
  return out;
}

const seqCreationSeconds = (seq) => Number((BigInt(seq) >> 148n) & ((1n << 36n) - 1n));

describe('resharding', () => {
  let srv;
  let client;
  before(async () => {
    srv = await startRunnel();
    client = kinesisClient(srv.endpoint);
  });
  after(async () => {
    try { client?.destroy(); } finally { await srv?.stop(); }
  });

  const send = (cmd) => client.send(cmd);
  async function create(prefix, shards, extra = {}) {
    const name = uniqueName(prefix);
    const input = { StreamName: name, ...extra };
    if (shards !== undefined) input.ShardCount = shards;
    assertOk(await send(new CreateStreamCommand(input)));
    return name;
  }
  const put = (StreamName, PartitionKey, data) =>
    send(new PutRecordCommand({ StreamName, PartitionKey, Data: Buffer.from(data) }));
  const split = (StreamName, ShardToSplit, NewStartingHashKey) =>
    send(new SplitShardCommand({ StreamName, ShardToSplit, NewStartingHashKey: NewStartingHashKey.toString() }));
  const merge = (StreamName, ShardToMerge, AdjacentShardToMerge) =>
    send(new MergeShardsCommand({ StreamName, ShardToMerge, AdjacentShardToMerge }));
  const scale = (StreamName, TargetShardCount) =>
    send(new UpdateShardCountCommand({ StreamName, TargetShardCount, ScalingType: 'UNIFORM_SCALING' }));
  const listShards = async (input) => (await send(new ListShardsCommand(input))).Shards;

  // ------------------------------------------------------------------------------ SplitShard
  test('SplitShard: parent closes with an EndingSequenceNumber, two children with exact ranges', T, async () => {
    const name = await create('split', 1);
    const before = await put(name, 'a', 'before');
    const k = 1n << 127n;
    const res = await split(name, shardId(0), k);
    assertOk(res);
    assert.deepEqual(outputOf(res), {});

    const shards = await describeAllShards(client, name);
    assert.deepEqual(ids(shards), [0, 1, 2].map(shardId));
    const [p, lo, hi] = shards;
    assert.match(p.SequenceNumberRange.EndingSequenceNumber, SEQ_RE);
    assert.equal(p.ParentShardId, undefined);
    assert.deepEqual(p.HashKeyRange, range(0n, HASH_MAX));
    assert.deepEqual(lo, {
      ShardId: shardId(1), ParentShardId: shardId(0), HashKeyRange: range(0n, k - 1n),
      SequenceNumberRange: { StartingSequenceNumber: lo.SequenceNumberRange.StartingSequenceNumber },
    });
    assert.deepEqual(hi, {
      ShardId: shardId(2), ParentShardId: shardId(0), HashKeyRange: range(k, HASH_MAX),
      SequenceNumberRange: { StartingSequenceNumber: hi.SequenceNumberRange.StartingSequenceNumber },
    });
    // Children's sequence numbers sort after everything in the parent (§3.4).
    for (const c of [lo, hi]) {
      assert.ok(BigInt(c.SequenceNumberRange.StartingSequenceNumber) > BigInt(before.SequenceNumber));
      assert.ok(seqCreationSeconds(c.SequenceNumberRange.StartingSequenceNumber)
        > seqCreationSeconds(p.SequenceNumberRange.StartingSequenceNumber));
    }
    assertLineage(shards);
    assert.deepEqual(await listShards({ StreamName: name }), shards, 'ListShards agrees with DescribeStream');
    const { StreamDescription: d } = await send(new DescribeStreamCommand({ StreamName: name }));
    assert.equal(d.StreamStatus, 'ACTIVE');
    const { StreamDescriptionSummary: sum } = await send(new DescribeStreamSummaryCommand({ StreamName: name }));
    assert.equal(sum.OpenShardCount, 2);

    // New writes go to the children; the parent keeps its record, readable to its end.
    const after1 = await put(name, 'a', 'after');
    assert.notEqual(after1.ShardId, shardId(0));
    assert.ok(BigInt(after1.SequenceNumber) > BigInt(before.SequenceNumber));
    const { records } = await readShard(client, name, shardId(0));
    assert.deepEqual(records.map((r) => r.SequenceNumber), [before.SequenceNumber]);
    // LATEST on a closed shard points past its end.
    const latest = await readShard(client, name, shardId(0), { type: 'LATEST' });
    assert.equal(latest.records.length, 0);
  });

  test('SplitShard errors: key range, closed, unknown and unparseable shards, stream state', T, async () => {
    const name = await create('split-err', 2);
    const [s0] = hashRanges(2);
    const start = BigInt(s0.StartingHashKey);
    const end = BigInt(s0.EndingHashKey);
    const rangeErr = (k) => ({
      name: 'InvalidArgumentException', message: splitRangeMsg(k, shardId(0), name, start, end),
    });
    // Valid keys satisfy start + 1 < K < end.
    for (const k of [start, start + 1n, end, end + 1n, HASH_MAX, HASH_MAX + 1n]) {
      await expectError(split(name, shardId(0), k), rangeErr(k));
    }
    await expectError(split(name, 'shardId-000000000099', 100n), {
      name: 'ResourceNotFoundException', message: couldNotFind('shardId-000000000099', name),
    });
    await expectError(split(name, '99', 100n), {
      name: 'ResourceNotFoundException', message: couldNotFind('shardId-000000000099', name),
    });
    await expectError(split(name, 'shardId-abc', 100n), {
      name: 'ResourceNotFoundException', message: couldNotFind('shardId-abc', name),
    });
    await expectError(split('no-such-stream-x', shardId(0), 100n), {
      name: 'ResourceNotFoundException', message: notFound('no-such-stream-x'),
    });
    // An unusable id (not a decimal index 0..2147483647 after an optional "shardId-") is answered
    // before the stream is looked up, naming the id as given.
    for (const bad of ['shardId-abc', 'bogus', 'shardId-', 'shardId-2147483648', 'shardid-1', '-1', '1x']) {
      await expectError(split('no-such-stream-x', bad, 100n), {
        name: 'ResourceNotFoundException', message: couldNotFind(bad, 'no-such-stream-x'),
      });
      await expectError(merge('no-such-stream-x', shardId(0), bad), {
        name: 'ResourceNotFoundException', message: couldNotFind(bad, 'no-such-stream-x'),
      });
    }
    await expectError(split(name, 'shardId-2147483647', 100n), {
      name: 'ResourceNotFoundException', message: couldNotFind('shardId-002147483647', name), // parses: normalised
    });
    // Nothing changed.
    assert.deepEqual(ids(await listShards({ StreamName: name })), [0, 1].map(shardId));
    // The smallest valid key: start + 2; the largest: end - 1.
    assertOk(await split(name, shardId(0), start + 2n));
    assertOk(await split(name, shardId(1), end + 1n + 2n));
    await expectError(split(name, shardId(0), 1000n), {
      name: 'InvalidArgumentException', message: closedMsg(shardId(0), name),
    });
    const shards = await listShards({ StreamName: name });
    assert.deepEqual(shards.find((s) => s.ShardId === shardId(2)).HashKeyRange, range(start, start + 1n));
    assertLineage(shards);

    const od = await create('split-od', undefined, { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    await expectError(split(od, shardId(0), 1000n), { name: 'ValidationException', message: onDemandMsg(od) });
    await expectError(merge(od, shardId(0), shardId(1)), { name: 'ValidationException', message: onDemandMsg(od) });
  });

  // ------------------------------------------------------------------------------ MergeShards
  test('MergeShards: one child with both parents and the union range; errors', T, async () => {
    const name = await create('merge', 3);
    const r = hashRanges(3);
    await expectError(merge(name, shardId(0), shardId(2)), {
      name: 'InvalidArgumentException', message: notAdjacentMsg(shardId(0), shardId(2), name),
    });
    await expectError(merge(name, shardId(1), shardId(1)), {
      name: 'InvalidArgumentException', message: notAdjacentMsg(shardId(1), shardId(1), name),
    });
    await expectError(merge(name, shardId(1), 'shardId-000000000007'), {
      name: 'ResourceNotFoundException', message: couldNotFind('shardId-000000000007', name),
    });
    await expectError(merge(name, 'bogus-x', shardId(1)), {
      name: 'ResourceNotFoundException', message: couldNotFind('bogus-x', name),
    });
    // Only ShardToMerge as the lower neighbour is an eligible pair (AWS-observed).
    await expectError(merge(name, shardId(2), shardId(1)), {
      name: 'InvalidArgumentException', message: notAdjacentMsg(shardId(2), shardId(1), name),
    });
    assertOk(await merge(name, shardId(1), shardId(2))); // ShardToMerge is the parent
    const shards = await describeAllShards(client, name);
    assert.deepEqual(ids(shards), [0, 1, 2, 3].map(shardId));
    const c = shards[3];
    assert.equal(c.ParentShardId, shardId(1));
    assert.equal(c.AdjacentParentShardId, shardId(2));
    assert.deepEqual(c.HashKeyRange, range(BigInt(r[1].StartingHashKey), HASH_MAX));
    assert.ok(!isOpen(shards[1]) && !isOpen(shards[2]) && isOpen(shards[0]) && isOpen(c));
    assertLineage(shards);
    await expectError(merge(name, shardId(0), shardId(1)), {
      name: 'InvalidArgumentException', message: closedMsg(shardId(1), name),
    });
    await expectError(merge(name, shardId(2), shardId(0)), {
      name: 'InvalidArgumentException', message: closedMsg(shardId(2), name),
    });
    assertOk(await merge(name, shardId(0), shardId(3)));
    const all = await listShards({ StreamName: name });
    assert.deepEqual(all[4].HashKeyRange, range(0n, HASH_MAX));
    assertLineage(all);
  });

  // ------------------------------------------------------------------------------ UpdateShardCount
  test('UpdateShardCount: 2→4→5→3 equal-width layouts with complete lineage', T, async () => {
    const name = await create('scale', 2);
    const steps = [[2, 4, 6], [4, 5, 17], [5, 3, 25]]; // [current, target, total shards after]
    for (const [cur, target, total] of steps) {
      const res = await scale(name, target);
      assertOk(res);
      assert.deepEqual(outputOf(res), {
        StreamName: name, StreamARN: streamArn(name), CurrentShardCount: cur, TargetShardCount: target,
      });
      const shards = await describeAllShards(client, name);
      assert.equal(shards.length, total, `${cur}→${target}: total shards`);
      assert.deepEqual(shards.filter(isOpen).map((s) => s.HashKeyRange)
        .sort((a, b) => (BigInt(a.StartingHashKey) < BigInt(b.StartingHashKey) ? -1 : 1)), hashRanges(target));
      assert.deepEqual(ids(shards), shards.map((_, i) => shardId(i)), 'ids never repeat or skip');
      assertLineage(shards);
      const { StreamDescriptionSummary: sum } = await send(new DescribeStreamSummaryCommand({ StreamName: name }));
      assert.equal(sum.OpenShardCount, target);
    }
  });

  test('UpdateShardCount errors: ratio, 10000, on-demand, missing stream, 10 per 24 hours', T, async () => {
    const name = await create('scale-err', 2);
    await expectError(scale(name, 5), {
      name: 'LimitExceededException',
      message: 'UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 2 Target shard count: 5',
    });
    const four = await create('scale-err4', 4);
    await expectError(scale(four, 1), {
      name: 'LimitExceededException',
      message: 'UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: 4 Target shard count: 1',
    });
    await expectError(scale(name, 20000), {
      name: 'LimitExceededException',
      message: 'Target shard count or number of open shards cannot be greater than 10000. Current open shard count: 2 Target shard count: 20000',
    });
    const od = await create('scale-od', undefined, { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    await expectError(scale(od, 4), { name: 'ValidationException', message: onDemandMsg(od) });
    await expectError(scale('no-such-stream-y', 2), {
      name: 'ResourceNotFoundException', message: notFound('no-such-stream-y'),
    });
    await expectError(send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 2, ScalingType: 'BOGUS' })), {
      name: 'ValidationException', message: /Member must satisfy enum value set: \[UNIFORM_SCALING\]/,
    });
    // Ten calls in a day are allowed; the eleventh is refused and changes nothing.
    const rate = await create('scale-rate', 1);
    for (let i = 0; i < 10; i++) assertOk(await scale(rate, i % 2 === 0 ? 2 : 1));
    await expectError(scale(rate, 2), {
      name: 'LimitExceededException',
      message: `Stream ${rate} under account ${ACCOUNT} has already been scaled 10 times in the last 24 hours; UpdateShardCount allows at most 10 scaling operations per stream per rolling 24-hour period.`,
    });
    const shards = await listShards({ StreamName: rate });
    assert.equal(shards.filter(isOpen).length, 1, 'the refused call changed nothing');
    assert.equal(shards.length, 16, 'five 1→2 (two shards each) and five 2→1 (one each) after the first');
    assertLineage(shards);
  });

  // ------------------------------------------------------------------------------ ListShards filters
  test('ListShards ShardFilter over the lineage', T, async () => {
    const name = await create('filter', 2);
    const t0 = new Date();
    await sleep(20);
    const r2 = hashRanges(2);
    const mid = BigInt(r2[0].EndingHashKey) / 2n;
    assertOk(await split(name, shardId(0), mid)); // 0 → 2, 3
    await sleep(1100); // children may start up to 1 s after the request (their creation second)
    const t1 = new Date();
    await sleep(20);
    assertOk(await merge(name, shardId(3), shardId(1))); // 3 + 1 → 4
    await sleep(1100);
    const t2 = new Date();
    const f = async (ShardFilter, extra = {}) => ids(await listShards({ StreamName: name, ShardFilter, ...extra }));

    assert.deepEqual(await f({ Type: 'FROM_TRIM_HORIZON' }), [0, 1, 2, 3, 4].map(shardId));
    assert.deepEqual(await f({ Type: 'AT_TRIM_HORIZON' }), [0, 1].map(shardId));
    assert.deepEqual(await f({ Type: 'AT_LATEST' }), [2, 4].map(shardId));
    assert.deepEqual(await f({ Type: 'AFTER_SHARD_ID', ShardId: shardId(1) }), [2, 3, 4].map(shardId));
    assert.deepEqual(await f({ Type: 'AT_TIMESTAMP', Timestamp: t0 }), [0, 1].map(shardId));
    assert.deepEqual(await f({ Type: 'AT_TIMESTAMP', Timestamp: t1 }), [1, 2, 3].map(shardId));
    assert.deepEqual(await f({ Type: 'AT_TIMESTAMP', Timestamp: t2 }), [2, 4].map(shardId));
    assert.deepEqual(await f({ Type: 'AT_TIMESTAMP', Timestamp: new Date(0) }), [0, 1].map(shardId));
    assert.deepEqual(await f({ Type: 'FROM_TIMESTAMP', Timestamp: t0 }), [0, 1, 2, 3, 4].map(shardId));
    assert.deepEqual(await f({ Type: 'FROM_TIMESTAMP', Timestamp: t1 }), [1, 2, 3, 4].map(shardId));
    assert.deepEqual(await f({ Type: 'FROM_TIMESTAMP', Timestamp: t2 }), [2, 4].map(shardId));

    // Paging keeps the filter.
    const p1 = await send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' }, MaxResults: 1 }));
    assert.deepEqual(ids(p1.Shards), [shardId(2)]);
    const p2 = await send(new ListShardsCommand({ NextToken: p1.NextToken, MaxResults: 1 }));
    assert.deepEqual(ids(p2.Shards), [shardId(4)]);
    // Filter argument rules are unchanged.
    await expectError(send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AFTER_SHARD_ID' } })), {
      name: 'InvalidArgumentException', message: 'ShardId is required for the AFTER_SHARD_ID ShardFilter type.',
    });
    await expectError(send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_TIMESTAMP' } })), {
      name: 'InvalidArgumentException',
      message: 'Timestamp is required for the AT_TIMESTAMP and FROM_TIMESTAMP ShardFilter types.',
    });
    // Closed shards carry their parents and an EndingSequenceNumber in both listings.
    const shards = await describeAllShards(client, name);
    assert.deepEqual(await listShards({ StreamName: name }), shards);
    assert.equal(shards[4].ParentShardId, shardId(3));
    assert.equal(shards[4].AdjacentParentShardId, shardId(1));
    assertLineage(shards);
  });

  // ------------------------------------------------------------------------------ GetRecords at shard end
  test('GetRecords at the end of a closed shard: ChildShards and no NextShardIterator',
    T, async () => {
      const name = await create('childshards', 1);
      for (let i = 0; i < 3; i++) await put(name, `k${i}`, `r${i}`);
      const k = 1n << 127n;
      assertOk(await split(name, shardId(0), k));
      let { ShardIterator: it } = await send(new GetShardIteratorCommand({
        StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON',
      }));
      const got = [];
      let last;
      for (let calls = 0; calls < 10 && it; calls++) {
        last = await send(new GetRecordsCommand({ ShardIterator: it, Limit: 1 }));
        got.push(...last.Records);
        if (last.NextShardIterator) {
          assert.ok(!last.ChildShards || last.ChildShards.length === 0, 'no ChildShards before the end');
        }
        it = last.NextShardIterator;
      }
      assert.equal(got.length, 3);
      assert.equal(last.NextShardIterator, undefined, 'no NextShardIterator at the end');
      assert.deepEqual(last.ChildShards, [
        { ShardId: shardId(1), ParentShards: [shardId(0)], HashKeyRange: range(0n, k - 1n) },
        { ShardId: shardId(2), ParentShards: [shardId(0)], HashKeyRange: range(k, HASH_MAX) },
      ]);
      // LATEST on the closed shard is at the end at once.
      const { ShardIterator: li } = await send(new GetShardIteratorCommand({
        StreamName: name, ShardId: shardId(0), ShardIteratorType: 'LATEST',
      }));
      const r = await send(new GetRecordsCommand({ ShardIterator: li }));
      assert.equal(r.Records.length, 0);
      assert.equal(r.NextShardIterator, undefined);
      assert.equal(r.ChildShards.length, 2);
    });

  // ------------------------------------------------------------------------------ under load
  test('resharding under a concurrent PutRecords load: reading the lineage parent-first yields every '
    + 'acknowledged record exactly once and keeps each partition key\'s order across the split and the merge',
  { timeout: 120000 }, async (t) => {
    const name = await create('load', 2);
    const KEYS = 40;
    const PRODUCERS = 4;
    const BATCH = 25; // records per PutRecords call (several per key)
    const counters = new Array(KEYS).fill(0);
    const acked = new Map(); // "key:counter" -> {seq, shard}
    let failed = 0;
    let stop = false;
    const started = Date.now();

    async function producer(p) {
      const mine = [];
      for (let k = p; k < KEYS; k += PRODUCERS) mine.push(k);
      let turn = 0;
      while (!stop) {
        const entries = [];
        for (let i = 0; i < BATCH; i++) {
          const k = mine[(turn + i) % mine.length];
          const c = counters[k]++;
          entries.push({ k, c });
        }
        turn += 1;
        const res = await send(new PutRecordsCommand({
          StreamName: name,
          Records: entries.map(({ k, c }) => ({ PartitionKey: `key-${k}`, Data: Buffer.from(`${k}:${c}`) })),
        }));
        res.Records.forEach((r, i) => {
          if (r.ErrorCode) failed += 1;
          else acked.set(`${entries[i].k}:${entries[i].c}`, { seq: r.SequenceNumber, shard: r.ShardId });
        });
        if (failed) return; // order per key cannot be kept after a gap
      }
    }

    const producers = Array.from({ length: PRODUCERS }, (_, p) => producer(p));
    const r2 = hashRanges(2);
    await sleep(400);
    const mid = BigInt(r2[0].EndingHashKey) / 2n;
    assertOk(await split(name, shardId(0), mid)); // 0 → 2 [0, mid-1], 3 [mid, end0]
    await sleep(400);
    assertOk(await merge(name, shardId(3), shardId(1))); // 3 + 1 → 4
    await sleep(400);
    stop = true;
    await Promise.all(producers);
    const writeMs = Date.now() - started;
    assert.equal(failed, 0, 'no PutRecords entry failed');

    // Every shard wrote something before and after each change.
    const byShard = new Map();
    for (const { shard } of acked.values()) byShard.set(shard, (byShard.get(shard) ?? 0) + 1);
    for (const sid of [0, 1, 2, 3, 4].map(shardId)) assert.ok(byShard.get(sid) > 0, `writes reached ${sid}`);

    const shards = await listShards({ StreamName: name });
    assertLineage(shards);
    const order = lineageOrder(shards);
    assert.deepEqual(ids(order), [0, 1, 2, 3, 4].map(shardId));
    const readStart = Date.now();
    const seen = new Map();
    const lastOfKey = new Array(KEYS).fill(-1);
    let outOfOrder = 0;
    let dup = 0;
    let stray = 0;
    for (const s of order) {
      const { records } = await readShard(client, name, s.ShardId, { limit: 1000, maxCalls: 10000 });
      for (const r of records) {
        const [k, c] = Buffer.from(r.Data).toString('utf8').split(':').map(Number);
        const id = `${k}:${c}`;
        const a = acked.get(id);
        if (!a || a.seq !== r.SequenceNumber || a.shard !== s.ShardId) stray += 1;
        if (seen.has(id)) dup += 1;
        seen.set(id, s.ShardId);
        if (c <= lastOfKey[k]) outOfOrder += 1;
        lastOfKey[k] = c;
        assert.equal(r.PartitionKey, `key-${k}`);
      }
    }
    const lost = [...acked.keys()].filter((id) => !seen.has(id)).length;
    const readMs = Date.now() - readStart;
    t.diagnostic(`records acknowledged ${acked.size}, read ${seen.size}, lost ${lost}, duplicated ${dup}, `
      + `out of order ${outOfOrder}; writing ${writeMs} ms (split and merge under load), reading ${readMs} ms; `
      + `per shard ${JSON.stringify(Object.fromEntries(byShard))}`);
    assert.equal(lost, 0, 'every acknowledged record read');
    assert.equal(dup, 0, 'no record read twice');
    assert.equal(stray, 0, 'every record read was acknowledged, with its sequence number and shard');
    assert.equal(outOfOrder, 0, 'each key in write order');
    assert.equal(seen.size, acked.size);
    // Each key's counters are complete: 0 .. n-1.
    for (let k = 0; k < KEYS; k++) assert.equal(lastOfKey[k], counters[k] - 1, `key-${k} complete`);
  });
});

describe('resharding: stream state and shard limit', () => {
  let srv;
  let client;
  before(async () => {
    srv = await startRunnel({ args: ['--update-stream-delay', '60000', '--shard-limit', '5'] });
    client = kinesisClient(srv.endpoint);
  });
  after(async () => {
    try { client?.destroy(); } finally { await srv?.stop(); }
  });

  test('a resharded stream is UPDATING and refuses further changes; the shard limit holds', T, async () => {
    const name = uniqueName('updating');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    const k = 1n << 126n;
    assertOk(await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: k.toString() })));
    const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
    assert.equal(d.StreamStatus, 'UPDATING');
    assert.deepEqual(ids(d.Shards), [0, 1].map(shardId), 'the pre-reshard shards while UPDATING');
    assert.ok(d.Shards.every(isOpen));
    const busy = { name: 'ResourceInUseException', message: notActiveMsg(name, 'UPDATING') };
    await expectError(client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(1), NewStartingHashKey: (3n << 126n).toString() })), busy);
    await expectError(client.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: shardId(2), AdjacentShardToMerge: shardId(3) })), busy);
    await expectError(client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' })), busy);
    // Writes still work while UPDATING, and go to the parents.
    const r = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'x', Data: Buffer.from('y'), ExplicitHashKey: '0' }));
    assert.equal(r.ShardId, shardId(0));

    // 3 open shards in the account; a 2-shard stream brings it to the limit of 5.
    const other = uniqueName('limit');
    await client.send(new CreateStreamCommand({ StreamName: other, ShardCount: 2 }));
    await expectError(client.send(new SplitShardCommand({ StreamName: other, ShardToSplit: shardId(0), NewStartingHashKey: k.toString() })), {
      name: 'LimitExceededException', message: shardLimitMsg(5, 5, 1),
    });
    await expectError(client.send(new UpdateShardCountCommand({ StreamName: other, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' })), {
      name: 'LimitExceededException', message: shardLimitMsg(5, 5, 2),
    });
    // Merging frees a shard, and is allowed at the limit.
    assertOk(await client.send(new MergeShardsCommand({ StreamName: other, ShardToMerge: shardId(0), AdjacentShardToMerge: shardId(1) })));
  });
});

// While a stream is UPDATING after a split or merge it shows the shards it had (parents open, no
// children) and writes land in the parents; the change appears when it is ACTIVE again, with the
// records written meanwhile in the parents and the children's sequence numbers after theirs, also
// across a restart during UPDATING (AWS-observed). A stream deleted while CREATING shows no shards.
describe('resharding: UPDATING shows the stream as it was', () => {
  const DELAY = 2500;
  const seqOf = async (client, name, sid) => {
    const it = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: sid, ShardIteratorType: 'TRIM_HORIZON' }));
    const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    return got.Records.map((x) => [Buffer.from(x.Data).toString(), x.SequenceNumber]);
  };
  const waitActive = async (client, name) => {
    for (let i = 0; i < 100; i++) {
      const d = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
      if (d.StreamStatus === 'ACTIVE') return;
      await sleep(100);
    }
    throw new Error(`${name} did not become ACTIVE`);
  };

  for (const op of ['split', 'merge']) test(`${op}: the pre-reshard shards until ACTIVE, then the change; across a restart`, T, async (t) => {
    const dataDir = makeTempDir();
    let srv = await startRunnel({ dataDir, args: ['--update-stream-delay', String(DELAY)] });
    let client = kinesisClient(srv.endpoint);
    t.after(async () => { client.destroy(); await srv.stop(); removeDir(dataDir); });
    const name = uniqueName(`upd-${op}`);
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    const put = async (data, hash) => client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(data), ExplicitHashKey: hash.toString() }));
    const r0 = await put('before', 0n);
    if (op === 'split') assertOk(await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: (1n << 126n).toString() })));
    else assertOk(await client.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: shardId(0), AdjacentShardToMerge: shardId(1) })));
    const t0 = Date.now();
    const d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(d.StreamStatus, 'UPDATING');
    assert.deepEqual(ids(d.Shards), [0, 1].map(shardId));
    assert.ok(d.Shards.every(isOpen), 'parents still open');
    assert.deepEqual(ids(await listShards(client, name)), [0, 1].map(shardId));
    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
    assert.equal(summary.OpenShardCount, 2);
    const r1 = await put('during', 0n);
    assert.equal(r1.ShardId, shardId(0), 'writes land in the parent');
    assert.ok(BigInt(r1.SequenceNumber) > BigInt(r0.SequenceNumber));

    // Restart (killed) while UPDATING: the pending change and the parent's records survive.
    client.destroy();
    await srv.stop({ signal: 'SIGKILL' });
    srv = await startRunnel({ dataDir, args: ['--update-stream-delay', String(DELAY)] });
    client = kinesisClient(srv.endpoint);
    assert.ok(Date.now() - t0 < DELAY - 200, 'restarted within the delay (slow machine?)');
    {
      const d2 = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
      assert.equal(d2.StreamStatus, 'UPDATING');
      assert.deepEqual(ids(d2.Shards), [0, 1].map(shardId));
      const r2 = await put('after-restart', 0n);
      assert.equal(r2.ShardId, shardId(0));
      assert.ok(BigInt(r2.SequenceNumber) > BigInt(r1.SequenceNumber));
    }
    await waitActive(client, name);
    const shards = await describeAllShards(client, name);
    const want = op === 'split' ? [0, 1, 2, 3] : [0, 1, 2];
    assert.deepEqual(ids(shards), want.map(shardId));
    assert.ok(!isOpen(shards[0]), 'the parent closed at ACTIVE');
    assertLineage(shards);
    const parent = await seqOf(client, name, shardId(0));
    assert.deepEqual(parent.slice(0, 2).map((x) => x[0]), ['before', 'during']);
    const child = shards.find((s) => isOpen(s) && BigInt(s.HashKeyRange.StartingHashKey) === 0n);
    const r3 = await put('child', 0n);
    assert.equal(r3.ShardId, child.ShardId, 'writes go to the child once ACTIVE');
    for (const [, seq] of parent) assert.ok(BigInt(r3.SequenceNumber) > BigInt(seq), 'child numbers after the parent\'s');
    assert.ok(BigInt(shards[0].SequenceNumberRange.EndingSequenceNumber) >= BigInt(parent.at(-1)[1]));
  });

  async function listShards(client, name) {
    return (await client.send(new ListShardsCommand({ StreamName: name }))).Shards;
  }

  test('a split pending when runnel stops is applied at the next start once the delay has passed', T, async (t) => {
    const dataDir = makeTempDir();
    let srv = await startRunnel({ dataDir, args: ['--update-stream-delay', String(DELAY)] });
    let client = kinesisClient(srv.endpoint);
    t.after(async () => { client.destroy(); await srv.stop(); removeDir(dataDir); });
    const name = uniqueName('upd-down');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const r0 = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('a'), ExplicitHashKey: '0' }));
    assertOk(await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: (1n << 127n).toString() })));
    client.destroy();
    await srv.stop({ signal: 'SIGKILL' });
    await sleep(DELAY + 300);
    srv = await startRunnel({ dataDir, args: ['--update-stream-delay', String(DELAY)] });
    client = kinesisClient(srv.endpoint);
    const d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(d.StreamStatus, 'ACTIVE');
    assert.deepEqual(ids(d.Shards), [0, 1, 2].map(shardId));
    assert.equal(BigInt(d.Shards[0].SequenceNumberRange.EndingSequenceNumber) >= BigInt(r0.SequenceNumber), true);
    assertLineage(d.Shards);
    const r1 = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('b'), ExplicitHashKey: '0' }));
    assert.equal(r1.ShardId, shardId(1));
    assert.ok(BigInt(r1.SequenceNumber) > BigInt(r0.SequenceNumber));
  });

  test('a stream deleted while CREATING shows Shards: []', T, async (t) => {
    const srv = await startRunnel({ inMemory: true, args: ['--create-stream-delay', '5000', '--delete-stream-delay', '5000'] });
    const client = kinesisClient(srv.endpoint);
    t.after(async () => { client.destroy(); await srv.stop(); });
    const name = uniqueName('delcreating');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    await client.send(new DeleteStreamCommand({ StreamName: name }));
    const d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
    assert.equal(d.StreamStatus, 'DELETING');
    assert.deepEqual(d.Shards, []);
  });
});
