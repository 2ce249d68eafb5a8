/**
 * The kernels on shared-memory threads (Node only): the "threads" build of the module
 * (build/resnet-stability.threads.wasm, asconfig.json target "threads", entry assembly/threads.ts)
 * instantiated on one shared WebAssembly.Memory by this thread and by threads - 1 helper workers.
 *
 *   loadThreadedKernels({ threads? }) -> ThreadedKernels | undefined
 *
 * The result is an ordinary `Kernels` (same exports, same allocation rules) whose
 * gramBandReduceF64/F32 split their two large products (the symmetric product and the lower-triangle
 * rank-2b update, ~95% of the band reduction) over the threads, and whose gramBandToTridiagonalF64/F32
 * run the bulge chase's sweeps pipelined on them, with bitwise the same results as the
 * single-threaded build (assembly/parallel.ts, gram.ts); its method gemmLowerF64 (the Gram products of
 * spectrum/full.ts) does the same for the lower-triangle GEMM. Everything else (the band reduction's
 * panel QR among it) runs on the calling thread. The
 * helpers only compute: they wait in WebAssembly (memory.atomic.wait32) for a task while this thread
 * runs an export, so nothing here is asynchronous once loaded.
 *
 * Start-up order matters: instantiating a module on an imported memory rewrites its data segments,
 * and one of them (the runtime's object list head) is written by the start function. So every helper
 * is instantiated first, then the main instance's start function runs (`_initialize`, exported
 * instead of run implicitly), then the pool is opened and the helpers start serving. Helpers never
 * run the start function and never allocate.
 *
 * Returns undefined (the caller keeps its single-threaded kernels) outside Node, for threads < 2, or
 * when shared memory or workers are unavailable. Helper workers are unref'ed (they never keep the
 * process alive) and stopped on process exit or `close()`.
 */
import { isNode } from '../util/runtime.js';
import { Kernels, type KernelExports, type ThreadPoolExports } from './kernels.js';

/** Most threads a pool may have (assembly/parallel.ts MAX_THREADS). */
export const MAX_THREADS = 16;

/** Pages the threads build declares as its memory's minimum (asconfig.json "threads" initialMemory). */
const INITIAL_PAGES = 256;
/** Its maximum: 4 GiB, as the single-threaded build. */
const MAXIMUM_PAGES = 65536;

export interface ThreadedKernelOptions {
  /** Threads, this one included (default: the machine's available parallelism, at most 16). */
  threads?: number;
  /** The threads build's binary (default: build/resnet-stability.threads.wasm next to the package). */
  source?: URL | string | BufferSource | WebAssembly.Module;
}

/** Kernels whose band reduction runs on `threads` threads over one shared memory. */
export class ThreadedKernels extends Kernels {
  #closed = false;
  constructor(
    override readonly exports: KernelExports & ThreadPoolExports,
    readonly threads: number,
    private readonly control: number,
    private readonly workers: { terminate(): Promise<number> }[],
    private readonly onClose: () => void,
  ) {
    super(exports);
  }

