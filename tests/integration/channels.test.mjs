// channels.test.mjs: the Channel control plane (CreateChannel, DescribeChannel, ListChannels,
// UpdateChannel, DeleteChannel) through the JS SDK: inputs, states, ARNs, limits, errors, and the
// channel surviving a restart on the same data dir. Delivery is not implemented yet (docs/channels.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateChannelCommand, CreateStreamCommand, DeleteChannelCommand, DeleteStreamCommand,
  DescribeStreamSummaryCommand, DescribeChannelCommand,
  ListChannelsCommand, UpdateChannelCommand,
} from '@aws-sdk/client-kinesis';
import {
  ACCOUNT, REGION, kinesisClient, makeTempDir, removeDir, startRunnel, streamArn, uniqueName,
} from './runnel.mjs';
import { expectError } from './kinesis.mjs';

const T = { timeout: 60000 };
const ROLE = `arn:aws:iam::${ACCOUNT}:role/channel-writer`;
const BUCKET = 'arn:aws:s3:::delivery-bucket';

function createInput(name, stream, extra = {}) {
  return {
    ChannelName: name,
    ServiceExecutionRoleARN: ROLE,
    StreamConfigurationList: [{ StreamARN: streamArn(stream), RecordConfiguration: { RecordFormatType: 'JSON' } }],
    S3DestinationConfiguration: {
      StorageConfiguration: { BucketARN: BUCKET, ExpectedBucketOwner: ACCOUNT, CompressionType: 'GZIP' },
    },
    ...extra,
  };
}

async function withServer(t, opts = {}) {
  const srv = await startRunnel(opts);
  const client = kinesisClient(srv.endpoint);
  t.after(async () => { client.destroy(); await srv.stop(); });
  return { srv, client };
}

