/**
 * Linearizations of whole stages: J_stage = J_last ... J_first, the product of a stage's unit
 * Jacobians along the trajectory (float64), studied by its top-k singular values (Lanczos inside
 * WASM), its singular-value density, or — when asked — its full spectrum (dense product + SVD).
 *
 * The paper's family uses its specialised unit operators (linearize/stage.ts); any other family the
 * general linearization (linearize/graph-linearize.ts, `{ stage }`) at the model's float64 point, and
 * spectrum/full.ts for `full`, which refuses (naming topk and density) a stage too large to hold.
 */
import { linearize } from '../linearize/graph-linearize.js';
import { modelTrajectory64 } from '../linearize/model-point.js';
import type { JacobianOperator } from '../linearize/operator.js';
import { float64Trajectory } from '../linearize/trajectory64.js';
import { linearizeStage } from '../linearize/stage.js';
import type { ResNetModel } from '../model/model.js';
import { fullSingularValues } from '../spectrum/full.js';
import { svdValues } from '../spectrum/svd.js';
import { InputError } from '../util/errors.js';
import { topUnitSingularValues, unitDensity } from './spectrum-methods.js';

export type StageMethod = 'topk' | 'density' | 'full';

export interface StageSpectrum {
  stage: number;
  shape: [number, number];
  method: StageMethod;
  values?: number[];
  density?: { edges: number[]; counts: number[]; error: number[] };
}

/** The f64 Jacobian of stage `stage` of `model` at `pixels` (one image of its input shape, in [0, 1]). */
async function stageOperator(model: ResNetModel, pixels: Float32Array, stage: number): Promise<JacobianOperator<Float64Array>> {
  if (pixels.length !== model.inputValues) {
    throw new InputError(`an image of ${model.name} must be ${model.inputShape.join('x')} = ${model.inputValues} values, got ${pixels.length}`);
  }
  if (model.hasParams) return linearizeStage(model, await float64Trajectory(model, pixels), stage);
  return (await linearize(await modelTrajectory64(model, pixels), { stage })) as JacobianOperator<Float64Array>;
}

export async function stageSpectrum(
  model: ResNetModel, pixels: Float32Array, stage: number, method: StageMethod, options: { k?: number; bins?: number[] } = {},
): Promise<StageSpectrum> {
  const operator = await stageOperator(model, pixels, stage);
  try {
    const shape = [...operator.shape] as [number, number];
    if (method === 'topk') return { stage, shape, method, values: Array.from((await topUnitSingularValues(operator, options.k ?? 20)).values) };
    if (method === 'density') {
      const smax = (await topUnitSingularValues(operator, 1, 1e-8)).values[0];
      const edges = options.bins ?? Array.from({ length: 41 }, (_, i) => (i * smax * 1.0001) / 40);
      return { stage, shape, method, density: await unitDensity(operator, edges) };
    }
    if (!model.hasParams) return { stage, shape, method, values: Array.from((await fullSingularValues(operator)).values) };
    const active = operator.activeRows();
    const rows = operator.denseRows(active);
    const values = new Float64Array(Math.min(...shape));
    if (active.length) values.set((await svdValues(rows, active.length, shape[1])).subarray(0, values.length));
    return { stage, shape, method, values: Array.from(values) };
  } finally {
    operator.dispose();
  }
}
