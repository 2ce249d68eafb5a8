/**
 * The residual unit and its linearization (Jacobian) as WASM operators, f64 and f32.
 *
 * A unit maps h (C_in x H x W) to h' (C_out x H' x W'):
 *   a1 = B1 (W1 * h) + c1          conv 3x3, padding 1, stride s in {1, 2}; B1 = diag(per-channel
 *                                  scale gamma/sqrt(var + eps)), c1 = beta_bn - mean*scale (BatchNorm)
 *   z  = relu(a1)
 *   a2 = B2 (W2 * z) + c2          conv 3x3, padding 1, stride 1
 *   h' = relu(alpha*S(h) + a2)
 * S is the shortcut: the identity for stride 1 and C_in = C_out, otherwise the option-A shortcut
 *   S(h)[c, y, x] = h[c - pad, s*y, s*x] for pad <= c < pad + C_in, else 0, pad = (C_out - C_in)/2.
 * The residual-weight scale beta multiplies W1 and W2; callers pass the already-scaled weights.
 *
 * Linearization. On the linear region containing h (no ReLU argument changes sign),
 *   J = D_out (alpha*S + B2 W2 D_mid B1 W1),
 *   D_mid = diag(a1 > 0), D_out = diag(alpha*S(h) + a2 > 0)   (relu'(0) = 0, as autograd uses),
 * and J is exact there: unit(h + t v) = unit(h) + t J v for all t small enough that no mask flips.
 * J is m x n with m = C_out*H'*W', n = C_in*H*W, both flattened in C, H, W order (PyTorch's).
 *
 * Layouts: tensors C x H x W row-major; blocks of k vectors vector-major (k x n); conv weights OIHW;
 * masks u8 of length C*H*W (nonzero = active); per-channel scales/shifts arrays of the kernel's type.
 *
 * Operators. unitOperatorCreate{F64,F32} copies what J needs (weights pre-multiplied by the BN
 * scales, transposed weight layouts, masks) into a handle; unitOperatorApply / ApplyTranspose /
 * JacobianDense then evaluate J V, J^T U and J itself from the handle. The apply functions are plain
 * AssemblyScript functions too, so WASM code (Lanczos) can call them in a loop without crossing to JS.
 * The products run in conv.ts's panel layout (block index innermost), which lets them skip every
 * pixel a mask zeroes, on both sides of each convolution: in J V, conv1 is evaluated only where
 * D_mid = 1 and conv2 only where D_out = 1, reading only hidden pixels with D_mid = 1; in J^T U,
 * W2^T is evaluated only where D_mid = 1 reading only D_out = 1 pixels, and W1^T reads only
 * D_mid = 1 pixels. With masks about half active that is ~3/8 of the dense work for either product.
 * Operators hold no scratch: each call allocates three panels (~7 MB for k >= 16 on a 16x32x32
 * unit in f64) and frees them before returning.
 *
 * Accuracy: J V and J^T U are two convolutions deep, each output a sum of at most 9*C products
 * evaluated in working precision (after rounding B*W once): componentwise
 * |computed - exact| <= gamma_{9 C_in + 9 C_out + 2} (|alpha| |S| + |B2 W2| |B1 W1|) |v|, with
 * gamma_m ~ m*eps. The explicit Jacobian has the same bound per entry; J V and J^T U are adjoints up
 * to that rounding (tests: |<J V, U> - <V, J^T U>| / (|J V| |U|) ~ 1e-16 in f64).
 */

import {
  conv3x3ForwardF32, conv3x3ForwardF64, conv3x3OutputSize, conv3x3PrepareTransposeWeights, convPadMask,
  convPanelBytes, convPanelForward, convPanelPack, convPanelPlaneBytes, convPanelTranspose, convPanelUnpack,
  convPanelVectors, convPanelZeroBorder,
} from "./conv";
import { lanesOf, vAdd, vMul, vSplat } from "./lib/simd";

// ---------------------------------------------------------------------------------------------------
// Small element-wise kernels

function scaleShift<T>(x: usize, k: i32, channels: i32, plane: i32, scale: usize, shift: usize, out: usize): void {
  const size = <usize>sizeof<T>();
  let p: usize = 0;
  for (let b = 0; b < k; b++) {
    for (let c = 0; c < channels; c++) {
      const s = scale ? load<T>(scale + <usize>c * size) : <T>1;
      const t = shift ? load<T>(shift + <usize>c * size) : <T>0;
      for (let i = 0; i < plane; i++, p += size) store<T>(out + p, s * load<T>(x + p) + t);
    }
  }
}

/**
 * CHANNELSCALESHIFT, f64: out[b, c, i] = scale[c]*x[b, c, i] + shift[c] for a block of k tensors of
 * `channels` x `plane` values (plane = H*W). scale == 0 means all ones, shift == 0 all zeros.
 * out may equal x. Exact up to one rounding per operation.
 */
export function channelScaleShiftF64(x: usize, k: i32, channels: i32, plane: i32, scale: usize, shift: usize, out: usize): void {
  scaleShift<f64>(x, k, channels, plane, scale, shift, out);
}

