/**
 * The float32 forward pass of any NetworkGraph (./graph.ts) on the tfjs WebAssembly backend: logits
 * for a batch of images, layer by layer as the graph lists them (conv with stride and padding, eval
 * batch norm as a per-channel scale and shift, ReLU, max-pool, option-A shortcut, global average pool,
 * linear), with the model's skip scale alpha and residual-weight scale beta. tfjs works in NHWC;
 * images cross this module's boundary as B x 3 x H x W (CHW per image), pixels in [0, 1].
 *
 * The paper's family keeps its own fused path (forward.ts), which also records trajectories.
 */
import type * as tfTypes from '@tensorflow/tfjs-core';
import type { Layer } from './graph.js';
import type { ResNetModel } from './model.js';

type Tf = typeof tfTypes;
type Tensor4D = tfTypes.Tensor4D;

/** A layer made ready for the backend: a function of the NHWC activation. */
type Step = (x: Tensor4D) => Tensor4D;

interface CompiledGraph {
  stem: Step[];
  units: { pre: Step[]; body: Step[]; shortcut: Step[]; shortcutFrom: 'input' | 'pre'; post: Step[]; alpha: number }[];
  /** Head layers up to the global average pool (BN, ReLU). */
  headMaps: Step[];
  classifierWeight: tfTypes.Tensor2D; // [in, classes]
  classifierBias: tfTypes.Tensor1D;
  mean: tfTypes.Tensor1D;
  invStd: tfTypes.Tensor1D;
  tensors: tfTypes.Tensor[];
}

const compiled = new Map<string, CompiledGraph>();

/** The layer as a step; conv weights times `scale` (beta for residual-branch convs). */
function compileLayer(tf: Tf, layer: Layer, scale: number, tensors: tfTypes.Tensor[]): Step {
  const kept = <T extends tfTypes.Tensor>(t: T): T => {
    tf.keep(t);
    tensors.push(t);
    return t;
  };
  switch (layer.op) {
    case 'conv': {
      const { inChannels: ci, outChannels: co, kernel: k, stride, padding: p, weight } = layer;
      const hwio = new Float32Array(k * k * ci * co);
      for (let o = 0; o < co; o++) {
        for (let i = 0; i < ci; i++) {
          for (let t = 0; t < k * k; t++) hwio[(t * ci + i) * co + o] = scale * weight[(o * ci + i) * k * k + t]!;
        }
      }
      const filter = kept(tf.tensor4d(hwio, [k, k, ci, co]));
      const bias = layer.bias ? kept(tf.tensor1d(layer.bias)) : undefined;
      // Explicit symmetric padding: tfjs 'same' pads stride-2 convolutions asymmetrically, PyTorch does not.
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, p], [p, p], [0, 0]];
      return (x) => tf.fused.conv2d({ x, filter, strides: stride, pad, ...(bias ? { bias } : {}) }) as Tensor4D;
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
      // Padding counts as -infinity (PyTorch): pad with the lowest float, then pool without padding.
      return (x) => tf.maxPool(p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], -3.4e38) : x, kernel, stride, 'valid');
    }
    case 'option-a': {
      const { inChannels, outChannels, stride } = layer;
      const pad = (outChannels - inChannels) / 2;
      return (x) => {
        const [b, h, w, c] = x.shape;
        const sampled = tf.stridedSlice(x, [0, 0, 0, 0], [b, h, w, c], [1, stride, stride, 1]) as Tensor4D;
        return pad > 0 ? tf.pad(sampled, [[0, 0], [0, 0], [0, 0], [pad, pad]]) : sampled;
      };
    }
    case 'avgpool':
    case 'linear':
      throw new Error(`a ${layer.op} layer belongs at the end of the head`);
  }
}

function compile(tf: Tf, model: ResNetModel): CompiledGraph {
  const key = model.fingerprint;
  const cached = compiled.get(key);
  if (cached) return cached;
  const g = model.graph;
  const tensors: tfTypes.Tensor[] = [];
  const steps = (layers: Layer[], scale = 1) => layers.map((l) => compileLayer(tf, l, l.op === 'conv' ? scale : 1, tensors));
  const last = g.head[g.head.length - 1];
  if (!last || last.op !== 'linear' || g.head[g.head.length - 2]?.op !== 'avgpool') throw new Error('a graph head must end in avgpool, linear');
  const keep = <T extends tfTypes.Tensor>(t: T): T => {
    tf.keep(t);
    tensors.push(t);
    return t;
  };
  const net: CompiledGraph = {
    stem: steps(g.stem),
    units: g.units.map((u, i) => ({
      pre: steps(u.pre),
      body: steps(u.body, model.beta[i]),
      shortcut: steps(u.shortcut),
      shortcutFrom: u.shortcutFrom,
      post: steps(u.post),
      alpha: model.alpha[i]!,
    })),
    headMaps: steps(g.head.slice(0, -2)),
    classifierWeight: keep(tf.transpose(tf.tensor2d(last.weight, [last.outFeatures, last.inFeatures]))),
    classifierBias: keep(tf.tensor1d(last.bias)),
    mean: keep(tf.tensor1d(model.normalization.mean)),
    invStd: keep(tf.tensor1d(model.normalization.std.map((s) => 1 / s))),
    tensors,
  };
  compiled.set(key, net);
  return net;
}

/** Release the backend tensors compiled for a model (all scalings of its weights). */
export function releaseCompiledGraph(model: ResNetModel): void {
  for (const [key, net] of compiled) {
    if (!key.startsWith(`${model.weightsId}:`)) continue;
    for (const t of net.tensors) t.dispose();
    compiled.delete(key);
  }
}

const run = (steps: Step[], x: Tensor4D): Tensor4D => steps.reduce((h, step) => step(h), x);

/** Logits (B x classes) of B images, pixels in [0, 1] as B x 3 x H x W; call inside tf.tidy. */
export function graphLogits(tf: Tf, model: ResNetModel, pixels: Float32Array, batch: number): tfTypes.Tensor2D {
  const net = compile(tf, model);
  const [c, h, w] = model.inputShape;
  const nchw = tf.tensor4d(pixels, [batch, c, h, w]);
  let x = tf.mul(tf.sub(tf.transpose(nchw, [0, 2, 3, 1]), net.mean), net.invStd) as Tensor4D;
  x = run(net.stem, x);
  for (const unit of net.units) {
    const p = run(unit.pre, x);
    const body = run(unit.body, p);
    const skip = run(unit.shortcut, unit.shortcutFrom === 'pre' ? p : x);
    x = run(unit.post, tf.add(unit.alpha === 1 ? skip : tf.mul(skip, unit.alpha), body) as Tensor4D);
  }
  const pooled = tf.mean(run(net.headMaps, x), [1, 2]) as tfTypes.Tensor2D;
  return tf.add(tf.matMul(pooled, net.classifierWeight), net.classifierBias) as tfTypes.Tensor2D;
}
