/**
 * The linearized layers of any residual network as operators (assembly/operator.ts kind LAYER), f64
 * and f32, plus the option-A shortcut and its adjoint as kernels of their own (unit.ts's shortcutBlock
 * behind the shape checks below). Each layer's Jacobian at a recorded point is one of
 *
 *   CONV2D   y = W x          any KxK / stride S / padding P convolution (conv2d.ts; planes of at
 *                             most GEMM_CONV_MAX_PLANE outputs: conv-gemm.ts), weights copied;
 *                             the caller folds beta (residual-weight scale) into W
 *   SCALE    y = diag(s) x    per-channel scale: an eval-mode BN (s = gamma / sqrt(var + eps))
 *   MASK     y = diag(m) x    a 0/1 u8 mask over every entry: a ReLU at its recorded pre-activation
 *   MAXPOOL  y = G x          gather of the recorded argmax (pool.ts), adjoint: scatter
 *   OPTIONA  y = A x          the option-A shortcut (below)
 *
 * and each applies to blocks of k vectors stored vector-major, as every operator does.
 *
 *   OPTIONASHORTCUT  out[b, o, y, x] = in[b, o - lo, S*y, S*x] for lo <= o < lo + C_in, else 0,
 *                    lo = (C_out - C_in)/2, H_out = ceil(H/S), W_out = ceil(W/S) (PyTorch's
 *                    x[:, :, ::S, ::S] then F.pad of the channels, as in the paper's code)
 *   OPTIONAADJOINT   out[b, i, r, c] = g[b, i + lo, r/S, c/S] when S divides r and c, else 0
 *
 * Shapes: C_out >= C_in >= 1, C_out - C_in even, S >= 1; other shapes abort. Both are exact (copies
 * and zeros), and exact adjoints of one another.
 */
import { conv2dForwardF32, conv2dForwardF64, conv2dOutputSize, conv2dTransposeF32, conv2dTransposeF64 } from "./conv2d";
import {
  conv2dGemmForwardF32, conv2dGemmForwardF64, conv2dGemmTransposeF32, conv2dGemmTransposeF64,
} from "./conv-gemm";
import { maxPool2dGatherF32, maxPool2dGatherF64, maxPool2dScatterF32, maxPool2dScatterF64 } from "./pool";
import { allocCopy } from "./lib/elements";
import { applyMaskF32, applyMaskF64, channelScaleShiftF32, channelScaleShiftF64, shortcutBlock } from "./unit";

function checkOptionA(k: i32, cIn: i32, h: i32, w: i32, cOut: i32, stride: i32): void {
  if (k < 0 || cIn < 1 || h < 1 || w < 1 || stride < 1 || cOut < cIn || ((cOut - cIn) & 1) != 0) {
    abort("option-A shortcut needs C_out >= C_in >= 1, C_out - C_in even, stride >= 1");
  }
}

// The same selection as the paper unit's shortcut (unit.ts), with the shape checks layers need first.
function optionA<T>(x: usize, k: i32, cIn: i32, h: i32, w: i32, cOut: i32, stride: i32, out: usize, adjoint: bool): void {
  checkOptionA(k, cIn, h, w, cOut, stride);
  shortcutBlock<T>(adjoint, x, k, cIn, h, w, cOut, stride, out);
}

/** OPTIONASHORTCUT, f64: k tensors C_in x H x W at x to C_out x ceil(H/S) x ceil(W/S) at out (no overlap). */
export function optionAShortcutF64(x: usize, k: i32, cIn: i32, h: i32, w: i32, cOut: i32, stride: i32, out: usize): void {
  optionA<f64>(x, k, cIn, h, w, cOut, stride, out, false);
}

/** OPTIONASHORTCUT, f32. */
export function optionAShortcutF32(x: usize, k: i32, cIn: i32, h: i32, w: i32, cOut: i32, stride: i32, out: usize): void {
  optionA<f32>(x, k, cIn, h, w, cOut, stride, out, false);
}

/** OPTIONAADJOINT, f64: k gradients C_out x ceil(H/S) x ceil(W/S) at g to C_in x H x W at out (no overlap). */
export function optionAAdjointF64(g: usize, k: i32, cIn: i32, h: i32, w: i32, cOut: i32, stride: i32, out: usize): void {
  optionA<f64>(g, k, cIn, h, w, cOut, stride, out, true);
}

/** OPTIONAADJOINT, f32. */
export function optionAAdjointF32(g: usize, k: i32, cIn: i32, h: i32, w: i32, cOut: i32, stride: i32, out: usize): void {
  optionA<f32>(g, k, cIn, h, w, cOut, stride, out, true);
}

// ---------------------------------------------------------------------------------------------------
// Layer records.

export const LAYER_CONV2D: i32 = 1;
export const LAYER_SCALE: i32 = 2;
export const LAYER_MASK: i32 = 3;
export const LAYER_MAXPOOL: i32 = 4;
export const LAYER_OPTIONA: i32 = 5;

