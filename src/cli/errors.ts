/**
 * How the CLI fails: one line on stderr naming the problem, a non-zero exit code (1 for bad input
 * or failed work, 2 for bad usage), and a stack trace only with RESNET_STABILITY_DEBUG=1.
 */
import { UsageError } from '../util/errors.js';

export { UsageError };

export function reportFailure(err: unknown): number {
  const error = err instanceof Error ? err : new Error(String(err));
  const line = error.message.split('\n')[0];
  process.stderr.write(`resnet-stability: ${line}\n`);
  if (process.env.RESNET_STABILITY_DEBUG === '1' && error.stack) process.stderr.write(`${error.stack}\n`);
  return error instanceof UsageError ? 2 : 1;
}
