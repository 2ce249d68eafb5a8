/**
 * src/data/png.ts: the portable PNG decoder.
 * Expected pixels come from outside the code under test: pngjs' own decoder for images pngjs encodes
 * (color types 0, 2, 4, 6 at 8 and 16 bits, every filter type), and, for what pngjs cannot write
 * (palette, 1/2/4-bit, Adam7, tRNS), PNGs built here chunk by chunk from a known pixel array (fflate's
 * zlibSync, a bitwise CRC-32 and the Adam7 pattern as the specification draws it), which pngjs' decoder
 * must also agree with.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unzlibSync, zlibSync } from 'fflate';
import { PNG, type PNGOptions } from 'pngjs';
import { decodeImage } from '../src/data/image.js';
import { decodePng } from '../src/data/png.js';
import { InputError } from '../src/util/errors.js';
import { mulberry32 } from './support/random.js';

/** An InputError whose one-line message matches `message`. */
function inputError(message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'message must be one line');
    assert.match(err.message, message);
    return true;
  };
}

/** Deterministic integers in [0, bound) (the tests' seeded generator), so failures reproduce. */
function pseudoRandom(length: number, bound: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length }, () => Math.floor(random() * bound));
}

/** Equal sample arrays of the same kind (8-bit or 16-bit), reporting the first difference. */
function assertSamplesEqual(actual: Uint8Array | Uint16Array, expected: ArrayLike<number>, is16: boolean, label: string): void {
  assert.equal(actual instanceof Uint16Array, is16, `${label}: sample type`);
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${label}: sample ${i} (pixel ${i >> 2}) is ${actual[i]}, expected ${expected[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// A PNG writer for what pngjs cannot write, independent of the decoder.

/** CRC-32 bit by bit (reflected polynomial 0xEDB88320), no table. */
function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function concatBytes(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** length, type, data, CRC of type + data. */
function chunk(type: string, data: ArrayLike<number>): Uint8Array {
  const body = concatBytes([[...type].map((c) => c.charCodeAt(0)), data]);
  return concatBytes([u32(data.length), body, u32(crc32(body))]);
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** The Adam7 pass (1..7) of each pixel of an 8x8 tile, as drawn in the PNG specification. */
const ADAM7_TILE = [
  '16462646',
  '77777777',
  '56565656',
  '77777777',
  '36463646',
  '77777777',
  '56565656',
  '77777777',
];

interface RawImage {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  depth: 1 | 2 | 4 | 8 | 16;
  /** Samples (palette indices for type 3), row-major, SAMPLES_PER_PIXEL[colorType] per pixel. */
  samples: number[];
  interlaced?: boolean;
  /** RGB triples (type 3). */
  palette?: number[][];
  /** tRNS chunk data. */
  trns?: number[];
  /** Filter byte of the n-th scanline written (counting across passes); default n mod 5. Values > 4 are written as they are. */
  filter?: (n: number) => number;
  /** Extra chunks written between IHDR and IDAT. */
  extra?: Uint8Array[];
  /** Split the IDAT data into this many chunks (default 2). */
  idatChunks?: number;
}

/** Scanlines as lists of pixel indices, each with its pass: the image's rows (pass 0), or each Adam7 pass's rows. */
function scanlines(width: number, height: number, interlaced: boolean): { pass: number; pixels: number[] }[] {
  const rows: { pass: number; pixels: number[] }[] = [];
  const passes = interlaced ? [1, 2, 3, 4, 5, 6, 7] : [0];
  for (const pass of passes) {
    for (let y = 0; y < height; y++) {
      const pixels: number[] = [];
      for (let x = 0; x < width; x++) {
        if (pass === 0 || Number(ADAM7_TILE[y % 8][x % 8]) === pass) pixels.push(y * width + x);
      }
      if (pixels.length > 0) rows.push({ pass, pixels });
    }
  }
  return rows;
}

/** The samples of the given pixels packed MSB first at `depth` bits (16-bit big-endian), padded to a byte. */
function packRow(image: RawImage, pixels: number[]): Uint8Array {
  const n = SAMPLES_PER_PIXEL[image.colorType];
  const values = pixels.flatMap((p) => image.samples.slice(p * n, p * n + n));
  if (image.depth === 16) return Uint8Array.from(values.flatMap((v) => [v >> 8, v & 255]));
  const out = new Uint8Array(Math.ceil((values.length * image.depth) / 8));
  values.forEach((v, i) => {
    const bit = i * image.depth;
    out[bit >> 3] |= v << (8 - image.depth - (bit & 7));
  });
  return out;
}

/** Filter one packed row against the previous packed row of the same pass (undefined: zeros). */
function filterRow(type: number, row: Uint8Array, prior: Uint8Array | undefined, bpp: number): Uint8Array {
  const up = (i: number): number => (prior ? prior[i] : 0);
  const left = (i: number): number => (i >= bpp ? row[i - bpp] : 0);
  const upLeft = (i: number): number => (i >= bpp && prior ? prior[i - bpp] : 0);
  const predict = (i: number): number => {
    switch (type) {
      case 1:
        return left(i);
      case 2:
        return up(i);
      case 3:
        return Math.floor((left(i) + up(i)) / 2);
      case 4: {
        const [a, b, c] = [left(i), up(i), upLeft(i)];
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      default:
        return 0; // None, and the invalid types the corrupt-input tests write
    }
  };
  return Uint8Array.from(row, (v, i) => (v - predict(i)) & 255);
}

/** PNG bytes of a RawImage. */
function buildPng(image: RawImage): Uint8Array {
  const interlaced = image.interlaced ?? false;
  const bpp = Math.max(1, (SAMPLES_PER_PIXEL[image.colorType] * image.depth) >> 3);
  const lines = scanlines(image.width, image.height, interlaced);
  const stream: Uint8Array[] = [];
  let prior: Uint8Array | undefined;
  lines.forEach(({ pass, pixels }, n) => {
    const packed = packRow(image, pixels);
    const type = image.filter ? image.filter(n) : n % 5;
    if (n > 0 && lines[n - 1].pass !== pass) prior = undefined; // each pass starts afresh
    stream.push(Uint8Array.of(type), filterRow(type, packed, prior, bpp));
    prior = packed;
  });
  const compressed = zlibSync(concatBytes(stream));
  const parts = image.idatChunks ?? 2;
  const cut = (k: number): number => Math.floor((compressed.length * k) / parts);
  const ihdr = [...u32(image.width), ...u32(image.height), image.depth, image.colorType, 0, 0, interlaced ? 1 : 0];
  return concatBytes([
    SIGNATURE,
    chunk('IHDR', ihdr),
    ...(image.extra ?? []),
    ...(image.palette ? [chunk('PLTE', image.palette.flat())] : []),
    ...(image.trns ? [chunk('tRNS', image.trns)] : []),
    ...Array.from({ length: parts }, (_, k) => chunk('IDAT', compressed.subarray(cut(k), cut(k + 1)))),
    chunk('IEND', []),
  ]);
}

/** The RGBA samples a RawImage stands for (see the decoder's module comment). */
function expectedRgba(image: RawImage): number[] {
  const n = SAMPLES_PER_PIXEL[image.colorType];
  const max = image.depth === 16 ? 65535 : 255;
  // 1-, 2-, 4-bit grayscale: 255 / (2^depth - 1) is 255, 85, 17, an exact integer.
  const gray = (v: number): number => (image.depth < 8 ? (v * 255) / (2 ** image.depth - 1) : v);
  const key = image.trns && image.colorType !== 3 ? [0, 2, 4].slice(0, image.trns.length / 2).map((i) => (image.trns![i] << 8) | image.trns![i + 1]) : undefined;
  const out: number[] = [];
  for (let p = 0; p < image.width * image.height; p++) {
    const s = image.samples.slice(p * n, p * n + n);
    if (key && key.every((k, i) => k === s[i])) out.push(0, 0, 0, 0);
    else if (image.colorType === 3) out.push(...image.palette![s[0]], image.trns?.[s[0]] ?? 255);
    else if (image.colorType === 0) out.push(gray(s[0]), gray(s[0]), gray(s[0]), max);
    else if (image.colorType === 4) out.push(s[0], s[0], s[0], s[1]);
    else if (image.colorType === 2) out.push(s[0], s[1], s[2], max);
    else out.push(...s);
  }
  return out;
}

/** pngjs' reading of the same bytes: rescaled for 1/2/4-bit grayscale, as is otherwise. */
function pngjsRgba(bytes: Uint8Array, image: RawImage): Uint8Array | Uint16Array {
  const rescale = image.depth < 8 && image.colorType !== 3;
  return PNG.sync.read(Buffer.from(bytes), { skipRescale: !rescale }).data;
}

/** Decode a hand-built image and check it against the known pixels and against pngjs. */
function checkRaw(image: RawImage, label: string): void {
  const bytes = buildPng(image);
  const decoded = decodePng(bytes, label);
  assert.equal(decoded.width, image.width);
  assert.equal(decoded.height, image.height);
  assert.equal(decoded.channels, 4);
  assert.equal(decoded.depth, image.depth === 16 ? 16 : 8);
  const expected = expectedRgba(image);
  assertSamplesEqual(decoded.data, expected, image.depth === 16, `${label} vs known pixels`);
  assertSamplesEqual(decoded.data, pngjsRgba(bytes, image), image.depth === 16, `${label} vs pngjs`);
}

/** Random samples for an image: palette indices below `entries` for type 3, else 0..2^depth-1. */
function randomSamples(width: number, height: number, colorType: number, depth: number, seed: number, entries = 0): number[] {
  const bound = colorType === 3 ? entries : 2 ** depth;
  return pseudoRandom(width * height * SAMPLES_PER_PIXEL[colorType], bound, seed);
}

// ---------------------------------------------------------------------------------------------------
// Images pngjs writes.

/** `width` x `height` test pixels: smooth gradients, flat runs and noise, so filters differ by row. */
function testPixels(width: number, height: number, channels: 3 | 4, is16: boolean, seed: number): Uint8Array | Uint16Array {
  const max = is16 ? 65535 : 255;
  const noise = pseudoRandom(width * height * channels, max + 1, seed);
  const out = is16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const i = (y * width + x) * channels + c;
        const kind = y % 6;
        const v =
          kind === 0 ? noise[i] // noise
          : kind === 1 ? ((x * 37 + c * 11) * (max / 255)) % (max + 1) // horizontal ramp
          : kind === 2 ? ((y * 29 + c) * (max / 255)) % (max + 1) // flat row, changes by row
          : kind === 3 ? (((x + y) * 13 + c * 5) * (max / 255)) % (max + 1) // diagonal
          : kind === 4 ? out[i - width * channels] // repeats the row above
          : (x < width / 2 ? 40 : noise[i] % 64) * (max / 255); // half flat, half low noise
        out[i] = Math.floor(v);
      }
    }
  }
  return out;
}

/** The filter bytes of a non-interlaced PNG's scanlines. */
function filterBytes(bytes: Uint8Array, width: number, height: number, bitsPerPixel: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  for (let pos = 8; pos < bytes.length; ) {
    const length = view.getUint32(pos);
    if (String.fromCharCode(...bytes.subarray(pos + 4, pos + 8)) === 'IDAT') idat.push(bytes.subarray(pos + 8, pos + 8 + length));
    pos += 12 + length;
  }
  const raw = unzlibSync(concatBytes(idat));
  const stride = 1 + Math.ceil((width * bitsPerPixel) / 8);
  return Array.from({ length: height }, (_, y) => raw[y * stride]);
}

describe('decodePng against pngjs (color types 0, 2, 4, 6; 8 and 16 bits)', () => {
  const bitsPerPixel = (colorType: number, depth: number): number => SAMPLES_PER_PIXEL[colorType] * depth;
  const sizes: [number, number][] = [
    [32, 32],
    [13, 7],
    [1, 1],
  ];

  for (const colorType of [0, 2, 4, 6] as const) {
    for (const bitDepth of [8, 16] as const) {
      test(`color type ${colorType}, ${bitDepth}-bit, every filter type`, () => {
        const seenAdaptive = new Set<number>();
        let seed = 100 * colorType + bitDepth;
        for (const [width, height] of sizes) {
          for (const inputHasAlpha of [true, false]) {
            // pngjs ignores inputHasAlpha: false when input and output are both 8-bit RGBA (it copies the input).
            if (!inputHasAlpha && colorType === 6 && bitDepth === 8) continue;
            for (const filterType of [-1, 0, 1, 2, 3, 4]) {
              const label = `${width}x${height} type ${colorType} depth ${bitDepth} alpha-in ${inputHasAlpha} filter ${filterType}`;
              const pixels = testPixels(width, height, inputHasAlpha ? 4 : 3, bitDepth === 16, seed++);
              const png = new PNG({ width, height });
              png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
              const options: PNGOptions = { colorType, inputColorType: 6, inputHasAlpha, bitDepth, filterType };
              const bytes = new Uint8Array(PNG.sync.write(png, options));
              const filters = filterBytes(bytes, width, height, bitsPerPixel(colorType, bitDepth));
              if (filterType === -1) filters.forEach((f) => seenAdaptive.add(f));
              else assert.deepEqual(new Set(filters), new Set([filterType]), `${label}: pngjs wrote the forced filter`);
              const reference = PNG.sync.read(Buffer.from(bytes), { skipRescale: true });
              const decoded = decodePng(bytes, 'x.png');
              assert.deepEqual([decoded.width, decoded.height, decoded.channels, decoded.depth], [width, height, 4, bitDepth]);
              assertSamplesEqual(decoded.data, reference.data, bitDepth === 16, label);
            }
          }
        }
        assert.deepEqual([...seenAdaptive].sort(), [0, 1, 2, 3, 4], 'adaptive filtering used every filter type');
      });
    }
  }

  test('16-bit RGBA samples come through exactly as written', () => {
    const pixels = testPixels(32, 32, 4, true, 7) as Uint16Array;
    const png = new PNG({ width: 32, height: 32 });
    png.data = Buffer.from(pixels.buffer);
    const decoded = decodePng(new Uint8Array(PNG.sync.write(png, { colorType: 6, inputColorType: 6, bitDepth: 16 })), 'deep.png');
    assertSamplesEqual(decoded.data, pixels, true, 'deep.png');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('decodePng on hand-built PNGs (palette, low bit depths, Adam7, tRNS)', () => {
  // Sizes where some Adam7 passes are empty (1x1, 3x2, 5x1) and where rows end mid-byte at low depths.
  const sizes: [number, number][] = [
    [1, 1],
    [3, 2],
    [5, 1],
    [13, 11],
    [32, 32],
  ];

  test('grayscale at 1, 2, 4, 8 and 16 bits, plain and interlaced', () => {
    for (const depth of [1, 2, 4, 8, 16] as const) {
      for (const [width, height] of sizes) {
        for (const interlaced of [false, true]) {
          const samples = randomSamples(width, height, 0, depth, width * 100 + depth);
          checkRaw({ width, height, colorType: 0, depth, samples, interlaced }, `gray ${depth}-bit ${width}x${height} interlaced ${interlaced}`);
        }
      }
    }
  });

  test('1-bit grayscale: 0 -> 0 and 1 -> 255', () => {
    const bytes = buildPng({ width: 10, height: 1, colorType: 0, depth: 1, samples: [0, 1, 1, 0, 1, 0, 0, 1, 1, 1] });
    const { data } = decodePng(bytes, 'bits.png');
    assert.deepEqual([...data].filter((_, i) => i % 4 === 0), [0, 255, 255, 0, 255, 0, 0, 255, 255, 255]);
    assert.ok(data.every((v, i) => i % 4 !== 3 || v === 255), 'opaque');
  });

  test('palette at 1, 2, 4 and 8 bits, with and without tRNS, plain and interlaced', () => {
    for (const depth of [1, 2, 4, 8] as const) {
      const entries = Math.min(2 ** depth, 200);
      const palette = Array.from({ length: entries }, (_, i) => [(i * 53) % 256, (i * 101 + 7) % 256, (255 - i) % 256]);
      for (const [width, height] of sizes) {
        for (const interlaced of [false, true]) {
          for (const trns of [undefined, pseudoRandom(Math.max(1, entries >> 1), 256, depth)]) {
            const samples = randomSamples(width, height, 3, depth, width * 10 + depth, entries);
            checkRaw(
              { width, height, colorType: 3, depth, samples, interlaced, palette, trns },
              `palette ${depth}-bit ${width}x${height} interlaced ${interlaced} tRNS ${Boolean(trns)}`,
            );
          }
        }
      }
    }
  });

  test('RGB, RGBA and gray+alpha at 8 and 16 bits, interlaced', () => {
    for (const colorType of [2, 4, 6] as const) {
      for (const depth of [8, 16] as const) {
        for (const [width, height] of sizes) {
          const samples = randomSamples(width, height, colorType, depth, colorType * 1000 + width);
          checkRaw({ width, height, colorType, depth, samples, interlaced: true }, `type ${colorType} ${depth}-bit ${width}x${height} interlaced`);
        }
      }
    }
  });

  test('a tRNS color key makes matching grayscale and RGB pixels (0, 0, 0, 0)', () => {
    const gray2 = [0, 1, 2, 3, 2, 1, 0, 3, 2];
    checkRaw({ width: 3, height: 3, colorType: 0, depth: 2, samples: gray2, trns: [0, 2] }, 'gray 2-bit key');
    checkRaw({ width: 3, height: 3, colorType: 0, depth: 8, samples: [9, 8, 7, 9, 9, 1, 2, 3, 4], trns: [0, 9], interlaced: true }, 'gray 8-bit key');
    const rgb = [1, 2, 3, 4, 5, 6, 1, 2, 3, 1, 2, 4];
    checkRaw({ width: 2, height: 2, colorType: 2, depth: 8, samples: rgb, trns: [0, 1, 0, 2, 0, 3] }, 'rgb 8-bit key');
    const rgb16 = [1000, 2000, 3000, 4, 5, 6, 1000, 2000, 3000, 1000, 2000, 3001];
    checkRaw({ width: 2, height: 2, colorType: 2, depth: 16, samples: rgb16, trns: [...[1000, 2000, 3000].flatMap((v) => [v >> 8, v & 255])] }, 'rgb 16-bit key');
    const { data } = decodePng(buildPng({ width: 2, height: 2, colorType: 2, depth: 8, samples: rgb, trns: [0, 1, 0, 2, 0, 3] }), 'k.png');
    assert.deepEqual([...data], [0, 0, 0, 0, 4, 5, 6, 255, 0, 0, 0, 0, 1, 2, 4, 255]);
  });

  test('ancillary chunks are skipped; IDAT may be split into many chunks', () => {
    const samples = randomSamples(13, 11, 2, 8, 5);
    const extra = [chunk('tEXt', [...'Comment\0hello'].map((c) => c.charCodeAt(0))), chunk('prVt', [1, 2, 3])];
    checkRaw({ width: 13, height: 11, colorType: 2, depth: 8, samples, extra, idatChunks: 5 }, 'ancillary');
  });

  test('decodeImage accepts an interlaced 32x32 palette PNG', () => {
    const palette = [[255, 0, 0], [0, 128, 255], [17, 34, 51]];
    const samples = Array.from({ length: 1024 }, (_, p) => p % 3);
    const x = decodeImage(buildPng({ width: 32, height: 32, colorType: 3, depth: 2, samples, palette, interlaced: true }), 'adam7.png');
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) assert.equal(x[c * 1024 + p], Math.fround(palette[p % 3][c] / 255));
  });
});

// ---------------------------------------------------------------------------------------------------

describe('decodePng refuses malformed files with an InputError naming the source', () => {
  const image: RawImage = { width: 5, height: 4, colorType: 2, depth: 8, samples: randomSamples(5, 4, 2, 8, 3) };
  const good = buildPng(image);
  const refused = (bytes: Uint8Array, what: RegExp): void => {
    assert.throws(() => decodePng(bytes, 'bad.png'), inputError(new RegExp(`^bad\\.png: invalid PNG \\(${what.source}\\)$`)));
  };
  /** Byte offset of the first chunk of the given type. */
  const chunkAt = (bytes: Uint8Array, type: string): number => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let pos = 8; pos < bytes.length; pos += 12 + view.getUint32(pos)) {
      if (String.fromCharCode(...bytes.subarray(pos + 4, pos + 8)) === type) return pos;
    }
    throw new Error(`no ${type}`);
  };

  test('the good file decodes', () => {
    assertSamplesEqual(decodePng(good, 'good.png').data, expectedRgba(image), false, 'good.png');
  });

  test('a flipped CRC byte, or a flipped data byte, is a bad CRC', () => {
    for (const type of ['IHDR', 'IDAT', 'IEND']) {
      const pos = chunkAt(good, type);
      const length = new DataView(good.buffer, good.byteOffset).getUint32(pos);
      const crcFlipped = good.slice();
      crcFlipped[pos + 8 + length + 3] ^= 0x01;
      refused(crcFlipped, new RegExp(`bad CRC in ${type} chunk`));
      if (length > 0) {
        const dataFlipped = good.slice();
        dataFlipped[pos + 8] ^= 0x80;
        refused(dataFlipped, new RegExp(`bad CRC in ${type} chunk`));
      }
    }
  });

  test('every truncation is refused', () => {
    for (let length = 0; length < good.length; length++) refused(good.subarray(0, length), /.+/);
    refused(good.subarray(0, 20), /truncated IHDR chunk/);
    refused(good.subarray(0, good.length - 12), /truncated: file ends before the IEND chunk/);
  });

  test('bad filter types', () => {
    for (const bad of [5, 255]) {
      refused(buildPng({ ...image, filter: (n) => (n === 2 ? bad : 1) }), new RegExp(`bad filter type ${bad}`));
    }
  });

  test('missing IHDR, missing IDAT, unknown critical chunk', () => {
    const ihdrEnd = chunkAt(good, 'IHDR') + 25;
    refused(concatBytes([SIGNATURE, good.subarray(ihdrEnd)]), /missing IHDR chunk \(first chunk is IDAT\)/);
    const idat = chunkAt(good, 'IDAT');
    refused(concatBytes([good.subarray(0, idat), chunk('IEND', [])]), /missing IDAT chunk/);
    refused(buildPng({ ...image, extra: [chunk('ABCD', [1])] }), /unknown critical chunk ABCD/);
    refused(new TextEncoder().encode('not a png at all'), /no PNG signature/);
  });

  test('unsupported bit depth / color type combinations', () => {
    refused(buildPng({ ...image, depth: 4, samples: image.samples.map((v) => v & 15) }), /unsupported bit depth 4 for color type 2/);
    refused(buildPng({ width: 1, height: 1, colorType: 3, depth: 16, samples: [0], palette: [[1, 2, 3]] }), /unsupported bit depth 16 for color type 3/);
    refused(buildPng({ width: 1, height: 1, colorType: 4, depth: 2, samples: [0, 0] }), /unsupported bit depth 2 for color type 4/);
    const ihdr = chunkAt(good, 'IHDR');
    const body = [...good.subarray(ihdr + 8, ihdr + 21)];
    body[9] = 5;
    refused(concatBytes([SIGNATURE, chunk('IHDR', body), good.subarray(ihdr + 25)]), /unsupported color type 5/);
  });

  test('wrong decompressed length, corrupt zlib data', () => {
    const ihdr = chunkAt(good, 'IHDR');
    const taller = [...good.subarray(ihdr + 8, ihdr + 21)];
    taller[7] = 5; // height 4 -> 5
    refused(concatBytes([SIGNATURE, chunk('IHDR', taller), good.subarray(ihdr + 25)]), /image data inflates to 64 bytes, expected 80/);
    const idat = chunkAt(good, 'IDAT');
    const withIdat = (data: number[]): Uint8Array => concatBytes([good.subarray(0, idat), chunk('IDAT', data), chunk('IEND', [])]);
    refused(withIdat([1, 2, 3, 4]), /corrupt zlib data: .+/); // not a zlib header
    // fflate returns nothing rather than throwing for an invalid block type; the length check catches it.
    refused(withIdat([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]), /image data inflates to 0 bytes, expected 64/);
  });

  test('palette problems', () => {
    const base: RawImage = { width: 2, height: 1, colorType: 3, depth: 8, samples: [0, 2], palette: [[1, 2, 3], [4, 5, 6]] };
    refused(buildPng(base), /palette index 2 out of range \(2 entries\)/);
    refused(buildPng({ ...base, samples: [0, 1], palette: undefined }), /missing PLTE chunk in a palette image/);
    refused(buildPng({ ...base, samples: [0, 1], trns: [1, 2, 3] }), /tRNS chunk has 3 entries for 2 palette entries/);
  });

  test('decodeImage keeps its "invalid PNG" prefix for decoder failures', () => {
    const pixels = Array.from({ length: 1024 * 3 }, (_, i) => i % 256);
    const png = buildPng({ width: 32, height: 32, colorType: 2, depth: 8, samples: pixels });
    const pos = chunkAt(png, 'IDAT');
    const flipped = png.slice();
    flipped[pos + 9] ^= 1;
    assert.throws(() => decodeImage(flipped, 'img.png'), inputError(/^img\.png: invalid PNG \(bad CRC in IDAT chunk\)$/));
  });
});
