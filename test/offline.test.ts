/**
 * `--data cifar10` on a machine without network, end to end through the built CLI: one line on stderr
 * naming `--data` and the official URL of the file, exit 1, nothing written to the cache.
 *
 * No real network is used: a preloaded module points Node's own fetch at a local port nothing listens on
 * (one just freed; fetch refuses port 1 itself), so the download fails as it does offline, by a refused
 * connection, through the real code.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CIFAR_ARCHIVE_URL } from '../src/data/source.js';
import { runCli } from './support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-offline-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const offlineFetch = join(tmp, 'offline-fetch.mjs');
writeFileSync(
  offlineFetch,
  `const fetch = globalThis.fetch;\n` +
    `globalThis.fetch = (url, init) => fetch('http://127.0.0.1:' + process.env.OFFLINE_TEST_PORT + '/', init);\n`,
);

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

for (const args of [
  ['eval', '--model', 'resnet56', '--data', 'cifar10', '--limit', '10'],
  ['predict', '--model', 'resnet56', '--data', 'cifar10', '--json'],
]) {
  test(`${args.join(' ')} offline: one line naming --data and ${CIFAR_ARCHIVE_URL}, exit 1`, async () => {
    const cache = mkdtempSync(join(tmp, 'cache-'));
    const result = await runCli(args, {
      RESNET_STABILITY_DATA: undefined, // no test set given: the download is the only source of the full set
      XDG_CACHE_HOME: cache, // an empty cache
      OFFLINE_TEST_PORT: String(await closedPort()),
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(offlineFetch).href}`.trim(),
    });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    const [line] = lines;
    assert.match(line, /^resnet-stability: --data cifar10: cannot download CIFAR-10 \(fetch failed: .*ECONNREFUSED.*\): /);
    assert.ok(line.includes(`from ${CIFAR_ARCHIVE_URL} `), line);
    assert.ok(line.includes('pass --data <file or directory>'), line);
    assert.ok(line.includes(join(cache, 'resnet-stability', 'cifar10')), `names where to put the file: ${line}`);
    // Nothing half-written: the cache directory was never created.
    assert.equal(existsSync(join(cache, 'resnet-stability')), false, readdirSync(cache).join(', '));
  });
}
