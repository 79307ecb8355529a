// kms_bounds.test.mjs: the local KMS (src/api/kms.c) against a client that is no SDK: keys and
// aliases held are bounded (docs/limits.md, 4096 each), and requests that are no KMS call are
// refused before anything is kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawRequest, startRunnel } from './hostile.mjs';

const T = { timeout: 120000 };
const kms = (port, op, body, opts = {}) =>
  rawRequest(port, op, body, { ...opts, headers: { 'X-Amz-Target': `TrentService.${op}`, ...(opts.headers ?? {}) } });

test('KMS: malformed requests are refused as AWS JSON errors', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  let r = await kms(srv.port, 'CreateKey', '{}', { authorization: null });
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'MissingAuthenticationTokenException');
  r = await kms(srv.port, 'CreateKey', '[1,2]');
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'SerializationException');
  r = await kms(srv.port, 'Encrypt', '{}');
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'UnknownOperationException');
  assert.match(r.head, /x-amzn-ErrorType: UnknownOperationException/i);
  r = await kms(srv.port, 'DescribeKey', '{"KeyId":7}');
  assert.equal(r.json.__type, 'SerializationException');
  r = await kms(srv.port, 'DescribeKey', `{"KeyId":"${'k'.repeat(3000)}"}`);
  assert.equal(r.json.__type, 'ValidationException');
  r = await kms(srv.port, 'ListKeys', '{}');
  assert.deepEqual(r.json, { Keys: [], Truncated: false }, 'nothing was kept');
});

test('KMS: at most 4096 keys and 4096 aliases are held', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  let last;
  for (let i = 0; i < 4096; i++) {
    const r = await kms(srv.port, 'CreateKey', '{}');
    assert.equal(r.status, 200, r.body);
    last = r.json.KeyMetadata.KeyId;
  }
  const r = await kms(srv.port, 'CreateKey', '{}');
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'LimitExceededException');
  assert.equal(r.json.message, "This server holds 4096 KMS keys, its limit (runnel's; delete keys to make room).");
  for (let i = 0; i < 4096; i++) {
    const a = await kms(srv.port, 'CreateAlias', { AliasName: `alias/a${i}`, TargetKeyId: last });
    assert.equal(a.status, 200, a.body);
  }
  const a = await kms(srv.port, 'CreateAlias', { AliasName: 'alias/one-more', TargetKeyId: last });
  assert.equal(a.json.__type, 'LimitExceededException');
  // the server still answers, and pages the aliases
  const l = await kms(srv.port, 'ListAliases', { Limit: 100 });
  assert.equal(l.json.Aliases.length, 100);
  assert.equal(l.json.Truncated, true);
});
