/**
 * `resnet-stability report --model m [m2 ...] [--data d] [--preset quick|depth|paper] [--out dir] [--seed s]
 *  [--resume] [--shard k/N] [--reproducible] [--json] [--quiet]`
 *
 * Runs the study of src/study/report-study.ts and writes <out>/report.html (self-contained: inline SVG
 * figures rendered by vega from Vega-Lite specs, no scripts, nothing fetched at view time) and
 * <out>/report.json (every number behind it, with the findings and their verdicts). The study is a
 * list of independent jobs kept in <out>/jobs/ (src/study/jobs.ts; a spectrum's values as <key>.npy,
 * a NumPy float64 vector, descending) with <out>/study.json naming the study: --resume reuses the
 * finished jobs, a directory holding another study is refused. --shard k/N (one model, --out required)
 * runs only the jobs dealt to shard k by estimated cost and writes no report: `merge` builds it from
 * the N directories, byte for byte what one run writes when every run has --reproducible (durations 0,
 * the date from $SOURCE_DATE_EPOCH).
 *
 * With several models each gets its own report in <out>/<model name>/, one after another, and
 * <out>/comparison.html (+ comparison.json) puts them side by side (src/report/comparison.ts); the
 * `compare` command makes the same page from reports run separately.
 *
 * Any family import recognises (issue 11) is studied the same way: its units and stages come from its
 * graph (src/study/report-study.ts reportPlan), and the model must take CIFAR's 32x32 images.
 */
import { Command, Option } from 'commander';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeComparison } from './compare.js';
import { encodeModel } from '../model/format.js';
import { loadModel } from '../model/load.js';
import type { ResNetModel } from '../model/model.js';
import type { StudyExecutor } from '../study/executor.js';
import { buildReport, type ReportMeta } from '../report/documents.js';
import type { Finding } from '../report/findings.js';
import { parseShard, type Shard } from '../study/jobs.js';
import {
  assembleReportStudy, checkReportInputs, runReportJobs, spectrumValues, REPORT_PRESETS, type ReportPresetName, type ReportStudy,
} from '../study/report-study.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { PACKAGE_VERSION } from '../version.js';
import { availableCores, createExecutor } from '../workers/pool.js';
import { UsageError } from './errors.js';
import { announceData, loadCifarData, parsePositiveInteger, parseSeed, MODEL_HELP, CIFAR_DATA_HELP } from './inputs.js';

/** SHA-256 of the model's weights and scales: what a stored spectrum must match to be reused. */
function weightsDigest(model: ResNetModel): string {
  const hash = createHash('sha256').update(encodeModel(model).weights);
  hash.update(Array.from(model.alpha).join(',') + ';' + Array.from(model.beta).join(','));
  return hash.digest('hex');
}

interface ReportOptions {
  data?: string; preset: ReportPresetName; seed: number; workers?: number; resume?: boolean; quiet?: boolean;
  shard?: Shard; reproducible?: boolean; json?: boolean;
}

/**
 * When the report says it was made: now, or with --reproducible the time in $SOURCE_DATE_EPOCH
 * (seconds since 1970, the reproducible-builds convention; 0 when unset), so reruns give the same bytes.
 */
