/**
 * PNG files decoded to interleaved RGBA samples: the signature, the chunk stream with every CRC checked,
 * IHDR, PLTE, tRNS and the concatenated IDAT data (a zlib stream, inflated by fflate), the five row
 * filters and Adam7 interlacing, for every color type and bit depth the PNG specification allows.
 * Other ancillary chunks are skipped; an unknown critical chunk is refused.
 *
 * Why our own decoder: pngjs needs Node's Buffer and zlib, which browsers and edge runtimes do not have.
 *
 * The samples are those pngjs gives with `skipRescale: true`, except that low bit depths are scaled:
 * - 16-bit images stay 16-bit (a Uint16Array, maximum 65535); all others become 8-bit (a Uint8Array).
 * - Grayscale is copied to R, G and B; an image without an alpha channel gets alpha = maximum.
 * - 1-, 2- and 4-bit grayscale is scaled to 0..255 as floor(v * 255 / (2^depth - 1) + 0.5), so 1-bit 1 is 255.
 * - Palette images take colors from PLTE and alpha from tRNS (255 for entries tRNS does not cover).
 * - A grayscale or RGB pixel equal to the tRNS color key becomes (0, 0, 0, 0), as in pngjs.
 *
 * Every malformation is an InputError `<source>: invalid PNG (<what>)`.
 */
import { InputError } from '../util/errors.js';
import { concatBytes } from '../util/bytes.js';
import { crc32 } from '../util/crc32.js';
import { inflateAtMost, InflateLimitError } from '../util/inflate.js';

/** A decoded image: width x height pixels of R, G, B, A samples, row-major. */
export interface DecodedPng {
  width: number;
  height: number;
  data: Uint8Array | Uint16Array;
  channels: 4;
  /** Sample size: 16 for 16-bit files (maximum 65535), else 8 (maximum 255). */
  depth: 8 | 16;
}

/** IHDR fields that matter for decoding. */
interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

/** The chunks a decoder needs, CRCs verified; `idat` is all IDAT data concatenated. */
interface PngChunks {
  header: PngHeader;
  palette?: Uint8Array;
  transparency?: Uint8Array;
  idat: Uint8Array;
}

/** One sub-image: the whole image, or one Adam7 pass (its pixels are at x0 + i dx, y0 + j dy). */
interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  width: number;
  height: number;
}

/** Writes pixel `x` of an unfiltered row as four samples at out[at..at+3]. */
type PixelWriter = (row: Uint8Array, x: number, out: Uint8Array | Uint16Array, at: number) => void;
/** Sample `index` of an unfiltered row, at the image's bit depth. */
type SampleReader = (row: Uint8Array, index: number) => number;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Per color type: samples per pixel, and the bit depths the specification allows. */
const COLOR_TYPES: Record<number, { samples: number; depths: readonly number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] }, // grayscale
  2: { samples: 3, depths: [8, 16] }, // RGB
  3: { samples: 1, depths: [1, 2, 4, 8] }, // palette index
  4: { samples: 2, depths: [8, 16] }, // grayscale, alpha
  6: { samples: 4, depths: [8, 16] }, // RGB, alpha
};

/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

function fail(source: string, what: string): never {
  throw new InputError(`${source}: invalid PNG (${what})`);
}

/** IHDR: size, then bit depth, color type, compression, filter and interlace methods. */
function parseHeader(data: Uint8Array, source: string): PngHeader {
  if (data.length !== 13) fail(source, `IHDR chunk has ${data.length} bytes, expected 13`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [depth, colorType, compression, filter, interlace] = data.subarray(8);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) fail(source, `image size ${width}x${height}`);
  const allowed = COLOR_TYPES[colorType];
  if (!allowed) fail(source, `unsupported color type ${colorType}`);
  if (!allowed.depths.includes(depth)) fail(source, `unsupported bit depth ${depth} for color type ${colorType}`);
  if (compression !== 0) fail(source, `unsupported compression method ${compression}`);
  if (filter !== 0) fail(source, `unsupported filter method ${filter}`);
  if (interlace > 1) fail(source, `unsupported interlace method ${interlace}`);
  return { width, height, depth, colorType, interlaced: interlace === 1 };
}

