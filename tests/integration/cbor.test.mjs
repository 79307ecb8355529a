// cbor.test.mjs: application/x-amz-cbor-1.1 (KINESIS_CONTRACT §2.4), with requests built as the
// Java SDK builds them (indefinite-length maps and arrays, blobs as byte strings, timestamps as
// tag 1 + integer milliseconds), over HTTP/2 (h2c) and HTTP/1.1. Every implemented operation is
// sent once as CBOR and once as JSON; the CBOR answers, decoded with the `cbor` package, must carry
// the same members as the JSON ones (blobs as bytes, timestamps as tag-1 ms = JSON seconds × 1000).
// Errors are CBOR maps with __type/message; garbage and truncated CBOR are SerializationException,
// and the server keeps answering.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import cbor from 'cbor';
import { sleep, startRunnel, streamArn } from './runnel.mjs';

const T = { timeout: 120000 };
const CBOR_CT = 'application/x-amz-cbor-1.1';
const JSON_CT = 'application/x-amz-json-1.1';

function amzDate(d = new Date()) {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
function headers(op, ct) {
  const d = amzDate();
  return {
    'content-type': ct,
    'x-amz-target': `Kinesis_20131202.${op}`,
    'x-amz-date': d,
    authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${d.slice(0, 8)}/us-east-1/kinesis/aws4_request, `
      + `SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
  };
}

// ---- a Java-SDK-like encoder: Jackson writes indefinite maps/arrays ----
function head(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) { const b = Buffer.alloc(3); b[0] = (major << 5) | 25; b.writeUInt16BE(n, 1); return b; }
  if (n < 2 ** 32) { const b = Buffer.alloc(5); b[0] = (major << 5) | 26; b.writeUInt32BE(n, 1); return b; }
  const b = Buffer.alloc(9); b[0] = (major << 5) | 27; b.writeBigUInt64BE(BigInt(n), 1); return b;
}
export function javaCbor(v) {
  if (v === null || v === undefined) return Buffer.from([0xf6]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === false) return Buffer.from([0xf4]);
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  if (v instanceof Date) return Buffer.concat([Buffer.from([0xc1]), head(0, v.getTime())]);
  if (typeof v === 'string') { const b = Buffer.from(v, 'utf8'); return Buffer.concat([head(3, b.length), b]); }
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from([0x9f]), ...v.map(javaCbor), Buffer.from([0xff])]);
  const parts = [Buffer.from([0xbf])];
  for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(javaCbor(k), javaCbor(x));
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}
// the same input as JSON text (blobs base64, timestamps seconds)
function toJsonInput(v) {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return v.getTime() / 1000;
  if (Array.isArray(v)) return v.map(toJsonInput);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonInput(x)]));
  return v;
}

class Tag1 { constructor(v) { this.v = v; } }
function decodeCbor(buf) {
  return cbor.decodeFirstSync(buf, { tags: { 1: (v) => new Tag1(v) } });
}
// a decoded CBOR answer in JSON's terms, checking the CBOR types on the way
function cborToJsonish(v) {
  if (v instanceof Tag1) {
    assert.ok(Number.isInteger(v.v), `tag 1 carries integer milliseconds, got ${v.v}`);
    return v.v / 1000;
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Date) assert.fail('timestamp decoded as RFC seconds Date');
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, cborToJsonish(x)]));
  if (Array.isArray(v)) return v.map(cborToJsonish);
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cborToJsonish(x)]));
  return v;
}

