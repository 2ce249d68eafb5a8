/**
 * The general linearization for a loaded model (model/model.ts) of any family: its float64 point
 * from its graph, normalization and scales, and the operator of one of its units. The paper's family
 * keeps its specialised unit kernels (unit.ts); every other family goes through these.
 */
import type { ResNetModel } from '../model/model.js';
import type { Kernels } from '../wasm/kernels.js';
import { graphTrajectory64, type GraphTrajectory64 } from './graph-forward64.js';
import { linearize } from './graph-linearize.js';
import type { JacobianOperator } from './operator.js';
import { storedNormalization } from './parameters.js';

/**
 * The float64 point of `model` (its graph, its stored normalization, its alpha and beta) at an image
 * of the model's input shape, pixels in [0, 1]. Errors: InputError as graphTrajectory64.
 */
export function modelTrajectory64(model: ResNetModel, pixels: ArrayLike<number>, kernels?: Kernels): Promise<GraphTrajectory64> {
  return graphTrajectory64(model.graph, pixels, { normalization: storedNormalization(model), alpha: model.alpha, beta: model.beta, kernels });
}

/** The f64 operator of unit `unit` (index or `stage.unit`) of `model` at `pixels`. */
export async function linearizeModelUnit(
  model: ResNetModel, pixels: ArrayLike<number>, unit: number | string, kernels?: Kernels,
): Promise<JacobianOperator<Float64Array>> {
  const point = await modelTrajectory64(model, pixels, kernels);
  const op = await linearize(point, { unit }, { kernels });
  return op as JacobianOperator<Float64Array>;
}