  /**
   * Blocks of the band reduction's two products each thread (0: this one) has computed since the
   * kernels were loaded (all zeros after close()).
   */
  blocksDone(): number[] {
    if (this.#closed) return new Array<number>(this.threads).fill(0);
    return Array.from({ length: this.threads }, (_, id) => this.exports.threadPoolBlocks(this.control, id));
  }

  /**
   * blas.ts gemmLowerF64 (same arguments: C = alpha op(A) op(B) + beta C on the lower triangle of the
   * n x n matrix C) with its block rows shared out over the threads (assembly/parallel.ts): bitwise the
   * result of exports.gemmLowerF64, which it falls back to after close().
   */
  gemmLowerF64(
    transA: number, transB: number, n: number, k: number,
    alpha: number, a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number,
  ): void {
    if (this.#closed) this.exports.gemmLowerF64(transA, transB, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else this.exports.parallelGemmLowerF64(this.control, transA, transB, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  /**
   * Seconds this thread has spent in pool tasks (the band reduction's two products and the bulge
   * chase, each from posting to the last helper's answer) since the kernels were loaded, and the
   * number of tasks: the rest of a band reduction's time is its serial part (profiling).
   */
  taskSeconds(): { seconds: number; tasks: number } {
    if (this.#closed) return { seconds: 0, tasks: 0 };
    return { seconds: this.exports.threadPoolSeconds(this.control, 0), tasks: this.exports.threadPoolSeconds(this.control, 1) };
  }

  /** Whether close() was called (the kernels then run single-threaded). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stop the helpers and free the pool's scratch. Afterwards the kernels stay usable, single-threaded
   * (memory allocated from them stays valid). Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.stopHelpers();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Synchronous part of close() (also run on process exit). */
  stopHelpers(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
    this.exports.threadPoolClose(this.control, 200);
  }
}

function readAssemblyScriptString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

function importsFor(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      memory,
      abort(message: number, file: number, line: number, column: number) {
        throw new Error(
          `WASM kernel aborted: ${readAssemblyScriptString(memory, message)} ` +
            `(${readAssemblyScriptString(memory, file)}:${line}:${column})`,
        );
      },
      seed: () => Date.now(),
      trace() {},
      clock: () => performance.now() / 1000,
      sleepWhile: sleeperOn(memory),
    },
  };
}

/**
 * env.sleepWhile of the threads build: Atomics.wait on the shared memory for at most 50 microseconds
 * while the i32 at byte address `word` holds `value` (a view made afresh when the memory has grown).
 */
function sleeperOn(memory: WebAssembly.Memory): (word: number, value: number) => void {
  let view = new Int32Array(memory.buffer);
  return (word, value) => {
    if (view.buffer !== memory.buffer) view = new Int32Array(memory.buffer);
    Atomics.wait(view, word >>> 2, value, 0.05);
  };
}

/**
 * A helper: instantiate the module on the shared memory, say 'ready', then, given the pool's control
 * block, serve until the pool closes. A trap while serving marks the pool failed (threadFail), so the
 * main thread aborts instead of waiting. CommonJS, importing nothing but node:worker_threads.
 */
const HELPER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, id } = workerData;
const text = (ptr) => {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
};
let instance;
try {
  instance = new WebAssembly.Instance(module, { env: {
    memory,
    abort(m, f, l, c) { throw new Error('WASM kernel aborted in helper thread ' + id + ': ' + text(m) + ' (' + text(f) + ':' + l + ':' + c + ')'); },
    seed: () => Date.now(),
    trace() {},
    clock: () => performance.now() / 1000,
    sleepWhile: (() => {
      let view = new Int32Array(memory.buffer);
      return (word, value) => {
        if (view.buffer !== memory.buffer) view = new Int32Array(memory.buffer);
        Atomics.wait(view, word >>> 2, value, 0.05);
      };
    })(),
  } });
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  parentPort.postMessage({ type: 'error', message: String((err && err.stack) || err) });
}
if (instance) {
  parentPort.once('message', ({ control }) => {
    try {
      instance.exports.threadServe(control, id);
    } catch (err) {
      instance.exports.threadFail(control);
      parentPort.postMessage({ type: 'error', message: String((err && err.stack) || err) });
    }
    parentPort.close();
  });
}
`;

async function readModule(source: ThreadedKernelOptions['source']): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source !== undefined && (ArrayBuffer.isView(source) || source instanceof ArrayBuffer)) {
    return WebAssembly.compile(source as BufferSource);
  }
  const { readFile } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  // src/wasm/threads.ts and dist/node/*.js are both two levels below the package root.
  const url = source === undefined ? new URL('../../build/resnet-stability.threads.wasm', import.meta.url) : new URL(source, `file://${process.cwd()}/`);
  const path = fileURLToPath(url);
  const bytes = await readFile(path).catch(() => {
    throw new Error(`threaded WebAssembly kernels not found at ${path} (run "npm run build:wasm")`);
  });
  return WebAssembly.compile(bytes);
}

/**
 * The default thread count: RESNET_STABILITY_THREADS when set (a positive integer), else 1 outside
 * Node and inside a worker thread (worker pools already run one job per core), else the machine's
 * available parallelism (at most MAX_THREADS).
 */
export async function defaultThreadCount(): Promise<number> {
  if (!isNode) return 1;
  const fromEnv = process.env.RESNET_STABILITY_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`RESNET_STABILITY_THREADS must be a positive integer, got ${JSON.stringify(fromEnv)}`);
    return Math.min(n, MAX_THREADS);
  }
  const { isMainThread } = await import('node:worker_threads');
  if (!isMainThread) return 1;
  const { availableParallelism } = await import('node:os');
  return Math.max(1, Math.min(availableParallelism(), MAX_THREADS));
}

