// encryption.test.mjs: StartStreamEncryption / StopStreamEncryption (contract §4.9) and records
// sealed at rest. The marker test writes a unique marker in a record's data and partition key
// after encryption starts, stops runnel with SIGTERM, and scans every byte under the data dir
// (runnel.db and its -wal included): the marker must not appear, while a marker written before
// encryption must (proving the scan sees plaintext when there is some).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateStreamCommand, DescribeStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand,
  PutRecordsCommand, StartStreamEncryptionCommand, StopStreamEncryptionCommand,
} from '@aws-sdk/client-kinesis';
import {
  ACCOUNT, kinesisClient, makeTempDir, removeDir, runRunnelToExit, startRunnel, streamArn, uniqueName,
} from './runnel.mjs';
import { expectError, readShard, shardId, text } from './kinesis.mjs';

const T = { timeout: 60000 };
const UUID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const GOOD_KEY_IDS = [
  UUID,
  UUID.toUpperCase(),
  'mrk-1234abcd12ab34cd56ef1234567890ab',
  `arn:aws:kms:us-east-1:123456789012:key/${UUID}`,
  'arn:aws:kms:eu-west-3:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab',
  'alias/aws/kinesis',
  'alias/my-key_1',
  'arn:aws:kms:us-east-1:123456789012:alias/my-key',
  'arn:aws:kms:us-east-1:123456789012:alias/aws/kinesis',
  'arn:aws-cn:kms:cn-north-1:123456789012:alias/x',
];
const BAD_KEY_IDS = [
  'foo',
  'aws/kinesis',
  'alias/',
  'alias/has space',
  '1234abcd-12ab-34cd-56ef-1234567890a',
  '1234abcd-12ab-34cd-56ef-1234567890abc',
  '1234abcd_12ab_34cd_56ef_1234567890ab',
  'g234abcd-12ab-34cd-56ef-1234567890ab',
  `arn:aws:kms:us-east-1:12345678901:key/${UUID}`,
  'arn:aws:kms:us-east-1:123456789012:key/not-a-uuid',
  `arn:aws:s3:us-east-1:123456789012:key/${UUID}`,
  `arn:aws:kms::123456789012:key/${UUID}`,
  'arn:aws:kms:us-east-1:123456789012:alias/',
  `arn:aws:kms:us-east-1:123456789012:${UUID}`,
];

const notActive = (name, state) => `Stream ${name} under account ${ACCOUNT} not ACTIVE, instead in state ${state}`;

async function summary(client, name) {
  return (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
}

/** Every file under dir, recursively. */
function allFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The files under dir whose raw bytes contain needle. */
function filesContaining(dir, needle) {
  const n = Buffer.from(needle, 'utf8');
  return allFiles(dir).filter((f) => fs.readFileSync(f).includes(n));
}

test('Start/StopStreamEncryption: descriptions, put results and records say KMS only when sealed', T, async (t) => {
  const srv = await startRunnel();
  t.after(() => srv.stop());
  const client = kinesisClient(srv.endpoint);
  const name = uniqueName('enc');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));

  let s = await summary(client, name);
  assert.equal(s.EncryptionType, 'NONE');
  assert.equal(s.KeyId, undefined);
  const p0 = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k0', Data: Buffer.from('plain-0') }));
  assert.equal(p0.EncryptionType, undefined, 'unencrypted PutRecord: no EncryptionType (as before)');

  const start = await client.send(new StartStreamEncryptionCommand({
    StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis',
  }));
  assert.equal(start.$metadata.httpStatusCode, 200);
  s = await summary(client, name);
  assert.equal(s.EncryptionType, 'KMS');
  assert.equal(s.KeyId, 'alias/aws/kinesis');
  assert.equal(s.StreamStatus, 'ACTIVE');
  const d = (await client.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription;
  assert.equal(d.EncryptionType, 'KMS');
  assert.equal(d.KeyId, 'alias/aws/kinesis');

  const p1 = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k1', Data: Buffer.from('sealed-1') }));
  assert.equal(p1.EncryptionType, 'KMS');
  // The generic decoder path (StreamARN) answers alike.
  const p2 = await client.send(new PutRecordCommand({ StreamARN: streamArn(name), PartitionKey: 'k2', Data: Buffer.from('') }));
  assert.equal(p2.EncryptionType, 'KMS');
  const pr = await client.send(new PutRecordsCommand({
    StreamName: name,
    Records: [
      { PartitionKey: 'k3', Data: Buffer.from('sealed-3') },
      { PartitionKey: 'ünï-ķey "q"', Data: Buffer.from([0, 1, 2, 255]) },
    ],
  }));
  assert.equal(pr.EncryptionType, 'KMS');
  assert.equal(pr.FailedRecordCount, 0);

  // Changing the key id while encrypted is accepted (the data key stays: old records readable).
  await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: UUID }));
  assert.equal((await summary(client, name)).KeyId, UUID);

  await client.send(new StopStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: UUID }));
  s = await summary(client, name);
  assert.equal(s.EncryptionType, 'NONE');
  assert.equal(s.KeyId, undefined);
  const p5 = await client.send(new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: 'k5', Data: Buffer.from('plain-5') }] }));
  assert.equal(p5.EncryptionType, undefined);
  // Stop again on an unencrypted stream: accepted, nothing changes.
  await client.send(new StopStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: UUID }));

  const { records } = await readShard(client, name, shardId(0));
  assert.deepEqual(records.map((r) => [r.PartitionKey, Buffer.from(r.Data).toString('hex'), r.EncryptionType]), [
    ['k0', Buffer.from('plain-0').toString('hex'), undefined],
    ['k1', Buffer.from('sealed-1').toString('hex'), 'KMS'],
    ['k2', '', 'KMS'],
    ['k3', Buffer.from('sealed-3').toString('hex'), 'KMS'],
    ['ünï-ķey "q"', '000102ff', 'KMS'],
    ['k5', Buffer.from('plain-5').toString('hex'), undefined],
  ]);
  assert.equal(records[1].SequenceNumber, p1.SequenceNumber);
});

