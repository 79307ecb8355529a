// ctl_diskfull.test.mjs: every control-plane change on a full disk (issue 9, defect 5).
//
// The data dir lives on a small tmpfs (the technique of tests/faults/diskfull.test.mjs); a filler
// file takes every free page. Then each control-plane write must answer ServiceUnavailable 503 and
// leave the stream exactly as it was, in memory (Describe* before and after) and on disk (the same
// after a restart): SplitShard, MergeShards, UpdateShardCount, DeleteStream, tags, retention,
// monitoring, mode, max record size, encryption, policies, consumers, account settings,
// CreateStream. Once there is room again, PutRecords after the refused split go to the parents
// (no children exist) and are all read back after a restart; the stream whose DeleteStream was
// refused still exists after the restart, and one deleted with room does not come back.
// Mounting needs root; elsewhere the test is skipped with a message saying so.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  AddTagsToStreamCommand, CreateStreamCommand, DeleteStreamCommand, DescribeAccountSettingsCommand,
  DescribeStreamCommand, DescribeStreamSummaryCommand, EnableEnhancedMonitoringCommand,
  IncreaseStreamRetentionPeriodCommand, ListShardsCommand, ListStreamConsumersCommand, ListStreamsCommand,
  ListTagsForStreamCommand, MergeShardsCommand, PutRecordsCommand, PutResourcePolicyCommand,
  RegisterStreamConsumerCommand, RemoveTagsFromStreamCommand, SplitShardCommand, StartStreamEncryptionCommand,
  UpdateAccountSettingsCommand, UpdateMaxRecordSizeCommand, UpdateShardCountCommand, UpdateStreamModeCommand,
  GetResourcePolicyCommand,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, startRunnel, streamArn } from './hostile.mjs';
import { tmpfsDataDir } from '../faults/faultlib.mjs';
import { readShard, shardId, text } from '../integration/kinesis.mjs';

const FULL = { name: 'ServiceUnavailable', status: 503 };

/** Take every free byte of the filesystem of dir with one file; returns its path. */
function fillDisk(dir) {
  const p = `${dir}/filler`;
  const fd = fs.openSync(p, 'a');
  for (const size of [1 << 20, 64 << 10, 4096, 512, 1]) {
    const buf = Buffer.alloc(size, 0x55);
    for (;;) {
      try { fs.writeSync(fd, buf); } catch (e) {
        if (e.code === 'ENOSPC') break;
        throw e;
      }
    }
  }
  fs.closeSync(fd);
  return p;
}

async function refused(promise, what) {
  let err;
  try {
    await promise;
  } catch (e) { err = e; }
  assert.ok(err, `${what} on a full disk answered 200`);
  assert.equal(err.name, FULL.name, `${what}: ${err.name} ${err.$metadata?.httpStatusCode} ${err.message}`);
  assert.equal(err.$metadata.httpStatusCode, FULL.status, `${what}: HTTP status`);
}

/** Everything the control plane shows about a stream. */
async function snapshot(client, name) {
  const sum = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
  const shards = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription.Shards;
  const listed = (await client.send(new ListShardsCommand({ StreamName: name }))).Shards;
  const tags = (await client.send(new ListTagsForStreamCommand({ StreamName: name }))).Tags;
  const policy = (await client.send(new GetResourcePolicyCommand({ ResourceARN: streamArn(name) }))).Policy;
  const consumers = (await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(name) }))).Consumers
    .map((c) => c.ConsumerName);
  return { sum, shards, listed, tags, policy, consumers };
}

