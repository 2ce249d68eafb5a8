/** `resnet-stability import <checkpoint> --out <dir>`: convert a PyTorch checkpoint to the package format. */
import { Command } from 'commander';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { importCheckpoint } from '../model/checkpoint/resnet.js';
import { ResNetModel, type AccuracyRecord } from '../model/model.js';
import { MAX_CHECKPOINT_BYTES, saveModel } from '../model/load.js';
import { readRegularFile } from '../util/read-file.js';
import { evaluateAccuracy } from './eval.js';

export function importCommand(): Command {
  return new Command('import')
    .description('convert a PyTorch CIFAR ResNet checkpoint (.th, zip or legacy format) into a model directory')
    .argument('<checkpoint>', 'PyTorch checkpoint file')
    .requiredOption('--out <dir>', 'output model directory (model.json + weights.bin)')
    .option('--name <name>', 'model name recorded in model.json (default: the file name)')
    .option('--measure-accuracy [data]', 'evaluate on CIFAR-10 test data and record the accuracy in model.json')
    .option('--quiet', 'no progress output')
    .action(async (checkpoint: string, opts: { out: string; name?: string; measureAccuracy?: string | true; quiet?: boolean }) => {
      const bytes = await readRegularFile(checkpoint, MAX_CHECKPOINT_BYTES, `checkpoint ${checkpoint}`);
      const params = importCheckpoint(bytes, basename(checkpoint));
      const name = opts.name ?? basename(checkpoint).replace(/\.(th|pt|pth|tar)$/i, '');
      let model = new ResNetModel(params, { name });
      if (opts.measureAccuracy !== undefined) {
        const data = opts.measureAccuracy === true ? undefined : opts.measureAccuracy;
        const result = await evaluateAccuracy(model, data, { quiet: opts.quiet });
        const accuracy: AccuracyRecord = {
          dataset: `CIFAR-10 test set (${basename(result.source)})`,
          images: result.images,
          correct: result.correct,
          top1: result.accuracy,
        };
        model = new ResNetModel(params, { name, accuracy });
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await saveModel(model, opts.out, { checkpoint: basename(checkpoint), sha256 });
      process.stderr.write(`wrote ${opts.out}/model.json (${name}, depth ${params.depth}, ${params.units.length} units)\n`);
    });
}
