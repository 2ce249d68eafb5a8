/**
 * SLQ: the ingredients of stochastic Lanczos quadrature (src/spectrum/density.ts) for an operator A
 * (rows x columns, f64) known only through products with A and A^T: for each of `probes` start
 * vectors z, the Lanczos tridiagonal T of the Gram matrix M (A^T A, or A A^T when A is wide, order
 * d = min(rows, columns)), and the Gauss quadrature rule of T, whose nodes and weights approximate
 * the spectral measure of M seen from z.
 *
 *   slqCreate          state for `probes` start vectors (probes x d) and `steps` Lanczos steps each;
 *                      slqDestroy frees it
 *   slqStep / slqRun   advance by reverse communication (lanczos.ts) / drive with a WASM operator
 *   slqResults         nodes and weights (probes x steps, ascending nodes, weights summing to 1),
 *                      the lengths of the rules, and the tridiagonals themselves
 *   gaussQuadratureF64 the Gauss rule of one symmetric tridiagonal matrix (Golub & Welsch), internal
 *
 * Contract: every probe is fully reorthogonalized against its own basis, so its T is that of
 * exact-arithmetic Lanczos to O(eps ||M||) and its rule integrates polynomials of degree < 2 * steps
 * against the measure mu_z = sum_i (y_i^T z)^2 delta(lambda_i) to that accuracy (nodes within
 * O(eps ||T||), weights within O(eps ||T|| / gap)). A probe whose Krylov space is exhausted stops
 * early, with an exact rule of fewer nodes.
 */
import { nrm2F64, scalF64 } from "./blas";
import { answerRequest, orthogonalize, RequestHeader, REQUEST_APPLY, REQUEST_DONE, REQUEST_TRANSPOSE } from "./lanczos";
import { allocZeroedF64, getAt, rowF64, setAt } from "./lib/elements";
import { EPS_F64, PREC_F64 } from "./lib/machine";

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

/** SLQSTEP: advance to the next operator request (request codes: lanczos.ts). */
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
  while (slqStep(state) != REQUEST_DONE) answerRequest(handle, header);
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