test('channel lifecycle: create (CREATING then ACTIVE), describe, list, update (UPDATING), delete', T, async (t) => {
  const { client } = await withServer(t, { args: ['--consumer-delay', '300'] });
  const stream = uniqueName('chs');
  await client.send(new CreateStreamCommand({ StreamName: stream, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
  await new Promise((r) => setTimeout(r, 400));
  const name = uniqueName('ch');
  const arn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:channel/${name}`;
  const { ChannelDescription: c } = await client.send(new CreateChannelCommand(createInput(name, stream)));
  assert.equal(c.ChannelName, name);
  assert.equal(c.ChannelARN, arn);
  assert.equal(c.ChannelStatus, 'CREATING');
  assert.ok(c.ChannelId);
  assert.equal(c.ServiceExecutionRoleARN, ROLE);
  assert.equal(c.StreamConfigurationList.length, 1);
  assert.equal(c.StreamConfigurationList[0].StreamARN, streamArn(stream));
  assert.deepEqual(c.StreamConfigurationList[0].RecordConfiguration, { RecordFormatType: 'JSON' });
  assert.ok(c.StreamConfigurationList[0].StreamCreationTimestamp instanceof Date);
  assert.equal(c.S3DestinationConfiguration.DataFreshnessInSeconds, 300); // the documented default
  assert.equal(c.S3DestinationConfiguration.StorageConfiguration.BucketARN, BUCKET);
  assert.equal(c.S3DestinationConfiguration.StorageConfiguration.CompressionType, 'GZIP');
  assert.deepEqual(c.LoggingConfiguration, { CloudWatchLogs: { Enabled: false } });

  await expectError(client.send(new CreateChannelCommand(createInput(name, stream))),
    { name: 'ResourceInUseException', message: /already exists/ });
  await expectError(client.send(new CreateChannelCommand(createInput(uniqueName('ch'), stream))),
    { name: 'LimitExceededException', message: /one such channel/ });

  await new Promise((r) => setTimeout(r, 400));
  const { ChannelDescription: d } = await client.send(new DescribeChannelCommand({ ChannelARN: arn }));
  assert.equal(d.ChannelStatus, 'ACTIVE');
  assert.equal(d.ChannelId, c.ChannelId);

  const { ChannelSummaries: all } = await client.send(new ListChannelsCommand({}));
  const mine = all.find((s) => s.ChannelARN === arn);
  assert.equal(mine.ChannelDestinationType, 'S3');
  assert.equal(mine.Streams[0].StreamARN, streamArn(stream));
  const { ChannelSummaries: filtered } = await client.send(new ListChannelsCommand({
    StreamFilter: [{ StreamARN: streamArn('no-such-stream') }] }));
  assert.equal(filtered.length, 0);

  const { ChannelDescription: u } = await client.send(new UpdateChannelCommand({
    ChannelARN: arn, S3DestinationConfiguration: { DataFreshnessInSeconds: 60 } }));
  assert.equal(u.ChannelStatus, 'UPDATING');
  assert.equal(u.S3DestinationConfiguration.DataFreshnessInSeconds, 60);
  await expectError(client.send(new UpdateChannelCommand({
    ChannelARN: arn, S3DestinationConfiguration: { DataFreshnessInSeconds: 30 } })),
  { name: 'ResourceInUseException', message: /UPDATING/ });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal((await client.send(new DescribeChannelCommand({ ChannelARN: arn }))).ChannelDescription.ChannelStatus, 'ACTIVE');

  const { StreamDescriptionSummary: sum } = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
  assert.equal(sum.ChannelCount, 1);
  await expectError(client.send(new DeleteStreamCommand({ StreamName: stream })),
    { name: 'ResourceInUseException', message: /has active channels/ });
  await client.send(new DeleteChannelCommand({ ChannelARN: arn }));
  assert.equal((await client.send(new DescribeChannelCommand({ ChannelARN: arn }))).ChannelDescription.ChannelStatus, 'DELETING');
  await new Promise((r) => setTimeout(r, 400));
  await expectError(client.send(new DescribeChannelCommand({ ChannelARN: arn })),
    { name: 'ResourceNotFoundException', message: /not found/ });
  // the stream's one S3 channel is gone: another may be created
  await client.send(new CreateChannelCommand(createInput(uniqueName('ch'), stream)));
});

test('CreateChannel errors: destinations, provisioned stream, missing stream, S3 Tables not supported yet', T, async (t) => {
  const { client } = await withServer(t);
  const od = uniqueName('cho');
  const prov = uniqueName('chp');
  await client.send(new CreateStreamCommand({ StreamName: od, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
  await client.send(new CreateStreamCommand({ StreamName: prov, ShardCount: 1 }));
  const input = createInput(uniqueName('ch'), od);
  await expectError(client.send(new CreateChannelCommand({ ...input, S3DestinationConfiguration: undefined })),
    { name: 'InvalidArgumentException', message: /either S3DestinationConfiguration or S3TablesDestinationConfiguration/ });
  await expectError(client.send(new CreateChannelCommand({
    ...input, S3DestinationConfiguration: undefined,
    S3TablesDestinationConfiguration: {
      DeadLetterQueueS3Configuration: { BucketARN: BUCKET, ExpectedBucketOwner: ACCOUNT }, S3TablesConfigurationList: [{ TableBucketARN: 'arn:aws:s3tables:us-east-1:000000000000:bucket/tables', Namespace: 'ns', TableName: 'records', CompressionType: 'ZSTD' }] } })),
  { name: 'InvalidArgumentException', message: /not supported by runnel yet/ });
  await expectError(client.send(new CreateChannelCommand(createInput(uniqueName('ch'), prov))),
    { name: 'InvalidArgumentException', message: /only supported for data streams with the on-demand capacity mode/ });
  await expectError(client.send(new CreateChannelCommand(createInput(uniqueName('ch'), 'no-such-stream'))),
    { name: 'ResourceNotFoundException' });
  await expectError(client.send(new CreateChannelCommand(createInput(uniqueName('ch'), od, {
    EncryptionConfiguration: { EncryptionType: 'KMS', KeyId: 'aws/kinesis' } }))),
  { name: 'InvalidArgumentException', message: /service key/ });
  await expectError(client.send(new DescribeChannelCommand({
    ChannelARN: `arn:aws:kinesis:${REGION}:${ACCOUNT}:channel/none` })),
  { name: 'ResourceNotFoundException', message: /not found/ });
});

test('a channel survives a restart on the same data dir', T, async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const stream = uniqueName('chr');
  const name = uniqueName('ch');
  const arn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:channel/${name}`;
  let id;
  {
    const srv = await startRunnel({ dataDir: dir });
    const client = kinesisClient(srv.endpoint);
    try {
      await client.send(new CreateStreamCommand({ StreamName: stream, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
      id = (await client.send(new CreateChannelCommand(createInput(name, stream, {
        S3DestinationConfiguration: { DataFreshnessInSeconds: 120,
          StorageConfiguration: { BucketARN: BUCKET, ExpectedBucketOwner: ACCOUNT, CompressionType: 'ZSTD' } } })))).ChannelDescription.ChannelId;
    } finally { client.destroy(); await srv.stop(); }
  }
  const srv = await startRunnel({ dataDir: dir });
  const client = kinesisClient(srv.endpoint);
  t.after(async () => { client.destroy(); await srv.stop(); });
  const { ChannelDescription: d } = await client.send(new DescribeChannelCommand({ ChannelARN: arn }));
  assert.equal(d.ChannelId, id);
  assert.equal(d.ChannelStatus, 'ACTIVE');
  assert.equal(d.S3DestinationConfiguration.DataFreshnessInSeconds, 120);
  assert.equal(d.S3DestinationConfiguration.StorageConfiguration.CompressionType, 'ZSTD');
});
