/**
 * Matrix-free singular triplets: the k largest or smallest singular values and vectors of a linear
 * operator, by thick-restart Golub-Kahan-Lanczos bidiagonalization (assembly/gkl.ts).
 *
 *   topSingularTriplets(operator, k, options?) -> { values, u, v, iterations, restarts, residuals, ... }
 *
 * Operators (see LinearOperator):
 * - a WASM operator `{ shape: [m, n], wasmHandle }` (a handle from assembly/operator.ts: dense, unit,
 *   chain, ...). The whole iteration then runs inside WASM: no JavaScript call per Lanczos step.
 * - a JavaScript operator `{ shape: [m, n], apply(X, k), applyTranspose(Y, k) }` on Float64Arrays
 *   (blocks of k vectors, vector-major: X is k x n, A X is k x m). The same WASM state machine runs
 *   the algorithm and hands each product to JavaScript (reverse communication), so both kinds get
 *   identical arithmetic apart from the products themselves. apply may return a Promise.
 *
 * Contract (LAPACK style)
 *   k          1 <= k <= min(m, n)
 *   which      'largest' (default) or 'smallest': values in that order (largest first, smallest first)
 *   tol        convergence tolerance (default 1e-10): stop when every wanted triplet has
 *              ||A^T u - s v|| <= tol * s_max (recurrence estimate; A v = s u holds to rounding by
 *              construction), s_max = the largest Ritz value seen (a lower bound for ||A||_2)
 *   block      b, vectors per operator product (default 1). b > 1 runs block GKL: it finds up to b
 *              copies of a multiple singular value and resolves clusters better, and it pays off for
 *              operators whose cost per vector falls with the block size (a stage-1 residual unit
 *              costs the same for 2 vectors as for 1, and 4x less per vector for 8); for dense
 *              operators (cost proportional to b) keep b = 1. Falls back to 1 when k + 2b > min(m,n).
 *   maxIterations  at most this many block steps (each one product of b vectors with A and one
 *              with A^T; default 100*subspace), checked at the end of each block
 *   subspace   Krylov basis size L (default min(min(m,n), max(2k + 16, 32)); rounded down to a
 *              multiple of b); memory ~ (2L + b)(m + n) + L max(m, n) doubles
 *   keep       Ritz vectors kept at each thick restart (default k + (L - k)/2)
 *   seed       start vector seed (default 0); results are a deterministic function of it
 * Returns values (k), u (k x m, row i the unit left vector of values[i]), v (k x n, unit right
 * vectors), residuals (k): the explicit max(||A v - s u||, ||A^T u - s v||) computed after the
 * iteration with one block product each way, estimates (k): the recurrence's residual estimates,
 * iterations: block steps taken, products: vectors multiplied by A (and by A^T), restarts, the
 * block and subspace used, converged: whether all estimates met tol (false means maxIterations ran
 * out: the results are the current approximations, with their residuals).
 *
 * Cost per block step: the two products, plus full reorthogonalization by block CGS2 (four passes
 * over each basis, ~ 8 (m + n) j flops for a basis of j vectors, memory-bound), plus at each restart
 * a Jacobi SVD of the L x L projected matrix and two basis rotations (~ 4 keep L (m + n) flops).
 * Step counts and times for a stage-1 unit's top 20 are in BENCHMARKS.md.
 *
 * Accuracy: a Ritz value with residual r lies within r of a singular value, and within r^2/gap when
 * the rest of the spectrum is at least `gap` away; singular vectors are accurate to about r/gap.
 * Lanczos finds ONE copy of a multiple singular value at a time (others only through rounding);
 * the smallest singular values converge much more slowly than the largest (they are the smallest
 * eigenvalues of A^T A, where relative gaps are squared). Wide operators (m < n) are processed as
 * A^T, so the Krylov space lives in R^min(m,n) and zero singular values are not spurious.
 *
 * Errors: InputError for a bad k, shape, option, a handle whose shape differs from `shape`, an f32
 * operator handle, or a JavaScript operator returning a block of the wrong length.
 */
import { InputError, UsageError } from '../util/errors.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';

/** An f64 operator living in WASM memory (assembly/operator.ts handle). */
export interface WasmLinearOperator {
  readonly shape: readonly [number, number];
  readonly wasmHandle: number;
  /** The kernel instance owning the handle (default: the process-wide `loadKernels()`). */
  readonly kernels?: Kernels;
}

