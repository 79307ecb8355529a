// kinesis.js: the console's calls to the Kinesis API of its own origin (POST /, JSON 1.1,
// always signed with SigV4), the credentials kept in sessionStorage, /metrics scraped and parsed,
// and a follower that polls GetRecords on every shard of a stream, following children.
import { sign } from './sigv4.js';

const KEY = 'runnel.console.credentials';
/** Developer mode takes any well-formed signature: these sign when nothing was typed. */
export const DEV_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test', sessionToken: '', region: 'us-east-1' };

export function credentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (c && c.accessKeyId && c.secretAccessKey) return { ...DEV_CREDENTIALS, ...c, typed: true };
  } catch { /* none */ }
  return { ...DEV_CREDENTIALS, typed: false };
}

export function saveCredentials(c) { sessionStorage.setItem(KEY, JSON.stringify(c)); }
export function clearCredentials() { sessionStorage.removeItem(KEY); }

export class AwsError extends Error {
  constructor(type, message, status, requestId) {
    super(message);
    this.type = type;
    this.status = status;
    this.requestId = requestId;
  }
  toString() { return `${this.type}: ${this.message}`; }
}

/** One Kinesis call: resolves the JSON answer, rejects with an AwsError. */
export async function call(op, params = {}) {
  const body = new TextEncoder().encode(JSON.stringify(params));
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Kinesis_20131202.${op}` };
  const signed = await sign({ method: 'POST', host: location.host, path: '/', headers, body }, credentials(), 'kinesis');
  let res;
  try {
    res = await fetch('/', { method: 'POST', headers: { ...headers, ...signed }, body, cache: 'no-store' });
  } catch (e) {
    throw new AwsError('NetworkError', `runnel did not answer (${e.message})`, 0, '');
  }
  const text = await res.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { message: text }; }
  if (!res.ok) {
    const type = (res.headers.get('x-amzn-errortype') ?? json.__type ?? `HTTP ${res.status}`).split(':')[0].split('#').pop();
    throw new AwsError(type, json.message ?? json.Message ?? '', res.status, res.headers.get('x-amzn-requestid') ?? '');
  }
  return json;
}

/** Every page of a paginated call, items under field. */
export async function callAll(op, params, field, limit = 1000) {
  const out = [];
  let token;
  do {
    // ListShards takes NextToken alone; ListStreamConsumers wants its StreamARN with it
    const r = await call(op, token ? { ...params, NextToken: token, ...(op === 'ListShards' ? { StreamName: undefined } : {}) } : params);
    out.push(...(r[field] ?? []));
    token = r.NextToken;
  } while (token && out.length < limit);
  return out;
}

/** All the shards of a stream, closed ones too. */
export function listShards(stream) {
  return callAll('ListShards', { StreamName: stream }, 'Shards', 10000);
}

// ---- /metrics ------------------------------------------------------------------------------

/** GET /metrics parsed to [{name, labels, value}], or null when the origin does not serve it (verified
 * mode keeps AWS's 403 there; docs/operations.md). */
export async function scrapeMetrics() {
  let res;
  try { res = await fetch('/metrics', { cache: 'no-store' }); } catch { return null; }
  if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/plain')) return null;
  const out = [];
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Per-stream values of a family: Map stream -> value (the current account and region). */
export function byStream(samples, name) {
  const cred = credentials();
  const out = new Map();
  for (const s of samples ?? []) {
    if (s.name !== name || (s.labels.region && s.labels.region !== cred.region)) continue;
    out.set(s.labels.stream, (out.get(s.labels.stream) ?? 0) + s.value);
  }
  return out;
}

/** Rates of counters between two scrapes: the difference over the seconds between them. */
export class MetricsRates {
  constructor() { this.prev = null; this.rates = new Map(); this.values = null; }
  async update(names) {
    const samples = await scrapeMetrics();
    if (!samples) return false;
    const now = performance.now();
    const cur = { t: now, v: Object.fromEntries(names.map((n) => [n, byStream(samples, n)])) };
    if (this.prev) {
      const dt = (now - this.prev.t) / 1000;
      for (const n of names) {
        const m = new Map();
        for (const [stream, v] of cur.v[n]) m.set(stream, Math.max(0, v - (this.prev.v[n].get(stream) ?? v)) / dt);
        this.rates.set(n, m);
      }
    }
    this.prev = cur;
    this.values = samples;
    return true;
  }
  rate(name, stream) { return this.rates.get(name)?.get(stream); }
}

// ---- records ---------------------------------------------------------------------------------

export function b64decode(s) {
  const bin = atob(s ?? '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function b64encode(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Bytes as Kinesis counts them: data plus partition key. */
export function recordBytes(r) {
  return Math.floor(((r.Data ?? '').length * 3) / 4) - ((r.Data ?? '').match(/=*$/)[0].length) + new TextEncoder().encode(r.PartitionKey ?? '').length;
}

/**
 * Polls GetRecords on every open shard of a stream, from `from` (LATEST or TRIM_HORIZON), one call
 * per shard every intervalMs, and follows a closed shard's children (from TRIM_HORIZON, so nothing
 * written to them is missed). onBatch(shardId, records, millisBehindLatest) for every answer,
 * onError(err) for a failed call (the shard is retried at the next tick).
 */
export class Follower {
  constructor(stream, { from = 'LATEST', intervalMs = 1000, onBatch = () => {}, onError = () => {} } = {}) {
    Object.assign(this, { stream, from, intervalMs, onBatch, onError });
    this.shards = new Map(); // shardId -> {iterator, closed}
    this.stopped = false;
    this.timer = null;
  }

  async start() {
    try {
      for (const s of await listShards(this.stream)) {
        if (!s.SequenceNumberRange?.EndingSequenceNumber) await this.add(s.ShardId, this.from);
      }
    } catch (e) { this.onError(e); }
    this.schedule();
    return this;
  }

  async add(shardId, type) {
    if (this.shards.has(shardId) || this.stopped) return;
    this.shards.set(shardId, { iterator: null, closed: false, type });
    const r = await call('GetShardIterator', { StreamName: this.stream, ShardId: shardId, ShardIteratorType: type });
    this.shards.get(shardId).iterator = r.ShardIterator;
  }

  schedule() {
    if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  async tick() {
    for (const [shardId, st] of this.shards) {
      if (this.stopped) return;
      if (st.closed) continue;
      try {
        if (!st.iterator) {
          st.iterator = (await call('GetShardIterator', { StreamName: this.stream, ShardId: shardId, ShardIteratorType: st.type })).ShardIterator;
        }
        const r = await call('GetRecords', { ShardIterator: st.iterator, Limit: 1000 });
        if (this.stopped) return;
        this.onBatch(shardId, r.Records ?? [], r.MillisBehindLatest);
        st.iterator = r.NextShardIterator ?? null;
        if (!st.iterator) {
          st.closed = true;
          for (const c of r.ChildShards ?? []) await this.add(c.ShardId, 'TRIM_HORIZON');
        }
      } catch (e) {
        if (e.type === 'ExpiredIteratorException') st.iterator = null;
        if (e.type === 'ResourceNotFoundException') st.closed = true;
        this.onError(e);
      }
    }
    this.schedule();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