test('KeyId forms: key ids, key ARNs, alias names and alias ARNs accepted; others rejected', T, async (t) => {
  const srv = await startRunnel();
  t.after(() => srv.stop());
  const client = kinesisClient(srv.endpoint);
  const name = uniqueName('enc-keys');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (const KeyId of GOOD_KEY_IDS) {
    await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId }));
    assert.equal((await summary(client, name)).KeyId, KeyId);
  }
  const before = await summary(client, name);
  for (const KeyId of BAD_KEY_IDS) {
    await expectError(client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId })),
      { name: 'KMSNotFoundException', message: `Invalid keyId ${KeyId}` });
    await expectError(client.send(new StopStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId })),
      { name: 'KMSNotFoundException', message: `Invalid keyId ${KeyId}` });
  }
  const NONE_MSG = 'Encryption type NONE is not valid for this operation. The only valid encryption type is KMS.';
  await expectError(client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'NONE', KeyId: UUID })),
    { name: 'InvalidArgumentException', message: NONE_MSG });
  await expectError(client.send(new StopStreamEncryptionCommand({ StreamName: name, EncryptionType: 'NONE', KeyId: UUID })),
    { name: 'InvalidArgumentException', message: NONE_MSG });
  await expectError(client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'AES', KeyId: UUID })),
    { name: 'ValidationException', message: "1 validation error detected: Value 'AES' at 'encryptionType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, KMS]" });
  await expectError(client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: '' })),
    { name: 'ValidationException', message: /keyId.*Member must have length greater than or equal to 1/ });
  await expectError(client.send(new StartStreamEncryptionCommand({ StreamName: 'missing', EncryptionType: 'KMS', KeyId: UUID })),
    { name: 'ResourceNotFoundException', message: `Stream missing under account ${ACCOUNT} not found.` });
  // Nothing changed.
  assert.deepEqual(await summary(client, name), before);
});

test('StartStreamEncryption needs an ACTIVE stream and passes through UPDATING', T, async (t) => {
  const srv = await startRunnel({ args: ['--update-stream-delay', '60000'] });
  t.after(() => srv.stop());
  const client = kinesisClient(srv.endpoint);
  const name = uniqueName('enc-upd');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: UUID }));
  const s = await summary(client, name);
  assert.equal(s.StreamStatus, 'UPDATING');
  assert.equal(s.EncryptionType, 'KMS');
  await expectError(client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: UUID })),
    { name: 'ResourceInUseException', message: notActive(name, 'UPDATING') });
  await expectError(client.send(new StopStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: UUID })),
    { name: 'ResourceInUseException', message: notActive(name, 'UPDATING') });
  // Writes go on (sealed) while UPDATING.
  const p = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x') }));
  assert.equal(p.EncryptionType, 'KMS');
});

