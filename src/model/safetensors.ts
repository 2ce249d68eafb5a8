/**
 * The safetensors weights format (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then
 * the raw little-endian tensors, offsets relative to the end of the header. Read into a StateDict
 * (float32, as checkpoint/torch.ts gives) and written from one, float32.
 *
 * Every length, offset and shape is checked against the file before anything is allocated, so a
 * hostile file costs at most its own size; a problem is one InputError line naming the source.
 */
import { InputError } from '../util/errors.js';
import type { StateDict } from './types.js';

/** The largest JSON header read (the format's own reference implementation allows 100 MB). */
const MAX_HEADER_BYTES = 100 * 2 ** 20;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8 };

/** True when the bytes start like a safetensors file: a header length within the file, then `{`. */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  return n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * The tensors of a safetensors file as float32 (F32, F64, F16, BF16; I64 only for the
 * `num_batches_tracked` counters, which are dropped as the checkpoint reader drops them).
 */
export function readSafetensors(bytes: Uint8Array, source: string): StateDict {
  const fail = (message: string): never => {
    throw new InputError(`${source}: ${message}`);
  };
  if (bytes.length < 8) fail(`truncated safetensors file (${bytes.length} bytes, no header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) fail(`safetensors header length ${declared} runs beyond the file (${bytes.length} bytes)`);
  if (declared > BigInt(MAX_HEADER_BYTES)) fail(`safetensors header length ${declared} exceeds ${MAX_HEADER_BYTES} bytes`);
  const n = Number(declared);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (error) {
    fail(`safetensors header is not JSON (${(error as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('safetensors header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const dict: StateDict = new Map();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!e || typeof e !== 'object') fail(`tensor ${name}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = e!;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`tensor ${name}: unsupported dtype ${JSON.stringify(dtype)} (F32, F64, F16, BF16)`);
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of at most 8 non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > data.length) fail(`tensor ${name}: data_offsets [${begin},${end}] out of range (${data.length} data bytes)`);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = DTYPE_BYTES[dtype as string]!;
    if (end - begin !== numel * size) fail(`tensor ${name}: data_offsets span ${end - begin} bytes, shape [${(shape as number[]).join(',')}] of ${dtype} needs ${numel * size}`);
    if (dtype === 'I64') {
      if (name.endsWith('num_batches_tracked')) continue;
      fail(`tensor ${name}: dtype I64 is not a floating-point weight`);
    }
    const raw = new DataView(data.buffer, data.byteOffset + begin, end - begin);
    const values = new Float32Array(numel);
    for (let i = 0; i < numel; i++) {
      switch (dtype) {
        case 'F32': values[i] = raw.getFloat32(4 * i, true); break;
        case 'F64': values[i] = raw.getFloat64(8 * i, true); break;
        case 'F16': values[i] = halfToFloat(raw.getUint16(2 * i, true)); break;
        default: values[i] = new Float32Array(new Uint32Array([raw.getUint16(2 * i, true) << 16]).buffer)[0]!; // BF16
      }
    }
    dict.set(name, { shape: [...(shape as number[])], data: values });
  }
  if (dict.size === 0) fail('safetensors file holds no tensors');
  return dict;
}

/** A state dict as a safetensors file, float32, tensors in the dict's order. */
export function writeSafetensors(dict: StateDict): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, { shape, data }] of dict) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * data.length] };
    offset += 4 * data.length;
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  // The data start 8-byte aligned, as the reference writer pads the header with spaces.
  const json = new Uint8Array(text.length + ((8 - (text.length % 8)) % 8)).fill(0x20);
  json.set(text);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const { data } of dict.values()) {
    const le = new Uint8Array(data.length * 4);
    const v = new DataView(le.buffer);
    for (let i = 0; i < data.length; i++) v.setFloat32(4 * i, data[i]!, true);
    out.set(le, at);
    at += le.length;
  }
  return out;
}
