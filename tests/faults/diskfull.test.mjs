// diskfull.test.mjs: the data dir's filesystem (a 4 MiB tmpfs mounted here) fills up under a
// PutRecords load. runnel must:
// - answer every request (never drop a connection), with AWS-shaped errors: PutRecords entries
//   that could not be stored carry ErrorCode InternalFailure / "Internal Service Failure" and are
//   counted in FailedRecordCount; PutRecord is a ServiceUnavailable (503) with a request id;
//   CreateStream either works or fails the same way (a 5xx service error with a request id), and a
//   failed one leaves no stream behind;
// - never acknowledge a record it could not store, and never store one it reported failed;
// - keep serving reads (ListStreams, DescribeStreamSummary, ListShards, GetRecords of everything
//   acknowledged) while the disk is full, also after a clean restart and after a kill -9 on the
//   full disk;
// - write again once there is room (remount with 64 MiB), and after a restart hold every
//   acknowledged record exactly once, in order.
// Mounting needs root (CI runs as root); elsewhere the test is skipped with a message saying so.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  CreateStreamCommand, DescribeStreamSummaryCommand, ListShardsCommand, ListStreamsCommand,
  PutRecordCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, sleep, startRunnel } from '../integration/runnel.mjs';
import { UUID_RE, shardId } from '../integration/kinesis.mjs';
import {
  checkReadBack, faultSeed, readAllShardsSdk, rng, subSeed, tmpfsDataDir,
} from './faultlib.mjs';

const STREAM = 'full-stream';
const SHARDS = 2;
const PRODUCERS = 3;
const SEED = faultSeed();
const FULL_MSG = 'The server is out of disk space.';

/** A service error as the SDK surfaces it: a name, an HTTP status, a UUID request id. */
function assertServiceError(e, what) {
  assert.ok(e.$metadata, `${what}: not a service error (a dropped connection?): ${e.stack}`);
  assert.equal(typeof e.name, 'string', `${what}: error name`);
  assert.ok(e.$metadata.httpStatusCode >= 400, `${what}: HTTP status ${e.$metadata.httpStatusCode}`);
  assert.match(e.$metadata.requestId ?? '', UUID_RE, `${what}: x-amzn-RequestId`);
}

