// console.test.mjs: the web console (/console, docs/console.md) in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), against runnels started here on free loopback
// ports: a developer-mode one (unsigned in effect: any keys, /metrics on the origin) and a
// verified one (--credentials), where the keys typed into the page must be the right ones.
// Run by tests/console/run.sh (make console, make test). With RUNNEL_CONSOLE_SCREENSHOTS=DIR the
// pages are also saved there as PNGs (docs/console/*.png: tests/console/run.sh --screenshots).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { makeTempDir, removeDir, startRunnel } from '../integration/runnel.mjs';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { ADMIN, clientAs, writeCredentials } from '../integration/auth.mjs';

const T = { timeout: 120000 };
const WAIT = { timeout: 30000 };
const SHOTS = process.env.RUNNEL_CONSOLE_SCREENSHOTS;

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true, timeout: 60000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

/** A fresh browser context (its own sessionStorage) and page, collecting what the console logs. */
async function open(t) {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const logs = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') logs.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => d.accept());
  return { page, logs };
}

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(300); // let the last redraw land in the picture (not an assertion)
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const noErrors = (logs, where) => assert.deepEqual(logs, [], `console errors on ${where}`);

describe('developer mode', () => {
  let srv;
  before(async () => { srv = await startRunnel({ inMemory: true }); });
  after(() => srv?.stop());

  test('the console is served with its headers and every page loads without console errors', T, async (t) => {
    const { page, logs } = await open(t);
    const res = await page.goto(`${srv.endpoint}/console`);
    assert.equal(res.status(), 200);
    const hd = res.headers();
    assert.equal(hd['content-type'], 'text/html; charset=utf-8');
    assert.equal(hd['x-content-type-options'], 'nosniff');
    assert.match(hd['content-security-policy'], /default-src 'none'; script-src 'self'/);
    await page.locator('#streams-table').waitFor(WAIT);
    await page.waitForFunction(() => /from \/metrics/.test(document.querySelector('#mode').textContent), null, WAIT);
    for (const hash of ['#/credentials', '#/streams']) {
      await page.goto(`${srv.endpoint}/console/${hash}`);
      await page.locator('#main h1').waitFor(WAIT);
    }
    noErrors(logs, 'the streams and credentials pages');
  });

  test('create a stream from the form, put a record from the form, see it in the live tail, split a shard, register a consumer', T, async (t) => {
    const { page, logs } = await open(t);
    await page.goto(`${srv.endpoint}/console/#/streams`);
    const name = `orders-${process.pid}`;
    await page.fill('#create-stream input[name=name]', name);
    await page.fill('#create-stream input[name=shards]', '1');
    await page.click('#create-stream button[type=submit]');
    const row = page.locator(`#streams-table tr[data-stream="${name}"]`);
    await row.waitFor(WAIT);
    await page.waitForFunction((n) => document.querySelector(`tr[data-stream="${n}"] td:nth-child(4)`)?.textContent === '1', name, WAIT);
    // a second stream, on-demand, and some writes so the rates show something
    await page.fill('#create-stream input[name=name]', `clicks-${process.pid}`);
    await page.selectOption('#create-stream select[name=mode]', 'ON_DEMAND');
    await page.click('#create-stream button[type=submit]');
    await page.locator(`#streams-table tr[data-stream="clicks-${process.pid}"]`).waitFor(WAIT);
    assert.equal(await page.locator(`tr[data-stream="clicks-${process.pid}"] td:nth-child(3)`).textContent(), 'ON_DEMAND');

    await row.locator('a.stream-link').click();
    await page.locator('#lineage .shard-node').first().waitFor(WAIT);
    assert.equal(await page.locator('#shards-table tbody tr').count(), 1);
    await page.locator('#shards-table td.iterator-age').filter({ hasText: /ms/ }).first().waitFor(WAIT); // the tail's first answer

    const payload = { order: 42, item: 'kayak', note: 'from the console' };
    await page.fill('#put-form input[name=key]', 'customer-7');
    await page.fill('#put-form textarea[name=data]', JSON.stringify(payload));
    await page.click('#put-form button[type=submit]');
    const rec = page.locator('#tail .rec').filter({ hasText: 'customer-7' });
    await rec.waitFor(WAIT);
    assert.equal(await rec.locator('.rec-data').textContent(), JSON.stringify(payload));
    assert.equal(await rec.locator('.rec-shard').textContent(), '#0');
    await page.click('#decode button[data-decode=json]');
    assert.equal(await page.locator('#tail .rec .rec-data').first().textContent(), JSON.stringify(payload, null, 2));
    await page.click('#decode button[data-decode=hex]');
    assert.match(await page.locator('#tail .rec .rec-data').first().textContent(), /^000000 {2}7b 22 6f 72 64 65 72 22/);
    // record data is text, never markup
    await page.click('#decode button[data-decode=utf8]');
    const markup = '<img id="xss" src="/nope" onerror="window.__xss = 1"><b>bold</b>';
    await page.fill('#put-form input[name=key]', 'markup');
    await page.fill('#put-form textarea[name=data]', markup);
    await page.click('#put-form button[type=submit]');
    const m = page.locator('#tail .rec').filter({ hasText: 'markup' });
    await m.waitFor(WAIT);
    assert.equal(await m.locator('.rec-data').textContent(), markup);
    assert.equal(await page.locator('#xss, #tail b').count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await page.click('#decode button[data-decode=json]');
    for (let i = 0; i < 3; i++) {
      await page.fill('#put-form input[name=key]', `customer-${i}`);
      await page.fill('#put-form textarea[name=data]', JSON.stringify({ order: 100 + i, item: ['paddle', 'tent', 'stove'][i] }));
      await page.click('#put-form button[type=submit]');
      await page.locator('#tail .rec').filter({ hasText: `customer-${i}` }).waitFor(WAIT);
    }
    await shot(page, 'stream');

    // pause: a record put while paused is not drawn until Resume
    const kept = () => page.locator('#tail-count').textContent().then((x) => Number(/^(\d+) records? kept/.exec(x)?.[1]));
    const before = await kept();
    assert.equal(before, await page.locator('#tail .rec').count());
    await page.click('#pause');
    await page.fill('#put-form input[name=key]', 'while-paused');
    await page.click('#put-form button[type=submit]');
    // the record arrives (counted as kept) but is not drawn while paused
    await page.waitForFunction((n) => document.querySelector('#tail-count').textContent.startsWith(`${n + 1} records kept`), before, WAIT);
    assert.match(await page.locator('#tail-count').textContent(), /, paused$/);
    assert.equal(await page.locator('#tail .rec').count(), before);
    assert.equal(await page.locator('#tail .rec').filter({ hasText: 'while-paused' }).count(), 0);
    await page.click('#pause');
    await page.locator('#tail .rec').filter({ hasText: 'while-paused' }).waitFor(WAIT);

    // split shard 0 at its midpoint: the lineage shows its two children
    await page.click('#lineage .shard-node[data-shard="shardId-000000000000"]'); // picks it in the split form
    assert.equal(await page.inputValue('#split-form select[name=shard]'), 'shardId-000000000000');
    await page.click('#split-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#lineage .edge[data-parent="shardId-000000000000"]').length === 2, null, WAIT);
    const children = await page.$$eval('#lineage .edge[data-parent="shardId-000000000000"]', (es) => es.map((e) => e.dataset.child).sort());
    assert.deepEqual(children, ['shardId-000000000001', 'shardId-000000000002']);
    assert.equal(await page.locator('#lineage .shard-node.closed').count(), 1);
    assert.equal(await page.locator('#lineage .shard-node.open').count(), 2);
    await page.waitForFunction(() => document.querySelectorAll('#shards-table tbody tr').length === 3, null, WAIT);
    // the tail follows the children: a record put now arrives from one of them
    await page.fill('#put-form input[name=key]', 'after-split');
    await page.click('#put-form button[type=submit]');
    const after = page.locator('#tail .rec').filter({ hasText: 'after-split' });
    await after.waitFor(WAIT);
    assert.match(await after.locator('.rec-shard').textContent(), /^#[12]$/);
    // merge the two children back from the form
    await page.waitForFunction(() => document.querySelectorAll('#merge-form option').length === 1, null, WAIT);
    await page.click('#merge-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#lineage .edge[data-child="shardId-000000000003"]').length === 2, null, WAIT);
    // and UpdateShardCount from its form: the one open shard becomes two
    await page.fill('#count-form input[name=count]', '2');
    await page.click('#count-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#lineage .shard-node.open').length === 2, null, WAIT);
    assert.equal(await page.locator('#shards-table tr:has(.badge-open)').count(), 2);
    await shot(page, 'lineage');

    await page.click('nav.tabs a:has-text("Consumers")');
    await page.locator('#consumers-table').waitFor(WAIT);
    await page.fill('#register-form input[name=consumer]', 'analytics');
    await page.click('#register-form button[type=submit]');
    const c = page.locator('#consumers-table tr[data-consumer="analytics"]');
    await c.waitFor(WAIT);
    assert.match(await c.textContent(), new RegExp(`arn:aws:kinesis:us-east-1:000000000000:stream/${name}/consumer/analytics:\\d+`));
    await page.fill('#register-form input[name=consumer]', 'billing');
    await page.click('#register-form button[type=submit]');
    await page.locator('#consumers-table tr[data-consumer="billing"]').waitFor(WAIT);
    await page.waitForFunction(() => document.querySelectorAll('#consumers-table .badge-active').length === 2, null, WAIT);
    // the tail's own GetRecords calls make the polling readers' iterator age known (from /metrics)
    assert.match(await page.locator('#lag-polling').textContent(), /^\d+(\.\d)? (ms|s|min) GetRecords/);
    assert.match(await page.locator('#lag-efo').textContent(), /^no SubscribeToShard event yet/);
    await shot(page, 'consumers');
    await page.click('#consumers-table tr[data-consumer="billing"] button.danger');
    await page.waitForFunction(() => !document.querySelector('#consumers-table tr[data-consumer="billing"]'), null, WAIT);

    await page.goto(`${srv.endpoint}/console/#/streams`);
    await page.locator(`#streams-table tr[data-stream="${name}"]`).waitFor(WAIT);
    await page.waitForFunction((n) => document.querySelector(`tr[data-stream="${n}"] td:nth-child(4)`)?.textContent === '2', name, WAIT);
    await shot(page, 'streams');
    await page.click(`#streams-table tr[data-stream="clicks-${process.pid}"] button.danger`);
    await page.waitForFunction((n) => !document.querySelector(`tr[data-stream="${n}"]`), `clicks-${process.pid}`, WAIT);
    noErrors(logs, 'the stream, consumers and streams pages');
  });
});

