// ctl_ids.test.mjs: internal stream ids are never reused (issue 9, defect 4, second half).
//
// A stream document that cannot be read at start is reported (a warning naming its key) and kept
// as it is; its id is never given to another stream, so a stream created afterwards (here by
// another account) never serves the old stream's records. Ids of deleted streams are not reused
// either (a persisted high-water mark). The metadata table is SQLite (docs/storage.md); the test
// edits it with python3's sqlite3 module while runnel is stopped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import {
  CreateStreamCommand, DeleteStreamCommand, ListStreamsCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { makeTempDir, removeDir, startRunnel } from './hostile.mjs';
import { readShard, shardId, text } from '../integration/kinesis.mjs';

/** A client whose access key is a 12-digit account id (runnel takes it as the account). */
function accountClient(endpoint, account) {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: account, secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
}

function sql(db, script, ...args) {
  return execFileSync('python3', ['-c', `
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
args = sys.argv[2:]
${script}
db.commit()
db.close()
`, db, ...args], { encoding: 'utf8' });
}

const streamKeys = (db) => JSON.parse(sql(db, `print(json.dumps([k for (k,) in db.execute("select key from kv where key like 'stream/%' order by key")]))`));
const valueOf = (db, key) => sql(db, 'row = db.execute("select value from kv where key = ?", (args[0],)).fetchone(); sys.stdout.write(bytes(row[0]).hex() if row else "")', key);

test('an unreadable stream document is reported and kept; its id is never reused', { timeout: 60000 }, async (t) => {
  const dataDir = makeTempDir('runnel-ids-');
  const servers = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    removeDir(dataDir);
  });
  const start = async () => {
    const srv = await startRunnel({ dataDir });
    servers.push(srv);
    return srv;
  };
  const client = (srv, account) => {
    const c = accountClient(srv.endpoint, account);
    clients.push(c);
    return c;
  };
  const db = `${dataDir}/runnel.db`;

  // 1. Account A's stream with records; runnel stops.
  let srv = await start();
  const a = client(srv, '111111111111');
  await a.send(new CreateStreamCommand({ StreamName: 'secret', ShardCount: 1 }));
  const res = await a.send(new PutRecordsCommand({
    StreamName: 'secret',
    Records: Array.from({ length: 5 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`secret-${i}`) })),
  }));
  assert.equal(res.FailedRecordCount ?? 0, 0);
  a.destroy();
  assert.equal((await srv.stop()).code, 0);

  // 2. Its document becomes unreadable.
  const keys = streamKeys(db);
  assert.equal(keys.length, 1);
  const bad = keys[0];
  sql(db, 'db.execute("update kv set value = ? where key = ?", (b"{not json", args[0]))', bad);
  const badValue = valueOf(db, bad);

  // 3. Restart: the start-up log names the key; account B's new stream holds nothing of A's.
  srv = await start();
  const b = client(srv, '222222222222');
  await b.send(new CreateStreamCommand({ StreamName: 'fresh', ShardCount: 1 }));
  const { records } = await readShard(b, 'fresh', shardId(0));
  assert.deepEqual(records.map((r) => text(r.Data)), [], "a new stream served another stream's records");
  assert.match(srv.stderr, new RegExp(bad.replace('/', '\\/')), 'the start-up log names the unreadable key');
  const a2 = client(srv, '111111111111');
  assert.deepEqual((await a2.send(new ListStreamsCommand({}))).StreamNames, [], 'the unreadable stream is not served');
  b.destroy(); a2.destroy();
  assert.equal((await srv.stop()).code, 0);
  assert.equal(valueOf(db, bad), badValue, 'the unreadable entry is kept as it was');
  const ids1 = streamKeys(db);
  assert.equal(ids1.length, 2, `the unreadable entry and the new one: ${ids1}`);

  // 4. A deleted stream's id is not reused after a restart either.
  srv = await start();
  const c = client(srv, '333333333333');
  await c.send(new CreateStreamCommand({ StreamName: 'short-lived', ShardCount: 1 }));
  await c.send(new PutRecordsCommand({ StreamName: 'short-lived', Records: [{ PartitionKey: 'p', Data: Buffer.from('old') }] }));
  const deletedKey = streamKeys(db).find((k) => !ids1.includes(k));
  await c.send(new DeleteStreamCommand({ StreamName: 'short-lived' }));
  c.destroy();
  assert.equal((await srv.stop()).code, 0);
  srv = await start();
  const d = client(srv, '444444444444');
  await d.send(new CreateStreamCommand({ StreamName: 'after-delete', ShardCount: 1 }));
  d.destroy();
  assert.equal((await srv.stop()).code, 0);
  const ids2 = streamKeys(db);
  const newest = ids2.find((k) => !ids1.includes(k));
  assert.ok(deletedKey && newest > deletedKey, `a new stream took a deleted stream's id: ${newest} vs ${deletedKey}`);
  assert.ok(fs.existsSync(db));
});
