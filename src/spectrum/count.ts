/**
 * EXACT counts of singular values in an interval, by inertia (Sylvester's law).
 *
 * For A (m x n) with d = min(m, n) singular values s_i, let M = A^T A (n <= m) or A A^T (m < n), the
 * d x d Gram matrix with eigenvalues s_i^2. For c > 0,
 *   N(c) = #{ i : s_i < c } = #{ eigenvalues of M below c^2 } = number of negative pivots of an
 *   LDL^T factorization of M - c^2 I,
 * because a congruence (M - c^2 I = L D L^T) preserves inertia. The count in [lo, hi) is
 * N(hi) - N(lo) (N(c) = 0 for c <= 0, N(+Infinity) = d). No eigenvalue is ever computed.
 *
 *   countSingularValues(a, rows, cols, lo, hi)   dense route: a is a row-major Float64Array, an object
 *       with dense() returning one, or any LinearOperator (its Gram matrix is then formed column
 *       block by column block from products, never forming A). M is factored by Bunch-Kaufman
 *       (assembly/inertia.ts denseInertiaF64): d^3/3 flops per endpoint, d^2 doubles.
 *   bandedGramFromRows(source) / bandedGramFromCsr(csr)   M = A A^T in band storage from the rows of a
 *       sparse A (bandedGramFromCsrF64); pixel-major ordering (pixelMajorOrder) makes the Gram of a
 *       convolutional Jacobian banded.
 *   countSingularValuesBanded(gram, lo, hi)   banded route: LDL^T without pivoting, blocked
 *       (bandedInertiaF64), ~ order * w^2 flops per endpoint, order * (w+1) doubles; falls back to
 *       the dense route when the factorization is not certified (see bandedCountBelow).
 *
 * WHEN IS THE COUNT EXACT? Both factorizations are backward stable for the matrix they factor:
 * the computed inertia is exactly that of M - c^2 I + E. With M formed in floating point
 * (|dM| <= gamma_k |A||A|^T) the total perturbation is ||E|| <~ p * eps * ||M|| with p ~ d (dense) or
 * ~ (w+1)^2 * growth (banded), so N(c) is exact whenever no s_i^2 lies within that distance of c^2,
 * i.e. |s_i - c| > p * eps * s_max^2 / (2c). Choose interval ends away from the singular values; a
 * value essentially equal to an end may be counted on either side.
 *
 * Banded LDL^T WITHOUT pivoting is always safe when c^2 is below the spectrum (M - c^2 I positive
 * definite: it is then Cholesky, growth 1). Inside the spectrum no a priori bound exists: a leading
 * principal submatrix with an eigenvalue near c^2 gives a tiny pivot, which shows as element growth.
 * The kernel returns growth = max_i (|L||D||L^T|)_ii / max|M - c^2 I|; the backward error is at most
 * ~ (2w+1) * (w+1) * eps * growth * max|M - c^2 I| in norm (Higham Thm 10.5), a worst-case bound that
 * is very pessimistic for wide bands (w ~ 1000 makes it 1e-10 * growth). The count is accepted when
 * growth <= growthLimit (default 1e6), otherwise the dense Bunch-Kaufman route (bounded growth)
 * takes over when order <= denseLimit (default 4096); beyond that an Error says so (move the
 * endpoint or raise the limits). Evidence for the default: on residual-unit Gram matrices
 * (16x16x16 unit, 2480 active rows, w = 702) 40 random shifts inside the spectrum, growth up to
 * 7.9e5, gave banded counts identical to Bunch-Kaufman every time; a stage-1 unit (9869 rows,
 * w = 1310) shows growth 2e3-3e5 at c = 0.5, 1, 2.
 *
 * Cost: one banded Gram of the unit Jacobian, then one banded LDL^T per endpoint (order * w^2 flops,
 * 1.7e10 for a stage-1 unit, in blocked GEMM updates); times in BENCHMARKS.md.
 *
 * Errors: InputError for bad shapes, lengths, non-finite entries, lo > hi or NaN endpoints.
 */
import { InputError } from '../util/errors.js';
import { loadKernels, type Kernels, type WasmScope } from '../wasm/kernels.js';
import { isWasmOperator, kernelsFor, operatorShape, type LinearOperator } from './lanczos.js';

