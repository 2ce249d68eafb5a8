/**
 * Singular values of a residual-unit Jacobian through its sparse Gram matrix, f64.
 *
 * For a unit operator (unit.ts) J (m x n) with active rows A = {i : D_out[i] = 1} (the other rows are
 * exactly zero), the nonzero singular values of J are the square roots of the nonzero eigenvalues of
 *   G = J_A J_A^T   (N x N, N = |A|, symmetric positive semidefinite).
 * Row i = (o, y, x) of J has its nonzeros inside a (2s+3) x (2s+3) window of input pixels over all
 * C_in channels (s the stride; the shortcut entry lies at the window centre), so G[i, j] is nonzero
 * only when the windows of rows i and j overlap: output pixels at most R = (2s+2)/s apart in each
 * direction (R = 4 for stride 1, 3 for stride 2). Forming G from those pairs only takes about 2e9
 * flops for a stage-1 unit of ResNet-56 (N = 13245), instead of the 2 N^2 n = 6e12 of a dense product.
 *
 * Pipeline (separate exports, so that callers can time the steps):
 *   gramActiveRowsPixelMajor   the active rows, ordered by output pixel (raster), then channel
 *   gramRowWindowsF64          each row's window, [row][window y][window x][channel] (the rows come
 *                              from unitJacobianRowsF64, the windows are gathered from them)
 *   gramLowerF64               the lower triangle of G (dense row-major) from overlapping windows
 *                              (gramLowerGeometryF64: the same from the unit's geometry, gramUnitGeometry,
 *                              for an instance that holds the windows but not the unit)
 *   gramTridiagonalizeF64      T = Q^T G Q tridiagonal: one stage (householder.ts sytrd) or two
 *                              (gramBandReduceF64 to a band at GEMM speed, gramBandToTridiagonalF64)
 *   sterfF64                   eigenvalues of T (tridiagonal.ts)
 *   gramSingularValuesF64      square roots of the clamped eigenvalues, descending, unscaled
 *   gramErrorBoundF64          the accuracy estimate below, from the computed values
 * The reduction dominates: 4N^3/3 flops (phase times: BENCHMARKS.md). In the threads build
 * (threads.ts, parallel.ts), while a thread pool is open, gramBandReduceF64 splits its two large
 * products (the symmetric product and the rank-2b lower-triangle update, all but O(N^2 b) of its
 * flops) over the pool's threads by blocks of rows, and gramBandToTridiagonalF64 runs the chase's
 * sweeps pipelined on them (bandSweep), both with bitwise the same result.
 * The reduction and the chase also exist in f32 (F32 twins; gramLowerRoundF32 rounds an f64 G in
 * place): eigenvalues within p(N) eps_f32 ||G|| instead, for the Gram route's precision 'f32'.
 *
 * Accuracy (eps = 2^-52, s_max = ||J||_2): every entry of G is a sum of at most (2s+3)^2 C_in + 1
 * products, and the reduction and the QL/QR iteration are backward stable, so the computed
 * eigenvalues satisfy |lambda' - lambda| <= Delta with Delta ~ p(N) eps s_max^2, p a modest function
 * of N. We estimate p(N) = N (LAPACK's users' guide uses p = 1); on the ResNet-56 reference units the
 * observed |s'^2 - s^2| are 1e-2 to 3e-2 of N eps s_max^2, reference errors included. A singular
 * value s = sqrt(lambda) is then within about Delta / (2 s') of the computed s' (at most
 * sqrt(Delta)): small singular values lose relative accuracy. gramErrorBoundF64 evaluates this, so a
 * caller can fall back to the bidiagonal SVD (svd.ts) when it exceeds the accuracy it needs.
 */
import { unitJacobianRowsF64, unitOperatorActiveRows, unitOperatorColumns, unitOperatorRows } from "./unit";
import { larfg, sytrdF64 } from "./householder";
import {
  GEMM_F64_PACKED_A_BYTES, GEMM_F64_PACKED_B_BYTES, LOWER_BLOCK, gemmLowerBlock, gemmOnBuffers, symmLowerBlock,
} from "./blas";
import { operatorColumns, operatorElementSize, operatorRows, operatorUnitHandle } from "./operator";
import {
  parallelChase, parallelGemmLowerF32, parallelGemmLowerF64, parallelSymmLower, parallelSymmLowerF32, threadPool, waitUntilAtLeast,
} from "./parallel";
import { axpyUnit, dotUnit } from "./lib/level1";
import { PREC_F64 } from "./lib/machine";
import { vSum } from "./lib/simd";

// ---------------------------------------------------------------------------------------------------
// The unit behind an operator, and its geometry. unit.ts exports no accessor for the shape of a unit
// (only its row and column counts), so UnitGeometryView mirrors the leading fields of its private
// UnitOperator (same order and types, hence the same offsets); geometryOf cross-checks what it reads
// against unitOperatorRows/Columns, so a change of layout there aborts instead of being misread.

/** The geometry at the head of unit.ts UnitOperator. */
@unmanaged class UnitGeometryView {
  elementSize: i32;
  cIn: i32;
  hIn: i32;
  wIn: i32;
  cOut: i32;
  hOut: i32;
  wOut: i32;
  stride: i32;
  pad: i32;
  alpha: f64;
}

/**
 * The unit.ts handle of an f64 UNIT operator (operator.ts operatorFromUnitF64), or 0 for an operator
 * of another kind or precision.
 */
export function gramUnitOfOperator(operator: usize): usize {
  if (!operator || operatorElementSize(operator) != 8) return 0;
  const unit = operatorUnitHandle(operator);
  if (!unit || unitOperatorRows(unit) != operatorRows(operator) || unitOperatorColumns(unit) != operatorColumns(operator)) return 0;
  return unit;
}

function geometryOf(unit: usize): UnitGeometryView {
  const g = changetype<UnitGeometryView>(unit);
  const s = g.stride;
  if (g.elementSize != 8) abort("gram: the unit operator is not f64");
  if ((s != 1 && s != 2) || g.cIn < 1 || g.cOut < 1 || g.hIn < 1 || g.wIn < 1
    || g.hOut != (g.hIn - 1) / s + 1 || g.wOut != (g.wIn - 1) / s + 1
    || g.cOut * g.hOut * g.wOut != unitOperatorRows(unit) || g.cIn * g.hIn * g.wIn != unitOperatorColumns(unit)) {
    abort("gram: unexpected unit operator layout (unit.ts changed?)");
  }
  return g;
}

/** Side of a row's input window, 2s+3. */
@inline function windowSide(g: UnitGeometryView): i32 {
  return 2 * g.stride + 3;
}
/** Channels per window pixel, C_in rounded up to even (f64x2 lanes; the padding is zero). */
@inline function windowChannels(g: UnitGeometryView): i32 {
  return (g.cIn + 1) & ~1;
}
/** Output pixels apart at most this far (per direction) have overlapping windows. */
@inline function overlapReach(g: UnitGeometryView): i32 {
  return (windowSide(g) - 1) / g.stride;
}