/** CHANNELSCALESHIFT, f32: as channelScaleShiftF64 in f32. */
export function channelScaleShiftF32(x: usize, k: i32, channels: i32, plane: i32, scale: usize, shift: usize, out: usize): void {
  scaleShift<f32>(x, k, channels, plane, scale, shift, out);
}

function maskBlock<T>(x: usize, k: i32, n: i32, mask: usize, out: usize): void {
  const size = <usize>sizeof<T>();
  for (let b = 0; b < k; b++) {
    const xs = x + <usize>b * <usize>n * size, os = out + <usize>b * <usize>n * size;
    for (let i = 0; i < n; i++) {
      const v = load<T>(xs + <usize>i * size);
      store<T>(os + <usize>i * size, load<u8>(mask + <usize>i) != 0 ? v : <T>0);
    }
  }
}

/**
 * APPLYMASK, f64: out[b, i] = mask[i] != 0 ? x[b, i] : 0 for a block of k vectors of length n, i.e.
 * out = diag(mask) x (u8 mask of length n shared by the block). out may equal x. Exact.
 */
export function applyMaskF64(x: usize, k: i32, n: i32, mask: usize, out: usize): void {
  maskBlock<f64>(x, k, n, mask, out);
}

/** APPLYMASK, f32: as applyMaskF64 in f32. */
export function applyMaskF32(x: usize, k: i32, n: i32, mask: usize, out: usize): void {
  maskBlock<f32>(x, k, n, mask, out);
}

/** Channel padding of the option-A shortcut; aborts on channel counts it cannot connect. */
function shortcutPad(cIn: i32, cOut: i32): i32 {
  if (cOut < cIn || ((cOut - cIn) & 1) != 0) abort("option-A shortcut needs C_out >= C_in with C_out - C_in even");
  return (cOut - cIn) >> 1;
}

export function shortcutBlock<T>(transpose: bool, x: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, out: usize): void {
  const size = <usize>sizeof<T>();
  const pad = shortcutPad(cIn, cOut);
  const hOut = conv3x3OutputSize(hIn, stride), wOut = conv3x3OutputSize(wIn, stride);
  const nIn = <usize>cIn * <usize>hIn * <usize>wIn, nOut = <usize>cOut * <usize>hOut * <usize>wOut;
  // S is a 0/1 selection, so S^T scatters back what S gathers; everything S does not reach is zero.
  memory.fill(out, 0, <usize>k * (transpose ? nIn : nOut) * size);
  for (let b = 0; b < k; b++) {
    const inBase = (transpose ? out : x) + <usize>b * nIn * size;
    const outBase = (transpose ? x : out) + <usize>b * nOut * size;
    for (let c = 0; c < cIn; c++) {
      for (let y = 0; y < hOut; y++) {
        for (let xo = 0; xo < wOut; xo++) {
          const pi = inBase + ((<usize>c * <usize>hIn + <usize>(stride * y)) * <usize>wIn + <usize>(stride * xo)) * size;
          const po = outBase + ((<usize>(c + pad) * <usize>hOut + <usize>y) * <usize>wOut + <usize>xo) * size;
          if (transpose) store<T>(pi, load<T>(po));
          else store<T>(po, load<T>(pi));
        }
      }
    }
  }
}

/**
 * SHORTCUTFORWARD, f64: out = S x for a block of k tensors: x is k x (C_in*H*W), out is
 * k x (C_out*H'*W') with H' = floor((H-1)/stride) + 1 and
 * S(x)[c, y, x'] = x[c - pad, stride*y, stride*x'] for pad <= c < pad + C_in, else 0,
 * pad = (C_out - C_in)/2 (the identity when stride = 1 and C_out = C_in). Exact.
 */
export function shortcutForwardF64(x: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, out: usize): void {
  shortcutBlock<f64>(false, x, k, cIn, hIn, wIn, cOut, stride, out);
}

/** SHORTCUTFORWARD, f32: as shortcutForwardF64 in f32. */
export function shortcutForwardF32(x: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, out: usize): void {
  shortcutBlock<f32>(false, x, k, cIn, hIn, wIn, cOut, stride, out);
}

/**
 * SHORTCUTTRANSPOSE, f64: out = S^T u, the adjoint of shortcutForwardF64 with the same shape
 * arguments: u is k x (C_out*H'*W'), out is k x (C_in*H*W); out[c, stride*y, stride*x'] =
 * u[c + pad, y, x'] and every other entry of out is zero. Exact. out must not overlap u.
 */
export function shortcutTransposeF64(u: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, out: usize): void {
  shortcutBlock<f64>(true, u, k, cIn, hIn, wIn, cOut, stride, out);
}

/** SHORTCUTTRANSPOSE, f32: as shortcutTransposeF64 in f32. */
export function shortcutTransposeF32(u: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, out: usize): void {
  shortcutBlock<f32>(true, u, k, cIn, hIn, wIn, cOut, stride, out);
}

// ---------------------------------------------------------------------------------------------------
// The unit itself

