// nats.test.mjs: the NATS JetStream cluster a clustered runnel will run on (issue 13,
// docs/cluster.md), proven on its own before runnel uses it. A 3-node nats-server cluster
// (natslib.mjs, sync_interval: always) must:
// - form: every node healthy, one meta leader, 3 peers, sync_always in force;
// - take an R3 file stream shaped as a runnel shard (docs/cluster.md: subjects, MaxAge,
//   allow_direct) and appends with an expected last sequence, so each append lands exactly at the
//   sequence the writer expects, as a shard log's counter;
// - lose nothing acknowledged when the stream's leader is killed with kill -9, several times in a
//   row: two writers (two "shards") keep appending through each election; a publish whose outcome
//   is unknown (a timeout at the kill) is resolved the way the store backend will resolve it: the
//   retry with the same expected sequence is refused with "wrong last sequence" if the first try
//   landed, and the record at that sequence is then read to see whether it is ours.
//   After every kill and restart every acknowledged record is read back at its sequence, intact,
//   with no gap and no duplicate; the election stall (longest time between two acknowledgements
//   of one writer across the kill) is measured and printed, not asserted.
// - keep a shard's close marker unique, and refuse an append fenced on it once it exists
//   (docs/cluster.md "Resharding"); how many fenced appends survive when several are in flight
//   is printed (2.15.2 serializes them);
// - close a shard by removing its record subject, then writing the marker: with two writers
//   keeping 64 appends in flight each, nothing is stored after the marker, and every record
//   before it was acknowledged (candidate 2 of docs/cluster.md "Resharding", stable leader);
// - refuse a retried atomic batch (PutRecords) whose first try landed (error 10201, nothing
//   stored twice), and keep the batch id and message ids with the stored messages, so the backend
//   can find the first try's sequences;
// - answer tools/natsprobe.c (nats.c: expected-last-sequence publishes, direct gets, KV
//   compare-and-set from two connections, watch), when CMake built it (build/natsprobe).
// Client: the `nats` npm package (pinned in package.json).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  connect, DiscardPolicy, JSONCodec, RetentionPolicy, StorageType, headers,
} from 'nats';
import { REPO_ROOT, sleep } from '../integration/runnel.mjs';
import { monitor, startNatsCluster } from './natslib.mjs';

const KILLS = 3;
const RECORDS_BETWEEN_KILLS = 150; // acknowledged appends per writer before each kill
const WRONG_LAST_SEQ = 10071; // JetStream API error code of a failed expected-last-sequence check

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An R3 file stream shaped as one runnel shard (docs/cluster.md "Shards"). */
function shardStreamConfig(name) {
  return {
    name,
    subjects: [`rn.t.${name}`],
    storage: StorageType.File,
    num_replicas: 3,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: 24 * 3600 * 1e9, // nanoseconds: the 24 h default retention period
    allow_direct: true,
    duplicate_window: 0,
  };
}

/**
 * A writer that appends payloads `<stream>#<i>` one at a time, each with the expected last
 * sequence. acked[i] is the sequence of payload i once JetStream acknowledged it.
 */
function makeWriter(js, jsm, stream) {
  const w = {
    stream, acked: [], next: 0, last: 0, running: true, ackTimes: [], unknownResolved: 0,
    retries: 0, error: null,
  };
  const subject = `rn.t.${stream}`;
  w.done = (async () => {
    while (w.running) {
      const payload = `${stream}#${w.next}`;
      try {
        const pa = await js.publish(subject, enc.encode(payload), {
          expect: { lastSequence: w.last, streamName: stream }, timeout: 2000,
        });
        assert.equal(pa.seq, w.last + 1, `${stream}: appended at ${pa.seq}, expected ${w.last + 1}`);
        assert.equal(pa.duplicate, false);
        w.acked.push(pa.seq);
        w.ackTimes.push(Date.now());
        w.last = pa.seq;
        w.next += 1;
      } catch (e) {
        if (e.api_error?.err_code === WRONG_LAST_SEQ || /wrong last sequence/.test(e.message)) {
          // The stream is past w.last: the previous try of this payload landed (its ack was lost),
          // or something else wrote there (must not happen: one writer per stream).
          const m = await getAt(jsm, stream, w.last + 1);
          if (m === payload) {
            w.unknownResolved += 1;
            w.acked.push(w.last + 1);
            w.ackTimes.push(Date.now());
            w.last += 1;
            w.next += 1;
            continue;
          }
          w.error = new Error(`${stream}: sequence ${w.last + 1} holds ${m}, not ${payload} (${e.message})`);
          w.running = false;
          break;
        }
        // Timeout, no responders, connection lost: the outcome is unknown; retry the same payload
        // with the same expectation.
        w.retries += 1;
        await sleep(50);
      }
    }
  })();
  return w;
}

