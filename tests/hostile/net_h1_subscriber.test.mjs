// Issue 11: an HTTP/1.1 SubscribeToShard subscriber that never reads. Its event stream is a
// chunked body written straight to the connection; the subscription produces only while less
// than 1 MiB of it is unsent (the same bound as over HTTP/2), so TCP is the back-pressure. While
// 1 MiB records keep arriving (~90 MiB of events if they were all made), runnel's RSS stays
// bounded, and once the output has not moved for the read timeout the connection is dropped,
// which ends the subscription: the peer then reads what was in the socket buffers and EOF.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { okJson, rssKiB, peakRssKiB, sleep, startRunnel, streamArn, uniqueName, DEV_AUTH } from './hostile.mjs';

const READ_MS = 3000;
const RECORDS = 64;
const MIB = 1024; // in KiB

/** The TCP state (hex, '01' = ESTABLISHED) of runnel's end of the connection from clientPort, or
 * null when runnel holds none: /proc/<pid>/net/tcp, local port = runnel's, remote = the client's. */
function serverConnState(pid, serverPort, clientPort) {
  const hex = (n) => n.toString(16).toUpperCase().padStart(4, '0');
  for (const line of fs.readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (f[1].endsWith(`:${hex(serverPort)}`) && f[2].endsWith(`:${hex(clientPort)}`)) return f[3];
  }
  return null;
}

test('HTTP/1.1 subscriber that never reads: bounded memory, stream ended after the read timeout', { timeout: 120000 }, async (t) => {
  const srv = await startRunnel({ args: ['--read-timeout', String(READ_MS), '--consumer-delay', '0'] });
  t.after(() => srv.stop());
  const name = uniqueName('h1slow');
  await okJson(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const { Consumer } = await okJson(srv.port, 'RegisterStreamConsumer', { StreamARN: streamArn(name), ConsumerName: 'slow' });
  await sleep(300);
  const base = rssKiB(srv.pid);

  const sock = net.connect({ host: '127.0.0.1', port: srv.port });
  t.after(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  const payload = JSON.stringify({ ConsumerARN: Consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } });
  sock.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/x-amz-json-1.1\r\n`
    + `X-Amz-Target: Kinesis_20131202.SubscribeToShard\r\nX-Amz-Date: 20261202T000000Z\r\nAuthorization: ${DEV_AUTH}\r\n`
    + `Content-Length: ${payload.length}\r\n\r\n${payload}`);
  let got = 0;
  let ended = false;
  sock.on('data', (d) => { got += d.length; });
  sock.on('close', () => { ended = true; });
  sock.on('error', () => {});
  await sleep(300);
  sock.pause(); // from now on, never read
  const seen = got;
  assert.ok(seen > 0, 'the stream started');

  const data = Buffer.alloc(1024 * 1024 - 64, 0x62).toString('base64');
  const t0 = Date.now();
  for (let i = 0; i < RECORDS; i++)
    await okJson(srv.port, 'PutRecord', { StreamName: name, PartitionKey: 'k', Data: data }, { timeoutMs: 30000 });
  const during = rssKiB(srv.pid);
  assert.equal(serverConnState(srv.pid, srv.port, sock.localPort), '01', 'the subscriber is still connected while records arrive');

  // The output cannot move: after the read timeout the connection goes (and its subscription).
  const deadline = t0 + 30000;
  while (serverConnState(srv.pid, srv.port, sock.localPort) === '01' && Date.now() < deadline) await sleep(200);
  const freedAfter = Date.now() - t0;
  const peak = peakRssKiB(srv.pid);
  assert.notEqual(serverConnState(srv.pid, srv.port, sock.localPort), '01', 'the connection was dropped');
  sock.resume();
  const until = Date.now() + 10000;
  while (!ended && Date.now() < until) await sleep(50);
  t.diagnostic(`RSS base ${base} KiB, after ${RECORDS} MiB put ${during} KiB, peak ${peak} KiB; `
    + `connection dropped ${freedAfter} ms after the first put; the peer got ${(got / 1048576).toFixed(1)} MiB of `
    + `~${(RECORDS * 1.34).toFixed(0)} MiB of events`);
  assert.ok(ended, 'the peer sees the end of the connection');
  assert.ok(peak - base < 48 * MIB, `peak RSS grew by ${peak - base} KiB`);
  assert.ok(got < 24 * 1048576, `only what the socket buffers and the bounded queue held: ${got} bytes`);
  // the server is fine, and the consumer can subscribe again
  const again = await okJson(srv.port, 'DescribeStreamSummary', { StreamName: name });
  assert.equal(again.StreamDescriptionSummary.StreamName, name);
});
