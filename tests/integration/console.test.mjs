// console.test.mjs: the web console's files on the API port (src/net/console.c, docs/console.md):
// their headers (Content-Type, Cache-Control, nosniff, a same-origin-only CSP), 404 for a file it
// does not have, the same in verified mode (static bytes, no data), and AWS's answers to every other
// non-POST path unchanged; and the page's SigV4 (console/sigv4.js, WebCrypto, which node has too)
// against the SDK's signer. The pages themselves are driven in Chromium by tests/console/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import { REPO_ROOT, freePort, makeTempDir, removeDir, startRunnel } from './runnel.mjs';
import { SignatureV4 } from '@smithy/signature-v4';
import { ADMIN, Sha256, writeCredentials } from './auth.mjs';
import { sign } from '../../console/sigv4.js';

const T = { timeout: 60000 };

function get(port, p, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const file = (name) => fs.readFileSync(path.join(REPO_ROOT, 'console', name));

function assertServed(r, type, body) {
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], type);
  assert.equal(r.headers['cache-control'], 'no-cache');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['content-security-policy'],
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  if (body) assert.ok(r.body.equals(body), 'the bytes of the file under console/');
}

async function checkServed(port) {
  const html = file('index.html');
  for (const p of ['/console', '/console/', '/console?x=1', '/console/index.html', '/console/#/streams']) {
    assertServed(await get(port, p), 'text/html; charset=utf-8', html);
  }
  for (const [name, type] of [['app.js', 'text/javascript; charset=utf-8'], ['sigv4.js', 'text/javascript; charset=utf-8'],
    ['kinesis.js', 'text/javascript; charset=utf-8'], ['console.css', 'text/css; charset=utf-8'], ['favicon.svg', 'image/svg+xml']]) {
    assertServed(await get(port, `/console/${name}`), type, file(name));
  }
  const head = await get(port, '/console/app.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  for (const p of ['/console/nope.js', '/console/../README.md', '/console/app.js/x', '/console//app.js']) {
    const r = await get(port, p);
    assert.equal(r.status, 404, p);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(r.body.toString(), /^Not Found/);
  }
}

async function checkAwsAnswers(port) {
  for (const [p, method] of [['/', 'GET'], ['/consoles', 'GET'], ['/consolex/app.js', 'GET'], ['/Console', 'GET'],
    ['/console', 'PUT'], ['/console', 'DELETE'], ['/console/app.js', 'PATCH']]) {
    const r = await get(port, p, method);
    assert.equal(r.status, 403, `${method} ${p}`);
    assert.equal(r.headers['content-type'], undefined, `${method} ${p}: AWS sends no Content-Type`);
    assert.match(r.body.toString(), /<AccessDeniedException>/, `${method} ${p}`);
  }
}

test('developer mode: /console and its files are served with their headers; other non-POST paths answer as AWS', T, async (t) => {
  const adminPort = await freePort();
  const srv = await startRunnel({ inMemory: true, args: ['--admin-listen', `127.0.0.1:${adminPort}`] });
  t.after(() => srv.stop());
  await checkServed(srv.port);
  await checkAwsAnswers(srv.port);
  // not on the admin port: it has no Kinesis API for the page to call on its origin
  assert.equal((await get(adminPort, '/console')).status, 404);
});

test('over HTTP/2 (h2c, prior knowledge) too', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const s = http2.connect(srv.endpoint);
  t.after(() => s.close());
  const r = await new Promise((resolve, reject) => {
    const q = s.request({ ':method': 'GET', ':path': '/console/app.js' });
    const chunks = [];
    let headers;
    q.on('response', (h) => { headers = h; });
    q.on('data', (d) => chunks.push(d));
    q.on('end', () => resolve({ status: headers[':status'], headers, body: Buffer.concat(chunks) }));
    q.on('error', reject);
    q.end();
  });
  assertServed(r, 'text/javascript; charset=utf-8', file('app.js'));
});

test('verified mode: the same static files (they hold no data), and AWS\'s answers elsewhere', T, async (t) => {
  const dir = makeTempDir();
  const srv = await startRunnel({ inMemory: true, args: ['--credentials', writeCredentials(dir, [ADMIN])] });
  t.after(async () => { await srv.stop(); removeDir(dir); });
  await checkServed(srv.port);
  await checkAwsAnswers(srv.port);
  assert.equal((await get(srv.port, '/metrics')).status, 403, '/metrics stays developer-mode only');
});

test('console/sigv4.js signs as the SDK\'s SignatureV4 does, with and without a session token', T, async () => {
  const when = new Date('2026-12-03T12:34:56.789Z');
  for (const [body, sessionToken, region] of [['{}', undefined, 'us-east-1'], ['{"StreamName":"a b","Limit":5}', 'tok/en+=', 'eu-west-3'],
    ['', undefined, 'us-west-2']]) {
    const bytes = new TextEncoder().encode(body);
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' };
    const cred = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalr/XUtnFEMI+K7MDENG', sessionToken, region };
    const ours = await sign({ method: 'POST', host: '127.0.0.1:4567', path: '/', headers, body: bytes }, cred, 'kinesis', when);
    const sdk = await new SignatureV4({ service: 'kinesis', region, sha256: Sha256, credentials: cred, applyChecksum: false })
      .sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4567, path: '/', query: {},
        headers: { ...headers, host: '127.0.0.1:4567' }, body: bytes }, { signingDate: when });
    assert.equal(ours.authorization, sdk.headers.authorization, body);
    assert.equal(ours['x-amz-date'], '20261203T123456Z');
    assert.equal(ours['x-amz-security-token'], sessionToken);
  }
});
