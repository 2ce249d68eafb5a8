import { allocate, release } from "../memory";
import { bdsqrF64, bdsqrF32 } from "../bidiagonal";
import { seedRandom, rand } from "./support/random";

seedRandom(2024);
function alloc64(count: i32): usize {
  const bytes = <usize>max(count, 1) << 3;
  const p = allocate(bytes);
  memory.fill(p, 0, bytes);
  return p;
}
@inline function get(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline function put(p: usize, i: i32, v: f64): void { store<f64>(p + (<usize>i << 3), v); }

/**
 * Reference singular values of the bidiagonal (d, e), descending: one-sided Jacobi on the columns of
 * B^T (i.e. rotating pairs of rows of B until they are orthogonal), then row norms. Row-scaled
 * (graded) bidiagonals keep high relative accuracy under this method (Demmel-Veselic).
 */
function jacobiSingularValues(n: i32, d: usize, e: usize): usize {
  const b = alloc64(n * n);
  for (let i = 0; i < n; i++) {
    put(b, i * n + i, get(d, i));
    if (i < n - 1) put(b, i * n + i + 1, get(e, i));
  }
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      let alpha = 0.0, beta = 0.0, gamma = 0.0;
      for (let k = 0; k < n; k++) {
        const x = get(b, p * n + k), y = get(b, q * n + k);
        alpha += x * x; beta += y * y; gamma += x * y;
      }
      if (gamma == 0 || abs(gamma) <= 1e-17 * Math.sqrt(alpha * beta)) continue;
      rotated = true;
      const zeta = (beta - alpha) / (2 * gamma);
      const t = (zeta >= 0 ? 1.0 : -1.0) / (abs(zeta) + Math.sqrt(1 + zeta * zeta));
      const c = 1 / Math.sqrt(1 + t * t), s = c * t;
      for (let k = 0; k < n; k++) {
        const x = get(b, p * n + k), y = get(b, q * n + k);
        put(b, p * n + k, c * x - s * y);
        put(b, q * n + k, s * x + c * y);
      }
    }
    if (!rotated) break;
  }
  const s = alloc64(n);
  for (let i = 0; i < n; i++) {
    let r = 0.0;
    for (let k = 0; k < n; k++) r += get(b, i * n + k) * get(b, i * n + k);
    put(s, i, Math.sqrt(r));
  }
  // Descending insertion sort.
  for (let i = 1; i < n; i++) {
    const v = get(s, i);
    let j = i - 1;
    while (j >= 0 && get(s, j) < v) { put(s, j + 1, get(s, j)); j--; }
    put(s, j + 1, v);
  }
  release(b);
  return s;
}

/** Max relative error of bdsqr's values against the Jacobi reference (relative to max(s, floor)). */
function relativeError(n: i32, d: usize, e: usize, floor: f64 = 0): f64 {
  const ref = jacobiSingularValues(n, d, e);
  const dw = alloc64(n), ew = alloc64(n);
  memory.copy(dw, d, <usize>n << 3);
  memory.copy(ew, e, <usize>n << 3);
  expect<i32>(bdsqrF64(n, dw, ew, 0, 1, 0, 0, 1, 0)).toBe(0);
  let err = 0.0;
  for (let i = 0; i < n; i++) {
    const want = get(ref, i);
    err = max(err, abs(get(dw, i) - want) / max(want, floor));
    if (i > 0) expect<bool>(get(dw, i) <= get(dw, i - 1)).toBe(true);
  }
  release(ref); release(dw); release(ew);
  return err;
}

