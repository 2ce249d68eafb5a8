/**
 * Issue 15: where the time of a stage-1 unit's full spectrum goes, by phase, on 1 and 2 threads, in
 * f64 and f32 (the Gram route of src/spectrum/gram-route.ts, in this process, from the image):
 * forward + linearization, row windows, G, band reduction (its products on the pool vs its serial
 * panel work: QR, T, small GEMMs, copies), bulge chase, eigenvalues. Every run opens a pool of its own
 * (openThreadedKernels; 1 thread = the same pool code without helpers), so the products' time is
 * measured inside WebAssembly (threadPoolSeconds) and the serial rest is the difference.
 *
 *   node --import tsx bench/stage1.ts [--unit 1.1] [--threads 1,2] [--precision f64,f32] [--band 64] [--runs 1]
 *
 * Prints one Markdown row per run and the Amdahl fit of the 1- and 2-thread band reductions.
 */
import { imageToFloat, loadCifar } from '../src/data/cifar.js';
import { float64Trajectory, linearizeUnit, resolveUnit } from '../src/linearize/index.js';
import { loadModel } from '../src/model/load.js';
import { unitSingularValuesGram } from '../src/spectrum/gram-route.js';
import { openThreadedKernels } from '../src/wasm/threads.js';
import { sharedDir } from './support.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const unitSpec = argValue('--unit') ?? '1.1';
const threadCounts = (argValue('--threads') ?? '1,2').split(',').map(Number);
const precisions = (argValue('--precision') ?? 'f64,f32').split(',') as ('f64' | 'f32')[];
const runs = Number(argValue('--runs') ?? 1);
const bands = (argValue('--band') ?? '64').split(',').map(Number);

const model = await loadModel('resnet56');
const pixels = imageToFloat(await loadCifar(`${sharedDir}data/cifar10/test_batch.bin`), 0);
const unit = resolveUnit(model, unitSpec);

console.log(`unit ${unitSpec} (index ${unit}), load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('| precision | band | threads | total s | forward + linearize | windows + G | band reduction (products on the pool / serial) | chase | eigenvalues | s_max |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (let run = 0; run < runs; run++) {
  for (const precision of precisions) {
    for (const band of bands) for (const threads of threadCounts) {
      const pool = await openThreadedKernels(threads);
      try {
        const started = performance.now();
        const point = await float64Trajectory(model, pixels);
        const operator = await linearizeUnit(model, point, unit);
        const linearized = (performance.now() - started) / 1000;
        let productsAtChase = 0;
        const result = await unitSingularValuesGram(operator, {
          precision, pool, band,
          onPhase: (phase) => {
            if (phase.startsWith('band to tridiagonal')) productsAtChase = pool.taskSeconds().seconds;
          },
        });
        operator.dispose();
        const total = (performance.now() - started) / 1000;
        const s = result.seconds;
        const chaseOnPool = pool.taskSeconds().seconds - productsAtChase;
        console.log(
          `| ${precision} | ${band} | ${threads} | ${total.toFixed(1)} | ${linearized.toFixed(2)} | ${(s.windows + s.gram).toFixed(2)} | ` +
            `${s.tridiagonal.toFixed(1)} (${productsAtChase.toFixed(1)} / ${(s.tridiagonal - productsAtChase).toFixed(1)}) | ` +
            `${s.chase.toFixed(1)} (pool ${chaseOnPool.toFixed(1)}) | ${s.eigenvalues.toFixed(2)} | ${result.values[0]} |`,
        );
      } finally {
        await pool.close();
      }
    }
  }
}
console.log(`load after ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
