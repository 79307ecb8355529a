// subscribe.test.mjs: enhanced fan-out through @aws-sdk/client-kinesis over h2c (the SDK's default
// handler) and, for every SubscribeToShard test, again over HTTP/1.1 (NodeHttpHandler: a chunked
// application/vnd.amazon.eventstream body) against a real runnel: consumer CRUD with exact fields, SubscribeToShard delivery
// latency (put acknowledged -> event received, p50/p99 printed), lifetime end (2 s here), shard end
// with ChildShards after SplitShard, two consumers on one shard, and the errors (§2.6, §4.12).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, DeleteStreamCommand, DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand, DescribeStreamSummaryCommand, ListStreamConsumersCommand,
  PutRecordCommand, RegisterStreamConsumerCommand, SplitShardCommand, StartStreamEncryptionCommand, SubscribeToShardCommand,
} from '@aws-sdk/client-kinesis';
import { ACCOUNT, kinesisClient, sleep, startRunnel, streamArn, uniqueName } from './runnel.mjs';
import { SEQ_RE, expectError, shardId } from './kinesis.mjs';

const T = { timeout: 60000 };
const LIFETIME_MS = 2000;
const CONSUMER_ARN_RE = (name, cname) =>
  new RegExp(`^${streamArn(name).replace(/[/.]/g, '\\$&')}/consumer/${cname}:\\d+$`);

let srv, client, slowSrv, slowClient;
const clients = {};

before(async () => {
  srv = await startRunnel({ args: ['--in-memory', '--subscription-lifetime', String(LIFETIME_MS)] });
  clients.h2 = kinesisClient(srv.endpoint);
  clients.http1 = kinesisClient(srv.endpoint, { http1: true });
  client = clients.h2;
  slowSrv = await startRunnel({ args: ['--in-memory', '--consumer-delay', '1500'] });
  slowClient = kinesisClient(slowSrv.endpoint);
});
after(async () => {
  clients.h2?.destroy();
  clients.http1?.destroy();
  slowClient?.destroy();
  await srv?.stop();
  await slowSrv?.stop();
});

async function newStream(c = client, shards = 1) {
  const name = uniqueName('efo');
  await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

async function register(name, cname, c = client) {
  const r = await c.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(name), ConsumerName: cname }));
  return r.Consumer;
}

/** Subscribe and collect events in the background. */
async function subscribe(consumerARN, shard, pos = { Type: 'LATEST' }, c = client) {
  const res = await c.send(new SubscribeToShardCommand({ ConsumerARN: consumerARN, ShardId: shard, StartingPosition: pos }));
  const sub = { events: [], records: [], ended: false, error: null, waiters: [] };
  sub.done = (async () => {
    try {
      for await (const ev of res.EventStream) {
        if (!ev.SubscribeToShardEvent) continue; // initial-response surfaces as $unknown
        const e = ev.SubscribeToShardEvent;
        const at = performance.now();
        sub.events.push({ ...e, at });
        for (const r of e.Records) sub.records.push({ r, at });
        for (const w of sub.waiters.splice(0)) w();
      }
    } catch (e) {
      sub.error = e;
    }
    sub.ended = true;
    for (const w of sub.waiters.splice(0)) w();
  })();
  sub.next = () => new Promise((r) => sub.waiters.push(r));
  return sub;
}

async function waitFor(sub, pred, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (sub.ended || Date.now() > deadline) break;
    await Promise.race([sub.next(), sleep(50)]);
  }
  assert.ok(pred(), `condition not reached in time (events ${sub.events.length}, records ${sub.records.length}, ended ${sub.ended}, error ${sub.error})`);
}

