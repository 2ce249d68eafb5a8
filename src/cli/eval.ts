/**
 * `resnet-stability eval --model <m> [--data <cifar>] [--limit N] [--json]`: top-1 accuracy.
 * With --json, stdout is exactly one object {"model", "images", "correct", "accuracy", "data"} (accuracy a
 * fraction; data: which CIFAR-10 file, where it came from, how many images it holds).
 */
import { Command } from 'commander';
import { loadModel } from '../model/load.js';
import type { ResNetModel } from '../model/model.js';
import { evaluateAccuracy as evaluateOnImages, type AccuracyResult } from '../study/accuracy.js';
import { availableCores, createExecutor } from '../workers/pool.js';
import { createProgress } from './progress.js';
import { announceData, loadCifarData, parsePositiveInteger, type DataSetInfo, MODEL_HELP, CIFAR_DATA_HELP } from './inputs.js';

export interface EvalOptions {
  limit?: number;
  quiet?: boolean;
  /** Worker threads (default: the number of cores; 1 runs in this thread). */
  workers?: number;
}

/** Accuracy of `model` on the CIFAR-10 data named by `dataSpec` (see `loadCifarData`), with progress. */
export async function evaluateAccuracy(
  model: ResNetModel,
  dataSpec: string | undefined,
  options: EvalOptions = {},
): Promise<AccuracyResult & { source: string; dataSet: DataSetInfo }> {
  const data = await loadCifarData(dataSpec, options.quiet);
  announceData(data.dataSet, options.quiet);
  const total = Math.min(options.limit ?? data.count, data.count);
  const progress = createProgress(`eval ${model.name}`, total, options.quiet);
  let reported = 0;
  const workers = options.workers ?? (await availableCores());
  const executor = await createExecutor(workers);
  try {
    const result = await evaluateOnImages(model, data, {
      limit: total,
      executor,
      onProgress(done) {
        progress.tick(done - reported);
        reported = done;
      },
    });
    progress.done();
    return { ...result, source: data.source, dataSet: data.dataSet };
  } finally {
    executor.close();
  }
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('top-1 accuracy of a model on CIFAR-10 test images')
    .requiredOption('--model <model>', MODEL_HELP)
    .option('--data <cifar>', CIFAR_DATA_HELP)
    .option('--limit <n>', 'evaluate only the first n images', (v) => parsePositiveInteger(v, '--limit'))
    .option('--workers <n>', 'worker threads (default: one per core)', (v) => parsePositiveInteger(v, '--workers'))
    .option('--json', 'print one JSON object to stdout')
    .option('--quiet', 'no progress output')
    .action(async (opts: { model: string; data?: string; limit?: number; workers?: number; json?: boolean; quiet?: boolean }) => {
      const model = await loadModel(opts.model);
      const result = await evaluateAccuracy(model, opts.data, {
        limit: opts.limit,
        workers: opts.workers,
        quiet: opts.quiet || opts.json,
      });
      if (opts.json) {
        process.stdout.write(
          JSON.stringify({ model: model.name, images: result.images, correct: result.correct, accuracy: result.accuracy, data: result.dataSet }) + '\n',
        );
      } else {
        process.stdout.write(
          `${model.name}: ${result.correct}/${result.images} correct, accuracy ${(100 * result.accuracy).toFixed(2)} %\n`,
        );
      }
    });
}
