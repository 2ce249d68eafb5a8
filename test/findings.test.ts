/**
 * The report's verdict rules (src/report/findings.ts), rule by rule, on constructed studies: each
 * input is built so that one threshold decides, and the verdict is asserted on each side of it (at
 * the threshold itself where the rule says "at least" or "at most"). Values are chosen exactly
 * representable where a threshold is met with equality. A study without the data a finding needs
 * gets 'not computed'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeFindings, THRESHOLDS, type Verdict } from '../src/report/findings.js';
import type {
  PropagationAttack, ProjectionUnit, ReportStudy, SpectrumEntry, SpectrumVariation, SweepAccuracy, SweepSpectrum,
} from '../src/study/report-study.js';

/** A study of a 27-unit network (n = 9 units per stage) with no measurements at all. */
function emptyStudy(): ReportStudy {
  return {
    model: 'constructed', depth: 56, units: 27, preset: 'test', seed: 0,
    plan: {} as ReportStudy['plan'],
    tolerances: { one: 1e-6, zero: 1e-10, nearOne: 0.1 },
    cleanAccuracy: { images: 100, correct: 50, accuracy: 0.5 },
    spectra: [],
    variation: [],
    sweep: { unit: 26, unitLabel: '3.9', image: 0, accuracy: [], spectra: [] },
    propagation: { eps: 2 / 255, norm: 'linf', images: [], attacks: [], stageEnds: [9, 18, 27] },
    projection: { available: false, reason: 'constructed without projections' },
    seconds: {},
  };
}

const with_ = (changes: Partial<ReportStudy>): ReportStudy => ({ ...emptyStudy(), ...changes });
const verdict = (study: ReportStudy, id: number): Verdict => computeFindings(study)[id - 1].verdict;

