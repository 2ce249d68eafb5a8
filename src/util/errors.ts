/**
 * User-facing failures: bad files, bad shapes, bad arguments. The message is one line that names the
 * input at fault; the CLI prints exactly that line and exits non-zero. Programming errors stay plain
 * `Error`s (or TypeError/RangeError) and keep their stack traces.
 */
export class InputError extends Error {
  override name = 'InputError';
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * Bad usage: an option or argument value the command cannot take (`--shard 3/2`, a k beyond the
 * operator's size), as opposed to bad input data. The CLI exits 2 for these, 1 for other InputErrors.
 */
export class UsageError extends InputError {
  override name = 'UsageError';
}

/**
 * An error as it comes back from a worker: structured cloning (Comlink) keeps an Error's name and
 * message but not its class, so a worker's UsageError would reach the CLI as a plain Error (exit 1
 * instead of 2). Restores the class from the name; any other error is returned as it is.
 */
export function restoreErrorClass(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof InputError) return err;
  const Class = err.name === 'UsageError' ? UsageError : err.name === 'InputError' ? InputError : undefined;
  if (!Class) return err;
  const restored = new Class(err.message);
  if (err.stack) restored.stack = err.stack;
  return restored;
}
