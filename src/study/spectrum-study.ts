/**
 * The spectrum study as jobs: one (unit, image) pair per job, each giving a JSON record and, for the
 * full and top-k methods, the singular values. The summary adds, per unit, how much the sorted
 * spectrum varies across images: the standard deviation at each rank (over images), summarized by its
 * maximum and mean over ranks.
 */
import type { ResNetModel } from '../model/model.js';
import { spectrumSummary, unitSpectrum } from './spectrum.js';
import { countUnitSingularValues, topUnitSingularValues, unitDensity, withUnitLinearization } from './spectrum-methods.js';
import type { JobRecord } from './jobs.js';

export type SpectrumMethod = 'full' | 'topk' | 'density' | 'count';

export interface SpectrumJobOptions {
  method: SpectrumMethod;
  k: number;
  bins?: number[];
  interval?: number[];
  alpha?: number;
  beta?: number;
  precision: 'f64' | 'f32';
  route: 'auto' | 'bidiagonal' | 'gram';
}

export interface SpectrumRecord extends JobRecord {
  image: number | string;
  unit: number;
  unitLabel: string;
  shape: [number, number];
  alpha: number;
  beta: number;
  smax?: number;
  smallestNonzero?: number;
  fractionOne?: number;
  fractionZero?: number;
  values?: number[];
  density?: { edges: number[]; counts: number[]; error: number[] };
  count?: { lo: number; hi: number; count: number; fraction: number };
}

export const spectrumJobKey = (unit: number, image: number | string): string => `unit${unit}-image${image}`;

export async function runSpectrumJob(
  model: ResNetModel, pixels: Float32Array, unit: number, image: number | string, o: SpectrumJobOptions,
): Promise<{ record: SpectrumRecord; values?: Float64Array }> {
  const key = spectrumJobKey(unit, image);
  if (o.method === 'full') {
    const result = await unitSpectrum(model, pixels, unit, { alpha: o.alpha, beta: o.beta, precision: o.precision, route: o.route });
    const s = spectrumSummary(result);
    return {
      record: { key, image, unit: result.unit, unitLabel: result.unitLabel, shape: result.shape, alpha: result.alpha, beta: result.beta, ...s },
      values: result.values,
    };
  }
  return withUnitLinearization(model, pixels, unit, { alpha: o.alpha, beta: o.beta }, async (operator, point) => {
    const record: SpectrumRecord = { key, image, ...point };
    if (o.method === 'topk') {
      const top = await topUnitSingularValues(operator, o.k);
      record.values = Array.from(top.values);
      record.smax = top.values[0];
      return { record, values: top.values };
    }
    if (o.method === 'density') {
      const smax = (await topUnitSingularValues(operator, 1, 1e-8)).values[0];
      const edges = o.bins ?? Array.from({ length: 41 }, (_, i) => (i * smax * 1.0001) / 40);
      record.smax = smax;
      record.density = await unitDensity(operator, edges);
      return { record };
    }
    const [lo, hi] = o.interval ?? [point.alpha - 1e-3, point.alpha + 1e-3];
    const count = await countUnitSingularValues(operator, lo, hi, model.graph.units[point.unit].outShape);
    record.count = { lo, hi, count, fraction: count / Math.min(...point.shape) };
    return { record };
  });
}

/**
 * Across images, at each rank r of the sorted spectra: the mean and the (sample) standard deviation of
 * the r-th singular value. Returns the largest standard deviation and the sums over ranks.
 */
export function rankStatistics(spectra: ArrayLike<number>[]): { ranks: number; maxStd: number; stdSum: number; meanSum: number } {
  const ranks = Math.min(...spectra.map((s) => s.length));
  let maxStd = 0;
  let stdSum = 0;
  let meanSum = 0;
  for (let r = 0; r < ranks; r++) {
    let mean = 0;
    for (const s of spectra) mean += s[r];
    mean /= spectra.length;
    let variance = 0;
    for (const s of spectra) variance += (s[r] - mean) ** 2;
    const std = Math.sqrt(variance / Math.max(1, spectra.length - 1));
    maxStd = Math.max(maxStd, std);
    stdSum += std;
    meanSum += mean;
  }
  return { ranks, maxStd, stdSum, meanSum };
}

/** Per-rank standard deviation across images of the sorted spectra of one unit. */
export function rankVariation(spectra: ArrayLike<number>[]): { maxStd: number; meanStd: number; ranks: number } {
  const { ranks, maxStd, stdSum } = rankStatistics(spectra);
  return { maxStd, meanStd: ranks ? stdSum / ranks : 0, ranks };
}

/** The study summary from the job records (in job order) and each record's values, if any. */
export function spectrumStudySummary(
  model: string, method: SpectrumMethod, records: SpectrumRecord[], valuesOf: (r: SpectrumRecord) => ArrayLike<number> | undefined,
) {
  const byUnit = new Map<number, ArrayLike<number>[]>();
  for (const r of records) {
    const v = valuesOf(r);
    if (v) byUnit.set(r.unit, [...(byUnit.get(r.unit) ?? []), v]);
  }
  const variation = [...byUnit].filter(([, s]) => s.length > 1).map(([unit, s]) => ({ unit, ...rankVariation(s) }));
  const results = records.map(({ key: _key, ...rest }) => rest);
  return { model, method, results, variation };
}
