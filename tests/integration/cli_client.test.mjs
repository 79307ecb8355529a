// cli_client.test.mjs: the `runnel` Kinesis client subcommands (src/cli/, docs/cli.md) end to end:
// the built binary run as a child process against a runnel on a free port, configured as an AWS
// client is (AWS_ENDPOINT_URL, keys in the environment or a profile in ~/.aws), its effects read
// back with the JS SDK. streams create/ls/describe/delete; put of argv data and of 1,200 stdin
// lines; tail over a split and a merge (each record once, parents' records before their
// children's); tail --follow across a split; the json, hex and text formats; --decode-kpl on
// aggregated records built here (a bad MD5 reported); a service error's wording and exit status;
// a verified-mode runnel (--credentials) accepting the CLI's SigV4 signatures and refusing a
// wrong secret; bench's summary.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
  CreateStreamCommand, DescribeStreamSummaryCommand, ListStreamsCommand, MergeShardsCommand,
  PutRecordCommand, SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import {
  RUNNEL_BIN, freePort, kinesisClient, makeTempDir, removeDir, sleep, startRunnel, uniqueName,
} from './runnel.mjs';
import { HASH_MAX, describeAllShards, readShard, shardId } from './kinesis.mjs';
import { ACCT, ADMIN, writeCredentials } from './auth.mjs';

const T = { timeout: 120000 };

/** The environment of a CLI run: only what the test sets of AWS_*, HOME an empty directory. */
function cliEnv(home, extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return { ...env, HOME: home, ...extra };
}

/** Start `runnel ARGS` (or bin ARGS; stdin: input, or nothing); lines() gives stdout's complete lines so far,
 * closed resolves {code, signal} (killed by pid after timeoutMs). */
function startCli(args, { env, input, timeoutMs = 60000, bin = RUNNEL_BIN }) {
  const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  for (const k of ['stdout', 'stderr']) {
    child[k].setEncoding('utf8');
    child[k].on('data', (d) => { out[k] += d; });
  }
  const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
  const closed = new Promise((resolve, reject) => {
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, ...out }); });
  });
  child.stdin.on('error', () => {}); // EPIPE when the command exits before reading its stdin
  child.stdin.end(input ?? '');
  return {
    closed,
    lines: () => out.stdout.split('\n').slice(0, -1),
    get stderr() { return out.stderr; },
    /** Wait until pred(lines) holds (polling stdout; fails after timeoutMs). */
    async until(pred, what, waitMs = 30000) {
      for (const end = Date.now() + waitMs; Date.now() < end;) {
        if (pred(this.lines())) return;
        await sleep(50);
      }
      assert.fail(`tail never printed ${what}; stdout:\n${out.stdout}\nstderr:\n${out.stderr}`);
    },
    /** SIGINT, and the exit. */
    stop() {
      try { process.kill(child.pid, 'SIGINT'); } catch { /* gone */ }
      return closed;
    },
  };
}

/** Run `runnel ARGS` to completion. Resolves {code, signal, stdout, stderr}. */
const runCli = (args, opts = {}) => startCli(args, opts).closed;

/** Every record of a stream through the SDK, shard by shard. */
async function readAll(client, stream) {
  const out = [];
  for (const s of await describeAllShards(client, stream)) {
    const { records } = await readShard(client, stream, s.ShardId);
    out.push(...records.map((r) => ({ ...r, shardId: s.ShardId })));
  }
  return out;
}

// ---- a tiny protobuf writer for KPL aggregated records ----------------------------------------
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const fieldBytes = (num, buf) => Buffer.concat([varint((num << 3) | 2), varint(buf.length), buf]);
const fieldUint = (num, v) => Buffer.concat([varint(num << 3), varint(v)]);
/** records: [{key, data, ehk?}]; the AggregatedRecord with its key tables, magic and MD5. */
function kplAggregate(records, { badMd5 = false } = {}) {
  const keys = [...new Set(records.map((r) => r.key))];
  const ehks = [...new Set(records.filter((r) => r.ehk).map((r) => r.ehk))];
  const parts = [...keys.map((k) => fieldBytes(1, Buffer.from(k))), ...ehks.map((k) => fieldBytes(2, Buffer.from(k)))];
  for (const r of records) {
    const rec = [fieldUint(1, keys.indexOf(r.key))];
    if (r.ehk) rec.push(fieldUint(2, ehks.indexOf(r.ehk)));
    rec.push(fieldBytes(3, Buffer.from(r.data)));
    parts.push(fieldBytes(3, Buffer.concat(rec)));
  }
  const msg = Buffer.concat(parts);
  const md5 = crypto.createHash('md5').update(msg).digest();
  if (badMd5) md5[0] ^= 1;
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), msg, md5]);
}