describe('consumers', () => {
  test('register, describe, list, deregister with exact fields', T, async () => {
    const name = await newStream();
    const t0 = Date.now() / 1000;
    const c = await register(name, 'app1');
    assert.deepEqual(Object.keys(c).sort(), ['ConsumerARN', 'ConsumerCreationTimestamp', 'ConsumerName', 'ConsumerStatus']);
    assert.equal(c.ConsumerName, 'app1');
    assert.match(c.ConsumerARN, CONSUMER_ARN_RE(name, 'app1'));
    assert.equal(c.ConsumerARN.split(':').pop(), String(Math.floor(c.ConsumerCreationTimestamp.getTime() / 1000)));
    assert.ok(Math.abs(c.ConsumerCreationTimestamp.getTime() / 1000 - t0) < 5);
    assert.equal(c.ConsumerStatus, 'ACTIVE'); // --consumer-delay 0
    const d = (await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: c.ConsumerARN }))).ConsumerDescription;
    assert.deepEqual(d, { ...c, StreamARN: streamArn(name) });
    const d2 = (await client.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn(name), ConsumerName: 'app1' }))).ConsumerDescription;
    assert.deepEqual(d2, d);
    await register(name, 'app0');
    const l = await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(name) }));
    assert.deepEqual(l.Consumers.map((x) => x.ConsumerName), ['app0', 'app1']);
    assert.equal(l.NextToken, undefined);
    const p1 = await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(name), MaxResults: 1 }));
    assert.equal(p1.Consumers.length, 1);
    const p2 = await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(name), NextToken: p1.NextToken }));
    assert.deepEqual(p2.Consumers.map((x) => x.ConsumerName), ['app1']);
    const sum = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    assert.equal(sum.StreamDescriptionSummary.ConsumerCount, 2);
    await expectError(register(name, 'app1'), {
      name: 'ResourceInUseException',
      message: `Consumer app1 under stream ${name} already exists for account ${ACCOUNT}.`,
    });
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: c.ConsumerARN }));
    await expectError(client.send(new DescribeStreamConsumerCommand({ ConsumerARN: c.ConsumerARN })), {
      name: 'ResourceNotFoundException',
      message: `Consumer ${c.ConsumerARN}, account ${ACCOUNT} not found.`,
    });
    await client.send(new DeregisterStreamConsumerCommand({ StreamARN: streamArn(name), ConsumerName: 'app0' }));
    const l2 = await client.send(new ListStreamConsumersCommand({ StreamARN: streamArn(name) }));
    assert.deepEqual(l2.Consumers, []);
  });

  test('20 per stream; DeleteStream needs EnforceConsumerDeletion', T, async () => {
    const name = await newStream();
    for (let i = 0; i < 20; i++) await register(name, `c${i}`);
    await expectError(register(name, 'c20'), { name: 'LimitExceededException', message: /limit of 20/ });
    await expectError(client.send(new DeleteStreamCommand({ StreamName: name })), {
      name: 'ResourceInUseException',
      message: `Stream ${name} under account ${ACCOUNT} has registered consumers.`,
    });
    await client.send(new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true }));
  });

  test('CREATING until --consumer-delay, then ACTIVE; subscribing before fails', T, async () => {
    const name = await newStream(slowClient);
    const c = await register(name, 'slow', slowClient);
    assert.equal(c.ConsumerStatus, 'CREATING');
    await expectError(
      slowClient.send(new SubscribeToShardCommand({ ConsumerARN: c.ConsumerARN, ShardId: shardId(0), StartingPosition: { Type: 'LATEST' } })),
      {
        name: 'ResourceInUseException',
        message: `Consumer slow with creation timestamp ${c.ConsumerARN.split(':').pop()} under stream: ${name} , account ${ACCOUNT} is not in ACTIVE status.`,
      },
    );
    await sleep(1600);
    const d = await slowClient.send(new DescribeStreamConsumerCommand({ ConsumerARN: c.ConsumerARN }));
    assert.equal(d.ConsumerDescription.ConsumerStatus, 'ACTIVE');
  });
});

