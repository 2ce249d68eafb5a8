/**
 * Dense BLAS kernels in SIMD WebAssembly, f64 and f32, row-major.
 *
 * Conventions (all routines):
 * - Matrices are row-major: element (i, j) of a matrix at `a` with leading dimension `lda` lives at
 *   byte offset a + (i*lda + j)*sizeof<T>. `lda` counts elements, not bytes.
 * - `trans` flags are i32: 0 means op(X) = X, anything else op(X) = X^T (the stored matrix is then
 *   the transpose of the logical operand, with its own shape and leading dimension).
 * - Vectors take an element stride `inc` (> 0). Stride 1 runs the SIMD path; other strides a plain
 *   scalar loop (used on matrix columns, which in row-major storage are strided).
 * - Pointers are byte offsets from memory.ts; kernels never keep them after returning.
 *
 * Accuracy: every routine is a straightforward (reordered) sum of products, so the usual BLAS bound
 * holds: |computed - exact| <= gamma_k |alpha| |op(A)| |op(B)| + O(eps)|beta C|, gamma_k ~ k*eps,
 * where k is the inner dimension (in practice the blocked order of summation gives errors of order
 * sqrt(k)*eps). nrm2 is scaled: it neither overflows nor underflows unless the result itself does.
 *
 * GEMM is the classic Goto/BLIS structure: op(B) is packed into KC x NR column slivers (kept in L2/L3),
 * op(A) into MC x KC blocks of MR-row slivers (kept in L2), and a register-blocked micro-kernel
 * accumulates an MR x NR tile of C entirely in v128 registers. Packing absorbs the transposes, the
 * zero padding of ragged edges and the scaling by alpha, so a single micro-kernel per type serves all
 * four op variants. WASM SIMD has no fused multiply-add without relaxed-simd, so the kernels issue
 * separate mul + add.
 */

// ---------------------------------------------------------------------------------------------------
// Blocking parameters. MR x NR is the register tile of the micro-kernel; with 16 v128 registers the
// f64 kernel holds 6x4 = 12 accumulators (2 per row) plus 2 B vectors and 1 broadcast A value; the
// f32 kernel likewise holds 6 x 8 (2 f32x4 per row). KC keeps a B sliver (KC*NR) in L1 and an A block
// (MC*KC) in L2; NC bounds the packed B panel.

const MR64: i32 = 6;
const NR64: i32 = 4;
const MR32: i32 = 6;
const NR32: i32 = 8;
const KC: i32 = 512;
const MC: i32 = 48; // multiple of MR64 and MR32
const NC: i32 = 2048;

// Scratch for one edge tile of C (largest MR x NR over both types, 16-byte aligned).
const EDGE_TILE: usize = memory.data(8 * 8 * 8, 16);

// ---------------------------------------------------------------------------------------------------
// Packing

/**
 * Pack rows [i0, i0+mc) and inner indices [p0, p0+kc) of op(A) into MR-row slivers:
 * sliver s holds, for each p, the MR values op(A)[i0+s*MR+r, p0+p] contiguously, times alpha.
 * Rows past the end of op(A) are padded with zeros so the micro-kernel never branches on shape.
 */
function packA<T>(transA: bool, a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, alpha: T, dst: usize): void {
  const mr: i32 = sizeof<T>() == 8 ? MR64 : MR32;
  const size = <usize>sizeof<T>();
  for (let s = 0; s < mc; s += mr) {
    const rows = min(mr, mc - s);
    const sliver = dst + <usize>(s * kc) * size;
    if (!transA) {
      // op(A)[i, p] = A[i*lda + p]: read each row contiguously, write with stride MR.
      for (let r = 0; r < rows; r++) {
        const src = a + (<usize>(i0 + s + r) * <usize>lda + <usize>p0) * size;
        for (let p = 0; p < kc; p++) {
          store<T>(sliver + (<usize>(p * mr + r)) * size, alpha * load<T>(src + <usize>p * size));
        }
      }
      for (let r = rows; r < mr; r++) {
        for (let p = 0; p < kc; p++) store<T>(sliver + (<usize>(p * mr + r)) * size, <T>0);
      }
    } else {
      // op(A)[i, p] = A[p*lda + i]: each p gives MR contiguous values.
      for (let p = 0; p < kc; p++) {
        const src = a + (<usize>(p0 + p) * <usize>lda + <usize>(i0 + s)) * size;
        const out = sliver + <usize>(p * mr) * size;
        for (let r = 0; r < rows; r++) store<T>(out + <usize>r * size, alpha * load<T>(src + <usize>r * size));
        for (let r = rows; r < mr; r++) store<T>(out + <usize>r * size, <T>0);
      }
    }
  }
}

/**
 * Pack inner indices [p0, p0+kc) and columns [j0, j0+nc) of op(B) into NR-column slivers:
 * sliver t holds, for each p, the NR values op(B)[p0+p, j0+t*NR+c] contiguously; ragged columns are
 * zero padded.
 */
