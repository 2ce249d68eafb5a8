/**
 * All singular values of a residual-unit Jacobian through its sparse Gram matrix (assembly/gram.ts).
 *
 *   unitSingularValuesGram(operator, options?) -> { values, errorBound, withinAccuracy, seconds, ... }
 *
 * For a unit operator J (m x n, from linearizeUnit in f64) with N active rows (D_out = 1; the others
 * are exactly zero), G = J_A J_A^T (N x N) is formed from the rows' local input windows, computing
 * only pairs of rows whose windows overlap (~2e9 flops for a stage-1 unit of ResNet-56 instead of
 * ~6e12 for the dense product). G is reduced to tridiagonal form in two stages (to a band of width 64
 * with all 4N^3/3 flops in GEMM, then a bulge chase), its eigenvalues come from the QL/QR iteration,
 * and the singular values are their square roots; the m - N structural zeros are appended exactly.
 * For the units of a CIFAR ResNet m <= n, so the row Gram is the smaller one (were N > n, the N x N
 * Gram would still be right, only larger than the column Gram: its surplus eigenvalues are zeros up
 * to rounding and are dropped).
 *
 * Cost: the band reduction's 4N^3/3 flops dominate (N = 13245 for ResNet-56 unit 0); the phase times
 * are in BENCHMARKS.md ("Cost of the Gram route by phase").
 *
 * Accuracy: squaring costs relative accuracy on small values. With Delta = N eps s_max^2 (eps =
 * 2^-52) as the estimate of the absolute eigenvalue error of G (see assembly/gram.ts), every value s
 * is within about Delta / (2 s'_min) (at most sqrt(Delta); `errorBound`) of the exact one;
 * `withinAccuracy` says whether that is at most `accuracy * s_max` (default 1e-9). The caller decides
 * what to do otherwise (study/spectrum.ts falls back to the bidiagonal SVD). Against the PyTorch
 * float64 references (image 0): unit 19 estimate 2.2e-12, error 9e-15; unit 9 (s_min = 1.9e-3)
 * estimate 5.6e-10, error 1.4e-13; unit 0 estimate 1.4e-10, error 1.0e-13 (s_max 2.0, 1.3, 4.7).
 *
 * Threads (Node): for N >= GRAM_THREADS_MIN_ORDER the band reduction runs on the threaded kernels
 * (src/wasm/threads.ts: the threads build on a shared memory, helpers in worker threads), which split
 * its two large products over `threads` threads and pipeline the bulge chase's sweeps on them, with
 * bitwise the same result; the row windows are
 * computed on the operator's own instance and copied over (~40-50 MB), and G and everything after it
 * live in the threaded instance. Default: RESNET_STABILITY_THREADS, else the available parallelism
 * on Node's main thread, 1 in worker threads and outside Node (browsers and edge runtimes always run
 * single-threaded here). `threads: 1` forces the single-threaded path.
 *
 * WASM memory: N^2 f64 for G (1.4 GB for unit 0) plus N * (2s+3)^2 * C_in f64 of windows and a band
 * of N * (2b+2) f64; all released before returning, also on errors (WASM memory never shrinks: with
 * threads, the threaded instance keeps the pages G took, the operator's instance does not grow).
 */
import type { JacobianOperator } from '../linearize/operator.js';
import { InputError } from '../util/errors.js';
import { isNode } from '../util/runtime.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';

/** True in the browser and edge bundles (scripts/build.mjs defines it), which never load threads. */
declare const __RESNET_STABILITY_WEB__: boolean | undefined;

/** The lower-triangle GEMM of blas.ts gemmLowerF64 (its arguments), on one thread or several. */
export type LowerGemm = (
  transA: number, transB: number, n: number, k: number,
  alpha: number, a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number,
) => void;

/** Threaded kernels as the Gram routes use them: `gemmLowerF64` runs on every thread. */
export type ThreadedGramKernels = Kernels & { threads: number; gemmLowerF64: LowerGemm };

/**
 * The threaded kernels for `threads` threads (undefined: default count), or undefined where there are
 * none. The web bundles fold the condition to false, so src/wasm/threads.ts (and node:worker_threads)
 * is not even bundled into them.
 */
