// wire_decode_bounds.test.mjs: issue 9, defect 2. A request body used to decode into an unbounded
// tree before any check: 16 MiB of CBOR holding 16M empty maps under an unknown member took 3.7 GiB
// and blocked the event loop for 9-21 s; JSON `[{},{},...]` took 1.26 GiB. Now the body is scanned
// once, guided by the operation's input shape, before anything is built (src/wire/scan.c,
// docs/limits.md). Each hostile body below (about 16 MiB, the default body limit) goes over one
// connection while another client runs ListStreams in a loop; asserted: the hostile request gets a
// 400 SerializationException, the other client's worst latency stays under 500 ms, and the server's
// peak RSS stays under its baseline plus 200 MiB.

import test from 'node:test';
import assert from 'node:assert/strict';
import { startRunnel, jsonRequest, rawRequest, rssKiB, peakRssKiB } from './hostile.mjs';

const MiB = 1024 * 1024;
const BODY = 16 * MiB - 4096; // under the 16 MiB body limit, headers aside
const WORST_MS = 500;
const PEAK_MIB = 200;


const JSON_CT = 'application/x-amz-json-1.1';
const CBOR_CT = 'application/x-amz-cbor-1.1';

/** prefix + filler repeated + suffix, BODY bytes in all. */
function fill(prefix, unit, suffix, size = BODY) {
  const p = Buffer.from(prefix, 'latin1');
  const s = Buffer.from(suffix, 'latin1');
  const u = Buffer.from(unit, 'latin1');
  const n = Math.floor((size - p.length - s.length) / u.length);
  const b = Buffer.alloc(p.length + n * u.length + s.length);
  p.copy(b, 0);
  for (let i = 0, o = p.length; i < n; i++, o += u.length) u.copy(b, o);
  s.copy(b, p.length + n * u.length);
  return b;
}

/** JSON [[[[...]]]]: n opening brackets then n closing ones, inside prefix/suffix. */
function nested(prefix, open, close, suffix) {
  const n = Math.floor((BODY - prefix.length - suffix.length) / 2);
  return Buffer.from(prefix + open.repeat(n) + close.repeat(n) + suffix, 'latin1');
}

const cborKey = (k) => String.fromCharCode(0x60 + k.length) + k;

const CASES = [
  {
    name: 'CBOR: 16M empty maps under an unknown member (indefinite array)',
    target: 'DescribeStreamSummary', ct: CBOR_CT,
    body: () => fill('\xbf' + cborKey('StreamName') + cborKey('a') + cborKey('X') + '\x9f', '\xa0', '\xff\xff'),
    message: 'Unknown members of more than 4096 values or 1048576 bytes found where not expected',
  },
  {
    name: 'CBOR: 16M empty maps under an unknown member (definite array)',
    target: 'DescribeStreamSummary', ct: CBOR_CT,
    body: () => {
      const pre = '\xa2' + cborKey('StreamName') + cborKey('a') + cborKey('X') + '\x9a';
      const n = BODY - pre.length - 4;
      const len = String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
      return fill(pre + len, '\xa0', '');
    },
    message: 'Unknown members of more than 4096 values or 1048576 bytes found where not expected',
  },
  {
    name: 'CBOR: 16M nested arrays under an unknown member',
    target: 'DescribeStreamSummary', ct: CBOR_CT,
    body: () => fill('\xa2' + cborKey('StreamName') + cborKey('a') + cborKey('X'), '\x81', '\x00'),
    message: 'Start of list found where not expected',
  },
  {
    name: 'CBOR: a blob in 16M empty chunks',
    target: 'PutRecord', ct: CBOR_CT,
    body: () => fill('\xa2' + cborKey('StreamName') + cborKey('a') + cborKey('Data') + '\x5f', '\x40', '\xff'),
    message: 'Strings in more than 100000 chunks found where not expected',
  },
  {
    name: 'JSON: a top-level array of 5.6M empty objects',
    target: 'ListStreams', ct: JSON_CT,
    body: () => fill('[', '{},', '{}]'),
    message: null, // bare, as for any body that is not an object (KINESIS_CONTRACT §2.2 rule 4)
  },
  {
    name: 'JSON: 5.6M empty objects under an unknown member',
    target: 'DescribeStreamSummary', ct: JSON_CT,
    body: () => fill('{"StreamName":"a","X":[', '{},', '{}]}'),
    message: 'Unknown members of more than 4096 values or 1048576 bytes found where not expected',
  },
  {
    name: 'JSON: 8M nested arrays under an unknown member',
    target: 'DescribeStreamSummary', ct: JSON_CT,
    body: () => nested('{"StreamName":"a","X":', '[', ']', '}'),
    message: 'Start of list found where not expected',
  },
  {
    name: 'JSON: 1.4M records (the model allows 500)',
    target: 'PutRecords', ct: JSON_CT,
    body: () => fill('{"StreamName":"a","Records":[', '{"Data":""},', '{"Data":""}]}'),
    message: 'List of more than 2000 elements found where not expected',
  },
];

