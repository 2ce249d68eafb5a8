/**
 * The model's parameters in the form the WASM kernels take, in f64 or f32 (internal to linearize/).
 *
 * Eval-mode batch norm is a per-channel affine map y = B x + c with B = diag(gamma / sqrt(var + eps))
 * and c = bias - mean * B; the residual-weight scale beta multiplies both convolutions of a unit.
 * All quantities are formed in f64 from the stored float32 parameters; the f32 versions are those f64
 * values rounded once (so the f32 path differs from the f64 one only by its working precision).
 */
import type { ResNetModel } from '../model/model.js';
import type { BatchNormParams, Normalization } from '../model/types.js';
import { newFloatArray, type FloatArray, type Precision } from '../wasm/precision.js';

export type { FloatArray, Precision } from '../wasm/precision.js';

/** The per-channel scale B and shift c of an eval-mode batch norm. */
export function batchNormAffine(bn: BatchNormParams, precision: Precision): { scale: FloatArray; shift: FloatArray } {
  const channels = bn.weight.length;
  const scale = newFloatArray(precision, channels);
  const shift = newFloatArray(precision, channels);
  for (let c = 0; c < channels; c++) {
    const s = bn.weight[c] / Math.sqrt(bn.runningVar[c] + bn.eps);
    scale[c] = s;
    shift[c] = bn.bias[c] - bn.runningMean[c] * s;
  }
  return { scale, shift };
}

/** beta * W for an OIHW weight array. */
export function scaledWeights(weight: Float32Array, beta: number, precision: Precision): FloatArray {
  const out = newFloatArray(precision, weight.length);
  for (let i = 0; i < weight.length; i++) out[i] = beta * weight[i];
  return out;
}

/** What unitForward / unitOperatorCreate take for unit `index`: beta*W1, B1, c1, beta*W2, B2, c2, alpha. */
export interface UnitKernelParameters {
  cIn: number;
  size: number;
  cOut: number;
  stride: 1 | 2;
  alpha: number;
  weight1: FloatArray;
  scale1: FloatArray;
  shift1: FloatArray;
  weight2: FloatArray;
  scale2: FloatArray;
  shift2: FloatArray;
}

export function unitKernelParameters(model: ResNetModel, index: number, precision: Precision): UnitKernelParameters {
  const unit = model.params.units[index];
  const beta = model.beta[index];
  const bn1 = batchNormAffine(unit.bn1, precision);
  const bn2 = batchNormAffine(unit.bn2, precision);
  return {
    cIn: unit.inChannels,
    size: unit.inSize,
    cOut: unit.outChannels,
    stride: unit.stride,
    alpha: model.alpha[index],
    weight1: scaledWeights(unit.conv1.weight, beta, precision),
    scale1: bn1.scale,
    shift1: bn1.shift,
    weight2: scaledWeights(unit.conv2.weight, beta, precision),
    scale2: bn2.scale,
    shift2: bn2.shift,
  };
}

/**
 * The input normalization as the network applies it: mean and std rounded to float32 like every other
 * parameter of the model (the tfjs forward pass holds them in float32 tensors, and PyTorch's
 * reference computations build them as default float32 tensors), then used in f64.
 */
export function storedNormalization(model: ResNetModel): Normalization {
  const { mean, std } = model.normalization;
  const round = (v: [number, number, number]) => v.map((x) => Math.fround(x)) as [number, number, number];
  return { mean: round(mean), std: round(std) };
}
