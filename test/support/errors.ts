/** Assertions on the package's user-facing errors, shared by the tests. */
import assert from 'node:assert/strict';
import { InputError } from '../../src/util/errors.js';

/** Asserts that `fn` throws an InputError with a one-line message equal to (or matching) `expected`. */
export function throwsInput(fn: () => unknown, expected: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/);
    if (typeof expected === 'string') assert.equal(error.message, expected);
    else assert.match(error.message, expected);
    return true;
  });
}
