// A sender for the conformance matrix (tests/conformance/senders.py): posts events
// one after another with Node's fetch (undici) or Node's http with a keep-alive agent.
//
//   node send.mjs fetch|http JOB.json
//
// JOB.json: {"url": "...", "events": [{"body_b64": "...", "headers": {...}}], "timeout_ms": N}
// Prints one JSON array: [{"status": N, "headers": {...}, "body_b64": "..."}] or, for a
// request that failed, {"error": "..."}.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [mode, jobPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobPath, 'utf8'));
const timeoutMs = job.timeout_ms ?? 15000;

async function withFetch(event) {
  const response = await fetch(job.url, {
    method: 'POST',
    headers: event.headers,
    body: Buffer.from(event.body_b64, 'base64'),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body_b64: body.toString('base64'),
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function withHttp(event) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(event.body_b64, 'base64');
    const request = http.request(
      job.url,
      {
        method: 'POST',
        agent,
        headers: { ...event.headers, 'content-length': body.length },
        timeout: timeoutMs,
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode,
            headers: response.headers,
            body_b64: Buffer.concat(chunks).toString('base64'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

const results = [];
for (const event of job.events) {
  try {
    results.push(await (mode === 'fetch' ? withFetch(event) : withHttp(event)));
  } catch (error) {
    results.push({ error: String(error?.message ?? error) });
  }
}
agent.destroy();
process.stdout.write(JSON.stringify(results) + '\n');