test('the thresholds are the ones these cases are built around', () => {
  assert.deepEqual(
    { ...THRESHOLDS },
    {
      most: 0.5, smallVariation: 0.05, moderateVariation: 0.15, scalingOverImages: 3, scalingMinimum: 0.1, accuracyDrop: 0.01,
      adversarialRatio: 2, jumpWindow: 1 / 3, projectionRatio: 1.5, projectionUnits: 0.75,
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Finding 1: most singular values at (or near) 1.

function spectrum(fractionNearOne: number, fractionNearOneOfNonzero: number, scaled: Partial<SpectrumEntry> = {}): SpectrumEntry {
  return {
    key: 'k', unit: 19, unitLabel: '3.2', stage: 3, image: 0, alpha: 1, beta: 1, shape: [4096, 4096], seconds: 0,
    smax: 2, smallestNonzero: 0.1, fractionOne: 0.2, fractionZero: 0.4, fractionNearOne, fractionNearOneOfNonzero, medianNonzero: 1,
    histogram: { binWidth: 0.05, counts: [] }, sorted: { ranks: [], values: [] }, ...scaled,
  };
}

test('finding 1: more than half of all values near 1 is consistent; exactly half is not', () => {
  assert.equal(verdict(with_({ spectra: [spectrum(0.5001, 0.9)] }), 1), 'consistent');
  assert.equal(verdict(with_({ spectra: [spectrum(0.5, 0.9)] }), 1), 'partly consistent');
});

test('finding 1: with the zeros counted below half, more than half of the nonzero values near 1 is partly consistent', () => {
  assert.equal(verdict(with_({ spectra: [spectrum(0.3, 0.5001)] }), 1), 'partly consistent');
  assert.equal(verdict(with_({ spectra: [spectrum(0.3, 0.5)] }), 1), 'not consistent');
  assert.equal(verdict(with_({ spectra: [spectrum(0, 0)] }), 1), 'not consistent');
});

test('finding 1: exact zeros are put down to output ReLUs except for pre-activation families, which have none', () => {
  const text = (architecture?: ReportStudy['architecture']) => computeFindings(with_({ spectra: [spectrum(0.3, 0.6)], architecture }))[0].measurement;
  const description = { depth: 16, widths: [8, 16, 32], unitsPerStage: [2, 2, 2], shortcut: 'conv' as const, block: 'basic' as const, classes: 10 };
  assert.match(text(), /40\.0 % exactly zero \(output ReLUs switched off\);/);
  assert.match(text({ ...description, family: 'torchvision-resnet', shortcut: 'B' }), /exactly zero \(output ReLUs switched off\);/);
  assert.match(text({ ...description, family: 'wide-resnet' }), /40\.0 % exactly zero; of the nonzero/);
  assert.match(text({ ...description, family: 'preact-resnet' }), /exactly zero; of the nonzero/);
});

test('finding 1: the verdict is taken on the median over the unscaled spectra', () => {
  // medians: all values 0.6 (of 0.1, 0.6, 0.9) -> consistent, though one spectrum alone would say otherwise
  assert.equal(verdict(with_({ spectra: [spectrum(0.1, 0.2), spectrum(0.9, 0.95), spectrum(0.6, 0.7)] }), 1), 'consistent');
  // two spectra: the median is their mean, 0.45 and 0.55
  assert.equal(verdict(with_({ spectra: [spectrum(0.4, 0.5), spectrum(0.5, 0.6)] }), 1), 'partly consistent');
  // spectra with alpha or beta changed (the sweep's) do not count
  const scaled = [spectrum(0.9, 0.9, { alpha: 0.5 }), spectrum(0.9, 0.9, { beta: 1.5 })];
  assert.equal(verdict(with_({ spectra: [spectrum(0.1, 0.2), ...scaled] }), 1), 'not consistent');
});

test('finding 1: no unscaled spectrum is not computed', () => {
  assert.equal(verdict(emptyStudy(), 1), 'not computed');
  assert.equal(verdict(with_({ spectra: [spectrum(0.9, 0.9, { alpha: 0.5 })] }), 1), 'not computed');
});

// ---------------------------------------------------------------------------------------------
// Finding 2: the sorted spectra barely change from image to image.

function variation(unit: number, relativeVariation: number): SpectrumVariation {
  return {
    unit, unitLabel: `u${unit}`, images: [0, 1], rankStdMax: 0, rankStdMean: 0, relativeVariation,
    smaxMin: 1, smaxMax: 1, fractionOneMin: 0.2, fractionOneMax: 0.2,
  };
}

test('finding 2: at most 5 % variation is consistent, at most 15 % partly, more is not', () => {
  const cases: [number, Verdict][] = [
    [0, 'consistent'], [0.05, 'consistent'], [0.0501, 'partly consistent'],
    [0.15, 'partly consistent'], [0.1501, 'not consistent'], [1, 'not consistent'],
  ];
  for (const [v, expected] of cases) assert.equal(verdict(with_({ variation: [variation(19, v)] }), 2), expected, `variation ${v}`);
});

test('finding 2: the unit that varies most decides', () => {
  assert.equal(verdict(with_({ variation: [variation(19, 0.01), variation(20, 0.2), variation(21, 0.02)] }), 2), 'not consistent');
  assert.equal(verdict(with_({ variation: [variation(19, 0.01), variation(20, 0.1)] }), 2), 'partly consistent');
});

test('finding 2: no unit with spectra at two images is not computed', () => {
  assert.equal(verdict(emptyStudy(), 2), 'not computed');
});

// ---------------------------------------------------------------------------------------------
// Finding 3: scaling alpha or beta moves the spectra a lot, and accuracy drops.

function sweepSpectrum(parameter: 'alpha' | 'beta', value: number, relativeChange: number): SweepSpectrum {
  return { ...spectrum(0.5, 0.5, { unit: 26, unitLabel: '3.9', alpha: parameter === 'alpha' ? value : 1, beta: parameter === 'beta' ? value : 1 }), parameter, value, relativeChange };
}

function accuracy(scope: 'unit' | 'network', value: number, acc: number): SweepAccuracy {
  return { parameter: 'beta', scope, value, images: 10000, correct: Math.round(acc * 10000), accuracy: acc };
}

/** A sweep of unit 26 (image-to-image variation `unitVariation`), clean accuracy 0.5. */
function sweepStudy(o: { changes: number[]; unitAccuracy?: number[]; networkAccuracy?: number[]; unitVariation?: number; otherVariation?: number }): ReportStudy {
  const variations = [
    ...(o.unitVariation === undefined ? [] : [variation(26, o.unitVariation)]),
    ...(o.otherVariation === undefined ? [] : [variation(19, o.otherVariation)]),
  ];
  return with_({
    variation: variations,
    sweep: {
      unit: 26, unitLabel: '3.9', image: 0,
      spectra: [sweepSpectrum('beta', 1, 0), ...o.changes.map((c, i) => sweepSpectrum(i % 2 ? 'alpha' : 'beta', 0.5 + i, c))],
      accuracy: [
        accuracy('unit', 1, 0.5), accuracy('network', 1, 0.5),
        ...(o.unitAccuracy ?? []).map((a, i) => accuracy('unit', 0.5 + i, a)),
        ...(o.networkAccuracy ?? []).map((a, i) => accuracy('network', 0.5 + i, a)),
      ],
    },
  });
}

test('finding 3: the spectrum moves when its change is at least max(10 %, 3x the image-to-image variation)', () => {
  const dropped = { unitAccuracy: [0.25] };
  // the unit's own variation is small: the 10 % floor decides
  assert.equal(verdict(sweepStudy({ changes: [0.1], unitVariation: 0.03125, ...dropped }), 3), 'consistent');
  assert.equal(verdict(sweepStudy({ changes: [0.0999], unitVariation: 0.03125, ...dropped }), 3), 'partly consistent');
  // the unit's own variation is large: 3x it decides (3 x 0.0625 = 0.1875)
  assert.equal(verdict(sweepStudy({ changes: [0.1875], unitVariation: 0.0625, ...dropped }), 3), 'consistent');
  assert.equal(verdict(sweepStudy({ changes: [0.1874], unitVariation: 0.0625, ...dropped }), 3), 'partly consistent');
  // the largest change over all scaled values counts (value 1 is not a change)
  assert.equal(verdict(sweepStudy({ changes: [0.01, 0.5, 0.02], unitVariation: 0.0625, ...dropped }), 3), 'consistent');
});

test('finding 3: the swept unit\'s own variation is the reference; without it the largest variation of any unit', () => {
  const dropped = { unitAccuracy: [0.25] };
  // own 0.03125 (floor 10 % decides) although another unit varies by 0.0625
  assert.equal(verdict(sweepStudy({ changes: [0.15], unitVariation: 0.03125, otherVariation: 0.0625, ...dropped }), 3), 'consistent');
  // no own variation: the other unit's 0.0625 gives 0.1875
  assert.equal(verdict(sweepStudy({ changes: [0.15], otherVariation: 0.0625, ...dropped }), 3), 'partly consistent');
  // no variation at all: the 10 % floor
  assert.equal(verdict(sweepStudy({ changes: [0.1], ...dropped }), 3), 'consistent');
});

test('finding 3: accuracy drops when the lowest accuracy of either scope is at least one point below the clean one', () => {
  const moved = { changes: [0.5], unitVariation: 0.01 };
  // clean 0.5: 0.49 is a drop of (about) 0.01, 0.4905 of 0.0095
  assert.equal(verdict(sweepStudy({ ...moved, unitAccuracy: [0.49] }), 3), 'consistent');
  assert.equal(verdict(sweepStudy({ ...moved, unitAccuracy: [0.4905] }), 3), 'partly consistent');
  assert.equal(verdict(sweepStudy({ ...moved, unitAccuracy: [0.5, 0.4905], networkAccuracy: [0.25] }), 3), 'consistent');
  assert.equal(verdict(sweepStudy({ ...moved, unitAccuracy: [0.6], networkAccuracy: [0.4905, 0.7] }), 3), 'partly consistent');
});

test('finding 3: neither moved nor dropped is not consistent; either one alone is partly consistent', () => {
  assert.equal(verdict(sweepStudy({ changes: [0.05], unitVariation: 0.01, unitAccuracy: [0.5], networkAccuracy: [0.495] }), 3), 'not consistent');
  assert.equal(verdict(sweepStudy({ changes: [0.05], unitVariation: 0.01, networkAccuracy: [0.4] }), 3), 'partly consistent');
  assert.equal(verdict(sweepStudy({ changes: [0.5], unitVariation: 0.01, networkAccuracy: [0.495] }), 3), 'partly consistent');
});

test('finding 3: a sweep with no scaled spectrum and no scaled accuracy is not computed', () => {
  assert.equal(verdict(emptyStudy(), 3), 'not computed');
  assert.equal(verdict(sweepStudy({ changes: [] }), 3), 'not computed');
});

// ---------------------------------------------------------------------------------------------
// Finding 4: random perturbations stay small, adversarial ones grow, with a jump near the end of stage 3.

/** A mean curve over depths k = 0..27 (stem, then 27 units): `start`, times factors[k] at depth k. */
function curve(start: number, factors: Record<number, number> = {}): number[] {
  const out = [start];
  for (let k = 1; k <= 27; k++) out.push(out[k - 1] * (factors[k] ?? 1));
  return out;
}

function attack(name: PropagationAttack['attack'], mean: number[]): PropagationAttack {
  const summary = { mean, q10: mean, median: mean, q90: mean };
  return { attack: name, results: [], relative: summary, firstOrder: summary, flipped: 0 };
}

const propagation = (...attacks: PropagationAttack[]): Partial<ReportStudy> => ({
  propagation: { eps: 2 / 255, norm: 'linf', images: [0], attacks, stageEnds: [9, 18, 27] },
});

test('finding 4: FGSM ending at least 2x random with the larger growth, and a jump in the last third of stage 3, is consistent', () => {
  // n = 9: stage 3 is depths 19..27, its last third (3 units) depths 25..27
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 27: 4 })), attack('gaussian', curve(1)))), 4), 'consistent');
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 25: 4 })), attack('gaussian', curve(1)))), 4), 'consistent');
  // a 'sign' random perturbation counts as the random one
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 27: 4 })), attack('sign', curve(1)))), 4), 'consistent');
});

