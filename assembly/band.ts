/**
 * Two-stage bidiagonalization, f64, row-major (the model is the two-stage reduction of PLASMA/MAGMA's
 * gesvd and LAPACK's dsytrd_2stage for the symmetric case; the code is our own):
 *
 *   gebrdBandF64        stage 1: Q^T A P = B, B upper triangular with band width b (B[i, j] = 0 unless
 *                       i <= j <= i + b), all but O(n^2 b) of its 4mn^2 - 4n^3/3 flops in GEMM;
 *   bandBidiagonalF64   stage 2: B to upper bidiagonal form by Householder bulge chasing (~8 b n^2
 *                       flops on blocks of at most b x 2b), diagonal d and superdiagonal e out.
 *
 * Then bidiagonal.ts bdsqrF64 gives the singular values. Neither Q nor P is kept: this is the values
 * path (svd.ts svdValues); the singular vectors go through the one-stage householder.ts gebrd.
 *
 * Why two stages: the one-stage gebrd (LAPACK dgebrd) does half of its flops in matrix-vector products
 * with the whole trailing matrix, at memory speed and on one thread. Here stage 1 touches the trailing
 * matrix only through GEMMs (which the threads build splits over its pool, parallel.ts
 * parallelGemmRowsF64), and stage 2 works on a band that stays in cache (and is pipelined over the
 * pool, parallel.ts parallelChaseF64). Both give bitwise the same (d, e) on any number of threads.
 *
 * Accuracy: both stages are sequences of orthogonal transformations applied from the left and the
 * right, each backward stable, so the bidiagonal (d, e) is exactly orthogonally equivalent to A + E
 * with ||E||_2 <= p(n) eps ||A||_2 (p a modest polynomial; the tests check the values against
 * LAPACK's to a small multiple of n eps s_max). Its singular values are then within ||E||_2 of A's.
 */
import { gemmF64 } from "./blas";
import { larfgF64 } from "./householder";
import { parallelChaseF64, parallelGemmRowsF64, threadPool, threadPoolThreads, waitUntilAtLeast } from "./parallel";
import { axpyUnit, dotUnit } from "./lib/level1";

// ---------------------------------------------------------------------------------------------------
// Stage 1: dense to band

/** Scratch of gebrdBandF64; every block is sized for the largest panel (rows = max(m, n)). */
@unmanaged class BandWork {
  /** The panel being factored, contiguous: (m - k) x b (QR) or (n - k - b) x b (LQ, transposed). */
  panel: usize;
  /** V of the QR (rows x b) and of the LQ (rows x b), explicit: unit diagonal, zeros above. */
  v: usize;
  v2: usize;
  /** X = C^T V (rows x b) and X2 = C2 V2 (rows x b). */
  x: usize;
  x2: usize;
  /** The two operands of the trailing update C2 -= L R^T: L = [V_lower, X2 T2], R = [X T, V2] (rows x 2b). */
  left: usize;
  right: usize;
  tau: usize;
  col: usize;
  row: usize;
  /** T (b x b upper triangular), V^T V and (X T)^T V2 (b x b each). */
  tri: usize;
  gram: usize;
  small: usize;
}

/**
 * Householder QR of the r x nb panel P (row-major, ld nb) in place, q = min(nb, r) reflectors: R on
 * and above the diagonal, reflector j (v_j[j] = 1 implicit) below it, tau[j] (LAPACK dgeqr2 on a
 * contiguous copy). col: r values, w: nb values of scratch.
 */
function panelQr(r: i32, nb: i32, q: i32, p: usize, tau: usize, col: usize, w: usize): void {
  const ld = <usize>nb;
  for (let j = 0; j < q; j++) {
    const len = r - j;
    for (let i = 0; i < len; i++) store<f64>(col + (<usize>i << 3), load<f64>(p + (<usize>(j + i) * ld + <usize>j) * 8));
    const t = larfgF64(len, col, col + 8, 1);
    store<f64>(tau + (<usize>j << 3), t);
    store<f64>(p + (<usize>j * ld + <usize>j) * 8, load<f64>(col));
    store<f64>(col, 1.0);
    for (let i = 1; i < len; i++) store<f64>(p + (<usize>(j + i) * ld + <usize>j) * 8, load<f64>(col + (<usize>i << 3)));
    const rest = nb - j - 1;
    if (rest <= 0 || t == 0) continue;
    // C = P[j:r, j+1:nb]: w = C^T v, then C -= tau v w^T.
    memory.fill(w, 0, <usize>rest << 3);
    for (let i = 0; i < len; i++) {
      const vi = load<f64>(col + (<usize>i << 3));
      if (vi != 0) axpyUnit<f64>(rest, vi, p + (<usize>(j + i) * ld + <usize>(j + 1)) * 8, w);
    }
    for (let i = 0; i < len; i++) {
      const f = -t * load<f64>(col + (<usize>i << 3));
      if (f != 0) axpyUnit<f64>(rest, f, w, p + (<usize>(j + i) * ld + <usize>(j + 1)) * 8);
    }
  }
}

