// api.test.mjs: every operation runnel implements, through @aws-sdk/client-kinesis, against a real
// runnel process. The whole suite runs twice: over HTTP/2 (the SDK's default NodeHttp2Handler, h2c
// prior knowledge) and over HTTP/1.1 (NodeHttpHandler). Expected values come from
// ../shared/KINESIS_CONTRACT.md (§3.2 hash ranges, §3.4 sequence numbers, §4 control plane, §6 errors).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand,
  DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand,
  ListStreamsCommand, MergeShardsCommand, PutRecordCommand, PutRecordsCommand,
  SplitShardCommand, UpdateChannelCommand,
} from '@aws-sdk/client-kinesis';
import {
  ACCOUNT, kinesisClient, sleep, startRunnel, streamArn, uniqueName,
} from './runnel.mjs';
import {
  HASH_MAX, SEQ_RE, SHARD_ID_RE, assertOk, expectError, expectedShardForKey, hashRanges, md5Hash,
  outputOf, readFromIterator, readShard, shardId, shardIndexFor, text,
} from './kinesis.mjs';

const T = { timeout: 60000 };

const notFound = (name) => `Stream ${name} under account ${ACCOUNT} not found.`;
const shardMissing = (sid, name) => `Shard ${sid} in stream ${name} under account ${ACCOUNT} does not exist`;
const validation1 = (value, member, rule) =>
  `1 validation error detected: Value ${value === null ? 'null' : `'${value}'`} at '${member}' failed to satisfy constraint: ${rule}`;

function assertNear(date, ms = 120000) {
  assert.ok(date instanceof Date, `expected a Date, got ${date}`);
  assert.ok(Math.abs(date.getTime() - Date.now()) < ms, `time ${date.toISOString()} not near now`);
}