describe('runnel CLI against a developer-mode runnel', () => {
  let srv;
  let client;
  let home;
  let env;
  const cli = (args, opts = {}) => runCli(args, { env, ...opts });
  const ok = async (args, opts) => {
    const r = await cli(args, opts);
    assert.equal(r.code, 0, `runnel ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  };
  const create = async (prefix, shards = 1) => {
    const name = uniqueName(prefix);
    await ok(['streams', 'create', name, '--shards', String(shards)]);
    return name;
  };
  const putSdk = (StreamName, PartitionKey, data) =>
    client.send(new PutRecordCommand({ StreamName, PartitionKey, Data: Buffer.from(data) }));
  const tailJson = async (args) => (await ok(['tail', ...args, '--format', 'json'])).stdout.trim().split('\n')
    .filter(Boolean).map((l) => JSON.parse(l));

  before(async () => {
    srv = await startRunnel({ inMemory: true });
    client = kinesisClient(srv.endpoint);
    home = makeTempDir('runnel-cli-home-');
    env = cliEnv(home, { AWS_ENDPOINT_URL: srv.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  });
  after(async () => {
    client?.destroy();
    await srv?.stop();
    if (home) removeDir(home);
  });

  test('streams create, ls, describe (text and --json), delete', T, async () => {
    const name = await create('cli-streams', 3);
    const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    assert.equal(d.StreamDescriptionSummary.StreamStatus, 'ACTIVE');
    assert.equal(d.StreamDescriptionSummary.OpenShardCount, 3);
    assert.ok((await ok(['streams', 'ls'])).stdout.split('\n').includes(name));
    const j = JSON.parse((await ok(['streams', 'describe', name, '--json'])).stdout);
    assert.equal(j.StreamDescriptionSummary.StreamName, name);
    assert.deepEqual(j.Shards.map((s) => s.ShardId), [shardId(0), shardId(1), shardId(2)]);
    const text = (await ok(['streams', 'describe', name])).stdout;
    assert.match(text, new RegExp(`^name +${name}$`, 'm'));
    assert.match(text, /^status +ACTIVE$/m);
    assert.match(text, /^open shards +3$/m);
    assert.match(text, new RegExp(`^${shardId(2)} +open +- +\\d+\\.\\.${HASH_MAX}$`, 'm'));
    await ok(['streams', 'delete', name]);
    const names = (await client.send(new ListStreamsCommand({}))).StreamNames;
    assert.ok(!names.includes(name), `${name} still listed after delete`);
    assert.ok(!(await ok(['streams', 'ls'])).stdout.split('\n').includes(name));
  });

  test('a service error prints runnel: <ErrorType>: <message> and exits 1', T, async () => {
    const r = await cli(['streams', 'describe', 'no-such-stream']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'runnel: ResourceNotFoundException: Stream no-such-stream under account 000000000000 not found.\n');
    assert.equal(r.stdout, '');
    const u = await cli(['streams', 'frobnicate']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /^usage: runnel streams ls/);
  });

  test('put DATA with --key, and 1,200 stdin lines: all arrive (read with the JS SDK)', T, async () => {
    const name = await create('cli-put', 2);
    const one = await ok(['put', name, '--key', 'the-key', 'hello world']);
    const [sid, seq] = one.stdout.trim().split('\t');
    const lines = Array.from({ length: 1200 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)} ü`);
    const r = await ok(['put', name, '-'], { input: `${lines.join('\n')}\n` });
    assert.match(r.stderr, /put 1200 records/);
    const got = await readAll(client, name);
    assert.equal(got.length, 1201);
    const first = got.find((g) => g.SequenceNumber === seq);
    assert.ok(first, `the argv record ${seq} is not in the stream`);
    assert.equal(first.shardId, sid);
    assert.equal(first.PartitionKey, 'the-key');
    assert.equal(Buffer.from(first.Data).toString(), 'hello world');
    const texts = got.filter((g) => g !== first).map((g) => Buffer.from(g.Data).toString('utf8'));
    assert.deepEqual(texts.sort(), [...lines].sort());
    // without --key the keys are random, so both shards took some
    assert.equal(new Set(got.map((g) => g.shardId)).size, 2);
  });

  test('tail --from trim-horizon over a split and a merge: every record once, parents before children', T, async () => {
    const name = await create('cli-reshard', 2);
    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`);
    const order = new Map(keys.map((k) => [k, []]));
    const putPhase = async (phase) => {
      for (const k of keys) {
        for (let i = 0; i < 3; i++) {
          const v = `${k}/${phase}/${i}`;
          await putSdk(name, k, v);
          order.get(k).push(v);
        }
      }
    };
    await putPhase(0);
    const half = (HASH_MAX + 1n) / 2n;
    await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: (half / 2n).toString() }));
    await putPhase(1);
    // shard 3 is the upper half of shard 0: adjacent to shard 1
    await client.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: shardId(3), AdjacentShardToMerge: shardId(1) }));
    await putPhase(2);
    const shards = await describeAllShards(client, name);
    assert.equal(shards.length, 5);

    // --limit 5: each parent takes several GetRecords, so a child read too early would show
    const recs = await tailJson([name, '--from', 'trim-horizon', '--limit', '5']);
    const total = keys.length * 9;
    assert.equal(recs.length, total, 'every record printed');
    assert.equal(new Set(recs.map((r) => r.sequenceNumber)).size, total, 'each record once');
    for (const k of keys) {
      assert.deepEqual(recs.filter((r) => r.partitionKey === k).map((r) => r.text), order.get(k), `the order of ${k}`);
    }
    // the lineage: a child's first record comes after the last record of each of its parents
    const pos = (sid, pick) => {
      const idx = recs.map((r, i) => (r.shardId === sid ? i : -1)).filter((i) => i >= 0);
      return pick === 'first' ? idx[0] : idx[idx.length - 1];
    };
    for (const s of shards) {
      for (const p of [s.ParentShardId, s.AdjacentParentShardId].filter(Boolean)) {
        if (pos(s.ShardId, 'first') === undefined || pos(p, 'last') === undefined) continue;
        assert.ok(pos(p, 'last') < pos(s.ShardId, 'first'), `${p}'s records before ${s.ShardId}'s`);
      }
    }
    assert.ok(pos(shardId(4), 'first') !== undefined, 'the merged shard was read');
    for (const r of recs) assert.equal(Buffer.from(r.data, 'base64').toString(), r.text);

    // --from latest prints nothing and exits; --from SEQ starts at that record of its shard
    assert.equal((await ok(['tail', name, '--from', 'latest'])).stdout, '');
    const mid = recs.find((r) => r.shardId === shardId(1) && r.text.endsWith('/0/1'));
    const fromSeq = await tailJson([name, '--from', mid.sequenceNumber]);
    assert.equal(fromSeq[0].sequenceNumber, mid.sequenceNumber);
    const lineage = new Set([shardId(1), shardId(4)]);
    assert.ok(fromSeq.every((r) => lineage.has(r.shardId)), 'only shard 1 and its descendant');
    assert.equal(fromSeq.length, recs.filter((r) => lineage.has(r.shardId)).length
      - recs.filter((r) => r.shardId === shardId(1)).findIndex((r) => r.sequenceNumber === mid.sequenceNumber));
    // --from TIMESTAMP (ISO 8601): the records that arrived then or later, in every shard of the lineage
    const ts = recs.find((r) => r.text === 'key-0/1/0').approximateArrivalTimestamp; // phase 1's first put
    const fromTs = await tailJson([name, '--from', ts]);
    assert.deepEqual(fromTs.map((r) => r.sequenceNumber).sort(),
      recs.filter((r) => Date.parse(r.approximateArrivalTimestamp) >= Date.parse(ts)).map((r) => r.sequenceNumber).sort());
    assert.ok(fromTs.length < total && fromTs.length >= keys.length * 6, `${fromTs.length} of ${total} from ${ts}`);
    // seconds since the epoch
    assert.equal((await tailJson([name, '--from', '0'])).length, total);
  });

  test('tail --follow prints a record put after it started, and follows a split to the children', T, async () => {
    const name = await create('cli-follow', 1);
    await putSdk(name, 'k', 'before');
    const tail = startCli(['tail', name, '--follow', '--format', 'json'], { env });
    try {
      await tail.until((l) => l.some((x) => JSON.parse(x).text === 'before'), 'the record put before it started');
      await putSdk(name, 'k', 'after');
      await tail.until((l) => l.some((x) => JSON.parse(x).text === 'after'), 'the record put after it started');
      await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: ((HASH_MAX + 1n) / 2n).toString() }));
      const put = await putSdk(name, 'k', 'in-a-child');
      await tail.until((l) => l.some((x) => JSON.parse(x).text === 'in-a-child'), 'the record put into a child shard');
      const rec = tail.lines().map((x) => JSON.parse(x)).find((x) => x.text === 'in-a-child');
      assert.equal(rec.shardId, put.ShardId);
      assert.notEqual(rec.shardId, shardId(0));
      assert.deepEqual(tail.lines().map((x) => JSON.parse(x).text), ['before', 'after', 'in-a-child']);
    } finally {
      const r = await tail.stop();
      assert.equal(r.code, 0, `tail --follow exit after SIGINT; stderr: ${tail.stderr}`);
    }
  });

  test('the text, json and hex formats', T, async () => {
    const name = await create('cli-format', 1);
    const bin = Buffer.from([0x00, 0x01, 0x41, 0xff, 0x7f, 0x0a, 0x42]);
    await putSdk(name, 'bin', bin);
    await putSdk(name, 'utf', 'héllo\tworld\\');
    await putSdk(name, 'long', 'abcdefghijklmnopqrstuvwxyz');
    const text = (await ok(['tail', name])).stdout;
    assert.equal(text, '\\x00\\x01A\\xff\\x7f\\nB\nhéllo\\tworld\\\\\nabcdefghijklmnopqrstuvwxyz\n');
    const j = await tailJson([name]);
    assert.equal(j.length, 3);
    assert.equal(j[0].partitionKey, 'bin');
    assert.equal(j[0].shardId, shardId(0));
    assert.equal(Buffer.from(j[0].data, 'base64').compare(bin), 0);
    assert.ok(!('text' in j[0]), 'no text for data that is not UTF-8');
    assert.equal(j[1].text, 'héllo\tworld\\');
    assert.match(j[0].approximateArrivalTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(j[0].approximateArrivalTimestamp) - Date.now()) < 600e3);
    assert.match(j[0].sequenceNumber, /^\d{56}$/);
    const hex = (await ok(['tail', name, '--format', 'hex'])).stdout.split('\n');
    assert.match(hex[0], new RegExp(`^${shardId(0)} ${j[0].sequenceNumber} key bin \\S+ 7 bytes$`));
    assert.equal(hex[1], '00000000  00 01 41 ff 7f 0a 42                              |..A...B|');
    assert.equal(hex[2], '00000007');
    const long = hex.indexOf(hex.find((l) => l.includes(' key long ')));
    assert.equal(hex[long + 1], '00000000  61 62 63 64 65 66 67 68  69 6a 6b 6c 6d 6e 6f 70  |abcdefghijklmnop|');
    assert.equal(hex[long + 2], '00000010  71 72 73 74 75 76 77 78  79 7a                    |qrstuvwxyz|');
  });

  test('tail --decode-kpl: user records with their keys and sub-sequence numbers; a bad MD5 reported', T, async () => {
    const name = await create('cli-kpl', 1);
    const users = [{ key: 'user-a', data: 'first' }, { key: 'user-b', data: 'second', ehk: '12345' }, { key: 'user-a', data: 'third' }];
    const agg = await putSdk(name, 'agg', kplAggregate(users));
    await putSdk(name, 'plain', 'not aggregated');
    const bad = await putSdk(name, 'bad', kplAggregate(users, { badMd5: true }));
    const r = await ok(['tail', name, '--decode-kpl', '--format', 'json']);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(recs.slice(0, 3).map((x) => [x.partitionKey, x.text, x.subSequenceNumber, x.sequenceNumber]),
      [['user-a', 'first', 0, agg.SequenceNumber], ['user-b', 'second', 1, agg.SequenceNumber], ['user-a', 'third', 2, agg.SequenceNumber]]);
    assert.equal(recs[1].explicitHashKey, '12345');
    assert.equal(recs[3].text, 'not aggregated');
    assert.ok(!('subSequenceNumber' in recs[3]));
    assert.equal(recs.length, 5, 'the bad aggregate shown as one record');
    assert.equal(recs[4].sequenceNumber, bad.SequenceNumber);
    assert.equal(recs[4].partitionKey, 'bad');
    assert.equal(Buffer.from(recs[4].data, 'base64').compare(kplAggregate(users, { badMd5: true })), 0);
    assert.equal(r.stderr, `runnel: ${shardId(0)} ${bad.SequenceNumber}: KPL aggregated record with a bad MD5; shown as one record\n`);
    // without --decode-kpl the aggregate is one record
    assert.equal((await tailJson([name])).length, 3);
    const text = (await ok(['tail', name, '--decode-kpl'])).stdout.split('\n');
    assert.deepEqual(text.slice(0, 4), ['first', 'second', 'third', 'not aggregated']);
  });

  test('configuration: --endpoint-url > AWS_ENDPOINT_URL_KINESIS > AWS_ENDPOINT_URL; AWS_REGION > AWS_DEFAULT_REGION', T, async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const keys = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    const name = uniqueName('cli-config');
    // the service-specific variable wins over the general one
    let r = await runCli(['streams', 'create', name], { env: cliEnv(home, { ...keys, AWS_ENDPOINT_URL: dead, AWS_ENDPOINT_URL_KINESIS: srv.endpoint, AWS_DEFAULT_REGION: 'eu-west-2' }) });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['streams', 'describe', name, '--json'], { env: cliEnv(home, { ...keys, AWS_ENDPOINT_URL: dead, AWS_DEFAULT_REGION: 'eu-west-2' }), timeoutMs: 60000 });
    assert.equal(r.code, 1, 'AWS_ENDPOINT_URL alone points at nothing');
    assert.match(r.stderr, /^runnel: cannot reach http:\/\/127\.0\.0\.1:\d+: /);
    r = await runCli(['streams', 'describe', name, '--json', '--endpoint-url', srv.endpoint],
      { env: cliEnv(home, { ...keys, AWS_ENDPOINT_URL_KINESIS: dead, AWS_DEFAULT_REGION: 'eu-west-2', AWS_REGION: 'eu-west-2' }) });
    assert.equal(r.code, 0, r.stderr);
    // created under AWS_DEFAULT_REGION's region: the stream lives there
    assert.match(JSON.parse(r.stdout).StreamDescriptionSummary.StreamARN, /^arn:aws:kinesis:eu-west-2:/);
    r = await runCli(['streams', 'describe', name], { env: cliEnv(home, { ...keys, AWS_ENDPOINT_URL: srv.endpoint, AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'eu-west-2' }) });
    assert.equal(r.code, 1, 'AWS_REGION wins: the stream is not in us-east-1');
    assert.match(r.stderr, /^runnel: ResourceNotFoundException: /);
    // nothing names a region or an endpoint; no keys
    r = await runCli(['streams', 'ls'], { env: cliEnv(home, keys) });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'runnel: no region: set AWS_REGION, a profile\'s region or --region\n');
    r = await runCli(['streams', 'ls'], { env: cliEnv(home, { AWS_ENDPOINT_URL: srv.endpoint }) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^runnel: no credentials: /);
  });

  test('bench: a summary with records/s, MiB/s, p50 and p99, and the records in the stream', T, async () => {
    const name = await create('cli-bench', 2);
    const r = await ok(['bench', name, '--seconds', '1', '--size', '100', '--concurrency', '2', '--batch', '10']);
    const row = (k) => new RegExp(`^${k} +(\\S+)`, 'm').exec(r.stdout)?.[1];
    const records = Number(row('records'));
    assert.ok(records > 0, r.stdout);
    assert.ok(Number(row('records/s')) > 0);
    assert.ok(Number(row('MiB/s')) > 0);
    assert.ok(Number(row('latency p50')) > 0 && Number(row('latency p99')) >= Number(row('latency p50')));
    assert.match(r.stdout, /^requests +\d+ \(0 failed\)$/m);
    assert.equal(row('concurrency'), '2');
    const got = await readAll(client, name);
    assert.equal(got.length, records);
    assert.ok(got.every((g) => g.Data.length === 100));
    assert.doesNotMatch(r.stderr, /records\/s/, 'no progress line when stderr is not a terminal');
    // under a terminal (script(1) gives it a pty): the live progress line, redrawn with \r
    const tty = await runCli(['-qec', `${RUNNEL_BIN} bench ${name} --seconds 2 --concurrency 1 --batch 5`, '/dev/null'],
      { env, bin: 'script' });
    assert.equal(tty.code, 0, tty.stdout);
    assert.match(tty.stdout, /\r +\d+\.\ds\/2s +\d+ records +\d+ records\/s +\d+\.\d\d MiB\/s +0 errors/);
    assert.match(tty.stdout, /^records\/s +\d+/m);
  });
});

describe('runnel CLI against a verified-mode runnel (--credentials)', () => {
  let srv;
  let dir;
  const TEMP = { access_key_id: 'ASIATEMPCLI0000001', secret_access_key: 'temp/secret', session_token: 'FwoGZXIvYXdzCLI==',
    account_id: ACCT, arn: `arn:aws:sts::${ACCT}:assumed-role/writer/cli`,
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kinesis:*', Resource: '*' }] }] };
  before(async () => {
    dir = makeTempDir('runnel-cli-auth-');
    srv = await startRunnel({ inMemory: true, args: ['--credentials', writeCredentials(dir, [ADMIN, TEMP])] });
  });
  after(async () => {
    await srv?.stop();
    if (dir) removeDir(dir);
  });

  test('keys from the environment: accepted signatures; a wrong secret or key refused', T, async () => {
    const env = (id, secret) => cliEnv(dir, { AWS_ENDPOINT_URL: srv.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret });
    const good = env(ADMIN.access_key_id, ADMIN.secret_access_key);
    const name = uniqueName('cli-auth');
    let r = await runCli(['streams', 'create', name], { env: good });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['put', name, '--key', 'k', 'signed'], { env: good });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['put', name, '--key', 'k', '-'], { env: good, input: 'a\nb\n' });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['tail', name], { env: good });
    assert.equal(r.stdout, 'signed\na\nb\n');
    r = await runCli(['streams', 'ls'], { env: env(ADMIN.access_key_id, 'wrong-secret') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^runnel: InvalidSignatureException: The request signature we calculated does not match/);
    r = await runCli(['streams', 'ls'], { env: env('AKIDUNKNOWN0000', 'x') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^runnel: UnrecognizedClientException: /);
    // temporary keys: AWS_SESSION_TOKEN sent (and signed); without it the key is refused
    const temp = env(TEMP.access_key_id, TEMP.secret_access_key);
    r = await runCli(['streams', 'ls'], { env: { ...temp, AWS_SESSION_TOKEN: TEMP.session_token } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes(name));
    r = await runCli(['streams', 'ls'], { env: temp });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'runnel: UnrecognizedClientException: The security token included in the request is invalid.\n');
  });

  test('keys and region from a profile in the shared files (AWS_PROFILE, --profile), endpoint from --endpoint-url', T, async () => {
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, '.aws'), { recursive: true });
    fs.writeFileSync(path.join(home, '.aws', 'credentials'),
      `[default]\naws_access_key_id = AKIDNOBODY\naws_secret_access_key = nope\n\n[admin]\naws_access_key_id = ${ADMIN.access_key_id}\naws_secret_access_key = ${ADMIN.secret_access_key}\n`
      + `\n[temp]\naws_access_key_id = ${TEMP.access_key_id}\naws_secret_access_key = ${TEMP.secret_access_key}\naws_session_token = ${TEMP.session_token}\n`);
    fs.writeFileSync(path.join(home, '.aws', 'config'), '[default]\nregion = us-east-1\n\n[profile admin]\nregion = eu-west-1\n');
    const base = cliEnv(home, {});
    const ep = ['--endpoint-url', srv.endpoint];
    const name = uniqueName('cli-profile');
    let r = await runCli(['streams', 'create', name, ...ep], { env: { ...base, AWS_PROFILE: 'admin' } });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['streams', 'describe', name, '--json', '--profile', 'admin', ...ep], { env: base });
    assert.equal(r.code, 0, r.stderr);
    // the profile's region (eu-west-1) is the region signed, and so the stream's
    assert.match(JSON.parse(r.stdout).StreamDescriptionSummary.StreamARN, /^arn:aws:kinesis:eu-west-1:/);
    r = await runCli(['streams', 'ls', ...ep], { env: base });
    assert.equal(r.code, 1, 'the default profile has unknown keys');
    assert.match(r.stderr, /^runnel: UnrecognizedClientException: /);
    r = await runCli(['streams', 'ls', '--profile', 'temp', ...ep], { env: base });
    assert.equal(r.code, 0, `the profile's aws_session_token: ${r.stderr}`);
    // --profile wins over keys in the environment
    r = await runCli(['streams', 'ls', '--profile', 'admin', ...ep], { env: { ...base, AWS_ACCESS_KEY_ID: 'AKIDNOBODY', AWS_SECRET_ACCESS_KEY: 'x' } });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['streams', 'ls', '--profile', 'nobody', ...ep], { env: base });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the profile nobody is in neither/);
  });
});