/** Walks the chunks after the signature up to IEND, verifying each CRC. */
function readChunks(bytes: Uint8Array, source: string): PngChunks {
  if (bytes.length < SIGNATURE.length || !SIGNATURE.every((b, i) => bytes[i] === b)) fail(source, 'no PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: PngHeader | undefined;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let pos = SIGNATURE.length;
  for (;;) {
    if (pos + 8 > bytes.length) fail(source, 'truncated: file ends before the IEND chunk');
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) fail(source, `bad chunk type at byte ${pos + 4}`);
    const end = pos + 8 + length;
    if (end + 4 > bytes.length) fail(source, `truncated ${type} chunk`);
    if (crc32(bytes, pos + 4, end) !== view.getUint32(end)) fail(source, `bad CRC in ${type} chunk`);
    const data = bytes.subarray(pos + 8, end);
    pos = end + 4;
    if (!header && type !== 'IHDR') fail(source, `missing IHDR chunk (first chunk is ${type})`);
    if (type === 'IEND') break;
    if (type === 'IHDR') {
      if (header) fail(source, 'more than one IHDR chunk');
      header = parseHeader(data, source);
    } else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') transparency = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type.charCodeAt(0) < 0x61) fail(source, `unknown critical chunk ${type}`); // uppercase first letter
  }
  if (!header) fail(source, 'missing IHDR chunk');
  if (idat.length === 0) fail(source, 'missing IDAT chunk');
  return { header, palette, transparency, idat: concatBytes(idat) };
}

/** The whole image, or the non-empty Adam7 passes in order. */
function passesOf(header: PngHeader): Pass[] {
  const { width, height } = header;
  if (!header.interlaced) return [{ x0: 0, y0: 0, dx: 1, dy: 1, width, height }];
  return ADAM7.map(([x0, y0, dx, dy]) => ({
    x0,
    y0,
    dx,
    dy,
    width: Math.max(0, Math.ceil((width - x0) / dx)),
    height: Math.max(0, Math.ceil((height - y0) / dy)),
  })).filter((p) => p.width > 0 && p.height > 0);
}

function bitsPerPixel(header: PngHeader): number {
  return COLOR_TYPES[header.colorType].samples * header.depth;
}

/** Bytes of one scanline of `width` pixels, without its filter-type byte. */
function rowBytes(width: number, bits: number): number {
  return Math.ceil((width * bits) / 8);
}

/**
 * The zlib stream inflated, refused unless it has exactly the bytes the header and passes imply;
 * inflation stops as soon as it passes that count, so a small file cannot expand to gigabytes.
 */
function inflate(idat: Uint8Array, expected: number, source: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = inflateAtMost(idat, expected, 'zlib');
  } catch (err) {
    if (err instanceof InflateLimitError) fail(source, `image data inflates to more than the ${expected} bytes expected`);
    fail(source, `corrupt zlib data: ${(err as Error).message}`);
  }
  if (raw.length !== expected) fail(source, `image data inflates to ${raw.length} bytes, expected ${expected}`);
  return raw;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/**
 * Undoes one row's filter in place. `prior` is the previous (already unfiltered) row of the same pass,
 * all zeros for the first; `bpp` is bytes per complete pixel, at least 1.
 */
function unfilterRow(filter: number, row: Uint8Array, prior: Uint8Array, bpp: number): boolean {
  const n = row.length;
  switch (filter) {
    case 0: // None
      return true;
    case 1: // Sub
      for (let i = bpp; i < n; i++) row[i] += row[i - bpp];
      return true;
    case 2: // Up
      for (let i = 0; i < n; i++) row[i] += prior[i];
      return true;
    case 3: // Average
      for (let i = 0; i < n; i++) row[i] += ((i >= bpp ? row[i - bpp] : 0) + prior[i]) >> 1;
      return true;
    case 4: // Paeth
      for (let i = 0; i < n; i++) {
        row[i] += i >= bpp ? paeth(row[i - bpp], prior[i], prior[i - bpp]) : prior[i];
      }
      return true;
    default:
      return false;
  }
}

function sampleReader(depth: number): SampleReader {
  if (depth === 16) return (row, i) => (row[2 * i] << 8) | row[2 * i + 1];
  if (depth === 8) return (row, i) => row[i];
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  return (row, i) => (row[Math.floor(i / perByte)] >> (8 - depth * (1 + (i % perByte)))) & mask;
}

/** Grayscale levels of a 1-, 2- or 4-bit image scaled to 0..255 (as pngjs does); identity for 8 and 16 bits. */
function grayLevels(depth: number): (v: number) => number {
  if (depth >= 8) return (v) => v;
  const top = (1 << depth) - 1;
  const levels = Uint8Array.from({ length: top + 1 }, (_, v) => Math.floor((v * 255) / top + 0.5));
  return (v) => levels[v];
}

/** The tRNS color key of a grayscale (1 value) or RGB (3 values) image: 16-bit big-endian values. */
function colorKey(transparency: Uint8Array | undefined, values: 1 | 3, source: string): number[] | undefined {
  if (!transparency) return undefined;
  if (transparency.length !== 2 * values) fail(source, `tRNS chunk has ${transparency.length} bytes, expected ${2 * values}`);
  return Array.from({ length: values }, (_, i) => (transparency[2 * i] << 8) | transparency[2 * i + 1]);
}