for (const proto of ['h2', 'http1']) {
describe(`SubscribeToShard over ${proto}`, () => {
  before(() => { client = clients[proto]; });
  after(() => { client = clients.h2; });
  test('records put after subscribing arrive in order, within 100 ms of their acknowledgement', T, async () => {
    const name = await newStream();
    const c = await register(name, 'lat');
    const sub = await subscribe(c.ConsumerARN, shardId(0));
    await waitFor(sub, () => sub.events.length >= 1); // the first (empty) event
    assert.match(sub.events[0].ContinuationSequenceNumber, SEQ_RE);
    assert.equal(sub.events[0].MillisBehindLatest, 0);
    // N puts must fit in the shared server's 2 s subscription lifetime even on a loaded machine
    const N = 80;
    const acks = [];
    for (let i = 0; i < N; i++) {
      const r = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(`r${i}`) }));
      acks.push({ seq: r.SequenceNumber, at: performance.now() });
      if (i % 10 === 0) await sleep(5); // spread over many events
    }
    await waitFor(sub, () => sub.records.length >= N);
    assert.equal(sub.records.length, N);
    const lat = [];
    for (let i = 0; i < N; i++) {
      const { r, at } = sub.records[i];
      assert.equal(Buffer.from(r.Data).toString(), `r${i}`);
      assert.equal(r.SequenceNumber, acks[i].seq);
      assert.equal(r.PartitionKey, 'k');
      assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
      lat.push(Math.max(0, at - acks[i].at));
    }
    lat.sort((a, b) => a - b);
    const p50 = lat[Math.floor(N * 0.5)], p99 = lat[Math.floor(N * 0.99)];
    console.log(`# put-to-receive latency over ${N} records: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${lat[N - 1].toFixed(2)} ms; ${sub.events.length} events`);
    assert.ok(lat[N - 1] < 100, `max latency ${lat[N - 1]} ms`);
    assert.ok(sub.events.length > 2, 'records spread over several events');
    for (const e of sub.events) assert.match(e.ContinuationSequenceNumber, SEQ_RE);
    await sub.done; // ends at the lifetime
  });

  test('the subscription ends at its lifetime; the continuation resumes', T, async () => {
    const name = await newStream();
    const c = await register(name, 'life');
    const t0 = performance.now();
    const sub = await subscribe(c.ConsumerARN, shardId(0), { Type: 'TRIM_HORIZON' });
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('a') }));
    await sub.done;
    const took = performance.now() - t0;
    assert.equal(sub.error, null);
    assert.ok(took >= LIFETIME_MS - 100 && took < LIFETIME_MS + 1500, `ended after ${took} ms`);
    assert.equal(sub.records.length, 1);
    const cont = sub.events.at(-1).ContinuationSequenceNumber;
    assert.equal(cont, sub.records[0].r.SequenceNumber);
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('b') }));
    const sub2 = await subscribe(c.ConsumerARN, shardId(0), { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: cont });
    await waitFor(sub2, () => sub2.records.length >= 1);
    assert.equal(Buffer.from(sub2.records[0].r.Data).toString(), 'b');
    await sleep(1000); // one call per second per consumer and shard (else LimitExceededException)
    const sub3 = await subscribe(c.ConsumerARN, shardId(1 - 1), { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: cont }).catch((e) => e);
    assert.equal(sub3.name, 'ResourceInUseException'); // within 5 s of sub2
    await sub2.done;
  });

  test('AT_TIMESTAMP starts at the first record at or after the time', T, async () => {
    const name = await newStream();
    const c = await register(name, 'ts');
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('old') }));
    await sleep(1100);
    const ts = new Date();
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('new') }));
    const sub = await subscribe(c.ConsumerARN, shardId(0), { Type: 'AT_TIMESTAMP', Timestamp: ts });
    await waitFor(sub, () => sub.records.length >= 1);
    assert.deepEqual(sub.records.map((x) => Buffer.from(x.r.Data).toString()), ['new']);
    await sub.done;
  });

  test('a closed shard ends with ChildShards and no continuation', T, async () => {
    const name = await newStream();
    const c = await register(name, 'split');
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x') }));
    const sub = await subscribe(c.ConsumerARN, shardId(0), { Type: 'TRIM_HORIZON' });
    await waitFor(sub, () => sub.records.length >= 1);
    await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: (1n << 127n).toString() }));
    await sub.done;
    const last = sub.events.at(-1);
    assert.equal(last.ContinuationSequenceNumber, undefined);
    assert.deepEqual(last.ChildShards.map((x) => x.ShardId), [shardId(1), shardId(2)]);
    assert.deepEqual(last.ChildShards[0].ParentShards, [shardId(0)]);
    assert.equal(sub.error, null);
  });

  test('two consumers on one shard each get every record', T, async () => {
    const name = await newStream();
    const a = await register(name, 'a');
    const b = await register(name, 'b');
    const sa = await subscribe(a.ConsumerARN, shardId(0));
    const sb = await subscribe(b.ConsumerARN, shardId(0));
    await waitFor(sa, () => sa.events.length >= 1);
    await waitFor(sb, () => sb.events.length >= 1);
    for (let i = 0; i < 50; i++)
      await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: `p${i}`, Data: Buffer.from(`v${i}`) }));
    await waitFor(sa, () => sa.records.length >= 50);
    await waitFor(sb, () => sb.records.length >= 50);
    const want = Array.from({ length: 50 }, (_, i) => `v${i}`);
    assert.deepEqual(sa.records.map((x) => Buffer.from(x.r.Data).toString()), want);
    assert.deepEqual(sb.records.map((x) => Buffer.from(x.r.Data).toString()), want);
    await Promise.all([sa.done, sb.done]);
  });

  test('an encrypted stream delivers plaintext records marked EncryptionType KMS', T, async () => {
    const name = await newStream();
    const cons = await register(name, 'enc');
    await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    const sub = await subscribe(cons.ConsumerARN, shardId(0));
    await waitFor(sub, () => sub.events.length >= 1);
    for (let i = 0; i < 5; i++)
      await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: `pk${i}`, Data: Buffer.from(`secret-${i}`) }));
    await waitFor(sub, () => sub.records.length >= 5);
    assert.deepEqual(sub.records.map((x) => Buffer.from(x.r.Data).toString()), [0, 1, 2, 3, 4].map((i) => `secret-${i}`));
    assert.deepEqual(sub.records.map((x) => x.r.PartitionKey), [0, 1, 2, 3, 4].map((i) => `pk${i}`));
    assert.ok(sub.records.every((x) => x.r.EncryptionType === 'KMS'));
    await sub.done;
  });

  test('errors: missing consumer, shard, stream', T, async () => {
    const name = await newStream();
    const c = await register(name, 'err');
    const sub = (arn, shard) =>
      client.send(new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: shard, StartingPosition: { Type: 'LATEST' } }));
    const ghost = `${streamArn(name)}/consumer/ghost:1`;
    await expectError(sub(ghost, shardId(0)), {
      name: 'ResourceNotFoundException', message: `Consumer ${ghost}, account ${ACCOUNT} not found.`,
    });
    await expectError(sub(c.ConsumerARN, shardId(7)), {
      name: 'ResourceNotFoundException',
      message: `Shard ${shardId(7)} in stream ${name} under account ${ACCOUNT} does not exist`,
    });
    const noStream = `${streamArn('nostream')}/consumer/x:1`;
    await expectError(sub(noStream, shardId(0)), {
      name: 'ResourceNotFoundException', message: `Consumer ${noStream}, account ${ACCOUNT} not found.`,
    });
  });
});

