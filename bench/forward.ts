/**
 * Forward throughput (images/s), ResNet-56 and ResNet-110, batch 100, the first 1,000 CIFAR-10 test
 * images: resnet-stability (tfjs-wasm SIMD, one worker per core) against PyTorch for CPU (2 threads),
 * in the same run. Prints a markdown table for BENCHMARKS.md.
 *
 *   node --import tsx bench/forward.ts [--images 1000] [--runs 5]
 */
import { loadCifar } from '../src/data/cifar.js';
import { loadModel } from '../src/model/load.js';
import { evaluateAccuracy } from '../src/study/accuracy.js';
import { WorkerPool, availableCores } from '../src/workers/pool.js';
import { median, runPython, sharedDir, timeRuns } from './support.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const images = arg('--images', 1000);
const runs = arg('--runs', 5);
const batch = 100;
const data = await loadCifar(`${sharedDir}data/cifar10/test_batch.bin`);
const cores = await availableCores();
const pool = await WorkerPool.create(cores);

console.log(`| model | resnet-stability (img/s) | PyTorch CPU 2 threads (img/s) | ratio |`);
console.log(`|---|---|---|---|`);
for (const name of ['resnet56', 'resnet110']) {
  const model = await loadModel(name);
  await evaluateAccuracy(model, data, { limit: 2 * batch * cores, batchSize: batch, executor: pool }); // warm-up
  const ours = await timeRuns(runs, () => evaluateAccuracy(model, data, { limit: images, batchSize: batch, executor: pool }));
  const torch = runPython<{ imagesPerSecond: number; seconds: number[] }>('bench_forward.py', [
    `${sharedDir}models/${name}.th`, `${sharedDir}data/cifar10/test_batch.bin`, images, batch, runs,
  ]);
  const oursRate = images / median(ours);
  const torchRate = images / median(torch.seconds);
  console.log(`| ${name} | ${oursRate.toFixed(1)} | ${torchRate.toFixed(1)} | ${(oursRate / torchRate).toFixed(2)}x |`);
}
pool.close();
