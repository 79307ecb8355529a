// tls.test.mjs: runnel over TLS (same port as cleartext, and --tls-listen) with the AWS SDK for
// JavaScript (HTTP/2 via ALPN h2 and HTTP/1.1), boto3, and `runnel cert` writing usable files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { test } from 'node:test';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient,
  PutRecordCommand, RegisterStreamConsumerCommand, SubscribeToShardCommand,
  waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { CREDENTIALS, REGION, REPO_ROOT, freePort, makeTempDir, removeDir, runRunnelToExit,
  sleep, startRunnel, streamArn, uniqueName } from './runnel.mjs';

function makeCert(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  return runRunnelToExit(['cert', '--out-cert', cert, '--out-key', key, '--days', '2']).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return { cert, key, ca: fs.readFileSync(cert) };
  });
}

async function roundTrip(client) {
  const name = uniqueName('tls');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await waitUntilStreamExists({ client, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.2 }, { StreamName: name });
  const put = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('over tls') }));
  const it = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: put.ShardId,
    ShardIteratorType: 'TRIM_HORIZON' }));
  const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  assert.equal(got.Records.length, 1);
  assert.equal(Buffer.from(got.Records[0].Data).toString(), 'over tls');
}

test('runnel cert writes a key (0600) and a certificate for localhost', async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { cert, key } = await makeCert(dir);
  assert.equal(fs.statSync(key).mode & 0o777, 0o600);
  const x = new (await import('node:crypto')).X509Certificate(fs.readFileSync(cert));
  assert.match(x.subjectAltName, /DNS:localhost/);
  assert.match(x.subjectAltName, /IP Address:127\.0\.0\.1/);
  assert.ok(x.checkHost('localhost'));
  const bad = await runRunnelToExit(['cert', '--days', '0']);
  assert.equal(bad.code, 2);
});

test('AWS SDK v3 over https: HTTP/2 (ALPN h2) and HTTP/1.1, same port and --tls-listen', async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { cert, key, ca } = await makeCert(dir);
  const tlsPort = await freePort();
  const srv = await startRunnel({ inMemory: true,
    args: ['--tls-cert', cert, '--tls-key', key, '--tls-listen', `127.0.0.1:${tlsPort}`] });
  t.after(() => srv.stop());
  assert.match(srv.stdout, new RegExp(`and https://127\\.0\\.0\\.1:${srv.port} and https://127\\.0\\.0\\.1:${tlsPort} `));
  for (const p of [srv.port, tlsPort]) {
    const h2 = new KinesisClient({ region: REGION, credentials: CREDENTIALS, maxAttempts: 1,
      endpoint: `https://localhost:${p}`,
      requestHandler: new NodeHttp2Handler({ nodeHttp2ConnectOptions: { ca } }) });
    await roundTrip(h2);
    h2.destroy();
    const h1 = new KinesisClient({ region: REGION, credentials: CREDENTIALS, maxAttempts: 1,
      endpoint: `https://127.0.0.1:${p}`,
      requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }) });
    await roundTrip(h1);
    h1.destroy();
  }
  // the cleartext endpoint on the same port still works
  const plain = new KinesisClient({ region: REGION, credentials: CREDENTIALS, maxAttempts: 1, endpoint: srv.endpoint });
  await roundTrip(plain);
  plain.destroy();
  const stopped = await srv.stop();
  assert.equal(stopped.forced, false);
});

test('--tls-self-signed serves https; NODE_EXTRA_CA_CERTS-less clients reject it', async (t) => {
  const srv = await startRunnel({ inMemory: true, args: ['--tls-self-signed'] });
  t.after(() => srv.stop());
  assert.match(srv.stdout, /listening on http:\/\/127\.0\.0\.1:\d+ and https:\/\/127\.0\.0\.1:\d+ \(/);
  const strict = new KinesisClient({ region: REGION, credentials: CREDENTIALS, maxAttempts: 1,
    endpoint: `https://127.0.0.1:${srv.port}`,
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({}) }) });
  await assert.rejects(roundTrip(strict), /self[- ]signed|certificate/i);
  strict.destroy();
  const lax = new KinesisClient({ region: REGION, credentials: CREDENTIALS, maxAttempts: 1,
    endpoint: `https://127.0.0.1:${srv.port}`,
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ rejectUnauthorized: false }) }) });
  await roundTrip(lax);
  lax.destroy();
});

