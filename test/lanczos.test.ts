/**
 * Matrix-free spectra against KNOWN spectra (independent references, built here):
 * - A = H_1 H_2 [diag(s); 0] H_3 H_4 with Householder reflectors H = I - 2 w w^T (random unit w), so
 *   the singular values are exactly s; used densely (WASM dense operator, 4096 x 4096) and
 *   structurally (a JavaScript operator applying the reflectors in O(n)).
 * - A = G_L diag(s) G_R^T with G_L, G_R products of layers of adjacent-pair Givens rotations: banded
 *   orthogonal factors, so A and A A^T are banded with a known spectrum (the banded count route).
 * Checks: Lanczos values to 1e-10 relative and residuals ||A v - s u|| <= 1e-8 s_max computed here;
 * the SLQ histogram within its stated error (quadrature bound + 3 standard errors) of the true one;
 * interval counts EXACT (ends midway between known singular values); InputErrors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topSingularTriplets, type JsLinearOperator } from '../src/spectrum/lanczos.js';
import { spectralDensity } from '../src/spectrum/density.js';
import {
  bandedCountBelow, bandedGramFromCsr, bandedGramFromRows, countSingularValues, countSingularValuesBanded, pixelMajorOrder,
  type CsrMatrix,
} from '../src/spectrum/count.js';
import { loadTestingKernels, type TestingKernels } from './support/testing-kernels.js';
import { InputError } from '../src/util/errors.js';
import { mulberry32 } from './support/random.js';

// ---------------------------------------------------------------------------------------------------
// Reference constructions

function unitVector(n: number, random: () => number): Float64Array {
  const w = new Float64Array(n);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    w[i] = random() - 0.5;
    norm += w[i] * w[i];
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < n; i++) w[i] /= norm;
  return w;
}

/** x <- (I - 2 w w^T) x on a vector of length w.length. */
function reflect(w: Float64Array, x: Float64Array, offset = 0): void {
  let d = 0;
  for (let i = 0; i < w.length; i++) d += w[i] * x[offset + i];
  d *= 2;
  for (let i = 0; i < w.length; i++) x[offset + i] -= d * w[i];
}

/** A = HL1 HL2 [diag(s); 0] HR1 HR2 (m x n, or [diag(s) 0] when m < n) with exactly the singular values s. */
class ReflectedDiagonal implements JsLinearOperator {
  readonly shape: [number, number];
  readonly left: Float64Array[];
  readonly right: Float64Array[];
  constructor(readonly m: number, readonly n: number, readonly s: Float64Array, seed: number) {
    assert.equal(s.length, Math.min(m, n));
    const random = mulberry32(seed);
    this.shape = [m, n];
    this.left = [unitVector(m, random), unitVector(m, random)];
    this.right = [unitVector(n, random), unitVector(n, random)];
  }
  apply(x: Float64Array, k: number): Float64Array {
    const { m, n, s } = this;
    const y = new Float64Array(k * m);
    const t = new Float64Array(n);
    for (let v = 0; v < k; v++) {
      t.set(x.subarray(v * n, v * n + n));
      reflect(this.right[1], t);
      reflect(this.right[0], t);
      for (let i = 0; i < s.length; i++) y[v * m + i] = s[i] * t[i];
      reflect(this.left[1], y, v * m);
      reflect(this.left[0], y, v * m);
    }
    return y;
  }
  applyTranspose(y: Float64Array, k: number): Float64Array {
    const { m, n, s } = this;
    const x = new Float64Array(k * n);
    const t = new Float64Array(m);
    for (let v = 0; v < k; v++) {
      t.set(y.subarray(v * m, v * m + m));
      reflect(this.left[0], t);
      reflect(this.left[1], t);
      for (let i = 0; i < s.length; i++) x[v * n + i] = s[i] * t[i];
      reflect(this.right[0], x, v * n);
      reflect(this.right[1], x, v * n);
    }
    return x;
  }
  /** The dense row-major matrix: rows of [diag(s); 0] reflected from the left, columns from the right. */
  dense(): Float64Array {
    const { m, n, s } = this;
    const a = new Float64Array(m * n);
    for (let i = 0; i < s.length; i++) a[i * n + i] = s[i];
    const y = new Float64Array(n);
    for (const w of [this.left[1], this.left[0]]) {
      // A <- (I - 2 w w^T) A: y = A^T w, A -= 2 w y^T
      y.fill(0);
      for (let i = 0; i < m; i++) {
        const wi = w[i], base = i * n;
        for (let j = 0; j < n; j++) y[j] += wi * a[base + j];
      }
      for (let i = 0; i < m; i++) {
        const f = 2 * w[i], base = i * n;
        for (let j = 0; j < n; j++) a[base + j] -= f * y[j];
      }
    }
    for (const w of [this.right[0], this.right[1]]) {
      // A <- A (I - 2 w w^T), row by row
      for (let i = 0; i < m; i++) {
        const base = i * n;
        let d = 0;
        for (let j = 0; j < n; j++) d += a[base + j] * w[j];
        d *= 2;
        for (let j = 0; j < n; j++) a[base + j] -= d * w[j];
      }
    }
    return a;
  }
}

