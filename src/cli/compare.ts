/**
 * `resnet-stability compare <report dir or report.json>... --out <dir>`: put the reports of several
 * models side by side in <out>/comparison.html and <out>/comparison.json (src/report/comparison.ts).
 * For studies run separately — on different machines, or a paper-preset run per model; `report` with
 * several models writes the same page itself. `--json` also prints comparison.json to stdout.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { buildComparison, type ComparedModel } from '../report/comparison.js';
import type { ReportMeta } from '../report/documents.js';
import type { ReportStudy } from '../study/report-study.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { InputError } from '../util/errors.js';
import { readRegularFile } from '../util/read-file.js';
import { PACKAGE_VERSION } from '../version.js';
import { UsageError } from './errors.js';

/** Writes <out>/comparison.json and <out>/comparison.html; returns the JSON text written. */
export async function writeComparison(out: string, compared: ComparedModel[], created = new Date().toISOString()): Promise<string> {
  const { html, json } = await buildComparison(compared, { version: PACKAGE_VERSION, created });
  const text = JSON.stringify(json) + '\n';
  await writeFileAtomic(join(out, 'comparison.json'), text);
  await writeFileAtomic(join(out, 'comparison.html'), html);
  return text;
}

/**
 * The most bytes a report.json may have: a report holds summaries and binned spectra, well under a
 * megabyte; a file far larger is not one, and is refused before it is read into memory.
 */
const MAX_REPORT_BYTES = 256 * 2 ** 20;

/** The study and meta in a report.json written by `report` (a directory holding one, or the file). */
async function readReport(path: string): Promise<ComparedModel & { file: string }> {
  const file = path.endsWith('.json') ? path : join(path, 'report.json');
  if (!existsSync(file)) throw new InputError(`${file}: no such report (run "resnet-stability report" first)`);
  // Only a regular file of bounded size: a FIFO or device named report.json would block or never end.
  const text = new TextDecoder().decode(await readRegularFile(file, MAX_REPORT_BYTES));
  let json: ReportStudy & { meta?: ReportMeta };
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`${file}: not JSON (a truncated or foreign file?)`);
  }
  const complete = json && typeof json.model === 'string' && Number.isInteger(json.units) && json.meta && Array.isArray(json.spectra) &&
    Array.isArray(json.propagation?.attacks) && Array.isArray(json.sweep?.accuracy) && json.cleanAccuracy && json.projection;
  if (!complete) throw new InputError(`${file}: not a report.json written by "resnet-stability report"`);
  const { meta, ...study } = json as ReportStudy & { meta: ReportMeta };
  return { study, meta, file };
}

export function compareCommand(): Command {
  return new Command('compare')
    .description('put the reports of several models side by side: <out>/comparison.html and comparison.json')
    .argument('<reports...>', 'report directories (each with the report.json that "report" wrote) or report.json files')
    .requiredOption('--out <dir>', 'output directory')
    .option('--json', 'also print comparison.json to stdout')
    .action(async (paths: string[], opts: { out: string; json?: boolean }) => {
      if (paths.length < 2) throw new UsageError(`compare needs at least two reports, got ${paths.length}`);
      const reports = [];
      for (const path of paths) reports.push(await readReport(path));
      const names = reports.map((r) => r.study.model);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice) throw new InputError(`two of the reports are of model "${twice}": compare reports of different models`);
      const compared = reports.map(({ study, meta, file }) => {
        const page = join(dirname(file), basename(file, '.json') + '.html');
        // A link from the comparison page to each model's own page, when it is there.
        const href = existsSync(page) ? relative(resolve(opts.out), resolve(page)).split('\\').join('/') : undefined;
        return { study, meta, href };
      });
      const json = await writeComparison(opts.out, compared);
      if (opts.json) process.stdout.write(json);
      process.stderr.write(`compared ${names.join(', ')}: wrote ${join(opts.out, 'comparison.html')} and comparison.json\n`);
    });
}
