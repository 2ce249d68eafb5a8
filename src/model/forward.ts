/**
 * The forward pass on the tfjs WebAssembly backend, batched, with the trajectory the linearization needs.
 *
 * Batch norm is folded into the convolutions once per (weights, beta): conv(h, beta*W) * s + c with
 * s = gamma / sqrt(var + eps), c = bias - mean * s, so a unit is two fused convolutions, a shortcut
 * (identity, or option A: h[:, ::2, ::2, :] zero-padded in channels), a scaled add and a relu.
 * tfjs works in NHWC; inputs and trajectories cross this module's boundary in C x H x W order.
 *
 * Any other family (a graph-only model, model.ts) runs its NetworkGraph layer by layer here too when a
 * trajectory or a pixel gradient is asked for (graphNetwork below); its plain logits come from
 * graph-forward.ts.
 */
import type * as tfTypes from '@tensorflow/tfjs-core';
import { InputError } from '../util/errors.js';
import { initBackend } from './backend.js';
import { graphForward, graphLogits, graphNetwork, releaseCompiledGraph, stridedAdjoint } from './graph-forward.js';
import type { ResNetModel } from './model.js';
import type { Trajectory, UnitTrace } from './trajectory.js';
import type { BatchNormParams, Conv3x3Params } from './types.js';

type Tf = typeof tfTypes;
type Tensor4D = tfTypes.Tensor4D;

interface FoldedConv {
  filter: tfTypes.Tensor4D; // HWIO
  /** The adjoint's filter for stride 1: rotated by 180 degrees, input and output channels swapped. */
  adjointFilter: tfTypes.Tensor4D;
  bias: tfTypes.Tensor1D;
  stride: 1 | 2;
}

interface BackendNetwork {
  stem: FoldedConv;
  units: { conv1: FoldedConv; conv2: FoldedConv; shortcut?: tfTypes.Tensor4D; alpha: number }[];
  classifierWeight: tfTypes.Tensor2D; // [64, classes]
  classifierBias: tfTypes.Tensor1D;
  mean: tfTypes.Tensor1D;
  invStd: tfTypes.Tensor1D;
}

/** BN folded into a conv: filter'[o] = scale * s[o] * W[o], bias[o] = beta_bn[o] - mean[o] * s[o]. */
function foldConv(tf: Tf, conv: Conv3x3Params, bn: BatchNormParams, scale: number): FoldedConv {
  const { outChannels: co, inChannels: ci, weight } = conv;
  const hwio = new Float32Array(9 * ci * co);
  const bias = new Float32Array(co);
  for (let o = 0; o < co; o++) {
    const s = bn.weight[o] / Math.sqrt(bn.runningVar[o] + bn.eps);
    bias[o] = bn.bias[o] - bn.runningMean[o] * s;
    for (let i = 0; i < ci; i++) {
      for (let k = 0; k < 9; k++) hwio[(k * ci + i) * co + o] = scale * s * weight[(o * ci + i) * 9 + k];
    }
  }
  const adjoint = new Float32Array(9 * ci * co);
  for (let k = 0; k < 9; k++) {
    for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) adjoint[((8 - k) * co + o) * ci + i] = hwio[(k * ci + i) * co + o];
  }
  return {
    filter: tf.tensor4d(hwio, [3, 3, ci, co]),
    adjointFilter: tf.tensor4d(adjoint, [3, 3, co, ci]),
    bias: tf.tensor1d(bias),
    stride: conv.stride,
  };
}

const networks = new Map<string, BackendNetwork>();

function backendNetwork(tf: Tf, model: ResNetModel): BackendNetwork {
  const key = model.fingerprint;
  let net = networks.get(key);
  if (net) return net;
  const p = model.params;
  net = {
    stem: foldConv(tf, p.stem.conv, p.stem.bn, 1),
    units: p.units.map((u, i) => ({
      conv1: foldConv(tf, u.conv1, u.bn1, model.beta[i]),
      conv2: foldConv(tf, u.conv2, u.bn2, model.beta[i]),
      shortcut: shortcutSelection(tf, u.inChannels, u.outChannels),
      alpha: model.alpha[i],
    })),
    classifierWeight: tf.transpose(tf.tensor2d(p.classifier.weight, [p.classifier.outFeatures, p.classifier.inFeatures])),
    classifierBias: tf.tensor1d(p.classifier.bias),
    mean: tf.tensor1d(model.normalization.mean),
    invStd: tf.tensor1d(model.normalization.std.map((s) => 1 / s)),
  };
  // The cache outlives any tf.tidy scope that happens to create it.
  for (const t of [
    ...[net.stem, ...net.units.flatMap((u) => [u.conv1, u.conv2])].flatMap((c) => [c.filter, c.adjointFilter, c.bias]),
    ...net.units.flatMap((u) => (u.shortcut ? [u.shortcut] : [])),
    net.classifierWeight, net.classifierBias, net.mean, net.invStd,
  ]) {
    tf.keep(t);
  }
  networks.set(key, net);
  return net;
}

