/**
 * Linear operators inside WASM memory, so that iterative solvers (gkl.ts, slq.ts) can apply them
 * without crossing into JavaScript at every step. An operator is a handle to a small record:
 *
 *   DENSE  an m x n row-major matrix owned by the caller (tests, generic matrices)
 *   UNIT   a residual-unit Jacobian from unit.ts (unitOperatorCreateF64 / F32), not owned
 *   CHAIN  a product A_p ... A_2 A_1 of other operators, applied right to left (stages, networks)
 *   CONV   a masked 3x3 convolution y = diag(mask) W x (padding 1, stride 1 or 2), weights and mask
 *          copied and owned: the linearized stem conv-BN-ReLU of a network (BN scale and input
 *          normalization folded into W by the caller)
 *   HEAD   global average pooling followed by a linear map, y = A pool(x), pool(x)[c] = mean of
 *          channel plane c: the linearized classifier head; A copied and owned
 *   LAYER  one linearized layer of any residual network (layer-operators.ts: conv KxK/S/P, BN
 *          scale, ReLU mask, max-pool gather, option-A shortcut); its data copied and owned
 *   SUM    y = a A x + b B x of two operators of one shape, either of which may be the identity
 *          (handle 0): a residual unit's alpha S + Body (not owned, as CHAIN's parts)
 *
 * Every operator has a precision fixed at creation (the `...F64` constructors make f64 operators,
 * the `...F32` ones f32 operators; a chain takes the precision of its parts, which must agree) and
 * implements two routines on blocks of k vectors stored vector-major (k x n in, k x m out):
 * operatorApply{F64,F32} (Y = A X) and operatorApplyTranspose{F64,F32} (X = A^T Y). Calling the
 * routine of the other precision aborts. Operators never own the operators a CHAIN refers to, nor a
 * UNIT's handle, nor a DENSE matrix; destroy or free those separately.
 *
 * Scratch: a CHAIN of p > 1 operators allocates two blocks of k * (largest dimension of its parts)
 * elements per call; CONV's transpose one block of k*m elements; everything is freed before return.
 */
import {
  conv3x3ForwardF32, conv3x3ForwardF64, conv3x3OutputSize, conv3x3TransposeF32, conv3x3TransposeF64,
} from "./conv";
import {
  applyMaskF32,
  applyMaskF64,
  unitOperatorApplyF32,
  unitOperatorApplyF64,
  unitOperatorApplyTransposeF32,
  unitOperatorApplyTransposeF64,
  unitOperatorColumns,
  unitOperatorRows,
} from "./unit";
import { lanesOf, vMulAdd, vSplat, vSum } from "./lib/simd";
import { allocCopy } from "./lib/elements";
import {
  LAYER_CONV2D, LAYER_MASK, LAYER_MAXPOOL, LAYER_OPTIONA, LAYER_SCALE, LayerRecord, layerApply, layerDestroy, newLayer, windowFits,
} from "./layer-operators";
import { conv2dOutputSize } from "./conv2d";

const KIND_DENSE: i32 = 1;
const KIND_UNIT: i32 = 2;
const KIND_CHAIN: i32 = 3;
const KIND_CONV: i32 = 4;
const KIND_HEAD: i32 = 5;
const KIND_LAYER: i32 = 6;
const KIND_SUM: i32 = 7;

/** SUM: y = a A x + b B x; a handle of 0 is the identity. */
@unmanaged
class SumRecord {
  a: usize;
  alpha: f64;
  b: usize;
  beta: f64;
}

@unmanaged
class OperatorRecord {
  kind: i32;
  rows: i32;
  columns: i32;
  /**
   * DENSE: the matrix; UNIT: the unit handle; CHAIN: an array of `count` operator handles;
   * CONV: a ConvRecord; HEAD: a HeadRecord.
   */
  data: usize;
  count: i32;
  /** 8 (f64) or 4 (f32). */
  elementSize: i32;
}

