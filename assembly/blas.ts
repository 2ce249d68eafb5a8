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

import { axpyUnit, dotUnit, rotUnit } from "./lib/level1";
import { lanesOf, vAdd, vMul, vSplat, vSum } from "./lib/simd";

// ---------------------------------------------------------------------------------------------------
// Blocking parameters. MR x NR is the register tile of the micro-kernel: 4 x 4 in f64 (8 f64x2
// accumulators, 2 per row) and 4 x 8 in f32 (8 f32x4). With the 2 B vectors, the broadcast A value and
// the product of each separate mul + add, that is 12 live v128 values: V8 on x64 allocates at most 15
// xmm registers to WASM, and a 6-row tile (12 accumulators, 16 live values) spills accumulators to the
// stack inside the k loop, which halved its rate. bench/gemm-micro.ts measures the shapes; 4 rows,
// not unrolled, reached the peak kernel's rate (BENCHMARKS.md, issue 15).
// KC keeps a B sliver (KC*NR, 16 KiB) in L1 and an A block (MC*KC, 192-384 KiB) in L2; NC bounds the
// packed B panel. KC = 512 and NC = 2048 were the best of a sweep with the 6-row tiles; with 4-row
// tiles MC = 96 (24 A slivers per B sliver) beat 48 and 192 (bench/before-after.ts, BENCHMARKS.md).

const MR64: i32 = 4;
const NR64: i32 = 4;
const MR32: i32 = 4;
const NR32: i32 = 8;
const KC: i32 = 512;
const MC: i32 = 96; // multiple of MR64 and MR32
const NC: i32 = 2048;

// Bytes of scratch for one ragged tile of C (the largest MR x NR over both types). It lives in each
// call's own packing allocation, not in static memory, so that concurrent calls never share it.
const EDGE_TILE_BYTES: usize = 8 * 8 * 8;

// ---------------------------------------------------------------------------------------------------
// Packing

/**
 * Interleave 4 rows (row r at src + r*ld elements, kc contiguous values each) into dst with `stride`
 * values per p: dst[p*stride + r] = scale * row_r[p] (scale multiplies only when `scaled`, so the values
 * are bitwise those of the scalar loop). The SIMD body transposes 2 x 2 (f64) or 4 x 4 (f32) blocks in
 * registers; the last kc mod lanes values go one by one.
 */
