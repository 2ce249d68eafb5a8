/**
 * Householder reflectors and the two dense reductions built from them, f64 and f32, row-major:
 *
 * - gebrd: A (m x n, m >= n) = Q * B * P^T with B upper bidiagonal (LAPACK dgebrd, blocked: a panel
 *   of NB columns/rows is reduced by labrd, which accumulates the panel's effect in X and Y, then the
 *   trailing matrix is updated by one GEMM of inner dimension 2*NB, A22 -= [V X] * [Y^T; U^T]).
 *   Wide matrices (m < n) are reduced by bidiagonalizing the transpose (transposeF64 in blas.ts):
 *   A^T = Q B P^T gives A = P B^T Q^T, and the SVD driver swaps the roles of the factors.
 * - sytrd: symmetric A (n x n, lower triangle) = Q * T * Q^T with T symmetric tridiagonal (LAPACK
 *   dsytrd with UPLO = 'L', blocked: latrd panel + rank-2*NB update of the lower triangle).
 * - orgbrQt / orgbrP / orgtrQt: the orthogonal factors as explicit matrices (blocked, WY form).
 *
 * A reflector is H = I - tau * v * v^T with v(0) = 1 (not stored); tau = 0 means H = I. Reflectors are
 * stored in the zeroed parts of A exactly as LAPACK does (below the diagonal for Q, right of the
 * superdiagonal for P, below the subdiagonal for sytrd's Q).
 *
 * Accuracy: backward stable. The computed B (or T) is the exact reduction of A + E with
 * ||E||_F <= c(m,n) * eps * ||A||_F (c a modest polynomial, ~ n in practice), and the computed factors
 * are orthogonal to O(n*eps). Hence singular values (eigenvalues) of B (T) are within
 * O(n*eps*||A||_2) of those of A, in absolute terms.
 */
import {
  gemmF64, gemmF32, gemmLowerF64, gemmLowerF32, gemvF64, gemvF32, gerF64, gerF32, dotF64, dotF32,
  axpyF64, axpyF32, scalF64, scalF32, nrm2F64, nrm2F32,
} from "./blas";
import { precOf, rmaxOf, safminOf } from "./lib/machine";
import { lanesOf, vAdd, vMul, vSplat, vSum } from "./lib/simd";

/** Panel width of the blocked reductions and of the blocked factor generation. */
const NB: i32 = 32;

// ---------------------------------------------------------------------------------------------------
// Type dispatch onto blas.ts (its generic kernels are private; these resolve at compile time).

@inline function gemmT<T>(ta: i32, tb: i32, m: i32, n: i32, k: i32, alpha: T, a: usize, lda: i32, b: usize, ldb: i32, beta: T, c: usize, ldc: i32): void {
  if (sizeof<T>() == 8) gemmF64(ta, tb, m, n, k, <f64>alpha, a, lda, b, ldb, <f64>beta, c, ldc);
  else gemmF32(ta, tb, m, n, k, <f32>alpha, a, lda, b, ldb, <f32>beta, c, ldc);
}
@inline function gemmLowerT<T>(ta: i32, tb: i32, n: i32, k: i32, alpha: T, a: usize, lda: i32, b: usize, ldb: i32, beta: T, c: usize, ldc: i32): void {
  if (sizeof<T>() == 8) gemmLowerF64(ta, tb, n, k, <f64>alpha, a, lda, b, ldb, <f64>beta, c, ldc);
  else gemmLowerF32(ta, tb, n, k, <f32>alpha, a, lda, b, ldb, <f32>beta, c, ldc);
}
@inline function gemvT<T>(trans: i32, m: i32, n: i32, alpha: T, a: usize, lda: i32, x: usize, incx: i32, beta: T, y: usize, incy: i32): void {
  if (sizeof<T>() == 8) gemvF64(trans, m, n, <f64>alpha, a, lda, x, incx, <f64>beta, y, incy);
  else gemvF32(trans, m, n, <f32>alpha, a, lda, x, incx, <f32>beta, y, incy);
}
@inline function gerT<T>(m: i32, n: i32, alpha: T, x: usize, incx: i32, y: usize, incy: i32, a: usize, lda: i32): void {
  if (sizeof<T>() == 8) gerF64(m, n, <f64>alpha, x, incx, y, incy, a, lda);
  else gerF32(m, n, <f32>alpha, x, incx, y, incy, a, lda);
}
@inline function dotT<T>(n: i32, x: usize, incx: i32, y: usize, incy: i32): T {
  if (sizeof<T>() == 8) return <T>dotF64(n, x, incx, y, incy);
  return <T>dotF32(n, x, incx, y, incy);
}
@inline function axpyT<T>(n: i32, alpha: T, x: usize, incx: i32, y: usize, incy: i32): void {
  if (sizeof<T>() == 8) axpyF64(n, <f64>alpha, x, incx, y, incy);
  else axpyF32(n, <f32>alpha, x, incx, y, incy);
}
@inline function scalT<T>(n: i32, alpha: T, x: usize, incx: i32): void {
  if (sizeof<T>() == 8) scalF64(n, <f64>alpha, x, incx);
  else scalF32(n, <f32>alpha, x, incx);
}
@inline function nrm2T<T>(n: i32, x: usize, incx: i32): T {
  if (sizeof<T>() == 8) return <T>nrm2F64(n, x, incx);
  return <T>nrm2F32(n, x, incx);
}

/** Address of element (r, c) of a row-major matrix at p with leading dimension ld. */
@inline function at<T>(p: usize, ld: i32, r: i32, c: i32): usize {
  return p + (<usize>r * <usize>ld + <usize>c) * sizeof<T>();
}

/** sqrt(a^2 + b^2) without overflow or destructive underflow (LAPACK dlapy2). */
function hypotOf<T>(a: T, b: T): T {
  const x = abs<T>(a), y = abs<T>(b);
  const w = max<T>(x, y), z = min<T>(x, y);
  if (z == 0 || w > rmaxOf<T>()) return w;
  const q = z / w;
  return w * sqrt<T>(<T>1 + q * q);
}

// ---------------------------------------------------------------------------------------------------
// Elementary reflectors

/**
 * Generate a reflector (LAPACK dlarfg): given alpha = *alphaPtr and x (n-1 entries, stride incx),
 * find H = I - tau*[1; v]*[1; v]^T with H*[alpha; x] = [beta; 0]. On exit *alphaPtr = beta, x = v;
 * returns tau (0 when x is already zero, in which case H = I). beta = -sign(alpha)*||[alpha; x]||,
 * 1 <= tau <= 2 otherwise. Tiny columns are rescaled (up to 20 times by 1/safmin) so that v and beta
 * are accurate even when ||x|| underflows. Accuracy: H is orthogonal to O(eps), beta relative O(eps).
 */
