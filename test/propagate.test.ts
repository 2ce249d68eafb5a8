/** `propagate`: FGSM against the PyTorch float64 reference curve, determinism, and bad arguments. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './support/cli.js';
import { readReferenceJson } from './support/shared.js';

interface FgsmReference {
  image: number;
  label: number;
  eps: number;
  pred_clean: number;
  pred_adv: number;
  rel_after_stem_and_units: number[];
}

const reference = readReferenceJson<FgsmReference>('resnet56_fgsm_img0_eps0.00784314.json');
const tmp = mkdtempSync(join(tmpdir(), 'rs-propagate-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('FGSM on image 0 reproduces the PyTorch float64 relative perturbation after the stem and every unit (1e-3)', async () => {
  const result = await runCli(['propagate', '--model', 'resnet56', '--images', String(reference.image), '--attack', 'fgsm', '--eps', String(reference.eps), '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.model, 'resnet56');
  assert.equal(out.attack, 'fgsm');
  assert.equal(out.eps, reference.eps);
  const [r] = out.results;
  assert.equal(r.image, reference.image);
  assert.equal(r.label, reference.label);
  assert.equal(r.predClean, reference.pred_clean);
  assert.equal(r.predPerturbed, reference.pred_adv);
  assert.equal(r.relative.length, 28);
  r.relative.forEach((v: number, k: number) => {
    const want = reference.rel_after_stem_and_units[k];
    assert.ok(Math.abs(v - want) <= 1e-3 * want, `depth ${k}: ${v} vs ${want}`);
  });
  // The first-order prediction starts exactly where the stem is linear and grows with depth.
  assert.equal(r.firstOrder.length, 28);
  assert.ok(Math.abs(r.firstOrder[0] - r.relative[0]) <= 0.2 * r.relative[0], `stem: ${r.firstOrder[0]} vs ${r.relative[0]}`);
});

test('random perturbations are deterministic for a seed and independent of how images are grouped', async () => {
  const args = ['propagate', '--model', 'resnet56', '--attack', 'gaussian', '--eps', '0.01', '--seed', '7', '--no-first-order', '--json'];
  const all = JSON.parse((await runCli([...args, '--images', '3-5'])).stdout);
  const again = JSON.parse((await runCli([...args, '--images', '3-5'])).stdout);
  const single = JSON.parse((await runCli([...args, '--images', '4'])).stdout);
  assert.deepEqual(all, again);
  assert.deepEqual(single.results[0], all.results[1]);
  const otherSeed = JSON.parse((await runCli([...args.slice(0, -4), '--seed', '8', '--no-first-order', '--json', '--images', '4'])).stdout);
  assert.notDeepEqual(otherSeed.results[0].relative, single.results[0].relative);
});

test('--out writes complete JSON and CSV files', async () => {
  const out = join(tmp, 'run');
  const result = await runCli(['propagate', '--model', 'resnet56', '--images', '0-1', '--attack', 'sign', '--eps', '0.01', '--no-first-order', '--out', out, '--quiet']);
  assert.equal(result.code, 0, result.stderr);
  const json = JSON.parse(readFileSync(join(out, 'propagation.json'), 'utf8'));
  assert.equal(json.results.length, 2);
  const csv = readFileSync(join(out, 'propagation.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'image,depth,relative,firstOrder');
  assert.equal(csv.length, 1 + 2 * 28);
});

test('bad arguments are one-line errors with a non-zero exit and no output files', async () => {
  const out = join(tmp, 'never');
  for (const [args, pattern] of [
    [['--attack', 'fgsm', '--eps', '-0.1'], /eps must be a finite number >= 0, got -0\.1/],
    [['--attack', 'nope', '--eps', '0.1'], /argument 'nope' is invalid/],
    [['--attack', 'fgsm', '--eps', 'abc'], /--eps must be a number/],
    [['--attack', 'pgd', '--eps', '0.1', '--steps', '0'], /--steps must be a positive integer/],
    [['--attack', 'fgsm', '--eps', '0.1', '--data', join(tmp, 'missing.bin')], /missing\.bin: no such file or directory/],
    [['--attack', 'fgsm', '--eps', '0.1', '--images', '99999'], /--images.*99999/],
  ] as [string[], RegExp][]) {
    const result = await runCli(['propagate', '--model', 'resnet56', '--out', out, ...args]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, pattern);
  }
  assert.equal(existsSync(out), false);
});

test('one worker and two workers give identical propagation results', async () => {
  const args = ['propagate', '--model', 'resnet56', '--images', '0-29', '--attack', 'gaussian', '--eps', '0.01', '--no-first-order', '--json'];
  const one = await runCli([...args, '--workers', '1']);
  const two = await runCli([...args, '--workers', '2']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.stdout, one.stdout);
  assert.equal(JSON.parse(one.stdout).results.length, 30);
});
