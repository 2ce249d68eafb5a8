/**
 * The report's figures as Vega-Lite specs: plain functions from the study's numbers to spec objects
 * with their data inline (render them with src/report/render.ts). No function here computes anything
 * the study has not: they only reshape numbers into rows.
 */
import type { TopLevelSpec } from 'vega-lite';
import { depthLabel, type ReportStudy, type SpectrumEntry } from '../study/report-study.js';

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const FONT = { font: 'Helvetica, Arial, sans-serif', labelFont: 'Helvetica, Arial, sans-serif', titleFont: 'Helvetica, Arial, sans-serif' };
export const CONFIG = { font: FONT.font, view: { stroke: '#ccc' }, axis: { labelFontSize: 10, titleFontSize: 11 }, legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 320 } };

export const ATTACK_COLOR = {
  field: 'attack', type: 'nominal', title: 'perturbation',
  scale: { domain: ['FGSM', 'random (Gaussian)'], range: ['#e45756', '#4c78a8'] },
} as const;

/** How an attack is named in legends (the colour scale's domain). */
export const attackName = (attack: string): string => (attack === 'fgsm' ? 'FGSM' : attack === 'gaussian' ? 'random (Gaussian)' : attack);

export interface Figure {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

const unitSort = (entries: { unit: number; unitLabel: string }[]) =>
  [...new Map(entries.map((e) => [e.unit, e.unitLabel])).entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);

/** Sorted singular values of the units of one stage, one line per image, one panel per unit. */
export function sortedSpectraSpec(entries: SpectrumEntry[], stage: number): TopLevelSpec {
  const values = entries.flatMap((e) => e.sorted.ranks.map((rank, i) => ({ unit: e.unitLabel, image: `image ${e.image}`, rank, value: e.sorted.values[i] })));
  return {
    $schema: SCHEMA,
    title: `Stage ${stage}: sorted singular values of unit linearizations`,
    data: { values },
    facet: { field: 'unit', type: 'ordinal', title: 'unit', sort: unitSort(entries) },
    columns: 3,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 250,
      height: 170,
      mark: { type: 'line', strokeWidth: 1.2, clip: true },
      encoding: {
        x: { field: 'rank', type: 'quantitative', title: 'rank (0 = largest)' },
        y: { field: 'value', type: 'quantitative', title: 'singular value' },
        color: { field: 'image', type: 'nominal', title: 'image' },
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** The histograms show [0, HISTOGRAM_MAX); the few larger values are counted in the caption. */
export const HISTOGRAM_MAX = 3;

/** Fraction of the values of `entries` (pooled) in histogram bins that reach past HISTOGRAM_MAX. */
export function fractionBeyondHistogram(entries: SpectrumEntry[]): number {
  let beyond = 0;
  let total = 0;
  for (const e of entries) {
    total += Math.min(...e.shape);
    e.histogram.counts.forEach((c, b) => {
      if ((b + 0.5) * e.histogram.binWidth > HISTOGRAM_MAX) beyond += c;
    });
  }
  return total ? beyond / total : 0;
}

/** Histograms of the nonzero singular values of one stage's units, pooled over images. */
export function histogramSpec(entries: SpectrumEntry[], stage: number): TopLevelSpec {
  const values: { unit: string; lo: number; hi: number; fraction: number }[] = [];
  for (const label of unitSort(entries)) {
    const own = entries.filter((e) => e.unitLabel === label);
    const total = own.reduce((t, e) => t + Math.min(...e.shape), 0);
    const width = own[0].histogram.binWidth;
    const bins = Math.max(...own.map((e) => e.histogram.counts.length));
    for (let b = 0; b < bins; b++) {
      const count = own.reduce((t, e) => t + (e.histogram.counts[b] ?? 0), 0);
      if (count > 0 && (b + 0.5) * width <= HISTOGRAM_MAX) values.push({ unit: label, lo: (b - 0.5) * width, hi: (b + 0.5) * width, fraction: count / total });
    }
  }
  return {
    $schema: SCHEMA,
    title: `Stage ${stage}: histogram of the nonzero singular values (all images pooled)`,
    data: { values },
    facet: { field: 'unit', type: 'ordinal', title: 'unit', sort: unitSort(entries) },
    columns: 3,
    spec: {
      width: 250,
      height: 150,
      mark: { type: 'bar', color: '#4c78a8' },
      encoding: {
        x: { field: 'lo', type: 'quantitative', title: 'singular value', bin: { binned: true }, scale: { domain: [0, HISTOGRAM_MAX] } },
        x2: { field: 'hi' },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of all values', axis: { format: '.0%' } },
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** Accuracy, s_max and the fraction at alpha against the swept alpha or beta. */
export function sweepSpec(study: ReportStudy): TopLevelSpec {
  const { sweep } = study;
  const values: { parameter: string; value: number; metric: string; series: string; y: number }[] = [];
  for (const a of sweep.accuracy) {
    values.push({ parameter: a.parameter, value: a.value, metric: 'accuracy', series: a.scope === 'unit' ? `only unit ${sweep.unitLabel} scaled` : 'every unit scaled', y: a.accuracy });
  }
  for (const s of sweep.spectra) {
    const series = `unit ${sweep.unitLabel}, image ${sweep.image}`;
    values.push({ parameter: s.parameter, value: s.value, metric: 's_max', series, y: s.smax });
    values.push({ parameter: s.parameter, value: s.value, metric: 'fraction at alpha', series, y: s.fractionOne });
    values.push({ parameter: s.parameter, value: s.value, metric: 'fraction near 1', series, y: s.fractionNearOne });
  }
  return {
    $schema: SCHEMA,
    title: `Scaling alpha (skip) or beta (weights): accuracy and the spectrum of unit ${sweep.unitLabel}`,
    data: { values },
    facet: {
      row: { field: 'metric', type: 'nominal', title: null, sort: ['accuracy', 's_max', 'fraction at alpha', 'fraction near 1'] },
      column: { field: 'parameter', type: 'nominal', title: null },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 260,
      height: 130,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'value', type: 'quantitative', title: 'scale value' },
        y: { field: 'y', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '~g' } },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1 } },
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** The sorted spectrum of the swept unit at each alpha / beta value. */
export function sweepSpectraSpec(study: ReportStudy): TopLevelSpec {
  const { sweep } = study;
  const values = sweep.spectra.flatMap((s) =>
    s.sorted.ranks.map((rank, i) => ({ parameter: s.parameter, value: s.value, label: `${s.parameter} = ${s.value}`, rank, s: s.sorted.values[i] })));
  return {
    $schema: SCHEMA,
    title: `Unit ${sweep.unitLabel} at image ${sweep.image}: sorted singular values as alpha or beta changes`,
    data: { values },
    facet: { column: { field: 'parameter', type: 'nominal', title: null } },
    spec: {
      width: 300,
      height: 200,
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 'rank', type: 'quantitative', title: 'rank (0 = largest)' },
        y: { field: 's', type: 'quantitative', title: 'singular value' },
        color: { field: 'value', type: 'ordinal', title: 'value', scale: { scheme: 'viridis' } },
        detail: { field: 'label', type: 'nominal' },
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** Relative perturbation after the stem and each unit: mean (line), 10-90 % band, first order (dashed). */
export function propagationSpec(study: Pick<ReportStudy, 'propagation' | 'units' | 'architecture'>): TopLevelSpec {
  const { propagation } = study;
  // Any family but the paper's (whose figure has always shown depth indices): every depth labelled
  // with the unit it follows, stage.unit from the model's stages.
  const labels = Array.from({ length: study.units + 1 }, (_, k) => depthLabel(propagation.stageEnds, k));
  const unitAxis = {
    title: 'after unit (stage.unit; dotted: stage boundaries)',
    axis: { values: labels.map((_, k) => k), labelExpr: `${JSON.stringify(labels)}[datum.value]`, labelAngle: labels.length > 20 ? -90 : 0 },
  };
  const values = propagation.attacks.flatMap((a) =>
    a.relative.mean.flatMap((m, depth) => [
      { attack: attackName(a.attack), depth, kind: 'measured', mean: m, q10: a.relative.q10[depth], q90: a.relative.q90[depth] },
      { attack: attackName(a.attack), depth, kind: 'first order', mean: a.firstOrder.mean[depth], q10: a.firstOrder.q10[depth], q90: a.firstOrder.q90[depth] },
    ]));
  const x = {
    field: 'depth', type: 'quantitative' as const, title: 'depth (0 = stem, k = after unit k)', scale: { domain: [0, study.units] },
    ...(study.architecture ? unitAxis : {}),
  };
  return {
    $schema: SCHEMA,
    title: `Relative perturbation ||h~_k - h_k|| / ||h_k|| (eps = ${propagation.eps.toFixed(5)}, ${propagation.images.length} images)`,
    width: 560,
    height: 300,
    layer: [
      {
        data: { values: propagation.stageEnds.slice(0, -1).map((depth) => ({ depth })) },
        mark: { type: 'rule', color: '#999', strokeDash: [2, 3] },
        encoding: { x },
      },
      {
        data: { values },
        transform: [{ filter: "datum.kind === 'measured'" }],
        mark: { type: 'area', opacity: 0.18 },
        encoding: {
          x,
          y: { field: 'q10', type: 'quantitative', scale: { type: 'log' }, title: 'relative perturbation (log)' },
          y2: { field: 'q90' },
          color: ATTACK_COLOR,
        },
      },
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.6 },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', scale: { type: 'log' } },
          color: ATTACK_COLOR,
          strokeDash: { field: 'kind', type: 'nominal', title: 'curve', scale: { domain: ['measured', 'first order'], range: [[1, 0], [5, 3]] } },
        },
      },
    ],
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

/** Energy fraction of the perturbation in the top-k right singular subspace of each unit. */
export function projectionSpec(study: ReportStudy): TopLevelSpec | undefined {
  const p = study.projection;
  if (!p.available) return undefined;
  const order = p.units.map((u) => u.unitLabel);
  const values = p.units.flatMap((u) => [
    ...u.byAttack.map((a) => ({ unit: u.unitLabel, series: attackName(a.attack), mean: a.mean, min: a.min, max: a.max })),
    { unit: u.unitLabel, series: 'isotropic (k/n)', mean: u.chance, min: u.chance, max: u.chance },
  ]);
  const x = { field: 'unit', type: 'ordinal', sort: order, title: 'unit' } as const;
  const y = { field: 'mean', type: 'quantitative', scale: { type: 'log' }, title: `energy fraction in top-${p.k} span (log)` } as const;
  const color = {
    field: 'series', type: 'nominal', title: null,
    scale: { domain: ['FGSM', 'random (Gaussian)', 'isotropic (k/n)'], range: ['#e45756', '#4c78a8', '#9d9d9d'] },
  } as const;
  return {
    $schema: SCHEMA,
    title: `Projection of the perturbation entering each unit onto its top ${p.k} right singular vectors`,
    width: Math.max(300, 28 * order.length),
    height: 260,
    data: { values },
    layer: [
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'min', type: 'quantitative', scale: { type: 'log' } }, y2: { field: 'max' }, color } },
      { mark: { type: 'line', strokeWidth: 1 }, encoding: { x, y, color } },
      { mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color } },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

/** Every figure of the report, in order. */
export function reportFigures(study: ReportStudy): Figure[] {
  const figures: Figure[] = [];
  const unscaled = study.spectra.filter((e) => e.alpha === 1 && e.beta === 1);
  const stages = [...new Set(unscaled.map((e) => e.stage))].sort((a, b) => b - a);
  for (const stage of stages) {
    const own = unscaled.filter((e) => e.stage === stage);
    const images = [...new Set(own.map((e) => e.image))];
    figures.push({
      id: `spectra-stage${stage}`,
      title: `Sorted spectra, stage ${stage}`,
      caption: `All min(m, n) singular values of each unit's linearization, descending, at image${images.length > 1 ? 's' : ''} ${images.join(', ')} (overlaid). Plotted at ${own[0]?.sorted.ranks.length ?? 0} ranks.`,
      spec: sortedSpectraSpec(own, stage),
    });
    figures.push({
      id: `histogram-stage${stage}`,
      title: `Histograms, stage ${stage}`,
      caption: `Nonzero singular values (s >= ${study.tolerances.zero}) in bins of width ${own[0]?.histogram.binWidth} centred on its multiples (so 1 is a bin centre), as a fraction of all values; the exact zeros are left out (see the table), and so are the ${(100 * fractionBeyondHistogram(own)).toFixed(2)} % of values above ${HISTOGRAM_MAX} (up to s_max ${Math.max(...own.map((e) => e.smax)).toFixed(3)}).`,
      spec: histogramSpec(own, stage),
    });
  }
  figures.push({
    id: 'sweep',
    title: 'Alpha / beta sweep',
    caption: `Accuracy on the first ${study.cleanAccuracy.images} test images with alpha (or beta) set to the value in unit ${study.sweep.unitLabel} only, or in every unit; s_max, the fraction of singular values at alpha (|s - alpha| < ${study.tolerances.one}) and within ${study.tolerances.nearOne} of 1, for unit ${study.sweep.unitLabel} at image ${study.sweep.image} with that unit scaled.`,
    spec: sweepSpec(study),
  });
  figures.push({
    id: 'sweep-spectra',
    title: 'Spectra under scaling',
    caption: `The sorted spectrum of unit ${study.sweep.unitLabel} at image ${study.sweep.image} for each value of alpha (left) and beta (right).`,
    spec: sweepSpectraSpec(study),
  });
  figures.push({
    id: 'propagation',
    title: 'Perturbation growth',
    caption: `Mean over images (solid), 10-90 % quantile band (shaded), and the first-order prediction (chain of unit linearizations, dashed). Dotted rules: stage boundaries.`,
    spec: propagationSpec(study),
  });
  const projection = projectionSpec(study);
  if (projection && study.projection.available) {
    figures.push({
      id: 'projection',
      title: 'Projections',
      caption: `Mean over images (points) and range (rules) of sum_i (v_i . d)^2 / ||d||^2, d the perturbation entering the unit and v_1..v_${study.projection.k} its linearization's top right singular vectors; grey reference: k/n, the expected fraction of an isotropic random vector.`,
      spec: projection,
    });
  }
  return figures;
}
