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
 * Method (no im2col). The forward copies each image once into zero-padded planes whose columns are
 * split by phase modulo S (padPhases), so that every tap of a run of consecutive outputs reads
 * consecutive entries; then, per output channel and row, runs of 4 v128 of outputs accumulate all
 * C_in*K*K taps in registers (SIMD along the output row; scratch: one padded image, freed on return).
 * The transpose of a stride-1 "same" convolution (K = 2P + 1) is the forward with the flipped,
 * channel-transposed kernel; any other transpose (stride 2) is a gather over the gradient with zero
 * margins, split by the phases of the input row and column modulo S (phaseTranspose), register-
 * blocked the same way along the input row.
 *
 * Accuracy: every output value is a sum of at most K*K*C_in products (K*K*C_out for W^T), each
 * rounded, added in working precision in a fixed order (forward: input channel, dy, dx, the padding
 * taps adding exact zeros; transpose: output channel, dy, dx). So componentwise
 * |computed - exact| <= gamma_m * sum |w| |x|, m = K*K*C + 1, gamma_m = m*eps/(1 - m*eps).
 * The two products are exact adjoints up to that rounding: <W x, g> = <x, W^T g> to ~m*eps relative.
 */

import { lanesOf, vMulAdd, vSplatLoad, vZero } from "./lib/simd";

/** Output size of a convolution or pooling window along one axis (PyTorch: floor((n + 2P - K)/S) + 1). */
export function conv2dOutputSize(size: i32, kernel: i32, stride: i32, pad: i32): i32 {
  const span = size + 2 * pad - kernel;
  return span < 0 || stride < 1 ? 0 : span / stride + 1;
}

/** Abort unless a batch of `batch` tensors with `channels` channels is a shape (shared with pool.ts). */
export function checkCounts(batch: i32, channels: i32): void {
  if (batch < 0 || channels < 1) abort("needs batch >= 0 and at least one channel");
}

/** Abort unless (kernel, stride, pad) is valid for an h x w input (shared with pool.ts). */
export function checkWindow(h: i32, w: i32, kernel: i32, stride: i32, pad: i32): void {
  if (kernel < 1 || stride < 1 || pad < 0) abort("window needs kernel >= 1, stride >= 1, pad >= 0");
  if (h < 1 || w < 1 || conv2dOutputSize(h, kernel, stride, pad) < 1 || conv2dOutputSize(w, kernel, stride, pad) < 1) {
    abort("window larger than the padded input");
  }
}

/**
 * Copy image b's C x H x W planes into `dst`, zero-padded by P on every side and with the padded
 * columns split by phase modulo S: padded pixel (ch, r, col) goes to ((ch*Hp + r)*S + col % S)*Wq +
 * col / S, Hp = H + 2P, Wq = ceil((W + 2P)/S). Tap (dy, dx) of the outputs x, x+1, ... of row y then
 * reads the consecutive entries x + dx/S, ... of row S*y + dy, phase dx % S: no bounds tests and
 * unit-stride loads for both strides.
 */
function padPhases<T>(src: usize, c: i32, h: i32, w: i32, pad: i32, stride: i32, hp: i32, wq: i32, dst: usize): void {
  const size = <usize>sizeof<T>();
  memory.fill(dst, 0, <usize>c * <usize>hp * <usize>stride * <usize>wq * size);
  for (let ch = 0; ch < c; ch++) {
    for (let r = 0; r < h; r++) {
      const from = src + ((<usize>ch * <usize>h + <usize>r) * <usize>w) * size;
      const row = dst + ((<usize>ch * <usize>hp + <usize>(r + pad)) * <usize>stride) * <usize>wq * size;
      for (let col = 0; col < w; col++) {
        const pc = col + pad;
        store<T>(row + (<usize>(pc % stride) * <usize>wq + <usize>(pc / stride)) * size, load<T>(from + <usize>col * size));
      }
    }
  }
}

/**
 * The forward product, register-blocked: for each output channel and row, runs of 4 v128 of outputs
 * (then single v128, then scalars) accumulate all C_in*K*K taps in registers, in the tap order
 * (input channel, dy, dx), reading the padded phase planes through a table of tap offsets.
 */