async function createThreadedKernels(threads: number, source: ThreadedKernelOptions['source']): Promise<ThreadedKernels> {
  const { Worker } = await import('node:worker_threads');
  const module = await readModule(source);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
  const instance = await WebAssembly.instantiate(module, importsFor(memory));
  const exports = instance.exports as unknown as KernelExports & ThreadPoolExports;
  if (typeof exports.threadServe !== 'function' || typeof exports._initialize !== 'function') {
    throw new Error('the threaded WebAssembly kernels lack threadServe/_initialize (stale build? run "npm run build:wasm")');
  }
  const workers: InstanceType<typeof Worker>[] = [];
  try {
    // Every helper instantiated (data segments written) before the main instance starts.
    for (let id = 1; id < threads; id++) {
      // No inherited execArgv: the helper is CommonJS whatever --input-type the process runs with, and
      // needs no loader hooks.
      const worker = new Worker(HELPER_SOURCE, { eval: true, execArgv: [], workerData: { module, memory, id } });
      workers.push(worker);
      await new Promise<void>((resolve, reject) => {
        const onMessage = (m: { type: string; message?: string }) => {
          worker.off('error', onError);
          if (m.type === 'ready') resolve();
          else reject(new Error(`helper thread ${id} failed to start: ${m.message}`));
        };
        const onError = (err: Error) => {
          worker.off('message', onMessage);
          reject(err);
        };
        worker.once('message', onMessage);
        worker.once('error', onError);
      });
    }
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  exports._initialize();
  const control = exports.threadPoolOpen(threads) >>> 0;
  const onExit = () => kernels.stopHelpers();
  const kernels: ThreadedKernels = new ThreadedKernels(exports, threads, control, workers, () => process.off('exit', onExit));
  for (const worker of workers) {
    worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') process.emitWarning(`resnet-stability: a helper thread failed: ${m.message}`);
    });
    worker.on('error', (err) => process.emitWarning(`resnet-stability: a helper thread failed: ${err.message}`));
    worker.postMessage({ control });
    worker.unref();
  }
  process.once('exit', onExit);
  return kernels;
}

/**
 * Fresh threaded kernels of their own (not the process-wide ones) for `threads` >= 1 threads: one
 * thread runs everything on the caller's thread through the same pool code, which benchmarks use to
 * profile the one-thread case (taskSeconds). Close them when done.
 */
export async function openThreadedKernels(threads: number, source?: ThreadedKernelOptions['source']): Promise<ThreadedKernels> {
  if (!isNode) throw new Error('threaded kernels need Node');
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new RangeError(`threads must be 1 to ${MAX_THREADS}, got ${threads}`);
  return createThreadedKernels(threads, source);
}

const pools = new Map<number, Promise<ThreadedKernels | undefined>>();

/**
 * The process-wide threaded kernels for `threads` threads (default: defaultThreadCount()), created on
 * first use; undefined outside Node, for threads < 2, or where they cannot be had (no shared memory,
 * no workers, the threads build missing: a warning says why). Each distinct thread count gets its own
 * instance (and memory).
 */
export async function loadThreadedKernels(options: ThreadedKernelOptions = {}): Promise<ThreadedKernels | undefined> {
  if (!isNode) return undefined;
  const requested = options.threads ?? (await defaultThreadCount());
  if (!Number.isInteger(requested) || requested < 1) throw new RangeError(`threads must be a positive integer, got ${requested}`);
  const threads = Math.min(requested, MAX_THREADS);
  if (threads < 2) return undefined;
  if (options.source !== undefined) return createThreadedKernels(threads, options.source);
  let pending = pools.get(threads);
  if (!pending) {
    pending = createThreadedKernels(threads, undefined).catch((err: Error) => {
      process.emitWarning(`resnet-stability: threaded kernels unavailable, running single-threaded: ${err.message}`);
      return undefined;
    });
    pools.set(threads, pending);
  }
  const kernels = await pending;
  if (kernels?.closed) {
    // Closed by its user: replace it with a fresh one.
    if (pools.get(threads) === pending) pools.delete(threads);
    return loadThreadedKernels({ ...options, threads });
  }
  return kernels;
}
