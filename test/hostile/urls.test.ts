/**
 * Models by URL from hostile hosts on 127.0.0.1: a host that never answers, one that streams without
 * end or too slowly, one that declares too much, and a manifest naming weights at another origin.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { loadModel } from '../../src/model/load.js';
import { cliFails, rejectsInput, tempDir } from './support.js';

process.env.RESNET_STABILITY_FETCH_TIMEOUT = '1';
const shippedJson = readFileSync(new URL('../../models/resnet56/model.json', import.meta.url), 'utf8');

/** Start `server` on a free port of 127.0.0.1 and return its base URL; closed when the file ends. */
async function listen(server: Server | TcpServer): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}/`;
}

const http = (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => listen(createServer(handler));

test('a host that accepts the connection and never answers times out, naming the URL', async () => {
  const base = await listen(createTcpServer(() => undefined));
  await rejectsInput(() => loadModel(`${base}m/model.json`), /^cannot fetch model\.json from http:\/\/127\.0\.0\.1:\d+\/m\/model\.json: no response within 1 s$/);
});

test('a model.json streamed without end is cut at the manifest limit', async () => {
  const base = await http((_, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(65536, 0x20);
    const pump = (): void => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    pump();
  });
  // 16 MiB through fetch takes a second or two on a busy machine: this test is about the size limit.
  process.env.RESNET_STABILITY_FETCH_TIMEOUT = '30';
  try {
    await rejectsInput(() => loadModel(`${base}model.json`), /^cannot fetch model\.json from .*: more than the 16777216 bytes expected$/, 30000);
  } finally {
    process.env.RESNET_STABILITY_FETCH_TIMEOUT = '1';
  }
});

test('a body that trickles without end hits the total timeout', async () => {
  const base = await http((_, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(timer));
  });
  await rejectsInput(() => loadModel(`${base}model.json`), /^cannot fetch model\.json from .*: not complete within 1 s$/, 4000);
});

test('weights whose Content-Length exceeds what the manifest declares are refused before reading', async () => {
  let sent = 0;
  const base = await http((req, res) => {
    if (req.url === '/model.json') {
      res.end(shippedJson);
      return;
    }
    res.writeHead(200, { 'content-length': String(2 ** 40) });
    res.write(Buffer.alloc(1024));
    sent++;
  });
  await rejectsInput(() => loadModel(`${base}model.json`), /^cannot fetch model weights from .*weights\.bin: Content-Length 1099511627776 is more than the 3428328 bytes expected$/);
  assert.equal(sent, 1);
});

test('a manifest by URL naming weights at another origin is refused without fetching them', async () => {
  let requests = 0;
  const other = await http((_, res) => {
    requests++;
    res.end('');
  });
  const json = JSON.parse(shippedJson);
  json.weightsManifest[0].paths = [`${other}weights.bin`];
  const base = await http((_, res) => res.end(JSON.stringify(json)));
  await rejectsInput(() => loadModel(`${base}model.json`), /model\.json: weights http:\/\/127\.0\.0\.1:\d+\/weights\.bin are not at the manifest's origin http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(requests, 0);
});

test('a refused connection keeps its cause in the message', async () => {
  const server = createTcpServer();
  const base = await listen(server);
  server.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await rejectsInput(() => loadModel(`${base}x.th`), /^cannot fetch checkpoint from http:\/\/127\.0\.0\.1:\d+\/x\.th: fetch failed: .*ECONNREFUSED/);
});

test('CLI: a model host that never answers ends in one line, exit 1', async () => {
  const base = await listen(createTcpServer(() => undefined));
  await cliFails(['predict', '--model', `${base}model.json`, '--images', '0'], 1, /cannot fetch model\.json from http:\/\/127\.0\.0\.1:\d+\/model\.json: no response within 1 s/, {
    env: { RESNET_STABILITY_FETCH_TIMEOUT: '1' },
    unchanged: tempDir(),
  });
});