/** Anything that can produce its dense row-major matrix. */
export interface DenseSource {
  dense(): Float64Array | Promise<Float64Array>;
}

export interface CountOptions {
  kernels?: Kernels;
}

function checkInterval(lo: number, hi: number, what: string): void {
  if (typeof lo !== 'number' || typeof hi !== 'number' || Number.isNaN(lo) || Number.isNaN(hi)) {
    throw new InputError(`${what}: lo and hi must be numbers, got ${String(lo)} and ${String(hi)}`);
  }
  if (lo > hi) throw new InputError(`${what}: lo (${lo}) must not exceed hi (${hi})`);
}

function checkShape(rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw new InputError(`${what}: rows and cols must be positive integers, got ${rows} x ${cols}`);
  }
}

/**
 * Number of singular values s of the rows x cols matrix `a` with lo <= s < hi, exactly (see the
 * module comment for when "exactly" holds). `a`: row-major Float64Array, a DenseSource, or a
 * LinearOperator (wasm or JS; its Gram matrix is built from products with blocks of unit vectors).
 */
export async function countSingularValues(
  a: Float64Array | DenseSource | LinearOperator, rows: number, cols: number, lo: number, hi: number, options: CountOptions = {},
): Promise<number> {
  const what = 'countSingularValues';
  checkShape(rows, cols, what);
  checkInterval(lo, hi, what);
  const d = Math.min(rows, cols);
  if (hi <= 0 || lo === hi) return 0;
  let dense: Float64Array | undefined;
  let kernels: Kernels;
  if (a instanceof Float64Array || (a && typeof (a as DenseSource).dense === 'function')) {
    dense = a instanceof Float64Array ? a : await (a as DenseSource).dense();
    if (!(dense instanceof Float64Array) || dense.length !== rows * cols) {
      throw new InputError(`${what}: the matrix must be a Float64Array of rows*cols = ${rows * cols} values, got ${dense?.length}`);
    }
    for (let i = 0; i < dense.length; i++) {
      if (!Number.isFinite(dense[i])) throw new InputError(`${what}: entry ${i} (row ${Math.floor(i / cols)}, column ${i % cols}) is ${dense[i]}`);
    }
    kernels = options.kernels ?? (await loadKernels());
  } else {
    const [m, n] = operatorShape(a as LinearOperator, what);
    if (m !== rows || n !== cols) throw new InputError(`${what}: the operator is ${m} x ${n}, not ${rows} x ${cols}`);
    kernels = await kernelsFor(a as LinearOperator, options.kernels, what);
  }
  return kernels.scope(async (s) => {
    const gram = dense ? denseGram(s, dense, rows, cols) : await operatorGram(s, a as LinearOperator);
    const below = (c: number) => denseCountBelow(kernels, gram, d, c);
    return below(hi) - below(lo);
  });
}

/** Lower triangle (row-major, d x d) of the smaller Gram matrix of a dense matrix, in a block of `owner`. */
function denseGram(owner: WasmScope, a: Float64Array, rows: number, cols: number): number {
  const d = Math.min(rows, cols);
  return owner.kernels.scope((s) => {
    const ap = s.copyIn(a);
    const gram = owner.allocF64(d * d);
    // M = A^T A: op(A) = A^T (stored rows x cols) times A; M = A A^T: A times A^T.
    if (cols <= rows) owner.kernels.exports.gemmLowerF64(1, 0, d, rows, 1.0, ap, cols, ap, cols, 0.0, gram, d);
    else owner.kernels.exports.gemmLowerF64(0, 1, d, cols, 1.0, ap, cols, ap, cols, 0.0, gram, d);
    return gram;
  });
}

