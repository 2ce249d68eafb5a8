/**
 * `resnet-stability report --model m [m2 ...] [--data d] [--preset quick|depth|paper] [--out dir] [--seed s] [--resume] [--quiet]`
 *
 * Runs the study of src/study/report-study.ts and writes <out>/report.html (self-contained: inline SVG
 * figures rendered by vega from Vega-Lite specs, no scripts, nothing fetched at view time) and
 * <out>/report.json (every number behind it, with the findings and their verdicts). Each computed
 * spectrum is also kept as <out>/spectra/<key>.f64 (all values, descending, raw little-endian float64)
 * with <key>.json beside it; --resume reuses those, so an interrupted long run continues where it
 * stopped. Everything is written under temporary names and renamed when complete.
 *
 * With several models each gets its own report in <out>/<model name>/, one after another, and
 * <out>/comparison.html (+ comparison.json) puts them side by side (src/report/comparison.ts); the
 * `compare` command makes the same page from reports run separately.
 */
import { Command, Option } from 'commander';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeComparison } from './compare.js';
import { encodeModel } from '../model/format.js';
import { loadModel } from '../model/load.js';
import type { ResNetModel } from '../model/model.js';
import type { StudyExecutor } from '../study/executor.js';
import { buildReport, type ReportMeta } from '../report/documents.js';
import { REPORT_PRESETS, runReportStudy, type ReportPresetName, type ReportStudy, type SpectrumStore } from '../study/report-study.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { PACKAGE_VERSION } from '../version.js';
import { availableCores, createExecutor } from '../workers/pool.js';
import { UsageError } from './errors.js';
import { announceData, loadCifarData, parsePositiveInteger, parseSeed, MODEL_HELP, CIFAR_DATA_HELP } from './inputs.js';

function float64Bytes(values: Float64Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** Spectra kept in <dir>/<key>.f64 + <key>.json; `resume` reads back those of the same model (weights fingerprint). */
function directoryStore(dir: string, model: string, fingerprint: string, resume: boolean): SpectrumStore {
  return {
    async load(key) {
      if (!resume) return undefined;
      try {
        const entry = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8'));
        if (entry.model !== model || entry.fingerprint !== fingerprint) return undefined;
        const bytes = await readFile(join(dir, `${key}.f64`));
        const values = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        if (values.length !== Math.min(...(entry.shape as number[]))) return undefined;
        return { entry, values };
      } catch {
        return undefined;
      }
    },
    async save(entry, values) {
      const { histogram: _h, sorted: _s, ...record } = entry;
      await writeFileAtomic(join(dir, `${entry.key}.f64`), float64Bytes(values));
      await writeFileAtomic(join(dir, `${entry.key}.json`), JSON.stringify({ model, fingerprint, ...record }) + '\n');
    },
  };
}

/** SHA-256 of the model's weights and scales: what a stored spectrum must match to be reused. */
function weightsDigest(model: ResNetModel): string {
  const hash = createHash('sha256').update(encodeModel(model).weights);
  hash.update(Array.from(model.alpha).join(',') + ';' + Array.from(model.beta).join(','));
  return hash.digest('hex');
}

/** Temporary files an interrupted earlier run may have left (writeFileAtomic's `.tmp-` names). */
async function removeStaleTemporaries(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.filter((f) => /\.tmp-\d+-[a-z0-9]+$/.test(f)).map((f) => rm(join(dir, f), { force: true })));
  }
}

interface ReportOptions {
  data?: string; preset: ReportPresetName; seed: number; workers?: number; resume?: boolean; quiet?: boolean;
}

