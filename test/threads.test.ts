/**
 * The threaded kernels (src/wasm/threads.ts, assembly/parallel.ts): the band reduction split over two
 * threads on one shared memory gives bitwise the single-threaded result, the Gram route gives the same
 * singular values with 1 and 2 threads (and PyTorch's), and the helper threads never keep the process
 * alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { float64Trajectory, linearizeUnit } from '../src/linearize/index.js';
import { loadModel } from '../src/model/load.js';
import { GRAM_THREADS_MIN_ORDER, unitSingularValuesGram } from '../src/spectrum/gram-route.js';
import { loadKernels, type Kernels } from '../src/wasm/kernels.js';
import { defaultThreadCount, loadThreadedKernels } from '../src/wasm/threads.js';
import { cifarTestFile, readReferenceF64 } from './support/shared.js';
import { mulberry32 } from './support/random.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The lower triangle of a pseudo-random symmetric n x n matrix, written into `kernels`' memory. */
function randomSymmetric(kernels: Kernels, n: number, seed: number): number {
  const a = kernels.allocF64(n * n);
  const view = kernels.f64(a, n * n);
  const random = mulberry32(seed);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) view[i * n + j] = random() - 0.5;
  }
  return a;
}

test('the band reduction on 2 threads is bitwise the single-threaded one, and both threads work', async () => {
  const single = await loadKernels();
  const threaded = await loadThreadedKernels({ threads: 2 });
  assert.ok(threaded, 'threaded kernels unavailable');
  assert.equal(threaded.threads, 2);
  const start = threaded.blocksDone();
  // Ragged sizes: the last row blocks of both products are partial.
  for (const [n, b] of [[1201, 64], [2500, 64], [700, 32]] as const) {
    const before = threaded.blocksDone();
    const a1 = randomSymmetric(single, n, n);
    const a2 = randomSymmetric(threaded, n, n);
    try {
      single.exports.gramBandReduceF64(n, a1, n, b);
      threaded.exports.gramBandReduceF64(n, a2, n, b);
      const x = single.f64(a1, n * n);
      const y = threaded.f64(a2, n * n);
      for (let i = 0; i < n; i++) {
        for (let j = Math.max(0, i - b); j <= i; j++) {
          if (!Object.is(x[i * n + j], y[i * n + j])) assert.fail(`n = ${n}: B[${i}, ${j}] = ${y[i * n + j]} on 2 threads, ${x[i * n + j]} on 1`);
        }
      }
    } finally {
      single.release(a1);
      threaded.release(a2);
    }
    const after = threaded.blocksDone();
    assert.ok(after[0] + after[1] > before[0] + before[1], `no blocks computed (${before} -> ${after})`);
  }
  // Each thread takes blocks as it frees up, so on a busy machine one may take most of them; over
  // these three reductions (~1000 blocks) the helper takes some.
  const end = threaded.blocksDone();
  assert.ok(end[1] > start[1], `the helper thread took no block (${start} -> ${end})`);
});

/** Band reduction and chase of a random symmetric matrix in `kernels`: T's diagonal and off-diagonal (as f64). */
function tridiagonalOf(kernels: Kernels, n: number, b: number, seed: number, precision: 'f64' | 'f32'): Float64Array[] {
  const bytes = precision === 'f64' ? 8 : 4;
  const a = randomSymmetric(kernels, n, seed);
  const ldb = kernels.exports.gramBandStride(b);
  const band = kernels.allocBytes(bytes * n * ldb), d = kernels.allocBytes(bytes * n), e = kernels.allocBytes(bytes * n);
  try {
    if (precision === 'f32') {
      kernels.exports.gramLowerRoundF32(n, a, n);
      kernels.exports.gramBandReduceF32(n, a, n, b);
      kernels.exports.gramBandFromLowerF32(n, a, n, b, band, ldb);
      kernels.exports.gramBandToTridiagonalF32(n, b, band, ldb, d, e);
      return [Float64Array.from(kernels.f32(d, n)), Float64Array.from(kernels.f32(e, n - 1))];
    }
    kernels.exports.gramBandReduceF64(n, a, n, b);
    kernels.exports.gramBandFromLowerF64(n, a, n, b, band, ldb);
    kernels.exports.gramBandToTridiagonalF64(n, b, band, ldb, d, e);
    return [Float64Array.from(kernels.f64(d, n)), Float64Array.from(kernels.f64(e, n - 1))];
  } finally {
    for (const p of [a, band, d, e]) kernels.release(p);
  }
}

test('the bulge chase pipelined on 2 threads, and the f32 reduction, are bitwise the single-threaded ones', async () => {
  const single = await loadKernels();
  const threaded = await loadThreadedKernels({ threads: 2 });
  assert.ok(threaded, 'threaded kernels unavailable');
  // The first calls run in V8's baseline compiler, where a sleeping wait once broke the pipeline.
  for (const [n, b] of [[1201, 64], [1201, 64], [700, 32], [2051, 16]] as const) {
    for (const precision of ['f64', 'f32'] as const) {
      const x = tridiagonalOf(single, n, b, n + b, precision);
      const before = threaded.taskSeconds().tasks;
      const y = tridiagonalOf(threaded, n, b, n + b, precision);
      assert.ok(threaded.taskSeconds().tasks > before, 'no pool task ran');
      for (let q = 0; q < 2; q++) {
        x[q].forEach((v, i) => {
          if (!Object.is(v, y[q][i])) assert.fail(`${precision} n = ${n}, b = ${b}: ${q ? 'e' : 'd'}[${i}] = ${y[q][i]} on 2 threads, ${v} on 1`);
        });
      }
    }
  }
});

