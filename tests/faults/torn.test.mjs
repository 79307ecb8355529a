// torn.test.mjs: damaged tails of a shard's log.
//
// 1. Torn tail after a clean stop: bytes appended to every shard's last segment (random bytes,
//    then a prefix of a real frame). runnel must come up, serve every record exactly once, drop
//    the tail, continue each shard's sequence, also across one more restart.
// 2. Truncation at a random byte, after kill -9 at load: the last segment of a random shard is cut
//    at a random offset within its last few frames (media loss). The commit journal (docs/storage.md)
//    holds every frame written since the last checkpoint, so on restart every shard holds at least
//    the frames that were whole before the cut (read from the files independently, with our own
//    frame parser and CRC-32C), the cut ones as the journal gives them back, exact, in order, as a
//    prefix; each acknowledged record at its acknowledged shard and sequence number, nothing
//    partial or corrupt, no duplicates; the other shards lose nothing acknowledged; new writes to
//    the cut shard get sequence numbers above every existing one and survive a clean restart.
//    Three rounds on the same data dir, under fsync never and again under fsync always.
// 3. The same with one byte flipped inside the last whole frame of a random shard (anywhere: length,
//    CRC, header or payload): the journal's copy overwrites it, or (past the last checkpoint) the
//    CRC rejects it and it and everything after it are dropped; everything before it is exact.
//    (The segment check alone: tests/unit/test_store_recovery.c, and test 1 above.)
// Randomness is seeded (printed; RUNNEL_FAULT_SEED=<seed> replays the choices).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateStreamCommand, PutRecordCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  kinesisClient, makeTempDir, removeDir, sleep, startRunnel,
} from '../integration/runnel.mjs';
import { hashRanges, readShard, shardId } from '../integration/kinesis.mjs';
import {
  checkReadBack, faultSeed, parseSegment, putLoad, readAllShards, rng, segmentsByShardDir, subSeed,
} from './faultlib.mjs';

const SEED = faultSeed();

function lastSegments(dir) {
  return [...segmentsByShardDir(dir).values()].map((l) => l[l.length - 1]);
}

