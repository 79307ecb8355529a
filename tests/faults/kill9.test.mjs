// kill9.test.mjs: kill -9 under write load, three times. runnel runs with --fsync always, so every
// record it acknowledged must survive: after each restart every acknowledged record is present
// exactly once, in the shard and with the sequence number PutRecords reported, each shard reads in
// strictly increasing sequence order, and no payload appears twice (unacknowledged records from
// the batch in flight at the kill may or may not be there, but at most once).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateStreamCommand, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  kinesisClient, makeTempDir, removeDir, sleep, startRunnel,
} from '../integration/runnel.mjs';
import { readShard, shardId } from '../integration/kinesis.mjs';

const STREAM = 'kill9-stream';
const SHARDS = 4;
const WORKERS = 4;
const BATCH = 100;
const CYCLES = 3;
const MAX_BATCHES_PER_WORKER = 2000; // bound on the load loop, besides time

async function load(client, cycle, acked, stopAt) {
  const errors = [];
  let batches = 0;
  const worker = async (w) => {
    for (let n = 0; n < MAX_BATCHES_PER_WORKER && Date.now() < stopAt; n++) {
      const entries = Array.from({ length: BATCH }, (_, i) => {
        const data = `w${w}-c${cycle}-${n * BATCH + i}`;
        return { PartitionKey: data, Data: Buffer.from(data) };
      });
      let res;
      try {
        res = await client.send(new PutRecordsCommand({ StreamName: STREAM, Records: entries }));
      } catch (e) {
        errors.push(e);
        return; // the server is gone (killed): this worker is done
      }
      batches += 1;
      res.Records.forEach((r, i) => {
        if (r.ErrorCode) return; // not acknowledged
        const data = entries[i].Data.toString();
        assert.ok(!acked.has(data), `payload ${data} acknowledged twice`);
        acked.set(data, { shard: r.ShardId, seq: r.SequenceNumber });
      });
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return { errors, batches };
}

async function verify(client, acked) {
  const found = new Map();
  let total = 0;
  for (let s = 0; s < SHARDS; s++) {
    const sid = shardId(s);
    const { records } = await readShard(client, STREAM, sid, { maxCalls: 2000 });
    let prev = -1n;
    for (const r of records) {
      const seq = BigInt(r.SequenceNumber);
      assert.ok(seq > prev, `${sid}: sequence ${r.SequenceNumber} not above ${prev}`);
      prev = seq;
      const data = Buffer.from(r.Data).toString();
      assert.ok(!found.has(data), `payload ${data} stored twice (${found.get(data)?.shard} and ${sid})`);
      assert.equal(r.PartitionKey, data, 'partition key matches payload');
      found.set(data, { shard: sid, seq: r.SequenceNumber });
      total += 1;
    }
  }
  let missing = 0;
  const examples = [];
  for (const [data, want] of acked) {
    const got = found.get(data);
    if (!got) { missing += 1; if (examples.length < 5) examples.push(`missing ${data} (${want.shard} ${want.seq})`); continue; }
    if (got.shard !== want.shard || got.seq !== want.seq) {
      missing += 1;
      if (examples.length < 5) examples.push(`${data}: acked ${want.shard} ${want.seq}, found ${got.shard} ${got.seq}`);
    }
  }
  assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged records lost or moved: ${examples.join('; ')}`);
  return { total, unacked: total - acked.size };
}

test('kill -9 under PutRecords load loses no acknowledged record (3 cycles, --fsync always)', { timeout: 120000 }, async (t) => {
  const dir = makeTempDir('runnel-kill9-');
  const servers = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    removeDir(dir);
  });
  const start = () => startRunnel({ dataDir: dir, args: ['--fsync', 'always'] });

  let srv = await start();
  servers.push(srv);
  let client = kinesisClient(srv.endpoint);
  clients.push(client);
  await client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: SHARDS }));

  const acked = new Map(); // payload -> {shard, seq}, over all cycles
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const killAfter = 1000 + Math.floor(Math.random() * 1000);
    const before = acked.size;
    const loadDone = load(client, cycle, acked, Date.now() + killAfter + 5000);
    await sleep(killAfter);
    const ex = await srv.kill9();
    assert.equal(ex?.signal, 'SIGKILL', 'runnel died by SIGKILL');
    const { errors, batches } = await loadDone;
    t.diagnostic(`cycle ${cycle}: killed after ${killAfter} ms, ${batches} batches, ${acked.size - before} records acknowledged, ${errors.length} workers cut off`);
    assert.ok(acked.size > before, `cycle ${cycle}: some records were acknowledged before the kill`);
    client.destroy();

    srv = await start();
    servers.push(srv);
    client = kinesisClient(srv.endpoint);
    clients.push(client);
    const ls = await client.send(new ListShardsCommand({ StreamName: STREAM }));
    assert.deepEqual(ls.Shards.map((s) => s.ShardId), Array.from({ length: SHARDS }, (_, i) => shardId(i)));
    const { total, unacked } = await verify(client, acked);
    t.diagnostic(`cycle ${cycle}: after restart ${total} records stored, ${acked.size} acknowledged, ${unacked} unacknowledged extras`);
  }
  const st = await srv.stop();
  assert.equal(st.forced, false);
  assert.equal(st.code, 0);
});
