/**
 * The edge handler against hostile requests: bodies too large by Content-Length or streamed without
 * end, and concurrent requests that would together pass the isolate's memory limit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { readCifarBatch } from '../../src/data/cifar.js';

const bundle = new URL('../../dist/edge/index.js', import.meta.url);
const modelsDir = new URL('../../models/', import.meta.url);
let models = '';
let handler: { fetch(request: Request): Promise<Response> };
let close = (): void => undefined;
after(() => close());

before(async () => {
  // The shipped models over http, as an edge runtime would fetch them.
  const server = createServer((req, res) => {
    try {
      res.end(readFileSync(new URL(`.${new URL(req.url!, 'http://x').pathname}`, modelsDir)));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () => server.close();
  models = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const { createSpectrumHandler } = await import(bundle.href);
  handler = createSpectrumHandler({ models, maxQueued: 2 });
});

/** A CIFAR-10 image as the 3073-byte record the handler accepts. */
function cifarRecord(): Uint8Array<ArrayBuffer> {
  const data = process.env.RESNET_STABILITY_DATA;
  if (data) {
    const bytes = readFileSync(data.endsWith('.bin') ? data : `${data}/test_batch.bin`).subarray(0, 3073);
    readCifarBatch(bytes, 'record');
    return new Uint8Array(bytes);
  }
  return Uint8Array.from({ length: 3073 }, (_, i) => (i * 37) % 256).fill(3, 0, 1);
}

/** A body that streams zeros until it has sent `total` bytes, counting what was pulled. */
function endlessBody(total: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const chunk = new Uint8Array(65536);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) controller.close();
      else {
        sent += chunk.length;
        controller.enqueue(chunk);
      }
    },
  });
  return { stream, pulled: () => sent };
}

test('a Content-Length of 2 GB is refused with 413 before the body is read', async () => {
  const { stream, pulled } = endlessBody(2 ** 31);
  const start = performance.now();
  const response = await handler.fetch(
    new Request('http://edge/?unit=3.1&k=5', { method: 'POST', body: stream, headers: { 'content-length': String(2 ** 31) }, duplex: 'half' } as RequestInit),
  );
  assert.equal(response.status, 413);
  assert.deepEqual(await response.json(), { error: 'request body: Content-Length 2147483648, more than the 1048576 bytes accepted' });
  assert.ok(pulled() <= 2 * 65536, `pulled ${pulled()} bytes`);
  assert.ok(performance.now() - start < 2000);
});

test('a body streamed without Content-Length is cut at the limit', async () => {
  const { stream, pulled } = endlessBody(2 ** 31);
  const start = performance.now();
  const response = await handler.fetch(new Request('http://edge/?unit=3.1&k=5', { method: 'POST', body: stream, duplex: 'half' } as RequestInit));
  assert.equal(response.status, 413);
  assert.deepEqual(await response.json(), { error: 'request body: more than 1048576 bytes streamed, more than the 1048576 bytes accepted' });
  assert.ok(pulled() < 4 * 2 ** 20, `pulled ${pulled()} bytes`);
  assert.ok(performance.now() - start < 2000);
});

test('concurrent stage-1 top-20 requests are computed one at a time, inside 64 MiB; beyond the queue, 503', async () => {
  const body = cifarRecord();
  const post = (): Promise<Response> => handler.fetch(new Request('http://edge/?model=resnet56&unit=1.1&k=20', { method: 'POST', body }));
  const responses = await Promise.all([post(), post(), post(), post()]);
  const statuses = responses.map((r) => r.status);
  // One computing, two queued (maxQueued: 2), the fourth turned away.
  assert.deepEqual(statuses, [200, 200, 200, 503]);
  assert.equal(responses[3]!.headers.get('retry-after'), '1');
  assert.match((await responses[3]!.json()).error, /^busy: /);
  for (const r of responses.slice(0, 3)) {
    const result = await r.json();
    assert.equal(result.values.length, 20);
    assert.ok(result.wasmMemoryBytes <= 64 * 2 ** 20, `${result.wasmMemoryBytes} bytes of WebAssembly memory`);
  }
});

test('alpha=1e308 gets 400 with a message, not 200 with null values', async () => {
  const response = await handler.fetch(new Request('http://edge/?model=resnet56&unit=3.9&k=2&alpha=1e308', { method: 'POST', body: cifarRecord() }));
  assert.equal(response.status, 400);
  assert.match((await response.json()).error, /^alpha must be within -1000000\.\.1000000 \(larger scales overflow the arithmetic\), got 1e\+308$/);
});
