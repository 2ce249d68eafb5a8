/**
 * A pool of Comlink workers sized to the machine's cores (Node worker_threads or browser Web Workers),
 * the parallel executor of a study's jobs (src/study/executor.ts). Jobs go to whichever worker is free;
 * a failing job rejects its own promise, and `close()` terminates every worker and rejects the jobs
 * still waiting or running, so Ctrl-C or an error never leaves threads running.
 *
 * `wideLane()` takes one worker out of the pool (the next free one, ahead of waiting jobs) and keeps it
 * until the lane closes: its jobs ask for as many threads as the pool has workers (the Gram route's
 * threaded kernels, started inside that worker), one job at a time, while the other workers serve
 * `run`. A stage-1 spectrum on both cores takes about half the time it takes on one pool worker beside
 * another (BENCHMARKS.md), so a long spectrum no longer holds one core for the whole of its run.
 */
import * as Comlink from 'comlink';
import { encodeModel } from '../model/format.js';
import type { ResNetModel } from '../model/model.js';
import { InProcessExecutor, type StudyExecutor, type StudyJob, type StudyJobResult, type WideLane } from '../study/executor.js';
import { restoreErrorClass } from '../util/errors.js';
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

/** The executor for `workers` threads: a worker pool, or this thread alone when `workers` is 1. */
export async function createExecutor(workers: number): Promise<StudyExecutor> {
  return workers > 1 ? WorkerPool.create(workers) : new InProcessExecutor();
}

const closedError = () => new Error('worker pool is closed');

export class WorkerPool implements StudyExecutor {
  private readonly idle: PoolWorker[] = [];
  private readonly waiting: { resolve: (w: PoolWorker) => void; reject: (err: Error) => void }[] = [];
  private readonly serialized = new Map<string, SerializedModel>();
  private closed = false;
  /** Rejecters of the jobs running now: a terminated worker never answers, so `close()` rejects them. */
  private readonly running = new Set<(err: Error) => void>();
  /** The rejecter of the job each worker runs now: a worker that dies rejects it with its exit reason. */
  private readonly jobOnWorker = new Map<PoolWorker, (err: Error) => void>();

  private constructor(private readonly workers: PoolWorker[]) {
    for (const w of workers) this.watch(w);
    this.idle.push(...workers);
  }

  /** One death handler per worker (not one per job, which would keep every job's result alive). */
  private watch(w: PoolWorker): void {
    w.died.catch((err: Error) => this.jobOnWorker.get(w)?.(err));
  }

  static async create(size?: number): Promise<WorkerPool> {
    const count = size ?? (await availableCores());
    return new WorkerPool(await Promise.all(Array.from({ length: count }, spawnWorker)));
  }

  get concurrency(): number {
    return this.workers.length;
  }

  /** A free worker; `first` puts the request ahead of those waiting (the wide lane's). */
  private acquire(first = false): Promise<PoolWorker> {
    if (this.closed) return Promise.reject(closedError());
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    return new Promise((resolve, reject) => (first ? this.waiting.unshift({ resolve, reject }) : this.waiting.push({ resolve, reject })));
  }

  private releaseWorker(w: PoolWorker): void {
    const next = this.waiting.shift();
    if (next) next.resolve(w);
    else this.idle.push(w);
  }

  /** Back to the pool after a job: a worker that died is replaced first. */
  private giveBack(w: PoolWorker): void {
    if (w.dead && !this.closed) void this.replaceWorker(w);
    else this.releaseWorker(w);
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

  /** Run one job on worker `w` (held by the caller), with `model` loaded there; rejects if `w` dies meanwhile. */
  private runOn<J extends StudyJob>(w: PoolWorker, model: ResNetModel, job: J): Promise<StudyJobResult<J>> {
    return new Promise<StudyJobResult<J>>((resolve, reject) => {
      this.running.add(reject);
      this.jobOnWorker.set(w, reject);
      (async () => w.api.run(await this.ensureModel(w, model), job) as Promise<StudyJobResult<J>>)()
        .then(resolve, (err) => reject(restoreErrorClass(err)))
        .finally(() => {
          this.running.delete(reject);
          this.jobOnWorker.delete(w);
        });
    });
  }

  /**
   * Run one job on a free worker, with `model` loaded there. If the worker dies meanwhile, the job
   * rejects with the worker's exit reason and a fresh worker takes its place.
   */
  async run<J extends StudyJob>(model: ResNetModel, job: J): Promise<StudyJobResult<J>> {
    const w = await this.acquire();
    try {
      return await this.runOn(w, model, job);
    } finally {
      this.giveBack(w);
    }
  }

  /**
   * A lane holding one worker for jobs on all `concurrency` threads, one at a time (see the module
   * comment); undefined for a pool of one worker, a closed pool, or outside Node (no threaded kernels
   * there: the lane would only run its jobs one at a time on one thread). The worker is taken at the
   * lane's first job and given back at close() once its last job ends; if it dies, the next job takes
   * another.
   */
  wideLane(): WideLane | undefined {
    if (this.closed || this.workers.length < 2 || !isNode) return undefined;
    let held: PoolWorker | undefined;
    let tail: Promise<unknown> = Promise.resolve();
    let open = true;
    const release = () => {
      if (held) this.giveBack(held);
      held = undefined;
    };
    return {
      threads: this.workers.length,
      run: <J extends StudyJob>(model: ResNetModel, job: J): Promise<StudyJobResult<J>> => {
        const result = tail.then(async (): Promise<StudyJobResult<J>> => {
          if (!open) throw new Error('wide lane is closed');
          held ??= await this.acquire(true);
          const w = held;
          try {
            return await this.runOn(w, model, job);
          } finally {
            if (w.dead) release();
          }
        });
        tail = result.catch(() => undefined);
        return result;
      },
      close: () => {
        if (!open) return;
        open = false;
        void tail.then(release);
      },
    };
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
    this.watch(fresh);
    this.workers[this.workers.indexOf(w)] = fresh;
    this.releaseWorker(fresh);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.waiting.splice(0)) waiting.reject(closedError());
    for (const reject of this.running) reject(closedError());
    this.running.clear();
    for (const w of this.workers) {
      w.api[Comlink.releaseProxy]();
      w.terminate();
    }
  }
}
