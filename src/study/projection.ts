/**
 * Where perturbations point: the perturbation entering each unit, dh = h~_{k-1} - h_{k-1} (the stem
 * output for the first unit), projected onto the top-k right singular vectors v_1..v_k of that unit's
 * linearization J_k at the clean float64 trajectory. The energy fraction is
 *
 *     sum_i <v_i, dh>^2 / ||dh||^2   (in [0, 1]; a random direction gives about k / n)
 *
 * and the amplification of that part, sum_i s_i^2 <v_i, dh>^2 / ||dh||^2, says how strongly J_k
 * stretches it. Computed for every unit, for an adversarial and a random perturbation of the image.
 *
 * Any family: images of the model's input shape, its units' general linearizations at the model's
 * float64 point (linearize/graph-linearize.ts); the entering perturbations come from the float32
 * trajectories (model/forward.ts) as for the paper's family.
 */
import { linearize } from '../linearize/graph-linearize.js';
import { modelTrajectory64 } from '../linearize/model-point.js';
import type { JacobianOperator } from '../linearize/operator.js';
import { float64Trajectory } from '../linearize/trajectory64.js';
import { linearizeUnit } from '../linearize/unit.js';
import { forwardTrajectories } from '../model/forward.js';
import type { ResNetModel } from '../model/model.js';
import { topUnitSingularValues } from './spectrum-methods.js';
import { perturbImages, type PerturbationOptions } from './perturbations.js';
import { states } from './propagation.js';

export interface ProjectionRow {
  unit: number;
  /** Energy fraction of the entering perturbation in the span of the top-k right singular vectors. */
  fraction: number;
  /** sum_i s_i^2 <v_i, dh>^2 / ||dh||^2 over the top k. */
  amplification: number;
}

/** Projections, per unit, of the perturbations `attacks` make of one image (pixels in [0,1], the model's input shape). */
export async function projectPerturbations(
  model: ResNetModel, pixels: Float32Array, label: number, imageKey: number, attacks: PerturbationOptions[], k: number,
): Promise<{ attack: string; rows: ProjectionRow[] }[]> {
  const perturbed = await Promise.all(attacks.map((a) => perturbImages(model, pixels, [label], a, [imageKey])));
  const d = model.inputValues;
  const batch = new Float32Array(d * (1 + attacks.length));
  batch.set(pixels);
  perturbed.forEach((p, i) => batch.set(p, d * (i + 1)));
  const trajectories = await forwardTrajectories(model, batch);
  const clean = states(trajectories[0]);
  const entering = trajectories.slice(1).map((t) => states(t).map((h, s) => Float64Array.from(h, (v, i) => v - clean[s][i])));
  // The paper's family: its unit kernels; any other: the general linearization.
  const paperPoint = model.hasParams ? await float64Trajectory(model, pixels) : undefined;
  const graphPoint = model.hasParams ? undefined : await modelTrajectory64(model, pixels);
  const unitOperator = async (unit: number): Promise<JacobianOperator<Float64Array>> =>
    paperPoint ? linearizeUnit(model, paperPoint, unit) : ((await linearize(graphPoint!, { unit })) as JacobianOperator<Float64Array>);
  const rows: ProjectionRow[][] = attacks.map(() => []);
  for (let unit = 0; unit < model.unitCount; unit++) {
    const operator = await unitOperator(unit);
    try {
      const n = operator.shape[1];
      const top = await topUnitSingularValues(operator, k, 1e-8);
      entering.forEach((perturbation, a) => {
        const dh = perturbation[unit]; // state before unit `unit`: stem (0) or output of unit-1
        let norm2 = 0;
        for (const x of dh) norm2 += x * x;
        let fraction = 0;
        let amplification = 0;
        for (let i = 0; i < top.values.length; i++) {
          let dot = 0;
          for (let j = 0; j < n; j++) dot += top.rightVectors[i * n + j] * dh[j];
          fraction += dot * dot;
          amplification += top.values[i] ** 2 * dot * dot;
        }
        rows[a].push({ unit, fraction: norm2 > 0 ? fraction / norm2 : 0, amplification: norm2 > 0 ? amplification / norm2 : 0 });
      });
    } finally {
      operator.dispose();
    }
  }
  return attacks.map((a, i) => ({ attack: a.attack, rows: rows[i] }));
}
