/**
 * All singular values of any linearization (a JacobianOperator of a unit, stage or network of any
 * residual family), by the cheapest route whose memory fits a limit:
 *
 *   dense          the active rows of J assembled (N x n), then svd.ts svdValues ('auto': the
 *                  bidiagonal SVD, or the Gram of the dense rows from min(N, n) >= 4096)
 *                  memory ~ 2 N n + min(N, n)^2 values
 *   unit-gram      paper units only (assembly/unit.ts operators): the sparse Gram route, gram-route.ts
 *                  memory ~ 1.25 N^2 values
 *   operator-gram  G = J_A J_A^T (N x N) formed from the operator alone, J (J^T E) for blocks E of unit
 *                  vectors at the active rows (2N products), then sytrd + sterf; for units too large to
 *                  hold densely (e.g. 16384 x 32768: J alone is 4 GiB, G 2 GiB)
 *                  memory ~ N^2 + block (m + n) values
 *
 * where N = activeRows().length (the other rows are structurally zero: their singular values are
 * exact zeros, appended). Values are f64, descending, min(m, n) of them.
 *
 * Accuracy: dense as svd.ts; both Gram routes square the matrix, so a value s is within about
 * N eps s_max^2 / s of the exact one (small values lose relative accuracy; s_max and the bulk of the
 * spectrum are accurate to ~1e-13 relative).
 *
 * When no route fits the limit the answer is a UsageError naming the size, what the cheapest route
 * needs, and the matrix-free methods (topk, density, count), which need only a few vectors.
 */
import type { JacobianOperator } from '../linearize/operator.js';
import { UsageError } from '../util/errors.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';
import { unitSingularValuesGram } from './gram-route.js';
import { svdValues } from './svd.js';

export type FullRoute = 'dense' | 'unit-gram' | 'operator-gram';

export interface FullSpectrumOptions {
  /** Bytes the route may use (default 4 GiB, the most one WebAssembly instance can address). */
  memoryLimit?: number;
  /** Force a route (it must still fit). */
  route?: FullRoute;
  kernels?: Kernels;
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
    dense: 8 * (2 * N * n + Math.min(N, n) ** 2),
    'unit-gram': isUnit ? 8 * 1.25 * N * N : Infinity,
    'operator-gram': 8 * (N * N + 3 * N + GRAM_BLOCK * (m + n)),
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
  if (route === 'dense') {
    const dense = operator.precision === 'f64' ? (operator.denseRows(rows) as Float64Array) : Float64Array.from(operator.denseRows(rows));
    found = await svdValues(dense, rows.length, n, { kernels });
  } else if (route === 'unit-gram') {
    found = (await unitSingularValuesGram(operator as JacobianOperator<Float64Array>, { kernels })).values;
  } else {
    found = operatorGramValues(operator, rows, kernels);
  }
  values.set(Array.prototype.slice.call(found, 0, Math.min(k, found.length)));
  return { values, route, bytes: bytes[route] };
}

/** The operator-Gram route: eigenvalues of J_A J_A^T formed block by block from the operator's products. */
function operatorGramValues(operator: JacobianOperator, rows: Int32Array, kernels: Kernels): Float64Array {
  const [m, n] = operator.shape;
  const N = rows.length;
  const out = new Float64Array(Math.min(N, n));
  if (N === 0) return out;
  const apply = operator.precision === 'f64' ? kernels.exports.operatorApplyF64 : kernels.exports.operatorApplyF32;
  const applyT = operator.precision === 'f64' ? kernels.exports.operatorApplyTransposeF64 : kernels.exports.operatorApplyTransposeF32;
  const typed = kernels.typed(operator.precision);
  const handle = operator.wasmHandle;
  return kernels.scope((s) => {
    const g = s.allocF64(N * N);
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
      const yv = typed.view(y, b * m);
      const gv = kernels.f64(g, N * N);
      // Row r0 + r of G: (J J^T)[rows[r0 + r], rows[j]].
      for (let r = 0; r < b; r++) for (let j = 0; j < N; j++) gv[(r0 + r) * N + j] = yv[r * m + rows[j]];
    }
    const lapack = kernels.typed('f64');
    const d = s.allocF64(N), off = s.allocF64(N), tau = s.allocF64(N);
    lapack.sytrd(N, g, N, d, off, tau);
    const info = lapack.sterf(N, d, off, 1);
    if (info !== 0) throw new Error(`full spectrum (operator Gram): tridiagonal eigenvalue iteration did not converge (${info} left)`);
    const eig = kernels.f64(d, N);
    for (let i = 0; i < out.length; i++) out[i] = eig[i] > 0 ? Math.sqrt(eig[i]) : 0;
    return out;
  });
}