describe('verified mode (--credentials)', () => {
  let srv;
  let dir;
  before(async () => {
    dir = makeTempDir();
    srv = await startRunnel({ inMemory: true, args: ['--credentials', writeCredentials(dir, [ADMIN])] });
  });
  after(async () => { await srv?.stop(); removeDir(dir); });

  async function typeKeys(page, akid, secret) {
    await page.goto(`${srv.endpoint}/console/#/credentials`);
    await page.fill('#credentials-form input[name=accessKeyId]', akid);
    await page.fill('#credentials-form input[name=secretAccessKey]', secret);
    await page.click('#credentials-form button[type=submit]');
  }

  test('the wrong secret shows the AWS error; the right keys work, and stay in sessionStorage only', T, async (t) => {
    const { page, logs } = await open(t);
    const sent = [];
    page.on('request', (r) => sent.push(JSON.stringify(r.headers()) + (r.postData() ?? '')));
    await page.goto(`${srv.endpoint}/console/`);
    // no keys typed: the page signs as test/test, which this runnel does not know, and asks for keys
    await page.locator('.notice-error').filter({ hasText: 'UnrecognizedClientException: The security token included in the request is invalid' }).waitFor(WAIT);
    await page.waitForFunction(() => location.hash === '#/credentials' && document.querySelector('#credentials-form'), null, WAIT);
    assert.equal(await page.locator('#identity .dot-bad').count(), 1);
    await typeKeys(page, ADMIN.access_key_id, 'not-the-secret');
    const err = page.locator('.notice-error').filter({ hasText: 'InvalidSignatureException: The request signature we calculated does not match' });
    await err.waitFor(WAIT);
    await shot(page, 'credentials-error');

    await typeKeys(page, ADMIN.access_key_id, ADMIN.secret_access_key);
    await page.locator('.notice').filter({ hasText: 'Signed in: ListStreams answered' }).waitFor(WAIT);
    assert.equal(await page.locator('#identity .dot-on').count(), 1);
    assert.equal(await page.locator('#identity').textContent(), `${ADMIN.access_key_id} · us-east-1`);
    await page.goto(`${srv.endpoint}/console/#/streams`);
    await page.waitForFunction(() => /polling GetRecords/.test(document.querySelector('#mode').textContent), null, WAIT);
    await page.fill('#create-stream input[name=name]', 'signed');
    await page.fill('#create-stream input[name=shards]', '2');
    await page.click('#create-stream button[type=submit]');
    await page.locator('#streams-table tr[data-stream="signed"]').waitFor(WAIT);
    await page.waitForFunction(() => document.querySelector('tr[data-stream="signed"] td:nth-child(4)')?.textContent === '2', null, WAIT);
    // no /metrics here: the list's rates come from its own GetRecords polling; writes from another
    // client show up there (a bounded loop: one put every 500 ms until the cell is above 0)
    const writer = clientAs(srv.endpoint, ADMIN);
    t.after(() => writer.destroy());
    const rate = () => page.locator('tr[data-stream="signed"] td.rate-records').textContent().then(Number);
    for (let i = 0; i < 60 && !(await rate() > 0); i++) {
      await writer.send(new PutRecordCommand({ StreamName: 'signed', PartitionKey: `k${i}`, Data: Buffer.from('tick') }));
      await page.waitForTimeout(500);
    }
    assert.ok(await rate() > 0, 'records/s sampled by polling');
    assert.match(await page.locator('tr[data-stream="signed"] td.rate-bytes').textContent(), /^\d+(\.\d)? B\/s$/);
    await page.click('#streams-table tr[data-stream="signed"] a.stream-link');
    await page.locator('#put-form').waitFor(WAIT);
    await page.fill('#put-form input[name=key]', 'signed-key');
    await page.fill('#put-form textarea[name=data]', 'signed hello');
    await page.click('#put-form button[type=submit]');
    await page.locator('#tail .rec').filter({ hasText: 'signed-key' }).waitFor(WAIT);
    assert.match(await page.locator('#stream-summary').textContent(), /arn:aws:kinesis:us-east-1:123456789012:stream\/signed/);

    const stored = await page.evaluate(() => ({ session: { ...sessionStorage }, local: { ...localStorage }, cookie: document.cookie }));
    assert.match(Object.values(stored.session).join(''), /admin\/secret\+key/);
    assert.deepEqual(stored.local, {});
    assert.equal(stored.cookie, '');
    assert.ok(sent.length > 10 && sent.some((r) => r.includes(`Credential=${ADMIN.access_key_id}/`)), 'signed calls were made');
    assert.equal(sent.filter((r) => r.includes(ADMIN.secret_access_key)).length, 0, 'the secret never leaves the page');
    // the only errors logged are Chromium's lines for the 4xx answers above (the wrong keys, and
    // /metrics, which keeps AWS's 403 in verified mode): no script error, no CSP violation
    const unexpected = logs.filter((l) => !/^error: Failed to load resource: the server responded with a status of 4\d\d/.test(l));
    assert.deepEqual(unexpected, []);
  });
});
