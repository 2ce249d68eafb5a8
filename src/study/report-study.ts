/**
 * The whole study behind `resnet-stability report`: every measurement the report sets beside the
 * paper's findings (Rothauge, Yao, Hu & Mahoney 2019), as plain numbers.
 *
 *   runReportStudy(model, data, { preset }) -> ReportStudy
 *
 * Sections (each a function of the model, the data, the preset and the seed only):
 * - spectra     all min(m, n) singular values of unit linearizations at clean images
 *               (src/study/spectrum.ts), summarized: s_max, the fraction exactly at alpha
 *               (|s - alpha| < 1e-6), near 1 (|s - 1| < NEAR_ONE), zero (s < 1e-10); a histogram of
 *               the nonzero values; the sorted spectrum downsampled for plotting; and, per unit with
 *               several images, how much the sorted spectrum varies from image to image.
 * - sweep       one unit's skip scale alpha or weight scale beta changed (src/study/scaling.ts):
 *               accuracy with that unit scaled and with every unit scaled, and the unit's spectrum
 *               at each value.
 * - propagation FGSM and Gaussian perturbations of size eps followed through every unit
 *               (src/study/propagation.ts), with the first-order (linearized) prediction; mean and
 *               quantiles over images at every depth.
 * - projection  for the same perturbations, the energy fraction of the perturbation entering a unit
 *               that lies in the span of the unit linearization's top-k right singular vectors
 *               (src/study/projection.ts: Golub-Kahan-Lanczos), sum_i (v_i . d)^2 / ||d||^2, every unit.
 *
 * Presets (`reportPlan`): `test` (a tiny run for the test suite), `quick` (a few units and images),
 * `depth` (quick plus the last unit of every stage, for comparisons across network depth),
 * `paper` (the paper's scale: every unit, more images, the full test set for accuracy); the
 * durations of quick and paper are in BENCHMARKS.md. Spectra can be stored and reloaded through
 * `store` so that an interrupted long run resumes where it stopped.
 */
import { unitLabel } from '../linearize/units.js';
import type { ResNetModel } from '../model/model.js';
import { InputError } from '../util/errors.js';
import { evaluateAccuracy, pixelsOf, type LabelledImages } from './accuracy.js';
import { InProcessExecutor, runLimited, type StudyExecutor } from './executor.js';
import type { AttackName } from './perturbations.js';
import { projectPerturbations } from './projection.js';
import type { PropagationResult } from './propagation.js';
import { scalingSweep, type ScaledParameter } from './scaling.js';
import { spectrumSummary, ONE_TOLERANCE, ZERO_TOLERANCE, type UnitSpectrum } from './spectrum.js';
import { rankStatistics } from './spectrum-study.js';

export const REPORT_PRESETS = ['test', 'quick', 'depth', 'paper'] as const;
export type ReportPresetName = (typeof REPORT_PRESETS)[number];

/** |s - 1| below this counts as "near 1" (the paper's "at or very near 1"). */
export const NEAR_ONE = 0.1;
/** Histogram bin width; bins are centred on multiples of it, so 1 sits in the middle of a bin. */
export const HISTOGRAM_BIN = 0.05;
/** Points per sorted spectrum in the figures (all ranks when fewer). */
export const PLOT_POINTS = 400;