export async function threadedKernels(threads: number | undefined): Promise<ThreadedGramKernels | undefined> {
  if ((typeof __RESNET_STABILITY_WEB__ === 'undefined' || !__RESNET_STABILITY_WEB__) && isNode) {
    const { defaultThreadCount, loadThreadedKernels } = await import('../wasm/threads.js');
    const wanted = threads ?? (await defaultThreadCount());
    return wanted >= 2 ? loadThreadedKernels({ threads: wanted }) : undefined;
  }
  return undefined;
}

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
  /**
   * Threads for the band reduction (Node only, N >= GRAM_THREADS_MIN_ORDER, band >= 2): default
   * RESNET_STABILITY_THREADS, else the available parallelism on the main thread and 1 in worker
   * threads; 1 forces the single-threaded path. Same values for any count (bitwise).
   */
  threads?: number;
  /**
   * Working precision of the reduction (default 'f64'). 'f32': G is formed in f64 as always, rounded
   * to f32, and reduced to tridiagonal form in f32 (half the memory traffic, twice the SIMD lanes);
   * the tridiagonal eigenvalues are computed in f64. Every value is then within about
   * Delta / (2 s) of the exact one, Delta = N eps_f32 s_max^2 (`errorBound`; at most sqrt(Delta),
   * ~0.04 s_max for a stage-1 unit, ~1e-5 s_max for the largest values): see BENCHMARKS.md.
   */
  precision?: 'f64' | 'f32';
  /**
   * Threaded kernels to run the reduction on instead of the process-wide ones (benchmarks: a pool of
   * one thread from openThreadedKernels, to profile the one-thread case). Overrides `threads`.
   */
  pool?: Kernels & { threads: number };
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
  /** Threads the band reduction ran on (1: the single-threaded kernels). */
  threads: number;
  /**
   * Wall-clock seconds per phase: the rows' windows, G, its reduction (to band form, or to tridiagonal
   * form when band < 2), the band-to-tridiagonal chase (0 for band < 2), eigenvalues and square roots.
   */
  seconds: { windows: number; gram: number; tridiagonal: number; chase: number; eigenvalues: number; total: number };
}

/** Default of UnitGramOptions.band: the fastest of 32 to 128 measured (assembly/gram.ts gramTridiagonalizeF64). */
export const GRAM_DEFAULT_BAND = 64;

/** Unit roundoff of each working precision (2^-52, 2^-23): eps of the error estimate. */
const PRECISION_EPS = { f64: 2 ** -52, f32: 2 ** -23 } as const;

/**
 * The accuracy estimate of assembly/gram.ts gramErrorBoundF64 for working precision eps: with
 * Delta = N eps s_max^2, the largest Delta / (s' + sqrt(max(s'^2 - Delta, 0))) (<= sqrt(Delta)) over
 * the computed values, which the smallest attains.
 */
function gramErrorBound(values: Float64Array, count: number, eps: number): number {
  if (count <= 0) return 0;
  const smax = values[0], smin = values[count - 1];
  const delta = count * eps * smax * smax;
  const root = Math.sqrt(delta);
  return smin > 0 ? Math.min(root, delta / (smin + Math.sqrt(Math.max(smin * smin - delta, 0)))) : root;
}

/** Default of UnitGramOptions.accuracy. */
export const GRAM_DEFAULT_ACCURACY = 1e-9;

/**
 * Smallest order N of G whose band reduction goes to the threaded kernels: below it the reduction is
 * short enough that threads gain little over their start-up (BENCHMARKS.md).
 */
