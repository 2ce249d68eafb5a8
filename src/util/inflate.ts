/**
 * Inflating with a ceiling: a small deflate stream can expand a thousandfold, so the output is produced
 * in slices and inflation stops as soon as it passes the size the container declares, instead of
 * building the whole stream first and measuring it afterwards.
 */
import { Inflate, Unzlib } from 'fflate';

/** Thrown by `inflateAtMost` when the stream holds more than the limit. */
export class InflateLimitError extends Error {
  override name = 'InflateLimitError';
}

/** Compressed bytes fed per step: each can expand to at most about 1032 times as much (16 MiB). */
const STEP = 16384;
/** Deflate's largest expansion: a 258-byte match costs at least 2 bits, so 1032 bytes per input byte. */
const MAX_RATIO = 1032;

/**
 * The bytes of a raw deflate (`'deflate'`) or zlib (`'zlib'`) stream, at most `limit` of them: throws
 * InflateLimitError once the output exceeds `limit`, and fflate's Error on corrupt or truncated data.
 * Memory: the smaller of `limit` and what `data` could possibly expand to, plus one step's output.
 */
export function inflateAtMost(data: Uint8Array, limit: number, format: 'deflate' | 'zlib'): Uint8Array {
  const out = new Uint8Array(Math.min(limit, MAX_RATIO * data.length + 1024));
  let filled = 0;
  const sink = (chunk: Uint8Array): void => {
    if (filled + chunk.length > out.length) throw new InflateLimitError(`inflates to more than ${limit} bytes`);
    out.set(chunk, filled);
    filled += chunk.length;
  };
  const stream = format === 'zlib' ? new Unzlib(sink) : new Inflate(sink);
  if (data.length === 0) stream.push(data, true);
  for (let at = 0; at < data.length; at += STEP) stream.push(data.subarray(at, at + STEP), at + STEP >= data.length);
  return filled === out.length ? out : out.subarray(0, filled);
}
