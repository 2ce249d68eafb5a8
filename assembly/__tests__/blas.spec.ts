import { allocate, release } from "../memory";
import {
  gemmF64, gemmF32, gemmLowerF64, gemvF64, gemvF32, gerF64, dotF64, dotF32, axpyF64, scalF64,
  nrm2F64, nrm2F32, rotF64, swapF64, transposeF64,
} from "../blas";
import { seedRandom, rand, randomF64, randomF32 } from "./support/random";

seedRandom(12345);
@inline function at64(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }
@inline function at32(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }

/** Element (i, j) of op(X) for X stored row-major with leading dimension ld. */
function op64(x: usize, ld: i32, trans: i32, i: i32, j: i32): f64 {
  return trans ? at64(x, j * ld + i) : at64(x, i * ld + j);
}
function op32(x: usize, ld: i32, trans: i32, i: i32, j: i32): f64 {
  return <f64>(trans ? at32(x, j * ld + i) : at32(x, i * ld + j));
}

/** max |C - (alpha op(A) op(B) + beta C0)| / (k+1), naive triple loop in f64. */
function gemmError64(ta: i32, tb: i32, m: i32, n: i32, k: i32, alpha: f64, beta: f64): f64 {
  // Padded leading dimensions exercise lda > width.
  const lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
  const a = randomF64((ta ? k : m) * lda), b = randomF64((tb ? n : k) * ldb), c = randomF64(m * ldc);
  const c0 = allocate(<usize>(m * ldc) << 3);
  memory.copy(c0, c, <usize>(m * ldc) << 3);
  gemmF64(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  let err = 0.0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let p = 0; p < k; p++) s += op64(a, lda, ta, i, p) * op64(b, ldb, tb, p, j);
      const want = alpha * s + (beta == 0 ? 0 : beta * at64(c0, i * ldc + j));
      err = max(err, abs(at64(c, i * ldc + j) - want));
    }
    // Padding columns beyond n must be untouched.
    for (let j = n; j < ldc; j++) err = max(err, abs(at64(c, i * ldc + j) - at64(c0, i * ldc + j)));
  }
  release(a); release(b); release(c); release(c0);
  return err / <f64>(k + 1);
}

function gemmError32(ta: i32, tb: i32, m: i32, n: i32, k: i32, alpha: f32, beta: f32): f64 {
  const lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
  const a = randomF32((ta ? k : m) * lda), b = randomF32((tb ? n : k) * ldb), c = randomF32(m * ldc);
  const c0 = allocate(<usize>(m * ldc) << 2);
  memory.copy(c0, c, <usize>(m * ldc) << 2);
  gemmF32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  let err = 0.0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0.0;
      for (let p = 0; p < k; p++) s += op32(a, lda, ta, i, p) * op32(b, ldb, tb, p, j);
      const want = <f64>alpha * s + (beta == 0 ? 0 : <f64>beta * <f64>at32(c0, i * ldc + j));
      err = max(err, abs(<f64>at32(c, i * ldc + j) - want));
    }
  }
  release(a); release(b); release(c); release(c0);
  return err / <f64>(k + 1);
}

