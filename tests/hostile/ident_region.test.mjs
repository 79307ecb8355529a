// ident_region.test.mjs: the credential scope's region (issue 9, defect 4). A region that is not
// AWS-shaped ([a-z]{2}(-[a-z]+)+-\d+, at most 32 characters) or the --region default is refused
// as AWS refuses it, in the Authorization header and in a presigned query, and nothing is kept
// for it: before this, region bytes \xff\xfe made a stream whose document could not be read
// back after a restart. A request is presigned only by its query parameters, all of them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir, rawRequest, removeDir, startRunnel, uniqueName } from './hostile.mjs';

const T = { timeout: 60000 };
const DATE = '20261202T000000Z';

/** One request written byte for byte; no Authorization header unless one is given. */
const rawReq = (port, target, body, { path = '/', authorization = null, extra = {} } = {}) =>
  rawRequest(port, target, body, { path, authorization, headers: { 'X-Amz-Date': DATE, ...extra } });

const auth = (region, key = 'AKIDEXAMPLE') =>
  `AWS4-HMAC-SHA256 Credential=${key}/20261202/${region}/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`;

const presignedPath = (credential, skip = []) => {
  const q = {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': credential,
    'X-Amz-Date': DATE,
    'X-Amz-SignedHeaders': 'host',
    'X-Amz-Signature': 'ab'.repeat(32),
  };
  for (const k of skip) delete q[k];
  return '/?' + Object.entries(q).map(([k, v]) => `${k}=${v}`).join('&');
};

function expectRefused(r, type, message) {
  assert.equal(r.status, 400, r.body);
  assert.ok(r.json, `JSON body: ${r.body}`);
  assert.equal(r.json.__type, type, r.body);
  assert.equal(r.json.message, message);
  assert.match(r.head, new RegExp(`x-amzn-ErrorType: ${type}`, 'i'));
}

const regionMsg = (shown) => `Credential should be scoped to a valid region, not '${shown}'. `;

// Regions as sent (latin1 text) and as the message shows them.
const BAD = [
  { name: 'bytes \\xff\\xfe', region: '\xff\xfe', shown: '\\u00FF\\u00FE' },
  { name: "boto 2's '0' (signing for 127.0.0.1)", region: '0', shown: '0' },
  { name: 'upper case', region: 'US-EAST-1', shown: 'US-EAST-1' },
  { name: 'overlong (AWS-shaped, 43 characters)', region: `us-${'a'.repeat(38)}-1`, shown: `us-${'a'.repeat(38)}-1` },
  { name: 'empty', region: '', shown: '' },
];

async function streamNames(port, region, key) {
  const r = await rawReq(port, 'ListStreams', {}, { authorization: auth(region, key) });
  assert.equal(r.status, 200, r.body);
  return r.json.StreamNames;
}

test('a region that is not AWS-shaped is refused in the Authorization header, and nothing is kept for it', T, async (t) => {
  const dataDir = makeTempDir();
  let srv = await startRunnel({ dataDir });
  t.after(async () => { await srv.stop(); removeDir(dataDir); });
  for (const b of BAD) {
    const name = uniqueName('rgn');
    for (const op of ['CreateStream', 'ListStreams', 'UpdateAccountSettings']) {
      const body = op === 'CreateStream' ? { StreamName: name, ShardCount: 1 }
        : op === 'UpdateAccountSettings' ? { MinimumThroughputBillingCommitment: { Status: 'ENABLED' } } : {};
      const r = await rawReq(srv.port, op, body, { authorization: auth(b.region, '123456789012') });
      expectRefused(r, 'InvalidSignatureException', regionMsg(b.shown));
    }
  }
  // A good region works, and the server holds only what good requests made.
  const good = uniqueName('good');
  const ok = await rawReq(srv.port, 'CreateStream', { StreamName: good, ShardCount: 1 }, { authorization: auth('eu-west-9', '123456789012') });
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(await streamNames(srv.port, 'eu-west-9', '123456789012'), [good]);
  assert.deepEqual(await streamNames(srv.port, 'us-east-1', '123456789012'), []);

  // After a restart the same, and the one stream still takes and serves records.
  await srv.stop();
  srv = await startRunnel({ dataDir });
  assert.deepEqual(await streamNames(srv.port, 'eu-west-9', '123456789012'), [good]);
  const put = await rawReq(srv.port, 'PutRecord', { StreamName: good, PartitionKey: 'k', Data: 'aGk=' },
    { authorization: auth('eu-west-9', '123456789012') });
  assert.equal(put.status, 200, put.body);
  assert.doesNotMatch(srv.stderr, /unreadable/i, 'no unreadable stream document at start-up');
});

