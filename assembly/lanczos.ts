/**
 * Matrix-free spectral kernels over WASM operators (operator.ts), f64:
 *
 *   1. GKL   thick-restart (block) Golub-Kahan-Lanczos bidiagonalization: the k largest or smallest
 *            singular triplets of an operator (gklCreate / gklStep / gklRun / gklResults ...).
 *   2. SLQ   block Lanczos tridiagonalization of A^T A from probe vectors, and Gauss quadrature
 *            nodes/weights (slqCreate / slqStep / slqRun / slqResults, gaussQuadratureF64): the
 *            ingredients of stochastic Lanczos quadrature (src/spectrum/density.ts).
 *   3. INERTIA  exact eigenvalue counts of symmetric matrices by Sylvester's law of inertia: banded
 *            Gram matrices from sparse rows (bandedGramFromCsrF64), banded LDL^T without pivoting
 *            (bandedInertiaF64, blocked, with an element-growth certificate) and dense Bunch-Kaufman
 *            LDL^T (denseInertiaF64).
 *
 * Both iterations are written in REVERSE COMMUNICATION (as ARPACK): a state object is created, and
 * each call of the step function advances the iteration until it needs a product with the operator;
 * it then returns a request code and leaves the operand and result locations in the state
 * (lanczosRequestCount / Input / Output). gklRun / slqRun answer the requests with a WASM operator
 * handle (operatorApplyF64 / operatorApplyTransposeF64) without ever returning to JavaScript; a
 * JavaScript operator answers them from TypeScript instead, so both kinds of operators run the very
 * same algorithm. Request codes, always in terms of the caller's operator A (rows x columns):
 *
 *   REQUEST_DONE = 0        the iteration has finished; read the results
 *   REQUEST_APPLY = 1       Y = A X:   X is count x columns at Input, write count x rows at Output
 *   REQUEST_TRANSPOSE = 2   X = A^T Y: Y is count x rows at Input, write count x columns at Output
 *
 * Vectors are blocks of `count` vectors stored vector-major, like operator.ts.
 */
import { gemmF64, gemmLowerF64, gemvF64, nrm2F64, scalF64 } from "./blas";
import { operatorApplyF64, operatorApplyTransposeF64 } from "./operator";
import { allocZeroedF64, getAt, rowF64, setAt } from "./lib/elements";
import { axpyUnit, dotUnit } from "./lib/level1";
import { EPS_F64, PREC_F64 } from "./lib/machine";

export const REQUEST_DONE: i32 = 0;
export const REQUEST_APPLY: i32 = 1;
export const REQUEST_TRANSPOSE: i32 = 2;

/** The request part shared (at the same offsets) by every state object of this file. */
@unmanaged
class RequestHeader {
  kind: i32;
  count: i32;
  input: usize;
  output: usize;
}

/** Number of vectors in the pending request of a GKL or SLQ state. */
export function lanczosRequestCount(state: usize): i32 {
  return changetype<RequestHeader>(state).count;
}
/** Address of the operand block of the pending request (see the file header for its shape). */
export function lanczosRequestInput(state: usize): usize {
  return changetype<RequestHeader>(state).input;
}
/** Address where the result block of the pending request must be written. */
export function lanczosRequestOutput(state: usize): usize {
  return changetype<RequestHeader>(state).output;
}

/** Answer a pending request with a WASM operator (f64). */
function answer(handle: usize, header: RequestHeader): void {
  if (header.kind == REQUEST_APPLY) operatorApplyF64(handle, header.input, header.count, header.output);
  else operatorApplyTransposeF64(handle, header.input, header.count, header.output);
}

// ---------------------------------------------------------------------------------------------------
// Deterministic random numbers (splitmix64): start vectors and breakdown replacements are a function
// of the seed alone, on every runtime.

