// An app for the conformance matrix (tests/conformance), on Node's http or on express.
//
//   node app.mjs http|express [IDLE_SECONDS]
//
// Listens on 127.0.0.1, port 0, and prints "listening on http://127.0.0.1:PORT" on
// stderr. Answers POST /<kind> as tests/conformance/kinds.py describes, after writing
// one JSON line per request to stdout: {server, kind, sha256, size, expect, signature}.
// IDLE_SECONDS (default: 300) is how long an idle kept-alive connection stays open.
import http from 'node:http';
import { createHash } from 'node:crypto';

const [mode = 'http', idleArg = '0'] = process.argv.slice(2);
const idle = Number(idleArg) || 300;
const name = mode === 'express' ? 'express' : 'node';
const SLOW = 300;
const TIMEOUT_SLEEP = 2000;
const LYING_LENGTH = 100;
const LYING_BODY = Buffer.from('{"part":1}'); // 10 bytes

function answerBody(kind) {
  return Buffer.from(JSON.stringify({ server: name, kind }));
}

function record(req, body, kind) {
  const line = {
    server: name,
    kind,
    sha256: createHash('sha256').update(body).digest('hex'),
    size: body.length,
    expect: req.headers['expect'] ?? null,
    signature: req.headers['mux-signature'] ?? null,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function answer(req, res, body) {
  const kind = (req.url.split('?')[0].replace(/^\/+|\/+$/g, '')) || 'length';
  record(req, body, kind);
  const text = answerBody(kind);
  const json = { 'content-type': 'application/json' };
  switch (kind) {
    case 'chunked': {
      res.writeHead(200, json);
      const middle = Math.floor(text.length / 2);
      res.write(text.subarray(0, middle));
      res.end(text.subarray(middle));
      return;
    }
    case 'close':
      // No length and no chunks: Node says Connection: close and ends the body by closing.
      res.useChunkedEncodingByDefault = false;
      res.writeHead(200, json);
      res.end(text);
      return;
    case 'nocontent':
      res.writeHead(204);
      res.end();
      return;
    case 'interim':
      res.writeContinue();
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      break;
    case 'reset':
      req.socket.resetAndDestroy();
      return;
    case 'lying':
      res.writeHead(200, { ...json, 'content-length': LYING_LENGTH });
      res.write(LYING_BODY, () => res.socket.end());
      return;
    case 'slow':
      await sleep(SLOW);
      break;
    case 'timeout':
      await sleep(TIMEOUT_SLEEP);
      break;
    default:
      break;
  }
  res.writeHead(kind === 'error' ? 500 : 200, { ...json, 'content-length': text.length });
  res.end(text);
}

let server;
if (mode === 'express') {
  const { default: express } = await import('express');
  const app = express();
  app.use(express.raw({ type: () => true, limit: '10mb' }));
  app.post('/:kind', (req, res) => {
    answer(req, res, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
  });
  server = http.createServer(app);
} else {
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => answer(req, res, Buffer.concat(chunks)));
  });
}
server.keepAliveTimeout = idle * 1000;
server.headersTimeout = Math.max(server.headersTimeout, idle * 1000 + 1000);
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
