/**
 * The one construction behind linearizeUnit, linearizeStage and linearizeNetwork for the paper's
 * family (CIFAR ResNet 6n+2, option A): the Jacobian of a segment of the network at a point of a
 * trajectory (tfjs float32 or float64, point.ts) as a chain of WASM operator records,
 *
 *   unit k     J_k = D_out,k (alpha_k S_k + beta_k^2 B2 W2 D_mid,k B1 W1)     (assembly/unit.ts)
 *   units a..b J_b ... J_a                     (a stage: its units)
 *   network    A P J_{3n-1} ... J_0 D_0 B_0 W_0 N
 *   stem       D_0 B_0 W_0 N                   (pixels -> input of the first unit)
 *
 * N = diag(1/std) (mean and std as float32 numbers, see trajectory64.ts), W_0 the stem's 3x3
 * convolution with B_0 its batch-norm scale and D_0 its mask, P global average pooling and A the
 * classifier's weight. The segments are those of the general `linearize` (graph-linearize.ts), which
 * gives the same operators for this family to 1e-13; the paper's units keep their fused kernel because
 * its masked convolutions are 2-3x faster per block product than the general path's one operator per
 * layer (BENCHMARKS.md, issue 11), and it assembles dense rows from each row's local structure.
 */
import type { ResNetModel } from '../model/model.js';
import { IMAGE_CHANNELS, IMAGE_SIZE } from '../model/types.js';
import { checkPrecision } from '../util/checks.js';
import { InputError } from '../util/errors.js';
import { loadKernels, newFloatArray, type Kernels, type WasmScope } from '../wasm/kernels.js';
import type { Segment } from './graph-linearize.js';
import { chainOperators, JacobianOperator, ownOperator, type ArrayOf, type DenseRowsKernel } from './operator.js';
import { batchNormAffine, storedNormalization, unitKernelParameters, type Precision } from './parameters.js';
import { checkPoint, stemMask, unitMasks, type LinearizationPoint } from './point.js';
import { resolveStage, resolveUnit, stageUnits, unitLabel } from './units.js';

export interface LinearizeOptions<P extends Precision = Precision> {
  /** Working precision of the operator: 'f64' (default) or 'f32'. */
  precision?: P;
  /** Kernel instance (default: the process-wide loadKernels()). */
  kernels?: Kernels;
}

/**
 * The assembly/unit.ts operator of unit `index` (J in the given precision) and its operator.ts
 * record, both owned by `owner`. Returns [unit handle, operator handle].
 */
function unitOperator(owner: WasmScope, model: ResNetModel, point: LinearizationPoint, index: number, precision: Precision): [number, number] {
  const kernels = owner.kernels.typed(precision);
  const q = unitKernelParameters(model, index, precision);
  const masks = unitMasks(model, point, index);
  return owner.kernels.scope((s) => {
    const created = kernels.unitOperatorCreate(
      q.cIn, q.size, q.size, q.cOut, q.stride, q.alpha,
      s.copyIn(q.weight1), s.copyIn(q.scale1), s.copyIn(q.weight2), s.copyIn(q.scale2), s.copyIn(masks.hidden), s.copyIn(masks.output),
    ) >>> 0;
    if (created === 0) throw new Error('could not build a unit Jacobian operator');
    owner.defer(() => owner.kernels.exports.unitOperatorDestroy(created));
    return [created, ownOperator(owner, kernels.operatorFromUnit(created), `unit ${index}`)];
  });
}

/** The rows of a unit Jacobian with D_out = 1, ascending. */
function unitActiveRows(kernels: Kernels, unitHandle: number): Int32Array {
  return kernels.scope((s) => {
    const ptr = s.allocBytes(4 * kernels.exports.unitOperatorRows(unitHandle));
    const count = kernels.exports.unitOperatorActiveRows(unitHandle, ptr);
    return new Int32Array(kernels.memory.buffer, ptr, count).slice();
  });
}

/** The stem's linearization D_0 B_0 W_0 N as a CONV operator owned by `owner` (B_0 and N folded into the weights). */
function stemOperator(owner: WasmScope, model: ResNetModel, point: LinearizationPoint, precision: Precision): number {
  const { conv, bn } = model.params.stem;
  const { scale } = batchNormAffine(bn, 'f64');
  const std = storedNormalization(model).std;
  // (B_0 W_0 N)[o, i, tap] = scale[o] * W_0[o, i, tap] / std[i].
  const weight = newFloatArray(precision, conv.weight.length);
  for (let o = 0; o < conv.outChannels; o++) {
    for (let i = 0; i < conv.inChannels; i++) {
      for (let t = 0; t < 9; t++) {
        const at = (o * conv.inChannels + i) * 9 + t;
        weight[at] = (scale[o] * conv.weight[at]) / std[i];
      }
    }
  }
  const mask = stemMask(model, point);
  return owner.kernels.scope((s) => {
    const created = owner.kernels.typed(precision).operatorFromConv(
      IMAGE_CHANNELS, IMAGE_SIZE, IMAGE_SIZE, s.copyIn(weight), conv.outChannels, 1, s.copyIn(mask),
    );
    return ownOperator(owner, created, 'the stem');
  });
}