export function larfg<T>(n: i32, alphaPtr: usize, x: usize, incx: i32): T {
  if (n <= 1) return <T>0;
  let xnorm = nrm2T<T>(n - 1, x, incx);
  let alpha = load<T>(alphaPtr);
  if (xnorm == 0) return <T>0;
  let beta = -copysign<T>(hypotOf<T>(alpha, xnorm), alpha);
  const safmin = safminOf<T>() / precOf<T>();
  let rescalings = 0;
  if (abs<T>(beta) < safmin) {
    // beta (and so v) would lose accuracy to underflow: scale the column up and recompute.
    const rsafmin = <T>1 / safmin;
    do {
      rescalings++;
      scalT<T>(n - 1, rsafmin, x, incx);
      beta *= rsafmin;
      alpha *= rsafmin;
    } while (abs<T>(beta) < safmin && rescalings < 20);
    xnorm = nrm2T<T>(n - 1, x, incx);
    beta = -copysign<T>(hypotOf<T>(alpha, xnorm), alpha);
  }
  const tau = (beta - alpha) / beta;
  scalT<T>(n - 1, <T>1 / (alpha - beta), x, incx);
  for (let j = 0; j < rescalings; j++) beta *= safmin;
  store<T>(alphaPtr, beta);
  return tau;
}

/** Reflector generation, f64 (see larfg): returns tau, overwrites *alphaPtr with beta and x with v. */
export function larfgF64(n: i32, alphaPtr: usize, x: usize, incx: i32): f64 {
  return larfg<f64>(n, alphaPtr, x, incx);
}

/**
 * Apply a reflector (LAPACK dlarf): C = H*C (left != 0, v has m entries) or C = C*H (left == 0, v has
 * n entries) for C stored m x n (ldc >= n), H = I - tau*v*v^T with v given in full (its first entry
 * is used as stored, so callers put the implicit 1 there). Two level-2 passes over C; backward stable.
 */
function larf<T>(left: bool, m: i32, n: i32, v: usize, incv: i32, tau: T, c: usize, ldc: i32): void {
  if (tau == 0 || m <= 0 || n <= 0) return;
  const len = left ? n : m;
  const w = heap.alloc(<usize>len * sizeof<T>());
  if (left) {
    gemvT<T>(1, m, n, <T>1, c, ldc, v, incv, <T>0, w, 1); // w = C^T v
    gerT<T>(m, n, -tau, v, incv, w, 1, c, ldc); // C -= tau v w^T
  } else {
    gemvT<T>(0, m, n, <T>1, c, ldc, v, incv, <T>0, w, 1); // w = C v
    gerT<T>(m, n, -tau, w, 1, v, incv, c, ldc); // C -= tau w v^T
  }
  heap.free(w);
}

/** Apply a reflector, f64 (see larf). */
export function larfF64(left: i32, m: i32, n: i32, v: usize, incv: i32, tau: f64, c: usize, ldc: i32): void {
  larf<f64>(left != 0, m, n, v, incv, tau, c, ldc);
}

// ---------------------------------------------------------------------------------------------------
// Bidiagonalization

/**
 * One pass over the rows of a block B (rows x ncols, row-major) that serves two columns of labrd:
 * z = B*v (the big product for x_i) and, with c = w - tp*z (which is the next column, see labrd),
 * acc = B[1:, 1:]^T * c[1:] (the big product for y_{i+1}). Rows go four at a time: their four dot
 * products share each load of v, then the same rows (now in L1/L2) update acc together, so the block
 * is read from memory once instead of twice. colOut receives c, zOut z; acc has ncols-1 entries.
 */
function fusedRowPass<T>(rows: i32, b: usize, ldb: i32, ncols: i32, v: usize, w: usize, tp: T, colOut: usize, zOut: usize, acc: usize): void {
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  const rowBytes = <usize>ldb * size;
  const accLen = ncols - 1;
  if (accLen > 0) memory.fill(acc, 0, <usize>accLen * size);
  let t = 0;
  for (; t + 4 <= rows; t += 4) {
    const r0 = b + <usize>t * rowBytes;
    const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
    let s0 = vSplat<T>(<T>0), s1 = vSplat<T>(<T>0), s2 = vSplat<T>(<T>0), s3 = vSplat<T>(<T>0);
    let j = 0;
    for (; j + lanes <= ncols; j += lanes) {
      const off = <usize>j * size;
      const vv = v128.load(v + off);
      s0 = vAdd<T>(s0, vMul<T>(v128.load(r0 + off), vv));
      s1 = vAdd<T>(s1, vMul<T>(v128.load(r1 + off), vv));
      s2 = vAdd<T>(s2, vMul<T>(v128.load(r2 + off), vv));
      s3 = vAdd<T>(s3, vMul<T>(v128.load(r3 + off), vv));
    }
    let z0 = vSum<T>(s0), z1 = vSum<T>(s1), z2 = vSum<T>(s2), z3 = vSum<T>(s3);
    for (; j < ncols; j++) {
      const off = <usize>j * size;
      const vj = load<T>(v + off);
      z0 += load<T>(r0 + off) * vj;
      z1 += load<T>(r1 + off) * vj;
      z2 += load<T>(r2 + off) * vj;
      z3 += load<T>(r3 + off) * vj;
    }
    const zp = zOut + <usize>t * size, cp = colOut + <usize>t * size, wp = w + <usize>t * size;
    store<T>(zp, z0);
    store<T>(zp + size, z1);
    store<T>(zp + 2 * size, z2);
    store<T>(zp + 3 * size, z3);
    // Row 0 of the block is the next column's diagonal entry: it is not part of acc.
    const c0 = t == 0 ? <T>0 : load<T>(wp) - tp * z0;
    const c1 = load<T>(wp + size) - tp * z1;
    const c2 = load<T>(wp + 2 * size) - tp * z2;
    const c3 = load<T>(wp + 3 * size) - tp * z3;
    store<T>(cp, load<T>(wp) - tp * z0);
    store<T>(cp + size, c1);
    store<T>(cp + 2 * size, c2);
    store<T>(cp + 3 * size, c3);
    const v0 = vSplat<T>(c0), v1 = vSplat<T>(c1), v2 = vSplat<T>(c2), v3 = vSplat<T>(c3);
    const q0 = r0 + size, q1 = r1 + size, q2 = r2 + size, q3 = r3 + size; // columns 1.. of the rows
    j = 0;
    for (; j + lanes <= accLen; j += lanes) {
      const off = <usize>j * size;
      let sum = v128.load(acc + off);
      sum = vAdd<T>(sum, vAdd<T>(vMul<T>(v0, v128.load(q0 + off)), vMul<T>(v1, v128.load(q1 + off))));
      sum = vAdd<T>(sum, vAdd<T>(vMul<T>(v2, v128.load(q2 + off)), vMul<T>(v3, v128.load(q3 + off))));
      v128.store(acc + off, sum);
    }
    for (; j < accLen; j++) {
      const off = <usize>j * size;
      store<T>(acc + off, load<T>(acc + off) + ((c0 * load<T>(q0 + off) + c1 * load<T>(q1 + off)) + (c2 * load<T>(q2 + off) + c3 * load<T>(q3 + off))));
    }
  }
  for (; t < rows; t++) {
    const row = b + <usize>t * rowBytes;
    const z = dotT<T>(ncols, row, 1, v, 1);
    const c = load<T>(w + <usize>t * size) - tp * z;
    store<T>(zOut + <usize>t * size, z);
    store<T>(colOut + <usize>t * size, c);
    if (t > 0 && c != 0) axpyT<T>(accLen, c, row + size, 1, acc, 1);
  }
}