test('the --region default is accepted whatever its shape; other odd regions are not', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--region', 'local'] });
  t.after(() => srv.stop());
  const name = uniqueName('local');
  const r = await rawReq(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 }, { authorization: auth('local') });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(await streamNames(srv.port, 'local'), [name]);
  expectRefused(await rawReq(srv.port, 'ListStreams', {}, { authorization: auth('locale') }),
    'InvalidSignatureException', regionMsg('locale'));
  assert.deepEqual(await streamNames(srv.port, 'us-east-1'), []);
});

test('--region itself must be short lowercase text', T, async () => {
  await assert.rejects(startRunnel({ inMemory: true, args: ['--region', 'US EAST'] }), /--region must be/);
  await assert.rejects(startRunnel({ inMemory: true, args: ['--region', 'a'.repeat(33)] }), /--region must be/);
});

test('a credential without five parts is an IncompleteSignatureException', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const r = await rawReq(srv.port, 'ListStreams', {}, {
    authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1, SignedHeaders=host, Signature=00',
  });
  expectRefused(r, 'IncompleteSignatureException',
    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20261202/us-east-1'");
});

test('presigned requests: recognised only by their query parameters, which must all be there; the region is checked', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const name = uniqueName('pre');

  // "X-Amz-Algorithm=" in the path, or inside another parameter, is not a presigned request.
  for (const path of ['/X-Amz-Algorithm=AWS4-HMAC-SHA256', '/?note=X-Amz-Algorithm=AWS4-HMAC-SHA256',
    '/?x-amz-algorithm=AWS4-HMAC-SHA256']) {
    expectRefused(await rawReq(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 }, { path }),
      'MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  // Presigned but incomplete.
  expectRefused(await rawReq(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 },
    { path: '/?X-Amz-Algorithm=AWS4-HMAC-SHA256' }), 'IncompleteSignatureException',
  "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. "
    + "AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. "
    + 'Re-examine the query-string parameters.');
  expectRefused(await rawReq(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 },
    { path: presignedPath('AKID%2F20261202%2Fus-east-1%2Fkinesis%2Faws4_request', ['X-Amz-Signature']) }),
  'IncompleteSignatureException',
  "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.");
  // Presigned with a bad region.
  for (const [cred, shown] of [['AKID%2F20261202%2F%FF%FE%2Fkinesis%2Faws4_request', '\\u00FF\\u00FE'],
    ['AKID%2F20261202%2F0%2Fkinesis%2Faws4_request', '0'],
    ['AKID%2F20261202%2Fus-east-1%01%2Fkinesis%2Faws4_request', 'us-east-1\\u0001']]) {
    expectRefused(await rawReq(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 }, { path: presignedPath(cred) }),
      'InvalidSignatureException', regionMsg(shown));
  }
  // Both forms at once.
  expectRefused(await rawReq(srv.port, 'ListStreams', {}, {
    path: presignedPath('AKID%2F20261202%2Fus-east-1%2Fkinesis%2Faws4_request'), authorization: auth('us-east-1'),
  }), 'InvalidSignatureException', "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  assert.deepEqual(await streamNames(srv.port, 'us-east-1'), []);

  // A complete presigned request names its account and region like the header does.
  const ok = await rawReq(srv.port, 'CreateStream', { StreamName: name, ShardCount: 1 },
    { path: presignedPath('123456789012%2F20261202%2Feu-west-1%2Fkinesis%2Faws4_request') });
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(await streamNames(srv.port, 'eu-west-1', '123456789012'), [name]);
  assert.deepEqual(await streamNames(srv.port, 'us-east-1'), []);
});
