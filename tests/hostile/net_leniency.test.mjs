// Issue 9, defect 9: leniencies. A partial HTTP/2 preface trickled a byte at a time held a
// connection for as long as the bytes kept coming (the read timer restarted per byte); a
// chunk-size line with anything after the digits ("1a garbage here") was accepted. Now the first
// request head must be complete within the read timeout of the accept, and chunk extensions are
// parsed as RFC 9112 has them (else 400).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRunnel, rawConnect, untilClosed, sleep } from './hostile.mjs';

const READ_MS = 2000;
const env = { RUNNEL_READ_TIMEOUT: String(READ_MS) };

/** Send bytes one at a time every everyMs until the socket closes; resolves when it closed (ms
 * after the connect) or null if every byte went out and the connection still stands. */
async function trickle(sock, bytes, everyMs) {
  const t0 = Date.now();
  const closed = untilClosed(sock, bytes.length * everyMs + 1000);
  let done = false;
  closed.then(() => { done = true; });
  for (const b of bytes) {
    if (done) break;
    sock.write(Buffer.from([b]));
    await sleep(everyMs);
  }
  const r = await closed;
  return r.why === 'timeout' ? null : Date.now() - t0;
}

test('a partial HTTP/2 preface trickled a byte at a time is closed at the read timeout', { timeout: 30000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true, env });
  t.after(() => srv.stop());
  const s = await rawConnect(srv.port);
  t.after(() => s.destroy());
  // 23 of the 24 preface bytes, one every 400 ms: 9.2 s, each byte sooner than the read timeout.
  const ms = await trickle(s, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r'), 400);
  t.diagnostic(`closed after ${ms} ms`);
  assert.ok(ms !== null && ms < READ_MS + 1500, `closed after ${ms} ms (read timeout ${READ_MS} ms)`);
});

test('an HTTP/2 connection that sends a preface and SETTINGS but no request is closed at the read timeout', { timeout: 30000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true, env });
  t.after(() => srv.stop());
  const s = await rawConnect(srv.port);
  t.after(() => s.destroy());
  const t0 = Date.now();
  const closed = untilClosed(s, READ_MS * 4);
  s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
  const r = await closed;
  const ms = Date.now() - t0;
  t.diagnostic(`${r.why} after ${ms} ms`);
  assert.equal(r.why, 'closed');
  assert.ok(ms < READ_MS + 1500, `closed after ${ms} ms`);
  // It was told why: a GOAWAY (frame type 7) came before the close.
  assert.ok(r.data.includes(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x00])), 'no GOAWAY');
});

/** One chunked ListStreams with the given chunk-size line; resolves the status. */
async function chunked(port, sizeLine) {
  const s = await rawConnect(port);
  const closed = untilClosed(s, 5000);
  s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n'
    + 'X-Amz-Target: Kinesis_20131202.ListStreams\r\nX-Amz-Date: 20261202T000000Z\r\n'
    + 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n'
    + 'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
    + `${sizeLine}\r\n{}\r\n0\r\n\r\n`);
  const r = await closed;
  s.destroy();
  return Number(r.data.toString('latin1').split(' ')[1]);
}

test('chunk extensions: RFC 9112 ones are accepted, anything else after the size is 400', { timeout: 30000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true, env });
  t.after(() => srv.stop());
  assert.equal(await chunked(srv.port, '2'), 200);
  assert.equal(await chunked(srv.port, '2;name=value'), 200);
  assert.equal(await chunked(srv.port, '2 ; a ; b = "q\\"uoted"'), 200);
  assert.equal(await chunked(srv.port, '2 garbage here'), 400);
  assert.equal(await chunked(srv.port, '2;a=b c'), 400);
  assert.equal(await chunked(srv.port, '2;a="unterminated'), 400);
  assert.equal(await chunked(srv.port, '2;'), 400);
});
