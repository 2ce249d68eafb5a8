/**
 * The matrix-free ways to look at a unit's spectrum, for when the full SVD is more than needed:
 *
 *   topk     the k largest singular values (and right singular vectors) by Golub–Kahan–Lanczos with
 *            thick restarts, inside WASM; converged to `tol` relative residual
 *   density  a histogram of the singular values by stochastic Lanczos quadrature, with its stated
 *            error per bin (quadrature bound + 3 standard errors over probes)
 *   count    the exact number of singular values in [lo, hi), by the inertia of J_a J_a^T - c^2 I
 *            (banded LDL^T with the active rows in pixel-major order, Sylvester's law of inertia)
 *
 * Each computes the unit's linearization at the image's float64 trajectory, with alpha/beta applied
 * to that unit only (as src/study/spectrum.ts).
 */
import { float64Trajectory } from '../linearize/trajectory64.js';
import { linearizeUnit } from '../linearize/unit.js';
import { linearizeModelUnit } from '../linearize/model-point.js';
import { unitLabel } from '../linearize/units.js';
import { scaleOneUnit } from './spectrum.js';
import type { JacobianOperator } from '../linearize/operator.js';
import type { ResNetModel } from '../model/model.js';
import { bandedGramFromRows, countSingularValuesBanded, pixelMajorOrder } from '../spectrum/count.js';
import { spectralDensity } from '../spectrum/density.js';
import { topSingularTriplets } from '../spectrum/lanczos.js';
import { InputError, UsageError } from '../util/errors.js';

export interface UnitPoint {
  unit: number;
  unitLabel: string;
  alpha: number;
  beta: number;
  shape: [number, number];
}

/** Build unit `unitSpec`'s f64 linearization at an image; `use` gets it and it is freed afterwards. */
export async function withUnitLinearization<T>(
  model: ResNetModel,
  pixels: Float32Array,
  unitSpec: number | string,
  scales: { alpha?: number; beta?: number },
  use: (operator: JacobianOperator<Float64Array>, point: UnitPoint) => Promise<T>,
): Promise<T> {
  const { scaled, unit, alpha, beta } = scaleOneUnit(model, unitSpec, scales);
  // The paper's family has its specialised unit kernels; any other family the general linearization.
  const operator = scaled.hasParams
    ? await linearizeUnit(scaled, await float64Trajectory(scaled, pixels), unit, { precision: 'f64' })
    : await linearizeModelUnit(scaled, pixels, unit);
  try {
    return await use(operator, { unit, unitLabel: unitLabel(model, unit), alpha, beta, shape: [...operator.shape] as [number, number] });
  } finally {
    operator.dispose();
  }
}

/** The k largest singular values of J (and their right singular vectors, k x n). */
export async function topUnitSingularValues(operator: JacobianOperator<Float64Array>, k: number, tol = 1e-10) {
  const [m, n] = operator.shape;
  if (!Number.isInteger(k) || k < 1 || k > Math.min(m, n)) {
    throw new UsageError(`k must be an integer in 1..${Math.min(m, n)}, got ${k}`);
  }
  const result = await topSingularTriplets({ shape: operator.shape, wasmHandle: operator.wasmHandle }, k, { tol, block: 2 });
  return { values: result.values, rightVectors: result.v, converged: result.converged, residuals: result.residuals };
}

/**
 * Histogram of J's singular values over `edges` by stochastic Lanczos quadrature. `error` is the
 * stated error of each count: the deterministic quadrature bound plus 3 standard errors over probes.
 */
export async function unitDensity(operator: JacobianOperator<Float64Array>, edges: number[], seed = 0) {
  const density = await spectralDensity({ shape: operator.shape, wasmHandle: operator.wasmHandle }, { bins: edges, seed });
  return {
    edges: Array.from(density.edges),
    counts: Array.from(density.counts),
    error: Array.from(density.counts, (_, b) => density.quadratureBound[b] + 3 * density.standardError[b]),
  };
}

/** The exact number of J's singular values in [lo, hi). */
export async function countUnitSingularValues(operator: JacobianOperator<Float64Array>, lo: number, hi: number, channels: [number, number, number]): Promise<number> {
  const [m, n] = operator.shape;
  const active = new Set(operator.activeRows());
  // Rows in pixel-major order make J_a J_a^T banded (windows overlap only between nearby pixels).
  const ordered = Int32Array.from(Array.from(pixelMajorOrder(...channels)).filter((r) => active.has(r)));
  const gram = await bandedGramFromRows(
    { rows: ordered.length, columns: n, fill: (first, count) => operator.denseRows(ordered.subarray(first, first + count)) },
    { singularValueCount: Math.min(m, n) },
  );
  return countSingularValuesBanded(gram, lo, hi);
}
