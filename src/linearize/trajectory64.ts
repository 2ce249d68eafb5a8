/**
 * The forward pass of one image in float64, in WebAssembly: the point a linearization is taken at,
 * with masks that agree with PyTorch's float64 masks (the tfjs trajectory is float32, and a
 * pre-activation within float32 rounding of zero may land on the other side there).
 *
 *   x      = (pixels - mean) / std                       per channel
 *   h_0    = relu(B_0 (W_0 * x) + c_0)                   the stem: conv 3x3 (3 -> 16), batch norm
 *   h_k+1  = relu(alpha_k S_k(h_k) + B2 (beta W2 * relu(B1 (beta W1 * h_k) + c1)) + c2)   unit k
 *   logits = A mean_{y,x}(h_3n) + b                       global average pooling, classifier
 *
 * (B = diag(gamma / sqrt(var + eps)), c = bias - mean * B: eval-mode batch norm; S_k the shortcut.)
 * Convolutions run in conv3x3ForwardF64 / unitForwardF64; the rest in plain f64. Everything is formed
 * from the float32 parameters widened exactly to f64, as PyTorch's `model.double()` does; that
 * includes mean and std, which are float32 numbers in the tfjs forward pass and in the PyTorch
 * references (0.229 and fround(0.229) differ by 3e-9, which moves logits by ~5e-7).
 *
 * Accuracy: each value is a chain of sums of at most 9*64 products per layer in f64; logits agree with
 * PyTorch float64 to ~1e-13 (tested: 1e-9). Masks agree with any other float64 evaluation except
 * where a pre-activation is within ~1e-14 of zero (the pre-activations are returned, so callers can
 * see the margin).
 */
import type { ResNetModel } from '../model/model.js';
import { IMAGE_CHANNELS, IMAGE_SIZE } from '../model/types.js';
import { InputError } from '../util/errors.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';
import { batchNormAffine, scaledWeights, storedNormalization, unitKernelParameters } from './parameters.js';

/** One residual unit on the float64 trajectory; tensors C x H x W row-major. */
export interface UnitTrace64 {
  /** h: the unit's input, C_in x H x W. */
  input: Float64Array;
  /** a1 = B1 (beta W1 * h) + c1, C_out x H' x W'. */
  hiddenPre: Float64Array;
  /** D_mid = (a1 > 0). */
  hiddenMask: Uint8Array;
  /** alpha S(h) + a2, C_out x H' x W'. */
  outputPre: Float64Array;
  /** D_out = (alpha S(h) + a2 > 0). */
  outputMask: Uint8Array;
  /** h' = relu(alpha S(h) + a2). */
  output: Float64Array;
}

/** The float64 trajectory: the fields of the tfjs `Trajectory`, in f64, plus pre-activations. */
export interface Trajectory64 {
  precision: 'f64';
  /** ResNetModel.fingerprint of the model (weights + alpha/beta) that produced it. */
  modelFingerprint: string;
  /** The pixels in [0, 1], 3 x 32 x 32. */
  pixels: Float64Array;
  /** The normalized input (pixels - mean) / std, 3 x 32 x 32. */
  input: Float64Array;
  /** B_0 (W_0 * x) + c_0, 16 x 32 x 32. */
  stemPre: Float64Array;
  /** D_0 = (stemPre > 0). */
  stemMask: Uint8Array;
  /** Stem output relu(stemPre). */
  stem: Float64Array;
  /** One trace per residual unit, in network order. */
  units: UnitTrace64[];
  /** Global average of the last unit's output, one value per channel. */
  pooled: Float64Array;
  logits: Float64Array;
}

const IMAGE_VALUES = IMAGE_CHANNELS * IMAGE_SIZE * IMAGE_SIZE;

function checkPixels(pixels: Float32Array | Float64Array): number {
  if (pixels.length === 0 || pixels.length % IMAGE_VALUES !== 0) {
    throw new InputError(`images must be a multiple of 3x32x32 = ${IMAGE_VALUES} values, got ${pixels.length}`);
  }
  for (let i = 0; i < pixels.length; i++) {
    if (!Number.isFinite(pixels[i])) {
      throw new InputError(`image ${Math.floor(i / IMAGE_VALUES)} has a non-finite pixel (${pixels[i]}) at offset ${i % IMAGE_VALUES}`);
    }
  }
  return pixels.length / IMAGE_VALUES;
}

/**
 * FLOAT64TRAJECTORY: the float64 forward pass of one image and everything the linearization needs.
 *
 * pixels: 3 x 32 x 32 (CHW) in [0, 1]; pass a Float64Array (e.g. byte / 255 in f64) to match PyTorch's
 * float64 input exactly (a Float32Array is widened as it is). alpha and beta come from the model.
 * Errors: InputError if pixels is not 3072 finite values.
 */
export async function float64Trajectory(
  model: ResNetModel, pixels: Float32Array | Float64Array, options: { kernels?: Kernels } = {},
): Promise<Trajectory64> {
  if (pixels.length !== IMAGE_VALUES) {
    throw new InputError(`an image must be 3x32x32 = ${IMAGE_VALUES} values, got ${pixels.length}`);
  }
  return (await float64Trajectories(model, pixels, options))[0];
}

/**
 * FLOAT64TRAJECTORIES: float64Trajectory for B images at once (pixels: B x 3 x 32 x 32), evaluated as
 * one block (faster per image than one at a time). Returns B trajectories.
 * Errors: InputError if pixels is not a positive multiple of 3072 values or has a non-finite value.
 */