/** The payload at seq read from the stream's leader (STREAM.MSG.GET), retried through elections. */
async function getAt(jsm, stream, seq, attempts = 100) {
  for (let i = 0; ; i++) {
    try {
      const m = await jsm.streams.getMessage(stream, { seq });
      return dec.decode(m.data);
    } catch (e) {
      if (/no message found|not found/i.test(e.message)) return null;
      if (i >= attempts) throw e;
      await sleep(100);
    }
  }
}

/** Every message of the stream up to upTo, in order, through an ordered consumer (as EFO will
 * read); fails after timeoutMs rather than hanging. */
async function readAll(js, stream, upTo, timeoutMs = 60000) {
  const out = [];
  if (upTo === 0) return out;
  const c = await js.consumers.get(stream); // ordered, from the first message
  const msgs = await c.consume({ max_messages: 512 });
  const timer = setTimeout(() => msgs.stop(), timeoutMs);
  try {
    for await (const m of msgs) {
      out.push({ seq: m.seq, payload: dec.decode(m.data) });
      if (m.seq >= upTo) break;
    }
  } finally {
    clearTimeout(timer);
    await msgs.close();
  }
  return out;
}

/** Check a read-back against a writer: every acknowledged record at its sequence, nothing else. */
function checkWriter(w, got) {
  assert.equal(got.length, w.last, `${w.stream}: ${got.length} messages read, ${w.last} expected`);
  for (let i = 0; i < got.length; i++) {
    assert.equal(got[i].seq, i + 1, `${w.stream}: gap or disorder at position ${i}`);
  }
  for (let i = 0; i < w.acked.length; i++) {
    assert.equal(got[w.acked[i] - 1].payload, `${w.stream}#${i}`,
      `${w.stream}: acknowledged record ${i} lost or moved (seq ${w.acked[i]})`);
  }
}

test('a 3-node JetStream cluster forms, with sync_interval: always on every node', async (t) => {
  const t0 = Date.now();
  const c = await startNatsCluster();
  t.after(() => c.stop());
  console.log(`# nats-server ${c.version}: 3-node cluster ready in ${Date.now() - t0} ms, meta leader ${c.metaLeaderAtStart}`);
  for (let i = 0; i < 3; i++) {
    const v = await monitor(c.nodes[i], '/varz');
    assert.equal(v.status, 200);
    assert.equal(v.body.version, c.version.replace(/^v/, ''));
    assert.equal(v.body.jetstream.config.sync_always, true, `${c.nodes[i].name}: sync_always is off`);
    const j = await monitor(c.nodes[i], '/jsz');
    assert.equal(j.body.meta_cluster.cluster_size, 3);
    assert.equal(j.body.meta_cluster.leader, c.metaLeaderAtStart);
  }
  // An R3 stream gets three replicas on three distinct nodes.
  const nc = await connect({ servers: c.urls });
  t.after(() => nc.close());
  const jsm = await nc.jetstreamManager();
  const si = await jsm.streams.add(shardStreamConfig('FORM'));
  assert.equal(si.config.num_replicas, 3);
  const leader = await c.waitStreamLeader('FORM');
  const info = await jsm.streams.info('FORM');
  const peers = [info.cluster.leader, ...(info.cluster.replicas ?? []).map((r) => r.name)];
  assert.equal(leader, info.cluster.leader);
  assert.deepEqual([...new Set(peers)].sort(), ['n1', 'n2', 'n3']);
});