/**
 * Reduce the first nb rows and columns of A (m x n, m >= n, nb <= n) to upper bidiagonal form as LAPACK
 * dlabrd. For the panel i = 0..nb-1: the left reflector H_i zeroes A[i+1:m, i], the right reflector
 * G_i zeroes A[i, i+2:n]. The trailing matrix is NOT updated; instead on exit
 *   A[nb:m, nb:n] (true) = A[nb:m, nb:n] - V*Y^T - X*U^T
 * where V = A[nb:m, 0:nb] (left vectors), U^T = A[0:nb, nb:n] (right vectors, with A[i, i+1] = 1 set),
 * X^T is xt (nb x m, row i = column i of X) and Y^T is yt (nb x n). A[i, i] and A[i, i+1] are left as
 * 1 (the callers restore d and e after using the unit entries in the trailing update).
 *
 * Memory traffic: the two big products per column, y_i ~ A[i:, i+1:]^T u_i and x_i ~ A[i+1:, i+1:] v_i,
 * each read the whole trailing block. Column i+1 of the true matrix is an affine function of x_i
 * (col_{i+1} = w - taup_i * (A[i+1:, i+1:] v_i), w known before the product), so one pass
 * (fusedRowPass) computes A v_i and A^T col_{i+1} together, and y_{i+1} follows from the latter by
 * the scaling larfg applies to col_{i+1}. Only the first column of each panel needs its own pass for
 * y, which halves the level-2 traffic (the BLAS 2.5 idea of Howell et al., 2008).
 * Scratch (each at least m entries, acc at least n): col, nextCol, w, kv, acc.
 */