test('boto3 over https with verify=<runnel cert>', async (t) => {
  const py = ['python3', '/usr/bin/python3'].find((p) =>
    spawnSync(p, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0);
  if (!py) { t.skip('boto3 is not installed'); return; }
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { cert, key } = await makeCert(dir);
  const srv = await startRunnel({ inMemory: true, args: ['--tls-cert', cert, '--tls-key', key] });
  t.after(() => srv.stop());
  const script = `
import boto3, sys, time
c = boto3.client('kinesis', region_name='us-east-1', endpoint_url='https://localhost:${srv.port}',
                 aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='secret', verify=sys.argv[1])
c.create_stream(StreamName='py-tls', ShardCount=1)
c.get_waiter('stream_exists').wait(StreamName='py-tls', WaiterConfig={'Delay': 0.2, 'MaxAttempts': 50})
p = c.put_record(StreamName='py-tls', PartitionKey='k', Data=b'boto3 tls')
it = c.get_shard_iterator(StreamName='py-tls', ShardId=p['ShardId'], ShardIteratorType='TRIM_HORIZON')
r = c.get_records(ShardIterator=it['ShardIterator'])
assert r['Records'][0]['Data'] == b'boto3 tls', r
try:
    boto3.client('kinesis', region_name='us-east-1', endpoint_url='https://localhost:${srv.port}',
                 aws_access_key_id='A', aws_secret_access_key='s', verify=True).list_streams()
    sys.exit('an untrusted certificate was accepted')
except Exception as e:
    assert 'SSL' in type(e).__name__ or 'certificate' in str(e).lower(), repr(e)
print('ok')
`;
  const r = spawnSync(py, ['-c', script, cert], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /ok/);
});

for (const h of ['HTTP/2', 'HTTP/1.1']) test(`SubscribeToShard over ${h} + TLS: records put after subscribing arrive`, { timeout: 60000 }, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { cert, key, ca } = await makeCert(dir);
  const srv = await startRunnel({ inMemory: true,
    args: ['--tls-cert', cert, '--tls-key', key, '--subscription-lifetime', '3000'] });
  t.after(() => srv.stop());
  const client = new KinesisClient({ region: REGION, credentials: CREDENTIALS, maxAttempts: 1,
    endpoint: `https://localhost:${srv.port}`,
    requestHandler: h === 'HTTP/2' ? new NodeHttp2Handler({ nodeHttp2ConnectOptions: { ca } })
      : new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }) });
  t.after(() => client.destroy());
  const name = uniqueName('tlsefo');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await waitUntilStreamExists({ client, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.2 }, { StreamName: name });
  const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn(name), ConsumerName: 'tls' }));
  const res = await client.send(new SubscribeToShardCommand({ ConsumerARN: Consumer.ConsumerARN,
    ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }));
  const got = [];
  let events = 0;
  const done = (async () => {
    for await (const ev of res.EventStream) {
      if (!ev.SubscribeToShardEvent) continue;
      events++;
      for (const r of ev.SubscribeToShardEvent.Records) got.push(Buffer.from(r.Data).toString());
    }
  })();
  while (events === 0) await sleep(20); // the first event: the subscription is in place
  const want = [];
  for (let i = 0; i < 20; i++) {
    want.push(`tls-${i}`);
    await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: `k${i}`, Data: Buffer.from(`tls-${i}`) }));
  }
  const deadline = Date.now() + 2000;
  while (got.length < want.length && Date.now() < deadline) await sleep(20);
  assert.deepEqual(got, want);
  await done; // ends cleanly at the lifetime
});