// A second subscription for the same consumer and shard (§2.6): more than one call per second is
// LimitExceededException; within 5 s of the open one, ResourceInUseException; at >= 5 s it takes
// over, and the older one first receives a ResourceInUseException event, then ends.
describe(`SubscribeToShard over ${proto}: a second subscription`, () => {
  const LIFE = 6500; // long enough to outlive the 5 s takeover rule, short for the tests
  let lsrv, lclient;
  before(async () => {
    lsrv = await startRunnel({ args: ['--in-memory', '--subscription-lifetime', String(LIFE)] });
    lclient = kinesisClient(lsrv.endpoint, { http1: proto === 'http1' });
  });
  after(async () => {
    lclient?.destroy();
    await lsrv?.stop();
  });

  test('more than one call per second is LimitExceededException, then ResourceInUseException', T, async () => {
    const name = await newStream(lclient);
    const c = await register(name, 'rate', lclient);
    const sub = await subscribe(c.ConsumerARN, shardId(0), { Type: 'LATEST' }, lclient);
    const again = () => lclient.send(new SubscribeToShardCommand({
      ConsumerARN: c.ConsumerARN, ShardId: shardId(0), StartingPosition: { Type: 'LATEST' },
    }));
    const e1 = await again().catch((e) => e);
    assert.equal(e1.name, 'LimitExceededException');
    assert.equal(e1.$metadata.httpStatusCode, 400);
    await sleep(1100);
    await expectError(again(), {
      name: 'ResourceInUseException',
      message: `Another active subscription exists for this consumer: ${ACCOUNT}:${name}:${shardId(0)}:rate`,
    });
    const e3 = await again().catch((e) => e); // right after the refused one
    assert.equal(e3.name, 'LimitExceededException');
    // the first subscription is untouched
    await lclient.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('still') }));
    await waitFor(sub, () => sub.records.length >= 1);
    assert.equal(Buffer.from(sub.records[0].r.Data).toString(), 'still');
    await sub.done;
    assert.equal(sub.error, null);
  });

  test('after 5 s the new one takes over; the old one gets a ResourceInUseException event', T, async () => {
    const name = await newStream(lclient);
    const c = await register(name, 'takeover', lclient);
    const old = await subscribe(c.ConsumerARN, shardId(0), { Type: 'LATEST' }, lclient);
    await waitFor(old, () => old.events.length >= 1);
    await sleep(5100);
    assert.equal(old.ended, false);
    const t0 = performance.now();
    const neu = await subscribe(c.ConsumerARN, shardId(0), { Type: 'LATEST' }, lclient);
    await old.done;
    assert.ok(performance.now() - t0 < 1000, 'the old subscription ends at once');
    assert.ok(old.error, 'the old subscription ends with an exception event');
    assert.equal(old.error.name, 'ResourceInUseException');
    assert.equal(old.error.message,
      `Another active subscription exists for this consumer: ${ACCOUNT}:${name}:${shardId(0)}:takeover`);
    await lclient.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('new') }));
    await waitFor(neu, () => neu.records.length >= 1);
    assert.equal(Buffer.from(neu.records[0].r.Data).toString(), 'new');
    await neu.done;
    assert.equal(neu.error, null);
  });
});
}

