/**
 * `resnet-stability stage --model m [--data d] --image i --stage 1|2|3 [--method topk|density|full] [--k 20]
 *  [--bins e0,e1,...] [--out dir] [--json]`: the linearization of a whole stage (product of its units'
 * Jacobians) at one image, for a model of any family (its stages are 1-based, stage K = `layerK`). --json prints {"model", "image", "stage", "shape", "method", "values" | "density"}.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { resolveStage } from '../linearize/units.js';
import { loadModel } from '../model/load.js';
import { stageSpectrum, type StageMethod } from '../study/stage.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from './errors.js';
import { loadImageSelection, parseNumberList, parsePositiveInteger, MODEL_HELP, imageDataHelp } from './inputs.js';

export function stageCommand(): Command {
  return new Command('stage')
    .description('singular values of the linearization of a whole stage at one image')
    .requiredOption('--model <model>', MODEL_HELP)
    .option('--data <data>', imageDataHelp(false))
    .option('--image <i>', 'image index', '0')
    .requiredOption('--stage <s>', 'stage number, 1-based (stage K = torchvision layerK, WRN blockK)')
    .addOption(new Option('--method <m>', 'what to compute').choices(['topk', 'density', 'full']).default('topk'))
    .option('--k <k>', 'topk: how many of the largest values', (v) => parsePositiveInteger(v, '--k'), 20)
    .option('--bins <edges>', 'density: bin edges', (v) => parseNumberList(v, '--bins'))
    .option('--out <dir>', 'write stage.json here')
    .option('--json', 'print the result as one JSON object')
    .option('--quiet', 'no progress output')
    .action(async (opts: { model: string; data?: string; image: string; stage: string; method: StageMethod; k: number; bins?: number[]; out?: string; json?: boolean; quiet?: boolean }) => {
      if (opts.bins && (opts.bins.length < 2 || opts.bins.some((e, i) => i > 0 && !(e > opts.bins![i - 1])))) {
        throw new UsageError('--bins must be at least two strictly increasing edges');
      }
      const model = await loadModel(opts.model);
      const stage = resolveStage(model, /^\d+$/.test(opts.stage) ? Number(opts.stage) : opts.stage);
      const selection = await loadImageSelection(opts.data, opts.image, opts.quiet || opts.json, '--image', [model.inputShape[1], model.inputShape[2]]);
      const result = await stageSpectrum(model, selection.pixels.subarray(0, model.inputValues), stage, opts.method, { k: opts.k, bins: opts.bins });
      const out = { model: model.name, image: selection.ids[0], ...result };
      if (opts.out) await writeFileAtomic(join(opts.out, 'stage.json'), JSON.stringify(out) + '\n');
      if (opts.json) process.stdout.write(JSON.stringify({ ...out, data: selection.dataSet }) + '\n');
      else if (!opts.out) {
        const what = result.values ? `largest ${result.values.slice(0, 5).map((v) => v.toFixed(4)).join(', ')}` : `density over ${result.density!.counts.length} bins`;
        process.stdout.write(`${model.name} image ${out.image} stage ${stage} (${result.shape[0]} x ${result.shape[1]}): ${what}\n`);
      }
    });
}
