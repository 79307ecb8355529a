// page.mjs: the page script, bundled for the browser by esbuild (run.sh). It drives runnel with the
// JS SDK v3 from inside Chromium (fetch, so every call is a cross-origin request with CORS) and
// leaves what it saw in window.__result for run.mjs to assert.
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand, PutRecordsCommand,
  GetShardIteratorCommand, GetRecordsCommand, DescribeStreamCommand, ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';

const params = new URLSearchParams(location.search);
const client = new KinesisClient({
  endpoint: params.get('endpoint'),
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  maxAttempts: 1,
});
const enc = new TextEncoder();
const dec = new TextDecoder();

async function run() {
  const out = { steps: [] };
  const StreamName = params.get('stream');
  await client.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
  out.steps.push('CreateStream');
  for (let i = 0; i < 100; i++) {
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName }));
    if (s.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const one = await client.send(new PutRecordCommand({ StreamName, PartitionKey: 'k0', Data: enc.encode('from the browser 0') }));
  out.putRecord = { ShardId: one.ShardId, SequenceNumber: one.SequenceNumber, requestId: one.$metadata.requestId };
  out.steps.push('PutRecord');
  const many = await client.send(new PutRecordsCommand({
    StreamName,
    Records: [1, 2, 3].map((i) => ({ PartitionKey: `k${i}`, Data: enc.encode(`from the browser ${i}`) })),
  }));
  out.putRecords = { FailedRecordCount: many.FailedRecordCount, n: many.Records.length,
    ok: many.Records.filter((r) => r.SequenceNumber && !r.ErrorCode).length };
  out.steps.push('PutRecords');
  const it = await client.send(new GetShardIteratorCommand({ StreamName, ShardId: one.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
  out.steps.push('GetShardIterator');
  const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  out.getRecords = { data: got.Records.map((r) => dec.decode(r.Data)), keys: got.Records.map((r) => r.PartitionKey),
    first: got.Records[0]?.SequenceNumber, millisBehind: got.MillisBehindLatest };
  out.steps.push('GetRecords');
  try {
    await client.send(new DescribeStreamCommand({ StreamName: `${StreamName}-missing` }));
    out.error = { none: true };
  } catch (e) {
    out.error = { typed: e instanceof ResourceNotFoundException, name: e.name, message: e.message,
      status: e.$metadata?.httpStatusCode, requestId: e.$metadata?.requestId, fault: e.$fault };
  }
  out.steps.push('error');
  return out;
}

run().then((r) => { window.__result = r; }, (e) => { window.__result = { failed: `${e.name}: ${e.message}` }; });
