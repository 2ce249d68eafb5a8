/**
 * svd / svdValues on matrices with KNOWN spectra: A = U diag(s) V^T with U, V random orthonormal
 * (from a Householder QR of a Gaussian matrix written here, independent of the package's kernels).
 * Tolerances: every value within 10*max(m,n)*eps*s_max (f64) or 1e-4*s_max (f32); u, vt orthonormal
 * and A = u diag(s) vt to the same order; the Gram route within its documented bound
 * |s_gram^2 - s^2| <= 10*n*eps*s_max^2.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoUsesGram, svd, svdValues } from '../src/spectrum/svd.js';
import { InputError } from '../src/util/errors.js';
import { mulberry32 } from './support/random.js';

// ---------------------------------------------------------------------------------------------------
// Reference construction

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** n x k matrix with orthonormal columns (row-major): Q of a Householder QR of a Gaussian matrix. */
function randomOrthonormal(n: number, k: number, random: () => number): Float64Array {
  const a = Float64Array.from({ length: n * k }, () => gaussian(random));
  const vs: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(n);
    let norm = 0;
    for (let i = j; i < n; i++) norm += a[i * k + j] ** 2;
    norm = Math.sqrt(norm);
    const alpha = a[j * k + j];
    const beta = alpha >= 0 ? -norm : norm;
    for (let i = j; i < n; i++) v[i] = a[i * k + j];
    v[j] -= beta;
    let vv = 0;
    for (let i = j; i < n; i++) vv += v[i] * v[i];
    if (vv > 0) {
      for (let c = j; c < k; c++) {
        let dot = 0;
        for (let i = j; i < n; i++) dot += v[i] * a[i * k + c];
        const f = (2 * dot) / vv;
        for (let i = j; i < n; i++) a[i * k + c] -= f * v[i];
      }
    }
    vs.push(v);
  }
  // Q = H_0 ... H_{k-1} [I; 0], applied backwards.
  const q = new Float64Array(n * k);
  for (let j = 0; j < k; j++) q[j * k + j] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j];
    let vv = 0;
    for (let i = j; i < n; i++) vv += v[i] * v[i];
    if (vv === 0) continue;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let i = j; i < n; i++) dot += v[i] * q[i * k + c];
      const f = (2 * dot) / vv;
      for (let i = j; i < n; i++) q[i * k + c] -= f * v[i];
    }
  }
  return q;
}

/** A = U diag(s) V^T (rows x cols) with random orthonormal U, V; s has min(rows, cols) entries. */
function withSpectrum(rows: number, cols: number, s: number[], seed: number): Float64Array {
  const k = Math.min(rows, cols);
  assert.equal(s.length, k);
  const random = mulberry32(seed);
  const u = randomOrthonormal(rows, k, random);
  const v = randomOrthonormal(cols, k, random);
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < k; p++) {
      const us = u[i * k + p] * s[p];
      if (us === 0) continue;
      for (let j = 0; j < cols; j++) a[i * cols + j] += us * v[j * k + p];
    }
  }
  return a;
}

const descending = (s: number[]) => [...s].sort((x, y) => y - x);

// ---------------------------------------------------------------------------------------------------
// Checks

type Arr = Float64Array | Float32Array;

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

