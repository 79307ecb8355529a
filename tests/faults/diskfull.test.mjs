// diskfull.test.mjs: the data dir's filesystem fills up under writes. runnel must answer the
// failing writes with an error (never acknowledge a record it could not store), stay up, keep
// serving what it stored, write again once there is room, and after a restart hold every
// acknowledged record exactly once. Needs a small tmpfs: mounted here (root only); the test is
// skipped where mounting is not allowed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { CreateStreamCommand, ListStreamsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { kinesisClient, makeTempDir, removeDir, startRunnel } from '../integration/runnel.mjs';
import { readShard, shardId } from '../integration/kinesis.mjs';

const STREAM = 'full-stream';

function tryMount(dir, size) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch { return false; }
}

test('ENOSPC: writes fail cleanly, reads go on, writes resume with room, nothing acknowledged is lost', { timeout: 90000 }, async (t) => {
  const mnt = makeTempDir('runnel-full-');
  if (!tryMount(mnt, '3m')) { removeDir(mnt); t.skip('cannot mount a tmpfs here'); return; }
  const servers = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    try { execFileSync('umount', [mnt], { stdio: 'pipe' }); } catch { /* already gone */ }
    removeDir(mnt);
  });
  const dataDir = `${mnt}/data`;
  fs.mkdirSync(dataDir);
  let srv = await startRunnel({ dataDir, args: ['--fsync', 'always'] });
  servers.push(srv);
  let c = kinesisClient(srv.endpoint, { http1: true });
  clients.push(c);
  await c.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));

  const acked = [];
  let failure;
  const payload = (i) => Buffer.concat([Buffer.from(`rec-${i}-`), Buffer.alloc(100 * 1024, 0x61 + (i % 26))]);
  for (let i = 0; i < 200 && !failure; i++) {
    try {
      const r = await c.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: payload(i) }));
      acked.push({ i, seq: r.SequenceNumber });
    } catch (e) { failure = e; }
  }
  assert.ok(failure, 'a 3 MiB filesystem never filled up under 20 MiB of writes');
  t.diagnostic(`first failure after ${acked.length} records: ${failure.name} ${failure.$metadata?.httpStatusCode}: ${failure.message}`);
  assert.ok(failure.$metadata?.httpStatusCode >= 400, `a service error, not a broken connection: ${failure}`);
  assert.equal(typeof failure.$metadata.requestId, 'string');
  assert.equal(srv.exited, null, `runnel exited on ENOSPC: ${srv.stderr}`);

  // Still serving: control plane and every acknowledged record.
  await c.send(new ListStreamsCommand({}));
  const check = async (client) => {
    const { records } = await readShard(client, STREAM, shardId(0));
    const bySeq = new Map(records.map((r) => [r.SequenceNumber, r]));
    assert.equal(bySeq.size, records.length, 'no duplicate sequence numbers');
    for (const a of acked) {
      const r = bySeq.get(a.seq);
      assert.ok(r, `acknowledged record ${a.i} (${a.seq}) missing`);
      assert.ok(Buffer.from(r.Data).equals(payload(a.i)), `record ${a.i} intact`);
    }
    return records;
  };
  await check(c);

  // Make room; writes must work again (a few tries: the server may need a moment to notice).
  execFileSync('mount', ['-o', 'remount,size=64m', mnt], { stdio: 'pipe' });
  let resumed = false;
  for (let k = 0; k < 20 && !resumed; k++) {
    try {
      const r = await c.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: payload(1000 + k) }));
      acked.push({ i: 1000 + k, seq: r.SequenceNumber });
      resumed = true;
    } catch (e) {
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  assert.ok(resumed, 'writes did not resume after space was freed');
  const records = await check(c);
  let prev = -1n;
  for (const r of records) { assert.ok(BigInt(r.SequenceNumber) > prev); prev = BigInt(r.SequenceNumber); }

  // And after a restart.
  c.destroy();
  assert.equal((await srv.stop()).code, 0);
  srv = await startRunnel({ dataDir, args: ['--fsync', 'always'] });
  servers.push(srv);
  c = kinesisClient(srv.endpoint, { http1: true });
  clients.push(c);
  await check(c);
});
