// kms.test.mjs: runnel's local KMS (src/api/kms.c, docs/encryption.md) through @aws-sdk/client-kms,
// and the KMS* errors Kinesis answers when an encrypted stream's key changes state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand, PutRecordsCommand,
  RegisterStreamConsumerCommand, StartStreamEncryptionCommand, SubscribeToShardCommand,
} from '@aws-sdk/client-kinesis';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DeleteAliasCommand, DescribeKeyCommand,
  DisableKeyCommand, EnableKeyCommand, KMSClient, ListAliasesCommand, ListKeysCommand, ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  ACCOUNT, CREDENTIALS, REGION, kinesisClient, makeTempDir, removeDir, startRunnel, streamArn, uniqueName,
} from './runnel.mjs';
import { ACCT, clientAs, writeCredentials } from './auth.mjs';
import { UUID_RE, expectError, shardId } from './kinesis.mjs';

const T = { timeout: 60000 };
const DAY_S = 24 * 3600;
const keyArn = (id, account = ACCOUNT) => `arn:aws:kms:${REGION}:${account}:key/${id}`;
const aliasArn = (name, account = ACCOUNT) => `arn:aws:kms:${REGION}:${account}:${name}`;

function kmsClient(endpoint, credentials = CREDENTIALS) {
  return new KMSClient({ region: REGION, endpoint, credentials, maxAttempts: 1 });
}

/** A runnel (in memory, stopped after t) and a KMS and a Kinesis client for it. */
async function serve(t, opts = {}) {
  const srv = await startRunnel({ inMemory: true, ...opts });
  t.after(() => srv.stop());
  return { srv, kms: kmsClient(srv.endpoint), kinesis: kinesisClient(srv.endpoint) };
}

async function encryptedStream(kinesis, keyId) {
  const name = uniqueName('kms');
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await kinesis.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: keyId }));
  return name;
}

const put = (kinesis, name, data = 'x') =>
  kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(data) }));
const putMany = (kinesis, name) => kinesis.send(new PutRecordsCommand({
  StreamName: name, Records: [{ PartitionKey: 'a', Data: Buffer.from('1') }, { PartitionKey: 'b', Data: Buffer.from('2') }],
}));
async function getRecords(kinesis, name) {
  const it = await kinesis.send(new GetShardIteratorCommand({
    StreamName: name, ShardId: shardId(0), ShardIteratorType: 'TRIM_HORIZON',
  }));
  return kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
}

