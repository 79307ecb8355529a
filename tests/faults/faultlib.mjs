// faultlib.mjs: shared pieces of the fault suites.
//
// - a seeded PRNG (mulberry32): the seed comes from $RUNNEL_FAULT_SEED or is drawn at random, and
//   every test prints it, so a failure can be replayed (the random choices are the same; the
//   moment the kill lands in the server's work still depends on timing);
// - a PutRecords load: several concurrent producers (HTTP/2 and HTTP/1.1 clients), batches of 1..500
//   records with unique payloads, recording every record sent and every record acknowledged;
// - a full read-back checker (every shard from TRIM_HORIZON) against what was sent/acknowledged;
// - an independent reader of runnel's segment files (docs/storage.md, "Segments and frames"),
//   with its own CRC-32C, for the truncation and bit-flip tests.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PutRecordCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { execFileSync } from 'node:child_process';
import { kinesisClient, makeTempDir, removeDir } from '../integration/runnel.mjs';
import {
  SEQ_RE, expectedShardForKey, readShard, shardId,
} from '../integration/kinesis.mjs';

// ---- seeded randomness ------------------------------------------------------------------------

/** The suite's seed: $RUNNEL_FAULT_SEED (decimal) or a fresh random 32-bit value. */
export function faultSeed() {
  const env = process.env.RUNNEL_FAULT_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    assert.ok(Number.isInteger(n) && n >= 0 && n < 2 ** 32, `RUNNEL_FAULT_SEED must be an integer in [0, 2^32): ${env}`);
    return n;
  }
  return crypto.randomBytes(4).readUInt32LE(0);
}

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)); // inclusive
  return next;
}

/** A derived seed for a sub-stream of randomness (per producer, per cycle). */
export const subSeed = (seed, ...parts) => {
  let h = seed >>> 0;
  for (const p of parts) h = (Math.imul(h ^ (p + 0x9E3779B9), 0x85EBCA6B) + 0xC2B2AE35) >>> 0;
  return h;
};

// ---- load -------------------------------------------------------------------------------------

/** The payload of record `id`: the id, then 0..64 filler bytes, now and then 257..3000 (those
 * go through the server's iovec path rather than being copied next to the frame header). */
function makePayload(id, r) {
  const big = r() < 0.05;
  const len = big ? r.int(257, 3000) : r.int(0, 64);
  const fill = String.fromCharCode(0x61 + r.int(0, 25)).repeat(len);
  return `${id}|${fill}`;
}

/**
 * A PutRecords load from `producers` concurrent producers, each with its own client
 * (even ones HTTP/2, odd ones HTTP/1.1), until the server stops answering (or maxBatches / the
 * deadline). Every record is remembered in `sent` (id -> payload) before it is sent; every
 * acknowledged one in `acked` (id -> {shard, seq}). A producer ends at its first failed request.
 * Returns {errors: [{producer, at, err}], batches, records, failedEntries}.
 */
export async function putLoad({
  endpoint, stream, tag, seed, producers, sent, acked, deadline, maxBatches = 5000, op = 'PutRecords', inFlight = 16,
}) {
  const clients = [];
  const errors = [];
  let batches = 0;
  let failedEntries = 0;
  // op 'PutRecord': each producer keeps inFlight single-record PutRecords going (runnel stages
  // these appends and writes them per event-loop round); a producer stops at its first error.
  const singles = async (p, client, r) => {
    let k = 0;
    let stopped = false;
    const worker = async () => {
      while (!stopped && k < maxBatches * 100 && Date.now() < deadline) {
        const id = `${tag}-p${p}-r${k++}`;
        const data = makePayload(id, r);
        sent.set(id, data);
        let res;
        try {
          res = await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: id, Data: Buffer.from(data) }));
        } catch (err) {
          if (!stopped) {
            stopped = true;
            errors.push({ producer: p, at: Date.now(), err });
          }
          return;
        }
        batches += 1;
        assert.ok(!acked.has(id), `record ${id} acknowledged twice`);
        acked.set(id, { shard: res.ShardId, seq: res.SequenceNumber });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, () => worker()));
  };
  const producer = async (p) => {
    const client = kinesisClient(endpoint, { http1: p % 2 === 1 });
    clients.push(client);
    const r = rng(subSeed(seed, p));
    if (op === 'PutRecord') {
      await singles(p, client, r);
      return;
    }
    for (let b = 0; b < maxBatches && Date.now() < deadline; b++) {
      const n = r.int(1, 500);
      const entries = new Array(n);
      for (let i = 0; i < n; i++) {
        const id = `${tag}-p${p}-b${b}-${i}`;
        const data = makePayload(id, r);
        sent.set(id, data);
        entries[i] = { PartitionKey: id, Data: Buffer.from(data) };
      }
      let res;
      try {
        res = await client.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
      } catch (err) {
        errors.push({ producer: p, at: Date.now(), err });
        return;
      }
      batches += 1;
      assert.equal(res.Records.length, n, 'one result per record');
      let failed = 0;
      res.Records.forEach((rr, i) => {
        const id = entries[i].PartitionKey;
        if (rr.ErrorCode) { failed += 1; return; }
        assert.ok(!acked.has(id), `record ${id} acknowledged twice`);
        acked.set(id, { shard: rr.ShardId, seq: rr.SequenceNumber });
      });
      assert.equal(res.FailedRecordCount ?? 0, failed, 'FailedRecordCount matches the failed entries');
      failedEntries += failed;
    }
  };
  try {
    await Promise.all(Array.from({ length: producers }, (_, p) => producer(p)));
  } finally {
    for (const c of clients) c.destroy();
  }
  return { errors, batches, failedEntries };
}

