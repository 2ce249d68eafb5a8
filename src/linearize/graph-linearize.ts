/**
 * The linearization of any residual network (model/graph.ts) at a float64 point (graph-forward64.ts):
 * the exact Jacobian of one unit, a stage, a range of units or the whole network (pixels -> logits),
 * as a JacobianOperator built from one WASM operator per layer (assembly/layer-operators.ts):
 *
 *   unit     J = Post (alpha S + Body Pre)        shortcut read from the unit input
 *            J = Post (alpha S + Body) Pre        shortcut read from the pre-activation
 *   range    J_last ... J_first                   (a stage: its units)
 *   network  Head J_{N-1} ... J_0 Stem N          N = diag(1/std) of the input normalization
 *   stem     Stem N                               (pixels -> input of the first unit)
 *
 * with conv -> its weights (times beta inside a body), BN -> diag(gamma / sqrt(var + eps)), ReLU ->
 * its 0/1 mask, max-pool -> the gather of its argmax, option A -> subsample and zero-pad, average
 * pooling + linear -> the HEAD operator; S = identity for an empty shortcut. Exact on the linear region
 * around the point: f(x + t v) = f(x) + t J v while no mask flips and no argmax changes.
 *
 * Accuracy: each factor within a few units of the working precision times its magnitudes (the
 * kernels' contracts); the product composes them (f64: ~1e-13 relative for a unit).
 */
import type { Layer } from '../model/graph.js';
import { checkPrecision } from '../util/checks.js';
import { InputError } from '../util/errors.js';
import { loadKernels, type Kernels, type ScopeKernels, type WasmScope } from '../wasm/kernels.js';
import { graphUnitLabel, resolveGraphStage, resolveGraphUnit } from './graph-geometry.js';
import { unitScales, type GraphTrajectory64, type LayerPoint } from './graph-forward64.js';
import { chainOperators, JacobianOperator, ownOperator, type ArrayOf } from './operator.js';
import { batchNormAffine, type Precision } from './parameters.js';

/** What to linearize: one unit, a stage, units first..last (inclusive) or the whole network. */
export type Segment =
  | { unit: number | string }
  | { stage: number | string }
  | { units: [number | string, number | string] }
  | 'network'
  | 'stem';

export interface GraphLinearizeOptions<P extends Precision = Precision> {
  /** Working precision (default 'f64'). */
  precision?: P;
  /** The skip scale the point was computed with (checked against it; default: the point's). */
  alpha?: number | ArrayLike<number>;
  /** The residual-weight scale, likewise. */
  beta?: number | ArrayLike<number>;
  kernels?: Kernels;
}

/** 0 stands for the identity in chains and sums. */
const IDENTITY = 0;

class Builder {
  readonly bytes: 8 | 4;
  constructor(readonly owner: WasmScope, readonly precision: Precision) {
    this.bytes = precision === 'f64' ? 8 : 4;
  }

  get kernels(): ScopeKernels {
    return this.owner.kernels;
  }

  own(handle: number, what: string): number {
    return ownOperator(this.owner, handle, what);
  }

  /** The product of `handles` (first applied first), identities dropped; IDENTITY when none is left. */
  chain(handles: number[], what: string): number {
    const parts = handles.filter((h) => h !== IDENTITY);
    if (parts.length === 0) return IDENTITY;
    if (parts.length === 1) return parts[0];
    return chainOperators(this.owner, parts, what);
  }

  sum(a: number, alpha: number, b: number, beta: number, what: string): number {
    if (a === IDENTITY && b === IDENTITY) {
      throw new InputError(`${what}: a residual unit needs a body`);
    }
    return this.own(this.kernels.exports.operatorSum(a, alpha, b, beta), what);
  }

