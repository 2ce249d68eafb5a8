/**
 * The first-order (linearized) prediction of how an input perturbation travels: along the clean
 * trajectory, dh_0 = J_stem dx and dh_k = J_k dh_{k-1}, with J_stem = D_stem B_stem W_stem diag(1/std)
 * (normalization, stem convolution and batch norm, stem ReLU mask) and J_k the unit linearizations
 * (src/linearize). Returns ||dh_k|| / ||h_k|| for k = 0 .. 3n, comparable with the actual relative
 * perturbation of src/study/propagation.ts.
 *
 * Any other family: the same chain through the general linearization (linearize/graph-linearize.ts)
 * at the model's float64 point of the clean image — J_stem is then the `stem` segment (normalization,
 * stem convolution, BN, ReLU, max-pool) and the norms ||h_k|| are the float64 ones.
 */
import { linearize } from '../linearize/graph-linearize.js';
import { modelTrajectory64 } from '../linearize/model-point.js';
import { linearizeUnit } from '../linearize/unit.js';
import { InputError } from '../util/errors.js';
import type { ResNetModel } from '../model/model.js';
import type { Trajectory } from '../model/trajectory.js';

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** J_stem dx for a pixel-space perturbation dx (3 x 32 x 32), at the stem output `stem` (16 x 32 x 32). */
export function stemJacobianVectorProduct(model: ResNetModel, stem: ArrayLike<number>, dx: Float64Array): Float64Array {
  const { conv, bn } = model.params.stem;
  const std = model.normalization.std;
  const size = 32;
  const plane = size * size;
  const out = new Float64Array(conv.outChannels * plane);
  for (let o = 0; o < conv.outChannels; o++) {
    const scale = bn.weight[o] / Math.sqrt(bn.runningVar[o] + bn.eps);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const index = o * plane + y * size + x;
        if (!(stem[index] > 0)) continue; // relu'(0) = 0
        let sum = 0;
        for (let c = 0; c < conv.inChannels; c++) {
          for (let ky = 0; ky < 3; ky++) {
            const iy = y + ky - 1;
            if (iy < 0 || iy >= size) continue;
            for (let kx = 0; kx < 3; kx++) {
              const ix = x + kx - 1;
              if (ix < 0 || ix >= size) continue;
              sum += conv.weight[((o * conv.inChannels + c) * 3 + ky) * 3 + kx] * dx[c * plane + iy * size + ix] / std[c];
            }
          }
        }
        out[index] = scale * sum;
      }
    }
  }
  return out;
}

/**
 * ||dh_k|| / ||h_k|| for k = 0 (stem) .. N (last unit). `pixels`, the clean image (the model's input
 * shape, in [0, 1]), is needed for any family but the paper's, which reads the masks off `clean`.
 */
export async function firstOrderPropagation(model: ResNetModel, clean: Trajectory, dx: Float64Array, pixels?: Float32Array): Promise<number[]> {
  if (!model.hasParams) {
    if (!pixels) throw new InputError(`model ${model.name}: the first-order prediction needs the clean image's pixels`);
    return graphFirstOrder(model, pixels, dx);
  }
  let dh = stemJacobianVectorProduct(model, clean.stem, dx);
  const ratios = [norm(dh) / norm(clean.stem)];
  for (let k = 0; k < clean.units.length; k++) {
    const unit = await linearizeUnit(model, clean, k, { precision: 'f64' });
    try {
      dh = unit.apply(dh) as Float64Array;
    } finally {
      unit.dispose();
    }
    ratios.push(norm(dh) / norm(clean.units[k].output));
  }
  return ratios;
}

/** firstOrderPropagation for a graph-only model: the chain at its float64 point. */
async function graphFirstOrder(model: ResNetModel, pixels: Float32Array, dx: Float64Array): Promise<number[]> {
  const point = await modelTrajectory64(model, pixels);
  const stem = await linearize(point, 'stem');
  let dh: Float64Array;
  try {
    dh = stem.apply(dx) as Float64Array;
  } finally {
    stem.dispose();
  }
  const first = point.units.length ? point.units[0].input : dh;
  const ratios = [norm(dh) / norm(first)];
  for (let k = 0; k < point.units.length; k++) {
    const unit = await linearize(point, { unit: k });
    try {
      dh = unit.apply(dh) as Float64Array;
    } finally {
      unit.dispose();
    }
    ratios.push(norm(dh) / norm(point.units[k].output));
  }
  return ratios;
}
