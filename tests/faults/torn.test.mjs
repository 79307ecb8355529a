// torn.test.mjs: a torn write at the tail of a shard's log. After a clean stop, bytes are
// appended to the end of every segment file, as a crash in the middle of writing a record would
// leave them: (1) random bytes, (2) a prefix of a real record (the segment's own first bytes, so
// the tail starts like a valid record header and then stops). On restart runnel must come up,
// serve every record written before exactly once, drop the torn tail, and continue each shard's
// sequence, also across one more restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateStreamCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import {
  kinesisClient, makeTempDir, removeDir, startRunnel,
} from '../integration/runnel.mjs';
import { readShard, shardId } from '../integration/kinesis.mjs';

const STREAM = 'torn-stream';

function segments(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.seg')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The last segment of each shard directory (highest file name). */
function lastSegments(dir) {
  const byDir = new Map();
  for (const p of segments(dir)) {
    const d = path.dirname(p);
    if (!byDir.has(d) || path.basename(p) > path.basename(byDir.get(d))) byDir.set(d, p);
  }
  return [...byDir.values()];
}

async function readAll(client) {
  const out = {};
  for (let s = 0; s < 2; s++) {
    const { records } = await readShard(client, STREAM, shardId(s));
    out[shardId(s)] = records.map((r) => ({ seq: r.SequenceNumber, data: Buffer.from(r.Data).toString() }));
  }
  return out;
}

test('a torn tail in each shard log is dropped on restart; nothing written before is lost', { timeout: 90000 }, async (t) => {
  const dir = makeTempDir('runnel-torn-');
  const servers = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    removeDir(dir);
  });
  const start = async () => {
    const srv = await startRunnel({ dataDir: dir, args: ['--fsync', 'always'] });
    servers.push(srv);
    const c = kinesisClient(srv.endpoint);
    clients.push(c);
    return { srv, c };
  };

  let { srv, c } = await start();
  await c.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
  for (let i = 0; i < 40; i++) {
    await c.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: `k${i}`, Data: Buffer.from(`r${i}-${'x'.repeat(i * 10)}`) }));
  }
  let expected = await readAll(c);
  assert.ok(expected[shardId(0)].length > 0 && expected[shardId(1)].length > 0, 'both shards hold records');
  c.destroy();
  assert.equal((await srv.stop()).code, 0);

  const tails = [
    ['random bytes', () => crypto.randomBytes(37)],
    ['a prefix of a real record', (file) => fs.readFileSync(file).subarray(0, 24)],
  ];
  for (const [what, make] of tails) {
    const segs = lastSegments(dir);
    assert.ok(segs.length >= 2, `found segment files: ${segs.join(', ')}`);
    for (const f of segs) fs.appendFileSync(f, make(f));

    ({ srv, c } = await start());
    const got = await readAll(c);
    assert.deepEqual(got, expected, `after a torn tail of ${what}: records intact, tail dropped`);
    // New writes continue each shard's sequence above the old records.
    for (let s = 0; s < 2; s++) {
      const sid = shardId(s);
      const data = `after-${what}-${s}`;
      const r = await c.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', ExplicitHashKey: s === 0 ? '0' : (1n << 127n).toString(), Data: Buffer.from(data) }));
      assert.equal(r.ShardId, sid);
      const prev = expected[sid][expected[sid].length - 1];
      assert.ok(BigInt(r.SequenceNumber) > BigInt(prev.seq), `${sid}: new sequence number above the old ones`);
      expected[sid].push({ seq: r.SequenceNumber, data });
    }
    assert.deepEqual(await readAll(c), expected, `after a torn tail of ${what}: new records readable after the old`);
    c.destroy();
    assert.equal((await srv.stop()).code, 0);

    // And once more, to be sure the new records were not written behind the garbage.
    ({ srv, c } = await start());
    assert.deepEqual(await readAll(c), expected, `after a torn tail of ${what}: state survives another restart`);
    c.destroy();
    assert.equal((await srv.stop()).code, 0);
    expected = structuredClone(expected);
  }
});