/** In-place orthonormal fast Walsh-Hadamard transform of x[offset : offset + len], len a power of 2. */
function hadamard(x: Float64Array, offset: number, len: number): void {
  for (let h = 1; h < len; h *= 2) {
    for (let i = 0; i < len; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const a = x[offset + j], b = x[offset + j + h];
        x[offset + j] = a + b;
        x[offset + j + h] = a - b;
      }
    }
  }
  const scale = 1 / Math.sqrt(len);
  for (let i = 0; i < len; i++) x[offset + i] *= scale;
}

/**
 * A = H_m D_m [diag(s); 0] D_n H_n (m, n powers of 2, m >= n): H orthonormal Hadamard, D random
 * signs. Singular values exactly s, singular vectors fully dense (entries +-1/sqrt(size)), so
 * random probes see the generic variance.
 */
class HadamardDiagonal implements JsLinearOperator {
  readonly shape: [number, number];
  readonly signsM: Float64Array;
  readonly signsN: Float64Array;
  constructor(readonly m: number, readonly n: number, readonly s: Float64Array, seed: number) {
    const random = mulberry32(seed);
    this.shape = [m, n];
    this.signsM = Float64Array.from({ length: m }, () => (random() < 0.5 ? -1 : 1));
    this.signsN = Float64Array.from({ length: n }, () => (random() < 0.5 ? -1 : 1));
  }
  apply(x: Float64Array, k: number): Float64Array {
    const { m, n, s } = this;
    const y = new Float64Array(k * m), t = new Float64Array(n);
    for (let v = 0; v < k; v++) {
      t.set(x.subarray(v * n, v * n + n));
      hadamard(t, 0, n);
      for (let i = 0; i < n; i++) y[v * m + i] = this.signsM[i] * s[i] * this.signsN[i] * t[i];
      hadamard(y, v * m, m);
    }
    return y;
  }
  applyTranspose(y: Float64Array, k: number): Float64Array {
    const { m, n, s } = this;
    const x = new Float64Array(k * n), t = new Float64Array(m);
    for (let v = 0; v < k; v++) {
      t.set(y.subarray(v * m, v * m + m));
      hadamard(t, 0, m);
      for (let i = 0; i < n; i++) x[v * n + i] = this.signsN[i] * s[i] * this.signsM[i] * t[i];
      hadamard(x, v * n, n);
    }
    return x;
  }
}

/**
 * A = G_L diag(s) G_R^T (n x n) where G = product of `layers` layers of rotations of adjacent pairs
 * (even pairs, then odd pairs, ...): banded orthogonal factors, so A has half-bandwidth <= 2*layers
 * and A A^T = G_L diag(s^2) G_L^T half-bandwidth <= 2*layers. Returned as CSR (exact zeros dropped).
 */