/** One linearized layer: input c x h x w, output cOut x ho x wo; `data` is owned (0 for OPTIONA). */
@unmanaged
export class LayerRecord {
  op: i32;
  c: i32;
  h: i32;
  w: i32;
  cOut: i32;
  ho: i32;
  wo: i32;
  kernel: i32;
  stride: i32;
  pad: i32;
  /** CONV2D: OIHW weights; SCALE: c scales; MASK: u8 per entry; MAXPOOL: i32 argmax per output. */
  data: usize;
}

/** A new layer record (data copied from `src`, `bytes` long); 0 when a size is not positive. */
export function newLayer(
  op: i32, c: i32, h: i32, w: i32, cOut: i32, ho: i32, wo: i32, kernel: i32, stride: i32, pad: i32, src: usize, bytes: usize,
): usize {
  if (c < 1 || h < 1 || w < 1 || cOut < 1 || ho < 1 || wo < 1) return 0;
  const r = changetype<LayerRecord>(heap.alloc(offsetof<LayerRecord>()));
  r.op = op;
  r.c = c;
  r.h = h;
  r.w = w;
  r.cOut = cOut;
  r.ho = ho;
  r.wo = wo;
  r.kernel = kernel;
  r.stride = stride;
  r.pad = pad;
  r.data = bytes > 0 ? allocCopy(src, bytes) : 0;
  return changetype<usize>(r);
}

/** Window sizes valid for a conv or pool of an h x w input (as conv2d.ts checkWindow, without aborting). */
export function windowFits(h: i32, w: i32, kernel: i32, stride: i32, pad: i32): bool {
  return kernel >= 1 && stride >= 1 && pad >= 0 && h >= 1 && w >= 1 &&
    conv2dOutputSize(h, kernel, stride, pad) >= 1 && conv2dOutputSize(w, kernel, stride, pad) >= 1;
}

export function layerDestroy(record: usize): void {
  const r = changetype<LayerRecord>(record);
  if (r.data) heap.free(r.data);
  heap.free(record);
}

/**
 * Largest output plane (H_out * W_out) whose convolution products go through conv-gemm.ts's batched
 * GEMMs; larger planes keep conv2d.ts's direct kernels, whose SIMD along an output row is then fully
 * used and which need no im2col scratch (BENCHMARKS.md, issue 11: bench/conv-gemm.ts).
 */
const GEMM_CONV_MAX_PLANE: i32 = 256;

/** Y = L X (transpose false: X is k x c*h*w) or X = L^T Y (transpose true: the input x is k x cOut*ho*wo). */
export function layerApply<T>(record: usize, transpose: bool, x: usize, k: i32, y: usize): void {
  const r = changetype<LayerRecord>(record);
  const f64 = sizeof<T>() == 8;
  const n = r.c * r.h * r.w;
  if (r.op == LAYER_CONV2D) {
    if (r.ho * r.wo <= GEMM_CONV_MAX_PLANE) {
      if (!transpose) {
        if (f64) conv2dGemmForwardF64(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
        else conv2dGemmForwardF32(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
      } else {
        if (f64) conv2dGemmTransposeF64(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
        else conv2dGemmTransposeF32(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
      }
    } else if (!transpose) {
      if (f64) conv2dForwardF64(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
      else conv2dForwardF32(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
    } else {
      if (f64) conv2dTransposeF64(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
      else conv2dTransposeF32(x, k, r.c, r.h, r.w, r.data, r.cOut, r.kernel, r.stride, r.pad, y);
    }
  } else if (r.op == LAYER_SCALE) {
    // Diagonal: its own transpose.
    if (f64) channelScaleShiftF64(x, k, r.c, r.h * r.w, r.data, 0, y);
    else channelScaleShiftF32(x, k, r.c, r.h * r.w, r.data, 0, y);
  } else if (r.op == LAYER_MASK) {
    if (f64) applyMaskF64(x, k, n, r.data, y);
    else applyMaskF32(x, k, n, r.data, y);
  } else if (r.op == LAYER_MAXPOOL) {
    if (!transpose) {
      if (f64) maxPool2dGatherF64(x, k, r.c, r.h, r.w, r.kernel, r.stride, r.pad, r.data, y);
      else maxPool2dGatherF32(x, k, r.c, r.h, r.w, r.kernel, r.stride, r.pad, r.data, y);
    } else {
      if (f64) maxPool2dScatterF64(x, k, r.c, r.h, r.w, r.kernel, r.stride, r.pad, r.data, y);
      else maxPool2dScatterF32(x, k, r.c, r.h, r.w, r.kernel, r.stride, r.pad, r.data, y);
    }
  } else if (r.op == LAYER_OPTIONA) {
    optionA<T>(x, k, r.c, r.h, r.w, r.cOut, r.stride, y, transpose);
  } else {
    abort("unknown layer operator");
  }
}
