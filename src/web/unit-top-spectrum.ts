/**
 * The k largest singular values of one unit's linearization at one image: the computation the edge
 * entry serves per request and the demo page shows first. It runs entirely in our WebAssembly kernels
 * (float64 forward pass, unit operator, block Golub–Kahan–Lanczos), so it needs neither tfjs nor
 * workers nor a file system.
 */
import { assertFiniteImage } from '../data/image.js';
import type { ResNetModel } from '../model/model.js';
import { topUnitSingularValues, withUnitLinearization } from '../study/spectrum-methods.js';

export interface UnitTopSpectrumRequest {
  model: ResNetModel;
  /** One image, 3 x 32 x 32 (CHW) in [0, 1]. */
  pixels: Float32Array;
  /** Unit index (0-based) or "stage.unit" (1-based, as in the paper). */
  unit: number | string;
  /** How many of the largest singular values (default 5). */
  k?: number;
  /** Skip-connection and residual scales for this unit (default: the model's). */
  alpha?: number;
  beta?: number;
  /** Relative residual at which Lanczos stops (default 1e-10). */
  tol?: number;
}

export interface UnitTopSpectrum {
  model: string;
  unit: number;
  unitLabel: string;
  shape: [number, number];
  alpha: number;
  beta: number;
  /** The k largest singular values, descending. */
  values: number[];
  converged: boolean;
  seconds: number;
}

export async function unitTopSpectrum(request: UnitTopSpectrumRequest): Promise<UnitTopSpectrum> {
  const started = performance.now();
  assertFiniteImage(request.pixels, 'image');
  const k = request.k ?? 5;
  return withUnitLinearization(request.model, request.pixels, request.unit, request, async (operator, point) => {
    const top = await topUnitSingularValues(operator, k, request.tol ?? 1e-10);
    return {
      model: request.model.name,
      ...point,
      values: Array.from(top.values),
      converged: top.converged,
      seconds: (performance.now() - started) / 1000,
    };
  });
}
