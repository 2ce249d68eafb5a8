/**
 * The package as users get it: what `npm pack` ships, the `exports` map, an ESM and a CommonJS consumer,
 * and the README's library snippets run as pasted (against the built dist/, from a consumer project).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './support/shared.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'rs-package-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** A consumer project in `tmp/<name>` whose node_modules/resnet-stability is this repository. */
function consumer(name: string, type: 'module' | 'commonjs'): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type }));
  symlinkSync(repoRoot, join(dir, 'node_modules', 'resnet-stability'), 'dir');
  return dir;
}

function runNode(dir: string, file: string, env: Record<string, string | undefined> = {}) {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  return spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', env: childEnv as NodeJS.ProcessEnv, timeout: 600_000 });
}

test('npm pack holds what users run: no source maps, build metadata, debug WASM or second copy of the models', () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const [packed] = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' }));
  const files: string[] = packed.files.map((f: { path: string }) => f.path);
  for (const unwanted of [/\.map$/, /^build\/meta-/, /debug\.wasm$/, /^dist\/web\//, /^test\//, /^src\//, /^assembly\//]) {
    assert.deepEqual(files.filter((f) => unwanted.test(f)), [], `${unwanted} in the tarball`);
  }
  for (const wanted of [
    'LICENSE', 'README.md', 'package.json', 'dist/node/cli.js', 'dist/node/index.js', 'dist/node/worker.js', 'dist/browser/index.js',
    'dist/edge/index.js', 'dist/types/index.d.ts', 'dist/types/edge.d.ts', 'build/resnet-stability.wasm', 'build/resnet-stability.threads.wasm',
    'build/tfjs-gradients.js', 'models/resnet56/weights.bin', 'models/resnet110/model.json', 'data/cifar10-sample/test_batch_1000.bin',
  ]) {
    assert.ok(files.includes(wanted), `${wanted} missing from the tarball`);
  }
  assert.equal(files.filter((f) => f.endsWith('weights.bin')).length, 2, 'each shipped model once');
});

test('every exports condition names its own types; edge conditions get the edge API', () => {
  const edgeTypes = './dist/types/edge.d.ts';
  const root = pkg.exports['.'];
  assert.deepEqual(root.node, { types: './dist/types/index.d.ts', default: './dist/node/index.js' });
  assert.deepEqual(root.browser, { types: './dist/types/browser.d.ts', default: './dist/browser/index.js' });
  for (const condition of ['workerd', 'edge-light', 'deno', 'worker', 'default']) {
    assert.deepEqual(root[condition], { types: edgeTypes, default: './dist/edge/index.js' }, condition);
  }
  assert.deepEqual(pkg.exports['./edge'], { types: edgeTypes, default: './dist/edge/index.js' });
  assert.deepEqual(pkg.exports['./browser'], { types: './dist/types/browser.d.ts', default: './dist/browser/index.js' });
  for (const entry of [root.node, root.browser, root.default]) {
    const types = readFileSync(join(repoRoot, entry.types), 'utf8');
    assert.ok(types.length > 0, entry.types);
  }
  // The edge declarations export the edge API only (no file-system loaders).
  assert.match(readFileSync(join(repoRoot, edgeTypes), 'utf8'), /createSpectrumHandler/);
  assert.doesNotMatch(readFileSync(join(repoRoot, edgeTypes), 'utf8'), /loadCifar\b/);
});

test('an ESM consumer imports the package by name', () => {
  const dir = consumer('esm', 'module');
  writeFileSync(join(dir, 'main.js'), "import { loadModel, PACKAGE_VERSION } from 'resnet-stability';\nconsole.log(typeof loadModel, PACKAGE_VERSION);\n");
  const run = runNode(dir, 'main.js');
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), `function ${pkg.version}`);
});

test('a CommonJS consumer requires the package by name (require(esm): Node >= 20.19 or >= 22.12)', (t) => {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if ((major === 20 && minor < 19) || (major === 22 && minor < 12) || major === 21) {
    t.skip(`Node ${process.versions.node} has no require(esm) by default`);
    return;
  }
  const dir = consumer('cjs', 'commonjs');
  writeFileSync(join(dir, 'main.js'), "const rs = require('resnet-stability');\nconsole.log(typeof rs.loadModel, typeof rs.svdValues, rs.PACKAGE_VERSION);\n");
  const run = runNode(dir, 'main.js');
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), `function function ${pkg.version}`);
  assert.doesNotMatch(run.stderr, /ExperimentalWarning|Error/);
});

test("the README's library snippets run as pasted", () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const library = readme.slice(readme.indexOf('## Library'), readme.indexOf('## In the browser'));
  const snippets = [...library.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(snippets.length, 2, 'the Library section has its two snippets');
  const dir = consumer('readme', 'module');
  // Both snippets in one module (the second uses the first's model and image), then what they computed.
  const check = 'console.log(JSON.stringify({ logits: logits.length, units: trajectory.units.length, m, n, Jv: Jv.length, JTu: JTu.length, s: s.length, smax: s[0] }));';
  writeFileSync(join(dir, 'main.js'), `${snippets.join('\n')}\n${check}\n`);
  const run = runNode(dir, 'main.js', { RESNET_STABILITY_DATA: undefined, XDG_CACHE_HOME: join(tmp, 'no-cache') });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.logits, 10);
  assert.equal(out.units, 27);
  assert.deepEqual([out.m, out.n, out.Jv, out.JTu], [4096, 4096, 4096, 4096]);
  assert.ok(out.s > 0 && out.s <= 4096 && out.smax > 0, JSON.stringify(out));
});