// ---- transports ----
function h1(port, op, ct, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { ...headers(op, ct), 'content-length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
function h2(session, op, ct, body) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/', ...headers(op, ct) });
    let resHeaders;
    const chunks = [];
    req.on('response', (h) => { resHeaders = h; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ status: resHeaders[':status'], headers: resHeaders, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.end(body);
  });
}

describe('CBOR (application/x-amz-cbor-1.1)', () => {
  let srv, port, session;
  before(async () => {
    srv = await startRunnel({ args: ['--in-memory'] });
    port = Number(new URL(srv.endpoint).port);
    session = http2.connect(srv.endpoint);
  });
  after(async () => {
    session?.close();
    await srv?.stop();
  });

  const send = {
    h1: (op, ct, body) => h1(port, op, ct, body),
    h2: (op, ct, body) => h2(session, op, ct, body),
  };
  async function both(tr, op, input) {
    const c = await send[tr](op, CBOR_CT, javaCbor(input));
    const j = await send[tr](op, JSON_CT, Buffer.from(JSON.stringify(toJsonInput(input))));
    assert.equal(c.headers['content-type'], CBOR_CT, `${op} content type`);
    assert.equal(c.status, j.status, `${op} status: ${c.body.toString('hex')} vs ${j.body}`);
    const cj = c.body.length ? cborToJsonish(decodeCbor(c.body)) : undefined;
    const jj = j.body.length ? JSON.parse(j.body) : undefined;
    return { c, j, cj, jj };
  }
  async function cborCall(tr, op, input) {
    const c = await send[tr](op, CBOR_CT, javaCbor(input));
    assert.equal(c.headers['content-type'], CBOR_CT);
    return { status: c.status, raw: c.body, v: c.body.length ? cborToJsonish(decodeCbor(c.body)) : undefined };
  }
  const VOLATILE = new Set(['ShardIterator', 'NextShardIterator', 'SequenceNumber', 'MillisBehindLatest', 'NextToken']);
  function strip(v, a, b) {
    if (Array.isArray(v)) return v.map((x) => strip(x, a, b));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, VOLATILE.has(k) ? typeof x : strip(x, a, b)]));
    }
    return typeof v === 'string' ? v.split(a).join(b) : v;
  }

  for (const tr of ['h2', 'h1']) {
    test(`every operation, CBOR vs JSON, over ${tr}`, T, async () => {
      const C = `cbor-${tr}`; // mutated by CBOR requests
      const J = `json-${tr}`; // mutated by JSON requests, the same way
      // mutations, each sent once per protocol to its own stream: answers equal up to the name
      const mut = async (op, input) => {
        const c = await cborCall(tr, op, { ...input, StreamName: C });
        const j = await send[tr](op, JSON_CT, Buffer.from(JSON.stringify(toJsonInput({ ...input, StreamName: J }))));
        assert.equal(c.status, j.status, `${op}: ${JSON.stringify(c.v)} vs ${j.body}`);
        const jj = j.body.length ? JSON.parse(j.body) : undefined;
        assert.deepEqual(strip(c.v, C, 'X'), strip(jj, J, 'X'), op);
        if (!jj) assert.equal(c.raw.length, 0, `${op}: empty output is an empty body`);
        return c.v;
      };
      await mut('CreateStream', { ShardCount: 2, Tags: { a: 'b' } });
      await mut('AddTagsToStream', { Tags: { k: 'v', k2: '' } });
      await mut('RemoveTagsFromStream', { TagKeys: ['k2'] });
      await mut('IncreaseStreamRetentionPeriod', { RetentionPeriodHours: 48 });
      await mut('DecreaseStreamRetentionPeriod', { RetentionPeriodHours: 24 });
      await mut('EnableEnhancedMonitoring', { ShardLevelMetrics: ['IncomingBytes'] });
      await mut('DisableEnhancedMonitoring', { ShardLevelMetrics: ['IncomingBytes'] });
      const pr = await mut('PutRecord', { Data: Buffer.from([0, 1, 2, 255]), PartitionKey: 'pk', ExplicitHashKey: '1' });
      assert.equal(pr.ShardId, 'shardId-000000000000');
      await mut('PutRecords', { Records: [{ Data: Buffer.from('hello'), PartitionKey: 'a', ExplicitHashKey: '2' }, { Data: Buffer.alloc(0), PartitionKey: 'b', ExplicitHashKey: '3' }] });
      // reads: the same stream through both protocols, answers equal (timestamps included)
      const same = async (op, input, eq = (a, b) => assert.deepEqual(a, b, op)) => {
        const r = await both(tr, op, input);
        eq(r.cj, r.jj);
        return r;
      };
      await same('DescribeStream', { StreamName: C });
      const sum = await same('DescribeStreamSummary', { StreamName: C });
      // the timestamp is tag 1 + integer ms on the wire
      const raw = decodeCbor(sum.c.body).StreamDescriptionSummary.StreamCreationTimestamp;
      assert.ok(raw instanceof Tag1 && Number.isInteger(raw.v));
      assert.equal(raw.v, Math.round(sum.jj.StreamDescriptionSummary.StreamCreationTimestamp * 1000));
      assert.ok(sum.c.body[0] === 0xbf, 'AWS answers with indefinite-length maps');
      await same('ListStreams', {});
      await same('ListStreams', { Limit: 1 }, (a, b) => assert.deepEqual(strip(a), strip(b)));
      await same('ListShards', { StreamName: C });
      await same('ListShards', { StreamName: C, ShardFilter: { Type: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() + 1000) } });
      await same('ListTagsForStream', { StreamName: C });
      await same('DescribeLimits', {});
      await same('DescribeAccountSettings', {}).catch(() => {}); // optional operation
      const it = async (input) => {
        const r = await both(tr, 'GetShardIterator', { StreamName: C, ShardId: 'shardId-000000000000', ...input });
        assert.equal(r.c.status, 200, r.c.body.toString('hex'));
        return [r.cj.ShardIterator, r.jj.ShardIterator];
      };
      const [ci, ji] = await it({ ShardIteratorType: 'TRIM_HORIZON' });
      await it({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() - 60000) });
      const cr = await cborCall(tr, 'GetRecords', { ShardIterator: ci });
      const jr = JSON.parse((await send[tr]('GetRecords', JSON_CT, Buffer.from(JSON.stringify({ ShardIterator: ji })))).body);
      assert.equal(cr.status, 200);
      assert.equal(cr.v.Records.length, 3);
      assert.deepEqual(strip(cr.v), strip(jr));
      assert.deepEqual(cr.v.Records.map((r) => r.ApproximateArrivalTimestamp), jr.Records.map((r) => r.ApproximateArrivalTimestamp));
      const rawRec = decodeCbor(cr.raw).Records[0];
      assert.deepEqual(Buffer.from(rawRec.Data), Buffer.from([0, 1, 2, 255]), 'blob as bytes');
      assert.ok(rawRec.ApproximateArrivalTimestamp instanceof Tag1);
      assert.equal(rawRec.ApproximateArrivalTimestamp.v, Math.round(jr.Records[0].ApproximateArrivalTimestamp * 1000));
      // resharding, then the tags of a resource, then deletion
      await mut('SplitShard', { ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '100' });
      await new Promise((r) => setTimeout(r, 50));
      await mut('MergeShards', { ShardToMerge: 'shardId-000000000002', AdjacentShardToMerge: 'shardId-000000000003' });
      await new Promise((r) => setTimeout(r, 50));
      await mut('UpdateShardCount', { TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' });
      await mut('DeleteStream', {});
    });

    test(`errors and bad CBOR over ${tr}`, T, async () => {
      const nf = await both(tr, 'DescribeStream', { StreamName: 'nope' });
      assert.equal(nf.c.status, 400);
      assert.deepEqual(nf.cj, nf.jj);
      assert.equal(nf.cj.__type, 'ResourceNotFoundException');
      const val = await both(tr, 'ListStreams', { Limit: 0 });
      assert.deepEqual(val.cj, val.jj);
      assert.equal(val.cj.__type, 'ValidationException');
      const ser = await both(tr, 'ListStreams', { Limit: 'x' });
      assert.deepEqual(ser.cj, ser.jj);
      // a wrong type: the same "Message" key as JSON (docs/wire.md)
      assert.deepEqual(ser.cj, { __type: 'SerializationException',
        Message: 'class java.lang.String can not be converted to an Integer' });
      // a byte string where a string belongs
      const bs = await cborCall(tr, 'DescribeStream', { StreamName: Buffer.from('s') });
      assert.equal(bs.status, 400);
      assert.equal(bs.v.__type, 'SerializationException');
      assert.equal(bs.v.Message, 'class java.nio.HeapByteBuffer can not be converted to an String');
      // garbage and truncated bodies
      const good = javaCbor({ StreamName: 's', Data: Buffer.from('x'), PartitionKey: 'k' });
      for (const body of [Buffer.from('not cbor'), Buffer.from([0xff]), good.subarray(0, good.length - 1),
        good.subarray(0, 5), Buffer.from([0xbf, 0x61, 0x61, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]) {
        const r = await send[tr]('PutRecord', CBOR_CT, body);
        assert.equal(r.status, 400);
        assert.equal(r.headers['content-type'], CBOR_CT);
        assert.deepEqual(cborToJsonish(decodeCbor(r.body)), { __type: 'SerializationException' });
      }
      // nesting past the bound of an unknown member (docs/limits.md): the depth message
      const deep = await send[tr]('PutRecord', CBOR_CT,
        Buffer.concat([Buffer.from([0xa1, 0x61, 0x61]), Buffer.alloc(500, 0x81), Buffer.from([0])]));
      assert.equal(deep.status, 400);
      assert.deepEqual(cborToJsonish(decodeCbor(deep.body)),
        { __type: 'SerializationException', message: 'Start of list found where not expected' });
      // unknown operation and empty body: CBOR errors too
      const un = await send[tr]('Nope', CBOR_CT, javaCbor({}));
      assert.equal(un.status, 400);
      assert.equal(cborToJsonish(decodeCbor(un.body)).__type, 'UnknownOperationException');
      // still alive, and a definite-length request from a stock encoder works
      const ls = await send[tr]('ListStreams', CBOR_CT, cbor.encode({ Limit: 5 }));
      assert.equal(ls.status, 200);
      assert.ok(Array.isArray(cborToJsonish(decodeCbor(ls.body)).StreamNames));
    });
  }
});