function unitForwardBlock<T>(
  h: usize, k: i32, cIn: i32, hIn: i32, wIn: i32,
  weight1: usize, scale1: usize, shift1: usize, weight2: usize, scale2: usize, shift2: usize,
  cOut: i32, stride: i32, alpha: f64,
  hiddenPre: usize, maskMid: usize, preOut: usize, maskOut: usize, out: usize,
): void {
  const size = <usize>sizeof<T>();
  const pad = shortcutPad(cIn, cOut);
  const hOut = conv3x3OutputSize(hIn, stride), wOut = conv3x3OutputSize(wIn, stride);
  const plane = <usize>hOut * <usize>wOut;
  const nIn = <usize>cIn * <usize>hIn * <usize>wIn, nOut = <usize>cOut * plane;
  const a1 = hiddenPre ? hiddenPre : heap.alloc(<usize>k * nOut * size);
  const z = heap.alloc(<usize>k * nOut * size);
  if (sizeof<T>() == 8) conv3x3ForwardF64(h, k, cIn, hIn, wIn, weight1, cOut, stride, a1);
  else conv3x3ForwardF32(h, k, cIn, hIn, wIn, weight1, cOut, stride, a1);
  // a1 = B1 (W1 h) + c1; D_mid = (a1 > 0); z = relu(a1).
  for (let b = 0; b < k; b++) {
    for (let c = 0; c < cOut; c++) {
      const s = load<T>(scale1 + <usize>c * size), t = shift1 ? load<T>(shift1 + <usize>c * size) : <T>0;
      const j0 = <usize>b * nOut + <usize>c * plane;
      for (let i: usize = 0; i < plane; i++) {
        const p = (j0 + i) * size;
        const a = s * load<T>(a1 + p) + t;
        const active = a > <T>0;
        store<T>(a1 + p, a);
        store<T>(z + p, active ? a : <T>0);
        store<u8>(maskMid + j0 + i, active ? 1 : 0);
      }
    }
  }
  if (sizeof<T>() == 8) conv3x3ForwardF64(z, k, cOut, hOut, wOut, weight2, cOut, 1, preOut);
  else conv3x3ForwardF32(z, k, cOut, hOut, wOut, weight2, cOut, 1, preOut);
  // pre = alpha*S(h) + (B2 (W2 z) + c2); D_out = (pre > 0); h' = relu(pre).
  const a = <T>alpha;
  for (let b = 0; b < k; b++) {
    const hb = h + <usize>b * nIn * size;
    for (let c = 0; c < cOut; c++) {
      const s = load<T>(scale2 + <usize>c * size), t = shift2 ? load<T>(shift2 + <usize>c * size) : <T>0;
      const cs = c - pad;
      const hasShortcut = cs >= 0 && cs < cIn;
      for (let y = 0; y < hOut; y++) {
        for (let x = 0; x < wOut; x++) {
          const j = <usize>b * nOut + <usize>c * plane + <usize>y * <usize>wOut + <usize>x;
          let v = s * load<T>(preOut + j * size) + t;
          if (hasShortcut) {
            const hv = load<T>(hb + ((<usize>cs * <usize>hIn + <usize>(stride * y)) * <usize>wIn + <usize>(stride * x)) * size);
            v = a * hv + v;
          }
          const active = v > <T>0;
          store<T>(preOut + j * size, v);
          store<u8>(maskOut + j, active ? 1 : 0);
          store<T>(out + j * size, active ? v : <T>0);
        }
      }
    }
  }
  heap.free(z);
  if (!hiddenPre) heap.free(a1);
}

/**
 * UNITFORWARD, f64: evaluate the residual unit (see the file header) on a block of k inputs and
 * record its linearization masks.
 *
 * h: k x (C_in*H*W). weight1: C_out x C_in x 3 x 3 (stride `stride`), weight2: C_out x C_out x 3 x 3
 * (stride 1), both already multiplied by beta. scale1/shift1, scale2/shift2: BatchNorm folded into
 * per-channel scale and shift (length C_out; a shift pointer of 0 means zero shift). alpha: shortcut
 * weight. Outputs (each k x C_out*H'*W'): hiddenPre = a1 (optional, 0 to skip), maskMid = (a1 > 0)
 * as u8, preOut = alpha*S(h) + a2, maskOut = (preOut > 0) as u8, out = relu(preOut).
 * Accuracy: each convolution as conv3x3ForwardF64; the masks are those of the computed values, so a
 * value within rounding of 0 may be classified differently from another implementation.
 */
export function unitForwardF64(
  h: usize, k: i32, cIn: i32, hIn: i32, wIn: i32,
  weight1: usize, scale1: usize, shift1: usize, weight2: usize, scale2: usize, shift2: usize,
  cOut: i32, stride: i32, alpha: f64,
  hiddenPre: usize, maskMid: usize, preOut: usize, maskOut: usize, out: usize,
): void {
  unitForwardBlock<f64>(h, k, cIn, hIn, wIn, weight1, scale1, shift1, weight2, scale2, shift2, cOut, stride, alpha,
    hiddenPre, maskMid, preOut, maskOut, out);
}

