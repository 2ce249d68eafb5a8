/**
 * The dense route of spectrum/full.ts on its smaller side and on every core (issue 11's full spectrum
 * of a dense stage-4 unit):
 * - the active columns of a pre-activation unit: every other column of J is exactly zero (J assembled
 *   from J^T e_i), and the route's values equal autograd + LAPACK (test/fixtures/graph-units-pytorch.json);
 * - the threads build: ThreadedKernels.gemmLowerF64 (parallel.ts parallelGemmLowerF64) is bitwise
 *   blas.ts gemmLowerF64, and an operator rebuilt on the threaded kernels (whose batched convolutions,
 *   conv-gemm.ts, run their GEMMs on every thread) gives bitwise the single-threaded products;
 * - conv-gemm.ts's batched convolutions against conv2d.ts's direct ones (the testing build) and a
 *   naive sum, for the late-stage shapes the layer operators send to them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { graphTrajectory64, linearize } from '../src/linearize/index.js';
import { fullSingularValues } from '../src/spectrum/full.js';
import { loadKernels } from '../src/wasm/kernels.js';
import { loadThreadedKernels } from '../src/wasm/threads.js';
import { f64, graphOfFixture } from './support/graph-fixture.js';
import { mulberry32 } from './support/random.js';
import { fixturePath } from './support/shared.js';
import { loadTestingKernels } from './support/testing-kernels.js';

const kernels = await loadKernels();
const fixture = JSON.parse(readFileSync(fixturePath('graph-units-pytorch.json'), 'utf8'));

async function preactUnit(options: { kernels?: typeof kernels } = {}) {
  const family = fixture.families.find((f: { name: string }) => f.name === 'preact');
  const point = await graphTrajectory64(graphOfFixture(family), f64(family.input), { alpha: family.alpha, beta: family.beta, kernels });
  const record = family.records.find((r: { singularValues?: string }) => r.singularValues);
  return { point, record, ref: f64(record.singularValues) };
}

test('a pre-activation unit: the columns outside activeColumns() are exactly zero; the dense route on the smaller side equals autograd + LAPACK', async () => {
  const { point, record, ref } = await preactUnit();
  const op = await linearize(point, { unit: record.unit }, { kernels });
  try {
    const [m, n] = op.shape;
    const columns = op.activeColumns(), rows = op.activeRows();
    assert.ok(columns.length > 0 && columns.length < n, `${columns.length} of ${n} columns active`);
    const active = new Uint8Array(n);
    columns.forEach((j) => { active[j] = 1; });
    const dense = op.toDense();
    let outside = 0, inside = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      const v = Math.abs(dense[i * n + j]);
      if (active[j]) inside = Math.max(inside, v);
      else outside = Math.max(outside, v);
    }
    assert.equal(outside, 0);
    assert.ok(inside > 0);
    // The rank is at most min(N, N_c): the reference's values past it are zeros up to LAPACK's rounding.
    const r = Math.min(rows.length, columns.length);
    for (let i = r; i < ref.length; i++) assert.ok(ref[i] < 1e-12 * ref[0], `reference value ${i} = ${ref[i]}`);
    const { values, route } = await fullSingularValues(op, { kernels, route: 'dense' });
    assert.equal(route, 'dense');
    assert.equal(values.length, ref.length);
    const worst = Math.max(...Array.from(values, (s, i) => Math.abs(s - ref[i])));
    assert.ok(worst < 1e-12 * ref[0], `dense route: ${worst}`);
    for (let i = r; i < values.length; i++) assert.equal(values[i], 0);
  } finally {
    op.dispose();
  }
});

test('threads: gemmLowerF64 over the pool and a relinearized operator\'s products are bitwise the single-threaded ones', async () => {
  const threaded = await loadThreadedKernels({ threads: 2 });
  if (!threaded) return; // no shared memory or workers here: nothing to compare
  const random = mulberry32(11);
  const n = 300, k = 170;
  const a = Float64Array.from({ length: n * k }, () => random() - 0.5);
  const lower = (run: (ap: number, cp: number) => void, on: typeof kernels) => on.scope((s) => {
    const ap = s.copyIn(a), cp = s.allocF64(n * n);
    on.f64(cp, n * n).fill(0);
    run(ap, cp);
    return Float64Array.from(on.f64(cp, n * n));
  });
  const one = lower((ap, cp) => kernels.exports.gemmLowerF64(0, 1, n, k, 1, ap, k, ap, k, 0, cp, n), kernels);
  const two = lower((ap, cp) => threaded.gemmLowerF64(0, 1, n, k, 1, ap, k, ap, k, 0, cp, n), threaded);
  assert.deepEqual(two, one);
  assert.ok(one[n * (n - 1)] !== 0);
  // The other side's Gram matrix, A^T A (k x k; full.ts's P^T P), against a plain sum.
  const gk = (run: (ap: number, cp: number) => void, on: typeof kernels) => on.scope((s) => {
    const ap = s.copyIn(a), cp = s.allocF64(k * k);
    on.f64(cp, k * k).fill(0);
    run(ap, cp);
    return Float64Array.from(on.f64(cp, k * k));
  });
  const oneT = gk((ap, cp) => kernels.exports.gemmLowerF64(1, 0, k, n, 1, ap, k, ap, k, 0, cp, k), kernels);
  const twoT = gk((ap, cp) => threaded.gemmLowerF64(1, 0, k, n, 1, ap, k, ap, k, 0, cp, k), threaded);
  assert.deepEqual(twoT, oneT);
  for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) {
    let sum = 0;
    for (let t = 0; t < n; t++) sum += a[t * k + i] * a[t * k + j];
    assert.ok(Math.abs(oneT[i * k + j] - sum) < 1e-13 * n, `A^T A [${i}, ${j}]`);
  }

  const { point, record } = await preactUnit();
  const here = await linearize(point, { unit: record.unit }, { kernels });
  const there = await here.relinearize(threaded);
  assert.ok(there);
  try {
    const [m, nIn] = here.shape;
    const count = 64; // 64 vectors x the unit's planes: several row blocks of parallelGemmF64
    const u = Float64Array.from({ length: count * m }, () => random() - 0.5);
    const v = Float64Array.from({ length: count * nIn }, () => random() - 0.5);
    const before = threaded.blocksDone().reduce((x, y) => x + y, 0);
    assert.deepEqual(there.applyTranspose(u), here.applyTranspose(u));
    assert.deepEqual(there.apply(v), here.apply(v));
    assert.ok(threaded.blocksDone().reduce((x, y) => x + y, 0) > before, 'the products ran on the pool');
  } finally {
    there.dispose();
    here.dispose();
  }
});

test('conv-gemm.ts: batched GEMM convolutions equal a naive sum and conv2d.ts\'s direct kernels (late-stage shapes)', async () => {
  const t = await loadTestingKernels();
  const e = t.exports;
  const random = mulberry32(5);
  // [batch, cIn, h, cOut, kernel, stride, pad]
  // The last two: batches of unit vectors, whose all-zero im2col / G^T rows the kernels skip.
  for (const [batch, cIn, h, cOut, K, S, P, sparse] of [[3, 8, 4, 6, 3, 1, 1, 0], [2, 5, 8, 7, 3, 2, 1, 0], [4, 6, 7, 4, 1, 2, 0, 0], [1, 3, 9, 5, 7, 2, 3, 0],
    [5, 6, 8, 7, 3, 2, 1, 1], [6, 4, 4, 5, 3, 1, 1, 1]]) {
    const ho = Math.floor((h + 2 * P - K) / S) + 1;
    const nIn = cIn * h * h, nOut = cOut * ho * ho;
    const unitVectors = (length: number) => Float64Array.from({ length: batch * length }, (_, i) => (i % length === (Math.floor(i / length) * 7919) % length ? 1 : 0));
    const x = sparse ? unitVectors(nIn) : Float64Array.from({ length: batch * nIn }, () => random() - 0.5);
    const g = sparse ? unitVectors(nOut) : Float64Array.from({ length: batch * nOut }, () => random() - 0.5);
    const w = Float64Array.from({ length: cOut * cIn * K * K }, () => random() - 0.5);
    // Naive forward and adjoint from the definition.
    const yRef = new Float64Array(batch * nOut), tRef = new Float64Array(batch * nIn);
    for (let b = 0; b < batch; b++) for (let o = 0; o < cOut; o++) for (let yy = 0; yy < ho; yy++) for (let xx = 0; xx < ho; xx++) {
      for (let i = 0; i < cIn; i++) for (let dy = 0; dy < K; dy++) for (let dx = 0; dx < K; dx++) {
        const r = S * yy + dy - P, c = S * xx + dx - P;
        if (r < 0 || r >= h || c < 0 || c >= h) continue;
        const wv = w[((o * cIn + i) * K + dy) * K + dx];
        yRef[b * nOut + (o * ho + yy) * ho + xx] += wv * x[b * nIn + (i * h + r) * h + c];
        tRef[b * nIn + (i * h + r) * h + c] += wv * g[b * nOut + (o * ho + yy) * ho + xx];
      }
    }
    t.scope((s) => {
      const xp = s.copyIn(x), gp = s.copyIn(g), wp = s.copyIn(w);
      const y1 = s.allocF64(batch * nOut), y2 = s.allocF64(batch * nOut), t1 = s.allocF64(batch * nIn), t2 = s.allocF64(batch * nIn);
      e.conv2dGemmForwardF64(xp, batch, cIn, h, h, wp, cOut, K, S, P, y1);
      e.conv2dForwardF64(xp, batch, cIn, h, h, wp, cOut, K, S, P, y2);
      e.conv2dGemmTransposeF64(gp, batch, cIn, h, h, wp, cOut, K, S, P, t1);
      e.conv2dTransposeF64(gp, batch, cIn, h, h, wp, cOut, K, S, P, t2);
      const close = (a: Float64Array, b: ArrayLike<number>, what: string) => {
        const scale = Math.max(...Array.from(b, Math.abs));
        const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
        assert.ok(worst <= 1e-14 * scale, `${what} ${[batch, cIn, h, cOut, K, S, P]}: ${worst} of ${scale}`);
      };
      close(Float64Array.from(t.f64(y1, batch * nOut)), yRef, 'forward');
      close(Float64Array.from(t.f64(y2, batch * nOut)), yRef, 'direct forward');
      close(Float64Array.from(t.f64(t1, batch * nIn)), tRef, 'transpose');
      close(Float64Array.from(t.f64(t2, batch * nIn)), tRef, 'direct transpose');
    });
  }
});

test('a unit with fewer active columns than rows (WRN 2.1): dense and operator-Gram routes on the smaller side equal autograd + LAPACK', async () => {
  const family = fixture.families.find((f: { name: string }) => f.name === 'wrn');
  const point = await graphTrajectory64(graphOfFixture(family), f64(family.input), { alpha: family.alpha, beta: family.beta, kernels });
  const record = family.records.find((r: { singularValues?: string; unit: number }) => r.singularValues && r.unit === 2);
  const ref = f64(record.singularValues);
  const op = await linearize(point, { unit: record.unit }, { kernels });
  try {
    assert.ok(op.activeColumns().length < op.activeRows().length, 'the column side is the smaller');
    const phases: string[] = [];
    for (const [route, tol, floor] of [['dense', 1e-12, 0], ['operator-gram', 1e-10, 1e-3]] as const) {
      const { values } = await fullSingularValues(op, { kernels, route, onPhase: (p) => phases.push(p) });
      assert.equal(values.length, ref.length);
      let worst = 0;
      ref.forEach((s, i) => { if (s > floor * ref[0]) worst = Math.max(worst, Math.abs(values[i] - s)); });
      assert.ok(worst < tol * ref[0], `${route}: ${worst}`);
    }
    // Dense: row products (N_c is not below N/2), values of the 512 x 361 P; operator-Gram: the column side.
    assert.ok(phases.some((p) => /Jacobian rows/.test(p)) && phases.some((p) => /singular values of 512 x 361/.test(p)), phases.join('; '));
    assert.ok(phases.some((p) => /J\^T J at the active columns/.test(p)), phases.join('; '));
  } finally {
    op.dispose();
  }
});