/** CONV: y = diag(mask) W x, W: cIn x hIn x wIn -> cOut x hOut x wOut. */
@unmanaged
class ConvRecord {
  cIn: i32;
  hIn: i32;
  wIn: i32;
  cOut: i32;
  stride: i32;
  /** OIHW weights (owned copy). */
  weight: usize;
  /** u8 over the output, or 0 for no mask (owned copy). */
  mask: usize;
}

/** HEAD: y = A pool(x), x: channels x plane, A: outputs x channels row-major (owned copy). */
@unmanaged
class HeadRecord {
  channels: i32;
  plane: i32;
  outputs: i32;
  weight: usize;
}

function recordOf(handle: usize): OperatorRecord {
  return changetype<OperatorRecord>(handle);
}

function newRecord(kind: i32, rows: i32, columns: i32, data: usize, count: i32, elementSize: i32): usize {
  const r = changetype<OperatorRecord>(heap.alloc(offsetof<OperatorRecord>()));
  r.kind = kind;
  r.rows = rows;
  r.columns = columns;
  r.data = data;
  r.count = count;
  r.elementSize = elementSize;
  return changetype<usize>(r);
}

/** An operator for the m x n row-major f64 matrix at `matrix` (not copied: keep it alive). */
export function operatorFromDenseF64(matrix: usize, rows: i32, columns: i32): usize {
  return newRecord(KIND_DENSE, rows, columns, matrix, 0, 8);
}

/** An f32 operator for the m x n row-major f32 matrix at `matrix` (not copied: keep it alive). */
export function operatorFromDenseF32(matrix: usize, rows: i32, columns: i32): usize {
  return newRecord(KIND_DENSE, rows, columns, matrix, 0, 4);
}

/** An operator for a unit Jacobian handle from unitOperatorCreateF64 (not owned). */
export function operatorFromUnitF64(unit: usize): usize {
  return newRecord(KIND_UNIT, unitOperatorRows(unit), unitOperatorColumns(unit), unit, 0, 8);
}

/** An f32 operator for a unit Jacobian handle from unitOperatorCreateF32 (not owned). */
export function operatorFromUnitF32(unit: usize): usize {
  return newRecord(KIND_UNIT, unitOperatorRows(unit), unitOperatorColumns(unit), unit, 0, 4);
}

function newConv(
  elementSize: i32, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32, mask: usize,
): usize {
  if (cIn < 1 || hIn < 1 || wIn < 1 || cOut < 1 || (stride != 1 && stride != 2)) return 0;
  const hOut = conv3x3OutputSize(hIn, stride), wOut = conv3x3OutputSize(wIn, stride);
  const m = cOut * hOut * wOut;
  const c = changetype<ConvRecord>(heap.alloc(offsetof<ConvRecord>()));
  c.cIn = cIn;
  c.hIn = hIn;
  c.wIn = wIn;
  c.cOut = cOut;
  c.stride = stride;
  c.weight = allocCopy(weight, <usize>(cOut * cIn * 9) * <usize>elementSize);
  c.mask = mask ? allocCopy(mask, <usize>m) : 0;
  return newRecord(KIND_CONV, m, cIn * hIn * wIn, changetype<usize>(c), 0, elementSize);
}

/**
 * A masked 3x3 convolution y = diag(mask) W x as an f64 operator: W is the padding-1 convolution
 * C_in x H x W -> C_out x H' x W' (H' = floor((H-1)/stride) + 1) with OIHW f64 `weight`
 * (C_out x C_in x 3 x 3), `mask` u8 over the C_out*H'*W' outputs (0 = no mask). Both are copied.
 * Returns 0 for a stride other than 1 or 2 or a non-positive size. Accuracy as conv3x3ForwardF64.
 */
export function operatorFromConvF64(cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32, mask: usize): usize {
  return newConv(8, cIn, hIn, wIn, weight, cOut, stride, mask);
}

/** As operatorFromConvF64 with f32 weights: an f32 operator. */
export function operatorFromConvF32(cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32, mask: usize): usize {
  return newConv(4, cIn, hIn, wIn, weight, cOut, stride, mask);
}