/** Gram matrix of an operator from products with blocks of unit vectors: M e_j = A^T (A e_j). */
async function operatorGram(owner: WasmScope, op: LinearOperator): Promise<number> {
  const kernels = owner.kernels;
  const [m, n] = op.shape;
  const d = Math.min(m, n), e = Math.max(m, n);
  const tall = n <= m; // M = A^T A: unit vectors in R^n, first A then A^T
  const block = Math.max(1, Math.min(64, d));
  const gram = owner.allocF64(d * d);
  for (let j0 = 0; j0 < d; j0 += block) {
    const b = Math.min(block, d - j0);
    const units = new Float64Array(b * d);
    for (let t = 0; t < b; t++) units[t * d + j0 + t] = 1;
    let columns: Float64Array;
    if (isWasmOperator(op)) {
      columns = kernels.scope((s) => {
        const up = s.copyIn(units), mid = s.allocF64(b * e), outp = s.allocF64(b * d);
        if (tall) {
          kernels.exports.operatorApplyF64(op.wasmHandle, up, b, mid);
          kernels.exports.operatorApplyTransposeF64(op.wasmHandle, mid, b, outp);
        } else {
          kernels.exports.operatorApplyTransposeF64(op.wasmHandle, up, b, mid);
          kernels.exports.operatorApplyF64(op.wasmHandle, mid, b, outp);
        }
        return kernels.f64(outp, b * d).slice();
      });
    } else {
      const mid = tall ? await op.apply(units, b) : await op.applyTranspose(units, b);
      columns = tall ? await op.applyTranspose(mid, b) : await op.apply(mid, b);
      if (!(columns instanceof Float64Array) || columns.length !== b * d) {
        throw new InputError(`countSingularValues: the operator returned a block of the wrong length`);
      }
    }
    // Column j of M is row j (symmetric); only the lower triangle is used.
    kernels.f64(gram + j0 * d * 8, b * d).set(columns);
  }
  return gram;
}

/** N(c) = #{s < c} from the dense lower Gram (kept intact: each endpoint factors a copy). */
function denseCountBelow(kernels: Kernels, gram: number, d: number, c: number): number {
  if (c <= 0) return 0;
  if (c === Infinity) return d;
  return kernels.scope((s) => {
    const work = s.allocF64(d * d);
    kernels.f64(work, d * d).set(kernels.f64(gram, d * d));
    return kernels.exports.denseInertiaF64(d, work, d, c * c, 0);
  });
}

// -------------------------------------------------------------------------------------------------
// Banded Gram matrices

/** A sparse matrix in compressed sparse row form (0-based; each (row, column) at most once). */
export interface CsrMatrix {
  rows: number;
  columns: number;
  rowPointers: Int32Array;
  columnIndices: Int32Array;
  values: Float64Array;
}

/** Rows of a matrix, produced block by block (dense rows: count x columns, row-major). */
export interface RowSource {
  rows: number;
  columns: number;
  fill(first: number, count: number): Float64Array | Promise<Float64Array>;
}

/**
 * G = A A^T in lower band storage: data[i*(bandwidth+1) + j - i + bandwidth] = G[i, j] for
 * i - bandwidth <= j <= i (the unused corner j < 0 is zero). singularValueCount: how many singular
 * values the underlying operator has (min(m, n) of the full matrix, when the rows of A are the
 * nonzero rows of a larger one): the missing ones are zeros, and counts account for them.
 */
export interface BandedGram {
  order: number;
  bandwidth: number;
  data: Float64Array;
  singularValueCount: number;
}

export interface BandedGramOptions {
  /** Rows per block requested from a RowSource (default 256). */
  blockRows?: number;
  /** Number of singular values of the underlying operator (default min(rows, columns)). */
  singularValueCount?: number;
  kernels?: Kernels;
}

/**
 * The CHW-flattened indices of a C x H x W tensor in pixel-major (HWC) order: out[(y*W + x)*C + c] =
 * (c*H + y)*W + x. Taking the rows of a convolutional Jacobian in this order makes J J^T banded with
 * half-bandwidth ~ (window rows) * W * C instead of ~ C*H*W.
 */
export function pixelMajorOrder(channels: number, height: number, width: number): Int32Array {
  const out = new Int32Array(channels * height * width);
  let k = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) out[k++] = (c * height + y) * width + x;
  return out;
}

/**
 * G = A A^T (banded) from the rows of A delivered by `source` in blocks: each block is compressed to
 * sparse rows (exact zeros dropped) and the Gram matrix is accumulated in WASM by bandedGramFromCsr.
 * The row order of the source is the order of G: deliver rows so that rows sharing columns are close
 * (pixelMajorOrder for convolutional Jacobians).
 */
