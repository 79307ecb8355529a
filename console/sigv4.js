// sigv4.js: AWS Signature Version 4 for the console's POST / calls, with WebCrypto
// (HMAC-SHA256, SHA-256). The secret key stays in the page: only the signature is sent.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

const enc = new TextEncoder();

function hex(buf) {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(data) {
  return crypto.subtle.digest('SHA-256', typeof data === 'string' ? enc.encode(data) : data);
}

async function hmac(key, data) {
  const k = await crypto.subtle.importKey('raw', typeof key === 'string' ? enc.encode(key) : key,
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, enc.encode(data));
}

/** "20261203T125900Z" for a Date. */
export function amzDate(d) {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * The headers to add to a request so that it is signed.
 * req: {method, host, path, headers: {lower-case name: value}, body: Uint8Array}
 * cred: {accessKeyId, secretAccessKey, sessionToken?, region}; service: "kinesis".
 */
export async function sign(req, cred, service, now = new Date()) {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const headers = { ...req.headers, host: req.host, 'x-amz-date': date };
  if (cred.sessionToken) headers['x-amz-security-token'] = cred.sessionToken;
  const names = Object.keys(headers).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([n, v]) => [n.toLowerCase(), v]));
  const canonical = [
    req.method, req.path, '',
    ...names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, ' ')}`), '',
    names.join(';'),
    hex(await sha256(req.body)),
  ].join('\n');
  const scope = `${day}/${cred.region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, hex(await sha256(canonical))].join('\n');
  let key = await hmac(`AWS4${cred.secretAccessKey}`, day);
  for (const part of [cred.region, service, 'aws4_request']) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  const out = { 'x-amz-date': date,
    authorization: `AWS4-HMAC-SHA256 Credential=${cred.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
  if (cred.sessionToken) out['x-amz-security-token'] = cred.sessionToken;
  return out;
}
