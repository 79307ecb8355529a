// Issue 9, defect 6: slow request bodies had no global budget, and one byte per read timeout kept
// a body alive forever. Now request bytes buffered server-wide are capped (--max-buffered-bytes;
// a Content-Length body counts in full when its head arrives): beyond it a request gets 503
// (ServiceUnavailable JSON). And a body arriving for longer than the read timeout must average
// --min-body-rate bytes/s (1024), else HTTP/1.1 gets 408 and HTTP/2 a GOAWAY.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import {
  startRunnel, rawConnect, untilClosed, rssKiB, sleep, h2Headers, jsonRequest,
} from './hostile.mjs';

const MIB = 1024 * 1024;
const READ_MS = 2000;

function head(len, target = 'PutRecord') {
  return 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n'
    + `X-Amz-Target: Kinesis_20131202.${target}\r\nContent-Length: ${len}\r\n\r\n`;
}

test('bodies buffered server-wide are capped: 503 beyond --max-buffered-bytes', { timeout: 60000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true, env: { RUNNEL_MAX_BUFFERED_BYTES: String(32 * MIB) } });
  t.after(() => srv.stop());
  const base = rssKiB(srv.pid);
  // 20 HTTP/1.1 connections each announce 8 MiB and send 7 MiB of it, then stall.
  const socks = [];
  const answers = [];
  for (let i = 0; i < 20; i++) {
    const s = await rawConnect(srv.port);
    s.on('error', () => {});
    socks.push(s);
    answers.push(untilClosed(s, 3000));
    s.write(head(8 * MIB));
    s.write(Buffer.alloc(7 * MIB, 0x20));
  }
  t.after(() => { for (const s of socks) s.destroy(); });
  // And one HTTP/2 request of 8 MiB: over the budget too.
  const session = http2.connect(`http://127.0.0.1:${srv.port}`);
  session.on('error', () => {});
  t.after(() => session.destroy());
  const h2status = new Promise((resolve) => {
    const req = session.request({ ...h2Headers('PutRecord'), 'content-length': String(8 * MIB) });
    req.on('response', (h) => resolve(h[':status']));
    req.on('error', () => resolve('error'));
    req.write(Buffer.alloc(64 * 1024, 0x20));
  });
  const results = await Promise.all(answers);
  await sleep(300);
  const during = rssKiB(srv.pid);
  const statuses = results.map((r) => Number(r.data.toString('latin1').split(' ')[1]) || r.why);
  const n503 = statuses.filter((s) => s === 503).length;
  t.diagnostic(`RSS base ${base} KiB, with 20 stalled 8 MiB bodies ${during} KiB; statuses ${JSON.stringify(statuses)}`);
  assert.ok(n503 >= 16, `${n503} of 20 got 503 (budget: 4 bodies of 8 MiB)`);
  const r = results.find((x) => x.data.toString('latin1').startsWith('HTTP/1.1 503'));
  assert.match(r.data.toString('latin1'), /"__type":"ServiceUnavailable"/);
  assert.equal(await h2status, 503);
  assert.ok(during - base < 64 * 1024, `RSS grew by ${((during - base) / 1024).toFixed(0)} MiB`);
  // While the budget is full, any request with a body is refused; once the stalled clients go,
  // their bytes are given back and requests are served again.
  assert.equal((await jsonRequest(srv.port, 'ListStreams', {})).status, 503);
  for (const s of socks) s.destroy();
  await sleep(300);
  assert.equal((await jsonRequest(srv.port, 'ListStreams', {})).status, 200);
});

test('an HTTP/1.1 body trickled a byte at a time is 408 soon after the read timeout', { timeout: 30000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true, env: { RUNNEL_READ_TIMEOUT: String(READ_MS) } });
  t.after(() => srv.stop());
  const s = await rawConnect(srv.port);
  t.after(() => s.destroy());
  const t0 = Date.now();
  const closed = untilClosed(s, 15000);
  let open = true;
  closed.then(() => { open = false; });
  s.write(head(1024 * 1024));
  // one byte every 500 ms: never a stall of READ_MS, but 2 bytes/s
  while (open && Date.now() - t0 < 12000) {
    s.write('x');
    await sleep(500);
  }
  const r = await closed;
  const ms = Date.now() - t0;
  t.diagnostic(`${r.why} after ${ms} ms: ${r.data.toString('latin1').split('\r\n')[0]}`);
  assert.equal(r.why, 'closed');
  assert.match(r.data.toString('latin1'), /^HTTP\/1\.1 408 /);
  assert.ok(ms < READ_MS + 2000, `closed after ${ms} ms`);
});

test('an HTTP/2 body trickled a byte at a time ends the connection soon after the read timeout', { timeout: 30000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true, env: { RUNNEL_READ_TIMEOUT: String(READ_MS) } });
  t.after(() => srv.stop());
  const session = http2.connect(`http://127.0.0.1:${srv.port}`);
  session.on('error', () => {});
  t.after(() => session.destroy());
  const t0 = Date.now();
  let goaway = false;
  session.on('goaway', () => { goaway = true; });
  const closed = new Promise((resolve) => session.on('close', resolve));
  let open = true;
  closed.then(() => { open = false; });
  const req = session.request({ ...h2Headers('PutRecord'), 'content-length': String(1024 * 1024) });
  req.on('error', () => {});
  while (open && Date.now() - t0 < 12000) {
    req.write(Buffer.from('x'));
    await sleep(500);
  }
  await Promise.race([closed, sleep(1000)]);
  const ms = Date.now() - t0;
  t.diagnostic(`session closed=${!open} goaway=${goaway} after ${ms} ms`);
  assert.ok(!open && goaway, 'the session was not ended with a GOAWAY');
  assert.ok(ms < READ_MS + 2000, `ended after ${ms} ms`);
});

test('a slow but steady body (4 KiB/s, longer than the read timeout) is served', { timeout: 30000 }, async (t) => {
  // A guard, not a regression: the rate rule must not cut off a healthy slow client.
  const srv = await startRunnel({ inMemory: true, env: { RUNNEL_READ_TIMEOUT: String(READ_MS) } });
  t.after(() => srv.stop());
  const s = await rawConnect(srv.port);
  t.after(() => s.destroy());
  const body = Buffer.from(JSON.stringify({ Pad: 'x'.repeat(20 * 1024) }));
  const closed = untilClosed(s, 15000);
  s.write(head(body.length, 'ListStreams').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
  for (let off = 0; off < body.length; off += 1024) {
    s.write(body.subarray(off, off + 1024));
    await sleep(250);
  }
  const r = await closed;
  const status = Number(r.data.toString('latin1').split(' ')[1]);
  assert.notEqual(status, 408);
  assert.ok(status > 0, `no answer (${r.why})`);
});