function newHead(elementSize: i32, channels: i32, plane: i32, weight: usize, outputs: i32): usize {
  if (channels < 1 || plane < 1 || outputs < 1) return 0;
  const h = changetype<HeadRecord>(heap.alloc(offsetof<HeadRecord>()));
  h.channels = channels;
  h.plane = plane;
  h.outputs = outputs;
  h.weight = allocCopy(weight, <usize>(outputs * channels) * <usize>elementSize);
  return newRecord(KIND_HEAD, outputs, channels * plane, changetype<usize>(h), 0, elementSize);
}

/**
 * Average pooling then a linear map as an f64 operator: for x of `channels` x `plane` values
 * (plane = H*W), y[o] = sum_c weight[o, c] * (sum_i x[c, i]) / plane, o < outputs (weight:
 * outputs x channels row-major f64, copied). outputs x (channels*plane). Returns 0 on bad sizes.
 * Accuracy: each output is a sum of channels*plane + channels terms in f64.
 */
export function operatorFromHeadF64(channels: i32, plane: i32, weight: usize, outputs: i32): usize {
  return newHead(8, channels, plane, weight, outputs);
}

/** As operatorFromHeadF64 with f32 weights: an f32 operator. */
export function operatorFromHeadF32(channels: i32, plane: i32, weight: usize, outputs: i32): usize {
  return newHead(4, channels, plane, weight, outputs);
}

function layerOperator(elementSize: i32, layer: usize): usize {
  if (layer == 0) return 0;
  const r = changetype<LayerRecord>(layer);
  return newRecord(KIND_LAYER, r.cOut * r.ho * r.wo, r.c * r.h * r.w, layer, 0, elementSize);
}

function conv2dOperator(
  elementSize: i32, cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32,
): usize {
  if (cIn < 1 || cOut < 1 || !windowFits(h, w, kernel, stride, pad)) return 0;
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const bytes = <usize>cOut * <usize>cIn * <usize>(kernel * kernel) * <usize>elementSize;
  return layerOperator(elementSize, newLayer(LAYER_CONV2D, cIn, h, w, cOut, ho, wo, kernel, stride, pad, weight, bytes));
}

/**
 * The convolution y = W x (no bias: the Jacobian of a conv layer) as an f64 LAYER operator, for any
 * KxK / stride / padding with an output of at least 1 x 1: C_in x H x W -> C_out x H' x W' (H' =
 * conv2dOutputSize). `weight` OIHW f64, copied. Returns 0 on bad sizes. Accuracy as conv2dForwardF64
 * and conv2dTransposeF64.
 */
export function operatorFromConv2dF64(cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32): usize {
  return conv2dOperator(8, cIn, h, w, weight, cOut, kernel, stride, pad);
}

/** As operatorFromConv2dF64 with f32 weights: an f32 operator. */
export function operatorFromConv2dF32(cIn: i32, h: i32, w: i32, weight: usize, cOut: i32, kernel: i32, stride: i32, pad: i32): usize {
  return conv2dOperator(4, cIn, h, w, weight, cOut, kernel, stride, pad);
}

/**
 * y[c, i] = scale[c] x[c, i] on C x H x W (an eval-mode batch norm's Jacobian) as an f64 LAYER
 * operator; `scale` (C f64 values) copied. Exact up to one rounding per entry. 0 on bad sizes.
 */
export function operatorFromChannelScaleF64(channels: i32, h: i32, w: i32, scale: usize): usize {
  return layerOperator(8, newLayer(LAYER_SCALE, channels, h, w, channels, h, w, 0, 0, 0, scale, <usize>max(channels, 0) << 3));
}

/** As operatorFromChannelScaleF64 with f32 scales: an f32 operator. */
export function operatorFromChannelScaleF32(channels: i32, h: i32, w: i32, scale: usize): usize {
  return layerOperator(4, newLayer(LAYER_SCALE, channels, h, w, channels, h, w, 0, 0, 0, scale, <usize>max(channels, 0) << 2));
}

