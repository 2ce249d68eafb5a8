/**
 * The linearization of the whole network, from a perturbation of the input pixels to the logits:
 *
 *   J_net = A P J_{3n-1} ... J_1 J_0 D_0 B_0 W_0 N,
 *
 *   N    = diag(1/std_c)               the input normalization x = (pixels - mean) / std (per channel;
 *                                      mean and std as float32 numbers, see trajectory64.ts)
 *   W_0  = the stem's 3x3 convolution (3 -> 16), B_0 its batch-norm scale, D_0 = diag(stem pre > 0)
 *   J_k  = D_out,k (alpha_k S_k + beta_k^2 B2 W2 D_mid,k B1 W1)     unit k (unit.ts)
 *   P    = global average pooling (64 x 8 x 8 -> 64), A = the classifier's weight (classes x 64)
 *
 * so J_net has shape [classes, 3 x 32 x 32] and J_net^T e_c is the gradient of logit c with respect
 * to the pixels (what autograd computes), while J_net v is the directional derivative. It is exact on
 * the linear region around the trajectory: logits(pixels + t v) = logits(pixels) + t J_net v while
 * no mask flips. Inside WASM it is one chain: a CONV record for D_0 B_0 W_0 N (B_0 and N folded into
 * the weights), the units, and a HEAD record for A P.
 */
import { checkPrecision } from '../util/checks.js';
import type { ResNetModel } from '../model/model.js';
import { IMAGE_CHANNELS, IMAGE_SIZE } from '../model/types.js';
import { loadKernels, newFloatArray, type WasmScope } from '../wasm/kernels.js';
import { JacobianOperator, ownOperator, type ArrayOf } from './operator.js';
import { batchNormAffine, storedNormalization, type Precision } from './parameters.js';
import { checkPoint, stemMask, type LinearizationPoint } from './point.js';
import { chainOperators } from './stage.js';
import { buildUnitOperator, type LinearizeOptions } from './unit.js';

/** The stem's linearization D_0 B_0 W_0 N as a CONV operator owned by `owner`. */
function buildStemOperator(owner: WasmScope, model: ResNetModel, point: LinearizationPoint, precision: Precision): number {
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
function buildHeadOperator(owner: WasmScope, model: ResNetModel, precision: Precision): number {
  const { weight, inFeatures, outFeatures } = model.params.classifier;
  const last = model.params.units[model.unitCount - 1];
  return owner.kernels.scope((s) => {
    const created = owner.kernels.typed(precision).operatorFromHead(
      inFeatures, last.outSize * last.outSize, s.copyInAs(weight, precision), outFeatures,
    );
    return ownOperator(owner, created, 'the classifier head');
  });
}

/**
 * LINEARIZENETWORK: the Jacobian of the logits with respect to the input pixels at the point `point`,
 * as a JacobianOperator of shape [classes, 3072] in the requested precision (default f64).
 * applyTranspose(e_c) is the pixel gradient of logit c; toDense() is the full classes x 3072 matrix
 * (classes applications of J^T). activeRows() are all rows.
 *
 * Accuracy: the chain of 3n+2 factors in working precision; in f64 the products agree with a float64
 * finite difference to ~1e-10 relative.
 * Errors: InputError for a trajectory of another model or scaling.
 */
export async function linearizeNetwork(
  model: ResNetModel, point: LinearizationPoint, options?: LinearizeOptions<'f64'>,
): Promise<JacobianOperator<Float64Array>>;
export async function linearizeNetwork(
  model: ResNetModel, point: LinearizationPoint, options: LinearizeOptions<'f32'>,
): Promise<JacobianOperator<Float32Array>>;
export async function linearizeNetwork(
  model: ResNetModel, point: LinearizationPoint, options: LinearizeOptions,
): Promise<JacobianOperator>;
export async function linearizeNetwork<P extends Precision>(
  model: ResNetModel, point: LinearizationPoint, options: LinearizeOptions<P> = {},
): Promise<JacobianOperator<ArrayOf<P>>> {
  checkPoint(model, point);
  const precision: Precision = checkPrecision(options.precision) ?? 'f64';
  const kernels = options.kernels ?? (await loadKernels());
  return kernels.scope((owner) => {
    const parts = [buildStemOperator(owner, model, point, precision)];
    for (let index = 0; index < model.unitCount; index++) {
      parts.push(buildUnitOperator(owner, model, point, index, precision)[1]);
    }
    parts.push(buildHeadOperator(owner, model, precision));
    const handle = chainOperators(owner, parts, 'the network');
    const classes = model.params.numClasses;
    return new JacobianOperator<ArrayOf<P>>({
      owner: owner.keepAll(),
      handle,
      shape: [kernels.exports.operatorRows(handle), kernels.exports.operatorColumns(handle)],
      precision,
      description: `${model.name} (pixels -> logits)`,
      activeRows: () => Int32Array.from({ length: classes }, (_, i) => i),
    });
  });
}
