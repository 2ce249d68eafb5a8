/**
 * All singular values of a residual-unit Jacobian through its sparse Gram matrix (assembly/gram.ts).
 *
 *   unitSingularValuesGram(operator, options?) -> { values, errorBound, withinAccuracy, ... }
 *
 * For a unit operator J (m x n, from linearizeUnit in f64) with N active rows (D_out = 1; the others
 * are exactly zero), G = J_A J_A^T (N x N) is formed from the rows' local windows, exploiting that
 * only rows with overlapping windows interact (~2e9 flops for a stage-1 unit of ResNet-56 instead of
 * ~6e12 for the dense product), then tridiagonalized (Householder, ~4/3 N^3 flops: the dominant cost)
 * and its eigenvalues found by the QL/QR iteration; the singular values are their square roots. The
 * m - N structural zeros are appended exactly. For the units of a CIFAR ResNet m <= n, so the row
 * Gram is always the smaller one (were N > n, the N x N Gram is still correct, only larger than the
 * column Gram; the surplus eigenvalues are zeros up to rounding and are dropped).
 *
 * Accuracy: squaring costs relative accuracy on small values. With Delta = N eps s_max^2 (eps =
 * 2^-52) as the estimate of the absolute eigenvalue error of G (see assembly/gram.ts), every value s
 * is within min(sqrt(Delta), Delta / s'_min) (`errorBound`) of the exact one; `withinAccuracy` says
 * whether that is at most `accuracy * s_max` (default 1e-9). The caller decides what to do
 * otherwise (study/spectrum.ts falls back to the bidiagonal SVD). On the ResNet-56 references
 * (image 0) the bounds are 1.4e-12 (unit 19), 7.4e-10 (unit 9, s_min = 1.9e-3) and 4.3e-10 (unit 0)
 * while the observed errors are 1e-14 to 1e-13.
 *
 * WASM memory: N^2 f64 for G (1.4 GB for a stage-1 unit of ResNet-56: 13245 active rows) plus
 * N * (2s+3)^2 * C_in f64 of windows; all released before returning, also on errors.
 */
import type { JacobianOperator } from '../linearize/operator.js';
import { InputError } from '../util/errors.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';

export interface UnitGramOptions {
  /** Accuracy wanted, relative to s_max, that `withinAccuracy` reports on (default 1e-9). */
  accuracy?: number;
  /**
   * Order of G's rows: 'pixel' (by output pixel, then channel: G is block banded; default) or
   * 'channel' (J's own C, H, W order). The values do not depend on it, only the speed.
   */
  order?: 'pixel' | 'channel';
  /**
   * Tridiagonalization: band width of the two-stage reduction (default GRAM_DEFAULT_BAND), or 0 for
   * the one-stage Householder reduction (householder.ts sytrd). Same values up to rounding.
   */
  band?: number;
  /** The kernel instance the operator was built on (default: the process-wide loadKernels()). */
  kernels?: Kernels;
  /** Called with a short description of each phase as it starts. */
  onPhase?: (phase: string) => void;
}

export interface UnitGramSpectrum {
  /** All min(m, n) singular values, descending (the structural zeros last). */
  values: Float64Array;
  /** N: rows of J with D_out = 1, the order of G. */
  activeRows: number;
  /** Estimated absolute error bound of every value (see the module comment). */
  errorBound: number;
  /** errorBound <= accuracy * s_max. */
  withinAccuracy: boolean;
  /** Wall-clock seconds per phase. */
  seconds: { windows: number; gram: number; tridiagonal: number; eigenvalues: number; total: number };
}

/** Default of UnitGramOptions.band (the fastest on a 2-core Xeon; see unitSingularValuesGram). */
export const GRAM_DEFAULT_BAND = 32;

/** Default of UnitGramOptions.accuracy. */
export const GRAM_DEFAULT_ACCURACY = 1e-9;

/**
 * UNITSINGULARVALUESGRAM: all singular values of the f64 unit Jacobian `operator` (linearizeUnit with
 * precision 'f64') via the sparse Gram matrix; see the module comment for method, accuracy and memory.
 * Errors: InputError when the operator is not an f64 unit Jacobian or `accuracy` is not positive;
 * an Error when WASM memory cannot hold G (N^2 * 8 bytes, at most 4 GiB in all) or the eigenvalue
 * iteration fails to converge.
 */
