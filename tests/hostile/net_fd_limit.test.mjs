// Issue 9, defect 3: at the file-descriptor limit the server spun on accept() (EMFILE at 100% CPU,
// a log line each time) and a PutRecord to a shard whose log was not open yet answered 500. Now:
// at --max-connections (default: the fd limit less a reserve for files) the listener stops
// accepting until a connection closes; accept() failing with EMFILE/ENFILE pauses accepting for
// 250 ms and warns once per 10 s; and opening a shard's log out of fds closes the longest-idle
// connection and retries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startRunnelNofile, rawConnect, cpuTicks, fdCount, sleep, okJson, uniqueName,
} from './hostile.mjs';

const NOFILE = 256;
const AUTH = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';

/** A keep-alive HTTP/1.1 client on one connection: request(target, body) -> {status, body}. */
async function keepAlive(port) {
  const s = await rawConnect(port);
  let buf = Buffer.alloc(0);
  let waiter = null;
  s.on('data', (d) => { buf = Buffer.concat([buf, d]); if (waiter) waiter(); });
  s.on('error', () => {});
  return {
    sock: s,
    async request(target, body, timeoutMs = 5000) {
      const payload = Buffer.from(JSON.stringify(body));
      s.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n`
        + `X-Amz-Target: Kinesis_20131202.${target}\r\nX-Amz-Date: 20261202T000000Z\r\n`
        + `Authorization: ${AUTH}\r\nContent-Length: ${payload.length}\r\n\r\n`);
      s.write(payload);
      const end = Date.now() + timeoutMs;
      for (;;) {
        const he = buf.indexOf('\r\n\r\n');
        if (he >= 0) {
          const h = buf.subarray(0, he).toString('latin1');
          const len = Number(/content-length:\s*(\d+)/i.exec(h)?.[1] ?? 0);
          if (buf.length >= he + 4 + len) {
            const out = { status: Number(h.split(' ')[1]), body: buf.subarray(he + 4, he + 4 + len).toString() };
            buf = buf.subarray(he + 4 + len);
            return out;
          }
        }
        if (Date.now() > end) throw new Error(`${target}: no answer in ${timeoutMs} ms`);
        await new Promise((r) => { waiter = r; setTimeout(r, 50); });
        waiter = null;
      }
    },
  };
}

/** n TCP connections that send nothing (connected by the kernel, accepted or not). */
async function idleSockets(port, n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    socks.push(s);
    await new Promise((r) => { s.once('connect', r); s.once('error', r); });
  }
  return socks;
}

async function scenario(t, env) {
  const srv = await startRunnelNofile(NOFILE, [], { env });
  t.after(() => srv.stop());
  const k = await keepAlive(srv.port);
  t.after(() => k.sock.destroy());
  const name = uniqueName('fd');
  assert.equal((await k.request('CreateStream', { StreamName: name, ShardCount: 100 })).status, 200);
  const d = JSON.parse((await k.request('DescribeStream', { StreamName: name })).body);
  const shards = d.StreamDescription.Shards;
  assert.equal(shards.length, 100);

  const socks = await idleSockets(srv.port, 300);
  t.after(() => { for (const s of socks) s.destroy(); });
  await sleep(1000);
  const log0 = srv.stderrBytes();
  const cpu0 = cpuTicks(srv.pid);
  await sleep(3000);
  const cpu = cpuTicks(srv.pid) - cpu0;
  const logged = srv.stderrBytes() - log0;
  const fds = fdCount(srv.pid);
  t.diagnostic(`with 300 idle connections: ${cpu} CPU ticks in 3 s, ${logged} log bytes, ${fds} fds`);
  assert.ok(cpu < 30, `${cpu} CPU ticks in 3 s (spinning?)`);
  assert.ok(logged < 4096, `${logged} bytes logged in 3 s`);
  assert.ok(fds <= NOFILE, `${fds} fds`);

  // PutRecord to 40 shards whose logs are not open: every one 200, on the connection made first.
  const statuses = [];
  for (let i = 0; i < 40; i++) {
    const r = await k.request('PutRecord', {
      StreamName: name, PartitionKey: 'k', ExplicitHashKey: shards[i * 2].HashKeyRange.StartingHashKey, Data: 'aGk=',
    });
    statuses.push(r.status === 200 ? 200 : `${r.status} ${r.body}`);
  }
  t.diagnostic(`PutRecord to 40 unopened shards: ${JSON.stringify(statuses.filter((s) => s !== 200))} failed; `
    + `${(srv.stderr().match(/closed an idle connection/g) ?? []).length} idle connections closed for fds`);
  assert.ok(statuses.every((s) => s === 200), `failed: ${JSON.stringify(statuses.filter((s) => s !== 200))}`);
  // The server is still reachable once connections go: drop the idle ones, connect anew.
  for (const s of socks) s.destroy();
  await sleep(500);
  assert.equal((await (await keepAlive(srv.port)).request('ListStreams', {})).status, 200);
  return { srv, socks };
}

test('300 idle connections under ulimit -n 256, default connection limit: no spin, PutRecord 200', { timeout: 60000 }, async (t) => {
  await scenario(t, {});
});

test('300 idle connections under ulimit -n 256, no connection limit: accept backs off, logs reclaim fds', { timeout: 60000 }, async (t) => {
  // A limit above the fd limit: accept() itself runs out of fds (EMFILE), and opening logs must
  // close idle connections to get theirs.
  await scenario(t, { RUNNEL_MAX_CONNECTIONS: '100000' });
});

test('at the connection limit, further connections wait in the backlog while existing ones work', { timeout: 60000 }, async (t) => {
  const srv = await startRunnelNofile(NOFILE, []);
  t.after(() => srv.stop());
  const k = await keepAlive(srv.port);
  t.after(() => k.sock.destroy());
  const socks = await idleSockets(srv.port, 250);
  t.after(() => { for (const s of socks) s.destroy(); });
  await sleep(500);
  // The limit leaves a reserve of descriptors for the store's files.
  const fds = fdCount(srv.pid);
  t.diagnostic(`${fds} fds with 251 connections made`);
  assert.ok(fds <= NOFILE - 32, `${fds} fds in use: no reserve left for logs`);
  // The last connection is not accepted: its request gets no answer...
  const last = socks[socks.length - 1];
  let answered = false;
  last.on('data', () => { answered = true; });
  last.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 2\r\n\r\n{}');
  await sleep(1000);
  assert.equal(answered, false, 'a connection beyond the limit was served');
  // ...while the first one is.
  assert.equal((await k.request('ListStreams', {})).status, 200);
  // Once some close, it is accepted and answered.
  for (const s of socks.slice(0, 100)) s.destroy();
  const t0 = Date.now();
  while (!answered && Date.now() - t0 < 5000) await sleep(100);
  assert.equal(answered, true, 'the waiting connection was never served');
});

test('out of fds with no idle connection to close: PutRecord answers 503 ServiceUnavailable, then 200 once fds are back', { timeout: 60000 }, async (t) => {
  // No connection limit: accept() runs the table dry. Every other connection has a request head
  // in progress, so none is idle and none may be closed for the log's descriptors.
  const srv = await startRunnelNofile(NOFILE, [], { env: { RUNNEL_MAX_CONNECTIONS: '100000' } });
  t.after(() => srv.stop());
  const k = await keepAlive(srv.port);
  t.after(() => k.sock.destroy());
  const name = uniqueName('fd');
  assert.equal((await k.request('CreateStream', { StreamName: name, ShardCount: 4 })).status, 200);
  const shards = JSON.parse((await k.request('DescribeStream', { StreamName: name })).body).StreamDescription.Shards;
  const socks = await idleSockets(srv.port, 300);
  t.after(() => { for (const s of socks) s.destroy(); });
  for (const s of socks) s.write('POST / HTTP/1.1\r\nHost: x\r\n'); // a head, never finished
  await sleep(1500);
  const put = (i) => k.request('PutRecord', {
    StreamName: name, PartitionKey: 'k', ExplicitHashKey: shards[i].HashKeyRange.StartingHashKey, Data: 'aGk=',
  });
  const r = await put(0);
  t.diagnostic(`PutRecord with no fd and nothing idle: ${r.status} ${r.body}`);
  assert.equal(r.status, 503, r.body);
  assert.deepEqual(JSON.parse(r.body), {
    __type: 'ServiceUnavailable', message: 'The server is out of file descriptors; retry later.',
  });
  for (const s of socks) s.destroy();
  await sleep(500);
  assert.equal((await put(0)).status, 200);
  assert.equal((await put(1)).status, 200);
});
