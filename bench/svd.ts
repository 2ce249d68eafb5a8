/**
 * Issue 4's benchmarks, each ratio from one run:
 *  1. singular values of random n x n f64 matrices (n = 1024, 2048): resnet-stability (svdValues,
 *     default options: the two-stage reduction of assembly/band.ts on the threaded kernels) against
 *     ml-matrix (the JavaScript peer) and NumPy/LAPACK (OpenBLAS, 2 threads), with, in the same run,
 *     svdValues on one thread and the one-stage gebrd + bdsqr it replaced (the "before"), and the
 *     phase split of the two-stage path (issue 15);
 *  2. the full singular spectrum of a stage-1 unit of ResNet-56 (16384 inputs), end to end from the
 *     image, float64, against PyTorch for CPU (autograd Jacobian + svdvals, 2 threads) — `--unit`;
 *  3. the top-20 singular triplets of the same unit (when the Lanczos module is present).
 *
 *   node --import tsx bench/svd.ts [--sizes 1024,2048] [--runs 3] [--ml-runs N] [--unit] [--f32] [--no-peer]
 *
 * --ml-runs: runs of ml-matrix (default: --runs at n <= 1024, 1 above, where one run takes a minute).
 * --unit takes ~30 min (the PyTorch peer ~1000 s of it; --no-peer skips it); --f32 also times the same
 * spectrum with `--precision f32 --route gram` and prints its ratio to the f64 run (issue 15's target:
 * at most half). With --unit, --runs processes per precision, the median reported.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { TWO_STAGE_BAND, svdValues } from '../src/spectrum/svd.js';
import { loadKernels, type Kernels } from '../src/wasm/kernels.js';
import { loadThreadedKernels } from '../src/wasm/threads.js';
import { median, runPython, sharedDir, timeRuns, benchDir } from './support.js';
import { SeededRandom } from '../src/util/random.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const sizes = (argValue('--sizes') ?? '1024,2048').split(',').map(Number).filter((n) => n > 0); // --sizes '' : the unit only
const runs = Number(argValue('--runs') ?? 3);
const mlRunsArg = argValue('--ml-runs');

function randomMatrix(n: number, seed: number): Float64Array {
  const r = new SeededRandom(seed);
  return Float64Array.from({ length: n * n }, () => r.normal());
}

/** The one-stage path svdValues took before issue 15 (householder.ts gebrd, then bdsqr), one thread. */
function oneStage(kernels: Kernels, a: Float64Array, n: number): void {
  const lapack = kernels.typed('f64');
  kernels.scope((s) => {
    const w = s.alloc('f64', n * n);
    lapack.view(w, n * n).set(a);
    const d = s.alloc('f64', n), e = s.alloc('f64', n), tq = s.alloc('f64', n), tp = s.alloc('f64', n);
    lapack.gebrd(n, n, w, n, d, e, tq, tp);
    lapack.bdsqr(n, d, e, 0, 1, 0, 0, 1, 0);
  });
}

/** Seconds of each phase of the two-stage path on `kernels`: [dense to band, bulge chase, bdsqr]. */
function twoStagePhases(kernels: Kernels, a: Float64Array, n: number): number[] {
  const lapack = kernels.typed('f64');
  return kernels.scope((s) => {
    const w = s.alloc('f64', n * n);
    lapack.view(w, n * n).set(a);
    const d = s.alloc('f64', n), e = s.alloc('f64', n);
    const t0 = performance.now();
    kernels.exports.gebrdBandF64(n, n, w, n, TWO_STAGE_BAND);
    const t1 = performance.now();
    kernels.exports.bandBidiagonalF64(n, w, n, TWO_STAGE_BAND, d, e);
    const t2 = performance.now();
    lapack.bdsqr(n, d, e, 0, 1, 0, 0, 1, 0);
    const t3 = performance.now();
    return [t1 - t0, t2 - t1, t3 - t2].map((t) => t / 1000);
  });
}

