/**
 * Linearizations of whole stages: J_stage = J_last ... J_first, the product of a stage's unit
 * Jacobians along the trajectory (float64), studied by its top-k singular values (Lanczos inside
 * WASM), its singular-value density, or — when asked — its full spectrum (dense product + SVD).
 */
import { float64Trajectory } from '../linearize/trajectory64.js';
import { linearizeStage } from '../linearize/stage.js';
import type { ResNetModel } from '../model/model.js';
import { svdValues } from '../spectrum/svd.js';
import { topUnitSingularValues, unitDensity } from './spectrum-methods.js';

export type StageMethod = 'topk' | 'density' | 'full';

export interface StageSpectrum {
  stage: number;
  shape: [number, number];
  method: StageMethod;
  values?: number[];
  density?: { edges: number[]; counts: number[]; error: number[] };
}

export async function stageSpectrum(
  model: ResNetModel, pixels: Float32Array, stage: number, method: StageMethod, options: { k?: number; bins?: number[] } = {},
): Promise<StageSpectrum> {
  const trajectory = await float64Trajectory(model, pixels);
  const operator = await linearizeStage(model, trajectory, stage);
  try {
    const shape = [...operator.shape] as [number, number];
    if (method === 'topk') return { stage, shape, method, values: Array.from((await topUnitSingularValues(operator, options.k ?? 20)).values) };
    if (method === 'density') {
      const smax = (await topUnitSingularValues(operator, 1, 1e-8)).values[0];
      const edges = options.bins ?? Array.from({ length: 41 }, (_, i) => (i * smax * 1.0001) / 40);
      return { stage, shape, method, density: await unitDensity(operator, edges) };
    }
    const active = operator.activeRows();
    const rows = operator.denseRows(active);
    const values = new Float64Array(Math.min(...shape));
    if (active.length) values.set((await svdValues(rows, active.length, shape[1])).subarray(0, values.length));
    return { stage, shape, method, values: Array.from(values) };
  } finally {
    operator.dispose();
  }
}
