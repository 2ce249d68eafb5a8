/**
 * `resnet-stability predict --model <m> --data <d> --images 0-9,15 [--json]`: logits and predicted classes.
 * With --json, stdout is {"model", "images": [...], "logits": [[10 numbers], ...], "predictions": [...], "data"}.
 * `--data` may also be a comma-separated list of 32x32 PNG/JPEG files (then --images is not used).
 */
import { Command } from 'commander';
import { loadModel } from '../model/load.js';
import { predictLogits } from '../model/forward.js';
import { argmaxRows } from '../study/predictions.js';
import { loadImageSelection, MODEL_HELP, imageDataHelp } from './inputs.js';

export function predictCommand(): Command {
  return new Command('predict')
    .description('logits and predicted classes for selected images')
    .requiredOption('--model <model>', MODEL_HELP)
    .option('--data <data>', imageDataHelp(true))
    .option('--images <list>', 'image indices into the CIFAR file, e.g. 0-9,15', '0')
    .option('--json', 'print one JSON object to stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: { model: string; data?: string; images: string; json?: boolean; quiet?: boolean }) => {
      const model = await loadModel(opts.model);
      const selection = await loadImageSelection(opts.data, opts.images, opts.quiet || opts.json, '--images', [model.inputShape[1], model.inputShape[2]]);
      const classes = model.numClasses;
      const logits = await predictLogits(model, selection.pixels);
      const rows = selection.ids.map((_, i) => Array.from(logits.subarray(i * classes, (i + 1) * classes)));
      const predictions = argmaxRows(logits, classes);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ model: model.name, images: selection.ids, logits: rows, predictions, data: selection.dataSet }) + '\n');
        return;
      }
      selection.ids.forEach((id, i) => {
        const label = selection.labels?.[i];
        const truth = label === undefined ? '' : ` (label ${model.classes[label]})`;
        process.stdout.write(`${id}: ${model.classes[predictions[i]]}${truth}  logits ${rows[i].map((v) => v.toFixed(3)).join(' ')}\n`);
      });
    });
}
