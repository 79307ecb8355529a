// natslib.mjs: start a real nats-server JetStream cluster for a test, break it, and look at it.
//
//   const c = await startNatsCluster();           // 3 nodes, sync_interval: always
//   t.after(() => c.stop());
//   const nc = await connect({ servers: c.urls }); // the `nats` npm package, any client
//   const leader = await c.streamLeader('S');      // server name, e.g. 'n2'
//   await c.kill9(c.index(leader));                // kill -9, store dir kept
//   await c.restart(c.index(leader));              // same ports, same store dir
//
// The binary is $NATS_SERVER_BIN, else the one `scripts/deps.sh --cluster` builds:
// $RUNNEL_CACHE/nats/<tests/cluster/nats-server.version>/bin/nats-server (RUNNEL_CACHE defaults to
// ~/.cache/runnel). Every node listens on 127.0.0.1 only, on free ports picked here (client, cluster
// route, HTTP monitoring), with its own JetStream store dir under one temp dir (removed by stop()).
// Processes are stopped by pid: SIGTERM, then SIGKILL after a timeout; any still alive when the
// test process exits are SIGKILLed (runnel.mjs's safety net).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REPO_ROOT, freePort, makeTempDir, removeDir, sleep, trackChild, waitExit,
} from '../integration/runnel.mjs';

export const NATS_SERVER_VERSION = fs.readFileSync(
  path.join(REPO_ROOT, 'tests', 'cluster', 'nats-server.version'), 'utf8').trim();
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN
  || path.join(process.env.RUNNEL_CACHE || path.join(os.homedir(), '.cache', 'runnel'),
    'nats', NATS_SERVER_VERSION, 'bin', 'nats-server');

const TAIL = 64 * 1024;

/** The configuration file of node i (nats-server's own format; JSON is a subset of it). */
function nodeConfig(node, all, { clusterName, syncAlways, extra }) {
  const js = { store_dir: node.storeDir };
  if (syncAlways) js.sync_interval = 'always';
  return {
    server_name: node.name,
    listen: `127.0.0.1:${node.clientPort}`,
    http: `127.0.0.1:${node.httpPort}`,
    jetstream: js,
    cluster: {
      name: clusterName,
      listen: `127.0.0.1:${node.routePort}`,
      routes: all.filter((n) => n !== node).map((n) => `nats-route://127.0.0.1:${n.routePort}`),
    },
    ...extra,
  };
}

