// logs.test.mjs: --access-log (src/api/accesslog.c) and --log-format json (src/util/log.c): one JSON
// line per request with its request id, principal, operation, stream, protocol, status, bytes and
// latency, for answered calls and for those refused before they began; no record data or partition
// key in any log; every stderr line a JSON object under --log-format json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateStreamCommand, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, makeTempDir, removeDir, runRunnelToExit, sleep, startRunnel, uniqueName } from './runnel.mjs';
import { ACCT, ADMIN, clientAs, writeCredentials } from './auth.mjs';
import { UUID_RE, shardId } from './kinesis.mjs';

const T = { timeout: 60000 };
const SECRET_DATA = 'do-not-log-this-payload-7f3a';
const SECRET_KEY = 'do-not-log-this-key-91c2';

async function lines(file, n) {
  for (let i = 0; i < 100; i++) { // flushed every 100 ms and at exit
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const ls = text.split('\n').filter(Boolean);
    if (ls.length >= n) return ls.map((l) => JSON.parse(l));
    await sleep(20);
  }
  assert.fail(`fewer than ${n} access-log lines in ${file}`);
}

test('one JSON line per request, with what the call did; no record data', T, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const file = path.join(dir, 'access.log');
  const srv = await startRunnel({ inMemory: true, args: ['--access-log', file, '--log-level', 'debug'] });
  t.after(() => srv.stop());
  const h1 = kinesisClient(srv.endpoint, { http1: true });
  const h2 = kinesisClient(srv.endpoint);
  const name = uniqueName('log');
  await h2.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  const put = await h1.send(new PutRecordCommand({ StreamName: name, PartitionKey: SECRET_KEY, Data: Buffer.from(SECRET_DATA) }));
  await h2.send(new PutRecordsCommand({ StreamName: name, Records: [1, 2, 3].map(() => ({ PartitionKey: SECRET_KEY, Data: Buffer.from(SECRET_DATA) })) }));
  const it = await h2.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
  await h2.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  const err = await h1.send(new DescribeStreamCommand({ StreamName: 'missing-stream' })).catch((e) => e);
  // refused before a call exists: no Authorization header
  const raw = await fetch(srv.endpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' }, body: '{}',
  });
  assert.equal(raw.status, 400);
  const ls = await lines(file, 7);
  const by = (op) => ls.filter((l) => l.operation === op);
  for (const l of ls) {
    assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(l.request_id, UUID_RE);
    assert.equal(l.region, 'us-east-1');
    assert.equal(typeof l.latency_ms, 'number');
    assert.match(l.peer, /^127\.0\.0\.1:\d+$/);
  }
  const p = by('PutRecord')[0];
  assert.equal(p.request_id, put.$metadata.requestId);
  assert.deepEqual({ principal: p.principal, account: p.account, stream: p.stream, http: p.http, protocol: p.protocol, status: p.status, error: p.error, records: p.records, data_bytes: p.data_bytes },
    { principal: 'arn:aws:iam::000000000000:root', account: '000000000000', stream: name, http: '1.1', protocol: 'json', status: 200, error: null, records: 1, data_bytes: SECRET_DATA.length + SECRET_KEY.length });
  assert.ok(p.request_bytes > SECRET_DATA.length);
  const ps = by('PutRecords')[0];
  assert.equal(ps.http, '2');
  assert.equal(ps.records, 3);
  assert.equal(ps.data_bytes, 3 * (SECRET_DATA.length + SECRET_KEY.length));
  const g = by('GetRecords')[0];
  assert.equal(g.records, 4);
  assert.equal(g.stream, name);
  const d = by('DescribeStream')[0];
  assert.equal(d.status, 400);
  assert.equal(d.error, 'ResourceNotFoundException');
  assert.equal(d.request_id, err.$metadata.requestId);
  const early = by('ListStreams')[0];
  assert.equal(early.status, 400);
  assert.equal(early.error, 'MissingAuthenticationTokenException');
  await srv.stop();
  const all = fs.readFileSync(file, 'utf8') + srv.stderr + srv.stdout;
  assert.ok(!all.includes(SECRET_DATA) && !all.includes(Buffer.from(SECRET_DATA).toString('base64')), 'record data in a log');
  assert.ok(!all.includes(SECRET_KEY), 'a partition key in a log');
});

test('verified mode logs the principal ARN', T, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const file = path.join(dir, 'a.log');
  const srv = await startRunnel({ inMemory: true, args: ['--credentials', writeCredentials(dir, [ADMIN]), '--access-log', file] });
  t.after(() => srv.stop());
  const k = clientAs(srv.endpoint, ADMIN);
  await k.send(new CreateStreamCommand({ StreamName: uniqueName('v'), ShardCount: 1 }));
  const [l] = await lines(file, 1);
  assert.equal(l.principal, ADMIN.arn);
  assert.equal(l.account, ACCT);
  assert.equal(l.operation, 'CreateStream');
});

test('--log-format json: every stderr line is a JSON object; bad values are refused', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--log-format', 'json', '--inject-errors', 'PutRecord=InternalFailure'] });
  await srv.stop();
  const ls = srv.stderr.split('\n').filter(Boolean);
  assert.ok(ls.length >= 2, srv.stderr);
  for (const l of ls) {
    const o = JSON.parse(l);
    assert.deepEqual(Object.keys(o), ['time', 'level', 'msg']);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level));
  }
  assert.ok(ls.some((l) => JSON.parse(l).msg.startsWith('fault injection is on')));
  const bad = await runRunnelToExit(['serve', '--in-memory', '--log-format', 'xml']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--log-format must be text or json/);
  const nofile = await runRunnelToExit(['serve', '--in-memory', '--listen', '127.0.0.1:0', '--access-log', '/nonexistent-dir/a.log']);
  assert.notEqual(nofile.code, 0);
  assert.match(nofile.stderr, /cannot open --access-log \/nonexistent-dir\/a\.log/);
});

test('SIGHUP reopens the access log: after a rotation (rename), new lines go to a new file at the path', T, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const file = path.join(dir, 'access.log');
  const srv = await startRunnel({ inMemory: true, args: ['--access-log', file] });
  t.after(() => srv.stop());
  const client = kinesisClient(srv.endpoint);
  const name = uniqueName('rot');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await lines(file, 1);
  fs.renameSync(file, `${file}.1`); // what logrotate does
  await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('before') }));
  // not reopened yet: the line goes to the renamed file
  for (let i = 0; i < 100 && fs.readFileSync(`${file}.1`, 'utf8').split('\n').filter(Boolean).length < 2; i++) await sleep(20);
  assert.equal(fs.existsSync(file), false);
  process.kill(srv.pid, 'SIGHUP');
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await sleep(20);
  assert.ok(fs.existsSync(file), 'SIGHUP created a new file at the path');
  await client.send(new DescribeStreamCommand({ StreamName: name }));
  const fresh = await lines(file, 1);
  assert.deepEqual(fresh.map((l) => l.operation), ['DescribeStream']);
  const old = fs.readFileSync(`${file}.1`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual(old.map((l) => l.operation), ['CreateStream', 'PutRecord']);
  for (let i = 0; i < 50 && !/SIGHUP: access log .* reopened/.test(srv.stderr); i++) await sleep(20);
  assert.match(srv.stderr, /SIGHUP: access log .* reopened/);
  client.destroy();
});
