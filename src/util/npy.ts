/**
 * NumPy's .npy format (version 1.0) for float64 arrays, so that a user's `numpy.load(path)` reads an
 * output as is; and the one rule by which every raw float64 output picks its format: a path ending in
 * `.npy` gets the .npy container, any other path raw little-endian float64 (the `.f64` files).
 *
 * The header is written exactly as numpy.save (NumPy >= 1.24) writes it — the dict with sorted keys,
 * the spare spaces numpy leaves for growing the first axis in place, padding to a 64-byte boundary —
 * so the same values give the same bytes as NumPy (test/npy.test.ts checks against files NumPy wrote).
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */

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