function labrd<T>(
  m: i32, n: i32, nb: i32, a: usize, lda: i32, d: usize, e: usize, tauq: usize, taup: usize,
  xt: usize, ldx: i32, yt: usize, ldy: i32, colBuffer: usize, nextColBuffer: usize, w: usize, kv: usize, acc: usize,
): void {
  const size = <usize>sizeof<T>();
  const safmin = safminOf<T>() / precOf<T>();
  let col = colBuffer, nextCol = nextColBuffer;
  // fused: col holds column i of the true matrix and acc holds sum_{r>i} col[r-i]*A[r, i+1:n], both
  // from the previous column's pass.
  let fused = false;
  for (let i = 0; i < nb; i++) {
    const rows = m - i;
    if (!fused) {
      // Column i of the true matrix: A[i:m, i] - A[i:m, 0:i]*Y[i, 0:i]^T - X[i:m, 0:i]*A[0:i, i],
      // gathered into `col` so every level-2 call below sees a contiguous vector.
      for (let r = 0; r < rows; r++) store<T>(col + <usize>r * size, load<T>(at<T>(a, lda, i + r, i)));
      gemvT<T>(0, rows, i, <T>-1, at<T>(a, lda, i, 0), lda, at<T>(yt, ldy, 0, i), ldy, <T>1, col, 1);
      gemvT<T>(1, i, rows, <T>-1, at<T>(xt, ldx, 0, i), ldx, at<T>(a, lda, 0, i), lda, <T>1, col, 1);
    }
    const alpha = load<T>(col);
    const tq = larfg<T>(rows, col, col + size, 1);
    const beta = load<T>(col);
    store<T>(tauq + <usize>i * size, tq);
    store<T>(d + <usize>i * size, beta);
    store<T>(col, <T>1);
    for (let r = 0; r < rows; r++) store<T>(at<T>(a, lda, i + r, i), load<T>(col + <usize>r * size));
    if (i >= n - 1) {
      store<T>(taup + <usize>i * size, <T>0);
      continue;
    }
    const cols = n - i - 1;
    const yi = at<T>(yt, ldy, i, i + 1); // Y[i+1:n, i], contiguous
    const ytmp = at<T>(yt, ldy, i, 0); // Y[0:i, i], scratch
    // Y[i+1:n, i] = tauq * (A_true[i:m, i+1:n]^T * u), expanding A_true = A - V Y^T - X U^T.
    if (tq == 0) {
      memory.fill(yi, 0, <usize>cols * size); // H_i = I: y_i = 0
    } else {
      if (fused && abs<T>(beta) >= safmin) {
        // u = [1; col_raw[1:]/(alpha - beta)], so A[i:, i+1:]^T u = A[i, i+1:] + acc/(alpha - beta).
        memory.copy(yi, at<T>(a, lda, i, i + 1), <usize>cols * size);
        axpyT<T>(cols, <T>1 / (alpha - beta), acc, 1, yi, 1);
      } else {
        gemvT<T>(1, rows, cols, <T>1, at<T>(a, lda, i, i + 1), lda, col, 1, <T>0, yi, 1);
      }
      gemvT<T>(1, rows, i, <T>1, at<T>(a, lda, i, 0), lda, col, 1, <T>0, ytmp, 1);
      gemvT<T>(1, i, cols, <T>-1, at<T>(yt, ldy, 0, i + 1), ldy, ytmp, 1, <T>1, yi, 1);
      gemvT<T>(0, i, rows, <T>1, at<T>(xt, ldx, 0, i), ldx, col, 1, <T>0, ytmp, 1);
      gemvT<T>(1, i, cols, <T>-1, at<T>(a, lda, 0, i + 1), lda, ytmp, 1, <T>1, yi, 1);
      scalT<T>(cols, tq, yi, 1);
    }
    // Row i of the true matrix right of the diagonal: A[i, i+1:n] - Y[i+1:n, 0:i+1]*A[i, 0:i+1]^T
    // - A[0:i, i+1:n]^T * X[i, 0:i]^T (A[i, i] = 1 is the unit of u_i).
    const row = at<T>(a, lda, i, i + 1);
    gemvT<T>(1, i + 1, cols, <T>-1, at<T>(yt, ldy, 0, i + 1), ldy, at<T>(a, lda, i, 0), 1, <T>1, row, 1);
    gemvT<T>(1, i, cols, <T>-1, at<T>(a, lda, 0, i + 1), lda, at<T>(xt, ldx, 0, i), ldx, <T>1, row, 1);
    const tp = larfg<T>(cols, row, row + size, 1);
    store<T>(taup + <usize>i * size, tp);
    store<T>(e + <usize>i * size, load<T>(row));
    store<T>(row, <T>1);
    // X[i+1:m, i] = taup * (A[i+1:m, i+1:n] v - kv), kv = V[i+1:, 0:i+1] h1 + X[i+1:, 0:i] h2 with
    // h1 = Y[i+1:n, 0:i+1]^T v and h2 = U[0:i, i+1:n] v (the corrections that make A the true matrix).
    const below = rows - 1;
    const xi = at<T>(xt, ldx, i, i + 1); // X[i+1:m, i], contiguous
    const htmp = at<T>(xt, ldx, i, 0); // X[0:i+1, i], scratch
    gemvT<T>(0, i + 1, cols, <T>1, at<T>(yt, ldy, 0, i + 1), ldy, row, 1, <T>0, htmp, 1);
    gemvT<T>(0, below, i + 1, <T>1, at<T>(a, lda, i + 1, 0), lda, htmp, 1, <T>0, kv, 1);
    gemvT<T>(0, i, cols, <T>1, at<T>(a, lda, 0, i + 1), lda, row, 1, <T>0, htmp, 1);
    gemvT<T>(1, i, below, <T>1, at<T>(xt, ldx, 0, i + 1), ldx, htmp, 1, <T>1, kv, 1);
    fused = i + 1 < nb && i + 1 < n - 1 && below > 0;
    if (fused) {
      // Column i+1 of the true matrix is w - tp*(A[i+1:, i+1:] v) with
      // w = A[i+1:, i+1] - V[i+1:, 0:i+1] Y[i+1, 0:i+1]^T - X[i+1:, 0:i] A[0:i, i+1] + tp*kv
      // (its X term includes x_i = tp*(A v - kv) times the unit A[i, i+1] = 1).
      for (let r = 0; r < below; r++) store<T>(w + <usize>r * size, load<T>(at<T>(a, lda, i + 1 + r, i + 1)));
      gemvT<T>(0, below, i + 1, <T>-1, at<T>(a, lda, i + 1, 0), lda, at<T>(yt, ldy, 0, i + 1), ldy, <T>1, w, 1);
      gemvT<T>(1, i, below, <T>-1, at<T>(xt, ldx, 0, i + 1), ldx, at<T>(a, lda, 0, i + 1), lda, <T>1, w, 1);
      axpyT<T>(below, tp, kv, 1, w, 1);
      fusedRowPass<T>(below, at<T>(a, lda, i + 1, i + 1), lda, cols, row, w, tp, nextCol, xi, acc);
      const swap = col;
      col = nextCol;
      nextCol = swap;
    } else {
      gemvT<T>(0, below, cols, <T>1, at<T>(a, lda, i + 1, i + 1), lda, row, 1, <T>0, xi, 1);
    }
    axpyT<T>(below, <T>-1, kv, 1, xi, 1);
    scalT<T>(below, tp, xi, 1);
  }
}

/**
 * Bidiagonalize A (m x n row-major, m >= n >= 1): Q^T * A * P = B, B upper bidiagonal with diagonal
 * d[0:n] and superdiagonal e[0:n-1]. Q = H_0...H_{n-1} (tauq[0:n]), P = G_0...G_{n-2} (taup[0:n],
 * taup[n-1] = 0); the reflector vectors overwrite A as in LAPACK dgebrd. Blocked with panel NB; the
 * trailing updates are single GEMMs (about half of the 4mn^2 - 4n^3/3 flops). The other half is the
 * panel's matrix-vector products, which are memory-bound; labrd fuses them to one pass over the
 * trailing block per column.
 * Accuracy: see the file header (backward stable, ||E|| = O(n*eps*||A||)).
 */
function gebrd<T>(m: i32, n: i32, a: usize, lda: i32, d: usize, e: usize, tauq: usize, taup: usize): void {
  if (n <= 0) return;
  assert(m >= n, "gebrd needs m >= n (bidiagonalize the transpose of a wide matrix)");
  const size = <usize>sizeof<T>();
  const nbMax = min(NB, n);
  const xt = heap.alloc(<usize>(nbMax * m) * size);
  const yt = heap.alloc(<usize>(nbMax * n) * size);
  const col = heap.alloc(<usize>m * size);
  const nextCol = heap.alloc(<usize>m * size);
  const w = heap.alloc(<usize>m * size);
  const kv = heap.alloc(<usize>m * size);
  const acc = heap.alloc(<usize>n * size);
  // Operands of the fused trailing update: left = [V X] (m' x 2nb), right = [Y^T; U^T] (2nb x n').
  const left = heap.alloc(<usize>(m * 2 * nbMax) * size);
  const right = heap.alloc(<usize>(2 * nbMax * n) * size);
  for (let i = 0; i < n; i += NB) {
    const nb = min(NB, n - i);
    const mi = m - i, ni = n - i;
    const ai = at<T>(a, lda, i, i);
    labrd<T>(mi, ni, nb, ai, lda, d + <usize>i * size, e + <usize>i * size, tauq + <usize>i * size,
      taup + <usize>i * size, xt, mi, yt, ni, col, nextCol, w, kv, acc);
    const mt = mi - nb, nt = ni - nb;
    if (nt > 0) {
      const k2 = 2 * nb;
      for (let r = 0; r < mt; r++) {
        memory.copy(at<T>(left, k2, r, 0), at<T>(ai, lda, nb + r, 0), <usize>nb * size);
        for (let j = 0; j < nb; j++) store<T>(at<T>(left, k2, r, nb + j), load<T>(at<T>(xt, mi, j, nb + r)));
      }
      for (let j = 0; j < nb; j++) {
        memory.copy(at<T>(right, nt, j, 0), at<T>(yt, ni, j, nb), <usize>nt * size);
        memory.copy(at<T>(right, nt, nb + j, 0), at<T>(ai, lda, j, nb), <usize>nt * size);
      }
      gemmT<T>(0, 0, mt, nt, k2, <T>-1, left, k2, right, nt, <T>1, at<T>(ai, lda, nb, nb), lda);
    }
    for (let j = 0; j < nb; j++) {
      store<T>(at<T>(ai, lda, j, j), load<T>(d + <usize>(i + j) * size));
      if (i + j < n - 1) store<T>(at<T>(ai, lda, j, j + 1), load<T>(e + <usize>(i + j) * size));
    }
  }
  heap.free(xt);
  heap.free(yt);
  heap.free(col);
  heap.free(nextCol);
  heap.free(w);
  heap.free(kv);
  heap.free(acc);
  heap.free(left);
  heap.free(right);
}

