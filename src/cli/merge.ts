/**
 * `resnet-stability merge <shard dir>... --out <dir> [--json]`: combine the output directories of a
 * sharded study (`spectrum --shard k/N` or `report --shard k/N`) into exactly what the unsharded run
 * writes: summary.json/summary.csv of a spectrum study, report.json/report.html of a report (byte for
 * byte; with `report --reproducible` the shards' and the one-machine run's durations are all 0 and
 * the date is $SOURCE_DATE_EPOCH's, so the bytes can be compared).
 *
 * A report is rebuilt from its jobs' records, so merge needs the model the shards used: it loads the
 * model as the shards were given it (study.json's modelSpec) and refuses one whose weights differ.
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../model/load.js';
import type { ResNetModel } from '../model/model.js';
import { mergeShards } from '../study/jobs.js';
import { assembleReportStudy, spectrumValues, type ReportPlan } from '../study/report-study.js';
import type { SpectrumJobOptions, SpectrumRecord } from '../study/spectrum-study.js';
import { InputError } from '../util/errors.js';
import { PACKAGE_VERSION } from '../version.js';
import { reportCreated, reportIdentity, writeReport } from './report.js';
import { writeSpectrumSummary } from './spectrum.js';

interface ReportManifestStudy {
  kind: 'report'; model: string; modelSpec: string; fingerprint: string; data: string; seed: number; reproducible: boolean; plan: ReportPlan;
}

/** The model a report's shards used, loaded before anything is merged (so a refusal writes nothing). */
async function reportModel(dir: string): Promise<{ model: ResNetModel; study: ReportManifestStudy } | undefined> {
  let study: Partial<ReportManifestStudy> | undefined;
  try {
    study = (JSON.parse(await readFile(join(dir, 'study.json'), 'utf8')) as { study?: Partial<ReportManifestStudy> }).study;
  } catch {
    return undefined; // mergeShards names the problem
  }
  if (study?.kind !== 'report') return undefined;
  if (typeof study.modelSpec !== 'string' || typeof study.fingerprint !== 'string' || typeof study.plan !== 'object' || study.plan === null) {
    throw new InputError(`${join(dir, 'study.json')}: a report study without modelSpec, fingerprint or plan`);
  }
  const model = await loadModel(study.modelSpec);
  if (reportIdentity(study.modelSpec, model, '').fingerprint !== study.fingerprint) {
    throw new InputError(`model "${study.modelSpec}" here has other weights than the shards in ${dir} were run with`);
  }
  return { model, study: study as ReportManifestStudy };
}

export function mergeCommand(): Command {
  return new Command('merge')
    .description('combine the output directories of a sharded run (spectrum or report --shard k/N) into one')
    .argument('<dirs...>', 'shard output directories')
    .requiredOption('--out <dir>', 'merged output directory')
    .option('--json', 'print one JSON object on stdout: what was merged and where it went')
    .action(async (dirs: string[], opts: { out: string; json?: boolean }) => {
      const report = dirs.length ? await reportModel(dirs[0]) : undefined;
      const created = report ? reportCreated(report.study.reproducible) : '';
      const { manifest, records } = await mergeShards(dirs, opts.out);
      const study = manifest.study as unknown as { kind: string; model: string; options: SpectrumJobOptions };
      let written: string[];
      if (report) {
        const { model, study: r } = report;
        const values = await spectrumValues(records, new Map(), opts.out);
        const assembled = assembleReportStudy(model, r.plan, r.seed, records, (key) => values.get(key)!);
        await writeReport(opts.out, assembled, { version: PACKAGE_VERSION, data: r.data, created });
        written = ['report.json', 'report.html'];
      } else if (study.kind === 'spectrum') {
        await writeSpectrumSummary(opts.out, study.model, study.options.method, records as SpectrumRecord[]);
        written = ['summary.json', 'summary.csv'];
      } else {
        throw new InputError(`cannot merge a "${study.kind}" study`);
      }
      if (!opts.json) process.stderr.write(`merged ${dirs.length} shard(s), ${records.length} jobs, into ${opts.out}\n`);
      else process.stdout.write(JSON.stringify({ kind: study.kind, model: study.model, shards: dirs.length, jobs: records.length, out: opts.out, written }) + '\n');
    });
}