function givensBanded(n: number, s: Float64Array, layers: number, seed: number): CsrMatrix {
  const random = mulberry32(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = s[i];
  for (let layer = 0; layer < layers; layer++) {
    for (let i = layer % 2; i + 1 < n; i += 2) {
      // rows i, i+1 (left factor)
      const th = 2 * Math.PI * random(), c = Math.cos(th), sn = Math.sin(th);
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j], y = a[(i + 1) * n + j];
        if (x === 0 && y === 0) continue;
        a[i * n + j] = c * x - sn * y;
        a[(i + 1) * n + j] = sn * x + c * y;
      }
    }
    for (let j = layer % 2; j + 1 < n; j += 2) {
      // columns j, j+1 (right factor)
      const th = 2 * Math.PI * random(), c = Math.cos(th), sn = Math.sin(th);
      for (let i = 0; i < n; i++) {
        const x = a[i * n + j], y = a[i * n + j + 1];
        if (x === 0 && y === 0) continue;
        a[i * n + j] = c * x - sn * y;
        a[i * n + j + 1] = sn * x + c * y;
      }
    }
  }
  const rowPointers = new Int32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (a[i * n + j] !== 0) {
        indices.push(j);
        values.push(a[i * n + j]);
      }
    }
    rowPointers[i + 1] = indices.length;
  }
  return { rows: n, columns: n, rowPointers, columnIndices: Int32Array.from(indices), values: Float64Array.from(values) };
}

function denseFromCsr(csr: CsrMatrix): Float64Array {
  const a = new Float64Array(csr.rows * csr.columns);
  for (let i = 0; i < csr.rows; i++) {
    for (let p = csr.rowPointers[i]; p < csr.rowPointers[i + 1]; p++) a[i * csr.columns + csr.columnIndices[p]] = csr.values[p];
  }
  return a;
}

/**
 * A WASM dense operator for a row-major matrix (released by the returned function), in the testing
 * build (the shipped module has no dense operator); the operator carries its kernels.
 */
function wasmDense(kernels: TestingKernels, a: Float64Array, m: number, n: number): { op: { shape: [number, number]; wasmHandle: number; kernels: TestingKernels }; free(): void } {
  const ptr = kernels.copyIn(a);
  const handle = kernels.exports.operatorFromDenseF64(ptr, m, n);
  return {
    op: { shape: [m, n], wasmHandle: handle, kernels },
    free() {
      kernels.exports.operatorDestroy(handle);
      kernels.release(ptr);
    },
  };
}

const descending = (s: Float64Array) => Float64Array.from(s).sort((x, y) => y - x);
const ascending = (s: Float64Array) => Float64Array.from(s).sort((x, y) => x - y);

/** ||A v - s u|| and ||A^T u - s v|| for row i of the triplet blocks, with A given densely. */
function denseResiduals(a: Float64Array, m: number, n: number, s: number, u: Float64Array, v: Float64Array): [number, number] {
  let r1 = 0;
  for (let i = 0; i < m; i++) {
    let x = 0;
    const base = i * n;
    for (let j = 0; j < n; j++) x += a[base + j] * v[j];
    r1 += (x - s * u[i]) ** 2;
  }
  const at = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const ui = u[i], base = i * n;
    for (let j = 0; j < n; j++) at[j] += a[base + j] * ui;
  }
  let r2 = 0;
  for (let j = 0; j < n; j++) r2 += (at[j] - s * v[j]) ** 2;
  return [Math.sqrt(r1), Math.sqrt(r2)];
}

function residualsWith(op: JsLinearOperator, s: number, u: Float64Array, v: Float64Array): [number, number] {
  const av = op.apply(v, 1) as Float64Array, atu = op.applyTranspose(u, 1) as Float64Array;
  let r1 = 0, r2 = 0;
  for (let i = 0; i < av.length; i++) r1 += (av[i] - s * u[i]) ** 2;
  for (let j = 0; j < atu.length; j++) r2 += (atu[j] - s * v[j]) ** 2;
  return [Math.sqrt(r1), Math.sqrt(r2)];
}