test('finding 4: the jump must lie in the last third of stage 3 and exceed the median one-unit growth', () => {
  // depth 24 is the fourth-last unit: no jump at the end
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 24: 4 })), attack('gaussian', curve(1)))), 4), 'partly consistent');
  // every unit doubles the perturbation: the largest stage-3 growth is no larger than the median growth
  const doubling = Object.fromEntries(Array.from({ length: 27 }, (_, i) => [i + 1, 2]));
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, doubling)), attack('gaussian', curve(1)))), 4), 'partly consistent');
});

test('finding 4: FGSM must end at least 2x the random size (2x exactly suffices)', () => {
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 27: 4 })), attack('gaussian', curve(1, { 10: 2 })))), 4), 'consistent');
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 27: 4 })), attack('gaussian', curve(1, { 10: 2.01 })))), 4), 'partly consistent');
});

test('finding 4: FGSM must also grow more than random from the stem to the last unit', () => {
  // random ends at 1/4 of FGSM but grew x8 from a smaller start; FGSM grew x4
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 27: 4 })), attack('gaussian', curve(0.125, { 10: 8 })))), 4), 'partly consistent');
  // ... and without the jump at the end either: not consistent
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 10: 4 })), attack('gaussian', curve(0.125, { 10: 8 })))), 4), 'not consistent');
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1)), attack('gaussian', curve(1)))), 4), 'not consistent');
});