/** f64 values in one row window: (2s+3)^2 * C_in rounded up to even. */
export function gramWindowLength(unit: usize): i32 {
  const g = geometryOf(unit);
  const side = windowSide(g);
  return side * side * windowChannels(g);
}

// ---------------------------------------------------------------------------------------------------
// Row order

/**
 * GRAMACTIVEROWSPIXELMAJOR: the active rows of the unit's J (D_out = 1), ordered by output pixel
 * (y, x) in raster order and, within a pixel, by channel: written as i32 row indices (C, H, W
 * numbering, as unitOperatorActiveRows) to `out` (room for unitOperatorRows entries; 0 to count only).
 * Returns their number. In this order G is block banded (rows couple only to rows at most
 * R*W' + R pixels away), which keeps the Gram's writes and the early reduction steps local.
 */
export function gramActiveRowsPixelMajor(unit: usize, out: usize): i32 {
  const g = geometryOf(unit);
  const count = unitOperatorActiveRows(unit, 0);
  if (!out) return count;
  const plane = g.hOut * g.wOut;
  const chw = heap.alloc(<usize>max(count, 1) << 2);
  unitOperatorActiveRows(unit, chw);
  // Counting sort by pixel (stable, so channels stay ascending within a pixel).
  const start = heap.alloc(<usize>(plane + 1) << 2);
  memory.fill(start, 0, <usize>(plane + 1) << 2);
  for (let r = 0; r < count; r++) {
    const p = load<i32>(chw + (<usize>r << 2)) % plane;
    store<i32>(start + (<usize>(p + 1) << 2), load<i32>(start + (<usize>(p + 1) << 2)) + 1);
  }
  for (let p = 0; p < plane; p++) {
    store<i32>(start + (<usize>(p + 1) << 2), load<i32>(start + (<usize>(p + 1) << 2)) + load<i32>(start + (<usize>p << 2)));
  }
  for (let r = 0; r < count; r++) {
    const i = load<i32>(chw + (<usize>r << 2));
    const slot = start + (<usize>(i % plane) << 2);
    const pos = load<i32>(slot);
    store<i32>(out + (<usize>pos << 2), i);
    store<i32>(slot, pos + 1);
  }
  heap.free(start);
  heap.free(chw);
  return count;
}

// ---------------------------------------------------------------------------------------------------
// Row windows

/** Rows of J computed per call of unitJacobianRowsF64 while gathering windows. */
const WINDOW_ROW_CHUNK: i32 = 32;

/**
 * Windows of `count` rows (row indices at rows) from their dense copies (count x n at dense), scaled;
 * returns the largest |entry| seen. Its own function for V8's tier-up (see bandSweep).
 */
function gatherWindows(g: UnitGeometryView, rows: usize, count: i32, dense: usize, n: usize, scale: f64, windows: usize): f64 {
  const s = g.stride, side = windowSide(g), cw = windowChannels(g);
  const len = <usize>(side * side * cw);
  const plane = g.hOut * g.wOut, chanStride = <usize>g.hIn * <usize>g.wIn;
  let amax = 0.0;
  for (let r = 0; r < count; r++) {
    const i = load<i32>(rows + (<usize>r << 2));
    const y = (i % plane) / g.wOut, x = i % g.wOut;
    const row = dense + <usize>r * n * 8;
    const win = windows + <usize>r * len * 8;
    memory.fill(win, 0, len * 8);
    for (let ly = 0; ly < side; ly++) {
      const iy = s * (y - 1) - 1 + ly;
      if (iy < 0 || iy >= g.hIn) continue;
      for (let lx = 0; lx < side; lx++) {
        const ix = s * (x - 1) - 1 + lx;
        if (ix < 0 || ix >= g.wIn) continue;
        const dst = win + (<usize>(ly * side + lx) * <usize>cw) * 8;
        let src = row + (<usize>iy * <usize>g.wIn + <usize>ix) * 8;
        for (let ci = 0; ci < g.cIn; ci++, src += chanStride * 8) {
          const v = load<f64>(src);
          amax = max(amax, abs(v));
          store<f64>(dst + (<usize>ci << 3), v * scale);
        }
      }
    }
  }
  return amax;
}

/**
 * GRAMROWWINDOWSF64: the input windows of rows rows[0..count) of the unit's J (f64 operator), scaled by
 * `scale`: windows is count x gramWindowLength(unit) f64; window r holds, at
 * [(ly * side + lx) * C + c] (side = 2s+3, C = C_in rounded up to even), the entry of row
 * i = rows[r] = (o, y, x) at input (c, s*(y-1) - 1 + ly, s*(x-1) - 1 + lx), and 0 where that pixel lies
 * outside the image or c >= C_in. Every nonzero of the row lies in its window (unit.ts), so
 * ||window r|| = ||J[i, :]||. Rows are computed by unitJacobianRowsF64 (same values); `scale` (use a
 * power of two to keep it exact) guards the Gram matrix against overflow and underflow.
 * Returns max |J[i, k]| over the rows (before scaling), for choosing that scale.
 */
export function gramRowWindowsF64(unit: usize, rows: usize, count: i32, scale: f64, windows: usize): f64 {
  const g = geometryOf(unit);
  const side = windowSide(g);
  const len = <usize>(side * side * windowChannels(g));
  const n = <usize>unitOperatorColumns(unit);
  const chunk = min(WINDOW_ROW_CHUNK, max(count, 1));
  const dense = heap.alloc(<usize>chunk * n << 3);
  let amax = 0.0;
  for (let r0 = 0; r0 < count; r0 += chunk) {
    const c = min(chunk, count - r0);
    unitJacobianRowsF64(unit, rows + (<usize>r0 << 2), c, dense);
    amax = max(amax, gatherWindows(g, rows + (<usize>r0 << 2), c, dense, n, scale, windows + <usize>r0 * len * 8));
  }
  heap.free(dense);
  return amax;
}

// ---------------------------------------------------------------------------------------------------
// The Gram matrix

/**
 * Dot products of two groups of windows over one rectangular overlap: for a < countA, b < countB (and
 * b <= a when `diagonal`), G[posA[a], posB[b]] (or the mirrored entry, whichever is in the lower
 * triangle) = sum over the `rowsY` overlap rows of the `span` contiguous values starting at offA
 * (+ k * rowStride) in window a and offB in window b. Rows of a pair are processed two by two
 * (2 x 2 register tile of f64x2 accumulators: four products per four loads).
 */
