// auth.test.mjs: verified mode (--credentials FILE): every request's SigV4 signature checked
// against the credentials file, the caller's account and ARN taken from its identity, and each
// operation authorised by its IAM policies (docs/security.md). HTTP/2 and HTTP/1.1, JSON and
// CBOR, TLS, SubscribeToShard; the failures worded as AWS words them; SIGHUP reloads the file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import cbor from 'cbor';
import {
  CreateStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand,
  ListStreamsCommand, PutRecordCommand, PutResourcePolicyCommand, RegisterStreamConsumerCommand,
  SubscribeToShardCommand, AddTagsToStreamCommand, DescribeStreamConsumerCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { RUNNEL_BIN, freePort, makeTempDir, removeDir, runRunnelToExit, sleep, startRunnel } from './runnel.mjs';
import { SEQ_RE, expectError, text } from './kinesis.mjs';
import { ACCT, ADMIN, ALLOW_ALL, arnOf, clientAs, signedH2Request, signedRequest, writeCredentials } from './auth.mjs';

const BAD_SIG = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const BAD_TOKEN = 'The security token included in the request is invalid.';
const OTHER = '210987654321';
const TEMP = { access_key_id: 'ASIATEMP0000000001', secret_access_key: 'temp/secret', session_token: 'FwoGZXIvYXdzEXAMPLE==',
  account_id: ACCT, arn: `arn:aws:sts::${ACCT}:assumed-role/writer/session-1`, policies: [ALLOW_ALL] };
// An identity of another account whose access key is 12 digits: its account comes from the file.
const DIGITS = { access_key_id: '999999999999', secret_access_key: 'digits', account_id: OTHER,
  arn: `arn:aws:iam::${OTHER}:user/bob`, policies: [ALLOW_ALL] };
const READER = { access_key_id: 'AKIDREADER00000001', secret_access_key: 'reader', account_id: ACCT,
  arn: `arn:aws:iam::${ACCT}:user/team/reader`,
  policies: [{ Version: '2012-10-17', Statement: [
    { Effect: 'Allow', Action: ['kinesis:Describe*', 'kinesis:List*', 'kinesis:Get*'], Resource: '*' },
    { Effect: 'Allow', Action: 'kinesis:PutRecord', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'blue' } } },
    { Effect: 'Deny', Action: 'kinesis:*', Resource: arnOf('secret-*') },
    { Effect: 'Deny', Action: 'kinesis:SubscribeToShard', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
  ] }] };
const notAuthorized = (who, action, resource, why) => `User: ${who} is not authorized to perform: kinesis:${action} on resource: ${resource} ${why}`;

