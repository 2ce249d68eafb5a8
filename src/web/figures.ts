/**
 * The demo page's figures: Vega-Lite specs written for one image and one unit (the report's figures pool
 * images and facet by unit, which reads badly on a page). Every spec takes its numbers from named data
 * sources, so it can be compiled to Vega once, ahead of time (web/vega-specs.ts, replaced at build time
 * by its result), and the page ships only the Vega runtime. The `*Data` functions below turn results
 * into those sources; they compute nothing the worker has not.
 *
 * Colours: every mark and legend symbol has at least 3:1 contrast against the white background
 * (WCAG 2.1, non-text contrast) and full opacity.
 */
import type { TopLevelSpec } from 'vega-lite';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const FONT = 'Helvetica, Arial, sans-serif';

/** Mark colours; their contrast against white is 8.4, 5.4, 6.4, 6.0 and 12.6:1 (test/web-page-units.test.ts checks every drawn one). */
export const COLORS = { clean: '#4d4d4d', fgsm: '#c0392b', random: '#1f5fa8', alpha: '#a04a00', one: '#333333' } as const;
/** Legend names; the captions say that the random perturbation is Gaussian, of FGSM's L2 size. */
export const ATTACK_NAMES = { fgsm: 'FGSM', gaussian: 'random' } as const;

const CONFIG = {
  font: FONT,
  view: { stroke: '#bbb' },
  axis: { labelFontSize: 11, titleFontSize: 12, labelColor: '#333', titleColor: '#222' },
  legend: { labelFontSize: 12, titleFontSize: 12, symbolOpacity: 1, symbolStrokeWidth: 2.5, symbolSize: 160, labelLimit: 260 },
  text: { fontSize: 11 },
};

/** About one x-axis label per 70 pixels, whatever the width. */
const X_AXIS = { tickCount: { expr: 'ceil(width / 70)' } };

/** Fills the container's width; the height is fixed. */
const frame = (height: number) => ({ $schema: SCHEMA, width: 'container', height, autosize: { type: 'fit-x', contains: 'padding' }, config: CONFIG });

/** Horizontal or vertical reference lines with a label: rows { value, label }. */
const referenceRules = (channel: 'x' | 'y') => ({
  data: { name: 'rules' },
  layer: [
    { mark: { type: 'rule', strokeDash: [5, 3], strokeWidth: 1.5 }, encoding: { [channel]: { field: 'value', type: 'quantitative' }, color: { field: 'color', type: 'nominal', scale: null } } },
    {
      mark: channel === 'y' ? { type: 'text', align: 'right', baseline: 'bottom', dy: -2, fontWeight: 'bold' } : { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontWeight: 'bold' },
      encoding: {
        [channel]: { field: 'value', type: 'quantitative' },
        [channel === 'y' ? 'x' : 'y']: { value: channel === 'y' ? 'width' : 0 },
        text: { field: 'label' },
        color: { field: 'color', type: 'nominal', scale: null },
      },
    },
  ],
});

/** Sorted singular values: `values` rows { rank, value }; `rules` at sigma = 1 (and alpha). */
export const spectrumSpec = {
  ...frame(220),
  description: 'Sorted singular values of the unit linearization',
  layer: [
    {
      data: { name: 'values' },
      mark: { type: 'line', strokeWidth: 2, color: COLORS.random, clip: true },
      encoding: {
        x: { field: 'rank', type: 'quantitative', title: 'rank (0 = largest)', axis: X_AXIS },
        y: { field: 'value', type: 'quantitative', title: 'singular value σ' },
      },
    },
    referenceRules('y'),
  ],
} as unknown as TopLevelSpec;

/** Histogram: `bins` rows { lo, hi, fraction }; `rules` as above. */
export const histogramSpec = {
  ...frame(200),
  description: 'Histogram of the singular values of the unit linearization',
  layer: [
    {
      data: { name: 'bins' },
      mark: { type: 'rect', color: COLORS.random },
      encoding: {
        x: { field: 'lo', type: 'quantitative', title: 'singular value σ', axis: X_AXIS },
        x2: { field: 'hi' },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of the values', axis: { format: '.1%' } },
      },
    },
    referenceRules('x'),
  ],
} as unknown as TopLevelSpec;