/**
 * From the factored panel (r x nb, q reflectors, tau in ws.tau): V explicit (r x q, ld q) into v and
 * T (q x q upper triangular, ld q) into ws.tri with H_0 ... H_{q-1} = I - V T V^T (LAPACK dlarft,
 * forward, columnwise).
 */
function formVT(r: i32, nb: i32, q: i32, ws: BandWork, v: usize): void {
  const panel = ws.panel, tri = ws.tri, gram = ws.gram;
  for (let i = 0; i < r; i++) {
    const src = panel + <usize>i * <usize>nb * 8, dst = v + <usize>i * <usize>q * 8;
    for (let j = 0; j < q; j++) store<f64>(dst + (<usize>j << 3), j < i ? load<f64>(src + (<usize>j << 3)) : j == i ? 1.0 : 0.0);
  }
  gemmF64(1, 0, q, q, r, 1, v, q, v, q, 0, gram, q);
  memory.fill(tri, 0, <usize>(q * q) * 8);
  for (let c = 0; c < q; c++) {
    const tc = load<f64>(ws.tau + (<usize>c << 3));
    // T[0:c, c] = -tau_c T[0:c, 0:c] (V^T V)[0:c, c].
    for (let rr = 0; rr < c; rr++) {
      let acc = 0.0;
      for (let p = rr; p < c; p++) acc += load<f64>(tri + (<usize>(rr * q + p) << 3)) * load<f64>(gram + (<usize>(p * q + c) << 3));
      store<f64>(tri + (<usize>(rr * q + c) << 3), -tc * acc);
    }
    store<f64>(tri + (<usize>(c * q + c) << 3), tc);
  }
}

/** Row blocks the pool's threads take from a GEMM of m rows: about 4 per thread, whole tiles. */
function rowBlock(m: i32, threads: i32): i32 {
  const per = (m + 4 * threads - 1) / (4 * threads);
  return max(16, (per + 3) & ~3);
}

/**
 * gemmF64, split over the open pool by block rows of C when there is one (the threads build) and the
 * product is large enough to gain from it; the same values either way (parallel.ts).
 */
