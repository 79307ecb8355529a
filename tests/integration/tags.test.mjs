// tags.test.mjs: stream tags (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream,
// CreateStream's Tags), ARN-scoped tags (TagResource, UntagResource, ListTagsForResource) and
// resource policies (Put/Get/DeleteResourcePolicy), through @aws-sdk/client-kinesis. Every
// rejected request is followed by a check that the tags (and the stream) did not change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kinesis';
import {
  kinesisClient, makeTempDir, removeDir, startRunnel, streamArn, uniqueName,
} from './runnel.mjs';
import { expectError, outputOf } from './kinesis.mjs';

const T = { timeout: 60000 };
const send = (client, op, input) => client.send(new K[`${op}Command`](input));
const tagsOf = async (c, name) => (await send(c, 'ListTagsForStream', { StreamName: name })).Tags;
const asMap = (tags) => Object.fromEntries(tags.map((t) => [t.Key, t.Value]));

test('stream tags: add, overwrite, remove, list with paging; CreateStream Tags', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('tag');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1, Tags: { env: 'test', empty: '' } });
  assert.deepEqual(outputOf(await send(c, 'ListTagsForStream', { StreamName: name })), {
    Tags: [{ Key: 'empty', Value: '' }, { Key: 'env', Value: 'test' }], HasMoreTags: false,
  });

  await send(c, 'AddTagsToStream', { StreamName: name, Tags: { env: 'prod', 'b/x=y+z-1@2%': 'ok', 'ключ é': 'значение 1', 'a:b': 'c' } });
  const all = await tagsOf(c, name);
  assert.deepEqual(all.map((x) => x.Key), ['a:b', 'b/x=y+z-1@2%', 'empty', 'env', 'ключ é']);
  assert.equal(asMap(all).env, 'prod');

  // Paging: Limit, ExclusiveStartTagKey (strictly after, keys need not exist), HasMoreTags.
  let r = await send(c, 'ListTagsForStream', { StreamName: name, Limit: 2 });
  assert.deepEqual(r.Tags.map((x) => x.Key), ['a:b', 'b/x=y+z-1@2%']);
  assert.equal(r.HasMoreTags, true);
  r = await send(c, 'ListTagsForStream', { StreamARN: streamArn(name), Limit: 2, ExclusiveStartTagKey: 'b/x=y+z-1@2%' });
  assert.deepEqual(r.Tags.map((x) => x.Key), ['empty', 'env']);
  assert.equal(r.HasMoreTags, true);
  r = await send(c, 'ListTagsForStream', { StreamName: name, ExclusiveStartTagKey: 'f' });
  assert.deepEqual(r.Tags.map((x) => x.Key), ['ключ é']);
  assert.equal(r.HasMoreTags, false);
  r = await send(c, 'ListTagsForStream', { StreamName: name, ExclusiveStartTagKey: 'ключ é' });
  assert.deepEqual(outputOf(r), { Tags: [], HasMoreTags: false });

  await send(c, 'RemoveTagsFromStream', { StreamName: name, TagKeys: ['env', 'missing', 'a:b'] });
  assert.deepEqual((await tagsOf(c, name)).map((x) => x.Key), ['b/x=y+z-1@2%', 'empty', 'ключ é']);

  await expectError(send(c, 'ListTagsForStream', { StreamName: name, Limit: 51 }), { name: 'ValidationException', message: /limit/ });
  await expectError(send(c, 'ListTagsForStream', { StreamName: 'nope' }), {
    name: 'ResourceNotFoundException', message: 'Stream nope under account 000000000000 not found.',
  });
});