function assertOrthonormalRows(x: Float64Array, k: number, len: number, tol: number, what: string): void {
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) {
      let d = 0;
      for (let j = 0; j < len; j++) d += x[a * len + j] * x[b * len + j];
      assert.ok(Math.abs(d - (a === b ? 1 : 0)) <= tol, `${what}: rows ${a}, ${b} have inner product ${d}`);
    }
  }
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof InputError && pattern.test((e as Error).message));
}

// ---------------------------------------------------------------------------------------------------
// Lanczos

test('top-20 singular triplets of a 4096 x 4096 dense matrix with known spectrum (WASM operator)', async () => {
  const n = 4096;
  const random = mulberry32(11);
  // 20 well separated values above a bulk of 4076 values in [0, 1).
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = i < 20 ? 10 * 0.9 ** i : random();
  const structured = new ReflectedDiagonal(n, n, s, 12);
  const a = structured.dense();
  const kernels = await loadTestingKernels();
  const { op, free } = wasmDense(kernels, a, n, n);
  try {
    const k = 20;
    const r = await topSingularTriplets(op, k, { seed: 3 });
    assert.ok(r.converged, 'converged');
    const want = descending(s);
    const smax = want[0];
    for (let i = 0; i < k; i++) {
      const rel = Math.abs(r.values[i] - want[i]) / want[i];
      assert.ok(rel <= 1e-10, `s[${i}] = ${r.values[i]}, want ${want[i]} (relative error ${rel.toExponential(2)})`);
      const [r1, r2] = denseResiduals(a, n, n, r.values[i], r.u.subarray(i * n, i * n + n), r.v.subarray(i * n, i * n + n));
      assert.ok(r1 <= 1e-8 * smax && r2 <= 1e-8 * smax, `triplet ${i}: residuals ${r1.toExponential(2)}, ${r2.toExponential(2)}`);
      assert.ok(r.residuals[i] <= 1e-8 * smax, `reported residual ${r.residuals[i]}`);
    }
    assertOrthonormalRows(r.u, k, n, 1e-10, 'u');
    assertOrthonormalRows(r.v, k, n, 1e-10, 'v');
    assert.ok(r.iterations > 0 && r.products >= r.iterations);
  } finally {
    free();
  }
});

test('largest triplets through a JavaScript operator, tall and wide, and with blocks', async () => {
  const random = mulberry32(21);
  // Tall 3000 x 2000 with a clustered top (relative gaps 1%).
  const s = new Float64Array(2000);
  for (let i = 0; i < s.length; i++) s[i] = i < 8 ? 5 * (1 - 0.01 * i) : 4 * random();
  const tall = new ReflectedDiagonal(3000, 2000, s, 22);
  const want = descending(s);
  for (const block of [1, 2]) {
    const r = await topSingularTriplets(tall, 8, { block, subspace: 32 });
    assert.ok(r.converged);
    assert.equal(r.block, block);
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(r.values[i] - want[i]) <= 1e-10 * want[i], `block ${block}: s[${i}] = ${r.values[i]} vs ${want[i]}`);
    for (let i = 0; i < 8; i++) {
      const [r1, r2] = residualsWith(tall, r.values[i], r.u.subarray(i * 3000, (i + 1) * 3000), r.v.subarray(i * 2000, (i + 1) * 2000));
      assert.ok(Math.max(r1, r2) <= 1e-8 * want[0], `block ${block}, triplet ${i}: residual ${Math.max(r1, r2)}`);
    }
  }
  // Wide 700 x 1500: u has 700 entries, v 1500.
  const sw = new Float64Array(700);
  for (let i = 0; i < sw.length; i++) sw[i] = 1 + i / 7;
  const wide = new ReflectedDiagonal(700, 1500, sw, 23);
  const rw = await topSingularTriplets(wide, 5);
  assert.equal(rw.u.length, 5 * 700);
  assert.equal(rw.v.length, 5 * 1500);
  const ww = descending(sw);
  for (let i = 0; i < 5; i++) {
    assert.ok(Math.abs(rw.values[i] - ww[i]) <= 1e-10 * ww[i]);
    const [r1, r2] = residualsWith(wide, rw.values[i], rw.u.subarray(i * 700, (i + 1) * 700), rw.v.subarray(i * 1500, (i + 1) * 1500));
    assert.ok(Math.max(r1, r2) <= 1e-8 * ww[0]);
  }
});

