/**
 * 2-D max-pooling (square window K, stride S, padding P) and its linearization, f64 and f32.
 *
 *   MAXPOOL2DFORWARD  out[b, c, y, x] = max over the window rows S*y - P .. S*y - P + K - 1 and columns
 *                     S*x - P .. S*x - P + K - 1 that lie inside the image (the padding is -infinity,
 *                     as in PyTorch), and index[b, c, y, x] = row*W + column of the maximum: the flat
 *                     index within its input plane, PyTorch's `return_indices` convention.
 *   MAXPOOL2DGATHER   out[b, c, j] = v[b, c, index[c, j]]           (the JVP at the recorded point)
 *   MAXPOOL2DSCATTER  out[b, c, p] = sum_{j : index[c, j] = p} u[b, c, j]   (the VJP: the adjoint)
 *
 * Ties and NaN follow PyTorch's CPU kernel: the window is scanned in row-major order and an entry
 * replaces the running maximum when it is greater, or NaN; so among equal maxima the first wins, and
 * a window holding NaN reports its last NaN. A window that is all -infinity reports its first entry.
 * On the open set where every window's maximum is unique, max-pool is differentiable and the gather
 * is its exact Jacobian; the scatter is the gather's exact transpose (windows overlap when S < K, so
 * one input may collect several gradients).
 *
 * Shapes and layout: tensors are NCHW row-major, B x C x H x W in and B x C x H_out x W_out out, with
 * H_out = floor((H + 2P - K)/S) + 1 (conv2dOutputSize); index is i32, one per output. The forward
 * records indices for each of its B tensors; gather and scatter apply ONE image's indices (C x H_out
 * x W_out, the linearization point) to each of a block of k vectors. Requires P <= K/2 (PyTorch's
 * rule, which guarantees every window holds an input entry); other shapes abort.
 *
 * Accuracy: forward and gather are exact (they copy values); the scatter adds at most
 * ceil(K/S)^2 values per input entry in the order of the outputs (row-major), so it is exact when no
 * windows overlap and within gamma_{ceil(K/S)^2} sum |u| otherwise.
 */

import { checkCounts, checkWindow, conv2dOutputSize } from "./conv2d";

function checkPool(batch: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32): void {
  checkCounts(batch, c);
  checkWindow(h, w, kernel, stride, pad);
  if (2 * pad > kernel) abort("max-pool padding must be at most half the window");
}

function forward<T>(input: usize, batch: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, out: usize, index: usize): void {
  checkPool(batch, c, h, w, kernel, stride, pad);
  const size = <usize>sizeof<T>();
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const inPlane = <usize>h * <usize>w;
  let j: usize = 0; // output position over all planes
  for (let plane = 0; plane < batch * c; plane++) {
    const src = input + <usize>plane * inPlane * size;
    for (let y = 0; y < ho; y++) {
      const r0 = max(y * stride - pad, 0), r1 = min(y * stride - pad + kernel, h);
      for (let x = 0; x < wo; x++, j++) {
        const c0 = max(x * stride - pad, 0), c1 = min(x * stride - pad + kernel, w);
        let best = <T>-Infinity;
        let at = r0 * w + c0;
        for (let r = r0; r < r1; r++) {
          for (let col = c0; col < c1; col++) {
            const p = r * w + col;
            const v = load<T>(src + <usize>p * size);
            // PyTorch CPU: (v > best) || isnan(v).
            if (v > best || v != v) {
              best = v;
              at = p;
            }
          }
        }
        store<T>(out + j * size, best);
        store<i32>(index + (j << 2), at);
      }
    }
  }
}

/** Abort unless every index lies in its plane (indices may come from outside the module). */
function checkIndices(index: usize, count: usize, planeSize: i32): void {
  for (let j: usize = 0; j < count; j++) {
    const p = load<i32>(index + (j << 2));
    if (p < 0 || p >= planeSize) abort("max-pool index outside its input plane");
  }
}

