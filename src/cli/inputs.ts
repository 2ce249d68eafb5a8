/** Turning `--data`, `--images`, `--limit`-style arguments into data, with one-line errors. */
import { loadCifar, type CifarBatch } from '../data/cifar.js';
import { loadImage } from '../data/image.js';
import { parseIndexList } from '../data/indices.js';
import { resolveCifarSource } from '../data/source.js';
import { pixelsOf } from '../study/accuracy.js';
import { UsageError } from './errors.js';
import { createProgress, type Progress } from './progress.js';

export function parsePositiveInteger(value: string, option: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${option} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** A finite number given on the command line (else a one-line UsageError naming the option). */
export function parseFiniteNumber(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${option} must be a number, got "${value}"`);
  return n;
}

/** Comma-separated finite numbers. */
export function parseNumberList(value: string, option: string): number[] {
  return value.split(',').map((v) => parseFiniteNumber(v.trim(), option));
}

/** The CIFAR-10 test set named by `spec` (a file or directory; undefined/'cifar10' = the default source). */
export async function loadCifarData(spec: string | undefined, quiet = false): Promise<CifarBatch> {
  let progress: Progress | undefined;
  let reported = 0;
  const path = await resolveCifarSource(spec, {
    onProgress({ receivedBytes, totalBytes }) {
      if (!totalBytes) return;
      progress ??= createProgress('downloading CIFAR-10', totalBytes, quiet);
      progress.tick(receivedBytes - reported);
      reported = receivedBytes;
    },
  });
  progress?.done();
  return loadCifar(path);
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

export interface ImageSelection {
  /** CIFAR indices, or file names for PNG/JPEG inputs. */
  ids: (number | string)[];
  /** Known labels (CIFAR inputs only). */
  labels?: number[];
  /** ids.length x 3 x 32 x 32 pixels in [0, 1]. */
  pixels: Float32Array;
}

/** Images chosen by `--images` from a CIFAR file, or the PNG/JPEG files listed in `--data`. */
export async function loadImageSelection(
  dataSpec: string | undefined,
  images: string,
  quiet = false,
  option = '--images',
): Promise<ImageSelection> {
  const files = dataSpec?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
  if (files.length > 0 && files.every((f) => IMAGE_FILE.test(f))) {
    const decoded = await Promise.all(files.map((f) => loadImage(f)));
    const pixels = new Float32Array(decoded.length * 3072);
    decoded.forEach((img, i) => pixels.set(img, i * 3072));
    return { ids: files, pixels };
  }
  const data = await loadCifarData(dataSpec, quiet);
  const ids = parseIndexList(images, data.count, option);
  const pixels = new Float32Array(ids.length * 3072);
  ids.forEach((id, i) => pixels.set(pixelsOf(data, id, id + 1), i * 3072));
  return { ids, labels: ids.map((id) => data.labels[id]), pixels };
}
