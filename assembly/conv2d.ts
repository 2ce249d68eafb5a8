/**
 * General 2-D convolution products (square kernel K, stride S, zero padding P, no bias) in
 * WebAssembly, f64 and f32: the linear map W of a convolution and its adjoint W^T, applied to a
 * batch of B tensors. A convolution without bias is linear, so W is also its own Jacobian (JVP), and
 * W^T is the VJP with respect to the input.
 *
 *   CONV2DFORWARD    out[b, o, y, x]  = sum_{i, dy, dx} w[o, i, dy, dx] * in[b, i, S*y + dy - P, S*x + dx - P]
 *   CONV2DTRANSPOSE  out[b, i, r, c]  = sum_{o, y, x, dy, dx : S*y + dy - P = r, S*x + dx - P = c} w[o, i, dy, dx] * g[b, o, y, x]
 * where input entries outside 0 <= row < H, 0 <= column < W are zero (zero padding).
 *
 * Shapes and layout (PyTorch's): the input is B x C_in x H x W row-major (NCHW), the output
 * B x C_out x H_out x W_out with H_out = floor((H + 2P - K)/S) + 1 (conv2dOutputSize), weights OIHW
 * row-major: w[o, i, dy, dx] at ((o*C_in + i)*K + dy)*K + dx. The transpose takes a gradient of the
 * output's shape and writes one of the input's shape (H and W are the input's, as in the forward
 * call). Any K >= 1, S >= 1, P >= 0 with H_out, W_out >= 1 is accepted (the families use 1x1/1 P0,
 * 1x1/2 P0, 3x3/1 P1, 3x3/2 P1, 7x7/2 P3); other shapes abort. Input and output must not overlap.
 *
 * Method: a direct loop, no im2col copy. For each (b, output plane) the output plane is zeroed and
 * every tap (input channel, dy, dx) adds w * (the shifted input rows) to it; for the transpose every
 * tap scatters w * (gradient rows) into the input-shaped plane. The column range of a tap that stays
 * inside the image is computed once per tap, so no per-pixel bounds tests are needed. With stride 1
 * the rows are contiguous on both sides and the update is a SIMD axpy (lib/level1.ts); with stride 2
 * one side is strided and the update is scalar.
 *
 * Accuracy: every output value is a sum of at most K*K*C_in products (K*K*C_out for W^T), each
 * rounded, added in working precision in a fixed order (forward: input channel, dy, dx; transpose:
 * output channel, dy, dx, then output row and column). So componentwise
 * |computed - exact| <= gamma_m * sum |w| |x|, m = K*K*C + 1, gamma_m = m*eps/(1 - m*eps).
 * The two products are exact adjoints up to that rounding: <W x, g> = <x, W^T g> to ~m*eps relative.
 */

import { axpyUnit } from "./lib/level1";

/** Output size of a convolution or pooling window along one axis (PyTorch: floor((n + 2P - K)/S) + 1). */
export function conv2dOutputSize(size: i32, kernel: i32, stride: i32, pad: i32): i32 {
  const span = size + 2 * pad - kernel;
  return span < 0 || stride < 1 ? 0 : span / stride + 1;
}

/** Abort unless (kernel, stride, pad) is valid for an h x w input (shared with pool.ts). */
export function checkWindow(h: i32, w: i32, kernel: i32, stride: i32, pad: i32): void {
  if (kernel < 1 || stride < 1 || pad < 0) abort("window needs kernel >= 1, stride >= 1, pad >= 0");
  if (h < 1 || w < 1 || conv2dOutputSize(h, kernel, stride, pad) < 1 || conv2dOutputSize(w, kernel, stride, pad) < 1) {
    abort("window larger than the padded input");
  }
}

/** First output index o >= 0 with o*S + d - P >= 0 (the tap's first in-bounds output). */
@inline function firstInside(d: i32, stride: i32, pad: i32): i32 {
  const need = pad - d; // o*S >= need
  return need <= 0 ? 0 : (need + stride - 1) / stride;
}

/** One past the last output index o < outSize with o*S + d - P <= size - 1. */
@inline function endInside(d: i32, stride: i32, pad: i32, size: i32, outSize: i32): i32 {
  const limit = size - 1 + pad - d; // o*S <= limit
  return limit < 0 ? 0 : min(outSize, limit / stride + 1);
}

