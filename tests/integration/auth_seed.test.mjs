// auth_seed.test.mjs: the seed guide's IAM permission, enforced. The identity the seed program
// signs as (AKIDEXAMPLE/secret, its two added lines) holds only the guide's statement, with the
// region, the account and emi-kinesis-stream filled in: the program gets its ShardId and
// SequenceNumber; anything else it might try is AccessDeniedException in IAM's words.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { makeTempDir, removeDir, startRunnel } from './runnel.mjs';
import { SEQ_RE, SHARD_ID_RE, expectError } from './kinesis.mjs';
import { ACCT, ADMIN, REGION, arnOf, clientAs, writeCredentials } from './auth.mjs';
import { runSeed } from './seed/run.mjs';

const SEED_STATEMENT = {
  Effect: 'Allow',
  Action: 'kinesis:PutRecord',
  Resource: `arn:aws:kinesis:${REGION}:${ACCT}:stream/emi-kinesis-stream`,
};
const EMI = { access_key_id: 'AKIDEXAMPLE', secret_access_key: 'secret', account_id: ACCT,
  arn: `arn:aws:iam::${ACCT}:user/emi`, policies: [{ Version: '2012-10-17', Statement: [SEED_STATEMENT] }] };
const denied = (action, resource) => `User: arn:aws:iam::${ACCT}:user/emi is not authorized to perform: kinesis:${action} on resource: ${resource} because no identity-based policy allows the kinesis:${action} action`;

let dir; let srv; let admin; let emi;
before(async () => {
  dir = makeTempDir();
  const creds = writeCredentials(dir, [ADMIN, EMI]);
  srv = await startRunnel({ inMemory: true, args: ['--credentials', creds, '--create-stream-delay', '0'] });
  admin = clientAs(srv.endpoint, ADMIN);
  emi = clientAs(srv.endpoint, EMI);
  await admin.send(new CreateStreamCommand({ StreamName: 'emi-kinesis-stream', ShardCount: 2 }));
  await admin.send(new CreateStreamCommand({ StreamName: 'other-stream', ShardCount: 1 }));
});
after(async () => {
  admin?.destroy(); emi?.destroy();
  await srv?.stop();
  if (dir) removeDir(dir);
});

test('the seed program, holding only the guide\'s permission, gets its ShardId and SequenceNumber', { timeout: 60000 }, async () => {
  const r = await runSeed(srv.endpoint);
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Error adding record|Error in example usage/, r.stderr);
  assert.match(/ShardId: '([^']*)'/.exec(r.stdout)?.[1] ?? '', SHARD_ID_RE, r.stdout);
  assert.match(/SequenceNumber: '([^']*)'/.exec(r.stdout)?.[1] ?? '', SEQ_RE, r.stdout);
});

test('with the same credentials, anything beyond PutRecord on emi-kinesis-stream is denied in IAM\'s words', async () => {
  const arn = arnOf('emi-kinesis-stream');
  await expectError(emi.send(new PutRecordsCommand({ StreamName: 'emi-kinesis-stream', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] })),
    { name: 'AccessDeniedException', message: denied('PutRecords', arn) });
  const { ShardIterator } = await admin.send(new GetShardIteratorCommand({ StreamName: 'emi-kinesis-stream', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
  await expectError(emi.send(new GetRecordsCommand({ ShardIterator })),
    { name: 'AccessDeniedException', message: denied('GetRecords', arn) });
  await expectError(emi.send(new CreateStreamCommand({ StreamName: 'emi-new', ShardCount: 1 })),
    { name: 'AccessDeniedException', message: denied('CreateStream', arnOf('emi-new')) });
  await expectError(emi.send(new PutRecordCommand({ StreamName: 'other-stream', Data: Buffer.from('x'), PartitionKey: 'k' })),
    { name: 'AccessDeniedException', message: denied('PutRecord', arnOf('other-stream')) });
  // and the grant itself still works from the test's own client
  const ok = await emi.send(new PutRecordCommand({ StreamName: 'emi-kinesis-stream', Data: Buffer.from('x'), PartitionKey: 'k' }));
  assert.match(ok.SequenceNumber, SEQ_RE);
});