/**
 * y = diag(mask) x on C x H x W (a ReLU's Jacobian at its recorded pre-activation: mask = pre > 0)
 * as an operator of element size `elementSize` (8: f64, 4: f32); `mask` (u8 per entry) copied. Exact.
 */
export function operatorFromMask(channels: i32, h: i32, w: i32, mask: usize, elementSize: i32): usize {
  if (elementSize != 8 && elementSize != 4) return 0;
  const n = <usize>max(channels, 0) * <usize>max(h, 0) * <usize>max(w, 0);
  return layerOperator(elementSize, newLayer(LAYER_MASK, channels, h, w, channels, h, w, 0, 0, 0, mask, n));
}

/**
 * The max-pool's Jacobian at a recorded point, the gather of the argmax `index` (i32 per output,
 * pool.ts's convention, one image: C x H' x W'), as an operator of element size `elementSize`;
 * `index` copied. Exact (transpose: the scatter, within pool.ts's bound). 0 on bad sizes.
 */
export function operatorFromMaxPool(channels: i32, h: i32, w: i32, kernel: i32, stride: i32, pad: i32, index: usize, elementSize: i32): usize {
  if ((elementSize != 8 && elementSize != 4) || channels < 1 || !windowFits(h, w, kernel, stride, pad) || 2 * pad > kernel) return 0;
  const ho = conv2dOutputSize(h, kernel, stride, pad), wo = conv2dOutputSize(w, kernel, stride, pad);
  const bytes = (<usize>channels * <usize>ho * <usize>wo) << 2;
  return layerOperator(elementSize, newLayer(LAYER_MAXPOOL, channels, h, w, channels, ho, wo, kernel, stride, pad, index, bytes));
}

/**
 * The option-A shortcut (layer-operators.ts OPTIONASHORTCUT) C_in x H x W -> C_out x ceil(H/S) x
 * ceil(W/S) as an operator of element size `elementSize`. Exact. 0 unless C_out >= C_in >= 1,
 * C_out - C_in even, S >= 1.
 */
export function operatorFromOptionA(cIn: i32, h: i32, w: i32, cOut: i32, stride: i32, elementSize: i32): usize {
  if ((elementSize != 8 && elementSize != 4) || cIn < 1 || cOut < cIn || ((cOut - cIn) & 1) != 0 || stride < 1) return 0;
  const ho = (h + stride - 1) / stride, wo = (w + stride - 1) / stride;
  return layerOperator(elementSize, newLayer(LAYER_OPTIONA, cIn, h, w, cOut, ho, wo, 0, stride, 0, 0, 0));
}

/**
 * alpha A + beta B for two operators of one shape and precision; a handle of 0 stands for the
 * identity (then the other must be square). Not both 0. Returns 0 if shapes or precisions differ.
 * Accuracy: the parts' plus one rounding for each product by alpha, beta and the sum.
 */
export function operatorSum(a: usize, alpha: f64, b: usize, beta: f64): usize {
  if (a == 0 && b == 0) return 0;
  const ref = recordOf(a ? a : b);
  const rows = ref.rows, columns = ref.columns;
  for (let i = 0; i < 2; i++) {
    const h = i == 0 ? a : b;
    if (h == 0) {
      if (rows != columns) return 0;
      continue;
    }
    const r = recordOf(h);
    if (r.rows != rows || r.columns != columns || r.elementSize != ref.elementSize) return 0;
  }
  const s = changetype<SumRecord>(heap.alloc(offsetof<SumRecord>()));
  s.a = a;
  s.alpha = alpha;
  s.b = b;
  s.beta = beta;
  return newRecord(KIND_SUM, rows, columns, changetype<usize>(s), 0, ref.elementSize);
}

/**
 * The product A_count ... A_1 of the operators whose handles are the `count` usize values at
 * `handles` (A_1 first, applied first). Adjacent shapes must agree (rows of A_i = columns of A_i+1)
 * and all parts must have the same precision; returns 0 if they do not.
 */