/** A P: average pooling and the classifier's weight as a HEAD operator owned by `owner`. */
function headOperator(owner: WasmScope, model: ResNetModel, precision: Precision): number {
  const { weight, inFeatures, outFeatures } = model.params.classifier;
  const last = model.params.units[model.unitCount - 1];
  return owner.kernels.scope((s) => {
    const created = owner.kernels.typed(precision).operatorFromHead(
      inFeatures, last.outSize * last.outSize, s.copyInAs(weight, precision), outFeatures,
    );
    return ownOperator(owner, created, 'the classifier head');
  });
}

/** The units a segment covers (first..last inclusive) and its description, or the network / stem. */
function segmentOf(model: ResNetModel, segment: Segment): { first: number; last: number; name: string } | 'network' | 'stem' {
  if (segment === 'network' || segment === 'stem') return segment;
  if (typeof segment !== 'object' || segment === null) {
    throw new InputError(`segment must be 'network', 'stem', {unit}, {stage} or {units}, got ${JSON.stringify(segment)}`);
  }
  if ('unit' in segment) {
    const k = resolveUnit(model, segment.unit);
    return { first: k, last: k, name: `unit ${unitLabel(model, k)} (${k}) of ${model.name}` };
  }
  if ('stage' in segment) {
    const s = resolveStage(model, segment.stage);
    const units = stageUnits(model, s);
    return { first: units[0], last: units[units.length - 1], name: `stage ${s} of ${model.name}` };
  }
  if ('units' in segment && Array.isArray(segment.units) && segment.units.length === 2) {
    const first = resolveUnit(model, segment.units[0]);
    const last = resolveUnit(model, segment.units[1]);
    if (last < first) throw new InputError(`units ${segment.units[0]}..${segment.units[1]}: the last comes before the first`);
    return { first, last, name: `units ${unitLabel(model, first)}-${unitLabel(model, last)} of ${model.name}` };
  }
  throw new InputError(`segment must be 'network', 'stem', {unit}, {stage} or {units: [first, last]}, got ${JSON.stringify(segment)}`);
}

/**
 * LINEARIZEPAPER: the Jacobian of `segment` (as graph-linearize's: {unit}, {stage}, {units: [first,
 * last]}, 'network', 'stem') of the paper-family `model` at `point` (a tfjs Trajectory or a
 * Trajectory64 of this model and scaling), as a JacobianOperator in the requested precision (default
 * f64), of shape [outputs of the segment, its inputs] (the network: [classes, 3072 pixels]).
 * activeRows(): the last unit's D_out = 1 rows (the stem: its D_0 = 1 rows; the network: all rows).
 * A single unit's dense rows come from assembly/unit.ts's local structure; other segments' from J^T
 * applied to unit vectors.
 *
 * Accuracy: each unit componentwise within gamma_{9 C_in + 9 C_out + 2} (|alpha||S| + |B2 W2||B1 W1|)|v|
 * of exact (f64: ~1e-13 relative); a chain composes the factors' bounds (in f64 the network agrees
 * with a float64 finite difference to ~1e-10 relative).
 * Errors: InputError for a unit or stage that does not exist (naming the valid range), a bad segment,
 * a trajectory of another model or scaling, or masks of the wrong size.
 */
export async function linearizePaper<P extends Precision>(
  model: ResNetModel, point: LinearizationPoint, segment: Segment, options: LinearizeOptions<P> = {},
): Promise<JacobianOperator<ArrayOf<P>>> {
  const range = segmentOf(model, segment);
  checkPoint(model, point);
  const precision: Precision = checkPrecision(options.precision) ?? 'f64';
  const kernels = options.kernels ?? (await loadKernels());
  return kernels.scope((owner) => {
    const handles: number[] = [];
    let name: string;
    let activeRows: () => Int32Array;
    let denseRows: DenseRowsKernel | undefined;
    if (range === 'network' || range === 'stem') {
      handles.push(stemOperator(owner, model, point, precision));
      if (range === 'network') {
        for (let k = 0; k < model.unitCount; k++) handles.push(unitOperator(owner, model, point, k, precision)[1]);
        handles.push(headOperator(owner, model, precision));
        name = `${model.name} (pixels -> logits)`;
        const classes = model.params.numClasses;
        activeRows = () => Int32Array.from({ length: classes }, (_, i) => i);
      } else {
        name = `the stem of ${model.name} (pixels -> first unit)`;
        const mask = stemMask(model, point);
        activeRows = () => {
          const rows: number[] = [];
          mask.forEach((m, i) => m && rows.push(i));
          return Int32Array.from(rows);
        };
      }
    } else {
      name = range.name;
      let lastUnit = 0;
      for (let k = range.first; k <= range.last; k++) {
        const [unitHandle, handle] = unitOperator(owner, model, point, k, precision);
        handles.push(handle);
        lastUnit = unitHandle;
      }
      activeRows = () => unitActiveRows(kernels, lastUnit);
      if (range.first === range.last) {
        const typed = kernels.typed(precision);
        denseRows = (rowsPtr, first, count, out) => {
          if (rowsPtr) typed.unitJacobianRows(lastUnit, rowsPtr, count, out);
          else typed.unitJacobianRowBlock(lastUnit, first, count, out);
        };
      }
    }
    const handle = handles.length === 1 ? handles[0] : chainOperators(owner, handles, name);
    return new JacobianOperator<ArrayOf<P>>({
      owner: owner.keepAll(),
      handle,
      shape: [kernels.exports.operatorRows(handle), kernels.exports.operatorColumns(handle)],
      precision,
      description: name,
      activeRows,
      denseRows,
    });
  });
}
