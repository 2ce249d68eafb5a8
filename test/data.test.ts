/**
 * src/data: the CIFAR-10 reader, PNG/JPEG inputs, the default data source and index lists.
 * Expected values come from outside the code under test: bytes read with xxd, images encoded here with
 * pngjs/jpeg-js/libjpeg (cjpeg), archives built with GNU tar and node:zlib. No test touches the network.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { imageToFloat, loadCifar, locateCifarFile, readCifarBatch } from '../src/data/cifar.js';
import { assertFiniteImage, decodeImage, detectImageFormat, loadImage } from '../src/data/image.js';
import { parseIndexList } from '../src/data/indices.js';
import { cifarCacheDir, describeCifarSource, resolveCifarData, resolveCifarSource, type DownloadProgress } from '../src/data/source.js';

const OFFICIAL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
import { InputError } from '../src/util/errors.js';
import { cifarSampleFile, fullCifarOrSkip } from './support/shared.js';
import { mulberry32 } from './support/random.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'resnet-stability-data-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** An InputError whose one-line message equals `message` (string) or matches it (RegExp). */
function inputError(message: string | RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'message must be one line');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}

/** Deterministic bytes (the tests' seeded generator), so failures reproduce. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

/** CIFAR records: label i mod 10 unless overridden, image bytes (i + j) mod 256. */
function cifarRecords(count: number, labels?: number[]): Uint8Array {
  const out = new Uint8Array(count * 3073);
  for (let i = 0; i < count; i++) {
    out[i * 3073] = labels?.[i] ?? i % 10;
    for (let j = 0; j < 3072; j++) out[i * 3073 + 1 + j] = (i + j) % 256;
  }
  return out;
}

