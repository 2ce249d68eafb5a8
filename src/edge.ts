/**
 * resnet-stability for edge runtimes (Cloudflare Workers, Deno Deploy, Vercel Edge, any
 * `export default { fetch }` module): a unit's top-k singular values inside one request handler, with
 * no workers, no file system and no Node built-ins. The WebAssembly kernels are inlined in this bundle;
 * runtimes that forbid compiling WebAssembly from bytes pass their imported module as `kernels`.
 * Models are fetched by URL once per isolate and cached: the shipped ones, model directories written
 * by `resnet-stability import` (any family the package imports) served beside them and named in
 * `modelNames`, and, when allowed, any model directory, model.json or checkpoint by URL.
 *
 *   import { createSpectrumHandler } from 'resnet-stability/edge';
 *   export default createSpectrumHandler({ models: 'https://example.org/models/', modelNames: ['wrn-16-4'] });
 *
 *   POST /?model=resnet56&unit=3.1&k=5   body: a PNG/JPEG of the model's input size (32x32 for CIFAR
 *        models), or its raw bytes (CHW; 3072 for 32x32, as in CIFAR-10)
 *   -> {"model","unit","unitLabel","shape","alpha","beta","values":[...],"converged","seconds","wasmMemoryBytes"}
 *
 * An image of another size is refused (400, naming both sizes), never resized: the values must be
 * those of the image sent.
 */
import kernelBytes from '../build/resnet-stability.wasm';
import { CIFAR_IMAGE_BYTES, CIFAR_RECORD_BYTES } from './data/cifar.js';
import { decodeImage, detectImageFormat } from './data/image.js';
import { modelCache, SHIPPED_MODELS, shippedModelUrl } from './model/load.js';
import { InputError } from './util/errors.js';
import { loadKernels, setDefaultKernelSource, type WasmSource } from './wasm/kernels.js';
import { unitTopSpectrum } from './web/unit-top-spectrum.js';
import type { Shape3 } from './model/graph.js';

export { unitTopSpectrum, type UnitTopSpectrum, type UnitTopSpectrumRequest } from './web/unit-top-spectrum.js';
export { loadModel, SHIPPED_MODELS, setShippedModelsBase } from './model/load.js';
export { decodeImage } from './data/image.js';
export { readCifarBatch, imageToFloat } from './data/cifar.js';
export { InputError } from './util/errors.js';

export interface SpectrumHandlerOptions {
  /** Folder URL holding the shipped models as <name>/model.json (default: the package's models/). */
  models?: URL | string;
  /**
   * Further model directories in the `models` folder (`<models>/<name>/model.json`, as `resnet-stability
   * import --out` writes them), which requests may name besides the shipped ones (default none).
   */
  modelNames?: readonly string[];
  /**
   * Accept `model=<http(s) URL of a model directory, model.json or checkpoint>` in requests (default
   * false): any family the package imports.
   */
  allowModelUrls?: boolean;
  /**
   * The largest k a request may ask for (default 20: at most 64 MiB of WebAssembly memory on any unit of
   * a CIFAR ResNet, so it fits the common 128 MiB isolate limit; k = 50 on a stage-1 unit needs 128 MiB).
   */
  maxK?: number;
  /** The kernels as a compiled module, for runtimes that import .wasm files as modules. */
  kernels?: WebAssembly.Module;
  /**
   * The largest request body accepted (default 1 MiB; a 32x32 image is a few kilobytes). A larger
   * Content-Length is refused before the body is read, and a body streamed without one is cut there.
   */
  maxBodyBytes?: number;
  /**
   * Requests computed at once (default 1). Each computation holds its own WebAssembly working memory,
   * so this is what keeps an isolate inside its memory limit: the maxK note above is per computation.
   */
  maxConcurrent?: number;
  /** Requests that may wait for a free computation (default 8); beyond them a request gets 503. */
  maxQueued?: number;
}

/** A request the handler answers with a status other than 400 (too large, busy). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request body, at most `limit` bytes: refused from its Content-Length when that says more, else
 * read chunk by chunk and refused as soon as it passes the limit (the rest is never read).
 */
async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = (size: string): HttpError => new HttpError(413, `request body: ${size}, more than the ${limit} bytes accepted`);
  const declared = Number(request.headers.get('content-length'));
  if (declared > limit) throw tooLarge(`Content-Length ${declared}`);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`more than ${limit} bytes streamed`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

/** At most `size` holders at once, at most `queue` waiting; `acquire` resolves to a release function. */
function semaphore(size: number, queue: number): { acquire(): Promise<() => void> | undefined } {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    acquire() {
      if (active < size) {
        active++;
        return Promise.resolve(release);
      }
      if (waiting.length >= queue) return undefined;
      return new Promise((resolve) => waiting.push(() => resolve(release)));
    },
  };
}

