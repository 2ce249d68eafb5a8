/** Hand-made checkpoint bytes: legacy torch files around a given object pickle, and zip archives. */
import { crc32 } from 'node:zlib';
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

/** A zip member given as it is stored: method 0 (stored) or 8 (deflated), with the sizes it declares. */
export interface RawMember {
  name: string;
  data: Uint8Array;
  method?: 0 | 8;
  /** Declared uncompressed size (default: data.length, right only for stored members). */
  size?: number;
  /** Default: the right CRC-32 for a stored member, 0 for a deflated one. */
  crc?: number;
}

/** A zip archive from members written as given, lies included. */
export function rawZip(members: RawMember[]): Uint8Array {
  const le16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = new TextEncoder().encode(m.name);
    const common = [...le16(20), ...le16(0), ...le16(m.method ?? 0), ...le16(0), ...le16(0), ...u32(m.crc ?? (m.method === 8 ? 0 : crc32(m.data))), ...u32(m.data.length), ...u32(m.size ?? m.data.length), ...le16(name.length), ...le16(0)];
    const local = bytes([0x50, 0x4b, 0x03, 0x04], common, name, m.data);
    central.push(bytes([0x50, 0x4b, 0x01, 0x02], le16(20), common, le16(0), le16(0), le16(0), u32(0), u32(offset), name));
    locals.push(local);
    offset += local.length;
  }
  const directory = bytes(...central);
  const end = bytes([0x50, 0x4b, 0x05, 0x06], le16(0), le16(0), le16(members.length), le16(members.length), u32(directory.length), u32(offset), le16(0));
  return bytes(...locals, directory, end);
}
