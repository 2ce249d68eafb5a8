/**
 * Figures that put several models' studies side by side (the paper shows ResNet-56 and ResNet-110
 * together): perturbation growth per model, the spectra's summary numbers against relative depth,
 * and the alpha/beta accuracy sweep. Like figures.ts these only reshape the studies' numbers into
 * inline-data Vega-Lite specs; the rows are also returned so that comparison.json carries them.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ReportStudy } from '../study/report-study.js';
import { ATTACK_COLOR, attackName, CONFIG, SCHEMA } from './figures.js';

export type Row = Record<string, string | number>;

export interface ComparisonFigure {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
  /** The numbers plotted, one object per mark datum. */
  rows: Row[];
}

/** Relative perturbation after the stem and each unit, one panel per model (x: that model's depth). */
export function propagationByModelRows(studies: ReportStudy[]): Row[] {
  return studies.flatMap((s) => [
    ...s.propagation.stageEnds.slice(0, -1).map((depth) => ({ model: s.model, kind: 'stage boundary', depth })),
    ...s.propagation.attacks.flatMap((a) =>
      a.relative.mean.flatMap((m, depth) => [
        { model: s.model, attack: attackName(a.attack), kind: 'measured', depth, mean: m, q10: a.relative.q10[depth], q90: a.relative.q90[depth] },
        { model: s.model, attack: attackName(a.attack), kind: 'first order', depth, mean: a.firstOrder.mean[depth] },
      ])),
  ]);
}

export function propagationByModelSpec(rows: Row[], models: string[]): TopLevelSpec {
  const x = { field: 'depth', type: 'quantitative', title: 'depth (0 = stem, k = after unit k)' } as const;
  const y = { field: 'mean', type: 'quantitative', scale: { type: 'log' }, title: 'relative perturbation (log)' } as const;
  return {
    $schema: SCHEMA,
    title: 'Relative perturbation ||h~_k - h_k|| / ||h_k||, random vs FGSM, each model',
    data: { values: rows },
    facet: { column: { field: 'model', type: 'nominal', title: null, sort: models } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 380,
      height: 260,
      layer: [
        { transform: [{ filter: "datum.kind === 'stage boundary'" }], mark: { type: 'rule', color: '#999', strokeDash: [2, 3] }, encoding: { x } },
        {
          transform: [{ filter: "datum.kind === 'measured'" }],
          mark: { type: 'area', opacity: 0.18 },
          encoding: { x, y: { ...y, field: 'q10' }, y2: { field: 'q90' }, color: ATTACK_COLOR },
        },
        {
          transform: [{ filter: "datum.kind !== 'stage boundary'" }],
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x, y, color: ATTACK_COLOR,
            strokeDash: { field: 'kind', type: 'nominal', title: 'curve', scale: { domain: ['measured', 'first order'], range: [[1, 0], [5, 3]] } },
          },
        },
      ],
    },
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

const SPECTRUM_METRICS = ['nonzero values within 0.1 of 1', 'values exactly zero', 's_max'] as const;

/** Per unit and image (unscaled): the summary numbers of its spectrum, at the unit's relative depth. */
export function spectraByDepthRows(studies: ReportStudy[]): Row[] {
  return studies.flatMap((s) =>
    s.spectra
      .filter((e) => e.alpha === 1 && e.beta === 1)
      .flatMap((e) => {
        const at = { model: s.model, unit: e.unitLabel, stage: e.stage, image: e.image, relativeDepth: (e.unit + 1) / s.units };
        return [
          { ...at, metric: SPECTRUM_METRICS[0], value: e.fractionNearOneOfNonzero },
          { ...at, metric: SPECTRUM_METRICS[1], value: e.fractionZero },
          { ...at, metric: SPECTRUM_METRICS[2], value: e.smax },
        ];
      }));
}

/**
 * `stageBoundaries`: where the x axis title says the stages end, e.g. "1/3, 2/3, 1" when every model
 * has three stages of equal length (the paper's family); omitted when the models' stages differ.
 */
export function spectraByDepthSpec(rows: Row[], models: string[], stageBoundaries?: string): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Spectra of the unit linearizations against depth (median over images)',
    data: { values: rows },
    facet: { row: { field: 'metric', type: 'nominal', title: null, sort: [...SPECTRUM_METRICS] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 620,
      height: 130,
      mark: { type: 'line', point: { size: 22 }, strokeWidth: 1.2 },
      encoding: {
        x: { field: 'relativeDepth', type: 'quantitative', title: `unit position (unit index / units${stageBoundaries ? `; stages end at ${stageBoundaries}` : ''})`, scale: { domain: [0, 1] } },
        y: { field: 'value', aggregate: 'median', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '~g' } },
        color: { field: 'model', type: 'nominal', title: 'model', sort: models },
      },
    },
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

/** Test accuracy with alpha or beta set in the swept unit only, or in every unit. */
export function sweepAccuracyRows(studies: ReportStudy[]): Row[] {
  return studies.flatMap((s) =>
    s.sweep.accuracy.map((a) => ({
      model: s.model, parameter: a.parameter, scope: a.scope === 'unit' ? 'swept unit only' : 'every unit', sweptUnit: s.sweep.unitLabel,
      value: a.value, accuracy: a.accuracy, images: a.images,
    })));
}

export function sweepAccuracySpec(rows: Row[], models: string[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Test accuracy when alpha (skip) or beta (weights) is scaled',
    data: { values: rows },
    facet: { column: { field: 'parameter', type: 'nominal', title: null } },
    spec: {
      width: 300,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'value', type: 'quantitative', title: 'scale value' },
        y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format: '.0%' } },
        color: { field: 'model', type: 'nominal', title: 'model', sort: models },
        strokeDash: { field: 'scope', type: 'nominal', title: 'scaled', scale: { domain: ['swept unit only', 'every unit'], range: [[1, 0], [5, 3]] } },
      },
    },
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