function forward<T>(
  input: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  checkCounts(batch, cIn);
  checkCounts(batch, cOut);
  checkWindow(h, w, kernel, stride, pad);
  const size = <usize>sizeof<T>();
  const L = lanesOf<T>();
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const hp = h + 2 * pad, wq = (w + 2 * pad + stride - 1) / stride;
  const rowBytes = <usize>stride * <usize>wq * size; // one padded row, all phases
  // Slack past the end: the last vector runs may read up to 4*L entries beyond a row.
  const scratchBytes = <usize>cIn * <usize>hp * rowBytes + <usize>(4 * L + kernel) * size;
  const scratch = heap.alloc(scratchBytes);
  memory.fill(scratch, 0, scratchBytes);
  const taps = cIn * kernel * kernel;
  const offsets = heap.alloc(<usize>taps << 2);
  for (let i = 0, t = 0; i < cIn; i++) {
    for (let dy = 0; dy < kernel; dy++) {
      for (let dx = 0; dx < kernel; dx++, t++) {
        const off = (<usize>i * <usize>hp + <usize>dy) * rowBytes + (<usize>(dx % stride) * <usize>wq + <usize>(dx / stride)) * size;
        store<u32>(offsets + (<usize>t << 2), <u32>off);
      }
    }
  }
  const outPlane = <usize>ho * <usize>wo;
  for (let b = 0; b < batch; b++) {
    padPhases<T>(input + <usize>b * <usize>cIn * <usize>h * <usize>w * size, cIn, h, w, pad, stride, hp, wq, scratch);
    for (let o = 0; o < cOut; o++) {
      const wo0 = weight + <usize>o * <usize>taps * size;
      for (let y = 0; y < ho; y++) {
        const dst = out + ((<usize>b * <usize>cOut + <usize>o) * outPlane + <usize>y * <usize>wo) * size;
        const rowBase = scratch + <usize>(stride * y) * rowBytes;
        let x = 0;
        for (; x + 4 * L <= wo; x += 4 * L) {
          const base = rowBase + <usize>x * size;
          let a0 = vZero(), a1 = vZero(), a2 = vZero(), a3 = vZero();
          for (let t = 0; t < taps; t++) {
            const p = base + <usize>load<u32>(offsets + (<usize>t << 2));
            const wv = vSplatLoad<T>(wo0 + <usize>t * size);
            a0 = vMulAdd<T>(a0, wv, v128.load(p));
            a1 = vMulAdd<T>(a1, wv, v128.load(p, 16));
            a2 = vMulAdd<T>(a2, wv, v128.load(p, 32));
            a3 = vMulAdd<T>(a3, wv, v128.load(p, 48));
          }
          const d = dst + <usize>x * size;
          v128.store(d, a0);
          v128.store(d, a1, 16);
          v128.store(d, a2, 32);
          v128.store(d, a3, 48);
        }
        for (; x + L <= wo; x += L) {
          const base = rowBase + <usize>x * size;
          let a0 = vZero();
          for (let t = 0; t < taps; t++) {
            const p = base + <usize>load<u32>(offsets + (<usize>t << 2));
            a0 = vMulAdd<T>(a0, vSplatLoad<T>(wo0 + <usize>t * size), v128.load(p));
          }
          v128.store(dst + <usize>x * size, a0);
        }
        for (; x < wo; x++) {
          const base = rowBase + <usize>x * size;
          let a = <T>0;
          for (let t = 0; t < taps; t++) {
            a += load<T>(wo0 + <usize>t * size) * load<T>(base + <usize>load<u32>(offsets + (<usize>t << 2)));
          }
          store<T>(dst + <usize>x * size, a);
        }
      }
    }
  }
  heap.free(offsets);
  heap.free(scratch);
}

/**
 * The adjoint. With stride 1 and K = 2P + 1 ("same" convolutions: 1x1 P0, 3x3 P1, 7x7 P3) W^T is the
 * forward convolution of the gradient with the flipped, channel-transposed kernel
 * w'[i, o, dy, dx] = w[o, i, K-1-dy, K-1-dx] and the same padding, so it takes the register-blocked
 * forward (summation order: output channel, dy, dx). Other windows take phaseTranspose (below).
 */
function transpose<T>(
  grad: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  checkCounts(batch, cIn);
  checkCounts(batch, cOut);
  checkWindow(h, w, kernel, stride, pad);
  if (stride == 1 && kernel == 2 * pad + 1) {
    const size = <usize>sizeof<T>();
    const kk = kernel * kernel;
    const flipped = heap.alloc(<usize>cOut * <usize>cIn * <usize>kk * size);
    for (let o = 0; o < cOut; o++) {
      for (let i = 0; i < cIn; i++) {
        const from = weight + (<usize>o * <usize>cIn + <usize>i) * <usize>kk * size;
        const to = flipped + (<usize>i * <usize>cOut + <usize>o) * <usize>kk * size;
        for (let t = 0; t < kk; t++) store<T>(to + <usize>(kk - 1 - t) * size, load<T>(from + <usize>t * size));
      }
    }
    forward<T>(grad, batch, cOut, h, w, flipped, cIn, kernel, 1, pad, out);
    heap.free(flipped);
    return;
  }
  phaseTranspose<T>(grad, batch, cIn, h, w, weight, cOut, kernel, stride, pad, out);
}

/**
 * W^T for any window, as a gather. Input pixel (r, c) receives w[o, i, dy, dx] g[o, y, x] exactly
 * when S*y = r + P - dy and S*x = c + P - dx; so with py = (r + P) mod S and q = (c + P) mod S only
 * the taps dy = py + S*m, dx = q + S*n contribute, from y = (r + P - py)/S - m and x = j - n, where
 * c = S*j + q - P. For fixed (i, py, q) that is one list of taps (output channel, m, n) with fixed
 * offsets into a zero-margined copy of the gradient (margins M = (K-1)/S + 2 on every side, so that
 * y, x outside the output read zeros), and the inputs of one row and phase q are consecutive in j:
 * runs of 4 v128 (then 1 v128, then scalars) accumulate in registers, in the order (o, dy, dx), and
 * are written to columns S*j + q - P. Every input entry is written once (zero where no tap reaches).
 */
