// auth_rest.test.mjs: the rest of issue 10 in verified mode (--credentials) and issue 11's SigV4
// header parsing: an expired session token (ExpiredTokenException); the second permissions AWS's
// API reference asks of CreateStream and RegisterStreamConsumer with Tags; consumer ARNs
// authorised with the consumer's own tags and resource policy; the Authorization header's
// algorithm token, its separators, and the presigned form's missing-parameter message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  CreateStreamCommand, DescribeStreamConsumerCommand, DescribeStreamSummaryCommand, ListStreamsCommand,
  ListTagsForResourceCommand, PutResourcePolicyCommand, RegisterStreamConsumerCommand, TagResourceCommand,
  GetResourcePolicyCommand,
} from '@aws-sdk/client-kinesis';
import { makeTempDir, removeDir, sleep, startRunnel } from './runnel.mjs';
import { expectError } from './kinesis.mjs';
import { rawRequest } from '../hostile/hostile.mjs';
import { ACCT, ADMIN, arnOf, clientAs, signHeaders, writeCredentials } from './auth.mjs';

const OTHER = '210987654321';
const EXPIRED_MSG = 'The security token included in the request is expired';
const allow = (Action, Resource = '*', Condition) => ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });
const ident = (key, arn, statements, extra = {}) => ({ access_key_id: key, secret_access_key: `${key}/secret`,
  account_id: arn.split(':')[4], arn, policies: [{ Version: '2012-10-17', Statement: statements }], ...extra });
const denied = (who, action, resource, why = 'because no identity-based policy allows the kinesis:' + action + ' action') =>
  `User: ${who} is not authorized to perform: kinesis:${action} on resource: ${resource} ${why}`;

const EXPIRED = ident('ASIAEXPIRED0000001', `arn:aws:sts::${ACCT}:assumed-role/r/old`, [allow('kinesis:*')],
  { session_token: 'old-token', expiration: '2020-01-01T00:00:00Z' });
const FRESH = ident('ASIAFRESH00000001', `arn:aws:sts::${ACCT}:assumed-role/r/new`, [allow('kinesis:*')],
  { session_token: 'new-token', expiration: '2999-01-01T00:00:00Z' });
// CreateStream and RegisterStreamConsumer, and TagResource, but not AddTagsToStream
const MAKER = ident('AKIDMAKER00000001', `arn:aws:iam::${ACCT}:user/maker`,
  [allow(['kinesis:CreateStream', 'kinesis:RegisterStreamConsumer', 'kinesis:DescribeStreamSummary', 'kinesis:TagResource'])]);
const MAKER2 = ident('AKIDMAKER00000002', `arn:aws:iam::${ACCT}:user/maker2`,
  [allow(['kinesis:CreateStream', 'kinesis:AddTagsToStream', 'kinesis:RegisterStreamConsumer'])]);
// tag and describe operations only where the resource itself carries team=blue
const BLUE = ident('AKIDBLUE000000001', `arn:aws:iam::${ACCT}:user/blue`,
  [allow(['kinesis:TagResource', 'kinesis:ListTagsForResource', 'kinesis:DescribeStreamConsumer', 'kinesis:GetResourcePolicy'],
    '*', { StringEquals: { 'aws:ResourceTag/team': 'blue' } })]);
const STRANGER = ident('AKIDOTHER00000001', `arn:aws:iam::${OTHER}:user/reader`, [allow('kinesis:*')]);