test('a split under --update-stream-delay ends the parent\'s subscription when the stream turns ACTIVE, with no other request', T, async (t) => {
  const DELAY = 800;
  const s = await startRunnel({ args: ['--in-memory', '--update-stream-delay', String(DELAY), '--subscription-lifetime', '30000'] });
  const c = kinesisClient(s.endpoint);
  t.after(async () => { c.destroy(); await s.stop(); });
  const name = await newStream(c);
  const consumer = await register(name, 'upd', c);
  await c.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x') }));
  const sub = await subscribe(consumer.ConsumerARN, shardId(0), { Type: 'TRIM_HORIZON' }, c);
  await waitFor(sub, () => sub.records.length >= 1);
  const t0 = performance.now();
  await c.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shardId(0), NewStartingHashKey: (1n << 127n).toString() }));
  // no request from here on: only runnel's own clock can apply the split and end the stream
  await waitFor(sub, () => sub.events.some((e) => e.ChildShards?.length), 10000);
  const at = sub.events.find((e) => e.ChildShards?.length).at - t0;
  t.diagnostic(`ChildShards ${at.toFixed(0)} ms after SplitShard (update delay ${DELAY} ms)`);
  assert.ok(at >= DELAY - 50, `not before the stream is ACTIVE again (${at} ms)`);
  assert.ok(at < DELAY + 3000, `soon after it (${at} ms)`);
  assert.deepEqual(sub.events.find((e) => e.ChildShards?.length).ChildShards.map((x) => x.ShardId), [shardId(1), shardId(2)]);
  await sub.done;
});
