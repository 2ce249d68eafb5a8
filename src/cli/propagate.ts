/**
 * `resnet-stability propagate --model m --data d --images 0-9 --attack fgsm|pgd|gaussian|sign --eps E
 *  [--norm linf|l2] [--steps k] [--step-size a] [--seed s] [--out dir] [--json]`
 *
 * With --json, stdout is {"model", "attack", "eps", "results": [{"image", "label", "predClean",
 * "predPerturbed", "relative": [N+1], "firstOrder": [N+1]}]} (N units: 3n for the paper's family);
 * `relative` is after the stem, then after each unit. Any family; images of the model's input size. --out writes propagation.json and propagation.csv (one row per image and depth).
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { loadModel } from '../model/load.js';
import { ATTACKS, checkPerturbationOptions, type AttackName, type PerturbationNorm } from '../study/perturbations.js';
import type { PropagationResult } from '../study/propagation.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { toCsv } from '../util/csv.js';
import { UsageError } from './errors.js';
import { loadImageSelection, parseFiniteNumber, parsePositiveInteger, parseSeed, MODEL_HELP, CIFAR_DATA_HELP } from './inputs.js';
import { createProgress } from './progress.js';
import { availableCores, createExecutor } from '../workers/pool.js';

export function propagateCommand(): Command {
  return new Command('propagate')
    .description('follow random or adversarial input perturbations through every residual unit')
    .requiredOption('--model <model>', MODEL_HELP)
    .option('--data <data>', `${CIFAR_DATA_HELP}; or an image folder (one subfolder per class) of images of the model's input size`)
    .option('--images <list>', 'image indices, e.g. 0-9,15', '0')
    .addOption(new Option('--attack <name>', 'perturbation').choices(ATTACKS as unknown as string[]).makeOptionMandatory())
    .requiredOption('--eps <eps>', 'size: L-infinity radius (linf) or L2 radius (l2), pixels in [0,1]', (v) => parseFiniteNumber(v, '--eps'))
    .addOption(new Option('--norm <norm>', 'budget norm').choices(['linf', 'l2']).default('linf'))
    .option('--steps <k>', 'PGD steps', (v) => parsePositiveInteger(v, '--steps'), 10)
    .option('--step-size <a>', 'PGD step size (default: 2.5*eps/steps)', (v) => parseFiniteNumber(v, '--step-size'))
    .option('--seed <s>', 'seed of every random choice (integer 0..4294967295)', (v) => parseSeed(v), 0)
    .addOption(new Option('--gradient <p>', 'precision of the loss gradient (default: f64 for fgsm, f32 for pgd)').choices(['f64', 'f32']))
    .option('--no-first-order', 'skip the linearized (first-order) prediction')
    .option('--workers <n>', 'worker threads (default: one per core)', (v) => parsePositiveInteger(v, '--workers'))
    .option('--out <dir>', 'write propagation.json and propagation.csv here')
    .option('--json', 'print the result object to stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: {
      model: string; data?: string; images: string; attack: AttackName; eps: number; norm: PerturbationNorm;
      steps: number; stepSize?: number; seed: number; gradient?: 'f64' | 'f32'; workers?: number; firstOrder: boolean; out?: string; json?: boolean; quiet?: boolean;
    }) => {
      const perturbation = checkPerturbationOptions({
        attack: opts.attack, eps: opts.eps, norm: opts.norm, steps: opts.steps, stepSize: opts.stepSize, seed: opts.seed,
        gradient: opts.gradient,
      });
      const model = await loadModel(opts.model);
      const selection = await loadImageSelection(opts.data, opts.images, opts.quiet || opts.json, '--images', [model.inputShape[1], model.inputShape[2]]);
      if (!selection.labels) throw new UsageError('propagate needs labelled images: use CIFAR data or an image folder (--data file or directory)');
      const d = model.inputValues;
      const progress = createProgress(`propagate ${opts.attack}`, selection.ids.length, opts.quiet || opts.json);
      // Chunks of images go to the worker pool; each image's result depends only on the image and the
      // seed, so the output is the same for any number of workers.
      const chunk = 25;
      const starts = Array.from({ length: Math.ceil(selection.ids.length / chunk) }, (_, i) => i * chunk);
      const workers = Math.min(opts.workers ?? (await availableCores()), starts.length);
      const executor = await createExecutor(workers);
      const byChunk: PropagationResult[][] = [];
      try {
        await Promise.all(starts.map(async (start, c) => {
          const end = Math.min(selection.ids.length, start + chunk);
          const pixels = selection.pixels.slice(start * d, end * d);
          const labels = selection.labels!.slice(start, end);
          const ids = selection.ids.slice(start, end);
          byChunk[c] = await executor.run(model, { kind: 'propagate', pixels, labels, ids, perturbation, firstOrder: opts.firstOrder });
          progress.tick(end - start);
        }));
      } finally {
        executor.close();
      }
      const results = byChunk.flat();
      progress.done();
      const summary = {
        model: model.name,
        attack: opts.attack,
        eps: opts.eps,
        norm: perturbation.norm,
        ...(opts.attack === 'pgd' ? { steps: perturbation.steps, stepSize: perturbation.stepSize } : {}),
        seed: perturbation.seed,
        results: results.map(({ image, label, predClean, predPerturbed, relative, firstOrder }) => ({
          image, label, predClean, predPerturbed, relative, firstOrder,
        })),
      };
      if (opts.out) {
        const rows = results.flatMap((r) => r.relative.map((v, k) => [String(r.image), k, v, r.firstOrder[k] ?? '']));
        await writeFileAtomic(join(opts.out, 'propagation.csv'), toCsv(['image', 'depth', 'relative', 'firstOrder'], rows));
        await writeFileAtomic(join(opts.out, 'propagation.json'), JSON.stringify(summary) + '\n');
      }
      if (opts.json) process.stdout.write(JSON.stringify({ ...summary, data: selection.dataSet }) + '\n');
      else if (!opts.out) {
        for (const r of results) {
          process.stdout.write(
            `${r.image}: label ${r.label}, clean ${r.predClean} -> perturbed ${r.predPerturbed}; ` +
              `relative after stem ${r.relative[0].toExponential(3)}, after last unit ${r.relative.at(-1)!.toExponential(3)}\n`,
          );
        }
      }
    });
}
