/**
 * All singular values of any linearization (a JacobianOperator of a unit, stage or network of any
 * residual family), by the cheapest route whose memory fits a limit:
 *
 *   dense          J_A, the active rows and active columns of J (N x N_c), assembled from N row
 *                  products (J^T e_i; cheap: batched, they skip the pixels a unit vector does not
 *                  reach) or, when N_c < N/2, N_c column products (J e_j): P = J_A or J_A^T, p x q;
 *                  then, while r = min(N, N_c) < 4096, svd.ts svdValues of P (the bidiagonal SVD:
 *                  small values stay accurate); from 4096 on the Gram matrix of the smaller side,
 *                  G = P P^T or P^T P (r x r, one lower-triangle GEMM on every core), eigenvalues as below
 *                  memory ~ N N_c + r^2 values
 *   unit-gram      paper units only (assembly/unit.ts operators): the sparse Gram route, gram-route.ts
 *                  memory ~ 1.25 N^2 values
 *   operator-gram  G = J_A J_A^T (N x N, J (J^T E) for blocks E of unit vectors at the active rows) or,
 *                  when N_c < N, G = J_A^T J_A (N_c x N_c, J^T (J E) at the active columns), formed
 *                  from the operator alone (2 r products, r = min(N, N_c)); for units too large to
 *                  hold densely (e.g. 16384 x 32768: J alone is 4 GiB, G 2 GiB)
 *                  memory ~ r^2 + 2 block (m + n) values
 *
 * where N = activeRows().length and N_c = activeColumns().length (the other rows and columns are
 * structurally zero: J has at most min(N, N_c) nonzero singular values, the others are exact zeros,
 * appended). Values are f64, descending, min(m, n) of them.
 *
 * The Gram matrices of both routes are reduced as gram-route.ts reduces the paper units': to a band of
 * width 64 (all 4N^3/3 flops in GEMM, on every core through the threaded kernels from N = 2048 in
 * Node), a bulge chase to tridiagonal form, the QL/QR eigenvalues, square roots. G is formed in the
 * instance that reduces it, and so is the dense route's A: with threads the operator is rebuilt
 * there (JacobianOperator.relinearize), so that its batched convolutions (assembly/conv-gemm.ts) run
 * on every core too.
 *
 * Accuracy: dense as svd.ts; the Gram routes square the matrix, so a value s is within about
 * N eps s_max^2 / s of the exact one (small values lose relative accuracy; s_max and the bulk of the
 * spectrum are accurate to ~1e-13 relative).
 *
 * When no route fits the limit the answer is a UsageError naming the size, what the cheapest route
 * needs, and the matrix-free methods (topk, density, count), which need only a few vectors.
 */
import type { JacobianOperator } from '../linearize/operator.js';
import { UsageError } from '../util/errors.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';
import type { WasmScope } from '../wasm/scope.js';
import { GRAM_DEFAULT_BAND, GRAM_THREADS_MIN_ORDER, threadedKernels, unitSingularValuesGram, type LowerGemm } from './gram-route.js';
import { autoUsesGram, svdValues } from './svd.js';

export type FullRoute = 'dense' | 'unit-gram' | 'operator-gram';

export interface FullSpectrumOptions {
  /** Bytes the route may use (default 4 GiB, the most one WebAssembly instance can address). */
  memoryLimit?: number;
  /** Force a route (it must still fit). */
  route?: FullRoute;
  kernels?: Kernels;
  /** Threads for the Gram reductions (as gram-route.ts: default RESNET_STABILITY_THREADS or every core; same values). */
  threads?: number;
  /** Called with a short description of each phase as it starts. */
  onPhase?: (phase: string) => void;
}

export interface FullSpectrum {
  /** min(m, n) singular values, descending. */
  values: Float64Array;
  route: FullRoute;
  /** The route's memory estimate in bytes. */
  bytes: number;
}

export const DEFAULT_MEMORY_LIMIT = 4 * 2 ** 30;

/** Unit vectors per block of the operator-Gram route (large blocks: see DENSE_BLOCK). */
const GRAM_BLOCK = 128;

/**
 * Unit vectors per block of the dense route's products: large blocks keep the batched convolutions
 * of small planes (assembly/conv-gemm.ts) near the GEMM rate.
 */
const DENSE_BLOCK = 256;

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * The memory each route needs for an operator with N active rows and `activeColumns` active columns
 * (default all), in bytes (Infinity: not applicable).
 */
