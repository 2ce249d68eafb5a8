/**
 * Reading the zip container of PyTorch >= 1.6 checkpoints. Only the central directory is read up
 * front; a member is inflated when it is asked for, into exactly the size the directory declares
 * (inflation stops as soon as it passes that size), and its CRC-32 is checked. So a checkpoint costs
 * the memory of the members its state dict references, however large the archive claims to be.
 */
import { crc32 } from '../../util/crc32.js';
import { inflateAtMost } from '../../util/inflate.js';
import { CheckpointError } from './errors.js';

/** True when the bytes start with a zip local-file header ("PK\x03\x04"). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** One member as the central directory describes it. */
interface ZipMember {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeader: number;
}

const corrupt = (what: string): CheckpointError => new CheckpointError(`truncated or corrupt zip archive (${what})`);

/** The members of a zip archive, read on demand. */
export class ZipArchive {
  private readonly view: DataView;
  private readonly members = new Map<string, ZipMember>();

  /** Parses the central directory; throws CheckpointError when it is missing or inconsistent. */
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const view = this.view;
    const u16 = (at: number): number => view.getUint16(at, true);
    const u32 = (at: number): number => view.getUint32(at, true);
    const u64 = (at: number): number => {
      const value = view.getBigUint64(at, true);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('a 64-bit size beyond 2^53');
      return Number(value);
    };
    // The end-of-central-directory record: 22 bytes plus a comment of at most 65535 bytes.
    let end = bytes.length - 22;
    const lowest = Math.max(0, bytes.length - 22 - 65535);
    while (end >= lowest && !(end >= 0 && u32(end) === 0x06054b50)) end--;
    if (end < lowest) throw corrupt('no end of central directory');
    let count = u16(end + 10);
    let offset = u32(end + 16);
    if (end >= 20 && u32(end - 20) === 0x07064b50) {
      const zip64End = u64(end - 12);
      if (zip64End + 56 > bytes.length || u32(zip64End) !== 0x06064b50) throw corrupt('bad zip64 end record');
      count = u64(zip64End + 32);
      offset = u64(zip64End + 48);
    }
    for (let i = 0; i < count; i++) {
      if (offset + 46 > bytes.length || u32(offset) !== 0x02014b50) throw corrupt('bad central directory entry');
      const nameLength = u16(offset + 28);
      const extraLength = u16(offset + 30);
      const next = offset + 46 + nameLength + extraLength + u16(offset + 32);
      if (next > bytes.length) throw corrupt('bad central directory entry');
      const name = new TextDecoder().decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
      let compressedSize = u32(offset + 20);
      let size = u32(offset + 24);
      let localHeader = u32(offset + 42);
      // Sizes and offset at 0xffffffff live in the zip64 extra field, in this order.
      for (let at = offset + 46 + nameLength; at + 4 <= offset + 46 + nameLength + extraLength; ) {
        const id = u16(at);
        const length = u16(at + 2);
        if (id === 0x0001) {
          let field = at + 4;
          const wide = (value: number): number => {
            if (value !== 0xffffffff) return value;
            if (field + 8 > at + 4 + length) throw corrupt('short zip64 extra field');
            const v = u64(field);
            field += 8;
            return v;
          };
          size = wide(size);
          compressedSize = wide(compressedSize);
          localHeader = wide(localHeader);
        }
        at += 4 + length;
      }
      this.members.set(name, { name, method: u16(offset + 10), crc: u32(offset + 16), compressedSize, size, localHeader });
      offset = next;
    }
  }

  get names(): string[] {
    return [...this.members.keys()];
  }

  /** The size `name` declares uncompressed, or undefined when there is no such member. */
  size(name: string): number | undefined {
    return this.members.get(name)?.size;
  }

  /**
   * The bytes of member `name` (undefined when absent): exactly its declared size, with its CRC-32
   * checked. Throws CheckpointError when it declares more than `maxBytes`, when its data is cut short,
   * inflates to another size, or fails the CRC, naming the member.
   */
  read(name: string, maxBytes: number): Uint8Array | undefined {
    const member = this.members.get(name);
    if (!member) return undefined;
    if (member.size > maxBytes) throw new CheckpointError(`zip member ${name} declares ${member.size} bytes, more than the ${maxBytes} it may hold`);
    const { bytes, view } = this;
    const at = member.localHeader;
    if (at + 30 > bytes.length || view.getUint32(at, true) !== 0x04034b50) throw corrupt(`bad local header of ${name}`);
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    const end = start + member.compressedSize;
    if (end > bytes.length) throw corrupt(`${name} is cut short`);
    const data = bytes.subarray(start, end);
    let out: Uint8Array;
    if (member.method === 0) {
      if (member.compressedSize !== member.size) throw corrupt(`stored member ${name} has two sizes`);
      out = data;
    } else if (member.method === 8) {
      try {
        out = inflateAtMost(data, member.size, 'deflate');
      } catch (error) {
        throw corrupt(`${name} does not inflate to its declared ${member.size} bytes: ${(error as Error).message}`);
      }
      if (out.length !== member.size) throw corrupt(`${name} inflates to ${out.length} bytes, it declares ${member.size}`);
    } else {
      throw new CheckpointError(`unsupported zip compression method ${member.method} in ${name}`);
    }
    if (crc32(out) !== member.crc) throw corrupt(`CRC mismatch in ${name}`);
    return out;
  }
}
