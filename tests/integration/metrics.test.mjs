// metrics.test.mjs: GET /metrics (src/api/metrics.c, docs/operations.md "Metrics"), scraped and parsed
// as Prometheus' text format: every family typed, histograms cumulative; runnel's request series by
// operation, HTTP version, status and error; the CloudWatch stream metrics against a known workload
// (bytes and records put and read, PutRecords entries failed and throttled, SubscribeToShard events);
// the bound on streams; the admin port; and that verified mode keeps /metrics off the API port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import {
  CreateStreamCommand, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand,
  PutRecordsCommand, RegisterStreamConsumerCommand, SubscribeToShardCommand,
} from '@aws-sdk/client-kinesis';
import {
  freePort, kinesisClient, makeTempDir, removeDir, sleep, startRunnel, streamArn, uniqueName,
} from './runnel.mjs';
import { ADMIN, clientAs, writeCredentials } from './auth.mjs';
import { shardId } from './kinesis.mjs';

const T = { timeout: 60000 };

function get(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    }).on('error', reject);
  });
}

/** Parse the text format strictly enough to catch malformed output: {types, samples}. */
function parse(text) {
  const types = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line))) continue;
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line))) {
      assert.ok(!types.has(m[1]), `TYPE twice for ${m[1]}`);
      types.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+|\+Inf)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = {};
    if (m[2]) {
      for (const part of m[2].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g)) {
        const eq = part.indexOf('=');
        labels[part.slice(0, eq)] = part.slice(eq + 2, -1);
      }
    }
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]) || types.get(base) === 'histogram', `sample of an untyped family: ${m[1]}`);
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

function value(p, name, want = {}) {
  const hits = p.samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
  return hits.reduce((a, s) => a + s.value, 0);
}

function checkHistograms(p) {
  for (const [name, type] of p.types) {
    if (type !== 'histogram') continue;
    const series = new Map();
    for (const s of p.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      if (!series.has(key)) series.set(key, []);
      series.get(key).push([le, s.value]);
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], `${name}${key} not cumulative`);
      assert.equal(buckets.at(-1)[0], '+Inf');
      const count = p.samples.find((x) => x.name === `${name}_count` && JSON.stringify(x.labels) === key);
      assert.equal(count.value, buckets.at(-1)[1], `${name}${key}: +Inf bucket != count`);
    }
  }
}

const sid = { account: '000000000000', region: 'us-east-1' };