function overlapBlock(
  windows: usize, len: usize, listA: usize, countA: i32, listB: usize, countB: i32, diagonal: bool,
  offA: usize, offB: usize, rowsY: i32, span: i32, rowStride: usize, g: usize, ldg: usize,
): void {
  const spanBytes = <usize>span << 3;
  const strideBytes = rowStride << 3;
  let a = 0;
  for (; a < countA; a += 2) {
    const twoA = a + 1 < countA;
    const pa0 = load<i32>(listA + (<usize>a << 2));
    const pa1 = twoA ? load<i32>(listA + (<usize>(a + 1) << 2)) : pa0;
    const wa0 = windows + <usize>pa0 * len * 8 + (offA << 3);
    const wa1 = windows + <usize>pa1 * len * 8 + (offA << 3);
    const bEnd = diagonal ? min(a + 2, countB) : countB;
    for (let b = 0; b < bEnd; b += 2) {
      const twoB = b + 1 < bEnd;
      const pb0 = load<i32>(listB + (<usize>b << 2));
      const pb1 = twoB ? load<i32>(listB + (<usize>(b + 1) << 2)) : pb0;
      const wb0 = windows + <usize>pb0 * len * 8 + (offB << 3);
      const wb1 = windows + <usize>pb1 * len * 8 + (offB << 3);
      let s00 = f64x2.splat(0), s01 = f64x2.splat(0), s10 = f64x2.splat(0), s11 = f64x2.splat(0);
      for (let k = 0; k < rowsY; k++) {
        const rk = <usize>k * strideBytes;
        for (let t: usize = 0; t < spanBytes; t += 16) {
          const x0 = v128.load(wa0 + rk + t), x1 = v128.load(wa1 + rk + t);
          const y0 = v128.load(wb0 + rk + t), y1 = v128.load(wb1 + rk + t);
          s00 = f64x2.add(s00, f64x2.mul(x0, y0));
          s01 = f64x2.add(s01, f64x2.mul(x0, y1));
          s10 = f64x2.add(s10, f64x2.mul(x1, y0));
          s11 = f64x2.add(s11, f64x2.mul(x1, y1));
        }
      }
      storeLower(g, ldg, pa0, pb0, vSum<f64>(s00));
      if (twoB && (!diagonal || b + 1 <= a)) storeLower(g, ldg, pa0, pb1, vSum<f64>(s01));
      if (twoA) {
        storeLower(g, ldg, pa1, pb0, vSum<f64>(s10));
        if (twoB) storeLower(g, ldg, pa1, pb1, vSum<f64>(s11));
      }
    }
  }
}

/** G[max(p, q), min(p, q)] = v: the lower-triangle copy of a symmetric entry. */
@inline function storeLower(g: usize, ldg: usize, p: i32, q: i32, v: f64): void {
  const r = max(p, q), c = min(p, q);
  store<f64>(g + (<usize>r * ldg + <usize>c) * 8, v);
}

/**
 * The entries of G between the rows of output pixel p and those of every pixel q <= p (raster order)
 * whose window overlaps p's; start/members list the rows (positions in G) of each pixel. Its own
 * function, called per pixel, for V8's tier-up (see bandSweep).
 */
function pixelPairs(geo: UnitGeometryView, p: i32, start: usize, members: usize, windows: usize, len: usize, g: usize, ld: usize): void {
  const s = geo.stride, side = windowSide(geo), cw = windowChannels(geo), reach = overlapReach(geo);
  const wOut = geo.wOut;
  const pStart = load<i32>(start + (<usize>p << 2)), pCount = load<i32>(start + (<usize>(p + 1) << 2)) - pStart;
  if (pCount == 0) return;
  const py = p / wOut, px = p % wOut;
  for (let qy = max(0, py - reach); qy <= py; qy++) {
    for (let qx = max(0, px - reach); qx <= min(wOut - 1, px + reach); qx++) {
      const q = qy * wOut + qx;
      if (q > p) break;
      const qStart = load<i32>(start + (<usize>q << 2)), qCount = load<i32>(start + (<usize>(q + 1) << 2)) - qStart;
      if (qCount == 0) continue;
      // Window origins in input pixels; q's window sits at (dy, dx) relative to p's.
      const oy = s * (py - 1) - 1, ox = s * (px - 1) - 1;
      const dy = s * (qy - py), dx = s * (qx - px);
      // Overlap in p's window coordinates, clipped to the image.
      const y0 = max(max(0, dy), -oy), y1 = min(min(side, side + dy), geo.hIn - oy);
      const x0 = max(max(0, dx), -ox), x1 = min(min(side, side + dx), geo.wIn - ox);
      if (y0 >= y1 || x0 >= x1) continue;
      const offA = <usize>((y0 * side + x0) * cw);
      const offB = <usize>(((y0 - dy) * side + (x0 - dx)) * cw);
      overlapBlock(windows, len, members + (<usize>pStart << 2), pCount, members + (<usize>qStart << 2), qCount, q == p,
        offA, offB, y1 - y0, (x1 - x0) * cw, <usize>(side * cw), g, ld);
    }
  }
}

/**
 * GRAMLOWERF64: the lower triangle of G = W W^T, where row r of W is window r (gramRowWindowsF64) of
 * J's row rows[r]: G[r, t] = <J[rows[r], :], J[rows[t], :]> * scale^2 for t <= r, written to the N x N
 * row-major matrix at g (leading dimension ldg >= N = count; allocate N^2 * 8 bytes through
 * memory.ts allocate: 1.4 GB for a stage-1 unit of ResNet-56). The strict upper triangle is not
 * touched; the lower one is zeroed first, then only pairs of rows with overlapping windows are
 * computed: a pair of output pixels at most R = (2s+2)/s apart per direction, over the rectangle
 * where their windows meet, clipped to the image. `rows` may be in any order (G follows it);
 * pixel-major order (gramActiveRowsPixelMajor) keeps the writes local. Accuracy: each entry is a sum
 * of at most (2s+3)^2 C_in products in f64 (|error| <= gamma_k |J_r| . |J_t|).
 */
export function gramLowerF64(unit: usize, rows: usize, count: i32, windows: usize, g: usize, ldg: i32): void {
  if (count <= 0) return;
  gramLowerOf(geometryOf(unit), rows, count, windows, g, ldg);
}

/**
 * GRAMUNITGEOMETRY: the geometry of the unit (gramUnitOfOperator) as four i32 at `out`: C_in, H_in,
 * W_in and the stride, which is what gramLowerGeometryF64 needs to form G from the unit's windows in
 * another instance (the threads build's, see src/wasm/threads.ts) without the unit itself.
 */
export function gramUnitGeometry(unit: usize, out: usize): void {
  const g = geometryOf(unit);
  store<i32>(out, g.cIn);
  store<i32>(out, g.hIn, 4);
  store<i32>(out, g.wIn, 8);
  store<i32>(out, g.stride, 12);
}

/**
 * GRAMLOWERGEOMETRYF64: gramLowerF64 for a unit given by its geometry (gramUnitGeometry: C_in, H_in,
 * W_in, stride 1 or 2; the output is ((H_in - 1)/s + 1) x ((W_in - 1)/s + 1) pixels) instead of its
 * handle; rows and windows as there (row indices C, H, W numbered over the output). Same values.
 */
