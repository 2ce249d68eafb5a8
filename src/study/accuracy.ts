/** Top-1 accuracy of a model on labelled images, in batches on the tfjs WebAssembly backend. */
import { IMAGE_VALUES } from '../model/forward.js';
import type { ResNetModel } from '../model/model.js';
import { InProcessExecutor, runLimited, type StudyExecutor } from './executor.js';
import { argmaxRows } from './predictions.js';

export interface LabelledImages {
  count: number;
  labels: Uint8Array;
  /** count x 3 x H x W bytes (R, G, B planes; 32 x 32 in the CIFAR binary format). */
  pixels: Uint8Array;
}

export interface AccuracyResult {
  images: number;
  correct: number;
  /** correct / images, a fraction. */
  accuracy: number;
}

/** Pixels in [0,1] (byte / 255) of images [start, end), as float32 B x 3 x H x W (`values` = 3 H W, default 32 x 32). */
export function pixelsOf(data: LabelledImages, start: number, end: number, values = IMAGE_VALUES): Float32Array {
  const bytes = data.pixels.subarray(start * values, end * values);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

/**
 * Top-1 accuracy on the first `limit` images, in batches of `batchSize` (default 100). The batches run
 * on `executor` (default: one after another in this thread), as many at once as it runs; the counts do
 * not depend on the executor.
 */
export async function evaluateAccuracy(
  model: ResNetModel,
  data: LabelledImages,
  options: { limit?: number; batchSize?: number; executor?: StudyExecutor; onProgress?: (done: number, total: number) => void } = {},
): Promise<AccuracyResult> {
  const total = Math.min(options.limit ?? data.count, data.count);
  const batchSize = options.batchSize ?? 100;
  const executor = options.executor ?? new InProcessExecutor();
  let correct = 0;
  let done = 0;
  const runBatch = async (start: number): Promise<void> => {
    const end = Math.min(total, start + batchSize);
    const logits = await executor.run(model, { kind: 'predict', pixels: pixelsOf(data, start, end, model.inputValues) });
    argmaxRows(logits, model.numClasses).forEach((p, i) => {
      if (p === data.labels[start + i]) correct++;
    });
    done += end - start;
    options.onProgress?.(done, total);
  };
  const starts = Array.from({ length: Math.ceil(total / batchSize) }, (_, i) => i * batchSize);
  await runLimited(starts.map((start) => () => runBatch(start)), executor.concurrency);
  return { images: total, correct, accuracy: total ? correct / total : 0 };
}
