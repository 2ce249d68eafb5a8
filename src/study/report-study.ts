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
 * durations of quick and paper are in BENCHMARKS.md. Stages and units come from the model's graph,
 * so every family of issue 11 (any number of stages, of units per stage) has a plan; the model must
 * take CIFAR's 3x32x32 images. Spectra can be stored and reloaded through
 * `store` so that an interrupted long run resumes where it stopped.
 */
import { unitLabel } from '../linearize/units.js';
import type { NetworkDescription } from '../model/graph.js';
import type { ResNetModel } from '../model/model.js';
import { InputError } from '../util/errors.js';
import { evaluateAccuracy, pixelsOf, type AccuracyResult, type LabelledImages } from './accuracy.js';
import { InProcessExecutor, type StudyExecutor, type WideLane } from './executor.js';
import { fullSpectrumFits, jobCost, wideJobs } from './job-cost.js';
import { jobValuesFile, runJobs, shardJobs, type JobRecord, type Shard, type StudyManifest } from './jobs.js';
import { npyFloat64, readFloat64File } from '../util/npy.js';
import type { AttackName } from './perturbations.js';
import type { PropagationResult } from './propagation.js';
import { scaledModel, type ScaledParameter } from './scaling.js';
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

/**
 * The network-order indices of the units of each stage, stages in order (stage K = torchvision's
 * `layerK`): any number of stages and of units per stage, read from the model's graph.
 */
export function stageUnitLists(model: ResNetModel): number[][] {
  const stages = new Map<number, number[]>();
  model.graph.units.forEach((unit, u) => {
    if (!stages.has(unit.stage)) stages.set(unit.stage, []);
    stages.get(unit.stage)!.push(u);
  });
  return [...stages.keys()].sort((a, b) => a - b).map((stage) => stages.get(stage)!);
}

/** Depth index k (0 = the stem, k = after unit k - 1) at which each stage ends: cumulative units per stage. */
export function stageEndDepths(model: ResNetModel): number[] {
  let end = 0;
  return stageUnitLists(model).map((units) => (end += units.length));
}

/**
 * `stage.unit` of the unit after which depth k is measured (k >= 1; k = 0 is the stem), from the depths
 * at which the stages end (ReportStudy.propagation.stageEnds): its stage is the first that ends at or
 * after k. For the paper's family (ends n, 2n, 3n) depth k is unit ((k-1) div n + 1).((k-1) mod n + 1).
 */
export function depthLabel(stageEnds: readonly number[], k: number): string {
  if (k === 0) return 'stem';
  const stage = stageEnds.findIndex((end) => end >= k);
  return `${stage + 1}.${k - (stage > 0 ? stageEnds[stage - 1] : 0)}`;
}

/**
 * The plan of a preset for a model, checked against the number of images available. Units are named
 * by position in their stage, counted from the last stage S (the paper's stage 3): `test` takes the
 * second unit of stage S (its only unit when it has one), `quick` that one, the last of stage S and the
 * second of stage S - 1, `depth` adds the last unit of every earlier stage, `paper` every unit. Units
 * whose full spectrum would not fit the memory limit (job-cost.ts fullSpectrumFits) are left out of the
 * spectra and of the sweep's spectra (never for the CIFAR families; the accuracy sweep stays).
 */