/** UNITFORWARD, f32: as unitForwardF64 in f32 (alpha is still passed as f64). */
export function unitForwardF32(
  h: usize, k: i32, cIn: i32, hIn: i32, wIn: i32,
  weight1: usize, scale1: usize, shift1: usize, weight2: usize, scale2: usize, shift2: usize,
  cOut: i32, stride: i32, alpha: f64,
  hiddenPre: usize, maskMid: usize, preOut: usize, maskOut: usize, out: usize,
): void {
  unitForwardBlock<f32>(h, k, cIn, hIn, wIn, weight1, scale1, shift1, weight2, scale2, shift2, cOut, stride, alpha,
    hiddenPre, maskMid, preOut, maskOut, out);
}

// ---------------------------------------------------------------------------------------------------
// The linearized unit as an operator

/** What J needs, owned by the handle (all buffers allocated in unitOperatorCreate). */
@unmanaged class UnitOperator {
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
  /** D_mid and D_out as u8, C_out*H'*W' each (copies). */
  maskMid: usize;
  maskOut: usize;
  /** B1 W1 (C_out x C_in x 9) and B2 W2 (C_out x C_out x 9), OIHW. */
  weight1: usize;
  weight2: usize;
  /** The same rearranged for W^T (conv3x3PrepareTransposeWeights). */
  weight1T: usize;
  weight2T: usize;
  /** D_mid and D_out in the padded panel geometry (convPadMask), to skip taps on zero inputs. */
  paddedMid: usize;
  paddedOut: usize;
}

@inline function operatorOf(handle: usize): UnitOperator {
  return changetype<UnitOperator>(handle);
}

function checkType<T>(op: UnitOperator): void {
  if (op.elementSize != <i32>sizeof<T>()) abort("unit operator used with the wrong precision");
}

/** diag(scale) W for OIHW weights of `rows` output channels with `perRow` values each. */
function scaledWeights<T>(weight: usize, scale: usize, rows: i32, perRow: i32): usize {
  const size = <usize>sizeof<T>();
  const out = heap.alloc(<usize>rows * <usize>perRow * size);
  for (let o = 0; o < rows; o++) {
    const s = scale ? load<T>(scale + <usize>o * size) : <T>1;
    for (let i = 0; i < perRow; i++) {
      const p = (<usize>o * <usize>perRow + <usize>i) * size;
      store<T>(out + p, s * load<T>(weight + p));
    }
  }
  return out;
}

function createOperator<T>(
  cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, alpha: f64,
  weight1: usize, scale1: usize, weight2: usize, scale2: usize, maskMid: usize, maskOut: usize,
): usize {
  if (stride != 1 && stride != 2) abort("unit operator: stride must be 1 or 2");
  const size = <i32>sizeof<T>();
  const op = changetype<UnitOperator>(heap.alloc(offsetof<UnitOperator>()));
  op.elementSize = size;
  op.cIn = cIn;
  op.hIn = hIn;
  op.wIn = wIn;
  op.cOut = cOut;
  op.hOut = conv3x3OutputSize(hIn, stride);
  op.wOut = conv3x3OutputSize(wIn, stride);
  op.stride = stride;
  op.pad = shortcutPad(cIn, cOut);
  op.alpha = alpha;
  const nOut = <usize>cOut * <usize>op.hOut * <usize>op.wOut;
  op.maskMid = heap.alloc(nOut);
  memory.copy(op.maskMid, maskMid, nOut);
  op.maskOut = heap.alloc(nOut);
  memory.copy(op.maskOut, maskOut, nOut);
  op.weight1 = scaledWeights<T>(weight1, scale1, cOut, 9 * cIn);
  op.weight2 = scaledWeights<T>(weight2, scale2, cOut, 9 * cOut);
  op.weight1T = heap.alloc(<usize>(9 * cIn * cOut * size));
  conv3x3PrepareTransposeWeights(size, op.weight1, cIn, cOut, stride, op.weight1T);
  op.weight2T = heap.alloc(<usize>(9 * cOut * cOut * size));
  conv3x3PrepareTransposeWeights(size, op.weight2, cOut, cOut, 1, op.weight2T);
  const paddedBytes = <usize>cOut * <usize>(op.hOut + 2) * <usize>(op.wOut + 2);
  op.paddedMid = heap.alloc(paddedBytes);
  convPadMask(op.maskMid, cOut, op.hOut, op.wOut, op.paddedMid);
  op.paddedOut = heap.alloc(paddedBytes);
  convPadMask(op.maskOut, cOut, op.hOut, op.wOut, op.paddedOut);
  return changetype<usize>(op);
}

/**
 * UNITOPERATORCREATE, f64: build the Jacobian operator J = D_out (alpha*S + B2 W2 D_mid B1 W1) of a
 * residual unit at a point (see the file header) and return its handle (free with
 * unitOperatorDestroy).
 *
 * cIn, hIn, wIn: input shape; cOut, stride (1 or 2): output channels and conv1 stride (output
 * H' = floor((H-1)/stride) + 1); alpha: shortcut weight. weight1 (C_out x C_in x 3 x 3) and weight2
 * (C_out x C_out x 3 x 3): OIHW, already multiplied by beta. scale1, scale2: the BatchNorm scales
 * (length C_out; 0 means all ones). maskMid, maskOut: u8, C_out*H'*W' each (from unitForward). All
 * inputs are copied; the caller may free them afterwards.
 */
