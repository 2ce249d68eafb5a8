/**
 * `resnet-stability compare <report dir or report.json>... --out <dir>`: put the reports of several
 * models side by side in <out>/comparison.html and <out>/comparison.json (src/report/comparison.ts).
 * For studies run separately — on different machines, or a paper-preset run per model; `report` with
 * several models writes the same page itself.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { buildComparison, type ComparedModel } from '../report/comparison.js';
import type { ReportMeta } from '../report/documents.js';
import type { ReportStudy } from '../study/report-study.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { InputError } from '../util/errors.js';
import { PACKAGE_VERSION } from '../version.js';
import { UsageError } from './errors.js';

/** Writes <out>/comparison.json and <out>/comparison.html. */
export async function writeComparison(out: string, compared: ComparedModel[], created = new Date().toISOString()): Promise<void> {
  const { html, json } = await buildComparison(compared, { version: PACKAGE_VERSION, created });
  await writeFileAtomic(join(out, 'comparison.json'), JSON.stringify(json) + '\n');
  await writeFileAtomic(join(out, 'comparison.html'), html);
}

/** The study and meta in a report.json written by `report` (a directory holding one, or the file). */
async function readReport(path: string): Promise<ComparedModel & { file: string }> {
  const file = path.endsWith('.json') ? path : join(path, 'report.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${file}: no such report (run "resnet-stability report" first)` : `${file}: cannot read (${code ?? String(err)})`);
  }
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
    .action(async (paths: string[], opts: { out: string }) => {
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
      await writeComparison(opts.out, compared);
      process.stderr.write(`compared ${names.join(', ')}: wrote ${join(opts.out, 'comparison.html')} and comparison.json\n`);
    });
}
