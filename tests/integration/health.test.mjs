// health.test.mjs: GET/HEAD /health/live and /health/ready on the API port (src/api/health.c), the
// AWS answer to every other non-POST request unchanged; --admin-listen (from start-up, its own
// thread): readiness 503 during recovery and through the drain after SIGTERM; and
// `runnel health` (src/cli/health.c) as a container probe: its exit status for each case.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { CreateStreamCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  RUNNEL_BIN, freePort, kinesisClient, makeTempDir, removeDir, sleep, startRunnel,
} from './runnel.mjs';
import { readShard, shardId } from './kinesis.mjs';

const T = { timeout: 60000 };

function get(port, path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function probe(...args) {
  return new Promise((resolve) => {
    execFile(RUNNEL_BIN, ['health', ...args], { timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

test('/health/live and /health/ready answer 200 JSON over HTTP/1.1, HEAD too, with a query string', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  for (const [path, status] of [['/health/live', 'live'], ['/health/ready', 'ready'], ['/health/ready?x=1', 'ready']]) {
    const r = await get(srv.port, path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(r.body), { status });
    const h = await get(srv.port, path, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.body, '');
  }
});

test('every other non-POST request keeps AWS\'s 403 AccessDenied, without Content-Type', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  for (const [path, method] of [['/', 'GET'], ['/health', 'GET'], ['/health/lives', 'GET'], ['/health/live/x', 'GET'],
    ['/health/ready', 'PUT'], ['/health/ready', 'DELETE']]) {
    const r = await get(srv.port, path, method);
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(r.headers['content-type'], undefined, `${method} ${path}`);
    assert.match(r.body, /<AccessDeniedException>/);
  }
});

test('HTTP/2 on the API port; on --admin-listen, ready is 503 through the drain after SIGTERM', T, async (t) => {
  const adminPort = await freePort();
  // a slow call keeps the server draining after SIGTERM
  const srv = await startRunnel({
    inMemory: true, args: ['--admin-listen', `127.0.0.1:${adminPort}`, '--inject-errors', 'ListStreams=latency:1500'],
  });
  t.after(() => srv.stop());
  assert.match(srv.stdout, new RegExp(`runnel admin \\(health\\) on http://127\\.0\\.0\\.1:${adminPort}\n`));
  const s = http2.connect(`http://127.0.0.1:${srv.port}`);
  t.after(() => s.close());
  const r = s.request({ ':method': 'GET', ':path': '/health/ready' });
  let body = '';
  r.setEncoding('utf8');
  r.on('data', (d) => { body += d; });
  const status = await new Promise((resolve) => r.on('response', (h) => resolve(h[':status'])));
  await new Promise((resolve) => r.on('end', resolve));
  assert.equal(status, 200);
  assert.equal(body, '{"status":"ready"}\n');
  r.end();
  assert.deepEqual(JSON.parse((await get(adminPort, '/health/ready')).body), { status: 'ready' });
  const other = await get(adminPort, '/');
  assert.equal(other.status, 404);
  assert.deepEqual(JSON.parse(other.body), { message: 'Not Found' });
  const slow = s.request({
    ':method': 'POST', ':path': '/', 'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'Kinesis_20131202.ListStreams', 'x-amz-date': '20260101T000000Z',
    authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00',
  });
  slow.end('{}');
  const slowDone = new Promise((resolve) => { slow.on('response', (h) => resolve(h[':status'])); slow.on('error', () => resolve(-1)); });
  await sleep(200);
  process.kill(srv.pid, 'SIGTERM');
  await sleep(200);
  const ready = await get(adminPort, '/health/ready');
  assert.equal(ready.status, 503);
  assert.deepEqual(JSON.parse(ready.body), { status: 'not ready' });
  assert.equal((await get(adminPort, '/health/live')).status, 200);
  assert.equal(await slowDone, 200, 'the call in flight still gets its answer');
  const exit = await srv.stop();
  assert.equal(exit.code, 0);
});

test('--admin-listen answers 503 while the store recovers, 200 once the API port serves', T, async (t) => {
  // ~192 MiB of journal not folded into the shards (no checkpoint), then kill -9: the restart replays it
  const dataDir = makeTempDir();
  t.after(() => removeDir(dataDir));
  const store = ['--journal-bytes', '268435456', '--checkpoint-bytes', '1073741824', '--checkpoint-interval', '600000',
    '--fsync', 'never'];
  const first = await startRunnel({ dataDir, args: store });
  const k = kinesisClient(first.endpoint);
  await k.send(new CreateStreamCommand({ StreamName: 'big', ShardCount: 4 }));
  const blob = Buffer.alloc(1000 * 1000, 7);
  for (let i = 0; i < 40; i++) {
    await k.send(new PutRecordsCommand({
      StreamName: 'big', Records: Array.from({ length: 5 }, (_, j) => ({ PartitionKey: `k${i}-${j}`, Data: blob })),
    }));
  }
  await first.kill9();
  const adminPort = await freePort();
  const seen = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try { seen.push((await get(adminPort, '/health/ready')).status); } catch { /* not listening yet */ }
      await sleep(2);
    }
  })();
  const srv = await startRunnel({ dataDir, args: [...store, '--admin-listen', `127.0.0.1:${adminPort}`] });
  t.after(() => srv.stop());
  const after = await get(adminPort, '/health/ready');
  polling = false;
  await poller;
  assert.equal(after.status, 200);
  assert.ok(seen.includes(503), `no 503 while recovering (saw ${JSON.stringify([...new Set(seen)])})`);
  assert.ok(seen.indexOf(503) < (seen.indexOf(200) === -1 ? Infinity : seen.indexOf(200)), '503 came before 200');
  assert.equal((await readShard(kinesisClient(srv.endpoint), 'big', shardId(0))).records.length > 0, true);
});

test('runnel health: 0 when ready, 1 on another answer, 2 when nothing answers; http and https', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--tls-self-signed'] });
  t.after(() => srv.stop());
  let r = await probe(`http://127.0.0.1:${srv.port}/health/ready`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '200\n');
  r = await probe(`127.0.0.1:${srv.port}`); // a bare host:port probes /health/ready
  assert.equal(r.code, 0, r.stderr);
  r = await probe(`https://127.0.0.1:${srv.port}/health/live`); // TLS on the same port, self-signed
  assert.equal(r.code, 0, r.stderr);
  r = await probe(`http://127.0.0.1:${srv.port}/`);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '403\n');
  const dead = await freePort();
  r = await probe(`http://127.0.0.1:${dead}/health/ready`, '--timeout', '500');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nothing answers/);
  r = await probe('http://');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad URL/);
});