/** The propagation figure's four curves: measured and first-order, for each perturbation. */
const SERIES = [
  `${ATTACK_NAMES.fgsm}, measured`, `${ATTACK_NAMES.fgsm}, first order`,
  `${ATTACK_NAMES.gaussian}, measured`, `${ATTACK_NAMES.gaussian}, first order`,
];
const SERIES_LEGEND = { orient: 'top', columns: 2, symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolSize: 300 };

/**
 * Perturbation growth, log scale: `curves` rows { position, value, series } (position 0 is
 * the stem's output, k the output of unit k); `stages` rows { position, label } at each stage's start;
 * `chosen` one row { position, label } for the unit shown above.
 */
export const propagationSpec = {
  ...frame(240),
  description: 'Relative size of the perturbation after the stem and after each unit',
  layer: [
    {
      data: { name: 'stages' },
      layer: [
        { mark: { type: 'rule', color: '#888', strokeWidth: 1 }, encoding: { x: { field: 'position', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, color: '#444' }, encoding: { x: { field: 'position', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } },
      ],
    },
    {
      data: { name: 'chosen' },
      layer: [
        { mark: { type: 'rule', color: '#222', strokeWidth: 2, strokeDash: [2, 2] }, encoding: { x: { field: 'position', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'right', baseline: 'top', dx: -3, dy: 18, color: '#222', fontWeight: 'bold' }, encoding: { x: { field: 'position', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } },
      ],
    },
    {
      data: { name: 'curves' },
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: { field: 'position', type: 'quantitative', title: 'after unit (0 = stem)', axis: { ...X_AXIS, tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: 'relative perturbation ‖δh‖ / ‖h‖' },
        color: { field: 'series', type: 'nominal', title: null, scale: { domain: SERIES, range: [COLORS.fgsm, COLORS.fgsm, COLORS.random, COLORS.random] }, legend: SERIES_LEGEND },
        strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: SERIES, range: [[1, 0], [5, 3], [1, 0], [5, 3]] }, legend: SERIES_LEGEND },
      },
    },
  ],
} as unknown as TopLevelSpec;

/** Class probabilities: `probabilities` rows { class, probability, image } for the clean and perturbed images. */
export const probabilitiesSpec = {
  ...frame(300),
  description: 'Class probabilities of the clean and the perturbed images',
  data: { name: 'probabilities' },
  mark: { type: 'bar' },
  encoding: {
    y: { field: 'class', type: 'nominal', title: null, sort: null },
    yOffset: { field: 'image', type: 'nominal', sort: null },
    x: { field: 'probability', type: 'quantitative', title: 'probability', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
    color: {
      field: 'image', type: 'nominal', title: null,
      scale: { domain: ['clean', ATTACK_NAMES.fgsm, ATTACK_NAMES.gaussian], range: [COLORS.clean, COLORS.fgsm, COLORS.random] },
      legend: { orient: 'top', direction: 'horizontal', symbolType: 'square' },
    },
  },
} as unknown as TopLevelSpec;

export const PAGE_FIGURES = {
  spectrum: spectrumSpec,
  histogram: histogramSpec,
  propagation: propagationSpec,
  probabilities: probabilitiesSpec,
};
export type PageFigure = keyof typeof PAGE_FIGURES;

/** Data sources of one figure, by name. */
export type FigureData = Record<string, object[]>;

/** The reference lines: sigma = 1 always, sigma = alpha when alpha differs from 1. */
export function referenceLines(alpha: number): { value: number; label: string; color: string }[] {
  const lines: { value: number; label: string; color: string }[] = [{ value: 1, label: 'σ = 1', color: COLORS.one }];
  if (alpha !== 1) lines.push({ value: alpha, label: `σ = α = ${formatValue(alpha)}`, color: COLORS.alpha });
  return lines;
}

/** A value in text: 4 significant digits. */
export function formatValue(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(4) : String(v);
}

export function spectrumData(values: ArrayLike<number>, alpha: number): FigureData {
  return { values: Array.from(values, (value, rank) => ({ rank, value })), rules: referenceLines(alpha) };
}

/**
 * Histogram rows from bin edges and counts: bin i covers [edges[i], edges[i+1]); fractions of `total`
 * (the number of singular values, so a density's bins read the same as counted ones).
 */
export function histogramData(edges: ArrayLike<number>, counts: ArrayLike<number>, total: number, alpha: number): FigureData {
  const bins = Array.from(counts, (count, i) => ({ lo: edges[i], hi: edges[i + 1], fraction: total > 0 ? count / total : 0 }));
  return { bins, rules: referenceLines(alpha) };
}

/** `bins` equal bins over [0, max(1.1, 1.02 * largest)], so that sigma = 1 is always in view. */
export function histogramEdges(largest: number, bins = 60): number[] {
  const top = Math.max(1.1, 1.02 * largest);
  return Array.from({ length: bins + 1 }, (_, i) => (top * i) / bins);
}

/** Counts of sorted-or-not `values` in the bins of `edges` (the last bin includes its right edge). */
export function binCounts(values: ArrayLike<number>, edges: ArrayLike<number>): number[] {
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  const lo = edges[0];
  const width = (edges[bins] - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const b = Math.floor((values[i] - lo) / width);
    if (b >= 0 && b < bins) counts[b]++;
    else if (b === bins && values[i] <= edges[bins]) counts[bins - 1]++;
  }
  return counts;
}

export interface PropagationCurves {
  /** Per attack: measured and first-order relative perturbation after the stem and each unit. */
  fgsm: { relative: number[]; firstOrder: number[] };
  gaussian: { relative: number[]; firstOrder: number[] };
}

/**
 * Propagation figure sources. `units` are the model's unit labels in network order ("1.1", ...); the
 * chosen unit is marked at its output (position index + 1); stage boundaries sit half-way before each
 * stage's first unit. Non-positive values are left out (log scale).
 */
export function propagationData(curves: PropagationCurves, units: readonly string[], chosenUnit: number): FigureData {
  const rows: object[] = [];
  for (const attack of ['fgsm', 'gaussian'] as const) {
    const add = (values: number[], kind: string) =>
      values.forEach((value, position) => {
        if (value > 0 && Number.isFinite(value)) rows.push({ position, value, series: `${ATTACK_NAMES[attack]}, ${kind}` });
      });
    add(curves[attack].relative, 'measured');
    add(curves[attack].firstOrder, 'first order');
  }
  const stages: object[] = [];
  units.forEach((label, i) => {
    const stage = label.split('.')[0];
    if (i === 0 || units[i - 1].split('.')[0] !== stage) stages.push({ position: i + 0.5, label: `stage ${stage}` });
  });
  return { curves: rows, stages, chosen: [{ position: chosenUnit + 1, label: `unit ${units[chosenUnit]}` }] };
}

/**
 * The most probable classes, at most `maxClasses` (a CIFAR-100 or ImageNet model has 100 or 1000): those
 * with the largest probability under any of the three images, in class order.
 */
export function shownClasses(classCount: number, clean: number[], fgsm: number[], random: number[], maxClasses = 10): number[] {
  const all = Array.from({ length: classCount }, (_, c) => c);
  if (classCount <= maxClasses) return all;
  const score = (c: number) => Math.max(clean[c], fgsm[c], random[c]);
  return all.sort((a, b) => score(b) - score(a) || a - b).slice(0, maxClasses).sort((a, b) => a - b);
}

export function probabilitiesData(classes: readonly string[], clean: number[], fgsm: number[], random: number[], maxClasses = 10): FigureData {
  const rows: object[] = [];
  shownClasses(classes.length, clean, fgsm, random, maxClasses).forEach((c) => {
    const name = classes[c];
    rows.push({ class: name, image: 'clean', probability: clean[c] });
    rows.push({ class: name, image: ATTACK_NAMES.fgsm, probability: fgsm[c] });
    rows.push({ class: name, image: ATTACK_NAMES.gaussian, probability: random[c] });
  });
  return { probabilities: rows };
}
