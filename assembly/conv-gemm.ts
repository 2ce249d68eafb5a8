/**
 * Convolution products over a batch of tensors as GEMMs (im2col), f64 and f32: the same maps as
 * conv2d.ts (CONV2DFORWARD, CONV2DTRANSPOSE; same shapes, layouts and argument order), for the small
 * planes of the late stages, where conv2d.ts's SIMD along an output row of 4 or 8 pixels keeps few
 * lanes busy. Here the batch and the pixels are the rows of one GEMM (blas.ts, near the SIMD peak):
 *
 *   CONV2DGEMMFORWARD    Out^T (B*P x C_out) = Col (B*P x C_in*K*K) * W^T,   Col the im2col of the batch
 *   CONV2DGEMMTRANSPOSE  ColG (B*P x C_in*K*K) = G^T (B*P x C_out) * W,      then col2im: each input
 *                        entry the sum of the ColG entries of the taps that read it
 *
 * with P = H_out * W_out, W the OIHW weights as a C_out x C_in*K*K row-major matrix (no copy), and the
 * batch taken in chunks whose Col fits CHUNK_ELEMENTS (scratch: Col/ColG, Out^T/G^T, an index table of
 * P*K*K i32, a row map, GEMM's packing buffers; all freed on return). Rows of Col (or G^T) that are
 * all zero are left out of the GEMM (their products are zeros): the pixels a sparse batch does not
 * reach, as when the batch is unit vectors (a Jacobian's rows or columns) or their images one layer on. In the threads build, while a pool is open
 * (parallel.ts), the f64 GEMMs run on every thread with bitwise the same result. Any K >= 1, S >= 1, P >= 0 with H_out,
 * W_out >= 1; other shapes abort (conv2d.ts checkWindow). Input and output must not overlap.
 *
 * Accuracy: every output is a sum of at most K*K*C_in (forward) or K*K*C_out (transpose) rounded
 * products, in another order than conv2d.ts (GEMM's blocked order over the inner dimension; the
 * transpose adds the taps' partial sums after the GEMM), so the conv2d.ts bound holds:
 * |computed - exact| <= gamma_m sum |w| |x|, m = K*K*C + 1. The padding taps contribute exact zeros.
 */

import { gemmF32, gemmF64 } from "./blas";
import { checkCounts, checkWindow, conv2dOutputSize } from "./conv2d";
import { parallelGemmF64, threadPool } from "./parallel";

/** Most elements of Col (or ColG) per chunk of the batch: 32 MB in f64. */
const CHUNK_ELEMENTS: i32 = 1 << 22;

/**
 * The index table: for output pixel p and tap t = dy*K + dx, the offset r*W + c of the input entry the
 * tap reads within one channel plane, or -1 where it reads the zero padding.
 */
function tapTable(h: i32, w: i32, kernel: i32, stride: i32, pad: i32, ho: i32, wo: i32): usize {
  const kk = kernel * kernel;
  const table = heap.alloc(<usize>(ho * wo * kk) << 2);
  for (let y = 0; y < ho; y++) {
    for (let x = 0; x < wo; x++) {
      const at = table + (<usize>((y * wo + x) * kk) << 2);
      for (let dy = 0; dy < kernel; dy++) {
        for (let dx = 0; dx < kernel; dx++) {
          const r = stride * y + dy - pad, c = stride * x + dx - pad;
          store<i32>(at + (<usize>(dy * kernel + dx) << 2), r >= 0 && r < h && c >= 0 && c < w ? r * w + c : -1);
        }
      }
    }
  }
  return table;
}

