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

export function spectraByDepthSpec(rows: Row[], models: string[]): TopLevelSpec {
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
        x: { field: 'relativeDepth', type: 'quantitative', title: 'unit position (unit index / units; stages end at 1/3, 2/3, 1)', scale: { domain: [0, 1] } },
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

/** Every figure of the comparison page, in order. */
export function comparisonFigures(studies: ReportStudy[]): ComparisonFigure[] {
  const models = studies.map((s) => s.model);
  const propagation = propagationByModelRows(studies);
  const spectra = spectraByDepthRows(studies);
  const sweep = sweepAccuracyRows(studies);
  const eps = [...new Set(studies.map((s) => s.propagation.eps.toFixed(5)))].join(' / ');
  return [
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
      spec: spectraByDepthSpec(spectra, models),
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
}