export const GRAM_THREADS_MIN_ORDER = 2048;

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
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new InputError(`threads must be a positive integer, got ${options.threads}`);
  }
  const precision = options.precision ?? 'f64';
  if (precision !== 'f64' && precision !== 'f32') throw new InputError(`precision must be 'f64' or 'f32', got ${String(precision)}`);
  const kernels = options.kernels ?? (await loadKernels());
  const unit = kernels.exports.gramUnitOfOperator(operator.wasmHandle) >>> 0;
  if (unit === 0) throw new InputError(`the Gram route needs a unit Jacobian; ${operator.description} is not one`);
  const [m, n] = operator.shape as [number, number];
  const values = new Float64Array(Math.min(m, n));
  const started = performance.now();
  const seconds = { windows: 0, gram: 0, tridiagonal: 0, chase: 0, eigenvalues: 0, total: 0 };
  return kernels.scope(async (here): Promise<UnitGramSpectrum> => {
    const rows = here.allocBytes(4 * m);
    const count = order === 'pixel' ? kernels.exports.gramActiveRowsPixelMajor(unit, rows) : kernels.exports.unitOperatorActiveRows(unit, rows);
    if (count === 0) {
      seconds.total = (performance.now() - started) / 1000;
      return { values, activeRows: 0, errorBound: 0, withinAccuracy: true, threads: 1, seconds };
    }
    let t = performance.now();
    options.onPhase?.(`row windows (${count} of ${m} rows active)`);
    const windowLength = kernels.exports.gramWindowLength(unit);
    const windows = here.allocBytes(8 * count * windowLength);
    // Scale J by a power of two bringing its largest entry into [1, 2): G cannot overflow or underflow.
    const amax = kernels.exports.gramRowWindowsF64(unit, rows, count, 1, windows);
    let scale = 1;
    if (amax > 0 && Number.isFinite(amax)) {
      scale = Math.pow(2, -Math.floor(Math.log2(amax)));
      if (scale !== 1) kernels.exports.gramRowWindowsF64(unit, rows, count, scale, windows);
    }
    seconds.windows = (performance.now() - t) / 1000;
    // The instance G lives in: the threaded kernels for a large two-stage reduction, when available.
    let work: Kernels = kernels;
    let threads = 1;
    if (options.pool) {
      work = options.pool;
      threads = options.pool.threads;
    } else if (band >= 2 && count >= GRAM_THREADS_MIN_ORDER) {
      const threaded = await threadedKernels(options.threads);
      if (threaded) {
        work = threaded;
        threads = threaded.threads;
      }
    }
    // G and everything after it, in a scope of that instance (released before the rows and windows).
    return work.scope((there) => {
      t = performance.now();
      options.onPhase?.(`Gram matrix ${count} x ${count} (sparse)${threads > 1 ? `, ${threads} threads` : ''}`);
      const g = there.allocBytes(8 * count * count);
      if (work === kernels) {
        kernels.exports.gramLowerF64(unit, rows, count, windows, g, count);
      } else {
        // The windows, the row indices and the unit's geometry copied into the threaded instance.
        const geometry = here.allocBytes(16);
        kernels.exports.gramUnitGeometry(unit, geometry);
        const [cIn, hIn, wIn, stride] = new Int32Array(kernels.memory.buffer, geometry, 4);
        const rowsThere = there.copyIn(new Int32Array(kernels.memory.buffer, rows, count));
        const windowsThere = there.copyIn(kernels.f64(windows, count * windowLength));
        work.exports.gramLowerGeometryF64(cIn, hIn, wIn, stride, rowsThere, count, windowsThere, g, count);
      }
      seconds.gram = (performance.now() - t) / 1000;
      t = performance.now();
      const d = there.allocBytes(8 * count), off = there.allocBytes(8 * count);
      if (precision === 'f32') {
        // G rounded to f32 in place (same leading dimension), reduced in f32; T widened to f64.
        work.exports.gramLowerRoundF32(count, g, count);
        const d32 = there.allocBytes(4 * count), off32 = there.allocBytes(4 * count);
        if (band >= 2 && count > 2) {
          const b = Math.min(band, count - 1);
          options.onPhase?.(`band reduction of ${count} x ${count} in f32 (width ${b}${threads > 1 ? `, ${threads} threads` : ''})`);
          work.exports.gramBandReduceF32(count, g, count, b);
          const ldb = work.exports.gramBandStride(b);
          const storage = there.allocBytes(4 * count * ldb);
          work.exports.gramBandFromLowerF32(count, g, count, b, storage, ldb);
          seconds.tridiagonal = (performance.now() - t) / 1000;
          t = performance.now();
          options.onPhase?.(`band to tridiagonal in f32 (width ${b})`);
          work.exports.gramBandToTridiagonalF32(count, b, storage, ldb, d32, off32);
          seconds.chase = (performance.now() - t) / 1000;
        } else {
          options.onPhase?.(`tridiagonal reduction of ${count} x ${count} in f32`);
          work.exports.sytrdF32(count, g, count, d32, off32, there.allocBytes(4 * count));
          seconds.tridiagonal = (performance.now() - t) / 1000;
        }
        work.f64(d, count).set(work.f32(d32, count));
        work.f64(off, count).set(work.f32(off32, count));
      } else if (band >= 2 && count > 2) {
        // Two stages, timed apart: to band width b (GEMM), then the bulge chase to tridiagonal form.
        const b = Math.min(band, count - 1);
        options.onPhase?.(`band reduction of ${count} x ${count} (width ${b}${threads > 1 ? `, ${threads} threads` : ''})`);
        work.exports.gramBandReduceF64(count, g, count, b);
        const ldb = work.exports.gramBandStride(b);
        const storage = there.allocBytes(8 * count * ldb);
        work.exports.gramBandFromLowerF64(count, g, count, b, storage, ldb);
        seconds.tridiagonal = (performance.now() - t) / 1000;
        t = performance.now();
        options.onPhase?.(`band to tridiagonal (width ${b})`);
        work.exports.gramBandToTridiagonalF64(count, b, storage, ldb, d, off);
        seconds.chase = (performance.now() - t) / 1000;
      } else {
        options.onPhase?.(`tridiagonal reduction of ${count} x ${count}`);
        work.exports.gramTridiagonalizeF64(count, g, count, d, off, there.allocBytes(8 * count), 0);
        seconds.tridiagonal = (performance.now() - t) / 1000;
      }
      t = performance.now();
      options.onPhase?.('tridiagonal eigenvalues');
      const info = work.exports.sterfF64(count, d, off, 1);
      if (info !== 0) throw new Error(`Gram route on ${operator.description}: the eigenvalue iteration did not converge (${info} off-diagonals left)`);
      work.exports.gramSingularValuesF64(count, d, scale);
      const kept = Math.min(count, values.length);
      const errorBound = precision === 'f64' ? work.exports.gramErrorBoundF64(kept, d) : gramErrorBound(work.f64(d, kept), kept, PRECISION_EPS.f32);
      values.set(work.f64(d, kept));
      seconds.eigenvalues = (performance.now() - t) / 1000;
      seconds.total = (performance.now() - started) / 1000;
      return { values, activeRows: count, errorBound, withinAccuracy: errorBound <= accuracy * values[0], threads, seconds };
    });
  });
}
