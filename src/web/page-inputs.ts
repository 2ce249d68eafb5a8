/**
 * The demo page's numeric inputs, checked before anything is computed, with the same limits the page
 * shows beside each field (the page builds its labels and min/max attributes from INPUT_LIMITS).
 */
export const INPUT_LIMITS = {
  /** How many of the largest singular values. */
  k: { min: 1, max: 50 },
  /** L-infinity size of the perturbation, in pixel units of [0, 1]: 0 < eps <= 1. */
  eps: { min: 0, max: 1 },
} as const;

export interface PageInputs {
  k: number;
  eps: number;
  /** Unit label, "stage.unit". */
  unit: string;
}

/** The inputs as numbers, or the one-line message naming the first field at fault. */
export function checkPageInputs(raw: { k: string; eps: string; unit: string }, unitLabels: readonly string[]): PageInputs | { error: string } {
  const { k: kLimits, eps: epsLimits } = INPUT_LIMITS;
  const kText = raw.k.trim();
  const k = Number(kText);
  if (!/^\d+$/.test(kText) || k < kLimits.min || k > kLimits.max) {
    return { error: `Top-k: "${raw.k}" is not a whole number from ${kLimits.min} to ${kLimits.max}` };
  }
  const epsText = raw.eps.trim();
  const eps = Number(epsText);
  if (epsText === '' || !Number.isFinite(eps) || eps <= epsLimits.min || eps > epsLimits.max) {
    return { error: `eps: "${raw.eps}" is not a number with ${epsLimits.min} < eps ≤ ${epsLimits.max}` };
  }
  if (!unitLabels.includes(raw.unit)) {
    return { error: `unit: "${raw.unit}" is not a unit of this model (${unitLabels[0]} to ${unitLabels.at(-1)})` };
  }
  return { k, eps, unit: raw.unit };
}
