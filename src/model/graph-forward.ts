/**
 * The float32 forward pass of any NetworkGraph (./graph.ts) on the tfjs WebAssembly backend: logits
 * for a batch of images, layer by layer as the graph lists them (conv with stride and padding, eval
 * batch norm as a per-channel scale and shift, ReLU, max-pool, option-A shortcut, global average pool,
 * linear), with the model's skip scale alpha and residual-weight scale beta. tfjs works in NHWC;
 * images cross this module's boundary as B x 3 x H x W (CHW per image), pixels in [0, 1].
 *
 * The same steps serve gradients (`differentiable`: convolutions carry their own input gradient, for
 * FGSM/PGD) and trajectories (`states`). The paper's family keeps its own fused path (forward.ts).
 */
import type * as tfTypes from '@tensorflow/tfjs-core';
import type { Layer } from './graph.js';
import type { ResNetModel } from './model.js';

type Tf = typeof tfTypes;
type Tensor4D = tfTypes.Tensor4D;

/** A graph layer on the backend: a function of the NHWC activation, with a cheap input gradient when asked. */
type GraphStep = (x: Tensor4D, differentiable: boolean) => Tensor4D;

export interface GraphNetwork {
  stem: GraphStep[];
  units: { pre: GraphStep[]; body: GraphStep[]; shortcut: GraphStep[]; shortcutFrom: 'input' | 'pre'; post: GraphStep[]; alpha: number }[];
  /** Head layers before the global average pool (BN, ReLU). */
  headMaps: GraphStep[];
  classifierWeight: tfTypes.Tensor2D; // [in, classes]
  classifierBias: tfTypes.Tensor1D;
  mean: tfTypes.Tensor1D;
  invStd: tfTypes.Tensor1D;
  tensors: tfTypes.Tensor[];
}

const graphNetworks = new Map<string, GraphNetwork>();

/**
 * The input gradient of a KxK convolution with stride S and padding P <= K - 1 as a stride-1
 * convolution: a stride-S convolution is the stride-1 one sampled at every S-th row and column, so
 * its adjoint spreads dy onto the stride-1 output grid (zeros between) and applies the stride-1
 * adjoint, the convolution with `adjoint` (the rotated, channel-swapped filter) and padding K-1-P.
 * For S = 2 this does 4x the multiply-adds of conv2dTranspose but runs on the Winograd kernel
 * (backend.ts), which tfjs' Conv2DBackpropInput on the wasm backend is far slower than.
 */
export function stridedAdjoint(
  tf: Tf, dy: Tensor4D, adjoint: Tensor4D, stride: number, k: number, p: number, inShape: [number, number, number, number],
): Tensor4D {
  const back = k - 1 - p;
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [back, back], [back, back], [0, 0]];
  if (stride === 1) return tf.conv2d(dy, adjoint, 1, pad);
  const [b, ho, wo, c] = dy.shape;
  const s = stride;
  // dy[y, x] to (S*y, S*x) of the stride-1 grid (H + 2P - K + 1 square), zeros elsewhere.
  const wide = tf.reshape(tf.concat([tf.expandDims(dy, 3), tf.zeros([b, ho, wo, s - 1, c])], 3), [b, ho, wo * s, c]);
  const tall = tf.reshape(tf.concat([tf.expandDims(wide, 2), tf.zeros([b, ho, s - 1, wo * s, c])], 2), [b, ho * s, wo * s, c]);
  const full = tf.slice(tall, [0, 0, 0, 0], [b, inShape[1] + 2 * p - k + 1, inShape[2] + 2 * p - k + 1, c]);
  return tf.conv2d(full as Tensor4D, adjoint, 1, pad);
}

/**
 * One graph layer as a step; conv weights times `scale` (beta inside a body). A differentiable conv
 * carries its own input gradient (see `conv` below): for stride 1 the forward convolution with the
 * rotated, channel-swapped filter and padding K-1-P, else conv2dTranspose. The option-A shortcut is
 * a 1x1 strided selection convolution (tfjs has no StridedSlice gradient); max-pool pads with the
 * lowest float (PyTorch counts padding as -infinity) and keeps tfjs' own gradient.
 */