function phaseTranspose<T>(
  grad: usize, batch: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
  out: usize,
): void {
  const size = <usize>sizeof<T>();
  const L = lanesOf<T>();
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const margin = (kernel - 1) / stride + 2;
  const rowsG = ho + 2 * margin, colsG = wo + 2 * margin;
  const planeG = <usize>rowsG * <usize>colsG;
  const padded = heap.alloc(<usize>cOut * planeG * size);
  memory.fill(padded, 0, <usize>cOut * planeG * size);
  const kk = kernel * kernel;
  const perPhase = cOut * ((kernel + stride - 1) / stride) * ((kernel + stride - 1) / stride);
  const offsets = heap.alloc(<usize>max(perPhase, 1) << 2);
  const taps = heap.alloc(<usize>max(perPhase, 1) * size);
  const row = heap.alloc(<usize>(w + pad + 4 * L) * size); // indexed by j < (w - 1 + P)/S + 1
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < cOut; o++) {
      for (let y = 0; y < ho; y++) {
        memory.copy(
          padded + (<usize>o * planeG + <usize>(y + margin) * <usize>colsG + <usize>margin) * size,
          grad + (((<usize>b * <usize>cOut + <usize>o) * <usize>ho + <usize>y) * <usize>wo) * size,
          <usize>wo * size,
        );
      }
    }
    for (let i = 0; i < cIn; i++) {
      const plane = out + ((<usize>b * <usize>cIn + <usize>i) * <usize>h * <usize>w) * size;
      for (let py = 0; py < stride; py++) {
        for (let q = 0; q < stride; q++) {
          // The taps of (i, py, q): byte offsets relative to (row Y, column j) and weights.
          let count = 0;
          for (let o = 0; o < cOut; o++) {
            for (let dy = py; dy < kernel; dy += stride) {
              for (let dx = q; dx < kernel; dx += stride) {
                const off = (o * <i32>planeG - ((dy - py) / stride) * colsG - (dx - q) / stride) * <i32>size;
                store<i32>(offsets + (<usize>count << 2), off);
                store<T>(taps + <usize>count * size, load<T>(weight + ((<usize>o * <usize>cIn + <usize>i) * <usize>kk + <usize>(dy * kernel + dx)) * size));
                count++;
              }
            }
          }
          const j0 = pad - q <= 0 ? 0 : (pad - q + stride - 1) / stride;
          const j1 = w - 1 + pad - q < 0 ? 0 : (w - 1 + pad - q) / stride + 1;
          if (j1 <= j0) continue;
          for (let r = (py - pad % stride + stride) % stride; r < h; r += stride) {
            const base = padded + (<usize>((r + pad - py) / stride + margin) * <usize>colsG + <usize>margin) * size;
            let j = j0;
            for (; j + 4 * L <= j1; j += 4 * L) {
              const at = base + <usize>j * size;
              let a0 = vZero(), a1 = vZero(), a2 = vZero(), a3 = vZero();
              for (let t = 0; t < count; t++) {
                const p = at + <usize>load<i32>(offsets + (<usize>t << 2));
                const wv = vSplatLoad<T>(taps + <usize>t * size);
                a0 = vMulAdd<T>(a0, wv, v128.load(p));
                a1 = vMulAdd<T>(a1, wv, v128.load(p, 16));
                a2 = vMulAdd<T>(a2, wv, v128.load(p, 32));
                a3 = vMulAdd<T>(a3, wv, v128.load(p, 48));
              }
              const d = row + <usize>j * size;
              v128.store(d, a0);
              v128.store(d, a1, 16);
              v128.store(d, a2, 32);
              v128.store(d, a3, 48);
            }
            for (; j + L <= j1; j += L) {
              const at = base + <usize>j * size;
              let a0 = vZero();
              for (let t = 0; t < count; t++) {
                a0 = vMulAdd<T>(a0, vSplatLoad<T>(taps + <usize>t * size), v128.load(at + <usize>load<i32>(offsets + (<usize>t << 2))));
              }
              v128.store(row + <usize>j * size, a0);
            }
            for (; j < j1; j++) {
              const at = base + <usize>j * size;
              let a = <T>0;
              for (let t = 0; t < count; t++) {
                a += load<T>(taps + <usize>t * size) * load<T>(at + <usize>load<i32>(offsets + (<usize>t << 2)));
              }
              store<T>(row + <usize>j * size, a);
            }
            const dst = plane + <usize>r * <usize>w * size;
            for (let jj = j0; jj < j1; jj++) store<T>(dst + <usize>(stride * jj + q - pad) * size, load<T>(row + <usize>jj * size));
          }
        }
      }
    }
  }
  heap.free(row);
  heap.free(taps);
  heap.free(offsets);
  heap.free(padded);
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