@inline function splitmix(state: u64): u64 {
  let z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** Fill n entries at p with uniform values in [-1, 1); returns the advanced generator state. */
function fillUniform(rng: u64, p: usize, n: i32): u64 {
  let s = rng;
  for (let i = 0; i < n; i++) {
    s += 0x9e3779b97f4a7c15;
    setAt<f64>(p, i, <f64>(splitmix(s) >> 11) * 2.220446049250313e-16 - 1.0);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Gram-Schmidt

/**
 * Orthogonalize w (len entries) against the `count` orthonormal rows of `basis` (row i at
 * basis + i*ld*8) by classical Gram-Schmidt applied twice (CGS2: "twice is enough", Giraud et al.
 * 2005), each pass two SIMD GEMVs; a third and fourth pass run only if a pass still removed more than
 * half of the norm (heavy cancellation). coef (count entries) receives the total projection
 * coefficients basis*w_original; tmp is scratch of count entries. Returns ||w|| after the passes.
 * The result is orthogonal to the basis to O(eps) unless w lies numerically in its span, which the
 * caller detects from the returned norm.
 */
function orthogonalize(basis: usize, ld: i32, count: i32, len: i32, w: usize, coef: usize, tmp: usize): f64 {
  let norm = nrm2F64(len, w, 1);
  if (count == 0) return norm;
  for (let i = 0; i < count; i++) setAt<f64>(coef, i, 0);
  for (let pass = 0; pass < 4; pass++) {
    gemvF64(0, count, len, 1.0, basis, ld, w, 1, 0.0, tmp, 1);
    gemvF64(1, count, len, -1.0, basis, ld, tmp, 1, 1.0, w, 1);
    for (let i = 0; i < count; i++) setAt<f64>(coef, i, getAt<f64>(coef, i) + getAt<f64>(tmp, i));
    const after = nrm2F64(len, w, 1);
    const previous = norm;
    norm = after;
    if (pass >= 1 && after >= 0.5 * previous) break;
  }
  return norm;
}

/** Columns per chunk of the block kernels: a chunk of every vector of a block stays in L1/L2. */
const CHUNK: i32 = 256;

/**
 * C (count x b, row-major) = basis[0:count] * W^T: the dot products of the `count` basis rows
 * (stride ld) with the b rows of W (stride ldw), all of length len. Works in column chunks so each
 * basis row is read from memory once for the whole block (b dot products per load), two W rows per
 * register pass.
 */
function multiDot(basis: usize, ld: i32, count: i32, len: i32, w: usize, ldw: i32, b: i32, c: usize): void {
  memory.fill(c, 0, <usize>(count * b) << 3);
  for (let j0 = 0; j0 < len; j0 += CHUNK) {
    const width = min(CHUNK, len - j0);
    const off = <usize>j0 << 3;
    for (let i = 0; i < count; i++) {
      const qi = rowF64(basis, i, ld) + off;
      let t = 0;
      for (; t + 2 <= b; t += 2) {
        const w0 = rowF64(w, t, ldw) + off, w1 = rowF64(w, t + 1, ldw) + off;
        let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
        let j = 0;
        for (; j + 2 <= width; j += 2) {
          const o = <usize>j << 3;
          const qv = v128.load(qi + o);
          a0 = f64x2.add(a0, f64x2.mul(qv, v128.load(w0 + o)));
          a1 = f64x2.add(a1, f64x2.mul(qv, v128.load(w1 + o)));
        }
        let s0 = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
        let s1 = f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1);
        for (; j < width; j++) {
          s0 += getAt<f64>(qi, j) * getAt<f64>(w0, j);
          s1 += getAt<f64>(qi, j) * getAt<f64>(w1, j);
        }
        setAt<f64>(c, i * b + t, getAt<f64>(c, i * b + t) + s0);
        setAt<f64>(c, i * b + t + 1, getAt<f64>(c, i * b + t + 1) + s1);
      }
      if (t < b) setAt<f64>(c, i * b + t, getAt<f64>(c, i * b + t) + dotUnit<f64>(width, qi, rowF64(w, t, ldw) + off));
    }
  }
}

/** W[t] -= sum_i C[i, t] * basis[i] for t < b (the update of a block GS pass), chunked as multiDot. */
function multiAxpy(basis: usize, ld: i32, count: i32, len: i32, c: usize, w: usize, ldw: i32, b: i32): void {
  for (let j0 = 0; j0 < len; j0 += CHUNK) {
    const width = min(CHUNK, len - j0);
    const off = <usize>j0 << 3;
    for (let i = 0; i < count; i++) {
      const qi = rowF64(basis, i, ld) + off;
      for (let t = 0; t < b; t++) {
        const f = getAt<f64>(c, i * b + t);
        if (f != 0) axpyUnit<f64>(width, -f, qi, rowF64(w, t, ldw) + off);
      }
    }
  }
}

/**
 * Block classical Gram-Schmidt, twice (BCGS2, Barlow & Smoktunowicz 2013): orthogonalize the b rows
 * of W (stride ld, length len) against the `count` orthonormal rows of basis (stride ld), two passes
 * of multiDot + multiAxpy, accumulating the total coefficients in coef (count x b); tmp: count x b
 * scratch. The rows of W are NOT orthogonalized among themselves (the caller does that, one vector at
 * a time). Memory traffic: four reads of the basis per block, independent of b.
 */
function blockOrthogonalize(basis: usize, ld: i32, count: i32, len: i32, w: usize, b: i32, coef: usize, tmp: usize): void {
  if (count == 0) return;
  memory.fill(coef, 0, <usize>(count * b) << 3);
  for (let pass = 0; pass < 2; pass++) {
    multiDot(basis, ld, count, len, w, ld, b, tmp);
    multiAxpy(basis, ld, count, len, tmp, w, ld, b);
    for (let i = 0; i < count * b; i++) setAt<f64>(coef, i, getAt<f64>(coef, i) + getAt<f64>(tmp, i));
  }
}

/**
 * Overwrite w with a random unit vector orthogonal to the `count` rows of basis (count < len):
 * the replacement after a breakdown of the recurrence.
 */
function randomOrthogonal(rng: u64, basis: usize, ld: i32, count: i32, len: i32, w: usize, coef: usize, tmp: usize): u64 {
  let s = rng;
  for (let attempt = 0; attempt < 8; attempt++) {
    s = fillUniform(s, w, len);
    const before = nrm2F64(len, w, 1);
    const norm = orthogonalize(basis, ld, count, len, w, coef, tmp);
    if (norm > 1e-3 * before) {
      scalF64(len, 1.0 / norm, w, 1);
      return s;
    }
  }
  // Only reachable when count >= len (no orthogonal direction exists): callers never ask for that.
  memory.fill(w, 0, <usize>len << 3);
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Small dense SVD by one-sided Jacobi

/**
 * SVD of the nn x nn matrix W (row-major, leading dimension nn) by one-sided (Hestenes) Jacobi on
 * its ROWS: plane rotations from the left, accumulated in R (nn x nn, initialised here to I), are
 * applied until every pair of rows is orthogonal to |<w_p, w_q>| <= sqrt(nn)*eps*|w_p||w_q|. Then
 * W_original = R^T * W_final and W_final = diag(sigma) * Vt, so
 *
 *   W_original = U * diag(sigma) * Vt  with  U = R^T  (row i of R is the i-th left singular vector),
 *
 * on exit the rows of W hold Vt (unit rows; a zero row is completed to an orthonormal set) and
 * sigma[i] >= 0 the singular values, in the row order (unsorted). Returns the number of sweeps
 * (at most 60). Used on the projected matrices of GKL (nn <= a few hundred, ~ 9 nn^3 flops a sweep,
 * quadratic convergence, typically 5-8 sweeps). Accuracy: singular values to high relative accuracy
 * for matrices that are well conditioned after row scaling (Demmel & Veselic 1992), otherwise to
 * O(nn*eps*||W||) absolute; U and Vt orthonormal to O(nn*eps).
 */
export function rowJacobiSvdF64(nn: i32, w: usize, r: usize, sigma: usize): i32 {
  memory.fill(r, 0, <usize>(nn * nn) << 3);
  for (let i = 0; i < nn; i++) setAt<f64>(r, i * nn + i, 1.0);
  const threshold = Math.sqrt(<f64>nn) * PREC_F64;
  let sweeps = 0;
  for (; sweeps < 60; sweeps++) {
    // Squared row norms, recomputed each sweep and updated exactly per rotation in between.
    for (let i = 0; i < nn; i++) {
      const ri = rowF64(w, i, nn);
      setAt<f64>(sigma, i, dotUnit<f64>(nn, ri, ri));
    }
    let rotated = false;
    for (let p = 0; p < nn - 1; p++) {
      const wp = rowF64(w, p, nn);
      for (let q = p + 1; q < nn; q++) {
        const a = getAt<f64>(sigma, p), b = getAt<f64>(sigma, q);
        if (a == 0 || b == 0) continue;
        const wq = rowF64(w, q, nn);
        const g = dotUnit<f64>(nn, wp, wq);
        if (abs(g) <= threshold * Math.sqrt(a) * Math.sqrt(b)) continue;
        rotated = true;
        const zeta = (b - a) / (2 * g);
        const t = (zeta >= 0 ? 1.0 : -1.0) / (abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        rotateRows(nn, wp, wq, c, s);
        rotateRows(nn, rowF64(r, p, nn), rowF64(r, q, nn), c, s);
        setAt<f64>(sigma, p, a - t * g);
        setAt<f64>(sigma, q, b + t * g);
      }
    }
    if (!rotated) break;
  }
  // Norms, unit rows, and completion of zero rows to an orthonormal set.
  let zeros = 0;
  for (let i = 0; i < nn; i++) {
    const ri = rowF64(w, i, nn);
    const s = nrm2F64(nn, ri, 1);
    setAt<f64>(sigma, i, s);
    if (s > 0) scalF64(nn, 1 / s, ri, 1);
    else zeros++;
  }
  if (zeros > 0) completeRows(nn, w, sigma);
  return sweeps;
}

/** Replace the rows of w whose sigma is 0 by unit vectors orthogonal to all other rows. */
function completeRows(nn: i32, w: usize, sigma: usize): void {
  const valid = heap.alloc(<usize>nn << 2);
  for (let i = 0; i < nn; i++) setAt<i32>(valid, i, getAt<f64>(sigma, i) > 0 ? 1 : 0);
  for (let i = 0; i < nn; i++) {
    if (getAt<i32>(valid, i)) continue;
    const ri = rowF64(w, i, nn);
    let best = 0.0;
    for (let e = 0; e < nn && best < 0.5; e++) {
      memory.fill(ri, 0, <usize>nn << 3);
      setAt<f64>(ri, e, 1.0);
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < nn; j++) {
          if (j == i || !getAt<i32>(valid, j)) continue;
          const rj = rowF64(w, j, nn);
          axpyUnit<f64>(nn, -dotUnit<f64>(nn, rj, ri), rj, ri);
        }
      }
      best = nrm2F64(nn, ri, 1);
    }
    scalF64(nn, 1 / best, ri, 1);
    setAt<i32>(valid, i, 1);
  }
  heap.free(valid);
}

/** (x, y) <- (c x - s y, s x + c y) over n contiguous entries. */
function rotateRows(n: i32, x: usize, y: usize, c: f64, s: f64): void {
  const cv = f64x2.splat(c), sv = f64x2.splat(s);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    const xv = v128.load(x + o), yv = v128.load(y + o);
    v128.store(x + o, f64x2.sub(f64x2.mul(cv, xv), f64x2.mul(sv, yv)));
    v128.store(y + o, f64x2.add(f64x2.mul(sv, xv), f64x2.mul(cv, yv)));
  }
  for (; i < n; i++) {
    const xv = getAt<f64>(x, i), yv = getAt<f64>(y, i);
    setAt<f64>(x, i, c * xv - s * yv);
    setAt<f64>(y, i, s * xv + c * yv);
  }
}

/** Indices 0..nn-1 ordered by descending value (insertion sort; nn is small). */
function orderDescending(nn: i32, values: usize, order: usize): void {
  for (let i = 0; i < nn; i++) {
    const v = getAt<f64>(values, i);
    let j = i;
    while (j > 0 && getAt<f64>(values, getAt<i32>(order, j - 1)) < v) {
      setAt<i32>(order, j, getAt<i32>(order, j - 1));
      j--;
    }
    setAt<i32>(order, j, i);
  }
}

// ---------------------------------------------------------------------------------------------------
// 1. GKL: thick-restart (block) Golub-Kahan-Lanczos bidiagonalization

const GKL_INIT: i32 = 0;
const GKL_AFTER_AP: i32 = 1;
const GKL_AFTER_ATQ: i32 = 2;
const GKL_AFTER_FINAL_AV: i32 = 3;
const GKL_AFTER_FINAL_ATU: i32 = 4;
const GKL_FINISHED: i32 = 5;

/** gklStatus: converged, stopped at maxSteps, or not finished yet. */
export const GKL_CONVERGED: i32 = 0;
export const GKL_MAX_STEPS: i32 = 1;
export const GKL_RUNNING: i32 = -1;

@unmanaged
class GklState {
  // RequestHeader (same offsets)
  kind: i32;
  count: i32;
  input: usize;
  output: usize;
  /** The caller's operator is rows x columns; internally A is m x n with m >= n (A^T when wide). */
  rows: i32;
  columns: i32;
  transposed: i32;
  m: i32;
  n: i32;
  wanted: i32;
  largest: i32;
  /** b: vectors per block product; L: maximum basis size; keep: Ritz vectors kept at a restart. */
  block: i32;
  subspace: i32;
  keep: i32;
  tol: f64;
  maxSteps: i32;
  rng: u64;
  /** P: (L+b) x n right basis rows (rows size..size+b-1 receive the residual block); Q: L x m. */
  p: usize;
  q: usize;
  /** B: L x L projected upper-triangular matrix, A P_j = Q_j B_j (leading dimension L). */
  b: usize;
  /** G: b x b, the residual block F = P[size:size+b]^T-coordinates: F_raw = P_res G (upper triangular). */
  g: usize;
  /** Jacobi workspace (nn x nn compact): rows end as Vt; R: rows are left singular vectors. */
  w: usize;
  r: usize;
  sigma: usize;
  order: usize;
  selected: usize;
  coef: usize;
  tmp: usize;
  /** (L+b) x b block coefficients and scratch; b raw norms of the current block. */
  coefBlock: usize;
  tmpBlock: usize;
  rawNorms: usize;
  scratch: usize;
  /** First column of the current block; size of the last projected SVD. */
  col: i32;
  size: i32;
  phase: i32;
  steps: i32;
  restarts: i32;
  status: i32;
  converged: i32;
  normEstimate: f64;
  sMax: f64;
  /** Results (internal orientation): k values, estimates, residuals; U (k x m), V (k x n), AV, AtU. */
  values: usize;
  estimates: usize;
  residuals: usize;
  uf: usize;
  vf: usize;
  av: usize;
  atu: usize;
}

function gklOf(state: usize): GklState {
  return changetype<GklState>(state);
}

/**
 * GKLCREATE: set up the computation of the k largest (largest != 0) or smallest singular triplets of
 * an operator A of `rows` x `columns` (the operator itself is supplied later, request by request).
 *
 * Arguments
 *   rows, columns  shape of A (>= 1)
 *   k              number of triplets, 1 <= k <= n = min(rows, columns)
 *   largest        nonzero: the k largest; zero: the k smallest of the n singular values
 *   block          b, vectors per operator product (>= 1). b = 1 is the classical single-vector
 *                  recurrence; b > 1 is block GKL, whose products of b vectors at once are much
 *                  cheaper per vector for operators that batch (residual units: b = 2 costs what
 *                  b = 1 does) and which resolves clusters and multiplicities up to b. Falls back to
 *                  b = 1 when k + 2b > n.
 *   subspace       maximum basis size L; clamped to [k + b, n] (b = 1) or [k + b, n - b], then rounded
 *                  down to a multiple of b
 *   keep           Ritz vectors kept at each thick restart (0: k + (L - k)/2); clamped to [k, L - b]
 *                  and rounded up so that L - keep is a multiple of b
 *   tol            convergence: every wanted triplet has ||A^T u - s v|| <= tol * s_max (estimated
 *                  from the recurrence; ||A v - s u|| is zero up to rounding by construction), where
 *                  s_max is the largest Ritz value seen so far
 *   maxSteps       the iteration stops after at most this many block steps (one product of b vectors
 *                  with A and one with A^T each), at the end of a block
 *   seed           the start block is uniform in [-1,1)^(n x b) from this seed (deterministic)
 * Returns a state handle (free with gklDestroy), or 0 for invalid arguments.
 *
 * Method. Golub-Kahan-Lanczos bidiagonalization of the tall orientation (A, or A^T when rows <
 * columns, so that the start vectors live in the smaller space and A^T A has no spurious zero
 * eigenvalues), in blocks of b vectors (Golub, Luk & Overton 1981): A P = Q B and
 * A^T Q = P B^T + F E^T, with P and Q kept orthonormal by full reorthogonalization (CGS2,
 * orthogonalize above, one column at a time so that the QR of each new block comes out of the same
 * pass) and B upper triangular with upper bandwidth b (bidiagonal for b = 1). When the basis reaches
 * L vectors, B = U_B S V_B^T (rowJacobiSvdF64) gives Ritz triplets (s_i, Q U_B e_i, P V_B e_i) with
 * A v_i = s_i u_i and ||A^T u_i - s_i v_i|| = ||G E^T U_B e_i||, where F = P_res G is the residual
 * block (orthonormal P_res, upper-triangular G). If the wanted ones have not converged, the
 * iteration restarts THICKLY (Wu & Simon 2000; Baglama & Reichel 2005/2006, augmented with Ritz
 * vectors): the `keep` Ritz vectors nearest the wanted end become the first basis vectors, P_res the
 * next right block, and B becomes diag(s_1..s_keep) with the coupling block (G E^T U_B) above the
 * new diagonal block, which the recurrence then extends. Breakdowns (an exhausted Krylov space, or
 * A p in the span of Q) continue with a random vector orthogonal to the basis, so rank-deficient
 * operators and exact zero singular values are handled.
 *
 * Accuracy: at convergence the relations hold to O(eps ||A||) (full reorthogonalization), so each
 * Ritz value is within the residual norm, <= tol*s_max, of a singular value, and within
 * residual^2/gap when it is separated by `gap` from the rest of the spectrum. A block of b vectors
 * finds up to b copies of a multiple singular value (b = 1: one at a time, others only through
 * rounding and restarts); the smallest values of A^T A converge slowly.
 *
 * Memory: (2L+b)(m+n) + L*max(m,n) + 2k(m+n) doubles plus O(L^2).
 */
export function gklCreate(
  rows: i32, columns: i32, k: i32, largest: i32, block: i32, subspace: i32, keep: i32, tol: f64, maxSteps: i32, seed: i32,
): usize {
  if (rows < 1 || columns < 1) return 0;
  const n = min(rows, columns), m = max(rows, columns);
  if (k < 1 || k > n || !(tol >= 0) || maxSteps < 1 || block < 1) return 0;
  let b = block;
  if (b > 1 && k + 2 * b > n) b = 1;
  let L = max(subspace, k + b);
  L = min(L, b == 1 ? n : n - b);
  L = (L / b) * b;
  if (L < k + b) L += b;
  let kk = keep > 0 ? keep : k + (L - k) / 2;
  kk = min(max(kk, k), L - b);
  kk = L - b * ((L - kk) / b);
  const s = changetype<GklState>(heap.alloc(offsetof<GklState>()));
  memory.fill(changetype<usize>(s), 0, offsetof<GklState>());
  s.rows = rows;
  s.columns = columns;
  s.transposed = rows < columns ? 1 : 0;
  s.m = m;
  s.n = n;
  s.wanted = k;
  s.largest = largest != 0 ? 1 : 0;
  s.block = b;
  s.subspace = L;
  s.keep = kk;
  s.tol = tol;
  s.maxSteps = maxSteps;
  s.rng = splitmix(<u64>(<u32>seed) + 0x632be59bd9b4e019);
  s.p = allocZeroedF64(<usize>(L + b) * <usize>n);
  s.q = allocZeroedF64(<usize>L * <usize>m);
  s.b = allocZeroedF64(L * L);
  s.g = allocZeroedF64(b * b);
  s.w = allocZeroedF64(L * L);
  s.r = allocZeroedF64(L * L);
  s.sigma = allocZeroedF64(L);
  s.order = heap.alloc(<usize>(L + 1) << 2);
  s.selected = allocZeroedF64(L * L);
  s.coef = allocZeroedF64(L + b);
  s.tmp = allocZeroedF64(L + b);
  s.coefBlock = allocZeroedF64((L + b) * b);
  s.tmpBlock = allocZeroedF64((L + b) * b);
  s.rawNorms = allocZeroedF64(b);
  s.scratch = allocZeroedF64(<usize>L * <usize>m);
  s.values = allocZeroedF64(k);
  s.estimates = allocZeroedF64(k);
  s.residuals = allocZeroedF64(k);
  s.phase = GKL_INIT;
  s.status = GKL_RUNNING;
  return changetype<usize>(s);
}

/** Block size b actually used (after the fallback to 1 for small problems). */
export function gklBlock(state: usize): i32 {
  return gklOf(state).block;
}
/** Basis size L actually used. */
export function gklSubspace(state: usize): i32 {
  return gklOf(state).subspace;
}

/** Release a GKL state and everything it owns. */
export function gklDestroy(state: usize): void {
  if (!state) return;
  const s = gklOf(state);
  heap.free(s.p);
  heap.free(s.q);
  heap.free(s.b);
  heap.free(s.g);
  heap.free(s.w);
  heap.free(s.r);
  heap.free(s.sigma);
  heap.free(s.order);
  heap.free(s.selected);
  heap.free(s.coef);
  heap.free(s.tmp);
  heap.free(s.coefBlock);
  heap.free(s.tmpBlock);
  heap.free(s.rawNorms);
  heap.free(s.scratch);
  heap.free(s.values);
  heap.free(s.estimates);
  heap.free(s.residuals);
  if (s.uf) heap.free(s.uf);
  if (s.vf) heap.free(s.vf);
  if (s.av) heap.free(s.av);
  if (s.atu) heap.free(s.atu);
  heap.free(state);
}

/** Post a request for the INTERNAL operator (forward: A_int x, else A_int^T y). */
function gklRequest(s: GklState, forward: bool, count: i32, input: usize, output: usize): i32 {
  const apply = forward != (s.transposed != 0);
  s.kind = apply ? REQUEST_APPLY : REQUEST_TRANSPOSE;
  s.count = count;
  s.input = input;
  s.output = output;
  return s.kind;
}

/** Breakdown threshold: a new direction shorter than this is rounding noise. */
@inline function breakdownLevel(s: GklState, len: i32): f64 {
  return PREC_F64 * Math.sqrt(<f64>len) * s.normEstimate;
}

/**
 * GKLSTEP: advance the iteration to its next operator request (see the file header) and return the
 * request code; REQUEST_DONE when finished (then gklStatus tells converged or not, and gklResults
 * copies out the triplets).
 */
export function gklStep(state: usize): i32 {
  const s = gklOf(state);
  const m = s.m, n = s.n, L = s.subspace, bs = s.block;
  while (true) {
    if (s.phase == GKL_INIT) {
      // Orthonormal random start block.
      for (let t = 0; t < bs; t++) s.rng = randomOrthogonal(s.rng, s.p, n, t, n, rowF64(s.p, t, n), s.coef, s.tmp);
      s.col = 0;
      s.phase = GKL_AFTER_AP;
      return gklRequest(s, true, bs, s.p, s.q);
    }
    if (s.phase == GKL_AFTER_AP) {
      // Columns col..col+b-1 of A P = Q B: W = A P_block, block-orthogonalized against q_0..q_col-1
      // (coefficients = B[0:col, block]), then each column against the earlier ones of its block
      // (B within the diagonal block) and normalized (B[c,c]).
      const col = s.col;
      const w0 = rowF64(s.q, col, m);
      for (let t = 0; t < bs; t++) {
        const norm = nrm2F64(m, rowF64(w0, t, m), 1);
        setAt<f64>(s.rawNorms, t, norm);
        s.normEstimate = max(s.normEstimate, norm);
      }
      blockOrthogonalize(s.q, m, col, m, w0, bs, s.coefBlock, s.tmpBlock);
      for (let t = 0; t < bs; t++) {
        const c = col + t;
        const wq = rowF64(s.q, c, m);
        for (let i = 0; i < col; i++) setAt<f64>(s.b, i * L + c, getAt<f64>(s.coefBlock, i * bs + t));
        const alpha = orthogonalize(w0, m, t, m, wq, s.coef, s.tmp);
        for (let i = 0; i < t; i++) setAt<f64>(s.b, (col + i) * L + c, getAt<f64>(s.coef, i));
        for (let i = c + 1; i < L; i++) setAt<f64>(s.b, i * L + c, 0.0);
        if (alpha <= breakdownLevel(s, m) || alpha <= 1e-12 * getAt<f64>(s.rawNorms, t)) {
          setAt<f64>(s.b, c * L + c, 0.0);
          s.rng = randomOrthogonal(s.rng, s.q, m, c, m, wq, s.coef, s.tmp);
        } else {
          setAt<f64>(s.b, c * L + c, alpha);
          scalF64(m, 1.0 / alpha, wq, 1);
        }
      }
      s.phase = GKL_AFTER_ATQ;
      return gklRequest(s, false, bs, rowF64(s.q, s.col, m), rowF64(s.p, s.col + bs, n));
    }
    if (s.phase == GKL_AFTER_ATQ) {
      // The next right block: A^T q_c orthogonalized against every p (the coefficients on the
      // existing p's are entries of B, recomputed exactly by the next A-side pass); G records its
      // QR within the block, which is the residual block F = P_res G at the end of a cycle.
      const first = s.col + bs;
      memory.fill(s.g, 0, <usize>(bs * bs) << 3);
      const r0 = rowF64(s.p, first, n);
      if (first >= n) {
        // Only with b = 1 and a full basis (L = n): the residual is zero in exact arithmetic.
        memory.fill(r0, 0, (<usize>bs * <usize>n) << 3);
      } else {
        for (let t = 0; t < bs; t++) {
          const norm = nrm2F64(n, rowF64(r0, t, n), 1);
          setAt<f64>(s.rawNorms, t, norm);
          s.normEstimate = max(s.normEstimate, norm);
        }
        blockOrthogonalize(s.p, n, first, n, r0, bs, s.coefBlock, s.tmpBlock);
        for (let t = 0; t < bs; t++) {
          const c = first + t;
          const rp = rowF64(s.p, c, n);
          const beta = orthogonalize(r0, n, t, n, rp, s.coef, s.tmp);
          for (let i = 0; i < t; i++) setAt<f64>(s.g, i * bs + t, getAt<f64>(s.coef, i));
          if (beta <= breakdownLevel(s, n) || beta <= 1e-12 * getAt<f64>(s.rawNorms, t)) {
            s.rng = randomOrthogonal(s.rng, s.p, n, c, n, rp, s.coef, s.tmp);
          } else {
            setAt<f64>(s.g, t * bs + t, beta);
            scalF64(n, 1.0 / beta, rp, 1);
          }
        }
      }
      s.steps++;
      const size = first;
      if (size + bs <= L && s.steps < s.maxSteps) {
        // B[c-b.., c] for the new columns are set by the next A-side pass.
        s.col = size;
        s.phase = GKL_AFTER_AP;
        return gklRequest(s, true, bs, rowF64(s.p, size, n), rowF64(s.q, size, m));
      }
      // End of a cycle: the basis is full (or the step budget spent).
      gklProjectedSvd(s, size);
      if (s.converged == s.wanted || s.steps >= s.maxSteps || size >= n) {
        s.status = s.converged == s.wanted ? GKL_CONVERGED : GKL_MAX_STEPS;
        gklFinalVectors(s, size);
        s.phase = GKL_AFTER_FINAL_AV;
        return gklRequest(s, true, s.wanted, s.vf, s.av);
      }
      gklRestart(s, size);
      const keep = s.keep;
      s.col = keep;
      s.phase = GKL_AFTER_AP;
      return gklRequest(s, true, bs, rowF64(s.p, keep, n), rowF64(s.q, keep, m));
    }
    if (s.phase == GKL_AFTER_FINAL_AV) {
      s.phase = GKL_AFTER_FINAL_ATU;
      return gklRequest(s, false, s.wanted, s.uf, s.atu);
    }
    if (s.phase == GKL_AFTER_FINAL_ATU) {
      // Explicit residuals max(||A v - s u||, ||A^T u - s v||).
      for (let i = 0; i < s.wanted; i++) {
        const sv = getAt<f64>(s.values, i);
        const avi = rowF64(s.av, i, m), ui = rowF64(s.uf, i, m);
        axpyUnit<f64>(m, -sv, ui, avi);
        const atui = rowF64(s.atu, i, n), vi = rowF64(s.vf, i, n);
        axpyUnit<f64>(n, -sv, vi, atui);
        setAt<f64>(s.residuals, i, max(nrm2F64(m, avi, 1), nrm2F64(n, atui, 1)));
      }
      s.phase = GKL_FINISHED;
      s.kind = REQUEST_DONE;
      s.count = 0;
      return REQUEST_DONE;
    }
    s.kind = REQUEST_DONE;
    return REQUEST_DONE;
  }
}

/** ||G y|| with y = the last b components of the left singular vector idx of B (size x size). */
function residualEstimate(s: GklState, size: i32, idx: i32): f64 {
  const bs = s.block;
  const y = s.r + ((<usize>idx * <usize>size + <usize>(size - bs)) << 3);
  let sum = 0.0;
  for (let t = 0; t < bs; t++) {
    let x = 0.0;
    for (let j = t; j < bs; j++) x += getAt<f64>(s.g, t * bs + j) * getAt<f64>(y, j);
    sum += x * x;
  }
  return Math.sqrt(sum);
}

/**
 * SVD of the leading size x size block of B, ordering, residual estimates, convergence count and
 * the wanted values (in the order of `which`: largest first, or smallest first).
 */
function gklProjectedSvd(s: GklState, size: i32): void {
  const L = s.subspace;
  for (let i = 0; i < size; i++) memory.copy(rowF64(s.w, i, size), rowF64(s.b, i, L), <usize>size << 3);
  rowJacobiSvdF64(size, s.w, s.r, s.sigma);
  orderDescending(size, s.sigma, s.order);
  s.size = size;
  s.sMax = max(s.sMax, getAt<f64>(s.sigma, getAt<i32>(s.order, 0)));
  let converged = 0;
  for (let i = 0; i < s.wanted; i++) {
    const idx = getAt<i32>(s.order, s.largest ? i : size - 1 - i);
    const estimate = size >= s.n ? 0.0 : residualEstimate(s, size, idx);
    setAt<f64>(s.values, i, getAt<f64>(s.sigma, idx));
    setAt<f64>(s.estimates, i, estimate);
    if (estimate <= s.tol * s.sMax) converged++;
  }
  s.converged = converged;
}

/**
 * selected (count x size) = the rows of R (left singular vectors of B) or of W (right ones) of the
 * first `count` Ritz values from the wanted end.
 */
function gatherRows(s: GklState, size: i32, count: i32, left: bool): void {
  const src = left ? s.r : s.w;
  for (let i = 0; i < count; i++) {
    const idx = getAt<i32>(s.order, s.largest ? i : size - 1 - i);
    memory.copy(rowF64(s.selected, i, size), rowF64(src, idx, size), <usize>size << 3);
  }
}

/** Thick restart: keep Ritz vectors at the wanted end, residual block next, B = diag + coupling block. */
function gklRestart(s: GklState, size: i32): void {
  const m = s.m, n = s.n, L = s.subspace, keep = s.keep, bs = s.block;
  // Q[0:keep] = R_sel * Q[0:size]  (left Ritz vectors), P[0:keep] = Vt_sel * P[0:size] (right).
  gatherRows(s, size, keep, true);
  gemmF64(0, 0, keep, m, size, 1.0, s.selected, size, s.q, m, 0.0, s.scratch, m);
  memory.copy(s.q, s.scratch, (<usize>keep * <usize>m) << 3);
  gatherRows(s, size, keep, false);
  gemmF64(0, 0, keep, n, size, 1.0, s.selected, size, s.p, n, 0.0, s.scratch, n);
  memory.copy(s.p, s.scratch, (<usize>keep * <usize>n) << 3);
  // The orthonormal residual block (rows size..size+b-1 of P) becomes p_keep..p_keep+b-1.
  memory.copy(rowF64(s.p, keep, n), rowF64(s.p, size, n), (<usize>bs * <usize>n) << 3);
  memory.fill(s.b, 0, <usize>(L * L) << 3);
  for (let i = 0; i < keep; i++) {
    const idx = getAt<i32>(s.order, s.largest ? i : size - 1 - i);
    setAt<f64>(s.b, i * L + i, getAt<f64>(s.sigma, idx));
    // Coupling block G E^T U_B e_i (recomputed by the next orthogonalization; stored for a complete B).
    const y = s.r + ((<usize>idx * <usize>size + <usize>(size - bs)) << 3);
    for (let t = 0; t < bs; t++) {
      let x = 0.0;
      for (let j = t; j < bs; j++) x += getAt<f64>(s.g, t * bs + j) * getAt<f64>(y, j);
      setAt<f64>(s.b, i * L + keep + t, x);
    }
  }
  s.restarts++;
}

/** The wanted Ritz vectors U (k x m) and V (k x n) of the last projected SVD, for the final check. */
function gklFinalVectors(s: GklState, size: i32): void {
  const m = s.m, n = s.n, k = s.wanted;
  s.uf = allocZeroedF64(<usize>k * <usize>m);
  s.vf = allocZeroedF64(<usize>k * <usize>n);
  s.av = allocZeroedF64(<usize>k * <usize>m);
  s.atu = allocZeroedF64(<usize>k * <usize>n);
  gatherRows(s, size, k, true);
  gemmF64(0, 0, k, m, size, 1.0, s.selected, size, s.q, m, 0.0, s.uf, m);
  gatherRows(s, size, k, false);
  gemmF64(0, 0, k, n, size, 1.0, s.selected, size, s.p, n, 0.0, s.vf, n);
}

/**
 * GKLRUN: drive the iteration to completion with the f64 WASM operator `handle` (operator.ts) of
 * the shape given to gklCreate; no call returns to JavaScript until it is done. Returns gklStatus.
 */
export function gklRun(state: usize, handle: usize): i32 {
  const header = changetype<RequestHeader>(state);
  while (gklStep(state) != REQUEST_DONE) answer(handle, header);
  return gklOf(state).status;
}

/** GKL_CONVERGED (0), GKL_MAX_STEPS (1), or GKL_RUNNING (-1) before the iteration has finished. */
export function gklStatus(state: usize): i32 {
  return gklOf(state).status;
}
/**
 * Block Lanczos steps taken: each one product of b vectors with A and one with A^T (the final
 * residual check not counted).
 */
export function gklSteps(state: usize): i32 {
  return gklOf(state).steps;
}
/** Thick restarts taken. */
export function gklRestarts(state: usize): i32 {
  return gklOf(state).restarts;
}
/** Number of wanted triplets whose residual estimate met the tolerance at the last check. */
export function gklConvergedCount(state: usize): i32 {
  return gklOf(state).converged;
}
/** Largest Ritz value seen (a lower bound for ||A||_2, used as s_max in the tolerance). */
export function gklNormEstimate(state: usize): f64 {
  return gklOf(state).sMax;
}

/**
 * GKLRESULTS: copy out the k triplets of a finished state, in the order of `which` (largest first,
 * or smallest first): values (k), u (k x rows, unit left vectors), v (k x columns, unit right
 * vectors) with A v_i ~ values_i u_i, residuals (k): the explicit max(||A v_i - s_i u_i||,
 * ||A^T u_i - s_i v_i||), estimates (k): the recurrence's estimate of ||A^T u_i - s_i v_i|| that
 * the convergence test used. Any output pointer may be 0 to skip it. Returns k, or 0 if the
 * iteration has not finished.
 */
export function gklResults(state: usize, values: usize, u: usize, v: usize, residuals: usize, estimates: usize): i32 {
  const s = gklOf(state);
  if (s.phase != GKL_FINISHED) return 0;
  const k = s.wanted;
  if (values) memory.copy(values, s.values, <usize>k << 3);
  if (residuals) memory.copy(residuals, s.residuals, <usize>k << 3);
  if (estimates) memory.copy(estimates, s.estimates, <usize>k << 3);
  // Internal A = caller's A^T when transposed: its left vectors are the caller's right vectors.
  const left = s.transposed ? s.vf : s.uf;
  const right = s.transposed ? s.uf : s.vf;
  if (u) memory.copy(u, left, (<usize>k * <usize>s.rows) << 3);
  if (v) memory.copy(v, right, (<usize>k * <usize>s.columns) << 3);
  return k;
}

// ---------------------------------------------------------------------------------------------------
// 2. SLQ: block Lanczos tridiagonalization of A^T A, and Gauss quadrature

/**
 * GAUSSQUADRATURE: nodes and weights of the Gauss quadrature rule of the symmetric tridiagonal
 * T (diagonal diag[0:nn], off-diagonal off[0:nn-1], not modified) for the measure whose Jacobi
 * matrix it is (Golub & Welsch 1969): nodes = eigenvalues of T (ascending), weights = squared first
 * components of the unit eigenvectors (they sum to 1). Implicit QL with Wilkinson shifts (EISPACK
 * tql2) accumulating only the first row of the eigenvector matrix, O(nn^2) flops. Returns 0, or
 * 1 + the index of an eigenvalue that failed to converge in 60 iterations.
 * Accuracy: nodes within O(eps ||T||) (absolute), weights within O(eps ||T|| / gap) of the exact
 * ones.
 */
export function gaussQuadratureF64(nn: i32, diag: usize, off: usize, nodes: usize, weights: usize): i32 {
  if (nn <= 0) return 0;
  const d = nodes, z = weights;
  const e = allocZeroedF64(nn);
  memory.copy(d, diag, <usize>nn << 3);
  if (nn > 1) memory.copy(e, off, <usize>(nn - 1) << 3);
  memory.fill(z, 0, <usize>nn << 3);
  setAt<f64>(z, 0, 1.0);
  let failed = 0;
  for (let l = 0; l < nn && !failed; l++) {
    let iterations = 0;
    while (true) {
      let m = l;
      for (; m < nn - 1; m++) {
        const dd = abs(getAt<f64>(d, m)) + abs(getAt<f64>(d, m + 1));
        if (abs(getAt<f64>(e, m)) <= EPS_F64 * dd) break;
      }
      if (m == l) break;
      if (iterations++ == 60) {
        failed = l + 1;
        break;
      }
      let g = (getAt<f64>(d, l + 1) - getAt<f64>(d, l)) / (2.0 * getAt<f64>(e, l));
      let r = Math.hypot(g, 1.0);
      g = getAt<f64>(d, m) - getAt<f64>(d, l) + getAt<f64>(e, l) / (g + (g >= 0 ? abs(r) : -abs(r)));
      let s = 1.0, c = 1.0, p = 0.0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * getAt<f64>(e, i), bb = c * getAt<f64>(e, i);
        r = Math.hypot(f, g);
        setAt<f64>(e, i + 1, r);
        if (r == 0) {
          // Underflow: the rotation splits the matrix; restart the sweep.
          setAt<f64>(d, i + 1, getAt<f64>(d, i + 1) - p);
          setAt<f64>(e, m, 0.0);
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = getAt<f64>(d, i + 1) - p;
        r = (getAt<f64>(d, i) - g) * s + 2.0 * c * bb;
        p = s * r;
        setAt<f64>(d, i + 1, g + p);
        g = c * r - bb;
        const zi1 = getAt<f64>(z, i + 1), zi = getAt<f64>(z, i);
        setAt<f64>(z, i + 1, s * zi + c * zi1);
        setAt<f64>(z, i, c * zi - s * zi1);
      }
      if (deflated) continue;
      setAt<f64>(d, l, getAt<f64>(d, l) - p);
      setAt<f64>(e, l, g);
      setAt<f64>(e, m, 0.0);
    }
  }
  heap.free(e);
  for (let i = 0; i < nn; i++) setAt<f64>(z, i, getAt<f64>(z, i) * getAt<f64>(z, i));
  // Sort ascending by node, carrying the weights (insertion sort: nn is the number of Lanczos steps).
  for (let i = 1; i < nn; i++) {
    const x = getAt<f64>(d, i), wx = getAt<f64>(z, i);
    let j = i;
    while (j > 0 && getAt<f64>(d, j - 1) > x) {
      setAt<f64>(d, j, getAt<f64>(d, j - 1));
      setAt<f64>(z, j, getAt<f64>(z, j - 1));
      j--;
    }
    setAt<f64>(d, j, x);
    setAt<f64>(z, j, wx);
  }
  return failed;
}

const SLQ_START: i32 = 0;
const SLQ_AFTER_AV: i32 = 1;
const SLQ_AFTER_ATAV: i32 = 2;
const SLQ_FINISHED: i32 = 3;

@unmanaged
class SlqState {
  // RequestHeader (same offsets)
  kind: i32;
  count: i32;
  input: usize;
  output: usize;
  rows: i32;
  columns: i32;
  transposed: i32;
  /** Internal A is m x n with n = min(rows, columns): the Gram matrix is A^T A (n x n). */
  m: i32;
  n: i32;
  probes: i32;
  steps: i32;
  /** V: (steps+1) blocks of probes x n (block t holds every probe's t-th Lanczos vector). */
  v: usize;
  y: usize;
  w: usize;
  alpha: usize;
  beta: usize;
  lengths: usize;
  coef: usize;
  tmp: usize;
  t: i32;
  phase: i32;
  normEstimate: f64;
}

function slqOf(state: usize): SlqState {
  return changetype<SlqState>(state);
}

/**
 * SLQCREATE: set up `probes` independent Lanczos tridiagonalizations, `steps` steps each, of the
 * Gram matrix M of an operator A (rows x columns): M = A^T A when rows >= columns, else A A^T, so
 * M has order d = min(rows, columns) and its eigenvalues are the squared singular values of A.
 * start: probes x d start vectors (copied; each is normalized, and a zero vector is an error).
 * 1 <= steps <= d. Returns a state handle (free with slqDestroy) or 0 on invalid arguments.
 *
 * All probes advance together, so each request is a block of `probes` vectors (one A and one A^T
 * product per step). Each probe is fully reorthogonalized against its own basis (CGS2), so its
 * tridiagonal T is that of exact-arithmetic Lanczos to O(eps ||M||), and its Gauss rule
 * (slqResults) is the quadrature of the spectral measure mu_z = sum_i (y_i^T z)^2 delta(lambda_i)
 * of its normalized start vector z. A probe whose Krylov space is exhausted (beta = 0) stops early:
 * its rule is then exact, with fewer nodes.
 * Memory: (steps+1)*probes*d + probes*(m + d) doubles.
 */
export function slqCreate(rows: i32, columns: i32, probes: i32, steps: i32, start: usize): usize {
  if (rows < 1 || columns < 1 || probes < 1) return 0;
  const n = min(rows, columns), m = max(rows, columns);
  if (steps < 1 || steps > n) return 0;
  const s = changetype<SlqState>(heap.alloc(offsetof<SlqState>()));
  memory.fill(changetype<usize>(s), 0, offsetof<SlqState>());
  s.rows = rows;
  s.columns = columns;
  s.transposed = rows < columns ? 1 : 0;
  s.m = m;
  s.n = n;
  s.probes = probes;
  s.steps = steps;
  s.v = allocZeroedF64(<usize>(steps + 1) * <usize>probes * <usize>n);
  s.y = allocZeroedF64(<usize>probes * <usize>m);
  s.w = allocZeroedF64(<usize>probes * <usize>n);
  s.alpha = allocZeroedF64(probes * steps);
  s.beta = allocZeroedF64(probes * steps);
  s.lengths = heap.alloc(<usize>max(probes, 1) << 2);
  s.coef = allocZeroedF64(steps + 1);
  s.tmp = allocZeroedF64(steps + 1);
  memory.copy(s.v, start, (<usize>probes * <usize>n) << 3);
  for (let q = 0; q < probes; q++) {
    setAt<i32>(s.lengths, q, -1);
    const vq = rowF64(s.v, q, n);
    const norm = nrm2F64(n, vq, 1);
    if (!(norm > 0) || !isFinite(norm)) {
      slqDestroy(changetype<usize>(s));
      return 0;
    }
    scalF64(n, 1.0 / norm, vq, 1);
  }
  s.phase = SLQ_START;
  return changetype<usize>(s);
}

/** Release an SLQ state. */
export function slqDestroy(state: usize): void {
  if (!state) return;
  const s = slqOf(state);
  heap.free(s.v);
  heap.free(s.y);
  heap.free(s.w);
  heap.free(s.alpha);
  heap.free(s.beta);
  heap.free(s.lengths);
  heap.free(s.coef);
  heap.free(s.tmp);
  heap.free(state);
}

function slqRequest(s: SlqState, forward: bool, input: usize, output: usize): i32 {
  const apply = forward != (s.transposed != 0);
  s.kind = apply ? REQUEST_APPLY : REQUEST_TRANSPOSE;
  s.count = s.probes;
  s.input = input;
  s.output = output;
  return s.kind;
}

/** SLQSTEP: advance to the next operator request (codes as in the file header). */
export function slqStep(state: usize): i32 {
  const s = slqOf(state);
  const n = s.n, probes = s.probes, steps = s.steps;
  const blockLength = probes * n;
  if (s.phase == SLQ_START) {
    s.t = 0;
    s.phase = SLQ_AFTER_AV;
    return slqRequest(s, true, s.v, s.y);
  }
  if (s.phase == SLQ_AFTER_AV) {
    s.phase = SLQ_AFTER_ATAV;
    return slqRequest(s, false, s.y, s.w);
  }
  if (s.phase == SLQ_AFTER_ATAV) {
    const t = s.t;
    const vt = s.v + ((<usize>t * <usize>blockLength) << 3);
    const vNext = vt + (<usize>blockLength << 3);
    let active = 0;
    for (let q = 0; q < probes; q++) {
      if (getAt<i32>(s.lengths, q) >= 0) continue;
      // w = M v_t - alpha_t v_t - beta_{t-1} v_{t-1}, with full reorthogonalization against v_0..v_t.
      const wq = rowF64(s.w, q, n);
      const basis = rowF64(s.v, q, n);
      const beta = orthogonalize(basis, blockLength, t + 1, n, wq, s.coef, s.tmp);
      const alpha = getAt<f64>(s.coef, t);
      setAt<f64>(s.alpha, q * steps + t, alpha);
      s.normEstimate = max(s.normEstimate, max(abs(alpha), beta));
      if (t + 1 == steps) {
        setAt<i32>(s.lengths, q, steps);
      } else if (beta <= PREC_F64 * Math.sqrt(<f64>n) * s.normEstimate) {
        setAt<i32>(s.lengths, q, t + 1);
      } else {
        setAt<f64>(s.beta, q * steps + t, beta);
        const next = rowF64(vNext, q, n);
        memory.copy(next, wq, <usize>n << 3);
        scalF64(n, 1.0 / beta, next, 1);
        active++;
      }
    }
    s.t = t + 1;
    if (active > 0 && s.t < steps) {
      s.phase = SLQ_AFTER_AV;
      return slqRequest(s, true, vNext, s.y);
    }
    s.phase = SLQ_FINISHED;
  }
  s.kind = REQUEST_DONE;
  s.count = 0;
  return REQUEST_DONE;
}

/** SLQRUN: drive to completion with the f64 WASM operator `handle`. Returns 0. */
export function slqRun(state: usize, handle: usize): i32 {
  const header = changetype<RequestHeader>(state);
  while (slqStep(state) != REQUEST_DONE) answer(handle, header);
  return 0;
}

/**
 * SLQRESULTS: for each probe q, the Gauss rule of its tridiagonal T_q: nodes[q*steps + i] (ascending
 * eigenvalues of T_q, approximations to eigenvalues of M = squared singular values) and
 * weights[q*steps + i] (summing to 1) for i < lengths[q]; entries past lengths[q] are zero.
 * alpha, beta (probes x steps each, may be 0): the tridiagonal entries themselves. Returns 0, -1 if
 * the iteration has not finished, or 1 + q for the first probe whose quadrature failed to converge.
 */
export function slqResults(state: usize, nodes: usize, weights: usize, lengths: usize, alpha: usize, beta: usize): i32 {
  const s = slqOf(state);
  if (s.phase != SLQ_FINISHED) return -1;
  const steps = s.steps;
  if (alpha) memory.copy(alpha, s.alpha, <usize>(s.probes * steps) << 3);
  if (beta) memory.copy(beta, s.beta, <usize>(s.probes * steps) << 3);
  let failed = 0;
  for (let q = 0; q < s.probes; q++) {
    const len = getAt<i32>(s.lengths, q);
    if (lengths) setAt<i32>(lengths, q, len);
    const nq = rowF64(nodes, q, steps), wq = rowF64(weights, q, steps);
    memory.fill(nq, 0, <usize>steps << 3);
    memory.fill(wq, 0, <usize>steps << 3);
    const info = gaussQuadratureF64(len, rowF64(s.alpha, q, steps), rowF64(s.beta, q, steps), nq, wq);
    if (info != 0 && failed == 0) failed = q + 1;
  }
  return failed;
}

// ---------------------------------------------------------------------------------------------------
// 3. Inertia: banded Gram matrices, banded LDL^T, dense Bunch-Kaufman

/**
 * BANDEDGRAMBANDWIDTH: the half-bandwidth w of G = A A^T for the sparse A (rows x columns) in CSR
 * form (rowPointers: rows+1 i32, columnIndices: i32, sorted or not): the largest distance between
 * two rows sharing a column, i.e. G[i, j] = 0 whenever |i - j| > w. Returns w (0 for diagonal G).
 */
export function bandedGramBandwidth(rows: i32, columns: i32, rowPointers: usize, columnIndices: usize): i32 {
  const first = heap.alloc(<usize>max(columns, 1) << 2);
  const last = heap.alloc(<usize>max(columns, 1) << 2);
  for (let c = 0; c < columns; c++) {
    setAt<i32>(first, c, -1);
    setAt<i32>(last, c, -1);
  }
  for (let r = 0; r < rows; r++) {
    for (let p = getAt<i32>(rowPointers, r); p < getAt<i32>(rowPointers, r + 1); p++) {
      const c = getAt<i32>(columnIndices, p);
      if (getAt<i32>(first, c) < 0) setAt<i32>(first, c, r);
      setAt<i32>(last, c, r);
    }
  }
  let w = 0;
  for (let c = 0; c < columns; c++) if (getAt<i32>(first, c) >= 0) w = max(w, getAt<i32>(last, c) - getAt<i32>(first, c));
  heap.free(first);
  heap.free(last);
  return w;
}

/**
 * BANDEDGRAMFROMCSR: G = A A^T (rows x rows) in lower band storage for the sparse A (rows x columns)
 * in CSR form (rowPointers rows+1, columnIndices and values nnz each; column indices need not be
 * sorted, each (row, column) at most once). band: rows x (w+1) f64, overwritten; row i holds
 * G[i, i-w .. i] (entry (i, j) at band[i*(w+1) + j - i + w]; the unused corner j < 0 is zero). w must
 * be at least bandedGramBandwidth; pairs of rows farther apart than w are skipped (so a smaller w
 * truncates G). Returns 0, or -1 if scratch could not be had.
 *
 * Method: the CSR is transposed to CSC (rows ascending within each column) and G accumulated as
 * sum over columns c of a_c a_c^T (a_c the sparse column), lower triangle only:
 * sum_c nnz_c (nnz_c + 1) / 2 multiply-adds (scalar scatter into the band); no dense row is ever
 * formed. Columns are visited in order of their first row, so columns with similar row sets (all
 * input channels of one pixel of a convolution) reuse the same band entries from cache. For a
 * residual-unit Jacobian (rows = active output pixels in pixel-major HWC order) a column holds
 * ~ 25 C_out active rows (a 5x5 pixel window). Measured: stage-1 unit (16x32x32, 9869 active rows,
 * 371 nonzeros per row, w = 1310): 4.1e8 multiply-adds in 0.55 s. Accuracy: each entry is a sum
 * of products in f64, |error| <= gamma_nnz |A||A|^T entrywise.
 */
export function bandedGramFromCsrF64(
  rows: i32, columns: i32, rowPointers: usize, columnIndices: usize, values: usize, w: i32, band: usize,
): i32 {
  const nnz = getAt<i32>(rowPointers, rows);
  const ld = <usize>(w + 1);
  memory.fill(band, 0, (<usize>rows * ld) << 3);
  const colStart = heap.alloc(<usize>(columns + 1) << 2);
  const rowOf = heap.alloc(<usize>max(nnz, 1) << 2);
  const valueOf = heap.alloc(<usize>max(nnz, 1) << 3);
  if (!colStart || !rowOf || !valueOf) return -1;
  memory.fill(colStart, 0, <usize>(columns + 1) << 2);
  for (let p = 0; p < nnz; p++) {
    const c = getAt<i32>(columnIndices, p);
    setAt<i32>(colStart, c + 1, getAt<i32>(colStart, c + 1) + 1);
  }
  for (let c = 0; c < columns; c++) setAt<i32>(colStart, c + 1, getAt<i32>(colStart, c + 1) + getAt<i32>(colStart, c));
  // Scatter (rows visited in increasing order, so each column's rows come out ascending); colStart
  // is advanced as a fill pointer and shifted back afterwards.
  for (let r = 0; r < rows; r++) {
    for (let p = getAt<i32>(rowPointers, r); p < getAt<i32>(rowPointers, r + 1); p++) {
      const c = getAt<i32>(columnIndices, p);
      const dst = getAt<i32>(colStart, c);
      setAt<i32>(rowOf, dst, r);
      setAt<f64>(valueOf, dst, getAt<f64>(values, p));
      setAt<i32>(colStart, c, dst + 1);
    }
  }
  for (let c = columns; c > 0; c--) setAt<i32>(colStart, c, getAt<i32>(colStart, c - 1));
  setAt<i32>(colStart, 0, 0);
  // Visit columns in order of their first row (a stable counting sort): columns with the same or
  // nearby row sets (e.g. all input channels of one pixel of a convolution) then update the same
  // band entries back to back, from cache, instead of sweeping the whole band for every column.
  const byFirst = heap.alloc(<usize>max(columns, 1) << 2);
  const bucket = heap.alloc(<usize>(rows + 2) << 2);
  memory.fill(bucket, 0, <usize>(rows + 2) << 2);
  for (let c = 0; c < columns; c++) {
    const f = getAt<i32>(colStart, c) < getAt<i32>(colStart, c + 1) ? getAt<i32>(rowOf, getAt<i32>(colStart, c)) : rows;
    setAt<i32>(bucket, f + 1, getAt<i32>(bucket, f + 1) + 1);
  }
  for (let r = 0; r <= rows; r++) setAt<i32>(bucket, r + 1, getAt<i32>(bucket, r + 1) + getAt<i32>(bucket, r));
  for (let c = 0; c < columns; c++) {
    const f = getAt<i32>(colStart, c) < getAt<i32>(colStart, c + 1) ? getAt<i32>(rowOf, getAt<i32>(colStart, c)) : rows;
    const slot = getAt<i32>(bucket, f);
    setAt<i32>(byFirst, slot, c);
    setAt<i32>(bucket, f, slot + 1);
  }
  heap.free(bucket);
  for (let visit = 0; visit < columns; visit++) {
    const c = getAt<i32>(byFirst, visit);
    const start = getAt<i32>(colStart, c), end = getAt<i32>(colStart, c + 1);
    for (let pa = start; pa < end; pa++) {
      const ra = getAt<i32>(rowOf, pa);
      const va = getAt<f64>(valueOf, pa);
      const base = band + ((<usize>ra * ld + <usize>(w - ra)) << 3);
      // Entries pb <= pa with ra - rb <= w (all of them when w is the true bandwidth).
      let pb = start;
      while (pb <= pa && ra - getAt<i32>(rowOf, pb) > w) pb++;
      for (; pb <= pa; pb++) {
        const p = base + (<usize>getAt<i32>(rowOf, pb) << 3);
        store<f64>(p, load<f64>(p) + va * getAt<f64>(valueOf, pb));
      }
    }
  }
  heap.free(byFirst);
  heap.free(colStart);
  heap.free(rowOf);
  heap.free(valueOf);
  return 0;
}

/** Panel width of the blocked banded LDL^T. */
const BAND_BLOCK: i32 = 64;

/**
 * BANDEDINERTIA: the number of negative eigenvalues of M - shift*I for the symmetric banded M
 * (order nn, half-bandwidth w, lower band storage as bandedGramFromCsrF64: entry (i, j), i-w <= j <= i,
 * at band[i*(w+1) + j - i + w]) from the signs of the pivots of M - shift*I = L D L^T WITHOUT pivoting
 * (Sylvester's law of inertia: the inertia of D is that of M - shift*I). band is destroyed. Returns the
 * count, or -1 if a pivot is exactly zero (then the factorization does not exist; info[3] holds its
 * index). info (f64[4], may be 0): [0] growth = max_i (|L||D||L^T|)_ii / max|M - shift*I|,
 * [1] min |d_i| / max|M - shift*I|, [2] max|M - shift*I|, [3] failing index or -1.
 *
 * When is this safe? The computed factors are the exact ones of M - shift*I + E with
 * |E| <= gamma_{w+1} |L||D||L^T| (Higham, Accuracy and Stability, Thm 10.5 for LDL^T/Cholesky-type
 * elimination), so the count is exact whenever no eigenvalue of M lies within
 * ~ (w+1)^2 * eps * growth * max|M - shift*I| of `shift` (bound on ||E||_2). Below the spectrum
 * (M - shift*I definite) growth is 1 and the method is as stable as Cholesky; for a shift inside the
 * spectrum no a priori bound exists: a leading principal submatrix with an eigenvalue near the shift
 * gives a tiny pivot and large growth. The caller must check growth (the TypeScript side falls back
 * to dense Bunch-Kaufman beyond a limit).
 *
 * Blocked right-looking (as LAPACK dpbtrf): for each panel of BAND_BLOCK columns, an unblocked
 * elimination of the diagonal block and of the (at most w) rows below it (copied to a dense panel,
 * zero outside the band), then one lower-triangle GEMM updates the w x w trailing triangle, which in
 * this storage is a row-major matrix with leading dimension w. Flops ~ nn*w^2 (+ O(nn*w*64)).
 */
export function bandedInertiaF64(nn: i32, w: i32, band: usize, shift: f64, info: usize): i32 {
  const ld = <usize>w;
  const offset = <usize>w;
  // addr(i, j) = band + (w + i*w + j) * 8
  let maxAbs = 0.0;
  for (let i = 0; i < nn; i++) {
    const diag = band + ((offset + <usize>i * ld + <usize>i) << 3);
    store<f64>(diag, load<f64>(diag) - shift);
    for (let j = max(0, i - w); j <= i; j++) maxAbs = max(maxAbs, abs(load<f64>(band + ((offset + <usize>i * ld + <usize>j) << 3))));
  }
  if (info) {
    setAt<f64>(info, 0, 1.0);
    setAt<f64>(info, 1, 0.0);
    setAt<f64>(info, 2, maxAbs);
    setAt<f64>(info, 3, -1.0);
  }
  if (nn == 0) return 0;
  if (maxAbs == 0) {
    if (info) setAt<f64>(info, 3, 0.0);
    return -1;
  }
  let negatives = 0;
  let minPivot = Infinity;
  if (w == 0) {
    for (let i = 0; i < nn; i++) {
      const d = getAt<f64>(band, i);
      if (d == 0) {
        if (info) setAt<f64>(info, 3, <f64>i);
        return -1;
      }
      if (d < 0) negatives++;
      minPivot = min(minPivot, abs(d));
    }
    if (info) setAt<f64>(info, 1, minPivot / maxAbs);
    return negatives;
  }
  const nb = min(BAND_BLOCK, w);
  const growth = allocZeroedF64(nn);
  const lp = allocZeroedF64(w * nb);
  const yp = allocZeroedF64(w * nb);
  const colv = allocZeroedF64(nb);
  let result = 0;
  for (let k0 = 0; k0 < nn; k0 += nb) {
    const b = min(nb, nn - k0);
    const r = min(w, nn - k0 - b);
    // Panel rows k0+b+i (i < r), columns k0+c: in the band iff b + i - c <= w.
    for (let i = 0; i < r; i++) {
      for (let c = 0; c < b; c++) {
        const inBand = b + i - c <= w;
        setAt<f64>(yp, i * nb + c, inBand ? load<f64>(band + ((offset + <usize>(k0 + b + i) * ld + <usize>(k0 + c)) << 3)) : 0.0);
      }
    }
    for (let c = 0; c < b; c++) {
      const kc = k0 + c;
      const d = load<f64>(band + ((offset + <usize>kc * ld + <usize>kc) << 3));
      if (d == 0 || !isFinite(d)) {
        if (info) setAt<f64>(info, 3, <f64>kc);
        result = -1;
        break;
      }
      if (d < 0) negatives++;
      const ad = abs(d);
      minPivot = min(minPivot, ad);
      setAt<f64>(growth, kc, getAt<f64>(growth, kc) + ad);
      // Column c of the diagonal block below the pivot, then the rank-1 update of the block.
      for (let c2 = c + 1; c2 < b; c2++) setAt<f64>(colv, c2, load<f64>(band + ((offset + <usize>(k0 + c2) * ld + <usize>kc) << 3)));
      for (let c2 = c + 1; c2 < b; c2++) {
        const x = getAt<f64>(colv, c2);
        if (x == 0) continue;
        setAt<f64>(growth, k0 + c2, getAt<f64>(growth, k0 + c2) + x * x / ad);
        axpyUnit<f64>(c2 - c, -x / d, colv + (<usize>(c + 1) << 3), band + ((offset + <usize>(k0 + c2) * ld + <usize>(kc + 1)) << 3));
      }
      for (let i = 0; i < r; i++) {
        const a = getAt<f64>(yp, i * nb + c);
        setAt<f64>(lp, i * nb + c, a / d);
        if (a == 0) continue;
        setAt<f64>(growth, k0 + b + i, getAt<f64>(growth, k0 + b + i) + a * a / ad);
        if (c + 1 < b) axpyUnit<f64>(b - c - 1, -a / d, colv + (<usize>(c + 1) << 3), yp + (<usize>(i * nb + c + 1) << 3));
      }
    }
    if (result < 0) break;
    // Trailing w x w triangle: C -= L21 * (L21 D)^T.
    if (r > 0) {
      const c0 = band + ((offset + <usize>(k0 + b) * ld + <usize>(k0 + b)) << 3);
      gemmLowerF64(0, 1, r, b, -1.0, lp, nb, yp, nb, 1.0, c0, w);
    }
  }
  if (result == 0) {
    let g = 0.0;
    for (let i = 0; i < nn; i++) g = max(g, getAt<f64>(growth, i));
    if (info) {
      setAt<f64>(info, 0, g / maxAbs);
      setAt<f64>(info, 1, minPivot / maxAbs);
    }
    result = negatives;
  }
  heap.free(growth);
  heap.free(lp);
  heap.free(yp);
  heap.free(colv);
  return result;
}

/** Bunch-Kaufman pivot threshold (1 + sqrt(17))/8, which minimizes the element-growth bound. */
const BK_ALPHA: f64 = 0.6403882032022076;

/**
 * DENSEINERTIA: the inertia of M - shift*I for the dense symmetric M (nn x nn, row-major, only the
 * LOWER triangle is read, and destroyed; lda >= nn) by the Bunch-Kaufman symmetric-indefinite
 * factorization P (M - shift*I) P^T = L D L^T with 1x1 and 2x2 pivots (LAPACK dsytf2 with
 * UPLO = 'U' on the column-major view, i.e. eliminating from the last row upwards). Returns the
 * number of negative eigenvalues; zerosOut (i32, may be 0) receives the number of zero pivots (exact
 * zero eigenvalues of D). By Sylvester's law D has the inertia of M - shift*I.
 *
 * Accuracy: backward stable with bounded element growth (growth <= 2.57^(nn-1), in practice small):
 * the inertia is exact for M - shift*I + E with ||E|| <= p(nn) eps ||M - shift*I||, so the count is
 * exact when no eigenvalue of M lies within that distance (~ nn * eps * ||M||) of the shift.
 * Cost: nn^3/3 flops, unblocked (SIMD row updates); meant for orders up to a few thousand.
 */
export function denseInertiaF64(nn: i32, a: usize, lda: i32, shift: f64, zerosOut: usize): i32 {
  const ldu = <usize>lda;
  for (let i = 0; i < nn; i++) {
    const p = a + ((<usize>i * ldu + <usize>i) << 3);
    store<f64>(p, load<f64>(p) - shift);
  }
  let negatives = 0, zeros = 0;
  let k = nn - 1;
  while (k >= 0) {
    let kstep = 1;
    const rowK = a + ((<usize>k * ldu) << 3);
    const absakk = abs(getAt<f64>(rowK, k));
    let imax = 0, colmax = 0.0;
    for (let i = 0; i < k; i++) {
      const v = abs(getAt<f64>(rowK, i));
      if (v > colmax) {
        colmax = v;
        imax = i;
      }
    }
    if (max(absakk, colmax) == 0) {
      // Row and column k are zero: an exact zero eigenvalue, nothing to eliminate.
      zeros++;
      k--;
      continue;
    }
    let kp = k;
    if (absakk < BK_ALPHA * colmax) {
      let rowmax = 0.0;
      const rowI = a + ((<usize>imax * ldu) << 3);
      for (let j = 0; j < imax; j++) rowmax = max(rowmax, abs(getAt<f64>(rowI, j)));
      for (let j = imax + 1; j <= k; j++) rowmax = max(rowmax, abs(getAt<f64>(a + ((<usize>j * ldu) << 3), imax)));
      if (absakk >= BK_ALPHA * colmax * (colmax / rowmax)) {
        kp = k;
      } else if (abs(getAt<f64>(rowI, imax)) >= BK_ALPHA * rowmax) {
        kp = imax;
      } else {
        kp = imax;
        kstep = 2;
      }
    }
    const kk = k - kstep + 1;
    if (kp != kk) symmetricSwapLower(a, ldu, kp, kk, k);
    if (kstep == 1) {
      const d = getAt<f64>(rowK, k);
      if (d < 0) negatives++;
      for (let i = 0; i < k; i++) {
        const xi = getAt<f64>(rowK, i);
        if (xi == 0) continue;
        axpyUnit<f64>(i + 1, -xi / d, rowK, a + ((<usize>i * ldu) << 3));
      }
    } else {
      const rowKm1 = a + ((<usize>(k - 1) * ldu) << 3);
      const a11 = getAt<f64>(rowKm1, k - 1), a21 = getAt<f64>(rowK, k - 1), a22 = getAt<f64>(rowK, k);
      // D = [[a11, a21], [a21, a22]]; sign(det) = sign((a22/a21)(a11/a21) - 1), computed without overflow.
      const s11 = a22 / a21, s22 = a11 / a21;
      const detScaled = s11 * s22 - 1.0;
      const trace = a11 + a22;
      if (detScaled < 0) negatives += 1;
      else if (detScaled > 0) negatives += trace < 0 ? 2 : 0;
      else {
        zeros++;
        if (trace < 0) negatives++;
      }
      if (detScaled != 0) {
        const t = 1.0 / detScaled;
        const d12 = t / a21;
        for (let j = 0; j < k - 1; j++) {
          const xkm1 = getAt<f64>(rowKm1, j), xk = getAt<f64>(rowK, j);
          const wkm1 = d12 * (s11 * xkm1 - xk);
          const wk = d12 * (s22 * xk - xkm1);
          const rowJ = a + ((<usize>j * ldu) << 3);
          if (wk != 0) axpyUnit<f64>(j + 1, -wk, rowK, rowJ);
          if (wkm1 != 0) axpyUnit<f64>(j + 1, -wkm1, rowKm1, rowJ);
        }
      }
    }
    k -= kstep;
  }
  if (zerosOut) store<i32>(zerosOut, zeros);
  return negatives;
}

/** Interchange indices s < t of the symmetric matrix held in the lower triangle, within [0, K]. */
function symmetricSwapLower(a: usize, ld: usize, s: i32, t: i32, K: i32): void {
  const rowS = a + ((<usize>s * ld) << 3), rowT = a + ((<usize>t * ld) << 3);
  for (let j = 0; j < s; j++) swapAt(rowS + (<usize>j << 3), rowT + (<usize>j << 3));
  swapAt(rowS + (<usize>s << 3), rowT + (<usize>t << 3));
  for (let i = s + 1; i < t; i++) swapAt(a + ((<usize>i * ld + <usize>s) << 3), rowT + (<usize>i << 3));
  for (let i = t + 1; i <= K; i++) swapAt(a + ((<usize>i * ld + <usize>s) << 3), a + ((<usize>i * ld + <usize>t) << 3));
}

@inline function swapAt(x: usize, y: usize): void {
  const t = load<f64>(x);
  store<f64>(x, load<f64>(y));
  store<f64>(y, t);
}
