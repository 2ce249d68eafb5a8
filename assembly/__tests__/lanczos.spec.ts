import { allocate, release } from "../memory";
import { operatorDestroy, operatorFromDenseF64 } from "../operator";
import { lanczosRequestCount, lanczosRequestInput, lanczosRequestOutput, REQUEST_APPLY, REQUEST_DONE } from "../lanczos";
import {
  gklCreate, gklDestroy, gklResults, gklRun, gklStatus, gklStep, gklSteps, gklRestarts, rowJacobiSvdF64,
} from "../gkl";
import { gaussQuadratureF64, slqCreate, slqDestroy, slqResults, slqRun } from "../slq";
import { bandedGramBandwidth, bandedGramFromCsrF64, bandedInertiaF64, denseInertiaF64 } from "../inertia";
import { seedRandom, rand } from "./support/random";

// ---------------------------------------------------------------------------------------------------
// Helpers and naive references (independent of the kernels under test)

seedRandom(777);
/** Uniform in [-1/2, 1/2): half of rand(), exactly (a power-of-two scale). */
function random(): f64 {
  return 0.5 * rand();
}
function alloc64(count: i32): usize {
  const bytes = <usize>max(count, 1) << 3;
  const p = allocate(bytes);
  memory.fill(p, 0, bytes);
  return p;
}
@inline function get(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline function set(p: usize, i: i32, v: f64): void { store<f64>(p + (<usize>i << 3), v); }

/** Eigenvalues of the symmetric n x n matrix s (full storage, destroyed) by cyclic two-sided Jacobi; ascending in out. */
function jacobiEigenvalues(n: i32, s: usize, out: usize, vectors: usize): void {
  if (vectors) {
    memory.fill(vectors, 0, <usize>(n * n) << 3);
    for (let i = 0; i < n; i++) set(vectors, i * n + i, 1);
  }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0.0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += get(s, p * n + q) * get(s, p * n + q);
    if (off < 1e-40) break;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      const apq = get(s, p * n + q);
      if (apq == 0) continue;
      const theta = (get(s, q * n + q) - get(s, p * n + p)) / (2 * apq);
      const t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
      for (let k = 0; k < n; k++) {
        const akp = get(s, k * n + p), akq = get(s, k * n + q);
        set(s, k * n + p, c * akp - sn * akq);
        set(s, k * n + q, sn * akp + c * akq);
      }
      for (let k = 0; k < n; k++) {
        const apk = get(s, p * n + k), aqk = get(s, q * n + k);
        set(s, p * n + k, c * apk - sn * aqk);
        set(s, q * n + k, sn * apk + c * aqk);
      }
      if (vectors) {
        for (let k = 0; k < n; k++) {
          const vkp = get(vectors, k * n + p), vkq = get(vectors, k * n + q);
          set(vectors, k * n + p, c * vkp - sn * vkq);
          set(vectors, k * n + q, sn * vkp + c * vkq);
        }
      }
    }
  }
  for (let i = 0; i < n; i++) set(out, i, get(s, i * n + i));
}

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