function gather<T>(v: usize, k: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, index: usize, out: usize): void {
  checkPool(k, c, h, w, kernel, stride, pad);
  const size = <usize>sizeof<T>();
  const outPlane = <usize>conv2dOutputSize(h, kernel, stride, pad) * <usize>conv2dOutputSize(w, kernel, stride, pad);
  const inPlane = <usize>h * <usize>w;
  checkIndices(index, <usize>c * outPlane, h * w);
  for (let b = 0; b < k; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = <usize>b * <usize>c + <usize>ch;
      const src = v + plane * inPlane * size, dst = out + plane * outPlane * size;
      const idx = index + <usize>ch * outPlane * 4;
      for (let j: usize = 0; j < outPlane; j++) {
        store<T>(dst + j * size, load<T>(src + <usize>load<i32>(idx + (j << 2)) * size));
      }
    }
  }
}

function scatter<T>(u: usize, k: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, index: usize, out: usize): void {
  checkPool(k, c, h, w, kernel, stride, pad);
  const size = <usize>sizeof<T>();
  const outPlane = <usize>conv2dOutputSize(h, kernel, stride, pad) * <usize>conv2dOutputSize(w, kernel, stride, pad);
  const inPlane = <usize>h * <usize>w;
  checkIndices(index, <usize>c * outPlane, h * w);
  memory.fill(out, 0, <usize>k * <usize>c * inPlane * size);
  for (let b = 0; b < k; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = <usize>b * <usize>c + <usize>ch;
      const src = u + plane * outPlane * size, dst = out + plane * inPlane * size;
      const idx = index + <usize>ch * outPlane * 4;
      for (let j: usize = 0; j < outPlane; j++) {
        const p = dst + <usize>load<i32>(idx + (j << 2)) * size;
        store<T>(p, load<T>(p) + load<T>(src + j * size));
      }
    }
  }
}

/**
 * MAXPOOL2DFORWARD, f64: out (batch x C x H_out x W_out) = max-pool of input (batch x C x H x W),
 * index (i32, same count as out) = flat in-plane index of each maximum. Exact.
 */
export function maxPool2dForwardF64(
  input: usize, batch: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, out: usize, index: usize,
): void {
  forward<f64>(input, batch, c, h, w, kernel, stride, pad, out, index);
}

/** MAXPOOL2DFORWARD, f32: as maxPool2dForwardF64 in f32. */
export function maxPool2dForwardF32(
  input: usize, batch: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, out: usize, index: usize,
): void {
  forward<f32>(input, batch, c, h, w, kernel, stride, pad, out, index);
}

/**
 * MAXPOOL2DGATHER, f64: the JVP. For a block of k vectors v (k x C x H x W), out (k x C x H_out x
 * W_out) takes at each output the entry of v that index (C x H_out x W_out, one image's indices from
 * maxPool2dForward) names. Exact. Aborts on an index outside its plane.
 */
export function maxPool2dGatherF64(
  v: usize, k: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, index: usize, out: usize,
): void {
  gather<f64>(v, k, c, h, w, kernel, stride, pad, index, out);
}

/** MAXPOOL2DGATHER, f32: as maxPool2dGatherF64 in f32. */
export function maxPool2dGatherF32(
  v: usize, k: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, index: usize, out: usize,
): void {
  gather<f32>(v, k, c, h, w, kernel, stride, pad, index, out);
}

/**
 * MAXPOOL2DSCATTER, f64: the VJP, the transpose of maxPool2dGatherF64. For a block of k vectors u
 * (k x C x H_out x W_out), out (k x C x H x W) is zero except that each u entry is added at the input
 * position its index names. Accuracy: see the file header. Aborts on an index outside its plane.
 */
export function maxPool2dScatterF64(
  u: usize, k: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, index: usize, out: usize,
): void {
  scatter<f64>(u, k, c, h, w, kernel, stride, pad, index, out);
}

/** MAXPOOL2DSCATTER, f32: as maxPool2dScatterF64 in f32. */
export function maxPool2dScatterF32(
  u: usize, k: i32, c: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, index: usize, out: usize,
): void {
  scatter<f32>(u, k, c, h, w, kernel, stride, pad, index, out);
}