function assertValues(got: Arr, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: count`);
  const sorted = descending(want);
  for (let i = 0; i < want.length; i++) {
    assert.ok(got[i] >= 0, `${what}: s[${i}] = ${got[i]} is negative`);
    if (i > 0) assert.ok(got[i] <= got[i - 1], `${what}: not descending at ${i}`);
    const err = Math.abs(got[i] - sorted[i]);
    assert.ok(err <= tol, `${what}: s[${i}] = ${got[i]}, want ${sorted[i]} (error ${err.toExponential(2)} > ${tol.toExponential(2)})`);
  }
}

/** max |X^T X - I| for X (n x k) stored row-major (columns orthonormal). */
function columnOrthonormality(x: Arr, n: number, k: number): number {
  let err = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += x[i * k + a] * x[i * k + b];
      err = Math.max(err, Math.abs(dot - (a === b ? 1 : 0)));
    }
  }
  return err;
}

/** max |X X^T - I| for X (k x n) stored row-major (rows orthonormal). */
function rowOrthonormality(x: Arr, k: number, n: number): number {
  let err = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += x[a * n + j] * x[b * n + j];
      err = Math.max(err, Math.abs(dot - (a === b ? 1 : 0)));
    }
  }
  return err;
}

/** max |A - U diag(s) VT|. */
function reconstructionError(a: ArrayLike<number>, rows: number, cols: number, s: Arr, u: Arr, vt: Arr): number {
  const k = s.length;
  let err = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += u[i * k + p] * s[p] * vt[p * cols + j];
      err = Math.max(err, Math.abs(a[i * cols + j] - sum));
    }
  }
  return err;
}

const EPS64 = Number.EPSILON;

/** Full check of values and vectors of an f64 matrix with known spectrum. */
async function checkF64(a: Float64Array, rows: number, cols: number, spectrum: number[], what: string): Promise<void> {
  const smax = Math.max(...spectrum, 0);
  const tol = 10 * Math.max(rows, cols) * EPS64 * Math.max(smax, Number.MIN_VALUE);
  const values = await svdValues(a, rows, cols, { route: 'bidiagonal' });
  assert.ok(values instanceof Float64Array, `${what}: values are Float64Array`);
  assertValues(values, spectrum, tol, `${what} values`);
  const { s, u, vt } = await svd(a, rows, cols);
  const k = Math.min(rows, cols);
  assert.ok(s instanceof Float64Array && u instanceof Float64Array && vt instanceof Float64Array);
  assert.equal(u.length, rows * k);
  assert.equal(vt.length, k * cols);
  assertValues(s, spectrum, tol, `${what} svd values`);
  const orthTol = 10 * Math.max(rows, cols) * EPS64;
  const uErr = columnOrthonormality(u, rows, k);
  const vErr = rowOrthonormality(vt, k, cols);
  assert.ok(uErr <= orthTol, `${what}: U^T U - I = ${uErr.toExponential(2)}`);
  assert.ok(vErr <= orthTol, `${what}: V^T V - I = ${vErr.toExponential(2)}`);
  const rErr = reconstructionError(a, rows, cols, s, u, vt);
  assert.ok(rErr <= tol, `${what}: A - U S V^T = ${rErr.toExponential(2)} > ${tol.toExponential(2)}`);
}

async function checkF32(a64: Float64Array, rows: number, cols: number, spectrum: number[], what: string): Promise<void> {
  const a = Float32Array.from(a64);
  const smax = Math.max(...spectrum);
  const tol = 1e-4 * smax;
  const values = await svdValues(a, rows, cols);
  assert.ok(values instanceof Float32Array, `${what}: f32 values are Float32Array`);
  assertValues(values, spectrum, tol, `${what} f32 values`);
  const { s, u, vt } = await svd(a, rows, cols);
  assert.ok(s instanceof Float32Array && u instanceof Float32Array && vt instanceof Float32Array);
  const k = Math.min(rows, cols);
  assertValues(s, spectrum, tol, `${what} f32 svd values`);
  assert.ok(columnOrthonormality(u, rows, k) <= 1e-4, `${what}: f32 U orthonormal`);
  assert.ok(rowOrthonormality(vt, k, cols) <= 1e-4, `${what}: f32 V orthonormal`);
  assert.ok(reconstructionError(a, rows, cols, s, u, vt) <= tol, `${what}: f32 reconstruction`);
}

function graded(k: number, low: number): number[] {
  return Array.from({ length: k }, (_, i) => (k === 1 ? 1 : Math.pow(low, i / (k - 1))));
}

// ---------------------------------------------------------------------------------------------------
// Spectra

test('square matrix with graded spectrum 1 .. 1e-12', async () => {
  const s = graded(60, 1e-12);
  await checkF64(withSpectrum(60, 60, s, 1), 60, 60, s, '60x60 graded');
});

test('square matrix crossing several panels (150 x 150), spread spectrum', async () => {
  const s = Array.from({ length: 150 }, (_, i) => 5 * Math.pow(0.9, i));
  await checkF64(withSpectrum(150, 150, s, 2), 150, 150, s, '150x150');
});

test('tall matrix with clustered singular values', async () => {
  const s = Array.from({ length: 40 }, (_, i) => (i < 30 ? 1 + 1e-10 * i : 1e-3 * (1 + 1e-12 * i)));
  await checkF64(withSpectrum(90, 40, s, 3), 90, 40, s, '90x40 clustered');
});

test('wide matrix with repeated singular values', async () => {
  const s = [3, 3, 3, 3, 2, 2, 2, 1, 1, 0.5, ...Array.from({ length: 25 }, () => 0.25)];
  await checkF64(withSpectrum(35, 80, s, 4), 35, 80, s, '35x80 repeated');
});

test('rank-deficient matrix: zero singular values (not zero rows)', async () => {
  const s = [...Array.from({ length: 20 }, (_, i) => 10 - i * 0.4), ...Array.from({ length: 10 }, () => 0)];
  await checkF64(withSpectrum(45, 30, s, 5), 45, 30, s, '45x30 rank 20');
  await checkF64(withSpectrum(30, 45, s, 6), 30, 45, s, '30x45 rank 20');
});

test('degenerate shapes: 1 x n, n x 1, 1 x 1', async () => {
  const row = Float64Array.from({ length: 17 }, (_, i) => Math.sin(i + 1));
  const norm = Math.hypot(...row);
  await checkF64(row, 1, 17, [norm], '1x17');
  await checkF64(row, 17, 1, [norm], '17x1');
  await checkF64(Float64Array.of(-2.5), 1, 1, [2.5], '1x1 negative');
  await checkF64(Float64Array.of(0), 1, 1, [0], '1x1 zero');
  await checkF32(row, 1, 17, [norm], '1x17');
  await checkF32(row, 17, 1, [norm], '17x1');
});

test('exactly-zero rows and columns are dropped and their zero values appended', async () => {
  const random = mulberry32(7);
  // A 12 x 9 matrix of rank 6, spread into 14 x 13 with zero rows {0, 5} and zero columns {1, 2, 8, 12}.
  const s = [4, 3, 2, 1, 0.5, 0.25];
  const core = withSpectrum(12, 9, [...s, 0, 0, 0], 8);
  const rows = 14, cols = 13;
  const zeroRows = new Set([0, 5]);
  const zeroCols = new Set([1, 2, 8, 12]);
  const a = new Float64Array(rows * cols);
  for (let i = 0, r = 0; i < rows; i++) {
    if (zeroRows.has(i)) continue;
    for (let j = 0, c = 0; j < cols; j++) {
      if (zeroCols.has(j)) continue;
      a[i * cols + j] = core[r * 9 + c];
      c++;
    }
    r++;
  }
  const spectrum = [...s, ...Array.from({ length: 13 - 6 }, () => 0)];
  await checkF64(a, rows, cols, spectrum, '14x13 with zero rows/cols');
  // Its transpose (wide); then matrices whose dropped columns (rows) leave no dropped rows (columns)
  // to complete the long side with, so the extra Householder vectors are needed.
  const at = new Float64Array(cols * rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) at[j * rows + i] = a[i * cols + j];
  await checkF64(at, cols, rows, spectrum, '13x14 transposed');
  const tall = new Float64Array(10 * 6);
  for (let i = 0; i < 10; i++) for (let j = 0; j < 6; j++) if (j !== 2 && j !== 4) tall[i * 6 + j] = gaussian(random);
  const ref = await svdValues(tall, 10, 6);
  assert.equal(ref[4], 0);
  assert.equal(ref[5], 0);
  const { s: st, u, vt } = await svd(tall, 10, 6);
  assert.ok(columnOrthonormality(u, 10, 6) <= 1e-13);
  assert.ok(rowOrthonormality(vt, 6, 6) <= 1e-13);
  assert.ok(reconstructionError(tall, 10, 6, st, u, vt) <= 1e-13 * st[0]);
  const wide = new Float64Array(6 * 10);
  for (let i = 0; i < 6; i++) for (let j = 0; j < 10; j++) wide[i * 10 + j] = tall[j * 6 + i];
  const w = await svd(wide, 6, 10);
  assert.ok(columnOrthonormality(w.u, 6, 6) <= 1e-13);
  assert.ok(rowOrthonormality(w.vt, 6, 10) <= 1e-13);
  assert.ok(reconstructionError(wide, 6, 10, w.s, w.u, w.vt) <= 1e-13 * w.s[0]);
  // All zero.
  const zero = await svd(new Float64Array(12), 3, 4);
  assert.deepEqual([...zero.s], [0, 0, 0]);
  assert.ok(columnOrthonormality(zero.u, 3, 3) === 0 && rowOrthonormality(zero.vt, 3, 4) === 0);
});

test('f32 input runs the f32 path: values and vectors to 1e-4 * s_max', async () => {
  const s1 = graded(50, 1e-3);
  await checkF32(withSpectrum(50, 50, s1, 9), 50, 50, s1, '50x50');
  const s2 = Array.from({ length: 30 }, (_, i) => 1 + (i % 3));
  await checkF32(withSpectrum(70, 30, s2, 10), 70, 30, s2, '70x30');
  await checkF32(withSpectrum(30, 70, s2, 11), 30, 70, s2, '30x70');
});

test('gram route: within |s^2 - s_true^2| <= 10 n eps s_max^2, f64 and f32', async () => {
  const cases: [number, number, number[]][] = [
    [80, 80, graded(80, 1e-12)],
    [120, 50, Array.from({ length: 50 }, (_, i) => 2 - i / 50)],
    [50, 120, Array.from({ length: 50 }, (_, i) => (i < 10 ? 0 : 1 / (1 + i)))],
  ];
  for (const [rows, cols, spectrum] of cases) {
    const a = withSpectrum(rows, cols, spectrum, rows + cols);
    const n = Math.min(rows, cols);
    const smax = Math.max(...spectrum);
    const sorted = descending(spectrum);
    for (const [input, eps] of [
      [a, EPS64],
      [Float32Array.from(a), 2 ** -23],
    ] as const) {
      const s = await svdValues(input as Float64Array, rows, cols, { route: 'gram' });
      assert.equal(s.length, n);
      for (let i = 0; i < n; i++) {
        if (i > 0) assert.ok(s[i] <= s[i - 1]);
        const err = Math.abs(s[i] ** 2 - sorted[i] ** 2);
        assert.ok(err <= 10 * n * eps * smax ** 2, `gram ${rows}x${cols} (eps ${eps}): s[${i}] = ${s[i]} vs ${sorted[i]}`);
      }
    }
  }
});

test('extreme scales neither overflow nor underflow (f64 1e+-200, f32 1e+-30), both routes', async () => {
  const base = Array.from({ length: 20 }, (_, i) => 1 + i / 10);
  const a = withSpectrum(30, 20, base, 12);
  for (const [factor, f64] of [[1e200, true], [1e-200, true], [1e30, false], [1e-30, false]] as const) {
    const spectrum = base.map((v) => v * factor);
    const scaled = a.map((v) => v * factor);
    const input = f64 ? scaled : Float32Array.from(scaled);
    const smax = Math.max(...spectrum);
    const tol = f64 ? 10 * 30 * EPS64 * smax : 1e-4 * smax;
    assertValues(await svdValues(input as Float64Array, 30, 20, { route: 'bidiagonal' }), spectrum, tol, `scale ${factor}`);
    const gramTol = f64 ? 1e-12 * smax : 2e-3 * smax; // well-conditioned: |ds| ~ n eps smax^2 / s
    assertValues(await svdValues(input as Float64Array, 30, 20, { route: 'gram' }), spectrum, gramTol, `gram scale ${factor}`);
    const { s, u, vt } = await svd(input as Float64Array, 30, 20);
    assert.ok(reconstructionError(input, 30, 20, s, u, vt) <= tol, `svd scale ${factor}`);
  }
});

test("autoUsesGram (full.ts's dense-route rule) holds only for large f64 problems", () => {
  assert.equal(autoUsesGram(4096, 4096, true), true);
  assert.equal(autoUsesGram(16384, 4096, true), true);
  assert.equal(autoUsesGram(4095, 50000, true), false);
  assert.equal(autoUsesGram(8192, 8192, false), false);
});

test('user errors are one-line InputErrors naming the input', async () => {
  const a = new Float64Array(6);
  const rejects = async (p: Promise<unknown>, pattern: RegExp) => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  };
  await rejects(svdValues(a, 0, 6), /rows must be a positive integer, got 0/);
  await rejects(svdValues(a, -2, 3), /rows must be a positive integer/);
  await rejects(svdValues(a, 2, 1.5), /cols must be a positive integer, got 1.5/);
  await rejects(svdValues(a, Number.NaN, 6), /rows must be a positive integer/);
  await rejects(svdValues(a, 4, 2), /6 entries but rows\*cols = 4\*2 = 8/);
  await rejects(svdValues(new Float64Array(0), 1, 1), /0 entries/);
  const bad = new Float64Array(6);
  bad[4] = Number.NaN;
  await rejects(svdValues(bad, 2, 3), /NaN at index 4 \(row 1, column 1\)/);
  bad[4] = 0;
  bad[2] = -Infinity;
  await rejects(svd(bad, 2, 3), /-Infinity at index 2 \(row 0, column 2\)/);
  await rejects(svdValues([1, 2] as unknown as Float64Array, 1, 2), /Float64Array or Float32Array/);
  await rejects(svd(a, 2, 3, { route: 'gram' }), /route 'gram' gives singular values only/);
  await rejects(svdValues(a, 2, 3, { route: 'fast' as 'auto' }), /route must be/);
});