export function operatorChain(handles: usize, count: i32): usize {
  if (count < 1) return 0;
  for (let i = 1; i < count; i++) {
    const prev = recordOf(load<usize>(handles + ((<usize>(i - 1)) << alignof<usize>())));
    const next = recordOf(load<usize>(handles + ((<usize>i) << alignof<usize>())));
    if (prev.rows != next.columns || prev.elementSize != next.elementSize) return 0;
  }
  const bytes = (<usize>count) << alignof<usize>();
  const list = heap.alloc(bytes);
  memory.copy(list, handles, bytes);
  const first = recordOf(load<usize>(list));
  const last = recordOf(load<usize>(list + ((<usize>(count - 1)) << alignof<usize>())));
  return newRecord(KIND_CHAIN, last.rows, first.columns, list, count, first.elementSize);
}

export function operatorRows(handle: usize): i32 {
  return recordOf(handle).rows;
}

export function operatorColumns(handle: usize): i32 {
  return recordOf(handle).columns;
}

/**
 * The unit.ts handle behind a UNIT operator (f64 or f32; see operatorElementSize), or 0 for any
 * other kind. For WASM code that needs the unit's structure, not just its products.
 */
export function operatorUnitHandle(handle: usize): usize {
  if (!handle) return 0;
  const r = recordOf(handle);
  return r.kind == KIND_UNIT ? r.data : 0;
}

/** 8 for an f64 operator, 4 for an f32 one. */
export function operatorElementSize(handle: usize): i32 {
  return recordOf(handle).elementSize;
}

/**
 * Free the record (and a CHAIN's handle list, a CONV's or HEAD's own copies); never a DENSE
 * matrix, a UNIT handle, or the operators a CHAIN refers to.
 */
export function operatorDestroy(handle: usize): void {
  if (!handle) return;
  const r = recordOf(handle);
  if (r.kind == KIND_CHAIN) heap.free(r.data);
  if (r.kind == KIND_CONV) {
    const c = changetype<ConvRecord>(r.data);
    heap.free(c.weight);
    if (c.mask) heap.free(c.mask);
    heap.free(r.data);
  }
  if (r.kind == KIND_HEAD) {
    heap.free(changetype<HeadRecord>(r.data).weight);
    heap.free(r.data);
  }
  if (r.kind == KIND_LAYER) layerDestroy(r.data);
  if (r.kind == KIND_SUM) heap.free(r.data);
  heap.free(handle);
}

// ---------------------------------------------------------------------------------------------------
// The kinds' products, generic in the element type T (f64 -> f64x2 lanes, f32 -> f32x4).

function denseApply<T>(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  const m = r.rows;
  const n = r.columns;
  const a = r.data;
  for (let v = 0; v < k; v++) {
    if (!transpose) {
      const xv = x + <usize>v * <usize>n * size;
      const yv = y + <usize>v * <usize>m * size;
      for (let i = 0; i < m; i++) {
        const row = a + <usize>i * <usize>n * size;
        let acc = vSplat<T>(<T>0);
        let j = 0;
        for (; j + lanes <= n; j += lanes) {
          acc = vMulAdd<T>(acc, v128.load(row + <usize>j * size), v128.load(xv + <usize>j * size));
        }
        let s = vSum<T>(acc);
        for (; j < n; j++) s += load<T>(row + <usize>j * size) * load<T>(xv + <usize>j * size);
        store<T>(yv + <usize>i * size, s);
      }
    } else {
      const yv = y + <usize>v * <usize>n * size;
      const xv = x + <usize>v * <usize>m * size;
      memory.fill(yv, 0, <usize>n * size);
      for (let i = 0; i < m; i++) {
        const row = a + <usize>i * <usize>n * size;
        const ci = load<T>(xv + <usize>i * size);
        const c = vSplat<T>(ci);
        let j = 0;
        for (; j + lanes <= n; j += lanes) {
          const p = yv + <usize>j * size;
          v128.store(p, vMulAdd<T>(v128.load(p), c, v128.load(row + <usize>j * size)));
        }
        for (; j < n; j++) {
          const p = yv + <usize>j * size;
          store<T>(p, load<T>(p) + ci * load<T>(row + <usize>j * size));
        }
      }
    }
  }
}