test('marker: after StartStreamEncryption neither data nor partition key reaches the disk in plaintext', T, async (t) => {
  const dir = makeTempDir();
  let srv;
  t.after(async () => { await srv?.stop(); removeDir(dir); });
  srv = await startRunnel({ dataDir: dir });
  let client = kinesisClient(srv.endpoint);
  const name = uniqueName('enc-marker');
  const tag = crypto.randomBytes(8).toString('hex');
  const before = `BEFORE-${tag}-plaintext-marker`;
  const after = `SEALED-${tag}-secret-marker`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
  await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: before, Data: Buffer.from(`data:${before}`) }));
  await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
  const puts = [];
  puts.push(await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: `pk:${after}:1`, Data: Buffer.from(`data:${after}:1`) })));
  puts.push(await client.send(new PutRecordCommand({ StreamARN: streamArn(name), PartitionKey: `pk:${after}:2`, Data: Buffer.from(`data:${after}:2`) })));
  const batch = await client.send(new PutRecordsCommand({
    StreamName: name,
    Records: Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `pk:${after}:b${i}`, Data: Buffer.from(`data:${after}:b${i}`) })),
  }));
  assert.equal(batch.FailedRecordCount, 0);
  assert.ok(puts.every((p) => p.EncryptionType === 'KMS') && batch.EncryptionType === 'KMS');

  const st = await srv.stop();
  assert.equal(st.code, 0, `clean exit after SIGTERM\n${srv.stderr}`);
  const files = allFiles(dir);
  assert.ok(files.some((f) => path.basename(f) === 'runnel.db'), `runnel.db scanned: ${files.join(', ')}`);
  assert.ok(filesContaining(dir, before).length > 0, 'the marker written before encryption is found (the scan works)');
  assert.deepEqual(filesContaining(dir, after), [], 'the sealed marker appears in no file');
  assert.deepEqual(filesContaining(dir, tag).filter((f) => fs.readFileSync(f).includes(Buffer.from(`SEALED-${tag}`))), []);

  // Across a restart the records read back in plaintext.
  srv = await startRunnel({ dataDir: dir });
  client = kinesisClient(srv.endpoint);
  assert.equal((await summary(client, name)).EncryptionType, 'KMS');
  const got = [];
  for (let i = 0; i < 2; i++) got.push(...(await readShard(client, name, shardId(i))).records);
  const pks = got.map((r) => r.PartitionKey).sort();
  assert.equal(got.length, 23);
  assert.ok(pks.includes(before) && pks.includes(`pk:${after}:1`) && pks.includes(`pk:${after}:b19`));
  for (const r of got) {
    const sealed = r.PartitionKey !== before;
    assert.equal(r.EncryptionType, sealed ? 'KMS' : undefined, r.PartitionKey);
    assert.equal(text(r.Data), sealed ? `data:${r.PartitionKey.slice(3)}` : `data:${before}`);
  }
});

test('--master-key-file: data keys wrapped in the metadata; needed to start again', T, async (t) => {
  const dir = makeTempDir();
  const keyDir = makeTempDir();
  const keyFile = path.join(keyDir, 'master.key');
  fs.writeFileSync(keyFile, crypto.randomBytes(32));
  const otherKey = path.join(keyDir, 'other.key');
  fs.writeFileSync(otherKey, crypto.randomBytes(32));
  let srv;
  t.after(async () => { await srv?.stop(); removeDir(dir); removeDir(keyDir); });
  srv = await startRunnel({ dataDir: dir, args: ['--master-key-file', keyFile] });
  let client = kinesisClient(srv.endpoint);
  const name = uniqueName('enc-master');
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await client.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: UUID }));
  await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('wrapped') }));
  await srv.stop();
  assert.ok(filesContaining(dir, '"datakey":"gcm:').length > 0, 'the data key is stored wrapped');
  assert.deepEqual(filesContaining(dir, '"datakey":"raw:'), [], 'no unwrapped data key');

  for (const args of [[], ['--master-key-file', otherKey]]) {
    const r = await runRunnelToExit(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, ...args]);
    assert.notEqual(r.code, 0, `runnel must refuse to start ${args.join(' ')}`);
    assert.match(r.stderr, /cannot read its data key/);
  }
  srv = await startRunnel({ dataDir: dir, args: ['--master-key-file', keyFile] });
  client = kinesisClient(srv.endpoint);
  const { records } = await readShard(client, name, shardId(0));
  assert.deepEqual(records.map((r) => [r.PartitionKey, text(r.Data), r.EncryptionType]), [['k', 'wrapped', 'KMS']]);
});
