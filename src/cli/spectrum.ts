/**
 * `resnet-stability spectrum --model <m> [--data <cifar>] --image <i> --unit <u> [--alpha a] [--beta b]
 *  [--precision f64|f32] [--route auto|bidiagonal|gram] [--values-out FILE] [--json]`
 *
 * The full singular spectrum of one unit's linearization at one image (routes: study/spectrum.ts; 'auto',
 * the default, is the sparse Gram route unless its error estimate exceeds 1e-9 * s_max). --values-out writes all
 * min(m, n) values, descending: a NumPy .npy file when its name ends in .npy, else raw little-endian float64. --json prints {"model", "image", "unit",
 * "unitLabel", "shape", "alpha", "beta", "smax", "fractionZero", "fractionOne", "seconds"};
 * fractionOne counts |s - alpha| < 1e-6 and fractionZero s < 1e-10, both of min(m, n).
 *
 * The study form takes several images and units and other methods:
 *   --images 0-9 --units 3.1,3.9 --method full|topk|density|count [--k 20] [--bins e0,e1,...]
 *   [--interval lo,hi] [--out dir]
 * and prints {"model", "method", "results": [...], "variation": [...]} where `variation` gives, per
 * unit, how much the sorted spectrum varies across images (the standard deviation at each rank,
 * summarized by its maximum and mean). (unit, image) pairs are jobs spread over a worker pool
 * (--workers). --out writes summary.json, summary.csv, study.json and jobs/<unit,image>.json (+ .npy
 * values for full/topk, for numpy.load); --resume skips finished jobs; --shard k/N runs a deterministic slice (jobs dealt
 * by estimated cost, src/study/job-cost.ts, so that shards finish together) whose directory
 * `resnet-stability merge` combines with the others into what one run writes.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { loadModel } from '../model/load.js';
import { ONE_TOLERANCE, ZERO_TOLERANCE } from '../study/spectrum.js';
import { jobCost } from '../study/job-cost.js';
import { jobValuesFile, parseShard, runJobs, type JobRecord, type Shard } from '../study/jobs.js';
import {
  spectrumJobKey, spectrumStudySummary, type SpectrumJobOptions, type SpectrumMethod, type SpectrumRecord,
} from '../study/spectrum-study.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { toCsv } from '../util/csv.js';
import { float64FileBytes, npyFloat64, readFloat64File } from '../util/npy.js';
import { availableCores, createExecutor } from '../workers/pool.js';
import { UsageError } from './errors.js';
import { loadImageSelection, parseFiniteNumber, parseNumberList, parsePositiveInteger, MODEL_HELP, imageDataHelp } from './inputs.js';
import { createProgress } from './progress.js';
import { parseUnitList } from './scale.js';

/** summary.json and summary.csv of a spectrum study, from its records (shared with `merge`). */
export async function writeSpectrumSummary(outDir: string | undefined, model: string, method: SpectrumMethod, records: SpectrumRecord[], memory?: Map<string, Float64Array>) {
  const values = new Map<string, ArrayLike<number>>();
  for (const r of records) {
    const v = memory?.get(r.key) ?? (outDir && (method === 'full' || method === 'topk') ? await readFloat64File(join(outDir, 'jobs', jobValuesFile(r.key))) : undefined);
    if (v) values.set(r.key, v);
  }
  const summary = spectrumStudySummary(model, method, records, (r) => values.get(r.key));
  if (outDir) {
    await writeFileAtomic(join(outDir, 'summary.csv'), toCsv(
      ['unit', 'image', 'm', 'n', 'alpha', 'beta', 'smax', 'smallestNonzero', 'fractionOne', 'fractionZero', 'count'],
      records.map((r) => [r.unit, String(r.image), r.shape[0], r.shape[1], r.alpha, r.beta, r.smax ?? '', r.smallestNonzero ?? '', r.fractionOne ?? '', r.fractionZero ?? '', r.count?.count ?? '']),
    ));
    await writeFileAtomic(join(outDir, 'summary.json'), JSON.stringify(summary) + '\n');
  }
  return summary;
}

