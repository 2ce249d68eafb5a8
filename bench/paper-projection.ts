/**
 * Issue 15: a projection of `report --preset paper` (ResNet-56, 2 cores) under the old schedule and the
 * new one, from measured job times. Not a measurement: the real scheduling code (runReportJobs with
 * runJobs' lanes, laneOrder, wideJobs, evaluateAccuracy's batches) runs on a virtual clock against a
 * simulated 2-worker pool whose jobs take the given seconds, so the projection follows the code's own
 * order and lanes exactly; what it cannot know is how jobs slow each other beyond those seconds.
 *
 *   node --import tsx bench/paper-projection.ts [--s1-pool 345] [--s1-wide 190] [--s2 33.8] [--s3 1.9]
 *     [--batch 0.83] [--chunk 2.9] [--projection 5.9] [--beside 1.5] [--workers 2]
 *
 * Seconds per job with both cores busy: --s1-pool a stage-1 full spectrum on one pool worker, --s1-wide
 * the same on the wide lane (all threads, beside a worker running other jobs), --s2/--s3 stage-2/3
 * spectra on one worker, --batch a 100-image forward pass on one worker, --chunk a 25-image
 * propagation chunk, --projection one image's projections; --beside: how much longer a job on another
 * worker takes while a wide job runs (its threads and that worker share the cores: 3 threads on 2
 * cores, 1.5, when the wide job's threads are all busy, which they are for most of a stage-1 spectrum).
 * A job is slowed when it starts during a wide job. Old schedule: every job on one worker in job order,
 * projections on the main thread (one at a time); new: this build's.
 */
import { loadModel } from '../src/model/load.js';
import type { ResNetModel } from '../src/model/model.js';
import type { StudyExecutor, StudyJob, StudyJobResult, WideLane } from '../src/study/executor.js';
import { runReportJobs, wideReportJobs, reportPlan } from '../src/study/report-study.js';

const option = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = {
  s1Pool: option('--s1-pool', 345), s1Wide: option('--s1-wide', 190), s2: option('--s2', 33.8), s3: option('--s3', 1.9),
  batch: option('--batch', 0.83), chunk: option('--chunk', 2.9), projection: option('--projection', 5.9),
  beside: option('--beside', 1.5),
};
const workers = option('--workers', 2);

// A virtual clock: sleep() resolves when the driver advances time to it, never in real time.
let now = 0;
const timers: { at: number; resolve: () => void }[] = [];
const sleep = (d: number) => new Promise<void>((resolve) => timers.push({ at: now + d, resolve }));

async function drive<T>(work: Promise<T>): Promise<T> {
  let done = false;
  void work.then(() => (done = true), () => (done = true));
  while (!done) {
    // Every lane that can start something does so before time moves on.
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    if (done || timers.length === 0) continue;
    timers.sort((a, b) => a.at - b.at);
    const next = timers.shift()!;
    now = next.at;
    next.resolve();
  }
  return work;
}

/** A pool of `size` simulated workers (WorkerPool's rules: free worker, FIFO wait, the wide lane first). */
class SimulatedPool implements StudyExecutor {
  private idle: number;
  private waiting: (() => void)[] = [];
  private mainThread = Promise.resolve();
  /** A wide job is running: the other workers share the cores with its threads. */
  wideBusy = false;
  constructor(readonly concurrency: number, private readonly model: ResNetModel, private readonly projectionsInMainThread: boolean) {
    this.idle = concurrency;
  }
  private acquire(first = false): Promise<void> {
    if (this.idle > 0) {
      this.idle--;
      return Promise.resolve();
    }
    return new Promise((resolve) => (first ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
  }
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.idle++;
  }
  private duration(job: StudyJob, wide: boolean): number {
    switch (job.kind) {
      case 'unitSpectrum': {
        const stage = this.model.graph.units[job.unit].stage;
        return stage === 1 ? (wide ? seconds.s1Wide : seconds.s1Pool) : stage === 2 ? seconds.s2 : seconds.s3;
      }
      case 'predict':
        return (seconds.batch * job.pixels.length) / (100 * 3072);
      case 'propagate':
        return (seconds.chunk * job.labels.length) / 25;
      case 'project':
        return seconds.projection;
      default:
        throw new Error(`no duration for ${job.kind}`);
    }
  }
  private result<J extends StudyJob>(job: J): StudyJobResult<J> {
    const fake = job.kind === 'predict' ? new Float32Array((job.pixels.length / 3072) * 10)
      : job.kind === 'unitSpectrum' ? { shape: [0, 0], activeRows: 0, seconds: 0, values: new Float64Array(0) }
      : [];
    return fake as StudyJobResult<J>;
  }
  async run<J extends StudyJob>(_model: ResNetModel, job: J): Promise<StudyJobResult<J>> {
    if (job.kind === 'project' && this.projectionsInMainThread) {
      // The old code projected in the main thread: one at a time, no worker taken.
      const turn = this.mainThread.then(() => sleep(this.duration(job, false)));
      this.mainThread = turn;
      await turn;
      return this.result(job);
    }
    await this.acquire();
    await sleep(this.duration(job, false) * (this.wideBusy ? seconds.beside : 1));
    this.release();
    return this.result(job);
  }
  wideLane(): WideLane | undefined {
    if (this.concurrency < 2) return undefined;
    let held = false;
    let tail: Promise<unknown> = Promise.resolve();
    return {
      threads: this.concurrency,
      run: <J extends StudyJob>(_model: ResNetModel, job: J): Promise<StudyJobResult<J>> => {
        const result = tail.then(async (): Promise<StudyJobResult<J>> => {
          if (!held) await this.acquire(true);
          held = true;
          this.wideBusy = true;
          await sleep(this.duration(job, true));
          this.wideBusy = false;
          return this.result(job);
        });
        tail = result;
        return result;
      },
      close: () => void tail.then(() => held && this.release()),
    };
  }
  close(): void {}
}

const model = await loadModel('resnet56');
const data = { count: 10000, labels: new Uint8Array(10000), pixels: new Uint8Array(10000 * 3072) };
const plan = reportPlan(model, 'paper', data.count);
console.log(`report --preset paper, ResNet-56: ${wideReportJobs(model, plan).length} wide jobs; seconds per job ${JSON.stringify(seconds)}, ${workers} workers`);
for (const schedule of ['old', 'new'] as const) {
  now = 0;
  const phases: Record<string, number> = {};
  const executor = new SimulatedPool(workers, model, schedule === 'old');
  await drive(runReportJobs(model, data, {
    preset: 'paper', executor, wideLane: schedule === 'new',
    onProgress: (_step, _total, message) => {
      const phase = /spectrum of unit (\d)\./.exec(message)?.[1] ?? message.split(' ')[0];
      phases[phase] ??= now;
    },
  }));
  const first = Object.entries(phases).map(([p, t]) => `${/^\d$/.test(p) ? `stage-${p} spectra` : p} from ${(t / 60).toFixed(0)} min`).join(', ');
  console.log(`${schedule} schedule: ${(now / 3600).toFixed(2)} h (${(now / 60).toFixed(0)} min); first start of each kind: ${first}`);
}
