// restart.test.mjs: durability across a clean restart (SIGTERM), the data-dir lock, and
// --in-memory. Each test owns its data dir and removes it in t.after().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, GetRecordsCommand,
  GetShardIteratorCommand, ListStreamsCommand, PutRecordCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import {
  freePort, kinesisClient, makeTempDir, removeDir, runRunnelToExit, startRunnel, uniqueName,
} from './runnel.mjs';
import { readFromIterator, readShard, shardId, text } from './kinesis.mjs';

const T = { timeout: 60000 };

async function snapshot(client, name, nShards) {
  const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
  const shards = {};
  for (let i = 0; i < nShards; i++) {
    const { records } = await readShard(client, name, shardId(i));
    shards[shardId(i)] = records.map((r) => ({
      seq: r.SequenceNumber, pk: r.PartitionKey, data: Buffer.from(r.Data).toString('base64'),
      at: r.ApproximateArrivalTimestamp.getTime(),
    }));
  }
  return { description: d, shards };
}

test('SIGTERM then restart on the same data dir: streams, shards, records and iterators survive', T, async (t) => {
  const dir = makeTempDir();
  const servers = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    removeDir(dir);
  });

  const srv1 = await startRunnel({ dataDir: dir });
  servers.push(srv1);
  const c1 = kinesisClient(srv1.endpoint);
  clients.push(c1);
  const a = uniqueName('rs-a');
  const b = uniqueName('rs-b');
  const gone = uniqueName('rs-gone');
  await c1.send(new CreateStreamCommand({ StreamName: a, ShardCount: 2 }));
  await c1.send(new CreateStreamCommand({ StreamName: b, ShardCount: 1 }));
  await c1.send(new CreateStreamCommand({ StreamName: gone, ShardCount: 1 }));
  for (let i = 0; i < 20; i++) {
    await c1.send(new PutRecordCommand({ StreamName: a, PartitionKey: `k${i}`, Data: Buffer.from(`a-${i}`) }));
  }
  const batch = Array.from({ length: 5 }, (_, i) => ({ PartitionKey: `b${i}`, Data: Buffer.from([i, 0, 255, i]) }));
  const pr = await c1.send(new PutRecordsCommand({ StreamName: b, Records: batch }));
  assert.equal(pr.FailedRecordCount, 0);
  await c1.send(new DeleteStreamCommand({ StreamName: gone }));

  // Iterators issued before the restart: one at TRIM_HORIZON, one two records in.
  const { ShardIterator: itStart } = await c1.send(new GetShardIteratorCommand({ StreamName: b, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
  const first2 = await c1.send(new GetRecordsCommand({ ShardIterator: itStart, Limit: 2 }));
  assert.equal(first2.Records.length, 2);
  const itMid = first2.NextShardIterator;
  const before = { a: await snapshot(c1, a, 2), b: await snapshot(c1, b, 1) };
  const namesBefore = (await c1.send(new ListStreamsCommand({}))).StreamNames;

  c1.destroy();
  const st = await srv1.stop();
  assert.equal(st.forced, false, 'SIGTERM stopped runnel without SIGKILL');
  assert.equal(st.code, 0, `clean exit code after SIGTERM (got ${st.code}, signal ${st.signal})\n${srv1.stderr}`);

  const srv2 = await startRunnel({ dataDir: dir });
  servers.push(srv2);
  const c2 = kinesisClient(srv2.endpoint);
  clients.push(c2);

  const namesAfter = (await c2.send(new ListStreamsCommand({}))).StreamNames;
  assert.deepEqual(namesAfter, namesBefore);
  assert.ok(namesAfter.includes(a) && namesAfter.includes(b) && !namesAfter.includes(gone));
  const after = { a: await snapshot(c2, a, 2), b: await snapshot(c2, b, 1) };
  assert.deepEqual(after, before, 'descriptions, shards and records identical after restart');
  assert.equal(after.a.shards[shardId(0)].length + after.a.shards[shardId(1)].length, 20);
  assert.equal(after.b.shards[shardId(0)].length, 5);

  // Old iterators still work against the new process.
  const r1 = await readFromIterator(c2, itStart);
  assert.deepEqual(r1.records.map((r) => [...r.Data]), batch.map((e) => [...e.Data]));
  const r2 = await readFromIterator(c2, itMid);
  assert.deepEqual(r2.records.map((r) => r.SequenceNumber), before.b.shards[shardId(0)].slice(2).map((x) => x.seq));

  // New writes continue each shard's sequence above everything written before the restart.
  for (let i = 0; i < 20; i++) {
    const res = await c2.send(new PutRecordCommand({ StreamName: a, PartitionKey: `k${i}`, Data: Buffer.from(`a2-${i}`) }));
    const prev = after.a.shards[res.ShardId];
    if (prev.length) assert.ok(BigInt(res.SequenceNumber) > BigInt(prev[prev.length - 1].seq), `${res.ShardId}: new seq above old`);
  }
  const res = await c2.send(new PutRecordCommand({ StreamName: b, PartitionKey: 'z', Data: Buffer.from('after') }));
  const { records } = await readShard(c2, b, shardId(0));
  assert.equal(records.length, 6);
  assert.equal(records[5].SequenceNumber, res.SequenceNumber);
  assert.equal(text(records[5].Data), 'after');
  // The deleted stream's name is free.
  await c2.send(new CreateStreamCommand({ StreamName: gone, ShardCount: 1 }));
});

test('a second runnel on a data dir in use exits non-zero with "in use"', T, async (t) => {
  const dir = makeTempDir();
  let srv;
  t.after(async () => { await srv?.stop(); removeDir(dir); });
  srv = await startRunnel({ dataDir: dir });
  const port = await freePort();
  const r = await runRunnelToExit(['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dir], { timeoutMs: 10000 });
  assert.equal(r.timedOut, false, `second runnel kept running\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.notEqual(r.code, 0, 'non-zero exit');
  assert.match(r.stderr, /in use/, `stderr: ${r.stderr}`);
  // The first is unharmed.
  const c = kinesisClient(srv.endpoint);
  try {
    const ls = await c.send(new ListStreamsCommand({}));
    assert.deepEqual(ls.StreamNames, []);
  } finally { c.destroy(); }
  // And once it has stopped, the dir can be opened again.
  await srv.stop();
  srv = await startRunnel({ dataDir: dir });
});

test('--in-memory keeps nothing across a restart and writes no data dir', T, async (t) => {
  const servers = [];
  t.after(async () => { for (const s of servers) await s.stop(); });
  const srv1 = await startRunnel({ inMemory: true });
  servers.push(srv1);
  const c1 = kinesisClient(srv1.endpoint);
  const name = uniqueName('mem');
  try {
    await c1.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await c1.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x') }));
    assert.deepEqual((await c1.send(new ListStreamsCommand({}))).StreamNames, [name]);
  } finally { c1.destroy(); }
  // srv1.dataDir is the process's working directory (an empty temp dir) when inMemory.
  assert.deepEqual(fs.readdirSync(srv1.dataDir), [], '--in-memory wrote nothing to its working directory');
  const st = await srv1.stop();
  assert.equal(st.code, 0);

  const srv2 = await startRunnel({ inMemory: true });
  servers.push(srv2);
  const c2 = kinesisClient(srv2.endpoint);
  try {
    assert.deepEqual((await c2.send(new ListStreamsCommand({}))).StreamNames, []);
  } finally { c2.destroy(); }
});

test('SIGTERM exits promptly and cleanly while clients hold idle HTTP/1.1 and HTTP/2 connections', T, async (t) => {
  const srv = await startRunnel();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let session;
  t.after(async () => { agent.destroy(); session?.destroy(); await srv.stop(); });
  // An idle keep-alive HTTP/1.1 socket (a request has completed on it).
  await new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: srv.port, method: 'POST', path: '/', agent,
      headers: {
        'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams',
        'x-amz-date': '20240101T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=' + '0'.repeat(64),
      },
    }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end('{}');
  });
  // An idle HTTP/2 session.
  session = http2.connect(srv.endpoint);
  session.on('error', () => {});
  await new Promise((resolve, reject) => { session.once('connect', resolve); session.once('error', reject); });
  const t0 = Date.now();
  const st = await srv.stop({ timeoutMs: 5000 });
  assert.equal(st.forced, false, 'runnel did not exit within 5 s of SIGTERM with idle connections open');
  assert.equal(st.code, 0);
  assert.ok(Date.now() - t0 < 5000);
});
