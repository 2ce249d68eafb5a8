#!/usr/bin/env node
// `npm run web`: serves the built demo page (dist/web) on localhost. Any static server works as well;
// this one only exists so the demo needs nothing beyond Node. Usage: serve-web.mjs [--port 8080] [--dir dist/web]
//
// Every request is hostile: a path that does not decode is a 400, a path that leaves the served folder
// (by `..`, an encoded separator or a symbolic link) a 403, and only regular files are read (a FIFO or
// device would block or never end). Only GET and HEAD are answered.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
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
  '.md': 'text/plain; charset=utf-8',
};

let root;
try {
  root = await realpath(resolve(arg('--dir', 'dist/web')));
  if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
} catch {
  console.error(`serve-web: ${resolve(arg('--dir', 'dist/web'))} is not a directory (run "npm run build" first)`);
  process.exit(1);
}

const inside = (path) => path === root || path.startsWith(root + sep);

/** The regular file inside `root` that `urlPath` names, or an HTTP status saying why there is none. */
async function locate(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return 400;
  }
  if (path.includes('\0') || path.includes('\\')) return 400;
  const requested = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
  if (!inside(requested)) return 403;
  let real;
  try {
    real = await realpath(requested);
  } catch {
    return 404;
  }
  if (!inside(real)) return 403;
  const info = await stat(real).catch(() => undefined);
  if (!info) return 404;
  return info.isFile() ? { file: real, size: info.size } : 404;
}

function plain(response, status, text) {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
}

const server = createServer(async (request, response) => {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    plain(response, 405, 'only GET and HEAD');
    return;
  }
  let pathname;
  try {
    pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
  } catch {
    plain(response, 400, 'bad request URL');
    return;
  }
  const found = await locate(pathname);
  if (typeof found === 'number') {
    plain(response, found, { 400: 'bad path', 403: 'outside the served folder', 404: `not found: ${pathname}` }[found]);
    return;
  }
  response.writeHead(200, {
    'content-type': TYPES[extname(found.file)] ?? 'application/octet-stream',
    'content-length': found.size,
    'cache-control': 'no-cache',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(found.file)
    .on('error', () => response.destroy())
    .pipe(response);
});
server.on('clientError', (_err, socket) => socket.destroy());
server.on('error', (err) => {
  console.error(`serve-web: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  console.log(`resnet-stability demo: http://localhost:${actual}/ (Ctrl-C stops)`);
});