function convApply<T>(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  const c = changetype<ConvRecord>(r.data);
  const m = r.rows;
  if (!transpose) {
    if (sizeof<T>() == 8) conv3x3ForwardF64(x, k, c.cIn, c.hIn, c.wIn, c.weight, c.cOut, c.stride, y);
    else conv3x3ForwardF32(x, k, c.cIn, c.hIn, c.wIn, c.weight, c.cOut, c.stride, y);
    if (c.mask) {
      if (sizeof<T>() == 8) applyMaskF64(y, k, m, c.mask, y);
      else applyMaskF32(y, k, m, c.mask, y);
    }
  } else {
    // X = W^T diag(mask) Y: mask a scratch copy of Y (Y itself is read-only).
    let src = x;
    if (c.mask) {
      src = heap.alloc(<usize>k * <usize>m * sizeof<T>());
      if (sizeof<T>() == 8) applyMaskF64(x, k, m, c.mask, src);
      else applyMaskF32(x, k, m, c.mask, src);
    }
    if (sizeof<T>() == 8) conv3x3TransposeF64(src, k, c.cIn, c.hIn, c.wIn, c.weight, c.cOut, c.stride, y);
    else conv3x3TransposeF32(src, k, c.cIn, c.hIn, c.wIn, c.weight, c.cOut, c.stride, y);
    if (src != x) heap.free(src);
  }
}

function headApply<T>(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  const h = changetype<HeadRecord>(r.data);
  const size = <usize>sizeof<T>();
  const channels = h.channels, plane = h.plane, outputs = h.outputs;
  const n = <usize>channels * <usize>plane;
  for (let v = 0; v < k; v++) {
    if (!transpose) {
      // y = A (plane means of x); x is k x (channels*plane), y is k x outputs.
      const xv = x + <usize>v * n * size, yv = y + <usize>v * <usize>outputs * size;
      for (let o = 0; o < outputs; o++) store<T>(yv + <usize>o * size, <T>0);
      for (let ch = 0; ch < channels; ch++) {
        let s = <T>0;
        const p = xv + <usize>ch * <usize>plane * size;
        for (let i = 0; i < plane; i++) s += load<T>(p + <usize>i * size);
        const mean = s / <T>plane;
        for (let o = 0; o < outputs; o++) {
          const q = yv + <usize>o * size;
          store<T>(q, load<T>(q) + load<T>(h.weight + (<usize>o * <usize>channels + <usize>ch) * size) * mean);
        }
      }
    } else {
      // g[c, :] = (A^T u)[c] / plane; here x (the input) is u, k x outputs, and y is g, k x n.
      const uv = x + <usize>v * <usize>outputs * size, gv = y + <usize>v * n * size;
      for (let ch = 0; ch < channels; ch++) {
        let g = <T>0;
        for (let o = 0; o < outputs; o++) {
          g += load<T>(h.weight + (<usize>o * <usize>channels + <usize>ch) * size) * load<T>(uv + <usize>o * size);
        }
        g /= <T>plane;
        const p = gv + <usize>ch * <usize>plane * size;
        for (let i = 0; i < plane; i++) store<T>(p + <usize>i * size, g);
      }
    }
  }
}

function chainApply<T>(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  if (r.count == 1) {
    applyRecord<T>(recordOf(load<usize>(r.data)), transpose, x, k, y);
    return;
  }
  // Two scratch blocks sized for the widest intermediate, used alternately.
  let widest = 0;
  for (let i = 0; i < r.count; i++) {
    const op = recordOf(load<usize>(r.data + ((<usize>i) << alignof<usize>())));
    widest = max(widest, max(op.rows, op.columns));
  }
  const bytes = <usize>k * <usize>widest * sizeof<T>();
  const s0 = heap.alloc(bytes);
  const s1 = heap.alloc(bytes);
  let src = x;
  for (let step = 0; step < r.count; step++) {
    const i = transpose ? r.count - 1 - step : step;
    const op = recordOf(load<usize>(r.data + ((<usize>i) << alignof<usize>())));
    const dst = step == r.count - 1 ? y : (step & 1 ? s1 : s0);
    applyRecord<T>(op, transpose, src, k, dst);
    src = dst;
  }
  heap.free(s0);
  heap.free(s1);
}