export function gramLowerGeometryF64(cIn: i32, hIn: i32, wIn: i32, stride: i32, rows: usize, count: i32, windows: usize, g: usize, ldg: i32): void {
  if (count <= 0) return;
  if ((stride != 1 && stride != 2) || cIn < 1 || hIn < 1 || wIn < 1) abort("gramLowerGeometryF64: bad geometry");
  const geo = changetype<UnitGeometryView>(heap.alloc(offsetof<UnitGeometryView>()));
  geo.elementSize = 8;
  geo.cIn = cIn;
  geo.hIn = hIn;
  geo.wIn = wIn;
  geo.hOut = (hIn - 1) / stride + 1;
  geo.wOut = (wIn - 1) / stride + 1;
  geo.stride = stride;
  gramLowerOf(geo, rows, count, windows, g, ldg);
  heap.free(changetype<usize>(geo));
}

function gramLowerOf(geo: UnitGeometryView, rows: usize, count: i32, windows: usize, g: usize, ldg: i32): void {
  const side = windowSide(geo);
  const len = <usize>(side * side * windowChannels(geo));
  const plane = geo.hOut * geo.wOut;
  const ld = <usize>ldg;
  for (let r = 0; r < count; r++) memory.fill(g + <usize>r * ld * 8, 0, <usize>(r + 1) * 8);
  // Rows of each output pixel: positions in `rows`, grouped by pixel (counting sort, stable).
  const start = heap.alloc(<usize>(plane + 1) << 2);
  const members = heap.alloc(<usize>count << 2);
  memory.fill(start, 0, <usize>(plane + 1) << 2);
  for (let r = 0; r < count; r++) {
    const p = load<i32>(rows + (<usize>r << 2)) % plane;
    store<i32>(start + (<usize>(p + 1) << 2), load<i32>(start + (<usize>(p + 1) << 2)) + 1);
  }
  for (let p = 0; p < plane; p++) {
    store<i32>(start + (<usize>(p + 1) << 2), load<i32>(start + (<usize>(p + 1) << 2)) + load<i32>(start + (<usize>p << 2)));
  }
  const fill = heap.alloc(<usize>plane << 2);
  memory.copy(fill, start, <usize>plane << 2);
  for (let r = 0; r < count; r++) {
    const slot = fill + (<usize>(load<i32>(rows + (<usize>r << 2)) % plane) << 2);
    const k = load<i32>(slot);
    store<i32>(members + (<usize>k << 2), r);
    store<i32>(slot, k + 1);
  }
  heap.free(fill);
  // Each unordered pair of pixels once: q before or equal to p in raster order.
  for (let p = 0; p < plane; p++) pixelPairs(geo, p, start, members, windows, len, g, ld);
  heap.free(members);
  heap.free(start);
}

// ---------------------------------------------------------------------------------------------------
// Eigenvalues to singular values

/**
 * GRAMSINGULARVALUESF64: s[i] = sqrt(max(lambda[i], 0)) / scale for the N eigenvalues at `lambda`
 * (descending, as sterfF64 leaves them with descending = 1), in place. Eigenvalues below zero are
 * rounding errors of a positive semidefinite matrix and become 0. Exact up to the square root's
 * rounding (scale a power of two).
 */
export function gramSingularValuesF64(count: i32, lambda: usize, scale: f64): void {
  for (let i = 0; i < count; i++) {
    const p = lambda + (<usize>i << 3);
    const v = load<f64>(p);
    store<f64>(p, v > 0 ? Math.sqrt(v) / scale : 0);
  }
}

/**
 * GRAMERRORBOUNDF64: the accuracy estimate of the Gram route for N = count computed singular values
 * s' (descending, at `values`, as gramSingularValuesF64 leaves them). With Delta = N * eps * s'_max^2
 * (eps = 2^-52) the estimated bound on the eigenvalue errors of G (see the file header), an exact
 * value s = sqrt(lambda) and its computed s' = sqrt(lambda') satisfy |s - s'| = |lambda - lambda'| /
 * (s + s') with s >= sqrt(max(s'^2 - Delta, 0)), so |s - s'| <= Delta / (s' + sqrt(max(s'^2 - Delta,
 * 0))) (about Delta / (2 s') for s' >> sqrt(Delta)) and always <= sqrt(Delta). Returns the largest of
 * these, which the smallest s' attains. Compare it with the absolute accuracy needed (e.g.
 * 1e-9 * s_max); when it is larger, the small singular values need the bidiagonal route.
 */
export function gramErrorBoundF64(count: i32, values: usize): f64 {
  if (count <= 0) return 0;
  const smax = load<f64>(values);
  const smin = load<f64>(values + (<usize>(count - 1) << 3));
  const delta = <f64>count * PREC_F64 * smax * smax;
  const root = Math.sqrt(delta);
  const lower = Math.sqrt(max(smin * smin - delta, 0));
  return smin > 0 ? min(root, delta / (smin + lower)) : root;
}

// ---------------------------------------------------------------------------------------------------
// Tridiagonalization

/**
 * GRAMTRIDIAGONALIZEF64: reduce the symmetric N x N matrix A (row-major, lower triangle read and
 * destroyed, leading dimension lda) to tridiagonal T = Q^T A Q: diagonal d[0:N], off-diagonal
 * e[0:N-1]; Q is not kept (tau: N scratch values, the one-stage reflectors' scalars). `band` selects
 * the method:
 * - band <= 1: one stage, householder.ts sytrdF64 (LAPACK dsytrd: half of its 4N^3/3 flops are
 *   symmetric matrix-vector products, bound by memory bandwidth);
 * - band = b >= 2: two stages (LAPACK dsytrd_2stage): gramBandReduceF64 reduces A to band width
 *   min(b, N-1) with all 4N^3/3 flops in GEMM, then gramBandToTridiagonalF64 chases the band down to
 *   tridiagonal form (~6 b N^2 flops on b x b blocks).
 * Accuracy: both are sequences of orthogonal similarity transformations, backward stable: T is
 * exactly similar to A + E, ||E||_2 <= p(N) eps ||A||_2, so its eigenvalues are within that of A's.
 */
export function gramTridiagonalizeF64(n: i32, a: usize, lda: i32, d: usize, e: usize, tau: usize, band: i32): void {
  if (n <= 0) return;
  if (band <= 1) {
    sytrdF64(n, a, lda, d, e, tau);
    return;
  }
  const b = min(band, max(n - 1, 1));
  gramBandReduceF64(n, a, lda, b);
  const ldb = gramBandStride(b);
  const storage = heap.alloc(<usize>n * <usize>ldb * 8);
  gramBandFromLowerF64(n, a, lda, b, storage, ldb);
  gramBandToTridiagonalF64(n, b, storage, ldb, d, e);
  heap.free(storage);
}

/** Block height of the symmetric products (multiple of blas.ts MC = 96). */
export const SYMM_BLOCK: i32 = 288;

/**
 * Y (r x q, ld q) = A V for symmetric A (r x r, lower triangle, row-major ld lda) and V (r x q, ld q),
 * by block rows of SYMM_BLOCK (blas.ts symmLowerBlock; parallel.ts hands out the same blocks).
 */
function symmLower<T>(r: i32, q: i32, a: usize, lda: i32, v: usize, y: usize, ws: BandReduceWork): void {
  for (let j0 = 0; j0 < r; j0 += SYMM_BLOCK) symmLowerBlock<T>(r, q, a, lda, v, y, j0, SYMM_BLOCK, ws.diag, ws.packedA, ws.packedB);
}

