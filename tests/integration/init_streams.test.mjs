// init_streams.test.mjs: --init-streams (src/api/ops_streams.c rn_api_init_streams): the streams a CI
// job needs exist, ACTIVE, before the server prints its endpoint; a restart keeps them (and their
// records) as they are; a bad list stops the server with the entry named.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeStreamSummaryCommand, ListShardsCommand, ListStreamsCommand, PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, makeTempDir, removeDir, runRunnelToExit, startRunnel } from './runnel.mjs';
import { readShard, shardId, text } from './kinesis.mjs';

const T = { timeout: 60000 };

async function summary(k, name) {
  return (await k.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
}

test('the listed streams are ACTIVE when the endpoint is printed, with their shards and modes', T, async (t) => {
  // a creation delay does not hold them back
  const srv = await startRunnel({
    inMemory: true,
    args: ['--create-stream-delay', '5000', '--init-streams', 'orders:3, events:2:PROVISIONED,clicks,audit:ON_DEMAND'],
  });
  t.after(() => srv.stop());
  const k = kinesisClient(srv.endpoint);
  const names = (await k.send(new ListStreamsCommand({}))).StreamNames;
  assert.deepEqual([...names].sort(), ['audit', 'clicks', 'events', 'orders']);
  const want = { orders: [3, 'PROVISIONED'], events: [2, 'PROVISIONED'], clicks: [4, 'ON_DEMAND'], audit: [4, 'ON_DEMAND'] };
  for (const [name, [n, mode]] of Object.entries(want)) {
    const s = await summary(k, name);
    assert.equal(s.StreamStatus, 'ACTIVE', name);
    assert.equal(s.OpenShardCount, n, name);
    assert.equal(s.StreamModeDetails.StreamMode, mode, name);
    const shards = (await k.send(new ListShardsCommand({ StreamName: name }))).Shards;
    assert.equal(shards.length, n);
  }
  const put = await k.send(new PutRecordCommand({ StreamName: 'orders', PartitionKey: 'a', Data: Buffer.from('x') }));
  assert.match(put.ShardId, /^shardId-/);
});

test('a restart with the same list keeps the streams and their records', T, async (t) => {
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  const args = ['--init-streams', 'keep:1'];
  let srv = await startRunnel({ dataDir, args });
  let k = kinesisClient(srv.endpoint);
  await k.send(new PutRecordCommand({ StreamName: 'keep', PartitionKey: 'a', Data: Buffer.from('before') }));
  const created = (await summary(k, 'keep')).StreamCreationTimestamp;
  await srv.stop();
  srv = await startRunnel({ dataDir, args: ['--init-streams', 'keep:2'] }); // a different count: kept as it is
  t.after(() => srv.stop());
  k = kinesisClient(srv.endpoint);
  const s = await summary(k, 'keep');
  assert.equal(s.OpenShardCount, 1);
  assert.equal(s.StreamCreationTimestamp.getTime(), created.getTime());
  const back = (await readShard(k, 'keep', shardId(0))).records.map((r) => text(r.Data));
  assert.deepEqual(back, ['before']);
});

test('a bad list stops the server and names the entry', T, async () => {
  for (const [spec, why] of [
    ['', /no stream named/],
    ['bad/name:1', /"bad\/name": a stream name is 1-128/],
    ['a:0', /"a": the shard count must be 1\.\.100000/],
    ['a:x', /"a": the shard count/],
    ['a:2:ON_DEMAND', /"a": an ON_DEMAND stream takes no shard count/],
    ['a:2:FAST', /"a": the mode is PROVISIONED or ON_DEMAND/],
    ['a:400,b:200', /"b": 200 shards exceed the shard limit \(500, 400 open; --shard-limit\)/],
  ]) {
    const r = await runRunnelToExit(['serve', '--in-memory', '--listen', '127.0.0.1:0', '--init-streams', spec]);
    assert.notEqual(r.code, 0, spec);
    assert.match(r.stderr, why, spec);
  }
});