test('stream tags: limits and characters; a rejected request changes nothing', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('tag');
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const fortyNine = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`]));
  await send(c, 'AddTagsToStream', { StreamName: name, Tags: fortyNine });
  const before = await tagsOf(c, name);
  const summary = (await send(c, 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary;
  const tooMany = `Failed to add tags to stream ${name} under account 000000000000 because a given stream cannot have more than 50 tags.`;
  const badChars = 'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.';

  const cases = [
    [{ x1: '1', x2: '2' }, { name: 'InvalidArgumentException', message: tooMany }],
    [{ 'good': '1', 'bad!': '2' }, { name: 'InvalidArgumentException', message: badChars }],
    [{ good: 'bad<value>' }, { name: 'InvalidArgumentException', message: badChars }],
    [{ 'aws:reserved': '1' }, { name: 'InvalidArgumentException', message: "Tag keys starting with 'aws:' are reserved for system use." }],
    [{ ['k'.repeat(129)]: 'v' }, { name: 'ValidationException', message: /Map keys must satisfy constraint/ }],
    [{ k: 'v'.repeat(257) }, { name: 'ValidationException', message: /Map values must satisfy constraint/ }],
    [{}, { name: 'ValidationException', message: /tags/ }],
  ];
  for (const [tags, err] of cases) {
    await expectError(send(c, 'AddTagsToStream', { StreamName: name, Tags: tags }), err);
    await expectError(send(c, 'TagResource', { ResourceARN: streamArn(name), Tags: tags }), err);
    assert.deepEqual(await tagsOf(c, name), before);
  }
  // Overwriting existing keys does not count against the limit; the 50th new key fits.
  await send(c, 'AddTagsToStream', { StreamName: name, Tags: { k00: 'new', k01: 'new', x: 'fifty' } });
  assert.equal((await tagsOf(c, name)).length, 50);
  await expectError(send(c, 'AddTagsToStream', { StreamName: name, Tags: { y: '51' } }), { name: 'InvalidArgumentException', message: tooMany });
  // 128-character keys and 256-character values are fine.
  await send(c, 'RemoveTagsFromStream', { StreamName: name, TagKeys: ['x'] });
  await send(c, 'AddTagsToStream', { StreamName: name, Tags: { ['K'.repeat(128)]: 'V'.repeat(256) } });
  assert.equal(asMap(await tagsOf(c, name))['K'.repeat(128)], 'V'.repeat(256));
  await expectError(send(c, 'RemoveTagsFromStream', { StreamName: name, TagKeys: [] }), { name: 'ValidationException' });

  // Tags never changed the stream's description.
  assert.deepEqual((await send(c, 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary, summary);

  // CreateStream with a bad tag creates nothing.
  const other = uniqueName('tag');
  await expectError(send(c, 'CreateStream', { StreamName: other, ShardCount: 1, Tags: { 'bad#': '1' } }), { name: 'InvalidArgumentException', message: badChars });
  await expectError(send(c, 'DescribeStream', { StreamName: other }), { name: 'ResourceNotFoundException' });
  const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, '']));
  await expectError(send(c, 'CreateStream', { StreamName: other, ShardCount: 1, Tags: many }), {
    name: 'InvalidArgumentException',
    message: `Failed to add tags to stream ${other} under account 000000000000 because a given stream cannot have more than 50 tags.`,
  });
  await expectError(send(c, 'DescribeStream', { StreamName: other }), { name: 'ResourceNotFoundException' });
});

test('ARN-scoped tags: TagResource / UntagResource / ListTagsForResource; consumer ARNs', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('res');
  const arn = streamArn(name);
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1, Tags: { a: '1' } });
  await send(c, 'TagResource', { ResourceARN: arn, Tags: { b: '2', a: 'one' } });
  assert.deepEqual(outputOf(await send(c, 'ListTagsForResource', { ResourceARN: arn })), {
    Tags: [{ Key: 'a', Value: 'one' }, { Key: 'b', Value: '2' }],
  });
  assert.deepEqual(await tagsOf(c, name), [{ Key: 'a', Value: 'one' }, { Key: 'b', Value: '2' }]);
  await send(c, 'UntagResource', { ResourceARN: arn, TagKeys: ['a', 'zzz'] });
  assert.deepEqual((await send(c, 'ListTagsForResource', { ResourceARN: arn })).Tags, [{ Key: 'b', Value: '2' }]);

  const missing = streamArn('missing-stream');
  for (const [op, extra] of [['TagResource', { Tags: { a: 'b' } }], ['UntagResource', { TagKeys: ['a'] }], ['ListTagsForResource', {}]]) {
    await expectError(send(c, op, { ResourceARN: missing, ...extra }), {
      name: 'ResourceNotFoundException', message: 'Stream missing-stream under account 000000000000 not found.',
    });
  }
  const consumer = `${arn}/consumer/my-consumer:1540591608`;
  for (const [op, extra] of [['TagResource', { Tags: { a: 'b' } }], ['UntagResource', { TagKeys: ['a'] }], ['ListTagsForResource', {}]]) {
    await expectError(send(c, op, { ResourceARN: consumer, ...extra }), {
      name: 'ResourceNotFoundException', message: `Consumer ${consumer}, account 000000000000 not found.`,
    });
  }
  await expectError(send(c, 'ListTagsForResource', { ResourceARN: 'not-an-arn' }), { name: 'ValidationException', message: /resourceARN/ });
  assert.deepEqual((await send(c, 'ListTagsForResource', { ResourceARN: arn })).Tags, [{ Key: 'b', Value: '2' }]);
});

test('tags and policies persist across a restart and go with the stream', T, async (t) => {
  const dataDir = makeTempDir();
  let srv = await startRunnel({ dataDir });
  let c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); removeDir(dataDir); });
  const name = uniqueName('per');
  const arn = streamArn(name);
  const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kinesis:GetRecords","Resource":"*"}]}';
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1, Tags: { keep: 'me' } });
  await send(c, 'PutResourcePolicy', { ResourceARN: arn, Policy: policy });
  c.destroy();
  await srv.stop();
  srv = await startRunnel({ dataDir });
  c = kinesisClient(srv.endpoint);
  assert.deepEqual(await tagsOf(c, name), [{ Key: 'keep', Value: 'me' }]);
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: arn })).Policy, policy);

  await send(c, 'DeleteStream', { StreamName: name });
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  assert.deepEqual(await tagsOf(c, name), []);
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: arn })).Policy, '{}');
});

test('resource policies: put, get (verbatim, "{}" when none), delete; validation', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  const c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); });
  const name = uniqueName('pol');
  const arn = streamArn(name);
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  assert.deepEqual(outputOf(await send(c, 'GetResourcePolicy', { ResourceARN: arn })), { Policy: '{}' });
  await expectError(send(c, 'DeleteResourcePolicy', { ResourceARN: arn }), {
    name: 'ResourceNotFoundException', message: `No resource policy found for resource ${arn}.`,
  });

  const p1 = '{ "Version": "2012-10-17",\n  "Statement": { "Effect": "Deny", "Action": "*" } }';
  await send(c, 'PutResourcePolicy', { ResourceARN: arn, Policy: p1 });
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: arn })).Policy, p1);

  const bad = [
    ['{not json', 'Invalid policy document: Policy is not valid JSON.'],
    ['[1,2]', 'Invalid policy document: Policy must be a JSON object.'],
    ['{"Statement":[{"Effect":"Allow"}]}', 'Invalid policy document: Policy is missing the required Version element.'],
    ['{"Version":"2012-10-17"}', 'Invalid policy document: Policy is missing the required Statement element.'],
    ['{"Version":"2012-10-17","Statement":[]}', 'Invalid policy document: Policy is missing the required Statement element.'],
    ['{"Version":"2012-10-17","Statement":["x"]}', 'Invalid policy document: Policy is missing the required Statement element.'],
    ['', 'Invalid policy document: Policy is not valid JSON.'],
  ];
  for (const [policy, message] of bad) {
    await expectError(send(c, 'PutResourcePolicy', { ResourceARN: arn, Policy: policy }), { name: 'InvalidArgumentException', message });
    assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: arn })).Policy, p1);
  }
  await expectError(send(c, 'PutResourcePolicy', { ResourceARN: streamArn('nope'), Policy: p1 }), {
    name: 'ResourceNotFoundException', message: 'Stream nope under account 000000000000 not found.',
  });
  const consumer = `${arn}/consumer/c1:1`;
  await expectError(send(c, 'GetResourcePolicy', { ResourceARN: consumer }), {
    name: 'ResourceNotFoundException', message: `Consumer ${consumer}, account 000000000000 not found.`,
  });
  await send(c, 'DeleteResourcePolicy', { ResourceARN: arn });
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: arn })).Policy, '{}');
});