export function spectrumCommand(): Command {
  return new Command('spectrum')
    .description('singular values of residual-unit linearizations: full, top-k, density or exact interval counts')
    .requiredOption('--model <model>', MODEL_HELP)
    .option('--data <data>', imageDataHelp(false))
    .option('--image <i>', 'image index into the CIFAR file (one image)')
    .option('--images <list>', 'several images, e.g. 0-9')
    .option('--unit <u>', 'unit index 0..3n-1 or stage.unit (e.g. 3.9)')
    .option('--units <list>', 'several units: indices, stage.unit, ranges (18-26), or all')
    .addOption(new Option('--method <m>', 'what to compute').choices(['full', 'topk', 'density', 'count']).default('full'))
    .option('--k <k>', 'topk: how many of the largest values', (v) => parsePositiveInteger(v, '--k'), 20)
    .option('--bins <edges>', 'density: bin edges (default: 40 bins over [0, s_max])', (v) => parseNumberList(v, '--bins'))
    .option('--interval <lo,hi>', 'count: the interval [lo, hi) (default: alpha -/+ 1e-3)', (v) => parseNumberList(v, '--interval'))
    .option('--alpha <a>', "skip-connection scale of the unit (default: the model's)", (v) => parseFiniteNumber(v, '--alpha'))
    .option('--beta <b>', "residual-weight scale of the unit (default: the model's)", (v) => parseFiniteNumber(v, '--beta'))
    .addOption(new Option('--precision <p>', 'full: working precision').choices(['f64', 'f32']).default('f64'))
    .addOption(new Option('--route <r>', 'full: dense SVD route').choices(['auto', 'bidiagonal', 'gram']).default('auto'))
    .option('--values-out <file>', 'one image and unit: write all values (descending): NumPy .npy if FILE ends in .npy, else raw little-endian float64')
    .option('--out <dir>', 'write the study (summary.json, summary.csv, jobs/) here')
    .option('--resume', 'with --out: skip (unit, image) jobs already finished there')
    .option('--shard <k/N>', 'run only the k-th of N deterministic slices of the jobs (combine with merge)', parseShard)
    .option('--workers <n>', 'worker threads (default: one per core; 1 runs in this thread)', (v) => parsePositiveInteger(v, '--workers'))
    .option('--threads <n>', 'threads for one full spectrum (Gram route; default: every core when there is one job, else 1; same values for any n)', (v) => parsePositiveInteger(v, '--threads'))
    .option('--json', 'print the result as one JSON object')
    .option('--quiet', 'no progress output')
    .action(async (opts: {
      model: string; data?: string; image?: string; images?: string; unit?: string; units?: string; method: SpectrumMethod; k: number;
      bins?: number[]; interval?: number[]; alpha?: number; beta?: number; precision: 'f64' | 'f32'; route: 'auto' | 'bidiagonal' | 'gram';
      valuesOut?: string; out?: string; resume?: boolean; shard?: Shard; workers?: number; threads?: number; json?: boolean; quiet?: boolean;
    }) => {
      if (opts.image !== undefined && opts.images !== undefined) throw new UsageError('give --image or --images, not both');
      if (opts.unit !== undefined && opts.units !== undefined) throw new UsageError('give --unit or --units, not both');
      if (opts.unit === undefined && opts.units === undefined) throw new UsageError("required option '--unit <u>' not specified");
      if (opts.interval && (opts.interval.length !== 2 || !(opts.interval[0] < opts.interval[1]))) {
        throw new UsageError('--interval must be two increasing numbers lo,hi');
      }
      if (opts.bins && (opts.bins.length < 2 || opts.bins.some((e, i) => i > 0 && !(e > opts.bins![i - 1])))) {
        throw new UsageError('--bins must be at least two strictly increasing edges');
      }
      if ((opts.resume || opts.shard) && !opts.out) throw new UsageError('--resume and --shard need --out');
      // Threads change no value, so they are not part of the study's options (resume, shards, merge):
      // the count reaches the Gram route here, in pool workers too, through its environment variable.
      if (opts.threads !== undefined) process.env.RESNET_STABILITY_THREADS = String(opts.threads);
      const model = await loadModel(opts.model);
      const units = parseUnitList(model, opts.units ?? opts.unit!, opts.units ? '--units' : '--unit');
      const unitList = units.length ? units : Array.from({ length: model.unitCount }, (_, i) => i);
      const quiet = opts.quiet || opts.json;
      const [, height, width] = model.inputShape;
      const selection = await loadImageSelection(opts.data, opts.images ?? opts.image ?? '0', quiet, opts.images ? '--images' : '--image', [height, width]);
      const imageValues = 3 * height * width;
      const single = selection.ids.length === 1 && unitList.length === 1;
      if (opts.valuesOut && !single) throw new UsageError('--values-out takes one image and one unit (use --out for several)');

      const jobOptions: SpectrumJobOptions = {
        method: opts.method, k: opts.k, bins: opts.bins, interval: opts.interval, alpha: opts.alpha, beta: opts.beta,
        precision: opts.precision, route: opts.route,
      };
      const jobs = unitList.flatMap((unit) => selection.ids.map((image, i) => ({ unit, image, i })));
      const keyOf = (j: (typeof jobs)[number]) => spectrumJobKey(j.unit, j.image);
      const manifest = {
        study: { kind: 'spectrum', model: model.name, modelSpec: opts.model, options: jobOptions, jobs: jobs.map(keyOf) },
        ...(opts.shard ? { shard: opts.shard } : {}),
      };
      const workers = Math.min(opts.workers ?? (await availableCores()), jobs.length);
      const executor = await createExecutor(workers);
      const stop = () => {
        executor.close();
        process.stderr.write('resnet-stability: interrupted; finished jobs are kept (rerun with --resume)\n');
        process.exit(130);
      };
      process.once('SIGINT', stop);
      const progress = createProgress(`spectrum ${opts.method}`, jobs.length, quiet);
      const memory = new Map<string, Float64Array>();
      const started = performance.now();
      try {
        const records = (await runJobs({
          manifest, jobs, keyOf, outDir: opts.out, resume: opts.resume, concurrency: workers,
          cost: (job) => jobCost(model, { kind: 'spectrum', unit: job.unit, method: opts.method, k: opts.k }),
          async run(job) {
            const pixels = selection.pixels.slice(job.i * imageValues, (job.i + 1) * imageValues);
            const result = await executor.run(model, { kind: 'spectrum', pixels, unit: job.unit, image: job.image, options: jobOptions });
            if (result.values) memory.set(result.record.key, result.values);
            return { record: result.record as JobRecord, files: result.values ? { [jobValuesFile(result.record.key)]: npyFloat64(result.values) } : undefined };
          },
          onJobDone: () => progress.tick(),
        })) as SpectrumRecord[];
        progress.done();
        const seconds = (performance.now() - started) / 1000;
        if (opts.shard) {
          if (!quiet) process.stderr.write(`shard ${opts.shard.index}/${opts.shard.count}: ${records.length} jobs in ${opts.out}\n`);
          if (opts.json) process.stdout.write(JSON.stringify({ shard: opts.shard, jobs: records.map((r) => r.key), data: selection.dataSet }) + '\n');
          return;
        }
        if (single && opts.method === 'full') {
          const r = records[0];
          const values = memory.get(r.key) ?? (opts.out ? await readFloat64File(join(opts.out, 'jobs', jobValuesFile(r.key))) : undefined);
          if (opts.valuesOut && values) await writeFileAtomic(opts.valuesOut, float64FileBytes(opts.valuesOut, values));
          if (opts.out) await writeSpectrumSummary(opts.out, model.name, opts.method, records, memory);
          const out = {
            model: model.name, image: r.image, unit: r.unit, unitLabel: r.unitLabel, shape: r.shape, alpha: r.alpha, beta: r.beta,
            smax: r.smax, fractionZero: r.fractionZero, fractionOne: r.fractionOne, seconds,
          };
          if (opts.json) process.stdout.write(JSON.stringify({ ...out, data: selection.dataSet }) + '\n');
          else process.stdout.write(
            `${model.name} image ${out.image} unit ${out.unitLabel} (${out.shape[0]} x ${out.shape[1]}, alpha ${out.alpha}, beta ${out.beta}): ` +
              `s_max ${out.smax!.toFixed(6)}, ${(100 * out.fractionOne!).toFixed(2)} % at alpha (|s - alpha| < ${ONE_TOLERANCE}), ` +
              `${(100 * out.fractionZero!).toFixed(2)} % zero (< ${ZERO_TOLERANCE}), ${seconds.toFixed(1)} s\n`,
          );
          return;
        }
        const summary = await writeSpectrumSummary(opts.out, model.name, opts.method, records, memory);
        if (opts.json) process.stdout.write(JSON.stringify({ ...summary, data: selection.dataSet }) + '\n');
        else if (!opts.out) {
          for (const r of summary.results) {
            const what = r.count ? `${r.count.count} values in [${r.count.lo}, ${r.count.hi})` : r.density ? `density over ${r.density.counts.length} bins` : `s_max ${r.smax?.toFixed(6)}`;
            process.stdout.write(`unit ${r.unitLabel}, image ${r.image}: ${what}\n`);
          }
          for (const v of summary.variation) process.stdout.write(`unit ${v.unit}: per-rank std across images max ${v.maxStd.toExponential(3)}, mean ${v.meanStd.toExponential(3)}\n`);
        }
      } finally {
        process.removeListener('SIGINT', stop);
        executor.close();
      }
    });
}
