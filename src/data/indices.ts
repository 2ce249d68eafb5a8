/** Index lists as users type them: `0-9,15` (CLI flags such as --images). */
import { UsageError } from '../util/errors.js';

/**
 * Parse a comma-separated list of whole numbers and inclusive ranges `a-b` (a <= b), spaces allowed
 * around items. Returns the indices in the order given, each once (the first occurrence is kept):
 * `parseIndexList('5,0-2,1', 10)` is [5, 0, 1, 2].
 *
 * Throws UsageError (an InputError; the CLI exits 2), prefixed with `name` (e.g. the flag), for an empty
 * list or item, an item that is not a whole number or range (`abc`, `-1`, `1.5`), a descending range
 * (`3-1`), or an index outside 0..limit-1 (the message names the index and the valid range).
 */
export function parseIndexList(text: string, limit: number, name = 'index list'): number[] {
  if (text.trim() === '') throw new UsageError(`${name}: empty; expected indices such as 0-9,15`);
  const seen = new Set<number>();
  const out: number[] = [];
  const check = (index: number): void => {
    if (index >= limit) {
      throw new UsageError(
        limit > 0 ? `${name}: index ${index} is out of range; valid indices are 0-${limit - 1}` : `${name}: index ${index} is out of range; there are no items`,
      );
    }
  };
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(item);
    if (!match) {
      throw new UsageError(`${name}: '${item}' in '${text}' is not an index or range; expected non-negative whole numbers such as 0-9,15`);
    }
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new UsageError(`${name}: range '${item}' is descending; write ${last}-${first}`);
    check(first);
    check(last);
    for (let i = first; i <= last; i++) {
      if (!seen.has(i)) {
        seen.add(i);
        out.push(i);
      }
    }
  }
  return out;
}
