/**
 * Node: where the CIFAR-10 test set comes from when the user gives no path, so that a new user needs no
 * flags and no network. In order: $RESNET_STABILITY_DATA (a file or directory), the full test set in the
 * user cache directory, and finally the 1,000-image sample shipped with the package. `--data cifar10`
 * asks for the full set: the same order, except that a one-time download of the official archive into
 * the cache replaces the sample.
 *
 * The download streams the archive once: every chunk feeds the MD5, the progress callback and a streaming
 * gunzip whose output feeds a minimal tar reader that keeps only cifar-10-batches-bin/test_batch.bin
 * (30.7 MB; the rest of the 163 MB archive is never held in memory). The file is written to the cache
 * only after the checksum of the whole archive has been verified, under a temporary name then renamed,
 * so the cache never holds a partial or unverified file.
 */
import { Gunzip } from 'fflate';
import { InputError } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';
import { CIFAR_ARCHIVE_DIR, CIFAR_TEST_FILE, locateCifarFile, readCifarBatch } from './cifar.js';

/** The environment variable naming a CIFAR-10 file or directory. */
export const DATA_ENV = 'RESNET_STABILITY_DATA';
/** The official binary archive and its published MD5. */
export const CIFAR_ARCHIVE_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR_ARCHIVE_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/**
 * The sample shipped with the package: the first 1,000 records of the CIFAR-10 test file, class-balanced
 * (image i has class i mod 10); decoded, like the rest of our test file, from a public JPEG copy of the set.
 */
export const CIFAR_SAMPLE_URL = new URL('data/cifar10-sample/test_batch_1000.bin', packageRoot);

/** Where a CIFAR-10 file came from: a path given, $RESNET_STABILITY_DATA, the cache, a download, or the shipped sample. */
export type CifarOrigin = 'path' | 'environment' | 'cache' | 'download' | 'sample';

export interface CifarSource {
  path: string;
  origin: CifarOrigin;
}

export interface DownloadProgress {
  receivedBytes: number;
  /** From Content-Length; undefined when the server does not say. */
  totalBytes?: number;
}

export interface CifarSourceOptions {
  /** Called after every received chunk of the archive (only when downloading). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Replaces the global fetch (tests serve a fake archive). */
  fetchImpl?: (url: string) => Promise<Response>;
  /** Replaces the user cache directory (see `cifarCacheDir`). */
  cacheDir?: string;
  /** Replaces process.env. */
  env?: Record<string, string | undefined>;
  /** Replace the official archive URL and MD5 (tests). */
  archiveUrl?: string;
  archiveMd5?: string;
  /** Replaces the shipped sample (tests). */
  sampleFile?: string;
}

/**
 * The cache directory for CIFAR-10, `<base>/resnet-stability/cifar10`, where base is
 * %LOCALAPPDATA% on Windows (else <home>\AppData\Local); elsewhere $XDG_CACHE_HOME if set, else
 * ~/Library/Caches on macOS and ~/.cache on Linux and the rest.
 */
export function cifarCacheDir(env: Record<string, string | undefined>, platform: string, home: string): string {
  const sep = platform === 'win32' ? '\\' : '/';
  let base: string;
  if (platform === 'win32') base = env.LOCALAPPDATA || [home, 'AppData', 'Local'].join(sep);
  else if (env.XDG_CACHE_HOME) base = env.XDG_CACHE_HOME;
  else base = platform === 'darwin' ? [home, 'Library', 'Caches'].join(sep) : [home, '.cache'].join(sep);
  return [base.replace(/[\\/]+$/, ''), 'resnet-stability', 'cifar10'].join(sep);
}

/**
 * The CIFAR-10 test file for `spec` and where it came from. `undefined` is the default source:
 * $RESNET_STABILITY_DATA if set, else `<cacheDir>/test_batch.bin` if present, else the shipped sample.
 * `'cifar10'` is the full test set: the same, except that it is downloaded into the cache instead of
 * falling back to the sample (write `./cifar10` for a path of that name). Any other spec is a file or
 * directory (`locateCifarFile`).
 *
 * Throws InputError: for a missing path (naming it, and the variable if it came from there); when the
 * download fails (offline, say), with one line naming `--data cifar10`, the reason, the official URL to
 * get the file from and where to put it instead.
 */