describe('CIFAR-10 binary', () => {
  test('reads the full test set: 10000 images, label i mod 10, pixel bytes as read with xxd', async (t) => {
    const cifarFile = fullCifarOrSkip(t, 'checks bytes of images 1234 and 9999');
    if (!cifarFile) return;
    const batch = await loadCifar(cifarFile);
    assert.equal(batch.count, 10000);
    assert.equal(batch.source, cifarFile);
    assert.equal(batch.pixels.length, 10000 * 3072);
    for (let i = 0; i < batch.count; i++) assert.equal(batch.labels[i], i % 10);
    // xxd -s <offset> -l 1 test_batch.bin, record i at offset 3073 i, its R/G/B planes at +1, +1025, +2049:
    // image 0: R(0,0)=0x8d=141 G(0,0)=159 B(0,0)=179; image 1234: R(0,0)=210 G(0,0)=177 B(0,0)=146;
    // image 9999: R(31,31)=113 G(5,7)=237 B(31,31)=90.
    const byte = (image: number, offset: number): number => batch.pixels[image * 3072 + offset];
    assert.deepEqual([byte(0, 0), byte(0, 1024), byte(0, 2048)], [141, 159, 179]);
    assert.deepEqual([byte(1234, 0), byte(1234, 1024), byte(1234, 2048)], [210, 177, 146]);
    assert.deepEqual([byte(9999, 1023), byte(9999, 1024 + 5 * 32 + 7), byte(9999, 2048 + 1023)], [113, 237, 90]);

    const x = imageToFloat(batch, 9999);
    assert.equal(x.length, 3072);
    assert.equal(x[1023], Math.fround(113 / 255));
    assert.equal(x[1024 + 5 * 32 + 7], Math.fround(237 / 255));
    assert.equal(x[2048 + 1023], Math.fround(90 / 255));
    assert.throws(() => imageToFloat(batch, 10000), RangeError);
    assert.throws(() => imageToFloat(batch, -1), RangeError);
  });

  test('reads the shipped 1,000-image sample: label i mod 10, pixel bytes as read with xxd', async () => {
    const batch = await loadCifar(cifarSampleFile);
    assert.equal(batch.count, 1000);
    for (let i = 0; i < batch.count; i++) assert.equal(batch.labels[i], i % 10);
    // xxd -s <offset> -l 1 test_batch_1000.bin, record i at offset 3073 i, its R/G/B planes at +1, +1025, +2049:
    // image 0: R(0,0)=141 G(0,0)=159 B(0,0)=179; image 500: G(5,7)=0xc5=197; image 999: R/G/B(0,0)=208,210,209.
    const byte = (image: number, offset: number): number => batch.pixels[image * 3072 + offset];
    assert.deepEqual([byte(0, 0), byte(0, 1024), byte(0, 2048)], [141, 159, 179]);
    assert.equal(byte(500, 1024 + 5 * 32 + 7), 197);
    assert.deepEqual([byte(999, 0), byte(999, 1024), byte(999, 2048)], [208, 210, 209]);
  });

  test('the sample is the first 1,000 records of the full test set', async (t) => {
    const cifarFile = fullCifarOrSkip(t, 'compares the sample with the file it was cut from');
    if (!cifarFile) return;
    const sample = await readFile(cifarSampleFile);
    assert.ok(sample.equals((await readFile(cifarFile)).subarray(0, 1000 * 3073)));
  });

  test('a directory is read through its test_batch.bin', async () => {
    const dir = join(work, 'as-directory');
    await mkdir(dir);
    await writeFile(join(dir, 'test_batch.bin'), cifarRecords(2));
    assert.equal(await locateCifarFile(dir), join(dir, 'test_batch.bin'));
  });

  test('the extracted official layout cifar-10-batches-bin/test_batch.bin is found', async () => {
    const dir = join(work, 'official');
    await mkdir(join(dir, 'cifar-10-batches-bin'), { recursive: true });
    await writeFile(join(dir, 'cifar-10-batches-bin', 'test_batch.bin'), cifarRecords(3));
    const batch = await loadCifar(dir);
    assert.equal(batch.source, join(dir, 'cifar-10-batches-bin', 'test_batch.bin'));
    assert.deepEqual([...batch.labels], [0, 1, 2]);
    // record 2, plane G, byte 5: (2 + 1024 + 5) mod 256 = 7
    assert.equal(batch.pixels[2 * 3072 + 1024 + 5], 7);
  });

  test('bad files are refused with one line naming the path', async () => {
    const missing = join(work, 'missing.bin');
    await assert.rejects(loadCifar(missing), inputError(`${missing}: no such file or directory`));

    const empty = join(work, 'empty.bin');
    await writeFile(empty, new Uint8Array(0));
    await assert.rejects(loadCifar(empty), inputError(`${empty}: file is empty; expected CIFAR-10 records of 3073 bytes`));

    const ragged = join(work, 'ragged.bin');
    await writeFile(ragged, new Uint8Array(2 * 3073 + 100));
    await assert.rejects(
      loadCifar(ragged),
      inputError(
        `${ragged}: length 6246 is not a multiple of the 3073-byte CIFAR-10 record (remainder 100); ` +
          'not a CIFAR-10 binary file, or truncated',
      ),
    );

    const badLabel = join(work, 'label.bin');
    await writeFile(badLabel, cifarRecords(3, [0, 10, 2]));
    await assert.rejects(loadCifar(badLabel), inputError(`${badLabel}: image 1 has label 10; CIFAR-10 labels are 0-9`));

    const emptyDir = join(work, 'no-batch');
    await mkdir(emptyDir);
    await assert.rejects(
      loadCifar(emptyDir),
      inputError(`${emptyDir}: directory has no test_batch.bin (nor cifar-10-batches-bin/test_batch.bin, nor CIFAR-100's test.bin)`),
    );
  });

  test('readCifarBatch copies out of the given bytes', () => {
    const bytes = cifarRecords(2);
    const batch = readCifarBatch(bytes, 'mem');
    bytes.fill(0);
    assert.deepEqual([...batch.labels], [0, 1]);
    assert.equal(batch.pixels[3072 + 3], 4);
  });
});