// ---- read-back --------------------------------------------------------------------------------

function amzDate(d = new Date()) {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20240101T000000Z
}

/**
 * A lean Kinesis caller for read-backs: plain HTTP/1.1 keep-alive POSTs of AWS JSON 1.1 with a
 * well-formed (unverified) SigV4 header, JSON.parse of the answer. The SDK deserializes about
 * 30,000 records/s here, which would make 20 full read-backs of a few hundred thousand records
 * the bulk of the suite; this reads several times faster. Throws on a non-200 answer.
 */
export function rawCaller(endpoint) {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const call = (op, input) => new Promise((resolve, reject) => {
    const body = JSON.stringify(input);
    const d = amzDate();
    const req = http.request({
      host: url.hostname, port: url.port, method: 'POST', path: '/', agent, timeout: 30000,
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `Kinesis_20131202.${op}`,
        'x-amz-date': d,
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${d.slice(0, 8)}/us-east-1/kinesis/aws4_request, `
          + `SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
        'content-length': Buffer.byteLength(body),
      },
    }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if (res.statusCode !== 200) { reject(new Error(`${op}: HTTP ${res.statusCode} ${text.slice(0, 300)}`)); return; }
        try { resolve(JSON.parse(text)); } catch (e) { reject(new Error(`${op}: bad JSON (${e.message})`)); }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${op}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
  call.close = () => agent.destroy();
  return call;
}

/**
 * Every record of every shard, from TRIM_HORIZON (GetShardIterator + GetRecords until a call
 * returns nothing with MillisBehindLatest 0, bounded), as [[{id, seq, data}] per shard]. The
 * shards are read concurrently.
 */
export async function readAllShards(endpoint, stream, shards, { maxCalls = 5000 } = {}) {
  const call = rawCaller(endpoint);
  try {
    return await Promise.all(Array.from({ length: shards }, async (_, s) => {
      const sid = shardId(s);
      let { ShardIterator: it } = await call('GetShardIterator', { StreamName: stream, ShardId: sid, ShardIteratorType: 'TRIM_HORIZON' });
      const out = [];
      let calls = 0;
      while (it && calls < maxCalls) {
        calls += 1;
        const r = await call('GetRecords', { ShardIterator: it });
        for (const rec of r.Records) {
          out.push({ id: rec.PartitionKey, seq: rec.SequenceNumber, data: Buffer.from(rec.Data, 'base64').toString('latin1') });
        }
        it = r.NextShardIterator;
        if (r.Records.length === 0 && r.MillisBehindLatest === 0) break;
      }
      assert.ok(calls < maxCalls, `${sid} not drained within ${maxCalls} GetRecords calls`);
      return out;
    }));
  } finally {
    call.close();
  }
}

/** Every record of every shard through the SDK (slower; for small read-backs). */
export async function readAllShardsSdk(client, stream, shards) {
  const out = [];
  for (let s = 0; s < shards; s++) {
    const { records } = await readShard(client, stream, shardId(s), { maxCalls: 5000 });
    out.push(records.map((r) => ({
      id: r.PartitionKey, seq: r.SequenceNumber, data: Buffer.from(r.Data).toString('latin1'),
    })));
  }
  return out;
}

/**
 * Check a full read-back. `byShard` from readAllShards. Asserts:
 * - per shard, sequence numbers strictly increase;
 * - every record returned is one that was sent (`sent`), with its exact payload, stored once in
 *   all shards together, in the shard MD5 routing of its id predicts (or `explicit.get(id)`, for
 *   records sent with an ExplicitHashKey);
 * - every acknowledged record is there, in its acknowledged shard at its acknowledged sequence
 *   number (`except(id, want)` may excuse some, for media-loss tests);
 * - every record of `previous` (id -> {shard, seq}, an earlier read-back) is still there, at the
 *   same place (same `except`).
 * Returns {found: Map id -> {shard, seq}, total, extras, excused}.
 */
export function checkReadBack({
  byShard, sent, acked, previous = new Map(), except = () => false, explicit = new Map(), label = '',
}) {
  const found = new Map();
  const bad = [];
  const note = (m) => { if (bad.length < 8) bad.push(m); };
  let badCount = 0;
  byShard.forEach((records, s) => {
    const sid = shardId(s);
    let prev = '';
    for (const r of records) {
      // 56-digit decimal strings (checked): string order is numeric order.
      if (!SEQ_RE.test(r.seq)) { badCount += 1; note(`${sid}: sequence number ${JSON.stringify(r.seq)} not 56 digits`); }
      if (r.seq <= prev) { badCount += 1; note(`${sid}: sequence ${r.seq} not above ${prev}`); }
      prev = r.seq;
      const want = sent.get(r.id);
      if (want === undefined) { badCount += 1; note(`${sid} ${r.seq}: record ${JSON.stringify(r.id.slice(0, 60))} was never sent`); continue; }
      if (r.data !== want) { badCount += 1; note(`${sid} ${r.seq}: record ${r.id} corrupted (${r.data.length} bytes, sent ${want.length})`); }
      if (found.has(r.id)) { badCount += 1; note(`record ${r.id} stored twice (${found.get(r.id).shard} ${found.get(r.id).seq} and ${sid} ${r.seq})`); continue; }
      if (!previous.has(r.id)) {
        const route = explicit.get(r.id) ?? expectedShardForKey(r.id, byShard.length);
        if (route !== sid) { badCount += 1; note(`record ${r.id} in ${sid}, its hash key routes it to ${route}`); }
      }
      found.set(r.id, { shard: sid, seq: r.seq });
    }
  });
  let excused = 0;
  const expectAt = (id, want, what) => {
    const got = found.get(id);
    if (got && got.shard === want.shard && got.seq === want.seq) return;
    if (except(id, want)) { excused += 1; return; }
    badCount += 1;
    note(got ? `${what} ${id}: expected ${want.shard} ${want.seq}, found ${got.shard} ${got.seq}` : `${what} ${id} (${want.shard} ${want.seq}) missing`);
  };
  for (const [id, want] of acked) expectAt(id, want, 'acknowledged record');
  for (const [id, want] of previous) if (!acked.has(id)) expectAt(id, want, 'record seen in an earlier read-back');
  assert.equal(badCount, 0, `${label}${badCount} problems in the read-back (${acked.size} acknowledged, ${found.size} found): ${bad.join('; ')}`);
  let extras = 0;
  for (const id of found.keys()) if (!acked.has(id)) extras += 1;
  return { found, total: found.size, extras, excused };
}

// ---- segment files ----------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as runnel's frames use. */
export function crc32c(buf, start = 0, end = buf.length) {
  let c = 0xFFFFFFFF;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xFF] ^ (c >>> 8);
  return (c ^ 0xFFFFFFFF) >>> 0;
}
assert.equal(crc32c(Buffer.from('123456789')), 0xE3069283, 'CRC-32C check value');

const FRAME_HDR = 28;
const FRAME_MAX = 28 + 65535 + 16 * 1024 * 1024;

/** Every *.seg under dir, grouped by shard directory, each list sorted by base. */
export function segmentsByShardDir(dir) {
  const byDir = new Map();
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /^\d{20}\.seg$/.test(e.name)) {
        if (!byDir.has(d)) byDir.set(d, []);
        byDir.get(d).push(p);
      }
    }
  };
  walk(dir);
  for (const l of byDir.values()) l.sort();
  return byDir;
}