test('kill -9 of the stream leader: writes resume, nothing acknowledged is lost', async (t) => {
  const c = await startNatsCluster();
  t.after(() => c.stop());
  const nc = await connect({
    servers: c.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100, pingInterval: 1000,
  });
  t.after(() => nc.close());
  const jsm = await nc.jetstreamManager({ timeout: 2000 });
  const js = nc.jetstream({ timeout: 2000 });
  const streams = ['SHARD0', 'SHARD1'];
  for (const s of streams) await jsm.streams.add(shardStreamConfig(s));
  for (const s of streams) await c.waitStreamLeader(s);

  // An append expecting the wrong last sequence is refused, and nothing is written.
  await jsm.streams.add(shardStreamConfig('PROBE'));
  const pa = await js.publish('rn.t.PROBE', enc.encode('probe'), { expect: { lastSequence: 0 } });
  assert.equal(pa.seq, 1);
  await assert.rejects(
    js.publish('rn.t.PROBE', enc.encode('probe2'), { expect: { lastSequence: 0 } }),
    (e) => e.api_error?.err_code === WRONG_LAST_SEQ || /wrong last sequence/.test(e.message));
  assert.equal((await jsm.streams.info('PROBE')).state.last_seq, 1);
  await jsm.streams.delete('PROBE');

  const writers = streams.map((s) => makeWriter(js, jsm, s));
  t.after(async () => { for (const w of writers) w.running = false; await Promise.all(writers.map((w) => w.done)); });
  const stalls = [];
  let directMisses = 0;
  let directReads = 0;
  try {
    for (let k = 0; k < KILLS; k++) {
      const target = writers.map((w) => w.acked.length + RECORDS_BETWEEN_KILLS);
      while (writers.some((w, i) => w.acked.length < target[i])) {
        for (const w of writers) if (w.error) throw w.error;
        await sleep(20);
      }
      const victim = await c.waitStreamLeader(streams[0]);
      const tKill = Date.now();
      const ackedAtKill = writers.map((w) => w.acked.length);
      await c.kill9(c.index(victim));
      // Writes resume on the two survivors (a new leader is elected).
      while (writers.some((w, i) => w.acked.length < ackedAtKill[i] + 20)) {
        for (const w of writers) if (w.error) throw w.error;
        if (Date.now() - tKill > 60000) throw new Error('writes did not resume within 60 s of the kill');
        await sleep(20);
      }
      for (const [i, w] of writers.entries()) {
        let gap = 0;
        for (let j = Math.max(1, ackedAtKill[i] - 1); j < w.ackTimes.length; j++) {
          gap = Math.max(gap, w.ackTimes[j] - w.ackTimes[j - 1]);
        }
        stalls.push({ kill: k + 1, stream: w.stream, stallMs: gap });
      }
      const newLeader = await c.waitStreamLeader(streams[0]);
      assert.notEqual(newLeader, victim);
      console.log(`# kill ${k + 1}: leader ${victim} of ${streams[0]} killed, new leader ${newLeader}; stalls ${stalls.slice(-2).map((s) => `${s.stream} ${s.stallMs} ms`).join(', ')}`);
      await c.restart(c.index(victim));
      // Direct gets of acknowledged records (any replica answers; a lagging one may not have it).
      for (const w of writers) {
        for (const seq of w.acked.slice(-20)) {
          directReads += 1;
          try {
            await jsm.direct.getMessage(w.stream, { seq });
          } catch {
            directMisses += 1;
          }
        }
      }
    }
  } finally {
    for (const w of writers) w.running = false;
    await Promise.all(writers.map((w) => w.done));
  }
  for (const w of writers) if (w.error) throw w.error;

  // Wait until the restarted node caught up, then read everything back (ordered consumer).
  for (const w of writers) {
    const deadline = Date.now() + 30000;
    for (;;) {
      const si = await jsm.streams.info(w.stream);
      const reps = si.cluster.replicas ?? [];
      if (si.state.last_seq === w.last && reps.length === 2 && reps.every((r) => r.current)) break;
      if (Date.now() > deadline) throw new Error(`${w.stream}: replicas not current: ${JSON.stringify(si.cluster)}`);
      await sleep(100);
    }
    checkWriter(w, await readAll(js, w.stream, w.last));
  }
  const total = writers.reduce((n, w) => n + w.acked.length, 0);
  const max = Math.max(...stalls.map((s) => s.stallMs));
  console.log(`# ${KILLS} leader kills: ${total} appends acknowledged, 0 lost, 0 duplicated; ` +
    `outcomes resolved after a lost ack: ${writers.reduce((n, w) => n + w.unknownResolved, 0)}; ` +
    `retries: ${writers.reduce((n, w) => n + w.retries, 0)}; election stall max ${max} ms ` +
    `(${stalls.map((s) => s.stallMs).join(', ')}); direct gets of acknowledged records that missed: ` +
    `${directMisses}/${directReads}`);
});

