/**
 * Dense singular value decomposition on the SIMD WebAssembly kernels (assembly/householder.ts,
 * band.ts, bidiagonal.ts, tridiagonal.ts, blas.ts).
 *
 *   svdValues(a, rows, cols, options?)  -> singular values, descending (min(rows, cols) of them)
 *   svd(a, rows, cols, options?)        -> { s, u, vt }, the thin SVD a = u * diag(s) * vt
 *
 * `a` is row-major; Float64Array input runs in f64 and returns Float64Arrays, Float32Array input runs
 * in f32 and returns Float32Arrays.
 *
 * Routes (values):
 * - 'bidiagonal': Householder bidiagonalization (blocked, gebrd; preceded by a Householder QR when the
 *   long side is >= 1.6x the short one, so that only the square R is bidiagonalized) then the
 *   Golub-Kahan/Demmel-Kahan QR iteration (bdsqr). For f64 values of order >= TWO_STAGE_MIN_ORDER
 *   the bidiagonalization runs in two stages (band.ts: to a band of width TWO_STAGE_BAND by GEMMs,
 *   then bulge chasing), on the threaded kernels (both stages split over the cores, bitwise the same
 *   values) from TWO_STAGE_THREADS_MIN_ORDER. Backward stable: every computed value is within
 *   about p(n)*eps*s_max of the exact one (absolute), where eps = 2^-53 (f64) or 2^-24 (f32) and p(n)
 *   a small multiple of max(rows, cols); in practice a few units of max(rows, cols)*eps*s_max.
 * - 'gram': forms the smaller Gram matrix G (A^T A or A A^T, one lower-triangle GEMM), reduces it to
 *   tridiagonal form (sytrd), takes its eigenvalues (sterf) and square roots (tiny negative
 *   eigenvalues from rounding are clamped to 0). Fewer flops than 'bidiagonal' for long matrices, but squaring
 *   costs accuracy: the eigenvalues of G are accurate to |s_computed^2 - s^2| <= c*n*eps*s_max^2
 *   (c modest; the tests check c = 10), i.e. an absolute error of about c*n*eps*s_max^2 / s for a
 *   singular value s. s_max itself is as accurate as on the other route, but values below
 *   sqrt(c*n*eps)*s_max (~1e-6*s_max in f64 at n = 4096, ~1e-2 in f32) can be all noise, typically
 *   returned as 0 or as a value of that order. Needs memory for A and G at once.
 * - 'auto' (default): 'bidiagonal', at every size. Its f64 values go through the two-stage
 *   reduction (assembly/band.ts) from order TWO_STAGE_MIN_ORDER, all in GEMM and on the threaded
 *   kernels from TWO_STAGE_THREADS_MIN_ORDER, which does no more work than this module's Gram route
 *   (one lower-triangle GEMM plus a one-stage sytrd, half of it matrix-vector products on one thread)
 *   at 4096, where 'auto' used to switch, and splits its GEMMs over the cores, while keeping the
 *   small values that the Gram route squares away (BENCHMARKS.md, "Dense singular values").
 *   'gram' stays available on request. svd() (vectors) always uses 'bidiagonal'; asking svd() for
 *   'gram' is an InputError.
 *
 * Exactly-zero rows and columns are dropped before reducing (each contributes a zero singular value,
 * appended at the end); for svd() the matching singular vectors are completed with unit vectors of
 * the dropped rows/columns and, where those do not suffice, with extra columns of the Householder
 * factor, so u and vt stay orthonormal.
 *
 * WASM memory: the input is copied once (only its non-zero rows and columns, transposed when wide so
 * that the kernels always see a tall matrix); every allocation is released before returning, also on
 * errors.
 */
import { InputError } from '../util/errors.js';
import { loadKernels, type Kernels, type Precision } from '../wasm/kernels.js';
import { threadedKernels } from './gram-route.js';

export type SvdRoute = 'auto' | 'bidiagonal' | 'gram';