test('a torn tail in each shard log is dropped on restart; nothing written before is lost', { timeout: 90000 }, async (t) => {
  const STREAM = 'torn-stream';
  const readAll = async (client) => {
    const out = {};
    for (let s = 0; s < 2; s++) {
      const { records } = await readShard(client, STREAM, shardId(s));
      out[shardId(s)] = records.map((r) => ({ seq: r.SequenceNumber, data: Buffer.from(r.Data).toString() }));
    }
    return out;
  };
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

// ---- damage after kill -9 at load -------------------------------------------------------------

const SHARDS = 4;
const PRODUCERS = 4;
const ROUNDS = 3;

/** The frames of every shard, from its segment files: shard index -> {segs: [parsed], frames}. */
function framesByShard(dir) {
  const out = new Map();
  for (const [d, files] of segmentsByShardDir(path.join(dir, 'logs'))) {
    const idx = Number(path.basename(d));
    assert.ok(Number.isInteger(idx) && idx >= 0 && idx < SHARDS, `unexpected shard directory ${d}`);
    assert.ok(!out.has(idx), `two logs for shard ${idx}: one stream only`);
    const segs = files.map(parseSegment);
    // A segment before the last must be whole (only the last one can have a torn tail).
    segs.slice(0, -1).forEach((s) => assert.equal(s.validEnd, s.size, `sealed segment ${s.file} is whole`));
    out.set(idx, { segs, frames: segs.flatMap((s) => s.frames) });
  }
  return out;
}

/**
 * Kill -9 at load, damage the last segment of a random shard with `damage(seg, r)` (which returns
 * the offset from which the segment's frames are lost), restart, check everything; then write to
 * every shard, check, stop cleanly, restart, check again.
 */
async function damageRounds(t, { what, damage, fsync = 'never', repaired = true }) {
  const seed = subSeed(SEED, what === 'truncate' ? 1 : what === 'flip' ? 2 : 3);
  t.diagnostic(`seed ${SEED} (replay: RUNNEL_FAULT_SEED=${SEED})`);
  const label = `[seed ${SEED}] ${what}: `;
  const r = rng(seed);
  const STREAM = `${what}-stream`;
  const dir = makeTempDir(`runnel-${what}-`);
  const servers = [];
  t.after(async () => {
    for (const s of servers) await s.stop();
    removeDir(dir);
  });
  const start = async () => {
    const srv = await startRunnel({ dataDir: dir, args: ['--fsync', fsync] });
    servers.push(srv);
    return srv;
  };
  let srv = await start();
  let client = kinesisClient(srv.endpoint);
  await client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: SHARDS }));
  client.destroy();

  const sent = new Map();
  const acked = new Map();
  const explicit = new Map(); // id -> shard, records sent with an ExplicitHashKey
  const lost = new Set(); // records cut away on purpose (acknowledged or not)
  let previous = new Map();
  const ranges = hashRanges(SHARDS);
  for (let round = 0; round < ROUNDS; round++) {
    const killAfter = r.int(200, 700);
    const before = acked.size;
    const loadDone = putLoad({
      endpoint: srv.endpoint, stream: STREAM, tag: `r${round}`, seed: subSeed(seed, round),
      producers: PRODUCERS, sent, acked, deadline: Date.now() + killAfter + 15000,
    });
    await sleep(killAfter);
    // On a busy machine, make sure this round's load got going (some of it acknowledged) first.
    for (let i = 0; i < 100 && acked.size === before; i++) await sleep(50);
    const killedAt = Date.now();
    assert.equal((await srv.kill9())?.signal, 'SIGKILL', `${label}runnel died by SIGKILL`);
    const { errors } = await loadDone;
    for (const e of errors) assert.ok(e.at >= killedAt, `${label}producer ${e.producer} failed before the kill: ${e.err?.message}`);

    // What is on disk, read independently: every acknowledged record must be there, whole.
    const disk = framesByShard(dir);
    const onDisk = new Map();
    for (const [idx, { frames }] of disk) for (const f of frames) onDisk.set(f.pk, { shard: shardId(idx), data: f.data });
    // (Under the journal a record may be in the journal only: stages are written behind.)
    for (const [id, a] of acked) {
      if (lost.has(id) || repaired) continue;
      const d = onDisk.get(id);
      assert.ok(d && d.shard === a.shard && d.data === sent.get(id), `${label}acknowledged record ${id} not whole on disk after the kill`);
    }

    // Damage a random shard's last segment (a shard with at least 2 frames in it).
    const candidates = [...disk.entries()].filter(([, v]) => v.segs[v.segs.length - 1].frames.length >= 2);
    assert.ok(candidates.length > 0, `${label}round ${round}: no shard has 2 frames in its last segment`);
    const [victim, { segs, frames }] = candidates[r.int(0, candidates.length - 1)];
    const seg = segs[segs.length - 1];
    const cut = damage(seg, r);
    const keptInSeg = seg.frames.filter((f) => f.off + f.len <= cut);
    const firstLost = frames.length - (seg.frames.length - keptInSeg.length);
    // Without a journal the damaged frames are gone; with one (fsync always), every frame
    // journaled since the last checkpoint is written back: at least the frames before the
    // damage come back, and at most all of them, as a prefix.
    const expected = new Map([...disk.entries()].map(([idx, v]) => [idx, idx === victim && !repaired ? v.frames.slice(0, firstLost) : v.frames]));
    if (!repaired) for (const f of frames.slice(firstLost)) lost.add(f.pk);
    t.diagnostic(`round ${round}: killed after ${killAfter} ms; ${acked.size} acknowledged in all; ${what} ${path.relative(dir, seg.file)} (${seg.size} bytes, ${seg.frames.length} frames) at byte ${cut}: ${frames.length - firstLost} frames lost`);

    srv = await start();
    const byShard = await readAllShards(srv.endpoint, STREAM, SHARDS);
    // Exactly the frames before the damage, in order, with their payloads.
    for (let s = 0; s < SHARDS; s++) {
      let want = (expected.get(s) ?? []).map((f) => `${f.pk}\n${f.data}`);
      const got = byShard[s].map((x) => `${x.id}\n${x.data}`);
      if (repaired) {
        // The segment files are not the whole store: the journal holds what was written
        // behind, so a shard may hold more than its files did. Every acknowledged record is
        // checked by checkReadBack below.
        if (s === victim) {
          assert.ok(got.length >= firstLost, `${label}round ${round}: ${shardId(s)} holds ${got.length} records, fewer than the ${firstLost} before the damage`);
          for (const f of frames.slice(got.length)) lost.add(f.pk);
          t.diagnostic(`round ${round}: the journal restored ${Math.min(got.length, frames.length) - firstLost} of the ${frames.length - firstLost} damaged frames (${Math.max(0, got.length - frames.length)} more records were in the journal only)`);
        }
        want = want.slice(0, Math.min(want.length, got.length));
        got.length = Math.min(got.length, want.length);
      }
      assert.equal(got.length, want.length, `${label}round ${round}: ${shardId(s)} holds ${got.length} records, the files held ${want.length} before the damage`);
      const i = got.findIndex((g, k) => g !== want[k]);
      assert.equal(i, -1, `${label}round ${round}: ${shardId(s)} record ${i} differs from the file: ${got[i]?.slice(0, 80)} vs ${want[i]?.slice(0, 80)}`);
    }
    // Acknowledged survivors at their acknowledged places; earlier read-backs' records still there.
    const { found } = checkReadBack({ byShard, sent, acked, previous, except: (id) => lost.has(id), explicit, label: `${label}round ${round}: ` });

    // New writes: every shard, the damaged one first; sequence numbers above everything there.
    client = kinesisClient(srv.endpoint, { http1: round % 2 === 1 });
    const order = [victim, ...Array.from({ length: SHARDS }, (_, i) => i).filter((i) => i !== victim)];
    for (const s of order) {
      const entries = Array.from({ length: 3 }, (_, k) => {
        const id = `${what}-after-r${round}-s${s}-${k}`;
        sent.set(id, `${id}|new`);
        explicit.set(id, shardId(s));
        return { PartitionKey: id, ExplicitHashKey: ranges[s].StartingHashKey, Data: Buffer.from(`${id}|new`) };
      });
      const res = await client.send(new PutRecordsCommand({ StreamName: STREAM, Records: entries }));
      assert.equal(res.FailedRecordCount, 0);
      const last = byShard[s].length ? byShard[s][byShard[s].length - 1].seq : '';
      res.Records.forEach((x, k) => {
        assert.equal(x.ShardId, shardId(s));
        assert.ok(x.SequenceNumber > last, `${label}round ${round}: new record in ${shardId(s)} got ${x.SequenceNumber}, not above ${last}`);
        acked.set(entries[k].PartitionKey, { shard: x.ShardId, seq: x.SequenceNumber });
      });
    }
    client.destroy();
    checkReadBack({ byShard: await readAllShards(srv.endpoint, STREAM, SHARDS), sent, acked, previous: found, except: (id) => lost.has(id), explicit, label: `${label}round ${round}, new writes: ` });
    // A clean stop and restart keeps all of it (the new records were not written behind junk).
    const st = await srv.stop();
    assert.equal(st.code, 0, `${label}clean stop`);
    srv = await start();
    ({ found: previous } = checkReadBack({ byShard: await readAllShards(srv.endpoint, STREAM, SHARDS), sent, acked, previous: found, except: (id) => lost.has(id), explicit, label: `${label}round ${round}, after a clean restart: ` }));
  }
  const st = await srv.stop();
  assert.equal(st.code, 0);
}