/** PLTE and tRNS as RGBA entries, 4 bytes each. */
function paletteRgba(palette: Uint8Array | undefined, transparency: Uint8Array | undefined, source: string): Uint8Array {
  if (!palette) fail(source, 'missing PLTE chunk in a palette image');
  if (palette.length === 0 || palette.length % 3 !== 0 || palette.length > 3 * 256) {
    fail(source, `PLTE chunk has ${palette.length} bytes`);
  }
  const entries = palette.length / 3;
  if (transparency && transparency.length > entries) {
    fail(source, `tRNS chunk has ${transparency.length} entries for ${entries} palette entries`);
  }
  const rgba = new Uint8Array(4 * entries);
  for (let i = 0; i < entries; i++) {
    rgba.set(palette.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = transparency && i < transparency.length ? transparency[i] : 255;
  }
  return rgba;
}

function paletteWriter(chunks: PngChunks, source: string): PixelWriter {
  const colors = paletteRgba(chunks.palette, chunks.transparency, source);
  const read = sampleReader(chunks.header.depth);
  return (row, x, out, at) => {
    const i = read(row, x);
    if (4 * i >= colors.length) fail(source, `palette index ${i} out of range (${colors.length / 4} entries)`);
    for (let c = 0; c < 4; c++) out[at + c] = colors[4 * i + c];
  };
}

/** Color types 0 and 4. */
function grayWriter(chunks: PngChunks, source: string): PixelWriter {
  const { depth, colorType } = chunks.header;
  const read = sampleReader(depth);
  const level = grayLevels(depth);
  const max = depth === 16 ? 65535 : 255;
  const hasAlpha = colorType === 4;
  // tRNS is not allowed with an alpha channel; like libpng and pngjs, ignore it there.
  const key = hasAlpha ? undefined : colorKey(chunks.transparency, 1, source);
  return (row, x, out, at) => {
    const v = read(row, hasAlpha ? 2 * x : x);
    if (key && v === key[0]) {
      out.fill(0, at, at + 4);
      return;
    }
    out[at] = out[at + 1] = out[at + 2] = level(v);
    out[at + 3] = hasAlpha ? read(row, 2 * x + 1) : max;
  };
}

/** Color types 2 and 6. */
function rgbWriter(chunks: PngChunks, source: string): PixelWriter {
  const { depth, colorType } = chunks.header;
  const read = sampleReader(depth);
  const max = depth === 16 ? 65535 : 255;
  const hasAlpha = colorType === 6;
  const samples = hasAlpha ? 4 : 3;
  const key = hasAlpha ? undefined : colorKey(chunks.transparency, 3, source);
  return (row, x, out, at) => {
    const base = samples * x;
    const r = read(row, base);
    const g = read(row, base + 1);
    const b = read(row, base + 2);
    if (key && r === key[0] && g === key[1] && b === key[2]) {
      out.fill(0, at, at + 4);
      return;
    }
    out[at] = r;
    out[at + 1] = g;
    out[at + 2] = b;
    out[at + 3] = hasAlpha ? read(row, base + 3) : max;
  };
}

function pixelWriter(chunks: PngChunks, source: string): PixelWriter {
  const colorType = chunks.header.colorType;
  if (colorType === 3) return paletteWriter(chunks, source);
  return colorType === 0 || colorType === 4 ? grayWriter(chunks, source) : rgbWriter(chunks, source);
}

/**
 * Decode a PNG file to RGBA samples (see the module comment for the values).
 * Throws InputError `<source>: invalid PNG (...)` on any malformation: no signature, truncation, a bad
 * CRC, missing IHDR/IDAT/PLTE, an unsupported color type or bit depth, corrupt zlib data, image data of
 * the wrong length, an unknown filter type or an out-of-range palette index.
 */
export function decodePng(bytes: Uint8Array, source: string): DecodedPng {
  const chunks = readChunks(bytes, source);
  const { header } = chunks;
  const bits = bitsPerPixel(header);
  const bpp = Math.max(1, bits >> 3);
  const passes = passesOf(header);
  const expected = passes.reduce((n, p) => n + p.height * (1 + rowBytes(p.width, bits)), 0);
  const raw = inflate(chunks.idat, expected, source);
  const write = pixelWriter(chunks, source);
  const pixels = header.width * header.height;
  const data = header.depth === 16 ? new Uint16Array(4 * pixels) : new Uint8Array(4 * pixels);
  let pos = 0;
  for (const pass of passes) {
    const length = rowBytes(pass.width, bits);
    let prior: Uint8Array = new Uint8Array(length);
    for (let y = 0; y < pass.height; y++) {
      const filter = raw[pos];
      const row = raw.subarray(pos + 1, pos + 1 + length);
      if (!unfilterRow(filter, row, prior, bpp)) fail(source, `bad filter type ${filter}`);
      const imageRow = pass.y0 + y * pass.dy;
      for (let x = 0; x < pass.width; x++) write(row, x, data, 4 * (imageRow * header.width + pass.x0 + x * pass.dx));
      prior = row;
      pos += 1 + length;
    }
  }
  return { width: header.width, height: header.height, data, channels: 4, depth: header.depth === 16 ? 16 : 8 };
}