  /** One operator per layer (average pooling + linear merged into one HEAD operator), chained. */
  layers(points: LayerPoint[], beta: number, what: string): number {
    const handles: number[] = [];
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      const next = points[i + 1];
      if (p.layer.op === 'avgpool' && next?.layer.op === 'linear') {
        handles.push(this.head(p.inShape[0], p.inShape[1] * p.inShape[2], next.layer.weight, next.layer.outFeatures, what));
        i++;
      } else {
        handles.push(this.layer(p, beta, `${what} layer ${i}`));
      }
    }
    return this.chain(handles, what);
  }

  head(channels: number, plane: number, weight: ArrayLike<number>, outputs: number, what: string): number {
    return this.kernels.scope((s) =>
      this.own(this.kernels.typed(this.precision).operatorFromHead(channels, plane, s.copyInAs(weight, this.precision), outputs), what));
  }

  layer(p: LayerPoint, beta: number, what: string): number {
    const [c, h, w] = p.inShape;
    const typed = this.kernels.typed(this.precision);
    const exports = this.kernels.exports;
    const layer: Layer = p.layer;
    return this.kernels.scope((s) => {
      switch (layer.op) {
        case 'conv': {
          const weight = s.alloc(this.precision, layer.weight.length);
          const view = typed.view(weight, layer.weight.length);
          for (let i = 0; i < layer.weight.length; i++) view[i] = beta * layer.weight[i];
          return this.own(typed.operatorFromConv2d(c, h, w, weight, layer.outChannels, layer.kernel, layer.stride, layer.padding), what);
        }
        case 'bn':
          return this.own(typed.operatorFromChannelScale(c, h, w, s.copyIn(batchNormAffine(layer.params, this.precision).scale)), what);
        case 'relu':
          if (!p.mask) throw new InputError(`${what}: the point has no ReLU mask`);
          return this.own(exports.operatorFromMask(c, h, w, s.copyIn(p.mask), this.bytes), what);
        case 'maxpool':
          if (!p.index) throw new InputError(`${what}: the point has no max-pool indices`);
          return this.own(exports.operatorFromMaxPool(c, h, w, layer.kernel, layer.stride, layer.padding, s.copyIn(p.index), this.bytes), what);
        case 'option-a':
          return this.own(exports.operatorFromOptionA(c, h, w, layer.outChannels, layer.stride, this.bytes), what);
        case 'avgpool': {
          const eye = new Float64Array(c * c);
          for (let i = 0; i < c; i++) eye[i * c + i] = 1;
          return this.head(c, h * w, eye, c, what);
        }
        case 'linear':
          return this.head(layer.inFeatures, 1, layer.weight, layer.outFeatures, what);
      }
    });
  }

  /** J of unit k at the point. */
  unit(point: GraphTrajectory64, k: number): number {
    const unit = point.graph.units[k];
    const trace = point.units[k];
    const what = `unit ${graphUnitLabel(unit)}`;
    const pre = this.layers(trace.pre, 1, `${what} pre`);
    const body = this.layers(trace.body, point.beta[k], `${what} body`);
    const shortcut = this.layers(trace.shortcut, 1, `${what} shortcut`);
    const post = this.layers(trace.post, 1, `${what} post`);
    if (body === IDENTITY) throw new InputError(`${what}: a residual unit needs a body`);
    const core = unit.shortcutFrom === 'pre'
      ? this.chain([pre, this.sum(shortcut, point.alpha[k], body, 1, what)], what)
      : this.sum(shortcut, point.alpha[k], this.chain([pre, body], what), 1, what);
    return this.chain([core, post], what);
  }

  /** The input normalization's Jacobian diag(1/std) (IDENTITY when std is all ones). */
  normalization(point: GraphTrajectory64): number {
    const { std } = point.normalization;
    if (std.every((v) => v === 1)) return IDENTITY;
    const [c, h, w] = point.graph.inputShape;
    const inverse = Float64Array.from(std, (v) => 1 / v);
    return this.kernels.scope((s) =>
      this.own(this.kernels.typed(this.precision).operatorFromChannelScale(c, h, w, s.copyInAs(inverse, this.precision)), 'the input normalization'));
  }
}

function sameScales(given: number | ArrayLike<number> | undefined, used: Float64Array, what: string): void {
  if (given === undefined) return;
  const expanded = unitScales(given, used.length, what);
  if (expanded.some((v, i) => v !== used[i])) {
    throw new InputError(`${what} differs from the one the point was computed with: recompute the trajectory with it`);
  }
}

/** Which units a segment covers (first..last, inclusive) and its name. */
function segmentUnits(point: GraphTrajectory64, segment: Segment): { first: number; last: number; name: string } | 'network' | 'stem' {
  const graph = point.graph;
  if (segment === 'network' || segment === 'stem') return segment;
  if (typeof segment !== 'object' || segment === null) throw new InputError(`segment must be 'network', 'stem', {unit}, {stage} or {units}, got ${JSON.stringify(segment)}`);
  if ('unit' in segment) {
    const k = resolveGraphUnit(graph, segment.unit);
    return { first: k, last: k, name: `unit ${graphUnitLabel(graph.units[k])} (${k})` };
  }
  if ('stage' in segment) {
    const units = resolveGraphStage(graph, segment.stage);
    return { first: units[0], last: units[units.length - 1], name: `stage ${graph.units[units[0]].stage}` };
  }
  if ('units' in segment && Array.isArray(segment.units) && segment.units.length === 2) {
    const first = resolveGraphUnit(graph, segment.units[0]);
    const last = resolveGraphUnit(graph, segment.units[1]);
    if (last < first) throw new InputError(`units ${segment.units[0]}..${segment.units[1]}: the last comes before the first`);
    return { first, last, name: `units ${graphUnitLabel(graph.units[first])}-${graphUnitLabel(graph.units[last])}` };
  }
  throw new InputError(`segment must be 'network', 'stem', {unit}, {stage} or {units: [first, last]}, got ${JSON.stringify(segment)}`);
}

