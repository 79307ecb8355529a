// screenshots.mjs: retakes the console's pictures for the docs (docs/console/*.png) from a
// developer-mode runnel with a little live traffic, and the credentials page of a verified one
// given the wrong secret. Not a test (console.test.mjs is): run by tests/console/run.sh --screenshots.
// argv: output dir.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  CreateStreamCommand, MergeShardsCommand, PutRecordsCommand, RegisterStreamConsumerCommand, SplitShardCommand,
  SubscribeToShardCommand, waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { kinesisClient, makeTempDir, removeDir, sleep, startRunnel } from '../integration/runnel.mjs';
import { ADMIN, writeCredentials } from '../integration/auth.mjs';
import { shardId } from '../integration/kinesis.mjs';

const out = path.resolve(process.argv[2] ?? 'docs/console');
fs.mkdirSync(out, { recursive: true });
const srv = await startRunnel({ inMemory: true });
const dir = makeTempDir();
const verified = await startRunnel({ inMemory: true, args: ['--credentials', writeCredentials(dir, [ADMIN])] });
const k = kinesisClient(srv.endpoint);
let browser;
let writing = true;
try {
  const create = async (StreamName, ShardCount) => {
    await k.send(new CreateStreamCommand(ShardCount ? { StreamName, ShardCount } : { StreamName, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    await waitUntilStreamExists({ client: k, maxWaitTime: 30 }, { StreamName });
  };
  await create('orders', 3);
  await create('clicks');
  await create('payments', 2);
  await create('audit-log', 1);
  // orders: split shard 0 at its midpoint, merge shards 1 and 2: a lineage with both
  await k.send(new SplitShardCommand({ StreamName: 'orders', ShardToSplit: shardId(0), NewStartingHashKey: ((2n ** 128n) / 6n).toString() }));
  await waitUntilStreamExists({ client: k, maxWaitTime: 30 }, { StreamName: 'orders' });
  await sleep(200);
  await k.send(new MergeShardsCommand({ StreamName: 'orders', ShardToMerge: shardId(1), AdjacentShardToMerge: shardId(2) }));
  const items = ['kayak', 'paddle', 'tent', 'stove', 'lantern', 'compass'];
  let n = 0;
  const traffic = (async () => {
    while (writing) {
      const batch = (s, m) => Array.from({ length: m }, () => {
        n++;
        const rec = { order: 1000 + n, customer: `c-${n % 37}`, item: items[n % items.length], qty: 1 + (n % 3), eur: (n % 50) + 9.9 };
        return { PartitionKey: rec.customer, Data: Buffer.from(JSON.stringify(s === 'clicks' ? { page: `/p/${n % 12}`, ms: n % 900 } : rec)) };
      });
      await Promise.all([['orders', 6], ['clicks', 14], ['payments', 2]].map(([s, m]) => k.send(new PutRecordsCommand({ StreamName: s, Records: batch(s, m) })).catch(() => {})));
      await sleep(250);
    }
  })();
  const c = await k.send(new RegisterStreamConsumerCommand({ StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders', ConsumerName: 'analytics' }));
  await k.send(new RegisterStreamConsumerCommand({ StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders', ConsumerName: 'fraud-detector' }));
  await sleep(500);
  // one SubscribeToShard event, so that the consumers page has a lag to show
  const sub = await k.send(new SubscribeToShardCommand({ ConsumerARN: c.Consumer.ConsumerARN, ShardId: shardId(3), StartingPosition: { Type: 'TRIM_HORIZON' } }));
  for await (const ev of sub.EventStream) { if (ev.SubscribeToShardEvent) break; }

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await (await browser.newContext({ viewport: { width: 1360, height: 860 }, deviceScaleFactor: 1 })).newPage();
  const shot = async (name) => {
    await page.evaluate(() => document.querySelectorAll('.notice').forEach((e) => e.remove()));
    await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
    console.log(`screenshots: ${path.join(out, `${name}.png`)}`);
  };
  await page.goto(`${srv.endpoint}/console/#/streams`);
  await page.waitForFunction(() => [...document.querySelectorAll('#streams-table td.rate-records')].some((td) => Number(td.textContent) > 0), null, { timeout: 30000 });
  await sleep(4000);
  await shot('streams');
  await page.goto(`${srv.endpoint}/console/#/stream/orders`);
  await page.click('#decode button[data-decode=json]');
  await page.locator('#tail .rec').nth(3).waitFor({ timeout: 30000 });
  await sleep(4000);
  await page.fill('#put-form input[name=key]', 'c-7');
  await page.fill('#put-form textarea[name=data]', '{"order": 42, "item": "kayak", "note": "from the console"}');
  await shot('stream');
  await page.goto(`${srv.endpoint}/console/#/stream/orders/consumers`);
  await page.locator('#consumers-table tr[data-consumer="fraud-detector"]').waitFor({ timeout: 30000 });
  await sleep(1000);
  await shot('consumers');
  await page.goto(`${verified.endpoint}/console/#/credentials`);
  await page.fill('#credentials-form input[name=accessKeyId]', ADMIN.access_key_id);
  await page.fill('#credentials-form input[name=secretAccessKey]', 'not-the-secret');
  await page.click('#credentials-form button[type=submit]');
  await page.locator('.notice-error').filter({ hasText: 'InvalidSignatureException' }).waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(out, 'credentials.png') });
  console.log(`screenshots: ${path.join(out, 'credentials.png')}`);
  writing = false;
  await traffic;
} finally {
  writing = false;
  await browser?.close();
  k.destroy();
  await srv.stop();
  await verified.stop();
  removeDir(dir);
}