/** Release the backend tensors cached for a model (all scalings of its weights). */
export function releaseBackendNetwork(model: ResNetModel): void {
  releaseCompiledGraph(model);
  for (const [key, net] of networks) {
    if (!key.startsWith(`${model.weightsId}:`)) continue;
    const convs = [net.stem, ...net.units.flatMap((u) => [u.conv1, u.conv2])];
    for (const c of convs) {
      c.filter.dispose();
      c.adjointFilter.dispose();
      c.bias.dispose();
    }
    for (const u of net.units) u.shortcut?.dispose();
    for (const t of [net.classifierWeight, net.classifierBias, net.mean, net.invStd]) t.dispose();
    networks.delete(key);
  }
}


const SYMMETRIC_PAD: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];

/**
 * conv + folded BN (+ relu). The `differentiable` form carries its own input gradient: tfjs' fused
 * kernel gradient also computes the filter gradient (Conv2DBackpropFilter, absent from the wasm
 * backend), and its Conv2DBackpropInput kernel is far slower than a forward convolution. For stride 1
 * the adjoint of a 3x3 convolution with padding 1 is the forward convolution with the rotated,
 * channel-swapped filter (on the Winograd kernel, backend.ts); stride 2 spreads dy onto the stride-1
 * grid first (graph-forward.ts stridedAdjoint).
 */
function conv(tf: Tf, x: Tensor4D, c: FoldedConv, relu: boolean, differentiable = false): Tensor4D {
  if (differentiable) {
    // The convolution (with its bias) gets the custom adjoint; the relu keeps tfjs' own gradient.
    const withGradient = (input: tfTypes.Tensor) => ({
      value: conv(tf, input as Tensor4D, c, false),
      gradFunc: (dy: tfTypes.Tensor) => stridedAdjoint(tf, dy as Tensor4D, c.adjointFilter, c.stride, 3, 1, (input as Tensor4D).shape),
    });
    const y = tf.customGrad(withGradient as unknown as Parameters<Tf['customGrad']>[0])(x) as Tensor4D;
    return relu ? tf.relu(y) : y;
  }
  return tf.fused.conv2d({
    x,
    filter: c.filter,
    strides: c.stride,
    // Explicit symmetric padding 1: tfjs 'same' pads stride-2 convolutions asymmetrically, PyTorch does not.
    pad: SYMMETRIC_PAD,
    bias: c.bias,
    activation: relu ? 'relu' : 'linear',
  }) as Tensor4D;
}

/**
 * Option-A shortcut S(h) = h[:, ::2, ::2, :] zero-padded with `pad` channels on each side, as one
 * 1x1 stride-2 convolution with a 0/1 selection filter: exact, and differentiable on the wasm backend
 * (tfjs has no StridedSlice gradient).
 */
function optionAShortcut(tf: Tf, h: Tensor4D, unit: BackendNetwork['units'][number]): Tensor4D {
  return unit.shortcut ? tf.conv2d(h, unit.shortcut, 2, 'valid') : h;
}

function shortcutSelection(tf: Tf, inChannels: number, outChannels: number): tfTypes.Tensor4D | undefined {
  if (inChannels === outChannels) return undefined;
  const pad = (outChannels - inChannels) / 2;
  const filter = new Float32Array(inChannels * outChannels);
  for (let c = 0; c < inChannels; c++) filter[c * outChannels + c + pad] = 1;
  return tf.tensor4d(filter, [1, 1, inChannels, outChannels]);
}

/** Normalized NHWC input from pixels in [0,1], given as B images of 3x32x32 (CHW). */
function normalizedInput(tf: Tf, net: BackendNetwork, pixels: Float32Array, batch: number): Tensor4D {
  const nchw = tf.tensor4d(pixels, [batch, 3, 32, 32]);
  return tf.mul(tf.sub(tf.transpose(nchw, [0, 2, 3, 1]), net.mean), net.invStd) as Tensor4D;
}

