/**
 * The shipped WASM module exports exactly what the typed seam declares (KernelExports, generated from
 * the AssemblyScript build into src/wasm/kernel-exports.generated.ts and re-exported by
 * src/wasm/kernels.ts), and src/ uses every one of them (scripts/kernel-usage.mjs, by the type
 * checker); kernels only tests need live in the testing build, whose extra exports are TestingExports.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoRoot } from './support/shared.js';

const generated = readFileSync(`${repoRoot}src/wasm/kernel-exports.generated.ts`, 'utf8');

/** Members of one generated interface: name -> 'function' | 'global' | 'memory'. */
function declared(name: string): Map<string, string> {
  const body = generated.match(new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`))?.[1];
  assert.ok(body !== undefined, `no interface ${name} in kernel-exports.generated.ts`);
  const members = new Map<string, string>();
  for (const [, property, type] of body.matchAll(/^ {2}readonly (\w+): ([\w.]+);/gm)) {
    members.set(property, type === 'WebAssembly.Memory' ? 'memory' : 'global');
  }
  for (const [, method] of body.matchAll(/^ {2}(\w+)\(/gm)) members.set(method, 'function');
  return members;
}

/** What a compiled binary exports: name -> kind. */
function exportsOf(file: string): Map<string, string> {
  const module = new WebAssembly.Module(readFileSync(`${repoRoot}build/${file}`));
  return new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
}

const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const union = (...maps: Map<string, string>[]) => new Map(maps.flatMap((m) => [...m]));

const kernelExports = declared('KernelExports');

test('build/resnet-stability.wasm (shipped) exports exactly KernelExports, kind by kind', () => {
  assert.ok(kernelExports.size > 50, `only ${kernelExports.size} declared`);
  assert.deepEqual(sorted(exportsOf('resnet-stability.wasm')), sorted(kernelExports));
});

test('the threads build exports KernelExports and ThreadPoolExports, the testing build KernelExports and TestingExports', () => {
  assert.deepEqual(sorted(exportsOf('resnet-stability.threads.wasm')), sorted(union(kernelExports, declared('ThreadPoolExports'))));
  const testing = declared('TestingExports');
  assert.ok(testing.has('maxPool2dGatherF64') && testing.has('operatorFromDenseF64'));
  for (const name of testing.keys()) assert.ok(!kernelExports.has(name), `${name} is in both`);
  assert.deepEqual(sorted(exportsOf('resnet-stability.testing.wasm')), sorted(union(kernelExports, testing)));
});

test('src/ uses every export of the shipped module (scripts/kernel-usage.mjs)', () => {
  const run = spawnSync(process.execPath, [`${repoRoot}scripts/kernel-usage.mjs`, '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const usage = JSON.parse(run.stdout) as { exports: string[]; used: Record<string, string>; unused: string[] };
  assert.deepEqual(usage.unused, [], 'exports src/ does not use: move them to assembly/testing.ts or drop them');
  assert.deepEqual([...usage.exports].sort(), [...kernelExports.keys()].sort());
  // The checker follows the typed families: svd.ts's typed(p).gebrd uses both twins.
  assert.match(usage.used.gebrdF32 ?? '', /^src\//);
});
