// subscribe_h1.test.mjs: SubscribeToShard over HTTP/1.1, byte for byte (a raw socket, no SDK):
// the answer is 200 with Transfer-Encoding: chunked and no Content-Length; every chunk is one
// whole application/vnd.amazon.eventstream message (prelude length = chunk size, both CRCs
// right); initial-response comes first, then SubscribeToShardEvents; at the lifetime the body
// ends with the 0-length chunk and the connection stays usable (keep-alive: a second request on
// the same socket is answered; a request pipelined behind the stream is answered after it). On
// shutdown the stream ends with the 0-length chunk, then the close. HTTP/1.0 gets the messages as
// a body that runs to the close.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { okJson, sleep, startRunnel, streamArn, uniqueName } from '../hostile/hostile.mjs';

const LIFETIME_MS = 1500;
const AUTH = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';
let srv;

before(async () => {
  srv = await startRunnel({ inMemory: true, args: ['--subscription-lifetime', String(LIFETIME_MS), '--consumer-delay', '0'] });
});
after(async () => { await srv?.stop(); });

function requestBytes(target, body, { minor = 1 } = {}) {
  const payload = Buffer.from(JSON.stringify(body));
  return Buffer.from(`POST / HTTP/1.${minor}\r\nHost: 127.0.0.1:${srv.port}\r\n`
    + `Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.${target}\r\n`
    + `X-Amz-Date: 20261202T000000Z\r\nAuthorization: ${AUTH}\r\nContent-Length: ${payload.length}\r\n\r\n`
    + payload.toString());
}

/** Decode one event-stream message that must fill buf exactly; checks both CRCs. */
function decodeMessage(buf) {
  const total = buf.readUInt32BE(0), hlen = buf.readUInt32BE(4);
  assert.equal(total, buf.length, 'one chunk is one whole message');
  assert.equal(buf.readUInt32BE(8), zlib.crc32(buf.subarray(0, 8)), 'prelude CRC');
  assert.equal(buf.readUInt32BE(total - 4), zlib.crc32(buf.subarray(0, total - 4)), 'message CRC');
  const headers = {};
  let p = 12;
  while (p < 12 + hlen) {
    const nl = buf[p]; const name = buf.subarray(p + 1, p + 1 + nl).toString(); p += 1 + nl;
    assert.equal(buf[p], 7, 'string header'); p += 1;
    const vl = buf.readUInt16BE(p); headers[name] = buf.subarray(p + 2, p + 2 + vl).toString(); p += 2 + vl;
  }
  return { headers, payload: JSON.parse(buf.subarray(12 + hlen, total - 4).toString() || '{}') };
}

/** Read from sock until pred(buffer) returns a value, or the socket closes. */
function readUntil(sock, state, pred, ms = 10000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const v = pred(state.buf);
      if (v !== undefined) { cleanup(); resolve(v); }
    };
    const onData = (d) => { state.buf = Buffer.concat([state.buf, d]); check(); };
    const onClose = () => { state.closed = true; cleanup(); resolve(pred(state.buf, true)); };
    const t = setTimeout(() => { cleanup(); reject(new Error('timed out')); }, ms);
    // paused between calls: bytes that arrive meanwhile wait in the socket, not dropped (a flowing
    // socket with no 'data' listener discards them)
    const cleanup = () => { clearTimeout(t); sock.pause(); sock.off('data', onData); sock.off('close', onClose); };
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.resume();
    check();
  });
}

/** Parse a chunked body from buf; undefined until the terminating chunk is there. */
function parseChunks(buf) {
  const chunks = [];
  let p = 0;
  for (;;) {
    const le = buf.indexOf('\r\n', p);
    if (le < 0) return undefined;
    const line = buf.subarray(p, le).toString();
    assert.match(line, /^[0-9a-f]+$/, `chunk size line ${JSON.stringify(line)}`);
    const n = parseInt(line, 16);
    if (buf.length < le + 2 + n + 2) return undefined;
    assert.equal(buf.subarray(le + 2 + n, le + 4 + n).toString(), '\r\n', 'CRLF after the chunk data');
    if (n === 0) return { chunks, rest: buf.subarray(le + 4) };
    chunks.push(buf.subarray(le + 2, le + 2 + n));
    p = le + 4 + n;
  }
}