function interleave4<T>(src: usize, ld: i32, kc: i32, scale: T, scaled: bool, dst: usize, stride: i32): void {
  const size = <usize>sizeof<T>();
  const rowBytes = <usize>ld * size;
  const r0 = src, r1 = src + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
  const outStep = <usize>stride * size;
  const sv = vSplat<T>(scale);
  let p = 0;
  if (sizeof<T>() == 8) {
    for (; p + 2 <= kc; p += 2) {
      const off = <usize>p << 3;
      let v0 = v128.load(r0 + off), v1 = v128.load(r1 + off), v2 = v128.load(r2 + off), v3 = v128.load(r3 + off);
      if (scaled) {
        v0 = f64x2.mul(sv, v0); v1 = f64x2.mul(sv, v1); v2 = f64x2.mul(sv, v2); v3 = f64x2.mul(sv, v3);
      }
      const out = dst + <usize>p * outStep;
      v128.store(out, v128.shuffle<f64>(v0, v1, 0, 2));
      v128.store(out, v128.shuffle<f64>(v2, v3, 0, 2), 16);
      v128.store(out + outStep, v128.shuffle<f64>(v0, v1, 1, 3));
      v128.store(out + outStep, v128.shuffle<f64>(v2, v3, 1, 3), 16);
    }
  } else {
    for (; p + 4 <= kc; p += 4) {
      const off = <usize>p << 2;
      let v0 = v128.load(r0 + off), v1 = v128.load(r1 + off), v2 = v128.load(r2 + off), v3 = v128.load(r3 + off);
      if (scaled) {
        v0 = f32x4.mul(sv, v0); v1 = f32x4.mul(sv, v1); v2 = f32x4.mul(sv, v2); v3 = f32x4.mul(sv, v3);
      }
      const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
      const out = dst + <usize>p * outStep;
      v128.store(out, v128.shuffle<f64>(t0, t1, 0, 2));
      v128.store(out + outStep, v128.shuffle<f64>(t0, t1, 1, 3));
      v128.store(out + 2 * outStep, v128.shuffle<f64>(t2, t3, 0, 2));
      v128.store(out + 3 * outStep, v128.shuffle<f64>(t2, t3, 1, 3));
    }
  }
  for (; p < kc; p++) {
    const off = <usize>p * size;
    const out = dst + <usize>p * outStep;
    store<T>(out, scaled ? scale * load<T>(r0 + off) : load<T>(r0 + off));
    store<T>(out + size, scaled ? scale * load<T>(r1 + off) : load<T>(r1 + off));
    store<T>(out + 2 * size, scaled ? scale * load<T>(r2 + off) : load<T>(r2 + off));
    store<T>(out + 3 * size, scaled ? scale * load<T>(r3 + off) : load<T>(r3 + off));
  }
}

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
    if (!transA && rows == 4 && mr == 4) {
      // A full sliver of 4 rows: interleaved in registers.
      interleave4<T>(a + (<usize>(i0 + s) * <usize>lda + <usize>p0) * size, lda, kc, alpha, alpha != 1, sliver, mr);
    } else if (!transA) {
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
    } else if (cols == nr && (nr & 3) == 0) {
      // op(B)[p, j] = B[j*ldb + p], a full sliver: its stored rows interleaved 4 at a time in registers.
      for (let c = 0; c < nr; c += 4) {
        interleave4<T>(b + (<usize>(j0 + t + c) * <usize>ldb + <usize>p0) * size, ldb, kc, <T>1, false, sliver + <usize>c * size, nr);
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
// When the tile is ragged (rows < MR or cols < NR) the accumulators go to the `edge` scratch first and
// only the valid part is merged into C. beta == 0 never reads C (so C may hold garbage or NaN).

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

// Inlined into the driver: called once per tile as a function, the same loop ran 15-30 % slower in the
// package GEMM (bench/before-after.ts; the call or V8's code around it, not analysed further).
@inline function microF64(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32, beta: f64, edge: usize): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
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
    ap += 32;
    bp += 32;
  }
  const full = rows == MR64 && cols == NR64;
  const stride = <usize>ldc << 3;
  const out = full ? c : edge;
  const outStride: usize = full ? stride : <usize>NR64 << 3;
  const outBeta = full ? beta : 0.0;
  mergeRowF64(out, c00, c01, outBeta);
  mergeRowF64(out + outStride, c10, c11, outBeta);
  mergeRowF64(out + 2 * outStride, c20, c21, outBeta);
  mergeRowF64(out + 3 * outStride, c30, c31, outBeta);
  if (!full) {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const cp = c + <usize>r * stride + (<usize>j << 3);
        const v = load<f64>(edge + (<usize>(r * NR64 + j) << 3));
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

// Inlined into the driver, as microF64.
@inline function microF32(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32, beta: f32, edge: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
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
    ap += 16;
    bp += 32;
  }
  const full = rows == MR32 && cols == NR32;
  const stride = <usize>ldc << 2;
  const out = full ? c : edge;
  const outStride: usize = full ? stride : <usize>NR32 << 2;
  const outBeta: f32 = full ? beta : 0.0;
  mergeRowF32(out, c00, c01, outBeta);
  mergeRowF32(out + outStride, c10, c11, outBeta);
  mergeRowF32(out + 2 * outStride, c20, c21, outBeta);
  mergeRowF32(out + 3 * outStride, c30, c31, outBeta);
  if (!full) {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const cp = c + <usize>r * stride + (<usize>j << 2);
        const v = load<f32>(edge + (<usize>(r * NR32 + j) << 2));
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

/** Bytes of the packing buffers (packed A with the ragged-tile scratch after it; packed B) that GEMM
 *  needs for its largest blocks: what a caller of gemmF64OnBuffers supplies. */
export const GEMM_F64_PACKED_A_BYTES: usize = <usize>(KC * MC) * 8 + EDGE_TILE_BYTES;
export const GEMM_F64_PACKED_B_BYTES: usize = <usize>(KC * NC) * 8;

/** The GEMM driver on packing buffers the caller owns (large enough for min(KC, k) x min(NC, n) etc.). */
export function gemmOnBuffers<T>(
  transA: bool, transB: bool, m: i32, n: i32, k: i32,
  alpha: T, a: usize, lda: i32, b: usize, ldb: i32, beta: T, c: usize, ldc: i32,
  packedA: usize, packedB: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0) {
    scaleMatrix<T>(m, n, beta, c, ldc);
    return;
  }
  const mr: i32 = sizeof<T>() == 8 ? MR64 : MR32;
  const nr: i32 = sizeof<T>() == 8 ? NR64 : NR32;
  const size = <usize>sizeof<T>();
  const kcMax = min(KC, k);
  const mcMax = min(MC, ((m + mr - 1) / mr) * mr);
  const edge = packedA + <usize>(kcMax * mcMax) * size;
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
            if (sizeof<T>() == 8) microF64(kc, ap, bp, cp, ldc, rows, cols, <f64>passBeta, edge);
            else microF32(kc, ap, bp, cp, ldc, rows, cols, <f32>passBeta, edge);
          }
        }
      }
    }
  }
}