export interface SvdOptions {
  /** Algorithm for singular values; see the module comment. Default 'auto'. */
  route?: SvdRoute;
  /**
   * Kernel instance to run on (default: the process-wide `loadKernels()`, or for a large f64
   * two-stage reduction the threaded instance, see `threads`). A threaded instance given here splits
   * the two-stage reduction's products over its own threads.
   */
  kernels?: Kernels;
  /**
   * Threads for the two-stage reduction of svdValues (Node only, f64, order >= TWO_STAGE_THREADS_MIN_ORDER,
   * when `kernels` is not given): default RESNET_STABILITY_THREADS, else the available parallelism on
   * Node's main thread and 1 in worker threads; 1 forces one thread. The values do not depend on it.
   */
  threads?: number;
}

export interface SvdResult<A extends Float64Array | Float32Array> {
  /** Singular values, descending, non-negative (min(rows, cols) of them). */
  s: A;
  /** Left singular vectors: rows x k, row-major, orthonormal columns (k = min(rows, cols)). */
  u: A;
  /** Right singular vectors transposed: k x cols, row-major, orthonormal rows. */
  vt: A;
}

/**
 * Whether a caller that forms the Gram matrix and tridiagonalizes it in two stages on the threaded
 * kernels (full.ts's dense route: gram-route.ts's band reduction) should prefer that to svdValues on
 * the dense rows: f64 with min(rows, cols) >= 4096. svdValues' own 'auto' no longer switches (see the
 * module comment): its Gram route has no two-stage reduction.
 */
export function autoUsesGram(rows: number, cols: number, f64: boolean): boolean {
  return f64 && Math.min(rows, cols) >= 4096;
}

type FloatArray = Float64Array | Float32Array;

/** Singular values of the rows x cols row-major matrix `a`, descending. */
export function svdValues(a: Float64Array, rows: number, cols: number, options?: SvdOptions): Promise<Float64Array>;
export function svdValues(a: Float32Array, rows: number, cols: number, options?: SvdOptions): Promise<Float32Array>;
export async function svdValues(a: FloatArray, rows: number, cols: number, options: SvdOptions = {}): Promise<FloatArray> {
  const tiny = broughtUp(a);
  const input = inspect(tiny?.a ?? a, rows, cols);
  const route = chooseRoute(options.route, input, false);
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new InputError(`svd: threads must be a positive integer, got ${options.threads}`);
  }
  let kernels = options.kernels;
  if (!kernels && route === 'bidiagonal' && input.precision === 'f64' && twoStageOrder(input) >= TWO_STAGE_THREADS_MIN_ORDER) {
    kernels = await threadedKernels(options.threads);
  }
  kernels ??= await loadKernels();
  const s = route === 'gram' ? gramValues(kernels, input) : bidiagonalSvd(kernels, input, false).s;
  if (tiny) for (let i = 0; i < s.length; i++) s[i] *= tiny.back;
  return s;
}

/** Thin SVD of the rows x cols row-major matrix `a`: a = u * diag(s) * vt. */
export function svd(a: Float64Array, rows: number, cols: number, options?: SvdOptions): Promise<SvdResult<Float64Array>>;
export function svd(a: Float32Array, rows: number, cols: number, options?: SvdOptions): Promise<SvdResult<Float32Array>>;
export async function svd(a: FloatArray, rows: number, cols: number, options: SvdOptions = {}): Promise<SvdResult<FloatArray>> {
  const tiny = broughtUp(a);
  const input = inspect(tiny?.a ?? a, rows, cols);
  chooseRoute(options.route, input, true);
  const kernels = options.kernels ?? (await loadKernels());
  const result = bidiagonalSvd(kernels, input, true) as SvdResult<FloatArray>;
  if (tiny) for (let i = 0; i < result.s.length; i++) result.s[i] *= tiny.back;
  return result;
}

/**
 * An f64 matrix whose largest entry is below 2^-960 (all subnormal, say) would need a scale factor
 * beyond the f64 range (scaleFor's 2^-exponent overflows to infinity past 2^1023). Such a matrix is
 * first multiplied by 2^600, as LAPACK's dlascl scales in steps that stay representable (exact: the
 * entries are far from overflow), and its singular values multiplied by `back` = 2^-600 afterwards
 * (one rounding each, into the subnormal range when they lie there). Undefined for every other input.
 */
