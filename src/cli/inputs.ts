/** Turning `--data`, `--images`, `--limit`-style arguments into data, with one-line errors. */
import { loadCifar, type CifarBatch } from '../data/cifar.js';
import { loadImage } from '../data/image.js';
import { loadFolderImages, looksLikeImageFolder, scanImageFolder } from '../data/image-folder.js';
import { parseIndexList } from '../data/indices.js';
import { describeCifarSource, resolveCifarData, type CifarOrigin } from '../data/source.js';
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

/**
 * `--seed`: the seed of every random choice, an integer 0..2^32-1 (the generator takes 32 bits, so any
 * other number would silently stand for one of these). The one seed parser of every command.
 */
export function parseSeed(value: string, option = '--seed'): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new UsageError(`${option} must be an integer 0..4294967295, got "${value}"`);
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

/** Which data a command used, as its --json output reports it. */
export interface DataSetInfo {
  /** The CIFAR-10 file, or the image files as given. */
  file: string;
  origin: CifarOrigin;
  /** Images in the file (not only those used). */
  images: number;
}

/** A CIFAR-10 test set and where it came from. */
export type CifarData = CifarBatch & { dataSet: DataSetInfo };

/**
 * The CIFAR-10 test set named by `spec` (a file or directory; undefined = the default source, 'cifar10'
 * = the full set, downloaded if needed). Say which with `announceData` once the inputs are validated.
 */
export async function loadCifarData(spec: string | undefined, quiet = false): Promise<CifarData> {
  let progress: Progress | undefined;
  let reported = 0;
  const source = await resolveCifarData(spec, {
    onProgress({ receivedBytes, totalBytes }) {
      if (!totalBytes) return;
      progress ??= createProgress('downloading CIFAR-10', totalBytes, quiet);
      progress.tick(receivedBytes - reported);
      reported = receivedBytes;
    },
  });
  progress?.done();
  const batch = await loadCifar(source.path);
  return Object.assign(batch, { dataSet: { file: source.path, origin: source.origin, images: batch.count } });
}

/** The line on stderr saying which data a command uses (not with --quiet or --json: there the output has a `data` field). */
export function announceData(dataSet: DataSetInfo, quiet = false): void {
  if (quiet) return;
  process.stderr.write(`${describeCifarSource({ path: dataSet.file, origin: dataSet.origin }, dataSet.images)}\n`);
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

export interface ImageSelection {
  /** CIFAR indices, or file names for PNG/JPEG inputs. */
  ids: (number | string)[];
  /** Known labels (CIFAR inputs only). */
  labels?: number[];
  /** ids.length x 3 x H x W pixels in [0, 1] (32 x 32 unless the caller gives the model's size). */
  pixels: Float32Array;
  dataSet: DataSetInfo;
}

/**
 * The images `pick` chooses (indices into the folder's `count` images, in ImageFolder order) of the image
 * folder `folder`, decoded at `size`, with their labels; announced on stderr unless `quiet`. A folder of
 * more than `maxClasses` classes is refused (UsageError naming it and `command`) before any image is
 * decoded.
 */
export async function loadFolderSelection(
  folder: string, pick: (count: number) => number[], quiet: boolean, size: readonly [number, number],
  limit?: { maxClasses: number; command: string },
): Promise<ImageSelection & { ids: number[]; labels: number[] }> {
  const scanned = await scanImageFolder(folder);
  if (limit && scanned.classes.length > limit.maxClasses) {
    throw new UsageError(`${folder}: ${scanned.classes.length} classes; ${limit.command} reads at most ${limit.maxClasses}`);
  }
  const ids = pick(scanned.files.length);
  if (!quiet) process.stderr.write(`data: ${folder} (image folder: ${scanned.files.length} images, ${scanned.classes.length} classes)\n`);
  const pixels = await loadFolderImages(scanned, ids, size);
  return { ids, labels: ids.map((id) => scanned.labels[id]!), pixels, dataSet: { file: folder, origin: 'path', images: scanned.files.length } };
}

/** Images chosen by `--images` from a CIFAR file, or the PNG/JPEG files listed in `--data`. */
export async function loadImageSelection(
  dataSpec: string | undefined,
  images: string,
  quiet = false,
  option = '--images',
  size: readonly [number, number] = [32, 32],
): Promise<ImageSelection> {
  const files = dataSpec?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
  const values = 3 * size[0] * size[1];
  if (files.length > 0 && files.every((f) => IMAGE_FILE.test(f))) {
    const decoded = await Promise.all(files.map((f) => loadImage(f, size)));
    const pixels = new Float32Array(decoded.length * values);
    decoded.forEach((img, i) => pixels.set(img, i * values));
    return { ids: files, pixels, dataSet: { file: files.join(','), origin: 'path', images: files.length } };
  }
  // An image folder (one subfolder per class, as torchvision's ImageFolder): --images index its files.
  if (dataSpec !== undefined && files.length === 1 && (await looksLikeImageFolder(dataSpec))) {
    return loadFolderSelection(dataSpec, (count) => parseIndexList(images, count, option), quiet, size);
  }
  const data = await loadCifarData(dataSpec, quiet);
  const ids = parseIndexList(images, data.count, option);
  announceData(data.dataSet, quiet);
  const pixels = new Float32Array(ids.length * 3072);
  ids.forEach((id, i) => pixels.set(pixelsOf(data, id, id + 1), i * 3072));
  return { ids, labels: ids.map((id) => data.labels[id]), pixels, dataSet: data.dataSet };
}

/** The `--model` help, the same in every command. */
export const MODEL_HELP =
  'shipped name (resnet56, resnet110), model directory or its model.json, PyTorch .th/.pt/.pth checkpoint (zip or legacy) or .safetensors weights of any ResNet import recognises, or an http(s) URL of either';
const DATA_DEFAULT =
  'default: $RESNET_STABILITY_DATA, else the full test set in the user cache, else the 1,000-image sample shipped with the package; ' +
  '"cifar10": the full test set, downloaded once into the cache';
/** The `--data` help of commands that read CIFAR-10 only. */
export const CIFAR_DATA_HELP = `CIFAR-10 binary file (test_batch.bin) or a directory holding it, or cifar10 (${DATA_DEFAULT})`;
/** The `--data` help of commands that also take PNG/JPEG files (`several`: a comma-separated list). */
export const imageDataHelp = (several: boolean): string =>
  `CIFAR-10 binary file or directory, or cifar10, or ${several ? 'comma-separated 32x32 PNG/JPEG files' : 'one 32x32 PNG/JPEG file'} (${DATA_DEFAULT})`;
