/**
 * A pool of Comlink workers sized to the machine's cores (Node worker_threads or browser Web Workers).
 * Jobs go to whichever worker is free; a failing job rejects its own promise and `close()` terminates
 * every worker, so Ctrl-C or an error never leaves threads running.
 */
import * as Comlink from 'comlink';
import { encodeModel } from '../model/format.js';
import type { ResNetModel } from '../model/model.js';
import { isNode } from '../util/runtime.js';
import type { SerializedModel, WorkerApi } from './worker-api.js';

interface PoolWorker {
  api: Comlink.Remote<WorkerApi>;
  terminate(): void;
  models: Set<string>;
  /** Rejects with the reason when the worker dies (out of memory, killed, crashed): its jobs never answer. */
  died: Promise<never>;
  /** True once it has died. */
  readonly dead: boolean;
}

/** What a worker's end looks like: `died` rejects once `onDeath` reports it (never unhandled on its own). */
function deathWatch(onDeath: (report: (reason: string) => void) => void): { died: Promise<never>; readonly dead: boolean } {
  const watch = { dead: false, died: undefined as unknown as Promise<never> };
  watch.died = new Promise<never>((_, reject) =>
    onDeath((reason) => {
      watch.dead = true;
      reject(new Error(`pool worker died (${reason})`));
    }),
  );
  watch.died.catch(() => undefined);
  return watch;
}

/** The number of cores this runtime reports (at least 1). */
export async function availableCores(): Promise<number> {
  if (isNode) {
    const os = await import('node:os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
}

async function spawnWorker(): Promise<PoolWorker> {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
    // Running from TypeScript sources (tests, benchmarks): register the tsx loader inside the worker
    // before importing the TypeScript entry point.
    const worker = fromSource
      ? new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
          { eval: true },
        )
      : new Worker(url);
    // An uncaught error (ERR_WORKER_OUT_OF_MEMORY...) comes before the exit and says more than its code.
    let failure: string | undefined;
    worker.on('error', (err) => (failure = err.message));
    const watch = deathWatch((report) => worker.on('exit', (code) => report(failure ?? `exit code ${code}`)));
    worker.unref();
    return Object.assign(watch, { api: Comlink.wrap<WorkerApi>(nodeEndpoint(worker)), terminate: () => void worker.terminate(), models: new Set<string>() });
  }
  const worker = new Worker(url, { type: 'module' });
  const watch = deathWatch((report) => worker.addEventListener('error', (event) => report(event.message || 'uncaught error')));
  return Object.assign(watch, { api: Comlink.wrap<WorkerApi>(worker), terminate: () => worker.terminate(), models: new Set<string>() });
}

export class WorkerPool {
  private readonly idle: PoolWorker[] = [];
  private readonly waiting: ((w: PoolWorker) => void)[] = [];
  private readonly serialized = new Map<string, SerializedModel>();
  private closed = false;

  private constructor(private readonly workers: PoolWorker[]) {
    this.idle.push(...workers);
  }

  static async create(size?: number): Promise<WorkerPool> {
    const count = size ?? (await availableCores());
    return new WorkerPool(await Promise.all(Array.from({ length: count }, spawnWorker)));
  }

  get size(): number {
    return this.workers.length;
  }

  private acquire(): Promise<PoolWorker> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    const w = this.idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseWorker(w: PoolWorker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  /** Make `model` available in the worker that runs a job; returns the key jobs name it by. */
  private async ensureModel(w: PoolWorker, model: ResNetModel): Promise<string> {
    const key = model.fingerprint;
    if (w.models.has(key)) return key;
    let s = this.serialized.get(key);
    if (!s) {
      const { json, weights } = encodeModel(model);
      s = { json, weights, alpha: model.alpha, beta: model.beta };
      this.serialized.set(key, s);
    }
    await w.api.setModel(key, s);
    w.models.add(key);
    return key;
  }

  /**
   * Run one job on a free worker, with `model` loaded there. If the worker dies meanwhile, the job
   * rejects with the worker's exit reason and a fresh worker takes its place.
   */
  async run<T>(model: ResNetModel, job: (api: Comlink.Remote<WorkerApi>, modelKey: string) => Promise<T>): Promise<T> {
    const w = await this.acquire();
    try {
      return await Promise.race([(async () => job(w.api, await this.ensureModel(w, model)))(), w.died]);
    } finally {
      if (w.dead && !this.closed) void this.replaceWorker(w);
      else this.releaseWorker(w);
    }
  }

  /** Put a new worker in the place of dead `w` (or, if none can be started, give up its slot). */
  private async replaceWorker(w: PoolWorker): Promise<void> {
    w.api[Comlink.releaseProxy]();
    w.terminate();
    let fresh: PoolWorker;
    try {
      fresh = await spawnWorker();
    } catch {
      return;
    }
    if (this.closed) {
      fresh.terminate();
      return;
    }
    this.workers[this.workers.indexOf(w)] = fresh;
    this.releaseWorker(fresh);
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) {
      w.api[Comlink.releaseProxy]();
      w.terminate();
    }
  }
}