let dir; let srv; let admin;
async function activeConsumer(c, streamArn, name, tags) {
  const { Consumer } = await c.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name, ...(tags ? { Tags: tags } : {}) }));
  for (let i = 0; i < 100; i++) {
    const d = await admin.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));
    if (d.ConsumerDescription.ConsumerStatus === 'ACTIVE') break;
    await sleep(50);
  }
  return Consumer.ConsumerARN;
}
async function stream(name) {
  await admin.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (let i = 0; i < 100; i++) {
    const d = await admin.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return arnOf(name);
    await sleep(50);
  }
  throw new Error(`${name} never became ACTIVE`);
}
function send(port, headers, body, path = '/') {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['x-amzn-errortype'], json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

before(async () => {
  dir = makeTempDir();
  const creds = writeCredentials(dir, [ADMIN, EXPIRED, FRESH, MAKER, MAKER2, BLUE, STRANGER]);
  srv = await startRunnel({ inMemory: true, args: ['--credentials', creds, '--create-stream-delay', '0', '--consumer-delay', '0'] });
  admin = clientAs(srv.endpoint, ADMIN);
});
after(async () => {
  admin?.destroy();
  await srv?.stop();
  if (dir) removeDir(dir);
});

describe('session token expiration', () => {
  test('a session credential past its expiration gets ExpiredTokenException (400); one before it works', async () => {
    const old = clientAs(srv.endpoint, EXPIRED);
    await expectError(old.send(new ListStreamsCommand({})), { name: 'ExpiredTokenException', message: EXPIRED_MSG });
    old.destroy();
    const fresh = clientAs(srv.endpoint, FRESH);
    assert.ok(Array.isArray((await fresh.send(new ListStreamsCommand({}))).StreamNames));
    fresh.destroy();
    // a wrong token for the expired identity is still the invalid-token error
    const wrong = clientAs(srv.endpoint, EXPIRED, { token: 'other' });
    await expectError(wrong.send(new ListStreamsCommand({})), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    wrong.destroy();
  });
});

describe('second permissions (AWS API reference: CreateStream, RegisterStreamConsumer)', () => {
  test('CreateStream with Tags also needs kinesis:AddTagsToStream on the new stream; TagResource does not do', async () => {
    const m = clientAs(srv.endpoint, MAKER);
    await m.send(new CreateStreamCommand({ StreamName: 'sec-plain', ShardCount: 1 }));
    await expectError(m.send(new CreateStreamCommand({ StreamName: 'sec-tagged', ShardCount: 1, Tags: { team: 'blue' } })),
      { name: 'AccessDeniedException', message: denied(MAKER.arn, 'AddTagsToStream', arnOf('sec-tagged')) });
    await expectError(admin.send(new DescribeStreamSummaryCommand({ StreamName: 'sec-tagged' })), { name: 'ResourceNotFoundException' });
    m.destroy();
    const m2 = clientAs(srv.endpoint, MAKER2);
    await m2.send(new CreateStreamCommand({ StreamName: 'sec-tagged', ShardCount: 1, Tags: { team: 'blue' } }));
    m2.destroy();
  });

  test('RegisterStreamConsumer with Tags also needs kinesis:TagResource on the consumer to be registered', async () => {
    const s = await stream('sec-consumers');
    const m2 = clientAs(srv.endpoint, MAKER2);
    await m2.send(new RegisterStreamConsumerCommand({ StreamARN: s, ConsumerName: 'untagged' }));
    const err = await expectError(m2.send(new RegisterStreamConsumerCommand({ StreamARN: s, ConsumerName: 'tagged', Tags: { team: 'blue' } })),
      { name: 'AccessDeniedException' });
    assert.match(err.message, new RegExp(`^User: ${MAKER2.arn} is not authorized to perform: kinesis:TagResource on resource: ${s}/consumer/tagged:\\d+ because no identity-based policy allows the kinesis:TagResource action$`));
    m2.destroy();
    const m = clientAs(srv.endpoint, MAKER);
    await m.send(new RegisterStreamConsumerCommand({ StreamARN: s, ConsumerName: 'tagged', Tags: { team: 'blue' } }));
    m.destroy();
  });
});

describe('consumer ARNs: the consumer\'s own tags and resource policy', () => {
  test('aws:ResourceTag/* comes from the consumer, not its stream, for the tag, policy and consumer operations', async () => {
    const s = await stream('ctag'); // the stream carries no tags
    const blueArn = await activeConsumer(admin, s, 'blue', { team: 'blue' });
    const redArn = await activeConsumer(admin, s, 'red', { team: 'red' });
    const b = clientAs(srv.endpoint, BLUE);
    assert.deepEqual((await b.send(new ListTagsForResourceCommand({ ResourceARN: blueArn }))).Tags, [{ Key: 'team', Value: 'blue' }]);
    await b.send(new TagResourceCommand({ ResourceARN: blueArn, Tags: { x: 'y' } }));
    assert.equal((await b.send(new DescribeStreamConsumerCommand({ ConsumerARN: blueArn }))).ConsumerDescription.ConsumerName, 'blue');
    assert.equal((await b.send(new DescribeStreamConsumerCommand({ StreamARN: s, ConsumerName: 'blue' }))).ConsumerDescription.ConsumerName, 'blue');
    await b.send(new GetResourcePolicyCommand({ ResourceARN: blueArn }));
    for (const [cmd, action] of [[new ListTagsForResourceCommand({ ResourceARN: redArn }), 'ListTagsForResource'],
      [new TagResourceCommand({ ResourceARN: redArn, Tags: { x: 'y' } }), 'TagResource'],
      [new DescribeStreamConsumerCommand({ ConsumerARN: redArn }), 'DescribeStreamConsumer'],
      [new DescribeStreamConsumerCommand({ StreamARN: s, ConsumerName: 'red' }), 'DescribeStreamConsumer'],
      [new GetResourcePolicyCommand({ ResourceARN: redArn }), 'GetResourcePolicy']]) {
      await expectError(b.send(cmd), { name: 'AccessDeniedException', message: denied(BLUE.arn, action, redArn) });
    }
    // the stream's tags do not stand in for a consumer's
    await expectError(b.send(new ListTagsForResourceCommand({ ResourceARN: s })),
      { name: 'AccessDeniedException', message: denied(BLUE.arn, 'ListTagsForResource', s) });
    b.destroy();
  });

  test('another account reaches a consumer as the consumer\'s resource policy allows, whatever the stream\'s says', async () => {
    const s = await stream('cpol');
    const open = await activeConsumer(admin, s, 'open');
    const closed = await activeConsumer(admin, s, 'closed');
    const grant = (Resource) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: 'kinesis:DescribeStreamConsumer', Resource }] });
    await admin.send(new PutResourcePolicyCommand({ ResourceARN: open, Policy: grant(open) }));
    // the stream's policy names the consumer: it is not the consumer's policy, so it grants nothing
    await admin.send(new PutResourcePolicyCommand({ ResourceARN: s, Policy: grant(closed) }));
    const o = clientAs(srv.endpoint, STRANGER);
    assert.equal((await o.send(new DescribeStreamConsumerCommand({ ConsumerARN: open }))).ConsumerDescription.ConsumerName, 'open');
    await expectError(o.send(new DescribeStreamConsumerCommand({ ConsumerARN: closed })), { name: 'AccessDeniedException',
      message: denied(STRANGER.arn, 'DescribeStreamConsumer', closed, 'because no resource-based policy allows the kinesis:DescribeStreamConsumer action') });
    // tagging another account's consumer is never granted, even by its policy
    await expectError(o.send(new TagResourceCommand({ ResourceARN: open, Tags: { a: 'b' } })), { name: 'AccessDeniedException' });
    o.destroy();
  });
});