test('smallest singular triplets of smaller matrices (tall dense WASM, wide JS)', async () => {
  const kernels = await loadTestingKernels();
  const random = mulberry32(31);
  const small = [0.01, 0.02, 0.035, 0.05];
  const s = new Float64Array(400);
  for (let i = 0; i < s.length; i++) s[i] = i < small.length ? small[i] : 0.5 + 1.5 * random();
  const tall = new ReflectedDiagonal(600, 400, s, 32);
  const a = tall.dense();
  const { op, free } = wasmDense(kernels, a, 600, 400);
  try {
    const r = await topSingularTriplets(op, 4, { which: 'smallest', subspace: 60 });
    assert.ok(r.converged);
    const want = ascending(s);
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs(r.values[i] - want[i]) <= 1e-10 * want[i], `smallest s[${i}] = ${r.values[i]} vs ${want[i]}`);
      const [r1, r2] = denseResiduals(a, 600, 400, r.values[i], r.u.subarray(i * 600, (i + 1) * 600), r.v.subarray(i * 400, (i + 1) * 400));
      assert.ok(Math.max(r1, r2) <= 1e-8 * 2, `residual ${Math.max(r1, r2)}`);
    }
  } finally {
    free();
  }
  // Wide with a triple exact zero among the min(m, n) = 300 singular values (rank 297): a block of 3
  // vectors finds all copies (single-vector Lanczos finds one copy of a multiple value).
  const sw = new Float64Array(300);
  for (let i = 0; i < sw.length; i++) sw[i] = i < 3 ? 0 : 1 + random();
  sw[3] = 0.25;
  const wide = new ReflectedDiagonal(300, 450, sw, 33);
  const rw = await topSingularTriplets(wide, 4, { which: 'smallest', subspace: 48, block: 3 });
  assert.ok(rw.converged);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(rw.values[i]) <= 1e-9, `zero value ${rw.values[i]}`);
  assert.ok(Math.abs(rw.values[3] - 0.25) <= 1e-10 * 0.25, `s[3] = ${rw.values[3]}`);
});

test('topSingularTriplets rejects bad input with one-line InputErrors', async () => {
  const op = new ReflectedDiagonal(20, 10, Float64Array.from({ length: 10 }, (_, i) => i + 1), 1);
  await rejects(topSingularTriplets(op, 0), /k must be an integer in 1\.\.10/);
  await rejects(topSingularTriplets(op, 11), /k must be an integer in 1\.\.10/);
  await rejects(topSingularTriplets(op, 2.5), /k must be/);
  await rejects(topSingularTriplets({ shape: [0, 3], apply: op.apply, applyTranspose: op.applyTranspose }, 1), /shape must be two positive integers/);
  await rejects(topSingularTriplets({ shape: [3] } as never, 1), /shape \[rows, columns\]/);
  await rejects(topSingularTriplets({ shape: [3, 3] } as never, 1), /wasmHandle or apply\/applyTranspose/);
  await rejects(topSingularTriplets(op, 2, { which: 'middle' as never }), /which must be 'largest' or 'smallest'/);
  await rejects(topSingularTriplets(op, 2, { tol: -1 }), /tol must be/);
  await rejects(topSingularTriplets(op, 4, { subspace: 4 }), /subspace must exceed k/);
  await rejects(topSingularTriplets(op, 2, { maxIterations: 0 }), /maxIterations must be an integer >= 1/);
  const broken: JsLinearOperator = { shape: [20, 10], apply: () => new Float64Array(3), applyTranspose: op.applyTranspose.bind(op) };
  await rejects(topSingularTriplets(broken, 2), /operator\.apply returned 3 values, expected a Float64Array of 1 x 20 = 20/);
  const kernels = await loadTestingKernels();
  const { op: wasmOp, free } = wasmDense(kernels, new Float64Array(12), 3, 4);
  try {
    await rejects(topSingularTriplets({ shape: [4, 3], wasmHandle: wasmOp.wasmHandle, kernels }, 1), /handle is 3 x 4 but its shape says 4 x 3/);
  } finally {
    free();
  }
  // Not converged within the budget: reported, not thrown.
  const r = await topSingularTriplets(op, 3, { which: 'smallest', maxIterations: 2, subspace: 6 });
  assert.equal(r.converged, false);
  assert.equal(r.iterations, 2);
});

