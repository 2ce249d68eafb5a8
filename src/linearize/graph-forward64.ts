/**
 * The float64 forward pass of any NetworkGraph (model/graph.ts), recording at every layer what its
 * linearization needs: a ReLU's 0/1 mask (pre-activation > 0, so relu'(0) = 0 as in autograd) and a
 * max-pool's argmax. This is the point `linearize` (graph-linearize.ts) takes the Jacobian at.
 *
 *   x      = (pixels - mean) / std            per channel (omitted without a normalization)
 *   h_0    = stem(x)
 *   h_k+1  = post(alpha_k s_k + body_k(p)),  p = pre(h_k), s_k = shortcut(h_k or p)   (graph.ts)
 *   logits = head(h_N)
 *
 * with every conv weight of a body times beta_k (the paper's residual-weight scale). Convolutions and
 * max-pools run in the WASM kernels (conv2dForwardF64, maxPool2dForwardF64, optionAShortcutF64), the
 * rest in plain f64, from the float32 parameters widened exactly (PyTorch's `model.double()`).
 *
 * Accuracy: each value is a chain of sums of at most K*K*C products per layer in f64 (conv2d.ts);
 * logits agree with PyTorch float64 to ~1e-13 relative (tested: 1e-9). Masks agree with any other
 * float64 evaluation except where a pre-activation is within rounding of zero.
 */
import type { Layer, NetworkGraph, ResidualUnitGraph, Shape3 } from '../model/graph.js';
import type { Normalization } from '../model/types.js';
import { InputError } from '../util/errors.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';
import { checkGraphShapes, layerOutputShape } from './graph-geometry.js';
import { batchNormAffine } from './parameters.js';

/** One layer at the point: its shapes, and what its Jacobian depends on. */
export interface LayerPoint {
  layer: Layer;
  inShape: Shape3;
  outShape: Shape3;
  /** ReLU: pre-activation > 0 (u8 per entry). */
  mask?: Uint8Array;
  /** Max-pool: flat argmax within its input plane, one per output (pool.ts). */
  index?: Int32Array;
}

export interface GraphUnitTrace {
  /** h_k, the unit's input. */
  input: Float64Array;
  pre: LayerPoint[];
  body: LayerPoint[];
  shortcut: LayerPoint[];
  post: LayerPoint[];
  /** h_k+1. */
  output: Float64Array;
}

export interface GraphTrajectory64 {
  precision: 'f64';
  graph: NetworkGraph;
  /** Skip scale and residual-weight scale per unit, as used. */
  alpha: Float64Array;
  beta: Float64Array;
  /** Per-channel mean and std the input was normalized with (mean 0, std 1 without one). */
  normalization: { mean: number[]; std: number[] };
  /** The normalized input x. */
  input: Float64Array;
  stem: LayerPoint[];
  units: GraphUnitTrace[];
  head: LayerPoint[];
  logits: Float64Array;
}

export interface GraphForwardOptions {
  /** Input normalization (pixels - mean) / std per channel; default none. */
  normalization?: Normalization | { mean: number[]; std: number[] };
  /** Skip scale: one number for all units or one per unit (default 1). */
  alpha?: number | ArrayLike<number>;
  /** Residual-weight scale, likewise (default 1). */
  beta?: number | ArrayLike<number>;
  kernels?: Kernels;
}

/** One scale per unit from a number or a list. Errors: InputError for a wrong length or a non-finite value. */
export function unitScales(value: number | ArrayLike<number> | undefined, units: number, what: string): Float64Array {
  const out = new Float64Array(units);
  if (value === undefined || typeof value === 'number') out.fill(value ?? 1);
  else {
    if (value.length !== units) throw new InputError(`${what} has ${value.length} entries, the network has ${units} units`);
    for (let i = 0; i < units; i++) out[i] = value[i];
  }
  for (const v of out) if (!Number.isFinite(v)) throw new InputError(`${what} must be finite, got ${v}`);
  return out;
}

function size(shape: Shape3): number {
  return shape[0] * shape[1] * shape[2];
}

/**
 * Apply one layer in f64 (beta multiplies a conv's weight, not its bias: the residual-weight scale),
 * returning its output and its point.
 */
