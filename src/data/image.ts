/**
 * Single images as model inputs: PNG and JPEG files decoded to float32 3 x 32 x 32 (CHW) in [0, 1],
 * and a check for float images supplied directly through the API.
 *
 * The rules, so that what the model sees is exactly what the file holds:
 * - The format is detected from the magic bytes, never from the file name.
 * - The image must be exactly the model's input size (32x32 by default); it is never resized, cropped or padded.
 * - It must have 3 color channels: grayscale PNG/JPEG and CMYK JPEG are refused rather than converted.
 *   Palette PNGs are color images and are accepted.
 * - An alpha channel (PNG RGBA, or a tRNS chunk) is accepted only when every pixel is fully opaque,
 *   and then dropped; any transparency is refused, since compositing over a background would be a guess.
 * - Values are sample / max (255, or 65535 for 16-bit PNGs). JPEG EXIF orientation is ignored: pixels
 *   are taken as stored.
 */
import jpeg from 'jpeg-js';
import { IMAGE_CHANNELS, IMAGE_SIZE } from '../model/types.js';
import { InputError } from '../util/errors.js';
import { readRegularFile } from '../util/read-file.js';
import { decodePng } from './png.js';

export type ImageFormat = 'png' | 'jpeg';

/** Values in one image: 3 x 32 x 32. */
const IMAGE_VALUES = IMAGE_CHANNELS * IMAGE_SIZE * IMAGE_SIZE;
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** What the file header says, read before decoding so that refusals are cheap and precise. */
interface ImageHeader {
  width: number;
  height: number;
  /** Color channels, not counting alpha: 1 (grayscale), 3 (RGB, YCbCr, palette) or 4 (CMYK). */
  colorChannels: number;
  /** How the colors are stored, for messages: 'grayscale', 'RGB', 'CMYK', ... */
  colorModel: string;
}