/** GET a monitoring endpoint of a node; resolves the parsed JSON, or null when it does not answer. */
export async function monitor(node, pathAndQuery, timeoutMs = 2000) {
  try {
    const r = await fetch(`http://127.0.0.1:${node.httpPort}${pathAndQuery}`,
      { signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, body: await r.json() };
  } catch {
    return null;
  }
}

/**
 * Start an n-node JetStream cluster and wait until every node is healthy and agrees on a meta
 * leader.
 * opts.nodes        number of nodes (default 3)
 * opts.syncAlways   jetstream { sync_interval: always }: fsync before every acknowledgement
 *                   (default true; docs/cluster.md says why)
 * opts.extra        more top-level configuration merged into every node's file
 * opts.readyTimeoutMs  how long to wait for the cluster (default 30 s)
 */
export async function startNatsCluster(opts = {}) {
  const { nodes: count = 3, syncAlways = true, extra = {}, readyTimeoutMs = 30000 } = opts;
  if (!fs.existsSync(NATS_SERVER_BIN)) {
    throw new Error(`nats-server not found at ${NATS_SERVER_BIN} (run scripts/deps.sh --cluster, or set NATS_SERVER_BIN)`);
  }
  const dir = makeTempDir('runnel-nats-');
  const clusterName = `runnel-${process.pid}`;
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const name = `n${i + 1}`;
    nodes.push({
      index: i, name, clientPort: await freePort(), routePort: await freePort(), httpPort: await freePort(),
      storeDir: path.join(dir, name, 'js'), confFile: path.join(dir, `${name}.conf`),
      logFile: path.join(dir, `${name}.log`), proc: null, exited: null, output: '',
    });
  }
  for (const n of nodes) {
    fs.mkdirSync(n.storeDir, { recursive: true });
    fs.writeFileSync(n.confFile, JSON.stringify(nodeConfig(n, nodes, { clusterName, syncAlways, extra }), null, 2));
  }

  const launch = (n) => {
    const child = spawn(NATS_SERVER_BIN, ['-c', n.confFile], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(child);
    n.proc = child;
    n.exited = { done: false, result: null };
    const st = n.exited;
    const onData = (d) => {
      n.output = (n.output + d).slice(-TAIL);
      fs.appendFileSync(n.logFile, d);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => { st.done = true; st.result = { code, signal }; });
  };
  const alive = (n) => n.proc && !n.exited.done;
  const pidOf = (n) => (alive(n) ? n.proc.pid : null);

  const killNode = async (n, signal, timeoutMs) => {
    if (!alive(n)) return n.exited?.result ?? null;
    try { process.kill(n.proc.pid, signal); } catch { /* gone */ }
    let r = await waitExit(n.proc, n.exited, timeoutMs);
    if (!r) {
      try { process.kill(n.proc.pid, 'SIGKILL'); } catch { /* gone */ }
      r = await waitExit(n.proc, n.exited, 5000);
    }
    return r;
  };

  let stopped = null;
  const cluster = {
    dir, nodes, name: clusterName, version: NATS_SERVER_VERSION,
    /** Client URLs of every node (pass all of them to a client: it fails over). */
    get urls() { return nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`); },
    url(i) { return `nats://127.0.0.1:${nodes[i].clientPort}`; },
    index(name) {
      const i = nodes.findIndex((n) => n.name === name);
      if (i < 0) throw new Error(`no node named ${name}`);
      return i;
    },
    pid(i) { return pidOf(nodes[i]); },
    alive(i) { return alive(nodes[i]); },
    log(i) { return nodes[i].output; },

    /** Resolves the meta leader's name once every live node is healthy and names the same one. */
    async waitReady(timeoutMs = readyTimeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        const live = nodes.filter(alive);
        if (live.length === 0) throw new Error('no nats-server node is running');
        const health = await Promise.all(live.map((n) => monitor(n, '/healthz')));
        const jsz = await Promise.all(live.map((n) => monitor(n, '/jsz')));
        const leaders = jsz.map((j) => j?.body?.meta_cluster?.leader || '');
        const healthy = health.every((h) => h && h.status === 200);
        if (healthy && leaders[0] && leaders.every((l) => l === leaders[0])) return leaders[0];
        last = `health ${JSON.stringify(health.map((h) => h && h.body))} leaders ${JSON.stringify(leaders)}`;
        if (Date.now() > deadline) {
          throw new Error(`nats cluster not ready within ${timeoutMs} ms: ${last}\n${nodes.map((n) => `--- ${n.name}\n${n.output.slice(-3000)}`).join('\n')}`);
        }
        for (const n of nodes) {
          if (n.exited.done && !n.deliberatelyDown) {
            throw new Error(`nats-server ${n.name} exited (${JSON.stringify(n.exited.result)}):\n${n.output.slice(-4000)}`);
          }
        }
        await sleep(100);
      }
    },

    /** The meta leader's name as the live nodes see it ('' when they do not agree or have none). */
    async metaLeader() {
      const jsz = await Promise.all(nodes.filter(alive).map((n) => monitor(n, '/jsz')));
      const leaders = jsz.map((j) => j?.body?.meta_cluster?.leader || '');
      return leaders.length && leaders.every((l) => l === leaders[0]) ? leaders[0] : '';
    },

    /**
     * The name of the node leading stream `stream` (of account `account`, the default $G),
     * as a live node hosting it reports it; '' while it has none (an election).
     */
    async streamLeader(stream, account = '$G') {
      const q = `/jsz?accounts=true&streams=true&acc=${encodeURIComponent(account)}`;
      const answers = await Promise.all(nodes.filter(alive).map((n) => monitor(n, q)));
      for (const a of answers) {
        for (const acc of a?.body?.account_details ?? []) {
          for (const sd of acc.stream_detail ?? []) {
            if (sd.name === stream && sd.cluster?.leader) {
              const l = sd.cluster.leader;
              if (nodes.some((n) => n.name === l && alive(n))) return l;
            }
          }
        }
      }
      return '';
    },

    /** Wait until stream `stream` has a live leader; resolves its name. */
    async waitStreamLeader(stream, timeoutMs = 30000, account = '$G') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const l = await cluster.streamLeader(stream, account);
        if (l) return l;
        if (Date.now() > deadline) throw new Error(`stream ${stream} has no leader after ${timeoutMs} ms`);
        await sleep(50);
      }
    },

    /** kill -9 node i and wait for its exit; its store dir stays for restart(i). */
    async kill9(i) {
      nodes[i].deliberatelyDown = true;
      return killNode(nodes[i], 'SIGKILL', 5000);
    },

    /** Stop node i gracefully (SIGTERM, then SIGKILL after timeoutMs). */
    async stopNode(i, timeoutMs = 10000) {
      nodes[i].deliberatelyDown = true;
      return killNode(nodes[i], 'SIGTERM', timeoutMs);
    },

    /** Start node i again with its configuration and store dir; waits for the cluster. */
    async restart(i, { wait = true } = {}) {
      if (alive(nodes[i])) throw new Error(`${nodes[i].name} is still running`);
      nodes[i].deliberatelyDown = false;
      launch(nodes[i]);
      if (wait) await cluster.waitReady();
    },

    /** Stop every node by pid (SIGTERM, SIGKILL after a timeout) and remove the temp dir. */
    stop({ keepDir = false } = {}) {
      if (stopped) return stopped;
      stopped = (async () => {
        for (const n of nodes) n.deliberatelyDown = true;
        const r = await Promise.all(nodes.map((n) => killNode(n, 'SIGTERM', 10000)));
        if (!keepDir) removeDir(dir);
        return r;
      })();
      return stopped;
    },
  };

  try {
    for (const n of nodes) launch(n);
    cluster.metaLeaderAtStart = await cluster.waitReady();
  } catch (e) {
    await cluster.stop({ keepDir: !!process.env.RUNNEL_KEEP_NATS });
    throw e;
  }
  return cluster;
}