function gemmRows(
  transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
): void {
  if (ASC_FEATURE_THREADS) {
    const pool = threadPool();
    if (pool && <i64>m * <i64>n * <i64>k >= PARALLEL_MIN_FLOPS) {
      parallelGemmRowsF64(pool, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, rowBlock(m, threadPoolThreads(pool)));
      return;
    }
  }
  gemmF64(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/** Smallest m n k a product needs before it is split over threads (below, the hand-off costs more). */
const PARALLEL_MIN_FLOPS: i64 = 1 << 18;

/**
 * Panel k of gebrdBandF64 (columns k..k+kb-1 by QR, then rows k..k+kb-1 right of them by LQ); a
 * function of its own so that V8 runs it optimized (it tiers WebAssembly up between calls only).
 *
 * With C = A[k:m, k+kb:n] and C2 its rows below the panel, the left update is C -= V (X T)^T,
 * X = C^T V, and the right update C2 -= (C2' V2) T2 V2^T for the left-updated C2'. Only the panel's
 * kb rows of C are left-updated first (they are the LQ panel); C2' V2 = C2 V2 - V_lower ((X T)^T V2)
 * comes from the old C2, and both updates of C2 are then one GEMM of inner dimension 2b:
 * C2 -= [V_lower, X2 T2] [X T, V2]^T. So the trailing matrix is read three times per panel (X, X2,
 * the update), not four, and the update's longer inner dimension runs the GEMM faster.
 */
function bandPanel(m: i32, n: i32, a: usize, lda: i32, b: i32, k: i32, ws: BandWork): void {
  const ld = <usize>lda;
  const kb = min(b, n - k);
  // QR of the column panel A[k:m, k:k+kb].
  const r = m - k;
  const q = min(kb, r);
  for (let i = 0; i < r; i++) memory.copy(ws.panel + <usize>i * <usize>kb * 8, a + (<usize>(k + i) * ld + <usize>k) * 8, <usize>kb * 8);
  panelQr(r, kb, q, ws.panel, ws.tau, ws.col, ws.row);
  for (let i = 0; i < min(r, kb); i++) {
    memory.copy(a + (<usize>(k + i) * ld + <usize>(k + i)) * 8, ws.panel + (<usize>i * <usize>kb + <usize>i) * 8, <usize>(kb - i) * 8);
  }
  const c = n - k - kb;
  if (c <= 0) return;
  formVT(r, kb, q, ws, ws.v);
  const q2 = min(kb, c);
  const w2 = q + q2;
  const cPtr = a + (<usize>k * ld + <usize>(k + kb)) * 8;
  // X = C^T V (c x q); X T into the first q columns of `right`.
  gemmRows(1, 0, c, q, r, 1, cPtr, lda, ws.v, q, 0, ws.x, q);
  gemmF64(0, 0, c, q, q, 1, ws.x, q, ws.tri, q, 0, ws.right, w2);
  // The panel's rows of C, left-updated: C[0:kb] -= V[0:kb] (X T)^T.
  gemmF64(0, 1, kb, c, q, -1, ws.v, q, ws.right, w2, 1, cPtr, lda);
  // LQ of the row panel A[k:k+kb, k+kb:n], as QR of its transpose (c x kb).
  for (let j = 0; j < c; j++) {
    const dst = ws.panel + <usize>j * <usize>kb * 8;
    const src = cPtr + (<usize>j << 3);
    for (let t = 0; t < kb; t++) store<f64>(dst + (<usize>t << 3), load<f64>(src + <usize>t * ld * 8));
  }
  panelQr(c, kb, q2, ws.panel, ws.tau, ws.col, ws.row);
  // The band part L = R^T back: A[k+t, k+kb+j] = R[j, t] for j <= t.
  for (let t = 0; t < kb; t++) {
    const dst = cPtr + <usize>t * ld * 8;
    for (let j = 0; j <= min(t, c - 1); j++) store<f64>(dst + (<usize>j << 3), load<f64>(ws.panel + (<usize>j * <usize>kb + <usize>t) * 8));
  }
  const r2 = m - k - kb;
  if (r2 <= 0) return;
  formVT(c, kb, q2, ws, ws.v2);
  // V2 into the last q2 columns of `right`; S = (X T)^T V2 (q x q2).
  for (let j = 0; j < c; j++) {
    memory.copy(ws.right + (<usize>j * <usize>w2 + <usize>q) * 8, ws.v2 + <usize>j * <usize>q2 * 8, <usize>q2 * 8);
  }
  gemmF64(1, 0, q, q2, c, 1, ws.right, w2, ws.v2, q2, 0, ws.small, q2);
  // X2 = C2' V2 = C2 V2 - V[kb:] S (r2 x q2), from the old C2.
  const c2 = cPtr + <usize>kb * ld * 8;
  const vLower = ws.v + <usize>kb * <usize>q * 8;
  gemmRows(0, 0, r2, q2, c, 1, c2, lda, ws.v2, q2, 0, ws.x2, q2);
  gemmF64(0, 0, r2, q2, q, -1, vLower, q, ws.small, q2, 1, ws.x2, q2);
  // left = [V[kb:], X2 T2] (r2 x w2); C2 -= left right^T.
  for (let i = 0; i < r2; i++) {
    memory.copy(ws.left + <usize>i * <usize>w2 * 8, vLower + <usize>i * <usize>q * 8, <usize>q * 8);
  }
  gemmF64(0, 0, r2, q2, q2, 1, ws.x2, q2, ws.tri, q2, 0, ws.left + (<usize>q << 3), w2);
  gemmRows(0, 1, r2, c, w2, -1, ws.left, w2, ws.right, w2, 1, c2, lda);
}

/**
 * GEBRDBANDF64: stage 1 of the two-stage bidiagonalization. A (m x n row-major, ld lda, m >= n >= 1)
 * is overwritten by B = Q^T A P, upper triangular with band width b >= 1: on exit A[i, i..min(i+b,
 * n-1)] holds row i of B; everything else of A is undefined (the reflectors are not kept). Panel by
 * panel of b columns: QR of A[k:m, k:k+b], the trailing columns updated from the left (three GEMMs),
 * then LQ of A[k:k+b, k+b:n], the trailing rows updated from the right: three passes over the
 * trailing matrix per panel (bandPanel). In the threads
 * build with a pool open, the large GEMMs run on the pool's threads (bitwise the same B).
 * Flops 4mn^2 - 4n^3/3 (as one-stage gebrd), all but O(mnb) in GEMM. Allocates 9 max(m, n) b values.
 * Accuracy: see the file header.
 */
export function gebrdBandF64(m: i32, n: i32, a: usize, lda: i32, b: i32): void {
  if (m < n || n < 1 || b < 1) abort("gebrdBandF64: need m >= n >= 1 and b >= 1");
  const rows = <usize>max(m, n);
  const ws = changetype<BandWork>(heap.alloc(offsetof<BandWork>()));
  const bytes = rows * <usize>b * 8;
  ws.panel = heap.alloc(bytes);
  ws.v = heap.alloc(bytes);
  ws.v2 = heap.alloc(bytes);
  ws.x = heap.alloc(bytes);
  ws.x2 = heap.alloc(bytes);
  ws.left = heap.alloc(2 * bytes);
  ws.right = heap.alloc(2 * bytes);
  ws.tau = heap.alloc(<usize>b * 8);
  ws.col = heap.alloc(rows * 8);
  ws.row = heap.alloc(<usize>b * 8);
  ws.tri = heap.alloc(<usize>(b * b) * 8);
  ws.gram = heap.alloc(<usize>(b * b) * 8);
  ws.small = heap.alloc(<usize>(b * b) * 8);
  for (let k = 0; k < n; k += b) bandPanel(m, n, a, lda, b, k, ws);
  heap.free(ws.panel);
  heap.free(ws.v);
  heap.free(ws.v2);
  heap.free(ws.x);
  heap.free(ws.x2);
  heap.free(ws.left);
  heap.free(ws.right);
  heap.free(ws.tau);
  heap.free(ws.col);
  heap.free(ws.row);
  heap.free(ws.tri);
  heap.free(ws.gram);
  heap.free(ws.small);
  heap.free(changetype<usize>(ws));
}

// ---------------------------------------------------------------------------------------------------
// Stage 2: band to bidiagonal

/**
 * Band storage of the chase: row i holds columns i - b .. i + 2b (b below the diagonal for the fill
 * a right reflector leaves in a diagonal block, 2b above for the bulge a left reflector leaves in the
 * block right of it), element (i, c) at position c - i + b of the row; ld = 3b + 1.
 */
@inline function at(band: usize, ld: usize, b: i32, i: i32, c: i32): usize {
  return band + (<usize>i * ld + <usize>(c - i + b)) * 8;
}

/** Rows i0..i0+rows-1, columns c0..c0+len-1 := themselves times H = I - tau v v^T (from the right). */
function reflectRight(band: usize, ld: usize, b: i32, i0: i32, rows: i32, c0: i32, len: i32, v: usize, tau: f64): void {
  if (tau == 0) return;
  for (let i = 0; i < rows; i++) {
    const row = at(band, ld, b, i0 + i, c0);
    axpyUnit<f64>(len, -tau * dotUnit<f64>(len, row, v), v, row);
  }
}

/** Rows r0..r0+len-1, columns c0..c0+cols-1 := H times themselves, H = I - tau x x^T (from the left). */
function reflectLeft(band: usize, ld: usize, b: i32, r0: i32, len: i32, c0: i32, cols: i32, x: usize, tau: f64, w: usize): void {
  if (tau == 0 || cols <= 0) return;
  memory.fill(w, 0, <usize>cols << 3);
  for (let i = 0; i < len; i++) axpyUnit<f64>(cols, load<f64>(x + (<usize>i << 3)), at(band, ld, b, r0 + i, c0), w);
  for (let i = 0; i < len; i++) axpyUnit<f64>(cols, -tau * load<f64>(x + (<usize>i << 3)), w, at(band, ld, b, r0 + i, c0));
}

/** Reflector annihilating row i right of column c0 (columns c0..c0+len-1): into v, tau returned. */
function rowReflector(band: usize, ld: usize, b: i32, i: i32, c0: i32, len: i32, v: usize): f64 {
  const p = at(band, ld, b, i, c0);
  memory.copy(v, p, <usize>len << 3);
  const tau = larfgF64(len, v, v + 8, 1);
  store<f64>(p, load<f64>(v));
  memory.fill(p + 8, 0, <usize>(len - 1) << 3);
  store<f64>(v, 1.0);
  return tau;
}

/** Reflector annihilating column c below row r0 (rows r0..r0+len-1): into x, tau returned. */
function columnReflector(band: usize, ld: usize, b: i32, r0: i32, c: i32, len: i32, x: usize): f64 {
  for (let i = 0; i < len; i++) store<f64>(x + (<usize>i << 3), load<f64>(at(band, ld, b, r0 + i, c)));
  const tau = larfgF64(len, x, x + 8, 1);
  store<f64>(at(band, ld, b, r0, c), load<f64>(x));
  for (let i = 1; i < len; i++) store<f64>(at(band, ld, b, r0 + i, c), 0);
  store<f64>(x, 1.0);
  return tau;
}

/**
 * Sweep j of bandBidiagonalF64: row j reduced to its diagonal and superdiagonal, the bulges this
 * creates chased down the band one b-block at a time (each block: the left reflector of the block
 * above applied, a right reflector from its first row, that applied to the diagonal block below, a
 * left reflector from that block's first column). Only the first row/column of each bulge is
 * annihilated; later sweeps take the rest, as in LAPACK's dsb2st. A function of its own for V8's
 * tier-up (see bandPanel). Scratch: v, x (b + 1 values), w (2b + 1).
 *
 * Steps and threads: step 0 (row j and its diagonal block) touches rows and columns j .. j + b, step
 * s >= 1 (one b-block) rows and columns j + 1 + (s - 1) b .. j + (s + 1) b. So step s of sweep j
 * touches nothing that steps s + 3 .. of sweep j - 1 touch, and sweep j may run step s on another
 * thread as soon as sweep j - 1 has finished steps 0 .. s + 2 (PLASMA's pipelined bulge chase). With
 * `progress` != 0 (the threads build), progress[j] (i32) counts the steps sweep j has finished
 * (CHASE_DONE when it is complete), and each step first waits for progress[j - 1] >= s + 3. Every
 * element then sees the same operations in the same order as on one thread: bitwise the same result.
 */
export function chaseSweep(n: i32, b: i32, band: usize, ld: usize, j: i32, v: usize, x: usize, w: usize, progress: usize): void {
  let r0 = j + 1;
  let len = min(b, n - 1 - j);
  let step = 0;
  waitForSweep(progress, j, step);
  // Row j: a right reflector on columns r0..r0+len-1, applied to the diagonal block below it (which
  // fills its lower triangle), then a left reflector from that block's first column.
  const tau = rowReflector(band, ld, b, j, r0, len, v);
  reflectRight(band, ld, b, r0, len, r0, len, v, tau);
  let tauL = columnReflector(band, ld, b, r0, r0, len, x);
  reflectLeft(band, ld, b, r0, len, r0 + 1, len - 1, x, tauL, w);
  while (r0 + len < n) {
    step++;
    markSweep(progress, j, step);
    waitForSweep(progress, j, step);
    const s0 = r0 + len;
    const lm = min(b, n - s0);
    // The block right of the diagonal block (rows r0.., columns s0..): the left reflector fills it;
    // a right reflector from its first row returns row r0 to the band.
    reflectLeft(band, ld, b, r0, len, s0, lm, x, tauL, w);
    const tauR = rowReflector(band, ld, b, r0, s0, lm, v);
    reflectRight(band, ld, b, r0 + 1, len - 1, s0, lm, v, tauR);
    // The next diagonal block: the right reflector fills its lower triangle; a left reflector from its
    // first column clears that column below the diagonal.
    reflectRight(band, ld, b, s0, lm, s0, lm, v, tauR);
    tauL = columnReflector(band, ld, b, s0, s0, lm, x);
    reflectLeft(band, ld, b, s0, lm, s0 + 1, lm - 1, x, tauL, w);
    r0 = s0;
    len = lm;
  }
  markSweep(progress, j, CHASE_DONE);
}

/** progress[j] once sweep j is complete. */
export const CHASE_DONE: i32 = 0x7fffffff;

/** Publish that sweep j has finished `steps` steps (threads build, progress != 0). */
@inline function markSweep(progress: usize, j: i32, steps: i32): void {
  if (ASC_FEATURE_THREADS) {
    if (progress) atomic.store<i32>(progress + (<usize>j << 2), steps);
  }
}

/**
 * Wait until sweep j - 1 has finished steps 0 .. step + 2 (threads build, progress != 0): spinning,
 * then sleeping (parallel.ts waitUntilAtLeast).
 */
@inline function waitForSweep(progress: usize, j: i32, step: i32): void {
  if (ASC_FEATURE_THREADS) {
    if (!progress || j == 0) return;
    waitUntilAtLeast(progress + (<usize>(j - 1) << 2), step + 3);
  }
}

/**
 * BANDBIDIAGONALF64: stage 2 of the two-stage bidiagonalization. B is the n x n upper band matrix of
 * width b that gebrdBandF64 left in A (row i: A[i, i..min(i+b, n-1)], ld lda; A is not modified);
 * d[0:n] and e[0:n-1] receive the diagonal and superdiagonal of an upper bidiagonal matrix
 * orthogonally equivalent to B (same singular values). Copies the band into band storage of
 * n (3b + 1) values (allocated here) and chases it down by Householder reflectors of length <= b:
 * sweep j (j = 0 .. n-3) annihilates row j beyond the superdiagonal and column j+1 below the
 * diagonal, ~8 b (n - j) b flops each, all on contiguous rows of the storage. Accuracy: see the file
 * header.
 */
export function bandBidiagonalF64(n: i32, a: usize, lda: i32, b: i32, d: usize, e: usize): void {
  if (n < 1 || b < 1) abort("bandBidiagonalF64: need n >= 1 and b >= 1");
  const bw = min(b, max(n - 1, 1));
  const ld = <usize>(3 * bw + 1);
  const band = heap.alloc(<usize>n * ld * 8);
  memory.fill(band, 0, <usize>n * ld * 8);
  for (let i = 0; i < n; i++) {
    const last = min(n - 1, i + bw);
    memory.copy(at(band, ld, bw, i, i), a + (<usize>i * <usize>lda + <usize>i) * 8, <usize>(last - i + 1) * 8);
  }
  const v = heap.alloc(<usize>(bw + 1) << 3);
  const x = heap.alloc(<usize>(bw + 1) << 3);
  const w = heap.alloc(<usize>(2 * bw + 1) << 3);
  if (bw >= 2) chaseAll(n, bw, band, ld, v, x, w);
  for (let i = 0; i < n; i++) {
    store<f64>(d + (<usize>i << 3), load<f64>(at(band, ld, bw, i, i)));
    if (i + 1 < n) store<f64>(e + (<usize>i << 3), load<f64>(at(band, ld, bw, i, i + 1)));
  }
  heap.free(v);
  heap.free(x);
  heap.free(w);
  heap.free(band);
}

/**
 * Smallest order whose chase bandBidiagonalF64 pipelines over the open pool: below it a sweep's steps
 * are too short for the hand-off between threads to pay.
 */
const CHASE_THREADS_MIN_ORDER: i32 = 512;

/** Sweeps 0 .. n-3 of the chase: on the open pool's threads (threads build), else here. */
function chaseAll(n: i32, b: i32, band: usize, ld: usize, v: usize, x: usize, w: usize): void {
  if (ASC_FEATURE_THREADS) {
    const pool = threadPool();
    if (pool && n >= CHASE_THREADS_MIN_ORDER) {
      const progress = heap.alloc(<usize>n << 2);
      memory.fill(progress, 0, <usize>n << 2);
      parallelChaseF64(pool, n, b, band, <i32>ld, progress);
      heap.free(progress);
      return;
    }
  }
  for (let j = 0; j + 2 < n; j++) chaseSweep(n, b, band, ld, j, v, x, w, 0);
}