test('a known workload shows in the request series and in the CloudWatch stream metrics', T, async (t) => {
  const adminPort = await freePort();
  const srv = await startRunnel({
    inMemory: true,
    args: ['--admin-listen', `127.0.0.1:${adminPort}`, '--enforce-limits',
      '--inject-errors', 'PutRecords=records:InternalFailure@0.5'],
  });
  t.after(() => srv.stop());
  const h2 = kinesisClient(srv.endpoint);
  const h1 = kinesisClient(srv.endpoint, { http1: true });
  const name = uniqueName('met');
  await h2.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (let i = 0; i < 4; i++) {
    await h1.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'kk', Data: Buffer.alloc(100, i) })); // 102 bytes
  }
  const prs = await h2.send(new PutRecordsCommand({
    StreamName: name, Records: Array.from({ length: 200 }, () => ({ PartitionKey: 'p', Data: Buffer.alloc(9) })),
  }));
  const okEntries = 200 - prs.FailedRecordCount;
  // --enforce-limits: 1,000 records/s per shard; 1,200 at once leave some throttled
  const big = await h2.send(new PutRecordsCommand({
    StreamName: name, Records: Array.from({ length: 500 }, () => ({ PartitionKey: 'p', Data: Buffer.alloc(1) })),
  }));
  const big2 = await h2.send(new PutRecordsCommand({
    StreamName: name, Records: Array.from({ length: 500 }, () => ({ PartitionKey: 'p', Data: Buffer.alloc(1) })),
  }));
  const entries = [...prs.Records, ...big.Records, ...big2.Records];
  const throttled = entries.filter((r) => r.ErrorCode === 'ProvisionedThroughputExceededException').length;
  const failed = entries.filter((r) => r.ErrorCode === 'InternalFailure').length;
  const accepted = entries.filter((r) => !r.ErrorCode).length;
  assert.ok(throttled > 0, 'the limit throttled nothing');
  const bytesAccepted = okEntries * 10 + (big.Records.concat(big2.Records).filter((r) => !r.ErrorCode).length) * 2;
  await assert.rejects(h1.send(new DescribeStreamCommand({ StreamName: 'no-such-stream' })));
  const it = await h2.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
  const got = await h2.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 3 }));
  assert.equal(got.Records.length, 3);

  for (const port of [srv.port, adminPort]) {
    const r = await get(port, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
    const p = parse(r.body);
    checkHistograms(p);
    const st = { ...sid, stream: name };
    assert.equal(value(p, 'runnel_requests_total', { operation: 'PutRecord', http: '1.1', protocol: 'json', status: '200' }), 4);
    assert.equal(value(p, 'runnel_requests_total', { operation: 'PutRecords', http: '2', status: '200' }), 3);
    assert.equal(value(p, 'runnel_requests_total', { operation: 'DescribeStream', status: '400', error: 'ResourceNotFoundException' }), 1);
    assert.equal(value(p, 'runnel_request_duration_ms_count', { operation: 'PutRecord' }), 4);
    assert.equal(value(p, 'kinesis_put_record_requests_total', st), 4);
    assert.equal(value(p, 'kinesis_put_record_success_total', st), 4);
    assert.equal(value(p, 'kinesis_put_record_bytes_total', st), 4 * 102);
    assert.equal(value(p, 'kinesis_put_record_latency_ms_count', st), 4);
    assert.equal(value(p, 'kinesis_put_records_total_records_total', st), 1200);
    assert.equal(value(p, 'kinesis_put_records_successful_records_total', st), accepted);
    assert.equal(value(p, 'kinesis_put_records_failed_records_total', st), failed);
    assert.equal(value(p, 'kinesis_put_records_throttled_records_total', st), throttled);
    assert.equal(value(p, 'kinesis_write_provisioned_throughput_exceeded_total', st), throttled);
    assert.equal(value(p, 'kinesis_put_records_bytes_total', st), bytesAccepted);
    assert.equal(value(p, 'kinesis_incoming_records_total', st), 4 + accepted);
    assert.equal(value(p, 'kinesis_incoming_bytes_total', st), 4 * 102 + bytesAccepted);
    assert.equal(value(p, 'kinesis_get_records_records_total', st), 3);
    assert.equal(value(p, 'kinesis_get_records_bytes_total', st), 3 * 102);
    assert.equal(value(p, 'kinesis_get_records_success_total', st), 1);
    assert.ok(p.samples.some((s) => s.name === 'kinesis_get_records_iterator_age_ms' && s.labels.stream === name));
    assert.equal(value(p, 'runnel_metrics_dropped_total'), 0);
  }
});