test('a close marker is stored once, and appends fenced on it are refused after it', async (t) => {
  const c = await startNatsCluster();
  t.after(() => c.stop());
  const nc = await connect({ servers: c.urls });
  t.after(() => nc.close());
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  await jsm.streams.add({ ...shardStreamConfig('FENCE'), subjects: ['rn.t.FENCE.r', 'rn.t.FENCE.c'] });
  await c.waitStreamLeader('FENCE');
  const fenced = (i) => {
    const h = headers();
    h.set('Nats-Expected-Last-Subject-Sequence', '0');
    h.set('Nats-Expected-Last-Subject-Sequence-Subject', 'rn.t.FENCE.c');
    return js.publish('rn.t.FENCE.r', enc.encode(`r${i}`), { headers: h });
  };
  const counts = {};
  for (const inFlight of [1, 8]) {
    let stored = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      for (let i = 0; i < 64 / inFlight; i++) {
        try { await fenced(i); stored += 1; } catch (e) {
          assert.match(e.message, /wrong last sequence/);
        }
      }
    }));
    counts[inFlight] = stored;
  }
  assert.equal(counts[1], 64, 'fenced appends one at a time must all be stored');
  console.log(`# fenced appends stored: ${counts[1]}/64 one at a time, ${counts[8]}/64 with 8 in flight`);
  const marker = () => {
    const h = headers();
    h.set('Nats-Expected-Last-Subject-Sequence', '0');
    return js.publish('rn.t.FENCE.c', new Uint8Array(0), { headers: h });
  };
  const m = await marker();
  const end = m.seq - 1;
  await assert.rejects(marker(), /wrong last sequence/, 'a second close marker was stored');
  await assert.rejects(fenced(999), /wrong last sequence/, 'an append after the close was stored');
  const si = await jsm.streams.info('FENCE');
  assert.equal(si.state.last_seq, m.seq, 'something was stored after the close marker');
  const last = await jsm.direct.getMessage('FENCE', { last_by_subj: 'rn.t.FENCE.r' });
  assert.equal(last.seq, end, 'the last record is not just before the marker');
});

test('closing a shard by removing its record subject, then the marker: nothing lands after it', async (t) => {
  const c = await startNatsCluster();
  t.after(() => c.stop());
  const ncs = [];
  t.after(() => Promise.all(ncs.map((nc) => nc.close())));
  for (let i = 0; i < 3; i++) ncs.push(await connect({ servers: [c.url(i)] }));
  const jsm = await ncs[0].jetstreamManager();
  for (let trial = 0; trial < 3; trial++) {
    const name = `CLOSE${trial}`;
    const cfg = { ...shardStreamConfig(name), subjects: [`rn.t.${name}.r`, `rn.t.${name}.c`] };
    await jsm.streams.add(cfg);
    await c.waitStreamLeader(name);
    let running = true;
    const acked = [];
    const writer = (nc) => {
      const js = nc.jetstream({ timeout: 3000 });
      return Promise.all(Array.from({ length: 64 }, async () => {
        while (running) {
          try {
            acked.push((await js.publish(`rn.t.${name}.r`, enc.encode('x'))).seq);
          } catch { /* refused once the subject is gone */ }
        }
      }));
    };
    const writers = [writer(ncs[1]), writer(ncs[2])];
    while (acked.length < 500) await sleep(10);
    await jsm.streams.update(name, { ...cfg, subjects: [`rn.t.${name}.c`] });
    const h = headers();
    h.set('Nats-Expected-Last-Subject-Sequence', '0');
    const m = await ncs[0].jetstream().publish(`rn.t.${name}.c`, new Uint8Array(0), { headers: h });
    await sleep(300); // the writers keep trying after the close
    running = false;
    await Promise.all(writers);
    const si = await jsm.streams.info(name);
    assert.equal(si.state.last_seq, m.seq, `${name}: ${si.state.last_seq - m.seq} records stored after the marker`);
    assert.equal(acked.filter((q) => q > m.seq).length, 0);
    assert.equal(new Set(acked).size, acked.length);
    console.log(`# ${name}: ${acked.length} appends acknowledged, marker at ${m.seq}, 0 after it`);
    await jsm.streams.delete(name);
  }
});