/** The rows a ReLU at the end zeroes are structurally zero; the others are active. */
function activeRowsOf(last: LayerPoint | undefined, rows: number): () => Int32Array {
  return () => {
    if (last?.layer.op === 'relu' && last.mask) {
      const out: number[] = [];
      last.mask.forEach((m, i) => m && out.push(i));
      return Int32Array.from(out);
    }
    return Int32Array.from({ length: rows }, (_, i) => i);
  };
}

/**
 * The columns a unit's pre-activation zeroes are structurally zero when everything in the unit reads
 * that pre-activation (shortcut from 'pre') and it is elementwise (BN, ReLU): the active columns are
 * the entries every ReLU of it passes. Otherwise (a shortcut from the input, a network, the stem) all
 * columns are active.
 */
function activeColumnsOf(point: GraphTrajectory64, first: number | undefined, columns: number): () => Int32Array {
  return () => {
    const all = () => Int32Array.from({ length: columns }, (_, i) => i);
    if (first === undefined) return all();
    const pre = point.units[first].pre;
    if (point.graph.units[first].shortcutFrom !== 'pre' || pre.length === 0) return all();
    if (!pre.every((p) => p.layer.op === 'bn' || p.layer.op === 'relu')) return all();
    const masks = pre.filter((p) => p.layer.op === 'relu').map((p) => p.mask);
    if (masks.length === 0 || masks.some((m) => !m || m.length !== columns)) return all();
    const out: number[] = [];
    for (let i = 0; i < columns; i++) if (masks.every((m) => m![i])) out.push(i);
    return Int32Array.from(out);
  };
}

/**
 * LINEARIZE: the Jacobian of `segment` of `point.graph` at the float64 point `point` (from
 * graphTrajectory64), as a JacobianOperator of shape [outputs, inputs] (C x H x W flattened in that
 * order; the network: [classes, pixels]) in the requested precision (default f64).
 *
 * Errors: InputError for a unit or stage that does not exist (naming the valid range), alpha or beta
 * other than the point's, or a point without the masks its layers need.
 */
export async function linearize<P extends Precision = 'f64'>(
  point: GraphTrajectory64, segment: Segment, options: GraphLinearizeOptions<P> = {},
): Promise<JacobianOperator<ArrayOf<P>>> {
  if (!point || point.precision !== 'f64' || !point.graph || !Array.isArray(point.units)) {
    throw new InputError('not a graph trajectory: expected the result of graphTrajectory64');
  }
  sameScales(options.alpha, point.alpha, 'alpha');
  sameScales(options.beta, point.beta, 'beta');
  const precision: Precision = checkPrecision(options.precision) ?? 'f64';
  const range = segmentUnits(point, segment);
  const kernels = options.kernels ?? (await loadKernels());
  return kernels.scope((owner) => {
    const build = new Builder(owner, precision);
    const handles: number[] = [];
    let name: string;
    let last: LayerPoint | undefined;
    let first: number | undefined;
    if (range === 'network') {
      name = 'the network (pixels -> logits)';
      handles.push(build.normalization(point), build.layers(point.stem, 1, 'stem'));
      point.units.forEach((_, k) => handles.push(build.unit(point, k)));
      handles.push(build.layers(point.head, 1, 'head'));
      last = point.head[point.head.length - 1];
    } else if (range === 'stem') {
      name = 'the stem (pixels -> first unit)';
      handles.push(build.normalization(point), build.layers(point.stem, 1, 'stem'));
      last = point.stem[point.stem.length - 1];
    } else {
      name = range.name;
      first = range.first;
      for (let k = range.first; k <= range.last; k++) handles.push(build.unit(point, k));
      const post = point.units[range.last].post;
      last = post[post.length - 1];
    }
    const handle = build.chain(handles, name);
    if (handle === IDENTITY) throw new InputError(`${name} is the identity: nothing to linearize`);
    const rows = kernels.exports.operatorRows(handle);
    const columns = kernels.exports.operatorColumns(handle);
    return new JacobianOperator<ArrayOf<P>>({
      owner: owner.keepAll(),
      handle,
      shape: [rows, columns],
      precision,
      description: name,
      activeRows: activeRowsOf(last, rows),
      activeColumns: activeColumnsOf(point, first, columns),
      relinearize: (other) => linearize(point, segment, { ...options, kernels: other }),
    });
  });
}