let kernelSourceSet = false;

function useKernels(kernels?: WasmSource): void {
  if (kernelSourceSet) return;
  setDefaultKernelSource(kernels ?? kernelBytes);
  kernelSourceSet = true;
}

/**
 * Pixels of one image of `shape` (C x H x W, default CIFAR's 3 x 32 x 32) from a request body: a PNG or
 * JPEG of H x W, C*H*W raw bytes (CHW), or for 32x32 models a 3073-byte CIFAR-10 record.
 */
export function pixelsFromBody(bytes: Uint8Array, shape: Readonly<Shape3> = [3, 32, 32]): Float32Array {
  const [channels, height, width] = shape;
  const raw = channels * height * width;
  const cifar = raw === CIFAR_IMAGE_BYTES && height === width;
  if (detectImageFormat(bytes)) return decodeImage(bytes, 'request body', [height, width]);
  if (bytes.length === raw || (cifar && bytes.length === CIFAR_RECORD_BYTES)) {
    return Float32Array.from(bytes.subarray(bytes.length - raw), (v) => v / 255);
  }
  throw new InputError(
    `request body: expected a ${height}x${width} PNG or JPEG, ${raw} raw bytes (CHW)${cifar ? ` or a ${CIFAR_RECORD_BYTES}-byte CIFAR-10 record` : ''}, got ${bytes.length} bytes`,
  );
}

function numberParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new InputError(`${name}: not a number: ${text}`);
  return value;
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A `{ fetch }` request handler computing one unit's top-k singular values per POST. */
export function createSpectrumHandler(options: SpectrumHandlerOptions = {}): { fetch(request: Request): Promise<Response> } {
  const cached = modelCache();
  const maxK = options.maxK ?? 20;
  const maxBodyBytes = options.maxBodyBytes ?? 2 ** 20;
  const slots = semaphore(options.maxConcurrent ?? 1, options.maxQueued ?? 8);

  const names = [...SHIPPED_MODELS, ...(options.modelNames ?? [])];
  for (const name of options.modelNames ?? []) {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name)) throw new InputError(`modelNames: ${JSON.stringify(name)} is not a folder name (letters, digits, _ . -)`);
  }

  /** Where model `spec` is loaded from; refuses (before any download) a name or URL not allowed. */
  function modelSource(spec: string): string | URL {
    if (names.includes(spec)) return shippedModelUrl(spec, options.models);
    if (options.allowModelUrls && /^https?:\/\//.test(spec)) return spec;
    throw new InputError(`model: expected one of ${names.join(', ')}${options.allowModelUrls ? ' or an http(s) URL' : ''}, got ${spec}`);
  }

  return {
    async fetch(request: Request): Promise<Response> {
      if (request.method !== 'POST') {
        return json({ error: "POST an image (a PNG/JPEG of the model's input size, or its raw CHW bytes: 3072 for 32x32) to ?model=resnet56&unit=3.1&k=5" }, 405);
      }
      try {
        useKernels(options.kernels);
        const params = new URL(request.url).searchParams;
        const unit = params.get('unit');
        if (!unit) throw new InputError('unit: missing (an index such as 45 or stage.unit such as 3.1)');
        const k = numberParam(params, 'k') ?? 5;
        if (!Number.isInteger(k) || k < 1 || k > maxK) throw new InputError(`k must be an integer in 1..${maxK}, got ${k}`);
        const spec = params.get('model') ?? 'resnet56';
        const source = modelSource(spec);
        const body = await readBody(request, maxBodyBytes);
        const alpha = numberParam(params, 'alpha');
        const beta = numberParam(params, 'beta');
        const acquiring = slots.acquire();
        if (!acquiring) throw new HttpError(503, 'busy: too many requests in progress; retry later');
        const release = await acquiring;
        try {
          const chosen = await cached(spec, source);
          const result = await unitTopSpectrum({
            model: chosen,
            pixels: pixelsFromBody(body, chosen.inputShape),
            unit: /^\d+$/.test(unit) ? Number(unit) : unit,
            k,
            alpha,
            beta,
          });
          if (!result.values.every(Number.isFinite)) {
            throw new InputError(`alpha ${result.alpha}, beta ${result.beta}: the singular values overflowed (not finite); use smaller scales`);
          }
          // The WebAssembly memory is the bulk of what a request costs; edge runtimes cap it (often 128 MiB).
          return json({ ...result, wasmMemoryBytes: (await loadKernels()).memory.buffer.byteLength });
        } finally {
          release();
        }
      } catch (err) {
        const message = (err as Error).message.split('\n')[0];
        const status = err instanceof HttpError ? err.status : err instanceof InputError ? 400 : 500;
        return json({ error: message }, status, status === 503 ? { 'retry-after': '1' } : {});
      }
    },
  };
}
