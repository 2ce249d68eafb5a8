/**
 * The full singular spectrum of a residual unit's linearization at an image (the paper's central
 * measurement). The image's trajectory is recomputed in float64 in WebAssembly (so the ReLU masks are
 * the float64 ones) and the unit's Jacobian J = D_out (alpha*S + B2 W2 D_mid B1 W1) is linearized;
 * only its active rows matter (rows with D_out = 0 are exactly zero and give zero singular values).
 *
 * Routes (`route`):
 * - 'gram': the sparse Gram route (src/spectrum/gram-route.ts): G = J_A J_A^T built from the rows'
 *   local windows, two-stage Householder tridiagonalization, QL/QR eigenvalues, square roots; several
 *   times faster than the bidiagonal route on a stage-1 unit (BENCHMARKS.md). Small values lose
 *   relative accuracy (absolute error ~ N eps s_max^2 / s); used as is even when its error estimate
 *   exceeds 1e-9 * s_max.
 * - 'bidiagonal': the active rows assembled densely and the dense bidiagonal SVD (src/spectrum/svd.ts):
 *   every value within a few max(m, n) eps s_max.
 * - 'auto' (default): 'gram', keeping its values when its error estimate is at most
 *   GRAM_DEFAULT_ACCURACY * s_max = 1e-9 * s_max, and otherwise recomputing them on 'bidiagonal' (a
 *   unit with singular values far below s_max, e.g. a rank-deficient active block). For
 *   precision 'f32', 'auto' is 'bidiagonal' and 'gram' is svd.ts's dense Gram route in f32.
 *
 * alpha and beta apply to the chosen unit only; the trajectory up to and through that unit changes
 * accordingly (later units do not matter for this unit's Jacobian).
 */
import { checkPrecision } from '../util/checks.js';
import { float64Trajectory } from '../linearize/trajectory64.js';
import type { JacobianOperator } from '../linearize/operator.js';
import { linearizeUnit } from '../linearize/unit.js';
import { linearizeModelUnit } from '../linearize/model-point.js';
import { fullSingularValues } from '../spectrum/full.js';
import { resolveUnit, unitLabel } from '../linearize/units.js';
import type { ResNetModel } from '../model/model.js';
import { svdValues, type SvdRoute } from '../spectrum/svd.js';
import { GRAM_DEFAULT_ACCURACY, unitSingularValuesGram } from '../spectrum/gram-route.js';
import { InputError } from '../util/errors.js';

export interface UnitSpectrumOptions {
  alpha?: number;
  beta?: number;
  precision?: 'f64' | 'f32';
  /** SVD route: 'auto' (default), 'gram' or 'bidiagonal'; see the module comment. */
  route?: SvdRoute;
  /** Called with a short description of each phase. */
  onPhase?: (phase: string) => void;
  /**
   * Threads for the Gram route's band reduction (Node only; the same values for any count). Default:
   * RESNET_STABILITY_THREADS, else every core on the main thread and 1 inside worker threads.
   */
  threads?: number;
}

export interface UnitSpectrum {
  unit: number;
  unitLabel: string;
  /** [m, n] = [outputs, inputs] of the unit. */
  shape: [number, number];
  alpha: number;
  beta: number;
  /** All min(m, n) singular values, descending. */
  values: Float64Array;
  /** Rows of J that are not structurally zero (D_out = 1). */
  activeRows: number;
  seconds: number;
}

/** Singular values s with |s - alpha| < 1e-6, as a fraction of min(m, n) (the paper's "at 1"). */
export const ONE_TOLERANCE = 1e-6;
/** Singular values below 1e-10 count as zero. */
export const ZERO_TOLERANCE = 1e-10;

export function spectrumSummary(s: UnitSpectrum): { smax: number; fractionZero: number; fractionOne: number; smallestNonzero: number } {
  const v = s.values;
  let zero = 0;
  let one = 0;
  let smallestNonzero = Number.NaN;
  for (const x of v) {
    if (x < ZERO_TOLERANCE) zero++;
    else smallestNonzero = x;
    if (Math.abs(x - s.alpha) < ONE_TOLERANCE) one++;
  }
  return { smax: v[0] ?? 0, fractionZero: zero / v.length, fractionOne: one / v.length, smallestNonzero };
}

function checkScale(value: number, what: string): number {
  if (!Number.isFinite(value)) throw new InputError(`${what} must be a finite number, got ${value}`);
  return value;
}

/**
 * The model with alpha/beta changed in unit `unitSpec` only (unspecified ones keep the model's), the
 * unit's index and the scales it got. Errors: InputError for a bad unit or a non-finite scale.
 */