describe('runnel CLI against injected throttling (--inject-errors)', () => {
  let srv;
  let client;
  let home;
  before(async () => {
    srv = await startRunnel({
      inMemory: true,
      args: ['--inject-errors', 'PutRecords=records:ProvisionedThroughputExceededException@0.3,GetRecords=ProvisionedThroughputExceededException@0.3'],
    });
    client = kinesisClient(srv.endpoint);
    home = makeTempDir('runnel-cli-home-');
  });
  after(async () => {
    client?.destroy();
    await srv?.stop();
    if (home) removeDir(home);
  });

  test('put - retries the entries PutRecords failed; tail backs off on throttled GetRecords: each record once', T, async () => {
    const env = cliEnv(home, { AWS_ENDPOINT_URL: srv.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const name = uniqueName('cli-throttled');
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    const lines = Array.from({ length: 1200 }, (_, i) => `r${i}`);
    const p = await runCli(['put', name, '--key', 'one-key', '-'], { env, input: `${lines.join('\n')}\n` });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /put 1200 records/);
    const t = await runCli(['tail', name], { env });
    assert.equal(t.code, 0, t.stderr);
    // each once (a retried entry lands after the ones sent after it: no order across retries)
    const got = t.stdout.trim().split('\n');
    assert.equal(got.length, 1200);
    assert.deepEqual([...got].sort(), [...lines].sort());
    assert.notDeepEqual(got, lines, 'some entries were retried (injected failures)');
  });
});

describe('runnel CLI over HTTPS (runnel --tls-cert)', () => {
  let srv;
  let dir;
  let cert;
  before(async () => {
    dir = makeTempDir('runnel-cli-tls-');
    cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    const r = await runCli(['cert', '--out-cert', cert, '--out-key', key, '--days', '2'], { env: process.env });
    assert.equal(r.code, 0, r.stderr);
    srv = await startRunnel({ inMemory: true, args: ['--tls-cert', cert, '--tls-key', key] });
  });
  after(async () => {
    await srv?.stop();
    if (dir) removeDir(dir);
  });

  test('--ca FILE verifies runnel\'s certificate, --no-verify-ssl skips it, the system store refuses it', T, async () => {
    const env = cliEnv(dir, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const ep = ['--endpoint-url', `https://127.0.0.1:${srv.port}`];
    const name = uniqueName('cli-tls');
    let r = await runCli(['streams', 'create', name, ...ep, '--ca', cert], { env });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['put', name, 'over tls', '--key', 'k', ...ep, '--no-verify-ssl'], { env });
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['tail', name, ...ep], { env: { ...env, AWS_CA_BUNDLE: cert } });
    assert.equal(r.stdout, 'over tls\n');
    r = await runCli(['streams', 'ls', ...ep], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^runnel: cannot reach https:\/\/127\.0\.0\.1:\d+: (SSL peer certificate|Peer certificate|SSL certificate)/);
  });
});
