/**
 * The sparse Gram route (src/spectrum/gram-route.ts, assembly/gram.ts) against PyTorch float64
 * singular values (autograd Jacobian + LAPACK svdvals) of ResNet-56 units at test image 0, and the
 * 'auto' route's fallback to the bidiagonal SVD when the Gram error estimate is too large.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { float64Trajectory, linearizeUnit } from '../src/linearize/index.js';
import { loadModel } from '../src/model/load.js';
import { unitSingularValuesGram } from '../src/spectrum/gram-route.js';
import { unitSpectrum } from '../src/study/spectrum.js';
import { InputError } from '../src/util/errors.js';
import { cifarTestFile, readReferenceF64 } from './support/shared.js';

const model = await loadModel('resnet56');
const data = await loadCifar(cifarTestFile);
const pixels = imageToFloat(data, 0);
const point = await float64Trajectory(model, pixels);

for (const [unit, shape] of [[19, [4096, 4096]], [9, [8192, 16384]]] as const) {
  test(`unit ${unit} of resnet56 at image 0: all ${Math.min(...shape)} values within 1e-9 * s_max of PyTorch float64`, async () => {
    const reference = readReferenceF64(`resnet56_sv_img0_unit${unit}.f64`);
    const operator = await linearizeUnit(model, point, unit);
    try {
      assert.deepEqual(operator.shape, shape);
      const result = await unitSingularValuesGram(operator);
      assert.equal(result.values.length, reference.length);
      assert.equal(result.activeRows, operator.activeRows().length);
      const smax = reference[0];
      let worst = 0;
      result.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference[i]))));
      assert.ok(worst <= 1e-9 * smax, `max |s - s_ref| = ${worst} (s_max ${smax})`);
      // The estimate holds here, and it is an upper bound of the error actually made.
      assert.ok(result.withinAccuracy, `error estimate ${result.errorBound}`);
      assert.ok(result.errorBound <= 1e-9 * smax && result.errorBound >= worst, `estimate ${result.errorBound}, error ${worst}`);
      // The structural zeros are exact; every computed value is a positive one (the active block has
      // full row rank in these units).
      for (let i = result.activeRows; i < result.values.length; i++) assert.equal(result.values[i], 0);
      assert.ok(result.values[result.activeRows - 1] > 1e-3);
      for (let i = 1; i < result.values.length; i++) assert.ok(result.values[i] <= result.values[i - 1]);
    } finally {
      operator.dispose();
    }
  });
}

test("'auto' falls back to the bidiagonal SVD when the Gram estimate exceeds 1e-9 * s_max", async () => {
  // With alpha = 1e-7 the rows of unit 19 that the residual branch does not reach (769 values at 1
  // for alpha = 1) give singular values ~1e-7, where squaring loses everything below ~1e-6.
  const phases: string[] = [];
  const auto = await unitSpectrum(model, pixels, 19, { alpha: 1e-7, onPhase: (p) => phases.push(p) });
  assert.ok(phases.some((p) => /bidiagonal SVD instead/.test(p)), phases.join('\n'));
  const bidiagonal = await unitSpectrum(model, pixels, 19, { alpha: 1e-7, route: 'bidiagonal' });
  assert.deepEqual(auto.values, bidiagonal.values);
  assert.ok(auto.values.some((s) => s > 0 && s < 1e-6));
});

test('the Gram route refuses operators it cannot use', async () => {
  const f32 = await linearizeUnit(model, point, 19, { precision: 'f32' });
  try {
    await assert.rejects(unitSingularValuesGram(f32 as never), InputError);
  } finally {
    f32.dispose();
  }
  const f64 = await linearizeUnit(model, point, 19);
  try {
    await assert.rejects(unitSingularValuesGram(f64, { accuracy: 0 }), InputError);
    await assert.rejects(unitSingularValuesGram(f64, { order: 'random' as never }), InputError);
    await assert.rejects(unitSingularValuesGram(f64, { precision: 'f16' as never }), /precision must be 'f64' or 'f32'/);
  } finally {
    f64.dispose();
  }
});

test('f32 Gram route, unit 19 of resnet56 at image 0: every value within its stated bound of PyTorch float64', async () => {
  const reference = readReferenceF64('resnet56_sv_img0_unit19.f64');
  const operator = await linearizeUnit(model, point, 19);
  try {
    const result = await unitSingularValuesGram(operator, { precision: 'f32', threads: 1 });
    const smax = reference[0];
    const n = result.activeRows;
    let worst = 0, worstTop = 0;
    result.values.forEach((v, i) => {
      const error = Math.abs(v - reference[i]);
      worst = Math.max(worst, error);
      if (reference[i] >= 0.1 * smax) worstTop = Math.max(worstTop, error);
    });
    // The stated accuracy: Delta / (2 s) per value, Delta = N eps_f32 s_max^2, never above sqrt(Delta).
    const delta = n * 2 ** -23 * smax * smax;
    assert.ok(result.errorBound <= Math.sqrt(delta) * 1.0001, `estimate ${result.errorBound}, sqrt(Delta) ${Math.sqrt(delta)}`);
    assert.ok(worst <= result.errorBound, `max |s - s_ref| = ${worst}, estimate ${result.errorBound} (s_max ${smax})`);
    assert.ok(worstTop <= delta / (2 * 0.1 * smax), `values >= 0.1 s_max: max error ${worstTop}`);
    // Not the f64 result: f32 arithmetic did run.
    assert.ok(worst > 1e-12 * smax, `max error ${worst}: f64 accuracy from an f32 reduction?`);
    assert.equal(result.withinAccuracy, false);
  } finally {
    operator.dispose();
  }
});

test("unitSpectrum with precision 'f32' and route 'gram' takes the f32 Gram route (operator in f64)", async () => {
  const reference = readReferenceF64('resnet56_sv_img0_unit19.f64');
  const result = await unitSpectrum(model, pixels, 19, { precision: 'f32', route: 'gram', threads: 1 });
  assert.equal(result.values.length, reference.length);
  let worst = 0;
  result.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference[i]))));
  // The f32 route's accuracy on this unit (BENCHMARKS.md: 1.9e-6 of s_max), not f64's.
  assert.ok(worst <= 1e-4 * reference[0] && worst > 1e-12 * reference[0], `max |s - s_ref| = ${worst}`);
});