/** Columns factored at level 2 per step of panelQr; the rest of the panel is updated by GEMM. */
const PANEL_INNER: i32 = 16;

/**
 * Householder QR of the r x nb panel P (row-major, ld nb) in place, q = min(nb, r - 1) reflectors:
 * R on and above the diagonal, reflector j (v_j[j] = 1 implicit) below it, tau[j]. Blocked as LAPACK
 * dgeqrf: PANEL_INNER columns at a time at level 2 (panelQr2: each pass streams r x PANEL_INNER
 * values, not the whole panel), then their block reflector I - V T V^T applied to the columns right of
 * them by three GEMMs. Backward stable like the unblocked QR (not bitwise it).
 */
function panelQr<T>(r: i32, nb: i32, q: i32, p: usize, tau: usize, col: usize, w: usize, ws: BandReduceWork): void {
  const ld = <usize>nb, size = <usize>sizeof<T>();
  for (let jb = 0; jb < q; jb += PANEL_INNER) {
    const ib = min(PANEL_INNER, q - jb);
    // Level 2 on columns jb..jb+ib-1 only.
    panelQr2<T>(r, nb, jb, jb + ib, jb + ib, p, tau, col, w);
    const rest = nb - jb - ib;
    if (rest <= 0) continue;
    // V (rows jb..r-1 of the ib reflectors, explicit) into ws.v, T (ib x ib) into ws.tri.
    const m = r - jb, v = ws.v, t = ws.tri, vtv = ws.small, x = ws.small2;
    for (let i = 0; i < m; i++) {
      const src = p + (<usize>(jb + i) * ld + <usize>jb) * size, dst = v + <usize>i * <usize>ib * size;
      for (let j = 0; j < ib; j++) store<T>(dst + <usize>j * size, j < i ? load<T>(src + <usize>j * size) : j == i ? <T>1 : <T>0);
    }
    blockReflectorT<T>(m, ib, v, tau + <usize>jb * size, t, vtv, ws);
    // C = P[jb:r, jb+ib:nb] := (I - V T V^T)^T C = C - V (T^T (V^T C)).
    const c = p + (<usize>jb * ld + <usize>(jb + ib)) * size;
    gemmOnBuffers<T>(true, false, ib, rest, m, <T>1, v, ib, c, nb, <T>0, vtv, rest, ws.packedA, ws.packedB);
    gemmOnBuffers<T>(true, false, ib, rest, ib, <T>1, t, ib, vtv, rest, <T>0, x, rest, ws.packedA, ws.packedB);
    gemmOnBuffers<T>(false, false, m, rest, ib, <T>-1, v, ib, x, rest, <T>1, c, nb, ws.packedA, ws.packedB);
  }
}

/**
 * T (q x q upper triangular, ld q) of the block reflector H_0 ... H_{q-1} = I - V T V^T of the m x q
 * reflectors V (explicit, ld q) with scalars tau (LAPACK dlarft, forward, columnwise); vtv: q x q scratch.
 */
function blockReflectorT<T>(m: i32, q: i32, v: usize, tau: usize, t: usize, vtv: usize, ws: BandReduceWork): void {
  const size = <usize>sizeof<T>();
  gemmOnBuffers<T>(true, false, q, q, m, <T>1, v, q, v, q, <T>0, vtv, q, ws.packedA, ws.packedB);
  memory.fill(t, 0, <usize>(q * q) * size);
  for (let c = 0; c < q; c++) {
    const tc = load<T>(tau + <usize>c * size);
    // T[0:c, c] = -tau_c T[0:c, 0:c] (V^T V)[0:c, c].
    for (let rr = 0; rr < c; rr++) {
      let acc = <T>0;
      for (let k = rr; k < c; k++) acc += load<T>(t + <usize>(rr * q + k) * size) * load<T>(vtv + <usize>(k * q + c) * size);
      store<T>(t + <usize>(rr * q + c) * size, -tc * acc);
    }
    store<T>(t + <usize>(c * q + c) * size, tc);
  }
}

/**
 * Level-2 Householder QR of columns j0..j1-1 of the panel P (r x nb, ld nb), each reflector applied
 * to the columns right of it up to (not including) column `last`: the unblocked QR of panelQr.
 */
function panelQr2<T>(r: i32, nb: i32, j0: i32, j1: i32, last: i32, p: usize, tau: usize, col: usize, w: usize): void {
  const ld = <usize>nb, size = <usize>sizeof<T>();
  for (let j = j0; j < j1; j++) {
    const len = r - j;
    for (let i = 0; i < len; i++) store<T>(col + <usize>i * size, load<T>(p + (<usize>(j + i) * ld + <usize>j) * size));
    const t = larfg<T>(len, col, col + size, 1);
    store<T>(tau + <usize>j * size, t);
    store<T>(p + (<usize>j * ld + <usize>j) * size, load<T>(col));
    store<T>(col, <T>1);
    for (let i = 1; i < len; i++) store<T>(p + (<usize>(j + i) * ld + <usize>j) * size, load<T>(col + <usize>i * size));
    const rest = last - j - 1;
    if (rest <= 0 || t == 0) continue;
    // C = P[j:r, j+1:last]: w = C^T v, then C -= tau v w^T.
    memory.fill(w, 0, <usize>rest * size);
    for (let i = 0; i < len; i++) {
      const vi = load<T>(col + <usize>i * size);
      if (vi == 0) continue;
      axpyUnit<T>(rest, vi, p + (<usize>(j + i) * ld + <usize>(j + 1)) * size, w);
    }
    for (let i = 0; i < len; i++) {
      const f = -t * load<T>(col + <usize>i * size);
      if (f == 0) continue;
      axpyUnit<T>(rest, f, w, p + (<usize>(j + i) * ld + <usize>(j + 1)) * size);
    }
  }
}

/**
 * GRAMBANDREDUCEF64: first stage of the two-stage tridiagonalization (LAPACK dsytrd_sy2sb, lower):
 * Q^T A Q = B with B of band width b (B[i, j] = 0 for i - j > b), for symmetric A (n x n, lower
 * triangle, row-major, ld lda), in place: on exit the band of the lower triangle (0 <= i - j <= b)
 * holds B; entries further below the diagonal are left undefined. For each panel of b columns,
 * P = A[k+b:n, k:k+b] = Q_k R_k (Householder QR; R_k is written back, within the band), and the
 * trailing matrix becomes Q_k^T A22 Q_k = A22 - V W^T - W V^T with Q_k = I - V T V^T, X = A22 V T,
 * W = X - V (T^T V^T X) / 2: one symmetric product (symmLower) and one rank-2b lower-triangle GEMM,
 * ~4 r^2 b flops for a trailing order r, so 4n^3/3 in all, at GEMM speed. Backward stable.
 */
export function gramBandReduceF64(n: i32, a: usize, lda: i32, b: i32): void {
  gramBandReduce<f64>(n, a, lda, b);
}