export function unitOperatorCreateF64(
  cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, alpha: f64,
  weight1: usize, scale1: usize, weight2: usize, scale2: usize, maskMid: usize, maskOut: usize,
): usize {
  return createOperator<f64>(cIn, hIn, wIn, cOut, stride, alpha, weight1, scale1, weight2, scale2, maskMid, maskOut);
}

/** UNITOPERATORCREATE, f32: as unitOperatorCreateF64 with f32 weights and scales (alpha as f64). */
export function unitOperatorCreateF32(
  cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, alpha: f64,
  weight1: usize, scale1: usize, weight2: usize, scale2: usize, maskMid: usize, maskOut: usize,
): usize {
  return createOperator<f32>(cIn, hIn, wIn, cOut, stride, alpha, weight1, scale1, weight2, scale2, maskMid, maskOut);
}

/** Release a handle from unitOperatorCreate{F64,F32} and everything it owns. */
export function unitOperatorDestroy(handle: usize): void {
  if (!handle) return;
  const op = operatorOf(handle);
  heap.free(op.maskMid);
  heap.free(op.maskOut);
  heap.free(op.weight1);
  heap.free(op.weight2);
  heap.free(op.weight1T);
  heap.free(op.weight2T);
  heap.free(op.paddedMid);
  heap.free(op.paddedOut);
  heap.free(handle);
}

/** Number of rows m = C_out*H'*W' of the operator's J. */
export function unitOperatorRows(handle: usize): i32 {
  const op = operatorOf(handle);
  return op.cOut * op.hOut * op.wOut;
}

/** Number of columns n = C_in*H*W of the operator's J. */
export function unitOperatorColumns(handle: usize): i32 {
  const op = operatorOf(handle);
  return op.cIn * op.hIn * op.wIn;
}

/**
 * Rows of J that are not structurally zero (D_out = 1), in increasing order, written as i32 to
 * `out` (room for unitOperatorRows entries; 0 to only count). Returns their number. The remaining
 * rows of J are exactly zero, so the SVD may drop them.
 */
export function unitOperatorActiveRows(handle: usize, out: usize): i32 {
  const op = operatorOf(handle);
  const m = op.cOut * op.hOut * op.wOut;
  let count = 0;
  for (let i = 0; i < m; i++) {
    if (load<u8>(op.maskOut + <usize>i) != 0) {
      if (out) store<i32>(out + (<usize>count << 2), i);
      count++;
    }
  }
  return count;
}

/**
 * dst (C_dst x ... panel) += alpha * src over the pixel pairs of the shortcut: for channel c of dst,
 * source channel c + chanOffset; pairs (i, j) < (count_y, count_x) join dst pixel (dstStep*i,
 * dstStep*j) and src pixel (srcStep*i, srcStep*j). With mask != 0 (u8 over the dst tensor), dst
 * pixels whose mask is 0 are left unchanged (they hold the exact zeros of a masked row).
 */
function shortcutAddPanel<T>(
  nv: i32, alpha: T, src: usize, cSrc: i32, hSrc: i32, wSrc: i32, dst: usize, cDst: i32, hDst: i32, wDst: i32,
  chanOffset: i32, countY: i32, countX: i32, srcStep: i32, dstStep: i32, mask: usize,
): void {
  if (alpha == <T>0) return;
  const pix = <usize>nv << 4;
  const srcRow = <usize>(wSrc + 2) * pix, srcPlane = convPanelPlaneBytes(hSrc, wSrc, nv << 4);
  const dstRow = <usize>(wDst + 2) * pix, dstPlane = convPanelPlaneBytes(hDst, wDst, nv << 4);
  const a = vSplat<T>(alpha);
  for (let c = 0; c < cDst; c++) {
    const cs = c + chanOffset;
    if (cs < 0 || cs >= cSrc) continue;
    for (let i = 0; i < countY; i++) {
      const yd = dstStep * i, ys = srcStep * i;
      for (let j = 0; j < countX; j++) {
        const xd = dstStep * j, xs = srcStep * j;
        // Branch-free masking (a random mask would mispredict): masked-out pixels keep their zeros.
        const keep = mask == 0 || load<u8>(mask + (<usize>c * <usize>hDst + <usize>yd) * <usize>wDst + <usize>xd) != 0;
        const d = dst + <usize>c * dstPlane + <usize>(yd + 1) * dstRow + <usize>(xd + 1) * pix;
        const s = src + <usize>cs * srcPlane + <usize>(ys + 1) * srcRow + <usize>(xs + 1) * pix;
        for (let r: usize = 0; r < pix; r += 16) {
          const sv = v128.load(s + r);
          const prod = vMul<T>(a, sv);
          const dv = v128.load(d + r);
          const sum = vAdd<T>(dv, prod);
          v128.store(d + r, keep ? sum : dv);
        }
      }
    }
  }
}

/**
 * U = J V (transpose = false; V is k x n, U is k x m) or V = J^T U (transpose = true; `input` is
 * k x m, `output` k x n), one panel of at most 8 registers' worth of vectors at a time.
 */