// ---------------------------------------------------------------------------------------------------
// Density

function trueHistogram(s: Float64Array, edges: number[]): number[] {
  const counts = new Array(edges.length - 1).fill(0);
  for (const x of s) for (let b = 0; b + 1 < edges.length; b++) if (x >= edges[b] && x < edges[b + 1]) counts[b]++;
  return counts;
}

test('spectral density by SLQ is within its stated error of the true histogram', async () => {
  const kernels = await loadTestingKernels();
  const random = mulberry32(41);
  // 1200 x 800: a bulk uniform in [0, 2), a cluster near 3, a few large values.
  const s = new Float64Array(800);
  for (let i = 0; i < s.length; i++) s[i] = i < 600 ? 2 * random() : i < 790 ? 3 + 0.1 * random() : 5 + i - 790;
  const structured = new ReflectedDiagonal(1200, 800, s, 42);
  const { op, free } = wasmDense(kernels, structured.dense(), 1200, 800);
  const edges = [0, 0.5, 1, 1.5, 2.5, 3.5, 20];
  const truth = trueHistogram(s, edges);
  try {
    const density = await spectralDensity(op, { bins: edges, probes: 24, steps: 60, seed: 5 });
    assert.equal(density.dimension, 800);
    let total = 0;
    for (let b = 0; b < truth.length; b++) {
      const err = Math.abs(density.counts[b] - truth[b]);
      const stated = density.quadratureBound[b] + 3 * density.standardError[b];
      assert.ok(err <= stated, `bin ${b}: ${density.counts[b].toFixed(1)} vs ${truth[b]} (error ${err.toFixed(1)} > ${stated.toFixed(1)})`);
      total += density.counts[b];
    }
    assert.ok(Math.abs(total - 800) <= 1e-9 * 800, `counts sum to ${total}`);
    // Edges outside the spectrum carry no quadrature error; the isolated large values are exact-ish.
    assert.ok(density.quadratureBound[5] <= density.quadratureBound[2] + 1e-9);
  } finally {
    free();
  }
  // Dense singular vectors (Hadamard factors), so the probe variance is generic: Rademacher and
  // Gaussian probes, JavaScript operator, tall and wide.
  const sh = new Float64Array(512);
  for (let i = 0; i < sh.length; i++) sh[i] = i < 400 ? 1 + random() : 2.5 + random();
  const edgesH = [0, 1.25, 1.5, 1.75, 2.25, 3, 3.5];
  const truthH = trueHistogram(sh, edgesH);
  const hadamardOp = new HadamardDiagonal(1024, 512, sh, 44);
  const wideOp: JsLinearOperator = {
    shape: [512, 1024],
    apply: (x, k) => hadamardOp.applyTranspose(x, k),
    applyTranspose: (y, k) => hadamardOp.apply(y, k),
  };
  for (const [operator, distribution] of [[hadamardOp, 'rademacher'], [wideOp, 'gaussian']] as const) {
    const dh = await spectralDensity(operator, { bins: edgesH, probes: 24, steps: 80, seed: 7, distribution, batch: 5 });
    assert.equal(dh.dimension, 512);
    let spread = 0;
    for (let b = 0; b < truthH.length; b++) {
      const err = Math.abs(dh.counts[b] - truthH[b]);
      const stated = dh.quadratureBound[b] + 3 * dh.standardError[b];
      assert.ok(err <= stated, `${distribution} bin ${b}: ${dh.counts[b].toFixed(1)} vs ${truthH[b]} (error ${err.toFixed(1)} > ${stated.toFixed(1)})`);
      spread = Math.max(spread, dh.standardError[b]);
    }
    assert.ok(spread > 0.5, `${distribution}: the probes must disagree (standard error ${spread})`);
  }
});