export function reportPlan(model: ResNetModel, preset: ReportPresetName, imageCount: number): ReportPlan {
  const [channels, height, width] = model.inputShape;
  if (channels !== 3 || height !== 32 || width !== 32) {
    throw new InputError(`model ${model.name} takes ${channels}x${height}x${width} inputs; the report runs on CIFAR's 3x32x32 images`);
  }
  const stages = stageUnitLists(model);
  const last = stages.length;
  const stage = (s: number) => (s >= 1 ? stages[s - 1] : []);
  // Unit u (1-based) of stage s, or the stage's last unit when it has fewer.
  const unit = (s: number, u: number) => stage(s)[Math.min(u, stage(s).length) - 1];
  const lastOf = (s: number) => stage(s)[stage(s).length - 1];
  const eps = 2 / 255;
  let plan: ReportPlan;
  switch (preset) {
    case 'test':
      plan = {
        preset,
        spectra: [{ units: [unit(last, 2)], images: [0, 1] }],
        propagation: { images: range(0, 4), eps, attacks: ['fgsm', 'gaussian'] },
        sweep: { unit: unit(last, 2), image: 0, accuracyImages: 100, accuracyValues: [0.5, 1, 1.5], spectrumValues: [0.5, 1] },
        projection: { images: [0], k: 5 },
      };
      break;
    case 'quick':
      plan = {
        preset,
        spectra: [
          { units: [...new Set([unit(last, 2), lastOf(last)])], images: [0, 1] },
          { units: last > 1 ? [unit(last - 1, 2)] : [], images: [0] },
        ],
        propagation: { images: range(0, 20), eps, attacks: ['fgsm', 'gaussian'] },
        sweep: { unit: lastOf(last), image: 0, accuracyImages: 500, accuracyValues: [0.5, 0.9, 1, 1.1, 1.5], spectrumValues: [0.5, 1, 1.5] },
        projection: { images: range(0, 3), k: 10 },
      };
      break;
    case 'depth':
      // The quick study plus the full spectrum of the last unit of every stage at image 0: what a
      // comparison across network depth (ResNet-20 ... 110) plots, at a fraction of the paper's cost.
      plan = reportPlan(model, 'quick', imageCount);
      plan.preset = preset;
      plan.spectra.push({ units: range(1, last - 1).map(lastOf), images: [0] });
      break;
    case 'paper':
      plan = {
        preset,
        spectra: [
          { units: range(2, last - 1).reverse().flatMap(stage), images: range(0, 10) },
          { units: stage(1), images: range(0, 3) },
        ],
        propagation: { images: range(0, 1000), eps, attacks: ['fgsm', 'gaussian'] },
        sweep: {
          unit: lastOf(last), image: 0, accuracyImages: 10000,
          accuracyValues: [0, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2], spectrumValues: [0, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2],
        },
        projection: { images: range(0, 100), k: 10 },
      };
      break;
    default:
      throw new InputError(`unknown preset "${String(preset)}" (expected ${REPORT_PRESETS.join(', ')})`);
  }
  for (const group of plan.spectra) group.units = group.units.filter((u) => fullSpectrumFits(model, u));
  plan.spectra = plan.spectra.filter((group) => group.units.length > 0);
  if (!fullSpectrumFits(model, plan.sweep.unit)) plan.sweep.spectrumValues = [];
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
  /**
   * What import recognised (family, widths, units per stage, shortcut, block, classes) for any network
   * but the paper's family, whose reports have never carried it (so that their bytes stay the same).
   */
  architecture?: NetworkDescription;
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

export interface ReportStudyOptions {
  preset: ReportPresetName;
  seed?: number;
  /** Runs spectra, accuracy batches and propagation chunks (default: this thread). */
  executor?: StudyExecutor;
  /** Keeps every finished job in <outDir>/jobs (with study.json): resumable, shardable, mergeable. */
  outDir?: string;
  /** Reuse the verified jobs already in outDir. */
  resume?: boolean;
  /** Run only this shard's jobs (dealt by estimated cost); the study is then built by `merge`. */
  shard?: Shard;
  /** What else identifies the study in study.json (model spec, weights fingerprint, data). */
  identity?: Record<string, unknown>;
  /** Durations written as 0, so that two runs give the same bytes. */
  reproducible?: boolean;
  /** Called with (step, total steps, message) before each job this run computes. */
  onProgress?: (step: number, total: number, message: string) => void;
  /**
   * Run the largest spectra one at a time on all of the executor's threads (its wide lane, when it has
   * one) beside the other jobs (default true); false: every job on one worker, in job order.
   */
  wideLane?: boolean;
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
// The study as independent jobs

/** Images per propagation job. */
export const PROPAGATION_CHUNK = 25;

/**
 * One job of a report study. Every job's result depends only on the model, the data, the plan and the
 * seed, so jobs can run in any order, on any machine, and be resumed one by one.
 */
export type ReportJob =
  | { kind: 'spectrum'; key: string; unit: number; image: number; alpha: number; beta: number }
  | { kind: 'accuracy'; key: string; parameter: ScaledParameter | 'none'; scope: 'unit' | 'network'; value: number }
  | { kind: 'propagation'; key: string; attack: AttackName; start: number }
  | { kind: 'projection'; key: string; image: number };

/**
 * The jobs of a plan, in the order an unsharded run computes them: the spectra at clean images, the
 * sweep's unscaled spectrum (when not among them), clean accuracy, accuracy at each scaled value, the
 * sweep's spectra, the propagation chunks, the projection images. Keys are unique and file-name safe.
 */
export function reportJobs(plan: ReportPlan): ReportJob[] {
  const jobs: ReportJob[] = [];
  const seen = new Set<string>();
  const spectrum = (unit: number, image: number, alpha = 1, beta = 1) => {
    const key = spectrumKey(unit, image, alpha, beta);
    if (!seen.has(key)) jobs.push({ kind: 'spectrum', key, unit, image, alpha, beta });
    seen.add(key);
  };
  for (const g of plan.spectra) for (const unit of g.units) for (const image of g.images) spectrum(unit, image);
  const { unit, image } = plan.sweep;
  if (plan.sweep.spectrumValues.length) spectrum(unit, image);
  jobs.push({ kind: 'accuracy', key: 'accuracy-clean', parameter: 'none', scope: 'network', value: 1 });
  for (const parameter of ['alpha', 'beta'] as const) {
    for (const scope of ['unit', 'network'] as const) {
      for (const value of plan.sweep.accuracyValues.filter((v) => v !== 1)) {
        jobs.push({ kind: 'accuracy', key: `accuracy-${parameter}-${scope}-${value}`, parameter, scope, value });
      }
    }
  }
  for (const parameter of ['alpha', 'beta'] as const) {
    for (const value of plan.sweep.spectrumValues) spectrum(unit, image, parameter === 'alpha' ? value : 1, parameter === 'beta' ? value : 1);
  }
  for (const attack of plan.propagation.attacks) {
    for (let start = 0; start < plan.propagation.images.length; start += PROPAGATION_CHUNK) {
      jobs.push({ kind: 'propagation', key: `propagation-${attack}-${start}`, attack, start });
    }
  }
  for (const image of plan.projection.images) jobs.push({ kind: 'projection', key: `projection-image${image}`, image });
  return jobs;
}

/** Estimated cost of a job (src/study/job-cost.ts), for dealing jobs to shards. */
export function reportJobCost(model: ResNetModel, plan: ReportPlan, job: ReportJob): number {
  switch (job.kind) {
    case 'spectrum':
      return jobCost(model, { kind: 'spectrum', unit: job.unit, method: 'full' });
    case 'accuracy':
      return jobCost(model, { kind: 'accuracy', images: plan.sweep.accuracyImages });
    case 'propagation':
      return jobCost(model, { kind: 'propagation', images: plan.propagation.images.slice(job.start, job.start + PROPAGATION_CHUNK).length });
    case 'projection':
      return jobCost(model, { kind: 'projection', k: plan.projection.k, attacks: plan.propagation.attacks.length });
  }
}

/**
 * The jobs that run one at a time on all threads when the executor has a wide lane: the full spectra
 * of job-cost.ts's wideJobs (for the paper's preset the stage-1 units', which dominate its time).
 */
export function wideReportJobs(model: ResNetModel, plan: ReportPlan): ReportJob[] {
  const jobs = reportJobs(plan);
  const wide = wideJobs(jobs.map((job) => reportJobCost(model, plan, job)), jobs.map((job) => job.kind === 'spectrum'));
  return jobs.filter((_, p) => wide[p]);
}

function describeJob(model: ResNetModel, job: ReportJob, plan: ReportPlan): string {
  switch (job.kind) {
    case 'spectrum':
      return `spectrum of unit ${unitLabel(model, job.unit)} (${job.unit}) at image ${job.image}${job.alpha !== 1 ? `, alpha ${job.alpha}` : ''}${job.beta !== 1 ? `, beta ${job.beta}` : ''}`;
    case 'accuracy':
      return job.parameter === 'none'
        ? `accuracy of the unscaled model on ${plan.sweep.accuracyImages} images`
        : `accuracy with ${job.parameter} = ${job.value} in ${job.scope === 'unit' ? `unit ${unitLabel(model, plan.sweep.unit)}` : 'every unit'}`;
    case 'propagation': {
      const ids = plan.propagation.images.slice(job.start, job.start + PROPAGATION_CHUNK);
      return `propagation of ${job.attack} perturbations, images ${ids[0]}-${ids.at(-1)}`;
    }
    case 'projection':
      return `projections at image ${job.image} (top ${plan.projection.k} right singular vectors of every unit)`;
  }
}

/**
 * Compute one job: its JSON record and, for a spectrum, all its values (descending), as `values` and
 * as the job's .npy file (jobValuesFile). A spectrum given a `wide` lane runs there on all the lane's
 * threads (the same values).
 */
export async function runReportJob(
  model: ResNetModel, data: LabelledImages, plan: ReportPlan, seed: number, job: ReportJob, executor: StudyExecutor, reproducible = false,
  wide?: WideLane,
): Promise<{ record: JobRecord; files?: Record<string, Uint8Array>; values?: Float64Array }> {
  const started = performance.now();
  const seconds = () => (reproducible ? 0 : (performance.now() - started) / 1000);
  const pixelsOfImage = (image: number) => pixelsOf(data, image, image + 1);
  const { eps } = plan.propagation;
  switch (job.kind) {
    case 'spectrum': {
      const spectrum = { kind: 'unitSpectrum' as const, pixels: pixelsOfImage(job.image), unit: job.unit, alpha: job.alpha, beta: job.beta };
      const c = await (wide ? wide.run(model, { ...spectrum, threads: wide.threads }) : executor.run(model, spectrum));
      // A spectrum's own seconds are those of its computation, as measured where it ran.
      const record = { ...job, shape: c.shape, activeRows: c.activeRows, seconds: reproducible ? 0 : c.seconds };
      return { record, files: { [jobValuesFile(job.key)]: npyFloat64(c.values) }, values: c.values };
    }
    case 'accuracy': {
      const scaled = job.parameter === 'none' ? model : scaledModel(model, job.parameter, job.value, job.scope === 'unit' ? [plan.sweep.unit] : []);
      const result = await evaluateAccuracy(scaled, data, { limit: plan.sweep.accuracyImages, executor });
      return { record: { ...job, ...result, seconds: seconds() } };
    }
    case 'propagation': {
      const ids = plan.propagation.images.slice(job.start, job.start + PROPAGATION_CHUNK);
      const pixels = new Float32Array(ids.length * 3072);
      ids.forEach((id, i) => pixels.set(pixelsOfImage(id), i * 3072));
      const perturbation = { attack: job.attack, eps, norm: 'linf' as const, seed };
      const results = await executor.run(model, { kind: 'propagate', pixels, labels: ids.map((i) => data.labels[i]), ids, perturbation, firstOrder: true });
      return { record: { ...job, results, seconds: seconds() } };
    }
    case 'projection': {
      // On the executor, not in this thread: a study's lanes only wait, so a worker is never left idle.
      const perImage = await executor.run(model, {
        kind: 'project', pixels: pixelsOfImage(job.image), label: data.labels[job.image], image: job.image,
        attacks: plan.propagation.attacks.map((attack) => ({ attack, eps, norm: 'linf' as const, seed })), k: plan.projection.k,
      });
      const rows: ProjectionRow[] = [];
      for (const { attack, rows: unitRows } of perImage) {
        for (const r of unitRows) rows.push({ image: job.image, unit: r.unit, attack: attack as AttackName, fraction: r.fraction, amplification: r.amplification });
      }
      return { record: { ...job, rows, seconds: seconds() } };
    }
  }
}

/** What identifies a report study in study.json: shards and resumed runs must match it exactly. */
export function reportManifest(model: ResNetModel, plan: ReportPlan, seed: number, options: Pick<ReportStudyOptions, 'identity' | 'reproducible' | 'shard'>): StudyManifest {
  return {
    study: {
      kind: 'report', model: model.name, ...options.identity, preset: plan.preset, seed, reproducible: Boolean(options.reproducible), plan,
      jobs: reportJobs(plan).map((j) => j.key),
    },
    ...(options.shard ? { shard: options.shard } : {}),
  };
}

/**
 * The plan of `preset` for the model on the data, refusing what the study cannot run: a model not of
 * CIFAR's 32x32 images, too few images, or labels that are not classes of the model (CIFAR-100 data
 * for a 10-class model). InputError naming the model or the data; `report` calls it for every model
 * before any work starts.
 */
export function checkReportInputs(model: ResNetModel, data: LabelledImages, preset: ReportPresetName): ReportPlan {
  const plan = reportPlan(model, preset, data.count);
  // Accuracy and FGSM need every label to be a class of the model.
  const largest = data.labels.reduce((a, b) => Math.max(a, b), 0);
  if (largest >= model.numClasses) {
    throw new InputError(`the data has labels up to ${largest}, model ${model.name} has ${model.numClasses} classes (CIFAR-100 data for a CIFAR-10 model?)`);
  }
  return plan;
}

/**
 * Run the jobs of the study (of one shard, with `shard`), keeping each in `outDir` when given; the
 * records of the jobs run, in job order, and the values of the spectra computed in this process.
 */
export async function runReportJobs(
  model: ResNetModel, data: LabelledImages, options: ReportStudyOptions,
): Promise<{ plan: ReportPlan; seed: number; records: JobRecord[]; values: Map<string, Float64Array> }> {
  const plan = checkReportInputs(model, data, options.preset);
  const seed = options.seed ?? 0;
  const executor: StudyExecutor = options.executor ?? new InProcessExecutor();
  const jobs = reportJobs(plan);
  const cost = (job: ReportJob) => reportJobCost(model, plan, job);
  const total = shardJobs(jobs, options.shard, cost).length;
  const values = new Map<string, Float64Array>();
  // The wide jobs are chosen among all the study's jobs, so every shard agrees on them.
  const wideKeys = new Set(wideReportJobs(model, plan).map((job) => job.key));
  const lane = options.wideLane === false || wideKeys.size === 0 ? undefined : executor.wideLane?.();
  let step = 0;
  const records = await runJobs({
    manifest: reportManifest(model, plan, seed, options),
    jobs, keyOf: (job) => job.key, cost, outDir: options.outDir, resume: options.resume, concurrency: executor.concurrency,
    ...(lane ? { wide: (job: ReportJob) => wideKeys.has(job.key), onWideDone: () => lane.close() } : {}),
    async run(job, wide) {
      options.onProgress?.(++step, total, describeJob(model, job, plan));
      const result = await runReportJob(model, data, plan, seed, job, executor, options.reproducible, wide ? lane : undefined);
      if (result.values) values.set(job.key, result.values);
      return result;
    },
  }).finally(() => lane?.close());
  return { plan, seed, records, values };
}

/**
 * The study from the records of all its jobs (from one run, or gathered from shards by `merge`) and the
 * values of its spectra: the same records give the same study, number for number.
 */
export function assembleReportStudy(
  model: ResNetModel, plan: ReportPlan, seed: number, records: JobRecord[], valuesOf: (key: string) => Float64Array,
): ReportStudy {
  const stageOf = (u: number) => model.graph.units[u].stage;
  const byKey = new Map(records.map((r) => [r.key, r]));
  const record = <T>(key: string): T & { seconds: number } => {
    const r = byKey.get(key);
    if (!r) throw new InputError(`the study has no record of job ${key}`);
    return r as unknown as T & { seconds: number };
  };
  const sum = (keys: string[]) => keys.reduce((t, k) => t + record<object>(k).seconds, 0);
  const seconds: Record<string, number> = {};

  const spectrumValues = new Map<string, Float64Array>();
  const entry = (unit: number, image: number, alpha = 1, beta = 1): SpectrumEntry => {
    const key = spectrumKey(unit, image, alpha, beta);
    const r = record<{ shape: [number, number]; activeRows?: number }>(key);
    const v = spectrumValues.get(key) ?? valuesOf(key);
    spectrumValues.set(key, v);
    return describeSpectrum({ key, unit, unitLabel: unitLabel(model, unit), stage: stageOf(unit), image, alpha, beta, shape: r.shape, activeRows: r.activeRows, seconds: r.seconds }, v);
  };

  // 1-2. Spectra at clean images and their variation across images.
  const spectra = plan.spectra.flatMap((g) => g.units.flatMap((unit) => g.images.map((image) => entry(unit, image))));
  const variation: SpectrumVariation[] = [];
  for (const unit of [...new Set(spectra.map((e) => e.unit))]) {
    const own = spectra.filter((e) => e.unit === unit);
    if (own.length > 1) variation.push(rankVariation(model, unit, own, own.map((e) => spectrumValues.get(e.key)!)));
  }
  seconds.spectra = sum([...new Set(spectra.map((e) => e.key))]);

  // 3. The alpha/beta sweep of one unit.
  const { unit: sweepUnit, image: sweepImage } = plan.sweep;
  const clean = record<AccuracyResult>('accuracy-clean');
  const cleanAccuracy = { images: clean.images, correct: clean.correct, accuracy: clean.accuracy };
  const accuracy: SweepAccuracy[] = [];
  const sweepKeys = ['accuracy-clean'];
  for (const parameter of ['alpha', 'beta'] as const) {
    for (const scope of ['unit', 'network'] as const) {
      if (plan.sweep.accuracyValues.includes(1)) accuracy.push({ parameter, scope, value: 1, ...cleanAccuracy });
      for (const value of plan.sweep.accuracyValues.filter((v) => v !== 1)) {
        const key = `accuracy-${parameter}-${scope}-${value}`;
        const r = record<AccuracyResult>(key);
        accuracy.push({ parameter, scope, value, images: r.images, correct: r.correct, accuracy: r.accuracy });
        sweepKeys.push(key);
      }
    }
  }
  const order = (a: SweepAccuracy) => `${a.parameter}-${a.scope === 'unit' ? 0 : 1}`;
  accuracy.sort((a, b) => order(a).localeCompare(order(b)) || a.value - b.value);
  // No sweep spectra when the unit's full spectrum does not fit (reportPlan): accuracy only.
  const baseline = plan.sweep.spectrumValues.length ? entry(sweepUnit, sweepImage) : undefined;
  const sweepSpectra: SweepSpectrum[] = !baseline ? [] : (['alpha', 'beta'] as const).flatMap((parameter) =>
    plan.sweep.spectrumValues.map((value) => {
      const e = entry(sweepUnit, sweepImage, parameter === 'alpha' ? value : 1, parameter === 'beta' ? value : 1);
      return { ...e, parameter, value, relativeChange: relativeL1(spectrumValues.get(e.key)!, spectrumValues.get(baseline.key)!) };
    }));
  const ownSpectra = new Set(spectra.map((e) => e.key));
  const sweepSpectrumKeys = baseline ? [baseline, ...sweepSpectra].map((e) => e.key) : [];
  seconds.sweep = sum(sweepKeys) + sum([...new Set(sweepSpectrumKeys)].filter((k) => !ownSpectra.has(k)));

  // 4. Propagation of FGSM and random perturbations, with the first-order prediction.
  const { images: propagationImages, eps } = plan.propagation;
  const attacks: PropagationAttack[] = [];
  const propagationKeys: string[] = [];
  for (const attack of plan.propagation.attacks) {
    const results: PropagationResult[] = [];
    for (let start = 0; start < propagationImages.length; start += PROPAGATION_CHUNK) {
      const key = `propagation-${attack}-${start}`;
      results.push(...record<{ results: PropagationResult[] }>(key).results);
      propagationKeys.push(key);
    }
    attacks.push({
      attack,
      results,
      relative: curveSummary(results.map((r) => r.relative)),
      firstOrder: curveSummary(results.map((r) => r.firstOrder)),
      flipped: results.filter((r) => r.predPerturbed !== r.predClean).length,
    });
  }
  seconds.propagation = sum(propagationKeys);

  // 5. Projections onto the top right singular vectors of the unit linearizations.
  const { k } = plan.projection;
  const projectionKeys = plan.projection.images.map((image) => `projection-image${image}`);
  const rows = projectionKeys.flatMap((key) => record<{ rows: ProjectionRow[] }>(key).rows);
  const projectionUnits: ProjectionUnit[] = range(0, model.unitCount).map((unit) => {
    const [inChannels, inHeight, inWidth] = model.graph.units[unit].inShape;
    const inputs = inChannels * inHeight * inWidth;
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
  seconds.projection = sum(projectionKeys);
  seconds.total = seconds.spectra + seconds.sweep + seconds.propagation + seconds.projection;

  return {
    model: model.name,
    depth: model.depth,
    units: model.unitCount,
    ...(model.hasParams ? {} : { architecture: model.graph.description }),
    preset: plan.preset,
    seed,
    plan,
    tolerances: { one: ONE_TOLERANCE, zero: ZERO_TOLERANCE, nearOne: NEAR_ONE },
    cleanAccuracy,
    spectra,
    variation,
    sweep: { unit: sweepUnit, unitLabel: unitLabel(model, sweepUnit), image: sweepImage, accuracy, spectra: sweepSpectra },
    propagation: {
      eps,
      norm: 'linf',
      images: propagationImages,
      attacks,
      // depth index k of the last unit of each stage (k = 0 is the stem)
      stageEnds: stageEndDepths(model),
    },
    projection: { available: true, k, rows, units: projectionUnits },
    seconds,
  };
}

/** Run the whole study (resuming from outDir when asked) and build it from its jobs' records. */
export async function runReportStudy(model: ResNetModel, data: LabelledImages, options: ReportStudyOptions): Promise<ReportStudy> {
  if (options.shard) throw new InputError('a sharded study is built by merge, not by runReportStudy');
  const { plan, seed, records, values } = await runReportJobs(model, data, options);
  const all = await spectrumValues(records, values, options.outDir);
  return assembleReportStudy(model, plan, seed, records, (key) => all.get(key)!);
}

/**
 * The values of every spectrum job among `records`: from `memory` when computed in this process, else
 * from `<outDir>/jobs/<key>.npy` (a job found there was verified against its checksums; a header that
 * does not fit the file is still a one-line InputError).
 */
export async function spectrumValues(records: JobRecord[], memory: Map<string, Float64Array>, outDir?: string): Promise<Map<string, Float64Array>> {
  const { join } = await import('node:path');
  const all = new Map<string, Float64Array>();
  for (const r of records) {
    if (r.kind !== 'spectrum') continue;
    let v = memory.get(r.key);
    if (!v) {
      if (!outDir) throw new InputError(`no values of spectrum ${r.key}`);
      v = await readFloat64File(join(outDir, 'jobs', jobValuesFile(r.key)));
    }
    all.set(r.key, v);
  }
  return all;
}
