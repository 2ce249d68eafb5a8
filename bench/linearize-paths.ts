/**
 * The paper's specialised unit operator (linearize/unit.ts over assembly/unit.ts) against the general
 * graph linearization (linearize/graph-linearize.ts, one operator per layer) on ResNet-56 at CIFAR-10
 * test image 0, in one run, interleaved so that both see the same machine load. Prints a markdown
 * table for BENCHMARKS.md (issue 11).
 *
 *   node --import tsx bench/linearize-paths.ts [--runs 7] [--blocks 16,1] [--topk-runs 3] [--rows 256]
 *
 * Per unit (1.1 = a stage-1 unit 16384 x 16384; 2.1 the first downsampling unit): J V and J^T U for a
 * block of k vectors for each k of `blocks` (WASM-side, blocks already in WASM memory, as Lanczos calls them), `rows`
 * dense rows of J, and the top-10 singular values (topSingularTriplets, k = 10) of unit 1.1.
 * Every figure is a median; the ratio is general / paper (> 1: the general path is slower).
 */
import { loadCifar } from '../src/data/cifar.js';
import { float64Trajectory, linearize, linearizeUnit, modelTrajectory64, type JacobianOperator } from '../src/linearize/index.js';
import { loadModel } from '../src/model/load.js';
import { topSingularTriplets } from '../src/spectrum/lanczos.js';
import { loadKernels } from '../src/wasm/kernels.js';
import { median, sharedDir } from './support.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 7);
const blocksAt = process.argv.indexOf('--blocks');
const blocks = (blocksAt > 0 ? process.argv[blocksAt + 1] : '16,1').split(',').map(Number);
const topkRuns = arg('--topk-runs', 3);
const denseRowCount = arg('--rows', 256);
const image = 0;

const kernels = await loadKernels();
const model = await loadModel('resnet56');
const data = await loadCifar(`${sharedDir}data/cifar10/test_batch.bin`);
const pixels = Float64Array.from(data.pixels.subarray(image * 3072, (image + 1) * 3072), (b) => b / 255);
const paperPoint = await float64Trajectory(model, pixels, { kernels });
const generalPoint = await modelTrajectory64(model, pixels, kernels);

type Build = (unit: string) => Promise<JacobianOperator<Float64Array>>;
const paths: [string, Build][] = [
  ['paper', (unit) => linearizeUnit(model, paperPoint, unit, { kernels })],
  ['general', async (unit) => (await linearize(generalPoint, { unit }, { kernels })) as JacobianOperator<Float64Array>],
];

function seconds(fn: () => void): number {
  const start = performance.now();
  fn();
  return (performance.now() - start) / 1000;
}

const rows: { what: string; paper: number; general: number }[] = [];
for (const unit of ['1.1', '2.1']) {
  const ops = await Promise.all(paths.map(([, build]) => build(unit)));
  const [m, n] = ops[0].shape;
  const times: Record<string, number[]>[] = ops.map(() => ({ build: [], rows: [] }));
  for (const block of blocks) {
    kernels.scope((s) => {
      const v = s.allocF64(block * n), u = s.allocF64(block * m), out = s.allocF64(block * Math.max(m, n));
      kernels.f64(v, block * n).set(Float64Array.from({ length: block * n }, () => Math.random() * 2 - 1));
      kernels.f64(u, block * m).set(Float64Array.from({ length: block * m }, () => Math.random() * 2 - 1));
      ops.forEach((op) => kernels.typed('f64').operatorApply(op.wasmHandle, v, block, out)); // warm-up
      ops.forEach((_, p) => Object.assign(times[p], { [`jv${block}`]: [], [`jtu${block}`]: [] }));
      for (let r = 0; r < runs; r++) {
        ops.forEach((op, p) => {
          times[p][`jv${block}`].push(seconds(() => kernels.typed('f64').operatorApply(op.wasmHandle, v, block, out)));
          times[p][`jtu${block}`].push(seconds(() => kernels.typed('f64').operatorApplyTranspose(op.wasmHandle, u, block, out)));
        });
      }
    });
  }
  const active = ops[0].activeRows().subarray(0, denseRowCount);
  for (let r = 0; r < Math.min(runs, 3); r++) ops.forEach((op, p) => times[p].rows.push(seconds(() => void op.denseRows(active))));
  ops.forEach((op) => op.dispose());
  for (let r = 0; r < runs; r++) {
    for (let p = 0; p < paths.length; p++) {
      const start = performance.now();
      (await paths[p][1](unit)).dispose();
      times[p].build.push((performance.now() - start) / 1000);
    }
  }
  const add = (what: string, key: string) => rows.push({ what: `unit ${unit} (${m} x ${n}): ${what}`, paper: median(times[0][key]), general: median(times[1][key]) });
  add('build the operator', 'build');
  for (const block of blocks) {
    add(`J V, ${block} vector${block > 1 ? 's' : ''}`, `jv${block}`);
    add(`J^T U, ${block} vector${block > 1 ? 's' : ''}`, `jtu${block}`);
  }
  add(`${active.length} dense rows`, 'rows');
}

const topk: number[][] = [[], []];
const values: Float64Array[] = [];
for (let r = 0; r < topkRuns; r++) {
  for (let p = 0; p < paths.length; p++) {
    const op = await paths[p][1]('1.1');
    const start = performance.now();
    const top = await topSingularTriplets({ shape: op.shape, wasmHandle: op.wasmHandle, kernels }, 10);
    topk[p].push((performance.now() - start) / 1000);
    values[p] = top.values;
    op.dispose();
  }
}
rows.push({ what: 'unit 1.1: top-10 singular values (Lanczos, tol 1e-10)', paper: median(topk[0]), general: median(topk[1]) });

const time = (s: number) => (s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);
console.log('| operation (ResNet-56, image 0, f64) | paper unit operator | general graph operator | general / paper |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.what} | ${time(r.paper)} | ${time(r.general)} | ${(r.general / r.paper).toFixed(2)} |`);
const gap = Math.max(...Array.from(values[0], (x, i) => Math.abs(x - values[1][i]) / values[0][0]));
console.log(`\nMedians of ${runs} product runs, ${Math.min(runs, 3)} dense-row runs, ${topkRuns} top-10 runs, interleaved. ` +
  `Top-10 values of the two paths agree to ${gap.toExponential(1)} of s_max (s_max = ${values[0][0].toFixed(6)}).`);
