/**
 * All singular values of any linearization (a JacobianOperator of a unit, stage or network of any
 * residual family), by the cheapest route whose memory fits a limit:
 *
 *   dense          the active rows of J assembled (N x n), then, while min(N, n) < 4096, svd.ts
 *                  svdValues (the bidiagonal SVD: small values stay accurate); from 4096 on the Gram
 *                  G = J_A J_A^T (N x N) of the dense rows (one GEMM), eigenvalues as below
 *                  memory ~ N n + N^2 values (+ N n for the rows while they are copied in)
 *   unit-gram      paper units only (assembly/unit.ts operators): the sparse Gram route, gram-route.ts
 *                  memory ~ 1.25 N^2 values
 *   operator-gram  G = J_A J_A^T (N x N) formed from the operator alone, J (J^T E) for blocks E of unit
 *                  vectors at the active rows (2N products); for units too large to hold densely
 *                  (e.g. 16384 x 32768: J alone is 4 GiB, G 2 GiB)
 *                  memory ~ N^2 + block (m + n) values
 *
 * where N = activeRows().length (the other rows are structurally zero: their singular values are
 * exact zeros, appended). Values are f64, descending, min(m, n) of them.
 *
 * The Gram matrices of both routes are reduced as gram-route.ts reduces the paper units': to a band of
 * width 64 (all 4N^3/3 flops in GEMM, on every core through the threaded kernels from N = 2048 in
 * Node), a bulge chase to tridiagonal form, the QL/QR eigenvalues, square roots. G is formed in the
 * instance that reduces it.
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
import { GRAM_DEFAULT_BAND, GRAM_THREADS_MIN_ORDER, threadedKernels, unitSingularValuesGram } from './gram-route.js';
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

/** Unit vectors per block of the operator-Gram route. */
const GRAM_BLOCK = 32;

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** The memory each route needs for an operator with N active rows, in bytes (Infinity: not applicable). */
export function fullRouteBytes(operator: JacobianOperator, activeRows: number, kernels: Kernels): Record<FullRoute, number> {
  const [m, n] = operator.shape;
  const N = activeRows;
  const isUnit = operator.precision === 'f64' && kernels.exports.gramUnitOfOperator(operator.wasmHandle) !== 0;
  return {
    dense: 8 * (2 * N * n + Math.min(N, n) ** 2 + N * (2 * GRAM_DEFAULT_BAND + 2)),
    'unit-gram': isUnit ? 8 * 1.25 * N * N : Infinity,
    'operator-gram': 8 * (N * N + N * (2 * GRAM_DEFAULT_BAND + 2) + 3 * N + GRAM_BLOCK * (m + n)),
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
  const bytes = fullRouteBytes(operator, rows.length, kernels);
  const route = options.route ?? chooseRoute(bytes, Math.min(limit, DEFAULT_MEMORY_LIMIT), Math.min(rows.length, n) < 4096);
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
    phase?.(`Jacobian rows (${rows.length} of ${m} active)`);
    const dense = operator.precision === 'f64' ? (operator.denseRows(rows) as Float64Array) : Float64Array.from(operator.denseRows(rows));
    if (autoUsesGram(rows.length, n, true)) {
      found = await gramEigenvalues(rows.length, kernels, options, (work, there, g) => {
        phase?.(`Gram matrix ${rows.length} x ${rows.length} of the dense rows`);
        const a = there.copyIn(dense);
        work.exports.gemmLowerF64(0, 1, rows.length, n, 1, a, n, a, n, 0, g, rows.length);
      });
    } else {
      phase?.(`singular values of ${rows.length} x ${n}`);
      found = await svdValues(dense, rows.length, n, { kernels, route: 'bidiagonal' });
    }
  } else if (route === 'unit-gram') {
    found = (await unitSingularValuesGram(operator as JacobianOperator<Float64Array>, { kernels, threads: options.threads, onPhase: phase })).values;
  } else {
    found = await gramEigenvalues(rows.length, kernels, options, (work, _there, g) => {
      phase?.(`Gram matrix ${rows.length} x ${rows.length} from ${2 * rows.length} operator products`);
      operatorGram(operator, rows, kernels, work, g);
    });
  }
  values.set(Array.prototype.slice.call(found, 0, Math.min(k, found.length)));
  return { values, route, bytes: bytes[route] };
}

/**
 * Eigenvalues of G (N x N, lower triangle; `fill` writes it at `g` in `work`, the instance that
 * reduces it: the threaded kernels from N = GRAM_THREADS_MIN_ORDER when there are any) by the
 * two-stage reduction of gram-route.ts, as square roots (negative rounding as 0), descending.
 */
async function gramEigenvalues(
  N: number, kernels: Kernels, options: FullSpectrumOptions,
  fill: (work: Kernels, there: WasmScope, g: number) => void,
): Promise<Float64Array> {
  const out = new Float64Array(N);
  if (N === 0) return out;
  const threaded = N >= GRAM_THREADS_MIN_ORDER ? await threadedKernels(options.threads) : undefined;
  const work = threaded ?? kernels;
  const threads = threaded ? ` (${threaded.threads} threads)` : '';
  return work.scope((there) => {
    const g = there.allocF64(N * N);
    fill(work, there, g);
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

/** G = J_A J_A^T into `g` (N x N in `work`), row block by row block: J (J^T E) for unit vectors E at the active rows. */
function operatorGram(operator: JacobianOperator, rows: Int32Array, kernels: Kernels, work: Kernels, g: number): void {
  const [m, n] = operator.shape;
  const N = rows.length;
  const apply = operator.precision === 'f64' ? kernels.exports.operatorApplyF64 : kernels.exports.operatorApplyF32;
  const applyT = operator.precision === 'f64' ? kernels.exports.operatorApplyTransposeF64 : kernels.exports.operatorApplyTransposeF32;
  const typed = kernels.typed(operator.precision);
  const handle = operator.wasmHandle;
  kernels.scope((s) => {
    const e = s.alloc(operator.precision, GRAM_BLOCK * m);
    const x = s.alloc(operator.precision, GRAM_BLOCK * n);
    const y = s.alloc(operator.precision, GRAM_BLOCK * m);
    for (let r0 = 0; r0 < N; r0 += GRAM_BLOCK) {
      const b = Math.min(GRAM_BLOCK, N - r0);
      const unit = typed.view(e, b * m);
      unit.fill(0);
      for (let r = 0; r < b; r++) unit[r * m + rows[r0 + r]] = 1;
      applyT(handle, e, b, x);
      apply(handle, x, b, y);
      // Views after the products: memory may have grown (another instance's view is unaffected by ours).
      const yv = typed.view(y, b * m);
      const gv = work.f64(g, N * N);
      // Row r0 + r of G: (J J^T)[rows[r0 + r], rows[j]].
      for (let r = 0; r < b; r++) for (let j = 0; j < N; j++) gv[(r0 + r) * N + j] = yv[r * m + rows[j]];
    }
  });
}