test('finding 4 with four stages of 3, 2, 3 and 4 units (any family): the jump is sought in the last stage, units named by stage', () => {
  // stageEnds 3, 5, 8, 12: stage 4 is depths 9..12, its last third (ceil(4/3) = 2 units) depths 11..12.
  const units = 12;
  const grown = (start: number, factors: Record<number, number> = {}) => {
    const out = [start];
    for (let k = 1; k <= units; k++) out.push(out[k - 1] * (factors[k] ?? 1));
    return out;
  };
  const study = (fgsm: number[]) => with_({
    units, depth: 26,
    propagation: { eps: 2 / 255, norm: 'linf', images: [0], attacks: [attack('fgsm', fgsm), attack('gaussian', grown(1))], stageEnds: [3, 5, 8, 12] },
  });
  const atEnd = computeFindings(study(grown(1, { 11: 4 })))[3];
  assert.equal(atEnd.verdict, 'consistent');
  assert.match(atEnd.measurement, /Largest one-unit growth of the FGSM mean: x4\.00 at unit 4\.3; within stage 4 x4\.00 at unit 4\.3/);
  assert.match(atEnd.reason, /within stage 4 is in its last 2 units/);
  assert.equal(verdict(study(grown(1, { 10: 4 })), 4), 'partly consistent');
  // depth 4 is after the first unit of stage 2 (stage 1 ends at depth 3)
  const early = computeFindings(study(grown(1, { 4: 4, 12: 1.5 })))[3];
  assert.match(early.measurement, /x4\.00 at unit 2\.1; within stage 4 x1\.50 at unit 4\.4/);
  assert.equal(early.numbers.stage3JumpDepth, 12);
});