/** Bidiagonalization, f64 (see gebrd): m >= n required; d[n], e[n-1], tauq[n], taup[n]. */
export function gebrdF64(m: i32, n: i32, a: usize, lda: i32, d: usize, e: usize, tauq: usize, taup: usize): void {
  gebrd<f64>(m, n, a, lda, d, e, tauq, taup);
}
/** Bidiagonalization, f32. */
export function gebrdF32(m: i32, n: i32, a: usize, lda: i32, d: usize, e: usize, tauq: usize, taup: usize): void {
  gebrd<f32>(m, n, a, lda, d, e, tauq, taup);
}

// ---------------------------------------------------------------------------------------------------
// QR factorization

/**
 * T (upper triangular nb x nb, ldt = nb) with H_0 * ... * H_{nb-1} = I - V T V^T for the explicit
 * reflector block V (rows x nb, unit diagonal, zeros above; row-major ld nb) and tau[0:nb]
 * (LAPACK dlarft, forward, columnwise): T[0:c, c] = -tau_c T[0:c, 0:c] (V[:, 0:c]^T v_c), T[c, c] = tau_c.
 * gram: scratch of nb*nb entries.
 */
function larft<T>(rows: i32, nb: i32, vb: usize, tau: usize, tri: usize, gram: usize): void {
  const size = <usize>sizeof<T>();
  gemmT<T>(1, 0, nb, nb, rows, <T>1, vb, nb, vb, nb, <T>0, gram, nb);
  memory.fill(tri, 0, <usize>(nb * nb) * size);
  for (let c = 0; c < nb; c++) {
    const tc = load<T>(tau + <usize>c * size);
    // Column c of gram above the diagonal becomes -tau_c * V^T v_c, then is multiplied by T[0:c, 0:c].
    for (let r = 0; r < c; r++) store<T>(at<T>(gram, nb, r, c), -tc * load<T>(at<T>(gram, nb, r, c)));
    for (let r = 0; r < c; r++) {
      let acc: T = <T>0;
      for (let p = r; p < c; p++) acc += load<T>(at<T>(tri, nb, r, p)) * load<T>(at<T>(gram, nb, p, c));
      store<T>(at<T>(tri, nb, r, c), acc);
    }
    store<T>(at<T>(tri, nb, c, c), tc);
  }
}

/**
 * Householder QR of A (m x n row-major, m >= n): A = Q R with R upper triangular (on and above the
 * diagonal of A) and Q = H_0...H_{n-1}, reflector j stored below the diagonal of column j with tau[j]
 * (LAPACK dgeqrf layout, so orgbrQtF64 generates Q^T from it). Blocked: each panel of NB columns is
 * factored column by column (level 2), then the trailing columns get the block reflector
 * I - V T^T V^T by two GEMMs; flops 2mn^2 - 2n^3/3, mostly in GEMM when n >> NB.
 * Used before bidiagonalizing tall matrices (m >= 1.6n, as LAPACK's gesvd): the bidiagonalization
 * then runs on the n x n R. Backward stable: Q R = A + E, ||E|| = O(n*eps*||A||).
 */
function geqrf<T>(m: i32, n: i32, a: usize, lda: i32, tau: usize): void {
  if (n <= 0) return;
  assert(m >= n, "geqrf needs m >= n");
  const size = <usize>sizeof<T>();
  const nbMax = min(NB, n);
  const col = heap.alloc(<usize>m * size);
  const w = heap.alloc(<usize>(nbMax * n) * size);
  const vb = heap.alloc(<usize>(m * nbMax) * size);
  const tri = heap.alloc(<usize>(nbMax * nbMax) * size);
  const gram = heap.alloc(<usize>(nbMax * nbMax) * size);
  for (let i = 0; i < n; i += NB) {
    const nb = min(NB, n - i);
    const rows = m - i;
    // Panel: columns i..i+nb-1, one reflector each, applied to the rest of the panel.
    for (let j = i; j < i + nb; j++) {
      const len = m - j;
      for (let r = 0; r < len; r++) store<T>(col + <usize>r * size, load<T>(at<T>(a, lda, j + r, j)));
      const t = larfg<T>(len, col, col + size, 1);
      store<T>(tau + <usize>j * size, t);
      const beta = load<T>(col);
      store<T>(col, <T>1);
      for (let r = 1; r < len; r++) store<T>(at<T>(a, lda, j + r, j), load<T>(col + <usize>r * size));
      store<T>(at<T>(a, lda, j, j), beta);
      const rest = i + nb - j - 1;
      if (rest > 0 && t != 0) {
        const c = at<T>(a, lda, j, j + 1);
        gemvT<T>(1, len, rest, <T>1, c, lda, col, 1, <T>0, w, 1); // w = C^T v
        gerT<T>(len, rest, -t, col, 1, w, 1, c, lda); // C -= tau v w^T
      }
    }
    const nt = n - i - nb;
    if (nt <= 0) continue;
    // Trailing columns: C = (I - V T V^T)^T C = C - V (T^T (V^T C)).
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < nb; c++) {
        let value: T = <T>0;
        if (r == c) value = <T>1;
        else if (r > c) value = load<T>(at<T>(a, lda, i + r, i + c));
        store<T>(at<T>(vb, nb, r, c), value);
      }
    }
    larft<T>(rows, nb, vb, tau + <usize>i * size, tri, gram);
    const c = at<T>(a, lda, i, i + nb);
    gemmT<T>(1, 0, nb, nt, rows, <T>1, vb, nb, c, lda, <T>0, w, nt); // W = V^T C  (nb x nt)
    // W = T^T W in place, bottom row first (row r of T^T W uses rows 0..r of W).
    for (let r = nb - 1; r >= 0; r--) {
      const wr = at<T>(w, nt, r, 0);
      scalT<T>(nt, load<T>(at<T>(tri, nb, r, r)), wr, 1);
      for (let p = 0; p < r; p++) axpyT<T>(nt, load<T>(at<T>(tri, nb, p, r)), at<T>(w, nt, p, 0), 1, wr, 1);
    }
    gemmT<T>(0, 0, rows, nt, nb, <T>-1, vb, nb, w, nt, <T>1, c, lda); // C -= V W
  }
  heap.free(col);
  heap.free(w);
  heap.free(vb);
  heap.free(tri);
  heap.free(gram);
}