test(`ENOSPC under a PutRecords load: AWS-shaped errors, reads go on, nothing acknowledged lost, writes resume (seed ${SEED})`, { timeout: 90000 }, async (t) => {
  const rig = tmpfsDataDir(t, 'runnel-full-', '4m');
  if (!rig) return;
  const { mnt, dataDir, servers, clients } = rig;
  t.diagnostic(`seed ${SEED} (replay: RUNNEL_FAULT_SEED=${SEED})`);
  const r = rng(subSeed(SEED, 3));
  const start = async () => {
    const srv = await startRunnel({ dataDir, args: ['--fsync', 'always'] });
    servers.push(srv);
    const h2 = kinesisClient(srv.endpoint);
    const h1 = kinesisClient(srv.endpoint, { http1: true });
    clients.push(h2, h1);
    return { srv, h2, h1 };
  };
  let { srv, h2, h1 } = await start();
  await h2.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: SHARDS }));

  const sent = new Map(); // id -> payload
  const acked = new Map(); // id -> {shard, seq}
  const failed = new Set(); // ids reported failed
  const payload = (id, len) => `${id}|${String.fromCharCode(0x61 + (id.length % 26)).repeat(len)}`;
  /** PutRecords of the given [id, len]; records results; returns the response. */
  const putBatch = async (client, items) => {
    const entries = items.map(([id, len]) => {
      sent.set(id, payload(id, len));
      return { PartitionKey: id, Data: Buffer.from(sent.get(id)) };
    });
    const res = await client.send(new PutRecordsCommand({ StreamName: STREAM, Records: entries }));
    assert.equal(res.Records.length, entries.length);
    let nFailed = 0;
    res.Records.forEach((x, i) => {
      const id = entries[i].PartitionKey;
      if (x.ErrorCode) {
        nFailed += 1;
        assert.equal(x.ErrorCode, 'InternalFailure', `entry ${id}: ErrorCode`);
        assert.equal(x.ErrorMessage, 'Internal Service Failure', `entry ${id}: ErrorMessage`);
        assert.equal(x.SequenceNumber, undefined);
        failed.add(id);
      } else {
        assert.match(x.SequenceNumber, /^\d{56}$/);
        acked.set(id, { shard: x.ShardId, seq: x.SequenceNumber });
      }
    });
    assert.equal(res.FailedRecordCount ?? 0, nFailed, 'FailedRecordCount counts the failed entries');
    return res;
  };
  const check = async (client, what) => {
    const byShard = await readAllShardsSdk(client, STREAM, SHARDS);
    const { found, total } = checkReadBack({ byShard, sent, acked, label: `[seed ${SEED}] ${what}: ` });
    const phantoms = [...failed].filter((id) => found.has(id));
    assert.deepEqual(phantoms, [], `${what}: records reported failed were stored`);
    assert.equal(total, acked.size, `${what}: exactly the acknowledged records`);
    return total;
  };

  // 1. Fill the disk under load: producers on HTTP/2 and HTTP/1.1, batches of 1..20 records of
  //    1..40 KiB, each producer until it has seen 3 batches with failed entries.
  let batches = 0;
  await Promise.all(Array.from({ length: PRODUCERS }, async (_, p) => {
    const client = p % 2 ? h1 : h2;
    const pr = rng(subSeed(SEED, 4, p));
    let failing = 0;
    for (let b = 0; b < 400 && failing < 3; b++) {
      const items = Array.from({ length: pr.int(1, 20) }, (_, i) => [`p${p}-b${b}-${i}`, pr.int(1024, 40 * 1024)]);
      let res;
      try { res = await putBatch(client, items); } catch (e) {
        assertServiceError(e, `PutRecords on a filling disk (producer ${p})`);
        assert.fail(`PutRecords on a filling disk must report per-entry failures, not fail whole: ${e.name} ${e.$metadata.httpStatusCode} ${e.message}`);
      }
      batches += 1;
      if (res.FailedRecordCount) failing += 1;
    }
    assert.equal(failing, 3, `producer ${p}: a 4 MiB filesystem never filled up`);
  }));
  // Top it off: small records until one fails, so the disk is really full from here on.
  let topped = 0;
  for (let i = 0; i < 5000; i++) {
    const res = await putBatch(r() < 0.5 ? h1 : h2, [[`top-${i}`, 200]]);
    if (res.FailedRecordCount) break;
    topped += 1;
  }
  t.diagnostic(`disk full after ${batches} batches and ${topped} small records: ${acked.size} acknowledged, ${failed.size} reported failed`);
  assert.ok(acked.size > 0 && failed.size > 0);
  assert.equal(srv.exited, null, `runnel exited on ENOSPC: ${srv.stderr}`);

  // 2. While full, writes are AWS-shaped errors. The commit journal recycles its own files in
  //    the background (a checkpoint turns a file no longer needed into a spare), so a write may
  //    still fit for a while after the first failure: such a write is acknowledged and must be
  //    kept like any other. Within a few tries every write must fail, each with the exact error.
  const fullWrites = async (what) => {
    for (const [proto, client] of [['HTTP/2', h2], ['HTTP/1.1', h1]]) {
      let e = null;
      for (let k = 0; k < 40 && !e; k++) {
        const id = `full-${what}-${proto}-${k}`;
        sent.set(id, payload(id, 100 * 1024));
        try {
          const x = await client.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: id, Data: Buffer.from(sent.get(id)) }));
          acked.set(id, { shard: x.ShardId, seq: x.SequenceNumber });
        } catch (err) {
          e = err;
          failed.add(id);
        }
      }
      assert.ok(e, `${what} ${proto}: 40 PutRecord calls of 100 KiB on a full disk all succeeded`);
      assert.equal(e.name, 'ServiceUnavailable', `${what} ${proto}: error name (message: ${e.message})`);
      assert.equal(e.message, FULL_MSG);
      assert.equal(e.$metadata?.httpStatusCode, 503);
      assert.match(e.$metadata.requestId ?? '', UUID_RE, 'x-amzn-RequestId');
      assert.equal(e.$fault, 'server');
      let allFailed = false;
      for (let k = 0; k < 40 && !allFailed; k++) {
        const res = await putBatch(client, Array.from({ length: 4 }, (_, i) => [`full-${what}-${proto}-b${k}-${i}`, 64 * 1024]));
        allFailed = res.FailedRecordCount === 4;
      }
      assert.ok(allFailed, `${what} ${proto}: PutRecords on a full disk never failed every entry`);
    }
  };
  await fullWrites('full');
  // CreateStream needs a metadata write: it may fit in SQLite's WAL or not; either way an answer.
  let created = false;
  try {
    await h2.send(new CreateStreamCommand({ StreamName: 'made-on-full-disk', ShardCount: 1 }));
    created = true;
  } catch (e) {
    assertServiceError(e, 'CreateStream on a full disk');
    t.diagnostic(`CreateStream on a full disk: ${e.name} ${e.$metadata.httpStatusCode}`);
    assert.ok(e.$metadata.httpStatusCode >= 500, `CreateStream on a full disk: a server-side error, got ${e.$metadata.httpStatusCode} ${e.name}`);
  }

  // 3. Reads go on while full: control plane and every acknowledged record.
  const readsWork = async (client, what) => {
    const ls = await client.send(new ListStreamsCommand({}));
    assert.deepEqual(ls.StreamNames, created ? ['full-stream', 'made-on-full-disk'] : ['full-stream'], `${what}: stream list`);
    const sum = await client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    assert.equal(sum.StreamDescriptionSummary.StreamStatus, 'ACTIVE');
    const shards = await client.send(new ListShardsCommand({ StreamName: STREAM }));
    assert.deepEqual(shards.Shards.map((s) => s.ShardId), [shardId(0), shardId(1)]);
    await check(client, what);
  };
  await readsWork(h2, 'reads on a full disk (HTTP/2)');
  await readsWork(h1, 'reads on a full disk (HTTP/1.1)');

  // 4. A clean restart on the full disk, then a kill -9 and a restart, still full.
  h1.destroy(); h2.destroy();
  assert.deepEqual(await srv.stop(), { code: 0, signal: null, forced: false }, 'clean stop on a full disk');
  ({ srv, h2, h1 } = await start());
  await readsWork(h1, 'after a restart on the full disk');
  await fullWrites('restarted');
  h1.destroy(); h2.destroy();
  assert.equal((await srv.kill9())?.signal, 'SIGKILL');
  ({ srv, h2, h1 } = await start());
  await readsWork(h2, 'after kill -9 and a restart on the full disk');

  // 5. Make room: writes work again (a few tries: the server may need a moment to notice).
  execFileSync('mount', ['-o', 'remount,size=64m', mnt], { stdio: 'pipe' });
  let resumed = null;
  for (let k = 0; k < 20 && !resumed; k++) {
    const id = `resumed-${k}`;
    sent.set(id, payload(id, 100 * 1024));
    try {
      const x = await h2.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: id, Data: Buffer.from(sent.get(id)) }));
      acked.set(id, { shard: x.ShardId, seq: x.SequenceNumber });
      resumed = k;
    } catch (e) {
      assertServiceError(e, 'PutRecord after space was freed');
      failed.add(id);
      await sleep(250);
    }
  }
  assert.notEqual(resumed, null, 'writes did not resume after space was freed');
  for (const [proto, client] of [['h2', h2], ['h1', h1]]) {
    const res = await putBatch(client, Array.from({ length: 20 }, (_, i) => [`room-${proto}-${i}`, r.int(10, 50 * 1024)]));
    assert.equal(res.FailedRecordCount, 0, `PutRecords over ${proto} with room again`);
  }
  // A stream can be created again; if the full-disk CreateStream failed, its name is free.
  await h1.send(new CreateStreamCommand({ StreamName: created ? 'made-with-room' : 'made-on-full-disk', ShardCount: 1 }));
  const n = await check(h1, 'with room again');

  // 6. And after a restart.
  h1.destroy(); h2.destroy();
  assert.equal((await srv.stop()).code, 0);
  ({ srv, h2, h1 } = await start());
  assert.equal(await check(h2, 'after the last restart'), n);
  const names = (await h2.send(new ListStreamsCommand({}))).StreamNames;
  assert.deepEqual(names, created ? ['full-stream', 'made-on-full-disk', 'made-with-room'] : ['full-stream', 'made-on-full-disk']);
});