function graphStep(tf: Tf, layer: Layer, scale: number, tensors: tfTypes.Tensor[]): GraphStep {
  const kept = <T extends tfTypes.Tensor>(t: T): T => {
    tf.keep(t);
    tensors.push(t);
    return t;
  };
  switch (layer.op) {
    case 'conv': {
      const { inChannels: ci, outChannels: co, kernel: k, stride, padding: p, weight } = layer;
      const hwio = new Float32Array(k * k * ci * co);
      const rotated = new Float32Array(k * k * ci * co); // [k, k, co, ci], taps reversed
      for (let o = 0; o < co; o++) {
        for (let i = 0; i < ci; i++) {
          for (let t = 0; t < k * k; t++) {
            const w = scale * weight[(o * ci + i) * k * k + t]!;
            hwio[(t * ci + i) * co + o] = w;
            rotated[((k * k - 1 - t) * co + o) * ci + i] = w;
          }
        }
      }
      const filter = kept(tf.tensor4d(hwio, [k, k, ci, co]));
      const adjoint = kept(tf.tensor4d(rotated, [k, k, co, ci]));
      const bias = layer.bias ? kept(tf.tensor1d(layer.bias)) : undefined;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, p], [p, p], [0, 0]];
      const back = k - 1 - p;
      const forward = (x: Tensor4D) => tf.fused.conv2d({ x, filter, strides: stride, pad, ...(bias ? { bias } : {}) }) as Tensor4D;
      return (x, differentiable) => {
        if (!differentiable) return forward(x);
        const withGradient = (input: tfTypes.Tensor) => ({
          value: forward(input as Tensor4D),
          gradFunc: (dy: tfTypes.Tensor) =>
            back >= 0
              ? stridedAdjoint(tf, dy as Tensor4D, adjoint, stride, k, p, (input as Tensor4D).shape)
              : tf.conv2dTranspose(dy as Tensor4D, filter, (input as Tensor4D).shape, stride, p),
        });
        return tf.customGrad(withGradient as unknown as Parameters<Tf['customGrad']>[0])(x) as Tensor4D;
      };
    }
    case 'bn': {
      const { weight, bias, runningMean, runningVar, eps } = layer.params;
      const s = new Float32Array(layer.channels);
      const c = new Float32Array(layer.channels);
      for (let i = 0; i < layer.channels; i++) {
        s[i] = weight[i]! / Math.sqrt(runningVar[i]! + eps);
        c[i] = bias[i]! - runningMean[i]! * s[i]!;
      }
      const st = kept(tf.tensor1d(s));
      const ct = kept(tf.tensor1d(c));
      return (x) => tf.add(tf.mul(x, st), ct) as Tensor4D;
    }
    case 'relu':
      return (x) => tf.relu(x);
    case 'maxpool': {
      const { kernel, stride, padding: p } = layer;
      return (x) => tf.maxPool(p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], -3.4e38) : x, kernel, stride, 'valid');
    }
    case 'option-a': {
      const { inChannels: ci, outChannels: co, stride } = layer;
      const pad = (co - ci) / 2;
      const select = new Float32Array(ci * co);
      for (let c = 0; c < ci; c++) select[c * co + c + pad] = 1;
      const filter = kept(tf.tensor4d(select, [1, 1, ci, co]));
      return (x) => tf.conv2d(x, filter, stride, 'valid');
    }
    case 'avgpool':
    case 'linear':
      throw new Error(`a ${layer.op} layer belongs at the end of the head`);
  }
}

export function graphNetwork(tf: Tf, model: ResNetModel): GraphNetwork {
  const key = model.fingerprint;
  const cached = graphNetworks.get(key);
  if (cached) return cached;
  const g = model.graph;
  const tensors: tfTypes.Tensor[] = [];
  const keep = <T extends tfTypes.Tensor>(t: T): T => {
    tf.keep(t);
    tensors.push(t);
    return t;
  };
  const steps = (layers: Layer[], scale = 1) => layers.map((l) => graphStep(tf, l, l.op === 'conv' ? scale : 1, tensors));
  const last = g.head[g.head.length - 1];
  if (!last || last.op !== 'linear' || g.head[g.head.length - 2]?.op !== 'avgpool') throw new Error('a graph head must end in avgpool, linear');
  const net: GraphNetwork = {
    stem: steps(g.stem),
    units: g.units.map((u, i) => ({
      pre: steps(u.pre), body: steps(u.body, model.beta[i]), shortcut: steps(u.shortcut), shortcutFrom: u.shortcutFrom,
      post: steps(u.post), alpha: model.alpha[i]!,
    })),
    headMaps: steps(g.head.slice(0, -2)),
    classifierWeight: keep(tf.transpose(tf.tensor2d(last.weight, [last.outFeatures, last.inFeatures]))),
    classifierBias: keep(tf.tensor1d(last.bias)),
    mean: keep(tf.tensor1d(model.normalization.mean)),
    invStd: keep(tf.tensor1d(model.normalization.std.map((s) => 1 / s))),
    tensors,
  };
  graphNetworks.set(key, net);
  return net;
}

/**
 * A graph model's logits from pixels (NCHW tensor in [0, 1]); `states`, when given, receives the stem
 * output and every unit's output (NHWC). Call inside tf.tidy (or tf.grad).
 */
export function graphForward(tf: Tf, model: ResNetModel, pixelsNCHW: Tensor4D, differentiable: boolean, states?: Tensor4D[]): tfTypes.Tensor2D {
  const net = graphNetwork(tf, model);
  const run = (list: GraphStep[], x: Tensor4D) => list.reduce((h, step) => step(h, differentiable), x);
  let x = tf.mul(tf.sub(tf.transpose(pixelsNCHW, [0, 2, 3, 1]), net.mean), net.invStd) as Tensor4D;
  x = run(net.stem, x);
  states?.push(x);
  for (const unit of net.units) {
    const p = run(unit.pre, x);
    const body = run(unit.body, p);
    const skip = run(unit.shortcut, unit.shortcutFrom === 'pre' ? p : x);
    x = run(unit.post, tf.add(unit.alpha === 1 ? skip : tf.mul(skip, unit.alpha), body) as Tensor4D);
    states?.push(x);
  }
  const pooled = tf.mean(run(net.headMaps, x), [1, 2]) as tfTypes.Tensor2D;
  return tf.add(tf.matMul(pooled, net.classifierWeight), net.classifierBias) as tfTypes.Tensor2D;
}

/** Release the backend tensors compiled for a model (all scalings of its weights). */
export function releaseCompiledGraph(model: ResNetModel): void {
  for (const [key, net] of graphNetworks) {
    if (!key.startsWith(`${model.weightsId}:`)) continue;
    for (const t of net.tensors) t.dispose();
    graphNetworks.delete(key);
  }
}

/** Logits (B x classes) of B images, pixels in [0, 1] as B x 3 x H x W; call inside tf.tidy. */
export function graphLogits(tf: Tf, model: ResNetModel, pixels: Float32Array, batch: number): tfTypes.Tensor2D {
  const [c, h, w] = model.inputShape;
  return graphForward(tf, model, tf.tensor4d(pixels, [batch, c, h, w]), false);
}