/** A PNG of 32x32 (or other) RGBA bytes via pngjs, in the given color type and bit depth. */
function encodePng(
  rgba: Uint8Array | Uint16Array,
  options: { width?: number; height?: number; colorType: 0 | 2 | 4 | 6; bitDepth?: 8 | 16 },
): Uint8Array {
  const width = options.width ?? 32;
  const height = options.height ?? 32;
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png, { colorType: options.colorType, inputColorType: 6, bitDepth: options.bitDepth ?? 8 });
}

/** A palette PNG (color type 3, 8-bit indices, filter 0) written chunk by chunk; pngjs cannot write these. */
function encodePalettePng(indices: Uint8Array, palette: number[][], alphas?: number[]): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(32, 0);
  ihdr.writeUInt32BE(32, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const rows = new Uint8Array(32 * 33);
  for (let y = 0; y < 32; y++) rows.set(indices.subarray(y * 32, y * 32 + 32), y * 33 + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Uint8Array.from(palette.flat())),
    ...(alphas ? [chunk('tRNS', Uint8Array.from(alphas))] : []),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Expected CHW floats of interleaved RGBA samples (alpha ignored) with maximum `max`. */
function chwOf(rgba: ArrayLike<number>, max: number): Float32Array {
  const out = new Float32Array(3072);
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[c * 1024 + p] = rgba[4 * p + c] / max;
  return out;
}

describe('PNG and JPEG inputs', () => {
  const opaque = (seed: number): Uint8Array => {
    const rgba = pseudoRandomBytes(32 * 32 * 4, seed);
    for (let p = 0; p < 1024; p++) rgba[4 * p + 3] = 255;
    return rgba;
  };

  test('format detection by magic bytes', () => {
    assert.equal(detectImageFormat(encodePng(opaque(1), { colorType: 2 })), 'png');
    assert.equal(detectImageFormat(jpeg.encode({ width: 32, height: 32, data: opaque(1) }, 90).data), 'jpeg');
    assert.equal(detectImageFormat(new TextEncoder().encode('hello')), undefined);
    assert.throws(() => decodeImage(new TextEncoder().encode('hello'), 'x.png'), inputError('x.png: not a PNG or JPEG file'));
  });

  test('RGB PNG round trip is exact, CHW, byte / 255', () => {
    const rgba = opaque(2);
    assert.deepEqual(decodeImage(encodePng(rgba, { colorType: 2 }), 'rgb.png'), chwOf(rgba, 255));
  });

  test('opaque RGBA PNG is accepted with its alpha dropped; any transparency is refused', () => {
    const rgba = opaque(3);
    assert.deepEqual(decodeImage(encodePng(rgba, { colorType: 6 }), 'rgba.png'), chwOf(rgba, 255));
    rgba[4 * (3 * 32 + 5) + 3] = 254;
    assert.throws(
      () => decodeImage(encodePng(rgba, { colorType: 6 }), 'alpha.png'),
      inputError('alpha.png: pixel at row 3, column 5 is not opaque (alpha 254 of 255); transparent images are not accepted'),
    );
  });

  test('16-bit RGB PNG keeps its precision (sample / 65535)', () => {
    const samples = new Uint16Array(32 * 32 * 4);
    for (let i = 0; i < samples.length; i++) samples[i] = i % 4 === 3 ? 65535 : (i * 40503) % 65536;
    const x = decodeImage(encodePng(samples, { colorType: 2, bitDepth: 16 }), 'deep.png');
    assert.deepEqual(x, chwOf(samples, 65535));
  });

  test('palette PNG is a color image; a tRNS transparent entry is refused', () => {
    const palette = [[255, 0, 0], [0, 128, 255], [17, 34, 51]];
    const indices = Uint8Array.from({ length: 1024 }, (_, p) => p % 3);
    const rgba = new Uint8Array(4096);
    for (let p = 0; p < 1024; p++) rgba.set([...palette[p % 3], 255], 4 * p);
    assert.deepEqual(decodeImage(encodePalettePng(indices, palette), 'palette.png'), chwOf(rgba, 255));
    assert.throws(
      () => decodeImage(encodePalettePng(indices, palette, [255, 0]), 'trns.png'),
      inputError('trns.png: pixel at row 0, column 1 is not opaque (alpha 0 of 255); transparent images are not accepted'),
    );
  });

  test('grayscale PNGs are refused', () => {
    const rgba = opaque(4);
    assert.throws(
      () => decodeImage(encodePng(rgba, { colorType: 0 }), 'gray.png'),
      inputError('gray.png: expected 3 color channels (RGB), got 1 (grayscale)'),
    );
    assert.throws(
      () => decodeImage(encodePng(rgba, { colorType: 4 }), 'graya.png'),
      inputError('graya.png: expected 3 color channels (RGB), got 1 (grayscale with alpha)'),
    );
  });

  test('wrong sizes are refused, never resized', () => {
    const rgba = pseudoRandomBytes(31 * 32 * 4, 5);
    for (let p = 0; p < 31 * 32; p++) rgba[4 * p + 3] = 255;
    assert.throws(
      () => decodeImage(encodePng(rgba, { width: 31, height: 32, colorType: 2 }), 'small.png'),
      inputError('small.png: image is 31x32 pixels; expected 32x32 (images are never resized)'),
    );
    assert.throws(
      () => decodeImage(jpeg.encode({ width: 32, height: 31, data: rgba }, 90).data, 'small.jpg'),
      inputError('small.jpg: image is 32x31 pixels; expected 32x32 (images are never resized)'),
    );
  });

  test('corrupt PNG is refused', () => {
    const png = encodePng(opaque(6), { colorType: 2 });
    assert.throws(() => decodeImage(png.subarray(0, 60), 'cut.png'), inputError(/^cut\.png: invalid PNG \(.+\)$/));
  });

  test('JPEG round trip (jpeg-js encoder, quality 100) within a few levels', () => {
    // A smooth image: JPEG is lossy, and noise would measure the codec rather than the layout.
    const rgba = new Uint8Array(4096);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) rgba.set([8 * x, 8 * y, 255 - 4 * (x + y), 255], 4 * (32 * y + x));
    }
    const got = decodeImage(jpeg.encode({ width: 32, height: 32, data: rgba }, 100).data, 'smooth.jpg');
    const want = chwOf(rgba, 255);
    let maxError = 0;
    for (let i = 0; i < 3072; i++) maxError = Math.max(maxError, Math.abs(got[i] - want[i]));
    assert.ok(maxError <= 4 / 255, `max error ${maxError * 255} levels`);
  });

  test('progressive JPEG from libjpeg (fixture) decodes to its source pixels', async () => {
    // test/fixtures/progressive-32x32.jpg: `cjpeg -progressive -sample 1x1 -quality 95` of the PPM with
    // R = 8x, G = 8y, B = 128 (x the column, y the row).
    const got = await loadImage(join(fixtures, 'progressive-32x32.jpg'));
    let maxError = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const want = [8 * x, 8 * y, 128];
        for (let c = 0; c < 3; c++) maxError = Math.max(maxError, Math.abs(got[c * 1024 + 32 * y + x] * 255 - want[c]));
      }
    }
    assert.ok(maxError <= 6, `max error ${maxError} levels`);
  });

  test('grayscale JPEG from libjpeg (fixture) is refused', async () => {
    // test/fixtures/gray-32x32.jpg: `cjpeg -grayscale -quality 95` of a 32x32 PGM.
    const path = join(fixtures, 'gray-32x32.jpg');
    await assert.rejects(loadImage(path), inputError(`${path}: expected 3 color channels (RGB), got 1 (grayscale)`));
  });

  test('missing image file', async () => {
    const path = join(work, 'none.png');
    await assert.rejects(loadImage(path), inputError(`${path}: no such file`));
  });

  test('assertFiniteImage checks length and finiteness', () => {
    assertFiniteImage(new Float32Array(3072).fill(2), 'x');
    const x = new Float32Array(3072);
    x[1024 + 33] = NaN;
    assert.throws(() => assertFiniteImage(x, 'input'), inputError('input: value NaN at channel 1, row 1, column 1; image values must be finite'));
    const batch = new Float64Array(2 * 3072);
    batch[3072 + 2048 + 31] = -Infinity;
    assert.throws(
      () => assertFiniteImage(batch, 'batch'),
      inputError('batch: value -Infinity at image 1, channel 2, row 0, column 31; image values must be finite'),
    );
    assert.throws(
      () => assertFiniteImage(new Float32Array(100), 'short'),
      inputError('short: expected 3x32x32 = 3072 values per image, got 100 values'),
    );
  });
});