export async function resolveCifarData(spec?: string, opts: CifarSourceOptions = {}): Promise<CifarSource> {
  if (spec !== undefined && spec !== 'cifar10') return { path: await locateCifarFile(spec), origin: 'path' };
  const env = opts.env ?? process.env;
  const fromEnv = env[DATA_ENV];
  if (fromEnv) {
    try {
      return { path: await locateCifarFile(fromEnv), origin: 'environment' };
    } catch (err) {
      throw err instanceof InputError ? new InputError(`${DATA_ENV}: ${err.message}`) : err;
    }
  }
  const { stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { homedir } = await import('node:os');
  const { fileURLToPath } = await import('node:url');
  const cacheDir = opts.cacheDir ?? cifarCacheDir(env, process.platform, homedir());
  const cached = join(cacheDir, CIFAR_TEST_FILE);
  if (await stat(cached).then((s) => s.isFile(), () => false)) return { path: cached, origin: 'cache' };
  if (spec === 'cifar10') return { path: await downloadCifarTest(cacheDir, opts), origin: 'download' };
  return { path: opts.sampleFile ?? fileURLToPath(CIFAR_SAMPLE_URL), origin: 'sample' };
}

/** The path of the CIFAR-10 test file for `spec` (see `resolveCifarData`). */
export async function resolveCifarSource(spec?: string, opts: CifarSourceOptions = {}): Promise<string> {
  return (await resolveCifarData(spec, opts)).path;
}

/** One line saying which data a command uses, e.g. for stderr: `data: <path> (1000 images, the shipped sample: ...)`. */
export function describeCifarSource(source: CifarSource, images: number): string {
  const what: Record<CifarOrigin, string> = {
    path: 'given with --data',
    environment: `from $${DATA_ENV}`,
    cache: 'the cached test set',
    download: 'the official test set, just downloaded',
    sample: 'the CIFAR-10 sample shipped with the package, the first 1000 test images; --data cifar10 for the full set',
  };
  return `data: ${source.path} (${images} images, ${what[source.origin]})`;
}

/** Download the archive, verify it and write `<cacheDir>/test_batch.bin` atomically; returns its path. */
async function downloadCifarTest(cacheDir: string, opts: CifarSourceOptions): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { mkdir, rename, rm, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const url = opts.archiveUrl ?? CIFAR_ARCHIVE_URL;
  const expectedMd5 = opts.archiveMd5 ?? CIFAR_ARCHIVE_MD5;
  const fetchImpl = opts.fetchImpl ?? ((u: string) => fetch(u));
  const fail = (reason: string): InputError =>
    new InputError(
      `--data cifar10: cannot download CIFAR-10 (${reason}): get ${CIFAR_ARCHIVE_DIR}/${CIFAR_TEST_FILE} from ${url} and ` +
        `put ${CIFAR_TEST_FILE} in ${cacheDir}, set ${DATA_ENV}, or pass --data <file or directory>`,
    );
  const describe = (err: unknown): string => {
    if (!(err instanceof Error)) return String(err);
    return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  };

  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (err) {
    throw fail(describe(err));
  }
  if (!response.ok || !response.body) throw fail(`HTTP ${response.status} from ${url}`);
  const totalBytes = Number(response.headers.get('content-length')) || undefined;

  const memberName = `${CIFAR_ARCHIVE_DIR}/${CIFAR_TEST_FILE}`;
  const md5 = createHash('md5');
  const tar = new TarMemberReader(memberName);
  const gunzip = new Gunzip((chunk) => tar.push(chunk));
  let receivedBytes = 0;
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      md5.update(value);
      receivedBytes += value.length;
      if (!tar.done) gunzip.push(value);
      opts.onProgress?.({ receivedBytes, totalBytes });
    }
    if (!tar.done) gunzip.push(new Uint8Array(0), true);
  } catch (err) {
    throw fail(describe(err));
  }
  const digest = md5.digest('hex');
  if (digest !== expectedMd5) throw fail(`checksum mismatch: MD5 ${digest}, expected ${expectedMd5}`);
  if (!tar.member) throw fail(`the archive has no ${memberName}`);
  try {
    readCifarBatch(tar.member, memberName);
  } catch (err) {
    throw fail((err as Error).message);
  }

  const target = join(cacheDir, CIFAR_TEST_FILE);
  const temporary = join(cacheDir, `.${CIFAR_TEST_FILE}.${process.pid}.${Date.now()}.tmp`);
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(temporary, tar.member);
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => undefined); // may never have been created
    throw fail(`cannot write ${target}: ${(err as Error).message}`);
  }
  return target;
}

/**
 * A streaming reader of a tar archive (ustar/GNU headers) that keeps the bytes of the one regular file
 * named `wanted` (a leading `./` is ignored). Feed it with `push`; once `done`, `member` holds the file
 * if it was found. Entries with long-name extensions (GNU `L`, pax `x`) are skipped as opaque entries,
 * so `wanted` must fit the 100 + 155 byte ustar name fields, as the CIFAR-10 names do.
 * Throws Error on a header whose size field is not octal.
 */
class TarMemberReader {
  member: Uint8Array | undefined;
  private ended = false;
  private readonly header = new Uint8Array(512);
  private headerFill = 0;
  /** Bytes of the current entry's data and padding still to skip. */
  private skip = 0;
  /** The wanted file while it is being filled. */
  private target: Uint8Array | undefined;
  private targetFill = 0;

  constructor(private readonly wanted: string) {}

  /** True once the file is complete or the archive's end marker was read. */
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
          this.startEntry();
        }
      }
    }
  }

  private startEntry(): void {
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
    if (!/^[0-7]+$/.test(sizeField)) throw new Error(`invalid tar header (size field '${sizeField}')`);
    const size = parseInt(sizeField, 8);
    const prefix = text(257, 5) === 'ustar' ? text(345, 155) : '';
    const name = (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100)).replace(/^\.\//, '');
    const isRegularFile = h[156] === 0x30 || h[156] === 0;
    if (isRegularFile && name === this.wanted) {
      this.target = new Uint8Array(size);
      if (size === 0) this.member = this.target;
    } else {
      this.skip = Math.ceil(size / 512) * 512;
    }
  }
}
