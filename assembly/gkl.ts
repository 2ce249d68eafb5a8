/**
 * GKL: the k largest or smallest singular triplets of an operator A (rows x columns, f64), known only
 * through products with A and A^T, by thick-restart block Golub-Kahan-Lanczos bidiagonalization
 * with full reorthogonalization (Golub, Luk & Overton 1981; Wu & Simon 2000; Baglama & Reichel
 * 2005/2006).
 *
 *   gklCreate      state for k triplets of a rows x columns operator (block size b, basis size L,
 *                  kept Ritz vectors, tolerance, step budget, seed); gklDestroy frees it
 *   gklStep        advance to the next operator request (reverse communication, lanczos.ts), or
 *                  REQUEST_DONE; gklRun answers every request with a WASM operator instead
 *   gklResults     values (k), u (k x rows), v (k x columns), explicit residuals and estimates (k)
 *   gklStatus / gklSteps / gklRestarts / gklBlock / gklSubspace   the state's counters and sizes
 *   rowJacobiSvdF64  the SVD of the small projected matrix (one-sided Jacobi), internal
 *
 * Contract: at GKL_CONVERGED every wanted triplet has ||A^T u - s v|| <= tol * s_max (s_max the
 * largest Ritz value seen) and ||A v - s u|| = O(eps ||A||), so each value is within tol * s_max of a
 * singular value of A (within residual^2 / gap when separated by gap from the rest of the spectrum);
 * gklResults reports the explicit residuals, so a caller never has to trust the estimate. The
 * iteration is deterministic: the same operator, arguments and seed give bitwise the same results.
 * Memory and method: see gklCreate.
 */
import { gemmF64, nrm2F64, scalF64 } from "./blas";
import {
  answerRequest, blockOrthogonalize, orthogonalize, randomOrthogonal, RequestHeader, REQUEST_APPLY,
  REQUEST_DONE, REQUEST_TRANSPOSE, splitmix,
} from "./lanczos";
import { allocZeroedF64, getAt, rowF64, setAt } from "./lib/elements";
import { axpyUnit, dotUnit, rotUnit } from "./lib/level1";
import { PREC_F64 } from "./lib/machine";

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
        // (w_p, w_q) <- (c w_p - s w_q, s w_p + c w_q): drot with sine -s (bitwise the same).
        rotUnit<f64>(nn, wp, wq, c, -s);
        rotUnit<f64>(nn, rowF64(r, p, nn), rowF64(r, q, nn), c, -s);
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
// The iteration

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
 * A^T Q = P B^T + F E^T, with P and Q kept orthonormal by full reorthogonalization (CGS2, lanczos.ts
 * orthogonalize, one column at a time so that the QR of each new block comes out of the same pass)
 * and B upper triangular with upper bandwidth b (bidiagonal for b = 1). When the basis reaches
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
 * GKLSTEP: advance the iteration to its next operator request (reverse communication, lanczos.ts)
 * and return the request code; REQUEST_DONE when finished (then gklStatus tells converged or not,
 * and gklResults copies out the triplets).
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
  while (gklStep(state) != REQUEST_DONE) answerRequest(handle, header);
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