export function fullRouteBytes(operator: JacobianOperator, activeRows: number, kernels: Kernels, activeColumns?: number): Record<FullRoute, number> {
  const [m, n] = operator.shape;
  const N = activeRows;
  const r = Math.min(N, activeColumns ?? n), c = Math.max(N, activeColumns ?? n);
  const isUnit = operator.precision === 'f64' && kernels.exports.gramUnitOfOperator(operator.wasmHandle) !== 0;
  return {
    dense: 8 * (r * c + r ** 2 + r * (2 * GRAM_DEFAULT_BAND + 2) + DENSE_BLOCK * (m + n)),
    'unit-gram': isUnit ? 8 * 1.25 * N * N : Infinity,
    'operator-gram': 8 * (r * r + r * (2 * GRAM_DEFAULT_BAND + 2) + 3 * r + 2 * GRAM_BLOCK * (m + n)),
  };
}

/** The route 'auto' takes: dense while small (it keeps small values accurate), else the Gram routes. */
function chooseRoute(bytes: Record<FullRoute, number>, limit: number, small: boolean): FullRoute | undefined {
  const order: FullRoute[] = small ? ['dense', 'unit-gram', 'operator-gram'] : ['unit-gram', 'dense', 'operator-gram'];
  return order.find((r) => bytes[r] <= limit);
}

/**
 * FULLSINGULARVALUES: every singular value of `operator` (see the module comment for the routes).
 * Errors: UsageError when no route fits `memoryLimit` (naming the size, the need and the methods that
 * fit), or for a bad limit or route; errors of the routes themselves (non-convergence).
 */
export async function fullSingularValues(operator: JacobianOperator, options: FullSpectrumOptions = {}): Promise<FullSpectrum> {
  const limit = options.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
  if (!(limit > 0)) throw new UsageError(`memoryLimit must be a positive number of bytes, got ${limit}`);
  if (options.route !== undefined && !['dense', 'unit-gram', 'operator-gram'].includes(options.route)) {
    throw new UsageError(`route must be dense, unit-gram or operator-gram, got ${String(options.route)}`);
  }
  const kernels = options.kernels ?? (await loadKernels());
  const [m, n] = operator.shape;
  const rows = operator.activeRows();
  const columns = operator.activeColumns();
  const bytes = fullRouteBytes(operator, rows.length, kernels, columns.length);
  const route = options.route ?? chooseRoute(bytes, Math.min(limit, DEFAULT_MEMORY_LIMIT), Math.min(rows.length, columns.length) < 4096);
  if (route === undefined || bytes[route] > limit || bytes[route] > DEFAULT_MEMORY_LIMIT) {
    const least = Math.min(...Object.values(bytes));
    throw new UsageError(
      `the full spectrum of ${operator.description} (${m} x ${n}, ${rows.length} active rows) needs at least ${gib(least)}` +
      `${options.route ? ` (route ${options.route}: ${gib(bytes[options.route])})` : ''}, more than the memory limit of ` +
      `${gib(Math.min(limit, DEFAULT_MEMORY_LIMIT))}; the matrix-free methods fit: topk, density, count`,
    );
  }
  const k = Math.min(m, n);
  const values = new Float64Array(k);
  let found: ArrayLike<number>;
  const phase = options.onPhase;
  if (route === 'dense') {
    // P = J_A (row products, p = N) or J_A^T (column products, p = N_c), p x q. Row products are
    // taken unless the columns are far fewer: a unit vector at an output pulls back through its
    // receptive field only, which the batched convolutions exploit (their zero rows are skipped).
    const byColumns = 2 * columns.length < rows.length;
    const p = byColumns ? columns.length : rows.length, q = byColumns ? rows.length : columns.length;
    const r = Math.min(p, q);
    const what = byColumns
      ? `Jacobian columns (${columns.length} of ${n} active; ${rows.length} of ${m} rows)`
      : `Jacobian rows (${rows.length} of ${m} active; ${columns.length} of ${n} columns)`;
    if (autoUsesGram(r, Math.max(p, q), true)) {
      // The products on the instance that reduces G: with threads, the operator rebuilt there, where
      // its batched convolutions run on every core.
      const threaded = r >= GRAM_THREADS_MIN_ORDER ? await threadedKernels(options.threads) : undefined;
      const moved = threaded ? await operator.relinearize(threaded) : undefined;
      try {
        found = await gramEigenvalues(r, kernels, options, (work, there, g, lower) => {
          const [source, sourceKernels] = moved && work === threaded ? [moved, work] : [operator, kernels];
          phase?.(`${what}${source === moved ? ` (${threaded!.threads} threads)` : ''}`);
          const a = there.allocF64(p * q);
          activeBlock(source, rows, columns, byColumns, sourceKernels, (t0, values) => work.f64(a + 8 * t0 * q, values.length).set(values));
          // G of the smaller side: P P^T (p <= q) or P^T P.
          phase?.(`Gram matrix ${r} x ${r} (${p <= q ? 'P P^T' : 'P^T P'} of the ${byColumns ? 'columns' : 'rows'})`);
          if (p <= q) lower(0, 1, p, q, 1, a, q, a, q, 0, g, r);
          else lower(1, 0, q, p, 1, a, q, a, q, 0, g, r);
        });
      } finally {
        moved?.dispose();
      }
    } else {
      phase?.(what);
      const dense = new Float64Array(p * q);
      activeBlock(operator, rows, columns, byColumns, kernels, (t0, values) => dense.set(values, t0 * q));
      phase?.(`singular values of ${p} x ${q}`);
      found = r === 0 ? new Float64Array(0) : await svdValues(dense, p, q, { kernels, route: 'bidiagonal' });
    }
  } else if (route === 'unit-gram') {
    found = (await unitSingularValuesGram(operator as JacobianOperator<Float64Array>, { kernels, threads: options.threads, onPhase: phase })).values;
  } else {
    const byColumns = columns.length < rows.length;
    const keep = byColumns ? columns : rows;
    const r = keep.length;
    const threaded = r >= GRAM_THREADS_MIN_ORDER ? await threadedKernels(options.threads) : undefined;
    const moved = threaded ? await operator.relinearize(threaded) : undefined;
    try {
      found = await gramEigenvalues(r, kernels, options, (work, _there, g) => {
        const [source, sourceKernels] = moved && work === threaded ? [moved, work] : [operator, kernels];
        phase?.(`Gram matrix ${r} x ${r} from ${2 * r} operator products (${byColumns ? 'J^T J at the active columns' : 'J J^T at the active rows'})` +
          `${source === moved ? `, ${threaded!.threads} threads` : ''}`);
        operatorGram(source, keep, byColumns, sourceKernels, work, g);
      });
    } finally {
      moved?.dispose();
    }
  }
  values.set(Array.prototype.slice.call(found, 0, Math.min(k, found.length)));
  return { values, route, bytes: bytes[route] };
}