export function reportCreated(reproducible: boolean | undefined): string {
  if (!reproducible) return new Date().toISOString();
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date(0).toISOString();
  if (!/^\d{1,12}$/.test(epoch)) throw new UsageError(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${epoch}"`);
  return new Date(Number(epoch) * 1000).toISOString();
}

/** report.json and report.html of a study into `out` (shared with `merge`). */
export async function writeReport(out: string, study: ReportStudy, meta: ReportMeta): Promise<Finding[]> {
  const report = await buildReport(study, meta);
  await writeFileAtomic(join(out, 'report.json'), JSON.stringify(report.json) + '\n');
  await writeFileAtomic(join(out, 'report.html'), report.html);
  return report.findings;
}

/** What study.json records about the inputs beyond the plan: the model as given and its weights, the data. */
export function reportIdentity(modelSpec: string, model: ResNetModel, data: string): Record<string, unknown> {
  return { modelSpec, fingerprint: weightsDigest(model), data };
}

/** One model's study (or one shard of it) into `out`; the numbers and meta go on to a comparison page. */
async function reportOneModel(
  spec: string, model: ResNetModel, out: string, data: Awaited<ReturnType<typeof loadCifarData>>, executor: StudyExecutor, opts: ReportOptions, log: (m: string) => void,
): Promise<{ study?: ReportStudy; meta: ReportMeta; findings?: Finding[]; jobs: string[] }> {
  const started = Date.now();
  const shard = opts.shard ? `, shard ${opts.shard.index}/${opts.shard.count}` : '';
  log(`${model.name}, preset ${opts.preset}, seed ${opts.seed}${shard}, writing to ${out}${opts.preset === 'paper' ? ' (the paper preset takes hours)' : ''}`);
  const meta = { version: PACKAGE_VERSION, data: data.source, created: reportCreated(opts.reproducible) };
  const options = {
    preset: opts.preset, seed: opts.seed, executor, outDir: out, resume: opts.resume, shard: opts.shard, reproducible: opts.reproducible,
    identity: reportIdentity(spec, model, data.source),
    onProgress: (step: number, total: number, message: string) => log(`[${step}/${total}, ${((Date.now() - started) / 1000).toFixed(0)} s] ${message}`),
  };
  if (opts.shard) {
    const { records } = await runReportJobs(model, data, options);
    log(`shard ${opts.shard.index}/${opts.shard.count}: ${records.length} jobs in ${join(out, 'jobs')} in ${((Date.now() - started) / 1000).toFixed(0)} s; combine the shards with merge`);
    return { meta, jobs: records.map((r) => r.key) };
  }
  const { plan, seed, records, values } = await runReportJobs(model, data, options);
  log('rendering figures');
  const study = assembleReportStudy(model, plan, seed, records, mapGet(await spectrumValues(records, values, out)));
  const findings = await writeReport(out, study, meta);
  for (const f of findings) log(`finding ${f.id} (${f.title}): ${f.verdict}`);
  log(`wrote ${join(out, 'report.html')} and report.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { study, meta, findings, jobs: records.map((r) => r.key) };
}

const mapGet = <V>(map: Map<string, V>) => (key: string): V => map.get(key)!;

export function reportCommand(): Command {
  return new Command('report')
    .description('run the study and write a self-contained HTML report (with report.json) comparing the paper\'s findings with our measurements; several models also get a comparison page')
    .requiredOption('--model <models...>', MODEL_HELP + '; several (--model resnet56 resnet110) for a side-by-side comparison')
    .option('--data <cifar>', CIFAR_DATA_HELP)
    .addOption(
      new Option(
        '--preset <p>',
        'quick: a few minutes on 2 cores for ResNet-56 (full spectra of two units of the last stage at 2 images and one of the stage before, ' +
          '20 images propagated, a 500-image alpha/beta sweep of the last unit, projections at 3 images); ' +
          'depth: quick plus the full spectrum of the last unit of every stage at image 0 (for comparing networks ' +
          'of different depth: give several --model); ' +
          'paper: the paper\'s scale — every unit\'s full spectrum (10 images in stages 2 and later, 3 in stage 1), ' +
          '1000 images propagated, the full test set for each sweep value, projections at 100 images — ' +
          'this takes HOURS (2.5 h measured for ResNet-56 and about 5 h for ResNet-110 on 2 cores; --resume continues ' +
          'an interrupted run); test: a tiny run for the test suite',
      ).choices(REPORT_PRESETS as unknown as string[]).default('quick'),
    )
    .option('--out <dir>', 'output directory (default: report-<model>, or report-<model>-vs-<model2> for several)')
    .option('--seed <s>', 'seed of the random perturbations', (v) => parseSeed(v), 0)
    .option('--workers <n>', 'worker threads for spectra, accuracy and propagation (default: one per core)', (v) => parsePositiveInteger(v, '--workers'))
    .option('--resume', 'reuse the jobs already finished in <out>/jobs by an earlier (interrupted) run of the same study')
    .option('--shard <k/N>', 'run only the k-th of N slices of the jobs, dealt by estimated cost (one model, --out required); combine the N directories with merge', parseShard)
    .option('--reproducible', 'durations written as 0 and the date taken from $SOURCE_DATE_EPOCH (0 when unset), so that reruns, shards and merges give the same bytes')
    .option('--json', 'print one JSON object on stdout: where the report (or shard) went, its jobs and findings')
    .option('--quiet', 'no progress output')
    .action(async (opts: ReportOptions & { model: string[]; out?: string }) => {
      const log = opts.quiet || opts.json ? () => {} : (m: string) => process.stderr.write(`report: ${m}\n`);
      const specs = opts.model;
      if (new Set(specs).size !== specs.length) throw new UsageError(`--model names the same model twice (${specs.join(', ')})`);
      if (opts.shard && specs.length > 1) throw new UsageError('--shard takes one model (run each model\'s shards separately)');
      if (opts.shard && !opts.out) throw new UsageError('--shard needs --out (the directory merge reads)');
      reportCreated(opts.reproducible); // a bad $SOURCE_DATE_EPOCH is refused before any work
      // Every model must load before hours of work start on the first one.
      const models: ResNetModel[] = [];
      for (const spec of specs) models.push(await loadModel(spec));
      const names = models.map((m) => m.name);
      if (new Set(names).size !== names.length) throw new UsageError(`two of the models are both called "${names.find((n, i) => names.indexOf(n) !== i)}": compare models with different names`);
      const data = await loadCifarData(opts.data, opts.quiet || opts.json);
      // Every model must fit the study (its input size, the data's labels) before any work starts.
      for (const model of models) checkReportInputs(model, data, opts.preset);
      announceData(data.dataSet, opts.quiet || opts.json);
      const out = opts.out ?? `report-${names.join('-vs-')}`;
      const workers = opts.workers ?? (await availableCores());
      const executor = await createExecutor(workers);
      const reports = [];
      try {
        for (const model of models) {
          reports.push(await reportOneModel(specs[models.indexOf(model)], model, models.length > 1 ? join(out, model.name) : out, data, executor, opts, log));
        }
      } finally {
        executor.close();
      }
      if (reports.length > 1) {
        await writeComparison(out, reports.map((r, i) => ({ study: r.study!, meta: r.meta, href: `${names[i]}/report.html` })), reportCreated(opts.reproducible));
        log(`wrote ${join(out, 'comparison.html')} and comparison.json`);
      }
      if (opts.json) {
        const each = reports.map((r, i) => ({
          model: names[i], out: models.length > 1 ? join(out, names[i]) : out, jobs: r.jobs.length,
          ...(r.findings ? { report: join(models.length > 1 ? join(out, names[i]) : out, 'report.html'), findings: r.findings.map((f) => ({ id: f.id, title: f.title, verdict: f.verdict })) } : {}),
        }));
        const summary = opts.shard ? { shard: opts.shard, ...each[0], jobKeys: reports[0].jobs } : models.length > 1 ? { reports: each, comparison: join(out, 'comparison.html') } : each[0];
        process.stdout.write(JSON.stringify({ ...summary, preset: opts.preset, seed: opts.seed, data: data.dataSet }) + '\n');
      }
    });
}
