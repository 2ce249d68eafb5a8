/** Bad usage exits 2, in the same one-line form as every other failure, and writes nothing. */
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSeed } from '../../src/cli/inputs.js';
import { parseShard } from '../../src/study/jobs.js';
import { UsageError } from '../../src/util/errors.js';
import assert from 'node:assert/strict';
import { cliFails, tempDir } from './support.js';

test('parseShard refuses k > N as a usage error', () => {
  assert.throws(() => parseShard('3/2'), (e: unknown) => e instanceof UsageError && e.message === '--shard must be k/N with 1 <= k <= N, got "3/2"');
});

test('CLI: --shard 3/2 and --k 100000 exit 2 with one line', async () => {
  const root = tempDir();
  const out = join(root, 'out');
  await cliFails(['spectrum', '--model', 'resnet56', '--images', '0', '--unit', '26', '--shard', '3/2', '--out', out], 2, /^resnet-stability: --shard must be k\/N with 1 <= k <= N, got "3\/2"$/, { unchanged: root });
  await cliFails(['spectrum', '--model', 'resnet56', '--images', '0', '--unit', '26', '--method', 'topk', '--k', '100000', '--quiet'], 2, /^resnet-stability: k must be an integer in 1\.\.4096, got 100000$/, { unchanged: root });
});

test('CLI: required options are reported one way, by commander and by the commands alike', async () => {
  await cliFails(['spectrum', '--images', '0'], 2, /^resnet-stability: required option '--model <model>' not specified$/);
  await cliFails(['spectrum', '--model', 'resnet56', '--images', '0'], 2, /^resnet-stability: required option '--unit <u>' not specified$/);
  await cliFails(['no-such-command'], 2, /^resnet-stability: unknown command 'no-such-command'$/);
});

test('CLI: perturbation options out of range exit 2', async () => {
  const propagate = ['propagate', '--model', 'resnet56', '--images', '0', '--quiet'];
  await cliFails([...propagate, '--attack', 'fgsm', '--eps', '-0.1'], 2, /^resnet-stability: eps must be a finite number >= 0, got -0\.1$/);
  await cliFails([...propagate, '--attack', 'pgd', '--eps', '0.1', '--step-size', '1e300'], 2, /^resnet-stability: step size must be in 0\.\.1000, got 1e\+300$/);
});

test('parseSeed: integers 0..2^32-1, anything else a usage error naming the option', () => {
  assert.equal(parseSeed('0'), 0);
  assert.equal(parseSeed('4294967295'), 4294967295);
  for (const bad of ['1.5', '-1', '4294967296', 'abc', '', '1e3', '0x10']) {
    assert.throws(() => parseSeed(bad), (e: unknown) => e instanceof UsageError && e.message === `--seed must be an integer 0..4294967295, got "${bad}"`);
  }
});

test('CLI: every command with --seed refuses the same bad seeds the same way, exit 2', async () => {
  const root = tempDir();
  const message = (seed: string) => new RegExp(`^resnet-stability: --seed must be an integer 0\\.\\.4294967295, got "${seed.replace('.', '\\.')}"$`);
  await cliFails(['propagate', '--model', 'resnet56', '--images', '0', '--attack', 'gaussian', '--eps', '0.01', '--seed', '1.5', '--quiet'], 2, message('1.5'), { unchanged: root });
  await cliFails(['project', '--model', 'resnet56', '--images', '0', '--eps', '0.01', '--seed', '-1', '--quiet'], 2, message('-1'), { unchanged: root });
  await cliFails(['report', '--model', 'resnet56', '--preset', 'test', '--seed', '4294967296', '--out', join(root, 'r')], 2, message('4294967296'), { unchanged: root });
});

test('CLI: stage --bins takes the same checked edge list as spectrum --bins', async () => {
  const root = tempDir();
  const stage = ['stage', '--model', 'resnet56', '--image', '0', '--stage', '1', '--method', 'density', '--quiet'];
  await cliFails([...stage, '--bins', '0,,1'], 2, /^resnet-stability: --bins must be a number, got ""$/, { unchanged: root });
  await cliFails([...stage, '--bins', '0,abc'], 2, /^resnet-stability: --bins must be a number, got "abc"$/, { unchanged: root });
  await cliFails([...stage, '--bins', '1,0.5'], 2, /^resnet-stability: --bins must be at least two strictly increasing edges$/, { unchanged: root });
});
