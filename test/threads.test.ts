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
