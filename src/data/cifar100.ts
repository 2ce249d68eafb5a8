/**
 * The CIFAR-100 binary format: 3074-byte records, a coarse label byte (0-19), a fine label byte
 * (0-99), then a 32x32 RGB image as three planes like CIFAR-10. Read into the same CifarBatch as
 * CIFAR-10, with the fine labels (the 100 classes models are trained on). The test file is `test.bin`,
 * in the official archive's folder `cifar-100-binary/`.
 */
import { IMAGE_CHANNELS, IMAGE_SIZE } from '../model/types.js';
import { InputError } from '../util/errors.js';
import type { CifarBatch } from './cifar-batch.js';

/** Bytes of one image: 3 x 32 x 32 (not imported from cifar.ts, which imports this module). */
const CIFAR_IMAGE_BYTES = IMAGE_CHANNELS * IMAGE_SIZE * IMAGE_SIZE;

export const CIFAR100_RECORD_BYTES = 2 + CIFAR_IMAGE_BYTES;
export const CIFAR100_TEST_FILE = 'test.bin';
export const CIFAR100_ARCHIVE_DIR = 'cifar-100-binary';
/** The largest CIFAR-100 file read: all 60,000 images of the data set in one file. */
export const MAX_CIFAR100_BYTES = 60_000 * CIFAR100_RECORD_BYTES;

/** True for the file names CIFAR-100's archive uses (`test.bin`, `train.bin`). */
export function isCifar100Name(path: string): boolean {
  return /(^|[\\/])(test|train)\.bin$/.test(path);
}

/**
 * Parse the bytes of a CIFAR-100 binary file (labels: the fine label). Throws InputError naming
 * `source` if the bytes are empty, not whole records, or hold a label out of range.
 */
export function readCifar100Batch(bytes: Uint8Array, source: string): CifarBatch {
  if (bytes.length === 0) throw new InputError(`${source}: file is empty; expected CIFAR-100 records of ${CIFAR100_RECORD_BYTES} bytes`);
  const remainder = bytes.length % CIFAR100_RECORD_BYTES;
  if (remainder !== 0) {
    throw new InputError(
      `${source}: length ${bytes.length} is not a multiple of the ${CIFAR100_RECORD_BYTES}-byte CIFAR-100 record ` +
        `(remainder ${remainder}); not a CIFAR-100 binary file, or truncated`,
    );
  }
  const count = bytes.length / CIFAR100_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  for (let i = 0; i < count; i++) {
    const start = i * CIFAR100_RECORD_BYTES;
    const coarse = bytes[start]!;
    const fine = bytes[start + 1]!;
    if (coarse >= 20) throw new InputError(`${source}: image ${i} has coarse label ${coarse}; CIFAR-100 coarse labels are 0-19`);
    if (fine >= 100) throw new InputError(`${source}: image ${i} has fine label ${fine}; CIFAR-100 labels are 0-99`);
    labels[i] = fine;
    pixels.set(bytes.subarray(start + 2, start + CIFAR100_RECORD_BYTES), i * CIFAR_IMAGE_BYTES);
  }
  return { count, labels, pixels, source };
}