/** An operator applied by JavaScript to blocks of k vectors (vector-major Float64Arrays). */
export interface JsLinearOperator {
  readonly shape: readonly [number, number];
  /** A X for X of k x n; returns k x m. */
  apply(x: Float64Array, k: number): Float64Array | Promise<Float64Array>;
  /** A^T Y for Y of k x m; returns k x n. */
  applyTranspose(y: Float64Array, k: number): Float64Array | Promise<Float64Array>;
}

export type LinearOperator = WasmLinearOperator | JsLinearOperator;

export interface TopSingularTripletsOptions {
  which?: 'largest' | 'smallest';
  tol?: number;
  maxIterations?: number;
  seed?: number;
  subspace?: number;
  keep?: number;
  block?: number;
  /** Kernel instance for JavaScript operators (WASM operators use their own `kernels`). */
  kernels?: Kernels;
}

export interface SingularTriplets {
  values: Float64Array;
  /** k x m, row i = left singular vector of values[i]. */
  u: Float64Array;
  /** k x n, row i = right singular vector of values[i]. */
  v: Float64Array;
  /** Block Lanczos steps (each a product of `block` vectors with A and with A^T). */
  iterations: number;
  /** Vectors multiplied by A (and by A^T): iterations * block, plus k for the final check. */
  products: number;
  restarts: number;
  /** Block size and basis size actually used. */
  block: number;
  subspace: number;
  residuals: Float64Array;
  estimates: Float64Array;
  converged: boolean;
}

export function isWasmOperator(op: LinearOperator): op is WasmLinearOperator {
  return typeof (op as WasmLinearOperator).wasmHandle === 'number';
}

/** Shape check shared by the spectrum routines; `what` names the routine in messages. */
export function operatorShape(op: LinearOperator, what: string): [number, number] {
  const shape = op && typeof op === 'object' ? op.shape : undefined;
  if (!shape || typeof shape !== 'object' || shape.length !== 2) {
    throw new InputError(`${what}: the operator must have a shape [rows, columns]`);
  }
  const [m, n] = shape;
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || n < 1) {
    throw new InputError(`${what}: the operator shape must be two positive integers, got [${op.shape.join(', ')}]`);
  }
  if (!isWasmOperator(op) && (typeof op.apply !== 'function' || typeof op.applyTranspose !== 'function')) {
    throw new InputError(`${what}: the operator needs a wasmHandle or apply/applyTranspose functions`);
  }
  return [m, n];
}

/**
 * The kernel instance to run on: a WASM operator's own (checked against its shape and precision),
 * else options.kernels, else the shared instance.
 */
export async function kernelsFor(op: LinearOperator, optionKernels: Kernels | undefined, what: string): Promise<Kernels> {
  if (!isWasmOperator(op)) return optionKernels ?? (await loadKernels());
  const kernels = op.kernels ?? optionKernels ?? (await loadKernels());
  const handle = op.wasmHandle;
  if (!Number.isInteger(handle) || handle <= 0) throw new InputError(`${what}: invalid wasmHandle ${handle}`);
  const rows = kernels.exports.operatorRows(handle), cols = kernels.exports.operatorColumns(handle);
  if (rows !== op.shape[0] || cols !== op.shape[1]) {
    throw new InputError(`${what}: the operator handle is ${rows} x ${cols} but its shape says ${op.shape[0]} x ${op.shape[1]}`);
  }
  if (kernels.exports.operatorElementSize(handle) !== 8) throw new InputError(`${what}: the operator is f32; these routines need an f64 operator`);
  return kernels;
}

/**
 * Answer the pending request of a reverse-communication state (GKL or SLQ) with a JavaScript
 * operator: copy the operand out of WASM memory, apply, copy the result in.
 */
export async function answerWithJs(kernels: Kernels, state: number, code: number, op: JsLinearOperator, what: string): Promise<void> {
  const [m, n] = op.shape;
  const count = kernels.exports.lanczosRequestCount(state);
  const input = kernels.exports.lanczosRequestInput(state) >>> 0;
  const output = kernels.exports.lanczosRequestOutput(state) >>> 0;
  const forward = code === kernels.exports.REQUEST_APPLY.value; // else a transpose
  const inLength = count * (forward ? n : m), outLength = count * (forward ? m : n);
  const operand = kernels.f64(input, inLength).slice();
  const result = forward ? await op.apply(operand, count) : await op.applyTranspose(operand, count);
  if (!(result instanceof Float64Array) || result.length !== outLength) {
    const got = result instanceof Float64Array ? `${result.length} values` : String(result && (result as object).constructor?.name);
    throw new InputError(
      `${what}: operator.${forward ? 'apply' : 'applyTranspose'} returned ${got}, expected a Float64Array of ${count} x ${forward ? m : n} = ${outLength}`,
    );
  }
  kernels.f64(output, outLength).set(result); // fresh view: the apply may have grown memory
}

