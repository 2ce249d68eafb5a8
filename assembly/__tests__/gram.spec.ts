import { allocate, release } from "../memory";
import {
  unitOperatorCreateF64, unitOperatorCreateF32, unitOperatorDestroy, unitOperatorActiveRows, unitOperatorRows,
  unitOperatorColumns, unitJacobianDenseF64,
} from "../unit";
import { operatorFromUnitF64, operatorFromUnitF32, operatorFromDenseF64, operatorDestroy } from "../operator";
import { sterfF64 } from "../tridiagonal";
import {
  gramUnitOfOperator, gramActiveRowsPixelMajor, gramWindowLength, gramRowWindowsF64, gramLowerF64,
  gramTridiagonalizeF64, gramSingularValuesF64, gramErrorBoundF64,
} from "../gram";
import { seedRandom, rand } from "./support/random";

seedRandom(4242);
function alloc64(count: i32): usize {
  const bytes = <usize>max(count, 1) << 3;
  const p = allocate(bytes);
  memory.fill(p, 0, bytes);
  return p;
}
function random64(count: i32): usize {
  const p = alloc64(count);
  for (let i = 0; i < count; i++) store<f64>(p + (<usize>i << 3), rand());
  return p;
}
/** u8 mask with about `fraction` of the entries set. */
function randomMask(count: i32, fraction: f64): usize {
  const p = allocate(<usize>max(count, 1));
  for (let i = 0; i < count; i++) store<u8>(p + <usize>i, (rand() + 1) * 0.5 < fraction ? 1 : 0);
  return p;
}
@inline function get(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline function geti(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }

/** A random f64 unit operator: C_in x H x H -> C_out x H' x H', stride s, masks about 60 % active. */
function randomUnit(cIn: i32, h: i32, cOut: i32, s: i32, alpha: f64): usize {
  const ho = (h - 1) / s + 1;
  const w1 = random64(cOut * cIn * 9), w2 = random64(cOut * cOut * 9);
  const s1 = random64(cOut), s2 = random64(cOut);
  const mid = randomMask(cOut * ho * ho, 0.6), out = randomMask(cOut * ho * ho, 0.6);
  const unit = unitOperatorCreateF64(cIn, h, h, cOut, s, alpha, w1, s1, w2, s2, mid, out);
  release(w1); release(w2); release(s1); release(s2); release(mid); release(out);
  return unit;
}

/** Everything the Gram route computes for a unit, and the dense reference J. */
class Case {
  unit: usize = 0;
  m: i32 = 0;
  n: i32 = 0;
  count: i32 = 0;
  rows: usize = 0;
  windows: usize = 0;
  gram: usize = 0;
  dense: usize = 0;
}

function buildCase(cIn: i32, h: i32, cOut: i32, s: i32, alpha: f64, pixelMajor: bool): Case {
  const c = new Case();
  c.unit = randomUnit(cIn, h, cOut, s, alpha);
  c.m = unitOperatorRows(c.unit);
  c.n = unitOperatorColumns(c.unit);
  c.rows = allocate(<usize>c.m << 2);
  c.count = pixelMajor ? gramActiveRowsPixelMajor(c.unit, c.rows) : unitOperatorActiveRows(c.unit, c.rows);
  c.windows = alloc64(c.count * gramWindowLength(c.unit));
  gramRowWindowsF64(c.unit, c.rows, c.count, 1.0, c.windows);
  c.gram = alloc64(c.count * c.count);
  gramLowerF64(c.unit, c.rows, c.count, c.windows, c.gram, c.count);
  c.dense = alloc64(c.m * c.n);
  unitJacobianDenseF64(c.unit, c.dense);
  return c;
}

function freeCase(c: Case): void {
  release(c.rows); release(c.windows); release(c.gram); release(c.dense);
  unitOperatorDestroy(c.unit);
}

/** max |G[r, t] - <J[rows[r]], J[rows[t]]>| over t <= r, relative to max |J J^T|. */
function gramError(c: Case): f64 {
  let err = 0.0, scale = 0.0;
  for (let r = 0; r < c.count; r++) {
    const i = geti(c.rows, r);
    for (let t = 0; t <= r; t++) {
      const j = geti(c.rows, t);
      let dot = 0.0;
      for (let k = 0; k < c.n; k++) dot += get(c.dense, i * c.n + k) * get(c.dense, j * c.n + k);
      err = max(err, abs(get(c.gram, r * c.count + t) - dot));
      scale = max(scale, abs(dot));
    }
  }
  return err / scale;
}

describe("gram: sparse J_A J_A^T against the dense product", () => {
  it("stride 1 (5x5 windows), pixel-major rows", () => {
    const c = buildCase(4, 7, 4, 1, 1.0, true);
    expect<i32>(c.count).toBeGreaterThan(0);
    expect<f64>(gramError(c)).toBeLessThan(1e-14);
    freeCase(c);
  });
  it("stride 1, rows in J's own (C, H, W) order, alpha = 0.5", () => {
    const c = buildCase(3, 9, 3, 1, 0.5, false);
    expect<f64>(gramError(c)).toBeLessThan(1e-14);
    freeCase(c);
  });
  it("stride 2 with the option-A shortcut (7x7 windows), odd sizes and odd channel count", () => {
    const c = buildCase(3, 9, 5, 2, 1.0, true);
    expect<f64>(gramError(c)).toBeLessThan(1e-14);
    freeCase(c);
  });
  it("stride 2 on an even image", () => {
    const c = buildCase(2, 10, 4, 2, 1.0, true);
    expect<f64>(gramError(c)).toBeLessThan(1e-14);
    freeCase(c);
  });
});

describe("gram: windows", () => {
  it("hold every nonzero of their row (equal norms), scaled by the given power of two", () => {
    const c = buildCase(4, 8, 4, 2, 1.0, true);
    const len = gramWindowLength(c.unit);
    expect<i32>(len).toBe(7 * 7 * 4);
    const scaled = alloc64(c.count * len);
    const amax = gramRowWindowsF64(c.unit, c.rows, c.count, 0.25, scaled);
    let worst = 0.0, jmax = 0.0;
    for (let r = 0; r < c.count; r++) {
      const i = geti(c.rows, r);
      let rowNorm = 0.0, winNorm = 0.0;
      for (let k = 0; k < c.n; k++) {
        const v = get(c.dense, i * c.n + k);
        rowNorm += v * v;
        jmax = max(jmax, abs(v));
      }
      for (let k = 0; k < len; k++) winNorm += get(c.windows, r * len + k) * get(c.windows, r * len + k);
      worst = max(worst, abs(rowNorm - winNorm) / rowNorm);
      for (let k = 0; k < len; k++) expect<f64>(get(scaled, r * len + k)).toBe(0.25 * get(c.windows, r * len + k));
    }
    expect<f64>(worst).toBeLessThan(1e-15);
    expect<f64>(amax).toBe(jmax);
    release(scaled);
    freeCase(c);
  });
  it("pixel-major order is a permutation of the active rows, sorted by (pixel, channel)", () => {
    const c = buildCase(3, 6, 3, 1, 1.0, true);
    const plain = allocate(<usize>c.m << 2);
    expect<i32>(unitOperatorActiveRows(c.unit, plain)).toBe(c.count);
    const plane = 36;
    let sortedCount = 0;
    for (let r = 0; r < c.count; r++) {
      if (r > 0) {
        const a = geti(c.rows, r - 1), b = geti(c.rows, r);
        const before = a % plane < b % plane || (a % plane == b % plane && a < b);
        if (before) sortedCount++;
      }
      let found = false;
      for (let t = 0; t < c.count; t++) if (geti(plain, t) == geti(c.rows, r)) found = true;
      expect<bool>(found).toBe(true);
    }
    expect<i32>(sortedCount).toBe(c.count - 1);
    release(plain);
    freeCase(c);
  });
});

describe("gram: singular values", () => {
  it("sum s^2 = ||J||_F^2 and sum s^4 = ||J J^T||_F^2; the error estimate is small for a well-conditioned J", () => {
    const c = buildCase(4, 8, 4, 1, 1.0, true);
    const nG = c.count;
    // G is overwritten by the reduction: keep ||G||_F^2 from the lower triangle first.
    let gram2 = 0.0;
    for (let r = 0; r < nG; r++) for (let t = 0; t <= r; t++) {
      const v = get(c.gram, r * nG + t);
      gram2 += (r == t ? 1.0 : 2.0) * v * v;
    }
    let frob2 = 0.0;
    for (let k = 0; k < c.m * c.n; k++) frob2 += get(c.dense, k) * get(c.dense, k);
    const d = alloc64(nG), e = alloc64(nG), tau = alloc64(nG);
    gramTridiagonalizeF64(nG, c.gram, nG, d, e, tau, 4);
    expect<i32>(sterfF64(nG, d, e, 1)).toBe(0);
    gramSingularValuesF64(nG, d, 1.0);
    let s2 = 0.0, s4 = 0.0;
    for (let i = 0; i < nG; i++) {
      const s = get(d, i);
      expect<bool>(s >= 0).toBe(true);
      if (i > 0) expect<bool>(s <= get(d, i - 1)).toBe(true);
      s2 += s * s;
      s4 += s * s * s * s;
    }
    expect<f64>(abs(s2 - frob2) / frob2).toBeLessThan(1e-13);
    expect<f64>(abs(s4 - gram2) / gram2).toBeLessThan(1e-13);
    const bound = gramErrorBoundF64(nG, d);
    expect<f64>(bound).toBeGreaterThan(0);
    expect<f64>(bound).toBeLessThanOrEqual(<f64>nG * f64.EPSILON * get(d, 0) * get(d, 0) / get(d, nG - 1));
    expect<f64>(bound).toBeGreaterThanOrEqual(0.5 * <f64>nG * f64.EPSILON * get(d, 0) * get(d, 0) / get(d, nG - 1));
    release(d); release(e); release(tau);
    freeCase(c);
  });
  it("the values are scaled back: windows times 2^-3 give the same singular values", () => {
    const c = buildCase(3, 6, 3, 1, 1.0, true);
    const nG = c.count, len = gramWindowLength(c.unit);
    const values = new StaticArray<f64>(2 * nG);
    for (let pass = 0; pass < 2; pass++) {
      const scale = pass == 0 ? 1.0 : 0.125;
      gramRowWindowsF64(c.unit, c.rows, nG, scale, c.windows);
      gramLowerF64(c.unit, c.rows, nG, c.windows, c.gram, nG);
      const d = alloc64(nG), e = alloc64(nG), tau = alloc64(nG);
      gramTridiagonalizeF64(nG, c.gram, nG, d, e, tau, pass == 0 ? 0 : 3);
      sterfF64(nG, d, e, 1);
      gramSingularValuesF64(nG, d, scale);
      for (let i = 0; i < nG; i++) values[pass * nG + i] = get(d, i);
      release(d); release(e); release(tau);
    }
    for (let i = 0; i < nG; i++) expect<f64>(abs(values[i] - values[nG + i])).toBeLessThan(1e-13 * values[0]);
    expect<i32>(len).toBe(100);
    freeCase(c);
  });
  it("the estimate: sqrt(N eps) s_max for a zero value, about N eps s_max^2 / (2 s_min) otherwise", () => {
    const values = alloc64(3);
    store<f64>(values, 2.0);
    store<f64>(values + 8, 1.0);
    store<f64>(values + 16, 0.0);
    expect<f64>(gramErrorBoundF64(3, values)).toBe(Math.sqrt(3 * f64.EPSILON * 4.0));
    // Far above sqrt(Delta): Delta / (s' + sqrt(s'^2 - Delta)), about Delta / (2 s').
    store<f64>(values + 16, 0.5);
    const delta = 3 * f64.EPSILON * 4.0;
    expect<f64>(gramErrorBoundF64(3, values)).toBe(delta / (0.5 + Math.sqrt(0.25 - delta)));
    // Below sqrt(Delta) the computed value says nothing more than sqrt(Delta).
    store<f64>(values + 16, 1e-9);
    expect<f64>(gramErrorBoundF64(3, values)).toBe(Math.sqrt(delta));
    release(values);
  });
});

/** Eigenvalues (descending) of the symmetric n x n matrix whose lower triangle is at src, by `band`. */
function eigenvalues(n: i32, src: usize, band: i32): usize {
  const a = alloc64(n * n);
  memory.copy(a, src, <usize>(n * n) << 3);
  const d = alloc64(n), e = alloc64(n), tau = alloc64(n);
  gramTridiagonalizeF64(n, a, n, d, e, tau, band);
  expect<i32>(sterfF64(n, d, e, 1)).toBe(0);
  release(a); release(e); release(tau);
  return d;
}

describe("gram: two-stage tridiagonalization", () => {
  it("gives the eigenvalues of the one-stage sytrd, for band widths from 2 to past n", () => {
    const sizes: i32[] = [1, 2, 3, 7, 40, 97, 160];
    const bands: i32[] = [2, 3, 8, 13, 32, 200];
    for (let si = 0; si < sizes.length; si++) {
      const n = sizes[si];
      const a = alloc64(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) store<f64>(a + (<usize>(i * n + j) << 3), rand());
      const reference = eigenvalues(n, a, 0);
      let norm = 0.0;
      for (let i = 0; i < n; i++) norm = max(norm, abs(get(reference, i)));
      for (let bi = 0; bi < bands.length; bi++) {
        const d = eigenvalues(n, a, bands[bi]);
        let worst = 0.0;
        for (let i = 0; i < n; i++) worst = max(worst, abs(get(d, i) - get(reference, i)));
        expect<f64>(worst).toBeLessThan(1e-14 * <f64>n * max(norm, 1.0));
        release(d);
      }
      release(reference);
      release(a);
    }
  });
  it("keeps a matrix that is already tridiagonal, and a diagonal one, exactly", () => {
    const n = 50;
    const a = alloc64(n * n);
    for (let i = 0; i < n; i++) store<f64>(a + (<usize>(i * n + i) << 3), <f64>(i + 1));
    const d = eigenvalues(n, a, 6);
    for (let i = 0; i < n; i++) expect<f64>(get(d, i)).toBe(<f64>(n - i));
    release(d);
    // The second-difference matrix: eigenvalues 2 - 2 cos(k pi / (n + 1)).
    for (let i = 0; i < n; i++) {
      store<f64>(a + (<usize>(i * n + i) << 3), 2.0);
      if (i > 0) store<f64>(a + (<usize>(i * n + i - 1) << 3), -1.0);
    }
    const t = eigenvalues(n, a, 5);
    for (let k = 1; k <= n; k++) {
      expect<f64>(abs(get(t, k - 1) - (2.0 - 2.0 * Math.cos(<f64>(n + 1 - k) * Math.PI / <f64>(n + 1))))).toBeLessThan(1e-14);
    }
    release(t);
    release(a);
  });
});

describe("gram: operator records", () => {
  it("finds the unit handle of an f64 UNIT operator and refuses other operators", () => {
    const unit = randomUnit(2, 5, 2, 1, 1.0);
    const op = operatorFromUnitF64(unit);
    expect<usize>(gramUnitOfOperator(op)).toBe(unit);
    const dense = alloc64(4);
    const denseOp = operatorFromDenseF64(dense, 2, 2);
    expect<usize>(gramUnitOfOperator(denseOp)).toBe(0);
    expect<usize>(gramUnitOfOperator(0)).toBe(0);
    operatorDestroy(denseOp);
    operatorDestroy(op);
    release(dense);
    unitOperatorDestroy(unit);
  });
  it("refuses an f32 unit operator", () => {
    const w1 = allocate(4 * 4 * 9 * 4), w2 = allocate(4 * 4 * 9 * 4);
    memory.fill(w1, 0, 4 * 4 * 9 * 4);
    memory.fill(w2, 0, 4 * 4 * 9 * 4);
    const mask = allocate(4 * 9);
    memory.fill(mask, 1, 4 * 9);
    const unit = unitOperatorCreateF32(2, 3, 3, 4, 1, 1.0, w1, 0, w2, 0, mask, mask);
    const op = operatorFromUnitF32(unit);
    expect<usize>(gramUnitOfOperator(op)).toBe(0);
    operatorDestroy(op);
    unitOperatorDestroy(unit);
    release(w1); release(w2); release(mask);
  });
});
