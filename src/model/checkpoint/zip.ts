/** Reading the zip container of PyTorch >= 1.6 checkpoints: a thin, checked wrapper over fflate. */
import { unzipSync } from 'fflate';
import { CheckpointError } from './errors.js';

/** True when the bytes start with a zip local-file header ("PK\x03\x04"). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * All entries of a zip archive by name, uncompressed.
 *
 * fflate neither checks CRCs nor notices a stored entry cut short (it silently clamps it), so every
 * entry's length is compared with the size the central directory records; any mismatch, and anything
 * fflate throws on damaged input, is a `CheckpointError('truncated or corrupt zip archive')`.
 */
export function unzipEntries(bytes: Uint8Array): Map<string, Uint8Array> {
  const recordedSizes = new Map<string, number>();
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (file) => {
        recordedSizes.set(file.name, file.originalSize);
        return true;
      },
    });
  } catch {
    throw new CheckpointError('truncated or corrupt zip archive');
  }
  const entries = new Map(Object.entries(files));
  for (const [name, data] of entries) {
    if (data.length !== recordedSizes.get(name)) throw new CheckpointError('truncated or corrupt zip archive');
  }
  return entries;
}
