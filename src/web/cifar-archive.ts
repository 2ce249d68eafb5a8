/**
 * The CIFAR-10 test batch out of the official archive (cifar-10-binary.tar.gz) as a browser reads it
 * from a chosen file: a streaming gunzip (fflate) feeding a tar reader that keeps only
 * `cifar-10-batches-bin/test_batch.bin` and stops as soon as it is complete. Memory stays at the one
 * member (30.7 MB); a member declaring more than MAX_MEMBER_BYTES, a damaged header or an archive
 * without the member is an InputError naming the archive.
 */
import { Gunzip } from 'fflate';
import { InputError } from '../util/errors.js';

export const ARCHIVE_MEMBER = 'cifar-10-batches-bin/test_batch.bin';
/** 10,000 records of 3073 bytes; anything larger is not the CIFAR-10 test batch. */
export const MAX_MEMBER_BYTES = 10_000 * 3073;

/** A tar reader that keeps one regular file (ustar or old-style headers; `./` prefixes ignored). */
class TarMember {
  member: Uint8Array | undefined;
  ended = false;
  private readonly header = new Uint8Array(512);
  private headerFill = 0;
  private skip = 0;
  private target: Uint8Array | undefined;
  private targetFill = 0;

  constructor(private readonly wanted: string, private readonly source: string) {}

  get done(): boolean {
    return this.member !== undefined || this.ended;
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
      } else if (this.target) {
        const n = Math.min(this.target.length - this.targetFill, chunk.length - i);
        this.target.set(chunk.subarray(i, i + n), this.targetFill);
        this.targetFill += n;
        i += n;
        if (this.targetFill === this.target.length) this.member = this.target;
      } else {
        const n = Math.min(512 - this.headerFill, chunk.length - i);
        this.header.set(chunk.subarray(i, i + n), this.headerFill);
        this.headerFill += n;
        i += n;
        if (this.headerFill === 512) {
          this.headerFill = 0;
          this.entry();
        }
      }
    }
  }

  private entry(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.ended = true;
      return;
    }
    const text = (start: number, length: number): string => {
      const field = h.subarray(start, start + length);
      const end = field.indexOf(0);
      return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
    };
    const sizeField = text(124, 12).trim();
    if (!/^[0-7]{1,11}$/.test(sizeField)) throw new InputError(`${this.source}: not a tar archive (header size field ${JSON.stringify(sizeField)})`);
    const size = parseInt(sizeField, 8);
    const prefix = text(257, 5) === 'ustar' ? text(345, 155) : '';
    const name = (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100)).replace(/^\.\//, '');
    const regular = h[156] === 0x30 || h[156] === 0;
    if (regular && name === this.wanted) {
      if (size > MAX_MEMBER_BYTES) throw new InputError(`${this.source}: ${name} declares ${size} bytes, more than the ${MAX_MEMBER_BYTES} of the CIFAR-10 test batch`);
      this.target = new Uint8Array(size);
      if (size === 0) this.member = this.target;
    } else {
      this.skip = Math.ceil(size / 512) * 512;
    }
  }
}

/**
 * The bytes of test_batch.bin from a stream of the .tar.gz archive. `onProgress` gets the compressed
 * bytes read so far after every chunk.
 */
export async function testBatchFromArchive(stream: ReadableStream<Uint8Array>, source: string, onProgress?: (bytes: number) => void): Promise<Uint8Array> {
  const tar = new TarMember(ARCHIVE_MEMBER, source);
  let failure: unknown;
  const gunzip = new Gunzip((chunk) => {
    try {
      if (!tar.done) tar.push(chunk);
    } catch (err) {
      failure = err;
    }
  });
  const reader = stream.getReader();
  let read = 0;
  try {
    while (!tar.done && failure === undefined) {
      const { done, value } = await reader.read();
      if (done) {
        gunzip.push(new Uint8Array(0), true);
        break;
      }
      read += value.length;
      gunzip.push(value);
      onProgress?.(read);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${source}: not a gzip archive, or damaged (${(err as Error).message})`);
  } finally {
    reader.cancel().catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
  if (!tar.member) throw new InputError(`${source}: the archive holds no ${ARCHIVE_MEMBER}${tar.ended ? '' : ' (it ends early)'}`);
  return tar.member;
}

/** A .tar.gz (or .tgz) archive, by its name or its gzip magic bytes. */
export function isGzip(name: string, head: Uint8Array): boolean {
  return /\.(tar\.gz|tgz)$/i.test(name) || (head[0] === 0x1f && head[1] === 0x8b);
}