test('spectralDensity rejects bad input', async () => {
  const op = new ReflectedDiagonal(20, 10, Float64Array.from({ length: 10 }, (_, i) => i + 1), 1);
  await rejects(spectralDensity(op, { bins: [1] }), /at least 2 edges/);
  await rejects(spectralDensity(op, { bins: [0, 2, 1] }), /strictly increasing, but edge 2/);
  await rejects(spectralDensity(op, { bins: [0, NaN] }), /edge 1 is NaN/);
  await rejects(spectralDensity(op, { bins: [0, 1], probes: 1 }), /probes must be an integer >= 2/);
  await rejects(spectralDensity(op, { bins: [0, 1], steps: 0 }), /steps must be an integer >= 1/);
  await rejects(spectralDensity(op, { bins: [0, 1], distribution: 'uniform' as never }), /distribution must be/);
});

// ---------------------------------------------------------------------------------------------------
// Exact counts

/** Interval ends midway between consecutive distinct sorted values, plus ends outside the spectrum. */
function midpoints(s: Float64Array, count: number, random: () => number): number[] {
  const sorted = ascending(s);
  const ends = [0, sorted[sorted.length - 1] * 2];
  while (ends.length < count) {
    const i = Math.floor(random() * (sorted.length - 1));
    if (sorted[i + 1] - sorted[i] > 1e-6) ends.push(0.5 * (sorted[i] + sorted[i + 1]));
  }
  return ends;
}

const countIn = (s: Float64Array, lo: number, hi: number) => s.filter((x) => x >= lo && x < hi).length;

test('dense interval counts are exact (matrix, dense() source, WASM and JS operators)', async () => {
  const random = mulberry32(51);
  const s = new Float64Array(250);
  for (let i = 0; i < s.length; i++) s[i] = i < 5 ? 0 : 3 * random();
  const structured = new ReflectedDiagonal(320, 250, s, 52);
  const a = structured.dense();
  const ends = midpoints(s, 10, random);
  const kernels = await loadTestingKernels();
  const { op, free } = wasmDense(kernels, a, 320, 250);
  try {
    for (let t = 0; t + 1 < ends.length; t++) {
      const lo = Math.min(ends[t], ends[t + 1]), hi = Math.max(ends[t], ends[t + 1]);
      const want = countIn(s, lo, hi);
      assert.equal(await countSingularValues(a, 320, 250, lo, hi), want, `dense [${lo}, ${hi})`);
      assert.equal(await countSingularValues({ dense: () => a }, 320, 250, lo, hi), want);
      assert.equal(await countSingularValues(op, 320, 250, lo, hi), want, `WASM operator [${lo}, ${hi})`);
      assert.equal(await countSingularValues(structured, 320, 250, lo, hi), want, `JS operator [${lo}, ${hi})`);
    }
    // lo = 0 counts the exact zeros; the full range counts all min(m, n).
    assert.equal(await countSingularValues(a, 320, 250, 0, 1e-3), 5);
    assert.equal(await countSingularValues(a, 320, 250, 0, Infinity), 250);
  } finally {
    free();
  }
  // Wide matrix: the Gram matrix is A A^T.
  const sw = Float64Array.from({ length: 90 }, (_, i) => 0.1 + i * 0.05);
  const wide = new ReflectedDiagonal(90, 140, sw, 53).dense();
  assert.equal(await countSingularValues(wide, 90, 140, 1.0125, 2.5125), countIn(sw, 1.0125, 2.5125));
});

