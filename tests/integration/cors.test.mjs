// cors.test.mjs: CORS (net/cors.c, docs/net.md "CORS") and AWS's order of the first checks
// (api.c, issue 11), with hand-made requests over HTTP/1.1 (node:http) and h2c (node:http2),
// against runnel in developer mode and in verified mode (--credentials). Every request here is
// unsigned: in verified mode an answer other than MissingAuthenticationTokenException shows the
// check came before authentication. The last part checks the answers the HTTP layer makes itself
// (413, 503, 408, 400 on bad chunked framing: raw HTTP/1.1 bytes and HTTP/2 streams) and the head
// of a SubscribeToShard event stream (both protocols) carry the CORS headers too.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import cbor from 'cbor';
import { startRunnel, makeTempDir, removeDir, streamArn, uniqueName, sleep } from './runnel.mjs';
import { ADMIN, writeCredentials, signedRequest } from './auth.mjs';

const T = { timeout: 60000 };
const JSON11 = 'application/x-amz-json-1.1';
const CBOR11 = 'application/x-amz-cbor-1.1';
const EXPOSE = 'x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date';
const ORIGIN = 'http://127.0.0.1:9';
const ENVELOPE_SER = '{"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}';
const ENVELOPE_UNK = '{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}';

/** One request; headers given as-is (a value of undefined is left out). Resolves
 * {status, headers, body}. proto: 'h1' or an open http2 session. */
function send(port, proto, { method = 'POST', headers = {}, body = '' } = {}) {
  const hs = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
  const buf = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const done = (status, h, parts) => resolve({ status, headers: h, body: Buffer.concat(parts) });
    if (proto === 'h1') {
      const req = http.request({ host: '127.0.0.1', port, method, path: '/', agent: false,
        headers: { ...hs, 'content-length': buf.length } }, (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => done(res.statusCode, res.headers, parts));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(buf);
      return;
    }
    const bodiless = method === 'GET' || method === 'HEAD';
    const st = proto.request({ ':method': method, ':path': '/', ...hs }, { endStream: bodiless });
    let rh = {};
    const parts = [];
    st.on('response', (h) => { rh = h; });
    st.on('data', (c) => parts.push(c));
    st.on('end', () => done(rh[':status'], rh, parts));
    st.on('error', reject);
    if (bodiless) return;
    st.end(buf);
  });
}