function applyOperator<T>(op: UnitOperator, transpose: bool, input: usize, k: i32, output: usize): void {
  checkType<T>(op);
  if (k <= 0) return;
  const size = <i32>sizeof<T>();
  const lanes = lanesOf<T>();
  const cIn = op.cIn, hIn = op.hIn, wIn = op.wIn, cOut = op.cOut, hOut = op.hOut, wOut = op.wOut;
  const stride = op.stride, pad = op.pad;
  const alpha = <T>op.alpha;
  const maxPix = convPanelVectors(k, size) << 4;
  // A: input-shaped panel (C_in x H x W); B, C: output-shaped panels (C_out x H' x W').
  const panelA = heap.alloc(convPanelBytes(cIn, hIn, wIn, maxPix));
  const panelB = heap.alloc(convPanelBytes(cOut, hOut, wOut, maxPix));
  const panelC = heap.alloc(convPanelBytes(cOut, hOut, wOut, maxPix));
  for (let col0 = 0; col0 < k;) {
    const nv = convPanelVectors(k - col0, size);
    const columns = min(nv * lanes, k - col0);
    const pix = nv << 4;
    if (!transpose) {
      // A = V; B = D_mid B1 W1 A; C = D_out (B2 W2 B + alpha S A).
      convPanelZeroBorder(panelA, cIn, hIn, wIn, pix);
      convPanelZeroBorder(panelB, cOut, hOut, wOut, pix);
      convPanelPack(size, input, col0, columns, cIn, hIn, wIn, pix, 0, panelA);
      convPanelForward(size, nv, panelA, cIn, hIn, wIn, op.weight1, cOut, stride, op.maskMid, 0, panelB);
      convPanelForward(size, nv, panelB, cOut, hOut, wOut, op.weight2, cOut, 1, op.maskOut, op.paddedMid, panelC);
      shortcutAddPanel<T>(nv, alpha, panelA, cIn, hIn, wIn, panelC, cOut, hOut, wOut, -pad, hOut, wOut, stride, 1, op.maskOut);
      convPanelUnpack(size, panelC, cOut, hOut, wOut, pix, col0, columns, output);
    } else {
      // C = D_out U; B = D_mid (B2 W2)^T C; A = (B1 W1)^T B + alpha S^T C.
      convPanelZeroBorder(panelC, cOut, hOut, wOut, pix);
      convPanelZeroBorder(panelB, cOut, hOut, wOut, pix);
      convPanelPack(size, input, col0, columns, cOut, hOut, wOut, pix, op.maskOut, panelC);
      convPanelTranspose(size, nv, panelC, cOut, hOut, wOut, op.weight2T, cOut, 1, op.maskMid, op.paddedOut, panelB);
      convPanelTranspose(size, nv, panelB, cIn, hIn, wIn, op.weight1T, cOut, stride, 0, op.paddedMid, panelA);
      shortcutAddPanel<T>(nv, alpha, panelC, cOut, hOut, wOut, panelA, cIn, hIn, wIn, pad, hOut, wOut, 1, stride, 0);
      convPanelUnpack(size, panelA, cIn, hIn, wIn, pix, col0, columns, output);
    }
    col0 += columns;
  }
  heap.free(panelC);
  heap.free(panelB);
  heap.free(panelA);
}

/**
 * UNITOPERATORAPPLY, f64: U = J V for a block of k vectors. V: k x n, U: k x m (vector-major;
 * n = C_in*H*W, m = C_out*H'*W'), must not overlap. Rows of J with D_out = 0 give exact zeros.
 * Callable from WASM code as well (no allocation survives the call). Accuracy: see the file header.
 */
export function unitOperatorApplyF64(handle: usize, v: usize, k: i32, u: usize): void {
  applyOperator<f64>(operatorOf(handle), false, v, k, u);
}

/** UNITOPERATORAPPLY, f32: as unitOperatorApplyF64 for an operator from unitOperatorCreateF32. */
export function unitOperatorApplyF32(handle: usize, v: usize, k: i32, u: usize): void {
  applyOperator<f32>(operatorOf(handle), false, v, k, u);
}

/**
 * UNITOPERATORAPPLYTRANSPOSE, f64: V = J^T U for a block of k vectors. U: k x m, V: k x n
 * (vector-major), must not overlap. <J v, u> = <v, J^T u> up to rounding (file header).
 */
export function unitOperatorApplyTransposeF64(handle: usize, u: usize, k: i32, v: usize): void {
  applyOperator<f64>(operatorOf(handle), true, u, k, v);
}

/** UNITOPERATORAPPLYTRANSPOSE, f32: as unitOperatorApplyTransposeF64 in f32. */
export function unitOperatorApplyTransposeF32(handle: usize, u: usize, k: i32, v: usize): void {
  applyOperator<f32>(operatorOf(handle), true, u, k, v);
}

/**
 * UNITJACOBIANVECTORPRODUCT, f64: U = J V in one call (creates, applies and destroys an operator;
 * prefer the handle API for repeated products). Arguments as unitOperatorCreateF64 and
 * unitOperatorApplyF64.
 */
export function unitJacobianVectorProductF64(
  v: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, alpha: f64,
  weight1: usize, scale1: usize, weight2: usize, scale2: usize, maskMid: usize, maskOut: usize, u: usize,
): void {
  const op = createOperator<f64>(cIn, hIn, wIn, cOut, stride, alpha, weight1, scale1, weight2, scale2, maskMid, maskOut);
  applyOperator<f64>(operatorOf(op), false, v, k, u);
  unitOperatorDestroy(op);
}