/** m x n matrix U diag(s) V^T-like: a random matrix times a diagonal scaling of its columns, plus structure. */
function randomMatrix(m: i32, n: i32): usize {
  const a = alloc64(m * n);
  for (let i = 0; i < m * n; i++) set(a, i, random());
  return a;
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

describe("Gauss quadrature and SLQ", () => {
  it("gives the eigenvalues and squared first eigenvector components of a tridiagonal", () => {
    const n = 12;
    const d = alloc64(n), e = alloc64(n), nodes = alloc64(n), weights = alloc64(n);
    for (let i = 0; i < n; i++) set(d, i, random() * 4);
    for (let i = 0; i < n - 1; i++) set(e, i, random() + 0.6);
    expect<i32>(gaussQuadratureF64(n, d, e, nodes, weights)).toBe(0);
    const full = alloc64(n * n), ev = alloc64(n), vec = alloc64(n * n);
    for (let i = 0; i < n; i++) {
      set(full, i * n + i, get(d, i));
      if (i < n - 1) { set(full, i * n + i + 1, get(e, i)); set(full, (i + 1) * n + i, get(e, i)); }
    }
    jacobiEigenvalues(n, full, ev, vec);
    let sum = 0.0;
    for (let t = 0; t < n; t++) {
      // match node t with the reference eigenvalue nearest it
      let best = 0;
      for (let j = 1; j < n; j++) if (abs(get(ev, j) - get(nodes, t)) < abs(get(ev, best) - get(nodes, t))) best = j;
      expect<f64>(abs(get(ev, best) - get(nodes, t))).toBeLessThan(1e-13);
      expect<f64>(abs(get(vec, best) * get(vec, best) - get(weights, t))).toBeLessThan(1e-13);
      if (t > 0) expect<bool>(get(nodes, t) >= get(nodes, t - 1)).toBe(true);
      sum += get(weights, t);
    }
    expect<f64>(abs(sum - 1)).toBeLessThan(1e-14);
    release(d); release(e); release(nodes); release(weights); release(full); release(ev); release(vec);
  });

  it("SLQ rules integrate polynomials of degree < 2*steps exactly: sum w t^p = z^T (A^T A)^p z / z^T z", () => {
    const m = 30, n = 18, probes = 3, steps = 6;
    const a = randomMatrix(m, n);
    const op = operatorFromDenseF64(a, m, n);
    const start = alloc64(probes * n);
    for (let i = 0; i < probes * n; i++) set(start, i, random() < 0 ? -1.0 : 1.0);
    const state = slqCreate(m, n, probes, steps, start);
    slqRun(state, op);
    const nodes = alloc64(probes * steps), weights = alloc64(probes * steps);
    const lengths = allocate(probes * 4);
    expect<i32>(slqResults(state, nodes, weights, lengths, 0, 0)).toBe(0);
    const g = alloc64(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let r = 0; r < m; r++) s += get(a, r * n + i) * get(a, r * n + j);
      set(g, i * n + j, s);
    }
    const x = alloc64(n), y = alloc64(n);
    for (let q = 0; q < probes; q++) {
      expect<i32>(load<i32>(lengths + q * 4)).toBe(steps);
      memory.copy(x, start + (<usize>(q * n) << 3), <usize>n << 3);
      let zz = 0.0;
      for (let i = 0; i < n; i++) zz += get(x, i) * get(x, i);
      // moments z^T G^p z for p = 0..2*steps-1, as (G^{p/2} z)^T (G^{p - p/2} z) via repeated products
      let gnorm = 0.0;
      for (let i = 0; i < n; i++) gnorm = max(gnorm, abs(get(g, i * n + i)));
      for (let p = 0; p < 2 * steps; p++) {
        // x <- G^p z computed incrementally
        if (p > 0) {
          for (let i = 0; i < n; i++) {
            let s = 0.0;
            for (let j = 0; j < n; j++) s += get(g, i * n + j) * get(x, j);
            set(y, i, s);
          }
          memory.copy(x, y, <usize>n << 3);
        }
        let moment = 0.0;
        for (let i = 0; i < n; i++) moment += get(start, q * n + i) * get(x, i);
        moment /= zz;
        let quad = 0.0;
        for (let t = 0; t < steps; t++) quad += get(weights, q * steps + t) * Math.pow(get(nodes, q * steps + t), <f64>p);
        expect<f64>(abs(quad - moment)).toBeLessThan(1e-11 * Math.pow(gnorm * 4, <f64>p) + 1e-14);
      }
    }
    slqDestroy(state); operatorDestroy(op);
    release(a); release(start); release(nodes); release(weights); release(lengths); release(g); release(x); release(y);
  });
});

/** CSR of a random sparse banded-structure matrix (rows x cols), each row nonzero in a window. */
function sparseRows(rows: i32, cols: i32, window: i32, rowPtr: usize, colIdx: usize, values: usize, dense: usize): i32 {
  let nnz = 0;
  store<i32>(rowPtr, 0);
  for (let r = 0; r < rows; r++) {
    const start = (r * cols) / rows;
    for (let c = start; c < min(cols, start + window); c++) {
      if (random() < -0.3) continue; // some holes
      const v = random();
      store<i32>(colIdx + (<usize>nnz << 2), c);
      set(values, nnz, v);
      set(dense, r * cols + c, v);
      nnz++;
    }
    store<i32>(rowPtr + (<usize>(r + 1) << 2), nnz);
  }
  return nnz;
}

function countBelow(n: i32, ev: usize, x: f64): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) if (get(ev, i) < x) c++;
  return c;
}

