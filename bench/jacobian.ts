/**
 * Jacobian products and the dense Jacobian of one residual unit (ResNet-56 unit 0 = 1.1, 16x32x32 ->
 * 16x32x32, at CIFAR-10 test image 0): resnet-stability (SIMD WASM, one thread) against PyTorch for CPU
 * (2 threads) in the same run. Prints a markdown table for BENCHMARKS.md.
 *
 *   node --import tsx bench/jacobian.ts [--runs 5] [--dense-runs 5] [--torch-dense-runs 3] [--block 64]
 *
 * Products: J V for a block of 64 vectors (and J^T U), f64 and f32. Ours is timed as the WASM-side
 * call on the operator handle (blocks already in WASM memory, as in Lanczos) and through apply() /
 * applyTranspose() (with the copies in and out of JS). PyTorch: the same linear map as conv2d /
 * conv_transpose2d calls with the masks, no autograd (bench_jacobian.py).
 * Dense: the 16384 x 16384 f64 J (2 GiB). Ours WASM-resident (denseInto: one 2 GiB block) and through
 * toDense() (into a JS Float64Array); PyTorch by torch.autograd.functional.jacobian(unit, h,
 * vectorize=True), which takes about 4 minutes per run here, hence 3 runs by default.
 * Every figure is a median; the ratio is PyTorch's time over ours (WASM-side), > 1 means we are faster.
 */
import { loadCifar } from '../src/data/cifar.js';
import { float64Trajectory, linearizeUnit } from '../src/linearize/index.js';
import { loadModel } from '../src/model/load.js';
import { loadKernels } from '../src/wasm/kernels.js';
import { median, runPython, sharedDir } from './support.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 5);
const denseRuns = arg('--dense-runs', 5);
const torchDenseRuns = arg('--torch-dense-runs', 3);
const block = arg('--block', 64);
const image = 0;
const unit = 0;

// The PyTorch peer first, so that its memory (autograd's dense Jacobian needs several GB) is free again.
console.error(`PyTorch peer: ${runs} product runs, ${torchDenseRuns} dense runs (minutes each) ...`);
const torch = runPython<Record<string, number[] | number | string>>('bench_jacobian.py', [
  `${sharedDir}models/resnet56.th`, `${sharedDir}data/cifar10/test_batch.bin`, image, unit, block, runs, torchDenseRuns,
]);

const kernels = await loadKernels();
const model = await loadModel('resnet56');
const data = await loadCifar(`${sharedDir}data/cifar10/test_batch.bin`);
const pixels = Float64Array.from(data.pixels.subarray(image * 3072, (image + 1) * 3072), (b) => b / 255);
const trajectory = await float64Trajectory(model, pixels);

function timeSync(count: number, fn: () => void): number[] {
  const seconds: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    fn();
    seconds.push((performance.now() - start) / 1000);
  }
  return seconds;
}

interface Row {
  what: string;
  oursWasm: number;
  oursApi: number;
  torch: number;
}
const rows: Row[] = [];

console.error('resnet-stability: products ...');
for (const precision of ['f64', 'f32'] as const) {
  const op = await linearizeUnit(model, trajectory, unit, { precision });
  const [m, n] = op.shape;
  const v = Float64Array.from({ length: block * n }, () => Math.random() * 2 - 1);
  const typed = precision === 'f64' ? v : Float32Array.from(v);
  const wasm = kernels.typed(precision);
  const [jvWasm, jtuWasm] = kernels.scope((s) => {
    const vPtr = s.alloc(precision, block * n);
    const uPtr = s.alloc(precision, block * m);
    wasm.view(vPtr, block * n).set(v);
    const handle = op.wasmHandle;
    wasm.operatorApply(handle, vPtr, block, uPtr); // warm-up
    return [
      timeSync(runs, () => wasm.operatorApply(handle, vPtr, block, uPtr)),
      timeSync(runs, () => wasm.operatorApplyTranspose(handle, uPtr, block, vPtr)),
    ];
  });
  const jvApi = timeSync(runs, () => void op.apply(typed, block));
  const jtuApi = timeSync(runs, () => void op.applyTranspose(typed.subarray(0, block * m), block));
  op.dispose();
  const torchTime = (key: string) => median(torch[`${key}_${precision}`] as number[]);
  rows.push({ what: `J V, ${block} vectors, ${precision}`, oursWasm: median(jvWasm), oursApi: median(jvApi), torch: torchTime('jv') });
  rows.push({ what: `J^T U, ${block} vectors, ${precision}`, oursWasm: median(jtuWasm), oursApi: median(jtuApi), torch: torchTime('jtu') });
}

console.error('resnet-stability: dense ...');
const op = await linearizeUnit(model, trajectory, unit);
const [m, n] = op.shape;
const [denseWasm, sumSquares] = kernels.scope((s) => {
  const densePtr = s.allocF64(m * n);
  const seconds = timeSync(denseRuns, () => op.denseInto(densePtr));
  let sum = 0;
  for (const value of kernels.f64(densePtr, m * n)) sum += value * value;
  return [seconds, sum] as const;
});
const denseApi = timeSync(denseRuns, () => void op.toDense());
op.dispose();
rows.push({ what: `dense J, ${m} x ${n}, f64`, oursWasm: median(denseWasm), oursApi: median(denseApi), torch: torch.dense_f64 ? median(torch.dense_f64 as number[]) : NaN });

const time = (s: number) => (s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);
console.log('| operation | resnet-stability, WASM-side | resnet-stability, JS API | PyTorch CPU 2 threads | ratio (PyTorch / ours) |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.what} | ${time(r.oursWasm)} | ${time(r.oursApi)} | ${time(r.torch)} | ${(r.torch / r.oursWasm).toFixed(2)}x |`);
}
console.log(
  `\n||J||_F^2 of the dense J: ours ${sumSquares}, PyTorch ${torch.dense_sum_squares}. ` +
    `PyTorch ${torch.torch}, ${torch.threads} threads. Medians of ${runs} product runs, ${denseRuns} (ours) and ` +
    `${torchDenseRuns} (PyTorch) dense runs.`,
);