/** Householder QR, f64 (see geqrf): m >= n; R on and above the diagonal, reflectors below, tau[n]. */
export function geqrfF64(m: i32, n: i32, a: usize, lda: i32, tau: usize): void {
  geqrf<f64>(m, n, a, lda, tau);
}
/** Householder QR, f32. */
export function geqrfF32(m: i32, n: i32, a: usize, lda: i32, tau: usize): void {
  geqrf<f32>(m, n, a, lda, tau);
}

// ---------------------------------------------------------------------------------------------------
// Explicit orthogonal factors

/**
 * W (q x len, row-major, ldw >= len) = the first q columns of H_0 * H_1 * ... * H_{k-1}, transposed,
 * for k reflectors of length len (k <= q <= len). Reflector j has v_j[0:j] = 0, v_j[j] = 1 and
 * v_j[p] (p > j) stored at v + (p*ldv + j) (byRows == false: vectors in columns) or v + (j*ldv + p)
 * (byRows == true: vectors in rows); tau[j] its scalar. Blocked backward accumulation in WY form
 * (LAPACK dorgqr/dlarft): per block of NB reflectors, W[j0:q, j0:len] -= (W Vb) T^T Vb^T, two GEMMs.
 * The transposed output makes the rows of W the columns of the factor, which is what the bidiagonal
 * QR needs (its rotations then combine contiguous rows). Orthogonal to O(len*eps).
 */
function formReflectorProductT<T>(len: i32, k: i32, q: i32, v: usize, ldv: i32, byRows: bool, tau: usize, w: usize, ldw: i32): void {
  const size = <usize>sizeof<T>();
  for (let r = 0; r < q; r++) {
    memory.fill(at<T>(w, ldw, r, 0), 0, <usize>len * size);
    store<T>(at<T>(w, ldw, r, r), <T>1);
  }
  if (k <= 0) return;
  const nbMax = min(NB, k);
  const vb = heap.alloc(<usize>(len * nbMax) * size);
  const gram = heap.alloc(<usize>(nbMax * nbMax) * size);
  const tri = heap.alloc(<usize>(nbMax * nbMax) * size);
  const z = heap.alloc(<usize>(q * nbMax) * size);
  for (let j0 = ((k - 1) / NB) * NB; j0 >= 0; j0 -= NB) {
    const nb = min(NB, k - j0);
    const lb = len - j0;
    // Explicit block of vectors Vb (lb x nb): unit diagonal, zeros above.
    for (let r = 0; r < lb; r++) {
      for (let c = 0; c < nb; c++) {
        let value: T = <T>0;
        if (r == c) value = <T>1;
        else if (r > c) {
          const j = j0 + c, p = j0 + r;
          value = load<T>(byRows ? at<T>(v, ldv, j, p) : at<T>(v, ldv, p, j));
        }
        store<T>(at<T>(vb, nb, r, c), value);
      }
    }
    // T (upper triangular) with H_j0 ... H_j0+nb-1 = I - Vb T Vb^T.
    larft<T>(lb, nb, vb, tau + <usize>j0 * size, tri, gram);
    // W[j0:q, j0:len] = W (I - Vb T^T Vb^T).
    const rows = q - j0;
    const wb = at<T>(w, ldw, j0, j0);
    gemmT<T>(0, 0, rows, nb, lb, <T>1, wb, ldw, vb, nb, <T>0, z, nb);
    for (let r = 0; r < rows; r++) {
      // Z[r, :] = Z[r, :] * T^T in place: column c needs Z[r, c:] only, so go left to right.
      for (let c = 0; c < nb; c++) {
        let s: T = <T>0;
        for (let p = c; p < nb; p++) s += load<T>(at<T>(z, nb, r, p)) * load<T>(at<T>(tri, nb, c, p));
        store<T>(at<T>(z, nb, r, c), s);
      }
    }
    gemmT<T>(0, 1, rows, lb, nb, <T>-1, z, nb, vb, nb, <T>1, wb, ldw);
  }
  heap.free(vb);
  heap.free(gram);
  heap.free(tri);
  heap.free(z);
}

/**
 * Left factor of gebrd, transposed: qt (nq x m, ldqt >= m) = Q[:, 0:nq]^T for Q = H_0...H_{n-1} from
 * gebrd of an m x n matrix (a, tauq as gebrd left them), n <= nq <= m. nq > n adds orthonormal
 * columns spanning part of the complement of range(Q[:, 0:n]). Since geqrf stores its reflectors the
 * same way, orgbrQt(m, n, nq, a, lda, tau, ...) also forms the Q^T of a QR factorization.
 * Orthonormal to O(m*eps).
 */
export function orgbrQtF64(m: i32, n: i32, nq: i32, a: usize, lda: i32, tauq: usize, qt: usize, ldqt: i32): void {
  formReflectorProductT<f64>(m, n, nq, a, lda, false, tauq, qt, ldqt);
}
/** Left factor of gebrd, transposed, f32. */
export function orgbrQtF32(m: i32, n: i32, nq: i32, a: usize, lda: i32, tauq: usize, qt: usize, ldqt: i32): void {
  formReflectorProductT<f32>(m, n, nq, a, lda, false, tauq, qt, ldqt);
}

