// hostile.mjs: what the tests/hostile suite shares. Each test plays one attacker against a real
// runnel (tests/integration/runnel.mjs starts it on 127.0.0.1 and a free port, stops it by pid)
// and asserts the bound: the server's memory (/proc/<pid>/status), another client's latency,
// the data read back after a restart.

import net from 'node:net';
import fs from 'node:fs';

export * from '../integration/runnel.mjs';

/** Resident set of a process in KiB (VmRSS), or NaN when it is gone. */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch { return NaN; }
}

/** Peak resident set (VmHWM) in KiB. */
export function peakRssKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch { return NaN; }
}

/** Open file descriptors of a process. */
export function fdCount(pid) {
  try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch { return NaN; }
}

/** CPU time (user + system) of a process in clock ticks. */
export function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** A raw TCP connection to 127.0.0.1:port; resolves once connected. */
export function rawConnect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed by the peer (or errors), with the bytes it received. */
export function untilClosed(sock, timeoutMs) {
  return new Promise((resolve) => {
    const chunks = [];
    let done = false;
    const finish = (why) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      resolve({ why, data: Buffer.concat(chunks) });
    };
    const t = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.once('close', () => finish('closed'));
    sock.once('error', () => finish('error'));
  });
}

export const DEV_AUTH = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';

/** One Kinesis request over HTTP/1.1 on a fresh connection, written byte for byte (the head as
 * latin1, so header bytes >= 0x80 go out as they are). body: a Buffer, a string or an object
 * (sent as JSON). opts: path ('/'), contentType (JSON 1.1), authorization (a well-formed
 * developer-mode header; null sends none), headers (extra, last wins), timeoutMs.
 * Resolves {status, head, raw: Buffer, body: string, json (or null), ms}, ms counted from the
 * last byte sent to the whole answer. */
export function rawRequest(port, target, body, opts = {}) {
  const {
    path = '/', contentType = 'application/x-amz-json-1.1', authorization = DEV_AUTH,
    headers = {}, timeoutMs = 10000,
  } = opts;
  return new Promise((resolve, reject) => {
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const s = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    let sentAt = null;
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`${target}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const he = all.indexOf('\r\n\r\n');
      if (he < 0) return;
      const head = all.subarray(0, he).toString('latin1');
      const m = /content-length:\s*(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (all.length < he + 4 + len) return;
      clearTimeout(timer);
      s.destroy();
      const ms = Number(process.hrtime.bigint() - (sentAt ?? process.hrtime.bigint())) / 1e6;
      const raw = all.subarray(he + 4, he + 4 + len);
      const text = raw.toString('utf8');
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      resolve({ status: Number(head.split(' ')[1]), head, headers: head, raw, body: text, json, ms });
    });
    const h = {
      'Host': `127.0.0.1:${port}`,
      'Content-Type': contentType,
      'X-Amz-Target': `Kinesis_20131202.${target}`,
      'X-Amz-Date': '20261202T000000Z',
      'Content-Length': String(payload.length),
      ...(authorization === null ? {} : { Authorization: authorization }),
      ...headers,
    };
    let req = `POST ${path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(h)) req += `${k}: ${v}\r\n`;
    s.write(Buffer.from(req + '\r\n', 'latin1'));
    s.write(payload, () => { sentAt = process.hrtime.bigint(); });
  });
}

/** One signed-looking JSON request over HTTP/1.1; resolves {status, headers, body, ms}. */
export function jsonRequest(port, target, body, { headers = {}, timeoutMs = 10000 } = {}) {
  return rawRequest(port, target, body, { headers, timeoutMs });
}

// ---- net (issue 9: flow control, fd limit, body budget, leniencies) ----------------------------

/** The headers of a Kinesis JSON request over HTTP/2 (node:http2), for `target`. */
export function h2Headers(target) {
  return {
    ':method': 'POST', ':path': '/',
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `Kinesis_20131202.${target}`,
    'authorization': 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
    'x-amz-date': '20261202T000000Z',
  };
}

/** JSON over HTTP/1.1 that must answer 200; resolves the parsed body. */
export async function okJson(port, target, body, opts) {
  const r = await jsonRequest(port, target, body, opts);
  if (r.status !== 200) throw new Error(`${target}: ${r.status} ${r.body}`);
  return r.body ? JSON.parse(r.body) : {};
}

/** A stream of `shards` shards holding `records` records of `size` bytes each (PutRecord with
 * ExplicitHashKey 0: all in the first shard); resolves a TRIM_HORIZON iterator of that shard. */
export async function seedStream(port, name, { shards = 1, records = 0, size = 1024 } = {}) {
  await okJson(port, 'CreateStream', { StreamName: name, ShardCount: shards });
  const data = Buffer.alloc(size, 0x61).toString('base64');
  for (let i = 0; i < records; i++) {
    await okJson(port, 'PutRecord', { StreamName: name, PartitionKey: 'k', ExplicitHashKey: '0', Data: data },
      { timeoutMs: 30000 });
  }
  const d = await okJson(port, 'DescribeStream', { StreamName: name });
  const it = await okJson(port, 'GetShardIterator', {
    StreamName: name, ShardId: d.StreamDescription.Shards[0].ShardId, ShardIteratorType: 'TRIM_HORIZON',
  });
  return it.ShardIterator;
}

/**
 * Start `runnel serve` under a file-descriptor limit (sh's ulimit -n, then exec: the pid is
 * runnel's), like startRunnel (in memory; stopped by pid). Resolves {port, pid, proc, stop(),
 * stderr()}.
 */
export async function startRunnelNofile(nofile, args = [], { env: extraEnv = {}, startTimeoutMs = 15000 } = {}) {
  const { spawn } = await import('node:child_process');
  const { freePort, makeTempDir, removeDir, RUNNEL_BIN, ENDPOINT_RE } = await import('../integration/runnel.mjs');
  const port = await freePort();
  const dir = makeTempDir('runnel-nofile-');
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RUNNEL_')) env[k] = v;
  Object.assign(env, extraEnv);
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${Number(nofile)} && exec "$0" "$@"`, RUNNEL_BIN,
    'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, ...args],
  { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errBytes = 0;
  let errTail = '';
  child.stderr.on('data', (d) => { errBytes += d.length; errTail = (errTail + d).slice(-8192); });
  let exited = false;
  const exitP = new Promise((r) => child.once('exit', () => { exited = true; r(); }));
  process.once('exit', () => { if (!exited) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no endpoint line: ${out} ${errTail}`)), startTimeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      if (ENDPOINT_RE.test(out)) { clearTimeout(t); resolve(); }
    });
    child.once('exit', (c, s) => { clearTimeout(t); reject(new Error(`runnel exited ${c} ${s}: ${errTail}`)); });
  });
  return {
    port, pid: child.pid, proc: child,
    stderrBytes: () => errBytes,
    stderr: () => errTail,
    async stop() {
      if (!exited) {
        try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
        const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
        await exitP;
        clearTimeout(t);
      }
      removeDir(dir);
    },
  };
}

/** Sample a value every `everyMs` for `ms`; resolves the samples. */
export async function sampleFor(ms, everyMs, fn) {
  const out = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    out.push(fn());
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return out;
}