function forward<T>(
  input: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  checkWindow(h, w, kernel, stride, pad);
  const size = <usize>sizeof<T>();
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const inPlane = <usize>h * <usize>w, outPlane = <usize>ho * <usize>wo;
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < cOut; o++) {
      const dst = out + ((<usize>b * <usize>cOut + <usize>o) * outPlane) * size;
      memory.fill(dst, 0, outPlane * size);
      for (let i = 0; i < cIn; i++) {
        const src = input + ((<usize>b * <usize>cIn + <usize>i) * inPlane) * size;
        const taps = weight + ((<usize>o * <usize>cIn + <usize>i) * <usize>kernel * <usize>kernel) * size;
        for (let dy = 0; dy < kernel; dy++) {
          const y0 = firstInside(dy, stride, pad), y1 = endInside(dy, stride, pad, h, ho);
          for (let dx = 0; dx < kernel; dx++) {
            const x0 = firstInside(dx, stride, pad), x1 = endInside(dx, stride, pad, w, wo);
            if (x1 <= x0) continue;
            const wv = load<T>(taps + (<usize>dy * <usize>kernel + <usize>dx) * size);
            for (let y = y0; y < y1; y++) {
              const row = dst + (<usize>y * <usize>wo + <usize>x0) * size;
              const iy = y * stride + dy - pad, ix = x0 * stride + dx - pad;
              const from = src + (<usize>iy * <usize>w + <usize>ix) * size;
              if (stride == 1) {
                axpyUnit<T>(x1 - x0, wv, from, row);
              } else {
                const step = <usize>stride * size;
                for (let x = 0; x < x1 - x0; x++) {
                  const p = row + <usize>x * size;
                  store<T>(p, load<T>(p) + wv * load<T>(from + <usize>x * step));
                }
              }
            }
          }
        }
      }
    }
  }
}

function transpose<T>(
  grad: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  checkWindow(h, w, kernel, stride, pad);
  const size = <usize>sizeof<T>();
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const inPlane = <usize>h * <usize>w, outPlane = <usize>ho * <usize>wo;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < cIn; i++) {
      const dst = out + ((<usize>b * <usize>cIn + <usize>i) * inPlane) * size;
      memory.fill(dst, 0, inPlane * size);
      for (let o = 0; o < cOut; o++) {
        const src = grad + ((<usize>b * <usize>cOut + <usize>o) * outPlane) * size;
        const taps = weight + ((<usize>o * <usize>cIn + <usize>i) * <usize>kernel * <usize>kernel) * size;
        for (let dy = 0; dy < kernel; dy++) {
          const y0 = firstInside(dy, stride, pad), y1 = endInside(dy, stride, pad, h, ho);
          for (let dx = 0; dx < kernel; dx++) {
            const x0 = firstInside(dx, stride, pad), x1 = endInside(dx, stride, pad, w, wo);
            if (x1 <= x0) continue;
            const wv = load<T>(taps + (<usize>dy * <usize>kernel + <usize>dx) * size);
            for (let y = y0; y < y1; y++) {
              const from = src + (<usize>y * <usize>wo + <usize>x0) * size;
              const iy = y * stride + dy - pad, ix = x0 * stride + dx - pad;
              const row = dst + (<usize>iy * <usize>w + <usize>ix) * size;
              if (stride == 1) {
                axpyUnit<T>(x1 - x0, wv, from, row);
              } else {
                const step = <usize>stride * size;
                for (let x = 0; x < x1 - x0; x++) {
                  const p = row + <usize>x * step;
                  store<T>(p, load<T>(p) + wv * load<T>(from + <usize>x * size));
                }
              }
            }
          }
        }
      }
    }
  }
}

/**
 * CONV2DFORWARD, f64: out = W * input for a batch of `batch` tensors (C_in x H x W each, NCHW) with
 * OIHW weights of C_out x C_in x K x K, stride S, zero padding P; out is batch x C_out x H_out x
 * W_out. Accuracy: gamma_{K*K*C_in+1} sum |w||x| per output (see the file header).
 */
export function conv2dForwardF64(
  input: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  forward<f64>(input, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}

/** CONV2DFORWARD, f32: as conv2dForwardF64 in f32. */
export function conv2dForwardF32(
  input: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  forward<f32>(input, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}

/**
 * CONV2DTRANSPOSE, f64: out = W^T * grad, the adjoint of conv2dForwardF64 with the same (h, w, weight,
 * kernel, stride, pad): grad is batch x C_out x H_out x W_out, out is batch x C_in x H x W. With
 * stride 2 the input rows and columns no tap reaches (e.g. the last row when H + 2P - K is odd)
 * receive zero, as in PyTorch's conv2d input gradient. Accuracy: gamma_{K*K*C_out+1} sum |w||g|.
 */
export function conv2dTransposeF64(
  grad: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  transpose<f64>(grad, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}

/** CONV2DTRANSPOSE, f32: as conv2dTransposeF64 in f32. */
export function conv2dTransposeF32(
  grad: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  transpose<f32>(grad, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}
