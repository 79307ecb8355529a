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
    [{ 'tab\tkey': '1' }, { name: 'InvalidArgumentException', message: badChars }],
    [{ good: 'new\nline' }, { name: 'InvalidArgumentException', message: badChars }],
    [{ good: 'tab\tvalue' }, { name: 'InvalidArgumentException', message: badChars }],
    [{ 'cr\rkey': 'v' }, { name: 'InvalidArgumentException', message: badChars }],
    [{ 'white space ok': 'a b' }, null],
    [{ 'aws:reserved': '1' }, { name: 'InvalidArgumentException', message: "Tag keys starting with 'aws:' are reserved for system use." }],
    [{ ['k'.repeat(129)]: 'v' }, { name: 'ValidationException', message: /Map keys must satisfy constraint/ }],
    [{ k: 'v'.repeat(257) }, { name: 'ValidationException', message: /Map value must satisfy constraint: \[Member must have length less than or equal to 256/ }],
    [{}, { name: 'ValidationException', message: /tags/ }],
  ];
  for (const [tags, err] of cases) {
    if (!err) { // accepted (and taken back out)
      await send(c, 'AddTagsToStream', { StreamName: name, Tags: tags });
      await send(c, 'RemoveTagsFromStream', { StreamName: name, TagKeys: Object.keys(tags) });
      assert.deepEqual(await tagsOf(c, name), before);
      continue;
    }
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
  // RemoveTagsFromStream: any invalid character in TagKeys, checked after the stream is found.
  for (const bad of ['bad!', 'tab\tkey', 'new\nline', 'a<b']) {
    await expectError(send(c, 'RemoveTagsFromStream', { StreamName: name, TagKeys: ['k00', bad] }),
      { name: 'InvalidArgumentException', message: badChars });
  }
  assert.equal((await tagsOf(c, name)).length, 50, 'a refused removal removes nothing');
  await expectError(send(c, 'RemoveTagsFromStream', { StreamName: 'no-such-stream', TagKeys: ['bad!'] }),
    { name: 'ResourceNotFoundException', message: 'Stream no-such-stream under account 000000000000 not found.' });

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

  const p1 = '{ "Version": "2012-10-17",\n  "Statement": { "Effect": "Deny", "Principal": "*", "Action": "*" } }';
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
    // IAM's grammar, as the evaluator reads it (auth/policy.c): a resource policy names its principal.
    ['{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*"}}',
      'Invalid policy document: Statement[0] must have exactly one of Principal and NotPrincipal'],
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

test('consumer ARNs: tags (RegisterStreamConsumer Tags, Tag/Untag/ListTagsForResource) and policies, kept with the consumer', T, async (t) => {
  const dataDir = makeTempDir();
  let srv = await startRunnel({ dataDir });
  let c = kinesisClient(srv.endpoint);
  t.after(async () => { c.destroy(); await srv.stop(); removeDir(dataDir); });
  const name = uniqueName('ctag');
  const sarn = streamArn(name);
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1, Tags: { owner: 'stream' } });

  // RegisterStreamConsumer's Tags are validated like stream tags; a bad map registers nothing.
  await expectError(send(c, 'RegisterStreamConsumer', { StreamARN: sarn, ConsumerName: 'bad', Tags: { 'bad#k': 'v' } }), {
    name: 'InvalidArgumentException', message: /Some tags contain invalid characters/,
  });
  await expectError(send(c, 'RegisterStreamConsumer', { StreamARN: sarn, ConsumerName: 'bad', Tags: { 'aws:x': 'v' } }), {
    name: 'InvalidArgumentException', message: "Tag keys starting with 'aws:' are reserved for system use.",
  });
  assert.deepEqual((await send(c, 'ListStreamConsumers', { StreamARN: sarn })).Consumers, []);

  const reg = (await send(c, 'RegisterStreamConsumer', { StreamARN: sarn, ConsumerName: 'app', Tags: { team: 'a', env: 'dev' } })).Consumer;
  const carn = reg.ConsumerARN;
  assert.match(carn, new RegExp(`^${sarn}/consumer/app:\\d+$`));
  const ctags = async () => (await send(c, 'ListTagsForResource', { ResourceARN: carn })).Tags;
  assert.deepEqual(await ctags(), [{ Key: 'env', Value: 'dev' }, { Key: 'team', Value: 'a' }]);

  await send(c, 'TagResource', { ResourceARN: carn, Tags: { team: 'b', extra: '1' } });
  await send(c, 'UntagResource', { ResourceARN: carn, TagKeys: ['env', 'never-there'] });
  assert.deepEqual(await ctags(), [{ Key: 'extra', Value: '1' }, { Key: 'team', Value: 'b' }]);
  // The stream's tags are separate.
  assert.deepEqual(await tagsOf(c, name), [{ Key: 'owner', Value: 'stream' }]);
  assert.deepEqual((await send(c, 'ListTagsForResource', { ResourceARN: sarn })).Tags, [{ Key: 'owner', Value: 'stream' }]);

  // Same limits and messages as stream tags; nothing changes.
  await expectError(send(c, 'TagResource', { ResourceARN: carn, Tags: { 'no#pe': 'x' } }), {
    name: 'InvalidArgumentException', message: /Some tags contain invalid characters/,
  });
  await expectError(send(c, 'TagResource', { ResourceARN: carn, Tags: { 'aws:k': 'x' } }), {
    name: 'InvalidArgumentException', message: "Tag keys starting with 'aws:' are reserved for system use.",
  });
  const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
  await expectError(send(c, 'TagResource', { ResourceARN: carn, Tags: many }), {
    name: 'InvalidArgumentException', message: /cannot have more than 50 tags/,
  });
  assert.deepEqual(await ctags(), [{ Key: 'extra', Value: '1' }, { Key: 'team', Value: 'b' }]);
  delete many.k48;
  await send(c, 'TagResource', { ResourceARN: carn, Tags: many }); // exactly 50
  assert.equal((await ctags()).length, 50);
  await send(c, 'UntagResource', { ResourceARN: carn, TagKeys: Object.keys(many) });

  // A consumer that does not exist, or whose creation time does not match.
  const created = Number(carn.slice(carn.lastIndexOf(':') + 1));
  for (const bad of [`${sarn}/consumer/app:${created + 1}`, `${sarn}/consumer/nobody:${created}`]) {
    for (const [op, extra] of [['TagResource', { Tags: { a: 'b' } }], ['UntagResource', { TagKeys: ['a'] }], ['ListTagsForResource', {}],
      ['PutResourcePolicy', { Policy: '{"Version":"2012-10-17","Statement":{"Effect":"Deny"}}' }], ['GetResourcePolicy', {}], ['DeleteResourcePolicy', {}]]) {
      await expectError(send(c, op, { ResourceARN: bad, ...extra }), {
        name: 'ResourceNotFoundException', message: `Consumer ${bad}, account 000000000000 not found.`,
      });
    }
  }

  // Policies: "{}" when none, verbatim, separate from the stream's, validated.
  assert.deepEqual(outputOf(await send(c, 'GetResourcePolicy', { ResourceARN: carn })), { Policy: '{}' });
  await expectError(send(c, 'DeleteResourcePolicy', { ResourceARN: carn }), {
    name: 'ResourceNotFoundException', message: `No resource policy found for resource ${carn}.`,
  });
  const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kinesis:SubscribeToShard","Resource":"*"}]}';
  await send(c, 'PutResourcePolicy', { ResourceARN: carn, Policy: policy });
  await expectError(send(c, 'PutResourcePolicy', { ResourceARN: carn, Policy: '{"Version":"2012-10-17"}' }), {
    name: 'InvalidArgumentException', message: 'Invalid policy document: Policy is missing the required Statement element.',
  });
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: carn })).Policy, policy);
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: sarn })).Policy, '{}');
  await send(c, 'TagResource', { ResourceARN: carn, Tags: { kept: 'yes' } });

  // Both survive a restart (they are in the consumer's entry).
  c.destroy();
  await srv.stop();
  srv = await startRunnel({ dataDir });
  c = kinesisClient(srv.endpoint);
  assert.deepEqual(await ctags(), [{ Key: 'extra', Value: '1' }, { Key: 'kept', Value: 'yes' }, { Key: 'team', Value: 'b' }]);
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: carn })).Policy, policy);
  assert.equal((await send(c, 'DescribeStreamConsumer', { ConsumerARN: carn })).ConsumerDescription.ConsumerStatus, 'ACTIVE');
  await send(c, 'DeleteResourcePolicy', { ResourceARN: carn });
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: carn })).Policy, '{}');
  await send(c, 'PutResourcePolicy', { ResourceARN: carn, Policy: policy });

  // They go with the consumer: deregistered, its ARN is unknown; a new consumer of the same name starts bare.
  await send(c, 'DeregisterStreamConsumer', { ConsumerARN: carn });
  await expectError(send(c, 'ListTagsForResource', { ResourceARN: carn }), {
    name: 'ResourceNotFoundException', message: `Consumer ${carn}, account 000000000000 not found.`,
  });
  const carn2 = (await send(c, 'RegisterStreamConsumer', { StreamARN: sarn, ConsumerName: 'app' })).Consumer.ConsumerARN;
  assert.deepEqual(await send(c, 'ListTagsForResource', { ResourceARN: carn2 }).then((r) => r.Tags), []);
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: carn2 })).Policy, '{}');
  await send(c, 'TagResource', { ResourceARN: carn2, Tags: { again: '1' } });

  // ... and with the stream: after DeleteStream and a new stream of the same name, nothing is left.
  await send(c, 'DeleteStream', { StreamName: name, EnforceConsumerDeletion: true });
  await expectError(send(c, 'ListTagsForResource', { ResourceARN: carn2 }), {
    name: 'ResourceNotFoundException', message: `Stream ${name} under account 000000000000 not found.`,
  });
  await send(c, 'CreateStream', { StreamName: name, ShardCount: 1 });
  const carn3 = (await send(c, 'RegisterStreamConsumer', { StreamARN: sarn, ConsumerName: 'app' })).Consumer.ConsumerARN;
  assert.deepEqual((await send(c, 'ListTagsForResource', { ResourceARN: carn3 })).Tags, []);
  c.destroy();
  await srv.stop();
  srv = await startRunnel({ dataDir });
  c = kinesisClient(srv.endpoint);
  assert.deepEqual((await send(c, 'ListTagsForResource', { ResourceARN: carn3 })).Tags, []);
  assert.equal((await send(c, 'GetResourcePolicy', { ResourceARN: carn3 })).Policy, '{}');
});