for (const proto of ['http2', 'http1']) {
  describe(`Kinesis API over ${proto === 'http2' ? 'HTTP/2' : 'HTTP/1.1'}`, () => {
    let srv;
    let client;
    const P = proto; // stream name prefix

    before(async () => {
      srv = await startRunnel();
      client = kinesisClient(srv.endpoint, { http1: proto === 'http1' });
    });
    after(async () => {
      try { client?.destroy(); } finally { await srv?.stop(); }
    });

    async function create(name, shards) {
      const input = { StreamName: name };
      if (shards !== undefined) input.ShardCount = shards;
      const res = await client.send(new CreateStreamCommand(input));
      assertOk(res);
      assert.deepEqual(outputOf(res), {}, 'CreateStream has no output members');
      return name;
    }
    const put = (StreamName, PartitionKey, Data, extra = {}) =>
      client.send(new PutRecordCommand({ StreamName, PartitionKey, Data: Buffer.from(Data), ...extra }));

    // ---------------------------------------------------------------- CreateStream / DescribeStream
    test('CreateStream(3) then DescribeStream: ACTIVE, exact layout and defaults', T, async () => {
      const name = await create(uniqueName(`${P}-desc`), 3);
      const res = await client.send(new DescribeStreamCommand({ StreamName: name }));
      assertOk(res);
      const d = res.StreamDescription;
      assert.equal(d.StreamName, name);
      assert.equal(d.StreamARN, `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`);
      assert.equal(d.StreamStatus, 'ACTIVE');
      assert.deepEqual(d.StreamModeDetails, { StreamMode: 'PROVISIONED' });
      assert.equal(d.HasMoreShards, false);
      assert.equal(d.RetentionPeriodHours, 24);
      assertNear(d.StreamCreationTimestamp);
      assert.deepEqual(d.EnhancedMonitoring, [{ ShardLevelMetrics: [] }]);
      assert.equal(d.EncryptionType, 'NONE');
      assert.equal(d.KeyId, undefined);
      assert.equal(d.Shards.length, 3);
      const expected = [
        ['0', '113427455640312821154458202477256070484'],
        ['113427455640312821154458202477256070485', '226854911280625642308916404954512140969'],
        ['226854911280625642308916404954512140970', '340282366920938463463374607431768211455'],
      ];
      d.Shards.forEach((s, i) => {
        assert.equal(s.ShardId, shardId(i));
        assert.deepEqual(s.HashKeyRange, { StartingHashKey: expected[i][0], EndingHashKey: expected[i][1] });
        assert.match(s.SequenceNumberRange.StartingSequenceNumber, SEQ_RE);
        assert.equal(s.SequenceNumberRange.EndingSequenceNumber, undefined, 'open shard has no end');
        assert.equal(s.ParentShardId, undefined);
        assert.equal(s.AdjacentParentShardId, undefined);
      });
      assert.deepEqual(hashRanges(3).map((r) => [r.StartingHashKey, r.EndingHashKey]), expected);
    });

    test('CreateStream without ShardCount or mode: ON_DEMAND with 4 shards', T, async () => {
      const name = await create(uniqueName(`${P}-od`));
      const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      assert.equal(d.StreamStatus, 'ACTIVE');
      assert.deepEqual(d.StreamModeDetails, { StreamMode: 'ON_DEMAND' });
      assert.equal(d.Shards.length, 4);
      assert.deepEqual(d.Shards.map((s) => s.HashKeyRange), hashRanges(4));
      assert.deepEqual(d.Shards.map((s) => s.ShardId), [0, 1, 2, 3].map(shardId));
      const { StreamDescriptionSummary: s } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      assert.equal(s.OpenShardCount, 4);
      assert.deepEqual(s.StreamModeDetails, { StreamMode: 'ON_DEMAND' });
    });

    test('CreateStream with StreamModeDetails ON_DEMAND and no ShardCount: 4 shards', T, async () => {
      const name = uniqueName(`${P}-od2`);
      await client.send(new CreateStreamCommand({ StreamName: name, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
      const { StreamDescriptionSummary: s } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      assert.equal(s.OpenShardCount, 4);
      assert.deepEqual(s.StreamModeDetails, { StreamMode: 'ON_DEMAND' });
    });

    test('DescribeStream paging: Limit, ExclusiveStartShardId, HasMoreShards', T, async () => {
      const name = await create(uniqueName(`${P}-page`), 5);
      const page = async (input) => (await client.send(new DescribeStreamCommand({ StreamName: name, ...input }))).StreamDescription;
      let d = await page({ Limit: 2 });
      assert.deepEqual(d.Shards.map((s) => s.ShardId), [shardId(0), shardId(1)]);
      assert.equal(d.HasMoreShards, true);
      d = await page({ Limit: 2, ExclusiveStartShardId: shardId(1) });
      assert.deepEqual(d.Shards.map((s) => s.ShardId), [shardId(2), shardId(3)]);
      assert.equal(d.HasMoreShards, true);
      d = await page({ Limit: 2, ExclusiveStartShardId: shardId(3) });
      assert.deepEqual(d.Shards.map((s) => s.ShardId), [shardId(4)]);
      assert.equal(d.HasMoreShards, false);
      d = await page({ ExclusiveStartShardId: shardId(0) });
      assert.deepEqual(d.Shards.map((s) => s.ShardId), [1, 2, 3, 4].map(shardId));
      assert.equal(d.HasMoreShards, false);
      d = await page({ ExclusiveStartShardId: shardId(4) });
      assert.deepEqual(d.Shards, []);
      assert.equal(d.HasMoreShards, false);
      d = await page({ Limit: 5 });
      assert.equal(d.Shards.length, 5);
      assert.equal(d.HasMoreShards, false);
      await expectError(page({ Limit: 0 }), {
        name: 'ValidationException',
        message: validation1('0', 'limit', 'Member must have value greater than or equal to 1'),
      });
      await expectError(page({ Limit: 10001 }), {
        name: 'ValidationException',
        message: validation1('10001', 'limit', 'Member must have value less than or equal to 10000'),
      });
    });

    test('DescribeStreamSummary: fields and OpenShardCount', T, async () => {
      const name = await create(uniqueName(`${P}-sum`), 3);
      const res = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      assertOk(res);
      const s = res.StreamDescriptionSummary;
      assert.equal(s.StreamName, name);
      assert.equal(s.StreamARN, streamArn(name));
      assert.equal(s.StreamStatus, 'ACTIVE');
      assert.deepEqual(s.StreamModeDetails, { StreamMode: 'PROVISIONED' });
      assert.equal(s.RetentionPeriodHours, 24);
      assertNear(s.StreamCreationTimestamp);
      assert.deepEqual(s.EnhancedMonitoring, [{ ShardLevelMetrics: [] }]);
      assert.equal(s.EncryptionType, 'NONE');
      assert.equal(s.OpenShardCount, 3);
      if (s.ConsumerCount !== undefined) assert.equal(s.ConsumerCount, 0);
      if (s.MaxRecordSizeInKiB !== undefined) assert.equal(s.MaxRecordSizeInKiB, 1024);
      assert.equal(s.Shards, undefined);
      assert.equal(s.HasMoreShards, undefined);
      // Same creation time as DescribeStream reports.
      const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      assert.equal(d.StreamCreationTimestamp.getTime(), s.StreamCreationTimestamp.getTime());
    });

    // ---------------------------------------------------------------- ListStreams
    test('ListStreams: all, Limit 1 + NextToken paging, ExclusiveStartStreamName, StreamSummaries', T, async () => {
      const base = uniqueName(`${P}-ls`);
      const mine = [`${base}-a`, `${base}-b`, `${base}-c`];
      for (const n of mine) await create(n, 1);

      const all = await client.send(new ListStreamsCommand({}));
      assertOk(all);
      assert.equal(all.HasMoreStreams, false);
      assert.equal(all.NextToken, undefined);
      for (const n of mine) assert.ok(all.StreamNames.includes(n), `${n} listed`);
      assert.deepEqual([...all.StreamNames].sort(), all.StreamNames, 'names in lexicographic order');
      assert.equal(new Set(all.StreamNames).size, all.StreamNames.length);
      assert.deepEqual(all.StreamSummaries.map((s) => s.StreamName), all.StreamNames);
      for (const n of mine) {
        const s = all.StreamSummaries.find((x) => x.StreamName === n);
        assert.equal(s.StreamARN, streamArn(n));
        assert.equal(s.StreamStatus, 'ACTIVE');
        assert.deepEqual(s.StreamModeDetails, { StreamMode: 'PROVISIONED' });
        assertNear(s.StreamCreationTimestamp);
      }

      // Limit 1 + NextToken walks the whole list, one name per page.
      const walked = [];
      let token;
      for (let i = 0; i < 1000; i++) {
        const input = { Limit: 1 };
        if (token) input.NextToken = token;
        const r = await client.send(new ListStreamsCommand(input));
        assert.equal(r.StreamNames.length, 1, `page ${i} has one name`);
        assert.equal(r.StreamSummaries.length, 1);
        walked.push(r.StreamNames[0]);
        if (r.HasMoreStreams) assert.equal(typeof r.NextToken, 'string', 'NextToken when HasMoreStreams');
        else { assert.equal(r.NextToken, undefined); break; }
        token = r.NextToken;
      }
      assert.deepEqual(walked, all.StreamNames);

      // Legacy ExclusiveStartStreamName: strictly after.
      const r = await client.send(new ListStreamsCommand({ ExclusiveStartStreamName: mine[0], Limit: 2 }));
      assert.deepEqual(r.StreamNames, [mine[1], mine[2]]);
      const rest = all.StreamNames.filter((n) => n > mine[2]);
      assert.equal(r.HasMoreStreams, rest.length > 0);

      await expectError(client.send(new ListStreamsCommand({ Limit: 0 })), {
        name: 'ValidationException',
        message: validation1('0', 'limit', 'Member must have value greater than or equal to 1'),
      });
    });

    // ---------------------------------------------------------------- ListShards
    test('ListShards: all, MaxResults + NextToken, ExclusiveStartShardId, ShardFilter', T, async () => {
      const name = await create(uniqueName(`${P}-lsh`), 5);
      const ls = (input) => client.send(new ListShardsCommand(input));
      const ids = (r) => r.Shards.map((s) => s.ShardId);

      const all = await ls({ StreamName: name });
      assertOk(all);
      assert.deepEqual(ids(all), [0, 1, 2, 3, 4].map(shardId));
      assert.equal(all.NextToken, undefined);
      assert.deepEqual(all.Shards.map((s) => s.HashKeyRange), hashRanges(5));
      for (const s of all.Shards) assert.match(s.SequenceNumberRange.StartingSequenceNumber, SEQ_RE);
      const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      assert.deepEqual(all.Shards, d.Shards, 'ListShards and DescribeStream agree');

      let r = await ls({ StreamName: name, MaxResults: 2 });
      assert.deepEqual(ids(r), [shardId(0), shardId(1)]);
      assert.equal(typeof r.NextToken, 'string');
      r = await ls({ NextToken: r.NextToken, MaxResults: 2 });
      assert.deepEqual(ids(r), [shardId(2), shardId(3)]);
      assert.equal(typeof r.NextToken, 'string');
      r = await ls({ NextToken: r.NextToken, MaxResults: 2 });
      assert.deepEqual(ids(r), [shardId(4)]);
      assert.equal(r.NextToken, undefined);

      r = await ls({ StreamName: name, ExclusiveStartShardId: shardId(2) });
      assert.deepEqual(ids(r), [shardId(3), shardId(4)]);
      r = await ls({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' } });
      assert.deepEqual(ids(r), [0, 1, 2, 3, 4].map(shardId));
      r = await ls({ StreamName: name, ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: shardId(0) } });
      assert.deepEqual(ids(r), [1, 2, 3, 4].map(shardId));
      r = await ls({ StreamName: name, ShardFilter: { Type: 'AT_TRIM_HORIZON' } });
      assert.deepEqual(ids(r), [0, 1, 2, 3, 4].map(shardId));
      r = await ls({ StreamName: name, ShardFilter: { Type: 'FROM_TRIM_HORIZON' } });
      assert.deepEqual(ids(r), [0, 1, 2, 3, 4].map(shardId));
      r = await ls({ StreamName: name, StreamCreationTimestamp: d.StreamCreationTimestamp });
      assert.deepEqual(ids(r), [0, 1, 2, 3, 4].map(shardId));

      const first = await ls({ StreamName: name, MaxResults: 1 });
      await expectError(ls({ StreamName: name, NextToken: first.NextToken }), {
        name: 'InvalidArgumentException', message: 'NextToken and StreamName cannot be provided together.',
      });
      await expectError(ls({}), {
        name: 'InvalidArgumentException', message: 'Either NextToken or StreamName should be provided.',
      });
      await expectError(ls({ StreamName: 'nope' }), { name: 'ResourceNotFoundException', message: notFound('nope') });
      await expectError(ls({ StreamName: name, MaxResults: 0 }), {
        name: 'ValidationException',
        message: validation1('0', 'maxResults', 'Member must have value greater than or equal to 1'),
      });
    });

    // ---------------------------------------------------------------- PutRecord routing
    test('PutRecord routes by MD5(partition key) to the shard whose range holds it', T, async () => {
      // The contract's worked example, to prove the test's own arithmetic.
      assert.equal(md5Hash('partitionKey-1'), 159499196025307651934328298402289840726n);
      const name = await create(uniqueName(`${P}-route`), 3);
      const seen = new Set();
      for (let i = 0; i < 30; i++) {
        const pk = `partitionKey-${i}`;
        const res = await put(name, pk, `data-${i}`);
        assertOk(res);
        assert.equal(res.ShardId, expectedShardForKey(pk, 3), `routing of ${pk}`);
        assert.match(res.SequenceNumber, SEQ_RE);
        if (res.EncryptionType !== undefined) assert.equal(res.EncryptionType, 'NONE');
        seen.add(res.ShardId);
      }
      assert.equal(seen.size, 3, 'all three shards were hit');
    });

    test('PutRecord ExplicitHashKey overrides the partition key; range checks', T, async () => {
      const name = await create(uniqueName(`${P}-ehk`), 3);
      const r = hashRanges(3);
      // A key that MD5-routes to shard 0, pinned to shard 2 by ExplicitHashKey.
      let pk;
      for (let i = 0; i < 1000 && !pk; i++) if (shardIndexFor(md5Hash(`k${i}`), 3) === 0) pk = `k${i}`;
      let res = await put(name, pk, 'x', { ExplicitHashKey: r[2].StartingHashKey });
      assert.equal(res.ShardId, shardId(2));
      const cases = [
        ['0', 0], [r[0].EndingHashKey, 0], [r[1].StartingHashKey, 1], [r[1].EndingHashKey, 1],
        [r[2].StartingHashKey, 2], [HASH_MAX.toString(), 2],
      ];
      for (const [h, want] of cases) {
        res = await put(name, pk, `h${h}`, { ExplicitHashKey: h });
        assert.equal(res.ShardId, shardId(want), `ExplicitHashKey ${h}`);
      }
      const big = (1n << 128n).toString();
      await expectError(put(name, pk, 'x', { ExplicitHashKey: big }), {
        name: 'InvalidArgumentException',
        message: `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${big}`,
      });
      await expectError(put(name, pk, 'x', { ExplicitHashKey: 'abc' }), {
        name: 'ValidationException',
        message: validation1('abc', 'explicitHashKey', 'Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})'),
      });
      // The record really is in shard 2.
      const { records } = await readShard(client, name, shardId(2));
      assert.ok(records.some((x) => text(x.Data) === 'x' && x.PartitionKey === pk));
    });

    test('partition keys with non-ASCII and NUL characters: routed by MD5 of their UTF-8 bytes, read back intact', T, async () => {
      const name = await create(uniqueName(`${P}-utf8`), 4);
      const keys = ['ключ', '€uro', 'キー', 'a\u0000b', '\u0000', 'x\u0000y\u0000z', 'é'.repeat(256)];
      const want = new Map();
      for (const pk of keys) {
        const r = await put(name, pk, `d:${pk}`);
        assert.equal(r.ShardId, expectedShardForKey(pk, 4), `routing of ${JSON.stringify(pk)}`);
        want.set(pk, r);
      }
      const r = await client.send(new PutRecordsCommand({ StreamName: name, Records: keys.map((pk) => ({ PartitionKey: pk, Data: Buffer.from(`e:${pk}`) })) }));
      r.Records.forEach((x, i) => assert.equal(x.ShardId, expectedShardForKey(keys[i], 4), `PutRecords routing of ${JSON.stringify(keys[i])}`));
      for (const pk of keys) {
        const { records } = await readShard(client, name, expectedShardForKey(pk, 4));
        const got = records.filter((x) => text(x.Data) === `d:${pk}`);
        assert.equal(got.length, 1, `record of ${JSON.stringify(pk)}`);
        assert.equal(got[0].PartitionKey, pk, 'partition key read back intact');
      }
      await expectError(put(name, 'é'.repeat(257), 'x'), {
        name: 'ValidationException',
        message: validation1('é'.repeat(257), 'partitionKey', 'Member must have length less than or equal to 256'),
      });
      // A NUL inside a stream name is a pattern violation, never a different (truncated) stream.
      await expectError(client.send(new DescribeStreamSummaryCommand({ StreamName: `${name}\u0000x` })), {
        name: 'ValidationException',
        message: validation1(`${name}\u0000x`, 'streamName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+'),
      });
    });

    test('PutRecord: partition-key validation', T, async () => {
      const name = await create(uniqueName(`${P}-pkv`), 1);
      const long = 'k'.repeat(257);
      await expectError(put(name, long, 'x'), {
        name: 'ValidationException',
        message: validation1(long, 'partitionKey', 'Member must have length less than or equal to 256'),
      });
      await expectError(put(name, '', 'x'), {
        name: 'ValidationException',
        message: validation1('', 'partitionKey', 'Member must have length greater than or equal to 1'),
      });
      const ok = await put(name, 'k'.repeat(256), 'x');
      assert.equal(ok.ShardId, shardId(0));
    });

    test('sequence numbers strictly increase per shard (as BigInt), and reads return write order', T, async () => {
      const name = await create(uniqueName(`${P}-seq`), 2);
      const last = new Map();
      const written = new Map();
      for (let i = 0; i < 60; i++) {
        const pk = `key-${i % 7}`;
        const res = await put(name, pk, `v${i}`);
        assert.match(res.SequenceNumber, SEQ_RE);
        const seq = BigInt(res.SequenceNumber);
        const prev = last.get(res.ShardId);
        if (prev !== undefined) assert.ok(seq > prev, `${res.SequenceNumber} > ${prev} in ${res.ShardId}`);
        last.set(res.ShardId, seq);
        if (!written.has(res.ShardId)) written.set(res.ShardId, []);
        written.get(res.ShardId).push({ seq: res.SequenceNumber, data: `v${i}`, pk });
      }
      // Starting sequence numbers sort below every record of their shard.
      const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      for (const s of d.Shards) {
        const w = written.get(s.ShardId) ?? [];
        if (w.length) assert.ok(BigInt(s.SequenceNumberRange.StartingSequenceNumber) <= BigInt(w[0].seq));
        const { records } = await readShard(client, name, s.ShardId);
        assert.deepEqual(records.map((r) => ({ seq: r.SequenceNumber, data: text(r.Data), pk: r.PartitionKey })), w);
      }
      // Unique across the stream.
      const all = [...written.values()].flat().map((x) => x.seq);
      assert.equal(new Set(all).size, all.length);
    });

    test('PutRecord SequenceNumberForOrdering', T, async () => {
      const name = await create(uniqueName(`${P}-sfo`), 1);
      const a = await put(name, 'pk', 'a');
      const b = await put(name, 'pk', 'b', { SequenceNumberForOrdering: a.SequenceNumber });
      assert.ok(BigInt(b.SequenceNumber) > BigInt(a.SequenceNumber));
      const c = await put(name, 'pk', 'c', { SequenceNumberForOrdering: b.SequenceNumber });
      assert.ok(BigInt(c.SequenceNumber) > BigInt(b.SequenceNumber));
      const { records } = await readShard(client, name, shardId(0));
      assert.deepEqual(records.map((r) => text(r.Data)), ['a', 'b', 'c']);
      await expectError(put(name, 'pk', 'x', { SequenceNumberForOrdering: 'abc' }), {
        name: 'ValidationException',
        message: validation1('abc', 'sequenceNumberForOrdering', 'Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})'),
      });
      await expectError(put(name, 'pk', 'x', { SequenceNumberForOrdering: '1' }), {
        name: 'InvalidArgumentException',
        message: `ExclusiveMinimumSequenceNumber 1 used in PutRecord on stream ${name} under account ${ACCOUNT} is invalid.`,
      });
    });

    // ---------------------------------------------------------------- PutRecords
    test('PutRecords 500 records: results in request order, FailedRecordCount 0, mixed shards', T, async () => {
      const name = await create(uniqueName(`${P}-prs`), 3);
      const entries = Array.from({ length: 500 }, (_, i) => ({
        PartitionKey: `pk-${i}`, Data: Buffer.from(`rec-${i}`),
      }));
      // Two entries pinned with ExplicitHashKey.
      entries[10].ExplicitHashKey = '0';
      entries[11].ExplicitHashKey = HASH_MAX.toString();
      const res = await client.send(new PutRecordsCommand({ StreamName: name, Records: entries }));
      assertOk(res);
      assert.equal(res.FailedRecordCount, 0);
      if (res.EncryptionType !== undefined) assert.equal(res.EncryptionType, 'NONE');
      assert.equal(res.Records.length, 500);
      const perShard = new Map();
      res.Records.forEach((r, i) => {
        assert.equal(r.ErrorCode, undefined, `entry ${i}: ${r.ErrorCode} ${r.ErrorMessage}`);
        assert.equal(r.ErrorMessage, undefined);
        let want = expectedShardForKey(`pk-${i}`, 3);
        if (i === 10) want = shardId(0);
        if (i === 11) want = shardId(2);
        assert.equal(r.ShardId, want, `entry ${i} routed`);
        assert.match(r.SequenceNumber, SEQ_RE);
        if (!perShard.has(r.ShardId)) perShard.set(r.ShardId, []);
        perShard.get(r.ShardId).push({ seq: r.SequenceNumber, data: `rec-${i}`, pk: `pk-${i}` });
      });
      assert.equal(perShard.size, 3, 'records spread over all shards');
      for (const [sid, list] of perShard) {
        for (let k = 1; k < list.length; k++) {
          assert.ok(BigInt(list[k].seq) > BigInt(list[k - 1].seq), `request order = sequence order in ${sid}`);
        }
        const { records } = await readShard(client, name, sid);
        assert.deepEqual(records.map((r) => ({ seq: r.SequenceNumber, data: text(r.Data), pk: r.PartitionKey })), list);
      }
    });

    test('PutRecords validation: 501 entries, bad entry member, missing stream', T, async () => {
      const name = await create(uniqueName(`${P}-prv`), 1);
      const mk = (n) => Array.from({ length: n }, (_, i) => ({ PartitionKey: `p${i}`, Data: Buffer.from('x') }));
      const e = await expectError(client.send(new PutRecordsCommand({ StreamName: name, Records: mk(501) })), {
        name: 'ValidationException',
        message: /^1 validation error detected: Value .*at 'records' failed to satisfy constraint: Member must have length less than or equal to 500$/,
      });
      assert.ok(e);
      const recs = mk(3);
      recs[1].PartitionKey = 'k'.repeat(257);
      await expectError(client.send(new PutRecordsCommand({ StreamName: name, Records: recs })), {
        name: 'ValidationException',
        message: validation1('k'.repeat(257), 'records.2.member.partitionKey', 'Member must have length less than or equal to 256'),
      });
      await expectError(client.send(new PutRecordsCommand({ StreamName: 'nope', Records: mk(1) })), {
        name: 'ResourceNotFoundException', message: notFound('nope'),
      });
      // Nothing was written by the rejected calls.
      const { records } = await readShard(client, name, shardId(0));
      assert.equal(records.length, 0);
    });

    // ---------------------------------------------------------------- GetShardIterator / GetRecords
    test('GetShardIterator: AT_/AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP', T, async () => {
      const name = await create(uniqueName(`${P}-it`), 1);
      const sid = shardId(0);
      const seqs = [];
      for (let i = 0; i < 3; i++) seqs.push((await put(name, 'pk', `r${i}`)).SequenceNumber);
      await sleep(50);
      const mid = new Date();
      await sleep(50);
      for (let i = 3; i < 5; i++) seqs.push((await put(name, 'pk', `r${i}`)).SequenceNumber);
      const first = async (type, extra = {}) => {
        const res = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: sid, ShardIteratorType: type, ...extra }));
        assertOk(res);
        assert.equal(typeof res.ShardIterator, 'string');
        assert.ok(res.ShardIterator.length >= 1 && res.ShardIterator.length <= 512, 'iterator 1..512 chars');
        const { records } = await readFromIterator(client, res.ShardIterator);
        return records.map((r) => text(r.Data));
      };
      assert.deepEqual(await first('TRIM_HORIZON'), ['r0', 'r1', 'r2', 'r3', 'r4']);
      assert.deepEqual(await first('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: seqs[2] }), ['r2', 'r3', 'r4']);
      assert.deepEqual(await first('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: seqs[2] }), ['r3', 'r4']);
      assert.deepEqual(await first('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: seqs[4] }), []);
      assert.deepEqual(await first('AT_TIMESTAMP', { Timestamp: mid }), ['r3', 'r4']);
      assert.deepEqual(await first('AT_TIMESTAMP', { Timestamp: new Date(Date.now() - 3600e3) }), ['r0', 'r1', 'r2', 'r3', 'r4']);
      // The shard's StartingSequenceNumber is accepted although no record carries it.
      const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      const start = d.Shards[0].SequenceNumberRange.StartingSequenceNumber;
      assert.deepEqual(await first('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: start }), ['r0', 'r1', 'r2', 'r3', 'r4']);

      // LATEST sees only records written after the iterator was issued.
      const { ShardIterator: latest } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: sid, ShardIteratorType: 'LATEST' }));
      let r = await client.send(new GetRecordsCommand({ ShardIterator: latest }));
      assert.deepEqual(r.Records, []);
      assert.equal(r.MillisBehindLatest, 0);
      await put(name, 'pk', 'r5');
      r = await client.send(new GetRecordsCommand({ ShardIterator: r.NextShardIterator }));
      assert.deepEqual(r.Records.map((x) => text(x.Data)), ['r5']);
      // The LATEST iterator itself is a reusable position token.
      r = await client.send(new GetRecordsCommand({ ShardIterator: latest }));
      assert.deepEqual(r.Records.map((x) => text(x.Data)), ['r5']);
    });

    test('GetShardIterator errors', T, async () => {
      const name = await create(uniqueName(`${P}-ite`), 1);
      const seq = (await put(name, 'pk', 'a')).SequenceNumber;
      const gsi = (extra) => client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ...extra }));
      const mustEither = 'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified';
      await expectError(gsi({ ShardIteratorType: 'TRIM_HORIZON', StartingSequenceNumber: seq }), {
        name: 'InvalidArgumentException', message: `${mustEither} TRIM_HORIZON and also a StartingSequenceNumber.`,
      });
      await expectError(gsi({ ShardIteratorType: 'AT_SEQUENCE_NUMBER' }), {
        name: 'InvalidArgumentException', message: `${mustEither} AT_SEQUENCE_NUMBER and no StartingSequenceNumber.`,
      });
      await expectError(gsi({ ShardIteratorType: 'AT_TIMESTAMP' }), {
        name: 'InvalidArgumentException',
        message: 'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.',
      });
      const future = new Date(Date.now() + 3600e3);
      await expectError(gsi({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: future }), {
        name: 'InvalidArgumentException',
        message: new RegExp(`^The timestampInMillis parameter cannot be greater than the currentTimestampInMillis\\. timestampInMillis: ${future.getTime()}, currentTimestampInMillis: \\d{13}$`),
      });
      await expectError(gsi({ ShardIteratorType: 'FOO' }), {
        name: 'ValidationException',
        message: validation1('FOO', 'shardIteratorType', 'Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]'),
      });
      await expectError(client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(9), ShardIteratorType: 'LATEST' })), {
        name: 'ResourceNotFoundException', message: shardMissing(shardId(9), name),
      });
      await expectError(client.send(new GetShardIteratorCommand({ StreamName: 'nope', ShardId: shardId(0), ShardIteratorType: 'LATEST' })), {
        name: 'ResourceNotFoundException', message: shardMissing(shardId(0), 'nope'),
      });
    });

    test('GetRecords: Limit, NextShardIterator chaining, MillisBehindLatest, record fields', T, async () => {
      const name = await create(uniqueName(`${P}-gr`), 1);
      const seqs = [];
      for (let i = 0; i < 10; i++) seqs.push((await put(name, `pk${i}`, `d${i}`)).SequenceNumber);
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
      let it = ShardIterator;
      const sizes = [];
      const got = [];
      for (let i = 0; i < 6; i++) {
        const r = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 3 }));
        assertOk(r);
        assert.equal(typeof r.MillisBehindLatest, 'number');
        assert.ok(r.MillisBehindLatest >= 0);
        assert.equal(typeof r.NextShardIterator, 'string', 'open shard: NextShardIterator present');
        assert.equal(r.ChildShards, undefined, 'open shard: no ChildShards');
        sizes.push(r.Records.length);
        for (const rec of r.Records) {
          assertNear(rec.ApproximateArrivalTimestamp);
          got.push({ seq: rec.SequenceNumber, pk: rec.PartitionKey, data: text(rec.Data) });
        }
        if (r.Records.length === 0) assert.equal(r.MillisBehindLatest, 0, 'caught up: MillisBehindLatest 0');
        it = r.NextShardIterator;
      }
      assert.deepEqual(sizes, [3, 3, 3, 1, 0, 0]);
      assert.deepEqual(got, seqs.map((s, i) => ({ seq: s, pk: `pk${i}`, data: `d${i}` })));
      // Reusing an iterator re-reads from the same position.
      const again = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 2 }));
      assert.deepEqual(again.Records.map((r) => r.SequenceNumber), seqs.slice(0, 2));

      await expectError(client.send(new GetRecordsCommand({ ShardIterator, Limit: 0 })), {
        name: 'ValidationException', message: validation1('0', 'limit', 'Member must have value greater than or equal to 1'),
      });
      await expectError(client.send(new GetRecordsCommand({ ShardIterator, Limit: 10001 })), {
        name: 'ValidationException', message: validation1('10001', 'limit', 'Member must have value less than or equal to 10000'),
      });
      for (const bad of ['garbage', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '!!!not base64!!!']) {
        await expectError(client.send(new GetRecordsCommand({ ShardIterator: bad })), {
          name: 'InvalidArgumentException', message: 'Invalid ShardIterator.',
        });
      }
    });

    test('a tampered iterator is rejected (contract §3.5: iterators are authenticated)', T, async () => {
      const name = await create(uniqueName(`${P}-tamper`), 1);
      await put(name, 'pk', 'x');
      const { ShardIterator: it } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
      // Flip one character in the middle to another base64 character.
      const i = Math.floor(it.length / 2);
      const tampered = it.slice(0, i) + (it[i] === 'B' ? 'C' : 'B') + it.slice(i + 1);
      await expectError(client.send(new GetRecordsCommand({ ShardIterator: tampered })), {
        name: 'InvalidArgumentException', message: 'Invalid ShardIterator.',
      });
    });

    test('MillisBehindLatest is > 0 when reading old records', T, async () => {
      const name = await create(uniqueName(`${P}-mbl`), 1);
      await put(name, 'pk', 'old');
      await put(name, 'pk', 'old2');
      await sleep(1100);
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
      const r = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
      assert.equal(r.Records.length, 1);
      assert.ok(r.MillisBehindLatest > 0, `MillisBehindLatest ${r.MillisBehindLatest} must not be hard-coded to 0`);
    });

    test('Data round-trips binary bytes (all 256 byte values, and a 900 KiB record)', T, async () => {
      const name = await create(uniqueName(`${P}-bin`), 1);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const big = Buffer.alloc(900 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;
      const r1 = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'bin', Data: all }));
      const r2 = await client.send(new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: 'bin', Data: all }, { PartitionKey: 'big', Data: big }] }));
      assert.equal(r2.FailedRecordCount, 0);
      const { records } = await readShard(client, name, shardId(0));
      assert.equal(records.length, 3);
      assert.equal(records[0].SequenceNumber, r1.SequenceNumber);
      assert.deepEqual(Buffer.from(records[0].Data), all);
      assert.deepEqual(Buffer.from(records[1].Data), all);
      assert.ok(Buffer.from(records[2].Data).equals(big), '900 KiB record intact');
    });

    test('one GetRecords response of ~5 MiB (six 900 KiB records) arrives whole', T, async () => {
      const name = await create(uniqueName(`${P}-bigread`), 1);
      const recs = Array.from({ length: 6 }, (_, i) => ({ PartitionKey: `p${i}`, Data: Buffer.alloc(900 * 1024, 0x41 + i) }));
      const pr = await client.send(new PutRecordsCommand({ StreamName: name, Records: recs }));
      assert.equal(pr.FailedRecordCount, 0);
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
      const r = await client.send(new GetRecordsCommand({ ShardIterator }));
      assert.equal(r.Records.length, 6);
      r.Records.forEach((x, i) => assert.ok(Buffer.from(x.Data).equals(recs[i].Data), `record ${i} intact`));
    });

    // ---------------------------------------------------------------- StreamARN in place of StreamName
    test('every operation accepts StreamARN in place of StreamName', T, async () => {
      const name = await create(uniqueName(`${P}-arn`), 2);
      const arn = streamArn(name);
      const d = (await client.send(new DescribeStreamCommand({ StreamARN: arn }))).StreamDescription;
      assert.equal(d.StreamName, name);
      assert.equal(d.StreamARN, arn);
      assert.equal(d.Shards.length, 2);
      const s = (await client.send(new DescribeStreamSummaryCommand({ StreamARN: arn }))).StreamDescriptionSummary;
      assert.equal(s.StreamName, name);
      assert.equal(s.OpenShardCount, 2);
      const ls = await client.send(new ListShardsCommand({ StreamARN: arn }));
      assert.deepEqual(ls.Shards, d.Shards);
      const p1 = await client.send(new PutRecordCommand({ StreamARN: arn, PartitionKey: 'a', Data: Buffer.from('one') }));
      assert.equal(p1.ShardId, expectedShardForKey('a', 2));
      const p2 = await client.send(new PutRecordsCommand({ StreamARN: arn, Records: [{ PartitionKey: 'a', Data: Buffer.from('two') }] }));
      assert.equal(p2.FailedRecordCount, 0);
      assert.equal(p2.Records[0].ShardId, p1.ShardId);
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamARN: arn, ShardId: p1.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      const gr = await client.send(new GetRecordsCommand({ StreamARN: arn, ShardIterator }));
      assert.deepEqual(gr.Records.map((r) => text(r.Data)), ['one', 'two']);
      // Unknown ARN: the message names the stream, not the ARN.
      await expectError(client.send(new DescribeStreamCommand({ StreamARN: streamArn('nope') })), {
        name: 'ResourceNotFoundException', message: notFound('nope'),
      });
      await expectError(client.send(new PutRecordCommand({ StreamARN: streamArn('nope'), PartitionKey: 'a', Data: Buffer.from('x') })), {
        name: 'ResourceNotFoundException', message: notFound('nope'),
      });
      const del = await client.send(new DeleteStreamCommand({ StreamARN: arn }));
      assertOk(del);
      await expectError(client.send(new DescribeStreamSummaryCommand({ StreamName: name })), {
        name: 'ResourceNotFoundException', message: notFound(name),
      });
    });

    // ---------------------------------------------------------------- DeleteStream and errors
    test('DeleteStream: gone at once (delay 0), name reusable, old iterator fails', T, async () => {
      const name = await create(uniqueName(`${P}-del`), 1);
      await put(name, 'pk', 'x');
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON' }));
      const res = await client.send(new DeleteStreamCommand({ StreamName: name }));
      assertOk(res);
      assert.deepEqual(outputOf(res), {});
      await expectError(client.send(new DescribeStreamCommand({ StreamName: name })), {
        name: 'ResourceNotFoundException', message: notFound(name),
      });
      const ls = await client.send(new ListStreamsCommand({}));
      assert.ok(!ls.StreamNames.includes(name));
      await expectError(client.send(new GetRecordsCommand({ ShardIterator })), {
        name: 'ResourceNotFoundException', message: shardMissing(shardId(0), name),
      });
      await expectError(client.send(new DeleteStreamCommand({ StreamName: name })), {
        name: 'ResourceNotFoundException', message: notFound(name),
      });
      // Re-created: a fresh, empty stream.
      await create(name, 2);
      const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      assert.equal(d.Shards.length, 2);
      const { records } = await readShard(client, name, shardId(0));
      assert.equal(records.length, 0);
    });

    test('errors: not found, in use, validation, unsupported operation — name, message, status, request id', T, async () => {
      for (const p of [
        client.send(new DescribeStreamCommand({ StreamName: 'nope' })),
        client.send(new DescribeStreamSummaryCommand({ StreamName: 'nope' })),
        client.send(new DeleteStreamCommand({ StreamName: 'nope' })),
        client.send(new PutRecordCommand({ StreamName: 'nope', PartitionKey: 'a', Data: Buffer.from('x') })),
      ]) {
        const e = await expectError(p, { name: 'ResourceNotFoundException', message: 'Stream nope under account 000000000000 not found.' });
        assert.equal(e.$fault, 'client');
      }
      const name = await create(uniqueName(`${P}-dup`), 1);
      await expectError(client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 })), {
        name: 'ResourceInUseException', message: `Stream ${name} under account ${ACCOUNT} already exists.`,
      });
      await expectError(client.send(new CreateStreamCommand({ StreamName: uniqueName(`${P}-zero`), ShardCount: 0 })), {
        name: 'ValidationException',
        message: "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1",
      });
      await expectError(client.send(new CreateStreamCommand({ StreamName: 'bad name!', ShardCount: 1 })), {
        name: 'ValidationException',
        message: validation1('bad name!', 'streamName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+'),
      });
      const long = 'a'.repeat(129);
      await expectError(client.send(new CreateStreamCommand({ StreamName: long, ShardCount: 1 })), {
        name: 'ValidationException',
        message: validation1(long, 'streamName', 'Member must have length less than or equal to 128'),
      });
      // 128 characters is fine.
      await create('b'.repeat(120) + uniqueName('').slice(-8).replace(/-/g, 'x'), 1);
      await expectError(client.send(new DescribeStreamCommand({ StreamName: 'bad name!' })), {
        name: 'ValidationException',
        message: validation1('bad name!', 'streamName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+'),
      });
      // A channel that does not exist (ops_channels.c; channels.test.mjs covers the rest).
      await expectError(client.send(new UpdateChannelCommand({
        ChannelARN: `arn:aws:kinesis:us-east-1:000000000000:channel/${name}`,
        S3DestinationConfiguration: { DataFreshnessInSeconds: 60 } })), {
        name: 'ResourceNotFoundException', message: `Channel ${name} under account 000000000000 not found.`,
      });
      // The stream is untouched by the rejected calls.
      const { StreamDescription: d } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      assert.equal(d.Shards.length, 1);
    });
  });
}
