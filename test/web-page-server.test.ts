/**
 * scripts/serve-web.mjs (`npm run web`) against hostile requests: a path that does not decode, paths
 * leaving the served folder (dot segments, encoded separators, a symbolic link), a FIFO and a directory
 * are answered with an error status and the server keeps serving.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serveStatic, type StaticServer } from './support/static-server.js';

let dir: string;
let server: StaticServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serve-web-'));
  mkdirSync(join(dir, 'site/sub'), { recursive: true });
  writeFileSync(join(dir, 'site/index.html'), '<p>home</p>');
  writeFileSync(join(dir, 'site/sub/a.json'), '{"a":1}');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  symlinkSync(join(dir, 'secret.txt'), join(dir, 'site/link.txt'));
  execFileSync('mkfifo', [join(dir, 'site/fifo.bin')]);
  server = await serveStatic(join(dir, 'site'));
});

after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** GET with the path sent exactly as written (fetch would normalize it). */
function get(path: string, method = 'GET'): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.url.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

test('regular files inside the folder are served with their type', async () => {
  assert.deepEqual(await get('/'), { status: 200, body: '<p>home</p>', type: 'text/html; charset=utf-8' });
  assert.equal((await get('/sub/a.json')).body, '{"a":1}');
  assert.equal((await get('/sub/%61.json')).body, '{"a":1}');
  const head = await get('/sub/a.json', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('a path that does not percent-decode is a 400, and the server keeps serving', async () => {
  assert.equal((await get('/%E0%A4%A')).status, 400);
  assert.equal((await get('/%')).status, 400);
  assert.equal((await get('/a%00b')).status, 400);
  assert.equal((await get('/')).status, 200);
});

test('paths leaving the folder are refused', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/..%5csecret.txt']) {
    const { status, body } = await get(path);
    assert.ok(status === 403 || status === 400 || status === 404, `${path}: ${status}`);
    assert.notEqual(body.trim(), 'secret', `${path}: the file outside was served`);
  }
  const link = await get('/link.txt');
  assert.equal(link.status, 403, 'a symbolic link to a file outside');
  assert.notEqual(link.body.trim(), 'secret');
});

test('only regular files: a FIFO and a directory are 404 at once, other methods 405', async () => {
  assert.equal((await get('/fifo.bin')).status, 404);
  assert.equal((await get('/sub')).status, 404);
  assert.equal((await get('/sub/a.json', 'POST')).status, 405);
  assert.equal((await get('/')).status, 200);
});