/** One model's study and report into `out`; the numbers and meta go on to a comparison page. */
async function reportOneModel(
  model: ResNetModel, out: string, data: Awaited<ReturnType<typeof loadCifarData>>, executor: StudyExecutor, opts: ReportOptions, log: (m: string) => void,
): Promise<{ study: ReportStudy; meta: ReportMeta }> {
  const started = Date.now();
  const spectraDir = join(out, 'spectra');
  await removeStaleTemporaries([out, spectraDir]);
  log(`${model.name}, preset ${opts.preset}, seed ${opts.seed}, writing to ${out}${opts.preset === 'paper' ? ' (the paper preset takes hours)' : ''}`);
  const study = await runReportStudy(model, data, {
    preset: opts.preset,
    seed: opts.seed,
    executor,
    store: directoryStore(spectraDir, model.name, weightsDigest(model), Boolean(opts.resume)),
    onProgress: (step, total, message) => log(`[${step}/${total}, ${((Date.now() - started) / 1000).toFixed(0)} s] ${message}`),
  });
  log('rendering figures');
  const meta = { version: PACKAGE_VERSION, data: data.source, created: new Date().toISOString() };
  const report = await buildReport(study, meta);
  await writeFileAtomic(join(out, 'report.json'), JSON.stringify(report.json) + '\n');
  await writeFileAtomic(join(out, 'report.html'), report.html);
  for (const f of report.findings) log(`finding ${f.id} (${f.title}): ${f.verdict}`);
  log(`wrote ${join(out, 'report.html')} and report.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { study, meta };
}

export function reportCommand(): Command {
  return new Command('report')
    .description('run the study and write a self-contained HTML report (with report.json) comparing the paper\'s findings with our measurements; several models also get a comparison page')
    .requiredOption('--model <models...>', MODEL_HELP + '; several (--model resnet56 resnet110) for a side-by-side comparison')
    .option('--data <cifar>', CIFAR_DATA_HELP)
    .addOption(
      new Option(
        '--preset <p>',
        'quick: a few minutes on 2 cores (full spectra of two stage-3 units at 2 images and one stage-2 unit, ' +
          '20 images propagated, a 500-image alpha/beta sweep of the last unit, projections at 3 images); ' +
          'depth: quick plus the full spectrum of the last unit of every stage at image 0 (for comparing networks ' +
          'of different depth: give several --model); ' +
          'paper: the paper\'s scale — every unit\'s full spectrum (10 images in stages 2-3, 3 in stage 1), ' +
          '1000 images propagated, the full test set for each sweep value, projections at 100 images — ' +
          'this takes HOURS (2.5 h measured for ResNet-56 and about 5 h for ResNet-110 on 2 cores; --resume continues ' +
          'an interrupted run); test: a tiny run for the test suite',
      ).choices(REPORT_PRESETS as unknown as string[]).default('quick'),
    )
    .option('--out <dir>', 'output directory (default: report-<model>, or report-<model>-vs-<model2> for several)')
    .option('--seed <s>', 'seed of the random perturbations', (v) => parseSeed(v), 0)
    .option('--workers <n>', 'worker threads for spectra, accuracy and propagation (default: one per core)', (v) => parsePositiveInteger(v, '--workers'))
    .option('--resume', 'reuse spectra already in <out>/spectra from an earlier (interrupted) run of the same model')
    .option('--quiet', 'no progress output')
    .action(async (opts: ReportOptions & { model: string[]; out?: string }) => {
      const log = opts.quiet ? () => {} : (m: string) => process.stderr.write(`report: ${m}\n`);
      const specs = opts.model;
      if (new Set(specs).size !== specs.length) throw new UsageError(`--model names the same model twice (${specs.join(', ')})`);
      // Every model must load before hours of work start on the first one.
      const models: ResNetModel[] = [];
      for (const spec of specs) models.push(await loadModel(spec));
      const names = models.map((m) => m.name);
      if (new Set(names).size !== names.length) throw new UsageError(`two of the models are both called "${names.find((n, i) => names.indexOf(n) !== i)}": compare models with different names`);
      const data = await loadCifarData(opts.data, opts.quiet);
      announceData(data.dataSet, opts.quiet);
      const out = opts.out ?? `report-${names.join('-vs-')}`;
      const workers = opts.workers ?? (await availableCores());
      const executor = await createExecutor(workers);
      const reports = [];
      try {
        for (const model of models) {
          reports.push(await reportOneModel(model, models.length > 1 ? join(out, model.name) : out, data, executor, opts, log));
        }
      } finally {
        executor.close();
      }
      if (reports.length > 1) {
        await writeComparison(out, reports.map((r, i) => ({ ...r, href: `${names[i]}/report.html` })));
        log(`wrote ${join(out, 'comparison.html')} and comparison.json`);
      }
    });
}