async function newConsumer() {
  const name = uniqueName('h1raw');
  await okJson(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const r = await okJson(srv.port, 'RegisterStreamConsumer', { StreamARN: streamArn(name), ConsumerName: 'raw' });
  await sleep(50);
  return { name, arn: r.Consumer.ConsumerARN };
}

test('HTTP/1.1: a chunked event stream, one message per chunk, 0-length chunk at the end, keep-alive', { timeout: 30000 }, async (t) => {
  const { name, arn } = await newConsumer();
  await okJson(srv.port, 'PutRecord', { StreamName: name, PartitionKey: 'k', Data: Buffer.from('before').toString('base64') });
  const sock = net.connect({ host: '127.0.0.1', port: srv.port });
  t.after(() => sock.destroy());
  const state = { buf: Buffer.alloc(0) };
  sock.write(requestBytes('SubscribeToShard', { ConsumerARN: arn, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
  const head = await readUntil(sock, state, (b) => {
    const he = b.indexOf('\r\n\r\n');
    return he < 0 ? undefined : b.subarray(0, he).toString('latin1');
  });
  state.buf = state.buf.subarray(head.length + 4);
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\nTransfer-Encoding: chunked(\r\n|$)/i);
  assert.match(head, /\r\nContent-Type: application\/vnd\.amazon\.eventstream(\r\n|$)/i);
  assert.match(head, /\r\nx-amzn-RequestId: [0-9a-f-]{36}(\r\n|$)/i);
  assert.doesNotMatch(head, /content-length/i);
  assert.doesNotMatch(head, /connection: close/i);
  await sleep(200);
  await okJson(srv.port, 'PutRecord', { StreamName: name, PartitionKey: 'k', Data: Buffer.from('during').toString('base64') });
  const t0 = Date.now();
  const body = await readUntil(sock, state, (b) => parseChunks(b));
  assert.ok(body, 'the body ended with the 0-length chunk');
  assert.ok(Date.now() - t0 < LIFETIME_MS + 1000);
  const msgs = body.chunks.map(decodeMessage);
  assert.equal(msgs[0].headers[':event-type'], 'initial-response');
  assert.equal(msgs[0].headers[':message-type'], 'event');
  const events = msgs.slice(1);
  assert.ok(events.length >= 1);
  for (const m of events) {
    assert.equal(m.headers[':event-type'], 'SubscribeToShardEvent');
    assert.equal(m.headers[':content-type'], 'application/x-amz-json-1.1');
  }
  const data = events.flatMap((m) => m.payload.Records.map((r) => Buffer.from(r.Data, 'base64').toString()));
  assert.deepEqual(data, ['before', 'during']);
  assert.equal(body.rest.length, 0, 'nothing after the last chunk');
  // keep-alive: the same connection answers the next request
  state.buf = Buffer.alloc(0);
  sock.write(requestBytes('DescribeStreamSummary', { StreamName: name }));
  const next = await readUntil(sock, state, (b) => {
    const he = b.indexOf('\r\n\r\n');
    if (he < 0) return undefined;
    const m = /content-length: (\d+)/i.exec(b.subarray(0, he).toString());
    return m && b.length >= he + 4 + Number(m[1]) ? JSON.parse(b.subarray(he + 4).toString()) : undefined;
  });
  assert.equal(next.StreamDescriptionSummary.StreamName, name);
});

test('HTTP/1.0: the messages as a body to the close', { timeout: 30000 }, async (t) => {
  const { arn } = await newConsumer();
  const sock = net.connect({ host: '127.0.0.1', port: srv.port });
  t.after(() => sock.destroy());
  const state = { buf: Buffer.alloc(0) };
  sock.write(requestBytes('SubscribeToShard', { ConsumerARN: arn, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }, { minor: 0 }));
  const all = await readUntil(sock, state, (b, closed) => (closed ? b : undefined));
  const he = all.indexOf('\r\n\r\n');
  const head = all.subarray(0, he).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\nConnection: close(\r\n|$)/i);
  assert.doesNotMatch(head, /transfer-encoding|content-length/i);
  let p = he + 4;
  const types = [];
  while (p < all.length) {
    const n = all.readUInt32BE(p);
    types.push(decodeMessage(all.subarray(p, p + n)).headers[':event-type']);
    p += n;
  }
  assert.equal(p, all.length);
  assert.equal(types[0], 'initial-response');
  assert.equal(types[1], 'SubscribeToShardEvent');
});

test('HTTP/1.1: on shutdown the stream ends with the 0-length chunk and the connection closes', { timeout: 30000 }, async (t) => {
  const own = await startRunnel({ inMemory: true, args: ['--consumer-delay', '0'] });
  t.after(() => own.stop());
  const name = uniqueName('h1stop');
  await okJson(own.port, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const r = await okJson(own.port, 'RegisterStreamConsumer', { StreamARN: streamArn(name), ConsumerName: 'stop' });
  const sock = net.connect({ host: '127.0.0.1', port: own.port });
  t.after(() => sock.destroy());
  const state = { buf: Buffer.alloc(0) };
  const payload = JSON.stringify({ ConsumerARN: r.Consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } });
  sock.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${own.port}\r\nContent-Type: application/x-amz-json-1.1\r\n`
    + `X-Amz-Target: Kinesis_20131202.SubscribeToShard\r\nX-Amz-Date: 20261202T000000Z\r\nAuthorization: ${AUTH}\r\n`
    + `Content-Length: ${payload.length}\r\n\r\n${payload}`);
  await readUntil(sock, state, (b) => (b.indexOf('SubscribeToShardEvent') >= 0 ? true : undefined));
  const stopped = own.stop();
  const all = await readUntil(sock, state, (b, closed) => (closed ? b : undefined));
  const res = await stopped;
  assert.equal(res.code, 0, 'runnel exits cleanly');
  const he = all.indexOf('\r\n\r\n');
  const body = parseChunks(all.subarray(he + 4));
  assert.ok(body, 'the body ends with the 0-length chunk before the close');
  assert.equal(body.rest.length, 0);
  const types = body.chunks.map((c) => decodeMessage(c).headers[':event-type']);
  assert.equal(types[0], 'initial-response');
  assert.ok(types.slice(1).every((x) => x === 'SubscribeToShardEvent'));
});

test('HTTP/1.1: a request pipelined behind the stream is answered after its last chunk', { timeout: 30000 }, async (t) => {
  const { name, arn } = await newConsumer();
  const sock = net.connect({ host: '127.0.0.1', port: srv.port });
  t.after(() => sock.destroy());
  const state = { buf: Buffer.alloc(0) };
  sock.write(Buffer.concat([
    requestBytes('SubscribeToShard', { ConsumerARN: arn, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }),
    requestBytes('DescribeStreamSummary', { StreamName: name }),
  ]));
  const t0 = Date.now();
  const all = await readUntil(sock, state, (b) => {
    const he = b.indexOf('\r\n\r\n');
    if (he < 0) return undefined;
    const body = parseChunks(b.subarray(he + 4));
    if (!body) return undefined;
    const he2 = body.rest.indexOf('\r\n\r\n');
    if (he2 < 0) return undefined;
    const m = /content-length: (\d+)/i.exec(body.rest.subarray(0, he2).toString());
    if (!m || body.rest.length < he2 + 4 + Number(m[1])) return undefined;
    return { body, second: JSON.parse(body.rest.subarray(he2 + 4).toString()) };
  });
  assert.ok(Date.now() - t0 >= LIFETIME_MS - 200, 'the second answer waited for the stream');
  assert.equal(all.body.chunks.length >= 2, true);
  assert.equal(all.second.StreamDescriptionSummary.StreamName, name);
});