test('KMS API: keys, states and aliases with KMS shapes and errors', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const kms = kmsClient(srv.endpoint);

  const created = await kms.send(new CreateKeyCommand({
    Description: 'test key', Tags: [{ TagKey: 'team', TagValue: 'data' }],
  }));
  const md = created.KeyMetadata;
  assert.match(md.KeyId, UUID_RE);
  assert.equal(md.Arn, keyArn(md.KeyId));
  assert.equal(md.AWSAccountId, ACCOUNT);
  assert.equal(md.KeyState, 'Enabled');
  assert.equal(md.Enabled, true);
  assert.equal(md.Description, 'test key');
  assert.equal(md.KeyUsage, 'ENCRYPT_DECRYPT');
  assert.equal(md.KeySpec, 'SYMMETRIC_DEFAULT');
  assert.equal(md.KeyManager, 'CUSTOMER');
  assert.ok(md.CreationDate instanceof Date);
  const id = md.KeyId;

  await expectError(kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048' })), { name: 'UnsupportedOperationException' });

  // DescribeKey by each of the four forms
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/test', TargetKeyId: id }));
  for (const form of [id, keyArn(id), 'alias/test', aliasArn('alias/test')]) {
    const d = await kms.send(new DescribeKeyCommand({ KeyId: form }));
    assert.equal(d.KeyMetadata.KeyId, id, form);
  }
  await expectError(kms.send(new CreateAliasCommand({ AliasName: 'alias/test', TargetKeyId: id })), {
    name: 'AlreadyExistsException', message: `An alias with the name ${aliasArn('alias/test')} already exists`,
  });
  await expectError(kms.send(new CreateAliasCommand({ AliasName: 'test2', TargetKeyId: id })), { name: 'ValidationException' });

  const missing = '11111111-2222-3333-4444-555555555555';
  await expectError(kms.send(new DescribeKeyCommand({ KeyId: missing })), {
    name: 'NotFoundException', message: `Key '${keyArn(missing)}' does not exist`,
  });
  await expectError(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })), {
    name: 'NotFoundException', message: `Alias ${aliasArn('alias/nope')} is not found.`,
  });

  const keys = await kms.send(new ListKeysCommand({}));
  assert.deepEqual(keys.Keys, [{ KeyId: id, KeyArn: keyArn(id) }]);
  assert.equal(keys.Truncated, false);
  const aliases = await kms.send(new ListAliasesCommand({}));
  const names = aliases.Aliases.map((a) => a.AliasName);
  assert.deepEqual(names, ['alias/aws/kinesis', 'alias/test']);
  assert.equal(aliases.Aliases[1].TargetKeyId, id);
  assert.equal(aliases.Aliases[1].AliasArn, aliasArn('alias/test'));

  // the AWS managed key always exists
  const managed = (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/kinesis' }))).KeyMetadata;
  assert.equal(managed.KeyState, 'Enabled');
  assert.equal(managed.KeyManager, 'AWS');
  assert.equal(managed.KeyId, aliases.Aliases[0].TargetKeyId);
  await expectError(kms.send(new DisableKeyCommand({ KeyId: managed.KeyId })), { name: 'AccessDeniedException' });

  // states
  await kms.send(new DisableKeyCommand({ KeyId: id }));
  let d = (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata;
  assert.equal(d.KeyState, 'Disabled');
  assert.equal(d.Enabled, false);
  await kms.send(new EnableKeyCommand({ KeyId: id }));
  assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata.KeyState, 'Enabled');

  await expectError(kms.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 6 })), {
    name: 'ValidationException',
    message: "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: " +
      'Member must have value greater than or equal to 7',
  });
  const before = Date.now() / 1000;
  const sched = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: id }));
  assert.equal(sched.KeyId, keyArn(id));
  assert.equal(sched.KeyState, 'PendingDeletion');
  assert.equal(sched.PendingWindowInDays, 30);
  const when = sched.DeletionDate.getTime() / 1000;
  assert.ok(when >= before + 30 * DAY_S - 5 && when <= before + 30 * DAY_S + 60, `DeletionDate ${when}`);
  d = (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata;
  assert.equal(d.KeyState, 'PendingDeletion');
  assert.ok(d.DeletionDate instanceof Date);
  await expectError(kms.send(new EnableKeyCommand({ KeyId: id })), {
    name: 'KMSInvalidStateException', message: `${keyArn(id)} is pending deletion.`,
  });
  await expectError(kms.send(new ScheduleKeyDeletionCommand({ KeyId: id })), { name: 'KMSInvalidStateException' });

  const cancel = await kms.send(new CancelKeyDeletionCommand({ KeyId: id }));
  assert.equal(cancel.KeyId, keyArn(id));
  d = (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata;
  assert.equal(d.KeyState, 'Disabled', 'a cancelled deletion leaves the key Disabled, as AWS does');
  assert.equal(d.DeletionDate, undefined);
  await expectError(kms.send(new CancelKeyDeletionCommand({ KeyId: id })), { name: 'KMSInvalidStateException' });

  await kms.send(new DeleteAliasCommand({ AliasName: 'alias/test' }));
  await expectError(kms.send(new DeleteAliasCommand({ AliasName: 'alias/test' })), {
    name: 'NotFoundException', message: `Alias ${aliasArn('alias/test')} is not found.`,
  });
});

test('KMS keys are per account and region', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const a = kmsClient(srv.endpoint, { accessKeyId: '111111111111', secretAccessKey: 's' });
  const id = (await a.send(new CreateKeyCommand({}))).KeyMetadata.KeyId;
  const b = kmsClient(srv.endpoint, { accessKeyId: '222222222222', secretAccessKey: 's' });
  await expectError(b.send(new DescribeKeyCommand({ KeyId: id })), { name: 'NotFoundException' });
  assert.deepEqual((await b.send(new ListKeysCommand({}))).Keys, []);
  const west = new KMSClient({ region: 'eu-west-1', endpoint: srv.endpoint, credentials: { accessKeyId: '111111111111', secretAccessKey: 's' }, maxAttempts: 1 });
  assert.deepEqual((await west.send(new ListKeysCommand({}))).Keys, []);
  assert.equal((await a.send(new ListKeysCommand({}))).Keys.length, 1);
});

