// counters_at_commit.test.mjs: the answer of PutRecord and PutRecords when the store reports
// counters only at commit, as cluster mode's store does (docs/cluster.md,
// rn_store_counters_at_commit). `--test-counters-at-commit` makes the one-node store behave so:
// every sequence number answered must then be the one GetRecords gives back for that record,
// in memory and on disk under fsync always and never, with encryption, and with entries refused
// inside a PutRecords (their neighbours keep their own numbers). The numbers are written into the
// rendered answer before it is encoded, so CBOR answers carry the same (cbor.test.mjs covers the
// encoding).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, PutRecordCommand, PutRecordsCommand, StartStreamEncryptionCommand,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, startRunnel, uniqueName } from './runnel.mjs';
import { readShard, shardId, text, SEQ_RE } from './kinesis.mjs';

const T = { timeout: 90000 };

/** Every record of a stream of n shards, by sequence number: { shard, pk, data }. */
async function readAll(client, name, n) {
  const bySeq = new Map();
  for (let i = 0; i < n; i++) {
    const { records } = await readShard(client, name, shardId(i));
    for (const r of records) bySeq.set(r.SequenceNumber, { shard: shardId(i), pk: r.PartitionKey, data: text(r.Data) });
  }
  return bySeq;
}

async function exercise(t, args, { encrypt = false, http1 = false } = {}) {
  const srv = await startRunnel({ args: ['--test-counters-at-commit', ...args] });
  const client = kinesisClient(srv.endpoint, { http1 });
  t.after(async () => { client.destroy(); await srv.stop(); });
  const name = uniqueName('cac');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 3 }));
  if (encrypt) {
    await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
  }
  const answered = new Map(); // seq -> { shard, pk, data }
  const note = (seq, shard, pk, data) => {
    assert.match(seq, SEQ_RE);
    assert.ok(!answered.has(seq), `sequence number ${seq} answered twice`);
    answered.set(seq, { shard, pk, data });
  };
  // PutRecord, some in flight at once so several land in one commit round.
  for (let round = 0; round < 4; round++) {
    const puts = Array.from({ length: 8 }, (_, i) => {
      const pk = `k${round}-${i}`;
      const data = `one ${round} ${i}`;
      return client.send(new PutRecordCommand({ StreamName: name, PartitionKey: pk, Data: Buffer.from(data) }))
        .then((r) => note(r.SequenceNumber, r.ShardId, pk, data));
    });
    await Promise.all(puts);
  }
  // PutRecords over all shards, several at once (entries refused inside one come from
  // --inject-errors when the caller asks for it).
  const batches = Array.from({ length: 4 }, (_, b) => Array.from({ length: 60 }, (_, i) => ({
    PartitionKey: `b${b}-${i % 17}`, Data: Buffer.from(`many ${b} ${i}`),
  })));
  await Promise.all(batches.map(async (recs) => {
    const r = await client.send(new PutRecordsCommand({ StreamName: name, Records: recs }));
    r.Records.forEach((e, i) => {
      if (e.ErrorCode) return;
      note(e.SequenceNumber, e.ShardId, recs[i].PartitionKey, text(recs[i].Data));
    });
    return r;
  }));
  const stored = await readAll(client, name, 3);
  assert.equal(stored.size, answered.size, 'every acknowledged record stored once, nothing else');
  for (const [seq, want] of answered) {
    assert.deepEqual(stored.get(seq), want, `the record answered with ${seq}`);
  }
  return { answered, stored };
}

test('counters at commit: PutRecord and PutRecords answer the stored sequence numbers (memory, JSON)', T, async (t) => {
  const { answered } = await exercise(t, ['--in-memory']);
  assert.equal(answered.size, 32 + 240);
});

test('counters at commit: on disk under fsync always, over HTTP/1.1 too', T, async (t) => {
  await exercise(t, ['--fsync', 'always'], { http1: true });
});

test('counters at commit: on disk under fsync never, an encrypted stream', T, async (t) => {
  await exercise(t, ['--fsync', 'never'], { encrypt: true });
});

test('counters at commit: entries refused inside PutRecords leave the others their own numbers', T, async (t) => {
  const { answered } = await exercise(t, ['--in-memory', '--inject-errors', 'PutRecords=records:InternalFailure@0.3']);
  assert.ok(answered.size > 32 && answered.size < 32 + 240, `some entries refused, some stored (${answered.size})`);
});
