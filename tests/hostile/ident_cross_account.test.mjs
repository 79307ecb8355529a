// ident_cross_account.test.mjs: names of other accounts and regions are honoured (issue 9,
// defect 7). A StreamARN or ConsumerARN is resolved in the account and region it names: another
// region's is not found, another account's is AccessDeniedException unless the resource's policy
// grants the caller; iterators and NextTokens work only for the account and region that minted
// them; the number of (account, region) pairs holding state is bounded (--max-namespaces).
// The account comes from a 12-digit access key id (docs/control-plane.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kinesis';
import { makeTempDir, removeDir, startRunnel, uniqueName } from './hostile.mjs';
import { expectError, shardId, text } from '../integration/kinesis.mjs';

const T = { timeout: 60000 };
const A = '111111111111';
const B = '222222222222';
const C = '333333333333';

const send = (client, op, input) => client.send(new K[`${op}Command`](input));

function clientFor(srv, account, region) {
  return new K.KinesisClient({
    region, endpoint: srv.endpoint, credentials: { accessKeyId: account, secretAccessKey: 'x' }, maxAttempts: 1,
  });
}

const arnOf = (name, region, account) => `arn:aws:kinesis:${region}:${account}:stream/${name}`;
const denied = (caller, op, arn) => `User: arn:aws:iam::${caller}:root is not authorized to perform: kinesis:${op} `
  + `on resource: ${arn} because no resource-based policy allows the kinesis:${op} action`;
const deniedExplicit = (caller, op, arn) => `User: arn:aws:iam::${caller}:root is not authorized to perform: `
  + `kinesis:${op} on resource: ${arn} with an explicit deny in a resource-based policy`;