describe('SigV4 header parsing (issue 11)', () => {
  const body = Buffer.from('{}');
  test('verified: the algorithm token is not checked and parameters split on commas and/or spaces', async () => {
    const h = await signHeaders(srv.port, ADMIN, 'ListStreams', body);
    const m = /^(\S+) Credential=(\S+), SignedHeaders=(\S+), Signature=(\S+)$/.exec(h.authorization);
    assert.ok(m, h.authorization);
    for (const auth of [`${m[1]} Credential=${m[2]} SignedHeaders=${m[3]} Signature=${m[4]}`,
      `${m[1]},Credential=${m[2]},SignedHeaders=${m[3]},Signature=${m[4]}`,
      `FOO-HMAC Credential=${m[2]}, SignedHeaders=${m[3]}, Signature=${m[4]}`]) {
      const r = await send(srv.port, { ...h, authorization: auth }, body);
      assert.equal(r.status, 200, `${auth}: ${JSON.stringify(r.json)}`);
    }
    // the first token is the algorithm even when it looks like a parameter
    const r = await send(srv.port, { ...h, authorization: `Credential=${m[2]}, SignedHeaders=${m[3]}, Signature=${m[4]}` }, body);
    assert.equal(r.type, 'IncompleteSignatureException');
    assert.equal(r.json.message, `Authorization header requires 'Credential' parameter. Authorization=Credential=${m[2]}, SignedHeaders=${m[3]}, Signature=${m[4]}`);
  });

  test('verified: X-Amz-Algorithm alone is the presigned form; missing parameters in AWS\'s order', async () => {
    const h = await signHeaders(srv.port, ADMIN, 'ListStreams', body);
    const both = await send(srv.port, h, body, '/?X-Amz-Algorithm');
    assert.equal(both.type, 'InvalidSignatureException');
    assert.equal(both.json.message, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
    const { authorization, ...rest } = h;
    const q = await send(srv.port, rest, body, '/?X-Amz-Algorithm&X-Amz-Signature=ab');
    assert.equal(q.type, 'IncompleteSignatureException');
    assert.equal(q.json.message, "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.");
  });

  test('developer mode: the same parsing', async () => {
    const dev = await startRunnel({ inMemory: true });
    try {
      const cred = 'AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request';
      for (const auth of [`AWS4-HMAC-SHA256 Credential=${cred} SignedHeaders=host;x-amz-date Signature=00`,
        `X Credential=${cred},SignedHeaders=host,Signature=00`]) {
        const r = await rawRequest(dev.port, 'ListStreams', {}, { authorization: auth });
        assert.equal(r.status, 200, `${auth}: ${r.body}`);
      }
      const r = await rawRequest(dev.port, 'ListStreams', {}, { authorization: `Credential=${cred}, SignedHeaders=host, Signature=00` });
      assert.equal(r.json.__type, 'IncompleteSignatureException');
      assert.equal(r.json.message, `Authorization header requires 'Credential' parameter. Authorization=Credential=${cred}, SignedHeaders=host, Signature=00`);
      const q = await rawRequest(dev.port, 'ListStreams', {}, { authorization: null, path: '/?X-Amz-Algorithm' });
      assert.equal(q.json.__type, 'IncompleteSignatureException');
      assert.equal(q.json.message, "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.");
    } finally {
      await dev.stop();
    }
  });
});