describe('index lists', () => {
  test('ranges and single indices, in the order given, each once', () => {
    assert.deepEqual(parseIndexList('0-9,15', 20), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15]);
    assert.deepEqual(parseIndexList('5, 0-2 ,1,5', 10), [5, 0, 1, 2]);
    assert.deepEqual(parseIndexList('9999', 10000), [9999]);
    assert.deepEqual(parseIndexList('4-4', 5), [4]);
  });

  test('bad lists are refused, naming the item', () => {
    assert.throws(() => parseIndexList('3-1', 10, '--images'), inputError("--images: range '3-1' is descending; write 1-3"));
    assert.throws(
      () => parseIndexList('abc', 10, '--images'),
      inputError("--images: 'abc' in 'abc' is not an index or range; expected non-negative whole numbers such as 0-9,15"),
    );
    assert.throws(() => parseIndexList('', 10, '--images'), inputError('--images: empty; expected indices such as 0-9,15'));
    assert.throws(() => parseIndexList('-1', 10), inputError(/^index list: '-1' in '-1' is not an index or range/));
    assert.throws(() => parseIndexList('1.5', 10), inputError(/'1\.5' in '1\.5' is not an index/));
    assert.throws(() => parseIndexList('1,,2', 10), inputError(/'' in '1,,2' is not an index/));
    assert.throws(() => parseIndexList('0-10', 10, '--images'), inputError('--images: index 10 is out of range; valid indices are 0-9'));
    assert.throws(() => parseIndexList('0-99999999999', 10), inputError(/index 99999999999 is out of range/));
  });
});

