/** Hand-made checkpoint bytes: legacy torch files around a given object pickle, and zip archives. */
import { zipSync } from 'fflate';

export const bytes = (...parts: (number[] | Uint8Array | string)[]): Uint8Array => {
  const arrays = parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
};

export const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
export const u64 = (n: number): number[] => [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];

/** The legacy magic number pickle (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)). */
const MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
const VERSION = [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]; // 1001
const SYS_INFO = [0x80, 0x02, 0x7d, 0x2e]; // {}

/** A legacy checkpoint whose object pickle is `object`, followed by an empty key list. */
export function legacyCheckpoint(object: Uint8Array, tail: Uint8Array = bytes([0x80, 0x02, 0x5d, 0x2e])): Uint8Array {
  return bytes(MAGIC, VERSION, SYS_INFO, object, tail);
}

/** The pickle opcodes that build `{'w': tensor}` for a float storage 'key' of `numel` elements. */
export function tensorDictPickle(numel: number, offset: number, size: number[], stride: number[]): Uint8Array {
  const int = (n: number): number[] => [0x4a, ...u32(n)]; // BININT
  const str = (s: string): (number[] | string)[] => [[0x8c, s.length], s];
  const tuple = (items: number[]): number[] => [0x28, ...items.flatMap(int), 0x74];
  return bytes(
    [0x80, 0x02, 0x7d], // PROTO 2, EMPTY_DICT
    ...str('w'),
    [0x63], 'torch._utils\n_rebuild_tensor_v2\n', // GLOBAL
    [0x28], // MARK (the argument tuple)
    [0x28], ...str('storage'), [0x63], 'torch\nFloatStorage\n', ...str('key'), ...str('cpu'), int(numel), [0x74, 0x51], // pid tuple, BINPERSID
    int(offset),
    tuple(size),
    tuple(stride),
    [0x89], // requires_grad False
    [0x74, 0x52], // TUPLE, REDUCE
    [0x73, 0x2e], // SETITEM, STOP
  );
}

/** A zip checkpoint `archive/data.pkl` + `archive/data/key` (stored or deflated). */
export function zipCheckpoint(pickle: Uint8Array, storage: Uint8Array, level: 0 | 9 = 0): Uint8Array {
  return zipSync({ 'archive/data.pkl': [pickle, { level: 0 }], 'archive/data/key': [storage, { level }] });
}