test('SubscribeToShard events are counted; a too-fast resubscribe is SubscribeToShard.RateExceeded', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const k = kinesisClient(srv.endpoint);
  const name = uniqueName('msub');
  await k.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  const { Consumer } = await k.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(name), ConsumerName: 'c' }));
  await sleep(50);
  const res = await k.send(new SubscribeToShardCommand({ ConsumerARN: Consumer.ConsumerARN, ShardId: shardId(0), StartingPosition: { Type: 'TRIM_HORIZON' } }));
  await k.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', Data: Buffer.alloc(40) }));
  let records = 0;
  for await (const ev of res.EventStream) {
    if (ev.SubscribeToShardEvent) records += ev.SubscribeToShardEvent.Records.length;
    if (records >= 1) break;
  }
  await assert.rejects(k.send(new SubscribeToShardCommand({ ConsumerARN: Consumer.ConsumerARN, ShardId: shardId(0), StartingPosition: { Type: 'LATEST' } })),
    (e) => e.name === 'LimitExceededException');
  const p = parse((await get(srv.port, '/metrics')).body);
  const st = { ...sid, stream: name };
  assert.equal(value(p, 'kinesis_subscribe_to_shard_event_records_total', st), 1);
  assert.equal(value(p, 'kinesis_subscribe_to_shard_event_bytes_total', st), 41);
  assert.ok(value(p, 'kinesis_subscribe_to_shard_event_success_total', st) >= 1);
  assert.equal(value(p, 'kinesis_subscribe_to_shard_rate_exceeded_total', st), 1);
  assert.ok(p.samples.some((s) => s.name === 'runnel_subscriptions'));
});

test('--metrics-max-streams bounds the stream series and counts what it drops', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--metrics-max-streams', '2'] });
  t.after(() => srv.stop());
  const k = kinesisClient(srv.endpoint);
  const names = ['a', 'b', 'c'].map((x) => uniqueName(`cap${x}`));
  for (const n of names) {
    await k.send(new CreateStreamCommand({ StreamName: n, ShardCount: 1 }));
    await k.send(new PutRecordCommand({ StreamName: n, PartitionKey: 'a', Data: Buffer.from('x') }));
    await k.send(new PutRecordCommand({ StreamName: n, PartitionKey: 'a', Data: Buffer.from('x') }));
  }
  const p = parse((await get(srv.port, '/metrics')).body);
  assert.equal(value(p, 'runnel_metrics_streams'), 2);
  assert.equal(value(p, 'runnel_metrics_dropped_total'), 2);
  assert.equal(new Set(p.samples.filter((s) => s.name === 'kinesis_incoming_records_total').map((s) => s.labels.stream)).size, 2);
});

test('verified mode: /metrics stays off the API port (403 as AWS) and is served on --admin-listen', T, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const creds = writeCredentials(dir, [ADMIN]);
  const adminPort = await freePort();
  const srv = await startRunnel({ inMemory: true, args: ['--credentials', creds, '--admin-listen', `127.0.0.1:${adminPort}`] });
  t.after(() => srv.stop());
  const k = clientAs(srv.endpoint, ADMIN);
  const name = uniqueName('mv');
  await k.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await k.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'a', Data: Buffer.from('x') }));
  const api = await get(srv.port, '/metrics');
  assert.equal(api.status, 403);
  assert.match(api.body, /AccessDenied/);
  const adm = await get(adminPort, '/metrics');
  assert.equal(adm.status, 200);
  const p = parse(adm.body);
  assert.equal(value(p, 'kinesis_incoming_records_total', { account: '123456789012', stream: name }), 1);
});