/** The GEMM of a chunk: f64 on every thread of an open pool (threads build; bitwise gemmF64). */
@inline function gemmT<T>(transB: i32, m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  if (sizeof<T>() == 8) {
    if (ASC_FEATURE_THREADS) {
      const pool = threadPool();
      if (pool) parallelGemmF64(pool, 0, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
      else gemmF64(0, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
    } else {
      gemmF64(0, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
    }
  } else {
    gemmF32(0, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
  }
}

function gemmConv<T>(
  transpose: bool, x: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32,
  pad: i32, out: usize,
): void {
  checkCounts(batch, cIn);
  checkCounts(batch, cOut);
  checkWindow(h, w, kernel, stride, pad);
  if (batch == 0) return;
  const size = <usize>sizeof<T>();
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const P = ho * wo, kk = kernel * kernel, taps = cIn * kk, plane = h * w;
  const inSize = <usize>cIn * <usize>plane, outSize = <usize>cOut * <usize>P;
  const chunk = max(1, min(batch, CHUNK_ELEMENTS / max(1, P * max(taps, cOut))));
  const table = tapTable(h, w, kernel, stride, pad, ho, wo);
  const col = heap.alloc(<usize>chunk * <usize>P * <usize>taps * size);
  const small = heap.alloc(<usize>chunk * <usize>P * <usize>cOut * size); // Out^T or G^T
  const map = heap.alloc(<usize>chunk * <usize>P << 2); // row (b, p) -> its row in the GEMM, or -1
  for (let b0 = 0; b0 < batch; b0 += chunk) {
    const nb = min(chunk, batch - b0);
    // Rows of the GEMM's operand that are all zero (the pixels a sparse input, e.g. a unit vector,
    // does not reach) are left out of it: their products are exact zeros.
    let nz = 0;
    if (!transpose) {
      // im2col: row (b, p), column (i, t), nonzero rows packed to the front.
      for (let b = 0; b < nb; b++) {
        const src = x + <usize>(b0 + b) * inSize * size;
        for (let p = 0; p < P; p++) {
          const dst = col + <usize>nz * <usize>taps * size;
          const tab = table + (<usize>(p * kk) << 2);
          let any = false;
          for (let i = 0; i < cIn; i++) {
            const channel = src + <usize>i * <usize>plane * size;
            const row = dst + <usize>(i * kk) * size;
            for (let t = 0; t < kk; t++) {
              const off = load<i32>(tab + (<usize>t << 2));
              const v: T = off < 0 ? <T>0 : load<T>(channel + <usize>off * size);
              any = any || v != 0;
              store<T>(row + <usize>t * size, v);
            }
          }
          store<i32>(map + (<usize>(b * P + p) << 2), any ? nz : -1);
          if (any) nz++;
        }
      }
      if (nz > 0) gemmT<T>(1, nz, cOut, taps, col, taps, weight, taps, small, cOut);
      // Out^T (row of (b, p); o) -> out[b, o, p].
      for (let b = 0; b < nb; b++) {
        const dst = out + <usize>(b0 + b) * outSize * size;
        for (let p = 0; p < P; p++) {
          const r = load<i32>(map + (<usize>(b * P + p) << 2));
          if (r < 0) {
            for (let o = 0; o < cOut; o++) store<T>(dst + (<usize>o * <usize>P + <usize>p) * size, <T>0);
          } else {
            const src = small + <usize>r * <usize>cOut * size;
            for (let o = 0; o < cOut; o++) store<T>(dst + (<usize>o * <usize>P + <usize>p) * size, load<T>(src + <usize>o * size));
          }
        }
      }
    } else {
      // G^T: row (b, p), column o, nonzero rows packed to the front.
      for (let b = 0; b < nb; b++) {
        const src = x + <usize>(b0 + b) * outSize * size;
        for (let p = 0; p < P; p++) {
          const dst = small + <usize>nz * <usize>cOut * size;
          let any = false;
          for (let o = 0; o < cOut; o++) {
            const v = load<T>(src + (<usize>o * <usize>P + <usize>p) * size);
            any = any || v != 0;
            store<T>(dst + <usize>o * size, v);
          }
          store<i32>(map + (<usize>(b * P + p) << 2), any ? nz : -1);
          if (any) nz++;
        }
      }
      if (nz > 0) gemmT<T>(0, nz, taps, cOut, small, cOut, weight, taps, col, taps);
      // col2im: the taps' partial sums added into the input entries they read, pixel by pixel.
      for (let b = 0; b < nb; b++) {
        const dst = out + <usize>(b0 + b) * inSize * size;
        memory.fill(dst, 0, inSize * size);
        for (let p = 0; p < P; p++) {
          const r = load<i32>(map + (<usize>(b * P + p) << 2));
          if (r < 0) continue;
          const src = col + <usize>r * <usize>taps * size;
          const tab = table + (<usize>(p * kk) << 2);
          for (let i = 0; i < cIn; i++) {
            const channel = dst + <usize>i * <usize>plane * size;
            const row = src + <usize>(i * kk) * size;
            for (let t = 0; t < kk; t++) {
              const off = load<i32>(tab + (<usize>t << 2));
              if (off >= 0) {
                const at = channel + <usize>off * size;
                store<T>(at, load<T>(at) + load<T>(row + <usize>t * size));
              }
            }
          }
        }
      }
    }
  }
  heap.free(map);
  heap.free(small);
  heap.free(col);
  heap.free(table);
}

/**
 * CONV2DGEMMFORWARD, f64: out = W * input for a batch (as conv2d.ts conv2dForwardF64: same arguments,
 * shapes and bound; another summation order).
 */
export function conv2dGemmForwardF64(
  input: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  gemmConv<f64>(false, input, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}

/** CONV2DGEMMFORWARD, f32. */
export function conv2dGemmForwardF32(
  input: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  gemmConv<f32>(false, input, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}

/**
 * CONV2DGEMMTRANSPOSE, f64: out = W^T * grad (as conv2d.ts conv2dTransposeF64: same arguments, the
 * input rows and columns no tap reaches receive zero; another summation order).
 */
export function conv2dGemmTransposeF64(
  grad: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  gemmConv<f64>(true, grad, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}

/** CONV2DGEMMTRANSPOSE, f32. */
export function conv2dGemmTransposeF32(
  grad: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  gemmConv<f32>(true, grad, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}
