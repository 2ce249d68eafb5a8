/**
 * Forward throughput (images/s), ResNet-56 and ResNet-110, batch 100, the first 1,000 CIFAR-10 test
 * images: resnet-stability (tfjs-wasm SIMD with our Winograd 3x3 convolutions, one worker per core)
 * against the same with tfjs' own convolutions (XNNPACK; RESNET_STABILITY_XNNPACK_CONV=1 in its
 * workers) and PyTorch for CPU (2 threads), in the same run, runs interleaved. Prints a markdown
 * table for BENCHMARKS.md.
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
// Worker threads copy the environment when they start: the second pool runs tfjs' own convolutions.
const pool = await WorkerPool.create(cores);
process.env.RESNET_STABILITY_XNNPACK_CONV = '1';
const xnnpack = await WorkerPool.create(cores);
delete process.env.RESNET_STABILITY_XNNPACK_CONV;

console.log(`| model | resnet-stability, Winograd (img/s) | tfjs XNNPACK convolutions (img/s) | PyTorch CPU 2 threads (img/s) | ratio to PyTorch | Winograd / XNNPACK |`);
console.log(`|---|---|---|---|---|---|`);
for (const name of ['resnet56', 'resnet110']) {
  const model = await loadModel(name);
  for (const executor of [pool, xnnpack]) await evaluateAccuracy(model, data, { limit: 2 * batch * cores, batchSize: batch, executor }); // warm-up
  const ours: number[] = [];
  const theirs: number[] = [];
  const torch: number[] = [];
  for (let r = 0; r < runs; r++) {
    ours.push(...(await timeRuns(1, () => evaluateAccuracy(model, data, { limit: images, batchSize: batch, executor: pool }))));
    theirs.push(...(await timeRuns(1, () => evaluateAccuracy(model, data, { limit: images, batchSize: batch, executor: xnnpack }))));
    torch.push(...runPython<{ imagesPerSecond: number; seconds: number[] }>('bench_forward.py', [
      `${sharedDir}models/${name}.th`, `${sharedDir}data/cifar10/test_batch.bin`, images, batch, 1,
    ]).seconds);
  }
  const oursRate = images / median(ours);
  const xnnRate = images / median(theirs);
  const torchRate = images / median(torch);
  console.log(`| ${name} | ${oursRate.toFixed(1)} | ${xnnRate.toFixed(1)} | ${torchRate.toFixed(1)} | ${(oursRate / torchRate).toFixed(2)}x | ${(oursRate / xnnRate).toFixed(2)}x |`);
  console.error(`${name} seconds: ours ${ours.map((t) => t.toFixed(2)).join(' ')}; xnnpack ${theirs.map((t) => t.toFixed(2)).join(' ')}; torch ${torch.map((t) => t.toFixed(2)).join(' ')}`);
}
pool.close();
xnnpack.close();