test('hostile bodies are refused before a tree is built, without blocking other clients', async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  for (let i = 0; i < 20; i++) {
    const r = await jsonRequest(srv.port, 'ListStreams', {});
    assert.equal(r.status, 200);
  }
  const baseKiB = rssKiB(srv.pid);
  const figures = [];
  for (const c of CASES) {
    const body = c.body();
    let worst = 0;
    let n = 0;
    let done = false;
    const loop = (async () => {
      while (!done) {
        const r = await jsonRequest(srv.port, 'ListStreams', {}, { timeoutMs: 60000 });
        assert.equal(r.status, 200);
        worst = Math.max(worst, r.ms);
        n++;
      }
    })();
    const t0 = process.hrtime.bigint();
    let res;
    try {
      res = await rawRequest(srv.port, c.target, body, { contentType: c.ct, timeoutMs: 60000 });
    } finally {
      // a few more rounds after the answer: what the request left behind shows here
      await new Promise((r) => setTimeout(r, 200));
      done = true;
      await loop;
    }
    const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const peakMiB = (peakRssKiB(srv.pid) - baseKiB) / 1024;
    const afterMiB = (rssKiB(srv.pid) - baseKiB) / 1024;
    figures.push({ case: c.name, bytes: body.length, status: res.status, refuseMs: +res.ms.toFixed(1),
      totalMs: +totalMs.toFixed(1), otherWorstMs: +worst.toFixed(1), otherRequests: n,
      peakOverBaseMiB: +peakMiB.toFixed(1), rssAfterOverBaseMiB: +afterMiB.toFixed(1) });
    t.diagnostic(JSON.stringify(figures.at(-1)));
    assert.equal(res.status, 400, c.name);
    const msg = c.ct === JSON_CT ? JSON.parse(res.raw.toString('utf8')).message ?? null : null;
    assert.match(res.raw.toString('latin1'), /SerializationException/, c.name);
    if (c.ct === JSON_CT) assert.equal(msg, c.message, c.name);
    else assert.ok(res.body.includes(Buffer.from(c.message)), `${c.name}: ${res.raw.toString('latin1')}`);
    assert.ok(worst < WORST_MS, `${c.name}: another client waited ${worst.toFixed(0)} ms`);
    assert.ok(peakMiB < PEAK_MIB, `${c.name}: peak RSS ${peakMiB.toFixed(0)} MiB over the baseline`);
  }
  // the server still answers, and holds nothing of the hostile bodies
  const r = await jsonRequest(srv.port, 'ListStreams', {});
  assert.equal(r.status, 200);
  assert.ok((rssKiB(srv.pid) - baseKiB) / 1024 < PEAK_MIB);
});

test('within the bounds, the model\'s own answers are kept', async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  // 501..2000 records: the ValidationException of the model, as AWS answers
  const recs = (n) => JSON.stringify({ StreamName: 'a', Records: Array.from({ length: n }, () => ({ Data: 'AAAA', PartitionKey: 'k' })) });
  for (const n of [501, 2000]) {
    const r = await jsonRequest(srv.port, 'PutRecords', recs(n));
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { __type: 'ValidationException', message: '1 validation error detected: Value at \'records\' failed to satisfy constraint: Member must have length less than or equal to 500' });
  }
  // small unknown members are ignored, as AWS ignores them
  const r = await jsonRequest(srv.port, 'ListStreams', { X: [[[1, { y: null }]]], Y: 'z' });
  assert.equal(r.status, 200);
  // deep nesting in a known member of the wrong kind: its coercion message
  const d = await jsonRequest(srv.port, 'DescribeStreamSummary', `{"StreamName":${'['.repeat(100000)}${']'.repeat(100000)}}`);
  assert.equal(d.status, 400);
  assert.deepEqual(JSON.parse(d.body), { __type: 'SerializationException', Message: 'Start of list found where not expected' });
});
