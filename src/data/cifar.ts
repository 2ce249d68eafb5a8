/**
 * The CIFAR-10 binary format: a file is a sequence of 3073-byte records, each one label byte (0-9)
 * followed by a 32x32 RGB image stored as three planes (R, then G, then B), each plane row-major.
 * So the image bytes of a record are already in CHW order.
 *
 * `readCifarBatch` parses bytes (any runtime); `loadCifar` finds and reads a file in Node.
 */
import type { CifarBatch } from './cifar-batch.js';
import { IMAGE_CHANNELS, IMAGE_SIZE } from '../model/types.js';
import { InputError } from '../util/errors.js';
import { fileKind, readRegularFile } from '../util/read-file.js';
import { CIFAR100_ARCHIVE_DIR, CIFAR100_TEST_FILE, isCifar100Name, MAX_CIFAR100_BYTES, readCifar100Batch } from './cifar100.js';

/** Bytes of one image: 3 x 32 x 32. */
export const CIFAR_IMAGE_BYTES = IMAGE_CHANNELS * IMAGE_SIZE * IMAGE_SIZE;
/** Bytes of one record: the label byte, then the image. */
export const CIFAR_RECORD_BYTES = 1 + CIFAR_IMAGE_BYTES;
/** Class names in label order (label 0 is airplane). */
export const CIFAR_CLASSES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
] as const;
/** The largest CIFAR-10 file read: all 60,000 images of the data set in one file. */
const MAX_CIFAR_BYTES = 60_000 * CIFAR_RECORD_BYTES;
/** The file name of the test set, at the top of a data directory or in the official archive's folder. */
export const CIFAR_TEST_FILE = 'test_batch.bin';
/** The folder the official archive extracts to. */
export const CIFAR_ARCHIVE_DIR = 'cifar-10-batches-bin';

/** A parsed CIFAR-10 file. */
export type { CifarBatch } from './cifar-batch.js';

/**
 * Parse the bytes of a CIFAR-10 binary file. The labels and pixels are copied out of `bytes`.
 *
 * Throws InputError, naming `source`, if `bytes` is empty, if its length is not a multiple of 3073
 * (the message gives the length and the remainder), or if a label byte exceeds 9.
 */
export function readCifarBatch(bytes: Uint8Array, source: string): CifarBatch {
  if (bytes.length === 0) throw new InputError(`${source}: file is empty; expected CIFAR-10 records of ${CIFAR_RECORD_BYTES} bytes`);
  const remainder = bytes.length % CIFAR_RECORD_BYTES;
  if (remainder !== 0) {
    throw new InputError(
      `${source}: length ${bytes.length} is not a multiple of the ${CIFAR_RECORD_BYTES}-byte CIFAR-10 record ` +
        `(remainder ${remainder}); not a CIFAR-10 binary file, or truncated`,
    );
  }
  const count = bytes.length / CIFAR_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  for (let i = 0; i < count; i++) {
    const start = i * CIFAR_RECORD_BYTES;
    const label = bytes[start];
    if (label >= CIFAR_CLASSES.length) {
      throw new InputError(`${source}: image ${i} has label ${label}; CIFAR-10 labels are 0-9`);
    }
    labels[i] = label;
    pixels.set(bytes.subarray(start + 1, start + CIFAR_RECORD_BYTES), i * CIFAR_IMAGE_BYTES);
  }
  return { count, labels, pixels, source };
}

/**
 * Image `index` of `batch` as float32 3 x 32 x 32 (CHW) in [0, 1]: byte / 255.
 * A bad index is a programming error (RangeError); validate user input with `parseIndexList`.
 */
export function imageToFloat(batch: CifarBatch, index: number): Float32Array {
  if (!Number.isInteger(index) || index < 0 || index >= batch.count) {
    throw new RangeError(`image index ${index} outside 0..${batch.count - 1} of ${batch.source}`);
  }
  const bytes = batch.pixels.subarray(index * CIFAR_IMAGE_BYTES, (index + 1) * CIFAR_IMAGE_BYTES);
  const out = new Float32Array(CIFAR_IMAGE_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = bytes[i] / 255;
  return out;
}

/**
 * Node: the CIFAR-10 test file named by `pathOrDir`: the path itself if it is a file; for a directory,
 * `<dir>/test_batch.bin`, else `<dir>/cifar-10-batches-bin/test_batch.bin` (the extracted official archive).
 *
 * Throws InputError naming the path if it does not exist or the directory holds neither file.
 */
export async function locateCifarFile(pathOrDir: string): Promise<string> {
  const { stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const kind = async (path: string): Promise<'file' | 'dir' | undefined> => {
    try {
      const s = await stat(path);
      if (s.isDirectory()) return 'dir';
      // A device or FIFO (--data /dev/zero) would be read without end.
      if (!s.isFile()) throw new InputError(`${path}: not a regular file (${fileKind(s)})`);
      return 'file';
    } catch (err) {
      if (err instanceof InputError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new InputError(`${path}: cannot access (${(err as Error).message})`);
    }
  };
  const found = await kind(pathOrDir);
  if (found === undefined) throw new InputError(`${pathOrDir}: no such file or directory`);
  if (found === 'file') return pathOrDir;
  for (const candidate of [
    join(pathOrDir, CIFAR_TEST_FILE), join(pathOrDir, CIFAR_ARCHIVE_DIR, CIFAR_TEST_FILE),
    join(pathOrDir, CIFAR100_TEST_FILE), join(pathOrDir, CIFAR100_ARCHIVE_DIR, CIFAR100_TEST_FILE),
  ]) {
    if ((await kind(candidate)) === 'file') return candidate;
  }
  throw new InputError(
    `${pathOrDir}: directory has no ${CIFAR_TEST_FILE} (nor ${CIFAR_ARCHIVE_DIR}/${CIFAR_TEST_FILE}, nor CIFAR-100's ${CIFAR100_TEST_FILE})`,
  );
}

/**
 * Node: read and parse a CIFAR-10 binary file, or the test file in a directory (see `locateCifarFile`);
 * a CIFAR-100 file (`test.bin`, `train.bin`) by its own format.
 * Throws InputError naming the path for every failure of `locateCifarFile` and `readCifarBatch`.
 */
export async function loadCifar(pathOrDir: string): Promise<CifarBatch> {
  const file = await locateCifarFile(pathOrDir);
  // CIFAR-100's files are told apart by their archive's names (test.bin, train.bin).
  if (isCifar100Name(file)) return readCifar100Batch(await readRegularFile(file, MAX_CIFAR100_BYTES), file);
  return readCifarBatch(await readRegularFile(file, MAX_CIFAR_BYTES), file);
}
