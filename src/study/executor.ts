/**
 * How a study runs its heavy jobs: forward passes of image batches, perturbation propagation of image
 * chunks and unit spectra. A job is plain data (structured-cloneable), so it can run in this thread or
 * be sent to a worker; `runStudyJob` is the one place that computes it, wherever it runs. A job's
 * result depends only on the job and the model, so a study's results do not depend on its executor.
 *
 *   executor.run(model, { kind: 'predict', pixels })  ->  logits
 *
 * Executors: `InProcessExecutor` (below, one job at a time in this thread) and the worker pool of
 * src/workers/pool.ts (one job per worker, in parallel). A pool also offers a wide lane (`wideLane`):
 * one worker set aside for jobs that run on all of the pool's threads, one at a time (the large
 * spectra of issue 15), while its other workers take the remaining jobs.
 */
import { predictLogits } from '../model/forward.js';
import type { ResNetModel } from '../model/model.js';
import { firstOrderPropagation } from './first-order.js';
import type { PerturbationOptions } from './perturbations.js';
import { projectPerturbations } from './projection.js';
import { propagatePerturbations } from './propagation.js';
import { unitSpectrum } from './spectrum.js';
import { runSpectrumJob, type SpectrumJobOptions } from './spectrum-study.js';

const jobRunners = {
  /** Logits (B x classes) of a batch of images (B x 3 x 32 x 32 pixels in [0, 1]). */
  predict: (model: ResNetModel, job: { pixels: Float32Array }) => predictLogits(model, job.pixels),
  /** Perturbation propagation of a chunk of labelled images (src/study/propagation.ts). */
  propagate: (
    model: ResNetModel,
    job: { pixels: Float32Array; labels: number[]; ids: (number | string)[]; perturbation: PerturbationOptions; firstOrder: boolean },
  ) => propagatePerturbations(model, job.pixels, job.labels, job.ids, job.perturbation, job.firstOrder ? firstOrderPropagation : undefined),
  /** One (unit, image) job of the spectrum study (src/study/spectrum-study.ts). */
  spectrum: (model: ResNetModel, job: { pixels: Float32Array; unit: number; image: number | string; options: SpectrumJobOptions }) =>
    runSpectrumJob(model, job.pixels, job.unit, job.image, job.options),
  /**
   * All singular values of one unit's linearization at one image (src/study/spectrum.ts); `threads`
   * for its band reduction (default: spectrum.ts's; the values are the same for any count).
   */
  unitSpectrum: (model: ResNetModel, job: { pixels: Float32Array; unit: number; alpha: number; beta: number; threads?: number }) =>
    unitSpectrum(model, job.pixels, job.unit, { alpha: job.alpha, beta: job.beta, threads: job.threads }),
  /** Projections of one image's perturbations onto every unit's top-k right singular vectors (src/study/projection.ts). */
  project: (model: ResNetModel, job: { pixels: Float32Array; label: number; image: number; attacks: PerturbationOptions[]; k: number }) =>
    projectPerturbations(model, job.pixels, job.label, job.image, job.attacks, job.k),
};

type JobRunners = typeof jobRunners;
export type StudyJobKind = keyof JobRunners;
/** A job: its kind and that kind's inputs. */
export type StudyJob = { [K in StudyJobKind]: { kind: K } & Parameters<JobRunners[K]>[1] }[StudyJobKind];
export type StudyJobResult<J extends StudyJob> = Awaited<ReturnType<JobRunners[J['kind']]>>;

/** Compute one job in this thread (what every executor does in the end). */
export function runStudyJob<J extends StudyJob>(model: ResNetModel, job: J): Promise<StudyJobResult<J>> {
  const runner = jobRunners[job.kind] as unknown as (model: ResNetModel, job: J) => Promise<StudyJobResult<J>>;
  return runner(model, job);
}

/** Runs a study's jobs. */
export interface StudyExecutor {
  /** Jobs that run at the same time; a study keeps this many in flight. */
  readonly concurrency: number;
  /** Run one job on `model`. Jobs submitted while others run wait their turn. Rejects once closed. */
  run<J extends StudyJob>(model: ResNetModel, job: J): Promise<StudyJobResult<J>>;
  /** Cancel: waiting and later jobs reject, and no thread is left running. */
  close(): void;
  /**
   * Set one worker aside for jobs that use all `threads` of the executor, one at a time; undefined
   * when there is no such lane (a single thread: its one job already has every core). While the lane
   * is open, `run` has concurrency - 1 workers.
   */
  wideLane?(): WideLane | undefined;
}

/** A lane of an executor that runs one job at a time on a worker of its own (StudyExecutor.wideLane). */
export interface WideLane {
  /** Threads a job of the lane should ask for (the executor's cores). */
  readonly threads: number;
  /** Run one job on the lane's worker; jobs submitted while one runs wait their turn. */
  run<J extends StudyJob>(model: ResNetModel, job: J): Promise<StudyJobResult<J>>;
  /** Give the worker back to the executor (idempotent). */
  close(): void;
}

/** One job at a time, in this thread, in the order submitted. */
export class InProcessExecutor implements StudyExecutor {
  readonly concurrency = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  run<J extends StudyJob>(model: ResNetModel, job: J): Promise<StudyJobResult<J>> {
    const result = this.queue.then(() => {
      if (this.closed) throw new Error('study executor is closed');
      return runStudyJob(model, job);
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * Run the tasks, at most `concurrency` at a time, each started when a slot frees; results in task
 * order. After a task fails no further task starts, and the first failure rejects.
 */
export async function runLimited<T>(tasks: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < tasks.length && !failed) {
      const i = next++;
      try {
        results[i] = await tasks[i]();
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, lane));
  return results;
}
