// config.test.mjs: `runnel serve --config FILE` (src/cli/options.c): a YAML file of the flags'
// names, overridden by RUNNEL_* and those by the flags (seen in what the server does: the port it
// listens on, the region its --init-streams streams land in); --print-config's output fed back as
// a file gives the same configuration; every kind of bad file stops runnel with exit status 2,
// naming the file, the line and the key, before anything is opened or bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DescribeStreamSummaryCommand, KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { CREDENTIALS, freePort, makeTempDir, removeDir, runRunnelToExit, startRunnel } from './runnel.mjs';

const T = { timeout: 60000 };

const client = (endpoint, region) => new KinesisClient({ region, endpoint, credentials: CREDENTIALS, maxAttempts: 1 });

/** The streams a client of `region` sees. */
async function streamsIn(endpoint, region) {
  return (await client(endpoint, region).send(new ListStreamsCommand({}))).StreamNames;
}

/** A temp dir holding runnel.yaml with the given text; removed after the test. */
function configFile(t, text) {
  const dir = makeTempDir('runnel-config-');
  t.after(() => removeDir(dir));
  const file = path.join(dir, 'runnel.yaml');
  fs.writeFileSync(file, text);
  return { dir, file };
}

/** The option: value lines of a --print-config output, comments and blank lines dropped. */
function values(printed) {
  const out = {};
  for (const line of printed.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z-]+): (.*?)  # (.*)$/.exec(line);
    assert.ok(m, `a printed line is "key: value  # source": ${line}`);
    out[m[1]] = { value: m[2], source: m[3] };
  }
  return out;
}

test('the file configures the server: its listen port, region, streams and storage', T, async (t) => {
  const port = await freePort();
  const { dir, file } = configFile(t, [
    '# runnel serve, from a file',
    `listen: 127.0.0.1:${port}`,
    'in-memory: true',
    'region: eu-west-1',
    'init-streams: cfg:2',
    'shard-limit: 10',
    '',
  ].join('\n'));
  const srv = await startRunnel({ bare: true, args: ['--config', file] });
  t.after(() => srv.stop());
  assert.equal(srv.port, port);
  assert.match(srv.stdout, /\(in memory, fsync always\)/);
  assert.deepEqual(await streamsIn(srv.endpoint, 'eu-west-1'), ['cfg']);
  assert.deepEqual(await streamsIn(srv.endpoint, 'us-east-1'), []);
  const s = (await client(srv.endpoint, 'eu-west-1').send(new DescribeStreamSummaryCommand({ StreamName: 'cfg' })))
    .StreamDescriptionSummary;
  assert.equal(s.OpenShardCount, 2);
  assert.match(s.StreamARN, /^arn:aws:kinesis:eu-west-1:000000000000:stream\/cfg$/);
  assert.deepEqual(fs.readdirSync(dir), ['runnel.yaml'], 'in memory: no data dir made');
});

test('precedence: a flag beats the environment, which beats the file', T, async (t) => {
  const [pFile, pEnv, pFlag] = [await freePort(), await freePort(), await freePort()];
  const { file } = configFile(t, `listen: 127.0.0.1:${pFile}\nregion: eu-west-1\nin-memory: true\ninit-streams: p:1\n`);

  // the environment over the file, the file named by RUNNEL_CONFIG
  let srv = await startRunnel({
    bare: true, env: { RUNNEL_CONFIG: file, RUNNEL_LISTEN: `127.0.0.1:${pEnv}`, RUNNEL_REGION: 'eu-west-2' },
  });
  assert.equal(srv.port, pEnv);
  assert.deepEqual(await streamsIn(srv.endpoint, 'eu-west-2'), ['p']);
  assert.deepEqual(await streamsIn(srv.endpoint, 'eu-west-1'), []);
  await srv.stop();

  // the flags over both
  srv = await startRunnel({
    bare: true,
    env: { RUNNEL_LISTEN: `127.0.0.1:${pEnv}`, RUNNEL_REGION: 'eu-west-2' },
    args: ['--config', file, '--listen', `127.0.0.1:${pFlag}`, '--region', 'eu-west-3'],
  });
  t.after(() => srv.stop());
  assert.equal(srv.port, pFlag);
  assert.deepEqual(await streamsIn(srv.endpoint, 'eu-west-3'), ['p']);
  assert.deepEqual(await streamsIn(srv.endpoint, 'eu-west-2'), []);
});

