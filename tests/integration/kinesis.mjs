// kinesis.mjs: Kinesis facts the tests compute themselves (hash-key layout, MD5 routing), and
// small helpers over the SDK (read a whole shard, assert an error's shape).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand,
} from '@aws-sdk/client-kinesis';

export const HASH_MAX = (1n << 128n) - 1n;
export const SEQ_RE = /^\d{56}$/;
export const SHARD_ID_RE = /^shardId-\d{12}$/;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const shardId = (i) => `shardId-${String(i).padStart(12, '0')}`;

/** Contract §3.2: w = floor(2^128 / N); shard i covers [i*w, (i+1)*w - 1], the last ends at 2^128-1. */
export function hashRanges(n) {
  const w = (1n << 128n) / BigInt(n);
  const out = [];
  for (let i = 0; i < n; i++) {
    const start = BigInt(i) * w;
    const end = i === n - 1 ? HASH_MAX : BigInt(i + 1) * w - 1n;
    out.push({ StartingHashKey: start.toString(), EndingHashKey: end.toString() });
  }
  return out;
}

/** MD5 of the UTF-8 partition key as a big-endian unsigned 128-bit integer. */
export function md5Hash(partitionKey) {
  return BigInt('0x' + crypto.createHash('md5').update(Buffer.from(partitionKey, 'utf8')).digest('hex'));
}

/** Index of the shard (of an initial N-shard layout) whose range contains hash. */
export function shardIndexFor(hash, n) {
  const ranges = hashRanges(n);
  const i = ranges.findIndex((r) => BigInt(r.StartingHashKey) <= hash && hash <= BigInt(r.EndingHashKey));
  assert.ok(i >= 0, `hash ${hash} in no range`);
  return i;
}

export const expectedShardForKey = (pk, n) => shardId(shardIndexFor(md5Hash(pk), n));

/**
 * Assert that promise rejects with an SDK service exception of the given name; message may be a
 * string (exact) or RegExp. Checks the HTTP status (400 unless given) and that a request id came
 * back. Returns the error.
 */
export async function expectError(promise, { name, message, status = 400 }) {
  let err;
  try {
    const res = await promise;
    assert.fail(`expected ${name}, got success: ${JSON.stringify(res)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.equal(err.name, name, `error name (message: ${err.message})`);
  if (typeof message === 'string') assert.equal(err.message, message);
  else if (message instanceof RegExp) assert.match(err.message, message);
  assert.ok(err.$metadata, `no $metadata on ${err.name}: ${err.stack}`);
  assert.equal(err.$metadata.httpStatusCode, status, 'HTTP status');
  assert.equal(typeof err.$metadata.requestId, 'string', 'x-amzn-RequestId present');
  assert.match(err.$metadata.requestId, UUID_RE, 'x-amzn-RequestId is a UUID');
  return err;
}

/** Assert an SDK success: 200 and a request id. */
export function assertOk(res) {
  assert.equal(res.$metadata.httpStatusCode, 200);
  assert.match(res.$metadata.requestId ?? '', UUID_RE, 'x-amzn-RequestId is a UUID');
}

/** The output members of an SDK response (without $metadata). */
export function outputOf(res) {
  const { $metadata, ...rest } = res;
  return rest;
}

/**
 * Read a shard from an iterator type until caught up: GetRecords loops until a call returns no
 * records and MillisBehindLatest is 0, bounded by maxCalls. Returns {records, calls, lastIterator}.
 */
export async function readShard(client, stream, sid, {
  type = 'TRIM_HORIZON', seq, limit, maxCalls = 1000, byArn = null,
} = {}) {
  const gsi = { ShardId: sid, ShardIteratorType: type };
  if (byArn) gsi.StreamARN = byArn; else gsi.StreamName = stream;
  if (seq !== undefined) gsi.StartingSequenceNumber = seq;
  const { ShardIterator } = await client.send(new GetShardIteratorCommand(gsi));
  return readFromIterator(client, ShardIterator, { limit, maxCalls });
}

export async function readFromIterator(client, iterator, { limit, maxCalls = 1000 } = {}) {
  const records = [];
  let it = iterator;
  let calls = 0;
  while (it && calls < maxCalls) {
    calls += 1;
    const input = { ShardIterator: it };
    if (limit) input.Limit = limit;
    const r = await client.send(new GetRecordsCommand(input));
    records.push(...r.Records);
    it = r.NextShardIterator;
    if (r.Records.length === 0 && r.MillisBehindLatest === 0) break;
  }
  assert.ok(calls < maxCalls, `shard not drained within ${maxCalls} GetRecords calls`);
  return { records, calls, lastIterator: it };
}

/** All shards of a stream via DescribeStream paging. */
export async function describeAllShards(client, stream) {
  const shards = [];
  let start;
  for (let i = 0; i < 100; i++) {
    const input = { StreamName: stream };
    if (start) input.ExclusiveStartShardId = start;
    const { StreamDescription: d } = await client.send(new DescribeStreamCommand(input));
    shards.push(...d.Shards);
    if (!d.HasMoreShards || d.Shards.length === 0) return shards;
    start = d.Shards[d.Shards.length - 1].ShardId;
  }
  throw new Error('DescribeStream paging did not end');
}

export const text = (u8) => Buffer.from(u8).toString('utf8');