/** Logits from normalized NHWC input; `differentiable` for gradients (attacks, checks). */
export function logitsFromNormalized(tf: Tf, model: ResNetModel, x: Tensor4D, differentiable = false): tfTypes.Tensor2D {
  const net = backendNetwork(tf, model);
  let h = conv(tf, x, net.stem, true, differentiable);
  for (const unit of net.units) {
    const z = conv(tf, h, unit.conv1, true, differentiable);
    const a2 = conv(tf, z, unit.conv2, false, differentiable);
    const shortcut = optionAShortcut(tf, h, unit);
    h = tf.relu(unit.alpha === 1 ? tf.add(shortcut, a2) : tf.add(tf.mul(shortcut, unit.alpha), a2)) as Tensor4D;
  }
  const pooled = tf.mean(h, [1, 2]) as tfTypes.Tensor2D;
  return tf.add(tf.matMul(pooled, net.classifierWeight), net.classifierBias) as tfTypes.Tensor2D;
}

/**
 * Differentiable logits from pixels in [0,1] given as an NCHW tensor (gradients w.r.t. pixels), of a
 * model of any family.
 */
export function logitsFromPixels(tf: Tf, model: ResNetModel, pixelsNCHW: tfTypes.Tensor4D): tfTypes.Tensor2D {
  if (!model.hasParams) return graphForward(tf, model, pixelsNCHW, true);
  const net = backendNetwork(tf, model);
  const x = tf.mul(tf.sub(tf.transpose(pixelsNCHW, [0, 2, 3, 1]), net.mean), net.invStd) as Tensor4D;
  return logitsFromNormalized(tf, model, x, true);
}

export const IMAGE_VALUES = 3 * 32 * 32;

/** The number of images in `pixels`, after checking it holds whole images of `shape`, all finite. */
function checkPixels(pixels: Float32Array, shape: readonly number[] = [3, 32, 32]): number {
  const values = shape.reduce((a, b) => a * b, 1);
  if (pixels.length === 0 || pixels.length % values !== 0) {
    throw new InputError(`images must be a multiple of ${shape.join('x')} = ${values} values, got ${pixels.length}`);
  }
  for (let i = 0; i < pixels.length; i++) {
    if (!Number.isFinite(pixels[i])) {
      throw new InputError(`image ${Math.floor(i / values)} has a non-finite pixel (${pixels[i]}) at offset ${i % values}`);
    }
  }
  return pixels.length / values;
}

/**
 * Logits for B images (pixels in [0,1], B x 3 x H x W CHW, H x W the model's input size): B x classes,
 * row-major. The paper's family runs its fused path, any other network graph-forward.ts.
 */
export async function predictLogits(model: ResNetModel, pixels: Float32Array): Promise<Float32Array> {
  const tf = await initBackend();
  const batch = checkPixels(pixels, model.inputShape);
  const logits = model.hasParams
    ? tf.tidy(() => logitsFromNormalized(tf, model, normalizedInput(tf, backendNetwork(tf, model), pixels, batch)))
    : tf.tidy(() => graphLogits(tf, model, pixels, batch));
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
  }
}

/** NHWC tensor -> per-image C x H x W arrays. */
async function toImagesCHW(tf: Tf, t: Tensor4D): Promise<Float32Array[]> {
  const [b, h, w, c] = t.shape;
  const nchw = tf.transpose(t, [0, 3, 1, 2]);
  const data = (await nchw.data()) as Float32Array;
  nchw.dispose();
  const size = c * h * w;
  return Array.from({ length: b }, (_, i) => data.slice(i * size, (i + 1) * size));
}

function positiveMask(values: Float32Array): Uint8Array {
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) mask[i] = values[i] > 0 ? 1 : 0;
  return mask;
}

/**
 * The forward pass with its trajectory for B images (pixels in [0,1], CHW): the stem output and, for
 * each unit, input h, hidden mask D_mid (a1 > 0, read off relu(a1) > 0), output mask D_out
 * (alpha*S(h) + a2 > 0, read off h' > 0) and output h'.
 *
 * Any other family (images of the model's input shape): the same states (normalized input, stem
 * output, each unit's input and output, logits), with empty masks — its units are not the paper's
 * two-mask form, and its linearization takes the float64 point (linearize/model-point.ts) instead.
 */