export async function unitSingularValuesGram(
  operator: JacobianOperator<Float64Array>,
  options: UnitGramOptions = {},
): Promise<UnitGramSpectrum> {
  const accuracy = options.accuracy ?? GRAM_DEFAULT_ACCURACY;
  if (!(accuracy > 0) || !Number.isFinite(accuracy)) throw new InputError(`accuracy must be a positive number, got ${accuracy}`);
  const order = options.order ?? 'pixel';
  if (order !== 'pixel' && order !== 'channel') throw new InputError(`order must be 'pixel' or 'channel', got ${String(order)}`);
  const band = options.band ?? GRAM_DEFAULT_BAND;
  if (!Number.isInteger(band) || band < 0) throw new InputError(`band must be a non-negative integer, got ${band}`);
  if (operator.precision !== 'f64') throw new InputError(`the Gram route needs an f64 operator; ${operator.description} is ${operator.precision}`);
  const kernels = options.kernels ?? (await loadKernels());
  const e = kernels.exports;
  const unit = e.gramUnitOfOperator(operator.wasmHandle) >>> 0;
  if (unit === 0) throw new InputError(`the Gram route needs a unit Jacobian; ${operator.description} is not one`);
  const [m, n] = operator.shape as [number, number];
  const values = new Float64Array(Math.min(m, n));
  const started = performance.now();
  const seconds = { windows: 0, gram: 0, tridiagonal: 0, eigenvalues: 0, total: 0 };
  const pointers: number[] = [];
  const alloc = (bytes: number) => {
    const p = kernels.allocBytes(bytes);
    pointers.push(p);
    return p;
  };
  try {
    const rows = alloc(4 * m);
    const count = (order === 'pixel' ? e.gramActiveRowsPixelMajor(unit, rows) : e.unitOperatorActiveRows(unit, rows)) as number;
    if (count === 0) {
      seconds.total = (performance.now() - started) / 1000;
      return { values, activeRows: 0, errorBound: 0, withinAccuracy: true, seconds };
    }
    let t = performance.now();
    options.onPhase?.(`row windows (${count} of ${m} rows active)`);
    const windowLength = e.gramWindowLength(unit) as number;
    const windows = alloc(8 * count * windowLength);
    // Scale J by a power of two bringing its largest entry into [1, 2): G cannot overflow or underflow.
    const amax = e.gramRowWindowsF64(unit, rows, count, 1, windows) as number;
    let scale = 1;
    if (amax > 0 && Number.isFinite(amax)) {
      scale = Math.pow(2, -Math.floor(Math.log2(amax)));
      if (scale !== 1) e.gramRowWindowsF64(unit, rows, count, scale, windows);
    }
    seconds.windows = (performance.now() - t) / 1000;
    t = performance.now();
    options.onPhase?.(`Gram matrix ${count} x ${count} (sparse)`);
    const g = alloc(8 * count * count);
    e.gramLowerF64(unit, rows, count, windows, g, count);
    seconds.gram = (performance.now() - t) / 1000;
    t = performance.now();
    options.onPhase?.(`tridiagonal reduction of ${count} x ${count}`);
    const d = alloc(8 * count), off = alloc(8 * count), tau = alloc(8 * count);
    e.gramTridiagonalizeF64(count, g, count, d, off, tau, band);
    seconds.tridiagonal = (performance.now() - t) / 1000;
    t = performance.now();
    options.onPhase?.('tridiagonal eigenvalues');
    const info = e.sterfF64(count, d, off, 1) as number;
    if (info !== 0) throw new Error(`Gram route on ${operator.description}: the eigenvalue iteration did not converge (${info} off-diagonals left)`);
    e.gramSingularValuesF64(count, d, scale);
    const kept = Math.min(count, values.length);
    const errorBound = e.gramErrorBoundF64(kept, d) as number;
    values.set(kernels.f64(d, kept));
    seconds.eigenvalues = (performance.now() - t) / 1000;
    seconds.total = (performance.now() - started) / 1000;
    return { values, activeRows: count, errorBound, withinAccuracy: errorBound <= accuracy * values[0], seconds };
  } finally {
    for (const p of pointers.reverse()) kernels.release(p);
  }
}
