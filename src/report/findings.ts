/**
 * The paper's five findings set beside our measurements. Every verdict is computed from the numbers
 * of a ReportStudy with the thresholds below (shown in the report), never written in by hand:
 * 'consistent' when the measurement meets the claim, 'partly consistent' when part of it does,
 * 'not consistent' otherwise, 'not computed' when the study has no data for it.
 */
import type { ReportStudy, SpectrumEntry } from '../study/report-study.js';
import { depthLabel, NEAR_ONE, quantile } from '../study/report-study.js';

export type Verdict = 'consistent' | 'partly consistent' | 'not consistent' | 'not computed';

export interface Finding {
  id: number;
  title: string;
  claim: string;
  measurement: string;
  verdict: Verdict;
  /** Why the verdict, in terms of the thresholds. */
  reason: string;
  /** The numbers the verdict was computed from. */
  numbers: Record<string, number | string | boolean>;
}

/** The thresholds that turn measurements into verdicts. */
export const THRESHOLDS = {
  /** "most": more than this fraction. */
  most: 0.5,
  /** Sorted spectra "barely change": rank-wise std across images below this fraction of the values. */
  smallVariation: 0.05,
  /** ... and at most this much for "partly". */
  moderateVariation: 0.15,
  /** Scaling "moves the spectra a lot": a sorted-spectrum change this many times the image-to-image variation ... */
  scalingOverImages: 3,
  /** ... and at least this large in relative terms. */
  scalingMinimum: 0.1,
  /** Accuracy "drops": by at least this much (a fraction; 0.01 = one percentage point). */
  accuracyDrop: 0.01,
  /** Adversarial perturbations "grow" where random ones "stay small": final relative size at least this ratio. */
  adversarialRatio: 2,
  /** "A jump near the end of the last stage": the last stage's (the paper's stage 3) largest one-unit growth lies in its last this-fraction of units. */
  jumpWindow: 1 / 3,
  /** Projections "more strongly": FGSM energy fraction at least this ratio of the random one (averaged over units) ... */
  projectionRatio: 1.5,
  /** ... and larger on at least this fraction of the units. */
  projectionUnits: 0.75,
} as const;