function h2connect(port) {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const target = (op) => (op === undefined ? undefined : `Kinesis_20131202.${op}`);

function assertNoCors(r) {
  for (const k of Object.keys(r.headers)) assert.ok(!k.startsWith('access-control-'), `no CORS header, got ${k}`);
}
function assertCors(r) {
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.equal(r.headers['access-control-expose-headers'], EXPOSE);
}
/** A bare error (no message) in JSON or CBOR as ctype says. */
function assertBareError(r, status, type, ctype) {
  assert.equal(r.status, status, `status; body ${r.body}`);
  assert.equal(r.headers['content-type'], ctype);
  assert.equal(r.headers['x-amzn-errortype'], type);
  const v = ctype === CBOR11 ? cbor.decodeFirstSync(r.body) : JSON.parse(r.body.toString());
  assert.deepEqual(v, { __type: type }, `body ${ctype === CBOR11 ? JSON.stringify(v) : r.body}`);
}

const MODES = ['developer', 'verified'];
const servers = {};
let dir;
before(async () => {
  dir = makeTempDir('runnel-cors-');
  servers.developer = await startRunnel({ inMemory: true });
  servers.verified = await startRunnel({ inMemory: true, args: ['--credentials', writeCredentials(dir, [ADMIN])] });
});
after(async () => {
  for (const s of Object.values(servers)) await s?.stop();
  if (dir) removeDir(dir);
});

for (const mode of MODES) {
  for (const pname of ['HTTP/1.1', 'HTTP/2']) {
    describe(`${mode} mode, ${pname}`, () => {
      let port;
      let proto;
      before(async () => {
        port = servers[mode].port;
        proto = pname === 'HTTP/1.1' ? 'h1' : await h2connect(port);
      });
      after(() => { if (proto !== 'h1') proto.close(); });

      // ---- CORS ----
      test('preflight: OPTIONS with Origin → 200, no body, the request headers and method echoed', T, async () => {
        const r = await send(port, proto, { method: 'OPTIONS', headers: {
          origin: ORIGIN, 'access-control-request-method': 'POST',
          'access-control-request-headers': 'amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent' } });
        assert.equal(r.status, 200);
        assert.equal(r.body.length, 0);
        if (proto === 'h1') assert.equal(r.headers['content-length'], '0');
        assert.equal(r.headers['access-control-allow-headers'],
          'amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent');
        assert.equal(r.headers['access-control-allow-methods'], 'POST');
        assert.equal(r.headers['access-control-max-age'], '172800');
        assertCors(r);
        assert.equal(r.headers['content-type'], undefined);
      });

      test('preflight comes before every other check: other method asked, signed-looking, odd target', T, async () => {
        const r = await send(port, proto, { method: 'OPTIONS', headers: {
          origin: 'https://example.com', 'access-control-request-method': 'PUT',
          'x-amz-target': 'Nope.Nothing', authorization: 'AWS4-HMAC-SHA256 Credential=x', 'content-type': 'text/plain' },
          body: 'not json' });
        assert.equal(r.status, 200);
        assert.equal(r.body.length, 0);
        assert.equal(r.headers['access-control-allow-methods'], 'PUT');
        assert.equal(r.headers['access-control-allow-headers'], undefined);
        assert.equal(r.headers['access-control-max-age'], '172800');
        assertCors(r);
      });

      test('OPTIONS without Origin is no preflight: 403 AccessDenied XML, no CORS headers', T, async () => {
        const r = await send(port, proto, { method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } });
        assert.equal(r.status, 403);
        assert.match(r.body.toString(), /<AccessDeniedException>/);
        assertNoCors(r);
      });

      test('a POST with Origin: the answer (success or error) carries Allow-Origin and Expose-Headers', T, async () => {
        let r;
        if (mode === 'verified') {
          if (proto !== 'h1') return; // the signed success case is covered over HTTP/1.1
          r = await signedRequest(port, ADMIN, 'ListStreams', Buffer.from('{}'), {});
          assert.equal(r.status, 200); // signedRequest sends no Origin
          assertNoCors(r);
          // with Origin: the SDK's signer does not sign it, so add it after signing
          r = await send(port, 'h1', { headers: { origin: ORIGIN, 'content-type': JSON11, 'x-amz-target': target('ListStreams') }, body: '{}' });
          assertBareErrorOrMsg(r, 'MissingAuthenticationTokenException');
        } else {
          r = await send(port, proto, { headers: { origin: ORIGIN, 'content-type': JSON11, 'x-amz-target': target('ListStreams'),
            'x-amz-date': '20261202T000000Z',
            authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}` },
          body: '{}' });
          assert.equal(r.status, 200, String(r.body));
        }
        assertCors(r);
        r = await send(port, proto, { headers: { origin: ORIGIN, 'content-type': JSON11, 'x-amz-target': target('Nope') }, body: '{}' });
        assertBareError(r, 400, 'UnknownOperationException', JSON11);
        assertCors(r);
        r = await send(port, proto, { method: 'GET', headers: { origin: ORIGIN } });
        assert.equal(r.status, 403);
        assertCors(r);
      });

      test('a POST without Origin gets no CORS header', T, async () => {
        const r = await send(port, proto, { headers: { 'content-type': JSON11, 'x-amz-target': target('Nope') }, body: '{}' });
        assertBareError(r, 400, 'UnknownOperationException', JSON11);
        assertNoCors(r);
      });

      // ---- the first checks ----
      test('empty body, JSON 1.1: SerializationException for a real operation, UnknownOperation otherwise', T, async () => {
        for (const ct of [JSON11, `${JSON11}; charset=utf-8`]) {
          let r = await send(port, proto, { headers: { 'content-type': ct, 'x-amz-target': target('PutRecord') } });
          assertBareError(r, 400, 'SerializationException', JSON11);
          r = await send(port, proto, { headers: { 'content-type': ct, 'x-amz-target': target('PutRecordz') } });
          assertBareError(r, 400, 'UnknownOperationException', JSON11);
          r = await send(port, proto, { headers: { 'content-type': ct } });
          assertBareError(r, 400, 'UnknownOperationException', JSON11);
        }
      });

      for (const ct of [undefined, 'application/x-amz-json-1.0', 'application/json', 'garbage/x', CBOR11]) {
        test(`empty body, Content-Type ${ct ?? '(none)'}: the same errors in CBOR`, T, async () => {
          let r = await send(port, proto, { headers: { 'content-type': ct, 'x-amz-target': target('ListStreams') } });
          assertBareError(r, 400, 'SerializationException', CBOR11);
          r = await send(port, proto, { headers: { 'content-type': ct, 'x-amz-target': 'Foo_20131202.ListStreams' } });
          assertBareError(r, 400, 'UnknownOperationException', CBOR11);
          r = await send(port, proto, { headers: { 'content-type': ct } });
          assertBareError(r, 400, 'UnknownOperationException', CBOR11);
        });
      }

      test('JSON 1.1 body that is not an object: SerializationException before authentication', T, async () => {
        for (const body of ['[1,2,3]', ' "x"', '7', 'null', '\n true', 'garbage', '   ']) {
          const r = await send(port, proto, { headers: { 'content-type': JSON11, 'x-amz-target': target('ListStreams') }, body });
          assertBareError(r, 400, 'SerializationException', JSON11);
        }
        // an object goes on to authentication (unsigned here)
        const r = await send(port, proto, { headers: { 'content-type': JSON11, 'x-amz-target': target('ListStreams') }, body: ' {}' });
        if (mode === 'verified') assertBareErrorOrMsg(r, 'MissingAuthenticationTokenException');
        else assertBareErrorOrMsg(r, 'MissingAuthenticationTokenException');
      });

      test('application/json never reaches an operation: AWS\'s Output envelope, 400 or 404', T, async () => {
        // (HTTP/2 refuses a header value with leading white space: only HTTP/1.1 sends one)
        const lead = proto === 'h1' ? ' ' : '';
        for (const ct of ['application/json', `${lead}Application/JSON ; charset=utf-8`, 'application/json;x=y']) {
          for (const [body, status, text] of [['[1]', 400, ENVELOPE_SER], ['nope', 400, ENVELOPE_SER], ['"s"', 400, ENVELOPE_SER],
            ['{}', 404, ENVELOPE_UNK], ['{"StreamName":"x"}', 404, ENVELOPE_UNK]]) {
            for (const op of ['ListStreams', 'Nope', undefined]) {
              const r = await send(port, proto, { headers: { 'content-type': ct, 'x-amz-target': target(op) }, body });
              assert.equal(r.status, status, `${ct} ${body} ${op}: ${r.body}`);
              assert.equal(r.headers['content-type'], 'application/json');
              assert.equal(r.body.toString(), text);
            }
          }
        }
      });

      test('the XML answers carry no Content-Type: 403 AccessDenied, 404 UnknownOperation', T, async () => {
        let r = await send(port, proto, { method: 'GET' });
        assert.equal(r.status, 403);
        assert.equal(r.headers['content-type'], undefined);
        assert.match(r.body.toString(), /^<AccessDeniedException>/);
        r = await send(port, proto, { headers: { 'content-type': 'text/plain' }, body: '{}' });
        assert.equal(r.status, 403);
        assert.equal(r.headers['content-type'], undefined);
        assert.match(r.body.toString(), /^<AccessDeniedException>/);
        r = await send(port, proto, { headers: { 'content-type': 'text/plain', 'x-amz-target': target('ListStreams') }, body: '{}' });
        assert.equal(r.status, 404);
        assert.equal(r.headers['content-type'], undefined);
        assert.equal(r.body.toString(), '<UnknownOperationException/>\n');
      });
    });
  }
}

function assertBareErrorOrMsg(r, type) {
  assert.equal(r.status, 400, String(r.body));
  assert.equal(r.headers['x-amzn-errortype'], type);
}

// ---- answers the HTTP layer makes itself, and streaming heads ----
// A developer-mode runnel with a small body budget (a 503 without sending much) and a short read
// timeout (a 408 without waiting a minute); the 413 needs only an announced Content-Length.
const DEV_AUTH = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`;
const BUDGET = 65536;
const OVER_MAX_BODY = 17 * 1024 * 1024; // over the default 16 MiB limit

/** Raw HTTP/1.1: write head (and optional bytes after it) on a fresh socket; resolve the answer's
 * status line and headers (lower-cased names) as soon as the head is in; the socket is left to
 * the server (which closes it after these answers). */
function rawH1(port, head, more = '') {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer head; got ${JSON.stringify(data)}`)); }, 30000);
    sock.setEncoding('latin1');
    sock.on('error', () => {}); // a reset after an early answer: keep what was read
    sock.on('data', (d) => {
      data += d;
      const he = data.indexOf('\r\n\r\n');
      if (he < 0) return;
      clearTimeout(timer);
      sock.destroy();
      const [line, ...rest] = data.slice(0, he).split('\r\n');
      const headers = {};
      for (const l of rest) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(line)?.[1]), headers });
    });
    sock.on('connect', () => sock.write(head + more));
  });
}

const h1Head = (port, target, extra) => `POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`
  + `Content-Type: ${JSON11}\r\nX-Amz-Target: Kinesis_20131202.${target}\r\nX-Amz-Date: 20261202T000000Z\r\n`
  + `Authorization: ${DEV_AUTH}\r\n${extra}\r\n`;

/** HTTP/2 on a new session (the short read timeout would end an idle one): open a stream with
 * these headers and write body (ending the stream when end is set); resolve {status, headers} at
 * the answer's head; then close the session. */
async function h2Head(port, headers, body, end = false) {
  const session = await h2connect(port);
  try {
    return await new Promise((resolve, reject) => {
      const st = session.request({ ':method': 'POST', ':path': '/', ...headers }, { endStream: false });
      st.on('response', (h) => resolve({ status: h[':status'], headers: h }));
      st.on('error', reject);
      if (end) st.end(body);
      else if (body !== undefined) st.write(body);
    });
  } finally {
    session.destroy();
  }
}

describe('answers the HTTP layer makes itself, and event-stream heads, carry CORS', () => {
  let srv;
  let consumerArn;
  before(async () => {
    srv = await startRunnel({ inMemory: true, args: ['--max-buffered-bytes', String(BUDGET), '--read-timeout', '1500', '--consumer-delay', '0'] });
    const name = uniqueName('cors');
    const call = async (op, body) => {
      const r = await send(srv.port, 'h1', { headers: { 'content-type': JSON11, 'x-amz-target': target(op), authorization: DEV_AUTH, 'x-amz-date': '20261202T000000Z' }, body: JSON.stringify(body) });
      assert.equal(r.status, 200, `${op}: ${r.body}`);
      return JSON.parse(r.body.toString() || '{}');
    };
    await call('CreateStream', { StreamName: name, ShardCount: 1 });
    for (let i = 0; i < 100; i++) {
      const d = await call('DescribeStreamSummary', { StreamName: name });
      if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
      await sleep(50);
    }
    consumerArn = (await call('RegisterStreamConsumer', { StreamARN: streamArn(name), ConsumerName: 'browser' })).Consumer.ConsumerARN;
    for (let i = 0; i < 100; i++) {
      const d = await call('DescribeStreamConsumer', { ConsumerARN: consumerArn });
      if (d.ConsumerDescription.ConsumerStatus === 'ACTIVE') break;
      await sleep(50);
    }
  });
  after(async () => { await srv?.stop(); });

  const subscribeBody = () => JSON.stringify({ ConsumerARN: consumerArn, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } });

  for (const withOrigin of [true, false]) {
    const origin = withOrigin ? `Origin: ${ORIGIN}\r\n` : '';
    const check = withOrigin ? assertCors : assertNoCors;
    const how = withOrigin ? 'with Origin: CORS headers' : 'without Origin: none';

    test(`HTTP/1.1 413 (announced body over the limit), ${how}`, T, async () => {
      const r = await rawH1(srv.port, h1Head(srv.port, 'PutRecord', `${origin}Content-Length: ${OVER_MAX_BODY}\r\n`));
      assert.equal(r.status, 413);
      check(r);
    });

    test(`HTTP/1.1 413 (chunked body over the limit), ${how}`, T, async () => {
      const size = OVER_MAX_BODY.toString(16);
      const r = await rawH1(srv.port, h1Head(srv.port, 'PutRecord', `${origin}Transfer-Encoding: chunked\r\n`), `${size}\r\n`);
      assert.equal(r.status, 413);
      check(r);
    });

    test(`HTTP/1.1 503 (over the server-wide body budget), ${how}`, T, async () => {
      const r = await rawH1(srv.port, h1Head(srv.port, 'PutRecord', `${origin}Content-Length: ${BUDGET + 1}\r\n`));
      assert.equal(r.status, 503);
      check(r);
    });

    test(`HTTP/1.1 408 (body not received in time), ${how}`, T, async () => {
      const r = await rawH1(srv.port, h1Head(srv.port, 'PutRecord', `${origin}Content-Length: 100\r\n`), '{"Stre');
      assert.equal(r.status, 408);
      check(r);
    });

    test(`HTTP/1.1 400 (bad chunked framing), ${how}`, T, async () => {
      const r = await rawH1(srv.port, h1Head(srv.port, 'PutRecord', `${origin}Transfer-Encoding: chunked\r\n`), 'zz\r\n');
      assert.equal(r.status, 400);
      check(r);
    });

    test(`HTTP/1.1 SubscribeToShard event-stream head, ${how}`, T, async () => {
      const body = subscribeBody();
      const r = await rawH1(srv.port, h1Head(srv.port, 'SubscribeToShard', `${origin}Content-Length: ${body.length}\r\n`), body);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/vnd.amazon.eventstream');
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      check(r);
    });

    const h2hs = (op, more) => ({ 'content-type': JSON11, 'x-amz-target': target(op), 'x-amz-date': '20261202T000000Z', authorization: DEV_AUTH, ...(withOrigin ? { origin: ORIGIN } : {}), ...more });

    test(`HTTP/2 413 (announced body over the limit), ${how}`, T, async () => {
      const r = await h2Head(srv.port, h2hs('PutRecord', { 'content-length': String(OVER_MAX_BODY) }));
      assert.equal(r.status, 413);
      check(r);
    });

    test(`HTTP/2 503 (DATA over the server-wide body budget, no Content-Length), ${how}`, T, async () => {
      const r = await h2Head(srv.port, h2hs('PutRecord'), Buffer.alloc(BUDGET + 1, 0x61));
      assert.equal(r.status, 503);
      check(r);
    });

    test(`HTTP/2 503 (over the server-wide body budget), ${how}`, T, async () => {
      const r = await h2Head(srv.port, h2hs('PutRecord', { 'content-length': String(BUDGET + 1) }));
      assert.equal(r.status, 503);
      check(r);
    });

    test(`HTTP/2 SubscribeToShard event-stream head, ${how}`, T, async () => {
      const r = await h2Head(srv.port, h2hs('SubscribeToShard'), subscribeBody(), true);
      assert.equal(r.status, 200, JSON.stringify(r.headers));
      assert.equal(r.headers['content-type'], 'application/vnd.amazon.eventstream');
      check(r);
    });
  }
});
