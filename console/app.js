// app.js: runnel's web console (docs/console.md). Hash routes:
//   #/streams                      streams with their rates, create and delete
//   #/stream/NAME                  shards, lineage, rates, reshard, put a record, live tail
//   #/stream/NAME/consumers        enhanced fan-out consumers, register and deregister
//   #/credentials                  the keys the page signs with (sessionStorage only)
// No framework: h() builds DOM nodes (text is never parsed as HTML).
import {
  AwsError, DEV_CREDENTIALS, Follower, MetricsRates, b64decode, b64encode, byStream, call, callAll,
  clearCredentials, credentials, listShards, recordBytes, saveCredentials, scrapeMetrics,
} from './kinesis.js';

const TAIL_MAX = 200;        // records kept in the live tail's DOM
const LIST_REFRESH_MS = 5000;
const SAMPLE_MS = 5000;      // GetRecords polling when /metrics is not on this origin
const SAMPLE_MAX_STREAMS = 20;
const METRICS_MS = 2000;
const HASH_SPACE = 2n ** 128n;

// ---- DOM helpers ------------------------------------------------------------------------------

function h(tag, attrs = {}, ...kids) {
  const svg = ['svg', 'rect', 'line', 'path', 'text', 'g', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k in el && !svg) el[k] = v;
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid !== undefined && kid !== null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

const $ = (sel) => document.querySelector(sel);

function fmtNum(n, digits = 1) {
  if (n === undefined || n === null || Number.isNaN(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(digits)}k`;
  return n < 10 && n % 1 ? n.toFixed(digits) : String(Math.round(n));
}
function fmtBytes(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}
function fmtMs(ms) {
  if (ms === undefined || ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}
function fmtTime(t) {
  if (t === undefined || t === null) return '—';
  const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
function statusBadge(s) { return h('span', { class: `badge badge-${String(s).toLowerCase()}` }, s); }

/** shardId-000000000012 as #12. */
function short(id) { return id.replace(/^shardId-0*(?=\d)/, '#'); }

/** A shard's hash range as a fraction [0, 1] of the key space. */
function frac(key) { return Number((BigInt(key) * 1000000n) / HASH_SPACE) / 1000000; }

// ---- notices ----------------------------------------------------------------------------------

function notify(msg, kind = 'error') {
  const box = $('#notices');
  for (const n of box.children) if (n.firstChild.textContent === msg) n.remove(); // once, the newest
  const el = h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'notice-text' }, msg),
    h('button', { class: 'notice-close', title: 'dismiss', onclick: () => el.remove() }, '×'));
  box.append(el);
  while (box.children.length > 4) box.firstChild.remove();
  if (kind !== 'error') setTimeout(() => el.remove(), 3000);
}

/** The errors that say the keys are wrong (or missing), not the request. */
const AUTH_ERRORS = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'MissingAuthenticationTokenException',
  'IncompleteSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId', 'SignatureDoesNotMatch']);
let keysRejected = false;

function errorText(e) {
  return e instanceof AwsError ? `${e.type}: ${e.message}` : String(e?.message ?? e);
}

/** Runs fn, showing its AWS error; resolves its result or undefined. */
async function attempt(fn, okMsg) {
  try {
    const r = await fn();
    if (keysRejected) { keysRejected = false; showIdentity(); }
    if (okMsg) notify(okMsg, 'ok');
    return r;
  } catch (e) {
    notify(errorText(e));
    if (AUTH_ERRORS.has(e.type)) {
      keysRejected = true;
      showIdentity();
      // a runnel that verifies signatures, and no keys typed yet: ask for them
      if (!credentials().typed && !location.hash.startsWith('#/credentials')) location.hash = '#/credentials';
    }
    return undefined;
  }
}

// ---- page lifecycle -----------------------------------------------------------------------------

let cleanups = [];
function onLeave(fn) { cleanups.push(fn); }
function every(ms, fn) {
  let t = null;
  let live = true;
  const loop = async () => { try { await fn(); } finally { if (live) t = setTimeout(loop, ms); } };
  loop();
  onLeave(() => { live = false; clearTimeout(t); });
}

function render(...nodes) {
  const main = $('#main');
  main.replaceChildren(...nodes);
}

function section(title, ...kids) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...kids);
}

function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, hint && h('span', { class: 'hint' }, hint));
}

// ---- mode: where the rates come from -----------------------------------------------------------

const metrics = new MetricsRates();
let metricsOnOrigin = null; // null until the first scrape
let metricsSkips = 0;

async function refreshMetrics() {
  // an origin without /metrics (verified mode) is asked again only every 30th time, not every 2 s
  if (metricsOnOrigin === false && ++metricsSkips % 30) return;
  metricsOnOrigin = await metrics.update(['kinesis_incoming_records_total', 'kinesis_incoming_bytes_total']);
  $('#mode').textContent = metricsOnOrigin
    ? 'rates from /metrics (developer mode)'
    : `rates sampled by polling GetRecords every ${SAMPLE_MS / 1000} s (/metrics is not served on this origin)`;
}

function showIdentity() {
  const c = credentials();
  $('#identity').replaceChildren(
    h('span', { class: `dot${keysRejected ? ' dot-bad' : c.typed ? ' dot-on' : ''}`, title: keysRejected ? 'the server rejected these keys' : '' }),
    c.typed ? `${c.accessKeyId} · ${c.region}` : `developer-mode keys · ${c.region}`);
}

// ---- streams list -------------------------------------------------------------------------------

async function streamsPage() {
  const tbody = h('tbody');
  const table = h('table', { class: 'grid', id: 'streams-table' },
    h('thead', {}, h('tr', {}, ['Stream', 'Status', 'Mode', 'Shards', 'Records/s', 'Bytes/s', ''].map((c) => h('th', {}, c)))),
    tbody);
  const empty = h('p', { class: 'empty', hidden: true }, 'No streams yet: create one below.');
  const name = h('input', { name: 'name', required: true, pattern: '[a-zA-Z0-9_.\\-]{1,128}', placeholder: 'orders', autocomplete: 'off' });
  const shards = h('input', { name: 'shards', type: 'number', min: 1, value: 1 });
  const mode = h('select', { name: 'mode' }, h('option', { value: 'PROVISIONED' }, 'PROVISIONED'), h('option', { value: 'ON_DEMAND' }, 'ON_DEMAND'));
  mode.addEventListener('change', () => { shards.disabled = mode.value === 'ON_DEMAND'; });
  const form = h('form', { class: 'inline-form', id: 'create-stream', onsubmit: async (ev) => {
    ev.preventDefault();
    const params = { StreamName: name.value, StreamModeDetails: { StreamMode: mode.value } };
    if (mode.value === 'PROVISIONED') params.ShardCount = Number(shards.value);
    if (await attempt(() => call('CreateStream', params), `Stream ${name.value} created`) !== undefined) {
      name.value = '';
      await refresh();
    }
  } }, field('Name', name), field('Shards', shards), field('Mode', mode), h('button', { type: 'submit', class: 'primary' }, 'Create stream'));

  render(h('div', { class: 'page-head' }, h('h1', {}, 'Streams')),
    section('All streams', table, empty), section('Create a stream', form));

  let rows = new Map(); // name -> its ListStreams summary with OpenShardCount and status from DescribeStreamSummary
  const samplers = new Map(); // name -> {follower, records, bytes, since, window, timer}: polling mode only

  function rateOf(nameOfStream) {
    if (metricsOnOrigin) { // a stream without series has had no write: 0 once two scrapes are in
      const z = metrics.rates.size ? 0 : undefined;
      return [metrics.rate('kinesis_incoming_records_total', nameOfStream) ?? z, metrics.rate('kinesis_incoming_bytes_total', nameOfStream) ?? z];
    }
    const s = samplers.get(nameOfStream);
    if (!s || !s.window) return [undefined, undefined];
    return [s.window.records / s.window.secs, s.window.bytes / s.window.secs];
  }

  function sample(streamName) {
    if (samplers.has(streamName) || samplers.size >= SAMPLE_MAX_STREAMS) return;
    const s = { records: 0, bytes: 0, since: performance.now(), window: null };
    s.follower = new Follower(streamName, { intervalMs: SAMPLE_MS, onBatch: (_, recs) => {
      s.records += recs.length;
      for (const r of recs) s.bytes += recordBytes(r);
    } });
    s.timer = setInterval(() => {
      const now = performance.now();
      s.window = { records: s.records, bytes: s.bytes, secs: (now - s.since) / 1000 };
      Object.assign(s, { records: 0, bytes: 0, since: now });
    }, SAMPLE_MS);
    samplers.set(streamName, s);
    s.follower.start();
  }
  onLeave(() => { for (const s of samplers.values()) { s.follower.stop(); clearInterval(s.timer); } });

  async function refresh() {
    const sums = await attempt(() => callAll('ListStreams', {}, 'StreamSummaries'));
    if (!sums) return;
    const next = new Map();
    for (const s of sums) {
      const d = await call('DescribeStreamSummary', { StreamName: s.StreamName }).then((r) => r.StreamDescriptionSummary, () => null);
      next.set(s.StreamName, { ...s, OpenShardCount: d?.OpenShardCount, StreamStatus: d?.StreamStatus ?? s.StreamStatus });
    }
    for (const [n, s] of samplers) if (!next.has(n)) { s.follower.stop(); clearInterval(s.timer); samplers.delete(n); }
    rows = next;
    draw();
  }

  function draw() {
    tbody.replaceChildren(...[...rows.values()].map((s) => {
      if (!metricsOnOrigin && metricsOnOrigin !== null && s.StreamStatus === 'ACTIVE') sample(s.StreamName);
      const [rps, bps] = rateOf(s.StreamName);
      const link = `#/stream/${encodeURIComponent(s.StreamName)}`;
      return h('tr', { 'data-stream': s.StreamName },
        h('td', {}, h('a', { href: link, class: 'stream-link' }, s.StreamName)),
        h('td', {}, statusBadge(s.StreamStatus)),
        h('td', {}, s.StreamModeDetails?.StreamMode ?? '—'),
        h('td', { class: 'num' }, s.OpenShardCount ?? '—'),
        h('td', { class: 'num rate-records' }, fmtNum(rps)),
        h('td', { class: 'num rate-bytes' }, bps === undefined ? '—' : `${fmtBytes(bps)}/s`),
        h('td', { class: 'actions' },
          h('a', { href: `${link}/consumers`, class: 'button' }, 'Consumers'),
          h('button', { class: 'danger', onclick: () => deleteStream(s.StreamName) }, 'Delete')));
    }));
    empty.hidden = rows.size > 0;
  }

  async function deleteStream(n) {
    if (!confirm(`Delete stream ${n} and all its records? Its consumers are deregistered too.`)) return;
    if (await attempt(() => call('DeleteStream', { StreamName: n, EnforceConsumerDeletion: true }), `Stream ${n} is being deleted`) !== undefined) {
      await refresh();
    }
  }

  every(LIST_REFRESH_MS, refresh);
  every(METRICS_MS, async () => { await refreshMetrics(); draw(); });
}

