// fdcache.test.mjs: a stream of 1,000 shards on a server whose RLIMIT_NOFILE is 256 (issue 12's
// open-file cache, docs/storage.md). Before it every shard log held two descriptors (its active
// segment and its directory), so the writes to the first ~120 shards took the table and the rest
// failed (503, out of file descriptors). Now at most --max-open-files segment files are open (by
// default half the quarter of the limit that connections leave: 32 here) and a shard's are reopened
// when it is read or written again. Every shard is written three times, read back exactly, the
// server restarts on the same data directory (SIGTERM), each shard is written once more and read
// back again; the descriptors the server holds are counted along the way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  CreateStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, makeTempDir, removeDir, sleep, startRunnel, uniqueName } from './runnel.mjs';
import { hashRanges, shardId } from './kinesis.mjs';

const NOFILE = 256;
const SHARDS = 1000;
const CAP = 32; // rn_fd_files_default(256): the reserve is 64, half of it for segment files
const T = { timeout: 240000 };

const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

/** Run fn over 0..n-1, `width` at a time. */
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) { const i = next++; await fn(i); }
  }));
}

/** Round `round` of writes: one record to every shard, routed by ExplicitHashKey, 500 a request. */
async function putRound(client, name, round) {
  const ranges = hashRanges(SHARDS);
  for (let start = 0; start < SHARDS; start += 500) {
    const recs = [];
    for (let i = start; i < Math.min(start + 500, SHARDS); i++) {
      recs.push({ PartitionKey: `pk-${i}`, ExplicitHashKey: ranges[i].StartingHashKey,
        Data: Buffer.from(`shard ${i} round ${round}`) });
    }
    const r = await client.send(new PutRecordsCommand({ StreamName: name, Records: recs }));
    assert.equal(r.FailedRecordCount, 0, JSON.stringify(r.Records.find((e) => e.ErrorCode)));
    r.Records.forEach((e, k) => assert.equal(e.ShardId, shardId(start + k)));
  }
}

/** Every shard holds exactly rounds 0..rounds-1, in order. */
async function checkAll(client, name, rounds) {
  await pool(SHARDS, 8, async (i) => {
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({
      StreamName: name, ShardId: shardId(i), ShardIteratorType: 'TRIM_HORIZON' }));
    const r = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 100 }));
    const got = r.Records.map((x) => Buffer.from(x.Data).toString());
    const want = Array.from({ length: rounds }, (_, k) => `shard ${i} round ${k}`);
    assert.deepEqual(got, want, shardId(i));
  });
}

test('1,000 shards under RLIMIT_NOFILE 256: written, read, restarted, written and read again', T, async (t) => {
  const dir = makeTempDir();
  const servers = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    removeDir(dir);
  });
  const start = async () => {
    const srv = await startRunnel({ dataDir: dir, nofile: NOFILE, args: ['--shard-limit', '2000'] });
    servers.push(srv);
    const client = kinesisClient(srv.endpoint);
    clients.push(client);
    return { srv, client };
  };
  let { srv, client } = await start();
  const name = uniqueName('fdc');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: SHARDS }));
  for (let i = 0; i < 100; i++) {
    const { StreamDescriptionSummary: d } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamStatus === 'ACTIVE') break;
    await sleep(50);
  }
  const idle = fdCount(srv.pid);
  let most = idle;
  const note = () => { most = Math.max(most, fdCount(srv.pid)); };

  for (let round = 0; round < 3; round++) {
    await putRound(client, name, round);
    note();
  }
  await checkAll(client, name, 3);
  note();
  // the cap, plus the connections of this test (8 readers) and what a write opens for a moment
  assert.ok(most <= idle + CAP + 24, `${most} descriptors open (idle ${idle}, cap ${CAP})`);
  // and /metrics says so: files open within the cap, evictions counted
  const metrics = await (await fetch(`${srv.endpoint}/metrics`)).text();
  const gauge = (n) => Number((new RegExp(`^${n} (\\d+)$`, 'm').exec(metrics) || [])[1]);
  assert.equal(gauge('runnel_store_open_files_max'), CAP);
  assert.ok(gauge('runnel_store_open_files') <= CAP, `open files ${gauge('runnel_store_open_files')}`);
  assert.ok(gauge('runnel_store_files_evicted_total') >= SHARDS - CAP, `evicted ${gauge('runnel_store_files_evicted_total')}`);

  client.destroy();
  await srv.stop();
  ({ srv, client } = await start());
  await checkAll(client, name, 3);
  const idle2 = fdCount(srv.pid);
  await putRound(client, name, 3);
  await checkAll(client, name, 4);
  const after = fdCount(srv.pid);
  assert.ok(after <= idle2 + CAP + 24, `${after} descriptors open after the restart (idle ${idle2})`);
  t.diagnostic(`descriptors: idle ${idle}, at most ${most} over 1,000 shards; after the restart ${after}`);
});