const DEPTH_METRICS = [
  'last unit of each stage: nonzero values within 0.1 of 1',
  'last unit of each stage: s_max',
  'last unit: growth of the relative perturbation',
] as const;

const median = (values: number[]) => {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/**
 * One point per model and metric at the model's network depth: the spectrum numbers of the last unit
 * of each stage (median over the images computed, unscaled), and the step of the mean relative
 * perturbation across the network's last unit (after / before) for each attack — the paper's
 * "adversarial jump at the end".
 */
export function networkDepthRows(studies: ReportStudy[]): Row[] {
  return studies.flatMap((s) => {
    const lastUnits = s.propagation.stageEnds.map((end) => end - 1);
    const rows: Row[] = [];
    for (const [stageIndex, unit] of lastUnits.entries()) {
      const entries = s.spectra.filter((e) => e.unit === unit && e.alpha === 1 && e.beta === 1);
      if (entries.length === 0) continue;
      const at = { model: s.model, depth: s.depth, series: `stage ${stageIndex + 1} (${entries[0].unitLabel})`, images: entries.length };
      rows.push({ ...at, metric: DEPTH_METRICS[0], value: median(entries.map((e) => e.fractionNearOneOfNonzero)) });
      rows.push({ ...at, metric: DEPTH_METRICS[1], value: median(entries.map((e) => e.smax)) });
    }
    for (const a of s.propagation.attacks) {
      const mean = a.relative.mean;
      if (mean.length < 2) continue;
      rows.push({
        model: s.model, depth: s.depth, series: attackName(a.attack), images: s.propagation.images.length,
        metric: DEPTH_METRICS[2], value: mean[mean.length - 1] / mean[mean.length - 2],
      });
    }
    return rows;
  });
}

export function networkDepthSpec(rows: Row[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'The findings against network depth',
    data: { values: rows },
    facet: { row: { field: 'metric', type: 'nominal', title: null, sort: [...DEPTH_METRICS] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 560,
      height: 140,
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1, opacity: 0.5 },
          encoding: {
            x: { field: 'depth', type: 'quantitative', title: 'network depth (layers)' },
            y: { field: 'value', aggregate: 'median', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '~g' } },
            color: { field: 'series', type: 'nominal', title: 'series' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 40 },
          encoding: {
            x: { field: 'depth', type: 'quantitative' },
            y: { field: 'value', type: 'quantitative' },
            color: { field: 'series', type: 'nominal' },
            shape: { field: 'model', type: 'nominal', title: 'model' },
            tooltip: [{ field: 'model' }, { field: 'series' }, { field: 'value', format: '.4g' }],
          },
        },
      ],
    },
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

/** "1/3, 2/3, 1" when every study's stages end at the same fractions of its units (S equal stages: 1/S, ..., 1); else undefined. */
function sharedStageBoundaries(studies: ReportStudy[]): string | undefined {
  const fractions = (s: ReportStudy) => s.propagation.stageEnds.map((end) => end / s.units);
  const first = fractions(studies[0]);
  const count = first.length;
  const equal = studies.every((s) => {
    const f = fractions(s);
    return f.length === count && f.every((x, i) => Math.abs(x - (i + 1) / count) < 1e-12);
  });
  if (!equal) return undefined;
  return first.map((_, i) => (i + 1 === count ? '1' : `${i + 1}/${count}`)).join(', ');
}

/** Every figure of the comparison page, in order. */
export function comparisonFigures(studies: ReportStudy[]): ComparisonFigure[] {
  const models = studies.map((s) => s.model);
  const propagation = propagationByModelRows(studies);
  const spectra = spectraByDepthRows(studies);
  const sweep = sweepAccuracyRows(studies);
  const eps = [...new Set(studies.map((s) => s.propagation.eps.toFixed(5)))].join(' / ');
  const figures: ComparisonFigure[] = [
    {
      id: 'propagation-models',
      title: 'Perturbation growth, by model',
      caption: `Mean over images (solid), 10-90 % band (shaded) and first-order prediction (dashed) at eps = ${eps}; ` +
        `${studies.map((s) => `${s.model}: ${s.propagation.images.length} images`).join(', ')}. Dotted rules: stage boundaries.`,
      spec: propagationByModelSpec(propagation, models),
      rows: propagation,
    },
    {
      id: 'spectra-depth',
      title: 'Spectra against depth, by model',
      caption: 'For each unit whose spectrum was computed, the median over images of: the fraction of its nonzero singular values within 0.1 of 1, ' +
        'the fraction exactly zero (output ReLUs off), and s_max. Units are placed at (index + 1) / units so that the two depths share an axis.',
      spec: spectraByDepthSpec(spectra, models, sharedStageBoundaries(studies)),
      rows: spectra,
    },
    {
      id: 'sweep-models',
      title: 'Alpha / beta sweep, by model',
      caption: `Accuracy on ${studies.map((s) => `${s.cleanAccuracy.images} test images (${s.model}, swept unit ${s.sweep.unitLabel})`).join(' and ')}; ` +
        'solid: only the swept unit scaled, dashed: every unit scaled.',
      spec: sweepAccuracySpec(sweep, models),
      rows: sweep,
    },
  ];
  // Across network depth only when there is a depth axis to speak of: three models or more.
  if (studies.length >= 3) {
    const depth = networkDepthRows(studies);
    figures.push({
      id: 'network-depth',
      title: 'Across network depth',
      caption: 'One point per model at its depth (lines join the medians at each depth). Top two panels: the median over the images computed of the ' +
        'spectrum of the last unit of each stage (the `depth` preset computes it for every stage, other presets only for some). Bottom: mean relative perturbation ' +
        'after the last unit divided by that before it, per attack (the paper\'s adversarial jump at the end is the FGSM curve).',
      spec: networkDepthSpec(depth),
      rows: depth,
    });
  }
  return figures;
}