export async function forwardTrajectories(model: ResNetModel, pixels: Float32Array): Promise<Trajectory[]> {
  const tf = await initBackend();
  if (!model.hasParams) return graphTrajectories(tf, model, pixels);
  const batch = checkPixels(pixels);
  const net = backendNetwork(tf, model);
  const keep: Tensor4D[] = [];
  const kept = <T extends Tensor4D>(t: T): T => {
    keep.push(t);
    return t;
  };
  try {
    const { input, stem, hidden, outputs, logits } = tf.tidy(() => {
      const input = tf.keep(normalizedInput(tf, net, pixels, batch));
      const stem = tf.keep(conv(tf, input, net.stem, true));
      let h = stem;
      const hidden: Tensor4D[] = [];
      const outputs: Tensor4D[] = [];
      for (const unit of net.units) {
        const z = conv(tf, h, unit.conv1, true);
        const a2 = conv(tf, z, unit.conv2, false);
        const shortcut = optionAShortcut(tf, h, unit);
        h = tf.relu(tf.add(tf.mul(shortcut, unit.alpha), a2)) as Tensor4D;
        hidden.push(tf.keep(z));
        outputs.push(tf.keep(h));
      }
      const pooled = tf.mean(h, [1, 2]) as tfTypes.Tensor2D;
      const logits = tf.keep(tf.add(tf.matMul(pooled, net.classifierWeight), net.classifierBias));
      return { input, stem, hidden, outputs, logits };
    });
    [input, stem, ...hidden, ...outputs].forEach(kept);
    const inputs = await toImagesCHW(tf, input);
    const stems = await toImagesCHW(tf, stem);
    const hiddenPerUnit = await Promise.all(hidden.map((t) => toImagesCHW(tf, t)));
    const outputPerUnit = await Promise.all(outputs.map((t) => toImagesCHW(tf, t)));
    const logitData = (await logits.data()) as Float32Array;
    const classes = model.params.numClasses;
    logits.dispose();
    return Array.from({ length: batch }, (_, b) => {
      const units: UnitTrace[] = model.params.units.map((_, u) => ({
        input: u === 0 ? stems[b] : outputPerUnit[u - 1][b],
        hiddenMask: positiveMask(hiddenPerUnit[u][b]),
        outputMask: positiveMask(outputPerUnit[u][b]),
        output: outputPerUnit[u][b],
      }));
      return {
        modelFingerprint: model.fingerprint,
        input: inputs[b],
        stem: stems[b],
        units,
        logits: logitData.slice(b * classes, (b + 1) * classes),
      };
    });
  } finally {
    for (const t of keep) t.dispose();
  }
}

/** forwardTrajectories for a graph-only model (see there). */
async function graphTrajectories(tf: Tf, model: ResNetModel, pixels: Float32Array): Promise<Trajectory[]> {
  const batch = checkPixels(pixels, model.inputShape);
  const [c, h, w] = model.inputShape;
  const states: Tensor4D[] = [];
  const { input, logits } = tf.tidy(() => {
    const nchw = tf.tensor4d(pixels, [batch, c, h, w]);
    const net = graphNetwork(tf, model);
    const input = tf.keep(tf.mul(tf.sub(tf.transpose(nchw, [0, 2, 3, 1]), net.mean), net.invStd) as Tensor4D);
    const collected: Tensor4D[] = [];
    const logits = tf.keep(graphForward(tf, model, nchw, false, collected));
    for (const t of collected) states.push(tf.keep(t));
    return { input, logits };
  });
  try {
    const inputs = await toImagesCHW(tf, input);
    const perState = await Promise.all(states.map((t) => toImagesCHW(tf, t)));
    const logitData = (await logits.data()) as Float32Array;
    const classes = model.numClasses;
    const empty = new Uint8Array(0);
    return Array.from({ length: batch }, (_, b) => ({
      modelFingerprint: model.fingerprint,
      input: inputs[b],
      stem: perState[0][b],
      units: model.graph.units.map((_, u): UnitTrace => ({
        input: perState[u][b], hiddenMask: empty, outputMask: empty, output: perState[u + 1][b],
      })),
      logits: logitData.slice(b * classes, (b + 1) * classes),
    }));
  } finally {
    for (const t of [input, logits, ...states]) t.dispose();
  }
}