describe('default data source', () => {
  const fetchNever = (): Promise<Response> => assert.fail('the network must not be used');
  const member = 'cifar-10-batches-bin/test_batch.bin';
  const records = cifarRecords(4);

  /** A .tar.gz made by GNU tar (in `format`) of cifar-10-batches-bin/ holding `files`. */
  async function archive(name: string, files: Record<string, Uint8Array>, format: 'gnu' | 'posix'): Promise<Uint8Array> {
    const root = join(work, `tree-${name}`);
    await mkdir(join(root, 'cifar-10-batches-bin'), { recursive: true });
    for (const [file, bytes] of Object.entries(files)) await writeFile(join(root, 'cifar-10-batches-bin', file), bytes);
    const tar = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', root, 'cifar-10-batches-bin']);
    return gzipSync(tar);
  }

  const md5 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('hex');

  /** A fetch serving `bytes` in 1000-byte chunks with a Content-Length, recording the URLs asked. */
  function serve(bytes: Uint8Array, status = 200): { fetchImpl: (url: string) => Promise<Response>; urls: string[] } {
    const urls: string[] = [];
    const fetchImpl = async (url: string): Promise<Response> => {
      urls.push(url);
      let offset = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(offset, offset + 1000));
          offset += 1000;
        },
      });
      return new Response(body, { status, headers: { 'content-length': String(bytes.length) } });
    };
    return { fetchImpl, urls };
  }

  test('cache directories per platform', () => {
    assert.equal(cifarCacheDir({}, 'linux', '/home/u'), '/home/u/.cache/resnet-stability/cifar10');
    assert.equal(cifarCacheDir({ XDG_CACHE_HOME: '/x/cache/' }, 'linux', '/home/u'), '/x/cache/resnet-stability/cifar10');
    assert.equal(cifarCacheDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/resnet-stability/cifar10');
    assert.equal(
      cifarCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'),
      'C:\\Users\\u\\AppData\\Local\\resnet-stability\\cifar10',
    );
    assert.equal(cifarCacheDir({}, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\resnet-stability\\cifar10');
  });

  test('an explicit path, and $RESNET_STABILITY_DATA, come before the cache', async () => {
    const cifarDir = join(work, 'explicit');
    const cifarFile = join(cifarDir, 'test_batch.bin');
    await mkdir(cifarDir);
    await writeFile(cifarFile, cifarRecords(2));
    const options = { env: {}, cacheDir: join(work, 'unused-cache'), fetchImpl: fetchNever };
    assert.equal(await resolveCifarSource(cifarDir, options), cifarFile);
    const env = { RESNET_STABILITY_DATA: cifarDir };
    assert.equal(await resolveCifarSource(undefined, { ...options, env }), cifarFile);
    assert.equal(await resolveCifarSource('cifar10', { ...options, env }), cifarFile);

    const missing = join(work, 'nowhere');
    await assert.rejects(resolveCifarSource(missing, options), inputError(`${missing}: no such file or directory`));
    await assert.rejects(
      resolveCifarSource(undefined, { ...options, env: { RESNET_STABILITY_DATA: missing } }),
      inputError(`RESNET_STABILITY_DATA: ${missing}: no such file or directory`),
    );
  });

  test('without a path, variable or cache the default is the shipped sample, and nothing is downloaded', async () => {
    const options = { env: {}, cacheDir: join(work, 'empty-cache'), fetchImpl: fetchNever };
    const source = await resolveCifarData(undefined, options);
    assert.deepEqual(source, { path: cifarSampleFile, origin: 'sample' });
    assert.equal(
      describeCifarSource(source, 1000),
      `data: ${cifarSampleFile} (1000 images, the CIFAR-10 sample shipped with the package, the first 1000 test images; --data cifar10 for the full set)`,
    );
    assert.deepEqual(await resolveCifarData(cifarSampleFile, options), { path: cifarSampleFile, origin: 'path' });
  });

  test('a cached test_batch.bin is used without downloading', async () => {
    const cacheDir = join(work, 'cache-hit');
    await mkdir(cacheDir);
    await writeFile(join(cacheDir, 'test_batch.bin'), records);
    assert.equal(await resolveCifarSource(undefined, { env: {}, cacheDir, fetchImpl: fetchNever }), join(cacheDir, 'test_batch.bin'));
  });

  for (const format of ['gnu', 'posix'] as const) {
    test(`downloads once, verifies, extracts only test_batch.bin (${format} tar)`, async () => {
      const gz = await archive(format, {
        'batches.meta.txt': new TextEncoder().encode('airplane\n'),
        'data_batch_1.bin': pseudoRandomBytes(3 * 3073 + 7, 9), // not a multiple of 512: exercises padding
        'test_batch.bin': records,
      }, format);
      const cacheDir = join(work, `cache-${format}`);
      const { fetchImpl, urls } = serve(gz);
      const progress: DownloadProgress[] = [];
      const options = { env: {}, cacheDir, fetchImpl, archiveMd5: md5(gz), onProgress: (p: DownloadProgress) => progress.push(p) };

      const path = await resolveCifarSource('cifar10', options);
      assert.equal(path, join(cacheDir, 'test_batch.bin'));
      assert.deepEqual(new Uint8Array(await readFile(path)), records);
      assert.deepEqual(await readdir(cacheDir), ['test_batch.bin']);
      assert.deepEqual(urls, ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz']);
      assert.equal(progress.length, Math.ceil(gz.length / 1000));
      assert.deepEqual(progress.at(-1), { receivedBytes: gz.length, totalBytes: gz.length });

      assert.equal(await resolveCifarSource('cifar10', options), path);
      assert.deepEqual(await resolveCifarData(undefined, options), { path, origin: 'cache' });
      assert.equal(urls.length, 1, 'later calls use the cache');
    });
  }

  test('a wrong checksum is refused and leaves no file behind', async () => {
    const gz = await archive('checksum', { 'test_batch.bin': records }, 'gnu');
    const cacheDir = join(work, 'cache-checksum');
    const expected = '0'.repeat(32);
    await assert.rejects(
      resolveCifarSource('cifar10', { env: {}, cacheDir, fetchImpl: serve(gz).fetchImpl, archiveMd5: expected }),
      inputError(
        `--data cifar10: cannot download CIFAR-10 (checksum mismatch: MD5 ${md5(gz)}, expected ${expected}): ` +
          `get cifar-10-batches-bin/test_batch.bin from ${OFFICIAL} and put test_batch.bin in ${cacheDir}, set RESNET_STABILITY_DATA, or pass --data <file or directory>`,
      ),
    );
    await assert.rejects(readdir(cacheDir), { code: 'ENOENT' });
  });

  test('offline: one line saying where the file comes from, where to put it, and --data', async () => {
    const cacheDir = join(work, 'cache-offline');
    const fetchImpl = (): Promise<Response> =>
      Promise.reject(new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND www.cs.toronto.edu') }));
    await assert.rejects(
      resolveCifarSource('cifar10', { env: {}, cacheDir, fetchImpl }),
      inputError(
        '--data cifar10: cannot download CIFAR-10 (fetch failed: getaddrinfo ENOTFOUND www.cs.toronto.edu): ' +
          `get cifar-10-batches-bin/test_batch.bin from ${OFFICIAL} and put test_batch.bin in ${cacheDir}, set RESNET_STABILITY_DATA, or pass --data <file or directory>`,
      ),
    );
  });

  test('HTTP errors, archives without the member, bad members, corrupt gzip, unwritable cache', async () => {
    const cacheDir = join(work, 'cache-bad');
    const attempt = (gz: Uint8Array, status = 200, dir = cacheDir): Promise<string> =>
      resolveCifarSource('cifar10', { env: {}, cacheDir: dir, fetchImpl: serve(gz, status).fetchImpl, archiveMd5: md5(gz) });
    const tail = `: get cifar-10-batches-bin/test_batch.bin from ${OFFICIAL} and put test_batch.bin in ${cacheDir}, set RESNET_STABILITY_DATA, or pass --data <file or directory>`;

    await assert.rejects(
      attempt(new Uint8Array(10), 404),
      inputError(`--data cifar10: cannot download CIFAR-10 (HTTP 404 from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz)${tail}`),
    );
    await assert.rejects(
      attempt(await archive('no-member', { 'data_batch_1.bin': records }, 'gnu')),
      inputError(`--data cifar10: cannot download CIFAR-10 (the archive has no ${member})${tail}`),
    );
    await assert.rejects(
      attempt(await archive('bad-member', { 'test_batch.bin': records.subarray(0, 3073 + 5) }, 'gnu')),
      inputError(
        `--data cifar10: cannot download CIFAR-10 (${member}: length 3078 is not a multiple of the 3073-byte CIFAR-10 record ` +
          `(remainder 5); not a CIFAR-10 binary file, or truncated)${tail}`,
      ),
    );
    const good = await archive('cut', { 'test_batch.bin': records }, 'gnu');
    await assert.rejects(attempt(good.subarray(0, good.length >> 1)), inputError(/^--data cifar10: cannot download CIFAR-10 \(.+\): get .+ and put test_batch\.bin in /));
    await assert.rejects(readdir(cacheDir), { code: 'ENOENT' });

    const blocked = join(work, 'a-file');
    await writeFile(blocked, 'not a directory');
    await assert.rejects(
      attempt(good, 200, join(blocked, 'cache')),
      inputError(/^--data cifar10: cannot download CIFAR-10 \(cannot write .+test_batch\.bin: .+\): get .+ and put test_batch\.bin in /),
    );
  });
});
