// kill9.test.mjs: kill -9 at random moments of a sustained PutRecords load, 20 times in a row on
// the same data dir, each followed by a restart and a full read-back of every shard from
// TRIM_HORIZON. runnel runs with --fsync always, so every record it acknowledged must survive:
// - every acknowledged record is present exactly once, in the shard and at the sequence number
//   PutRecords reported, with its exact payload;
// - each shard reads in strictly increasing sequence order;
// - no record appears twice; records that were sent but not acknowledged (in flight at the kill)
//   may or may not be there, but at most once, intact, in their MD5 shard;
// - everything a previous read-back returned is still there, at the same place.
// The load: 4 producers with a client each (two HTTP/2, two HTTP/1.1), PutRecords batches of a
// random 1..500 records with unique payloads of 0..64 bytes (5% of 257..3000 bytes). The kill
// comes a random 30..900 ms into the load. Read-backs use a lean HTTP/1.1 GetRecords reader
// (faultlib.mjs): the SDK would spend most of the suite's time deserializing. Randomness is seeded; the seed is printed and
// RUNNEL_FAULT_SEED=<seed> replays the same choices.
// The same cycles run with a PutRecord load (16 calls in flight per producer: staged appends),
// 8 times under --fsync always and 8 times under --fsync never.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateStreamCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import {
  kinesisClient, makeTempDir, removeDir, sleep, startRunnel,
} from '../integration/runnel.mjs';
import { shardId } from '../integration/kinesis.mjs';
import {
  checkReadBack, faultSeed, putLoad, readAllShards, rng, subSeed,
} from './faultlib.mjs';

const STREAM = 'kill9-stream';
const SHARDS = 4;
const PRODUCERS = 4;
const CYCLES = 20;
const SINGLE_CYCLES = 8;
const SEED = faultSeed();

/**
 * `cycles` times: start runnel on the same data dir, load it (`op`), kill -9 at a random moment,
 * restart and read every shard back. `fsync never` is checked the same way: kill -9 kills the
 * process, not the machine, so what runnel acknowledged is in the page cache and must be there.
 */
async function kill9Cycles(t, { fsync, op, cycles, seed, minAcked }) {
  t.diagnostic(`seed ${seed} (replay: RUNNEL_FAULT_SEED=${seed})`);
  const label = `[seed ${seed}, ${op}, fsync ${fsync}] `;
  const r = rng(seed);
  const dir = makeTempDir('runnel-kill9-');
  const servers = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    removeDir(dir);
  });
  const start = async () => {
    const srv = await startRunnel({ dataDir: dir, args: ['--fsync', fsync] });
    servers.push(srv);
    const client = kinesisClient(srv.endpoint);
    clients.push(client);
    return { srv, client };
  };

  let { srv, client } = await start();
  await client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: SHARDS }));

  const sent = new Map(); // id -> payload, every record ever sent
  const acked = new Map(); // id -> {shard, seq}, every record ever acknowledged
  let previous = new Map(); // the last read-back: id -> {shard, seq}
  const t0 = Date.now();
  for (let cycle = 0; cycle < cycles; cycle++) {
    const killAfter = r.int(30, 900);
    const before = acked.size;
    const loadDone = putLoad({
      endpoint: srv.endpoint, stream: STREAM, tag: `c${cycle}`, seed: subSeed(seed, cycle),
      producers: PRODUCERS, sent, acked, deadline: Date.now() + killAfter + 15000, op,
    });
    await sleep(killAfter);
    const killedAt = Date.now();
    const ex = await srv.kill9();
    assert.equal(ex?.signal, 'SIGKILL', `${label}cycle ${cycle}: runnel died by SIGKILL (it exited ${JSON.stringify(ex)} before: ${srv.stderr})`);
    const { errors, batches, failedEntries } = await loadDone;
    // Every producer must have been cut off by the kill, not by an error before it.
    assert.equal(errors.length, PRODUCERS, `${label}cycle ${cycle}: every producer ran until the kill`);
    for (const e of errors) {
      assert.ok(e.at >= killedAt, `${label}cycle ${cycle}: producer ${e.producer} failed before the kill: ${e.err?.name} ${e.err?.$metadata?.httpStatusCode} ${e.err?.message}`);
    }
    assert.equal(failedEntries, 0, `${label}cycle ${cycle}: no PutRecords entry failed`);
    client.destroy();

    ({ srv, client } = await start());
    const ls = await client.send(new ListShardsCommand({ StreamName: STREAM }));
    assert.deepEqual(ls.Shards.map((s) => s.ShardId), Array.from({ length: SHARDS }, (_, i) => shardId(i)));
    const tr0 = Date.now();
    const byShard = await readAllShards(srv.endpoint, STREAM, SHARDS);
    const tr1 = Date.now();
    const { found, total, extras } = checkReadBack({
      byShard, sent, acked, previous, label: `${label}cycle ${cycle} (killed after ${killAfter} ms): `,
    });
    t.diagnostic(`cycle ${cycle}: killed after ${killAfter} ms, ${batches} ${op} calls, ${acked.size - before} records acknowledged; after restart ${total} stored, ${acked.size} acknowledged, ${extras} unacknowledged extras; read-back ${tr1 - tr0} ms, check ${Date.now() - tr1} ms (${Date.now() - t0} ms so far)`);
    previous = found;
  }
  assert.ok(acked.size >= minAcked, `${label}the load acknowledged only ${acked.size} records in ${cycles} cycles`);
  const st = await srv.stop();
  assert.equal(st.forced, false);
  assert.equal(st.code, 0);
}

test(`kill -9 at random moments of a PutRecords load, ${CYCLES} times: nothing acknowledged lost, nothing duplicated (seed ${SEED})`, { timeout: 180000 }, async (t) => {
  await kill9Cycles(t, { fsync: 'always', op: 'PutRecords', cycles: CYCLES, seed: SEED, minAcked: 1000 });
});

// PutRecord appends are staged and written once per event-loop round (docs/storage.md); under
// fsync always they are acknowledged after the round's group commit, under never after the
// round's write. Neither may lose an acknowledged record to a process kill.
for (const fsync of ['always', 'never']) {
  test(`kill -9 at random moments of a PutRecord load (staged appends), fsync ${fsync}, ${SINGLE_CYCLES} times: nothing acknowledged lost, nothing duplicated (seed ${SEED})`, { timeout: 120000 }, async (t) => {
    await kill9Cycles(t, { fsync, op: 'PutRecord', cycles: SINGLE_CYCLES, seed: subSeed(SEED, 1000, fsync === 'always' ? 1 : 2), minAcked: 200 });
  });
}