/**
 * GRAMBANDREDUCEF32: gramBandReduceF64 in f32 storage and arithmetic (A n x n f32, lower triangle).
 * Eigenvalues of the band are those of A within p(n) eps_f32 ||A||_2 (eps_f32 = 2^-23).
 */
export function gramBandReduceF32(n: i32, a: usize, lda: i32, b: i32): void {
  gramBandReduce<f32>(n, a, lda, b);
}

function gramBandReduce<T>(n: i32, a: usize, lda: i32, b: i32): void {
  if (b < 1 || n - b < 2) return;
  const size = <usize>sizeof<T>();
  const maxRows = n - b;
  const bytesRb = <usize>maxRows * <usize>b * size;
  const ws = changetype<BandReduceWork>(heap.alloc(offsetof<BandReduceWork>()));
  ws.panel = heap.alloc(bytesRb);
  ws.v = heap.alloc(bytesRb);
  ws.y = heap.alloc(bytesRb);
  ws.w = heap.alloc(bytesRb);
  ws.left = heap.alloc(2 * bytesRb);
  ws.right = heap.alloc(2 * bytesRb);
  ws.col = heap.alloc(<usize>maxRows * size);
  ws.tau = heap.alloc(<usize>b * size);
  ws.rowScratch = heap.alloc(<usize>b * size);
  ws.tri = heap.alloc(<usize>(b * b) * size);
  ws.small = heap.alloc(<usize>(b * b) * size);
  ws.small2 = heap.alloc(<usize>(b * b) * size);
  ws.diag = heap.alloc(<usize>(SYMM_BLOCK * SYMM_BLOCK) * size);
  ws.packedA = heap.alloc(GEMM_F64_PACKED_A_BYTES);
  ws.packedB = heap.alloc(GEMM_F64_PACKED_B_BYTES);
  for (let k = 0; n - k - b >= 2; k += b) bandReducePanel<T>(n, a, lda, b, k, ws);
  heap.free(ws.panel);
  heap.free(ws.v);
  heap.free(ws.y);
  heap.free(ws.w);
  heap.free(ws.left);
  heap.free(ws.right);
  heap.free(ws.col);
  heap.free(ws.tau);
  heap.free(ws.rowScratch);
  heap.free(ws.tri);
  heap.free(ws.small);
  heap.free(ws.small2);
  heap.free(ws.diag);
  heap.free(ws.packedA);
  heap.free(ws.packedB);
  heap.free(changetype<usize>(ws));
}

/** Scratch of gramBandReduce: (n - b) x b blocks panel, v, y, w; (n - b) x 2b left, right; small ones; GEMM packing. */
@unmanaged class BandReduceWork {
  panel: usize;
  v: usize;
  y: usize;
  w: usize;
  left: usize;
  right: usize;
  col: usize;
  tau: usize;
  rowScratch: usize;
  tri: usize;
  small: usize;
  small2: usize;
  diag: usize;
  packedA: usize;
  packedB: usize;
}

/**
 * One panel (columns k..k+b-1) of gramBandReduce; its own function for V8's tier-up (bandSweep).
 * The small products run on the work's packing buffers (blas.ts gemmOnBuffers: bitwise gemmF64).
 */
function bandReducePanel<T>(n: i32, a: usize, lda: i32, b: i32, k: i32, ws: BandReduceWork): void {
  const ld = <usize>lda, size = <usize>sizeof<T>();
  const r = n - k - b;
  const q = min(b, r - 1);
  const panel = ws.panel, v = ws.v, y = ws.y, w = ws.w, tri = ws.tri, small = ws.small, small2 = ws.small2;
  const pa = ws.packedA, pb = ws.packedB;
  // The panel A[k+b:n, k:k+b], copied contiguous, factored, R written back.
  for (let i = 0; i < r; i++) memory.copy(panel + <usize>i * <usize>b * size, a + (<usize>(k + b + i) * ld + <usize>k) * size, <usize>b * size);
  panelQr<T>(r, b, q, panel, ws.tau, ws.col, ws.rowScratch, ws);
  for (let i = 0; i < min(r, b); i++) {
    memory.copy(a + (<usize>(k + b + i) * ld + <usize>(k + i)) * size, panel + (<usize>i * <usize>b + <usize>i) * size, <usize>(b - i) * size);
  }
  // V explicit (r x q: unit diagonal, zeros above) and T (q x q upper triangular), Q = I - V T V^T.
  for (let i = 0; i < r; i++) {
    const src = panel + <usize>i * <usize>b * size, dst = v + <usize>i * <usize>q * size;
    for (let j = 0; j < q; j++) store<T>(dst + <usize>j * size, j < i ? load<T>(src + <usize>j * size) : j == i ? <T>1 : <T>0);
  }
  blockReflectorT<T>(r, q, v, ws.tau, tri, small, ws);
  // Y = A22 V; X = Y T (into w); S = T^T (V^T X); W = X - V S / 2.
  const a22 = a + (<usize>(k + b) * ld + <usize>(k + b)) * size;
  if (ASC_FEATURE_THREADS) {
    // The threads build splits the two large products over the open pool (parallel.ts), bitwise alike.
    const pool = threadPool();
    if (pool) {
      if (size == 8) parallelSymmLower(pool, r, q, a22, lda, v, y, SYMM_BLOCK);
      else parallelSymmLowerF32(pool, r, q, a22, lda, v, y, SYMM_BLOCK);
    }
    else symmLower<T>(r, q, a22, lda, v, y, ws);
  } else {
    symmLower<T>(r, q, a22, lda, v, y, ws);
  }
  gemmOnBuffers<T>(false, false, r, q, q, <T>1, y, q, tri, q, <T>0, w, q, pa, pb);
  gemmOnBuffers<T>(true, false, q, q, r, <T>1, v, q, w, q, <T>0, small, q, pa, pb);
  gemmOnBuffers<T>(true, false, q, q, q, <T>1, tri, q, small, q, <T>0, small2, q, pa, pb);
  gemmOnBuffers<T>(false, false, r, q, q, <T>-0.5, v, q, small2, q, <T>1, w, q, pa, pb);
  // A22 -= [V W] [W V]^T on the lower triangle (one GEMM of inner dimension 2q).
  const k2 = 2 * q;
  for (let i = 0; i < r; i++) {
    const vr = v + <usize>i * <usize>q * size, wr = w + <usize>i * <usize>q * size;
    const lr = ws.left + <usize>i * <usize>k2 * size, rr = ws.right + <usize>i * <usize>k2 * size;
    memory.copy(lr, vr, <usize>q * size);
    memory.copy(lr + <usize>q * size, wr, <usize>q * size);
    memory.copy(rr, wr, <usize>q * size);
    memory.copy(rr + <usize>q * size, vr, <usize>q * size);
  }
  if (ASC_FEATURE_THREADS) {
    const pool = threadPool();
    if (pool) {
      if (size == 8) parallelGemmLowerF64(pool, 0, 1, r, k2, -1, ws.left, k2, ws.right, k2, 1, a22, lda);
      else parallelGemmLowerF32(pool, 0, 1, r, k2, -1, ws.left, k2, ws.right, k2, 1, a22, lda);
    } else {
      gemmLower<T>(r, k2, ws.left, ws.right, a22, lda, ws);
    }
  } else {
    gemmLower<T>(r, k2, ws.left, ws.right, a22, lda, ws);
  }
}