async function readAll(client, name) {
  const { ShardIterator } = await send(client, 'GetShardIterator', { StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' });
  const r = await send(client, 'GetRecords', { ShardIterator });
  return r.Records.map((x) => text(x.Data));
}

const data = (s) => Buffer.from(s);

test("another account's or region's StreamARN / ConsumerARN never reaches the caller's own stream", T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const a9 = clientFor(srv, A, 'eu-west-9');
  const aUs = clientFor(srv, A, 'us-east-1');
  const b9 = clientFor(srv, B, 'eu-west-9');
  const bUs = clientFor(srv, B, 'us-east-1');
  t.after(async () => { for (const c of [a9, aUs, b9, bUs]) c.destroy(); await srv.stop(); });
  const name = 'orders';
  for (const c of [a9, b9, bUs]) await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const arnA = arnOf(name, 'eu-west-9', A);

  // Another region (B's own us-east-1 stream of that name was the one written before): not found.
  for (const c of [bUs, aUs]) {
    await expectError(send(c, 'PutRecord', { StreamARN: arnA, PartitionKey: 'k', Data: data('x') }), {
      name: 'ResourceNotFoundException', message: `Stream ${name} under account ${A} not found.`,
    });
  }
  // Another account in the same region: denied, for writes, reads, control and tags alike.
  await expectError(send(b9, 'PutRecord', { StreamARN: arnA, PartitionKey: 'k', Data: data('x') }), {
    name: 'AccessDeniedException', message: denied(B, 'PutRecord', arnA),
  });
  await expectError(send(b9, 'PutRecords', { StreamARN: arnA, Records: [{ PartitionKey: 'k', Data: data('x') }] }), {
    name: 'AccessDeniedException', message: denied(B, 'PutRecords', arnA),
  });
  await expectError(send(b9, 'GetShardIterator', { StreamARN: arnA, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }), {
    name: 'AccessDeniedException', message: denied(B, 'GetShardIterator', arnA),
  });
  await expectError(send(b9, 'DescribeStreamSummary', { StreamARN: arnA }), {
    name: 'AccessDeniedException', message: denied(B, 'DescribeStreamSummary', arnA),
  });
  await expectError(send(b9, 'DeleteStream', { StreamARN: arnA }), {
    name: 'AccessDeniedException', message: denied(B, 'DeleteStream', arnA),
  });
  await expectError(send(b9, 'AddTagsToStream', { StreamARN: arnA, Tags: { owner: 'b' } }), {
    name: 'AccessDeniedException', message: denied(B, 'AddTagsToStream', arnA),
  });
  await expectError(send(b9, 'TagResource', { ResourceARN: arnA, Tags: { owner: 'b' } }), {
    name: 'AccessDeniedException', message: denied(B, 'TagResource', arnA),
  });
  await expectError(send(b9, 'PutResourcePolicy', { ResourceARN: arnA, Policy: '{"Version":"2012-10-17","Statement":[]}' }), {
    name: 'AccessDeniedException', message: denied(B, 'PutResourcePolicy', arnA),
  });
  // A stream A does not have: denied just the same (no existence oracle across accounts).
  const ghost = arnOf('ghost', 'eu-west-9', A);
  await expectError(send(b9, 'DescribeStreamSummary', { StreamARN: ghost }), {
    name: 'AccessDeniedException', message: denied(B, 'DescribeStreamSummary', ghost),
  });
  // ConsumerARN: resolved in its own account and region too.
  const { Consumer } = await send(a9, 'RegisterStreamConsumer', { StreamARN: arnA, ConsumerName: 'c1' });
  await expectError(send(b9, 'DescribeStreamConsumer', { ConsumerARN: Consumer.ConsumerARN }), {
    name: 'AccessDeniedException', message: denied(B, 'DescribeStreamConsumer', Consumer.ConsumerARN),
  });
  await expectError(send(b9, 'DeregisterStreamConsumer', { ConsumerARN: Consumer.ConsumerARN }), {
    name: 'AccessDeniedException', message: denied(B, 'DeregisterStreamConsumer', Consumer.ConsumerARN),
  });
  await expectError(send(bUs, 'DescribeStreamConsumer', { ConsumerARN: Consumer.ConsumerARN }), {
    name: 'ResourceNotFoundException', message: `Consumer ${Consumer.ConsumerARN}, account ${A} not found.`,
  });

  // Nothing changed anywhere.
  assert.deepEqual(await readAll(a9, name), []);
  assert.deepEqual(await readAll(b9, name), []);
  assert.deepEqual(await readAll(bUs, name), []);
  assert.deepEqual((await send(a9, 'ListTagsForStream', { StreamName: name })).Tags, []);
  assert.equal((await send(a9, 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary.StreamStatus, 'ACTIVE');
  assert.equal((await send(a9, 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary.ConsumerCount, 1);
  assert.equal((await send(a9, 'GetResourcePolicy', { ResourceARN: arnA })).Policy, '{}');
  // The owner itself still works by ARN.
  await send(a9, 'PutRecord', { StreamARN: arnA, PartitionKey: 'k', Data: data('own') });
  assert.deepEqual(await readAll(a9, name), ['own']);
});

test('a resource policy grants another account exactly what it allows; an explicit Deny wins', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const a = clientFor(srv, A, 'eu-west-9');
  const b = clientFor(srv, B, 'eu-west-9');
  const c = clientFor(srv, C, 'eu-west-9');
  t.after(async () => { for (const x of [a, b, c]) x.destroy(); await srv.stop(); });
  const name = uniqueName('shared');
  await send(a, 'CreateStream', { StreamName: name, ShardCount: 1 });
  await send(b, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const arnA = arnOf(name, 'eu-west-9', A);
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` },
        Action: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:DescribeStreamSummary'],
        Resource: arnA,
      },
      { Effect: 'Deny', Principal: { AWS: B }, Action: 'kinesis:PutRecords', Resource: arnA },
    ],
  };
  await send(a, 'PutResourcePolicy', { ResourceARN: arnA, Policy: JSON.stringify(policy) });

  await send(b, 'PutRecord', { StreamARN: arnA, PartitionKey: 'k', Data: data('from-b') });
  await expectError(send(b, 'PutRecords', { StreamARN: arnA, Records: [{ PartitionKey: 'k', Data: data('x') }] }), {
    name: 'AccessDeniedException', message: deniedExplicit(B, 'PutRecords', arnA),
  });
  await expectError(send(b, 'DescribeStream', { StreamARN: arnA }), {
    name: 'AccessDeniedException', message: denied(B, 'DescribeStream', arnA),
  });
  await expectError(send(c, 'PutRecord', { StreamARN: arnA, PartitionKey: 'k', Data: data('from-c') }), {
    name: 'AccessDeniedException', message: denied(C, 'PutRecord', arnA),
  });
  assert.equal((await send(b, 'DescribeStreamSummary', { StreamARN: arnA })).StreamDescriptionSummary.StreamARN, arnA);

  // B reads A's stream through an iterator B got; that iterator is B's only.
  const { ShardIterator } = await send(b, 'GetShardIterator', { StreamARN: arnA, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' });
  const got = await send(b, 'GetRecords', { ShardIterator });
  assert.deepEqual(got.Records.map((x) => text(x.Data)), ['from-b']);
  await expectError(send(c, 'GetRecords', { ShardIterator }), { name: 'InvalidArgumentException', message: 'Invalid ShardIterator.' });

  // Revoking the grant stops the iterator B already holds.
  await send(a, 'DeleteResourcePolicy', { ResourceARN: arnA });
  await expectError(send(b, 'GetRecords', { ShardIterator: got.NextShardIterator }), {
    name: 'AccessDeniedException', message: denied(B, 'GetRecords', arnA),
  });

  // A consumer's own policy governs DescribeStreamConsumer on it.
  const { Consumer } = await send(a, 'RegisterStreamConsumer', { StreamARN: arnA, ConsumerName: 'fan' });
  await expectError(send(b, 'DescribeStreamConsumer', { ConsumerARN: Consumer.ConsumerARN }), {
    name: 'AccessDeniedException', message: denied(B, 'DescribeStreamConsumer', Consumer.ConsumerARN),
  });
  await send(a, 'PutResourcePolicy', {
    ResourceARN: Consumer.ConsumerARN,
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: [B] }, Action: 'kinesis:Describe*', Resource: Consumer.ConsumerARN }],
    }),
  });
  const dc = await send(b, 'DescribeStreamConsumer', { ConsumerARN: Consumer.ConsumerARN });
  assert.equal(dc.ConsumerDescription.ConsumerARN, Consumer.ConsumerARN);
  await expectError(send(c, 'DescribeStreamConsumer', { ConsumerARN: Consumer.ConsumerARN }), {
    name: 'AccessDeniedException', message: denied(C, 'DescribeStreamConsumer', Consumer.ConsumerARN),
  });
  await expectError(send(b, 'DeregisterStreamConsumer', { ConsumerARN: Consumer.ConsumerARN }), {
    name: 'AccessDeniedException', message: denied(B, 'DeregisterStreamConsumer', Consumer.ConsumerARN),
  });

  assert.deepEqual(await readAll(a, name), ['from-b']);
  assert.deepEqual(await readAll(b, name), [], "B's own stream of that name got nothing");
});

test('shard iterators and NextTokens work only for the account and region that minted them', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const a = clientFor(srv, A, 'us-east-1');
  const aEu = clientFor(srv, A, 'eu-west-1');
  const b = clientFor(srv, B, 'us-east-1');
  t.after(async () => { for (const x of [a, aEu, b]) x.destroy(); await srv.stop(); });
  const name = uniqueName('tok');
  for (const c of [a, aEu, b]) await send(c, 'CreateStream', { StreamName: name, ShardCount: 2 });
  await send(a, 'CreateStream', { StreamName: uniqueName('tok2'), ShardCount: 1 });
  await send(a, 'PutRecord', { StreamName: name, PartitionKey: 'k', Data: data('a1'), ExplicitHashKey: '0' });

  const { ShardIterator } = await send(a, 'GetShardIterator', { StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' });
  for (const other of [b, aEu]) {
    await expectError(send(other, 'GetRecords', { ShardIterator }), { name: 'InvalidArgumentException', message: 'Invalid ShardIterator.' });
  }
  const mine = await send(a, 'GetRecords', { ShardIterator });
  assert.deepEqual(mine.Records.map((x) => text(x.Data)), ['a1']);
  await expectError(send(b, 'GetRecords', { ShardIterator: mine.NextShardIterator }), {
    name: 'InvalidArgumentException', message: 'Invalid ShardIterator.',
  });

  const ls = await send(a, 'ListStreams', { Limit: 1 });
  assert.ok(ls.NextToken, 'ListStreams gave a NextToken');
  for (const other of [b, aEu]) {
    await expectError(send(other, 'ListStreams', { NextToken: ls.NextToken }), { name: 'InvalidArgumentException', message: 'Invalid NextToken.' });
  }
  assert.equal((await send(a, 'ListStreams', { NextToken: ls.NextToken })).StreamNames.length, 1);

  const sh = await send(a, 'ListShards', { StreamName: name, MaxResults: 1 });
  assert.ok(sh.NextToken, 'ListShards gave a NextToken');
  for (const other of [b, aEu]) {
    await expectError(send(other, 'ListShards', { NextToken: sh.NextToken }), { name: 'InvalidArgumentException', message: 'Invalid NextToken.' });
  }
  assert.deepEqual((await send(a, 'ListShards', { NextToken: sh.NextToken })).Shards.map((s) => s.ShardId), [shardId(1)]);

  assert.deepEqual(await readAll(b, name), []);
  assert.deepEqual(await readAll(aEu, name), []);
});

test('--max-namespaces bounds the accounts and regions that hold state', T, async (t) => {
  const dataDir = makeTempDir('runnel-ns-');
  let srv = await startRunnel({ dataDir, args: ['--max-namespaces', '2', '--fsync', 'never'] });
  let a = clientFor(srv, A, 'us-east-1');
  let aEu = clientFor(srv, A, 'eu-west-1');
  let b = clientFor(srv, B, 'us-east-1');
  let c = clientFor(srv, C, 'us-east-1');
  t.after(async () => { for (const x of [a, aEu, b, c]) x.destroy(); await srv.stop(); removeDir(dataDir); });
  const limitMsg = (acct, region) => `Account ${acct} cannot hold streams or settings in ${region}: this server already `
    + 'holds state for 2 accounts and regions, its limit (runnel --max-namespaces).';
  await send(a, 'CreateStream', { StreamName: 's1', ShardCount: 1 });
  await send(b, 'UpdateAccountSettings', { MinimumThroughputBillingCommitment: { Status: 'ENABLED' } });
  await expectError(send(c, 'CreateStream', { StreamName: 's1', ShardCount: 1 }), {
    name: 'LimitExceededException', message: limitMsg(C, 'us-east-1'),
  });
  await expectError(send(c, 'UpdateAccountSettings', { MinimumThroughputBillingCommitment: { Status: 'ENABLED' } }), {
    name: 'LimitExceededException', message: limitMsg(C, 'us-east-1'),
  });
  await expectError(send(aEu, 'CreateStream', { StreamName: 's1', ShardCount: 1 }), {
    name: 'LimitExceededException', message: limitMsg(A, 'eu-west-1'),
  });
  // Pairs that hold state go on; reads hold nothing and work anywhere.
  await send(a, 'CreateStream', { StreamName: 's2', ShardCount: 1 });
  await send(b, 'CreateStream', { StreamName: 's1', ShardCount: 1 });
  assert.deepEqual((await send(c, 'ListStreams', {})).StreamNames, []);
  assert.deepEqual((await send(aEu, 'ListStreams', {})).StreamNames, []);
  assert.equal((await send(c, 'DescribeLimits', {})).OpenShardCount, 0);
  // A pair whose streams are all gone frees its place (A keeps none after deleting both).
  await send(a, 'DeleteStream', { StreamName: 's1' });
  await send(a, 'DeleteStream', { StreamName: 's2' });
  await send(c, 'CreateStream', { StreamName: 's1', ShardCount: 1 });
  assert.deepEqual((await send(c, 'ListStreams', {})).StreamNames, ['s1']);
  // After a restart the count is the same: B (settings and a stream) and C hold their places.
  for (const x of [a, aEu, b, c]) x.destroy();
  await srv.stop();
  srv = await startRunnel({ dataDir, args: ['--max-namespaces', '2', '--fsync', 'never'] });
  a = clientFor(srv, A, 'us-east-1');
  aEu = clientFor(srv, A, 'eu-west-1');
  b = clientFor(srv, B, 'us-east-1');
  c = clientFor(srv, C, 'us-east-1');
  await expectError(send(a, 'CreateStream', { StreamName: 's3', ShardCount: 1 }), {
    name: 'LimitExceededException', message: limitMsg(A, 'us-east-1'),
  });
  await send(b, 'DeleteStream', { StreamName: 's1' });
  // B's settings still hold its place once its last stream is gone.
  await expectError(send(a, 'CreateStream', { StreamName: 's3', ShardCount: 1 }), {
    name: 'LimitExceededException', message: limitMsg(A, 'us-east-1'),
  });
  await send(c, 'CreateStream', { StreamName: 's2', ShardCount: 1 });
});