/**
 * Eigenvalues of G (N x N, lower triangle; `fill` writes it at `g` in `work`, the instance that
 * reduces it: the threaded kernels from N = GRAM_THREADS_MIN_ORDER when there are any, whose `lower`
 * GEMM runs on every thread) by the two-stage reduction of gram-route.ts, as square roots (negative
 * rounding as 0), descending.
 */
async function gramEigenvalues(
  N: number, kernels: Kernels, options: FullSpectrumOptions,
  fill: (work: Kernels, there: WasmScope, g: number, lower: LowerGemm) => void,
): Promise<Float64Array> {
  const out = new Float64Array(N);
  if (N === 0) return out;
  const threaded = N >= GRAM_THREADS_MIN_ORDER ? await threadedKernels(options.threads) : undefined;
  const work = threaded ?? kernels;
  const threads = threaded ? ` (${threaded.threads} threads)` : '';
  const lower: LowerGemm = threaded ? threaded.gemmLowerF64.bind(threaded) : kernels.exports.gemmLowerF64;
  return work.scope((there) => {
    const g = there.allocF64(N * N);
    fill(work, there, g, lower);
    const d = there.allocF64(N), off = there.allocF64(N);
    if (N > 2) {
      const b = Math.min(GRAM_DEFAULT_BAND, N - 1);
      options.onPhase?.(`band reduction of ${N} x ${N} (width ${b})${threads}`);
      work.exports.gramBandReduceF64(N, g, N, b);
      const ldb = work.exports.gramBandStride(b);
      const storage = there.allocF64(N * ldb);
      work.exports.gramBandFromLowerF64(N, g, N, b, storage, ldb);
      options.onPhase?.(`band to tridiagonal (width ${b})`);
      work.exports.gramBandToTridiagonalF64(N, b, storage, ldb, d, off);
    } else {
      work.exports.sytrdF64(N, g, N, d, off, there.allocF64(N));
    }
    options.onPhase?.('tridiagonal eigenvalues');
    const info = work.exports.sterfF64(N, d, off, 1);
    if (info !== 0) throw new Error(`full spectrum (Gram): tridiagonal eigenvalue iteration did not converge (${info} left)`);
    const eig = work.f64(d, N);
    for (let i = 0; i < N; i++) out[i] = eig[i] > 0 ? Math.sqrt(eig[i]) : 0;
    return out;
  });
}