export async function bandedGramFromRows(source: RowSource, options: BandedGramOptions = {}): Promise<BandedGram> {
  const what = 'bandedGramFromRows';
  checkShape(source?.rows, source?.columns, what);
  const { rows, columns } = source;
  const blockRows = options.blockRows ?? 256;
  const rowPointers = new Int32Array(rows + 1);
  let indices = new Int32Array(Math.max(1024, rows * 8));
  let values = new Float64Array(indices.length);
  let nnz = 0;
  for (let first = 0; first < rows; first += blockRows) {
    const count = Math.min(blockRows, rows - first);
    const block = await source.fill(first, count);
    if (!(block instanceof Float64Array) || block.length !== count * columns) {
      throw new InputError(`${what}: fill(${first}, ${count}) must return ${count} x ${columns} values, got ${block?.length}`);
    }
    for (let r = 0; r < count; r++) {
      const base = r * columns;
      for (let c = 0; c < columns; c++) {
        const v = block[base + c];
        if (v === 0) continue;
        if (!Number.isFinite(v)) throw new InputError(`${what}: row ${first + r}, column ${c} is ${v}`);
        if (nnz === indices.length) {
          const grown = new Int32Array(indices.length * 2);
          grown.set(indices);
          indices = grown;
          const grownValues = new Float64Array(grown.length);
          grownValues.set(values);
          values = grownValues;
        }
        indices[nnz] = c;
        values[nnz++] = v;
      }
      rowPointers[first + r + 1] = nnz;
    }
  }
  return bandedGramFromCsr(
    { rows, columns, rowPointers, columnIndices: indices.subarray(0, nnz), values: values.subarray(0, nnz) },
    options,
  );
}

/** G = A A^T (banded) for a CSR matrix A; see BandedGram. Bandwidth = largest row distance sharing a column. */
export async function bandedGramFromCsr(csr: CsrMatrix, options: BandedGramOptions = {}): Promise<BandedGram> {
  const what = 'bandedGramFromCsr';
  checkShape(csr?.rows, csr?.columns, what);
  const { rows, columns, rowPointers, columnIndices, values } = csr;
  if (!(rowPointers instanceof Int32Array) || rowPointers.length !== rows + 1 || rowPointers[0] !== 0) {
    throw new InputError(`${what}: rowPointers must be an Int32Array of rows + 1 = ${rows + 1} entries starting at 0`);
  }
  const nnz = rowPointers[rows];
  if (!(columnIndices instanceof Int32Array) || !(values instanceof Float64Array) || columnIndices.length < nnz || values.length < nnz) {
    throw new InputError(`${what}: columnIndices (Int32Array) and values (Float64Array) need ${nnz} entries`);
  }
  for (let r = 0; r < rows; r++) {
    if (rowPointers[r + 1] < rowPointers[r]) throw new InputError(`${what}: rowPointers decrease at row ${r}`);
  }
  for (let p = 0; p < nnz; p++) {
    if (columnIndices[p] < 0 || columnIndices[p] >= columns) throw new InputError(`${what}: column index ${columnIndices[p]} at ${p} is outside 0..${columns - 1}`);
  }
  const singularValueCount = options.singularValueCount ?? Math.min(rows, columns);
  const kernels = options.kernels ?? (await loadKernels());
  return kernels.scope((s) => {
    const rp = s.allocBytes(4 * (rows + 1)), ci = s.allocBytes(4 * Math.max(1, nnz)), vp = s.allocF64(Math.max(1, nnz));
    new Int32Array(kernels.memory.buffer, rp, rows + 1).set(rowPointers);
    new Int32Array(kernels.memory.buffer, ci, nnz).set(columnIndices.subarray(0, nnz));
    kernels.f64(vp, nnz).set(values.subarray(0, nnz));
    const bandwidth = kernels.exports.bandedGramBandwidth(rows, columns, rp, ci);
    const band = s.allocF64(rows * (bandwidth + 1));
    if (kernels.exports.bandedGramFromCsrF64(rows, columns, rp, ci, vp, bandwidth, band) !== 0) throw new Error(`${what}: out of WASM memory`);
    return { order: rows, bandwidth, data: kernels.f64(band, rows * (bandwidth + 1)).slice(), singularValueCount };
  });
}