function broughtUp(a: FloatArray): { a: Float64Array; back: number } | undefined {
  if (!(a instanceof Float64Array)) return undefined;
  let amax = 0;
  for (let i = 0; i < a.length; i++) {
    const m = Math.abs(a[i]);
    if (!(m <= 2 ** -960)) return undefined; // large enough, or NaN/infinite (inspect reports it)
    if (m > amax) amax = m;
  }
  if (amax === 0) return undefined;
  return { a: a.map((v) => v * 2 ** 600), back: 2 ** -600 };
}

// -------------------------------------------------------------------------------------------------
// Input checks and the zero-row/column scan

interface Inspected {
  a: FloatArray;
  precision: Precision;
  rows: number;
  cols: number;
  /** Indices of rows / columns with at least one non-zero entry, ascending. */
  keptRows: Int32Array;
  keptCols: Int32Array;
  /** Largest |entry|. */
  amax: number;
}

function inspect(a: FloatArray, rows: number, cols: number): Inspected {
  if (!(a instanceof Float64Array) && !(a instanceof Float32Array)) {
    throw new InputError('svd: the matrix must be a Float64Array or Float32Array (row-major)');
  }
  if (!Number.isInteger(rows) || rows <= 0) throw new InputError(`svd: rows must be a positive integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols <= 0) throw new InputError(`svd: cols must be a positive integer, got ${cols}`);
  if (a.length !== rows * cols) {
    throw new InputError(`svd: the matrix has ${a.length} entries but rows*cols = ${rows}*${cols} = ${rows * cols}`);
  }
  const rowUsed = new Uint8Array(rows);
  const colUsed = new Uint8Array(cols);
  let amax = 0;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = a[base + j];
      if (v !== 0) {
        if (!Number.isFinite(v)) {
          throw new InputError(`svd: the matrix has ${v} at index ${base + j} (row ${i}, column ${j}); entries must be finite`);
        }
        rowUsed[i] = 1;
        colUsed[j] = 1;
        const m = Math.abs(v);
        if (m > amax) amax = m;
      }
    }
  }
  return { a, precision: a instanceof Float64Array ? 'f64' : 'f32', rows, cols, keptRows: indicesOf(rowUsed), keptCols: indicesOf(colUsed), amax };
}

/**
 * Power of two to multiply the matrix by before reducing, so that nothing overflows or underflows on
 * the way (exact, except for entries that fall below the subnormal range relative to the largest,
 * which are far below eps * ||A|| anyway). The Gram route squares the matrix, so it always brings the
 * largest entry into [1, 2); the bidiagonal route only when the largest entry is outside
 * [2^-limit, 2^limit] (limit 256 in f64, 16 in f32), as LAPACK's gesvd does.
 */
function scaleFor(input: Inspected, gram: boolean): number {
  const { amax } = input;
  if (amax === 0) return 1;
  const exponent = Math.floor(Math.log2(amax));
  const limit = input.precision === 'f64' ? 256 : 16;
  if (!gram && exponent >= -limit && exponent <= limit) return 1;
  return Math.pow(2, -exponent);
}

function indicesOf(used: Uint8Array): Int32Array {
  let count = 0;
  for (let i = 0; i < used.length; i++) count += used[i];
  const out = new Int32Array(count);
  for (let i = 0, k = 0; i < used.length; i++) if (used[i]) out[k++] = i;
  return out;
}

function chooseRoute(route: SvdRoute | undefined, input: Inspected, vectors: boolean): 'bidiagonal' | 'gram' {
  const r = route ?? 'auto';
  if (r !== 'auto' && r !== 'bidiagonal' && r !== 'gram') {
    throw new InputError(`svd: route must be 'auto', 'bidiagonal' or 'gram', got ${String(route)}`);
  }
  if (vectors) {
    if (r === 'gram') throw new InputError(`svd: route 'gram' gives singular values only; use svdValues or route 'bidiagonal'`);
    return 'bidiagonal';
  }
  if (r === 'auto') return 'bidiagonal';
  return r;
}

// -------------------------------------------------------------------------------------------------
// The copy into WASM memory

/**
 * Copy the kept rows/columns of a, times `scale`, into WASM memory: as is (tall, p = kept rows) or
 * transposed (wide input, p = kept columns), so that the copy is p x q with p >= q.
 */
function copyCompacted(view: FloatArray, input: Inspected, transposed: boolean, scale: number): void {
  const { a, cols, keptRows, keptCols } = input;
  const allCols = keptCols.length === cols;
  if (!transposed) {
    const q = keptCols.length;
    for (let r = 0; r < keptRows.length; r++) {
      const src = keptRows[r] * cols;
      if (allCols && scale === 1) view.set(a.subarray(src, src + cols), r * q);
      else for (let c = 0; c < q; c++) view[r * q + c] = a[src + keptCols[c]] * scale;
    }
    return;
  }
  // Transposed copy in 64 x 64 tiles to stay cache friendly on both sides.
  const m = keptRows.length, n = keptCols.length;
  const TILE = 64;
  for (let r0 = 0; r0 < m; r0 += TILE) {
    const r1 = Math.min(m, r0 + TILE);
    for (let c0 = 0; c0 < n; c0 += TILE) {
      const c1 = Math.min(n, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const src = keptRows[r] * cols;
        for (let c = c0; c < c1; c++) view[c * m + r] = a[src + keptCols[c]] * scale;
      }
    }
  }
}

// -------------------------------------------------------------------------------------------------
// The routes

function gramValues(kernels: Kernels, input: Inspected): FloatArray {
  const lapack = kernels.typed(input.precision);
  const k = Math.min(input.rows, input.cols);
  const m = input.keptRows.length, n = input.keptCols.length;
  const s = lapack.array(k);
  if (m === 0 || n === 0) return s;
  return kernels.scope((scope) => {
    const alloc = (count: number) => scope.alloc(lapack.precision, count);
    const scale = scaleFor(input, true);
    const a = alloc(m * n);
    copyCompacted(lapack.view(a, m * n), input, false, scale);
    // G = A^T A (n x n) when tall, A A^T (m x m) when wide; lower triangle only.
    const g = Math.min(m, n);
    const gram = alloc(g * g);
    if (m >= n) lapack.gemmLower(1, 0, n, m, 1, a, n, a, n, 0, gram, n);
    else lapack.gemmLower(0, 1, m, n, 1, a, n, a, n, 0, gram, m);
    const d = alloc(g), e = alloc(g), tau = alloc(g);
    lapack.sytrd(g, gram, g, d, e, tau);
    const info = lapack.sterf(g, d, e, 1);
    if (info !== 0) throw new Error(`svd (gram route): tridiagonal eigenvalue iteration did not converge (${info} off-diagonals left)`);
    const eig = lapack.view(d, g);
    for (let i = 0; i < g; i++) s[i] = eig[i] > 0 ? Math.sqrt(eig[i]) / scale : 0;
    return s;
  });
}

/**
 * Smallest order (of the square or QR-reduced matrix) whose f64 values take the two-stage reduction
 * (band.ts) instead of one-stage gebrd: below it the bulge chase and the panel work outweigh what the
 * GEMMs gain (BENCHMARKS.md, "Dense singular values").
 */
export const TWO_STAGE_MIN_ORDER = 128;

/**
 * Smallest order whose two-stage reduction svdValues runs on the threaded kernels (the input is then
 * copied into their shared memory): below it the threads' hand-offs per panel cost about what they gain.
 */
export const TWO_STAGE_THREADS_MIN_ORDER = 512;

/** Order of the matrix the bidiagonal route reduces: the smaller count of non-zero rows and columns. */
function twoStageOrder(input: Inspected): number {
  return Math.min(input.keptRows.length, input.keptCols.length);
}

/**
 * Band width of the two-stage reduction: wider bands make the GEMMs of stage 1 faster and the bulge
 * chase of stage 2 (~8 b n^2 flops, not in GEMM) slower; 32 was the best of 16-64 at n = 1024 and 2048
 * (BENCHMARKS.md).
 */
export const TWO_STAGE_BAND = 32;

/** Tall matrices are first reduced by QR when rows >= QR_FIRST_RATIO * cols (LAPACK gesvd's crossover). */
const QR_FIRST_RATIO = 1.6;

function bidiagonalSvd(kernels: Kernels, input: Inspected, vectors: boolean): SvdResult<FloatArray> {
  const lapack = kernels.typed(input.precision);
  const { rows, cols, keptRows, keptCols } = input;
  const k = Math.min(rows, cols);
  const mk = keptRows.length, nk = keptCols.length;
  const kk = Math.min(mk, nk); // singular values that can be non-zero
  const s = lapack.array(k);
  const u = vectors ? lapack.array(rows * k) : lapack.array(0);
  const vt = vectors ? lapack.array(k * cols) : lapack.array(0);
  // The kernels work on a tall p x q copy W: A' (the kept block) itself, or its transpose when wide.
  const transposed = mk < nk;
  const p = transposed ? nk : mk, q = kk;
  return kernels.scope((scope) => {
    const alloc = (count: number) => scope.alloc(lapack.precision, count);
    if (kk === 0) {
      if (vectors) completeBasis(input, u, vt, k, 0, lapack.array(0), 0, 0, 0, transposed);
      return { s, u, vt };
    }
    const scale = scaleFor(input, false);
    const w = alloc(p * q);
    copyCompacted(lapack.view(w, p * q), input, transposed, scale);
    // Vectors of the appended zero values: unit vectors of dropped rows/columns first; on the long
    // side, `extra` more orthonormal vectors come from the Householder factor (rows q.. of Q^T).
    const unitOnLongSide = transposed ? cols - nk : rows - mk;
    const extra = vectors ? Math.min(p - q, Math.max(0, k - kk - unitOnLongSide)) : 0;
    const nq = q + extra;

    // Optional QR: W = Qr R, and the bidiagonalization runs on the q x q R instead.
    const qrFirst = p >= QR_FIRST_RATIO * q;
    let b = w, bRows = p;
    let qrT = 0;
    if (qrFirst) {
      const tau = alloc(q);
      lapack.geqrf(p, q, w, q, tau);
      if (vectors) {
        qrT = alloc(nq * p);
        lapack.orgbrQt(p, q, nq, w, q, tau, qrT, p);
      }
      b = alloc(q * q);
      const wv = lapack.view(w, q * q), bv = lapack.view(b, q * q);
      bv.fill(0);
      for (let i = 0; i < q; i++) bv.set(wv.subarray(i * q + i, i * q + q), i * q + i);
      bRows = q;
    }
    const d = alloc(q), e = alloc(q);
    if (!vectors && input.precision === 'f64' && q >= TWO_STAGE_MIN_ORDER) {
      // Values of a large f64 matrix: the two-stage reduction (assembly/band.ts), dense to band by
      // GEMMs (on the pool's threads when `kernels` is the threaded instance), then a bulge chase.
      const band = TWO_STAGE_BAND;
      kernels.exports.gebrdBandF64(bRows, q, b, q, band);
      kernels.exports.bandBidiagonalF64(q, b, q, band, d, e);
      const info = lapack.bdsqr(q, d, e, 0, 1, 0, 0, 1, 0);
      if (info !== 0) throw new Error(`svd: bidiagonal QR iteration did not converge (${info} superdiagonals left)`);
      setScaled(s, lapack.view(d, q), scale);
      return { s, u, vt };
    }
    const tauq = alloc(q), taup = alloc(q);
    lapack.gebrd(bRows, q, b, q, d, e, tauq, taup);
    if (!vectors) {
      const info = lapack.bdsqr(q, d, e, 0, 1, 0, 0, 1, 0);
      if (info !== 0) throw new Error(`svd: bidiagonal QR iteration did not converge (${info} superdiagonals left)`);
      setScaled(s, lapack.view(d, q), scale);
      return { s, u, vt };
    }
    // Left factor of the bidiagonalized matrix transposed (its rows become left singular vectors
    // under bdsqr's rotations), and P^T.
    const bq = qrFirst ? q : nq;
    const bt = alloc(bq * bRows), pt = alloc(q * q);
    lapack.orgbrQt(bRows, q, bq, b, q, tauq, bt, bRows);
    lapack.orgbrP(q, b, q, taup, pt, q);
    const info = lapack.bdsqr(q, d, e, pt, q, q, bt, bRows, bRows);
    if (info !== 0) throw new Error(`svd: bidiagonal QR iteration did not converge (${info} superdiagonals left)`);
    setScaled(s, lapack.view(d, q), scale);
    // qt (nq x p): rows 0..q-1 are W's left singular vectors, rows q.. the complement vectors.
    let qt = bt;
    if (qrFirst) {
      qt = alloc(nq * p);
      lapack.gemm(0, 0, q, p, q, 1, bt, q, qrT, p, 0, qt, p);
      if (extra > 0) lapack.view(qt, nq * p).set(lapack.view(qrT + q * p * lapack.bytes, extra * p), q * p);
    }
    // W = Qt[0:q]^T S Pt. Not transposed: A' = W, so U' = Qt[0:q]^T (mk x q) and VT' = Pt.
    // Transposed: A' = W^T = Pt^T S Qt[0:q], so U' = Pt^T (mk x q) and VT' = Qt[0:q] (q x nk).
    // U' is formed by a WASM transpose into w (p x q, no longer needed), then copied row by row.
    if (!transposed) lapack.transpose(q, p, qt, p, w, q);
    else lapack.transpose(q, q, pt, q, w, q);
    const uView = lapack.view(w, mk * q);
    const vStride = transposed ? p : q;
    const vSource = lapack.view(transposed ? qt : pt, q * vStride);
    for (let i = 0; i < mk; i++) {
      const row = uView.subarray(i * q, i * q + q);
      if (q === k) u.set(row, keptRows[i] * k);
      else for (let j = 0; j < q; j++) u[keptRows[i] * k + j] = row[j];
    }
    for (let j = 0; j < q; j++) {
      const row = vSource.subarray(j * vStride, j * vStride + nk);
      if (nk === cols) vt.set(row, j * cols);
      else for (let c = 0; c < nk; c++) vt[j * cols + keptCols[c]] = row[c];
    }
    completeBasis(input, u, vt, k, kk, lapack.view(qt, nq * p), p, q, extra, transposed);
    return { s, u, vt };
  });
}

/** s[0:len] = values / scale (scale is a power of two, so this is exact). */
function setScaled(s: FloatArray, values: FloatArray, scale: number): void {
  if (scale === 1) s.set(values);
  else for (let i = 0; i < values.length; i++) s[i] = values[i] / scale;
}

/**
 * Fill singular vectors kk..k-1 (those of the appended zero singular values): unit vectors of the
 * dropped rows (for u) and dropped columns (for vt) first, then the extra rows of Q^T (which span
 * part of the complement of the computed vectors on the long side, embedded at the kept indices).
 */
function completeBasis(
  input: Inspected, u: FloatArray, vt: FloatArray, k: number, kk: number,
  qt: FloatArray, p: number, q: number, extra: number, transposed: boolean,
): void {
  const { rows, cols, keptRows, keptCols } = input;
  const rowKept = new Uint8Array(rows), colKept = new Uint8Array(cols);
  for (const r of keptRows) rowKept[r] = 1;
  for (const c of keptCols) colKept[c] = 1;
  let j = kk;
  for (let r = 0; r < rows && j < k; r++) if (!rowKept[r]) u[r * k + j++] = 1;
  if (!transposed) for (let x = 0; x < extra && j < k; x++, j++) {
    for (let i = 0; i < keptRows.length; i++) u[keptRows[i] * k + j] = qt[(q + x) * p + i];
  }
  if (j !== k) throw new Error(`svd: internal error completing the left singular vectors (${j} of ${k})`);
  j = kk;
  for (let c = 0; c < cols && j < k; c++) if (!colKept[c]) vt[j++ * cols + c] = 1;
  if (transposed) for (let x = 0; x < extra && j < k; x++, j++) {
    for (let c = 0; c < keptCols.length; c++) vt[j * cols + keptCols[c]] = qt[(q + x) * p + c];
  }
  if (j !== k) throw new Error(`svd: internal error completing the right singular vectors (${j} of ${k})`);
}