export function scaleOneUnit(
  model: ResNetModel, unitSpec: number | string, scales: { alpha?: number; beta?: number },
): { scaled: ResNetModel; unit: number; alpha: number; beta: number } {
  const unit = resolveUnit(model, unitSpec);
  const alpha = checkScale(scales.alpha ?? model.alpha[unit], 'alpha');
  const beta = checkScale(scales.beta ?? model.beta[unit], 'beta');
  const alphas = Float64Array.from(model.alpha);
  const betas = Float64Array.from(model.beta);
  alphas[unit] = alpha;
  betas[unit] = beta;
  return { scaled: model.withScaling({ alpha: alphas, beta: betas }), unit, alpha, beta };
}

/** The spectrum of unit `unitSpec` (index or "stage.unit") at one image (3x32x32 pixels in [0,1]). */
export async function unitSpectrum(
  model: ResNetModel,
  pixels: Float32Array,
  unitSpec: number | string,
  options: UnitSpectrumOptions = {},
): Promise<UnitSpectrum> {
  const started = performance.now();
  const precision = checkPrecision(options.precision) ?? 'f64';
  const { scaled, unit, alpha, beta } = scaleOneUnit(model, unitSpec, options);
  options.onPhase?.('forward pass (float64)');
  const route = options.route ?? 'auto';
  if (route !== 'auto' && route !== 'bidiagonal' && route !== 'gram') {
    throw new InputError(`route must be 'auto', 'bidiagonal' or 'gram', got ${String(route)}`);
  }
  if (!scaled.hasParams) return generalUnitSpectrum(model, scaled, pixels, unit, alpha, beta, started, options);
  const trajectory = await float64Trajectory(scaled, pixels);
  // f32 on the Gram route: the operator (and G) in f64, the reduction in f32 (gram-route.ts).
  const gramF32 = precision === 'f32' && route === 'gram';
  const operator = await linearizeUnit(scaled, trajectory, unit, { precision: gramF32 ? 'f64' : precision });
  try {
    const [m, n] = operator.shape as [number, number];
    const count = Math.min(m, n);
    let values: Float64Array | undefined;
    let activeRows = 0;
    if ((precision === 'f64' && route !== 'bidiagonal') || gramF32) {
      const gram = await unitSingularValuesGram(operator as JacobianOperator<Float64Array>, {
        accuracy: GRAM_DEFAULT_ACCURACY,
        onPhase: options.onPhase,
        threads: options.threads,
        precision: gramF32 ? 'f32' : 'f64',
      });
      activeRows = gram.activeRows;
      if (gram.withinAccuracy || route === 'gram') values = gram.values;
      else {
        options.onPhase?.(
          `Gram route error estimate ${gram.errorBound.toExponential(2)} exceeds ${GRAM_DEFAULT_ACCURACY} * s_max ` +
            `(s_max ${gram.values[0].toPrecision(6)}, smallest computed ${gram.values[Math.min(gram.activeRows, count) - 1].toExponential(2)}): bidiagonal SVD instead`,
        );
      }
    }
    if (!values) {
      const active = operator.activeRows();
      activeRows = active.length;
      options.onPhase?.(`Jacobian rows (${active.length} of ${m} active)`);
      const rows = operator.denseRows(active);
      options.onPhase?.(`singular values of ${active.length} x ${n}`);
      values = new Float64Array(count);
      if (active.length > 0) {
        const denseRoute = precision === 'f32' && route === 'gram' ? 'gram' : 'bidiagonal';
        const s = rows instanceof Float64Array
          ? await svdValues(rows, active.length, n, { route: denseRoute })
          : await svdValues(rows as Float32Array, active.length, n, { route: denseRoute });
        values.set(s.subarray(0, Math.min(s.length, count)));
      }
    }
    return {
      unit,
      unitLabel: unitLabel(model, unit),
      shape: [m, n],
      alpha,
      beta,
      values,
      activeRows,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    operator.dispose();
  }
}

/**
 * Any other family: the general linearization (linearize/graph-*.ts) in f64 and spectrum/full.ts,
 * which picks the route that fits the memory (a UsageError naming topk, density, count otherwise).
 */
async function generalUnitSpectrum(
  model: ResNetModel, scaled: ResNetModel, pixels: Float32Array, unit: number, alpha: number, beta: number, started: number,
  options: UnitSpectrumOptions,
): Promise<UnitSpectrum> {
  const operator = await linearizeModelUnit(scaled, pixels, unit);
  try {
    const [m, n] = operator.shape as [number, number];
    const { values } = await fullSingularValues(operator, { threads: options.threads, onPhase: options.onPhase });
    return {
      unit, unitLabel: unitLabel(model, unit), shape: [m, n], alpha, beta, values,
      activeRows: operator.activeRows().length, seconds: (performance.now() - started) / 1000,
    };
  } finally {
    operator.dispose();
  }
}
