/**
 * The two-stage bidiagonalization of svdValues (assembly/band.ts: dense to band by GEMMs, bulge chase
 * to bidiagonal; f64 from order TWO_STAGE_MIN_ORDER), against LAPACK: NumPy's singular values
 * (test/fixtures/svd/lapack-values.json, scripts/make-svd-fixture.py) of integer-pattern matrices
 * rebuilt here exactly. Each value within 10 max(m, n) eps s_max of LAPACK's (both are backward
 * stable to a small multiple of n eps s_max), and sum s^2 = ||A||_F^2 to 10 n eps. On 2 threads (the
 * threaded kernels' pool splits the band reduction's GEMMs) the values
 * are bitwise those of 1 thread.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TWO_STAGE_MIN_ORDER, TWO_STAGE_THREADS_MIN_ORDER, svdValues } from '../src/spectrum/svd.js';
import { InputError } from '../src/util/errors.js';
import { loadThreadedKernels } from '../src/wasm/threads.js';
import { repoRoot } from './support/shared.js';

interface Case {
  rows: number;
  cols: number;
  frobeniusSquared: number;
  values: number[];
}
const fixture = JSON.parse(readFileSync(`${repoRoot}test/fixtures/svd/lapack-values.json`, 'utf8')) as { cases: Case[] };

/** The generator's entry (i, j): integer arithmetic below 2^53, one correctly rounded division. */
function entry(i: number, j: number): number {
  const h = (i * 7919 + j * 104729 + i * j * 31 + ((i * i) % 97) * 13 + ((j * j * j) % 89) * 7) % 2001;
  return (h - 1000) / 1000;
}

function matrix(m: number, n: number): Float64Array {
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] = entry(i, j);
  return a;
}

const EPS = Number.EPSILON;

function check(got: Float64Array, c: Case, what: string): void {
  const k = Math.min(c.rows, c.cols);
  assert.equal(got.length, k, `${what}: count`);
  const smax = c.values[0];
  const tol = 10 * Math.max(c.rows, c.cols) * EPS * smax;
  let worst = 0;
  for (let i = 0; i < k; i++) worst = Math.max(worst, Math.abs(got[i] - c.values[i]));
  assert.ok(worst <= tol, `${what}: max |s - s_lapack| = ${worst.toExponential(2)} > ${tol.toExponential(2)}`);
  let sumSquares = 0;
  for (const s of got) sumSquares += s * s;
  const rel = Math.abs(sumSquares - c.frobeniusSquared) / c.frobeniusSquared;
  assert.ok(rel <= 10 * k * EPS, `${what}: sum s^2 vs ||A||_F^2 relative ${rel.toExponential(2)}`);
}

test('the fixture covers the two-stage path: square, tall below and above the QR ratio, threaded order', () => {
  const orders = fixture.cases.map((c) => Math.min(c.rows, c.cols));
  assert.ok(orders.every((n) => n >= TWO_STAGE_MIN_ORDER));
  assert.ok(orders.some((n) => n >= TWO_STAGE_THREADS_MIN_ORDER));
  assert.ok(fixture.cases.some((c) => c.rows > c.cols && c.rows < 1.6 * c.cols));
  assert.ok(fixture.cases.some((c) => c.rows >= 1.6 * c.cols));
});

for (const c of fixture.cases) {
  test(`${c.rows} x ${c.cols}: values within 10 max(m,n) eps s_max of LAPACK's, one thread`, async () => {
    const a = matrix(c.rows, c.cols);
    check(await svdValues(a, c.rows, c.cols, { route: 'bidiagonal', threads: 1 }), c, `${c.rows}x${c.cols}`);
  });
}

test('wide input (the transpose of a fixture case) gives the same values', async () => {
  const c = fixture.cases.find((x) => x.rows === 300 && x.cols === 260)!;
  const a = matrix(c.rows, c.cols);
  const t = new Float64Array(a.length);
  for (let i = 0; i < c.rows; i++) for (let j = 0; j < c.cols; j++) t[j * c.rows + i] = a[i * c.cols + j];
  check(await svdValues(t, c.cols, c.rows, { route: 'bidiagonal', threads: 1 }), c, 'transposed 260x300');
});

test('2 threads: bitwise the values of 1 thread, and within the LAPACK tolerance', async () => {
  const c = fixture.cases.find((x) => Math.min(x.rows, x.cols) >= TWO_STAGE_THREADS_MIN_ORDER)!;
  const a = matrix(c.rows, c.cols);
  const one = await svdValues(a, c.rows, c.cols, { route: 'bidiagonal', threads: 1 });
  // Several calls: a race in the pipelined chase showed on the helper's first, unoptimized run.
  for (let call = 0; call < 3; call++) {
    const two = await svdValues(a, c.rows, c.cols, { route: 'bidiagonal', threads: 2 });
    check(two, c, `${c.rows}x${c.cols}, 2 threads`);
    assert.deepEqual(two, one, `call ${call}: 2 threads differ from 1`);
  }
  // The pool really took part: its helper computed blocks of the band reduction's GEMMs.
  const threaded = await loadThreadedKernels({ threads: 2 });
  assert.ok(threaded, 'threaded kernels available in Node');
  const before = threaded.blocksDone();
  const again = await svdValues(a, c.rows, c.cols, { route: 'bidiagonal', kernels: threaded });
  const after = threaded.blocksDone();
  assert.deepEqual(again, one);
  assert.ok(after[1] > before[1], `helper thread blocks ${before[1]} -> ${after[1]}`);
});

test('threads must be a positive integer (InputError naming it)', async () => {
  const a = matrix(4, 4);
  for (const threads of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(svdValues(a, 4, 4, { threads }), (err: Error) => err instanceof InputError && /threads must be a positive integer/.test(err.message));
  }
});

test('all-ones matrices (rank one): s_max = sqrt(m n), the rest 0, no NaN from subnormal reflector columns', async () => {
  // Each Householder step of a panel leaves the next column of a rank-one matrix eps times smaller, so
  // by the 21st column of the first panel its entries are subnormal (blas.ts nrm2F64 used to overflow
  // 1/scale there and return NaN).
  for (const [m, n] of [[150, 150], [200, 200], [260, 200], [400, 200]]) {
    const a = new Float64Array(m * n).fill(1);
    const s = await svdValues(a, m, n, { route: 'bidiagonal', threads: 1 });
    const smax = Math.sqrt(m * n);
    const tol = 10 * Math.max(m, n) * EPS * smax;
    assert.ok(Math.abs(s[0] - smax) <= tol, `${m}x${n}: s_max ${s[0]}, want ${smax}`);
    for (let i = 1; i < s.length; i++) assert.ok(s[i] >= 0 && s[i] <= tol, `${m}x${n}: s[${i}] = ${s[i]}`);
  }
});