const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)} %`;
const num = (x: number, digits = 3) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(digits) : x.toExponential(2));
const median = (xs: number[]) => quantile(xs, 0.5);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function unscaled(study: ReportStudy): SpectrumEntry[] {
  return study.spectra.filter((e) => e.alpha === 1 && e.beta === 1);
}

function findingOne(study: ReportStudy): Finding {
  const claim = 'Most singular values of a residual unit\'s linearization are at (or very near) 1.';
  const entries = unscaled(study);
  const base = { id: 1, title: 'Singular values at 1', claim };
  if (entries.length === 0) {
    return { ...base, measurement: 'No spectra were computed.', verdict: 'not computed', reason: '', numbers: {} };
  }
  const exact = median(entries.map((e) => e.fractionOne));
  const near = median(entries.map((e) => e.fractionNearOne));
  const nearNonzero = median(entries.map((e) => e.fractionNearOneOfNonzero));
  const zero = median(entries.map((e) => e.fractionZero));
  const medianNonzero = median(entries.map((e) => e.medianNonzero));
  const units = [...new Set(entries.map((e) => e.unitLabel))].join(', ');
  // Exact zeros come from a post-activation unit's output ReLU; a pre-activation unit has none.
  const family = study.architecture?.family;
  const zeroCause = family === 'preact-resnet' || family === 'wide-resnet' ? '' : ' (output ReLUs switched off)';
  const measurement =
    `Over ${entries.length} spectra (units ${units}), the median spectrum has ${pct(exact)} of its values at 1 ` +
    `(|s - 1| < ${study.tolerances.one}), ${pct(near)} within ${NEAR_ONE} of 1, and ${pct(zero)} exactly zero` +
    `${zeroCause}; of the nonzero values ${pct(nearNonzero)} lie within ${NEAR_ONE} of 1 ` +
    `(median nonzero value ${num(medianNonzero)}).`;
  let verdict: Verdict;
  let reason: string;
  if (near > THRESHOLDS.most) {
    verdict = 'consistent';
    reason = `more than ${pct(THRESHOLDS.most, 0)} of all values are within ${NEAR_ONE} of 1`;
  } else if (nearNonzero > THRESHOLDS.most) {
    verdict = 'partly consistent';
    reason = `most nonzero values are within ${NEAR_ONE} of 1, but with the zeros counted fewer than ${pct(THRESHOLDS.most, 0)} are`;
  } else {
    verdict = 'not consistent';
    reason = `fewer than ${pct(THRESHOLDS.most, 0)} even of the nonzero values are within ${NEAR_ONE} of 1`;
  }
  return { ...base, measurement, verdict, reason, numbers: { spectra: entries.length, fractionOne: exact, fractionNearOne: near, fractionNearOneOfNonzero: nearNonzero, fractionZero: zero, medianNonzero } };
}

function findingTwo(study: ReportStudy): Finding {
  const base = { id: 2, title: 'Spectra across images', claim: 'The sorted spectra barely change from image to image.' };
  if (study.variation.length === 0) {
    return { ...base, measurement: 'No unit has spectra at two or more images.', verdict: 'not computed', reason: '', numbers: {} };
  }
  const worst = study.variation.reduce((a, b) => (b.relativeVariation > a.relativeVariation ? b : a));
  const parts = study.variation.map(
    (v) => `unit ${v.unitLabel}: ${pct(v.relativeVariation, 2)} (s_max ${num(v.smaxMin)}-${num(v.smaxMax)}, at 1 ${pct(v.fractionOneMin)}-${pct(v.fractionOneMax)})`,
  );
  const measurement =
    `Rank-wise standard deviation across images relative to the sorted values (sum of stds / sum of means over ranks): ${parts.join('; ')}.`;
  let verdict: Verdict;
  let reason: string;
  if (worst.relativeVariation <= THRESHOLDS.smallVariation) {
    verdict = 'consistent';
    reason = `every unit varies by at most ${pct(THRESHOLDS.smallVariation, 0)}`;
  } else if (worst.relativeVariation <= THRESHOLDS.moderateVariation) {
    verdict = 'partly consistent';
    reason = `unit ${worst.unitLabel} varies by ${pct(worst.relativeVariation, 1)}, above ${pct(THRESHOLDS.smallVariation, 0)} but below ${pct(THRESHOLDS.moderateVariation, 0)}`;
  } else {
    verdict = 'not consistent';
    reason = `unit ${worst.unitLabel} varies by ${pct(worst.relativeVariation, 1)}, above ${pct(THRESHOLDS.moderateVariation, 0)}`;
  }
  return { ...base, measurement, verdict, reason, numbers: { units: study.variation.length, worstUnit: worst.unitLabel, worstRelativeVariation: worst.relativeVariation, images: worst.images.length } };
}

function findingThree(study: ReportStudy): Finding {
  const base = {
    id: 3,
    title: 'Scaling alpha and beta',
    claim: 'Scaling the skip connection (alpha) or the unit\'s weights (beta) moves the spectra a lot, and accuracy drops.',
  };
  const { sweep } = study;
  const scaled = sweep.spectra.filter((s) => s.value !== 1);
  if (scaled.length === 0 && sweep.accuracy.every((a) => a.value === 1)) {
    return { ...base, measurement: 'No scaled spectrum or accuracy was computed.', verdict: 'not computed', reason: '', numbers: {} };
  }
  const reference = study.variation.find((v) => v.unit === sweep.unit)?.relativeVariation
    ?? (study.variation.length ? Math.max(...study.variation.map((v) => v.relativeVariation)) : 0);
  const maxChange = scaled.length ? Math.max(...scaled.map((s) => s.relativeChange)) : 0;
  const moved = scaled.length > 0 && maxChange >= Math.max(THRESHOLDS.scalingMinimum, THRESHOLDS.scalingOverImages * reference);
  const clean = study.cleanAccuracy.accuracy;
  const drops = (['unit', 'network'] as const).map((scope) => {
    const rows = sweep.accuracy.filter((a) => a.scope === scope && a.value !== 1);
    const worst = rows.reduce<typeof rows[number] | undefined>((w, a) => (!w || a.accuracy < w.accuracy ? a : w), undefined);
    return { scope, worst, drop: worst ? clean - worst.accuracy : 0 };
  });
  const dropped = drops.some((d) => d.drop >= THRESHOLDS.accuracyDrop);
  const spectrumText = (['alpha', 'beta'] as const).map((p) => {
    const rows = sweep.spectra.filter((s) => s.parameter === p);
    if (rows.length === 0) return '';
    return `${p} ${rows.map((r) => r.value).join(', ')}: s_max ${rows.map((r) => num(r.smax)).join(', ')}, at alpha ${rows.map((r) => pct(r.fractionOne)).join(', ')}, sorted spectrum changed by up to ${pct(Math.max(...rows.map((r) => r.relativeChange)))}`;
  }).filter(Boolean).join('; ');
  const accuracyText = drops.map((d) => d.worst
    ? `${d.scope === 'unit' ? `only unit ${sweep.unitLabel}` : 'every unit'} scaled: lowest ${pct(d.worst.accuracy)} (${d.worst.parameter} = ${d.worst.value})`
    : '').filter(Boolean).join('; ');
  const measurement =
    `Unit ${sweep.unitLabel} at image ${sweep.image} — ${spectrumText} (image-to-image variation of this unit: ${pct(reference, 2)}). ` +
    `Accuracy on ${study.cleanAccuracy.images} images: ${pct(clean)} unscaled; ${accuracyText}.`;
  const verdict: Verdict = moved && dropped ? 'consistent' : moved || dropped ? 'partly consistent' : 'not consistent';
  const reason =
    `${moved ? 'the spectrum moves' : 'the spectrum does not move'} by more than max(${pct(THRESHOLDS.scalingMinimum, 0)}, ${THRESHOLDS.scalingOverImages}x the image-to-image variation); ` +
    `accuracy ${dropped ? 'drops' : 'does not drop'} by ${pct(THRESHOLDS.accuracyDrop, 0)} or more`;
  return {
    ...base, measurement, verdict, reason,
    numbers: {
      maxRelativeChange: maxChange, imageVariation: reference, spectraMoved: moved, cleanAccuracy: clean,
      unitScaledDrop: drops[0].drop, networkScaledDrop: drops[1].drop, accuracyDropped: dropped,
    },
  };
}

function findingFour(study: ReportStudy): Finding {
  const base = {
    id: 4,
    title: 'Perturbations through the network',
    claim: 'Random perturbations stay small through the network while adversarial ones grow, with a jump near the end of the last stage.',
  };
  const fgsm = study.propagation.attacks.find((a) => a.attack === 'fgsm');
  const random = study.propagation.attacks.find((a) => a.attack === 'gaussian' || a.attack === 'sign');
  if (!fgsm || !random) return { ...base, measurement: 'FGSM and random perturbations were not both run.', verdict: 'not computed', reason: '', numbers: {} };
  const last = fgsm.relative.mean.length - 1;
  const finalF = fgsm.relative.mean[last];
  const finalR = random.relative.mean[last];
  const growthF = finalF / fgsm.relative.mean[0];
  const growthR = finalR / random.relative.mean[0];
  const growth = (k: number) => fgsm.relative.mean[k] / fgsm.relative.mean[k - 1];
  // Stages from the depths at which they end (the paper's family: n, 2n, 3n); the last stage S is the
  // paper's stage 3, depths lastStart + 1 .. last.
  const ends = study.propagation.stageEnds;
  const lastStage = ends.length;
  const lastStart = ends.length > 1 ? ends[ends.length - 2] : 0;
  const lastStageUnits = (ends.at(-1) ?? study.units) - lastStart;
  const argmax = (from: number, to: number) => {
    let best = from;
    for (let k = from; k <= to; k++) if (growth(k) > growth(best)) best = k;
    return best;
  };
  // Depth index k >= 1 is after unit k - 1.
  const kStar = argmax(1, last);
  const kStar3 = argmax(lastStart + 1, last);
  const medianGrowth = median(Array.from({ length: last }, (_, i) => growth(i + 1)));
  const windowUnits = Math.max(1, Math.ceil(lastStageUnits * THRESHOLDS.jumpWindow));
  const jumpAtEnd = kStar3 > last - windowUnits && growth(kStar3) > medianGrowth;
  const ratio = finalF / finalR;
  const firstOrderGap = (a: typeof fgsm) => Math.abs(a.firstOrder.mean[last] - a.relative.mean[last]) / a.relative.mean[last];
  const unitOf = (k: number) => (k === 0 ? 'stem' : `unit ${depthLabel(ends, k)}`);
  const measurement =
    `eps = ${num(study.propagation.eps, 5)} (L-inf; random = Gaussian of the same L2 size), ${fgsm.results.length} images. ` +
    `Mean relative perturbation after the stem -> after the last unit: FGSM ${num(fgsm.relative.mean[0])} -> ${num(finalF)} (x${growthF.toFixed(2)}), ` +
    `random ${num(random.relative.mean[0])} -> ${num(finalR)} (x${growthR.toFixed(2)}); at the end FGSM is ${ratio.toFixed(1)}x random. ` +
    `Largest one-unit growth of the FGSM mean: x${growth(kStar).toFixed(2)} at ${unitOf(kStar)}; within stage ${lastStage} x${growth(kStar3).toFixed(2)} at ${unitOf(kStar3)} ` +
    `(median over all units x${medianGrowth.toFixed(3)}). FGSM changed ${fgsm.flipped} of ${fgsm.results.length} predictions, random ${random.flipped}. ` +
    `The first-order prediction is off by ${pct(firstOrderGap(fgsm))} (FGSM) and ${pct(firstOrderGap(random))} (random) at the last unit.`;
  const grows = ratio >= THRESHOLDS.adversarialRatio && growthF > growthR;
  const verdict: Verdict = grows && jumpAtEnd ? 'consistent' : grows || jumpAtEnd ? 'partly consistent' : 'not consistent';
  const reason =
    `FGSM ${grows ? 'ends' : 'does not end'} at least ${THRESHOLDS.adversarialRatio}x the random size with the larger growth; ` +
    `the largest one-unit growth within stage ${lastStage} is ${jumpAtEnd ? '' : 'not '}in its last ${windowUnits} units (and above the median growth)`;
  return {
    ...base, measurement, verdict, reason,
    numbers: { finalFgsm: finalF, finalRandom: finalR, ratio, growthFgsm: growthF, growthRandom: growthR, largestGrowthDepth: kStar, largestGrowth: growth(kStar),
      // stage3*: the last stage (stage 3 of the paper's family), named so for report.json's readers
      stage3JumpDepth: kStar3, stage3Jump: growth(kStar3), medianGrowth, jumpAtEnd, flippedFgsm: fgsm.flipped, flippedRandom: random.flipped },
  };
}

function findingFive(study: ReportStudy): Finding {
  const base = {
    id: 5,
    title: 'Projections onto top singular vectors',
    claim: 'Adversarial perturbations project more strongly onto the top right singular vectors of the unit linearizations than random ones.',
  };
  const p = study.projection;
  if (!p.available) return { ...base, measurement: `Not computed in this version (${p.reason}).`, verdict: 'not computed', reason: '', numbers: {} };
  const pairs = p.units.map((u) => ({
    unit: u.unitLabel,
    fgsm: u.byAttack.find((a) => a.attack === 'fgsm')?.mean ?? NaN,
    random: u.byAttack.find((a) => a.attack === 'gaussian' || a.attack === 'sign')?.mean ?? NaN,
    chance: u.chance,
  })).filter((q) => Number.isFinite(q.fgsm) && Number.isFinite(q.random));
  if (pairs.length === 0) return { ...base, measurement: 'No projections were computed.', verdict: 'not computed', reason: '', numbers: {} };
  const above = pairs.filter((q) => q.fgsm > q.random).length / pairs.length;
  const ratio = mean(pairs.map((q) => q.fgsm)) / mean(pairs.map((q) => q.random));
  const images = new Set(p.rows.map((r) => r.image)).size;
  const measurement =
    `Energy fraction of the perturbation entering each unit in the span of its top ${p.k} right singular vectors, mean over ${images} images: ` +
    `FGSM ${pct(mean(pairs.map((q) => q.fgsm)), 2)}, random ${pct(mean(pairs.map((q) => q.random)), 2)} averaged over ${pairs.length} units ` +
    `(an isotropic random vector: ${pct(mean(pairs.map((q) => q.chance)), 2)}); FGSM is larger on ${pct(above, 0)} of the units.`;
  const strong = ratio >= THRESHOLDS.projectionRatio && above >= THRESHOLDS.projectionUnits;
  const verdict: Verdict = strong ? 'consistent' : above > 0.5 ? 'partly consistent' : 'not consistent';
  const reason = `FGSM / random = ${ratio.toFixed(2)} (threshold ${THRESHOLDS.projectionRatio}), larger on ${pct(above, 0)} of units (threshold ${pct(THRESHOLDS.projectionUnits, 0)})`;
  return { ...base, measurement, verdict, reason, numbers: { k: p.k, units: pairs.length, images, ratio, unitsAbove: above } };
}

export function computeFindings(study: ReportStudy): Finding[] {
  return [findingOne(study), findingTwo(study), findingThree(study), findingFour(study), findingFive(study)];
}