test('a retried atomic batch whose first try landed is refused whole, and its ids are stored', async (t) => {
  const c = await startNatsCluster();
  t.after(() => c.stop());
  const nc = await connect({ servers: c.urls });
  t.after(() => nc.close());
  const jsm = await nc.jetstreamManager();
  const jc = JSONCodec();
  await jsm.streams.add({ ...shardStreamConfig('BATCH'), allow_atomic: true, duplicate_window: 120e9 });
  await c.waitStreamLeader('BATCH');
  assert.equal((await jsm.streams.info('BATCH')).config.allow_atomic, true);
  // Until the stream's interest has reached this connection's server a publish is answered 503
  // (no responders); a publish expecting another stream is refused by the stream, storing nothing.
  for (let i = 0; ; i++) {
    const h = headers();
    h.set('Nats-Expected-Stream', 'NOT-BATCH');
    try {
      await nc.request('rn.t.BATCH', enc.encode('probe'), { headers: h, timeout: 2000 });
      break;
    } catch (e) {
      if (i > 100) throw e;
      await sleep(50);
    }
  }
  assert.equal((await jsm.streams.info('BATCH')).state.last_seq, 0);
  const batch = async (batchId, ids) => {
    for (let i = 0; i < ids.length; i++) {
      const h = headers();
      h.set('Nats-Batch-Id', batchId);
      h.set('Nats-Batch-Sequence', String(i + 1));
      h.set('Nats-Msg-Id', ids[i]);
      if (i < ids.length - 1) {
        nc.publish('rn.t.BATCH', enc.encode(ids[i]), { headers: h });
      } else {
        h.set('Nats-Batch-Commit', '1');
        return jc.decode((await nc.request('rn.t.BATCH', enc.encode(ids[i]), { headers: h, timeout: 5000 })).data);
      }
    }
    return null;
  };
  const first = await batch('b1', ['n1.1', 'n1.2', 'n1.3']);
  assert.deepEqual({ seq: first.seq, count: first.count, batch: first.batch }, { seq: 3, count: 3, batch: 'b1' });
  for (const [id, ids] of [['b1', ['n1.1', 'n1.2', 'n1.3']], ['b2', ['n1.1', 'n1.2', 'n1.3']], ['b3', ['n1.3', 'n1.4']]]) {
    const r = await batch(id, ids);
    assert.equal(r.error?.err_code, 10201, `retry ${id}: ${JSON.stringify(r)}`);
    assert.equal(r.seq, 0);
  }
  assert.equal((await jsm.streams.info('BATCH')).state.last_seq, 3, 'a refused batch stored something');
  for (let q = 1; q <= 3; q++) {
    const m = await jsm.direct.getMessage('BATCH', { seq: q });
    assert.equal(m.header.get('Nats-Batch-Id'), 'b1');
    assert.equal(m.header.get('Nats-Msg-Id'), `n1.${q}`);
    assert.equal(m.header.get('Nats-Batch-Sequence'), String(q));
  }
  const fresh = await batch('b4', ['n1.5', 'n1.6']);
  assert.equal(fresh.seq, 5);
});

const NATSPROBE = path.join(REPO_ROOT, 'build', 'natsprobe');
test('natsprobe (nats.c) against the cluster', { skip: !fs.existsSync(NATSPROBE) && 'build/natsprobe not built (no libnats)' }, async (t) => {
  const c = await startNatsCluster();
  t.after(() => c.stop());
  const child = spawn(NATSPROBE, [c.urls.join(','), '500'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 240000);
  const code = await new Promise((resolve) => child.on('exit', (cd) => resolve(cd)));
  clearTimeout(timer);
  for (const line of out.trim().split('\n')) console.log(`# ${line}`);
  assert.equal(code, 0, out);
  assert.match(out, /natsprobe: ok \(0 failed checks\)/);
});
