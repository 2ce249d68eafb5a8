/**
 * `resnet-stability scale --model m [--data d] --param alpha|beta --values 0.5,0.9,1,1.1 [--units 3.1-3.9|all]
 *  [--limit N] [--spectrum-units 26] [--spectrum-images 0] [--out dir] [--json]`
 *
 * Sweeps the skip scale alpha or the residual weight scale beta (in the chosen units, or network-wide)
 * and reports accuracy per value and, when asked, the spectra summaries of some units. Any family:
 * `--data` is CIFAR (32 x 32 models) or an image folder (one subfolder per class) of images of the
 * model's input size. --out writes
 * scale.json, scale-accuracy.csv and scale-spectra.csv.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { resolveUnit } from '../linearize/units.js';
import { loadModel } from '../model/load.js';
import type { ResNetModel } from '../model/model.js';
import { scalingSweep, type ScaledParameter } from '../study/scaling.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { toCsv } from '../util/csv.js';
import { availableCores, createExecutor } from '../workers/pool.js';
import { parseIndexList } from '../data/indices.js';
import { looksLikeImageFolder } from '../data/image-folder.js';
import type { LabelledImages } from '../study/accuracy.js';
import { UsageError } from './errors.js';
import { announceData, loadCifarData, loadFolderSelection, parsePositiveInteger, MODEL_HELP, CIFAR_DATA_HELP, type DataSetInfo } from './inputs.js';

function parseValues(text: string): number[] {
  const values = text.split(',').map((v) => v.trim());
  if (values.some((v) => v === '' || !Number.isFinite(Number(v)))) throw new UsageError(`--values must be comma-separated numbers, got "${text}"`);
  return values.map(Number);
}

/** "all", or a comma-separated list of units (index or stage.unit) and ranges of indices ("18-26"). */
export function parseUnitList(model: ResNetModel, text: string, option: string): number[] {
  if (text === 'all') return [];
  const units: number[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    if (/^\d+-\d+$/.test(part)) units.push(...parseIndexList(part, model.unitCount, option));
    else units.push(resolveUnit(model, /^\d+$/.test(part) ? Number(part) : part));
  }
  return [...new Set(units)];
}

/**
 * The labelled images of `--data`: an image folder (its first `limit` images, or all, decoded at the
 * model's input size and stored as bytes like CIFAR's; announced here), else the CIFAR test set
 * (announced by the caller once the other inputs are checked).
 */
async function loadLabelledImages(
  spec: string | undefined, model: ResNetModel, limit: number | undefined, quiet: boolean,
): Promise<LabelledImages & { dataSet: DataSetInfo }> {
  if (spec !== undefined && (await looksLikeImageFolder(spec))) {
    const firstImages = (count: number) => Array.from({ length: Math.min(limit ?? count, count) }, (_, i) => i);
    // Labels are stored as bytes: more classes are refused before any image is decoded.
    const selection = await loadFolderSelection(spec, firstImages, quiet, [model.inputShape[1], model.inputShape[2]], { maxClasses: 256, command: 'scale' });
    // Decoded pixels are byte / 255: back to the bytes LabelledImages holds, exactly.
    const bytes = Uint8Array.from(selection.pixels, (p) => Math.round(p * 255));
    return { count: selection.ids.length, labels: Uint8Array.from(selection.labels), pixels: bytes, dataSet: selection.dataSet };
  }
  return loadCifarData(spec, quiet);
}

export function scaleCommand(): Command {
  return new Command('scale')
    .description('sweep the skip scale alpha or residual weight scale beta: accuracy and unit spectra')
    .requiredOption('--model <model>', MODEL_HELP)
    .option('--data <data>', `${CIFAR_DATA_HELP}; or an image folder (one subfolder per class) of images of the model's input size`)
    .addOption(new Option('--param <p>', 'which scale to sweep').choices(['alpha', 'beta']).makeOptionMandatory())
    .requiredOption('--values <list>', 'comma-separated values, e.g. 0.5,0.9,1,1.1', parseValues)
    .option('--units <list>', 'units to scale: all, or indices / stage.unit / ranges (18-26)', 'all')
    .option('--limit <n>', 'accuracy on the first n images (default: all)', (v) => parsePositiveInteger(v, '--limit'))
    .option('--spectrum-units <list>', 'units whose full spectra are summarized at each value (default: none)')
    .option('--spectrum-images <list>', 'images for those spectra', '0')
    .option('--workers <n>', 'worker threads for accuracy (default: one per core)', (v) => parsePositiveInteger(v, '--workers'))
    .option('--out <dir>', 'write scale.json and CSV tables here')
    .option('--json', 'print the result object to stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: {
      model: string; data?: string; param: ScaledParameter; values: number[]; units: string; limit?: number;
      spectrumUnits?: string; spectrumImages: string; workers?: number; out?: string; json?: boolean; quiet?: boolean;
    }) => {
      const model = await loadModel(opts.model);
      const units = parseUnitList(model, opts.units, '--units');
      const spectrumUnits = opts.spectrumUnits ? parseUnitList(model, opts.spectrumUnits, '--spectrum-units') : [];
      const data = await loadLabelledImages(opts.data, model, opts.limit, Boolean(opts.quiet || opts.json));
      const spectrumImages = parseIndexList(opts.spectrumImages, data.count, '--spectrum-images');
      // CIFAR data (it has a source file) is announced now that the inputs are checked; a folder was already.
      if ('source' in data) announceData(data.dataSet, opts.quiet || opts.json);
      const workers = opts.workers ?? (await availableCores());
      const executor = await createExecutor(workers);
      try {
        const result = await scalingSweep(model, data, {
          parameter: opts.param, values: opts.values, units, limit: opts.limit, spectrumUnits, spectrumImages, executor,
          onProgress: opts.quiet || opts.json ? undefined : (m) => process.stderr.write(`scale: ${m}\n`),
        });
        const summary = { model: model.name, ...result };
        if (opts.out) {
          await writeFileAtomic(join(opts.out, 'scale-accuracy.csv'), toCsv(['value', 'images', 'correct', 'accuracy'], result.accuracy.map((a) => [a.value, a.images, a.correct, a.accuracy])));
          await writeFileAtomic(join(opts.out, 'scale-spectra.csv'), toCsv(
            ['value', 'unit', 'image', 'smax', 'smallestNonzero', 'fractionOne', 'fractionZero'],
            result.spectra.map((r) => [r.value, r.unit, r.image, r.smax, r.smallestNonzero, r.fractionOne, r.fractionZero]),
          ));
          await writeFileAtomic(join(opts.out, 'scale.json'), JSON.stringify(summary) + '\n');
        }
        if (opts.json) process.stdout.write(JSON.stringify({ ...summary, data: data.dataSet }) + '\n');
        else if (!opts.out) {
          for (const a of result.accuracy) process.stdout.write(`${opts.param} = ${a.value}: accuracy ${(100 * a.accuracy).toFixed(2)} % (${a.correct}/${a.images})\n`);
          for (const r of result.spectra) {
            process.stdout.write(`${opts.param} = ${r.value}, unit ${r.unit}, image ${r.image}: s_max ${r.smax.toFixed(4)}, ${(100 * r.fractionOne).toFixed(2)} % at alpha, ${(100 * r.fractionZero).toFixed(2)} % zero\n`);
          }
        }
      } finally {
        executor.close();
      }
    });
}
