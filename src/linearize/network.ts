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
 * no mask flips. Built by paper-linearize.ts: inside WASM it is one chain, a CONV record for
 * D_0 B_0 W_0 N (B_0 and N folded into the weights), the units, and a HEAD record for A P.
 */
import type { ResNetModel } from '../model/model.js';
import type { JacobianOperator, ArrayOf } from './operator.js';
import { linearizePaper, type LinearizeOptions } from './paper-linearize.js';
import type { Precision } from './parameters.js';
import type { LinearizationPoint } from './point.js';

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
  return linearizePaper(model, point, 'network', options);
}
