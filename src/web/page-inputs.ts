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

/**
 * The largest files the page reads from disk, as the CLI does (src/data): a CIFAR-10 binary of up to
 * 60,000 records (all six batches together), a PNG/JPEG of up to 16 MiB. A .tar.gz archive is streamed
 * and keeps only its test batch (src/web/cifar-archive.ts), so its own size is not limited.
 */
export const FILE_LIMITS = {
  cifarBinary: 60_000 * 3073,
  image: 16 * 2 ** 20,
} as const;

/** The message refusing a chosen file of `size` bytes as `kind`, or undefined when it may be read. */
export function checkFileSize(kind: keyof typeof FILE_LIMITS, name: string, size: number): string | undefined {
  const limit = FILE_LIMITS[kind];
  if (size === 0) return `${name}: file is empty`;
  if (size > limit) return `${name}: ${size} bytes, more than the ${limit} bytes a ${kind === 'image' ? 'PNG/JPEG image' : 'CIFAR-10 binary file'} may have here`;
  return undefined;
}
