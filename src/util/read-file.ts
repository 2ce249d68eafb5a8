/**
 * Node: reading a file input (weights, data, images, manifests). Only regular files are read: a
 * device (`/dev/zero`), a FIFO or a socket can block forever or never end, so they are refused by
 * what the opened handle is, not by a name check. A size limit keeps a huge file from being read
 * into memory only to be refused afterwards.
 */
import { InputError } from './errors.js';

/**
 * The bytes of the regular file at `path`. Throws InputError starting with `label` (default: the
 * path) when it does not exist, is not a regular file (naming what it is), holds more than
 * `maxBytes`, or cannot be read.
 */
export async function readRegularFile(path: string, maxBytes: number, label = path): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO without a writer would otherwise wait for one.
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${label}: no such file` : `${label}: cannot read (${code ?? (err as Error).message})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new InputError(`${label}: not a regular file (${fileKind(stat)})`);
    if (stat.size > maxBytes) throw new InputError(`${label}: ${stat.size} bytes, more than the ${maxBytes} such a file may have`);
    const bytes = new Uint8Array(stat.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled !== bytes.length) throw new InputError(`${label}: changed while it was read (${filled} of ${bytes.length} bytes)`);
    return bytes;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${label}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    await handle.close();
  }
}

/** What a non-regular file is, for messages. */
export function fileKind(stat: import('node:fs').Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}