function packB<T>(transB: bool, b: usize, ldb: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const nr: i32 = sizeof<T>() == 8 ? NR64 : NR32;
  const size = <usize>sizeof<T>();
  for (let t = 0; t < nc; t += nr) {
    const cols = min(nr, nc - t);
    const sliver = dst + <usize>(t * kc) * size;
    if (!transB) {
      // op(B)[p, j] = B[p*ldb + j]: NR contiguous values per p; full slivers copy as v128.
      for (let p = 0; p < kc; p++) {
        const src = b + (<usize>(p0 + p) * <usize>ldb + <usize>(j0 + t)) * size;
        const out = sliver + <usize>(p * nr) * size;
        if (cols == nr) {
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
        } else {
          for (let c = 0; c < cols; c++) store<T>(out + <usize>c * size, load<T>(src + <usize>c * size));
          for (let c = cols; c < nr; c++) store<T>(out + <usize>c * size, <T>0);
        }
      }
    } else {
      // op(B)[p, j] = B[j*ldb + p]: read each stored row contiguously, write with stride NR.
      for (let c = 0; c < cols; c++) {
        const src = b + (<usize>(j0 + t + c) * <usize>ldb + <usize>p0) * size;
        for (let p = 0; p < kc; p++) store<T>(sliver + <usize>(p * nr + c) * size, load<T>(src + <usize>p * size));
      }
      for (let c = cols; c < nr; c++) {
        for (let p = 0; p < kc; p++) store<T>(sliver + <usize>(p * nr + c) * size, <T>0);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Micro-kernels: C[0:MR, 0:NR] = beta*C + sum_p Ap[p, :]^T Bp[p, :] (alpha already folded into Ap).
// When the tile is ragged (rows < MR or cols < NR) the accumulators go to EDGE_TILE first and only
// the valid part is merged into C. beta == 0 never reads C (so C may hold garbage or NaN).

@inline function mergeRowF64(cp: usize, lo: v128, hi: v128, beta: f64): void {
  if (beta == 0) {
    v128.store(cp, lo);
    v128.store(cp, hi, 16);
  } else if (beta == 1) {
    v128.store(cp, f64x2.add(v128.load(cp), lo));
    v128.store(cp, f64x2.add(v128.load(cp, 16), hi), 16);
  } else {
    const bv = f64x2.splat(beta);
    v128.store(cp, f64x2.add(f64x2.mul(v128.load(cp), bv), lo));
    v128.store(cp, f64x2.add(f64x2.mul(v128.load(cp, 16), bv), hi), 16);
  }
}

function microF64(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32, beta: f64): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  let c40 = f64x2.splat(0), c41 = f64x2.splat(0);
  let c50 = f64x2.splat(0), c51 = f64x2.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load64_splat(ap);
    c00 = f64x2.add(c00, f64x2.mul(a, b0));
    c01 = f64x2.add(c01, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 8);
    c10 = f64x2.add(c10, f64x2.mul(a, b0));
    c11 = f64x2.add(c11, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 16);
    c20 = f64x2.add(c20, f64x2.mul(a, b0));
    c21 = f64x2.add(c21, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 24);
    c30 = f64x2.add(c30, f64x2.mul(a, b0));
    c31 = f64x2.add(c31, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 32);
    c40 = f64x2.add(c40, f64x2.mul(a, b0));
    c41 = f64x2.add(c41, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 40);
    c50 = f64x2.add(c50, f64x2.mul(a, b0));
    c51 = f64x2.add(c51, f64x2.mul(a, b1));
    ap += 48;
    bp += 32;
  }
  const full = rows == MR64 && cols == NR64;
  const stride = <usize>ldc << 3;
  const out = full ? c : EDGE_TILE;
  const outStride: usize = full ? stride : <usize>NR64 << 3;
  const outBeta = full ? beta : 0.0;
  mergeRowF64(out, c00, c01, outBeta);
  mergeRowF64(out + outStride, c10, c11, outBeta);
  mergeRowF64(out + 2 * outStride, c20, c21, outBeta);
  mergeRowF64(out + 3 * outStride, c30, c31, outBeta);
  mergeRowF64(out + 4 * outStride, c40, c41, outBeta);
  mergeRowF64(out + 5 * outStride, c50, c51, outBeta);
  if (!full) {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const cp = c + <usize>r * stride + (<usize>j << 3);
        const v = load<f64>(EDGE_TILE + (<usize>(r * NR64 + j) << 3));
        store<f64>(cp, beta == 0 ? v : beta * load<f64>(cp) + v);
      }
    }
  }
}

@inline function mergeRowF32(cp: usize, lo: v128, hi: v128, beta: f32): void {
  if (beta == 0) {
    v128.store(cp, lo);
    v128.store(cp, hi, 16);
  } else if (beta == 1) {
    v128.store(cp, f32x4.add(v128.load(cp), lo));
    v128.store(cp, f32x4.add(v128.load(cp, 16), hi), 16);
  } else {
    const bv = f32x4.splat(beta);
    v128.store(cp, f32x4.add(f32x4.mul(v128.load(cp), bv), lo));
    v128.store(cp, f32x4.add(f32x4.mul(v128.load(cp, 16), bv), hi), 16);
  }
}