let dir; let srv; let admin;
async function waitActive(c, name) {
  for (let i = 0; i < 100; i++) {
    const d = await c.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return d;
    await sleep(50);
  }
  throw new Error(`${name} never became ACTIVE`);
}
async function roundTrip(c, name) {
  await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await waitActive(c, name);
  const p = await c.send(new PutRecordCommand({ StreamName: name, Data: Buffer.from(`hello ${name}`), PartitionKey: 'k' }));
  assert.match(p.SequenceNumber, SEQ_RE);
  const { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName: name, ShardId: p.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
  const g = await c.send(new GetRecordsCommand({ ShardIterator }));
  assert.equal(text(g.Records[0].Data), `hello ${name}`);
}

before(async () => {
  dir = makeTempDir();
  const creds = writeCredentials(dir, [ADMIN, TEMP, DIGITS, READER]);
  srv = await startRunnel({ inMemory: true, args: ['--credentials', creds, '--tls-self-signed', '--create-stream-delay', '0', '--consumer-delay', '0'] });
  admin = clientAs(srv.endpoint, ADMIN);
});
after(async () => {
  admin?.destroy();
  await srv?.stop();
  if (dir) removeDir(dir);
});

describe('signed requests from the credentials file', () => {
  test('JS SDK v3 over HTTP/2 (its default handler) and over HTTP/1.1', async () => {
    assert.equal(admin.config.requestHandler.constructor.name, 'NodeHttp2Handler');
    await roundTrip(admin, 'auth-h2');
    const h1 = clientAs(srv.endpoint, ADMIN, { http1: true });
    await roundTrip(h1, 'auth-h1');
    h1.destroy();
  });

  test('CBOR: a raw request signed with the SDK\'s SigV4 signer', async () => {
    const ct = 'application/x-amz-cbor-1.1';
    const ok = await signedRequest(srv.port, ADMIN, 'ListStreams', cbor.encode({}), { contentType: ct });
    assert.equal(ok.status, 200, ok.body.toString());
    assert.ok(cbor.decodeFirstSync(ok.body).StreamNames.includes('auth-h2'));
    const bad = await signedRequest(srv.port, ADMIN, 'ListStreams', cbor.encode({}), { contentType: ct, secret: 'wrong' });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.equal(cbor.decodeFirstSync(bad.body).message, BAD_SIG);
  });

  test('TLS (--tls-self-signed): HTTP/2 and HTTP/1.1; aws:SecureTransport is true there', async () => {
    const h2 = clientAs(`https://127.0.0.1:${srv.port}`, ADMIN,
      { requestHandler: new NodeHttp2Handler({ nodeHttp2ConnectOptions: { rejectUnauthorized: false } }) });
    await roundTrip(h2, 'auth-tls-h2');
    h2.destroy();
    const h1 = clientAs(`https://127.0.0.1:${srv.port}`, ADMIN,
      { requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ rejectUnauthorized: false }) }) });
    await roundTrip(h1, 'auth-tls-h1');
    h1.destroy();
  });

  test('SubscribeToShard: verified, and authorised on the consumer before the event stream opens', async () => {
    const name = 'auth-sub';
    await admin.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitActive(admin, name);
    const { Consumer } = await admin.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf(name), ConsumerName: 'c1' }));
    for (let i = 0; i < 100; i++) {
      const d = await admin.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));
      if (d.ConsumerDescription.ConsumerStatus === 'ACTIVE') break;
      await sleep(50);
    }
    const res = await admin.send(new SubscribeToShardCommand({ ConsumerARN: Consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
    await admin.send(new PutRecordCommand({ StreamName: name, Data: Buffer.from('pushed'), PartitionKey: 'k' }));
    let got = null;
    for await (const ev of res.EventStream) {
      const recs = ev.SubscribeToShardEvent?.Records ?? [];
      if (recs.length) { got = text(recs[0].Data); break; }
    }
    assert.equal(got, 'pushed');
    // The reader may not subscribe without TLS (a Deny on aws:SecureTransport false).
    const reader = clientAs(srv.endpoint, READER);
    await expectError(reader.send(new SubscribeToShardCommand({ ConsumerARN: Consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } })),
      { name: 'AccessDeniedException', message: notAuthorized(READER.arn, 'SubscribeToShard', Consumer.ConsumerARN, 'with an explicit deny in an identity-based policy') });
    reader.destroy();
  });

  test('a session token must be the identity\'s: right one accepted, stale or missing refused', async () => {
    const ok = clientAs(srv.endpoint, TEMP);
    await ok.send(new ListStreamsCommand({}));
    ok.destroy();
    for (const token of ['stale-token', undefined]) {
      const c = clientAs(srv.endpoint, { ...TEMP, session_token: token });
      await expectError(c.send(new ListStreamsCommand({})), { name: 'UnrecognizedClientException', message: BAD_TOKEN });
      c.destroy();
    }
    // a token sent for an identity that has none
    const extra = clientAs(srv.endpoint, ADMIN, { token: 'unexpected' });
    await expectError(extra.send(new ListStreamsCommand({})), { name: 'UnrecognizedClientException', message: BAD_TOKEN });
    extra.destroy();
  });

  test('the account and principal come from the identity, not from the access key\'s digits', async () => {
    const bob = clientAs(srv.endpoint, DIGITS);
    await bob.send(new CreateStreamCommand({ StreamName: 'bobs', ShardCount: 1 }));
    const d = await waitActive(bob, 'bobs');
    assert.equal(d.StreamDescriptionSummary.StreamARN, arnOf('bobs', OTHER));
    await expectError(bob.send(new DescribeStreamSummaryCommand({ StreamName: 'auth-h2' })),
      { name: 'ResourceNotFoundException', message: `Stream auth-h2 under account ${OTHER} not found.` });
    // another account's stream by ARN: no resource policy grants it
    await expectError(bob.send(new DescribeStreamSummaryCommand({ StreamARN: arnOf('auth-h2') })),
      { name: 'AccessDeniedException', message: notAuthorized(DIGITS.arn, 'DescribeStreamSummary', arnOf('auth-h2'), 'because no resource-based policy allows the kinesis:DescribeStreamSummary action') });
    // ... until one does
    await admin.send(new PutResourcePolicyCommand({ ResourceARN: arnOf('auth-h2'), Policy: JSON.stringify({ Version: '2012-10-17', Statement: [
      { Effect: 'Allow', Principal: { AWS: DIGITS.arn }, Action: 'kinesis:DescribeStreamSummary', Resource: arnOf('auth-h2') }] }) }));
    const x = await bob.send(new DescribeStreamSummaryCommand({ StreamARN: arnOf('auth-h2') }));
    assert.equal(x.StreamDescriptionSummary.StreamName, 'auth-h2');
    bob.destroy();
  });
});