test('control-plane writes on a full disk answer 503 and change nothing; acknowledged records survive a restart', { timeout: 120000 }, async (t) => {
  const rig = tmpfsDataDir(t, 'runnel-ctlfull-', '6m');
  if (!rig) return;
  const { mnt, dataDir, servers, clients } = rig;
  const start = async () => {
    const srv = await startRunnel({ dataDir, args: ['--fsync', 'always'] });
    servers.push(srv);
    const c = kinesisClient(srv.endpoint);
    clients.push(c);
    return { srv, c };
  };
  let { srv, c } = await start();
  await c.send(new CreateStreamCommand({ StreamName: 'ds', ShardCount: 2 }));
  await c.send(new CreateStreamCommand({ StreamName: 'keep', ShardCount: 1 }));
  await c.send(new CreateStreamCommand({ StreamName: 'gone', ShardCount: 1 }));
  await c.send(new AddTagsToStreamCommand({ StreamName: 'ds', Tags: { a: '1' } }));
  const put = async (ids) => {
    const res = await c.send(new PutRecordsCommand({
      StreamName: 'ds',
      Records: ids.map((id) => ({ PartitionKey: id, Data: Buffer.from(`payload-${id}`) })),
    }));
    assert.equal(res.FailedRecordCount ?? 0, 0, 'PutRecords with room');
    return res.Records.map((r) => r.ShardId);
  };
  const early = Array.from({ length: 10 }, (_, i) => `early-${i}`);
  await put(early);

  const before = await snapshot(c, 'ds');
  const beforeKeep = await snapshot(c, 'keep');
  const acct = (await c.send(new DescribeAccountSettingsCommand({}))).MinimumThroughputBillingCommitment;
  const parent = before.shards[0];

  // Full: every control-plane write is refused with 503 and changes nothing.
  const filler = fillDisk(mnt);
  const mid = ((BigInt(parent.HashKeyRange.StartingHashKey) + BigInt(parent.HashKeyRange.EndingHashKey)) / 2n).toString();
  await refused(c.send(new SplitShardCommand({ StreamName: 'ds', ShardToSplit: parent.ShardId, NewStartingHashKey: mid })), 'SplitShard');
  await refused(c.send(new MergeShardsCommand({ StreamName: 'ds', ShardToMerge: shardId(0), AdjacentShardToMerge: shardId(1) })), 'MergeShards');
  await refused(c.send(new UpdateShardCountCommand({ StreamName: 'ds', TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' })), 'UpdateShardCount');
  await refused(c.send(new AddTagsToStreamCommand({ StreamName: 'ds', Tags: { b: '2' } })), 'AddTagsToStream');
  await refused(c.send(new RemoveTagsFromStreamCommand({ StreamName: 'ds', TagKeys: ['a'] })), 'RemoveTagsFromStream');
  await refused(c.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: 'ds', RetentionPeriodHours: 48 })), 'IncreaseStreamRetentionPeriod');
  await refused(c.send(new EnableEnhancedMonitoringCommand({ StreamName: 'ds', ShardLevelMetrics: ['ALL'] })), 'EnableEnhancedMonitoring');
  await refused(c.send(new UpdateStreamModeCommand({ StreamARN: streamArn('ds'), StreamModeDetails: { StreamMode: 'ON_DEMAND' } })), 'UpdateStreamMode');
  await refused(c.send(new UpdateMaxRecordSizeCommand({ StreamARN: streamArn('ds'), MaxRecordSizeInKiB: 2048 })), 'UpdateMaxRecordSize');
  await refused(c.send(new StartStreamEncryptionCommand({ StreamName: 'ds', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' })), 'StartStreamEncryption');
  await refused(c.send(new PutResourcePolicyCommand({
    ResourceARN: streamArn('ds'),
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kinesis:*', Resource: '*' }] }),
  })), 'PutResourcePolicy');
  await refused(c.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn('ds'), ConsumerName: 'k' })), 'RegisterStreamConsumer');
  await refused(c.send(new UpdateAccountSettingsCommand({ MinimumThroughputBillingCommitment: { Status: 'ENABLED' } })), 'UpdateAccountSettings');
  await refused(c.send(new CreateStreamCommand({ StreamName: 'new-on-full', ShardCount: 1, Tags: { x: 'y' } })), 'CreateStream');
  await refused(c.send(new DeleteStreamCommand({ StreamName: 'keep' })), 'DeleteStream');

  assert.deepEqual(await snapshot(c, 'ds'), before, 'ds after the refused changes');
  assert.deepEqual(await snapshot(c, 'keep'), beforeKeep, 'keep after its refused DeleteStream');
  assert.deepEqual((await c.send(new ListStreamsCommand({}))).StreamNames, ['ds', 'gone', 'keep']);
  assert.deepEqual((await c.send(new DescribeAccountSettingsCommand({}))).MinimumThroughputBillingCommitment, acct);

  // Room again: records go to the parents (the split was never applied), a delete works.
  fs.unlinkSync(filler);
  const later = Array.from({ length: 6 }, (_, i) => `later-${i}`);
  const shardsOfLater = await put(later);
  const open = new Set(before.shards.map((s) => s.ShardId));
  for (const sid of shardsOfLater) assert.ok(open.has(sid), `a record after the refused split went to ${sid}`);
  await c.send(new DeleteStreamCommand({ StreamName: 'gone' }));

  // Restart: the same streams, the same shards, every acknowledged record.
  c.destroy();
  assert.equal((await srv.stop()).code, 0);
  ({ srv, c } = await start());
  assert.deepEqual((await c.send(new ListStreamsCommand({}))).StreamNames, ['ds', 'keep'], 'after the restart: the refused delete kept, the done one gone');
  const after = await snapshot(c, 'ds');
  assert.deepEqual(after.shards, before.shards, 'shards after the restart');
  assert.deepEqual(after.tags, before.tags);
  assert.equal(after.sum.RetentionPeriodHours, before.sum.RetentionPeriodHours);
  assert.equal(after.sum.EncryptionType, before.sum.EncryptionType);
  assert.deepEqual(after.consumers, []);
  const got = [];
  for (const s of after.shards) {
    const { records } = await readShard(c, 'ds', s.ShardId);
    got.push(...records.map((r) => text(r.Data)));
  }
  assert.deepEqual(got.sort(), [...early, ...later].map((id) => `payload-${id}`).sort(), 'every acknowledged record, read back after the restart');
  assert.equal(srv.exited, null);
});

test('delayed transitions on a full disk: memory never runs ahead of the metadata', { timeout: 60000 }, async (t) => {
  const rig = tmpfsDataDir(t, 'runnel-ctlfull2-', '6m');
  if (!rig) return;
  const { mnt, dataDir, servers, clients } = rig;
  const start = async () => {
    const srv = await startRunnel({ dataDir, args: ['--fsync', 'always', '--create-stream-delay', '300', '--delete-stream-delay', '300'] });
    servers.push(srv);
    const c = kinesisClient(srv.endpoint);
    clients.push(c);
    return { srv, c };
  };
  let { srv, c } = await start();
  const status = async (name) => {
    const l = await c.send(new ListStreamsCommand({}));
    const s = (l.StreamSummaries ?? []).find((x) => x.StreamName === name);
    return s ? s.StreamStatus : 'GONE';
  };
  await c.send(new CreateStreamCommand({ StreamName: 'doomed', ShardCount: 1 }));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(await status('doomed'), 'ACTIVE');
  await c.send(new DeleteStreamCommand({ StreamName: 'doomed' }));
  assert.equal(await status('doomed'), 'DELETING');
  const filler = fillDisk(mnt);
  await new Promise((r) => setTimeout(r, 500));
  // The deletion is due but cannot be written: the stream stays DELETING, as the disk says.
  assert.equal(await status('doomed'), 'DELETING', 'a deletion that could not be persisted was applied in memory');
  fs.unlinkSync(filler);
  await new Promise((r) => setTimeout(r, 1200)); // retried after a second
  assert.equal(await status('doomed'), 'GONE');
  c.destroy();
  assert.equal((await srv.stop()).code, 0);
  ({ srv, c } = await start());
  assert.equal(await status('doomed'), 'GONE', 'a finished deletion came back after a restart');
});