// ---- SubscribeToShard for a CBOR caller (KINESIS_CONTRACT §2.6): event payloads in CBOR ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
// application/vnd.amazon.eventstream messages (string headers only), both CRCs checked
function decodeEventStream(buf) {
  const msgs = [];
  let off = 0;
  while (off < buf.length) {
    assert.ok(buf.length - off >= 16, 'truncated prelude');
    const total = buf.readUInt32BE(off);
    const hlen = buf.readUInt32BE(off + 4);
    assert.equal(buf.readUInt32BE(off + 8), crc32(buf.subarray(off, off + 8)), 'prelude CRC');
    assert.ok(off + total <= buf.length, 'truncated message');
    assert.equal(buf.readUInt32BE(off + total - 4), crc32(buf.subarray(off, off + total - 4)), 'message CRC');
    const headers = {};
    let h = off + 12;
    while (h < off + 12 + hlen) {
      const nl = buf[h];
      const name = buf.subarray(h + 1, h + 1 + nl).toString();
      h += 1 + nl;
      assert.equal(buf[h], 7, `header ${name} is a string`);
      const vl = buf.readUInt16BE(h + 1);
      headers[name] = buf.subarray(h + 3, h + 3 + vl).toString();
      h += 3 + vl;
    }
    msgs.push({ headers, payload: buf.subarray(off + 12 + hlen, off + total - 4) });
    off += total;
  }
  return msgs;
}