describe('failures, worded as AWS words them', () => {
  test('a wrong secret is InvalidSignatureException', async () => {
    for (const http1 of [false, true]) {
      const c = clientAs(srv.endpoint, ADMIN, { secret: 'not-the-secret', http1 });
      await expectError(c.send(new ListStreamsCommand({})), { name: 'InvalidSignatureException', message: BAD_SIG });
      c.destroy();
    }
  });

  test('an unknown access key is UnrecognizedClientException', async () => {
    const c = clientAs(srv.endpoint, { access_key_id: 'AKIDUNKNOWN0000001', secret_access_key: 'x' });
    await expectError(c.send(new ListStreamsCommand({})), { name: 'UnrecognizedClientException', message: BAD_TOKEN });
    c.destroy();
  });

  test('a clock 10 minutes off: Signature expired / not yet current', async () => {
    const body = Buffer.from('{}');
    const old = await signedRequest(srv.port, ADMIN, 'ListStreams', body, { signingDate: new Date(Date.now() - 600000) });
    assert.equal(old.status, 400);
    assert.equal(old.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.match(JSON.parse(old.body).message, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const future = await signedRequest(srv.port, ADMIN, 'ListStreams', body, { signingDate: new Date(Date.now() + 600000) });
    assert.equal(future.headers['x-amzn-errortype'], 'InvalidSignatureException');
    assert.match(JSON.parse(future.body).message, /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/);
    const now = await signedRequest(srv.port, ADMIN, 'ListStreams', body, { signingDate: new Date(Date.now() - 60000) });
    assert.equal(now.status, 200, now.body.toString());
  });

  test('an unsigned request is MissingAuthenticationTokenException; a tampered body fails the signature', async () => {
    const res = await fetch(srv.endpoint, { method: 'POST', body: '{}', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' } });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).message, 'Missing Authentication Token');
  });

  test('policies: identity Allow with aws:ResourceTag, explicit Deny, implicit deny, request tags', async () => {
    const reader = clientAs(srv.endpoint, READER);
    await admin.send(new CreateStreamCommand({ StreamName: 'tagged', ShardCount: 1, Tags: { team: 'blue' } }));
    await admin.send(new CreateStreamCommand({ StreamName: 'secret-x', ShardCount: 1 }));
    await waitActive(admin, 'tagged');
    await waitActive(admin, 'secret-x');
    const p = await reader.send(new PutRecordCommand({ StreamName: 'tagged', Data: Buffer.from('x'), PartitionKey: 'k' }));
    assert.match(p.SequenceNumber, SEQ_RE);
    await expectError(reader.send(new PutRecordCommand({ StreamName: 'auth-h2', Data: Buffer.from('x'), PartitionKey: 'k' })),
      { name: 'AccessDeniedException', message: notAuthorized(READER.arn, 'PutRecord', arnOf('auth-h2'), 'because no identity-based policy allows the kinesis:PutRecord action') });
    await expectError(reader.send(new DescribeStreamSummaryCommand({ StreamName: 'secret-x' })),
      { name: 'AccessDeniedException', message: notAuthorized(READER.arn, 'DescribeStreamSummary', arnOf('secret-x'), 'with an explicit deny in an identity-based policy') });
    // authorised before existence is told
    await expectError(reader.send(new DescribeStreamSummaryCommand({ StreamName: 'secret-none' })),
      { name: 'AccessDeniedException', message: notAuthorized(READER.arn, 'DescribeStreamSummary', arnOf('secret-none'), 'with an explicit deny in an identity-based policy') });
    await expectError(reader.send(new AddTagsToStreamCommand({ StreamName: 'tagged', Tags: { team: 'red' } })),
      { name: 'AccessDeniedException', message: notAuthorized(READER.arn, 'AddTagsToStream', arnOf('tagged'), 'because no identity-based policy allows the kinesis:AddTagsToStream action') });
    reader.destroy();
  });

  test('PutResourcePolicy refuses a document the evaluator cannot read, with the parser\'s message', async () => {
    await expectError(admin.send(new PutResourcePolicyCommand({ ResourceARN: arnOf('auth-h2'), Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kinesis:*' }] }) })),
      { name: 'InvalidArgumentException', message: 'Invalid policy document: Statement[0] must have exactly one of Principal and NotPrincipal' });
  });
});

test('an identity with no policy is denied every operation, each on its own resource', async () => {
  const NOBODY = { access_key_id: 'AKIDNOBODY00000001', secret_access_key: 'nobody', account_id: ACCT, arn: `arn:aws:iam::${ACCT}:user/nobody` };
  const d = makeTempDir();
  const s = await startRunnel({ inMemory: true, args: ['--credentials', writeCredentials(d, [ADMIN, NOBODY]), '--create-stream-delay', '0', '--consumer-delay', '0'] });
  try {
    const a = clientAs(s.endpoint, ADMIN);
    await a.send(new CreateStreamCommand({ StreamName: 'all', ShardCount: 2 }));
    await waitActive(a, 'all');
    const { Consumer } = await a.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf('all'), ConsumerName: 'k' }));
    const { ShardIterator } = await a.send(new GetShardIteratorCommand({ StreamName: 'all', ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }));
    a.destroy();
    const S = arnOf('all'); const C = Consumer.ConsumerARN; const N = { StreamName: 'all' };
    const ops = [
      ['ListStreams', {}, '*'], ['DescribeLimits', {}, '*'], ['DescribeAccountSettings', {}, '*'],
      ['CreateStream', { StreamName: 'new', ShardCount: 1 }, arnOf('new')], ['DeleteStream', N, S],
      ['DescribeStream', N, S], ['DescribeStreamSummary', { StreamARN: S }, S], ['ListShards', N, S],
      ['GetShardIterator', { ...N, ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }, S],
      ['GetRecords', { ShardIterator }, S], ['PutRecord', { ...N, Data: 'eA==', PartitionKey: 'k' }, S],
      ['PutRecords', { ...N, Records: [{ Data: 'eA==', PartitionKey: 'k' }] }, S],
      ['SplitShard', { ...N, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '1000' }, S],
      ['MergeShards', { ...N, ShardToMerge: 'shardId-000000000000', AdjacentShardToMerge: 'shardId-000000000001' }, S],
      ['UpdateShardCount', { ...N, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }, S],
      ['IncreaseStreamRetentionPeriod', { ...N, RetentionPeriodHours: 48 }, S],
      ['EnableEnhancedMonitoring', { ...N, ShardLevelMetrics: ['ALL'] }, S],
      ['AddTagsToStream', { ...N, Tags: { a: 'b' } }, S], ['ListTagsForStream', N, S],
      ['RemoveTagsFromStream', { ...N, TagKeys: ['a'] }, S],
      ['TagResource', { ResourceARN: S, Tags: { a: 'b' } }, S], ['ListTagsForResource', { ResourceARN: S }, S],
      ['PutResourcePolicy', { ResourceARN: S, Policy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}' }, S],
      ['GetResourcePolicy', { ResourceARN: S }, S], ['DeleteResourcePolicy', { ResourceARN: S }, S],
      ['RegisterStreamConsumer', { StreamARN: S, ConsumerName: 'k2' }, S], ['ListStreamConsumers', { StreamARN: S }, S],
      ['DescribeStreamConsumer', { ConsumerARN: C }, C], ['DeregisterStreamConsumer', { ConsumerARN: C }, C],
      ['StartStreamEncryption', { ...N, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }, S],
      ['UpdateStreamMode', { StreamARN: S, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }, S],
    ];
    for (const [op, body, res] of ops) {
      const r = await signedRequest(s.port, NOBODY, op, Buffer.from(JSON.stringify(body)));
      const j = JSON.parse(r.body.toString() || '{}');
      assert.equal(r.headers['x-amzn-errortype'], 'AccessDeniedException', `${op}: ${r.body}`);
      assert.equal(j.message, notAuthorized(NOBODY.arn, op, res, `because no identity-based policy allows the kinesis:${op} action`), op);
    }
    assert.doesNotMatch(s.stderr, /without an access check/);
  } finally {
    await s.stop();
    removeDir(d);
  }
});

describe('start-up and reload', () => {
  test('a credentials file that does not load: runnel refuses to start, naming the line', async () => {
    const bad = `${dir}/bad.json`;
    fs.writeFileSync(bad, '{"identities": [\n  {"access_key_id": "AKID1", "secret_access_key": "s",\n   "account_id": "12", "arn": "arn:aws:iam::12:root"}\n]}\n');
    const r = await runRunnelToExit(['serve', '--in-memory', '--listen', `127.0.0.1:${await freePort()}`, '--credentials', bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^runnel: cannot load --credentials: .*bad\.json:3: identity 0: account_id/m);
    const r2 = await runRunnelToExit(['serve', '--in-memory', '--listen', `127.0.0.1:${await freePort()}`],
      { env: { RUNNEL_CREDENTIALS: `${dir}/missing.json` } });
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /cannot load --credentials: .*missing\.json/);
  });

  test('developer mode warns when it listens beyond loopback', async () => {
    const port = await freePort();
    const child = spawn(RUNNEL_BIN, ['serve', '--in-memory', '--listen', `0.0.0.0:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    await sleep(100);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.match(err, /developer mode: signatures are not verified/);
  });

  test('SIGHUP: a revoked key is refused at once; an open HTTP/2 connection of another identity keeps working; a bad file is refused', async () => {
    const d = makeTempDir();
    const keep = { ...ADMIN };
    const gone = { ...ADMIN, access_key_id: 'AKIDREVOKED0000001', secret_access_key: 'revoked', arn: `arn:aws:iam::${ACCT}:user/gone` };
    const creds = writeCredentials(d, [keep, gone]);
    const s = await startRunnel({ inMemory: true, args: ['--credentials', creds] });
    try {
      // one HTTP/2 session of the identity that stays, held open across the reload
      const session = http2.connect(s.endpoint);
      let closed = false;
      session.on('close', () => { closed = true; });
      const h2 = async () => {
        const r = await signedH2Request(session, s.port, keep, 'ListStreams', Buffer.from('{}'));
        assert.equal(r.status, 200, r.body.toString());
      };
      await h2();
      const revoked = clientAs(s.endpoint, gone, { http1: true });
      await revoked.send(new ListStreamsCommand({}));
      writeCredentials(d, [keep]);
      process.kill(s.pid, 'SIGHUP');
      let refused = false;
      for (let i = 0; i < 50 && !refused; i++) {
        try { await revoked.send(new ListStreamsCommand({})); await sleep(20); } catch (e) {
          assert.equal(e.name, 'UnrecognizedClientException');
          assert.equal(e.message, BAD_TOKEN);
          refused = true;
        }
      }
      assert.ok(refused, 'the revoked key was refused after SIGHUP');
      await h2(); // the same connection, still up, still served
      assert.equal(closed, false, 'the open HTTP/2 connection stayed up');
      const kept = clientAs(s.endpoint, keep);
      // A file that does not parse: refused with its line, the previous one stays in force.
      fs.writeFileSync(creds, '{"identities": [\n  {"access_key_id": \n');
      process.kill(s.pid, 'SIGHUP');
      for (let i = 0; i < 50 && !/credentials not reloaded/.test(s.stderr); i++) await sleep(20);
      assert.match(s.stderr, /SIGHUP: credentials not reloaded, the previous ones stay in force: .*credentials\.json:3:/);
      await kept.send(new ListStreamsCommand({}));
      session.close();
      kept.destroy();
      revoked.destroy();
    } finally {
      await s.stop();
      removeDir(d);
    }
  });
});