describe("bdsqr values", () => {
  it("random bidiagonals match a one-sided Jacobi SVD to relative accuracy", () => {
    const sizes: i32[] = [1, 2, 3, 10, 57];
    for (let t = 0; t < sizes.length; t++) {
      const n = sizes[t];
      const d = alloc64(n), e = alloc64(n);
      for (let i = 0; i < n; i++) { put(d, i, rand()); put(e, i, rand()); }
      expect<f64>(relativeError(n, d, e)).toBeLessThan(1e-13);
      release(d); release(e);
    }
  });
  it("graded bidiagonals (1 .. 1e-12 and 1 .. 1e-100) keep every value to high relative accuracy", () => {
    const n = 40;
    const gradings: f64[] = [12, 100];
    for (let g = 0; g < gradings.length; g++) {
      const d = alloc64(n), e = alloc64(n);
      for (let i = 0; i < n; i++) {
        const scale = Math.pow(10, -gradings[g] * <f64>i / <f64>(n - 1));
        put(d, i, (0.5 + 0.5 * abs(rand())) * scale);
        put(e, i, (0.5 + 0.5 * abs(rand())) * scale);
      }
      expect<f64>(relativeError(n, d, e)).toBeLessThan(1e-12);
      // Reversed grading (large at the bottom) makes the iteration chase upwards.
      const dr = alloc64(n), er = alloc64(n);
      for (let i = 0; i < n; i++) put(dr, i, get(d, n - 1 - i));
      for (let i = 0; i < n - 1; i++) put(er, i, get(d, n - 2 - i) * 0.5);
      expect<f64>(relativeError(n, dr, er)).toBeLessThan(1e-12);
      release(d); release(e); release(dr); release(er);
    }
  });
  it("zero diagonal entries give exact zeros, negative entries positive values", () => {
    const n = 6;
    const d = alloc64(n), e = alloc64(n);
    for (let i = 0; i < n; i++) { put(d, i, i == 2 ? 0.0 : -1.0 - <f64>i); put(e, i, 0.5); }
    const dw = alloc64(n), ew = alloc64(n);
    memory.copy(dw, d, <usize>n << 3);
    memory.copy(ew, e, <usize>n << 3);
    bdsqrF64(n, dw, ew, 0, 1, 0, 0, 1, 0);
    expect<f64>(get(dw, n - 1)).toBe(0.0);
    expect<f64>(relativeError(n, d, e, 1.0)).toBeLessThan(1e-14);
    const one = alloc64(1), none = alloc64(1);
    put(one, 0, -3.0);
    bdsqrF64(1, one, none, 0, 1, 0, 0, 1, 0);
    expect<f64>(get(one, 0)).toBe(3.0);
    release(d); release(e); release(dw); release(ew); release(one); release(none);
  });
  it("clustered values (all 1 with tiny couplings) converge", () => {
    const n = 30;
    const d = alloc64(n), e = alloc64(n);
    for (let i = 0; i < n; i++) { put(d, i, 1.0 + 1e-10 * rand()); put(e, i, 1e-6 * rand()); }
    expect<f64>(relativeError(n, d, e)).toBeLessThan(1e-13);
    release(d); release(e);
  });
});

describe("bdsqr vectors", () => {
  it("B = U S V^T with orthonormal accumulated rotations", () => {
    const sizes: i32[] = [1, 2, 9, 41];
    for (let t = 0; t < sizes.length; t++) {
      const n = sizes[t];
      const d = alloc64(n), e = alloc64(n), d0 = alloc64(n), e0 = alloc64(n);
      for (let i = 0; i < n; i++) {
        put(d0, i, rand() * Math.pow(10, -6 * <f64>i / <f64>n));
        put(e0, i, rand() * Math.pow(10, -6 * <f64>i / <f64>n));
      }
      memory.copy(d, d0, <usize>n << 3);
      memory.copy(e, e0, <usize>n << 3);
      const vt = alloc64(n * n), ut = alloc64(n * n);
      for (let i = 0; i < n; i++) { put(vt, i * n + i, 1.0); put(ut, i * n + i, 1.0); }
      expect<i32>(bdsqrF64(n, d, e, vt, n, n, ut, n, n)).toBe(0);
      let res = 0.0, orth = 0.0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let b = 0.0, uu = 0.0, vv = 0.0;
        for (let k = 0; k < n; k++) {
          b += get(ut, k * n + i) * get(d, k) * get(vt, k * n + j);
          uu += get(ut, i * n + k) * get(ut, j * n + k);
          vv += get(vt, i * n + k) * get(vt, j * n + k);
        }
        const want = i == j ? get(d0, i) : (j == i + 1 ? get(e0, i) : 0.0);
        res = max(res, abs(b - want));
        const id = i == j ? 1.0 : 0.0;
        orth = max(orth, max(abs(uu - id), abs(vv - id)));
      }
      expect<f64>(res).toBeLessThan(1e-14 * <f64>n);
      expect<f64>(orth).toBeLessThan(1e-14 * <f64>n);
      release(d); release(e); release(d0); release(e0); release(vt); release(ut);
    }
  });
  it("f32 values agree with the f64 ones to single precision", () => {
    const n = 25;
    const d = alloc64(n), e = alloc64(n);
    const df = allocate(4 * n), ef = allocate(4 * n);
    for (let i = 0; i < n; i++) {
      const a = <f32>rand(), b = <f32>rand();
      put(d, i, <f64>a); put(e, i, <f64>b);
      store<f32>(df + (<usize>i << 2), a); store<f32>(ef + (<usize>i << 2), b);
    }
    bdsqrF64(n, d, e, 0, 1, 0, 0, 1, 0);
    expect<i32>(bdsqrF32(n, df, ef, 0, 1, 0, 0, 1, 0)).toBe(0);
    for (let i = 0; i < n; i++) {
      expect<f64>(abs(<f64>load<f32>(df + (<usize>i << 2)) - get(d, i))).toBeLessThan(2e-6 * get(d, 0));
    }
    release(d); release(e); release(df); release(ef);
  });
});