/** Drive a reverse-communication state to completion (WASM run, or JS products). */
export async function drive(
  kernels: Kernels, state: number, op: LinearOperator, step: (state: number) => number,
  run: (state: number, handle: number) => number, what: string,
): Promise<void> {
  if (isWasmOperator(op)) {
    run(state, op.wasmHandle);
    return;
  }
  for (;;) {
    const code = step(state);
    if (code === kernels.exports.REQUEST_DONE.value) return;
    await answerWithJs(kernels, state, code, op, what);
  }
}

function integerOption(value: unknown, name: string, min: number, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InputError(`${what}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Default Krylov basis size for k triplets of an operator whose smaller dimension is `d`. */
export function defaultSubspace(k: number, d: number): number {
  return Math.min(d, Math.max(2 * k + 16, 32));
}

/**
 * The k largest (or smallest) singular triplets of `operator`; see the module comment for the
 * contract. Runs entirely in WASM for a WASM operator.
 */
export async function topSingularTriplets(
  operator: LinearOperator, k: number, options: TopSingularTripletsOptions = {},
): Promise<SingularTriplets> {
  const what = 'topSingularTriplets';
  const [m, n] = operatorShape(operator, what);
  const d = Math.min(m, n);
  if (!Number.isInteger(k) || k < 1 || k > d) {
    throw new UsageError(`${what}: k must be an integer in 1..${d} (min of the ${m} x ${n} shape), got ${k}`);
  }
  const which = options.which ?? 'largest';
  if (which !== 'largest' && which !== 'smallest') {
    throw new InputError(`${what}: which must be 'largest' or 'smallest', got ${String(which)}`);
  }
  const tol = options.tol ?? 1e-10;
  if (typeof tol !== 'number' || !(tol >= 0) || !Number.isFinite(tol)) {
    throw new InputError(`${what}: tol must be a finite number >= 0, got ${String(tol)}`);
  }
  const subspaceOption = integerOption(options.subspace, 'subspace', 1, what);
  if (subspaceOption !== undefined && subspaceOption <= k && subspaceOption < d) {
    throw new InputError(`${what}: subspace must exceed k = ${k} (or reach min(rows, columns) = ${d}), got ${subspaceOption}`);
  }
  const subspace = Math.min(d, subspaceOption ?? defaultSubspace(k, d));
  const keep = integerOption(options.keep, 'keep', 1, what) ?? 0;
  const block = integerOption(options.block, 'block', 1, what) ?? 1;
  const maxIterations = integerOption(options.maxIterations, 'maxIterations', 1, what) ?? 100 * subspace;
  const seed = integerOption(options.seed ?? 0, 'seed', 0, what)!;
  const kernels = await kernelsFor(operator, options.kernels, what);
  const exports = kernels.exports;
  return kernels.scope(async (s) => {
    const state = exports.gklCreate(m, n, k, which === 'largest' ? 1 : 0, block, subspace, keep, tol, Math.min(maxIterations, 2 ** 31 - 1), seed | 0);
    if (!state) throw new Error(`${what}: gklCreate refused ${m} x ${n}, k = ${k}, subspace ${subspace}`);
    s.defer(() => exports.gklDestroy(state));
    const values = s.allocF64(k), u = s.allocF64(k * m), v = s.allocF64(k * n), residuals = s.allocF64(k), estimates = s.allocF64(k);
    await drive(kernels, state, operator, exports.gklStep, exports.gklRun, what);
    exports.gklResults(state, values, u, v, residuals, estimates);
    return {
      values: kernels.f64(values, k).slice(),
      u: kernels.f64(u, k * m).slice(),
      v: kernels.f64(v, k * n).slice(),
      residuals: kernels.f64(residuals, k).slice(),
      estimates: kernels.f64(estimates, k).slice(),
      iterations: exports.gklSteps(state),
      products: exports.gklSteps(state) * exports.gklBlock(state) + k,
      restarts: exports.gklRestarts(state),
      block: exports.gklBlock(state),
      subspace: exports.gklSubspace(state),
      converged: exports.gklStatus(state) === exports.GKL_CONVERGED.value,
    };
  });
}
