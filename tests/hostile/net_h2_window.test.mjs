// Issue 9, defect 1: HTTP/2 answers stalled by flow control. A client that announces
// SETTINGS_INITIAL_WINDOW_SIZE = 0 and sends many GetRecords (each answer ~13 MiB) used to pin
// every answer for good. Now completed requests wait while a connection has 16 MiB of unsent
// answers (RN_NET_H2_OUT_BUDGET), an answer that makes no progress for the idle timeout is reset
// (RST_STREAM CANCEL) with its memory, and the requests held behind it are refused
// (REFUSED_STREAM).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import {
  startRunnel, jsonRequest, rssKiB, peakRssKiB, sleep, uniqueName, seedStream, h2Headers, okJson,
} from './hostile.mjs';

const IDLE_MS = 3000;
const MIB = 1024;

/** Send n GetRecords on a zero-window h2 session; resolves the streams (never read). */
function zeroWindowGets(port, iterator, n) {
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
  session.on('error', () => {});
  const ends = [];
  for (let i = 0; i < n; i++) {
    const req = session.request(h2Headers('GetRecords'));
    ends.push(new Promise((resolve) => {
      req.on('response', () => { /* headers only: the body never gets a window */ });
      req.on('error', () => {});
      req.on('close', () => resolve(req.rstCode));
    }));
    req.end(JSON.stringify({ ShardIterator: iterator, Limit: 10 }));
  }
  return { session, ends };
}

test('zero-window GetRecords: bounded memory, stalled answers reset and freed', { timeout: 60000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true, env: { RUNNEL_IDLE_TIMEOUT: String(IDLE_MS) } });
  t.after(() => srv.stop());
  const name = uniqueName('h2w');
  const iterator = await seedStream(srv.port, name, { records: 10, size: 1024 * 1024 - 64 });
  await sleep(300);
  const base = rssKiB(srv.pid);

  // Two connections of 40 GetRecords each: ~13.3 MiB per answer, 1 GiB if all were made.
  const a = zeroWindowGets(srv.port, iterator, 40);
  const b = zeroWindowGets(srv.port, iterator, 40);
  t.after(() => { a.session.destroy(); b.session.destroy(); });
  await sleep(1500);
  const during = rssKiB(srv.pid);
  // Another client is served meanwhile.
  const other = await jsonRequest(srv.port, 'DescribeStreamSummary', { StreamName: name });

  // After the idle timeout every stalled answer is reset, the held requests refused.
  const codes = await Promise.race([
    Promise.all([...a.ends, ...b.ends]),
    sleep(IDLE_MS * 3).then(() => null),
  ]);
  await sleep(500);
  const after = rssKiB(srv.pid);
  const peak = peakRssKiB(srv.pid);
  t.diagnostic(`RSS base ${base} KiB, during ${during} KiB, peak ${peak} KiB, after ${after} KiB; `
    + `another client answered in ${other.ms.toFixed(0)} ms`);
  assert.ok(peak - base < 160 * MIB, `peak grew by ${((peak - base) / MIB).toFixed(0)} MiB (bound: 2 x (16 MiB budget + one answer))`);
  assert.equal(other.status, 200);
  assert.ok(other.ms < 1000, `another client waited ${other.ms} ms`);
  assert.ok(codes, 'the stalled streams were not reset within 3 idle timeouts');
  const counts = {};
  for (const c of codes) counts[c] = (counts[c] ?? 0) + 1;
  t.diagnostic(`stream end codes: ${JSON.stringify(counts)}`);
  assert.ok(codes.every((c) => c === http2.constants.NGHTTP2_CANCEL || c === http2.constants.NGHTTP2_REFUSED_STREAM),
    `codes ${JSON.stringify(counts)}`);
  assert.ok(after - base < 64 * MIB, `RSS still ${((after - base) / MIB).toFixed(0)} MiB over the base after the reset`);
  // The server still answers.
  await okJson(srv.port, 'DescribeStreamSummary', { StreamName: name });
});

