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

/** One signed-looking JSON request over HTTP/1.1 on a fresh connection; resolves
 * {status, body, ms}. */
export function jsonRequest(port, target, body, { headers = {}, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const t0 = process.hrtime.bigint();
    const s = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
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
      const status = Number(head.split(' ')[1]);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      resolve({ status, headers: head, body: all.subarray(he + 4, he + 4 + len).toString('utf8'), ms });
    });
    const h = {
      'Host': `127.0.0.1:${port}`,
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `Kinesis_20131202.${target}`,
      'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
      'X-Amz-Date': '20261202T000000Z',
      'Content-Length': String(payload.length),
      ...headers,
    };
    let req = 'POST / HTTP/1.1\r\n';
    for (const [k, v] of Object.entries(h)) req += `${k}: ${v}\r\n`;
    s.write(req + '\r\n');
    s.write(payload);
  });
}
