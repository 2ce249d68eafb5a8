/**
 * The linearization of a stage: the product of its n unit Jacobians,
 *
 *   J_stage = J_{last} ... J_{first+1} J_{first},
 *
 * each J_k = D_out,k (alpha_k S_k + beta_k^2 B2 W2 D_mid,k B1 W1) at the trajectory's point (unit.ts).
 * It is the Jacobian of the stage's map h_first -> h_last+1 on the linear region around the trajectory,
 * exact there (no mask flips along the way). Shape: stage 1 16384 x 16384, stage 2 8192 x 16384 (its
 * first unit downsamples), stage 3 4096 x 8192. Built by paper-linearize.ts: the products are chained
 * inside WASM (operatorChain), so `wasmHandle` serves Lanczos directly.
 */
import type { ResNetModel } from '../model/model.js';
import type { JacobianOperator, ArrayOf } from './operator.js';
import { linearizePaper, type LinearizeOptions } from './paper-linearize.js';
import type { Precision } from './parameters.js';
import type { LinearizationPoint } from './point.js';

/**
 * LINEARIZESTAGE: the Jacobian of stage `stage` (1..3) at the point `point` as a JacobianOperator in
 * the requested precision (default f64): the product of the stage's unit Jacobians, of shape
 * [outputs of its last unit, inputs of its first unit]. activeRows() are the last unit's D_out = 1
 * rows. toDense() applies J^T to blocks of unit vectors (n applications of every unit: expensive for
 * stage 1).
 *
 * Accuracy: the unit bounds composed along the chain (normwise ~ n * eps * prod ||J_k|| in the worst
 * case; in practice a few eps times ||J_stage|| ||v||).
 * Errors: InputError for a stage outside 1..3, a trajectory of another model or scaling.
 */
export async function linearizeStage(
  model: ResNetModel, point: LinearizationPoint, stage: number | string, options?: LinearizeOptions<'f64'>,
): Promise<JacobianOperator<Float64Array>>;
export async function linearizeStage(
  model: ResNetModel, point: LinearizationPoint, stage: number | string, options: LinearizeOptions<'f32'>,
): Promise<JacobianOperator<Float32Array>>;
export async function linearizeStage(
  model: ResNetModel, point: LinearizationPoint, stage: number | string, options: LinearizeOptions,
): Promise<JacobianOperator>;
export async function linearizeStage<P extends Precision>(
  model: ResNetModel, point: LinearizationPoint, stage: number | string, options: LinearizeOptions<P> = {},
): Promise<JacobianOperator<ArrayOf<P>>> {
  return linearizePaper(model, point, { stage }, options);
}
