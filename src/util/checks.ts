/**
 * Argument checks shared by the public API: indices and precisions arrive from users' code as plain
 * numbers and strings, and a typed-array conversion would otherwise turn 2^32 + 5 into 5, NaN into 0
 * and 1.7 into 1 without a word.
 */
import { InputError } from './errors.js';

/**
 * The indices `values`, each a whole number in 0..limit-1; else an InputError
 * `<what> <value> of <of> is outside 0..<limit - 1>` (`of` names the indexed thing).
 */
export function checkIndices(values: ArrayLike<number>, limit: number, what: string, of: string): ArrayLike<number> {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Number.isInteger(v) && v >= 0 && v < limit)) throw new InputError(`${what} ${String(v)} of ${of} is outside 0..${limit - 1}`);
  }
  return values;
}

/** The working precisions of the kernels. */
export const PRECISIONS = ['f64', 'f32'] as const;

/** `value` if it is one of PRECISIONS, else an InputError naming `what`. */
export function checkPrecision<P extends (typeof PRECISIONS)[number]>(value: P | undefined, what = 'precision'): P | undefined {
  if (value !== undefined && !(PRECISIONS as readonly string[]).includes(value)) {
    throw new InputError(`${what} must be one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}
