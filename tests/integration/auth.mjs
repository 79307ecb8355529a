// auth.mjs: helpers for the verified-mode tests (--credentials): a credentials file, clients
// signing as an identity, and raw requests signed with the SDK's own SigV4 signer.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';

export const ACCT = '123456789012';
export const REGION = 'us-east-1';
export const arnOf = (name, account = ACCT, region = REGION) => `arn:aws:kinesis:${region}:${account}:stream/${name}`;
export const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kinesis:*', Resource: '*' }] };
export const ADMIN = { access_key_id: 'AKIDADMIN0000001', secret_access_key: 'admin/secret+key', account_id: ACCT,
  arn: `arn:aws:iam::${ACCT}:user/admin`, policies: [ALLOW_ALL] };

/** Write {"identities": [...]} to dir/name and return its path. */
export function writeCredentials(dir, identities, name = 'credentials.json') {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `${JSON.stringify({ identities }, null, 2)}\n`);
  return p;
}

/** A KinesisClient signing as identity id (secret overridable). */
export function clientAs(endpoint, id, { http1 = false, secret, token, requestHandler } = {}) {
  const credentials = { accessKeyId: id.access_key_id, secretAccessKey: secret ?? id.secret_access_key };
  if (token ?? id.session_token) credentials.sessionToken = token ?? id.session_token;
  const cfg = { region: REGION, endpoint, credentials, maxAttempts: 1 };
  if (requestHandler) cfg.requestHandler = requestHandler;
  else if (http1) cfg.requestHandler = new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 });
  return new KinesisClient(cfg);
}

/** The SDK signer's hash constructor, on node:crypto. */
export class Sha256 {
  constructor(secret) { this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256'); }
  update(d) { this.h.update(typeof d === 'string' ? Buffer.from(d) : d); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

/** A raw HTTP/1.1 POST of body (Buffer) signed by the SDK's SignatureV4 as id; signingDate
 * moves the signature's clock. Resolves {status, headers, body}. */
export async function signHeaders(port, id, target, body, { contentType = 'application/x-amz-json-1.1', signingDate, secret, token } = {}) {
  const signer = new SignatureV4({
    service: 'kinesis', region: REGION, sha256: Sha256,
    credentials: { accessKeyId: id.access_key_id, secretAccessKey: secret ?? id.secret_access_key,
      ...(token ?? id.session_token ? { sessionToken: token ?? id.session_token } : {}) },
  });
  const req = { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', query: {},
    headers: { host: `127.0.0.1:${port}`, 'content-type': contentType, 'x-amz-target': `Kinesis_20131202.${target}`,
      'content-length': String(body.length) }, body };
  const signed = await signer.sign(req, signingDate ? { signingDate } : {});
  return signed.headers;
}

export async function signedRequest(port, id, target, body, opts = {}) {
  const headers = await signHeaders(port, id, target, body, opts);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** The same over an open HTTP/2 session (node:http2 ClientHttp2Session): host goes as :authority. */
export async function signedH2Request(session, port, id, target, body, opts = {}) {
  const headers = await signHeaders(port, id, target, body, opts);
  delete headers.host;
  return new Promise((resolve, reject) => {
    const st = session.request({ ':method': 'POST', ':path': '/', ':authority': `127.0.0.1:${port}`, ...headers });
    const chunks = [];
    let status = 0;
    st.on('response', (h) => { status = h[':status']; });
    st.on('data', (d) => chunks.push(d));
    st.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
    st.on('error', reject);
    st.end(body);
  });
}
