/** `spectrum`: a unit's full singular spectrum against PyTorch (autograd Jacobian + LAPACK), end to end. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './support/cli.js';
import { readReferenceF64 } from './support/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-spectrum-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function readF64(path: string): Float64Array {
  const bytes = readFileSync(path);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

for (const [precision, tolerance] of [['f64', 1e-9], ['f32', 1e-4]] as const) {
  test(`unit 19 of resnet56 at image 0, ${precision}: all 4096 singular values within ${tolerance} * s_max of PyTorch float64`, async () => {
    const reference = readReferenceF64('resnet56_sv_img0_unit19.f64');
    const file = join(tmp, `unit19-${precision}.f64`);
    const result = await runCli(['spectrum', '--model', 'resnet56', '--image', '0', '--unit', '3.2', '--precision', precision, '--values-out', file, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.model, 'resnet56');
    assert.equal(out.image, 0);
    assert.equal(out.unit, 19);
    assert.deepEqual(out.shape, [4096, 4096]);
    assert.equal(out.alpha, 1);
    assert.equal(out.beta, 1);
    const values = readF64(file);
    assert.equal(values.length, reference.length);
    const smax = reference[0];
    let worst = 0;
    values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference[i]))));
    assert.ok(worst <= tolerance * smax, `max |s - s_ref| = ${worst} (s_max ${smax})`);
    assert.ok(Math.abs(out.smax - smax) <= tolerance * smax);
    // The summary fractions, counted on the reference values themselves.
    const one = reference.filter((s) => Math.abs(s - 1) < 1e-6).length / reference.length;
    const zero = reference.filter((s) => s < 1e-10).length / reference.length;
    if (precision === 'f64') {
      assert.equal(out.fractionOne, one);
      assert.equal(out.fractionZero, zero);
    }
  });
}

test('with beta = 0 the unit is J = D_out * alpha: every singular value is alpha or zero', async () => {
  // J = D_out (alpha S + B2 (0 W2) D_mid B1 (0 W1)) = alpha D_out for a stride-1 unit: a diagonal 0/alpha matrix.
  const result = await runCli(['spectrum', '--model', 'resnet56', '--image', '3', '--unit', '26', '--alpha', '0.5', '--beta', '0', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.alpha, 0.5);
  assert.equal(out.beta, 0);
  assert.equal(out.smax, 0.5);
  assert.ok(out.fractionOne > 0.3, `fraction at alpha ${out.fractionOne}`);
  assert.equal(out.fractionOne + out.fractionZero, 1);
});

test('bad unit, bad image, bad alpha: one-line errors, no values file', async () => {
  const file = join(tmp, 'never.f64');
  for (const [args, pattern] of [
    [['--unit', '27'], /unit 27 is out of range/],
    [['--unit', '3.10'], /unit 3\.10 is out of range/],
    [['--unit', '0', '--image', '10000'], /--image.*10000/],
    [['--unit', '0', '--alpha', 'x'], /--alpha must be a number/],
  ] as [string[], RegExp][]) {
    const result = await runCli(['spectrum', '--model', 'resnet56', '--values-out', file, ...args]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, pattern);
  }
  assert.equal(existsSync(file), false);
});

test('topk, count and density agree with the PyTorch spectrum of a stage-1 unit within their stated tolerances', async () => {
  const reference = readReferenceF64('resnet56_sv_img0_unit0.f64');
  const run = async (...args: string[]) => {
    const result = await runCli(['spectrum', '--model', 'resnet56', '--image', '0', '--unit', '1.1', '--json', ...args]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout).results[0];
  };
  const top = await run('--method', 'topk', '--k', '20');
  assert.equal(top.values.length, 20);
  top.values.forEach((v: number, i: number) => assert.ok(Math.abs(v - reference[i]) <= 1e-9 * reference[0], `rank ${i}: ${v} vs ${reference[i]}`));

  const edges = [0, 0.5, 1, 1.5, 2, 3, 5];
  const density = await run('--method', 'density', '--bins', edges.join(','));
  for (let b = 0; b < edges.length - 1; b++) {
    const exact = reference.filter((s) => s >= edges[b] && s < edges[b + 1]).length;
    assert.ok(Math.abs(density.density.counts[b] - exact) <= density.density.error[b], `bin ${b}: ${density.density.counts[b]} +- ${density.density.error[b]} vs ${exact}`);
  }
});

test('count gives the exact number of singular values in an interval (unit 3.2)', async () => {
  const reference = readReferenceF64('resnet56_sv_img0_unit19.f64');
  for (const [lo, hi] of [[0.9, 1.1], [1 - 1e-3, 1 + 1e-3], [1.5, 10]]) {
    const result = await runCli(['spectrum', '--model', 'resnet56', '--image', '0', '--unit', '19', '--method', 'count', '--interval', `${lo},${hi}`, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const { count } = JSON.parse(result.stdout).results[0];
    assert.equal(count.count, reference.filter((s) => s >= lo && s < hi).length, `[${lo}, ${hi})`);
  }
});

test('several images: per-rank variation of the sorted spectra across images', async () => {
  const result = await runCli(['spectrum', '--model', 'resnet56', '--images', '0-2', '--unit', '26', '--method', 'topk', '--k', '10', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.results.length, 3);
  const [v] = out.variation;
  assert.equal(v.unit, 26);
  assert.equal(v.ranks, 10);
  // The standard deviation at each rank, recomputed here from the reported values.
  let max = 0;
  for (let r = 0; r < 10; r++) {
    const xs = out.results.map((row: { values: number[] }) => row.values[r]);
    const mean = xs.reduce((a: number, b: number) => a + b, 0) / 3;
    max = Math.max(max, Math.sqrt(xs.reduce((a: number, x: number) => a + (x - mean) ** 2, 0) / 2));
  }
  assert.ok(Math.abs(v.maxStd - max) <= 1e-12 * Math.max(1, max));
});
