// go.test.mjs: the AWS SDK for Go v2 as a second real client (tests/integration/go/efo/main.go).
// Builds the program in GOPATH mode against Debian's /usr/share/gocode (golang-go,
// golang-github-aws-aws-sdk-go-v2-dev, golang-golang-x-net-dev; scripts/deps.sh --test installs
// them) into a temp dir, runs it against a fresh runnel with KINESIS_ENDPOINT, and checks its exit
// code and its RESULT line. Skipped, with the reason, when go or the SDK source is missing.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, makeTempDir, removeDir, startRunnel } from './runnel.mjs';

const GOCODE = '/usr/share/gocode';
const SRC = path.join(REPO_ROOT, 'tests', 'integration', 'go', 'efo');
const NEEDED = [
  'github.com/aws/aws-sdk-go-v2/service/kinesis/api_op_SubscribeToShard.go',
  'github.com/aws/aws-sdk-go-v2/credentials/static_provider.go',
  'github.com/aws/smithy-go/go.mod',
  'golang.org/x/net/http2/transport.go',
];
const BUILD_TIMEOUT_MS = 180000;
const RUN_TIMEOUT_MS = 90000;

function skipReason() {
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    return 'go not found (scripts/deps.sh --test installs golang-go)';
  }
  for (const f of NEEDED) {
    if (!fs.existsSync(path.join(GOCODE, 'src', f))) {
      return `${GOCODE}/src/${f} missing (scripts/deps.sh --test installs golang-github-aws-aws-sdk-go-v2-dev, golang-golang-x-net-dev)`;
    }
  }
  return null;
}
const SKIP = skipReason();
if (SKIP) console.log(`go.test.mjs skipped: ${SKIP}`);

/** Run a command to completion, killing it by pid after timeoutMs. */
function run(cmd, args, { env, cwd, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }); });
  });
}

let tmp, bin, srv;

before(async () => {
  if (SKIP) return;
  tmp = makeTempDir('runnel-go-');
  bin = path.join(tmp, 'efo');
  const env = {
    ...process.env,
    GO111MODULE: 'off', GOPATH: `${GOCODE}:${path.join(tmp, 'gopath')}`, GOCACHE: path.join(tmp, 'cache'),
    GOFLAGS: '', GOPROXY: 'off', GOTOOLCHAIN: 'local', CGO_ENABLED: '0',
  };
  const t0 = Date.now();
  const r = await run('go', ['build', '-o', bin, '.'], { env, cwd: SRC, timeoutMs: BUILD_TIMEOUT_MS });
  assert.ok(!r.timedOut, `go build timed out after ${BUILD_TIMEOUT_MS} ms`);
  assert.equal(r.code, 0, `go build failed:\n${r.stdout}${r.stderr}`);
  console.log(`go build: ${Date.now() - t0} ms`);
  srv = await startRunnel({ inMemory: true });
});

after(async () => {
  await srv?.stop();
  removeDir(tmp);
});

test('AWS SDK for Go v2: PutRecords/GetRecords over HTTP/1.1, SubscribeToShard over h2c', { skip: SKIP ?? false, timeout: 120000 }, async () => {
  const r = await run(bin, [], {
    env: { ...process.env, KINESIS_ENDPOINT: srv.endpoint }, cwd: tmp, timeoutMs: RUN_TIMEOUT_MS,
  });
  const detail = `\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nrunnel stderr:\n${srv.stderr}`;
  assert.ok(!r.timedOut, `the Go program timed out after ${RUN_TIMEOUT_MS} ms${detail}`);
  assert.equal(r.code, 0, `the Go program failed${detail}`);
  for (const step of ['putrecords-getrecords', 'subscribe-latest', 'subscribe-trim-horizon']) {
    assert.match(r.stdout, new RegExp(`^ok ${step} `, 'm'), `step ${step} missing${detail}`);
  }
  const m = /^RESULT (.*)$/m.exec(r.stdout);
  assert.ok(m, `no RESULT line${detail}`);
  const res = JSON.parse(m[1]);
  assert.equal(res.putGetRecords, 10);
  assert.equal(res.subscribeLatest.records, 20);
  assert.equal(res.subscribeTrimHorizon.records, 20);
  assert.ok(res.subscribeLatest.events >= 1 && res.subscribeTrimHorizon.events >= 1);
  console.log(r.stdout.trim());
});