describe('SubscribeToShard over CBOR', () => {
  let srv, session;
  before(async () => {
    srv = await startRunnel({ args: ['--in-memory', '--subscription-lifetime', '2000'] });
    session = http2.connect(srv.endpoint);
  });
  after(async () => {
    session?.close();
    await srv?.stop();
  });
  const json = async (op, input) => {
    const r = await h2(session, op, JSON_CT, Buffer.from(JSON.stringify(input)));
    assert.equal(r.status, 200, `${op}: ${r.body}`);
    return r.body.length ? JSON.parse(r.body) : {};
  };

  test('events are CBOR (Data as bytes, timestamps tag 1 + ms) with the CBOR content type', T, async () => {
    const name = `cbor-efo-${Date.now()}`;
    await json('CreateStream', { StreamName: name, ShardCount: 1 });
    const { Consumer } = await json('RegisterStreamConsumer', { StreamARN: streamArn(name), ConsumerName: 'c' });
    const before1 = await json('PutRecord', { StreamName: name, PartitionKey: 'k0', Data: Buffer.from('early').toString('base64') });
    // the request as the Java SDK sends it
    const req = session.request({ ':method': 'POST', ':path': '/', ...headers('SubscribeToShard', CBOR_CT) });
    let resHeaders;
    const chunks = [];
    req.on('response', (h) => { resHeaders = h; });
    req.on('data', (c) => chunks.push(c));
    const ended = new Promise((resolve, reject) => { req.on('end', resolve); req.on('error', reject); });
    req.end(javaCbor({ ConsumerARN: Consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
    await sleep(300);
    const t0 = Date.now();
    const sent = [];
    for (let i = 0; i < 3; i++) {
      const data = Buffer.from([0, 1, 0xff, i]);
      sent.push({ data, seq: (await json('PutRecord', { StreamName: name, PartitionKey: `k${i}`, Data: data.toString('base64') })).SequenceNumber });
    }
    await ended; // at the 2 s lifetime
    assert.equal(resHeaders[':status'], 200);
    assert.equal(resHeaders['content-type'], 'application/vnd.amazon.eventstream');
    const msgs = decodeEventStream(Buffer.concat(chunks));
    assert.equal(msgs[0].headers[':event-type'], 'initial-response');
    assert.equal(msgs[0].headers[':content-type'], CBOR_CT);
    assert.equal(msgs[0].payload.toString('hex'), 'bfff'); // {} as an indefinite CBOR map
    const events = msgs.slice(1);
    assert.ok(events.length >= 1);
    const records = [];
    for (const m of events) {
      assert.equal(m.headers[':message-type'], 'event');
      assert.equal(m.headers[':event-type'], 'SubscribeToShardEvent');
      assert.equal(m.headers[':content-type'], CBOR_CT);
      const raw = decodeCbor(m.payload);
      const ev = raw instanceof Map ? Object.fromEntries(raw) : raw;
      assert.ok(Array.isArray(ev.Records));
      assert.equal(typeof ev.ContinuationSequenceNumber, 'string');
      assert.ok(typeof ev.MillisBehindLatest === 'number' || typeof ev.MillisBehindLatest === 'bigint');
      for (const r0 of ev.Records) {
        const r = r0 instanceof Map ? Object.fromEntries(r0) : r0;
        assert.ok(Buffer.isBuffer(r.Data) || r.Data instanceof Uint8Array, 'Data is a CBOR byte string');
        assert.ok(r.ApproximateArrivalTimestamp instanceof Tag1, 'ApproximateArrivalTimestamp is tag 1');
        assert.ok(Number.isInteger(r.ApproximateArrivalTimestamp.v), 'integer milliseconds');
        assert.ok(Math.abs(r.ApproximateArrivalTimestamp.v - t0) < 60000);
        records.push(r);
      }
    }
    assert.deepEqual(records.map((r) => r.SequenceNumber), [before1.SequenceNumber, ...sent.map((x) => x.seq)]);
    assert.deepEqual(records.map((r) => Buffer.from(r.Data).toString('hex')),
      [Buffer.from('early').toString('hex'), ...sent.map((x) => x.data.toString('hex'))]);
    assert.equal(records[0].PartitionKey, 'k0');
  });
});