/** GEMM with packing buffers sized to the problem, taken from the heap for the call. */
function gemm<T>(
  transA: bool, transB: bool, m: i32, n: i32, k: i32,
  alpha: T, a: usize, lda: i32, b: usize, ldb: i32, beta: T, c: usize, ldc: i32,
): void {
  if (m <= 0 || n <= 0 || k <= 0 || alpha == 0) {
    gemmOnBuffers<T>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0, 0);
    return;
  }
  const mr: i32 = sizeof<T>() == 8 ? MR64 : MR32;
  const nr: i32 = sizeof<T>() == 8 ? NR64 : NR32;
  const size = <usize>sizeof<T>();
  const ncMax = min(NC, ((n + nr - 1) / nr) * nr);
  const kcMax = min(KC, k);
  const mcMax = min(MC, ((m + mr - 1) / mr) * mr);
  const packedB = heap.alloc(<usize>(kcMax * ncMax) * size);
  const packedA = heap.alloc(<usize>(kcMax * mcMax) * size + EDGE_TILE_BYTES);
  gemmOnBuffers<T>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, packedA, packedB);
  heap.free(packedA);
  heap.free(packedB);
}

/**
 * GEMM, f64, on caller-supplied packing buffers of GEMM_F64_PACKED_A_BYTES and GEMM_F64_PACKED_B_BYTES:
 * as gemmF64, bitwise, but allocates nothing (helper threads of parallel.ts must not touch the heap).
 */
export function gemmF64OnBuffers(
  transA: bool, transB: bool, m: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
  packedA: usize, packedB: usize,
): void {
  gemmOnBuffers<f64>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, packedA, packedB);
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

/**
 * Lower-triangle GEMM, f64: C = alpha*op(A)*op(B) + beta*C on the lower triangle of the n x n matrix C
 * only (row i, columns 0..i); entries above the diagonal are neither read nor written. Meant for
 * products known to be symmetric (SYRK: op(B) = op(A)^T; SYR2K with concatenated operands
 * [V W]*[W V]^T), computing about half the flops of the full product. Works by block rows of height
 * LOWER_BLOCK: one GEMM for the part left of the diagonal block, and the diagonal block into scratch,
 * of which the lower triangle is merged. Shapes: op(A) n x k, op(B) k x n (storage as in gemmF64).
 * Accuracy as gemmF64.
 */