/** 'png' or 'jpeg' from the leading magic bytes, else undefined. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** PNG IHDR: width and height (big-endian u32 at 16 and 20), color type at 25. */
function pngHeader(bytes: Uint8Array, source: string): ImageHeader {
  const chunkType = String.fromCharCode(...bytes.subarray(12, 16));
  if (bytes.length < 33 || chunkType !== 'IHDR') throw new InputError(`${source}: invalid PNG (no IHDR header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const colorType = bytes[25];
  const models: Record<number, [number, string]> = {
    0: [1, 'grayscale'],
    2: [3, 'RGB'],
    3: [3, 'palette'],
    4: [1, 'grayscale with alpha'],
    6: [3, 'RGBA'],
  };
  const model = models[colorType];
  if (!model) throw new InputError(`${source}: invalid PNG (color type ${colorType})`);
  return { width: view.getUint32(16), height: view.getUint32(20), colorChannels: model[0], colorModel: model[1] };
}

/** JPEG: the first start-of-frame segment (SOF0..SOF15 but DHT C4, JPG C8, DAC CC) gives size and components. */
function jpegHeader(bytes: Uint8Array, source: string): ImageHeader {
  let i = 2;
  while (i + 1 < bytes.length) {
    if (bytes[i] !== 0xff) break;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // segments without a length
      continue;
    }
    if (marker === 0xda || i + 3 >= bytes.length) break; // scan data before any frame header
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && i + 9 < bytes.length) {
      const components = bytes[i + 9];
      const model = components === 1 ? 'grayscale' : components === 3 ? 'YCbCr/RGB' : components === 4 ? 'CMYK' : `${components} components`;
      return {
        height: (bytes[i + 5] << 8) | bytes[i + 6],
        width: (bytes[i + 7] << 8) | bytes[i + 8],
        colorChannels: components,
        colorModel: model,
      };
    }
    i += 2 + length;
  }
  throw new InputError(`${source}: invalid JPEG (no frame header)`);
}

/** Refuse anything but `size` (height, width) with 3 color channels, naming `source` and what it is instead. */
function checkHeader(header: ImageHeader, source: string, [height, width]: readonly [number, number]): void {
  if (header.width !== width || header.height !== height) {
    throw new InputError(
      `${source}: image is ${header.width}x${header.height} pixels; expected ${width}x${height} ` +
        `(images are never resized)`,
    );
  }
  if (header.colorChannels !== IMAGE_CHANNELS) {
    throw new InputError(
      `${source}: expected ${IMAGE_CHANNELS} color channels (RGB), got ${header.colorChannels} (${header.colorModel})`,
    );
  }
}

/**
 * Interleaved samples (HWC, `stride` samples per pixel: 3, or 4 with alpha last) to float32 CHW in [0, 1].
 * With stride 4, throws InputError naming the first pixel whose alpha is below `max`.
 */
function interleavedToChw(data: ArrayLike<number>, stride: 3 | 4, max: number, source: string, [height, width]: readonly [number, number]): Float32Array {
  const pixels = height * width;
  const out = new Float32Array(IMAGE_CHANNELS * pixels);
  for (let p = 0; p < pixels; p++) {
    if (stride === 4 && data[4 * p + 3] !== max) {
      throw new InputError(
        `${source}: pixel at row ${Math.floor(p / width)}, column ${p % width} is not opaque ` +
          `(alpha ${data[4 * p + 3]} of ${max}); transparent images are not accepted`,
      );
    }
    for (let c = 0; c < IMAGE_CHANNELS; c++) out[c * pixels + p] = data[stride * p + c] / max;
  }
  return out;
}

/**
 * Decode a PNG or JPEG image to float32 3 x H x W (CHW, channels R, G, B) in [0, 1]; `size` is
 * [H, W], 32x32 unless a model says otherwise.
 * See the module comment for the rules.
 *
 * Throws InputError naming `source` if the bytes are neither PNG nor JPEG, are corrupt, are not 32x32
 * (the message gives the actual size), do not have 3 color channels ("expected 3 color channels"), or
 * have a non-opaque pixel.
 */
export function decodeImage(bytes: Uint8Array, source: string, size: readonly [number, number] = [IMAGE_SIZE, IMAGE_SIZE]): Float32Array {
  const format = detectImageFormat(bytes);
  if (format === 'png') {
    checkHeader(pngHeader(bytes, source), source, size);
    // Throws InputError `${source}: invalid PNG (...)` on any malformation.
    const png = decodePng(bytes, source);
    // decodePng always returns RGBA, 16-bit samples kept as they are (a Uint16Array); only RGB(A) can
    // be 16-bit here (palette entries are 8-bit).
    const max = png.depth === 16 ? 65535 : 255;
    return interleavedToChw(png.data, 4, max, source, size);
  }
  if (format === 'jpeg') {
    checkHeader(jpegHeader(bytes, source), source, size);
    let image: { data: Uint8Array };
    try {
      // The header gave the size; the limits keep a second, larger frame header from costing more.
      const megapixels = (size[0] * size[1]) / 1e6;
      image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: Math.max(0.01, 1.01 * megapixels), maxMemoryUsageInMB: Math.max(16, 64 * megapixels) });
    } catch (err) {
      throw new InputError(`${source}: invalid JPEG (${(err as Error).message})`);
    }
    return interleavedToChw(image.data, 3, 255, source, size);
  }
  throw new InputError(`${source}: not a PNG or JPEG file`);
}

/** The largest image file read: a 32x32 image is a few kilobytes in any encoding. */
const MAX_IMAGE_BYTES = 16 * 2 ** 20;

/** Node: read and decode an image file (see `decodeImage`); InputError naming the path on failure. */
export async function loadImage(path: string, size?: readonly [number, number]): Promise<Float32Array> {
  return decodeImage(await readRegularFile(path, MAX_IMAGE_BYTES), path, size);
}

/**
 * Check float images given through the API: `x` holds B >= 1 images of 3 x 32 x 32 (CHW, back to back),
 * all values finite. Values outside [0, 1] are allowed (perturbed inputs are legitimate).
 *
 * Throws InputError naming `source` if the length is not a positive multiple of 3072, or at the first
 * NaN or infinity, giving its image, channel, row and column.
 */
export function assertFiniteImage(x: ArrayLike<number>, source: string): void {
  if (x.length === 0 || x.length % IMAGE_VALUES !== 0) {
    throw new InputError(
      `${source}: expected ${IMAGE_CHANNELS}x${IMAGE_SIZE}x${IMAGE_SIZE} = ${IMAGE_VALUES} values per image, ` +
        `got ${x.length} values`,
    );
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      const image = Math.floor(i / IMAGE_VALUES);
      const within = i % IMAGE_VALUES;
      const channel = Math.floor(within / PIXELS);
      const pixel = within % PIXELS;
      const where = `${x.length > IMAGE_VALUES ? `image ${image}, ` : ''}channel ${channel}, row ${Math.floor(pixel / IMAGE_SIZE)}, column ${pixel % IMAGE_SIZE}`;
      throw new InputError(`${source}: value ${x[i]} at ${where}; image values must be finite`);
    }
  }
}

/**
 * [height, width] of a PNG or JPEG, read from its header (nothing is decoded), so that a caller can
 * choose the size to decode at. Throws InputError naming `source` for anything else.
 */
export function imageDimensions(bytes: Uint8Array, source: string): [number, number] {
  const format = detectImageFormat(bytes);
  if (!format) throw new InputError(`${source}: not a PNG or JPEG file`);
  const header = format === 'png' ? pngHeader(bytes, source) : jpegHeader(bytes, source);
  return [header.height, header.width];
}
