// run.mjs: serves the bundled page from a static server on 127.0.0.1 (another port, so another
// origin than runnel), opens it in headless Chromium (playwright-core, Debian's /usr/bin/chromium)
// and asserts what the page's JS SDK v3 calls saw. argv: runnel endpoint, bundle file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [endpoint, bundle] = process.argv.slice(2);
const js = fs.readFileSync(bundle);
const html = '<!doctype html><html><head><meta charset="utf-8"><title>runnel</title></head>'
  + '<body><script type="module" src="/page.js"></script></body></html>';
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  else if (u.pathname === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
  else res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const pageOrigin = `http://127.0.0.1:${server.address().port}`;
assert.notEqual(pageOrigin, endpoint, 'the page and runnel are different origins');

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runnel-chromium-'));
const stream = `browser-${process.pid}-${Date.now()}`;
let ctx;
try {
  ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000,
  });
  const page = ctx.pages()[0] ?? await ctx.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${pageOrigin}/?endpoint=${encodeURIComponent(endpoint)}&stream=${stream}`);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 60000 });
  const r = await page.evaluate(() => window.__result);
  console.log(JSON.stringify(r, null, 1));
  assert.equal(r.failed, undefined, `the page failed: ${r.failed}\n${consoleLines.join('\n')}`);
  assert.deepEqual(r.steps, ['CreateStream', 'PutRecord', 'PutRecords', 'GetShardIterator', 'GetRecords', 'error']);
  assert.equal(r.putRecord.ShardId, 'shardId-000000000000');
  assert.match(r.putRecord.SequenceNumber, /^\d{56}$/);
  assert.match(r.putRecord.requestId ?? '', /^[0-9a-f-]{36}$/, 'x-amzn-RequestId readable (exposed)');
  assert.deepEqual(r.putRecords, { FailedRecordCount: 0, n: 3, ok: 3 });
  assert.deepEqual(r.getRecords.data, [0, 1, 2, 3].map((i) => `from the browser ${i}`));
  assert.deepEqual(r.getRecords.keys, ['k0', 'k1', 'k2', 'k3']);
  assert.equal(r.getRecords.first, r.putRecord.SequenceNumber);
  assert.equal(r.error.typed, true, `ResourceNotFoundException as the SDK's typed error: ${JSON.stringify(r.error)}`);
  assert.equal(r.error.name, 'ResourceNotFoundException');
  assert.equal(r.error.status, 400);
  assert.equal(r.error.fault, 'client');
  assert.match(r.error.message, new RegExp(`Stream ${stream}-missing under account 000000000000 not found`));
  assert.match(r.error.requestId ?? '', /^[0-9a-f-]{36}$/, 'the error\'s request id readable (exposed)');
  console.log('browser: ok (JS SDK v3 in headless Chromium, cross-origin)');
} finally {
  await ctx?.close().catch(() => {});
  server.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
