import { release } from "../memory";
import { operatorDestroy, operatorFromDenseF64 } from "../operator";
import { lanczosRequestCount, lanczosRequestInput, lanczosRequestOutput, REQUEST_APPLY, REQUEST_DONE } from "../lanczos";
import {
  gklCreate, gklDestroy, gklResults, gklRun, gklStatus, gklStep, gklSteps, gklRestarts, rowJacobiSvdF64,
} from "../gkl";
import { alloc64, get, jacobiEigenvalues, random, randomMatrix, set } from "./support/dense";
import { seedRandom } from "./support/random";

// ---------------------------------------------------------------------------------------------------
// Naive references (independent of the kernels under test)

seedRandom(777);

/** Singular values (descending) of the m x n matrix a: square roots of the eigenvalues of the smaller Gram matrix. */
function naiveSingularValues(m: i32, n: i32, a: usize): usize {
  const d = min(m, n);
  const g = alloc64(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0.0;
    if (n <= m) for (let r = 0; r < m; r++) s += get(a, r * n + i) * get(a, r * n + j);
    else for (let c = 0; c < n; c++) s += get(a, i * n + c) * get(a, j * n + c);
    set(g, i * d + j, s);
  }
  const ev = alloc64(d);
  jacobiEigenvalues(d, g, ev, 0);
  const out = alloc64(d);
  // descending square roots
  for (let i = 0; i < d; i++) {
    let best = -1;
    for (let j = 0; j < d; j++) if (get(ev, j) > -1e300 && (best < 0 || get(ev, j) > get(ev, best))) best = j;
    set(out, i, Math.sqrt(max(0.0, get(ev, best))));
    set(ev, best, -1e301);
  }
  release(g); release(ev);
  return out;
}

function residualOk(m: i32, n: i32, a: usize, s: f64, u: usize, v: usize, tol: f64): bool {
  // ||A v - s u|| and ||A^T u - s v||
  let r1 = 0.0, r2 = 0.0;
  for (let i = 0; i < m; i++) {
    let x = 0.0;
    for (let j = 0; j < n; j++) x += get(a, i * n + j) * get(v, j);
    r1 += (x - s * get(u, i)) * (x - s * get(u, i));
  }
  for (let j = 0; j < n; j++) {
    let x = 0.0;
    for (let i = 0; i < m; i++) x += get(a, i * n + j) * get(u, i);
    r2 += (x - s * get(v, j)) * (x - s * get(v, j));
  }
  return Math.sqrt(r1) <= tol && Math.sqrt(r2) <= tol;
}

/** Run GKL on a dense m x n matrix and compare with the naive reference. */
function checkGkl(m: i32, n: i32, a: usize, k: i32, largest: i32, subspace: i32, valueTol: f64, block: i32 = 1): void {
  const reference = naiveSingularValues(m, n, a);
  const op = operatorFromDenseF64(a, m, n);
  const state = gklCreate(m, n, k, largest, block, subspace, 0, 1e-12, 5000, 42);
  expect<usize>(state).not.toBe(0);
  expect<i32>(gklRun(state, op)).toBe(0, "converged");
  const values = alloc64(k), u = alloc64(k * m), v = alloc64(k * n), res = alloc64(k);
  expect<i32>(gklResults(state, values, u, v, res, 0)).toBe(k);
  const d = min(m, n);
  const smax = get(reference, 0);
  for (let i = 0; i < k; i++) {
    const want = largest ? get(reference, i) : get(reference, d - 1 - i);
    expect<f64>(abs(get(values, i) - want)).toBeLessThanOrEqual(valueTol * smax);
    expect<bool>(residualOk(m, n, a, get(values, i), u + (<usize>(i * m) << 3), v + (<usize>(i * n) << 3), 1e-10 * smax)).toBe(true);
    expect<f64>(get(res, i)).toBeLessThanOrEqual(1e-10 * smax);
    // unit vectors, mutually orthogonal
    for (let j = 0; j <= i; j++) {
      let du = 0.0, dv = 0.0;
      for (let r = 0; r < m; r++) du += get(u, i * m + r) * get(u, j * m + r);
      for (let c = 0; c < n; c++) dv += get(v, i * n + c) * get(v, j * n + c);
      expect<f64>(abs(du - (i == j ? 1.0 : 0.0))).toBeLessThan(1e-10);
      expect<f64>(abs(dv - (i == j ? 1.0 : 0.0))).toBeLessThan(1e-10);
    }
  }
  gklDestroy(state);
  operatorDestroy(op);
  release(values); release(u); release(v); release(res); release(reference);
}

describe("rowJacobiSvdF64", () => {
  it("factors a small matrix as R^T diag(sigma) Vt with orthonormal factors", () => {
    const n = 9;
    const w = alloc64(n * n), copy = alloc64(n * n), r = alloc64(n * n), sigma = alloc64(n);
    for (let i = 0; i < n * n; i++) set(w, i, random());
    memory.copy(copy, w, <usize>(n * n) << 3);
    rowJacobiSvdF64(n, w, r, sigma);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let x = 0.0;
      for (let t = 0; t < n; t++) x += get(r, t * n + i) * get(sigma, t) * get(w, t * n + j);
      expect<f64>(abs(x - get(copy, i * n + j))).toBeLessThan(1e-13);
    }
    const ref = naiveSingularValues(n, n, copy);
    // sigma unsorted: compare sorted
    for (let t = 0; t < n; t++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (get(sigma, j) > get(sigma, best)) best = j;
      expect<f64>(abs(get(sigma, best) - get(ref, t))).toBeLessThan(1e-13);
      set(sigma, best, -1);
    }
    release(w); release(copy); release(r); release(sigma); release(ref);
  });
});