test('zero-window GetRecords from a reading client: all answered in full', { timeout: 60000 }, async (t) => {
  // The budget only delays: a client that opens its windows gets every answer.
  const srv = await startRunnel({ inMemory: true, env: { RUNNEL_IDLE_TIMEOUT: String(IDLE_MS) } });
  t.after(() => srv.stop());
  const iterator = await seedStream(srv.port, uniqueName('h2r'), { records: 4, size: 1024 * 1024 - 64 });
  const session = http2.connect(`http://127.0.0.1:${srv.port}`);
  t.after(() => session.destroy());
  const got = await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve, reject) => {
    const req = session.request(h2Headers('GetRecords'));
    let n = 0;
    req.on('data', (d) => { n += d.length; });
    req.on('end', () => resolve(n));
    req.on('error', reject);
    req.end(JSON.stringify({ ShardIterator: iterator, Limit: 10 }));
  })));
  for (const n of got) assert.ok(n > 4 * 1024 * 1024, `an answer of ${n} bytes`);
});

test('zero-window SubscribeToShard: answers reset after the idle timeout, memory freed', { timeout: 60000 }, async (t) => {
  const srv = await startRunnel({
    inMemory: true,
    env: { RUNNEL_IDLE_TIMEOUT: String(IDLE_MS), RUNNEL_SUBSCRIPTION_LIFETIME: '2000' },
  });
  t.after(() => srv.stop());
  const name = uniqueName('h2s');
  await okJson(srv.port, 'CreateStream', { StreamName: name, ShardCount: 5 });
  const d = await okJson(srv.port, 'DescribeStream', { StreamName: name });
  const shards = d.StreamDescription.Shards;
  const data = Buffer.alloc(1024 * 1024 - 64, 0x62).toString('base64');
  for (const sh of shards) {
    for (let i = 0; i < 2; i++) {
      await okJson(srv.port, 'PutRecord', {
        StreamName: name, PartitionKey: 'k', ExplicitHashKey: sh.HashKeyRange.StartingHashKey, Data: data,
      }, { timeoutMs: 30000 });
    }
  }
  const consumers = [];
  for (let i = 0; i < 10; i++) {
    const r = await okJson(srv.port, 'RegisterStreamConsumer', {
      StreamARN: d.StreamDescription.StreamARN, ConsumerName: `c${i}`,
    });
    consumers.push(r.Consumer.ConsumerARN);
  }
  await sleep(300);
  const base = rssKiB(srv.pid);
  // 50 subscriptions (10 consumers x 5 shards) on one zero-window connection.
  const session = http2.connect(`http://127.0.0.1:${srv.port}`, { settings: { initialWindowSize: 0 } });
  session.on('error', () => {});
  t.after(() => session.destroy());
  const ends = [];
  for (const arn of consumers) {
    for (const sh of shards) {
      const req = session.request(h2Headers('SubscribeToShard'));
      ends.push(new Promise((resolve) => {
        req.on('error', () => {});
        req.on('close', () => resolve(req.rstCode));
      }));
      req.end(JSON.stringify({ ConsumerARN: arn, ShardId: sh.ShardId, StartingPosition: { Type: 'TRIM_HORIZON' } }));
    }
  }
  await sleep(1500);
  const during = rssKiB(srv.pid);
  // Past the subscriptions' lifetime (2 s) and the idle timeout (3 s): all gone.
  const codes = await Promise.race([Promise.all(ends), sleep(IDLE_MS * 3).then(() => null)]);
  await sleep(500);
  const after = rssKiB(srv.pid);
  t.diagnostic(`RSS base ${base} KiB, during ${during} KiB, after ${after} KiB`);
  assert.ok(codes, 'the stalled subscriptions were not reset within 3 idle timeouts');
  // While they live, each holds at most its event queue (~1 MiB + one event, the application's
  // bound): all 50 were dispatched before any output was queued.
  assert.ok(during - base < 128 * MIB, `RSS grew by ${((during - base) / MIB).toFixed(0)} MiB during`);
  assert.ok(after - base < 24 * MIB, `RSS still ${((after - base) / MIB).toFixed(0)} MiB over the base`);
});