test('shard-level series appear for the metrics EnableEnhancedMonitoring asks for, per shard', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--enforce-limits'] });
  const client = kinesisClient(srv.endpoint);
  t.after(async () => { client.destroy(); await srv.stop(); });
  const watched = uniqueName('mon');
  const plain = uniqueName('plain');
  await client.send(new CreateStreamCommand({ StreamName: watched, ShardCount: 2 }));
  await client.send(new CreateStreamCommand({ StreamName: plain, ShardCount: 2 }));
  const { EnableEnhancedMonitoringCommand } = await import('@aws-sdk/client-kinesis');
  await client.send(new EnableEnhancedMonitoringCommand({
    StreamName: watched,
    ShardLevelMetrics: ['IncomingBytes', 'IncomingRecords', 'OutgoingRecords', 'IteratorAgeMilliseconds',
      'WriteProvisionedThroughputExceeded'],
  }));
  const low = '0';
  const high = (2n ** 127n + 5n).toString(); // shard 1 of 2
  // shard 0: 3 PutRecord of 10 B (key "k", 1 B); shard 1: one PutRecords of 4 x 20 B
  for (let i = 0; i < 3; i++) {
    await client.send(new PutRecordCommand({ StreamName: watched, PartitionKey: 'k', ExplicitHashKey: low, Data: Buffer.alloc(10, 1) }));
    await client.send(new PutRecordCommand({ StreamName: plain, PartitionKey: 'k', Data: Buffer.alloc(10, 1) }));
  }
  const pr = await client.send(new PutRecordsCommand({
    StreamName: watched,
    Records: Array.from({ length: 4 }, () => ({ PartitionKey: 'k', ExplicitHashKey: high, Data: Buffer.alloc(20, 2) })),
  }));
  assert.equal(pr.FailedRecordCount, 0);
  // shard 1 over its 1,000 records/s: PutRecords of 500 twice in a row throttles some entries
  let throttledEntries = 0;
  for (let k = 0; k < 3; k++) {
    const big = await client.send(new PutRecordsCommand({
      StreamName: watched,
      Records: Array.from({ length: 500 }, () => ({ PartitionKey: 'k', ExplicitHashKey: high, Data: Buffer.alloc(1, 3) })),
    }));
    throttledEntries += big.Records.filter((e) => e.ErrorCode === 'ProvisionedThroughputExceededException').length;
  }
  assert.ok(throttledEntries > 0, 'the workload throttles shard 1');
  const it = await client.send(new GetShardIteratorCommand({ StreamName: watched, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
  const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  assert.equal(got.Records.length, 3);

  const p = parse((await get(srv.port, '/metrics')).body);
  checkHistograms(p);
  const at = (shard) => ({ ...sid, stream: watched, shard_id: shardId(shard) });
  assert.equal(value(p, 'kinesis_shard_incoming_records_total', at(0)), 3);
  assert.equal(value(p, 'kinesis_shard_incoming_bytes_total', at(0)), 33);
  const accepted1 = 4 + 1500 - throttledEntries;
  assert.equal(value(p, 'kinesis_shard_incoming_records_total', at(1)), accepted1);
  assert.equal(value(p, 'kinesis_shard_incoming_bytes_total', at(1)), 4 * 21 + (1500 - throttledEntries) * 2);
  assert.equal(value(p, 'kinesis_shard_write_provisioned_throughput_exceeded_total', at(1)), throttledEntries);
  assert.equal(value(p, 'kinesis_shard_write_provisioned_throughput_exceeded_total', at(0)), 0);
  assert.equal(value(p, 'kinesis_shard_outgoing_records_total', at(0)), 3);
  assert.ok(p.samples.some((s) => s.name === 'kinesis_shard_iterator_age_ms' && s.labels.shard_id === shardId(0)
    && s.labels.stream === watched));
  // not asked for: OutgoingBytes, ReadProvisionedThroughputExceeded; and nothing for the plain stream
  assert.ok(!p.samples.some((s) => s.name === 'kinesis_shard_outgoing_bytes_total'));
  assert.ok(!p.samples.some((s) => s.name === 'kinesis_shard_read_provisioned_throughput_exceeded_total'));
  assert.ok(!p.samples.some((s) => s.name.startsWith('kinesis_shard_') && s.labels.stream === plain));
  assert.equal(value(p, 'runnel_metrics_shards'), 2);
  // the stream-level series still count everything
  assert.equal(value(p, 'kinesis_incoming_records_total', { ...sid, stream: watched }), 3 + accepted1);
});

test('the HTTP layer\'s series: connections open and accepted, request bytes buffered and their bound', T, async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--max-connections', '50', '--max-buffered-bytes', '1048576'] });
  t.after(() => srv.stop());
  const p1 = parse((await get(srv.port, '/metrics')).body);
  assert.equal(p1.types.get('runnel_connections'), 'gauge');
  assert.equal(p1.types.get('runnel_connections_accepted_total'), 'counter');
  assert.ok(value(p1, 'runnel_connections') >= 1, 'the scrape\'s own connection is open');
  assert.equal(value(p1, 'runnel_connections_max'), 50);
  assert.equal(value(p1, 'runnel_request_bytes_buffered_max'), 1048576);
  const before = value(p1, 'runnel_connections_accepted_total');
  // three more connections held open while scraping
  const sockets = [];
  for (let i = 0; i < 3; i++) {
    sockets.push(await new Promise((resolve, reject) => {
      const s = net.connect(srv.port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    }));
  }
  t.after(() => { for (const s of sockets) s.destroy(); });
  await sleep(100);
  const p2 = parse((await get(srv.port, '/metrics')).body);
  assert.ok(value(p2, 'runnel_connections') >= 4, `open: ${value(p2, 'runnel_connections')}`);
  assert.ok(value(p2, 'runnel_connections_accepted_total') >= before + 4);
});

test('the store\'s series: group-commit fdatasync latency and size, open logs, journal, metadata and per-stream disk bytes', T, async (t) => {
  const srv = await startRunnel({ args: ['--fsync', 'always'] });
  const client = kinesisClient(srv.endpoint);
  t.after(async () => { client.destroy(); await srv.stop(); });
  const a = uniqueName('disk');
  const b = uniqueName('idle');
  await client.send(new CreateStreamCommand({ StreamName: a, ShardCount: 2 }));
  await client.send(new CreateStreamCommand({ StreamName: b, ShardCount: 1 }));
  const p0 = parse((await get(srv.port, '/metrics')).body);
  const commits0 = value(p0, 'runnel_store_group_commit_size_sum');
  const puts = 12;
  await Promise.all(Array.from({ length: puts }, (_, i) => client.send(new PutRecordCommand({
    StreamName: a, PartitionKey: `k${i}`, Data: Buffer.alloc(3000, i),
  }))));
  const p = parse((await get(srv.port, '/metrics')).body);
  checkHistograms(p);
  assert.equal(p.types.get('runnel_store_sync_duration_ms'), 'histogram');
  assert.equal(p.types.get('runnel_store_group_commit_size'), 'histogram');
  assert.ok(value(p, 'runnel_store_sync_duration_ms_count') >= 1);
  // every PutRecord under fsync always waited for one synced batch: the batches answered them all
  assert.ok(value(p, 'runnel_store_group_commit_size_sum') - commits0 >= puts,
    `commits answered: ${value(p, 'runnel_store_group_commit_size_sum') - commits0}`);
  assert.ok(value(p, 'runnel_store_fdatasync_total') >= 1);
  assert.ok(value(p, 'runnel_store_open_logs') >= 1);
  assert.ok(value(p, 'runnel_store_open_files') >= 1);
  assert.ok(value(p, 'runnel_store_open_files') <= value(p, 'runnel_store_open_files_max'));
  assert.equal(p.types.get('runnel_store_files_evicted_total'), 'counter');
  assert.ok(value(p, 'runnel_store_journal_bytes') > 0);
  assert.ok(value(p, 'runnel_store_metadata_bytes') > 0);
  assert.equal(value(p, 'runnel_streams'), 2);
  const disk = p.samples.filter((s) => s.name === 'runnel_stream_disk_bytes');
  assert.deepEqual(disk.map((s) => s.labels.stream).sort(), [a, b].sort());
  assert.equal(value(p, 'runnel_stream_disk_bytes', { stream: b }), 0);

  const mem = await startRunnel({ inMemory: true });
  t.after(() => mem.stop());
  const pm = parse((await get(mem.port, '/metrics')).body);
  assert.equal(value(pm, 'runnel_store_journal_bytes'), 0);
  assert.equal(value(pm, 'runnel_store_metadata_bytes'), 0);
  assert.equal(value(pm, 'runnel_store_sync_duration_ms_count'), 0); // no sync thread in memory
});