test('Kinesis on an encrypted stream answers KMSDisabledException / KMSInvalidStateException as its key changes', T, async (t) => {
  const { kms, kinesis } = await serve(t);
  const id = (await kms.send(new CreateKeyCommand({}))).KeyMetadata.KeyId;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/stream-key', TargetKeyId: id }));
  const name = await encryptedStream(kinesis, 'alias/stream-key');
  assert.equal((await put(kinesis, name, 'before')).EncryptionType, 'KMS');

  await kms.send(new DisableKeyCommand({ KeyId: id }));
  const disabled = { name: 'KMSDisabledException', message: `${keyArn(id)} is disabled.`, status: 400 };
  await expectError(put(kinesis, name), disabled);
  await expectError(putMany(kinesis, name), disabled); // the whole request fails
  await expectError(getRecords(kinesis, name), disabled);
  const consumer = (await kinesis.send(new RegisterStreamConsumerCommand({
    StreamARN: streamArn(name), ConsumerName: 'c1',
  }))).Consumer;
  await expectError(kinesis.send(new SubscribeToShardCommand({
    ConsumerARN: consumer.ConsumerARN, ShardId: shardId(0), StartingPosition: { Type: 'TRIM_HORIZON' },
  })), disabled);
  const other = uniqueName('kms');
  await kinesis.send(new CreateStreamCommand({ StreamName: other, ShardCount: 1 }));
  await expectError(kinesis.send(new StartStreamEncryptionCommand({ StreamName: other, EncryptionType: 'KMS', KeyId: id })), disabled);

  await kms.send(new EnableKeyCommand({ KeyId: id }));
  assert.equal((await put(kinesis, name, 'after')).EncryptionType, 'KMS');
  assert.deepEqual((await getRecords(kinesis, name)).Records.map((r) => Buffer.from(r.Data).toString()), ['before', 'after']);

  await kms.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 }));
  const pending = { name: 'KMSInvalidStateException', message: `${keyArn(id)} is pending deletion.` };
  await expectError(put(kinesis, name), pending);
  await expectError(putMany(kinesis, name), pending);
  await expectError(getRecords(kinesis, name), pending);

  await kms.send(new CancelKeyDeletionCommand({ KeyId: id }));
  await expectError(put(kinesis, name), disabled);
});

test('unknown keys: accepted as foreign by default, KMSNotFoundException under --kms-strict', T, async (t) => {
  const unknown = '11111111-2222-3333-4444-555555555555';
  const lax = await startRunnel({ inMemory: true });
  t.after(() => lax.stop());
  const k1 = kinesisClient(lax.endpoint);
  const s1 = await encryptedStream(k1, unknown);
  assert.equal((await put(k1, s1)).EncryptionType, 'KMS');
  await encryptedStream(k1, 'alias/not-created');

  const strict = await startRunnel({ inMemory: true, args: ['--kms-strict'] });
  t.after(() => strict.stop());
  const k2 = kinesisClient(strict.endpoint);
  const name = uniqueName('kms');
  await k2.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  const start = (KeyId) => k2.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId }));
  await expectError(start(unknown), { name: 'KMSNotFoundException', message: `Key '${keyArn(unknown)}' does not exist` });
  await expectError(start('alias/not-created'), {
    name: 'KMSNotFoundException', message: `Alias ${aliasArn('alias/not-created')} is not found.`,
  });
  await start('alias/aws/kinesis'); // the AWS managed key always resolves
  assert.equal((await put(k2, name)).EncryptionType, 'KMS');
  const id = (await kmsClient(strict.endpoint).send(new CreateKeyCommand({}))).KeyMetadata.KeyId;
  await start(keyArn(id));
  assert.equal((await put(k2, name)).EncryptionType, 'KMS');
});

