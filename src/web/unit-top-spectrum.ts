/**
 * The k largest singular values of one unit's linearization at one image: the computation the edge
 * entry serves per request and the demo page shows first. It runs entirely in our WebAssembly kernels
 * (float64 forward pass, unit operator, block Golub–Kahan–Lanczos), so it needs neither tfjs nor
 * workers nor a file system. Any family the package imports works: the paper's CIFAR ResNet through
 * its specialised unit kernels, every other one through the general graph linearization
 * (src/study/spectrum-methods.ts chooses), so the values are the CLI's `spectrum --method topk`.
 */
import type { ResNetModel } from '../model/model.js';
import { topUnitSingularValues, withUnitLinearization } from '../study/spectrum-methods.js';
import { InputError } from '../util/errors.js';

export interface UnitTopSpectrumRequest {
  model: ResNetModel;
  /** One image of the model's input shape (CHW, `model.inputShape`; 3 x 32 x 32 for CIFAR models), in [0, 1]. */
  pixels: Float32Array;
  /** Unit index (0-based) or "stage.unit" (1-based, stage K = torchvision's layerK). */
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

/**
 * Throws InputError unless `pixels` is one finite image of `model`'s input shape; the message names
 * `source`, the shape expected and what is wrong (the first non-finite value by channel, row, column).
 */
export function assertModelImage(model: ResNetModel, pixels: ArrayLike<number>, source: string): void {
  const [channels, height, width] = model.inputShape;
  const size = channels * height * width;
  if (pixels.length !== size) {
    throw new InputError(`${source}: model ${model.name} takes one ${channels}x${height}x${width} image = ${size} values, got ${pixels.length} values`);
  }
  for (let i = 0; i < size; i++) {
    if (!Number.isFinite(pixels[i])) {
      const pixel = i % (height * width);
      throw new InputError(
        `${source}: value at channel ${Math.floor(i / (height * width))}, row ${Math.floor(pixel / width)}, column ${pixel % width} is not finite (${pixels[i]})`,
      );
    }
  }
}

export async function unitTopSpectrum(request: UnitTopSpectrumRequest): Promise<UnitTopSpectrum> {
  const started = performance.now();
  assertModelImage(request.model, request.pixels, 'image');
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