test('banded Gram matrices and banded LDL^T counts are exact (blocked path, fallback, row source)', async () => {
  const random = mulberry32(61);
  const n = 1500;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = 0.2 + 2 * random();
  const layers = 40; // half-bandwidth of A A^T up to 80 > the panel width 64
  const csr = givensBanded(n, s, layers, 62);
  const gram = await bandedGramFromCsr(csr);
  // Structurally, rows sharing a column of A (half-bandwidth 2*layers) are up to 4*layers apart.
  assert.ok(gram.bandwidth > 64 && gram.bandwidth <= 4 * layers, `bandwidth ${gram.bandwidth}`);
  assert.equal(gram.singularValueCount, n);
  const ends = midpoints(s, 8, random);
  for (let t = 0; t + 1 < ends.length; t++) {
    const lo = Math.min(ends[t], ends[t + 1]), hi = Math.max(ends[t], ends[t + 1]);
    assert.equal(await countSingularValuesBanded(gram, lo, hi), countIn(s, lo, hi), `banded [${lo}, ${hi})`);
  }
  // Same Gram matrix from a dense row source, in blocks that do not divide n.
  const dense = denseFromCsr(csr);
  const fromRows = await bandedGramFromRows({ rows: n, columns: n, fill: (first, count) => dense.slice(first * n, (first + count) * n) }, { blockRows: 97 });
  assert.equal(fromRows.bandwidth, gram.bandwidth);
  let diff = 0;
  for (let i = 0; i < gram.data.length; i++) diff = Math.max(diff, Math.abs(fromRows.data[i] - gram.data[i]));
  assert.ok(diff <= 1e-14, `row source Gram differs by ${diff}`);
  // Forced fallback to dense Bunch-Kaufman gives the same exact count; too large for it -> Error.
  const c = ends[2];
  const viaDense = await bandedCountBelow(gram, c, { growthLimit: 0.5 });
  assert.equal(viaDense.method, 'dense-bunch-kaufman');
  assert.equal(viaDense.count, countIn(s, 0, c));
  const viaBand = await bandedCountBelow(gram, c);
  assert.equal(viaBand.method, 'banded-ldlt');
  assert.ok(viaBand.growth >= 1);
  await assert.rejects(bandedCountBelow(gram, c, { growthLimit: 0.5, denseLimit: 100 }), /not certified/);
  // Rows that are a subset of a larger operator's: 10 extra zero singular values.
  const partial = { ...gram, singularValueCount: n + 10 };
  assert.equal(await countSingularValuesBanded(partial, 0, ends[2]), countIn(s, 0, ends[2]) + 10);
});

test('pixelMajorOrder and count errors', async () => {
  const order = pixelMajorOrder(2, 2, 3);
  // HWC position (y, x, c) holds CHW index (c*H + y)*W + x
  assert.deepEqual(Array.from(order), [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]);
  const a = new Float64Array(6);
  await rejects(countSingularValues(a, 2, 3, 1, 0), /lo \(1\) must not exceed hi \(0\)/);
  await rejects(countSingularValues(a, 2, 3, NaN, 1), /lo and hi must be numbers/);
  await rejects(countSingularValues(new Float64Array(5), 2, 3, 0, 1), /Float64Array of rows\*cols = 6 values, got 5/);
  await rejects(countSingularValues(Float64Array.of(1, 2, 3, Infinity, 5, 6), 2, 3, 0, 1), /entry 3 \(row 1, column 0\) is Infinity/);
  await rejects(countSingularValues(a, 0, 3, 0, 1), /rows and cols must be positive integers/);
  await rejects(
    bandedGramFromCsr({ rows: 2, columns: 2, rowPointers: Int32Array.of(0, 1, 2), columnIndices: Int32Array.of(0, 5), values: Float64Array.of(1, 1) }),
    /column index 5 at 1 is outside 0\.\.1/,
  );
  await rejects(bandedGramFromRows({ rows: 2, columns: 2, fill: () => new Float64Array(3) }), /fill\(0, 2\) must return 2 x 2 values, got 3/);
});