/** A22 -= left right^T on the lower triangle (blas.ts gemmLowerF64's blocks, on the work's buffers). */
function gemmLower<T>(r: i32, k2: i32, left: usize, right: usize, a22: usize, lda: i32, ws: BandReduceWork): void {
  for (let i0 = 0; i0 < r; i0 += LOWER_BLOCK) {
    gemmLowerBlock<T>(false, true, r, k2, <T>-1, left, k2, right, k2, <T>1, a22, lda, i0, ws.diag, ws.packedA, ws.packedB);
  }
}

/**
 * Row stride (in elements) of the band storage used by gramBandToTridiagonalF64 for band width b: row
 * i holds columns i - 2b .. i (b for the band, b more for the bulges of the chase), rounded up to even.
 */
export function gramBandStride(b: i32): i32 {
  return (2 * b + 2) & ~1;
}

/** Band storage: element (i, c), i - 2b <= c <= i, at row i, position c - i + 2b (elements of `size` bytes). */
@inline function bandAt(band: usize, ldb: usize, b2: i32, i: i32, c: i32, size: usize): usize {
  return band + (<usize>i * ldb + <usize>(c - i + b2)) * size;
}

/**
 * GRAMBANDFROMLOWERF64: copy the band of width b of the lower triangle of A (n x n, row-major, ld lda)
 * into band storage (n x ldb, ldb = gramBandStride(b)), with the bulge area zeroed.
 */
export function gramBandFromLowerF64(n: i32, a: usize, lda: i32, b: i32, band: usize, ldb: i32): void {
  gramBandFromLower<f64>(n, a, lda, b, band, ldb);
}

/** GRAMBANDFROMLOWERF32: gramBandFromLowerF64 for f32 A and band. */
export function gramBandFromLowerF32(n: i32, a: usize, lda: i32, b: i32, band: usize, ldb: i32): void {
  gramBandFromLower<f32>(n, a, lda, b, band, ldb);
}

function gramBandFromLower<T>(n: i32, a: usize, lda: i32, b: i32, band: usize, ldb: i32): void {
  const ld = <usize>ldb, b2 = 2 * b, size = <usize>sizeof<T>();
  memory.fill(band, 0, <usize>n * ld * size);
  for (let i = 0; i < n; i++) {
    const c0 = max(0, i - b);
    memory.copy(bandAt(band, ld, b2, i, c0, size), a + (<usize>i * <usize>lda + <usize>c0) * size, <usize>(i - c0 + 1) * size);
  }
}

/**
 * GRAMLOWERROUNDF32: the lower triangle of the f64 matrix A (n x n, row-major, ld lda) rounded to f32,
 * in place: afterwards the same bytes hold an f32 matrix of the same leading dimension lda (its rows
 * are half as long in bytes; entries above the diagonal undefined). Ascending order makes the
 * overlap safe (every f32 store lands at or before the f64 it came from, read already).
 */
export function gramLowerRoundF32(n: i32, a: usize, lda: i32): void {
  const ld = <usize>lda;
  for (let i = 0; i < n; i++) {
    const src = a + <usize>i * ld * 8, dst = a + <usize>i * ld * 4;
    for (let c = 0; c <= i; c++) store<f32>(dst + (<usize>c << 2), <f32>load<f64>(src + (<usize>c << 3)));
  }
}

/**
 * Two-sided application of H = I - tau v v^T (v of length len, v[0] = 1 stored) to the symmetric
 * block A[r0:r0+len, r0:r0+len] in band storage (lower): A := H A H (LAPACK dlarfy):
 * w = tau A v, w -= (tau/2)(w.v) v, A -= v w^T + w v^T. w: scratch of len values.
 */
function bandSymmetricReflect<T>(band: usize, ld: usize, b2: i32, r0: i32, len: i32, v: usize, tau: T, w: usize): void {
  if (tau == 0) return;
  const size = <usize>sizeof<T>();
  memory.fill(w, 0, <usize>len * size);
  // w = A v from the lower triangle: row i contributes A[i, r0:i] . v[0:i] to w[i] and
  // A[i, r0:i] v[i] to w[0:i]; plus the diagonal.
  for (let i = 0; i < len; i++) {
    const row = bandAt(band, ld, b2, r0 + i, r0, size);
    const vi = load<T>(v + <usize>i * size);
    const dot = dotUnit<T>(i, row, v);
    axpyUnit<T>(i, vi, row, w);
    const wi = w + <usize>i * size;
    store<T>(wi, load<T>(wi) + dot + load<T>(row + <usize>i * size) * vi);
  }
  for (let i = 0; i < len; i++) store<T>(w + <usize>i * size, tau * load<T>(w + <usize>i * size));
  const alpha = <T>-0.5 * tau * dotUnit<T>(len, w, v);
  axpyUnit<T>(len, alpha, v, w);
  for (let i = 0; i < len; i++) {
    const row = bandAt(band, ld, b2, r0 + i, r0, size);
    // Row i, columns 0..i: A[i, c] -= v[i] w[c] + w[i] v[c].
    axpyUnit<T>(i + 1, -load<T>(v + <usize>i * size), w, row);
    axpyUnit<T>(i + 1, -load<T>(w + <usize>i * size), v, row);
  }
}

/** progress[j] of a sweep that has finished (gramChaseSweeps). */
const SWEEP_DONE: i32 = 0x7fffffff;

/**
 * Sweep j of gramBandToTridiagonal (v, x, w: scratch of b + 1 values each). A function of its
 * own, called once per sweep, because V8 first runs WebAssembly code from a baseline compiler and
 * switches to optimized code only for later calls, never inside a running one: the whole reduction as
 * one call would run unoptimized. The same holds for the other per-step functions here.
 *
 * Step s of the sweep (s = 0: the diagonal block of column j; s >= 1: the bulge block below) reads and
 * writes only rows [j+1+s*b, j+1+(s+1)*b) of the band storage. So sweep j+1's step s touches what
 * sweep j's steps s and s+1 touch and nothing of its steps >= s+2: with `progress` (threads build,
 * gramChaseSweeps) sweep j+1 waits before its step s until sweep j has finished step s+1, and two
 * threads chase consecutive sweeps as a pipeline with every row seeing the same operations in the
 * same order as one thread (bitwise the same T). progress = 0: no waiting, no bookkeeping.
 */
