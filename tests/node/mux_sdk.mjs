// Batch judge for tests/test_mux_sdk.py: runs the official Mux Node SDK
// (@mux/mux-node, pinned in package.json) over cases read as JSON lines on stdin
// and writes one JSON line per case to stdout, in order.
//
//   {"op":"verify","body_b64":"...","header":"t=..,v1=..","secret":"...","now":1565125718}
//     -> {"ok":true,"signature_ok":true,"type":...,"id":...}
//     |  {"ok":false,"signature_ok":false,"error":"<SDK message>","error_name":"Error"}
//     |  {"ok":false,"signature_ok":true,"error":"...","error_name":"SyntaxError"}
//        (the signature verified but unwrap's JSON.parse threw: the body is not JSON)
//   {"op":"sign","body_b64":"...","secret":"...","t":"1565125718"}
//     -> {"header":"t=..,v1=.."}   (computed with node:crypto, NOT with the SDK)
//
// "verify" calls the real `client.webhooks.unwrap` (async since v14) with
// Date.now faked to now*1000 for that call ("now" omitted: the real clock).
// Bodies travel as base64 of the raw bytes and are decoded as strict UTF-8, BOM
// kept, because the SDK wants the raw body as a string. An optional "key" field
// is echoed back. A malformed request gets {"harness_error":"..."}.
//
// Exit 2, with a message on stderr, when the SDK cannot be imported.
// Install it with: npm ci --prefix tests/node

import { createHmac } from 'node:crypto';
import { createInterface } from 'node:readline';

let Mux;
try {
  ({ default: Mux } = await import('@mux/mux-node'));
} catch (err) {
  process.stderr.write(
    `mux_sdk.mjs: cannot import @mux/mux-node (${err && err.message}).\n` +
      'Install it with: npm ci --prefix tests/node\n',
  );
  process.exit(2);
}

const client = new Mux({ tokenId: 'unused', tokenSecret: 'unused' });
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const realNow = Date.now;

function decodeBody(b64) {
  if (typeof b64 !== 'string') throw new TypeError('body_b64 must be a string');
  return utf8.decode(Buffer.from(b64, 'base64'));
}

async function verify(req) {
  const body = decodeBody(req.body_b64);
  const headers = { 'mux-signature': req.header };
  const secret = req.secret;
  const fake = typeof req.now === 'number' ? () => Math.round(req.now * 1000) : realNow;
  Date.now = fake;
  try {
    const event = await client.webhooks.unwrap(body, headers, secret);
    return { ok: true, signature_ok: true, type: event?.type ?? null, id: event?.id ?? null };
  } catch (err) {
    const out = { ok: false, signature_ok: false, error: String(err?.message ?? err), error_name: err?.name ?? null };
    if (err instanceof SyntaxError) {
      // unwrap = verifySignature + JSON.parse; confirm the signature half passed.
      try {
        await client.webhooks.verifySignature(body, headers, secret);
        out.signature_ok = true;
      } catch {
        // leave signature_ok false
      }
    }
    return out;
  } finally {
    Date.now = realNow;
  }
}

function sign(req) {
  const body = decodeBody(req.body_b64);
  const t = String(req.t);
  const v1 = createHmac('sha256', req.secret).update(`${t}.` + body).digest('hex');
  return { header: `t=${t},v1=${v1}` };
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    return { harness_error: `bad JSON request: ${err.message}` };
  }
  let out;
  try {
    if (req.op === 'verify') out = await verify(req);
    else if (req.op === 'sign') out = sign(req);
    else out = { harness_error: `unknown op ${JSON.stringify(req.op)}` };
  } catch (err) {
    out = { harness_error: `${req.op}: ${err?.message ?? err}` };
  }
  if (req && 'key' in req) out.key = req.key;
  return out;
}

// One case at a time, in order: Date.now is global, so calls must not overlap.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === '') continue;
  process.stdout.write(JSON.stringify(await handle(line)) + '\n');
}