const truncateTail = (seg, r) => {
  // A random byte offset within the last few (up to 6) whole frames.
  const k = Math.min(6, seg.frames.length);
  const from = seg.frames[seg.frames.length - k].off;
  const cut = r.int(from, seg.validEnd - 1);
  fs.truncateSync(seg.file, cut);
  return cut;
};

test(`truncating a shard's last segment at a random byte after kill -9 at load (fsync never): the journal writes the lost frames back, log consistent (seed ${SEED})`, { timeout: 90000 }, async (t) => {
  await damageRounds(t, { what: 'truncate', damage: truncateTail });
});

test(`the same truncation under fsync always (seed ${SEED})`, { timeout: 90000 }, async (t) => {
  await damageRounds(t, { what: 'journal', damage: truncateTail, fsync: 'always' });
});

test(`a flipped byte in a shard's last frame after kill -9 at load (fsync never): the journal's copy replaces it, the rest exact (seed ${SEED})`, { timeout: 90000 }, async (t) => {
  await damageRounds(t, {
    what: 'flip',
    damage: (seg, r) => {
      const last = seg.frames[seg.frames.length - 1];
      const at = r.int(last.off, last.off + last.len - 1);
      const fd = fs.openSync(seg.file, 'r+');
      try {
        const b = Buffer.alloc(1);
        fs.readSync(fd, b, 0, 1, at);
        b[0] ^= r.int(1, 255);
        fs.writeSync(fd, b, 0, 1, at);
      } finally { fs.closeSync(fd); }
      return last.off; // that frame and everything after it is gone
    },
  });
});