describe("gemm", () => {
  it("f64 matches the naive product for all op variants and ragged sizes", () => {
    // m x n x k triples: full 4 x 4 tiles, every ragged remainder of rows (mod 4) and columns, past MC = 96 rows and KC = 512.
    const shapes: i32[] = [1, 1, 1, 7, 5, 3, 13, 17, 29, 6, 4, 600, 50, 9, 1, 97, 101, 520, 4, 4, 3, 51, 8, 7, 48, 12, 2];
    for (let t = 0; t < 4; t++) {
      for (let s = 0; s < shapes.length; s += 3) {
        const err = gemmError64(t & 1, t >> 1, shapes[s], shapes[s + 1], shapes[s + 2], 0.75, t == 2 ? 0.0 : -1.5);
        expect<f64>(err).toBeLessThan(1e-15);
      }
    }
  });
  it("f64 with beta = 0 ignores NaN in C and k = 0 scales C", () => {
    const a = randomF64(4), b = randomF64(4), c = allocate(32);
    for (let i = 0; i < 4; i++) store<f64>(c + (<usize>i << 3), NaN);
    gemmF64(0, 0, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
    for (let i = 0; i < 4; i++) expect<bool>(isFinite(at64(c, i))).toBe(true);
    for (let i = 0; i < 4; i++) store<f64>(c + (<usize>i << 3), 2.0);
    gemmF64(0, 0, 2, 2, 0, 1.0, a, 2, b, 2, 0.5, c, 2);
    for (let i = 0; i < 4; i++) expect<f64>(at64(c, i)).toBe(1.0);
    release(a); release(b); release(c);
  });
  it("f32 matches the naive product for all op variants and ragged sizes", () => {
    // As the f64 test, for the 4 x 8 tiles.
    const shapes: i32[] = [1, 1, 1, 7, 9, 3, 13, 17, 29, 6, 8, 600, 97, 101, 33, 4, 8, 5, 51, 16, 7, 48, 24, 2];
    for (let t = 0; t < 4; t++) {
      for (let s = 0; s < shapes.length; s += 3) {
        const err = gemmError32(t & 1, t >> 1, shapes[s], shapes[s + 1], shapes[s + 2], 1.25, t == 1 ? 0.0 : 0.5);
        expect<f64>(err).toBeLessThan(2e-7);
      }
    }
  });
  it("lower-triangle GEMM fills the lower triangle and never touches the upper one", () => {
    const n = 403, k = 37;
    const a = randomF64(n * k), c = allocate(<usize>(n * n) << 3);
    for (let i = 0; i < n * n; i++) store<f64>(c + (<usize>i << 3), 7.0);
    gemmLowerF64(0, 1, n, k, 1.0, a, k, a, k, 0.0, c, n);
    let err = 0.0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0.0;
        for (let p = 0; p < k; p++) s += at64(a, i * k + p) * at64(a, j * k + p);
        err = max(err, abs(at64(c, i * n + j) - s));
      }
    }
    expect<f64>(err).toBeLessThan(1e-13);
    let touched = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (at64(c, i * n + j) != 7.0) touched++;
    expect<i32>(touched).toBe(0);
    release(a); release(c);
  });
  it("lower-triangle GEMM of a general product with alpha, beta, op(A) = A^T and k > KC, by diagonal sub-blocks", () => {
    // n = 250: one full block of 192 rows (4 diagonal sub-blocks) and 58 rows (a sub-block of 48 and 10).
    const n = 250, k = 530, alpha = 0.75, beta = -0.5;
    const a = randomF64(k * n), b = randomF64(k * n), c = randomF64(n * n), c0 = allocate(<usize>(n * n) << 3);
    memory.copy(c0, c, <usize>(n * n) << 3);
    gemmLowerF64(1, 0, n, k, alpha, a, n, b, n, beta, c, n);
    let err = 0.0, touched = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j > i) {
          if (at64(c, i * n + j) != at64(c0, i * n + j)) touched++;
          continue;
        }
        let s = 0.0;
        for (let p = 0; p < k; p++) s += at64(a, p * n + i) * at64(b, p * n + j);
        err = max(err, abs(at64(c, i * n + j) - (alpha * s + beta * at64(c0, i * n + j))));
      }
    }
    expect<f64>(err).toBeLessThan(1e-12);
    expect<i32>(touched).toBe(0);
    release(a); release(b); release(c); release(c0);
  });
});

describe("gemv and ger", () => {
  it("f64 and f32 GEMV match naive loops (both ops, strided vectors, beta)", () => {
    const m = 37, n = 23, lda = 29;
    const a = randomF64(m * lda), x = randomF64(3 * m), y = randomF64(3 * m), y0 = allocate(<usize>(3 * m) << 3);
    memory.copy(y0, y, <usize>(3 * m) << 3);
    for (let t = 0; t < 2; t++) {
      for (let inc = 1; inc <= 2; inc++) {
        memory.copy(y, y0, <usize>(3 * m) << 3);
        const xl = t ? m : n, yl = t ? n : m;
        gemvF64(t, m, n, 2.0, a, lda, x, inc, 0.5, y, inc);
        for (let i = 0; i < yl; i++) {
          let s = 0.0;
          for (let j = 0; j < xl; j++) s += (t ? at64(a, j * lda + i) : at64(a, i * lda + j)) * at64(x, j * inc);
          expect<f64>(abs(at64(y, i * inc) - (2 * s + 0.5 * at64(y0, i * inc)))).toBeLessThan(1e-13);
        }
      }
    }
    const af = randomF32(m * lda), xf = randomF32(m), yf = randomF32(m);
    gemvF32(1, m, n, 1.0, af, lda, xf, 1, 0.0, yf, 1);
    for (let i = 0; i < n; i++) {
      let s = 0.0;
      for (let j = 0; j < m; j++) s += <f64>at32(af, j * lda + i) * <f64>at32(xf, j);
      expect<f64>(abs(<f64>at32(yf, i) - s)).toBeLessThan(1e-5);
    }
    release(a); release(x); release(y); release(y0); release(af); release(xf); release(yf);
  });
  it("GER adds the outer product", () => {
    const m = 5, n = 7;
    const a = randomF64(m * n), a0 = allocate(<usize>(m * n) << 3), x = randomF64(m), y = randomF64(n);
    memory.copy(a0, a, <usize>(m * n) << 3);
    gerF64(m, n, -2.0, x, 1, y, 1, a, n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      expect<f64>(abs(at64(a, i * n + j) - (at64(a0, i * n + j) - 2 * at64(x, i) * at64(y, j)))).toBeLessThan(1e-15);
    }
    release(a); release(a0); release(x); release(y);
  });
});