function bandSweep<T>(n: i32, b: i32, band: usize, ld: usize, j: i32, v: usize, x: usize, w: usize, progress: usize): void {
  const b2 = 2 * b, size = <usize>sizeof<T>();
  let step = 0;
  if (ASC_FEATURE_THREADS) {
    if (progress && j > 0) waitForSweep(progress, j - 1, 2);
  }
  // Type 1: column j, rows j+1..j+len.
  let r0 = j + 1;
  let len = min(b, n - 1 - j);
  for (let i = 0; i < len; i++) store<T>(v + <usize>i * size, load<T>(bandAt(band, ld, b2, r0 + i, j, size)));
  let tau = larfg<T>(len, v, v + size, 1);
  store<T>(bandAt(band, ld, b2, r0, j, size), load<T>(v));
  for (let i = 1; i < len; i++) store<T>(bandAt(band, ld, b2, r0 + i, j, size), <T>0);
  store<T>(v, <T>1);
  bandSymmetricReflect<T>(band, ld, b2, r0, len, v, tau, w);
  // Types 2 and 3, down the band.
  while (r0 + len < n) {
    step++;
    if (ASC_FEATURE_THREADS) {
      if (progress) {
        atomic.store<i32>(progress + (<usize>j << 2), step);
        if (j > 0) waitForSweep(progress, j - 1, step + 2);
      }
    }
    const s0 = r0 + len;
    const lm = min(b, n - s0);
    // Right: A[s0:s0+lm, r0:r0+len] := A[...] H.
    if (tau != 0) {
      for (let i = 0; i < lm; i++) {
        const row = bandAt(band, ld, b2, s0 + i, r0, size);
        axpyUnit<T>(len, -tau * dotUnit<T>(len, row, v), v, row);
      }
    }
    // New reflector from the block's first column (rows s0..s0+lm-1, column r0).
    for (let i = 0; i < lm; i++) store<T>(x + <usize>i * size, load<T>(bandAt(band, ld, b2, s0 + i, r0, size)));
    const tau2 = larfg<T>(lm, x, x + size, 1);
    store<T>(bandAt(band, ld, b2, s0, r0, size), load<T>(x));
    for (let i = 1; i < lm; i++) store<T>(bandAt(band, ld, b2, s0 + i, r0, size), <T>0);
    store<T>(x, <T>1);
    // Left on the block's other columns r0+1..r0+len-1: w = C^T x, C -= tau2 x w^T.
    const rest = len - 1;
    if (tau2 != 0 && rest > 0) {
      memory.fill(w, 0, <usize>rest * size);
      for (let i = 0; i < lm; i++) axpyUnit<T>(rest, load<T>(x + <usize>i * size), bandAt(band, ld, b2, s0 + i, r0 + 1, size), w);
      for (let i = 0; i < lm; i++) axpyUnit<T>(rest, -tau2 * load<T>(x + <usize>i * size), w, bandAt(band, ld, b2, s0 + i, r0 + 1, size));
    }
    // Type 3: both sides of the next diagonal block.
    bandSymmetricReflect<T>(band, ld, b2, s0, lm, x, tau2, w);
    memory.copy(v, x, <usize>lm * size);
    tau = tau2;
    r0 = s0;
    len = lm;
  }
  if (ASC_FEATURE_THREADS) {
    if (progress) atomic.store<i32>(progress + (<usize>j << 2), SWEEP_DONE);
  }
}

/** Wait until sweep j has finished `steps` steps (parallel.ts waitUntilAtLeast). */
@inline function waitForSweep(progress: usize, j: i32, steps: i32): void {
  waitUntilAtLeast(progress + (<usize>j << 2), steps);
}

/**
 * Sweeps of the chase taken from the counter at `next` (atomic) until none are left: the part of
 * one thread in gramBandToTridiagonal's threaded chase (parallel.ts TASK_CHASE). `progress`: n
 * i32 per-sweep step counts, zeroed by the caller; scratch: 3 (b + 1) elements of this thread.
 */
export function gramChaseSweeps(elementSize: i32, n: i32, b: i32, band: usize, ldb: i32, progress: usize, next: usize, scratch: usize): void {
  if (ASC_FEATURE_THREADS) {
    const ld = <usize>ldb, stride = <usize>(b + 1) * <usize>elementSize;
    while (true) {
      const j = atomic.add<i32>(next, 1);
      if (j + 2 >= n) break;
      if (elementSize == 8) bandSweep<f64>(n, b, band, ld, j, scratch, scratch + stride, scratch + 2 * stride, progress);
      else bandSweep<f32>(n, b, band, ld, j, scratch, scratch + stride, scratch + 2 * stride, progress);
    }
  }
}

/**
 * GRAMBANDTOTRIDIAGONALF64: second stage (LAPACK dsytrd_sb2st / dsb2st_kernels, lower, no vectors):
 * reduce the symmetric band matrix of width b in band storage (gramBandFromLowerF64; destroyed) to
 * tridiagonal form by Householder bulge chasing; d[0:n] and e[0:n-1] receive T. Sweep j annihilates
 * column j below the subdiagonal with a reflector of length <= b applied to the diagonal block on
 * both sides; the block below then gets it from the right (a bulge), whose first column a new
 * reflector annihilates from the left, and so on down the band (n/b steps; the rest of each bulge
 * is what the following sweeps annihilate). ~6 b n^2 flops on b x b blocks. Backward stable.
 * In the threads build, while a pool is open, the sweeps run pipelined on the pool's threads
 * (bandSweep), with bitwise the same T.
 */
export function gramBandToTridiagonalF64(n: i32, b: i32, band: usize, ldb: i32, d: usize, e: usize): void {
  gramBandToTridiagonal<f64>(n, b, band, ldb, d, e);
}

/** GRAMBANDTOTRIDIAGONALF32: gramBandToTridiagonalF64 for f32 band storage, d and e. */
export function gramBandToTridiagonalF32(n: i32, b: i32, band: usize, ldb: i32, d: usize, e: usize): void {
  gramBandToTridiagonal<f32>(n, b, band, ldb, d, e);
}

function gramBandToTridiagonal<T>(n: i32, b: i32, band: usize, ldb: i32, d: usize, e: usize): void {
  const ld = <usize>ldb, b2 = 2 * b, size = <usize>sizeof<T>();
  let threaded = false;
  if (ASC_FEATURE_THREADS) {
    const pool = threadPool();
    if (pool && n > 2) {
      const progress = heap.alloc(<usize>n << 2);
      memory.fill(progress, 0, <usize>n << 2);
      parallelChase(pool, <i32>size, n, b, band, ldb, progress);
      heap.free(progress);
      threaded = true;
    }
  }
  if (!threaded) {
    const v = heap.alloc(<usize>(b + 1) * size);
    const x = heap.alloc(<usize>(b + 1) * size);
    const w = heap.alloc(<usize>(b + 1) * size);
    for (let j = 0; j + 2 < n; j++) bandSweep<T>(n, b, band, ld, j, v, x, w, 0);
    heap.free(v);
    heap.free(x);
    heap.free(w);
  }
  for (let i = 0; i < n; i++) {
    store<T>(d + <usize>i * size, load<T>(bandAt(band, ld, b2, i, i, size)));
    if (i + 1 < n) store<T>(e + <usize>i * size, load<T>(bandAt(band, ld, b2, i + 1, i, size)));
  }
}
