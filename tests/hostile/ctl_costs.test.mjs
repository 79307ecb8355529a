// ctl_costs.test.mjs: control-plane costs that must not grow without need (issue 9, defect 8).
//
// - CreateStream across many accounts: the per-create time of the last batch is not a multiple of
//   the first batch's (lookups, open-shard counts and listings are indexed per account and region;
//   no scan over every stream);
// - split + merge cycles with the clock moved past the retention (--enable-test-clock): closed
//   shards whose records have expired leave the stream's document, so it stays bounded, and the
//   shard ids keep growing (never reused);
// - DeleteStream of an untouched 500-shard stream does not block another client's ListStreams
//   (the logs are not opened and recovered one by one to be destroyed).
// Bounded in seconds; no absolute timing except the 200 ms loop-block bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { makeTempDir, removeDir, startRunnel } from './hostile.mjs';

/** A keep-alive JSON client for one account: call(target, body, {offsetMs}) -> {status, json, ms}. */
function rawClient(port, account) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (target, body, { offsetMs } = {}) => new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const headers = {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `Kinesis_20131202.${target}`,
      'Authorization': `AWS4-HMAC-SHA256 Credential=${account}/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
      'X-Amz-Date': '20261202T000000Z',
      'Content-Length': String(payload.length),
    };
    if (offsetMs !== undefined) headers['x-runnel-test-clock-offset-ms'] = String(offsetMs);
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const txt = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, json: txt ? JSON.parse(txt) : {}, ms });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
  const ok = async (target, body, opts) => {
    const r = await call(target, body, opts);
    assert.equal(r.status, 200, `${target}: ${JSON.stringify(r.json)}`);
    return r;
  };
  return { call, ok, close: () => agent.destroy() };
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

test('CreateStream time does not grow with the number of streams', { timeout: 180000 }, async (t) => {
  // 200 accounts: above the default --max-namespaces (64)
  const srv = await startRunnel({ args: ['--fsync', 'never', '--max-namespaces', '1000'] });
  const clients = [];
  t.after(async () => { for (const c of clients) c.close(); await srv.stop(); });
  const ACCOUNTS = 200;
  const TOTAL = 40000;
  const BATCH = 2000;
  for (let i = 0; i < ACCOUNTS; i++) clients.push(rawClient(srv.port, String(100000000000 + i)));
  const batchMedians = [];
  let made = 0;
  while (made < TOTAL) {
    const times = [];
    for (let j = 0; j < BATCH; j++, made++) {
      const c = clients[made % ACCOUNTS];
      const r = await c.ok('CreateStream', { StreamName: `s-${made}`, ShardCount: 1 });
      times.push(r.ms);
    }
    batchMedians.push(median(times));
  }
  // The first batches warm up (allocations, SQLite's cache): compare the last batches with the
  // fastest of the first half.
  const first = Math.min(...batchMedians.slice(0, batchMedians.length / 2));
  const last = median(batchMedians.slice(-3));
  t.diagnostic(`per-create median: fastest early batch ${first.toFixed(3)} ms, last batches ${last.toFixed(3)} ms at ${TOTAL} streams (${batchMedians.map((x) => x.toFixed(2)).join(' ')})`);
  assert.ok(last < first * 2.5 + 0.15, `CreateStream got slower as streams accumulated: ${first.toFixed(3)} -> ${last.toFixed(3)} ms (${batchMedians.map((x) => x.toFixed(2)).join(' ')})`);
  // The indexes answer like the scans did.
  const names = [];
  let tok;
  do {
    const l = await clients[7].ok('ListStreams', tok ? { NextToken: tok } : {});
    names.push(...l.json.StreamNames);
    tok = l.json.NextToken;
  } while (tok);
  assert.equal(names.length, TOTAL / ACCOUNTS);
  assert.deepEqual(names, [...names].sort());
  const lim = await clients[7].ok('DescribeLimits', {});
  assert.equal(lim.json.OpenShardCount, TOTAL / ACCOUNTS);
});

test('split+merge cycles past the retention keep the stream document bounded', { timeout: 120000 }, async (t) => {
  const dataDir = makeTempDir('runnel-costs-');
  const srv = await startRunnel({ dataDir, args: ['--fsync', 'never', '--enable-test-clock'] });
  const c = rawClient(srv.port, '000000000000');
  t.after(async () => { c.close(); await srv.stop(); removeDir(dataDir); });
  const DAY = 25 * 3600 * 1000; // past the 24 h retention
  const ROUNDS = 8;
  const CYCLES = 40; // each: split the open shard, merge its two children
  await c.ok('CreateStream', { StreamName: 'churn', ShardCount: 1 });
  let open = 'shardId-000000000000';
  const callMs = [];
  let lastIndex = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const offsetMs = round * DAY;
    for (let i = 0; i < CYCLES; i++) {
      const shards = (await c.ok('ListShards', { StreamName: 'churn', ShardFilter: { Type: 'AT_LATEST' } }, { offsetMs })).json.Shards;
      assert.equal(shards.length, 1);
      open = shards[0].ShardId;
      const start = BigInt(shards[0].HashKeyRange.StartingHashKey);
      const end = BigInt(shards[0].HashKeyRange.EndingHashKey);
      const mid = ((start + end) / 2n).toString();
      const s = await c.ok('SplitShard', { StreamName: 'churn', ShardToSplit: open, NewStartingHashKey: mid }, { offsetMs });
      const kids = (await c.ok('ListShards', { StreamName: 'churn', ShardFilter: { Type: 'AT_LATEST' } }, { offsetMs })).json.Shards;
      assert.equal(kids.length, 2);
      const m = await c.ok('MergeShards', { StreamName: 'churn', ShardToMerge: kids[0].ShardId, AdjacentShardToMerge: kids[1].ShardId }, { offsetMs });
      callMs.push(s.ms, m.ms);
      const idx = Number(kids[1].ShardId.slice(8));
      assert.ok(idx > lastIndex, `shard ids keep growing: ${idx} after ${lastIndex}`);
      lastIndex = idx;
    }
  }
  const offsetMs = (ROUNDS - 1) * DAY;
  const all = (await c.ok('ListShards', { StreamName: 'churn' }, { offsetMs })).json.Shards;
  t.diagnostic(`after ${ROUNDS * CYCLES} cycles: ${all.length} shards listed; reshard call median first round ${median(callMs.slice(0, 2 * CYCLES)).toFixed(2)} ms, last ${median(callMs.slice(-2 * CYCLES)).toFixed(2)} ms`);
  assert.ok(all.length <= 3 * CYCLES + 1, `ListShards lists ${all.length} shards`);
  // The document itself (the kv table, read while runnel runs: SQLite WAL readers are fine).
  const n = Number(execFileSync('python3', ['-c', `
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
rows = [json.loads(bytes(v)) for (k, v) in db.execute("select key, value from kv where key like 'stream/%'")]
print(sum(len(r["shards"]) for r in rows))
`, `${dataDir}/runnel.db`], { encoding: 'utf8' }).trim());
  t.diagnostic(`shards in the stream document: ${n} (${ROUNDS * CYCLES * 3 + 1} ever made)`);
  assert.ok(n <= 3 * CYCLES + 1 + 3, `the stream document keeps ${n} shards after ${ROUNDS * CYCLES} cycles`);
  // Lineage still reads: the open shard's parents are named.
  const latest = (await c.ok('ListShards', { StreamName: 'churn', ShardFilter: { Type: 'AT_LATEST' } }, { offsetMs })).json.Shards[0];
  assert.ok(latest.ParentShardId && latest.AdjacentParentShardId, 'the merge child names its parents');
});

test('deleting an untouched 500-shard stream does not block another client', { timeout: 60000 }, async (t) => {
  const srv = await startRunnel({ args: ['--fsync', 'always', '--shard-limit', '1000'] });
  const a = rawClient(srv.port, '000000000000');
  const b = rawClient(srv.port, '000000000001');
  t.after(async () => { a.close(); b.close(); await srv.stop(); });
  await a.ok('CreateStream', { StreamName: 'wide', ShardCount: 500 });
  await b.ok('CreateStream', { StreamName: 'other', ShardCount: 1 });
  let stop = false;
  let worst = 0;
  let calls = 0;
  const pinger = (async () => {
    while (!stop) {
      const r = await b.ok('ListStreams', {});
      worst = Math.max(worst, r.ms);
      calls += 1;
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  const del = await a.ok('DeleteStream', { StreamName: 'wide' });
  await new Promise((r) => setTimeout(r, 50));
  stop = true;
  await pinger;
  t.diagnostic(`DeleteStream of 500 untouched shards: ${del.ms.toFixed(1)} ms; worst ListStreams meanwhile ${worst.toFixed(1)} ms over ${calls} calls`);
  assert.ok(del.ms < 200, `DeleteStream took ${del.ms.toFixed(1)} ms`);
  assert.ok(worst < 200, `another client's ListStreams waited ${worst.toFixed(1)} ms`);
  assert.deepEqual((await a.ok('ListStreams', {})).json.StreamNames, []);

  // The same with records in every shard (every log open, ~10 MB of segments): the files go off
  // the loop.
  await a.ok('CreateStream', { StreamName: 'wide-data', ShardCount: 500 });
  for (let bt = 0; bt < 10; bt++) {
    const r = await a.ok('PutRecords', {
      StreamName: 'wide-data',
      Records: Array.from({ length: 500 }, (_, i) => ({ PartitionKey: `k${bt}-${i}`, Data: Buffer.alloc(2000, bt).toString('base64') })),
    });
    assert.equal(r.json.FailedRecordCount ?? 0, 0);
  }
  const logs = `${srv.dataDir}/logs`;
  const before = fs.readdirSync(logs).length;
  stop = false;
  worst = 0;
  calls = 0;
  const pinger2 = (async () => {
    while (!stop) {
      const r = await b.ok('ListStreams', {});
      worst = Math.max(worst, r.ms);
      calls += 1;
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  const del2 = await a.ok('DeleteStream', { StreamName: 'wide-data' });
  await new Promise((r) => setTimeout(r, 50));
  stop = true;
  await pinger2;
  t.diagnostic(`DeleteStream of 500 shards with records: ${del2.ms.toFixed(1)} ms; worst ListStreams meanwhile ${worst.toFixed(1)} ms over ${calls} calls`);
  assert.ok(del2.ms < 200, `DeleteStream took ${del2.ms.toFixed(1)} ms`);
  assert.ok(worst < 200, `another client's ListStreams waited ${worst.toFixed(1)} ms`);
  // The files do go, in the background.
  const deadline = Date.now() + 20000;
  while (fs.readdirSync(logs).length >= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(fs.readdirSync(logs).length < before, `the deleted stream's files are still in ${logs}: ${fs.readdirSync(logs)}`);
});