test('--print-config shows every option with its source, and reads back as the same configuration', T, async (t) => {
  const { dir, file } = configFile(t, [
    'data-dir: /var/lib/runnel',
    'fsync: interval:5',
    'region: eu-west-1',
    'kms-strict: true',
    'init-streams: a:2,b',
    'access-log: "odd \\"name\\".log"',
    'shard-limit: 9',
    '',
  ].join('\n'));
  const first = await runRunnelToExit(
    ['serve', '--config', file, '--print-config', '--region', 'eu-west-3', '--enforce-limits'],
    { env: { RUNNEL_SHARD_LIMIT: '7', RUNNEL_DATA_DIR: '/srv/runnel' } },
  );
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, '');
  const v = values(first.stdout);
  // every option of --help is there
  const help = await runRunnelToExit(['--help']);
  const flags = [...help.stdout.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1])
    .filter((f) => f !== 'config' && f !== 'print-config');
  assert.ok(flags.length > 30);
  assert.deepEqual(Object.keys(v).sort(), [...new Set(flags)].sort());
  assert.deepEqual(v.region, { value: '"eu-west-3"', source: 'flag --region' });
  assert.deepEqual(v['enforce-limits'], { value: 'true', source: 'flag --enforce-limits' });
  assert.deepEqual(v['shard-limit'], { value: '7', source: 'env RUNNEL_SHARD_LIMIT' });
  assert.deepEqual(v['data-dir'], { value: '"/srv/runnel"', source: 'env RUNNEL_DATA_DIR' });
  assert.deepEqual(v.fsync, { value: '"interval:5"', source: 'file, line 2' });
  assert.deepEqual(v['kms-strict'], { value: 'true', source: 'file, line 4' });
  assert.deepEqual(v['access-log'], { value: '"odd \\"name\\".log"', source: 'file, line 6' });
  assert.deepEqual(v.listen, { value: '"127.0.0.1:4567"', source: 'default' });
  assert.deepEqual(v['tls-cert'], { value: 'null', source: 'default' });
  assert.deepEqual(v['in-memory'], { value: 'false', source: 'default' });
  assert.match(first.stdout, /^# configuration file: ".*runnel\.yaml" \(--config\)$/m);

  // fed back alone (no environment, no flags), the printed file gives the same values
  const printed = path.join(dir, 'printed.yaml');
  fs.writeFileSync(printed, first.stdout);
  const second = await runRunnelToExit(['serve', '--config', printed, '--print-config']);
  assert.equal(second.code, 0, second.stderr);
  const v2 = values(second.stdout);
  for (const [k, { value }] of Object.entries(v)) {
    assert.equal(v2[k].value, value, k);
    assert.match(v2[k].source, value === 'null' ? /^default$/ : /^file, line \d+$/, k);
  }
});

test('a bad file stops runnel before anything starts: exit 2, the file, line and key named', T, async (t) => {
  const port = await freePort();
  const cases = [
    ['unknown key', 'region: eu-west-1\nlisten-on: 1\n', /runnel\.yaml:2: unknown key 'listen-on'/],
    ['a sequence for a scalar', 'region: eu-west-1\n\nlisten:\n  - a\n  - b\n',
      /runnel\.yaml:4: key 'listen' takes a single value \(text\), not a sequence/],
    ['a mapping for a scalar', 'shard-limit: {a: 1}\n', /runnel\.yaml:1: key 'shard-limit' takes a single value \(a number\), not a mapping/],
    ['a duplicate key', 'region: eu-west-1\nshard-limit: 3\nregion: eu-west-2\n',
      /runnel\.yaml:3: duplicate key 'region' \(first on line 1\)/],
    ['YAML syntax', 'region: eu-west-1\nfsync: "always\n',
      /runnel\.yaml:3: YAML syntax error: found unexpected end of stream .*\(after key 'fsync'\)/],
    ['a boolean that is not one', 'in-memory: maybe\n', /runnel\.yaml:1: key 'in-memory' takes true or false, not 'maybe'/],
    ['a bad value', 'region: eu-west-1\nfsync: sometimes\n',
      /runnel\.yaml:2: key 'fsync': --fsync must be always, interval:<ms> or never, not 'sometimes'/],
    ['not a mapping', '- region\n', /runnel\.yaml:1: the file must be a mapping of option: value, not a sequence/],
  ];
  for (const [what, text, why] of cases) {
    const { dir, file } = configFile(t, text);
    const data = path.join(dir, 'data');
    for (const how of ['flag', 'env']) {
      const argv = ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', data];
      const env = {};
      if (how === 'flag') argv.push('--config', file);
      else env.RUNNEL_CONFIG = file;
      const r = await runRunnelToExit(argv, { env });
      assert.equal(r.code, 2, `${what} (${how}): ${r.stderr}`);
      assert.match(r.stderr, why, `${what} (${how})`);
      assert.ok(r.stderr.includes(file), `${what}: the message names the file: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /listening/, what);
      assert.ok(!fs.existsSync(data), `${what}: no data dir made`);
    }
  }
  const missing = await runRunnelToExit(['serve', '--config', '/nonexistent/runnel.yaml', '--print-config']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read the configuration file \/nonexistent\/runnel\.yaml: No such file/);
  // nothing was left listening on the port the cases named
  const srv = await startRunnel({ inMemory: true, port });
  await srv.stop();
});