describe("inertia", () => {
  it("forms the banded Gram matrix of sparse rows like a naive product", () => {
    const rows = 150, cols = 120, window = 9;
    const rowPtr = allocate((rows + 1) * 4), colIdx = allocate(rows * window * 4), values = alloc64(rows * window);
    const dense = alloc64(rows * cols);
    sparseRows(rows, cols, window, rowPtr, colIdx, values, dense);
    const w = bandedGramBandwidth(rows, cols, rowPtr, colIdx);
    // naive: largest |i-j| with a nonzero product
    let wantW = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < i; j++) {
      let any = false;
      for (let c = 0; c < cols; c++) if (get(dense, i * cols + c) != 0 && get(dense, j * cols + c) != 0) any = true;
      if (any) wantW = max(wantW, i - j);
    }
    expect<i32>(w).toBe(wantW);
    const band = alloc64(rows * (w + 1));
    expect<i32>(bandedGramFromCsrF64(rows, cols, rowPtr, colIdx, values, w, band)).toBe(0);
    for (let i = 0; i < rows; i++) for (let j = max(0, i - w); j <= i; j++) {
      let s = 0.0;
      for (let c = 0; c < cols; c++) s += get(dense, i * cols + c) * get(dense, j * cols + c);
      expect<f64>(abs(get(band, i * (w + 1) + j - i + w) - s)).toBeLessThan(1e-14);
    }
    release(rowPtr); release(colIdx); release(values); release(dense); release(band);
  });

  it("counts eigenvalues below shifts by banded LDL^T (unblocked and blocked paths) and dense Bunch-Kaufman", () => {
    const configs: i32[] = [60, 40, 7, 240, 200, 80]; // (rows, cols, window): w < 64 and w > 64
    for (let cfg = 0; cfg < 2; cfg++) {
      const rows = configs[cfg * 3], cols = configs[cfg * 3 + 1], window = configs[cfg * 3 + 2];
      const rowPtr = allocate((rows + 1) * 4), colIdx = allocate(rows * window * 4), values = alloc64(rows * window);
      const dense = alloc64(rows * cols);
      sparseRows(rows, cols, window, rowPtr, colIdx, values, dense);
      const w = bandedGramBandwidth(rows, cols, rowPtr, colIdx);
      if (cfg == 1) expect<bool>(w > 64).toBe(true, "exercise the blocked path");
      const band = alloc64(rows * (w + 1)), work = alloc64(rows * (w + 1));
      bandedGramFromCsrF64(rows, cols, rowPtr, colIdx, values, w, band);
      const g = alloc64(rows * rows), gl = alloc64(rows * rows);
      for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
        let s = 0.0;
        for (let c = 0; c < cols; c++) s += get(dense, i * cols + c) * get(dense, j * cols + c);
        set(g, i * rows + j, s);
      }
      const ev = alloc64(rows), gcopy = alloc64(rows * rows);
      memory.copy(gcopy, g, <usize>(rows * rows) << 3);
      jacobiEigenvalues(rows, gcopy, ev, 0);
      const info = alloc64(4);
      const zeros = allocate(4);
      // Shifts: below the spectrum, midpoints of consecutive eigenvalues (G has rows - cols exact
      // zero eigenvalues, so the midpoints start from the gap above them), above the spectrum.
      const sorted = alloc64(rows);
      memory.copy(sorted, ev, <usize>rows << 3);
      for (let i = 1; i < rows; i++) {
        const x = get(sorted, i);
        let j = i;
        while (j > 0 && get(sorted, j - 1) > x) { set(sorted, j, get(sorted, j - 1)); j--; }
        set(sorted, j, x);
      }
      let certified = 0;
      for (let t = 0; t <= 12; t++) {
        let shift = t == 0 ? -0.5 : 1e3;
        if (t > 0 && t < 12) {
          const i0 = min(rows - 2, rows - cols - 1 + (t * cols) / 12);
          shift = 0.5 * (get(sorted, i0) + get(sorted, i0 + 1));
        }
        const want = countBelow(rows, ev, shift);
        memory.copy(work, band, (<usize>rows * <usize>(w + 1)) << 3);
        const banded = bandedInertiaF64(rows, w, work, shift, info);
        if (banded >= 0 && get(info, 0) < 1e8) {
          expect<i32>(banded).toBe(want);
          certified++;
        }
        memory.copy(gl, g, <usize>(rows * rows) << 3);
        expect<i32>(denseInertiaF64(rows, gl, rows, shift, zeros)).toBe(want);
      }
      expect<i32>(certified).toBeGreaterThanOrEqual(11, "banded LDL^T certified at most shifts");
      release(rowPtr); release(colIdx); release(values); release(dense); release(band); release(work);
      release(g); release(gl); release(ev); release(gcopy); release(info); release(zeros); release(sorted);
    }
  });

  it("Bunch-Kaufman takes 2x2 pivots on indefinite matrices and counts exact zeros", () => {
    // [[0, 1], [1, 0]] (+) diag(-2, 0, 3): eigenvalues -2, -1, 0, 1, 3
    const n = 5;
    const a = alloc64(n * n);
    set(a, 1 * n + 0, 1.0);
    set(a, 2 * n + 2, -2.0);
    set(a, 4 * n + 4, 3.0);
    const zeros = allocate(4);
    expect<i32>(denseInertiaF64(n, a, n, 0.0, zeros)).toBe(2);
    expect<i32>(load<i32>(zeros)).toBe(1);
    // A random indefinite symmetric matrix with a permuted structure, at several shifts.
    const m = 40;
    const b = alloc64(m * m), work = alloc64(m * m), ev = alloc64(m);
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) {
      const v = i == j ? 0.0 : random();
      set(b, i * m + j, v);
      set(b, j * m + i, v);
    }
    memory.copy(work, b, <usize>(m * m) << 3);
    jacobiEigenvalues(m, work, ev, 0);
    for (let t = -4; t <= 4; t++) {
      const shift = <f64>t * 0.37 + 0.011;
      let want = 0;
      for (let i = 0; i < m; i++) if (get(ev, i) < shift) want++;
      memory.copy(work, b, <usize>(m * m) << 3);
      expect<i32>(denseInertiaF64(m, work, m, shift, 0)).toBe(want);
    }
    release(a); release(zeros); release(b); release(work); release(ev);
  });
});
