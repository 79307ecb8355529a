// inject.test.mjs: --inject-errors (src/api/faults.c, docs/testing.md "Injected faults"), the faults
// a test of client retries asks for: whole-call errors by operation and probability, per-entry
// PutRecords failures, added latency; the KMS errors the local KMS never has; and that an injected
// failure changes nothing, and that the SDK's own retries get through a probabilistic fault.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand,
  ListStreamsCommand, PutRecordCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, runRunnelToExit, sleep, startRunnel, uniqueName } from './runnel.mjs';
import { SEQ_RE, expectError, readShard, shardId, text } from './kinesis.mjs';

const T = { timeout: 60000 };

async function serve(t, spec) {
  const srv = await startRunnel({ inMemory: true, args: ['--inject-errors', spec] });
  t.after(() => srv.stop());
  return srv;
}

async function stream(kinesis, shards = 1) {
  const name = uniqueName('inj');
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

test('a rule fails its operation with the error type, status and message; others are untouched', T, async (t) => {
  const srv = await serve(t, 'PutRecord=ProvisionedThroughputExceededException,'
    + 'GetShardIterator=KMSThrottlingException,ListStreams=ServiceUnavailable,DescribeStreamSummary=InternalFailure');
  for (let i = 0; i < 100 && !/fault injection/.test(srv.stderr); i++) await sleep(10); // stderr may trail stdout
  assert.match(srv.stderr, /fault injection is on \(--inject-errors\): PutRecord fails as ProvisionedThroughputExceededException \(p 1\)/);
  const k = kinesisClient(srv.endpoint);
  const name = await stream(k);
  await expectError(k.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', Data: Buffer.from('x') })),
    { name: 'ProvisionedThroughputExceededException', message: 'Rate exceeded.' });
  await expectError(k.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' })),
    { name: 'KMSThrottlingException', message: 'The request was denied due to request throttling by AWS KMS.' });
  await expectError(k.send(new ListStreamsCommand({})), { name: 'ServiceUnavailable', message: 'Service Unavailable', status: 503 });
  await expectError(k.send(new DescribeStreamSummaryCommand({ StreamName: name })), { name: 'InternalFailure', status: 500 });
  // PutRecords has no rule: it works
  const ok = await k.send(new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: 'a', Data: Buffer.from('kept') }] }));
  assert.equal(ok.FailedRecordCount, 0);
});

test('the records injected as failed are not written; the rest are, in order', T, async (t) => {
  const srv = await serve(t, 'PutRecords=records:InternalFailure@0.5,CreateStream=latency:1@0.01');
  const k = kinesisClient(srv.endpoint);
  const name = await stream(k);
  const recs = Array.from({ length: 400 }, (_, i) => ({ PartitionKey: 'k', Data: Buffer.from(`r${i}`) }));
  const out = await k.send(new PutRecordsCommand({ StreamName: name, Records: recs }));
  const failed = out.Records.filter((r) => r.ErrorCode);
  assert.equal(out.FailedRecordCount, failed.length);
  // 400 draws at 0.5: outside [100, 300] has a probability below 1e-20
  assert.ok(failed.length >= 100 && failed.length <= 300, `${failed.length} of 400 failed`);
  for (const r of failed) {
    assert.equal(r.ErrorCode, 'InternalFailure');
    assert.equal(r.ErrorMessage, 'Internal Service Failure');
    assert.equal(r.SequenceNumber, undefined);
  }
  const written = out.Records.map((r, i) => (r.ErrorCode ? null : `r${i}`)).filter(Boolean);
  out.Records.filter((r) => !r.ErrorCode).forEach((r) => assert.match(r.SequenceNumber, SEQ_RE));
  const back = (await readShard(k, name, shardId(0))).records.map((r) => text(r.Data));
  assert.deepEqual(back, written);
});