/** P^T (n x n) from reflectors G_0..G_{n-2} whose vectors start one position past index j. */
function formShiftedT<T>(n: i32, a: usize, lda: i32, byRows: bool, tau: usize, w: usize, ldw: i32): void {
  const size = <usize>sizeof<T>();
  memory.fill(w, 0, <usize>n * size);
  store<T>(w, <T>1);
  for (let r = 1; r < n; r++) store<T>(at<T>(w, ldw, r, 0), <T>0);
  if (n <= 1) return;
  // In coordinates shifted by one, reflector j has its unit at j and entry p' at the stored (j, p'+1)
  // (rows) or (p'+1, j) (columns).
  const v = byRows ? a + size : a + <usize>lda * size;
  formReflectorProductT<T>(n - 1, n - 1, n - 1, v, lda, byRows, tau, at<T>(w, ldw, 1, 1), ldw);
}

/**
 * Right factor of gebrd: pt (n x n, ldpt >= n) = P^T for P = G_0...G_{n-2} (a, taup from gebrd of an
 * m x n matrix; only the first n rows of a are read). As LAPACK dorgbr('P'). Orthogonal to O(n*eps).
 */
export function orgbrPF64(n: i32, a: usize, lda: i32, taup: usize, pt: usize, ldpt: i32): void {
  formShiftedT<f64>(n, a, lda, true, taup, pt, ldpt);
}
/** Right factor of gebrd, f32. */
export function orgbrPF32(n: i32, a: usize, lda: i32, taup: usize, pt: usize, ldpt: i32): void {
  formShiftedT<f32>(n, a, lda, true, taup, pt, ldpt);
}

/**
 * Factor of sytrd, transposed: qt (n x n) = Q^T for Q = H_0...H_{n-2} (a, tau as sytrd left them).
 * Orthogonal to O(n*eps).
 */
export function orgtrQtF64(n: i32, a: usize, lda: i32, tau: usize, qt: usize, ldqt: i32): void {
  formShiftedT<f64>(n, a, lda, false, tau, qt, ldqt);
}
/** Factor of sytrd, transposed, f32. */
export function orgtrQtF32(n: i32, a: usize, lda: i32, tau: usize, qt: usize, ldqt: i32): void {
  formShiftedT<f32>(n, a, lda, false, tau, qt, ldqt);
}

// ---------------------------------------------------------------------------------------------------
// Tridiagonalization

/**
 * y = A*x for symmetric A (n x n) given by its lower triangle (row-major). One pass over the triangle,
 * four rows at a time: for the columns left of the rows' 4 x 4 diagonal block each loaded vector of a
 * row serves both its dot product with x (giving y[r]) and the mirrored update y[0:r] += x[r]*A[r, 0:r]
 * (the upper triangle), so x and y are loaded once per four rows. x and y contiguous, not overlapping.
 */
function symvLower<T>(n: i32, a: usize, lda: i32, x: usize, y: usize): void {
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  const rowBytes = <usize>lda * size;
  memory.fill(y, 0, <usize>n * size);
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const r0 = a + <usize>r * rowBytes;
    const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
    const x0 = load<T>(x + <usize>r * size), x1 = load<T>(x + <usize>(r + 1) * size);
    const x2 = load<T>(x + <usize>(r + 2) * size), x3 = load<T>(x + <usize>(r + 3) * size);
    const vx0 = vSplat<T>(x0), vx1 = vSplat<T>(x1), vx2 = vSplat<T>(x2), vx3 = vSplat<T>(x3);
    let s0 = vSplat<T>(<T>0), s1 = vSplat<T>(<T>0), s2 = vSplat<T>(<T>0), s3 = vSplat<T>(<T>0);
    let j = 0;
    for (; j + lanes <= r; j += lanes) {
      const off = <usize>j * size;
      const a0 = v128.load(r0 + off), a1 = v128.load(r1 + off), a2 = v128.load(r2 + off), a3 = v128.load(r3 + off);
      const xv = v128.load(x + off);
      s0 = vAdd<T>(s0, vMul<T>(a0, xv));
      s1 = vAdd<T>(s1, vMul<T>(a1, xv));
      s2 = vAdd<T>(s2, vMul<T>(a2, xv));
      s3 = vAdd<T>(s3, vMul<T>(a3, xv));
      let yv = v128.load(y + off);
      yv = vAdd<T>(yv, vAdd<T>(vMul<T>(a0, vx0), vMul<T>(a1, vx1)));
      yv = vAdd<T>(yv, vAdd<T>(vMul<T>(a2, vx2), vMul<T>(a3, vx3)));
      v128.store(y + off, yv);
    }
    let t0 = vSum<T>(s0), t1 = vSum<T>(s1), t2 = vSum<T>(s2), t3 = vSum<T>(s3);
    for (; j < r; j++) {
      const off = <usize>j * size;
      const a0 = load<T>(r0 + off), a1 = load<T>(r1 + off), a2 = load<T>(r2 + off), a3 = load<T>(r3 + off);
      const xj = load<T>(x + off);
      t0 += a0 * xj;
      t1 += a1 * xj;
      t2 += a2 * xj;
      t3 += a3 * xj;
      store<T>(y + off, load<T>(y + off) + ((a0 * x0 + a1 * x1) + (a2 * x2 + a3 * x3)));
    }
    store<T>(y + <usize>r * size, load<T>(y + <usize>r * size) + t0);
    store<T>(y + <usize>(r + 1) * size, load<T>(y + <usize>(r + 1) * size) + t1);
    store<T>(y + <usize>(r + 2) * size, load<T>(y + <usize>(r + 2) * size) + t2);
    store<T>(y + <usize>(r + 3) * size, load<T>(y + <usize>(r + 3) * size) + t3);
    // The 4 x 4 diagonal block: entry (k, c), c <= k, contributes to y[k] and, off the diagonal, to y[c].
    for (let k = 0; k < 4; k++) {
      const row = a + <usize>(r + k) * rowBytes;
      const xk = load<T>(x + <usize>(r + k) * size);
      let sum: T = <T>0;
      for (let c = r; c < r + k; c++) {
        const av = load<T>(row + <usize>c * size);
        sum += av * load<T>(x + <usize>c * size);
        store<T>(y + <usize>c * size, load<T>(y + <usize>c * size) + av * xk);
      }
      sum += load<T>(row + <usize>(r + k) * size) * xk;
      store<T>(y + <usize>(r + k) * size, load<T>(y + <usize>(r + k) * size) + sum);
    }
  }
  for (; r < n; r++) {
    const row = a + <usize>r * rowBytes;
    const xr = load<T>(x + <usize>r * size);
    let sum: T = <T>0;
    for (let j = 0; j < r; j++) {
      const off = <usize>j * size;
      const av = load<T>(row + off);
      sum += av * load<T>(x + off);
      store<T>(y + off, load<T>(y + off) + av * xr);
    }
    store<T>(y + <usize>r * size, load<T>(y + <usize>r * size) + sum + load<T>(row + <usize>r * size) * xr);
  }
}

