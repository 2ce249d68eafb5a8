/**
 * How input perturbations travel through the network (the paper's propagation experiment).
 *
 * For an image x and its perturbation x~ (src/study/perturbations.ts), with h_0 the stem output and
 * h_k the output of unit k: relative[k] = ||h~_k - h_k||_2 / ||h_k||_2 over the whole C x H x W tensor
 * of one image, for k = 0 (stem) .. 3n. `firstOrder[k]` is the same ratio for the linearized
 * prediction dh_k = J_k ... J_1 J_stem (x~ - x), the chain of unit linearizations along the clean
 * trajectory applied to the input perturbation.
 *
 * For a model of any family: images of its input shape, its classes, k = 0 .. N for its N units
 * (trajectories from model/forward.ts's graph path, first order from first-order.ts's graph path).
 */
import { forwardTrajectories } from '../model/forward.js';
import type { ResNetModel } from '../model/model.js';
import type { Trajectory } from '../model/trajectory.js';
import { argmaxRows } from './predictions.js';
import { perturbImages, type PerturbationOptions } from './perturbations.js';

export interface PropagationResult {
  image: number | string;
  label: number;
  predClean: number;
  predPerturbed: number;
  /** ||x~ - x||_2 / ||x||_2 in pixel space. */
  inputRelative: number;
  /** N + 1 entries (N units; 3n + 1 for the paper's family): after the stem, then after each unit. */
  relative: number[];
  /** N + 1 entries, the first-order (linearized) prediction of `relative`. */
  firstOrder: number[];
}

/**
 * Computes the linearized perturbation after the stem and every unit (see src/linearize); `pixels` is
 * the clean image (needed by any family but the paper's).
 */
export type FirstOrderPropagator = (
  model: ResNetModel, clean: Trajectory, pixelPerturbation: Float64Array, pixels?: Float32Array,
) => Promise<number[]>;

function relativeDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] * b[i];
  }
  return Math.sqrt(diff / norm);
}

/** The trajectory's states after the stem and after every unit. */
export function states(t: Trajectory): Float32Array[] {
  return [t.stem, ...t.units.map((u) => u.output)];
}

/**
 * Perturb B images (pixels in [0,1], B x 3 x H x W, the model's input shape) and follow both versions through the network.
 * `ids` name the images in the results; `firstOrder` fills the linearized prediction when given.
 */
export async function propagatePerturbations(
  model: ResNetModel,
  pixels: Float32Array,
  labels: number[],
  ids: (number | string)[],
  options: PerturbationOptions,
  firstOrder?: FirstOrderPropagator,
): Promise<PropagationResult[]> {
  const keys = ids.map((id, i) => (typeof id === 'number' ? id : i));
  const perturbed = await perturbImages(model, pixels, labels, options, keys);
  const batch = labels.length;
  const both = new Float32Array(2 * pixels.length);
  both.set(pixels);
  both.set(perturbed, pixels.length);
  const trajectories = await forwardTrajectories(model, both);
  const classes = model.numClasses;
  const d = model.inputValues;
  const results: PropagationResult[] = [];
  for (let b = 0; b < batch; b++) {
    const clean = trajectories[b];
    const noisy = trajectories[batch + b];
    const x = pixels.subarray(b * d, (b + 1) * d);
    const xt = perturbed.subarray(b * d, (b + 1) * d);
    const cleanStates = states(clean);
    const delta = Float64Array.from(xt, (v, i) => v - x[i]);
    results.push({
      image: ids[b],
      label: labels[b],
      predClean: argmaxRows(clean.logits, classes)[0],
      predPerturbed: argmaxRows(noisy.logits, classes)[0],
      inputRelative: relativeDistance(xt, x),
      relative: states(noisy).map((h, k) => relativeDistance(h, cleanStates[k])),
      firstOrder: firstOrder ? await firstOrder(model, clean, delta, x) : [],
    });
  }
  return results;
}
