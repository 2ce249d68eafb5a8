/**
 * CIFAR-100 binary files and image folders, on small files generated here: labels as the formats
 * define them (CIFAR-100's fine label is the record's 2nd byte; ImageFolder numbers the sorted class
 * folders and orders images as torchvision's make_dataset does), pixels as stored, and refusals.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { readCifar100Batch } from '../src/data/cifar100.js';
import { loadFolderImages, looksLikeImageFolder, scanImageFolder } from '../src/data/image-folder.js';
import { CIFAR100_CLASSES } from '../src/model/model.js';
import { InputError } from '../src/util/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'data-sources-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** CIFAR-100 records: [coarse, fine, 3072 pixel bytes], pixel j of record i = (i * 7 + j) mod 256. */
function cifar100(labels: [number, number][]): Uint8Array {
  const bytes = new Uint8Array(labels.length * 3074);
  labels.forEach(([coarse, fine], i) => {
    bytes[i * 3074] = coarse;
    bytes[i * 3074 + 1] = fine;
    for (let j = 0; j < 3072; j++) bytes[i * 3074 + 2 + j] = (i * 7 + j) % 256;
  });
  return bytes;
}

test('CIFAR-100: fine labels from the second byte, pixels after both labels; found as test.bin in a folder', async () => {
  const dir = join(tmp, 'cifar-100-binary');
  mkdirSync(dir);
  writeFileSync(join(dir, 'test.bin'), cifar100([[4, 30], [19, 99], [0, 0]]));
  for (const spec of [join(dir, 'test.bin'), dir, tmp]) {
    const batch = await loadCifar(spec);
    assert.equal(batch.count, 3);
    assert.deepEqual([...batch.labels], [30, 99, 0]);
    const image = imageToFloat(batch, 1);
    assert.equal(image[0], Math.fround(7 / 255));
    assert.equal(image[3071], Math.fround(((7 + 3071) % 256) / 255));
  }
  assert.equal(CIFAR100_CLASSES.length, 100);
  assert.equal(CIFAR100_CLASSES[30], 'dolphin');
  assert.equal(CIFAR100_CLASSES[99], 'worm');
});

test('CIFAR-100: bad files refused with one line', () => {
  const refuses = (bytes: Uint8Array, message: RegExp) =>
    assert.throws(() => readCifar100Batch(bytes, 'test.bin'), (e: unknown) => e instanceof InputError && message.test(e.message));
  refuses(new Uint8Array(0), /^test\.bin: file is empty; expected CIFAR-100 records of 3074 bytes$/);
  refuses(new Uint8Array(3073), /^test\.bin: length 3073 is not a multiple of the 3074-byte CIFAR-100 record \(remainder 3073\)/);
  refuses(cifar100([[1, 2], [3, 100]]), /^test\.bin: image 1 has fine label 100; CIFAR-100 labels are 0-99$/);
  refuses(cifar100([[20, 2]]), /^test\.bin: image 0 has coarse label 20; CIFAR-100 coarse labels are 0-19$/);
});

/** A W x H RGB PNG whose pixel (x, y) has channel c = (10 * c + x + 3 * y + seed) mod 256. */
function png(width: number, height: number, seed: number): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) image.data[4 * (y * width + x) + c] = (10 * c + x + 3 * y + seed) % 256;
      image.data[4 * (y * width + x) + 3] = 255;
    }
  }
  return PNG.sync.write(image);
}

test('image folder: classes sorted, images in make_dataset order, pixels CHW at the model size', async () => {
  const root = join(tmp, 'folder');
  // torchvision orders a class's images by sorted folder path, then sorted file name: a/z.png, a/sub/y.png.
  for (const dir of ['b', 'a/sub', 'a', 'c-empty-but-notes']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'b', '1.png'), png(8, 6, 1));
  writeFileSync(join(root, 'a', 'z.png'), png(8, 6, 2));
  writeFileSync(join(root, 'a', 'sub', 'y.png'), png(8, 6, 3));
  writeFileSync(join(root, 'a', 'notes.txt'), 'not an image');
  const rgb = Buffer.alloc(8 * 6 * 4, 200);
  writeFileSync(join(root, 'c-empty-but-notes', 'p.jpeg'), jpeg.encode({ data: rgb, width: 8, height: 6 }, 95).data);
  assert.equal(await looksLikeImageFolder(root), true);
  const folder = await scanImageFolder(root);
  assert.deepEqual(folder.classes, ['a', 'b', 'c-empty-but-notes']);
  assert.deepEqual(folder.files.map((f) => f.slice(root.length + 1)), ['a/z.png', 'a/sub/y.png', 'b/1.png', 'c-empty-but-notes/p.jpeg']);
  assert.deepEqual(folder.labels, [0, 0, 1, 2]);
  const pixels = await loadFolderImages(folder, [2, 0], [6, 8]);
  assert.equal(pixels.length, 2 * 3 * 6 * 8);
  // b/1.png (seed 1): channel 2, row 5, column 7 -> (20 + 7 + 15 + 1) / 255.
  assert.equal(pixels[2 * 48 + 5 * 8 + 7], Math.fround((20 + 7 + 15 + 1) / 255));
  assert.equal(pixels[144], Math.fround(2 / 255)); // a/z.png, channel 0, (0, 0)
  await assert.rejects(loadFolderImages(folder, [0], [32, 32]), /a\/z\.png: image is 8x6 pixels; expected 32x32/);
});

test('image folder: no classes, an empty class refused with one line', async () => {
  const bare = join(tmp, 'bare');
  mkdirSync(bare);
  await assert.rejects(scanImageFolder(bare), /bare: no class subfolders/);
  mkdirSync(join(bare, 'cat'));
  await assert.rejects(scanImageFolder(bare), /bare\/cat: class folder holds no PNG or JPEG image$/);
  await assert.rejects(scanImageFolder(join(tmp, 'missing')), /missing: cannot read the image folder \(ENOENT\)/);
});