export async function float64Trajectories(
  model: ResNetModel, pixels: Float32Array | Float64Array, options: { kernels?: Kernels } = {},
): Promise<Trajectory64[]> {
  const batch = checkPixels(pixels);
  const kernels = options.kernels ?? (await loadKernels());
  const p = model.params;
  const { mean, std } = storedNormalization(model);
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const stemChannels = p.stem.conv.outChannels;
  const stemValues = stemChannels * plane;

  const images = Array.from({ length: batch }, (_, b) => Float64Array.from(pixels.subarray(b * IMAGE_VALUES, (b + 1) * IMAGE_VALUES)));
  const inputs = images.map((img) => img.map((v, i) => (v - mean[Math.floor(i / plane)]) / std[Math.floor(i / plane)]));

  const perImage = (ptr: number, size: number) => {
    const all = kernels.f64(ptr, batch * size);
    return Array.from({ length: batch }, (_, b) => all.slice(b * size, (b + 1) * size));
  };
  const perImageMask = (ptr: number, size: number) => {
    const all = new Uint8Array(kernels.memory.buffer, ptr, batch * size);
    return Array.from({ length: batch }, (_, b) => all.slice(b * size, (b + 1) * size));
  };

  return kernels.scope((scope) => {
    // Stem: pre = B_0 (W_0 * x) + c_0, h_0 = relu(pre).
    const x = scope.allocF64(batch * IMAGE_VALUES);
    inputs.forEach((input, b) => kernels.f64(x, batch * IMAGE_VALUES).set(input, b * IMAGE_VALUES));
    const stemWeight = scope.copyIn(scaledWeights(p.stem.conv.weight, 1, 'f64'));
    const stemBn = batchNormAffine(p.stem.bn, 'f64');
    const stemScale = scope.copyIn(stemBn.scale);
    const stemShift = scope.copyIn(stemBn.shift);
    const stemPrePtr = scope.allocF64(batch * stemValues);
    kernels.exports.conv3x3ForwardF64(x, batch, IMAGE_CHANNELS, IMAGE_SIZE, IMAGE_SIZE, stemWeight, stemChannels, 1, stemPrePtr);
    kernels.exports.channelScaleShiftF64(stemPrePtr, batch, stemChannels, plane, stemScale, stemShift, stemPrePtr);
    const stemPre = perImage(stemPrePtr, stemValues);
    const stemMask = stemPre.map((pre) => Uint8Array.from(pre, (v) => (v > 0 ? 1 : 0)));
    const stem = stemPre.map((pre) => pre.map((v) => (v > 0 ? v : 0)));

    // Units, in network order, each on the block of all images.
    let h = scope.allocF64(batch * stemValues);
    stem.forEach((values, b) => kernels.f64(h, batch * stemValues).set(values, b * stemValues));
    let inputValues = stemValues;
    const traces: UnitTrace64[][] = Array.from({ length: batch }, () => []);
    for (let u = 0; u < p.units.length; u++) {
      const q = unitKernelParameters(model, u, 'f64');
      const unit = p.units[u];
      const outValues = unit.outChannels * unit.outSize * unit.outSize;
      kernels.scope((scratch) => {
        const w1 = scratch.copyIn(q.weight1), s1 = scratch.copyIn(q.scale1), c1 = scratch.copyIn(q.shift1);
        const w2 = scratch.copyIn(q.weight2), s2 = scratch.copyIn(q.scale2), c2 = scratch.copyIn(q.shift2);
        const hiddenPre = scratch.allocF64(batch * outValues);
        const maskMid = scratch.allocBytes(batch * outValues);
        const preOut = scratch.allocF64(batch * outValues);
        const maskOut = scratch.allocBytes(batch * outValues);
        const out = scope.allocF64(batch * outValues);
        kernels.exports.unitForwardF64(h, batch, q.cIn, q.size, q.size, w1, s1, c1, w2, s2, c2, q.cOut, q.stride, q.alpha,
          hiddenPre, maskMid, preOut, maskOut, out);
        const inputsNow = perImage(h, inputValues);
        const hidden = perImage(hiddenPre, outValues);
        const hiddenMasks = perImageMask(maskMid, outValues);
        const pre = perImage(preOut, outValues);
        const outMasks = perImageMask(maskOut, outValues);
        const outputs = perImage(out, outValues);
        for (let b = 0; b < batch; b++) {
          traces[b].push({
            input: inputsNow[b], hiddenPre: hidden[b], hiddenMask: hiddenMasks[b],
            outputPre: pre[b], outputMask: outMasks[b], output: outputs[b],
          });
        }
        // The unit's input is no longer needed.
        scope.release(h);
        h = out;
        inputValues = outValues;
      });
    }

    // Global average pooling and the classifier, in f64.
    const { weight, bias, inFeatures, outFeatures } = p.classifier;
    return images.map((img, b) => {
      const last = traces[b][traces[b].length - 1].output;
      const spatial = last.length / inFeatures;
      const pooled = new Float64Array(inFeatures);
      for (let c = 0; c < inFeatures; c++) {
        let s = 0;
        for (let i = 0; i < spatial; i++) s += last[c * spatial + i];
        pooled[c] = s / spatial;
      }
      const logits = new Float64Array(outFeatures);
      for (let o = 0; o < outFeatures; o++) {
        let s = 0;
        for (let c = 0; c < inFeatures; c++) s += weight[o * inFeatures + c] * pooled[c];
        logits[o] = s + bias[o];
      }
      return {
        precision: 'f64' as const,
        modelFingerprint: model.fingerprint,
        pixels: img,
        input: inputs[b],
        stemPre: stemPre[b],
        stemMask: stemMask[b],
        stem: stem[b],
        units: traces[b],
        pooled,
        logits,
      };
    });
  });
}
