// A webhook receiver that verifies every request with the official @mux/mux-node SDK.
// Listens on 127.0.0.1, port 0; prints "listening <port>" once ready. Answers 200 with
// {"type","id"} when client.webhooks.unwrap accepts the raw body, 400 with the SDK's
// message otherwise. Optional: FAIL_TYPE=<event type> answers 500 for that type.
import http from 'node:http';
import Mux from '@mux/mux-node';

const secret = process.env.MUX_WEBHOOK_SECRET;
if (!secret) {
  console.error('receiver.mjs: set MUX_WEBHOOK_SECRET');
  process.exit(2);
}
const failType = process.env.FAIL_TYPE || '';
const client = new Mux({ tokenId: 'unused', tokenSecret: 'unused' });

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      const event = await client.webhooks.unwrap(body, req.headers, secret);
      const status = event.type === failType ? 500 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: event.type, id: event.id }));
    } catch (error) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(error && error.message ? error.message : error));
    }
  });
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
