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