// ---- stream page --------------------------------------------------------------------------------

/** Decoded record data for the tail: 'utf8', 'json' or 'hex'. */
function decode(bytes, how) {
  if (how === 'hex') {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = [...bytes.subarray(i, i + 16)];
      lines.push(`${i.toString(16).padStart(6, '0')}  ${row.map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(47)}  ${row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('')}`);
    }
    return lines.join('\n');
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  if (how === 'json') {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return `${text}\n(not JSON)`; }
  }
  return text;
}

function lineage(shards, onPick) {
  const byId = new Map(shards.map((s) => [s.ShardId, s]));
  const depth = new Map();
  const depthOf = (s) => {
    if (depth.has(s.ShardId)) return depth.get(s.ShardId);
    depth.set(s.ShardId, 0);
    const parents = [s.ParentShardId, s.AdjacentParentShardId].map((p) => byId.get(p)).filter(Boolean);
    const d = parents.length ? Math.max(...parents.map(depthOf)) + 1 : 0;
    depth.set(s.ShardId, d);
    return d;
  };
  shards.forEach(depthOf);
  const rows = Math.max(0, ...depth.values()) + 1;
  const W = 640, ROW = 60, BOX = 32, PAD = 6;
  const svg = h('svg', { class: 'lineage', id: 'lineage', viewBox: `0 0 ${W} ${rows * ROW + 24}`, role: 'img', 'aria-label': 'shard lineage' });
  const x = (key) => PAD + frac(key) * (W - 2 * PAD);
  const y = (s) => 20 + depth.get(s.ShardId) * ROW;
  for (const [i, label] of ['0', '2¹²⁶', '2¹²⁷', '3·2¹²⁶', '2¹²⁸'].entries()) {
    svg.append(h('text', { x: PAD + (i / 4) * (W - 2 * PAD), y: 13, class: 'axis', 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, label));
  }
  for (const s of shards) {
    for (const p of [s.ParentShardId, s.AdjacentParentShardId].map((id) => byId.get(id)).filter(Boolean)) {
      const px = (x(p.HashKeyRange.StartingHashKey) + x(p.HashKeyRange.EndingHashKey)) / 2;
      const cx = (x(s.HashKeyRange.StartingHashKey) + x(s.HashKeyRange.EndingHashKey)) / 2;
      svg.append(h('path', { class: 'edge', 'data-parent': p.ShardId, 'data-child': s.ShardId,
        d: `M${px},${y(p) + BOX} C${px},${y(p) + BOX + 16} ${cx},${y(s) - 16} ${cx},${y(s)}` }));
    }
  }
  for (const s of shards) {
    const x0 = x(s.HashKeyRange.StartingHashKey), x1 = x(s.HashKeyRange.EndingHashKey);
    const open = !s.SequenceNumberRange?.EndingSequenceNumber;
    const g = h('g', { class: `shard-node ${open ? 'open' : 'closed'}`, 'data-shard': s.ShardId, onclick: open ? () => onPick(s.ShardId) : undefined },
      h('title', {}, `${s.ShardId}\n${s.HashKeyRange.StartingHashKey} – ${s.HashKeyRange.EndingHashKey}`),
      h('rect', { x: x0 + 1, y: y(s), width: Math.max(2, x1 - x0 - 2), height: BOX, rx: 5 }),
      x1 - x0 > 44 && h('text', { x: (x0 + x1) / 2, y: y(s) + BOX / 2 + 4, 'text-anchor': 'middle' }, short(s.ShardId)));
    svg.append(g);
  }
  return svg;
}

async function streamPage(name) {
  const head = h('div', { class: 'page-head' },
    h('div', {}, h('a', { href: '#/streams', class: 'crumb' }, 'Streams'), h('h1', {}, name)),
    h('nav', { class: 'tabs' }, h('a', { href: `#/stream/${encodeURIComponent(name)}`, class: 'active' }, 'Shards & tail'),
      h('a', { href: `#/stream/${encodeURIComponent(name)}/consumers` }, 'Consumers')));
  const summaryBox = h('dl', { class: 'summary', id: 'stream-summary' });
  const shardBody = h('tbody');
  const shardTable = h('table', { class: 'grid', id: 'shards-table' },
    h('thead', {}, h('tr', {}, ['Shard', 'State', 'Hash range', 'Parent', 'Records/s', 'Bytes/s', 'Iterator age'].map((c) => h('th', {}, c)))),
    shardBody);
  const lineageBox = h('div', { class: 'lineage-box' });

  // reshard forms
  const splitShard = h('select', { name: 'shard' });
  const splitForm = h('form', { class: 'inline-form', id: 'split-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const s = shards.find((x) => x.ShardId === splitShard.value);
    if (!s) return;
    const lo = BigInt(s.HashKeyRange.StartingHashKey), hi = BigInt(s.HashKeyRange.EndingHashKey);
    const mid = (lo + hi + 1n) / 2n;
    if (await attempt(() => call('SplitShard', { StreamName: name, ShardToSplit: s.ShardId, NewStartingHashKey: mid.toString() }),
      `${s.ShardId} split at ${mid}`) !== undefined) await refresh(true);
  } }, field('Shard', splitShard, 'split at the midpoint of its hash range'), h('button', { type: 'submit' }, 'Split'));
  const mergePair = h('select', { name: 'pair' });
  const mergeForm = h('form', { class: 'inline-form', id: 'merge-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const [a, b] = mergePair.value.split(' ');
    if (!b) return;
    if (await attempt(() => call('MergeShards', { StreamName: name, ShardToMerge: a, AdjacentShardToMerge: b }), `${a} and ${b} merged`) !== undefined) await refresh(true);
  } }, field('Adjacent pair', mergePair), h('button', { type: 'submit' }, 'Merge'));
  const target = h('input', { name: 'count', type: 'number', min: 1 });
  const countForm = h('form', { class: 'inline-form', id: 'count-form', onsubmit: async (ev) => {
    ev.preventDefault();
    if (await attempt(() => call('UpdateShardCount', { StreamName: name, TargetShardCount: Number(target.value), ScalingType: 'UNIFORM_SCALING' }),
      `Resharding to ${target.value} shards`) !== undefined) await refresh(true);
  } }, field('Target shard count', target, 'UNIFORM_SCALING'), h('button', { type: 'submit' }, 'Update'));

  // put a test record
  const pk = h('input', { name: 'key', required: true, value: 'test-key', autocomplete: 'off' });
  const data = h('textarea', { name: 'data', rows: 3, placeholder: '{"hello": "world"}' });
  const ehk = h('input', { name: 'hashkey', placeholder: 'optional', autocomplete: 'off' });
  const putForm = h('form', { class: 'stack-form', id: 'put-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const params = { StreamName: name, PartitionKey: pk.value, Data: b64encode(new TextEncoder().encode(data.value)) };
    if (ehk.value) params.ExplicitHashKey = ehk.value;
    const r = await attempt(() => call('PutRecord', params));
    if (r) notify(`Put to ${r.ShardId} at ${r.SequenceNumber}`, 'ok');
  } }, h('div', { class: 'row' }, field('Partition key', pk), field('Explicit hash key', ehk)), field('Data (UTF-8)', data),
  h('button', { type: 'submit', class: 'primary' }, 'Put record'));

  // live tail
  let how = 'utf8';
  let paused = false;
  const tail = []; // newest last: {shardId, r, bytes}
  const tailBox = h('div', { class: 'tail', id: 'tail' });
  const tailCount = h('span', { class: 'hint', id: 'tail-count' }, 'waiting for records');
  const decodeSel = h('div', { class: 'segmented', id: 'decode' }, ['utf8', 'json', 'hex'].map((v) => h('button', {
    type: 'button', 'data-decode': v, class: v === how ? 'on' : '',
    onclick: (ev) => { how = v; for (const b of decodeSel.children) b.classList.toggle('on', b === ev.currentTarget); drawTail(); },
  }, { utf8: 'UTF-8', json: 'JSON', hex: 'Hex' }[v])));
  const pauseBtn = h('button', { type: 'button', id: 'pause', onclick: () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.classList.toggle('on', paused);
    drawTail();
  } }, 'Pause');
  const fromSel = h('select', { id: 'tail-from', onchange: () => startFollower() },
    h('option', { value: 'LATEST' }, 'from latest'), h('option', { value: 'TRIM_HORIZON' }, 'from trim horizon'));

  function drawTail() {
    tailCount.textContent = `${tail.length} record${tail.length === 1 ? '' : 's'} kept (at most ${TAIL_MAX})${paused ? ', paused' : ''}`;
    if (paused) return;
    tailBox.replaceChildren(...tail.slice().reverse().map(({ shardId, r, bytes }) => h('div', { class: 'rec' },
      h('div', { class: 'rec-meta' },
        h('span', { class: 'rec-shard', title: shardId }, short(shardId)),
        h('span', { class: 'rec-key', title: 'partition key' }, r.PartitionKey),
        h('span', { class: 'rec-seq', title: 'sequence number' }, r.SequenceNumber),
        h('span', { class: 'rec-time' }, fmtTime(r.ApproximateArrivalTimestamp)),
        h('span', { class: 'rec-size' }, fmtBytes(bytes.length))),
      h('pre', { class: 'rec-data' }, decode(bytes, how)))));
  }

  render(head,
    h('div', { class: 'cols' }, section('Summary', summaryBox), section('Lineage', lineageBox, h('p', { class: 'hint' }, 'The hash key space left to right, a generation a row; dashed: closed. Click an open shard to pick it for a split.'))),
    section('Shards', shardTable, h('p', { class: 'hint' }, 'Per-shard rates and iterator age from the console\'s own GetRecords polling (every second, from LATEST): MillisBehindLatest of its last answer.')),
    h('div', { class: 'cols' }, section('Reshard', splitForm, mergeForm, countForm), section('Put a test record', putForm)),
    section('Live tail', h('div', { class: 'toolbar' }, decodeSel, fromSel, pauseBtn, tailCount), tailBox));

  let shards = [];
  const stats = new Map(); // shardId -> {records, bytes, since, rps, bps, age}
  let follower = null;

  function startFollower() {
    follower?.stop();
    tail.length = 0;
    drawTail();
    follower = new Follower(name, { from: fromSel.value, intervalMs: 1000,
      onBatch: (shardId, recs, behind) => {
        const st = stats.get(shardId) ?? { records: 0, bytes: 0, since: performance.now() };
        st.age = behind;
        for (const r of recs) {
          const bytes = b64decode(r.Data);
          st.records += 1;
          st.bytes += recordBytes(r);
          tail.push({ shardId, r, bytes });
        }
        if (tail.length > TAIL_MAX) tail.splice(0, tail.length - TAIL_MAX);
        stats.set(shardId, st);
        if (recs.length) drawTail();
      },
      onError: (e) => notify(`tail: ${errorText(e)}`) });
    follower.start();
  }
  onLeave(() => follower?.stop());

  function drawShards() {
    shardBody.replaceChildren(...shards.map((s) => {
      const open = !s.SequenceNumberRange?.EndingSequenceNumber;
      const st = stats.get(s.ShardId);
      const lo = frac(s.HashKeyRange.StartingHashKey), hi = frac(s.HashKeyRange.EndingHashKey);
      return h('tr', { 'data-shard': s.ShardId, class: open ? '' : 'muted' },
        h('td', { class: 'mono' }, s.ShardId),
        h('td', {}, statusBadge(open ? 'OPEN' : 'CLOSED')),
        h('td', { class: 'mono', title: `${s.HashKeyRange.StartingHashKey} – ${s.HashKeyRange.EndingHashKey}` },
          h('span', { class: 'range' }, h('span', { class: 'range-bar', 'data-lo': lo, 'data-hi': hi })), `${(lo * 100).toFixed(1)}% – ${(hi * 100).toFixed(1)}%`),
        h('td', { class: 'mono', title: [s.ParentShardId, s.AdjacentParentShardId].filter(Boolean).join(' + ') },
          [s.ParentShardId, s.AdjacentParentShardId].filter(Boolean).map(short).join(' + ') || '—'),
        h('td', { class: 'num' }, open ? fmtNum(st?.rps) : '—'),
        h('td', { class: 'num' }, open && st?.bps !== undefined ? `${fmtBytes(st.bps)}/s` : '—'),
        h('td', { class: 'num iterator-age' }, open ? fmtMs(st?.age) : '—'));
    }));
    // range bars are sized through the CSSOM (the CSP allows no inline style attributes)
    for (const bar of shardBody.querySelectorAll('.range-bar')) {
      bar.style.marginLeft = `${Number(bar.dataset.lo) * 100}%`;
      bar.style.width = `${Math.max(1, (Number(bar.dataset.hi) - Number(bar.dataset.lo)) * 100)}%`;
    }
  }

  async function refresh(reshaped = false) {
    const d = await attempt(() => call('DescribeStreamSummary', { StreamName: name }));
    if (!d) return;
    const s = d.StreamDescriptionSummary;
    summaryBox.replaceChildren(...[
      ['Status', statusBadge(s.StreamStatus)], ['Mode', s.StreamModeDetails?.StreamMode], ['Open shards', s.OpenShardCount],
      ['Retention', `${s.RetentionPeriodHours} h`], ['Consumers', s.ConsumerCount ?? 0], ['Encryption', s.EncryptionType],
      ['Created', fmtTime(s.StreamCreationTimestamp)], ['ARN', h('span', { class: 'mono small' }, s.StreamARN)],
    ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
    const got = await attempt(() => listShards(name));
    if (!got) return;
    const changed = JSON.stringify(got.map((x) => [x.ShardId, x.SequenceNumberRange?.EndingSequenceNumber])) !== JSON.stringify(shards.map((x) => [x.ShardId, x.SequenceNumberRange?.EndingSequenceNumber]));
    shards = got;
    if (changed || reshaped) {
      lineageBox.replaceChildren(lineage(shards, (id) => { splitShard.value = id; splitShard.focus(); }));
      const open = shards.filter((x) => !x.SequenceNumberRange?.EndingSequenceNumber)
        .sort((a, b) => (BigInt(a.HashKeyRange.StartingHashKey) < BigInt(b.HashKeyRange.StartingHashKey) ? -1 : 1));
      splitShard.replaceChildren(...open.map((x) => h('option', { value: x.ShardId }, x.ShardId)));
      const pairs = open.slice(1).map((b, i) => [open[i], b])
        .filter(([a, b]) => BigInt(a.HashKeyRange.EndingHashKey) + 1n === BigInt(b.HashKeyRange.StartingHashKey));
      mergePair.replaceChildren(...pairs.map(([a, b]) => h('option', { value: `${a.ShardId} ${b.ShardId}` }, `${a.ShardId} + ${b.ShardId}`)));
      if (!target.value) target.value = open.length;
    }
    drawShards();
  }

  every(1000, () => {
    const now = performance.now();
    for (const st of stats.values()) {
      const secs = (now - st.since) / 1000;
      if (secs >= 3) { Object.assign(st, { rps: st.records / secs, bps: st.bytes / secs, records: 0, bytes: 0, since: now }); }
    }
    drawShards();
  });
  every(3000, refresh);
  startFollower();
}

// ---- consumers -----------------------------------------------------------------------------------

async function consumersPage(name) {
  const head = h('div', { class: 'page-head' },
    h('div', {}, h('a', { href: '#/streams', class: 'crumb' }, 'Streams'), h('h1', {}, name)),
    h('nav', { class: 'tabs' }, h('a', { href: `#/stream/${encodeURIComponent(name)}` }, 'Shards & tail'),
      h('a', { href: `#/stream/${encodeURIComponent(name)}/consumers`, class: 'active' }, 'Consumers')));
  const tbody = h('tbody');
  const table = h('table', { class: 'grid', id: 'consumers-table' },
    h('thead', {}, h('tr', {}, ['Consumer', 'Status', 'ARN', 'Created', ''].map((c) => h('th', {}, c)))), tbody);
  const empty = h('p', { class: 'empty', hidden: true }, 'No enhanced fan-out consumers on this stream.');
  const lagBox = h('dl', { class: 'summary', id: 'lag' });
  const cname = h('input', { name: 'consumer', required: true, placeholder: 'analytics', autocomplete: 'off' });
  let arn = null;
  const form = h('form', { class: 'inline-form', id: 'register-form', onsubmit: async (ev) => {
    ev.preventDefault();
    if (await attempt(() => call('RegisterStreamConsumer', { StreamARN: arn, ConsumerName: cname.value }), `Consumer ${cname.value} registered`) !== undefined) {
      cname.value = '';
      await refresh();
    }
  } }, field('Name', cname), h('button', { type: 'submit', class: 'primary' }, 'Register consumer'));
  render(head, section('Enhanced fan-out consumers', table, empty), section('Lag', lagBox), section('Register a consumer', form));

  async function refresh() {
    if (!arn) {
      const d = await attempt(() => call('DescribeStreamSummary', { StreamName: name }));
      if (!d) return;
      arn = d.StreamDescriptionSummary.StreamARN;
    }
    const list = await attempt(() => callAll('ListStreamConsumers', { StreamARN: arn }, 'Consumers'));
    if (!list) return;
    // runnel's /metrics keeps these per stream, not per consumer: shown for the stream
    const samples = await scrapeMetrics();
    const efo = samples && byStream(samples, 'kinesis_subscribe_to_shard_event_millis_behind_latest').get(name);
    const polling = samples && byStream(samples, 'kinesis_get_records_iterator_age_ms').get(name);
    lagBox.replaceChildren(...(samples ? [
      h('dt', {}, 'Enhanced fan-out'), h('dd', { id: 'lag-efo' }, efo === undefined ? 'no SubscribeToShard event yet' : fmtMs(efo),
        h('span', { class: 'hint' }, ' MillisBehindLatest of the last SubscribeToShard event on this stream, whichever consumer')),
      h('dt', {}, 'Polling readers'), h('dd', { id: 'lag-polling' }, polling === undefined ? 'no GetRecords yet' : fmtMs(polling),
        h('span', { class: 'hint' }, ' GetRecords.IteratorAgeMilliseconds of the last GetRecords on this stream (this console\'s tail included)')),
    ] : [h('dt', {}, 'Not computable here'), h('dd', {}, 'lag comes from /metrics, which this origin serves in developer mode only (docs/console.md)')]));
    tbody.replaceChildren(...list.map((c) => h('tr', { 'data-consumer': c.ConsumerName },
      h('td', {}, c.ConsumerName), h('td', {}, statusBadge(c.ConsumerStatus)),
      h('td', { class: 'mono small' }, c.ConsumerARN), h('td', { class: 'nowrap' }, fmtTime(c.ConsumerCreationTimestamp)),
      h('td', { class: 'actions' }, h('button', { class: 'danger', onclick: async () => {
        if (!confirm(`Deregister consumer ${c.ConsumerName}?`)) return;
        if (await attempt(() => call('DeregisterStreamConsumer', { ConsumerARN: c.ConsumerARN }), `Consumer ${c.ConsumerName} deregistered`) !== undefined) await refresh();
      } }, 'Deregister')))));
    empty.hidden = list.length > 0;
  }
  every(3000, refresh);
}

// ---- credentials ---------------------------------------------------------------------------------

function credentialsPage() {
  const c = credentials();
  const akid = h('input', { name: 'accessKeyId', value: c.typed ? c.accessKeyId : '', placeholder: DEV_CREDENTIALS.accessKeyId, autocomplete: 'off', spellcheck: false });
  const secret = h('input', { name: 'secretAccessKey', type: 'password', value: c.typed ? c.secretAccessKey : '', autocomplete: 'off' });
  const token = h('input', { name: 'sessionToken', value: c.sessionToken ?? '', placeholder: 'optional', autocomplete: 'off' });
  const region = h('input', { name: 'region', value: c.region, autocomplete: 'off' });
  const form = h('form', { class: 'stack-form', id: 'credentials-form', onsubmit: async (ev) => {
    ev.preventDefault();
    saveCredentials({ accessKeyId: akid.value.trim(), secretAccessKey: secret.value, sessionToken: token.value.trim(), region: region.value.trim() || 'us-east-1' });
    showIdentity();
    const r = await attempt(() => call('ListStreams', { Limit: 1 }));
    if (r) notify('Signed in: ListStreams answered', 'ok');
  } },
  field('Access key ID', akid), field('Secret access key', secret), field('Session token', token), field('Region', region),
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Use these keys'),
    h('button', { type: 'button', onclick: () => { clearCredentials(); showIdentity(); credentialsPage(); notify('Keys forgotten', 'ok'); } }, 'Forget keys')));
  render(h('div', { class: 'page-head' }, h('h1', {}, 'Credentials')),
    section('Sign requests as', form, h('p', { class: 'hint' },
      'The page signs every call with SigV4 in the browser (WebCrypto). The keys stay in this tab\'s sessionStorage; ',
      'only signatures reach the server. Against a runnel in developer mode any keys work, and with none typed the page signs as test/test.')));
}

// ---- router ---------------------------------------------------------------------------------------

function route() {
  for (const fn of cleanups) fn();
  cleanups = [];
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.route === (parts[0] || 'streams'));
  if (parts[0] === 'stream' && parts[1]) {
    document.title = `${parts[1]} · runnel console`;
    return parts[2] === 'consumers' ? consumersPage(parts[1]) : streamPage(parts[1]);
  }
  if (parts[0] === 'credentials') { document.title = 'Credentials · runnel console'; return credentialsPage(); }
  document.title = 'Streams · runnel console';
  return streamsPage();
}

window.addEventListener('hashchange', route);
showIdentity();
refreshMetrics();
route();