/**
 * Reduce the first nb columns of symmetric A (n x n, lower triangle) as LAPACK dlatrd ('L'): reflector
 * H_i zeroes A[i+2:n, i]; e[i] = the new A[i+1, i] (the vector overwrites A[i+2:n, i] and A[i+1, i] is
 * left as 1); the diagonal entries of the panel are updated in place. The trailing matrix is not
 * updated; on exit A[nb:n, nb:n] (true) = A - V*W^T - W*V^T with V = A[nb:n, 0:nb] and W^T = wt
 * (nb x n). col: scratch of n entries.
 */
function latrd<T>(n: i32, nb: i32, a: usize, lda: i32, e: usize, tau: usize, wt: usize, ldw: i32, col: usize): void {
  const size = <usize>sizeof<T>();
  for (let i = 0; i < nb; i++) {
    // Column i of the true matrix from the diagonal down, contiguous in `col`.
    const rows = n - i;
    for (let r = 0; r < rows; r++) store<T>(col + <usize>r * size, load<T>(at<T>(a, lda, i + r, i)));
    gemvT<T>(0, rows, i, <T>-1, at<T>(a, lda, i, 0), lda, at<T>(wt, ldw, 0, i), ldw, <T>1, col, 1);
    gemvT<T>(1, i, rows, <T>-1, at<T>(wt, ldw, 0, i), ldw, at<T>(a, lda, i, 0), 1, <T>1, col, 1);
    if (i >= n - 1) {
      store<T>(at<T>(a, lda, i, i), load<T>(col));
      continue;
    }
    const below = rows - 1;
    const v = col + size; // v = col[1:rows]
    const t = larfg<T>(below, v, v + size, 1);
    store<T>(tau + <usize>i * size, t);
    store<T>(e + <usize>i * size, load<T>(v));
    store<T>(v, <T>1);
    for (let r = 0; r < rows; r++) store<T>(at<T>(a, lda, i + r, i), load<T>(col + <usize>r * size));
    // W[i+1:n, i] = tau*(A_true[i+1:n, i+1:n] v) - (tau/2)(w^T v) v, A_true = A - V W^T - W V^T.
    const wi = at<T>(wt, ldw, i, i + 1);
    const wtmp = at<T>(wt, ldw, i, 0);
    symvLower<T>(below, at<T>(a, lda, i + 1, i + 1), lda, v, wi);
    gemvT<T>(0, i, below, <T>1, at<T>(wt, ldw, 0, i + 1), ldw, v, 1, <T>0, wtmp, 1);
    gemvT<T>(0, below, i, <T>-1, at<T>(a, lda, i + 1, 0), lda, wtmp, 1, <T>1, wi, 1);
    gemvT<T>(1, below, i, <T>1, at<T>(a, lda, i + 1, 0), lda, v, 1, <T>0, wtmp, 1);
    gemvT<T>(1, i, below, <T>-1, at<T>(wt, ldw, 0, i + 1), ldw, wtmp, 1, <T>1, wi, 1);
    scalT<T>(below, t, wi, 1);
    const alpha = <T>-0.5 * t * dotT<T>(below, wi, 1, v, 1);
    axpyT<T>(below, alpha, v, 1, wi, 1);
  }
}

/**
 * Tridiagonalize symmetric A (n x n row-major; only the lower triangle is read and written):
 * Q^T * A * Q = T with diagonal d[0:n] and off-diagonal e[0:n-1]; Q = H_0...H_{n-2} (tau[0:n-1]),
 * vectors stored below the subdiagonal as LAPACK dsytrd('L'). Blocked: latrd panels of NB columns and
 * a rank-2NB update of the trailing lower triangle by one lower-triangle GEMM, A22 -= [V W][W V]^T.
 * Flops ~ 4n^3/3, half in GEMM, half in the symmetric matrix-vector products (memory bound).
 * Accuracy: see the file header; eigenvalues of T are within O(n*eps*||A||_2) of those of A.
 */
function sytrd<T>(n: i32, a: usize, lda: i32, d: usize, e: usize, tau: usize): void {
  if (n <= 0) return;
  const size = <usize>sizeof<T>();
  const nbMax = min(NB, n);
  const wt = heap.alloc(<usize>(nbMax * n) * size);
  const col = heap.alloc(<usize>n * size);
  const left = heap.alloc(<usize>(n * 2 * nbMax) * size);
  const right = heap.alloc(<usize>(n * 2 * nbMax) * size);
  for (let i = 0; i < n; i += NB) {
    const nb = min(NB, n - i);
    const ni = n - i;
    const ai = at<T>(a, lda, i, i);
    latrd<T>(ni, nb, ai, lda, e + <usize>i * size, tau + <usize>i * size, wt, ni, col);
    const nt = ni - nb;
    if (nt > 0) {
      const k2 = 2 * nb;
      for (let r = 0; r < nt; r++) {
        const vRow = at<T>(ai, lda, nb + r, 0);
        memory.copy(at<T>(left, k2, r, 0), vRow, <usize>nb * size);
        memory.copy(at<T>(right, k2, r, nb), vRow, <usize>nb * size);
        for (let j = 0; j < nb; j++) {
          const wv = load<T>(at<T>(wt, ni, j, nb + r));
          store<T>(at<T>(left, k2, r, nb + j), wv);
          store<T>(at<T>(right, k2, r, j), wv);
        }
      }
      gemmLowerT<T>(0, 1, nt, k2, <T>-1, left, k2, right, k2, <T>1, at<T>(ai, lda, nb, nb), lda);
    }
    for (let j = 0; j < nb; j++) {
      store<T>(d + <usize>(i + j) * size, load<T>(at<T>(ai, lda, j, j)));
      if (i + j < n - 1) store<T>(at<T>(ai, lda, j + 1, j), load<T>(e + <usize>(i + j) * size));
    }
  }
  heap.free(wt);
  heap.free(col);
  heap.free(left);
  heap.free(right);
}

/** Tridiagonalization, f64 (see sytrd): d[n], e[n-1], tau[n-1]. */
export function sytrdF64(n: i32, a: usize, lda: i32, d: usize, e: usize, tau: usize): void {
  sytrd<f64>(n, a, lda, d, e, tau);
}
/** Tridiagonalization, f32. */
export function sytrdF32(n: i32, a: usize, lda: i32, d: usize, e: usize, tau: usize): void {
  sytrd<f32>(n, a, lda, d, e, tau);
}