export function gemmLowerF64(
  transA: i32, transB: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
): void {
  gemmLower<f64>(transA != 0, transB != 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/** Lower-triangle GEMM, f32: as gemmLowerF64. */
export function gemmLowerF32(
  transA: i32, transB: i32, n: i32, k: i32,
  alpha: f32, a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32,
): void {
  gemmLower<f32>(transA != 0, transB != 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/** Block height of gemmLower (parallel.ts hands out the same blocks, for bitwise equal results). */
export const LOWER_BLOCK: i32 = 192;

function gemmLower<T>(
  transA: bool, transB: bool, n: i32, k: i32,
  alpha: T, a: usize, lda: i32, b: usize, ldb: i32, beta: T, c: usize, ldc: i32,
): void {
  if (n <= 0) return;
  const size = <usize>sizeof<T>();
  const diag = heap.alloc(<usize>(LOWER_BLOCK * LOWER_BLOCK) * size);
  const packedA = heap.alloc(<usize>(KC * MC) * size + EDGE_TILE_BYTES);
  const packedB = heap.alloc(<usize>(KC * NC) * size);
  for (let i0 = 0; i0 < n; i0 += LOWER_BLOCK) {
    gemmLowerBlock<T>(transA, transB, n, k, alpha, a, lda, b, ldb, beta, c, ldc, i0, diag, packedA, packedB);
  }
  heap.free(packedB);
  heap.free(packedA);
  heap.free(diag);
}

/** Height of the diagonal sub-blocks gemmLowerBlock computes square (a multiple of MR64 and MR32). */
const LOWER_DIAG: i32 = 48;

/**
 * Block rows [i0, i0 + LOWER_BLOCK) of gemmLower: the part left of the diagonal block by one GEMM; then
 * the diagonal block by sub-blocks of LOWER_DIAG rows, each the part left of its own diagonal by a GEMM
 * into C and its LOWER_DIAG^2 diagonal square into `diag` (LOWER_BLOCK^2 values of scratch), of which
 * the lower triangle is merged into C. The squares compute LOWER_DIAG/2 entries per row above the
 * diagonal that are thrown away, instead of LOWER_BLOCK/2 for one square of the whole block.
 */
export function gemmLowerBlock<T>(
  transA: bool, transB: bool, n: i32, k: i32,
  alpha: T, a: usize, lda: i32, b: usize, ldb: i32, beta: T, c: usize, ldc: i32,
  i0: i32, diag: usize, packedA: usize, packedB: usize,
): void {
  const size = <usize>sizeof<T>();
  const rows = min(LOWER_BLOCK, n - i0);
  // Rows i.. of op(A) (A advances by rows, or by columns when transposed); columns j.. of op(B).
  const aBlock = a + (transA ? <usize>i0 : <usize>i0 * <usize>lda) * size;
  const bBlock = b + (transB ? <usize>i0 * <usize>ldb : <usize>i0) * size;
  const cBlock = c + <usize>i0 * <usize>ldc * size;
  if (i0 > 0) gemmOnBuffers<T>(transA, transB, rows, i0, k, alpha, aBlock, lda, b, ldb, beta, cBlock, ldc, packedA, packedB);
  for (let s = 0; s < rows; s += LOWER_DIAG) {
    const h = min(LOWER_DIAG, rows - s);
    const aSub = aBlock + (transA ? <usize>s : <usize>s * <usize>lda) * size;
    const bSub = bBlock + (transB ? <usize>s * <usize>ldb : <usize>s) * size;
    const cSub = cBlock + (<usize>s * <usize>ldc + <usize>i0) * size;
    if (s > 0) gemmOnBuffers<T>(transA, transB, h, s, k, alpha, aSub, lda, bBlock, ldb, beta, cSub, ldc, packedA, packedB);
    gemmOnBuffers<T>(transA, transB, h, h, k, alpha, aSub, lda, bSub, ldb, <T>0, diag, h, packedA, packedB);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j <= i; j++) {
        const cp = cSub + (<usize>i * <usize>ldc + <usize>(s + j)) * size;
        const v = load<T>(diag + <usize>(i * h + j) * size);
        store<T>(cp, beta == 0 ? v : v + beta * load<T>(cp));
      }
    }
  }
}

/** gemmLower's block rows [i0, i0 + LOWER_BLOCK), f64, on caller-supplied buffers (see gemmF64OnBuffers). */
export function gemmLowerBlockF64(
  transA: bool, transB: bool, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
  i0: i32, diag: usize, packedA: usize, packedB: usize,
): void {
  gemmLowerBlock<f64>(transA, transB, n, k, alpha, a, lda, b, ldb, beta, c, ldc, i0, diag, packedA, packedB);
}

/**
 * Block rows J = [j0, j0 + h), h = min(block, r - j0), of the symmetric product Y = A V, f64, for
 * symmetric A (r x r, lower triangle, row-major ld lda) and V (r x q, ld q): Y[J] = A[J, <J] V[<J] +
 * A[J, J] V[J] + A[>J, J]^T V[>J], three GEMMs, the diagonal block mirrored into `square` (h^2 values),
 * so each entry of the strict lower triangle is read twice and every flop runs in GEMM. Packing buffers
 * as gemmF64OnBuffers; allocates nothing.
 */
export function symmLowerBlockF64(
  r: i32, q: i32, a: usize, lda: i32, v: usize, y: usize, j0: i32, block: i32,
  square: usize, packedA: usize, packedB: usize,
): void {
  symmLowerBlock<f64>(r, q, a, lda, v, y, j0, block, square, packedA, packedB);
}

/** symmLowerBlockF64 in either precision (T = f64 or f32; the f32 twin packs into the same buffers). */
export function symmLowerBlock<T>(
  r: i32, q: i32, a: usize, lda: i32, v: usize, y: usize, j0: i32, block: i32,
  square: usize, packedA: usize, packedB: usize,
): void {
  const ld = <usize>lda, size = <usize>sizeof<T>();
  const j1 = min(r, j0 + block), h = j1 - j0;
  const yb = y + <usize>j0 * <usize>q * size;
  for (let i = 0; i < h; i++) {
    const row = a + (<usize>(j0 + i) * ld + <usize>j0) * size;
    for (let c = 0; c <= i; c++) {
      const value = load<T>(row + <usize>c * size);
      store<T>(square + <usize>(i * h + c) * size, value);
      store<T>(square + <usize>(c * h + i) * size, value);
    }
  }
  gemmOnBuffers<T>(false, false, h, q, h, <T>1, square, h, v + <usize>j0 * <usize>q * size, q, <T>0, yb, q, packedA, packedB);
  if (j0 > 0) gemmOnBuffers<T>(false, false, h, q, j0, <T>1, a + <usize>j0 * ld * size, lda, v, q, <T>1, yb, q, packedA, packedB);
  if (j1 < r) {
    gemmOnBuffers<T>(true, false, h, q, r - j1, <T>1, a + (<usize>j1 * ld + <usize>j0) * size, lda, v + <usize>j1 * <usize>q * size, q, <T>1, yb, q, packedA, packedB);
  }
}

// ---------------------------------------------------------------------------------------------------
// Level 2: GEMV and GER

/**
 * GEMV, f64: y = alpha*op(A)*x + beta*y. A is stored m x n (row-major, lda >= n); op(A) = A
 * (trans == 0: x has n entries, y has m) or A^T (x has m entries, y has n). beta == 0 overwrites y
 * without reading it. The SIMD path needs the vector read along A's rows to be contiguous (incx == 1
 * for op = A, incy == 1 for op = A^T); the other vector may have any stride.
 * Accuracy: gamma_k bound of the file header with k = n (op = A) or m (op = A^T).
 */
export function gemvF64(trans: i32, m: i32, n: i32, alpha: f64, a: usize, lda: i32, x: usize, incx: i32, beta: f64, y: usize, incy: i32): void {
  gemv<f64>(trans != 0, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

/** GEMV, f32: as gemvF64. */
export function gemvF32(trans: i32, m: i32, n: i32, alpha: f32, a: usize, lda: i32, x: usize, incx: i32, beta: f32, y: usize, incy: i32): void {
  gemv<f32>(trans != 0, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

function gemv<T>(trans: bool, m: i32, n: i32, alpha: T, a: usize, lda: i32, x: usize, incx: i32, beta: T, y: usize, incy: i32): void {
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  const rowBytes = <usize>lda * size;
  const ylen = trans ? n : m;
  if (m <= 0 || n <= 0) {
    if (ylen > 0) scal<T>(ylen, beta, y, incy);
    return;
  }
  if (!trans) {
    // y[i] = alpha * dot(A[i, :], x) + beta*y[i]; four rows share each load of x.
    let i = 0;
    if (incx == 1) {
      for (; i + 4 <= m; i += 4) {
        const r0 = a + <usize>i * rowBytes;
        const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        let s0 = vSplat<T>(<T>0), s1 = vSplat<T>(<T>0), s2 = vSplat<T>(<T>0), s3 = vSplat<T>(<T>0);
        let j = 0;
        for (; j + lanes <= n; j += lanes) {
          const off = <usize>j * size;
          const xv = v128.load(x + off);
          s0 = vAdd<T>(s0, vMul<T>(v128.load(r0 + off), xv));
          s1 = vAdd<T>(s1, vMul<T>(v128.load(r1 + off), xv));
          s2 = vAdd<T>(s2, vMul<T>(v128.load(r2 + off), xv));
          s3 = vAdd<T>(s3, vMul<T>(v128.load(r3 + off), xv));
        }
        let t0 = vSum<T>(s0), t1 = vSum<T>(s1), t2 = vSum<T>(s2), t3 = vSum<T>(s3);
        for (; j < n; j++) {
          const off = <usize>j * size;
          const xj = load<T>(x + off);
          t0 += load<T>(r0 + off) * xj;
          t1 += load<T>(r1 + off) * xj;
          t2 += load<T>(r2 + off) * xj;
          t3 += load<T>(r3 + off) * xj;
        }
        storeScaled<T>(y + <usize>(i * incy) * size, alpha * t0, beta);
        storeScaled<T>(y + <usize>((i + 1) * incy) * size, alpha * t1, beta);
        storeScaled<T>(y + <usize>((i + 2) * incy) * size, alpha * t2, beta);
        storeScaled<T>(y + <usize>((i + 3) * incy) * size, alpha * t3, beta);
      }
    }
    for (; i < m; i++) {
      storeScaled<T>(y + <usize>(i * incy) * size, alpha * dot<T>(n, a + <usize>i * rowBytes, 1, x, incx), beta);
    }
  } else {
    // y = beta*y, then y += (alpha*x[i]) * A[i, :] four rows at a time (one load/store of y per 4 rows).
    scal<T>(n, beta, y, incy);
    let i = 0;
    if (incy == 1) {
      for (; i + 4 <= m; i += 4) {
        const r0 = a + <usize>i * rowBytes;
        const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        const a0 = alpha * load<T>(x + <usize>(i * incx) * size);
        const a1 = alpha * load<T>(x + <usize>((i + 1) * incx) * size);
        const a2 = alpha * load<T>(x + <usize>((i + 2) * incx) * size);
        const a3 = alpha * load<T>(x + <usize>((i + 3) * incx) * size);
        const v0 = vSplat<T>(a0), v1 = vSplat<T>(a1), v2 = vSplat<T>(a2), v3 = vSplat<T>(a3);
        let j = 0;
        for (; j + lanes <= n; j += lanes) {
          const off = <usize>j * size;
          let acc = v128.load(y + off);
          acc = vAdd<T>(acc, vAdd<T>(vMul<T>(v0, v128.load(r0 + off)), vMul<T>(v1, v128.load(r1 + off))));
          acc = vAdd<T>(acc, vAdd<T>(vMul<T>(v2, v128.load(r2 + off)), vMul<T>(v3, v128.load(r3 + off))));
          v128.store(y + off, acc);
        }
        for (; j < n; j++) {
          const off = <usize>j * size;
          store<T>(y + off, load<T>(y + off) + ((a0 * load<T>(r0 + off) + a1 * load<T>(r1 + off)) + (a2 * load<T>(r2 + off) + a3 * load<T>(r3 + off))));
        }
      }
    }
    for (; i < m; i++) {
      axpy<T>(n, alpha * load<T>(x + <usize>(i * incx) * size), a + <usize>i * rowBytes, 1, y, incy);
    }
  }
}

@inline function storeScaled<T>(p: usize, value: T, beta: T): void {
  store<T>(p, beta == 0 ? value : value + beta * load<T>(p));
}

/**
 * GER, f64: A = A + alpha*x*y^T for A stored m x n (lda >= n); x has m entries (any stride), y has n
 * (SIMD when incy == 1). Each row is one AXPY, so the result is exact up to one rounding per entry.
 */
export function gerF64(m: i32, n: i32, alpha: f64, x: usize, incx: i32, y: usize, incy: i32, a: usize, lda: i32): void {
  ger<f64>(m, n, alpha, x, incx, y, incy, a, lda);
}

/** GER, f32: as gerF64. */
export function gerF32(m: i32, n: i32, alpha: f32, x: usize, incx: i32, y: usize, incy: i32, a: usize, lda: i32): void {
  ger<f32>(m, n, alpha, x, incx, y, incy, a, lda);
}

function ger<T>(m: i32, n: i32, alpha: T, x: usize, incx: i32, y: usize, incy: i32, a: usize, lda: i32): void {
  const size = <usize>sizeof<T>();
  for (let i = 0; i < m; i++) {
    const xi = alpha * load<T>(x + <usize>(i * incx) * size);
    if (xi != 0) axpy<T>(n, xi, y, incy, a + <usize>i * <usize>lda * size, 1);
  }
}

// ---------------------------------------------------------------------------------------------------
// Level 1. n <= 0 is a no-op (dot and nrm2 return 0).

/** DOT, f64: sum_i x[i]*y[i] over n entries. */
export function dotF64(n: i32, x: usize, incx: i32, y: usize, incy: i32): f64 {
  return dot<f64>(n, x, incx, y, incy);
}
/** DOT, f32 (f32 accumulation in 8 partial sums). */
export function dotF32(n: i32, x: usize, incx: i32, y: usize, incy: i32): f32 {
  return dot<f32>(n, x, incx, y, incy);
}

function dot<T>(n: i32, x: usize, incx: i32, y: usize, incy: i32): T {
  if (incx == 1 && incy == 1) return dotUnit<T>(n, x, y);
  const size = <usize>sizeof<T>();
  let sum: T = 0;
  for (let i = 0; i < n; i++) sum += load<T>(x + <usize>(i * incx) * size) * load<T>(y + <usize>(i * incy) * size);
  return sum;
}

/** AXPY, f64: y = y + alpha*x over n entries. */
export function axpyF64(n: i32, alpha: f64, x: usize, incx: i32, y: usize, incy: i32): void {
  axpy<f64>(n, alpha, x, incx, y, incy);
}
/** AXPY, f32. */
export function axpyF32(n: i32, alpha: f32, x: usize, incx: i32, y: usize, incy: i32): void {
  axpy<f32>(n, alpha, x, incx, y, incy);
}

function axpy<T>(n: i32, alpha: T, x: usize, incx: i32, y: usize, incy: i32): void {
  if (incx == 1 && incy == 1) {
    axpyUnit<T>(n, alpha, x, y);
    return;
  }
  const size = <usize>sizeof<T>();
  for (let i = 0; i < n; i++) {
    const py = y + <usize>(i * incy) * size;
    store<T>(py, load<T>(py) + alpha * load<T>(x + <usize>(i * incx) * size));
  }
}

/** SCAL, f64: x = alpha*x over n entries; alpha == 0 writes exact zeros (also over NaN). */
export function scalF64(n: i32, alpha: f64, x: usize, incx: i32): void {
  scal<f64>(n, alpha, x, incx);
}
/** SCAL, f32. */
export function scalF32(n: i32, alpha: f32, x: usize, incx: i32): void {
  scal<f32>(n, alpha, x, incx);
}

function scal<T>(n: i32, alpha: T, x: usize, incx: i32): void {
  if (alpha == 1) return;
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  let i = 0;
  if (incx == 1) {
    if (alpha == 0) {
      if (n > 0) memory.fill(x, 0, <usize>n * size);
      return;
    }
    const av = vSplat<T>(alpha);
    for (; i + lanes <= n; i += lanes) {
      const off = <usize>i * size;
      v128.store(x + off, vMul<T>(av, v128.load(x + off)));
    }
  }
  for (; i < n; i++) {
    const p = x + <usize>(i * incx) * size;
    store<T>(p, alpha == 0 ? <T>0 : alpha * load<T>(p));
  }
}

/**
 * NRM2, f64: sqrt(sum x[i]^2) without destructive overflow or underflow. The fast path sums squares
 * directly (SIMD); only when that sum overflows or falls into the range where squares lose precision
 * to underflow does a second pass rescale by the largest |x[i]|. Relative error ~ (n/2 + 1)*eps.
 */
export function nrm2F64(n: i32, x: usize, incx: i32): f64 {
  if (n <= 0) return 0;
  let ssq = dot<f64>(n, x, incx, x, incx);
  // Squares below 2^-1022/eps have lost bits to subnormals; above f64.MAX they overflowed.
  if (ssq < 2.004168360008973e-292 || ssq > 1.7976931348623157e308) {
    let scale = 0.0;
    for (let i = 0; i < n; i++) scale = max(scale, abs(load<f64>(x + (<usize>(i * incx) << 3))));
    if (scale == 0 || !isFinite(scale)) return scale;
    ssq = 0;
    // Divide, not multiply by 1 / scale: for a subnormal scale that reciprocal overflows to infinity.
    for (let i = 0; i < n; i++) {
      const v = load<f64>(x + (<usize>(i * incx) << 3)) / scale;
      ssq += v * v;
    }
    return scale * Math.sqrt(ssq);
  }
  return Math.sqrt(ssq);
}

/**
 * NRM2, f32: sqrt(sum x[i]^2), accumulated in f64 (the square of any finite f32 is a normal f64, so no
 * scaling is needed); the result is correctly rounded to f32 up to ~n*2^-53 relative.
 */
export function nrm2F32(n: i32, x: usize, incx: i32): f32 {
  let ssq = 0.0;
  let i = 0;
  if (incx == 1) {
    let s = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      s = f64x2.add(s, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
    }
    ssq = vSum<f64>(s);
  }
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>(i * incx) << 2));
    ssq += v * v;
  }
  return <f32>Math.sqrt(ssq);
}

/**
 * ROT, f64: plane rotation of two vectors, (x, y) <- (c*x + s*y, c*y - s*x), as BLAS drot.
 */
export function rotF64(n: i32, x: usize, incx: i32, y: usize, incy: i32, c: f64, s: f64): void {
  rot<f64>(n, x, incx, y, incy, c, s);
}

function rot<T>(n: i32, x: usize, incx: i32, y: usize, incy: i32, c: T, s: T): void {
  if (incx == 1 && incy == 1) {
    rotUnit<T>(n, x, y, c, s);
    return;
  }
  const size = <usize>sizeof<T>();
  for (let i = 0; i < n; i++) {
    const px = x + <usize>(i * incx) * size, py = y + <usize>(i * incy) * size;
    const xv = load<T>(px), yv = load<T>(py);
    store<T>(px, c * xv + s * yv);
    store<T>(py, c * yv - s * xv);
  }
}

/** SWAP, f64: exchange x and y (n entries). */
export function swapF64(n: i32, x: usize, incx: i32, y: usize, incy: i32): void {
  swap<f64>(n, x, incx, y, incy);
}
/** SWAP, f32. */
export function swapF32(n: i32, x: usize, incx: i32, y: usize, incy: i32): void {
  swap<f32>(n, x, incx, y, incy);
}

function swap<T>(n: i32, x: usize, incx: i32, y: usize, incy: i32): void {
  const size = <usize>sizeof<T>();
  let i = 0;
  if (incx == 1 && incy == 1) {
    for (; i + 16 / <i32>sizeof<T>() <= n; i += 16 / <i32>sizeof<T>()) {
      const off = <usize>i * size;
      const t = v128.load(x + off);
      v128.store(x + off, v128.load(y + off));
      v128.store(y + off, t);
    }
  }
  for (; i < n; i++) {
    const px = x + <usize>(i * incx) * size, py = y + <usize>(i * incy) * size;
    const t = load<T>(px);
    store<T>(px, load<T>(py));
    store<T>(py, t);
  }
}

/**
 * Out-of-place transpose, f64: B (n x m, ldb >= m) = A^T for A stored m x n (lda >= n). Works in
 * 32 x 32 tiles so both sides stay in cache. Exact.
 */
export function transposeF64(m: i32, n: i32, a: usize, lda: i32, b: usize, ldb: i32): void {
  transpose<f64>(m, n, a, lda, b, ldb);
}
/** Out-of-place transpose, f32: as transposeF64. */
export function transposeF32(m: i32, n: i32, a: usize, lda: i32, b: usize, ldb: i32): void {
  transpose<f32>(m, n, a, lda, b, ldb);
}

function transpose<T>(m: i32, n: i32, a: usize, lda: i32, b: usize, ldb: i32): void {
  const size = <usize>sizeof<T>();
  const TILE = 32;
  for (let i0 = 0; i0 < m; i0 += TILE) {
    const i1 = min(m, i0 + TILE);
    for (let j0 = 0; j0 < n; j0 += TILE) {
      const j1 = min(n, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const src = a + <usize>i * <usize>lda * size;
        for (let j = j0; j < j1; j++) {
          store<T>(b + (<usize>j * <usize>ldb + <usize>i) * size, load<T>(src + <usize>j * size));
        }
      }
    }
  }
}

