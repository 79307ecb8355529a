// runnel.mjs: start a real runnel process for a test, and make SDK clients for it.
//
//   const srv = await startRunnel({ args: ['--fsync', 'always'] });
//   t.after(() => srv.stop());
//   const client = kinesisClient(srv.endpoint);            // HTTP/2, the SDK's default handler
//   const c1 = kinesisClient(srv.endpoint, { http1: true }); // HTTP/1.1 (NodeHttpHandler)
//
// The binary is $RUNNEL_BIN, else build/runnel under the repo root. Every server listens on a free
// loopback port picked here, keeps its data in a fresh temp dir (removed by stop()) unless the
// caller passes dataDir (then the caller owns it), and is stopped by pid: SIGTERM, then SIGKILL
// after a timeout. Servers still alive when the test process exits are SIGKILLed (safety net only;
// tests stop their servers in after() hooks).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RUNNEL_BIN = process.env.RUNNEL_BIN
  ? path.resolve(REPO_ROOT, process.env.RUNNEL_BIN)
  : path.join(REPO_ROOT, 'build', 'runnel');
export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
export const ENDPOINT_RE = /http:\/\/127\.0\.0\.1:(\d+)/;

const live = new Set(); // child processes not yet seen to exit

process.on('exit', () => {
  for (const p of live) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

/** Count a child among those SIGKILLed if still alive when this process exits (safety net for
 * helpers that start other servers, e.g. tests/cluster/natslib.mjs). */
export function trackChild(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A fresh empty directory under os.tmpdir(). */
export function makeTempDir(prefix = 'runnel-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir) {
  if (dir && dir.startsWith(os.tmpdir())) fs.rmSync(dir, { recursive: true, force: true });
}

/** The environment for a child runnel: ours without RUNNEL_* (so a stray RUNNEL_LISTEN cannot
 * redirect it), plus the caller's. */
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RUNNEL_')) env[k] = v;
  return { ...env, ...extra };
}

const TAIL = 64 * 1024;
function appendTail(buf, chunk) {
  const s = buf + chunk;
  return s.length > TAIL ? s.slice(s.length - TAIL) : s;
}

/** Wait for a child to exit, at most timeoutMs. Resolves {code, signal} or null on timeout. */
export function waitExit(child, exited, timeoutMs) {
  if (exited.done) return Promise.resolve(exited.result);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

/**
 * Start `runnel serve` and wait for its endpoint line.
 * opts.args      extra flags after `serve --listen ... --data-dir ...`
 * opts.env       extra environment variables
 * opts.dataDir   use this data dir (caller owns it); otherwise a temp dir removed by stop()
 * opts.inMemory  pass --in-memory and no --data-dir (cwd is a temp dir)
 * opts.port      listen port (default: a free one)
 * opts.bare      pass no --listen, --data-dir or --in-memory: the caller's args, environment or
 *                --config file say where (srv.port is then the printed port; cwd is a temp dir)
 * opts.startTimeoutMs  how long to wait for the endpoint line (default 15 s)
 * opts.nofile    RLIMIT_NOFILE of the server (`ulimit -n` in a shell that then execs runnel,
 *                so the pid is runnel's)
 */
export async function startRunnel(opts = {}) {
  const { args = [], env = {}, inMemory = false, startTimeoutMs = 15000 } = opts;
  if (!fs.existsSync(RUNNEL_BIN)) throw new Error(`runnel binary not found at ${RUNNEL_BIN} (set RUNNEL_BIN)`);
  const port = opts.port ?? await freePort();
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? makeTempDir();
  const argv = ['serve'];
  if (!opts.bare) {
    argv.push('--listen', `127.0.0.1:${port}`);
    if (inMemory) argv.push('--in-memory');
    else argv.push('--data-dir', dataDir);
  }
  argv.push(...args);

  const [file, fileArgs] = opts.nofile
    ? ['/bin/sh', ['-c', `ulimit -n ${Number(opts.nofile)} && exec "$0" "$@"`, RUNNEL_BIN, ...argv]]
    : [RUNNEL_BIN, argv];
  const child = spawn(file, fileArgs, {
    cwd: dataDir, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = { done: false, result: null };
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr = appendTail(stderr, d); });
  child.on('exit', (code, signal) => {
    exited.done = true; exited.result = { code, signal }; live.delete(child);
  });

  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`runnel did not print its endpoint within ${startTimeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, startTimeoutMs);
    child.stdout.on('data', (d) => {
      stdout = appendTail(stdout, d);
      const m = ENDPOINT_RE.exec(stdout);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`runnel exited (code ${code}, signal ${signal}) before printing its endpoint\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  }).catch(async (e) => {
    if (!exited.done) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
    await waitExit(child, exited, 5000);
    if (ownDir) removeDir(dataDir);
    throw e;
  });

  const printedPort = Number(ENDPOINT_RE.exec(endpoint)[1]);
  let stopped = null;
  const srv = {
    endpoint, port: printedPort, requestedPort: port, pid: child.pid, proc: child, dataDir,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    get exited() { return exited.done ? exited.result : null; },
    /** SIGTERM (or opts.signal), wait up to timeoutMs, then SIGKILL. Resolves {code, signal, forced}. */
    stop(stopOpts = {}) {
      if (stopped) return stopped;
      const { signal = 'SIGTERM', timeoutMs = 8000 } = stopOpts;
      stopped = (async () => {
        let forced = false;
        if (!exited.done) {
          try { process.kill(child.pid, signal); } catch { /* gone */ }
          let r = await waitExit(child, exited, timeoutMs);
          if (!r) {
            forced = true;
            try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
            r = await waitExit(child, exited, 5000);
          }
        }
        if (ownDir) removeDir(dataDir);
        return { ...(exited.result ?? {}), forced };
      })();
      return stopped;
    },
    /** kill -9 and wait for the exit; the data dir is kept for a restart. */
    async kill9() {
      if (!exited.done) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
        await waitExit(child, exited, 5000);
      }
      return exited.result;
    },
  };
  return srv;
}

/**
 * Run runnel with the given argv to completion (for cases where it must exit on its own),
 * killing it by pid after timeoutMs. Resolves {code, signal, stdout, stderr, timedOut}.
 */
export function runRunnelToExit(argv, { env = {}, cwd = os.tmpdir(), timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(RUNNEL_BIN, argv, { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout = appendTail(stdout, d); });
    child.stderr.on('data', (d) => { stderr = appendTail(stderr, d); });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); live.delete(child); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/**
 * A KinesisClient for a runnel endpoint. http1: use NodeHttpHandler (HTTP/1.1); otherwise the
 * SDK's default handler, which for @aws-sdk/client-kinesis 3.1143.0 is NodeHttp2Handler (h2c
 * with prior knowledge on http:// endpoints).
 */
export function kinesisClient(endpoint, { http1 = false, maxAttempts = 1 } = {}) {
  const cfg = { region: REGION, endpoint, credentials: CREDENTIALS, maxAttempts };
  if (http1) cfg.requestHandler = new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 });
  return new KinesisClient(cfg);
}

export const streamArn = (name, region = REGION, account = ACCOUNT) =>
  `arn:aws:kinesis:${region}:${account}:stream/${name}`;

let nameCounter = 0;
/** A stream name unique within this process and across runs. */
export function uniqueName(prefix = 's') {
  nameCounter += 1;
  const rnd = Math.random().toString(36).slice(2, 8);
  return `${prefix}-${process.pid}-${nameCounter}-${rnd}`.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 128);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