export interface BandedCountOptions {
  /** Largest accepted element growth of the banded LDL^T (default 1e6). */
  growthLimit?: number;
  /** Largest order for the dense Bunch-Kaufman fallback (default 4096). */
  denseLimit?: number;
  kernels?: Kernels;
}

export interface BandedCountBelow {
  /** #{ singular values < c } of the underlying operator. */
  count: number;
  method: 'trivial' | 'banded-ldlt' | 'dense-bunch-kaufman';
  /** Element growth of the banded factorization (Infinity after an exact zero pivot). */
  growth: number;
}

/** N(c) = #{ s_i < c } from a banded Gram matrix, with its method and growth (see the module comment). */
export async function bandedCountBelow(gram: BandedGram, c: number, options: BandedCountOptions = {}): Promise<BandedCountBelow> {
  const what = 'countSingularValuesBanded';
  checkGram(gram, what);
  if (Number.isNaN(c)) throw new InputError(`${what}: the endpoint is NaN`);
  if (c <= 0) return { count: 0, method: 'trivial', growth: 1 };
  if (c === Infinity) return { count: gram.singularValueCount, method: 'trivial', growth: 1 };
  const growthLimit = options.growthLimit ?? 1e6;
  const denseLimit = options.denseLimit ?? 4096;
  const kernels = options.kernels ?? (await loadKernels());
  const { order, bandwidth, data } = gram;
  // The Gram matrix has `order` eigenvalues; the operator has singularValueCount singular values.
  // The difference consists of zeros, all below c > 0.
  const offset = gram.singularValueCount - order;
  const { negatives, growth } = kernels.scope((s) => {
    const band = s.copyIn(data), info = s.allocF64(4);
    const negatives = kernels.exports.bandedInertiaF64(order, bandwidth, band, c * c, info);
    return { negatives, growth: negatives < 0 ? Infinity : kernels.f64(info, 4)[0] };
  });
  if (negatives >= 0 && growth <= growthLimit) return { count: negatives + offset, method: 'banded-ldlt', growth };
  if (order > denseLimit) {
    throw new Error(
      `${what}: banded LDL^T at c = ${c} is not certified (element growth ${growth.toExponential(2)} > ${growthLimit}) ` +
        `and the order ${order} exceeds the dense fallback limit ${denseLimit}; move the endpoint or raise denseLimit`,
    );
  }
  return kernels.scope((s) => {
    const dense = s.allocF64(order * order);
    const full = kernels.f64(dense, order * order);
    full.fill(0); // fresh WASM blocks are not zeroed
    for (let i = 0; i < order; i++) {
      for (let j = Math.max(0, i - bandwidth); j <= i; j++) full[i * order + j] = data[i * (bandwidth + 1) + j - i + bandwidth];
    }
    return { count: kernels.exports.denseInertiaF64(order, dense, order, c * c, 0) + offset, method: 'dense-bunch-kaufman', growth };
  });
}

/** Number of singular values in [lo, hi) from a banded Gram matrix (see bandedCountBelow). */
export async function countSingularValuesBanded(gram: BandedGram, lo: number, hi: number, options: BandedCountOptions = {}): Promise<number> {
  checkInterval(lo, hi, 'countSingularValuesBanded');
  if (lo === hi) return 0;
  const upper = await bandedCountBelow(gram, hi, options);
  const lower = await bandedCountBelow(gram, lo, options);
  return upper.count - lower.count;
}

function checkGram(gram: BandedGram, what: string): void {
  if (!gram || !Number.isInteger(gram.order) || gram.order < 1 || !Number.isInteger(gram.bandwidth) || gram.bandwidth < 0) {
    throw new InputError(`${what}: the Gram matrix needs a positive integer order and a bandwidth >= 0`);
  }
  if (!(gram.data instanceof Float64Array) || gram.data.length !== gram.order * (gram.bandwidth + 1)) {
    throw new InputError(`${what}: the band data must hold order*(bandwidth+1) = ${gram.order * (gram.bandwidth + 1)} values`);
  }
  if (!Number.isInteger(gram.singularValueCount) || gram.singularValueCount < 0) {
    throw new InputError(`${what}: singularValueCount must be a non-negative integer`);
  }
}
