/**
 * Predicted classes from logits. A module of its own (not in accuracy.ts) because both the accuracy
 * count and perturbation propagation, which the study executor runs, need it: kept apart, the study
 * modules import in one direction only.
 */

/** Index of the largest of each row of a B x classes row-major array (the first, on ties). */
export function argmaxRows(logits: Float32Array | Float64Array, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * classes < logits.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    out.push(best);
  }
  return out;
}