/**
 * The valid frames of one segment file, read independently of runnel: [{off, len, counter, pk,
 * data}] up to the first torn or bad frame (`validEnd` is where that is; `size` the file size).
 */
export function parseSegment(file) {
  const buf = fs.readFileSync(file);
  const base = BigInt(path.basename(file, '.seg'));
  const frames = [];
  let off = 0;
  let expect = base;
  while (off + FRAME_HDR <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < FRAME_HDR || len > FRAME_MAX || off + len > buf.length) break;
    if (buf.readUInt32LE(off + 4) !== crc32c(buf, off + 8, off + len)) break;
    const counter = buf.readBigUInt64LE(off + 8);
    if (counter !== expect || buf[off + 27] !== 0) break;
    const pkLen = buf.readUInt16LE(off + 24);
    if (FRAME_HDR + pkLen > len) break;
    frames.push({
      off, len, counter,
      pk: buf.toString('utf8', off + FRAME_HDR, off + FRAME_HDR + pkLen),
      data: buf.toString('latin1', off + FRAME_HDR + pkLen, off + len),
    });
    off += len;
    expect += 1n;
  }
  return { file, frames, validEnd: off, size: buf.length };
}

/** A data dir on a tmpfs of `size` ("4m") that the test mounts (root only: CI runs as root).
 * Returns null after t.skip() with the reason when it cannot mount. Otherwise
 * {mnt, dataDir, servers, clients}: push every server and client made on it; t.after stops and
 * destroys them, then unmounts and removes the mount point. */
export function tmpfsDataDir(t, prefix, size) {
  const mnt = makeTempDir(prefix);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (e) {
    removeDir(mnt);
    t.skip(`cannot mount a tmpfs here (needs root; CI runs as root): ${String(e.stderr || e.message).trim().split('\n')[0]}`);
    return null;
  }
  const rig = { mnt, dataDir: `${mnt}/data`, servers: [], clients: [] };
  t.after(async () => {
    for (const c of rig.clients) c.destroy();
    for (const s of rig.servers) await s.stop();
    try { execFileSync('umount', [mnt], { stdio: 'pipe' }); } catch { /* already gone */ }
    removeDir(mnt);
  });
  fs.mkdirSync(rig.dataDir);
  return rig;
}