/** y = s A x (+ y when accumulate), A a handle or 0 for the identity; n = length of one output vector. */
function scaledApply<T>(handle: usize, s: f64, transpose: bool, x: usize, k: i32, y: usize, n: i32, accumulate: bool, scratch: usize): void {
  const size = <usize>sizeof<T>();
  const total = <usize>k * <usize>n;
  let src = x;
  if (handle) {
    applyRecord<T>(recordOf(handle), transpose, x, k, scratch);
    src = scratch;
  }
  const c = <T>s;
  if (accumulate) {
    for (let i: usize = 0; i < total; i++) store<T>(y + i * size, load<T>(y + i * size) + c * load<T>(src + i * size));
  } else {
    for (let i: usize = 0; i < total; i++) store<T>(y + i * size, c * load<T>(src + i * size));
  }
}

function sumApply<T>(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  const s = changetype<SumRecord>(r.data);
  const n = transpose ? r.columns : r.rows;
  const scratch = heap.alloc(max<usize>(<usize>k * <usize>n * sizeof<T>(), 16));
  scaledApply<T>(s.a, s.alpha, transpose, x, k, y, n, false, scratch);
  scaledApply<T>(s.b, s.beta, transpose, x, k, y, n, true, scratch);
  heap.free(scratch);
}

function applyRecord<T>(r: OperatorRecord, transpose: bool, x: usize, k: i32, y: usize): void {
  if (r.elementSize != <i32>sizeof<T>()) abort("operator applied in the wrong precision");
  if (k <= 0) return;
  if (r.kind == KIND_UNIT) {
    if (sizeof<T>() == 8) {
      if (transpose) unitOperatorApplyTransposeF64(r.data, x, k, y);
      else unitOperatorApplyF64(r.data, x, k, y);
    } else {
      if (transpose) unitOperatorApplyTransposeF32(r.data, x, k, y);
      else unitOperatorApplyF32(r.data, x, k, y);
    }
  } else if (r.kind == KIND_DENSE) {
    denseApply<T>(r, transpose, x, k, y);
  } else if (r.kind == KIND_CONV) {
    convApply<T>(r, transpose, x, k, y);
  } else if (r.kind == KIND_HEAD) {
    headApply<T>(r, transpose, x, k, y);
  } else if (r.kind == KIND_LAYER) {
    layerApply<T>(r.data, transpose, x, k, y);
  } else if (r.kind == KIND_SUM) {
    sumApply<T>(r, transpose, x, k, y);
  } else {
    chainApply<T>(r, transpose, x, k, y);
  }
}

/** Y = A X for k vectors: X is k x columns, Y is k x rows (vector-major, f64, non-overlapping). */
export function operatorApplyF64(handle: usize, x: usize, k: i32, y: usize): void {
  applyRecord<f64>(recordOf(handle), false, x, k, y);
}

/** X = A^T Y for k vectors: Y is k x rows, X is k x columns (vector-major, f64, non-overlapping). */
export function operatorApplyTransposeF64(handle: usize, y: usize, k: i32, x: usize): void {
  applyRecord<f64>(recordOf(handle), true, y, k, x);
}

/** As operatorApplyF64 for an f32 operator (f32 blocks). */
export function operatorApplyF32(handle: usize, x: usize, k: i32, y: usize): void {
  applyRecord<f32>(recordOf(handle), false, x, k, y);
}

/** As operatorApplyTransposeF64 for an f32 operator (f32 blocks). */
export function operatorApplyTransposeF32(handle: usize, y: usize, k: i32, x: usize): void {
  applyRecord<f32>(recordOf(handle), true, y, k, x);
}