/** UNITJACOBIANVECTORPRODUCT, f32: as unitJacobianVectorProductF64 in f32. */
export function unitJacobianVectorProductF32(
  v: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, alpha: f64,
  weight1: usize, scale1: usize, weight2: usize, scale2: usize, maskMid: usize, maskOut: usize, u: usize,
): void {
  const op = createOperator<f32>(cIn, hIn, wIn, cOut, stride, alpha, weight1, scale1, weight2, scale2, maskMid, maskOut);
  applyOperator<f32>(operatorOf(op), false, v, k, u);
  unitOperatorDestroy(op);
}

/**
 * UNITJACOBIANTRANSPOSEPRODUCT, f64: V = J^T U in one call (k x m in, k x n out). Arguments as
 * unitJacobianVectorProductF64.
 */
export function unitJacobianTransposeProductF64(
  u: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, alpha: f64,
  weight1: usize, scale1: usize, weight2: usize, scale2: usize, maskMid: usize, maskOut: usize, v: usize,
): void {
  const op = createOperator<f64>(cIn, hIn, wIn, cOut, stride, alpha, weight1, scale1, weight2, scale2, maskMid, maskOut);
  applyOperator<f64>(operatorOf(op), true, u, k, v);
  unitOperatorDestroy(op);
}

/** UNITJACOBIANTRANSPOSEPRODUCT, f32: as unitJacobianTransposeProductF64 in f32. */
export function unitJacobianTransposeProductF32(
  u: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, cOut: i32, stride: i32, alpha: f64,
  weight1: usize, scale1: usize, weight2: usize, scale2: usize, maskMid: usize, maskOut: usize, v: usize,
): void {
  const op = createOperator<f32>(cIn, hIn, wIn, cOut, stride, alpha, weight1, scale1, weight2, scale2, maskMid, maskOut);
  applyOperator<f32>(operatorOf(op), true, u, k, v);
  unitOperatorDestroy(op);
}

// ---------------------------------------------------------------------------------------------------
// The explicit Jacobian

/**
 * Rows `rows[0..count)` (rows first .. first+count-1 when rows == 0) of J, row-major into out (count x n).
 *
 * Row i = (o, y, x) of J is zero unless D_out[i] = 1; then
 *   J[i, :] = alpha e_{S(i)} + sum over hidden taps (c, dy2, dx2) with D_mid[c, y+dy2-1, x+dx2-1] = 1
 *             of (B2 W2)[o, c, dy2, dx2] * (row (c, y+dy2-1, x+dx2-1) of B1 W1),
 * and row (c, yh, xh) of B1 W1 touches input pixels (s*yh - 1 + dy1, s*xh - 1 + dx1). So the row's
 * nonzeros lie in a (2s+3) x (2s+3) window of input pixels (5x5 for stride 1, 7x7 for stride 2) over
 * all C_in channels. The window is accumulated in a small buffer laid out [row][col][channel], where
 * the channel axis is contiguous and SIMD-wide (an axpy of a C_in-vector of B1 W1 per tap), and then
 * scattered into the zeroed output row.
 */
