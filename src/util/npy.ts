/**
 * NumPy's .npy format (version 1.0) for float64 arrays, so that a user's `numpy.load(path)` reads an
 * output as is, and read back (the job files of a study, a user's own file); and the one rule by which every raw float64 output picks its format: a path ending in
 * `.npy` gets the .npy container, any other path raw little-endian float64 (the `.f64` files).
 *
 * The header is written exactly as numpy.save (NumPy >= 1.24) writes it — the dict with sorted keys,
 * the spare spaces numpy leaves for growing the first axis in place, padding to a 64-byte boundary —
 * so the same values give the same bytes as NumPy (test/npy.test.ts checks against files NumPy wrote).
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */

import { InputError } from './errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy.lib.format.ARRAY_ALIGN: the data starts on this boundary (for memory mapping). */
const ARRAY_ALIGN = 64;
/** numpy.lib.format.GROWTH_AXIS_MAX_DIGITS: room left in the header for the first axis to grow. */
const GROWTH_AXIS_MAX_DIGITS = 21;
/** Format 1.0 stores the header length in 16 bits. */
const MAX_HEADER = 0xffff;

/** Python's repr of a shape tuple: `()`, `(7,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The .npy bytes of `values` as a C-order float64 array of `shape` (default: a vector). */
export function npyFloat64(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Uint8Array {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new RangeError(`npy: bad shape ${shapeRepr(shape)}`);
  const count = shape.reduce((a, d) => a * d, 1);
  if (count !== values.length) throw new RangeError(`npy: shape ${shapeRepr(shape)} holds ${count} values, not ${values.length}`);
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const withNewline = header.length + 1;
  const padding = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + withNewline) % ARRAY_ALIGN);
  const headerLength = withNewline + padding;
  if (headerLength > MAX_HEADER) throw new RangeError(`npy: header of ${headerLength} bytes is too long for format 1.0`);
  const dataStart = MAGIC.length + 4 + headerLength;
  const bytes = new Uint8Array(dataStart + 8 * count);
  bytes.set(MAGIC, 0);
  bytes[6] = 1; // major version
  bytes[7] = 0; // minor version
  new DataView(bytes.buffer).setUint16(8, headerLength, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i); // ASCII
  bytes.fill(0x20, 10 + header.length, dataStart - 1);
  bytes[dataStart - 1] = 0x0a;
  const data = new DataView(bytes.buffer, dataStart);
  for (let i = 0; i < count; i++) data.setFloat64(8 * i, values[i], true);
  return bytes;
}

/** Raw little-endian float64 bytes of `values` (the `.f64` files). */
export function rawFloat64(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(8 * values.length);
  const data = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) data.setFloat64(8 * i, values[i], true);
  return bytes;
}

/** Whether an output path asks for the .npy container (by its extension, any case). */
export function isNpyPath(path: string): boolean {
  return /\.npy$/i.test(path);
}

/** The bytes of a float64 output file at `path`: .npy for `*.npy`, else raw little-endian float64. */
export function float64FileBytes(path: string, values: ArrayLike<number>, shape?: readonly number[]): Uint8Array {
  return isNpyPath(path) ? npyFloat64(values, shape) : rawFloat64(values);
}

/** A float64 array read from a .npy file: its values in C order and its shape. */
export interface NpyFloat64 {
  values: Float64Array;
  shape: number[];
}

/**
 * The float64 array in the .npy bytes `bytes` of the file `name` (named in errors): format 1.0, 2.0 or
 * 3.0, dtype '<f8', C order (or Fortran order with at most one axis, the same bytes). The header is
 * checked against the file's real size before anything is allocated, so a lying header costs nothing.
 * Errors: InputError, one line naming `name` and what is wrong.
 */
export function parseNpyFloat64(bytes: Uint8Array, name: string): NpyFloat64 {
  function fail(problem: string): never {
    throw new InputError(`${name}: ${problem}`);
  }
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`.npy format version ${major}.${bytes[7]}, not 1.0, 2.0 or 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail('cut short inside its header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) fail(`header of ${headerLength} bytes runs past the end of the ${bytes.length}-byte file`);
  // Format 3.0 allows UTF-8 in the header; 1.0 and 2.0 are latin-1. Only ASCII is meaningful here.
  let header = '';
  for (let i = 8 + lengthBytes; i < dataStart; i++) header += String.fromCharCode(bytes[i]);
  const field = (key: string, pattern: string): string | undefined => new RegExp(`['"]${key}['"]\\s*:\\s*${pattern}`).exec(header)?.[1];
  const descr = field('descr', `['"]([^'"]*)['"]`);
  if (descr === undefined) fail('its header has no descr (dtype)');
  // '<f8' is float64 little-endian; NumPy writes '<f8' on little-endian machines.
  if (descr !== '<f8') fail(`dtype '${descr}', not float64 ('<f8')`);
  const fortran = field('fortran_order', '(True|False)');
  if (fortran === undefined) fail('its header has no fortran_order');
  const shapeText = field('shape', '\\(([^)]*)\\)');
  if (shapeText === undefined) fail('its header has no shape tuple');
  const parts = shapeText!.split(',').map((s) => s.trim());
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // the trailing comma of (n,)
  const shape = parts.length === 1 && parts[0] === '' ? [] : parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (!shape.every((d) => Number.isSafeInteger(d))) fail(`shape (${shapeText}) is not a tuple of non-negative integers`);
  if (fortran === 'True' && shape.filter((d) => d !== 1).length > 1) fail('Fortran-order arrays of more than one axis are not read (save a C-order array)');
  const count = shape.reduce((a, d) => a * d, 1);
  const dataBytes = bytes.length - dataStart;
  if (!Number.isSafeInteger(count * 8) || count * 8 !== dataBytes) {
    fail(`its header says shape (${shape.join(', ')}), ${count} float64 values, but the file holds ${dataBytes} bytes of data${dataBytes < count * 8 ? ' (cut short?)' : ''}`);
  }
  // A copy: the data need not be 8-byte aligned in `bytes`.
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = view.getFloat64(dataStart + 8 * i, true);
  return { values, shape };
}

/**
 * The values of a float64 vector file at `path`, by the same rule as writing: a `.npy` file (one axis)
 * for `*.npy`, else raw little-endian float64. Errors: InputError naming the path.
 */
export async function readFloat64File(path: string): Promise<Float64Array> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (isNpyPath(path)) {
    const { values, shape } = parseNpyFloat64(bytes, path);
    if (shape.length !== 1) throw new InputError(`${path}: shape (${shape.join(', ')}), not a vector`);
    return values;
  }
  if (bytes.length % 8 !== 0) throw new InputError(`${path}: ${bytes.length} bytes, not a whole number of float64 values`);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
