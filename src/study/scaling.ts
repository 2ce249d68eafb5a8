/**
 * The paper's modifications of the trained network: scale the skip connection (alpha) or the residual
 * branch's weights (beta) — network-wide or in chosen units — and see how the unit spectra move and
 * what happens to test accuracy.
 *
 * For every value v of the swept parameter, the model gets alpha (or beta) = v in the chosen units
 * (all units when none are chosen) and 1 elsewhere; accuracy is measured on the first `limit` images,
 * and the full spectra of `spectrumUnits` at `spectrumImages` are summarized (src/study/spectrum.ts).
 * Any family: accuracy through its forward pass (the graph forward for any but the paper's), spectra
 * through its general linearization; `data` holds images of the model's input shape.
 */
import type { ResNetModel } from '../model/model.js';
import { InputError } from '../util/errors.js';
import { evaluateAccuracy, type LabelledImages } from './accuracy.js';
import type { StudyExecutor } from './executor.js';
import { spectrumSummary, unitSpectrum } from './spectrum.js';

export type ScaledParameter = 'alpha' | 'beta';

export interface ScalingSweepOptions {
  parameter: ScaledParameter;
  values: number[];
  /** Units whose parameter is changed (indices); all units when empty or undefined. */
  units?: number[];
  /** Images for accuracy: the first `limit` of `data` (default all). */
  limit?: number;
  /** Units whose spectra are computed at each value, at each of `spectrumImages`. */
  spectrumUnits?: number[];
  spectrumImages?: number[];
  /** Runs the accuracy batches (default: this thread). */
  executor?: StudyExecutor;
  onProgress?: (message: string) => void;
}

export interface ScalingSpectrumRow {
  value: number;
  unit: number;
  image: number;
  smax: number;
  smallestNonzero: number;
  fractionOne: number;
  fractionZero: number;
}

export interface ScalingSweepResult {
  parameter: ScaledParameter;
  units: number[] | 'all';
  accuracy: { value: number; images: number; correct: number; accuracy: number }[];
  spectra: ScalingSpectrumRow[];
}

/** The model with `parameter` = value in `units` (all units when empty) and 1 elsewhere. */
export function scaledModel(model: ResNetModel, parameter: ScaledParameter, value: number, units: number[] = []): ResNetModel {
  if (!Number.isFinite(value)) throw new InputError(`${parameter} values must be finite, got ${value}`);
  const scales = new Float64Array(model.unitCount).fill(units.length ? 1 : value);
  for (const u of units) scales[u] = value;
  return model.withScaling(parameter === 'alpha' ? { alpha: scales, beta: 1 } : { alpha: 1, beta: scales });
}

export async function scalingSweep(model: ResNetModel, data: LabelledImages, options: ScalingSweepOptions): Promise<ScalingSweepResult> {
  if (options.values.length === 0) throw new InputError('no values to sweep');
  const d = model.inputValues;
  if (data.pixels.length !== data.count * d) {
    throw new InputError(`the data's images are not ${model.inputShape.join('x')} (${data.pixels.length} bytes for ${data.count} images), the input of ${model.name}`);
  }
  const units = options.units ?? [];
  const result: ScalingSweepResult = { parameter: options.parameter, units: units.length ? units : 'all', accuracy: [], spectra: [] };
  for (const value of options.values) {
    const scaled = scaledModel(model, options.parameter, value, units);
    options.onProgress?.(`${options.parameter} = ${value}: accuracy`);
    const acc = await evaluateAccuracy(scaled, data, { limit: options.limit, executor: options.executor });
    result.accuracy.push({ value, ...acc });
    for (const unit of options.spectrumUnits ?? []) {
      for (const image of options.spectrumImages ?? []) {
        options.onProgress?.(`${options.parameter} = ${value}: spectrum of unit ${unit} at image ${image}`);
        const pixels = new Float32Array(d);
        for (let i = 0; i < d; i++) pixels[i] = data.pixels[image * d + i] / 255;
        const spectrum = await unitSpectrum(scaled, pixels, unit);
        const s = spectrumSummary(spectrum);
        result.spectra.push({ value, unit, image, smax: s.smax, smallestNonzero: s.smallestNonzero, fractionOne: s.fractionOne, fractionZero: s.fractionZero });
      }
    }
  }
  return result;
}
