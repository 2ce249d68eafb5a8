#!/usr/bin/env node
// `npm run web`: serves the built demo page (dist/web) on localhost. Any static server works as well;
// this one only exists so the demo needs nothing beyond Node. Usage: serve-web.mjs [--port 8080] [--dir dist/web]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const root = resolve(arg('--dir', 'dist/web'));
const port = Number(arg('--port', process.env.PORT ?? 8080));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
  '.png': 'image/png',
};

try {
  await stat(root);
} catch {
  console.error(`serve-web: ${root} not found (run "npm run build" first)`);
  process.exit(1);
}

const server = createServer(async (request, response) => {
  const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
  if (file !== root && !file.startsWith(root + sep)) {
    response.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    response.end(body);
  } catch {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
  }
});
server.on('error', (err) => {
  console.error(`serve-web: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  console.log(`resnet-stability demo: http://localhost:${actual}/ (Ctrl-C stops)`);
});