test('records:ProvisionedThroughputExceededException names the entry\'s shard as AWS does', T, async (t) => {
  const srv = await serve(t, '*=records:ProvisionedThroughputExceededException');
  const k = kinesisClient(srv.endpoint);
  const name = await stream(k, 2);
  const out = await k.send(new PutRecordsCommand({
    StreamName: name,
    Records: [{ PartitionKey: 'a', Data: Buffer.from('1'), ExplicitHashKey: '0' }],
  }));
  assert.equal(out.FailedRecordCount, 1);
  assert.equal(out.Records[0].ErrorCode, 'ProvisionedThroughputExceededException');
  assert.equal(out.Records[0].ErrorMessage,
    `Rate exceeded for shard ${shardId(0)} in stream ${name} under account 000000000000.`);
  // * rules apply to every operation, but a records rule only to PutRecords: PutRecord works
  const one = await k.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', Data: Buffer.from('2') }));
  assert.match(one.SequenceNumber, SEQ_RE);
});

test('latency delays the answer; a probabilistic error is retried through by the SDK', T, async (t) => {
  const srv = await serve(t, 'ListStreams=latency:300,PutRecord=InternalFailure@0.3');
  const k = kinesisClient(srv.endpoint);
  const t0 = Date.now();
  await k.send(new ListStreamsCommand({}));
  const dt = Date.now() - t0;
  assert.ok(dt >= 290, `ListStreams answered after ${dt} ms, not delayed by 300`);
  const name = await stream(k);
  // maxAttempts 10 with 30% failure: a put fails all 10 with probability 6e-6
  const retrying = kinesisClient(srv.endpoint, { maxAttempts: 10 });
  let first = 0;
  const sent = [];
  for (let i = 0; i < 40; i++) {
    const out = await retrying.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(`p${i}`) }));
    if (out.$metadata.attempts > 1) first++;
    sent.push(`p${i}`);
  }
  assert.ok(first > 0, 'no put needed a retry: the fault was not injected');
  // each injected failure wrote nothing: exactly one copy of every record, in order
  const back = (await readShard(k, name, shardId(0))).records.map((r) => text(r.Data));
  assert.deepEqual(back, sent);
  // and a raw (no retry) client sees the failures
  let failures = 0;
  for (let i = 0; i < 30; i++) {
    try {
      await k.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('z') }));
    } catch (e) {
      assert.equal(e.name, 'InternalFailure');
      failures++;
    }
  }
  assert.ok(failures > 0 && failures < 30, `${failures} of 30 failed at p 0.3`);
});

test('a bad specification stops the server with the rule named', T, async () => {
  for (const [spec, why] of [
    ['PutRecord', /expected OPERATION=FAULT\[@PROBABILITY\]/],
    ['NoSuchOp=InternalFailure', /unknown operation/],
    ['PutRecord=Nope', /unknown fault/],
    ['PutRecord=InternalFailure@0', /probability must be a number in \(0, 1\]/],
    ['PutRecord=InternalFailure@1.5', /probability/],
    ['PutRecord=records:InternalFailure', /PutRecords only/],
    ['PutRecords=records:KMSThrottlingException', /ProvisionedThroughputExceededException or InternalFailure/],
    ['*=latency:0', /1\.\.60000 milliseconds/],
  ]) {
    const r = await runRunnelToExit(['serve', '--in-memory', '--listen', '127.0.0.1:0', '--inject-errors', spec]);
    assert.notEqual(r.code, 0, spec);
    assert.match(r.stderr, why, spec);
    assert.match(r.stderr, new RegExp(`rule "${spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`), spec);
  }
});

test('GetRecords can be failed with each KMS error a client must handle', T, async (t) => {
  for (const type of ['KMSOptInRequired', 'KMSAccessDeniedException', 'KMSDisabledException',
    'KMSInvalidStateException', 'KMSNotFoundException', 'KMSThrottlingException']) {
    const srv = await startRunnel({ inMemory: true, args: ['--inject-errors', `GetRecords=${type}`] });
    try {
      const k = kinesisClient(srv.endpoint);
      const name = await stream(k);
      const it = await k.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
      const e = await expectError(k.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator })), { name: type });
      assert.ok(e.message.length > 10, e.message);
    } finally {
      await srv.stop();
    }
  }
});