/**
 * The rows of P = J_A (byColumns false: J^T e_i for the active rows i, at the active columns) or
 * P = J_A^T (byColumns true: J e_j for the active columns j, at the active rows), in blocks of
 * DENSE_BLOCK products on the operator's instance; `put(t0, values)` receives rows t0.. of P as
 * consecutive f64 values (c per row; the view is reused by the next block).
 */
function activeBlock(
  operator: JacobianOperator, rows: Int32Array, columns: Int32Array, byColumns: boolean, kernels: Kernels,
  put: (t0: number, values: Float64Array) => void,
): void {
  const [m, n] = operator.shape;
  const from = byColumns ? columns : rows, keep = byColumns ? rows : columns;
  const inLength = byColumns ? n : m, outLength = byColumns ? m : n;
  const f64 = operator.precision === 'f64';
  const product = byColumns
    ? (f64 ? kernels.exports.operatorApplyF64 : kernels.exports.operatorApplyF32)
    : (f64 ? kernels.exports.operatorApplyTransposeF64 : kernels.exports.operatorApplyTransposeF32);
  const typed = kernels.typed(operator.precision);
  const handle = operator.wasmHandle;
  const c = keep.length;
  const block = Math.max(1, Math.min(DENSE_BLOCK, from.length));
  const staged = new Float64Array(block * c);
  kernels.scope((s) => {
    const e = s.alloc(operator.precision, block * inLength);
    const y = s.alloc(operator.precision, block * outLength);
    for (let t0 = 0; t0 < from.length; t0 += block) {
      const b = Math.min(block, from.length - t0);
      const unit = typed.view(e, b * inLength);
      unit.fill(0);
      for (let t = 0; t < b; t++) unit[t * inLength + from[t0 + t]] = 1;
      product(handle, e, b, y);
      // A fresh view after the product: memory may have grown.
      const yv = typed.view(y, b * outLength);
      for (let t = 0; t < b; t++) {
        const row = t * outLength, to = t * c;
        for (let j = 0; j < c; j++) staged[to + j] = yv[row + keep[j]];
      }
      put(t0, staged.subarray(0, b * c));
    }
  });
}

/**
 * G into `g` (N x N in `work`, N = keep.length), row block by row block: byColumns false, J J^T at the
 * active rows `keep` (J (J^T E) for unit vectors E there); true, J^T J at the active columns `keep`
 * (J^T (J E)).
 */
function operatorGram(operator: JacobianOperator, keep: Int32Array, byColumns: boolean, kernels: Kernels, work: Kernels, g: number): void {
  const [m, n] = operator.shape;
  const N = keep.length;
  const f64 = operator.precision === 'f64';
  const apply = f64 ? kernels.exports.operatorApplyF64 : kernels.exports.operatorApplyF32;
  const applyT = f64 ? kernels.exports.operatorApplyTransposeF64 : kernels.exports.operatorApplyTransposeF32;
  const [first, second] = byColumns ? [apply, applyT] : [applyT, apply];
  const outer = byColumns ? n : m, inner = byColumns ? m : n;
  const typed = kernels.typed(operator.precision);
  const handle = operator.wasmHandle;
  kernels.scope((s) => {
    const e = s.alloc(operator.precision, GRAM_BLOCK * outer);
    const x = s.alloc(operator.precision, GRAM_BLOCK * inner);
    const y = s.alloc(operator.precision, GRAM_BLOCK * outer);
    for (let r0 = 0; r0 < N; r0 += GRAM_BLOCK) {
      const b = Math.min(GRAM_BLOCK, N - r0);
      const unit = typed.view(e, b * outer);
      unit.fill(0);
      for (let r = 0; r < b; r++) unit[r * outer + keep[r0 + r]] = 1;
      first(handle, e, b, x);
      second(handle, x, b, y);
      // Views after the products: memory may have grown (another instance's view is unaffected by ours).
      const yv = typed.view(y, b * outer);
      const gv = work.f64(g, N * N);
      // Row r0 + r of G: G[keep[r0 + r], keep[j]].
      for (let r = 0; r < b; r++) for (let j = 0; j < N; j++) gv[(r0 + r) * N + j] = yv[r * outer + keep[j]];
    }
  });
}