test('the f32 band reduction and chase: eigenvalues within n eps_f32 ||A|| of the f64 ones', async () => {
  const kernels = await loadKernels();
  const n = 900, b = 32;
  const eigenvalues = (t: Float64Array[]) => {
    const d = kernels.copyIn(t[0]), e = kernels.allocF64(n);
    kernels.f64(e, n - 1).set(t[1]);
    try {
      assert.equal(kernels.exports.sterfF64(n, d, e, 1), 0);
      return Float64Array.from(kernels.f64(d, n));
    } finally {
      kernels.release(d);
      kernels.release(e);
    }
  };
  const l64 = eigenvalues(tridiagonalOf(kernels, n, b, 11, 'f64'));
  const l32 = eigenvalues(tridiagonalOf(kernels, n, b, 11, 'f32'));
  const norm = Math.max(Math.abs(l64[0]), Math.abs(l64[n - 1]));
  let worst = 0;
  l64.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - l32[i]))));
  // Backward stable in f32: |lambda_32 - lambda_64| <= p(n) eps_f32 ||A||, p(n) = n the stated bound.
  assert.ok(worst <= n * 2 ** -23 * norm, `max |lambda_32 - lambda_64| = ${worst} (||A|| = ${norm})`);
  assert.ok(worst > 0, 'the f32 reduction gave bitwise the f64 eigenvalues: not run in f32?');
});

test('the Gram route gives the same values with 1 and 2 threads, within 1e-9 * s_max of PyTorch', async () => {
  const model = await loadModel('resnet56');
  const pixels = imageToFloat(await loadCifar(cifarTestFile), 0);
  const point = await float64Trajectory(model, pixels);
  const operator = await linearizeUnit(model, point, 19);
  try {
    const one = await unitSingularValuesGram(operator, { threads: 1 });
    const two = await unitSingularValuesGram(operator, { threads: 2 });
    assert.ok(one.activeRows >= GRAM_THREADS_MIN_ORDER, `unit 19 has ${one.activeRows} active rows`);
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    assert.equal(two.activeRows, one.activeRows);
    assert.equal(two.errorBound, one.errorBound);
    // Bitwise equal products make bitwise equal values; 1e-13 of s_max is the contract.
    const smax = one.values[0];
    let worst = 0;
    one.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - two.values[i]))));
    assert.ok(worst <= 1e-13 * smax, `max |s_1 - s_2| = ${worst}`);
    assert.deepEqual(two.values, one.values);
    const reference = readReferenceF64('resnet56_sv_img0_unit19.f64');
    let error = 0;
    two.values.forEach((v, i) => (error = Math.max(error, Math.abs(v - reference[i]))));
    assert.ok(error <= 1e-9 * reference[0], `max |s - s_ref| = ${error}`);
  } finally {
    operator.dispose();
  }
});

test('RESNET_STABILITY_THREADS sets the default thread count; bad values are refused', async () => {
  const saved = process.env.RESNET_STABILITY_THREADS;
  try {
    process.env.RESNET_STABILITY_THREADS = '1';
    assert.equal(await defaultThreadCount(), 1);
    assert.equal(await loadThreadedKernels(), undefined);
    process.env.RESNET_STABILITY_THREADS = '2';
    assert.equal(await defaultThreadCount(), 2);
    process.env.RESNET_STABILITY_THREADS = 'two';
    await assert.rejects(defaultThreadCount(), RangeError);
  } finally {
    if (saved === undefined) delete process.env.RESNET_STABILITY_THREADS;
    else process.env.RESNET_STABILITY_THREADS = saved;
  }
  await assert.rejects(loadThreadedKernels({ threads: 0 }), RangeError);
  assert.equal(await loadThreadedKernels({ threads: 1 }), undefined);
});

test('helper threads never keep the process alive, closed or not; close() leaves usable kernels', async () => {
  for (const close of [false, true]) {
    const script = `
      import { loadThreadedKernels } from './src/wasm/threads.ts';
      const k = await loadThreadedKernels({ threads: 2 });
      if (!k) throw new Error('no threaded kernels');
      const n = 600, a = k.allocF64(n * n);
      k.f64(a, n * n).fill(1);
      k.exports.gramBandReduceF64(n, a, n, 32);
      ${close ? 'await k.close(); k.exports.gramBandReduceF64(n, a, n, 32);' : ''}
      console.log('done', k.blocksDone().join(' '));
    `;
    const started = performance.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root, encoding: 'utf8', timeout: 30_000,
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(child.status, 0, `exit ${child.status} ${child.signal ?? ''} after ${seconds.toFixed(1)} s\n${child.stderr}`);
    assert.match(child.stdout, /^done /m);
    assert.ok(seconds < 20, `the process took ${seconds.toFixed(1)} s to exit`);
  }
});