function runLayer(kernels: Kernels, layer: Layer, x: Float64Array, inShape: Shape3, beta: number, where: string): [Float64Array, LayerPoint] {
  const outShape = layerOutputShape(layer, inShape, where);
  const [c, h, w] = inShape;
  const plane = h * w;
  const point: LayerPoint = { layer, inShape, outShape };
  const out = new Float64Array(size(outShape));
  switch (layer.op) {
    case 'conv':
      kernels.scope((s) => {
        const weight = Float64Array.from(layer.weight, (v) => beta * v);
        const y = s.allocF64(out.length);
        kernels.exports.conv2dForwardF64(s.copyIn(x), 1, c, h, w, s.copyIn(weight), layer.outChannels, layer.kernel, layer.stride, layer.padding, y);
        out.set(kernels.f64(y, out.length));
      });
      if (layer.bias) {
        const p = outShape[1] * outShape[2];
        for (let i = 0; i < out.length; i++) out[i] += layer.bias[Math.floor(i / p)];
      }
      break;
    case 'bn': {
      const { scale, shift } = batchNormAffine(layer.params, 'f64');
      for (let i = 0; i < out.length; i++) {
        const ch = Math.floor(i / plane);
        out[i] = scale[ch] * x[i] + shift[ch];
      }
      break;
    }
    case 'relu': {
      const mask = new Uint8Array(x.length);
      for (let i = 0; i < x.length; i++) {
        mask[i] = x[i] > 0 ? 1 : 0;
        out[i] = x[i] > 0 ? x[i] : 0;
      }
      point.mask = mask;
      break;
    }
    case 'maxpool':
      kernels.scope((s) => {
        const y = s.allocF64(out.length);
        const index = s.allocBytes(4 * out.length);
        kernels.exports.maxPool2dForwardF64(s.copyIn(x), 1, c, h, w, layer.kernel, layer.stride, layer.padding, y, index);
        out.set(kernels.f64(y, out.length));
        point.index = new Int32Array(kernels.memory.buffer, index, out.length).slice();
      });
      break;
    case 'option-a':
      kernels.scope((s) => {
        const y = s.allocF64(out.length);
        kernels.exports.optionAShortcutF64(s.copyIn(x), 1, c, h, w, layer.outChannels, layer.stride, y);
        out.set(kernels.f64(y, out.length));
      });
      break;
    case 'avgpool':
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let i = 0; i < plane; i++) sum += x[ch * plane + i];
        out[ch] = sum / plane;
      }
      break;
    case 'linear':
      for (let o = 0; o < layer.outFeatures; o++) {
        let sum = 0;
        for (let i = 0; i < layer.inFeatures; i++) sum += layer.weight[o * layer.inFeatures + i] * x[i];
        out[o] = sum + layer.bias[o];
      }
      break;
  }
  return [out, point];
}

/** Run a list of layers; returns the output and the layers' points. */
export function runLayers(
  kernels: Kernels, layers: Layer[], x: Float64Array, shape: Shape3, beta: number, where: string,
): { output: Float64Array; points: LayerPoint[]; shape: Shape3 } {
  const points: LayerPoint[] = [];
  let h = x;
  let s = shape;
  layers.forEach((layer, i) => {
    const [next, point] = runLayer(kernels, layer, h, s, beta, `${where} layer ${i}`);
    points.push(point);
    h = next;
    s = point.outShape;
  });
  return { output: h, points, shape: s };
}

/** One residual unit on input x with scales alpha, beta: its output and trace. */
export function runUnit(kernels: Kernels, unit: ResidualUnitGraph, x: Float64Array, alpha: number, beta: number): GraphUnitTrace {
  const where = `unit ${unit.stage}.${unit.indexInStage + 1}`;
  const pre = runLayers(kernels, unit.pre, x, unit.inShape, 1, `${where} pre`);
  const body = runLayers(kernels, unit.body, pre.output, pre.shape, beta, `${where} body`);
  const from = unit.shortcutFrom === 'pre' ? pre : { output: x, shape: unit.inShape };
  const shortcut = runLayers(kernels, unit.shortcut, from.output, from.shape, 1, `${where} shortcut`);
  const sum = new Float64Array(body.output.length);
  for (let i = 0; i < sum.length; i++) sum[i] = alpha * shortcut.output[i] + body.output[i];
  const post = runLayers(kernels, unit.post, sum, body.shape, 1, `${where} post`);
  return { input: x, pre: pre.points, body: body.points, shortcut: shortcut.points, post: post.points, output: post.output };
}

/**
 * GRAPHTRAJECTORY64: the float64 forward pass of `graph` on one image (C x H x W values, the graph's
 * input shape; pixels when a normalization is given, else the network input itself), with every
 * layer's point. Errors: InputError for an image of the wrong size or with a non-finite value, scales
 * of the wrong length, or a graph whose layers do not fit together (naming the first misfit).
 */
export async function graphTrajectory64(
  graph: NetworkGraph, image: ArrayLike<number>, options: GraphForwardOptions = {},
): Promise<GraphTrajectory64> {
  checkGraphShapes(graph);
  const [c, h, w] = graph.inputShape;
  if (image.length !== c * h * w) throw new InputError(`an image must be ${c}x${h}x${w} = ${c * h * w} values, got ${image.length}`);
  for (let i = 0; i < image.length; i++) {
    if (!Number.isFinite(image[i])) throw new InputError(`image value ${i} is not finite (${image[i]})`);
  }
  const kernels = options.kernels ?? (await loadKernels());
  const units = graph.units.length;
  const alpha = unitScales(options.alpha, units, 'alpha');
  const beta = unitScales(options.beta, units, 'beta');
  const mean = options.normalization ? Array.from(options.normalization.mean) : new Array<number>(c).fill(0);
  const std = options.normalization ? Array.from(options.normalization.std) : new Array<number>(c).fill(1);
  if (mean.length !== c || std.length !== c || std.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new InputError(`normalization needs ${c} means and ${c} positive stds`);
  }
  const plane = h * w;
  const input = Float64Array.from({ length: c * plane }, (_, i) => (image[i] - mean[Math.floor(i / plane)]) / std[Math.floor(i / plane)]);
  const stem = runLayers(kernels, graph.stem, input, graph.inputShape, 1, 'stem');
  let x = stem.output;
  const traces = graph.units.map((unit, k) => {
    const trace = runUnit(kernels, unit, x, alpha[k], beta[k]);
    x = trace.output;
    return trace;
  });
  const last = graph.units.length ? graph.units[graph.units.length - 1].outShape : stem.shape;
  const head = runLayers(kernels, graph.head, x, last, 1, 'head');
  return {
    precision: 'f64', graph, alpha, beta, normalization: { mean, std }, input,
    stem: stem.points, units: traces, head: head.points, logits: head.output,
  };
}
