/**
 * `resnet-stability project --model m [--data d] --images 0-9 --eps E [--attack fgsm|pgd] [--random gaussian|sign]
 *  [--k 10] [--seed s] [--out dir] [--json]`: the perturbation entering each unit projected onto the
 * top-k right singular vectors of that unit's linearization, adversarial vs random of the same size.
 * --json prints {"model", "eps", "k", "results": [{"image", "attacks": [{"attack", "rows": [{"unit",
 * "fraction", "amplification"}]}]}]}. Any family; images of the model's input size.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { loadModel } from '../model/load.js';
import { checkPerturbationOptions, type AttackName } from '../study/perturbations.js';
import { projectPerturbations } from '../study/projection.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { toCsv } from '../util/csv.js';
import { loadImageSelection, parsePositiveInteger, parseSeed, MODEL_HELP, CIFAR_DATA_HELP } from './inputs.js';
import { UsageError } from './errors.js';
import { createProgress } from './progress.js';

export function projectCommand(): Command {
  return new Command('project')
    .description('project the perturbation entering each unit onto its top right singular vectors')
    .requiredOption('--model <model>', MODEL_HELP)
    .option('--data <data>', `${CIFAR_DATA_HELP}; or an image folder (one subfolder per class) of images of the model's input size`)
    .option('--images <list>', 'image indices, e.g. 0-9', '0')
    .requiredOption('--eps <eps>', 'perturbation size (L-infinity radius; random ones get the same L2 size)', Number)
    .addOption(new Option('--attack <a>', 'adversarial perturbation').choices(['fgsm', 'pgd']).default('fgsm'))
    .addOption(new Option('--random <r>', 'random perturbation').choices(['gaussian', 'sign']).default('gaussian'))
    .option('--k <k>', 'how many right singular vectors per unit', (v) => parsePositiveInteger(v, '--k'), 10)
    .option('--seed <s>', 'seed of the random perturbation (integer 0..4294967295)', (v) => parseSeed(v), 0)
    .option('--out <dir>', 'write projection.json and projection.csv here')
    .option('--json', 'print the result as one JSON object')
    .option('--quiet', 'no progress output')
    .action(async (opts: { model: string; data?: string; images: string; eps: number; attack: AttackName; random: AttackName; k: number; seed: number; out?: string; json?: boolean; quiet?: boolean }) => {
      const attacks = [opts.attack, opts.random].map((attack) => checkPerturbationOptions({ attack, eps: opts.eps, seed: opts.seed }));
      const model = await loadModel(opts.model);
      const selection = await loadImageSelection(opts.data, opts.images, opts.quiet || opts.json, '--images', [model.inputShape[1], model.inputShape[2]]);
      if (!selection.labels) throw new UsageError('project needs labelled images: use CIFAR data or an image folder (--data file or directory)');
      const d = model.inputValues;
      const progress = createProgress('project', selection.ids.length, opts.quiet || opts.json);
      const results = [];
      for (let i = 0; i < selection.ids.length; i++) {
        const image = selection.ids[i] as number;
        const projected = await projectPerturbations(model, selection.pixels.slice(i * d, (i + 1) * d), selection.labels![i], image, attacks, opts.k);
        results.push({ image, attacks: projected });
        progress.tick();
      }
      progress.done();
      const summary = { model: model.name, eps: opts.eps, k: opts.k, results };
      if (opts.out) {
        const rows = results.flatMap((r) => r.attacks.flatMap((a) => a.rows.map((row) => [r.image, a.attack, row.unit, row.fraction, row.amplification])));
        await writeFileAtomic(join(opts.out, 'projection.csv'), toCsv(['image', 'attack', 'unit', 'fraction', 'amplification'], rows));
        await writeFileAtomic(join(opts.out, 'projection.json'), JSON.stringify(summary) + '\n');
      }
      if (opts.json) process.stdout.write(JSON.stringify({ ...summary, data: selection.dataSet }) + '\n');
      else if (!opts.out) {
        for (const r of results) {
          for (const a of r.attacks) {
            const mean = a.rows.reduce((s, row) => s + row.fraction, 0) / a.rows.length;
            process.stdout.write(`image ${r.image}, ${a.attack}: mean energy fraction in the top-${opts.k} right singular vectors ${mean.toExponential(3)}\n`);
          }
        }
      }
    });
}