const single = await loadKernels();
const threaded = await loadThreadedKernels();
const threads = threaded?.threads ?? 1;
console.error(`${cpus()[0]?.model}, ${cpus().length} CPUs, Node ${process.version}, svdValues threads ${threads}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const phaseRows: string[] = [];
console.log(`| n | resnet-stability, ${threads} threads (s) | 1 thread (s) | one-stage gebrd + bdsqr, 1 thread (before) (s) | ml-matrix (s) | NumPy/OpenBLAS 2 threads (s) | vs ml-matrix | vs NumPy |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const n of sizes) {
  const a = randomMatrix(n, n);
  // One untimed call each: thread start-up and V8's tier-up of the kernels.
  await svdValues(a, n, n);
  await svdValues(a, n, n, { threads: 1 });
  const ours = median(await timeRuns(runs, () => svdValues(a, n, n)));
  const oursOne = median(await timeRuns(runs, () => svdValues(a, n, n, { threads: 1 })));
  const before = median(await timeRuns(runs, async () => oneStage(single, a, n)));
  const phases = [0, 1, 2].map((i) => i);
  const split: number[][] = [];
  for (let r = 0; r < runs; r++) split.push(twoStagePhases(threaded ?? single, a, n));
  phaseRows.push(`| ${n} | ${phases.map((i) => median(split.map((x) => x[i])).toFixed(3)).join(' | ')} |`);
  const rows = Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
  const mlRuns = mlRunsArg !== undefined ? Number(mlRunsArg) : n > 1024 ? 1 : runs;
  const ml = median(await timeRuns(mlRuns, async () => {
    new SingularValueDecomposition(new Matrix(rows), { computeLeftSingularVectors: false, computeRightSingularVectors: false });
  }));
  // Unset OPENBLAS_CORETYPE/L2_SIZE for this peer only (see the machine notes); 2 threads.
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '2' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const out = execFileSync('/usr/bin/python3', ['bench_svd.py', 'values', String(n), String(runs), String(n)], { cwd: benchDir, env, encoding: 'utf8' });
  const numpy = JSON.parse(out.trim().split('\n').pop()!) as { seconds: number[]; threadpool: unknown };
  const np = median(numpy.seconds);
  console.log(
    `| ${n} | ${ours.toFixed(3)} | ${oursOne.toFixed(3)} | ${before.toFixed(3)} | ${ml.toFixed(2)}${mlRuns === 1 ? ' (1 run)' : ''} | ${np.toFixed(3)} | ` +
      `${(ml / ours).toFixed(1)}x faster | ${(ours / np).toFixed(2)}x LAPACK's time |`,
  );
  console.error(`numpy threadpool: ${JSON.stringify(numpy.threadpool)}`);
}
console.log(`\nPhases of the two-stage path, ${threads} threads, medians of ${runs} (s), band width ${TWO_STAGE_BAND}:\n`);
console.log('| n | dense to band (stage 1) | bulge chase (stage 2) | bdsqr |');
console.log('|---|---|---|---|');
for (const row of phaseRows) console.log(row);
console.error(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await threaded?.close();

if (process.argv.includes('--unit')) {
  const cli = new URL('../dist/node/cli.js', import.meta.url).pathname;
  const spectrum = (extra: string[]) => {
    const start = performance.now();
    const out = JSON.parse(execFileSync(process.execPath, [cli, 'spectrum', '--model', 'resnet56', '--data', `${sharedDir}data/cifar10`, '--image', '0', '--unit', '0', '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 })) as { smax: number };
    return { seconds: (performance.now() - start) / 1000, smax: out.smax };
  };
  const f64Runs = Array.from({ length: runs }, () => spectrum([]));
  const oursSeconds = median(f64Runs.map((r) => r.seconds));
  console.error(`f64 runs (s): ${f64Runs.map((r) => r.seconds.toFixed(1)).join(', ')}`);
  if (process.argv.includes('--f32')) {
    const f32Runs = Array.from({ length: runs }, () => spectrum(['--precision', 'f32', '--route', 'gram']));
    const f32Seconds = median(f32Runs.map((r) => r.seconds));
    console.error(`f32 runs (s): ${f32Runs.map((r) => r.seconds.toFixed(1)).join(', ')}`);
    console.log(`\n| stage-1 unit, full spectrum, 2 threads | f64 (s, median of ${runs}) | f32 Gram route (s) | f32 / f64 | s_max f64 / f32 |`);
    console.log('|---|---|---|---|---|');
    console.log(`| end to end (process start to values) | ${oursSeconds.toFixed(1)} | ${f32Seconds.toFixed(1)} | ${(f32Seconds / oursSeconds).toFixed(2)} | ${f64Runs[0].smax} / ${f32Runs[0].smax} |`);
  }
  if (!process.argv.includes('--no-peer')) {
    const torch = runPython<{ seconds: number; jacobianSeconds: number; smax: number }>('bench_svd.py', ['unit', `${sharedDir}models/resnet56.th`, `${sharedDir}data/cifar10/test_batch.bin`, 0, 0]);
    console.log(`\n| stage-1 unit (resnet56 unit 0, image 0), full spectrum, f64 | resnet-stability (s) | PyTorch CPU 2 threads (s) | ratio |`);
    console.log('|---|---|---|---|');
    console.log(`| end to end (process start to values) | ${oursSeconds.toFixed(1)} | ${torch.seconds.toFixed(1)} (Jacobian ${torch.jacobianSeconds.toFixed(1)}) | ${(torch.seconds / oursSeconds).toFixed(1)}x faster |`);
    console.error(`smax ours ${f64Runs[0].smax} torch ${torch.smax}`);
  }
}