describe("level 1", () => {
  it("dot, axpy, scal, rot, swap, transpose agree with scalar loops", () => {
    const n = 19;
    const x = randomF64(2 * n), y = randomF64(2 * n);
    let s = 0.0, s2 = 0.0;
    for (let i = 0; i < n; i++) { s += at64(x, i) * at64(y, i); s2 += at64(x, 2 * i) * at64(y, i); }
    expect<f64>(abs(dotF64(n, x, 1, y, 1) - s)).toBeLessThan(1e-15);
    expect<f64>(abs(dotF64(n, x, 2, y, 1) - s2)).toBeLessThan(1e-15);
    const xf = randomF32(n), yf = randomF32(n);
    let sf = 0.0;
    for (let i = 0; i < n; i++) sf += <f64>at32(xf, i) * <f64>at32(yf, i);
    expect<f64>(abs(<f64>dotF32(n, xf, 1, yf, 1) - sf)).toBeLessThan(1e-6);
    const y1 = at64(y, 5), x5 = at64(x, 5);
    axpyF64(n, 3.0, x, 1, y, 1);
    expect<f64>(at64(y, 5)).toBe(y1 + 3 * x5);
    scalF64(n, 0.5, y, 1);
    expect<f64>(at64(y, 5)).toBe(0.5 * (y1 + 3 * x5));
    const xa = at64(x, 3), ya = at64(y, 3);
    rotF64(n, x, 1, y, 1, 0.6, 0.8);
    expect<f64>(abs(at64(x, 3) - (0.6 * xa + 0.8 * ya))).toBeLessThan(1e-16);
    expect<f64>(abs(at64(y, 3) - (0.6 * ya - 0.8 * xa))).toBeLessThan(1e-16);
    const xb = at64(x, 7), yb = at64(y, 7);
    swapF64(n, x, 1, y, 1);
    expect<f64>(at64(x, 7)).toBe(yb);
    expect<f64>(at64(y, 7)).toBe(xb);
    const m = 45, w = 37;
    const a = randomF64(m * w), b = allocate(<usize>(m * w) << 3);
    transposeF64(m, w, a, w, b, m);
    for (let i = 0; i < m; i++) for (let j = 0; j < w; j++) expect<f64>(at64(b, j * m + i)).toBe(at64(a, i * w + j));
    release(x); release(y); release(xf); release(yf); release(a); release(b);
  });
  it("nrm2 neither overflows nor underflows", () => {
    const x = allocate(8 * 8);
    for (let i = 0; i < 8; i++) store<f64>(x + (<usize>i << 3), 3e300);
    expect<f64>(abs(nrm2F64(8, x, 1) / (3e300 * Math.sqrt(8)) - 1)).toBeLessThan(1e-15);
    for (let i = 0; i < 8; i++) store<f64>(x + (<usize>i << 3), 3e-300);
    expect<f64>(abs(nrm2F64(8, x, 1) / (3e-300 * Math.sqrt(8)) - 1)).toBeLessThan(1e-15);
    store<f64>(x, 3.0); store<f64>(x + 8, 4.0);
    expect<f64>(nrm2F64(2, x, 1)).toBe(5.0);
    expect<f64>(nrm2F64(0, x, 1)).toBe(0.0);
    const xf = allocate(4 * 5);
    for (let i = 0; i < 5; i++) store<f32>(xf + (<usize>i << 2), 1e30);
    expect<f64>(abs(<f64>nrm2F32(5, xf, 1) / (1e30 * Math.sqrt(5)) - 1)).toBeLessThan(1e-6);
    release(x); release(xf);
  });
});
