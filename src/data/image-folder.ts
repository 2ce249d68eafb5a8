/**
 * An image folder as torchvision's ImageFolder reads one: `root/<class>/.../<image>`, one subfolder
 * per class, classes sorted by name and numbered from 0, the images of a class in the order of its
 * folders' sorted paths, then of the sorted file names in each. Only PNG and JPEG files are images here (other files are
 * skipped, as torchvision skips files of other extensions); each must have the model's input size
 * and is decoded only when selected (image.ts's rules: never resized, RGB, opaque).
 */
import { InputError } from '../util/errors.js';
import { loadImage } from './image.js';

export interface ImageFolder {
  root: string;
  /** Class names (the subfolder names), sorted; label i is classes[i]. */
  classes: string[];
  /** Image paths in ImageFolder order (by class, then by path). */
  files: string[];
  /** The label of each file. */
  labels: number[];
}

const IMAGE_EXTENSION = /\.(png|jpe?g)$/i;
/** The most images and nesting levels a folder may hold (ImageNet's training set has 1.28 million). */
const MAX_IMAGES = 2_000_000;
const MAX_DEPTH = 32;

/** Python's sort order for str (by code point), which ImageFolder uses. */
const byCodePoint = (a: string, b: string): number => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
};

/** True when `dir` is a directory with at least one subfolder and no file CIFAR readers look for. */
export async function looksLikeImageFolder(dir: string): Promise<boolean> {
  const { readdir } = await import('node:fs/promises');
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    const names = new Set(entries.map((e) => e.name));
    if (['test_batch.bin', 'test.bin', 'cifar-10-batches-bin', 'cifar-100-binary'].some((n) => names.has(n))) return false;
    return entries.some((e) => e.isDirectory());
  } catch {
    return false;
  }
}

/** The classes and image files of an image folder; InputError naming the folder when it has none. */
export async function scanImageFolder(root: string): Promise<ImageFolder> {
  const { readdir, stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    throw new InputError(`${root}: cannot read the image folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const isDir = async (path: string, entry: { isDirectory(): boolean; isSymbolicLink(): boolean }) =>
    entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path).then((s) => s.isDirectory(), () => false)));
  const classes: string[] = [];
  for (const e of entries) if (await isDir(join(root, e.name), e)) classes.push(e.name);
  classes.sort(byCodePoint);
  if (classes.length === 0) throw new InputError(`${root}: no class subfolders (an image folder holds one subfolder of images per class)`);
  const files: string[] = [];
  const labels: number[] = [];
  let seen = 0;
  /** A class's folders (itself and every folder below it) with their image files, as os.walk finds them. */
  const walk = async (dir: string, depth: number, found: [string, string[]][]): Promise<void> => {
    if (depth > MAX_DEPTH) throw new InputError(`${dir}: folders nested more than ${MAX_DEPTH} deep`);
    const images: string[] = [];
    found.push([dir, images]);
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (await isDir(path, e)) await walk(path, depth + 1, found);
      else if (IMAGE_EXTENSION.test(e.name)) {
        if (++seen > MAX_IMAGES) throw new InputError(`${root}: more than ${MAX_IMAGES} images`);
        images.push(e.name);
      }
    }
  };
  for (const [label, name] of classes.entries()) {
    const found: [string, string[]][] = [];
    await walk(join(root, name), 1, found);
    // torchvision: `for root, _, fnames in sorted(os.walk(class_dir)): for fname in sorted(fnames)`.
    found.sort(([a], [b]) => byCodePoint(a, b));
    const before = files.length;
    for (const [dir, images] of found) {
      for (const image of images.sort(byCodePoint)) {
        files.push(join(dir, image));
        labels.push(label);
      }
    }
    if (files.length === before) throw new InputError(`${join(root, name)}: class folder holds no PNG or JPEG image`);
  }
  return { root, classes, files, labels };
}

/** Images `indices` of the folder decoded to float32 B x 3 x H x W in [0, 1] (`size` = [H, W]). */
export async function loadFolderImages(folder: ImageFolder, indices: number[], size: readonly [number, number]): Promise<Float32Array> {
  const values = 3 * size[0] * size[1];
  const out = new Float32Array(indices.length * values);
  for (const [i, index] of indices.entries()) {
    const file = folder.files[index];
    if (file === undefined) throw new RangeError(`image index ${index} outside 0..${folder.files.length - 1} of ${folder.root}`);
    out.set(await loadImage(file, size), i * values);
  }
  return out;
}
