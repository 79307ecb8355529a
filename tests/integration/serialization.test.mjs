// serialization.test.mjs: AWS's SerializationException for a JSON value of the wrong type
// (docs/wire.md, "Wrong JSON types"), over raw JSON 1.1 requests with the exact body text
// asserted. AWS writes the text of these coercion errors under "Message"; every other error,
// SerializationExceptions of other causes included, keeps "message".

import test from 'node:test';
import assert from 'node:assert/strict';
import { startRunnel, jsonRequest } from '../hostile/hostile.mjs';

const TBN = 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to ';
const OBJ = 'Start of structure or map found where not expected.';
const LIST = 'Start of list found where not expected';

// [target, body, AWS's text]: every wrong-type case of the table in docs/wire.md
const CASES = [
  ['DescribeStreamSummary', '{"StreamName":5}', `${TBN}an String`],
  ['DescribeStreamSummary', '{"StreamName":1.5}', `${TBN}an String`],
  ['DescribeStreamSummary', '{"StreamName":true}', 'class java.lang.Boolean can not be converted to an String'],
  ['DescribeStreamSummary', '{"StreamName":{}}', OBJ],
  ['DescribeStreamSummary', '{"StreamName":[]}', LIST],
  ['CreateStream', '{"StreamName":"s","ShardCount":"1"}', 'class java.lang.String can not be converted to an Integer'],
  ['CreateStream', '{"StreamName":"s","ShardCount":true}', 'class java.lang.Boolean can not be converted to an Integer'],
  ['PutRecords', '{"StreamName":"s","Records":{}}', OBJ],
  ['PutRecords', '{"StreamName":"s","Records":"r"}', 'Expected list or null'],
  ['AddTagsToStream', '{"StreamName":"s","Tags":[]}', LIST],
  ['AddTagsToStream', '{"StreamName":"s","Tags":"k=v"}', 'Expected map or null'],
  ['CreateStream', '{"StreamName":"s","StreamModeDetails":[]}', LIST],
  ['CreateStream', '{"StreamName":"s","StreamModeDetails":"x"}', 'Expected null'],
  ['PutRecord', '{"StreamName":"s","PartitionKey":"k","Data":12}', `${TBN}a Blob`],
  ['PutRecord', '{"StreamName":"s","PartitionKey":"k","Data":false}', 'class java.lang.Boolean can not be converted to a Blob'],
  ['PutRecord', '{"StreamName":"s","PartitionKey":"k","Data":"abc"}',
    "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"],
  ['DeleteStream', '{"StreamName":"s","EnforceConsumerDeletion":"maybe"}', "'MAYBE' can not be converted to an Boolean"],
  ['DeleteStream', '{"StreamName":"s","EnforceConsumerDeletion":1}', `${TBN}an Boolean`],
  ['GetShardIterator', '{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":{}}', OBJ],
  ['GetShardIterator', '{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":"x"}',
    'class java.lang.String can not be converted to milliseconds since epoch'],
];

test('a value of the wrong JSON type: AWS\'s text, keyed "Message"', { timeout: 60000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  for (const [target, body, text] of CASES) {
    const r = await jsonRequest(srv.port, target, body);
    assert.equal(r.status, 400, `${target} ${body}`);
    assert.equal(r.body, JSON.stringify({ __type: 'SerializationException', Message: text }), `${target} ${body}`);
  }
});

test('every other error keeps "message"', { timeout: 60000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  // a SerializationException of another cause: a bound (docs/limits.md)
  const deep = await jsonRequest(srv.port, 'ListStreams', `{"X":${'['.repeat(100000)}${']'.repeat(100000)}}`);
  assert.equal(deep.status, 400);
  assert.equal(deep.json.__type, 'SerializationException');
  assert.ok('message' in deep.json && !('Message' in deep.json), deep.body);
  // bad JSON: a bare SerializationException, no message at all
  const bad = await jsonRequest(srv.port, 'ListStreams', '{"a":');
  assert.equal(bad.body, '{"__type":"SerializationException"}');
  // ValidationException and ResourceNotFoundException
  const v = await jsonRequest(srv.port, 'CreateStream', '{"ShardCount":1}');
  assert.equal(v.body, JSON.stringify({ __type: 'ValidationException',
    message: "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null" }));
  const nf = await jsonRequest(srv.port, 'DescribeStreamSummary', '{"StreamName":"nope"}');
  assert.equal(nf.json.__type, 'ResourceNotFoundException');
  assert.ok(typeof nf.json.message === 'string' && !('Message' in nf.json), nf.body);
});

test('AWS reads true/false/yes/no/1/0 (any case) as a Boolean', { timeout: 60000 }, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  for (const text of ['true', 'YES', '1', 'False', 'no', '0']) {
    const r = await jsonRequest(srv.port, 'DeleteStream', JSON.stringify({ StreamName: 'absent', EnforceConsumerDeletion: text }));
    assert.equal(r.status, 400, r.body);
    assert.equal(r.json.__type, 'ResourceNotFoundException', r.body); // past decoding: the stream is absent
  }
});