function denseRows<T>(op: UnitOperator, rows: usize, first: i32, count: i32, out: usize): void {
  checkType<T>(op);
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  const cIn = op.cIn, hIn = op.hIn, wIn = op.wIn, cOut = op.cOut, hOut = op.hOut, wOut = op.wOut;
  const s = op.stride, pad = op.pad;
  const n = <usize>cIn * <usize>hIn * <usize>wIn;
  const side = 2 * s + 3;
  const cPad = ((cIn + lanes - 1) / lanes) * lanes;
  const chanBytes = <usize>cPad * size;
  // B1 W1 rearranged as [hidden channel c][tap dy1*3+dx1][input channel, zero padded to cPad].
  const w1r = heap.alloc(<usize>cOut * 9 * chanBytes);
  memory.fill(w1r, 0, <usize>cOut * 9 * chanBytes);
  for (let c = 0; c < cOut; c++) {
    for (let ci = 0; ci < cIn; ci++) {
      for (let t = 0; t < 9; t++) {
        store<T>(w1r + (<usize>(c * 9 + t)) * chanBytes + <usize>ci * size,
          load<T>(op.weight1 + <usize>((c * cIn + ci) * 9 + t) * size));
      }
    }
  }
  const windowBytes = <usize>(side * side) * chanBytes;
  const window = heap.alloc(windowBytes);
  const planeOut = hOut * wOut;
  const alpha = <T>op.alpha;
  for (let r = 0; r < count; r++) {
    const i = rows ? load<i32>(rows + (<usize>r << 2)) : first + r;
    const row = out + <usize>r * n * size;
    memory.fill(row, 0, n * size);
    if (load<u8>(op.maskOut + <usize>i) == 0) continue;
    const o = i / planeOut, y = (i / wOut) % hOut, x = i % wOut;
    memory.fill(window, 0, windowBytes);
    for (let dy2 = 0; dy2 < 3; dy2++) {
      const yh = y + dy2 - 1;
      if (yh < 0 || yh >= hOut) continue;
      for (let dx2 = 0; dx2 < 3; dx2++) {
        const xh = x + dx2 - 1;
        if (xh < 0 || xh >= wOut) continue;
        let m = op.maskMid + <usize>yh * <usize>wOut + <usize>xh;
        let w2 = op.weight2 + <usize>(o * cOut * 9 + dy2 * 3 + dx2) * size;
        for (let c = 0; c < cOut; c++, m += <usize>planeOut, w2 += 9 * size) {
          if (load<u8>(m) == 0) continue;
          const coef = load<T>(w2);
          if (coef == <T>0) continue;
          const cv = vSplat<T>(coef);
          const wc = w1r + <usize>(c * 9) * chanBytes;
          for (let dy1 = 0; dy1 < 3; dy1++) {
            for (let dx1 = 0; dx1 < 3; dx1++) {
              const lp = window + <usize>((s * dy2 + dy1) * side + s * dx2 + dx1) * chanBytes;
              const wp = wc + <usize>(dy1 * 3 + dx1) * chanBytes;
              for (let b: usize = 0; b < chanBytes; b += 16) {
                const prod = vMul<T>(cv, v128.load(wp + b));
                const acc = v128.load(lp + b);
                v128.store(lp + b, vAdd<T>(acc, prod));
              }
            }
          }
        }
      }
    }
    // Window pixel (ly, lx) is input pixel (s*(y-1) - 1 + ly, s*(x-1) - 1 + lx).
    for (let ly = 0; ly < side; ly++) {
      const iy = s * (y - 1) - 1 + ly;
      if (iy < 0 || iy >= hIn) continue;
      for (let lx = 0; lx < side; lx++) {
        const ix = s * (x - 1) - 1 + lx;
        if (ix < 0 || ix >= wIn) continue;
        const lp = window + <usize>(ly * side + lx) * chanBytes;
        let dp = row + (<usize>iy * <usize>wIn + <usize>ix) * size;
        const chanStride = <usize>hIn * <usize>wIn * size;
        for (let ci = 0; ci < cIn; ci++, dp += chanStride) store<T>(dp, load<T>(lp + <usize>ci * size));
      }
    }
    const cs = o - pad;
    if (cs >= 0 && cs < cIn) {
      const dp = row + ((<usize>cs * <usize>hIn + <usize>(s * y)) * <usize>wIn + <usize>(s * x)) * size;
      store<T>(dp, load<T>(dp) + alpha);
    }
  }
  heap.free(window);
  heap.free(w1r);
}

/**
 * UNITJACOBIANDENSE, f64: the explicit Jacobian J (m x n, row-major, m = C_out*H'*W' rows indexed
 * by output (c, y, x), n = C_in*H*W columns indexed by input (c, y, x)) of the operator `handle`.
 * out: m*n f64. Rows with D_out = 0 are zero. Built locally (each row's nonzeros lie in a
 * (2s+3)^2 x C_in input window) in O(nnz(D_out) * 81 C_out C_in) flops plus writing out. Entries
 * agree with J V products to the accuracy of the file header.
 * Note: one heap block is at most 1 GiB (TLSF), so a stage-1 unit (16384 x 16384, 2 GiB in f64,
 * 1 GiB in f32) must be assembled in row blocks with unitJacobianRowBlock{F64,F32}.
 */
export function unitJacobianDenseF64(handle: usize, out: usize): void {
  denseRows<f64>(operatorOf(handle), 0, 0, unitOperatorRows(handle), out);
}

/** UNITJACOBIANDENSE, f32: as unitJacobianDenseF64 in f32. */
export function unitJacobianDenseF32(handle: usize, out: usize): void {
  denseRows<f32>(operatorOf(handle), 0, 0, unitOperatorRows(handle), out);
}

/**
 * UNITJACOBIANROWBLOCK, f64: rows first .. first+count-1 of J (see unitJacobianDenseF64) into out
 * (count x n, row-major): the dense Jacobian in row blocks.
 */
export function unitJacobianRowBlockF64(handle: usize, first: i32, count: i32, out: usize): void {
  denseRows<f64>(operatorOf(handle), 0, first, count, out);
}

/** UNITJACOBIANROWBLOCK, f32: as unitJacobianRowBlockF64 in f32. */
export function unitJacobianRowBlockF32(handle: usize, first: i32, count: i32, out: usize): void {
  denseRows<f32>(operatorOf(handle), 0, first, count, out);
}

/**
 * UNITJACOBIANROWS, f64: selected rows of J: out[r, :] = J[rows[r], :] for r < count (rows: i32 row
 * indices, e.g. from unitOperatorActiveRows, which gives J restricted to its nonzero rows, with the
 * same nonzero singular values). out: count x n, row-major.
 */
export function unitJacobianRowsF64(handle: usize, rows: usize, count: i32, out: usize): void {
  denseRows<f64>(operatorOf(handle), rows, 0, count, out);
}

/** UNITJACOBIANROWS, f32: as unitJacobianRowsF64 in f32. */
export function unitJacobianRowsF32(handle: usize, rows: usize, count: i32, out: usize): void {
  denseRows<f32>(operatorOf(handle), rows, 0, count, out);
}