describe("GKL thick-restart bidiagonalization", () => {
  it("finds the largest singular triplets of a tall dense matrix through restarts", () => {
    const m = 60, n = 40;
    const a = randomMatrix(m, n);
    checkGkl(m, n, a, 4, 1, 10, 1e-11);
    release(a);
  });

  it("finds the largest triplets of a wide matrix (run on the transpose)", () => {
    const m = 25, n = 70;
    const a = randomMatrix(m, n);
    checkGkl(m, n, a, 3, 1, 9, 1e-11);
    release(a);
  });

  it("finds the smallest singular triplets, tall and wide", () => {
    const a = randomMatrix(45, 30);
    checkGkl(45, 30, a, 3, 0, 16, 1e-10);
    release(a);
    const b = randomMatrix(20, 33);
    checkGkl(20, 33, b, 2, 0, 12, 1e-10);
    release(b);
  });

  it("block GKL (b = 2, 3) finds the same triplets, including a multiple singular value", () => {
    const m = 60, n = 40;
    const a = randomMatrix(m, n);
    checkGkl(m, n, a, 4, 1, 12, 1e-11, 2);
    checkGkl(m, n, a, 3, 0, 15, 1e-10, 3);
    // diag(3, 3, 3, 2, 1, ...) padded: a triple singular value, found only by blocks of >= 3.
    const d = alloc64(30 * 20);
    for (let i = 0; i < 20; i++) set(d, i * 20 + i, i < 3 ? 3.0 : 2.0 / <f64>(i - 1));
    checkGkl(30, 20, d, 4, 1, 9, 1e-12, 3);
    release(a); release(d);
  });

  it("handles exact zero singular values (rank-deficient) and the full space (k = n)", () => {
    // rank 4: a = x y^T with x 30x4, y 12x4
    const m = 30, n = 12, rank = 4;
    const x = randomMatrix(m, rank), y = randomMatrix(n, rank);
    const a = alloc64(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let t = 0; t < rank; t++) s += get(x, i * rank + t) * get(y, j * rank + t);
      set(a, i * n + j, s);
    }
    checkGkl(m, n, a, 3, 0, 8, 1e-10);
    checkGkl(m, n, a, 4, 1, 6, 1e-11);
    const small = randomMatrix(7, 5);
    checkGkl(7, 5, small, 5, 1, 5, 1e-12);
    release(x); release(y); release(a); release(small);
  });

  it("gives the same results when the requests are answered by hand (reverse communication)", () => {
    const m = 40, n = 50;
    const a = randomMatrix(m, n);
    const op = operatorFromDenseF64(a, m, n);
    const s1 = gklCreate(m, n, 3, 1, 2, 8, 0, 1e-12, 2000, 7);
    gklRun(s1, op);
    const s2 = gklCreate(m, n, 3, 1, 2, 8, 0, 1e-12, 2000, 7);
    let code = gklStep(s2);
    while (code != REQUEST_DONE) {
      const count = lanczosRequestCount(s2), input = lanczosRequestInput(s2), output = lanczosRequestOutput(s2);
      for (let v = 0; v < count; v++) {
        if (code == REQUEST_APPLY) {
          for (let i = 0; i < m; i++) {
            let s = 0.0;
            for (let j = 0; j < n; j++) s += get(a, i * n + j) * get(input, v * n + j);
            set(output, v * m + i, s);
          }
        } else {
          for (let j = 0; j < n; j++) {
            let s = 0.0;
            for (let i = 0; i < m; i++) s += get(a, i * n + j) * get(input, v * m + i);
            set(output, v * n + j, s);
          }
        }
      }
      code = gklStep(s2);
    }
    expect<i32>(gklStatus(s2)).toBe(0);
    expect<i32>(gklSteps(s2)).toBe(gklSteps(s1));
    expect<i32>(gklRestarts(s2)).toBeGreaterThan(0);
    const v1 = alloc64(3), v2 = alloc64(3);
    gklResults(s1, v1, 0, 0, 0, 0);
    gklResults(s2, v2, 0, 0, 0, 0);
    // Products summed in a different order: agreement to rounding, not bits.
    for (let i = 0; i < 3; i++) expect<f64>(abs(get(v1, i) - get(v2, i))).toBeLessThan(1e-12 * get(v1, 0));
    gklDestroy(s1); gklDestroy(s2); operatorDestroy(op);
    release(a); release(v1); release(v2);
  });

  it("refuses invalid arguments and stops at maxSteps", () => {
    expect<usize>(gklCreate(5, 4, 0, 1, 1, 4, 0, 1e-10, 10, 1)).toBe(0);
    expect<usize>(gklCreate(5, 4, 5, 1, 1, 4, 0, 1e-10, 10, 1)).toBe(0);
    expect<usize>(gklCreate(0, 4, 1, 1, 1, 4, 0, 1e-10, 10, 1)).toBe(0);
    const a = randomMatrix(80, 80);
    const op = operatorFromDenseF64(a, 80, 80);
    const s = gklCreate(80, 80, 5, 0, 1, 8, 0, 1e-14, 12, 3);
    expect<i32>(gklRun(s, op)).toBe(1, "not converged within 12 steps");
    expect<i32>(gklSteps(s)).toBe(12);
    gklDestroy(s); operatorDestroy(op); release(a);
  });
});