test('finding 4: without both FGSM and a random perturbation it is not computed', () => {
  assert.equal(verdict(emptyStudy(), 4), 'not computed');
  assert.equal(verdict(with_(propagation(attack('fgsm', curve(1, { 27: 4 })))), 4), 'not computed');
  assert.equal(verdict(with_(propagation(attack('gaussian', curve(1)))), 4), 'not computed');
});

// ---------------------------------------------------------------------------------------------
// Finding 5: adversarial perturbations project more strongly onto the top singular vectors.

function projection(fgsm: number[], random: number[], randomAttack: 'gaussian' | 'sign' = 'gaussian'): Partial<ReportStudy> {
  const units: ProjectionUnit[] = fgsm.map((f, u) => ({
    unit: u, unitLabel: `u${u}`, inputs: 1024, chance: 10 / 1024,
    byAttack: [
      { attack: 'fgsm', mean: f, min: f, max: f, amplification: 1 },
      { attack: randomAttack, mean: random[u], min: random[u], max: random[u], amplification: 1 },
    ],
  }));
  return { projection: { available: true, k: 10, rows: [], units } };
}

test('finding 5: FGSM / random at least 1.5 on average and larger on at least 3/4 of the units is consistent', () => {
  assert.equal(verdict(with_(projection([0.75, 0.75, 0.75, 0.75], [0.5, 0.5, 0.5, 0.5])), 5), 'consistent');
  assert.equal(verdict(with_(projection([0.75, 0.75, 0.75, 0.75], [0.5, 0.5, 0.5, 0.5], 'sign')), 5), 'consistent');
  // the ratio of the means: (1 + 1 + 1 + 0.25) / 4 / 0.5 = 1.625, larger on exactly 3 of 4 units
  assert.equal(verdict(with_(projection([1, 1, 1, 0.25], [0.5, 0.5, 0.5, 0.5])), 5), 'consistent');
});

test('finding 5: a ratio below 1.5, or larger on fewer than 3/4 of the units, is partly consistent when larger on most units', () => {
  assert.equal(verdict(with_(projection([0.74, 0.74, 0.74, 0.74], [0.5, 0.5, 0.5, 0.5])), 5), 'partly consistent');
  // ratio 2.6 but larger on 3 of 5 units only
  assert.equal(verdict(with_(projection([2, 2, 2, 0.25, 0.25], [0.5, 0.5, 0.5, 0.5, 0.5])), 5), 'partly consistent');
});

test('finding 5: larger on at most half of the units is not consistent, whatever the ratio', () => {
  assert.equal(verdict(with_(projection([2, 2, 0.25, 0.25], [0.5, 0.5, 0.5, 0.5])), 5), 'not consistent');
  assert.equal(verdict(with_(projection([0.5, 0.5], [0.5, 0.5])), 5), 'not consistent');
});

test('finding 5: no projections, or none with both FGSM and a random perturbation, is not computed', () => {
  assert.equal(verdict(emptyStudy(), 5), 'not computed');
  const onlyFgsm = projection([1, 1], [0.5, 0.5]);
  if (onlyFgsm.projection?.available) for (const u of onlyFgsm.projection.units) u.byAttack = u.byAttack.filter((a) => a.attack === 'fgsm');
  assert.equal(verdict(with_(onlyFgsm), 5), 'not computed');
});