function microF32(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 16);
    c40 = f32x4.add(c40, f32x4.mul(a, b0));
    c41 = f32x4.add(c41, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 20);
    c50 = f32x4.add(c50, f32x4.mul(a, b0));
    c51 = f32x4.add(c51, f32x4.mul(a, b1));
    ap += 24;
    bp += 32;
  }
  const full = rows == MR32 && cols == NR32;
  const stride = <usize>ldc << 2;
  const out = full ? c : EDGE_TILE;
  const outStride: usize = full ? stride : <usize>NR32 << 2;
  const outBeta: f32 = full ? beta : 0.0;
  mergeRowF32(out, c00, c01, outBeta);
  mergeRowF32(out + outStride, c10, c11, outBeta);
  mergeRowF32(out + 2 * outStride, c20, c21, outBeta);
  mergeRowF32(out + 3 * outStride, c30, c31, outBeta);
  mergeRowF32(out + 4 * outStride, c40, c41, outBeta);
  mergeRowF32(out + 5 * outStride, c50, c51, outBeta);
  if (!full) {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const cp = c + <usize>r * stride + (<usize>j << 2);
        const v = load<f32>(EDGE_TILE + (<usize>(r * NR32 + j) << 2));
        store<f32>(cp, beta == 0 ? v : beta * load<f32>(cp) + v);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// GEMM driver

/** C[m x n] = beta*C (beta == 0 writes exact zeros, never reading C). */
function scaleMatrix<T>(m: i32, n: i32, beta: T, c: usize, ldc: i32): void {
  const size = <usize>sizeof<T>();
  for (let i = 0; i < m; i++) {
    const row = c + <usize>i * <usize>ldc * size;
    if (beta == 0) memory.fill(row, 0, <usize>n * size);
    else if (beta != 1) for (let j = 0; j < n; j++) store<T>(row + <usize>j * size, beta * load<T>(row + <usize>j * size));
  }
}

function gemm<T>(
  transA: bool, transB: bool, m: i32, n: i32, k: i32,
  alpha: T, a: usize, lda: i32, b: usize, ldb: i32, beta: T, c: usize, ldc: i32,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0) {
    scaleMatrix<T>(m, n, beta, c, ldc);
    return;
  }
  const mr: i32 = sizeof<T>() == 8 ? MR64 : MR32;
  const nr: i32 = sizeof<T>() == 8 ? NR64 : NR32;
  const size = <usize>sizeof<T>();
  const ncMax = min(NC, ((n + nr - 1) / nr) * nr);
  const kcMax = min(KC, k);
  const mcMax = min(MC, ((m + mr - 1) / mr) * mr);
  const packedB = heap.alloc(<usize>(kcMax * ncMax) * size);
  const packedA = heap.alloc(<usize>(kcMax * mcMax) * size);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      // Only the first pass over the inner dimension applies beta; later passes accumulate.
      const passBeta: T = pc == 0 ? beta : <T>1;
      packB<T>(transB, b, ldb, pc, kc, jc, nc, packedB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA<T>(transA, a, lda, ic, mc, pc, kc, alpha, packedA);
        for (let jr = 0; jr < nc; jr += nr) {
          const cols = min(nr, nc - jr);
          const bp = packedB + <usize>(jr * kc) * size;
          for (let ir = 0; ir < mc; ir += mr) {
            const rows = min(mr, mc - ir);
            const ap = packedA + <usize>(ir * kc) * size;
            const cp = c + (<usize>(ic + ir) * <usize>ldc + <usize>(jc + jr)) * size;
            if (sizeof<T>() == 8) microF64(kc, ap, bp, cp, ldc, rows, cols, <f64>passBeta);
            else microF32(kc, ap, bp, cp, ldc, rows, cols, <f32>passBeta);
          }
        }
      }
    }
  }
  heap.free(packedA);
  heap.free(packedB);
}

/**
 * GEMM, f64: C = alpha*op(A)*op(B) + beta*C, row-major.
 * Shapes: op(A) is m x k, op(B) is k x n, C is m x n. A is stored m x k (lda >= k) when transA == 0,
 * k x m (lda >= m) otherwise; likewise B is k x n (ldb >= n) or n x k (ldb >= k). C must not overlap
 * A or B. beta == 0 overwrites C without reading it. Accuracy: see the file header (gamma_k bound).
 */
export function gemmF64(
  transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
): void {
  gemm<f64>(transA != 0, transB != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/** GEMM, f32: as gemmF64 with f32 storage and arithmetic. */
export function gemmF32(
  transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f32, a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32,
): void {
  gemm<f32>(transA != 0, transB != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