test('keys, aliases and states survive a restart', T, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  let srv = await startRunnel({ dataDir: dir });
  let kms = kmsClient(srv.endpoint);
  const id = (await kms.send(new CreateKeyCommand({ Description: 'kept' }))).KeyMetadata.KeyId;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/kept', TargetKeyId: id }));
  const name = await encryptedStream(kinesisClient(srv.endpoint), 'alias/kept');
  await kms.send(new DisableKeyCommand({ KeyId: id }));
  await srv.stop();

  srv = await startRunnel({ dataDir: dir });
  t.after(() => srv.stop());
  kms = kmsClient(srv.endpoint);
  const d = (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/kept' }))).KeyMetadata;
  assert.equal(d.KeyId, id);
  assert.equal(d.KeyState, 'Disabled');
  assert.equal(d.Description, 'kept');
  await expectError(put(kinesisClient(srv.endpoint), name), { name: 'KMSDisabledException', message: `${keyArn(id)} is disabled.` });
});

test('verified mode: kms:GenerateDataKey for puts, kms:Decrypt for reads (KMSAccessDeniedException)', T, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const writer = {
    access_key_id: 'AKIDKMSWRITER00001', secret_access_key: 'writer/secret', account_id: ACCT,
    arn: `arn:aws:iam::${ACCT}:user/writer`,
    policies: [{ Version: '2012-10-17', Statement: [
      { Effect: 'Allow', Action: 'kinesis:*', Resource: '*' },
      { Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:CreateKey', 'kms:DescribeKey'], Resource: '*' }] }],
  };
  const noKms = { ...writer, access_key_id: 'AKIDKMSNOKMS000001', arn: `arn:aws:iam::${ACCT}:user/nokms`,
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kinesis:*', Resource: '*' }] }] };
  const creds = writeCredentials(dir, [writer, noKms]);
  const srv = await startRunnel({ inMemory: true, args: ['--credentials', creds] });
  t.after(() => srv.stop());
  const kms = kmsClient(srv.endpoint, { accessKeyId: writer.access_key_id, secretAccessKey: writer.secret_access_key });
  // KMS calls are verified as Kinesis calls are
  await expectError(kmsClient(srv.endpoint, { accessKeyId: 'AKIDNOSUCHKEY00001', secretAccessKey: 'x' })
    .send(new ListKeysCommand({})), { name: 'UnrecognizedClientException' });
  await expectError(kmsClient(srv.endpoint, { accessKeyId: writer.access_key_id, secretAccessKey: 'wrong' })
    .send(new ListKeysCommand({})), { name: 'InvalidSignatureException' });
  const id = (await kms.send(new CreateKeyCommand({}))).KeyMetadata.KeyId;
  assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata.AWSAccountId, ACCT,
    "the verified identity's account owns the key");
  // KMS operations are authorised: kms:<Op> on the key ARN ("*" for CreateKey and the lists)
  await expectError(kms.send(new DisableKeyCommand({ KeyId: id })), {
    name: 'AccessDeniedException',
    message: `User: ${writer.arn} is not authorized to perform: kms:DisableKey on resource: ${keyArn(id, ACCT)} ` +
      'because no identity-based policy allows the kms:DisableKey action',
  });
  await expectError(kms.send(new ListKeysCommand({})), {
    name: 'AccessDeniedException',
    message: `User: ${writer.arn} is not authorized to perform: kms:ListKeys on resource: * ` +
      'because no identity-based policy allows the kms:ListKeys action',
  });
  const nokmsKms = kmsClient(srv.endpoint, { accessKeyId: 'AKIDKMSNOKMS000001', secretAccessKey: 'writer/secret' });
  await expectError(nokmsKms.send(new DescribeKeyCommand({ KeyId: id })), { name: 'AccessDeniedException' });
  // denied before existence is told
  await expectError(nokmsKms.send(new DescribeKeyCommand({ KeyId: '11111111-2222-3333-4444-555555555555' })),
    { name: 'AccessDeniedException' });
  const w = clientAs(srv.endpoint, writer);
  const name = await encryptedStream(w, id);
  assert.equal((await put(w, name)).EncryptionType, 'KMS');
  const arn = keyArn(id, ACCT);
  await expectError(getRecords(w, name), {
    name: 'KMSAccessDeniedException',
    message: `User: ${writer.arn} is not authorized to perform: kms:Decrypt on resource: ${arn} ` +
      'because no identity-based policy allows the kms:Decrypt action',
  });
  const n = clientAs(srv.endpoint, noKms);
  await expectError(put(n, name), {
    name: 'KMSAccessDeniedException',
    message: `User: ${noKms.arn} is not authorized to perform: kms:GenerateDataKey on resource: ${arn} ` +
      'because no identity-based policy allows the kms:GenerateDataKey action',
  });
  await expectError(putMany(n, name), { name: 'KMSAccessDeniedException' });
  // the AWS managed key needs no kms permission (its key policy lets Kinesis use it)
  const managed = await encryptedStream(n, 'alias/aws/kinesis');
  assert.equal((await put(n, managed)).EncryptionType, 'KMS');
});

test('ListKeys and ListAliases page with Limit and Marker', T, async (t) => {
  const srv = await startRunnel({ inMemory: true });
  t.after(() => srv.stop());
  const kms = kmsClient(srv.endpoint);
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await kms.send(new CreateKeyCommand({}))).KeyMetadata.KeyId);
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/p1', TargetKeyId: ids[0] }));
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/p2', TargetKeyId: ids[1] }));
  const seen = [];
  let marker;
  let pages = 0;
  do {
    const r = await kms.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
    seen.push(...r.Keys.map((k) => k.KeyId));
    assert.equal(r.Truncated, r.NextMarker !== undefined);
    marker = r.NextMarker;
    pages += 1;
  } while (marker);
  assert.equal(pages, 2);
  assert.deepEqual(seen, ids);
  const first = await kms.send(new ListAliasesCommand({ Limit: 1 }));
  assert.deepEqual(first.Aliases.map((a) => a.AliasName), ['alias/aws/kinesis']);
  assert.equal(first.Truncated, true);
  const rest = await kms.send(new ListAliasesCommand({ Marker: first.NextMarker }));
  assert.deepEqual(rest.Aliases.map((a) => a.AliasName), ['alias/p1', 'alias/p2']);
  assert.equal(rest.Truncated, false);
  const byKey = await kms.send(new ListAliasesCommand({ KeyId: keyArn(ids[1]) }));
  assert.deepEqual(byKey.Aliases.map((a) => a.AliasName), ['alias/p2']);
  await expectError(kms.send(new ListKeysCommand({ Marker: 'x' })), { name: 'InvalidMarkerException' });
});

test('an open SubscribeToShard ends with a KMSDisabledException event when its key is disabled', T, async (t) => {
  const { kms, kinesis } = await serve(t);
  const id = (await kms.send(new CreateKeyCommand({}))).KeyMetadata.KeyId;
  const name = await encryptedStream(kinesis, id);
  await put(kinesis, name, 'one');
  const consumer = (await kinesis.send(new RegisterStreamConsumerCommand({
    StreamARN: streamArn(name), ConsumerName: 'live',
  }))).Consumer;
  const res = await kinesis.send(new SubscribeToShardCommand({
    ConsumerARN: consumer.ConsumerARN, ShardId: shardId(0), StartingPosition: { Type: 'TRIM_HORIZON' },
  }));
  const seen = [];
  let gotFirst;
  const first = new Promise((r) => { gotFirst = r; });
  const ended = (async () => {
    try {
      for await (const ev of res.EventStream) {
        for (const r of ev.SubscribeToShardEvent?.Records ?? []) seen.push(Buffer.from(r.Data).toString());
        if (seen.length) gotFirst();
      }
      return null;
    } catch (e) {
      return e;
    }
  })();
  await first;
  await kms.send(new DisableKeyCommand({ KeyId: id }));
  const err = await ended;
  assert.ok(err, 'the event stream ended without an exception');
  assert.equal(err.name, 'KMSDisabledException');
  assert.equal(err.message, `${keyArn(id)} is disabled.`);
  assert.deepEqual(seen, ['one']);
});
