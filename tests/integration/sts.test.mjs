// sts.test.mjs: STS GetCallerIdentity on runnel's port (api/sts.c), which the KPL 0.15+ calls for
// its account before its first put (tests/clients/kpl). AWS's query protocol: a form body, no
// X-Amz-Target, an XML answer.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startRunnel } from './runnel.mjs';

function cred(key, service = 'sts') {
  return `AWS4-HMAC-SHA256 Credential=${key}/20261202/us-east-1/${service}/aws4_request, ` +
    'SignedHeaders=content-type;host;x-amz-date, Signature=00';
}

function stsRequest(port, body, { authorization = cred('AKIDEXAMPLE'), contentType = 'application/x-www-form-urlencoded; charset=utf-8' } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': contentType, 'X-Amz-Date': '20261202T000000Z', 'Content-Length': Buffer.byteLength(body) };
    if (authorization) headers.Authorization = authorization;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('GetCallerIdentity names the credential scope\'s account (the default, or a 12-digit key)', async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const r = await stsRequest(srv.port, 'Action=GetCallerIdentity&Version=2011-06-15');
  assert.equal(r.status, 200, r.body);
  assert.match(r.headers['content-type'], /^text\/xml/);
  assert.match(r.body, /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
  assert.match(r.body, /<Account>000000000000<\/Account>/);
  assert.match(r.body, /<Arn>arn:aws:iam::000000000000:root<\/Arn>/);
  assert.match(r.body, /<UserId>000000000000<\/UserId>/);
  assert.match(r.body, new RegExp(`<RequestId>${r.headers['x-amzn-requestid']}</RequestId>`));

  const mine = await stsRequest(srv.port, 'Version=2011-06-15&Action=GetCallerIdentity', { authorization: cred('123456789012') });
  assert.equal(mine.status, 200, mine.body);
  assert.match(mine.body, /<Account>123456789012<\/Account>/);
});

test('an STS request without authentication, or with another action, gets STS\'s XML error', async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const anon = await stsRequest(srv.port, 'Action=GetCallerIdentity&Version=2011-06-15', { authorization: null });
  assert.equal(anon.status, 400);
  assert.match(anon.body, /<Code>MissingAuthenticationToken<\/Code>/);
  const other = await stsRequest(srv.port, 'Action=AssumeRole&Version=2011-06-15');
  assert.equal(other.status, 400);
  assert.match(other.body, /<Code>InvalidAction<\/Code>\s*<Message>Could not find operation AssumeRole for version 2011-06-15<\/Message>/);
  const none = await stsRequest(srv.port, 'Version=2011-06-15');
  assert.equal(none.status, 400);
  assert.match(none.body, /<Code>MissingAction<\/Code>/);
});

test('without a form content type, a request with no X-Amz-Target is still AccessDenied', async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  // a non-form content type without a target is still the AccessDenied XML
  const json = await stsRequest(srv.port, 'Action=GetCallerIdentity', { contentType: 'text/plain' });
  assert.equal(json.status, 403);
  assert.match(json.body, /AccessDeniedException/);
});

// Verified mode (--credentials): the request must be signed for service "sts" with the identity's
// secret; the answer names the verified identity (its account and ARN), as STS does.
async function signedSts(port, id, body, { secret, service = 'sts' } = {}) {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const crypto = await import('node:crypto');
  class Sha256 {
    constructor(s) { this.h = s ? crypto.createHmac('sha256', s) : crypto.createHash('sha256'); }
    update(d) { this.h.update(typeof d === 'string' ? Buffer.from(d) : d); }
    async digest() { return new Uint8Array(this.h.digest()); }
  }
  const signer = new SignatureV4({ service, region: 'us-east-1', sha256: Sha256,
    credentials: { accessKeyId: id.access_key_id, secretAccessKey: secret ?? id.secret_access_key } });
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', query: {},
    headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)) }, body });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: signed.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('verified mode: GetCallerIdentity signed for sts names the verified identity; a wrong secret or service is refused', async (t) => {
  const { ADMIN, writeCredentials } = await import('./auth.mjs');
  const { makeTempDir, removeDir } = await import('./runnel.mjs');
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const producer = { access_key_id: 'AKIDPRODUCER00001', secret_access_key: 'producer-secret', account_id: '210987654321',
    arn: 'arn:aws:iam::210987654321:user/kpl', policies: [] };
  const file = writeCredentials(dir, [ADMIN, producer]);
  const srv = await startRunnel({ inMemory: true, args: ['--credentials', file] });
  t.after(() => srv.stop());
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const ok = await signedSts(srv.port, producer, body);
  assert.equal(ok.status, 200, ok.body);
  assert.match(ok.body, /<Arn>arn:aws:iam::210987654321:user\/kpl<\/Arn>/);
  assert.match(ok.body, /<Account>210987654321<\/Account>/);
  assert.match(ok.body, /<UserId>AKIDPRODUCER00001<\/UserId>/);
  const bad = await signedSts(srv.port, producer, body, { secret: 'wrong' });
  assert.equal(bad.status, 403, bad.body);
  assert.match(bad.body, /<Code>SignatureDoesNotMatch<\/Code>/);
  const unknown = await signedSts(srv.port, { ...producer, access_key_id: 'AKIDNOBODY0000001' }, body);
  assert.equal(unknown.status, 403, unknown.body);
  assert.match(unknown.body, /<Code>InvalidClientTokenId<\/Code>/);
  const kin = await signedSts(srv.port, producer, body, { service: 'kinesis' });
  assert.equal(kin.status >= 400, true, kin.body);
  const anon = await stsRequest(srv.port, body, { authorization: null });
  assert.equal(anon.status, 400);
  assert.match(anon.body, /<Code>MissingAuthenticationToken<\/Code>/);
});
