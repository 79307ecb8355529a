// seed.test.mjs: the program from ../shared/seed/kinesis-data-stream-guide.md, run against runnel.
//
// tests/integration/seed/seed.ts is the guide's TypeScript, verbatim but for two added lines in the
// KinesisClient constructor (endpoint from $KINESIS_ENDPOINT, and static credentials). The first
// test proves that by diffing it against the guide. Node 20 cannot run TypeScript, so the run
// strips the program's three kinds of type annotation mechanically (": string", ": Promise<any>",
// ": any") and runs the result as an ES module with cwd = the repo root (so "@aws-sdk/client-kinesis"
// resolves from node_modules). The SDK's default request handler is HTTP/2: that is the point.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand,
} from '@aws-sdk/client-kinesis';
import { REPO_ROOT, kinesisClient, startRunnel } from './runnel.mjs';
import { runSeed, stripTypes } from './seed/run.mjs';
import { SEQ_RE, SHARD_ID_RE, expectedShardForKey, text } from './kinesis.mjs';

const SEED_TS = path.join(REPO_ROOT, 'tests', 'integration', 'seed', 'seed.ts');
const GUIDE = path.join(REPO_ROOT, '..', 'shared', 'seed', 'kinesis-data-stream-guide.md');
const ADDED = [
  /^ {2}endpoint: process\.env\.KINESIS_ENDPOINT,$/,
  /^ {2}credentials: \{ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" \},$/,
];

let srv;
let client;
before(async () => {
  srv = await startRunnel();
  client = kinesisClient(srv.endpoint); // the SDK's default handler, as the seed uses
});
after(async () => {
  try { client?.destroy(); } finally { await srv?.stop(); }
});

test('seed.ts is the guide\'s program verbatim but for the endpoint and credentials lines', (t) => {
  if (!fs.existsSync(GUIDE)) { t.skip(`guide not found at ${GUIDE}`); return; }
  const guide = fs.readFileSync(GUIDE, 'utf8');
  const m = /```typescript\n([\s\S]*?)```/.exec(guide);
  assert.ok(m, 'the guide has a typescript code block');
  const seedLines = fs.readFileSync(SEED_TS, 'utf8').split('\n');
  const kept = seedLines.filter((l) => !ADDED.some((re) => re.test(l)));
  assert.equal(seedLines.length - kept.length, ADDED.length, 'exactly the two added lines');
  assert.equal(kept.join('\n'), m[1]);
  // The stripped JavaScript differs from seed.ts only on the annotated lines.
  const js = stripTypes(seedLines.join('\n')).split('\n');
  const changed = js.filter((l, i) => l !== seedLines[i]);
  assert.deepEqual(changed.map((l) => l.trim()), ['streamName,', 'data,', 'partitionKey', ') {', '} catch (err) {']);
  assert.ok(!/: (string|any)\b|Promise</.test(js.join('\n')), 'no annotations left');
});

test('the default client handler is HTTP/2 (NodeHttp2Handler)', () => {
  assert.equal(client.config.requestHandler.constructor.name, 'NodeHttp2Handler');
});

test('seed program before the stream exists reports the not-found error', { timeout: 60000 }, async () => {
  const r = await runSeed(srv.endpoint);
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /Error adding record to Kinesis stream: Stream emi-kinesis-stream under account 000000000000 not found\.\n/);
  assert.doesNotMatch(r.stdout, /Record added successfully/);
});

test('seed program adds its record over HTTP/2; the record reads back intact', { timeout: 60000 }, async () => {
  await client.send(new CreateStreamCommand({ StreamName: 'emi-kinesis-stream', ShardCount: 2 }));
  const r = await runSeed(srv.endpoint);
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Error adding record|Error in example usage/, r.stderr);
  assert.match(r.stdout, /^Record added successfully: \{/);
  const shard = /ShardId: '([^']*)'/.exec(r.stdout)?.[1];
  const seq = /SequenceNumber: '([^']*)'/.exec(r.stdout)?.[1];
  assert.match(shard ?? '', SHARD_ID_RE, r.stdout);
  assert.match(seq ?? '', SEQ_RE, r.stdout);
  assert.match(r.stdout, /httpStatusCode: 200/);
  assert.equal(shard, expectedShardForKey('PartitionKey1', 2), 'routed by MD5 of PartitionKey1');

  const { ShardIterator } = await client.send(new GetShardIteratorCommand({
    StreamName: 'emi-kinesis-stream', ShardId: shard, ShardIteratorType: 'TRIM_HORIZON',
  }));
  const got = await client.send(new GetRecordsCommand({ ShardIterator }));
  assert.equal(got.Records.length, 1);
  const [rec] = got.Records;
  assert.equal(rec.SequenceNumber, seq);
  assert.equal(text(rec.Data), 'Hello, Emi');
  assert.equal(rec.PartitionKey, 'PartitionKey1');
});