/** What a preset computes (units are 0-based network-order indices, images CIFAR indices). */
export interface ReportPlan {
  preset: ReportPresetName;
  /** Full spectra: every unit of a group at every image of the group. */
  spectra: { units: number[]; images: number[] }[];
  propagation: { images: number[]; eps: number; attacks: AttackName[] };
  sweep: {
    unit: number;
    image: number;
    accuracyImages: number;
    /** Values at which accuracy is measured (1 included). */
    accuracyValues: number[];
    /** Values at which the unit's full spectrum is computed (1 included). */
    spectrumValues: number[];
  };
  projection: { images: number[]; k: number };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** The plan of a preset for a model, checked against the number of images available. */
export function reportPlan(model: ResNetModel, preset: ReportPresetName, imageCount: number): ReportPlan {
  const n = model.params.n;
  const unit = (stage: number, u: number) => (stage - 1) * n + (u - 1);
  const stage = (s: number) => range((s - 1) * n, n);
  const eps = 2 / 255;
  let plan: ReportPlan;
  switch (preset) {
    case 'test':
      plan = {
        preset,
        spectra: [{ units: [unit(3, 2)], images: [0, 1] }],
        propagation: { images: range(0, 4), eps, attacks: ['fgsm', 'gaussian'] },
        sweep: { unit: unit(3, 2), image: 0, accuracyImages: 100, accuracyValues: [0.5, 1, 1.5], spectrumValues: [0.5, 1] },
        projection: { images: [0], k: 5 },
      };
      break;
    case 'quick':
      plan = {
        preset,
        spectra: [
          { units: [unit(3, 2), unit(3, n)], images: [0, 1] },
          { units: [unit(2, 2)], images: [0] },
        ],
        propagation: { images: range(0, 20), eps, attacks: ['fgsm', 'gaussian'] },
        sweep: { unit: unit(3, n), image: 0, accuracyImages: 500, accuracyValues: [0.5, 0.9, 1, 1.1, 1.5], spectrumValues: [0.5, 1, 1.5] },
        projection: { images: range(0, 3), k: 10 },
      };
      break;
    case 'depth':
      // The quick study plus the full spectrum of the last unit of every stage at image 0: what a
      // comparison across network depth (ResNet-20 ... 110) plots, at a fraction of the paper's cost.
      plan = reportPlan(model, 'quick', imageCount);
      plan.preset = preset;
      plan.spectra.push({ units: [unit(1, n), unit(2, n)], images: [0] });
      break;
    case 'paper':
      plan = {
        preset,
        spectra: [
          { units: [...stage(3), ...stage(2)], images: range(0, 10) },
          { units: stage(1), images: range(0, 3) },
        ],
        propagation: { images: range(0, 1000), eps, attacks: ['fgsm', 'gaussian'] },
        sweep: {
          unit: unit(3, n), image: 0, accuracyImages: 10000,
          accuracyValues: [0, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2], spectrumValues: [0, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2],
        },
        projection: { images: range(0, 100), k: 10 },
      };
      break;
    default:
      throw new InputError(`unknown preset "${String(preset)}" (expected ${REPORT_PRESETS.join(', ')})`);
  }
  const needed = Math.max(
    ...plan.spectra.flatMap((g) => g.images), ...plan.propagation.images, plan.sweep.image, ...plan.projection.images,
  ) + 1;
  if (imageCount < needed) {
    throw new InputError(`preset ${preset} needs at least ${needed} images, the data has ${imageCount}`);
  }
  plan.sweep.accuracyImages = Math.min(plan.sweep.accuracyImages, imageCount);
  return plan;
}

export interface SpectrumEntry {
  /** unit<u>-image<i>[-alpha<a>][-beta<b>]: names the values file when spectra are stored. */
  key: string;
  unit: number;
  unitLabel: string;
  stage: number;
  image: number;
  alpha: number;
  beta: number;
  shape: [number, number];
  /** Rows of J with D_out = 1 (absent in spectra stored by versions that computed them on a pool worker without it). */
  activeRows?: number;
  /** Wall-clock seconds of the computation. */
  seconds: number;
  smax: number;
  smallestNonzero: number;
  /** |s - alpha| < 1e-6, of min(m, n). */
  fractionOne: number;
  /** s < 1e-10, of min(m, n). */
  fractionZero: number;
  /** |s - 1| < NEAR_ONE, of min(m, n). */
  fractionNearOne: number;
  /** |s - 1| < NEAR_ONE, of the nonzero values. */
  fractionNearOneOfNonzero: number;
  medianNonzero: number;
  /** Nonzero values binned: bin i covers [(i - 1/2) w, (i + 1/2) w). */
  histogram: { binWidth: number; counts: number[] };
  /** The sorted spectrum at `ranks` (0-based), for plotting. */
  sorted: { ranks: number[]; values: number[] };
}

export interface SpectrumVariation {
  unit: number;
  unitLabel: string;
  images: number[];
  /** Standard deviation across images at each rank: maximum and mean over ranks. */
  rankStdMax: number;
  rankStdMean: number;
  /** sum over ranks of the std / sum over ranks of the mean value. */
  relativeVariation: number;
  smaxMin: number;
  smaxMax: number;
  fractionOneMin: number;
  fractionOneMax: number;
}

export interface SweepAccuracy {
  parameter: ScaledParameter;
  scope: 'unit' | 'network';
  value: number;
  images: number;
  correct: number;
  accuracy: number;
}

export interface SweepSpectrum extends SpectrumEntry {
  parameter: ScaledParameter;
  value: number;
  /** sum |s_v - s_1| / sum s_1 over ranks, against the unscaled spectrum of the same unit and image. */
  relativeChange: number;
}

export interface CurveSummary {
  mean: number[];
  q10: number[];
  median: number[];
  q90: number[];
}

export interface PropagationAttack {
  attack: AttackName;
  results: PropagationResult[];
  relative: CurveSummary;
  firstOrder: CurveSummary;
  /** Images whose prediction changed under the perturbation. */
  flipped: number;
}

export interface ProjectionRow {
  image: number;
  unit: number;
  attack: AttackName;
  /** sum_i (v_i . d)^2 / ||d||^2 over the top-k right singular vectors v_i of the unit's J. */
  fraction: number;
  /** sum_i s_i^2 (v_i . d)^2 / ||d||^2: how strongly J stretches that part. */
  amplification: number;
}

export interface ProjectionUnit {
  unit: number;
  unitLabel: string;
  /** Input dimension n of the unit: k / n is the fraction of an isotropic random vector. */
  inputs: number;
  chance: number;
  /** Energy fraction over images: mean, min, max; and the mean amplification. */
  byAttack: { attack: AttackName; mean: number; min: number; max: number; amplification: number }[];
}

export interface ReportStudy {
  model: string;
  depth: number;
  units: number;
  preset: ReportPresetName;
  seed: number;
  plan: ReportPlan;
  tolerances: { one: number; zero: number; nearOne: number };
  cleanAccuracy: { images: number; correct: number; accuracy: number };
  spectra: SpectrumEntry[];
  variation: SpectrumVariation[];
  sweep: { unit: number; unitLabel: string; image: number; accuracy: SweepAccuracy[]; spectra: SweepSpectrum[] };
  propagation: { eps: number; norm: 'linf'; images: number[]; attacks: PropagationAttack[]; stageEnds: number[] };
  projection: { available: true; k: number; rows: ProjectionRow[]; units: ProjectionUnit[] } | { available: false; reason: string };
  seconds: Record<string, number>;
}

/** Where computed spectra go, and where a resumed run finds them (see src/cli/report.ts). */
export interface SpectrumStore {
  load(key: string): Promise<{ entry: Omit<SpectrumEntry, 'histogram' | 'sorted'>; values: Float64Array } | undefined>;
  save(entry: SpectrumEntry, values: Float64Array): Promise<void>;
}

export interface ReportStudyOptions {
  preset: ReportPresetName;
  seed?: number;
  /** Runs spectra, accuracy batches and propagation chunks (default: this thread). */
  executor?: StudyExecutor;
  store?: SpectrumStore;
  /** Called with (step, total steps, message) before each step. */
  onProgress?: (step: number, total: number, message: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Numbers from one spectrum

function histogram(values: Float64Array): { binWidth: number; counts: number[] } {
  const counts: number[] = [];
  for (const s of values) {
    if (s < ZERO_TOLERANCE) continue;
    const bin = Math.floor(s / HISTOGRAM_BIN + 0.5);
    while (counts.length <= bin) counts.push(0);
    counts[bin]++;
  }
  return { binWidth: HISTOGRAM_BIN, counts };
}

function plotRanks(count: number): number[] {
  if (count <= PLOT_POINTS) return range(0, count);
  const ranks = new Set<number>(range(0, 32));
  for (let i = 0; i < PLOT_POINTS; i++) ranks.add(Math.round((i * (count - 1)) / (PLOT_POINTS - 1)));
  return [...ranks].sort((a, b) => a - b);
}

export function describeSpectrum(
  base: Omit<SpectrumEntry, 'histogram' | 'sorted' | 'smax' | 'smallestNonzero' | 'fractionOne' | 'fractionZero' | 'fractionNearOne' | 'fractionNearOneOfNonzero' | 'medianNonzero'>,
  values: Float64Array,
): SpectrumEntry {
  const summary = spectrumSummary({ values, alpha: base.alpha } as UnitSpectrum);
  const nonzero = values.filter((s) => s >= ZERO_TOLERANCE);
  const near = (v: Float64Array) => v.filter((s) => Math.abs(s - 1) < NEAR_ONE).length;
  const ranks = plotRanks(values.length);
  return {
    ...base,
    ...summary,
    fractionNearOne: near(values) / values.length,
    fractionNearOneOfNonzero: nonzero.length ? near(nonzero) / nonzero.length : 0,
    // values are descending: the median of the nonzero ones is the middle of the first nonzero.length
    medianNonzero: nonzero.length ? (nonzero[(nonzero.length - 1) >> 1] + nonzero[nonzero.length >> 1]) / 2 : 0,
    histogram: histogram(values),
    sorted: { ranks, values: ranks.map((r) => values[r]) },
  };
}

export function spectrumKey(unit: number, image: number, alpha = 1, beta = 1): string {
  return `unit${unit}-image${image}${alpha === 1 ? '' : `-alpha${alpha}`}${beta === 1 ? '' : `-beta${beta}`}`;
}

function rankVariation(model: ResNetModel, unit: number, entries: SpectrumEntry[], spectra: Float64Array[]): SpectrumVariation {
  const { ranks, maxStd: max, stdSum, meanSum } = rankStatistics(spectra);
  const smax = entries.map((e) => e.smax);
  const one = entries.map((e) => e.fractionOne);
  return {
    unit,
    unitLabel: unitLabel(model, unit),
    images: entries.map((e) => e.image),
    rankStdMax: max,
    rankStdMean: ranks ? stdSum / ranks : 0,
    relativeVariation: meanSum > 0 ? stdSum / meanSum : 0,
    smaxMin: Math.min(...smax),
    smaxMax: Math.max(...smax),
    fractionOneMin: Math.min(...one),
    fractionOneMax: Math.max(...one),
  };
}

function relativeL1(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let norm = 0;
  for (let r = 0; r < Math.min(a.length, b.length); r++) {
    diff += Math.abs(a[r] - b[r]);
    norm += Math.abs(b[r]);
  }
  return norm > 0 ? diff / norm : 0;
}

/** Linear-interpolated quantile of the values (type 7, as numpy's default). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]) - sorted[lo]);
}

export function curveSummary(curves: number[][]): CurveSummary {
  const depth = Math.min(...curves.map((c) => c.length));
  const at = (k: number) => curves.map((c) => c[k]);
  const each = (f: (v: number[]) => number) => range(0, Math.max(0, depth)).map((k) => f(at(k)));
  return {
    mean: each((v) => v.reduce((a, b) => a + b, 0) / v.length),
    q10: each((v) => quantile(v, 0.1)),
    median: each((v) => quantile(v, 0.5)),
    q90: each((v) => quantile(v, 0.9)),
  };
}

// ---------------------------------------------------------------------------------------------
// The study

export async function runReportStudy(model: ResNetModel, data: LabelledImages, options: ReportStudyOptions): Promise<ReportStudy> {
  const plan = reportPlan(model, options.preset, data.count);
  const seed = options.seed ?? 0;
  const n = model.params.n;
  const stageOf = (u: number) => Math.floor(u / n) + 1;
  const seconds: Record<string, number> = {};
  const started = performance.now();

  // Steps, for progress: each spectrum, each accuracy value, each propagation chunk, each projection image.
  const chunk = 25;
  const sweepSpectrumValues = plan.sweep.spectrumValues.filter((v) => v !== 1);
  const accuracyRuns = 1 + 2 * 2 * plan.sweep.accuracyValues.filter((v) => v !== 1).length;
  const total =
    plan.spectra.reduce((t, g) => t + g.units.length * g.images.length, 0) +
    2 * sweepSpectrumValues.length + accuracyRuns +
    (plan.spectra.some((g) => g.units.includes(plan.sweep.unit) && g.images.includes(plan.sweep.image)) ? 0 : 1) +
    plan.propagation.attacks.length * Math.ceil(plan.propagation.images.length / chunk) +
    plan.projection.images.length;
  let step = 0;
  const progress = (message: string) => options.onProgress?.(Math.min(++step, total), total, message);

  const pixelsOfImage = (image: number) => pixelsOf(data, image, image + 1);

  // Spectra, computed once per (unit, image, alpha, beta), also for the sweep's unscaled value.
  const values = new Map<string, Float64Array>();
  const entries = new Map<string, Promise<SpectrumEntry>>();
  const executor = options.executor ?? new InProcessExecutor();
  /** All values of one spectrum, on the executor. */
  const compute = (unit: number, image: number, alpha: number, beta: number) =>
    executor.run(model, { kind: 'unitSpectrum', pixels: pixelsOfImage(image), unit, alpha, beta });
  const spectrum = (unit: number, image: number, alpha = 1, beta = 1): Promise<SpectrumEntry> => {
    const key = spectrumKey(unit, image, alpha, beta);
    const known = entries.get(key);
    if (known) return known;
    const promise = (async () => {
      const label = unitLabel(model, unit);
      progress(`spectrum of unit ${label} (${unit}) at image ${image}${alpha !== 1 ? `, alpha ${alpha}` : ''}${beta !== 1 ? `, beta ${beta}` : ''}`);
      const stored = await options.store?.load(key);
      const base = { key, unit, unitLabel: label, stage: stageOf(unit), image, alpha, beta };
      let entry: SpectrumEntry;
      let v: Float64Array;
      if (stored && stored.entry.unit === unit && stored.entry.image === image && stored.entry.alpha === alpha && stored.entry.beta === beta) {
        v = stored.values;
        entry = describeSpectrum({ ...base, shape: stored.entry.shape, activeRows: stored.entry.activeRows, seconds: stored.entry.seconds }, v);
      } else {
        const c = await compute(unit, image, alpha, beta);
        v = c.values;
        entry = describeSpectrum({ ...base, shape: c.shape, activeRows: c.activeRows, seconds: c.seconds }, v);
        await options.store?.save(entry, v);
      }
      values.set(key, v);
      return entry;
    })();
    entries.set(key, promise);
    return promise;
  };
  const concurrency = executor.concurrency;

  // 1-2. Spectra at clean images and their variation across images.
  let t = performance.now();
  const jobs = plan.spectra.flatMap((g) => g.units.flatMap((unit) => g.images.map((image) => () => spectrum(unit, image))));
  const spectra = await runLimited(jobs, concurrency);
  const variation: SpectrumVariation[] = [];
  for (const unit of [...new Set(spectra.map((e) => e.unit))]) {
    const own = spectra.filter((e) => e.unit === unit);
    if (own.length > 1) variation.push(rankVariation(model, unit, own, own.map((e) => values.get(e.key)!)));
  }
  seconds.spectra = (performance.now() - t) / 1000;

  // 3. The alpha/beta sweep of one unit: accuracy (that unit scaled, and every unit scaled) and spectra.
  t = performance.now();
  const { unit: sweepUnit, image: sweepImage } = plan.sweep;
  progress(`accuracy of the unscaled model on ${plan.sweep.accuracyImages} images`);
  const clean = await evaluateAccuracy(model, data, { limit: plan.sweep.accuracyImages, executor });
  const accuracy: SweepAccuracy[] = [];
  for (const parameter of ['alpha', 'beta'] as const) {
    for (const scope of ['unit', 'network'] as const) {
      const scaled = plan.sweep.accuracyValues.filter((v) => v !== 1);
      if (plan.sweep.accuracyValues.includes(1)) accuracy.push({ parameter, scope, value: 1, ...clean });
      for (const value of scaled) {
        progress(`accuracy with ${parameter} = ${value} in ${scope === 'unit' ? `unit ${unitLabel(model, sweepUnit)}` : 'every unit'}`);
        const result = await scalingSweep(model, data, {
          parameter, values: [value], units: scope === 'unit' ? [sweepUnit] : [], limit: plan.sweep.accuracyImages, executor,
        });
        accuracy.push({ parameter, scope, ...result.accuracy[0] });
      }
    }
  }
  const baseline = await spectrum(sweepUnit, sweepImage);
  const baselineValues = values.get(baseline.key)!;
  const sweepJobs = (['alpha', 'beta'] as const).flatMap((parameter) =>
    plan.sweep.spectrumValues.map((value) => async (): Promise<SweepSpectrum> => {
      const entry = await spectrum(sweepUnit, sweepImage, parameter === 'alpha' ? value : 1, parameter === 'beta' ? value : 1);
      return { ...entry, parameter, value, relativeChange: relativeL1(values.get(entry.key)!, baselineValues) };
    }));
  const sweepSpectra = await runLimited(sweepJobs, concurrency);
  const order = (a: SweepAccuracy) => `${a.parameter}-${a.scope === 'unit' ? 0 : 1}`;
  accuracy.sort((a, b) => order(a).localeCompare(order(b)) || a.value - b.value);
  seconds.sweep = (performance.now() - t) / 1000;

  // 4. Propagation of FGSM and random perturbations, with the first-order prediction.
  t = performance.now();
  const { images: propagationImages, eps } = plan.propagation;
  const labels = propagationImages.map((i) => data.labels[i]);
  const attacks: PropagationAttack[] = [];
  for (const attack of plan.propagation.attacks) {
    const starts = range(0, Math.ceil(propagationImages.length / chunk)).map((c) => c * chunk);
    const chunks = await runLimited(starts.map((start) => async (): Promise<PropagationResult[]> => {
      const ids = propagationImages.slice(start, start + chunk);
      const chunkLabels = labels.slice(start, start + ids.length);
      progress(`propagation of ${attack} perturbations, images ${ids[0]}-${ids.at(-1)}`);
      const pixels = new Float32Array(ids.length * 3072);
      ids.forEach((id, i) => pixels.set(pixelsOfImage(id), i * 3072));
      const perturbation = { attack, eps, norm: 'linf' as const, seed };
      return executor.run(model, { kind: 'propagate', pixels, labels: chunkLabels, ids, perturbation, firstOrder: true });
    }), concurrency);
    const results = chunks.flat();
    attacks.push({
      attack,
      results,
      relative: curveSummary(results.map((r) => r.relative)),
      firstOrder: curveSummary(results.map((r) => r.firstOrder)),
      flipped: results.filter((r) => r.predPerturbed !== r.predClean).length,
    });
  }
  seconds.propagation = (performance.now() - t) / 1000;

  // 5. Projections onto the top right singular vectors of the unit linearizations (src/study/projection.ts).
  t = performance.now();
  const { k } = plan.projection;
  const rows: ProjectionRow[] = [];
  for (const image of plan.projection.images) {
    progress(`projections at image ${image} (top ${k} right singular vectors of every unit)`);
    const perImage = await projectPerturbations(
      model, pixelsOfImage(image), data.labels[image], image,
      plan.propagation.attacks.map((attack) => ({ attack, eps, norm: 'linf' as const, seed })), k,
    );
    for (const { attack, rows: unitRows } of perImage) {
      for (const r of unitRows) rows.push({ image, unit: r.unit, attack: attack as AttackName, fraction: r.fraction, amplification: r.amplification });
    }
  }
  const projectionUnits: ProjectionUnit[] = range(0, model.unitCount).map((unit) => {
    const inputs = model.params.units[unit].inChannels * model.params.units[unit].inSize ** 2;
    return {
      unit,
      unitLabel: unitLabel(model, unit),
      inputs,
      chance: k / inputs,
      byAttack: plan.propagation.attacks.map((attack) => {
        const f = rows.filter((r) => r.unit === unit && r.attack === attack).map((r) => r.fraction);
        const amplification = rows.filter((r) => r.unit === unit && r.attack === attack).map((r) => r.amplification);
        return { attack, mean: f.reduce((a, b) => a + b, 0) / f.length, min: Math.min(...f), max: Math.max(...f), amplification: amplification.reduce((a, b) => a + b, 0) / amplification.length };
      }),
    };
  });
  seconds.projection = (performance.now() - t) / 1000;
  seconds.total = (performance.now() - started) / 1000;

  return {
    model: model.name,
    depth: model.params.depth,
    units: model.unitCount,
    preset: plan.preset,
    seed,
    plan,
    tolerances: { one: ONE_TOLERANCE, zero: ZERO_TOLERANCE, nearOne: NEAR_ONE },
    cleanAccuracy: clean,
    spectra,
    variation,
    sweep: { unit: sweepUnit, unitLabel: unitLabel(model, sweepUnit), image: sweepImage, accuracy, spectra: sweepSpectra },
    propagation: {
      eps,
      norm: 'linf',
      images: propagationImages,
      attacks,
      // depth index k of the last unit of each stage (k = 0 is the stem)
      stageEnds: [1, 2, 3].map((s) => s * n),
    },
    projection: { available: true, k, rows, units: projectionUnits },
    seconds,
  };
}
